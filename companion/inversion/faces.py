"""A procedural, seeded world of small faces with out-of-domain (OOD) additions.

The paper inverts a StyleGAN2 trained on photographs of faces; here every piece is
small and synthetic so that the *answer is known*: each out-of-domain addition is drawn
with its exact ground-truth mask.

In-domain faces vary in pose (shift, roll, scale), skin tone, hair colour, length and
hairline, eyes (openness, gaze), brows, nose, mouth (smile, opening), shirt colour and a
plain two-colour background gradient. They are rendered with 3x supersampling (soft
edges) at ``size x size`` (32 by default).

Out-of-domain additions (``OOD_KINDS``) are drawn on top with hard (binary) masks:
sunglasses, hats, hands, microphones, stickers and textured backgrounds. With ``m`` the
mask, ``o`` the addition's own colours and ``c`` the clean face,

.. math::  x = m \\odot o + (1 - m) \\odot c ,

so ``x`` differs from ``c`` only where ``m = 1`` — exactly, by construction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ..checks import check_int, check_number
from ..utils import numpy_rng

__all__ = ["OOD_KINDS", "TRAIN_KINDS", "HELD_OUT_KINDS", "FaceBatch", "render_faces"]

OOD_KINDS: tuple[str, ...] = ("glasses", "hat", "hand", "microphone", "sticker", "texture")
#: The kinds the detectors are trained on and the threshold is calibrated on.
TRAIN_KINDS: tuple[str, ...] = ("glasses", "hat", "hand", "sticker")
#: The kinds held out from detector training and threshold calibration and seen only at
#: test time. They are an object held in front of the face and a patterned background (the
#: paper's "background").
HELD_OUT_KINDS: tuple[str, ...] = ("microphone", "texture")

_SUPER = 3  # supersampling factor of the in-domain face
_CHUNK = 256

_SKIN = np.array(
    [
        [0.98, 0.86, 0.74],
        [0.93, 0.75, 0.60],
        [0.78, 0.57, 0.42],
        [0.58, 0.40, 0.28],
        [0.40, 0.27, 0.18],
    ]
)
_HAIR = np.array(
    [
        [0.08, 0.06, 0.05],
        [0.30, 0.18, 0.10],
        [0.55, 0.38, 0.20],
        [0.85, 0.70, 0.40],
        [0.60, 0.22, 0.10],
        [0.62, 0.62, 0.62],
    ]
)


@dataclass
class FaceBatch:
    """A rendered batch.

    Attributes:
        images: ``(n, 3, size, size)`` float32 in ``[0, 1]`` — the inputs (with additions).
        clean: ``(n, 3, size, size)`` — the same faces without any addition.
        masks: ``(n, 1, size, size)`` float32 in ``{0, 1}`` — 1 where an addition was drawn.
        params: per-face parameters, each a float32 tensor ``(n,)`` (e.g. ``"smile"``).
        kinds: for each face, the tuple of addition kinds drawn on it.
    """

    images: torch.Tensor
    clean: torch.Tensor
    masks: torch.Tensor
    params: dict[str, torch.Tensor]
    kinds: list[tuple[str, ...]]


def _ellipse(u: np.ndarray, v: np.ndarray, cu, cv, ru, rv) -> np.ndarray:
    return ((u - cu) / ru) ** 2 + ((v - cv) / rv) ** 2 <= 1.0


def _paint(img: np.ndarray, region: np.ndarray, color: np.ndarray) -> None:
    """img: (n, H, W, 3); region: (n, H, W) bool; color: (n, 3) — in place."""
    img[:] = np.where(region[..., None], color[:, None, None, :], img)


def _sample_params(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    u = rng.uniform
    tone = u(0, len(_SKIN) - 1, n)
    lo = np.floor(tone).astype(int)
    frac = (tone - lo)[:, None]
    skin = _SKIN[lo] * (1 - frac) + _SKIN[np.minimum(lo + 1, len(_SKIN) - 1)] * frac
    hair = _HAIR[rng.integers(0, len(_HAIR), n)] * u(0.85, 1.1, (n, 1))
    return {
        "cx": u(-0.12, 0.12, n),
        "cy": u(-0.06, 0.08, n),
        "scale": u(0.85, 1.05, n),
        "roll": u(-0.2, 0.2, n),
        "tone": tone,
        "smile": u(-0.6, 1.0, n),
        "mouth_open": u(0.0, 1.0, n) ** 2,
        "eye_open": u(0.5, 1.0, n),
        "gaze": u(-0.02, 0.02, n),
        "brow": u(-0.04, 0.04, n),
        "hairline": u(-0.45, -0.2, n),
        "hair_len": u(-0.1, 0.6, n),
        "skin": skin,
        "hair": np.clip(hair, 0, 1),
        "shirt": u(0.1, 0.9, (n, 3)),
        "bg_top": u(0.35, 0.9, (n, 3)),
        "bg_bottom": u(0.35, 0.9, (n, 3)),
    }


def _face_coords(p: dict[str, np.ndarray], res: int) -> tuple[np.ndarray, ...]:
    """Pixel-centre image coords (y, x) in [-1, 1] and face-local coords (u, v)."""
    t = (np.arange(res) + 0.5) / res * 2 - 1
    y, x = np.meshgrid(t, t, indexing="ij")
    x, y = x[None], y[None]
    c, s = np.cos(p["roll"])[:, None, None], np.sin(p["roll"])[:, None, None]
    dx, dy = x - p["cx"][:, None, None], y - p["cy"][:, None, None]
    sc = p["scale"][:, None, None]
    u = (c * dx + s * dy) / sc
    v = (-s * dx + c * dy) / sc
    return y, x, u, v


def _render_clean(p: dict[str, np.ndarray], size: int) -> tuple[np.ndarray, np.ndarray]:
    """The in-domain faces ``(n, size, size, 3)`` and their foreground coverage ``(n, size, size)``."""
    res = size * _SUPER
    n = len(p["cx"])
    y, x, u, v = _face_coords(p, res)
    w = ((y + 1) / 2)[..., None]
    img = (1 - w) * p["bg_top"][:, None, None, :] + w * p["bg_bottom"][:, None, None, :]
    img = np.broadcast_to(img, (n, res, res, 3)).copy()
    col = lambda k: p[k].reshape(n, 1, 1)  # noqa: E731
    head = _ellipse(u, v, 0, 0, 0.55, 0.7)
    hair_back = _ellipse(u, v, 0, -0.08, 0.63, 0.72) | (
        _ellipse(u, v, 0, 0.1, 0.66, 0.75) & (v < col("hair_len"))
    )
    shirt = _ellipse(u, v, 0, 1.45, 1.0, 0.75)
    neck = (np.abs(u) < 0.2) & (v > 0.4) & (v < 0.9)
    fg = head | hair_back | shirt | neck
    _paint(img, hair_back, p["hair"])
    _paint(img, shirt, p["shirt"])
    _paint(img, neck, p["skin"] * 0.85)
    _paint(img, head, p["skin"])
    # fringe: the top of the head, above a wavy hairline
    line = col("hairline") + 0.05 * np.sin(6 * u)
    _paint(img, head & (v < line), p["hair"])
    for side in (-1, 1):
        eu, ev = side * 0.22, -0.05
        white = _ellipse(u, v, eu, ev, 0.11, 0.065 * col("eye_open"))
        iris = _ellipse(u, v, eu + col("gaze"), ev, 0.05, 0.05) & white
        _paint(img, white, np.full((n, 3), 0.97))
        _paint(img, iris, np.tile([0.12, 0.08, 0.06], (n, 1)))
        brow_v = -0.2 + col("brow")
        brow = (np.abs(u - eu) < 0.12) & (
            np.abs(v - brow_v + 0.15 * col("brow") * (u - eu) * side) < 0.03
        )
        _paint(img, brow, p["hair"] * 0.8)
    nose = _ellipse(u, v, 0, 0.15, 0.06, 0.1) & (v > 0.1)
    _paint(img, nose, p["skin"] * 0.82)
    mu = np.clip(u / 0.24, -1, 1)
    centre = 0.4 + col("smile") * 0.1 * (1 - mu**2)
    half = 0.03 + 0.06 * col("mouth_open") * (1 - mu**2)
    mouth = (np.abs(u) < 0.24) & (np.abs(v - centre) < half)
    _paint(img, mouth, np.tile([0.55, 0.12, 0.14], (n, 1)))
    # box-filter down to size x size
    img = img.reshape(n, size, _SUPER, size, _SUPER, 3).mean(axis=(2, 4))
    cov = fg.reshape(n, size, _SUPER, size, _SUPER).mean(axis=(2, 4))
    return img, cov


def _draw_ood(
    rng: np.random.Generator,
    kind: str,
    p: dict[str, np.ndarray],
    i: int,
    size: int,
    cov: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """One addition on face ``i``: its colours ``(size, size, 3)`` and hard mask ``(size, size)``."""
    q = {k: v[i : i + 1] for k, v in p.items()}
    y, x, u, v = (a[0] for a in _face_coords(q, size))
    occ = np.zeros((size, size, 3))
    color = rng.uniform(0, 1, 3)
    if kind == "glasses":
        tint = rng.uniform(0.0, 0.35, 3) if rng.random() < 0.7 else rng.uniform(0.4, 1.0, 3)
        ry = rng.uniform(0.09, 0.14)
        mask = (np.abs(v + 0.05) < ry) & (np.abs(np.abs(u) - 0.22) < 0.15)
        mask |= (np.abs(v + 0.05 + ry * 0.4) < 0.035) & (np.abs(u) < 0.62)
        occ[:] = tint
    elif kind == "hat":
        brim = rng.uniform(-0.5, -0.3)
        mask = (np.abs(v - brim) < 0.07) & (np.abs(u) < rng.uniform(0.65, 0.85))
        mask |= (v < brim) & (v > brim - rng.uniform(0.4, 0.6)) & (np.abs(u) < 0.5)
        stripe = (np.abs(v - brim + 0.12) < 0.05) & (np.abs(u) < 0.5)
        occ[:] = color
        occ[stripe] = 1 - color
    elif kind == "hand":
        hu, hv = rng.uniform(-0.35, 0.35), rng.uniform(0.3, 0.6)
        glove = rng.uniform(0.2, 1.0, 3)
        mask = _ellipse(x, y, hu, hv, 0.26, 0.2)
        for f in range(4):
            fu = hu - 0.2 + 0.13 * f
            mask |= (np.abs(x - fu) < 0.05) & (y < hv) & (y > hv - rng.uniform(0.3, 0.42))
        occ[:] = glove
        occ[(np.abs(x - hu) < 0.22) & (np.abs(y - hv - 0.05) < 0.02)] = glove * 0.6
    elif kind == "microphone":
        mu, mv = rng.uniform(-0.3, 0.3), rng.uniform(0.35, 0.6)
        head = _ellipse(x, y, mu, mv, 0.16, 0.16)
        handle = (np.abs(x - mu) < 0.07) & (y > mv) & (y < 1.0)
        mask = head | handle
        occ[:] = np.array([0.15, 0.15, 0.17])
        grid = head & (((np.round((x - mu) * size / 2) + np.round((y - mv) * size / 2)) % 2) == 0)
        occ[grid] = np.array([0.75, 0.75, 0.78])
        occ[handle] = color * 0.5
    elif kind == "sticker":
        su, sv = rng.uniform(-0.35, 0.35), rng.uniform(-0.3, 0.45)
        r = rng.uniform(0.12, 0.2)
        ang = np.arctan2(y - sv, x - su)
        rad = np.hypot(x - su, y - sv)
        mask = rad < r * (0.65 + 0.35 * np.cos(5 * ang))
        occ[:] = np.array([1.0, rng.uniform(0.0, 1.0), 0.0])[rng.permutation(3)]
    elif kind == "texture":
        mask = cov[i] == 0.0
        freq = rng.uniform(4, 9)
        a = rng.uniform(0, np.pi)
        phase = np.sin(freq * np.pi * (np.cos(a) * x + np.sin(a) * y))
        if rng.random() < 0.5:
            phase = phase * np.sin(freq * np.pi * (-np.sin(a) * x + np.cos(a) * y))
        c2 = rng.uniform(0, 1, 3)
        occ[:] = np.where(phase[..., None] > 0, color, c2)
    else:  # pragma: no cover - guarded by render_faces
        raise ValueError(kind)
    return occ, mask.astype(bool)


def render_faces(
    n: int,
    *,
    generator: torch.Generator | None = None,
    size: int = 32,
    ood: str | Sequence[str] | None = None,
    ood_prob: float = 1.0,
    max_additions: int = 2,
) -> FaceBatch:
    """Render ``n`` faces, optionally with out-of-domain additions and their exact masks.

    Args:
        n: number of faces (>= 1).
        generator: fixes the faces: they are drawn with NumPy from
            :func:`companion.utils.numpy_rng` ``(generator)``, i.e. seeded with the seed the
            generator was created with; the same seed and arguments give the same batch, bit
            for bit (``None``: a seed drawn from the global stream).
        size: image side in pixels, 32 or 64.
        ood: ``None`` (in-domain faces only), ``"random"`` (additions drawn from
            ``OOD_KINDS``), or a sequence of kinds to draw from.
        ood_prob: probability that a face gets any addition.
        max_additions: each face with additions gets between 1 and this many kinds.

    Returns:
        A :class:`FaceBatch`; ``images == masks * additions + (1 - masks) * clean``.
    """
    rng = numpy_rng(generator)
    return _render_faces(n, rng, size=size, ood=ood, ood_prob=ood_prob, max_additions=max_additions)


def _render_faces(
    n: int,
    rng: np.random.Generator,
    *,
    size: int = 32,
    ood: str | Sequence[str] | None = None,
    ood_prob: float = 1.0,
    max_additions: int = 2,
) -> FaceBatch:
    # The training commands call this with np.random.default_rng(seed), so that the
    # recorded commands still reproduce the shipped weights bit for bit.
    n = check_int(n, "n", minimum=1)
    size = check_int(size, "size", minimum=1)
    if size not in (32, 64):
        raise ValueError(f"size must be 32 or 64, got {size}")
    max_additions = check_int(max_additions, "max_additions", minimum=1)
    check_number(ood_prob, "ood_prob")
    if not 0.0 <= ood_prob <= 1.0:
        raise ValueError(f"ood_prob must lie in [0, 1], got {ood_prob}")
    if ood is None:
        kinds_pool: tuple[str, ...] = ()
    elif isinstance(ood, str):
        if ood != "random":
            raise ValueError(
                f"ood must be None, 'random' or a sequence of {OOD_KINDS}, got {ood!r}"
            )
        kinds_pool = OOD_KINDS
    else:
        kinds_pool = tuple(ood)
        bad = [k for k in kinds_pool if k not in OOD_KINDS]
        if bad or not kinds_pool:
            raise ValueError(
                f"ood kinds must be a non-empty subset of {OOD_KINDS}, got {list(ood)}"
            )
    p = _sample_params(rng, n)
    clean = np.empty((n, size, size, 3))
    cov = np.empty((n, size, size))
    for s in range(0, n, _CHUNK):
        q = {k: v[s : s + _CHUNK] for k, v in p.items()}
        clean[s : s + _CHUNK], cov[s : s + _CHUNK] = _render_clean(q, size)
    images = clean.copy()
    masks = np.zeros((n, size, size), dtype=bool)
    kinds: list[tuple[str, ...]] = []
    for i in range(n):
        chosen: tuple[str, ...] = ()
        if kinds_pool and rng.random() < ood_prob:
            k = int(rng.integers(1, min(max_additions, len(kinds_pool)) + 1))
            chosen = tuple(
                kinds_pool[j] for j in sorted(rng.choice(len(kinds_pool), k, replace=False))
            )
        # the textured background goes under the other additions
        for kind in sorted(chosen, key=lambda s: s != "texture"):
            occ, m = _draw_ood(rng, kind, p, i, size, cov)
            images[i][m] = occ[m]
            masks[i] |= m
        kinds.append(chosen)
    to_t = lambda a: torch.from_numpy(np.ascontiguousarray(a.transpose(0, 3, 1, 2))).float()  # noqa: E731
    params = {k: torch.from_numpy(v).float() for k, v in p.items() if v.ndim == 1}
    return FaceBatch(
        images=to_t(np.clip(images, 0, 1)),
        clean=to_t(np.clip(clean, 0, 1)),
        masks=torch.from_numpy(masks[:, None]).float(),
        params=params,
        kinds=kinds,
    )
