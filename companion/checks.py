"""Argument checks shared by the public functions of ``companion``.

Every public function validates what it is given and raises a ``TypeError``
(wrong kind of object or dtype) or ``ValueError`` (wrong shape, size or value)
whose message names the argument and says what was expected.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch


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
