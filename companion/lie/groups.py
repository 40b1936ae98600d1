r"""GL⁺(2) and SL(2): polar decomposition, the global chart ξ and its inverse.

Conventions (Mironenco & Forré, ICLR 2024, "left" polar form)
--------------------------------------------------------------
* A group element is a matrix ``g: (..., n, n)`` with :math:`\det g > 0`
  (GL⁺(n)) or :math:`\det g = 1` (SL(n)).
* **Polar decomposition** :math:`g = S^{1/2} R` with :math:`S = g g^\top`
  symmetric positive definite and :math:`R = S^{-1/2} g \in \mathrm{SO}(n)`;
  :math:`P = S^{1/2}` is "the shape", :math:`R` "the turn". Both factors come
  from one ``eigh`` of :math:`g g^\top`.
* **Cartan decomposition of the Lie algebra** :math:`\mathfrak{g} = \mathfrak{p}\oplus\mathfrak{k}`:
  :math:`\mathfrak{p}` = symmetric matrices (traceless for SL), :math:`\mathfrak{k}`
  = skew matrices. The **global chart**

  .. math:: \xi:\ \mathfrak{p}\oplus\mathfrak{k}\to G,\qquad X + Y \mapsto \exp(X)\exp(Y)

  is a diffeomorphism (unlike :math:`\exp`, which misses e.g.
  :math:`\mathrm{diag}(-2, -\tfrac12)\in\mathrm{SL}(2)`), with inverse
  :math:`\xi^{-1}(g) = \log P + \log R`.
* Coordinates: an orthonormal basis of the algebra for the trace inner product
  :math:`\langle A, B\rangle = \mathrm{tr}(A^\top B)`:

  - ``"GL+(2)"``: :math:`E_{11},\ (E_{12}+E_{21})/\sqrt2,\ E_{22},\ (E_{21}-E_{12})/\sqrt2`;
  - ``"SL(2)"``: :math:`(E_{11}-E_{22})/\sqrt2,\ (E_{12}+E_{21})/\sqrt2,\ (E_{21}-E_{12})/\sqrt2`.

  The last coordinate is the rotation part: a rotation by :math:`\theta` has
  :math:`\log R = \theta J`, :math:`J = E_{21} - E_{12}`, i.e. coordinate :math:`\sqrt2\,\theta`.
"""

from __future__ import annotations

import math

import torch

from ..checks import check_square, check_tensor
from ..groups import rotation_2d

__all__ = [
    "GROUPS",
    "check_group",
    "eigh_sym",
    "algebra_dim",
    "check_gl_plus",
    "polar",
    "from_polar",
    "spd_sqrt",
    "xi",
    "xi_inv",
    "det2",
    "singular_values2",
    "algebra_basis",
    "to_coords",
    "from_coords",
    "rotation_angle",
]

GROUPS = ("GL+(2)", "SL(2)")
_ALIASES = {"gl+(2)": "GL+(2)", "gl2": "GL+(2)", "gl+2": "GL+(2)", "sl(2)": "SL(2)", "sl2": "SL(2)"}


def check_group(group: object, name: str = "group") -> str:
    """Return the canonical group name (``"GL+(2)"`` or ``"SL(2)"``); accepts ``"gl2"``/``"sl2"``."""
    if not isinstance(group, str):
        raise TypeError(f"{name} must be a string, one of {GROUPS}, got {type(group).__name__}")
    key = group.strip().lower().replace(" ", "").replace("⁺", "+")
    if key not in _ALIASES:
        raise ValueError(f"{name} must be one of {GROUPS} (or 'gl2', 'sl2'), got {group!r}")
    return _ALIASES[key]


def algebra_dim(group: str) -> int:
    """Dimension of the Lie algebra: 4 for GL⁺(2), 3 for SL(2)."""
    return 4 if check_group(group) == "GL+(2)" else 3


