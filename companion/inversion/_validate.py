"""Argument checks shared by the inversion modules (images and masks)."""

from __future__ import annotations

import torch
from torch import nn

from ..checks import check_tensor

_TOL = 1e-4


def check_images(
    x: object, name: str, *, size: int | None = None, channels: int = 3
) -> torch.Tensor:
    """``x`` must be a float tensor ``(batch, channels, H, W)`` with values in ``[0, 1]``.

    ``size`` (if given) is the required ``H == W``.
    """
    x = check_tensor(x, name, ndim=4, floating=True)
    if x.shape[1] != channels:
        raise ValueError(
            f"{name} must have {channels} channels (batch, {channels}, H, W), "
            f"got shape {tuple(x.shape)}"
        )
    if size is not None and (x.shape[2] != size or x.shape[3] != size):
        raise ValueError(f"{name} must be {size}x{size} images, got shape {tuple(x.shape)}")
    if x.numel() and (x.min() < -_TOL or x.max() > 1 + _TOL or not torch.isfinite(x).all()):
        raise ValueError(
            f"{name} values must lie in [0, 1], got range "
            f"[{float(x.min()):.3g}, {float(x.max()):.3g}]"
        )
    return x


def module_dtype(module: nn.Module) -> torch.dtype | None:
    """The floating dtype of a module's first floating parameter (``None`` if it has none)."""
    for p in module.parameters():
        if p.is_floating_point():
            return p.dtype
    return None


def check_module_dtype(x: torch.Tensor, name: str, module: nn.Module, what: str) -> None:
    """``x`` must have the dtype of ``module``'s parameters (a clear error instead of torch's)."""
    dt = module_dtype(module)
    if dt is not None and x.dtype != dt:
        raise TypeError(
            f"{name} must have the {what}'s dtype {dt}, got {x.dtype}; convert the tensor "
            f"(.to({dt})) or the {what} (.to({x.dtype}))"
        )


def check_same_shape(
    a: torch.Tensor, b: torch.Tensor, name_a: str, name_b: str, *, channels: bool = True
) -> None:
    """``a`` and ``b`` share batch and spatial sizes (and channels if ``channels``)."""
    sa = a.shape if channels else (a.shape[0], *a.shape[2:])
    sb = b.shape if channels else (b.shape[0], *b.shape[2:])
    if tuple(sa) != tuple(sb):
        raise ValueError(
            f"{name_a} and {name_b} must have matching shapes, got "
            f"{tuple(a.shape)} and {tuple(b.shape)}"
        )
