"""The baseline the paper improves on: an invertibility mask from the reconstruction error.

With input :math:`x` and inversion :math:`y = G(z^\\star)`, the error map is the
channel-mean absolute difference, optionally smoothed by a ``k x k`` box filter,

.. math::  e(p) = \\operatorname{box}_k\\Big(\\tfrac13 \\textstyle\\sum_c |x_c(p) - y_c(p)|\\Big),

and the mask is :math:`m(p) = [e(p) > \\tau]`. Its weakness, which the paper targets:
in-domain regions also have reconstruction error (a feature drawn a pixel off, a colour
slightly wrong), so any threshold either misses faint out-of-domain pixels or flags
in-domain ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..checks import check_int, check_number
from ._validate import check_images, check_same_shape

__all__ = ["error_map", "baseline_mask", "Calibration", "calibrate_threshold"]


def error_map(x: torch.Tensor, y: torch.Tensor, *, smooth: int = 1) -> torch.Tensor:
    """:math:`e`: ``(batch, 1, H, W)`` for ``x, y: (batch, 3, H, W)``; ``smooth`` = box size (odd)."""
    x = check_images(x, "x")
    y = check_images(y, "y")
    check_same_shape(x, y, "x", "y")
    smooth = check_int(smooth, "smooth", minimum=1)
    if smooth % 2 == 0:
        raise ValueError(f"smooth must be odd, got {smooth}")
    e = (x - y).abs().mean(dim=1, keepdim=True)
    if smooth > 1:
        e = F.avg_pool2d(e, smooth, 1, smooth // 2, count_include_pad=False)
    return e


def baseline_mask(
    x: torch.Tensor, y: torch.Tensor, threshold: float, *, smooth: int = 1
) -> torch.Tensor:
    """The thresholded error mask ``(batch, 1, H, W)`` in ``{0, 1}`` (float)."""
    threshold = check_number(threshold, "threshold", minimum=0.0)
    return (error_map(x, y, smooth=smooth) > threshold).to(x.dtype)


@dataclass(frozen=True)
class Calibration:
    """:func:`calibrate_threshold`'s choice.

    Attributes:
        threshold: the chosen :math:`\\tau`.
        smooth: the chosen box size.
        iou: the mean IoU it reached on the calibration set.
        table: mean IoU for every ``(smooth, threshold)`` tried.
    """

    threshold: float
    smooth: int
    iou: float
    table: dict[tuple[int, float], float]


def calibrate_threshold(
    x: torch.Tensor,
    y: torch.Tensor,
    masks: torch.Tensor,
    thresholds: Sequence[float],
    *,
    smooths: Sequence[int] = (1,),
) -> Calibration:
    """The threshold (and smoothing) with the best mean IoU against ``masks`` on a calibration set.

    ``x, y: (n, 3, H, W)`` are the calibration inputs and their inversions, ``masks:
    (n, 1, H, W)`` their ground-truth masks (binary). Every ``(smooth, threshold)`` pair is
    tried (grid search); ties go to the first. This gives the baseline the labelled data the
    detector's settings are chosen on: a fair, not an oracle, threshold when the
    calibration set is disjoint from the test set.
    """
    from .metrics import mask_iou  # metrics imports sklearn/skimage: only when calibrating

    if len(thresholds) == 0 or len(smooths) == 0:
        raise ValueError("thresholds and smooths must not be empty")
    taus = [check_number(t, "thresholds", minimum=0.0) for t in thresholds]
    ks = [check_int(k, "smooths", minimum=1) for k in smooths]
    table: dict[tuple[int, float], float] = {}
    for k in ks:
        e = error_map(x, y, smooth=k)
        for t in taus:
            table[(k, t)] = float(mask_iou((e > t).to(x.dtype), masks).mean())
    (k, t), best = max(table.items(), key=lambda kv: kv[1])
    return Calibration(threshold=t, smooth=k, iou=best, table=table)