def check_gl_plus(
    g: object,
    name: str,
    *,
    size: int | None = None,
    special: bool = False,
    atol: float | None = None,
) -> torch.Tensor:
    r"""Check that ``g: (..., n, n)`` holds matrices with :math:`\det g > 0` (or :math:`=1` if ``special``).

    Singular and negative-determinant matrices raise a ``ValueError`` naming ``name``.
    """
    g = check_square(g, name, size=size)
    if g.is_complex():
        raise TypeError(f"{name} must be real, got {g.dtype}")
    if g.numel() == 0:
        return g
    det = torch.linalg.det(g)
    if not torch.isfinite(g).all():
        raise ValueError(f"{name} must hold finite entries")
    scale = g.abs().amax(dim=(-1, -2)) ** g.shape[-1]
    tiny = 1e-6 if g.dtype in (torch.float16, torch.bfloat16, torch.float32) else 1e-12
    if (det <= tiny * scale.clamp_min(1e-30)).any():
        raise ValueError(
            f"{name} must have positive determinant (GL+); smallest det is "
            f"{float(det.min()):.3e} (singular or orientation-reversing matrix)"
        )
    if special:
        if atol is None:
            atol = 1e-4 if g.dtype in (torch.float16, torch.bfloat16, torch.float32) else 1e-8
        err = float((det - 1).abs().max())
        if err > atol:
            raise ValueError(f"{name} must have determinant 1 (SL); max |det - 1| is {err:.2e}")
    return g


