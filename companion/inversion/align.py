"""Spatial alignment: warping an image by a dense flow field, and the flow's smoothness.

A flow :math:`f = (f_x, f_y)` in *pixels* moves the sampling position of every output pixel,

.. math::  \\mathcal{W}(y, f)(p) = y\\big(p + f(p)\\big),

with bilinear interpolation and border padding (``torch.nn.functional.grid_sample``
with ``align_corners=False``, so pixel centres land exactly on pixel centres and a zero
flow is the identity). In the paper the generated *features* are warped towards the
input's geometry; at 32x32 we warp the generated *image* itself.

Any floating dtype works (float16/bfloat16/float32/float64); the output has the image's
dtype, and a flow of another floating dtype is used at the wider of the two precisions.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..checks import check_tensor

__all__ = ["warp", "flow_smoothness"]


def _base_grid(h: int, w: int, like: torch.Tensor) -> torch.Tensor:
    ys = (torch.arange(h, dtype=like.dtype, device=like.device) + 0.5) / h * 2 - 1
    xs = (torch.arange(w, dtype=like.dtype, device=like.device) + 0.5) / w * 2 - 1
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([gx, gy], dim=-1)  # (H, W, 2) in grid_sample's (x, y) order


def warp(image: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """Warp ``image: (batch, C, H, W)`` by ``flow: (batch, 2, H, W)`` (pixels; x then y).

    Returns ``(batch, C, H, W)`` in the image's dtype with
    ``out[..., i, j] = image at (j + flow_x, i + flow_y)``. A NaN or infinite flow (or image)
    raises ``ValueError``: ``grid_sample`` would silently turn it into zeros or NaN.
    """
    image = check_tensor(image, "image", ndim=4, floating=True)
    flow = check_tensor(flow, "flow", ndim=4, floating=True)
    if image.is_complex() or flow.is_complex():
        raise TypeError("image and flow must be real")
    b, _, h, w = image.shape
    if flow.shape != (b, 2, h, w):
        raise ValueError(
            f"flow must have shape {(b, 2, h, w)} to match image, got {tuple(flow.shape)}"
        )
    if not torch.isfinite(flow).all():
        raise ValueError("flow must be finite (it holds NaN or inf)")
    if not torch.isfinite(image).all():
        raise ValueError("image must be finite (it holds NaN or inf)")
    return _warp(image, flow)


def _warp(image: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """:func:`warp` without the argument checks (for loops whose flow is built in-house)."""
    h, w = image.shape[-2:]
    dt = torch.promote_types(image.dtype, flow.dtype)
    scale = torch.tensor([2.0 / w, 2.0 / h], dtype=dt, device=flow.device)
    grid = _base_grid(h, w, flow.to(dt)) + flow.to(dt).permute(0, 2, 3, 1) * scale
    return F.grid_sample(
        image, grid.to(image.dtype), mode="bilinear", padding_mode="border", align_corners=False
    )


def flow_smoothness(flow: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference of neighbouring flow vectors (total variation), ``(batch,)``."""
    flow = check_tensor(flow, "flow", ndim=4, last_dims=(2, None, None), floating=True)
    dx = (flow[..., :, 1:] - flow[..., :, :-1]).abs().mean(dim=(1, 2, 3))
    dy = (flow[..., 1:, :] - flow[..., :-1, :]).abs().mean(dim=(1, 2, 3))
    return dx + dy
