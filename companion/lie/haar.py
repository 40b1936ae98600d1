r"""Haar measure of GL⁺(2) and SL(2) in three coordinate systems, samplers, importance weights.

GL⁺(2) is unimodular: its Haar measure :math:`\mu` is left *and* right invariant,
:math:`\int\varphi(ug)\,d\mu(g) = \int\varphi(gu)\,d\mu(g) = \int\varphi(g)\,d\mu(g)`.
We fix one normalisation and write it three ways (all checked against each
other by Monte Carlo in ``tests/test_lie.py``):

* **matrix entries**: :math:`d\mu(g) = |\det g|^{-2}\,dg_{11}\,dg_{12}\,dg_{21}\,dg_{22}`;
* **polar coordinates** :math:`g = S^{1/2}R(\theta)`, :math:`S = gg^\top`:
  :math:`d\mu = \tfrac14\det(S)^{-3/2}\,dS_{11}\,dS_{12}\,dS_{22}\,d\theta`;
* **log coordinates** :math:`g = \exp(X)R(\theta)`, :math:`X = \log P` symmetric with
  eigenvalues :math:`t_1 \ge t_2` and orthonormal coordinates :math:`v` (see
  :func:`companion.lie.groups.algebra_basis`):
  :math:`d\mu = \sqrt2\,\frac{\sinh(t_1 - t_2)}{t_1 - t_2}\,dv\,d\theta`.

The sinh factor is the curvature of the symmetric space :math:`\mathrm{Pos}(2)`: the
measure is *not* Lebesgue in :math:`X`. For SL(2) (traceless :math:`X`, two
coordinates) we use :math:`d\mu = \frac{\sinh(t_1-t_2)}{t_1-t_2}\,dv\,d\theta`; with
:math:`t_1 - t_2 = 2r` this is the hyperbolic plane's :math:`\sinh(2r)/(2r)\, r\,dr\,d\phi`.

The paper's code samples :math:`v \sim \mathcal N(0, \sigma^2 I)` (a log-normal SPD
factor) and the rotation uniformly or on an equidistant grid. That is a
*probability* measure, not the (infinite) Haar measure; :func:`importance_weights`
turns such samples into estimates of Haar integrals.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import torch

from ..checks import check_choice, check_int, check_number, check_square
from ..groups import rotation_2d
from .groups import (
    algebra_basis,
    algebra_dim,
    check_gl_plus,
    check_group,
    det2,
    eigh_sym,
    from_coords,
)

__all__ = [
    "GroupSample",
    "sample_angles",
    "sample_group",
    "haar_density_entries",
    "haar_density_polar",
    "haar_density_log",
    "importance_weights",
    "haar_integral",
    "ROTATION_SAMPLERS",
    "LinearGroup",
]

ROTATION_SAMPLERS = ("uniform", "equidistant")


@dataclass(frozen=True)
class GroupSample:
    r"""A finite sample set :math:`H = \{h_j\}` of GL⁺(2) or SL(2).

    Attributes:
        g: the elements ``(n, 2, 2)``.
        g_inv: their inverses ``(n, 2, 2)`` (own storage, never a view of ``g``).
        group: ``"GL+(2)"`` or ``"SL(2)"``.
        coords: :math:`\xi^{-1}` coordinates ``(n, d)`` the sampler drew (``None`` after
            :meth:`left_mul`).
        log_q: log density of the sampler w.r.t. :math:`dv\,d\theta` at each sample, ``(n,)``.
        rot_bound: the rotations were drawn in :math:`[-\pi b, \pi b]`; ``b = 1`` covers SO(2).
    """

    g: torch.Tensor
    g_inv: torch.Tensor
    group: str
    coords: torch.Tensor | None = None
    log_q: torch.Tensor | None = None
    rot_bound: float = 1.0

    def __len__(self) -> int:
        return int(self.g.shape[0])

    def left_mul(self, a: torch.Tensor) -> GroupSample:
        r"""The translated set :math:`aH = \{a h_j\}` (inverses :math:`h_j^{-1}a^{-1}`); ``a: (2, 2)``."""
        a = check_gl_plus(a, "a", size=2, special=self.group == "SL(2)")
        if a.ndim != 2:
            raise ValueError(f"a must be one 2x2 matrix, got shape {tuple(a.shape)}")
        a = a.to(self.g)
        return GroupSample(
            a @ self.g, self.g_inv @ torch.linalg.inv(a), self.group, rot_bound=self.rot_bound
        )

    def to(self, *args, **kwargs) -> GroupSample:
        """Move/cast every tensor (``torch.Tensor.to`` arguments)."""

        def mv(t: torch.Tensor) -> torch.Tensor:
            return t.to(*args, **kwargs)

        def mv_opt(t: torch.Tensor | None) -> torch.Tensor | None:
            return None if t is None else mv(t)

        return replace(
            self,
            g=mv(self.g),
            g_inv=mv(self.g_inv),
            coords=mv_opt(self.coords),
            log_q=mv_opt(self.log_q),
        )


def sample_angles(
    n: int,
    *,
    kind: str = "uniform",
    bound: float = 1.0,
    generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    r"""Rotation angles ``(n,)`` in :math:`[-\pi b, \pi b]`, ``b = bound``.

    ``kind="uniform"``: i.i.d. uniform (Haar on SO(2) when ``b = 1``);
    ``kind="equidistant"``: the midpoint rule :math:`-\pi b + 2\pi b (k + \tfrac12)/n`
    (the released code uses ``linspace``, which repeats :math:`\pm\pi` when ``b = 1``).
    """
    n = check_int(n, "n", minimum=1)
    check_choice(kind, "kind", ROTATION_SAMPLERS)
    check_number(bound, "bound", minimum=0, maximum=1, open_min=True)
    if kind == "uniform":
        u = torch.rand(n, generator=generator, dtype=torch.float64)
    else:
        u = (torch.arange(n, dtype=torch.float64) + 0.5) / n
    return (math.pi * bound * (2 * u - 1)).to(dtype=dtype, device=device)


def sample_group(
    group: str,
    n: int,
    *,
    spd_var: float = 0.1,
    rot: str = "equidistant",
    rot_bound: float = 1.0,
    generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> GroupSample:
    r"""``n`` elements :math:`g = \exp(X)R(\theta)` as the paper's code draws them.

    :math:`X = \sum_k v_k B_k` over the symmetric basis elements (3 for GL⁺(2), 2 for
    SL(2)) with :math:`v \sim \mathcal N(0, \sigma^2 I)`, ``spd_var`` :math:`=\sigma^2`
    (a *variance*, as ``--spd_bounds`` in the released code); :math:`\theta` from
    :func:`sample_angles`. Inverses are computed in closed form,
    :math:`g^{-1} = R(-\theta)\exp(-X)`.
    """
    group = check_group(group)
    n = check_int(n, "n", minimum=1)
    if not isinstance(spd_var, (int, float)) or not spd_var >= 0:
        raise ValueError(f"spd_var must be a non-negative number, got {spd_var!r}")
    d = algebra_dim(group)
    v = math.sqrt(spd_var) * torch.randn(n, d - 1, generator=generator, dtype=torch.float64)
    theta = sample_angles(n, kind=rot, bound=rot_bound, generator=generator, dtype=torch.float64)
    zero = torch.zeros(n, 1, dtype=torch.float64)
    x = from_coords(torch.cat([v, zero], -1), group)
    lam, vec = eigh_sym(x)
    exp_x = (vec * lam.exp().unsqueeze(-2)) @ vec.transpose(-1, -2)
    exp_mx = (vec * (-lam).exp().unsqueeze(-2)) @ vec.transpose(-1, -2)
    g = exp_x @ rotation_2d(theta)
    g_inv = rotation_2d(-theta) @ exp_mx
    coords = torch.cat([v, math.sqrt(2.0) * theta[:, None]], -1)
    if spd_var > 0:
        log_q = -0.5 * (v**2).sum(-1) / spd_var - 0.5 * (d - 1) * math.log(2 * math.pi * spd_var)
    else:
        log_q = torch.full((n,), math.inf, dtype=torch.float64)
    log_q = log_q - math.log(2 * math.pi * rot_bound)
    return GroupSample(
        g.to(dtype=dtype, device=device).contiguous(),
        g_inv.to(dtype=dtype, device=device).contiguous(),
        group,
        coords.to(dtype=dtype, device=device),
        log_q.to(dtype=dtype, device=device),
        float(rot_bound),
    )


def haar_density_entries(g: torch.Tensor) -> torch.Tensor:
    r""":math:`|\det g|^{-n}` for ``g: (..., n, n)``: the Haar density of GL⁺(n) w.r.t. the
    Lebesgue measure on the entries. Returns ``(...)``.

    Raises ``ValueError`` for a non-finite ``g`` or :math:`\det g \le 0` (outside GL⁺(n);
    the density is meant for one component, and ``|det g|`` would silently fold the other
    one onto it).
    """
    g = check_square(g, "g")
    if g.is_complex():
        raise TypeError(f"g must be real, got {g.dtype}")
    if not torch.isfinite(g).all():
        raise ValueError("g must hold finite entries")
    det = torch.linalg.det(g)
    if g.numel() and not (det > 0).all():
        raise ValueError(
            f"g must have positive determinant (GL+); smallest det is {float(det.min()):.3e}"
        )
    return det ** (-g.shape[-1])


def haar_density_polar(s: torch.Tensor) -> torch.Tensor:
    r""":math:`\tfrac14\det(S)^{-3/2}` for ``s: (..., 2, 2)`` SPD: the Haar density of GL⁺(2) in
    polar coordinates :math:`(S, \theta)`, w.r.t. :math:`dS_{11}dS_{12}dS_{22}\,d\theta`."""
    s = check_square(s, "s", size=2)
    return 0.25 * torch.linalg.det(s) ** (-1.5)


def haar_density_log(x: torch.Tensor, group: str = "GL+(2)") -> torch.Tensor:
    r"""Haar density in log coordinates, :math:`c\,\sinh(\Delta)/\Delta`, :math:`\Delta = t_1 - t_2`.

    ``x: (..., 2, 2)`` symmetric (:math:`X = \log P`, the :math:`\mathfrak p` part of
    :math:`\xi^{-1}(g)`); :math:`t_i` its eigenvalues; :math:`c = \sqrt2` for GL⁺(2) (w.r.t.
    :math:`dv\,d\theta`, 3 + 1 coordinates) and :math:`c = 1` for SL(2) (2 + 1 coordinates).
    Returns ``(...)``. A non-symmetric ``x`` (beyond rounding: ``|x - x^T|`` above
    ``1e-6`` (float32) or ``1e-12`` (float64) times ``max(1, |x|)``) or a non-finite one raises a
    ``ValueError``: the density is a function of the symmetric part only, so a full algebra
    element passed by mistake would silently be measured by its symmetric part.
    """
    group = check_group(group)
    x = check_square(x, "x", size=2)
    if x.is_complex():
        raise TypeError(f"x must be real, got {x.dtype}")
    if not torch.isfinite(x).all():
        raise ValueError("x must hold finite entries")
    skew = (x[..., 0, 1] - x[..., 1, 0]).abs()
    rtol = 1e-12 if x.dtype == torch.float64 else 1e-6
    scale = x.abs().amax(dim=(-1, -2)).clamp_min(1.0)
    if (skew > rtol * scale).any():
        raise ValueError(
            "x must be symmetric (the log P part of xi^-1(g)); "
            f"max |x - x^T| is {float(skew.max()):.2e}"
        )
    delta = 2.0 * torch.sqrt(
        (0.5 * (x[..., 0, 0] - x[..., 1, 1])) ** 2 + (0.5 * (x[..., 0, 1] + x[..., 1, 0])) ** 2
    )
    small = delta < 1e-4
    safe = torch.where(small, torch.ones_like(delta), delta)
    ratio = torch.where(small, 1 + delta**2 / 6, torch.sinh(safe) / safe)
    return ratio * (math.sqrt(2.0) if group == "GL+(2)" else 1.0)


def importance_weights(sample: GroupSample) -> torch.Tensor:
    r"""Weights :math:`w_j = \mu(h_j)/q(h_j)` so that :math:`\frac1n\sum_j w_j\varphi(h_j)\to\int\varphi\,d\mu`.

    :math:`\mu` is :func:`haar_density_log`, :math:`q` the sampler's density (both w.r.t.
    :math:`dv\,d\theta`). Needs rotations over the whole circle (``rot_bound = 1``), otherwise the
    proposal misses part of the group and no weights can fix that. Returns ``(n,)``.
    """
    if not isinstance(sample, GroupSample):
        raise TypeError(f"sample must be a GroupSample, got {type(sample).__name__}")
    if sample.coords is None or sample.log_q is None:
        raise ValueError(
            "sample has no sampler density (it was translated); draw it with sample_group"
        )
    if sample.rot_bound != 1.0:
        raise ValueError(
            f"sample's rotations cover only [-{sample.rot_bound}π, {sample.rot_bound}π]; "
            "importance weights need rot_bound = 1"
        )
    d = sample.coords.shape[-1]
    zero = torch.zeros_like(sample.coords[..., :1])
    x = from_coords(torch.cat([sample.coords[..., : d - 1], zero], -1), sample.group)
    return haar_density_log(x, sample.group) * torch.exp(-sample.log_q)


def _wishart2(
    n: int, df: int, scale: float, generator: torch.Generator | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` Wishart(df, scale·I) 2x2 matrices and their log densities (w.r.t. dS11 dS12 dS22)."""
    a = math.sqrt(scale) * torch.randn(n, 2, df, generator=generator, dtype=torch.float64)
    s = a @ a.transpose(-1, -2)
    det = torch.linalg.det(s)
    log_gamma2 = 0.5 * math.log(math.pi) + math.lgamma(df / 2) + math.lgamma(df / 2 - 0.5)
    log_p = (
        (df - 3) / 2 * det.log()
        - s.diagonal(dim1=-2, dim2=-1).sum(-1) / (2 * scale)
        - df * math.log(2)
        - df * math.log(scale)
        - log_gamma2
    )
    return s, log_p


