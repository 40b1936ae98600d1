"""Metrics against the known answer: mask IoU, and PSNR / SSIM over image regions.

* IoU (Jaccard index) of a predicted binary mask :math:`P` with the ground truth
  :math:`T`: :math:`|P \\cap T| / |P \\cup T|`, computed by scikit-learn's
  ``jaccard_score`` (1 when both masks are empty).
* PSNR over a region :math:`R`: :math:`10 \\log_{10}(1 / \\mathrm{MSE}_R)` for images in
  ``[0, 1]``, by scikit-image's ``peak_signal_noise_ratio`` on the region's pixels (all
  channels; pooled over the batch, so one number summarises a test set).
* SSIM over a region: scikit-image's ``structural_similarity`` map (7x7 windows,
  channels as the last axis) averaged over the region's pixels (pooled over the batch).

"In-domain" is the complement of the ground-truth mask, "out-of-domain" the mask itself.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from skimage.metrics import mean_squared_error, peak_signal_noise_ratio, structural_similarity
from sklearn.metrics import jaccard_score

from ..checks import check_choice, check_int, check_tensor
from ..utils import check_generator
from ._validate import check_images, check_same_shape

__all__ = ["mask_iou", "region_psnr", "region_ssim", "paired_bootstrap", "REGIONS"]

REGIONS = ("whole", "in", "out")


def _binary(mask: torch.Tensor, name: str) -> np.ndarray:
    """A ``(batch, 1, H, W)`` mask, bool or floating with values in {0, 1}, as a numpy bool array."""
    if isinstance(mask, torch.Tensor) and mask.dtype == torch.bool:
        if mask.ndim != 4 or mask.shape[1] != 1:
            raise ValueError(f"{name} must have shape (batch, 1, H, W), got {tuple(mask.shape)}")
        return mask.detach().cpu().numpy()
    mask = check_images(mask, name, channels=1)
    if not torch.all((mask == 0) | (mask == 1)):
        raise ValueError(f"{name} must be binary (0 or 1); threshold a soft mask first")
    return mask.detach().cpu().numpy().astype(bool)


def mask_iou(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-image IoU ``(batch,)`` of binary masks ``pred, target: (batch, 1, H, W)``.

    A mask is a ``bool`` tensor or a floating one holding only 0 and 1.
    """
    p = _binary(pred, "pred")
    t = _binary(target, "target")
    if p.shape != t.shape:
        raise ValueError(f"pred and target must have matching shapes, got {p.shape} and {t.shape}")
    return torch.tensor(
        [
            jaccard_score(ti.ravel(), pi.ravel(), zero_division=1.0)
            for pi, ti in zip(p, t, strict=True)
        ],
        dtype=torch.float64,
    )


def _region(x: torch.Tensor, y: torch.Tensor, mask: torch.Tensor, region: str):
    x = check_images(x, "x")
    y = check_images(y, "y")
    check_same_shape(x, y, "x", "y")
    m = _binary(mask, "mask")
    if m.shape[0] != x.shape[0] or m.shape[2:] != tuple(x.shape[2:]):
        raise ValueError(f"mask must have shape {(x.shape[0], 1, *x.shape[2:])}, got {m.shape}")
    check_choice(region, "region", REGIONS)
    sel = np.ones_like(m) if region == "whole" else (m if region == "out" else ~m)
    xs = x.detach().cpu().double().numpy().transpose(0, 2, 3, 1)
    ys = y.detach().cpu().double().numpy().transpose(0, 2, 3, 1)
    return xs, ys, sel[:, 0]


def region_psnr(
    x: torch.Tensor, y: torch.Tensor, mask: torch.Tensor, region: str = "whole"
) -> float:
    """PSNR (dB) of ``y`` against reference ``x`` over ``region`` of the whole batch.

    ``x, y: (batch, 3, H, W)`` in [0, 1]; ``mask: (batch, 1, H, W)`` binary (1 = OOD);
    ``region`` in ``("whole", "in", "out")``. Returns ``inf`` for identical pixels and
    ``nan`` for an empty region.
    """
    xs, ys, sel = _region(x, y, mask, region)
    if not sel.any():
        return math.nan
    a, b = xs[sel], ys[sel]
    if mean_squared_error(a, b) == 0:
        return math.inf
    return float(peak_signal_noise_ratio(a, b, data_range=1.0))


def region_ssim(
    x: torch.Tensor, y: torch.Tensor, mask: torch.Tensor, region: str = "whole"
) -> float:
    """Mean SSIM of ``y`` against ``x`` over ``region`` (see :func:`region_psnr` for shapes)."""
    xs, ys, sel = _region(x, y, mask, region)
    if not sel.any():
        return math.nan
    total, count = 0.0, 0
    for xi, yi, si in zip(xs, ys, sel, strict=True):
        if not si.any():
            continue
        _, smap = structural_similarity(
            xi, yi, data_range=1.0, channel_axis=-1, win_size=7, full=True
        )
        total += float(smap.mean(axis=-1)[si].sum())
        count += int(si.sum())
    return total / count


def paired_bootstrap(
    a: torch.Tensor,
    b: torch.Tensor,
    *,
    n_boot: int = 2000,
    generator: torch.Generator | None = None,
) -> tuple[float, float]:
    """Mean of the paired difference ``a - b`` over a test set, and its bootstrap spread.

    ``a, b: (n,)`` are per-image scores of two methods on the same ``n`` images (e.g.
    :func:`mask_iou`). Resampling the images with replacement ``n_boot`` times gives the
    standard deviation of the mean difference, the spread a claim "a beats b" has to
    exceed. Returns ``(mean difference, bootstrap standard deviation)``.
    """
    a = check_tensor(a, "a", ndim=1, floating=True)
    b = check_tensor(b, "b", ndim=1, floating=True)
    if a.shape != b.shape or a.shape[0] < 2:
        raise ValueError(f"a and b must have the same length >= 2, got {a.shape[0]}, {b.shape[0]}")
    n_boot = check_int(n_boot, "n_boot", minimum=2)
    d = (a - b).double().cpu()
    if not torch.isfinite(d).all():
        raise ValueError("a and b must be finite (they hold NaN or inf)")
    idx = torch.randint(0, d.shape[0], (n_boot, d.shape[0]), generator=check_generator(generator))
    return float(d.mean()), float(d[idx].mean(dim=1).std())