def eigh_sym(s: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Eigen-decomposition of symmetric ``s: (..., n, n)``: ascending eigenvalues ``(..., n)`` and
    orthonormal eigenvectors as columns ``(..., n, n)``.

    For ``n = 2`` a closed form (much faster than batched LAPACK for many small matrices):
    :math:`\lambda = m \mp r`, :math:`m = (a+c)/2`, :math:`r = \sqrt{((a-c)/2)^2 + b^2}`, and the
    eigenvector of the larger eigenvalue at angle :math:`\tfrac12\operatorname{atan2}(2b, a - c)`.
    """
    if s.shape[-1] != 2:
        return torch.linalg.eigh(s)
    a, b, c = s[..., 0, 0], 0.5 * (s[..., 0, 1] + s[..., 1, 0]), s[..., 1, 1]
    m = 0.5 * (a + c)
    r = torch.sqrt((0.5 * (a - c)) ** 2 + b**2)
    phi = 0.5 * torch.atan2(2 * b, a - c)
    cs, sn = torch.cos(phi), torch.sin(phi)
    lam = torch.stack([m - r, m + r], -1)
    vec = torch.stack([torch.stack([-sn, cs], -1), torch.stack([cs, sn], -1)], -1)
    return lam, vec


def _eig_ggt(g: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    lam, vec = eigh_sym(g @ g.transpose(-1, -2))
    return lam.clamp_min(torch.finfo(g.dtype).tiny), vec


def _sym_fn(lam: torch.Tensor, vec: torch.Tensor) -> torch.Tensor:
    return (vec * lam.unsqueeze(-2)) @ vec.transpose(-1, -2)


def polar(g: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Polar factors of ``g: (..., n, n)``, :math:`\det g > 0`: returns ``(S, R)`` with
    :math:`S = g g^\top` (SPD) and :math:`R = S^{-1/2} g \in \mathrm{SO}(n)`, so that
    :math:`g = S^{1/2} R` (see :func:`from_polar`). For ``n = 2``, :math:`R \propto g + \operatorname{cof}(g)`
    in closed form; otherwise :math:`R = S^{-1/2}g` by one ``eigh`` of :math:`g g^\top`.
    """
    g = check_gl_plus(g, "g")
    s = g @ g.transpose(-1, -2)
    if g.shape[-1] == 2:
        # For 2x2 with det > 0, R is proportional to g + cof(g): a rotation by
        # atan2(g10 - g01, g00 + g11). Exact even for badly conditioned g.
        r = rotation_2d(torch.atan2(g[..., 1, 0] - g[..., 0, 1], g[..., 0, 0] + g[..., 1, 1]))
    else:
        lam, vec = _eig_ggt(g)
        r = _sym_fn(lam.rsqrt(), vec) @ g
    return 0.5 * (s + s.transpose(-1, -2)), r


def spd_sqrt(s: torch.Tensor) -> torch.Tensor:
    r"""Symmetric square root :math:`S^{1/2}` of SPD matrices ``s: (..., n, n)`` (by ``eigh``)."""
    s = check_square(s, "s")
    if not torch.allclose(s, s.transpose(-1, -2), atol=1e-5 if s.dtype == torch.float32 else 1e-10):
        raise ValueError("s must be symmetric")
    lam, vec = eigh_sym(s)
    if (lam <= 0).any():
        raise ValueError(f"s must be positive definite; smallest eigenvalue {float(lam.min()):.3e}")
    return _sym_fn(lam.sqrt(), vec)


def from_polar(s: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
    r"""Inverse of :func:`polar`: :math:`(S, R) \mapsto S^{1/2} R`. Shapes ``(..., n, n)`` broadcast."""
    s = check_square(s, "s")
    r = check_square(r, "r", size=s.shape[-1])
    return spd_sqrt(s) @ r


def rotation_angle(r: torch.Tensor) -> torch.Tensor:
    r"""Angle :math:`\theta\in(-\pi, \pi]` of rotations ``r: (..., 2, 2)``."""
    r = check_square(r, "r", size=2)
    return torch.atan2(r[..., 1, 0] - r[..., 0, 1], r[..., 0, 0] + r[..., 1, 1])


def xi(a: torch.Tensor) -> torch.Tensor:
    r"""The global chart :math:`\xi(A) = \exp(X)\exp(Y)`, :math:`X = (A + A^\top)/2`,
    :math:`Y = (A - A^\top)/2`. ``a: (..., 2, 2)`` (any real matrix) → ``(..., 2, 2)`` in GL⁺(2);
    traceless ``a`` lands in SL(2).

    :math:`\exp(X)` is computed by ``eigh`` and :math:`\exp(Y)` as a rotation matrix.
    """
    a = check_square(a, "a", size=2)
    x = 0.5 * (a + a.transpose(-1, -2))
    theta = 0.5 * (a[..., 1, 0] - a[..., 0, 1])
    lam, vec = eigh_sym(x)
    return _sym_fn(lam.exp(), vec) @ rotation_2d(theta)


def _two_product(a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``a b = p + e`` exactly, with ``p = fl(a b)`` (Dekker's product with Veltkamp's split)."""
    bits = 1 - round(math.log2(torch.finfo(a.dtype).eps))  # significand bits: 53 in float64
    c = 2.0 ** ((bits + 1) // 2) + 1.0
    ta, tb = c * a, c * b
    a_hi, b_hi = ta - (ta - a), tb - (tb - b)
    a_lo, b_lo = a - a_hi, b - b_hi
    p = a * b
    return p, ((a_hi * b_hi - p) + a_hi * b_lo + a_lo * b_hi) + a_lo * b_lo


def det2(g: torch.Tensor) -> torch.Tensor:
    r"""Determinant of ``g: (..., 2, 2)`` to a few ulps even when it cancels.

    :math:`g_{11}g_{22} - g_{12}g_{21}` loses the relative accuracy
    :math:`\varepsilon\,\mathrm{cond}(g)` when the two products nearly cancel; here both
    products are split into a rounded part and its exact rounding error
    (``_two_product``), the rounded parts cancel exactly (Sterbenz) and the errors
    restore the lost digits. Returns ``(...)``.
    """
    p1, e1 = _two_product(g[..., 0, 0], g[..., 1, 1])
    p2, e2 = _two_product(g[..., 0, 1], g[..., 1, 0])
    return (p1 - p2) + (e1 - e2)


def singular_values2(g: torch.Tensor) -> torch.Tensor:
    r"""Singular values :math:`\sigma_2 \le \sigma_1` of ``g: (..., 2, 2)``, ``(..., 2)`` ascending.

    :math:`\sigma_1 = \tfrac12\big(\lVert(g_{11}+g_{22},\,g_{21}-g_{12})\rVert
    + \lVert(g_{11}-g_{22},\,g_{21}+g_{12})\rVert\big)` is a sum of non-negative terms,
    and :math:`\sigma_2 = |\det g|/\sigma_1` with :func:`det2`: both keep their relative
    accuracy however badly :math:`g` is conditioned, where the eigenvalues
    :math:`m \mp r` of :math:`g g^\top` lose :math:`\varepsilon\,\mathrm{cond}(g)^2` to
    cancellation in the smaller one.
    """
    s_plus = torch.hypot(g[..., 0, 0] + g[..., 1, 1], g[..., 1, 0] - g[..., 0, 1])
    s_minus = torch.hypot(g[..., 0, 0] - g[..., 1, 1], g[..., 1, 0] + g[..., 0, 1])
    s1 = 0.5 * (s_plus + s_minus)
    s2 = det2(g).abs() / s1.clamp_min(torch.finfo(g.dtype).tiny)
    return torch.stack([s2, s1], -1)


def xi_inv(g: torch.Tensor) -> torch.Tensor:
    r""":math:`\xi^{-1}(g) = \log P + \log R` for ``g: (..., 2, 2)`` with :math:`\det g > 0`,
    where :math:`g = P R` is the polar decomposition (:math:`P = (g g^\top)^{1/2}`).
    :math:`\log P = V \operatorname{diag}(\log\sigma) V^\top` with the singular values
    from :func:`singular_values2` and the eigenvectors :math:`V` of :math:`g g^\top`; for 2×2
    matrices the angle of :math:`R` is :math:`\operatorname{atan2}(g_{21} - g_{12}, g_{11} + g_{22})`
    (as :math:`R \propto g + \operatorname{cof}(g)`).
    Returns the algebra element as a matrix ``(..., 2, 2)``; see :func:`to_coords`.

    **Accuracy.** The result is accurate to a few ulps of :math:`\log\mathrm{cond}(g)` for
    every ``g`` that :func:`check_gl_plus` accepts (:math:`\det g` above ``1e-12`` (float64) or
    ``1e-6`` (float32) times :math:`\max|g_{ij}|^2`, i.e. condition numbers up to about
    ``1e12`` or ``1e6``). Taking :math:`\log\lambda_{\min}(g g^\top)` from the closed-form
    eigenvalues instead would lose :math:`\varepsilon\,\mathrm{cond}(g)^2` (garbage from
    ``cond = 1e8`` in float64).
    """
    g = check_gl_plus(g, "g", size=2)
    _, vec = eigh_sym(g @ g.transpose(-1, -2))
    sv = singular_values2(g).clamp_min(torch.finfo(g.dtype).tiny)
    log_p = _sym_fn(sv.log(), vec)
    theta = torch.atan2(g[..., 1, 0] - g[..., 0, 1], g[..., 0, 0] + g[..., 1, 1])  # angle of R
    zero = torch.zeros_like(theta)
    log_r = torch.stack([torch.stack([zero, -theta], -1), torch.stack([theta, zero], -1)], -2)
    return log_p + log_r


def algebra_basis(
    group: str, *, dtype: torch.dtype = torch.float64, device: torch.device | str | None = None
) -> torch.Tensor:
    """Orthonormal basis ``(d, 2, 2)`` of the Lie algebra (see the module docstring)."""
    group = check_group(group)
    h = 1.0 / math.sqrt(2.0)
    if group == "GL+(2)":
        b = [[[1, 0], [0, 0]], [[0, h], [h, 0]], [[0, 0], [0, 1]], [[0, -h], [h, 0]]]
    else:
        b = [[[h, 0], [0, -h]], [[0, h], [h, 0]], [[0, -h], [h, 0]]]
    return torch.tensor(b, dtype=dtype, device=device)


def to_coords(a: torch.Tensor, group: str) -> torch.Tensor:
    """Coordinates ``(..., d)`` of algebra elements ``a: (..., 2, 2)`` in :func:`algebra_basis`.

    For ``"SL(2)"`` the trace part of ``a`` (if any) is dropped (projection onto sl(2)).
    """
    a = check_square(a, "a", size=2)
    basis = algebra_basis(group, dtype=a.dtype, device=a.device)
    return torch.einsum("...ij,kij->...k", a, basis)


def from_coords(v: torch.Tensor, group: str) -> torch.Tensor:
    """Algebra elements ``(..., 2, 2)`` from coordinates ``v: (..., d)`` (inverse of :func:`to_coords`)."""
    d = algebra_dim(group)
    v = check_tensor(v, "v", min_ndim=1, last_dims=(d,), floating=True)
    basis = algebra_basis(group, dtype=v.dtype, device=v.device)
    return torch.einsum("...k,kij->...ij", v, basis)