def haar_integral(
    phi: Callable[[torch.Tensor], torch.Tensor],
    *,
    coords: str,
    n_samples: int,
    generator: torch.Generator | None = None,
    spd_var: float = 1.0,
    entry_std: float = 1.0,
    wishart_df: int = 2,
    wishart_scale: float = 1.0,
) -> tuple[float, float]:
    r"""Monte Carlo estimate of :math:`\int_{\mathrm{GL}^+(2)}\varphi\,d\mu` and its standard error.

    ``phi``: ``(N, 2, 2) -> (N,)`` (float64). ``coords`` picks the proposal and density:

    * ``"entries"``: :math:`g_{ij} \sim \mathcal N(\delta_{ij}, \text{entry\_std}^2)`, weight
      :math:`|\det g|^{-2}\,[\det g > 0]/q(g)`;
    * ``"polar"``: :math:`S \sim` Wishart(``wishart_df``, ``wishart_scale``·I), :math:`\theta`
      uniform, weight :math:`\tfrac14\det S^{-3/2}\cdot 2\pi/q(S)`;
    * ``"log"``: :func:`sample_group` (variance ``spd_var``, uniform angles) with
      :func:`importance_weights`;
    * ``"lognormal"``: the same samples *unweighted* — an average against the sampler's
      probability measure, which is not invariant (shown for contrast).
    """
    if not callable(phi):
        raise TypeError(f"phi must be callable, got {type(phi).__name__}")
    n = check_int(n_samples, "n_samples", minimum=2)
    kinds = ("entries", "polar", "log", "lognormal")
    check_choice(coords, "coords", kinds)
    if coords == "entries":
        eye = torch.eye(2, dtype=torch.float64)
        g = eye + entry_std * torch.randn(n, 2, 2, generator=generator, dtype=torch.float64)
        log_q = -0.5 * ((g - eye) ** 2).sum((-1, -2)) / entry_std**2 - 2 * math.log(
            2 * math.pi * entry_std**2
        )
        det = torch.linalg.det(g)
        ok = det > 0
        w = torch.zeros(n, dtype=torch.float64)
        w[ok] = haar_density_entries(g[ok]) * torch.exp(-log_q[ok])
        vals = torch.zeros(n, dtype=torch.float64)
        vals[ok] = phi(g[ok]).to(torch.float64)
        f = w * vals
    elif coords == "polar":
        s, log_q = _wishart2(n, wishart_df, wishart_scale, generator)
        theta = 2 * math.pi * torch.rand(n, generator=generator, dtype=torch.float64)
        lam, vec = eigh_sym(s)
        g = ((vec * lam.sqrt().unsqueeze(-2)) @ vec.transpose(-1, -2)) @ rotation_2d(theta)
        w = haar_density_polar(s) * 2 * math.pi * torch.exp(-log_q)
        f = w * phi(g).to(torch.float64)
    else:
        smp = sample_group(
            "GL+(2)", n, spd_var=spd_var, rot="uniform", generator=generator, dtype=torch.float64
        )
        w = importance_weights(smp) if coords == "log" else torch.ones(n, dtype=torch.float64)
        f = w * phi(smp.g).to(torch.float64)
    return float(f.mean()), float(f.std() / math.sqrt(n))


