"""Argument checks shared by the public functions of ``companion``.

Every public function validates what it is given and raises a ``TypeError``
(wrong kind of object or dtype) or ``ValueError`` (wrong shape, size or value)
whose message names the argument and says what was expected.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Collection, Sequence
from typing import TypeVar

import torch

T = TypeVar("T")


def check_tensor(
    x: object,
    name: str,
    *,
    ndim: int | Sequence[int] | None = None,
    min_ndim: int | None = None,
    last_dims: Sequence[int | None] | None = None,
    floating: bool = False,
) -> torch.Tensor:
    """Check that ``x`` is a tensor with the given rank / trailing shape / dtype kind.

    ``last_dims`` gives the expected sizes of the trailing axes, ``None`` for "any".
    Returns ``x`` so a call can sit inside an expression.
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if floating and not (x.is_floating_point() or x.is_complex()):
        raise TypeError(f"{name} must have a floating dtype, got {x.dtype}")
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if x.ndim not in allowed:
            raise ValueError(
                f"{name} must have {' or '.join(map(str, allowed))} dimensions, "
                f"got shape {tuple(x.shape)}"
            )
    if min_ndim is not None and x.ndim < min_ndim:
        raise ValueError(
            f"{name} must have at least {min_ndim} dimensions, got shape {tuple(x.shape)}"
        )
    if last_dims is not None:
        k = len(last_dims)
        if x.ndim < k or any(
            e is not None and s != e for s, e in zip(x.shape[x.ndim - k :], last_dims, strict=True)
        ):
            want = "(..., " + ", ".join("*" if e is None else str(e) for e in last_dims) + ")"
            raise ValueError(f"{name} must have shape {want}, got {tuple(x.shape)}")
    return x


def check_int(n: object, name: str, *, minimum: int = 0) -> int:
    """Check that ``n`` is an integer (not a bool) with ``n >= minimum``."""
    if isinstance(n, bool) or not isinstance(n, int):
        if not (isinstance(n, torch.Tensor) and n.ndim == 0 and not n.is_floating_point()):
            raise TypeError(f"{name} must be an int, got {type(n).__name__}")
        n = int(n)
    if n < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {n}")
    return n


def check_square(g: object, name: str, *, size: int | None = None) -> torch.Tensor:
    """Check that ``g`` is a (batch of) square matrices ``(..., d, d)``."""
    g = check_tensor(g, name, min_ndim=2, floating=True)
    if g.shape[-1] != g.shape[-2]:
        raise ValueError(f"{name} must be square matrices (..., d, d), got shape {tuple(g.shape)}")
    if size is not None and g.shape[-1] != size:
        raise ValueError(f"{name} must be {size}x{size} matrices, got shape {tuple(g.shape)}")
    return g


def check_orthogonal(
    g: object, name: str, *, size: int | None = None, atol: float | None = None
) -> torch.Tensor:
    """Check that ``g`` holds orthogonal matrices: ``g gᵀ = I`` within ``atol``."""
    g = check_square(g, name, size=size)
    if atol is None:
        atol = 1e-4 if g.dtype in (torch.float16, torch.bfloat16, torch.float32) else 1e-8
    eye = torch.eye(g.shape[-1], dtype=g.dtype, device=g.device)
    err = (g @ g.transpose(-1, -2) - eye).abs().amax() if g.numel() else torch.tensor(0.0)
    if err > atol:
        raise ValueError(
            f"{name} must be orthogonal (g gᵀ = I); max deviation is {float(err):.2e} > {atol:.0e}"
        )
    return g


def check_number(
    x: object,
    name: str,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    open_min: bool = False,
    open_max: bool = False,
    finite: bool = True,
) -> float:
    """Check that ``x`` is a real number (not a bool) in a range; return it as a ``float``.

    ``minimum``/``maximum`` bound it (inclusive unless ``open_min``/``open_max``). NaN is
    always rejected, ``±inf`` unless ``finite=False``. A 0-d real tensor is accepted.
    Wrong kind of object → ``TypeError``; NaN, inf or out of range → ``ValueError``.
    """
    if isinstance(x, torch.Tensor) and x.ndim == 0 and not x.is_complex() and x.dtype != torch.bool:
        x = x.item()
    if isinstance(x, bool) or not isinstance(x, numbers.Real):  # numpy reals are Real
        raise TypeError(f"{name} must be a real number, got {type(x).__name__}")
    v = float(x)
    if math.isnan(v) or (finite and math.isinf(v)):
        raise ValueError(f"{name} must be a finite number, got {v}")
    if minimum is not None and (v <= minimum if open_min else v < minimum):
        raise ValueError(f"{name} must be {'>' if open_min else '>='} {minimum}, got {v}")
    if maximum is not None and (v >= maximum if open_max else v > maximum):
        raise ValueError(f"{name} must be {'<' if open_max else '<='} {maximum}, got {v}")
    return v


def check_bool(x: object, name: str) -> bool:
    """Check that ``x`` is a ``bool`` (``0``/``1`` are not accepted)."""
    if not isinstance(x, bool):
        raise TypeError(f"{name} must be a bool, got {type(x).__name__}")
    return x


def check_choice(x: object, name: str, choices: Collection[T]) -> T:
    """Check that ``x`` is one of ``choices``; return it (typed as a choice).

    A value of another type than every choice (a number for a set of strings) raises
    ``TypeError``; a value of the right type that is not a choice raises ``ValueError``.
    """
    options = tuple(choices)
    kinds = tuple({type(c) for c in options})
    if not isinstance(x, kinds) or (isinstance(x, bool) and bool not in kinds):
        names = " or ".join(sorted(k.__name__ for k in kinds))
        article = "an" if names[0] in "aeiou" else "a"
        raise TypeError(
            f"{name} must be {article} {names}, one of {options}, got {type(x).__name__}"
        )
    if x not in options:
        raise ValueError(f"{name} must be one of {options}, got {x!r}")
    return x


def check_same_len(a: object, b: object, names: str, *, what: str = "samples") -> int:
    """Check that two tensors (first axis) or sequences have the same length; return it.

    ``names`` is how the message names the pair, e.g. ``"x and y"``.
    """
    sizes = []
    for v in (a, b):
        if isinstance(v, torch.Tensor):
            if v.ndim == 0:
                raise ValueError(f"{names} must have a first axis, got a 0-d tensor")
            sizes.append(v.shape[0])
        else:
            try:
                sizes.append(len(v))  # type: ignore[arg-type]
            except TypeError:
                raise TypeError(
                    f"{names} must be tensors or sequences, got {type(v).__name__}"
                ) from None
    if sizes[0] != sizes[1]:
        raise ValueError(
            f"{names} must hold the same number of {what}, got {sizes[0]} and {sizes[1]}"
        )
    return int(sizes[0])