@dataclass(frozen=True)
class LinearGroup:
    r"""GL⁺(2) or SL(2) as a group object (:class:`companion.groups.GroupLike`).

    These groups are not compact, so they have no Haar *probability*: :meth:`sample`
    draws with :func:`sample_group` (uniform rotations) and :func:`importance_weights`
    turns such draws into Haar integrals.

    Attributes:
        name: ``"GL+(2)"`` or ``"SL(2)"`` (``"gl2"``, ``"sl2"`` are accepted and canonicalised).
    """

    name: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", check_group(self.name, "name"))

    @property
    def lie(self) -> torch.Tensor:
        """Orthonormal Lie-algebra basis ``(d, 2, 2)`` (:func:`~.groups.algebra_basis`)."""
        return algebra_basis(self.name)

    def sample(
        self,
        n: int,
        *,
        generator: torch.Generator | None = None,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str | None = None,
    ) -> torch.Tensor:
        """``n`` elements ``(n, 2, 2)``: :func:`sample_group` with ``rot="uniform"``."""
        return sample_group(
            self.name, n, rot="uniform", generator=generator, dtype=dtype, device=device
        ).g

    def contains(self, g: torch.Tensor, atol: float = 1e-6) -> torch.Tensor:
        """Whether each finite ``g: (..., 2, 2)`` has ``det g > 0`` (GL⁺(2)) or ``det g = 1``
        (SL(2), to ``atol``)."""
        g = check_square(g, "g", size=2)
        det = det2(g)
        finite = torch.isfinite(g).flatten(-2).all(-1)
        ok = det > 0 if self.name == "GL+(2)" else (det - 1).abs() < atol
        return finite & ok
