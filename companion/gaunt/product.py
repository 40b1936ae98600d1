r"""The Gaunt tensor product: the product of two spherical functions, in SH coefficients.

Given :math:`f_1 = \sum x^{(1)}_{l_1m_1} Y_{l_1m_1}` (degree :math:`\le L_1`) and
:math:`f_2` (degree :math:`\le L_2`), the SH coefficients of their product up to
degree :math:`L_{out}\le L_1+L_2` are

.. math:: y_{l_3m_3} = \int_{S^2} f_1 f_2\, Y_{l_3m_3}\,d\Omega
    = \sum G^{l_1l_2l_3}_{m_1m_2m_3}\, x^{(1)}_{l_1m_1}\, x^{(2)}_{l_2m_2},

the *Gaunt tensor product* (Luo, Chen & Krishnapriyan, ICLR 2024). Written with
Clebsch-Gordan coefficients it is the sum over all :math:`O(L^3)` paths
:math:`(l_1,l_2,l_3)` of :math:`O(L^3)` multiply-adds each: :math:`O(L^6)`.

:func:`gaunt_product` computes the same numbers by three routes. The paper's, ``"fft"``,
is :math:`O(L^3)`:

1. SH → 2D Fourier coefficients :math:`F_{uv}` (:mod:`companion.gaunt.sh_fourier`);
   the change of basis is sparse (:math:`v=\pm m`), so it is one batched matrix
   product per azimuthal frequency :math:`v`: :math:`O(L^3)`.
2. The product of functions is the 2D convolution of their Fourier coefficients,
   done by FFT on a grid large enough to avoid wrap-around (``irfft2`` → pointwise
   product → ``rfft2``, using that the functions are real): :math:`O(L^2\log L)`.
3. 2D Fourier → SH by the exact projection (one batched matrix product per
   :math:`v`): :math:`O(L^3)`.

``"dense"`` applies steps 1-3 as precomputed dense matrices on the half of the torus grid
with :math:`\theta\le\pi` (:math:`O(L^4)`, fastest for small degrees); ``"separable"``
samples on a Gauss-Legendre × equispaced sphere grid through a Legendre sum per order
:math:`m` and a matmul over :math:`m` (:math:`O(L^3)` in large matrix products, the
sparsity of the real Gaunt tensor in :math:`m`); ``"auto"`` chooses from measured
crossovers (:data:`ROUTE_THRESHOLDS`).

References of the same map, for tests and benchmarks: :func:`gaunt_product_dense`
(dense Gaunt tensor), :func:`gaunt_product_e3nn` (e3nn ``TensorProduct`` with one
weighted "uuu" path per allowed :math:`(l_1,l_2,l_3)`, as the paper's efficiency
comparison builds it) and :func:`gaunt_product_grid` (sphere grid, e3nn's
``ToS2Grid``/``FromS2Grid``).

Shapes: ``x1: (..., (L1+1)**2)``, ``x2: (..., (L2+1)**2)``, leading dimensions
(batch, nodes, channels, ...) broadcast; result ``(..., (L_out+1)**2)``.
"""

from __future__ import annotations

import math
from functools import cache

import numpy as np
import torch
from e3nn import o3

from ..checks import check_choice, check_int, check_tensor
from ..utils import BoundedCache, default_dtype
from .coefficients import _gaunt_tensor, allowed_paths, gaunt_to_wigner_constant
from .sh_fourier import (
    _fourier_to_sh_matrix,
    _sh_to_fourier_matrix,
    cached_on,
    degree_of,
    real_spherical_harmonics,
    register_builder,
)

__all__ = [
    "gaunt_product",
    "gaunt_product_dense",
    "gaunt_product_e3nn",
    "gaunt_product_grid",
    "fft_sizes",
    "dense_sizes",
    "grid_resolution",
    "separable_sizes",
    "METHODS",
    "ROUTE_THRESHOLDS",
    "CHUNK_FLOATS",
    "route_for",
    "tune_routes",
    "e3nn_gaunt_tensor_product",
    "to_e3nn_layout",
    "from_e3nn_layout",
]


# --------------------------------------------------------------------------- constants


def _nice(n: int) -> int:
    """Smallest m >= n whose prime factors are 2, 3 and 5 (fast FFT sizes)."""
    m = n
    while True:
        k = m
        for p in (2, 3, 5):
            while k % p == 0:
                k //= p
        if k == 1:
            return m
        m += 1


@cache
def fft_sizes(L1: int, L2: int, L_out: int) -> tuple[int, int]:
    r"""FFT grid ``(N_u, N_v)`` (θ, φ) for the product of degrees ``L1``, ``L2`` read up to ``L_out``.

    The product has :math:`|u|,|v|\le L_1+L_2`. The projection onto SH needs every
    :math:`u` (the θ integral is over half a period), so :math:`N_u\ge 2(L_1+L_2)+1`; only
    :math:`|v|\le L_{out}` is read, so :math:`N_v \ge L_1+L_2+L_{out}+1` avoids aliasing
    (and :math:`N_v\ge 2\max(L_1,L_2)+1` holds the inputs). Rounded up to 2-3-5 smooth sizes.
    """
    Lp = L1 + L2
    return _nice(2 * Lp + 1), _nice(max(Lp + L_out + 1, 2 * max(L1, L2) + 1))


def _wrapped_u(N: int) -> torch.Tensor:
    """Frequency of each FFT index 0..N-1 (Nyquist index of even N gets N // 2)."""
    j = torch.arange(N)
    return torch.where(j <= (N - 1) // 2, j, j - N)


@cache
def _forward_matrix(L: int, Nu: int) -> torch.Tensor:
    """``W[v, kk, 2j + c]`` (float64, ``(L+1, 2(L+1), 2 Nu)``): SH slot ``kk`` → part ``c`` (re, im) of
    the Fourier coefficient at θ-index ``j`` (wrapped) and φ-frequency ``v >= 0``.
    Slot ``kk = l`` holds :math:`x_{l,+v}`, ``kk = L+1+l`` holds :math:`x_{l,-v}` (v > 0)."""
    B = _sh_to_fourier_matrix(L)  # (K, 2L+1, 2L+1) indexed [k, u+L, v+L]
    W = torch.zeros(L + 1, 2 * (L + 1), Nu, 2, dtype=torch.float64)
    cols = torch.arange(-L, L + 1) % Nu
    for v in range(L + 1):
        for l in range(v, L + 1):
            for kk, m in ((l, v), (L + 1 + l, -v)):
                if v == 0 and m == 0 and kk != l:
                    continue
                b = B[l * l + l + m, :, L + v]
                W[v, kk, cols, 0] = b.real
                W[v, kk, cols, 1] = b.imag
    return W.reshape(L + 1, 2 * (L + 1), 2 * Nu)


@cache
def _input_index(L: int) -> torch.Tensor:
    """Gather index ``(L+1) * 2(L+1)`` from the e3nn SH order into the [v, kk] slots (unused slots → 0,
    whose rows of the forward matrix are zero)."""
    idx = torch.zeros(L + 1, 2 * (L + 1), dtype=torch.int64)
    for v in range(L + 1):
        for l in range(v, L + 1):
            idx[v, l] = l * l + l + v
            if v > 0:
                idx[v, L + 1 + l] = l * l + l - v
    return idx.reshape(-1)


@cache
def _backward_matrix(L_out: int, Nu: int) -> torch.Tensor:
    """``W[v, 2j + c, kk]`` (float64, ``(L_out+1, 2 Nu, 2(L_out+1))``): part ``c`` of the product's
    Fourier coefficient at θ-index ``j`` and φ-frequency ``v >= 0`` → SH slot ``kk``. Uses the
    Hermitian symmetry: the ``-v`` half contributes the complex conjugate (factor 2 for v > 0)."""
    U = Nu // 2
    G = _fourier_to_sh_matrix(L_out, U)  # (K, 2U+1, 2Lo+1) indexed [k, u+U, v+Lo]
    u = _wrapped_u(Nu)
    nyquist = (Nu % 2 == 0) & (torch.arange(Nu) == Nu // 2)
    W = torch.zeros(L_out + 1, Nu, 2, 2 * (L_out + 1), dtype=torch.float64)
    for v in range(L_out + 1):
        fac = 1.0 if v == 0 else 2.0
        for l in range(v, L_out + 1):
            for kk, m in ((l, v), (L_out + 1 + l, -v)):
                if v == 0 and kk != l:
                    continue
                g = G[l * l + l + m, u + U, L_out + v]
                g = torch.where(nyquist, torch.zeros((), dtype=g.dtype), g)
                W[v, :, 0, kk] = fac * g.real
                W[v, :, 1, kk] = -fac * g.imag
    return W.reshape(L_out + 1, 2 * Nu, 2 * (L_out + 1))


@cache
def _output_index(L_out: int) -> torch.Tensor:
    """Gather index from the flattened [v, kk] slots back to the e3nn SH order."""
    idx = []
    for l in range(L_out + 1):
        for m in range(-l, l + 1):
            idx.append(abs(m) * 2 * (L_out + 1) + (l if m >= 0 else L_out + 1 + l))
    return torch.tensor(idx, dtype=torch.int64)


register_builder("fwd", _forward_matrix)
register_builder("bwd", _backward_matrix)
register_builder("in_idx", _input_index)
register_builder("out_idx", _output_index)
register_builder("gaunt", _gaunt_tensor)


# --------------------------------------------------------------------------- checks

_COMPUTE = {
    torch.float64: torch.float64,
    torch.float32: torch.float32,
    torch.float16: torch.float32,
    torch.bfloat16: torch.float32,
}


def _check_pair(x1: object, x2: object, L_out: object) -> tuple[int, int, int, torch.Size]:
    x1 = check_tensor(x1, "x1", min_ndim=1)
    x2 = check_tensor(x2, "x2", min_ndim=1)
    for name, x in (("x1", x1), ("x2", x2)):
        if x.dtype not in _COMPUTE:
            raise TypeError(
                f"{name} must have a real floating dtype (float16/bfloat16/float32/float64), "
                f"got {x.dtype}"
            )
    if x1.dtype != x2.dtype:
        raise TypeError(f"x1 and x2 must have the same dtype, got {x1.dtype} and {x2.dtype}")
    if x1.device != x2.device:
        raise ValueError(f"x1 and x2 must be on the same device, got {x1.device} and {x2.device}")
    L1, L2 = degree_of(x1, "x1"), degree_of(x2, "x2")
    if L_out is None:
        L_out = L1 + L2
    L_out = check_int(L_out, "L_out")
    if L_out > L1 + L2:
        raise ValueError(
            f"L_out must be <= L1 + L2 = {L1 + L2} (the product of degrees {L1} and {L2} "
            f"has no higher degree), got {L_out}"
        )
    try:
        batch = torch.broadcast_shapes(x1.shape[:-1], x2.shape[:-1])
    except RuntimeError as err:
        raise ValueError(
            f"x1 and x2 must have broadcastable leading dimensions, got shapes "
            f"{tuple(x1.shape)} and {tuple(x2.shape)}"
        ) from err
    return L1, L2, L_out, batch


# --------------------------------------------------------------------------- the fast product


def _to_torus(x: torch.Tensor, L: int, Nu: int, Nv: int) -> torch.Tensor:
    """SH coefficients ``(..., (L+1)**2)`` → samples on the ``(Nv, Nu)`` torus grid (φ, θ)."""
    lead = x.shape[:-1]
    n = math.prod(lead)
    W = cached_on("fwd", (L, Nu), x.device, x.dtype)  # (L+1, 2(L+1), 2Nu)
    idx = cached_on("in_idx", (L,), x.device, torch.int64)
    X = x.reshape(n, x.shape[-1]).index_select(-1, idx).view(n, L + 1, 2 * (L + 1))
    F = torch.bmm(X.transpose(0, 1), W)  # (L+1 [v], batch, 2Nu)
    F = torch.view_as_complex(F.view(L + 1, n, Nu, 2)).transpose(0, 1)  # (batch, v, Nu)
    s = torch.fft.irfft2(F, s=(Nu, Nv), dim=(-1, -2), norm="forward")  # (batch, Nv, Nu)
    return s.view(*lead, Nv, Nu)


def _from_torus(s: torch.Tensor, L_out: int, Nu: int, Nv: int) -> torch.Tensor:
    """Samples ``(..., Nv, Nu)`` of a function of degree < the grid's band limit → SH ``(..., (L_out+1)**2)``."""
    lead = s.shape[:-2]
    n = math.prod(lead)
    W = cached_on("bwd", (L_out, Nu), s.device, s.dtype)  # (Lo+1, 2Nu, 2(Lo+1))
    idx = cached_on("out_idx", (L_out,), s.device, torch.int64)
    P = torch.fft.rfft2(s.reshape(n, Nv, Nu), dim=(-1, -2), norm="forward")  # (batch, Nv//2+1, Nu)
    P = torch.view_as_real(P[:, : L_out + 1]).reshape(n, L_out + 1, 2 * Nu)
    y = torch.bmm(P.transpose(0, 1), W)  # (Lo+1, batch, 2(Lo+1))
    y = y.transpose(0, 1).reshape(n, (L_out + 1) * 2 * (L_out + 1)).index_select(-1, idx)
    return y.view(*lead, (L_out + 1) ** 2)


def dense_sizes(L1: int, L2: int, L_out: int) -> tuple[int, int]:
    r"""Torus grid ``(N_u, N_v)`` of the dense route: the same bounds as :func:`fft_sizes`, not
    rounded (no FFT is run on it), with :math:`N_v` even so that the grid is symmetric under
    :math:`(\theta,\varphi)\mapsto(2\pi-\theta,\varphi+\pi)`, which maps the torus twice onto the sphere."""
    Lp = L1 + L2
    Nv = max(Lp + L_out + 1, 2 * max(L1, L2) + 1)
    return 2 * Lp + 1, Nv + (Nv % 2)


def _half_rows(Nu: int, Nv: int) -> torch.Tensor:
    r"""Flat indices ``b * Nu + a`` of the samples with :math:`\theta_a \le \pi` (``a <= Nu // 2``)."""
    a = torch.arange(Nu // 2 + 1)
    b = torch.arange(Nv)
    return (b[:, None] * Nu + a[None, :]).reshape(-1)


def _dense_in(L: int, Nu: int, Nv: int) -> torch.Tensor:
    """SH ``(L+1)**2`` → the torus samples with θ <= π, as one dense real matrix (float64).

    The inverse DFT of the Fourier coefficients (:func:`_to_torus`) applied to the identity."""
    full = _to_torus(torch.eye((L + 1) ** 2, dtype=torch.float64), L, Nu, Nv).reshape(
        (L + 1) ** 2, Nv * Nu
    )
    return full[:, _half_rows(Nu, Nv)].contiguous()


def _dense_out(L_out: int, Nu: int, Nv: int) -> torch.Tensor:
    r"""The torus samples with θ <= π → SH ``(L_out+1)**2``, as one dense real matrix (float64).

    :func:`_from_torus` applied to the identity, then folded: a sample at
    :math:`(2\pi-\theta, \varphi+\pi)` equals the one at :math:`(\theta,\varphi)` (same point of
    the sphere), so its row is added to that sample's row. Needs ``Nv`` even."""
    if Nv % 2:
        raise ValueError(f"the dense route needs an even N_v, got {Nv}")
    eye = torch.eye(Nv * Nu, dtype=torch.float64).view(Nv * Nu, Nv, Nu)
    full = _from_torus(eye, L_out, Nu, Nv).view(Nv, Nu, -1)
    folded = full.clone()
    for a in range(1, (Nu + 1) // 2):  # 0 < θ_a < π: its mirror is θ_{Nu-a} > π
        folded[:, a] += full.roll(-(Nv // 2), dims=0)[:, Nu - a]
    return folded[:, : Nu // 2 + 1].reshape(-1, full.shape[-1]).contiguous()


register_builder("dense_in", _dense_in)
register_builder("dense_out", _dense_out)


# --------------------------------------------------------------------------- the separable route


def separable_sizes(L1: int, L2: int, L_out: int) -> tuple[int, int]:
    r"""Grid ``(N_θ, N_φ)`` of the separable route: Gauss-Legendre nodes in :math:`\cos\theta`
    and equispaced azimuths.

    With :math:`d = L_1+L_2+L_{out}`: the azimuthal sum is exact for
    :math:`f_1f_2\,Y_{l_3m_3}` (frequencies :math:`\le d`) on :math:`N_\varphi = d+1` points;
    after it, the integrand is a polynomial of degree :math:`\le d` in :math:`\cos\theta`
    (the powers of :math:`\sin\theta` pair up), exact with :math:`N_\theta=\lfloor d/2\rfloor+1`
    Gauss-Legendre nodes.
    """
    d = L1 + L2 + L_out
    return d // 2 + 1, d + 1


@cache
def _gauss_legendre(N: int) -> tuple[torch.Tensor, torch.Tensor]:
    t, w = np.polynomial.legendre.leggauss(N)
    return torch.from_numpy(t), torch.from_numpy(w)


def _sep_legendre(L: int, N_theta: int) -> torch.Tensor:
    r"""``Λ[m + L, a, s]`` (float64, ``(2L+1, N_θ, L+1)``): the θ factor of :math:`Y_{l m}` at
    node ``a``, with :math:`l = |m| + s` (zero where :math:`l > L`).

    :math:`Y_{lm}(\theta,\varphi) = Λ_{l|m|}(\theta)\,c_m(\varphi)` with :math:`c_m=\cos m\varphi`
    (:math:`m\ge0`) or :math:`\sin|m|\varphi` (:math:`m<0`), so :math:`Λ_{l|m|}(\theta)` is
    :math:`Y_{l|m|}` at :math:`\varphi = 0`."""
    t, _ = _gauss_legendre(N_theta)
    pts = torch.stack([torch.zeros_like(t), t, torch.sqrt(1 - t * t)], dim=-1)
    Y = real_spherical_harmonics(L, pts)  # (N_θ, (L+1)**2)
    lam = torch.zeros(2 * L + 1, N_theta, L + 1, dtype=torch.float64)
    for m in range(-L, L + 1):
        for s in range(L + 1 - abs(m)):
            l = abs(m) + s
            lam[m + L, :, s] = Y[:, l * l + l + abs(m)]
    return lam


def _sep_in_index(L: int) -> torch.Tensor:
    """Gather index ``((2L+1)(L+1),)``: slot ``(m, s)`` ← the e3nn index of ``(|m|+s, m)``;
    slots with ``|m|+s > L`` read index 0, which their zero column of Λ cancels."""
    idx = torch.zeros(2 * L + 1, L + 1, dtype=torch.int64)
    for m in range(-L, L + 1):
        for s in range(L + 1 - abs(m)):
            l = abs(m) + s
            idx[m + L, s] = l * l + l + m
    return idx.reshape(-1)


def _azimuths(L: int, N_phi: int) -> torch.Tensor:
    """``c[m + L, b]`` (float64, ``(2L+1, N_φ)``): cos(mφ_b) for m >= 0, sin(|m|φ_b) for m < 0."""
    phi = 2 * math.pi * torch.arange(N_phi, dtype=torch.float64) / N_phi
    m = torch.arange(-L, L + 1, dtype=torch.float64)[:, None]
    return torch.where(m >= 0, torch.cos(m * phi), torch.sin(-m * phi))


def _sep_synthesis(L: int, N_phi: int) -> torch.Tensor:
    """``(N_φ, 2L+1)``: azimuthal coefficients → samples."""
    return _azimuths(L, N_phi).T.contiguous()


def _sep_analysis(L_out: int, N_phi: int) -> torch.Tensor:
    """``(2L_out+1, N_φ)``: samples → azimuthal coefficients (exact quadrature, 2π / N_φ)."""
    return _azimuths(L_out, N_phi) * (2 * math.pi / N_phi)


def _sep_projection(L_out: int, N_theta: int) -> torch.Tensor:
    """``(2L_out+1, L_out+1, N_θ)``: Gauss-Legendre weight times Λ, the θ part of the projection."""
    _, w = _gauss_legendre(N_theta)
    return (_sep_legendre(L_out, N_theta) * w[:, None]).transpose(1, 2).contiguous()


def _sep_out_index(L_out: int) -> torch.Tensor:
    """Gather index from the ``(m, s)`` slots back to the e3nn order."""
    idx = [
        (m + L_out) * (L_out + 1) + l - abs(m) for l in range(L_out + 1) for m in range(-l, l + 1)
    ]
    return torch.tensor(idx, dtype=torch.int64)


register_builder("sep_lam", _sep_legendre)
register_builder("sep_in_idx", _sep_in_index)
register_builder("sep_syn", _sep_synthesis)
register_builder("sep_ana", _sep_analysis)
register_builder("sep_proj", _sep_projection)
register_builder("sep_out_idx", _sep_out_index)


def _sep_to_grid(x: torch.Tensor, L: int, N_theta: int, N_phi: int) -> torch.Tensor:
    """``x: (c, (L+1)**2)`` → samples ``(N_φ, N_θ · c)`` (the chunk's rows last, so that every
    step is one large matrix product)."""
    c = x.shape[0]
    lam = cached_on("sep_lam", (L, N_theta), x.device, x.dtype)
    idx = cached_on("sep_in_idx", (L,), x.device, torch.int64)
    syn = cached_on("sep_syn", (L, N_phi), x.device, x.dtype)
    X = x.t().contiguous().index_select(0, idx).view(2 * L + 1, L + 1, c)
    A = torch.bmm(lam, X)  # (2L+1, N_θ, c): per order m, a Legendre sum over l
    return syn @ A.view(2 * L + 1, N_theta * c)


def _separable_chunk(
    a: torch.Tensor,
    b: torch.Tensor | None,
    consts: tuple,
    inplace: bool,
    out: torch.Tensor | None = None,
) -> torch.Tensor:
    """One chunk of the separable route: ``a: (c, K1)``, ``b: (c, K2)`` (None: square ``a``)."""
    L1, L2, L_out, N_theta, N_phi = consts
    c = a.shape[0]
    s1 = _sep_to_grid(a, L1, N_theta, N_phi)
    if b is None:
        s = s1.square_() if inplace else s1.square()
    else:
        s2 = _sep_to_grid(b, L2, N_theta, N_phi)
        s = s1.mul_(s2) if inplace else s1 * s2
    ana = cached_on("sep_ana", (L_out, N_phi), a.device, a.dtype)
    proj = cached_on("sep_proj", (L_out, N_theta), a.device, a.dtype)
    idx = cached_on("sep_out_idx", (L_out,), a.device, torch.int64)
    B = (ana @ s).view(2 * L_out + 1, N_theta, c)
    Y = torch.bmm(proj, B).view((2 * L_out + 1) * (L_out + 1), c)
    y = Y.index_select(0, idx).t()
    return y if out is None else out.copy_(y)


def _dense_chunk(
    a: torch.Tensor,
    b: torch.Tensor | None,
    consts: tuple,
    inplace: bool,
    out: torch.Tensor | None = None,
) -> torch.Tensor:
    """One chunk of the dense route (three matrix products)."""
    M1, M2, M_out = (cached_on(name, args, a.device, a.dtype) for name, args in consts)
    s1 = a @ M1
    if b is None:
        s = s1.square_() if inplace else s1.square()
    else:
        s = s1.mul_(b @ M2) if inplace else s1 * (b @ M2)
    return s @ M_out if out is None else torch.mm(s, M_out, out=out)


#: Intermediate samples per chunk on the CPU, about 256 KB in float32. They stay in
#: cache, which measured 2-4x faster than one pass over a large batch.
CHUNK_FLOATS = 1 << 16


def _chunked(
    fn, a: torch.Tensor, b: torch.Tensor | None, consts: tuple, width: int, n_out: int
) -> torch.Tensor:
    """Apply ``fn`` to row chunks of the flat inputs ``a, b: (n, K)``; ``width`` is the
    number of intermediate samples per row. One chunk on accelerators."""
    n = a.shape[0]
    grad = torch.is_grad_enabled() and (a.requires_grad or (b is not None and b.requires_grad))
    rows = n if a.device.type != "cpu" else max(32, CHUNK_FLOATS // max(width, 1))
    if n <= rows:
        return fn(a, b, consts, not grad)
    if grad:  # autograd: no writes into a shared output
        parts = [
            fn(a[s : s + rows], None if b is None else b[s : s + rows], consts, False)
            for s in range(0, n, rows)
        ]
        return torch.cat(parts)
    out = a.new_empty(n, n_out)
    for s in range(0, n, rows):
        fn(a[s : s + rows], None if b is None else b[s : s + rows], consts, True, out[s : s + rows])
    return out


# --------------------------------------------------------------------------- route choice

METHODS = ("auto", "dense", "separable", "fft")

#: Measured crossovers per device type and compute dtype. ``"auto"`` runs ``"dense"`` while
#: ``L1 + L2 <= dense_max``, ``"separable"`` while ``L1 + L2 <= separable_max``, else
#: ``"fft"``. The CPU entries come from :func:`tune_routes` (one thread, 4096 rows,
#: ``L1 = L2 = L``, ``L_out = 2L``, L up to 24); a device or dtype without an entry is
#: measured by :func:`tune_routes` on its first ``"auto"`` call.
ROUTE_THRESHOLDS: dict[tuple[str, torch.dtype], tuple[int, int]] = {
    ("cpu", torch.float32): (6, 48),
    ("cpu", torch.float64): (6, 48),
}


def route_for(L1: int, L2: int, device: torch.device | str, dtype: torch.dtype) -> str:
    """The route ``"auto"`` takes for input degrees ``L1, L2`` on ``device`` in ``dtype``
    (the compute dtype: float16/bfloat16 count as float32); measures the device first if
    :data:`ROUTE_THRESHOLDS` has no entry for it."""
    L1, L2 = check_int(L1, "L1"), check_int(L2, "L2")
    device = torch.device(device)
    dtype = _COMPUTE.get(dtype, dtype)
    key = (device.type, dtype)
    if key not in ROUTE_THRESHOLDS:  # a short measurement, once per device type and dtype
        tune_routes(device, dtype, degrees=(1, 2, 3, 4, 6, 8, 12), budget_s=0.05)
    dense_max, separable_max = ROUTE_THRESHOLDS[key]
    if L1 + L2 <= dense_max:
        return "dense"
    return "separable" if L1 + L2 <= separable_max else "fft"


def tune_routes(
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float32,
    degrees: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 20, 24),
    rows: int = 4096,
    budget_s: float = 0.2,
    *,
    store: bool = True,
) -> list[dict]:
    """Time the three routes at ``L1 = L2 = L``, ``L_out = 2L`` on ``rows`` random rows and
    (``store=True``) set :data:`ROUTE_THRESHOLDS` for ``(device type, dtype)`` from the result:
    ``dense_max`` = 2 × the largest L at which ``"dense"`` was the fastest route, and
    ``separable_max`` just below the first larger ``2L`` at which ``"fft"`` beat
    ``"separable"`` (the largest measured ``2L`` if it never did). Clears the plan cache.
    Returns one dict per L with the median wall times in ms and the fastest route."""
    from ..utils import median_time

    device = torch.device(device)
    if dtype not in (torch.float32, torch.float64):
        raise TypeError(f"dtype must be torch.float32 or torch.float64, got {dtype}")
    rows = check_int(rows, "rows", minimum=1)
    g = torch.Generator().manual_seed(0)
    table = []
    for L in degrees:
        L = check_int(L, "degrees")
        x1 = torch.randn(rows, (L + 1) ** 2, generator=g, dtype=dtype).to(device)
        x2 = torch.randn(rows, (L + 1) ** 2, generator=g, dtype=dtype).to(device)
        row: dict = {"L": L}
        with torch.no_grad():
            for m in METHODS[1:]:
                fn = lambda m=m, a=x1, b=x2, L=L: gaunt_product(a, b, 2 * L, method=m)  # noqa: E731
                row[m] = 1e3 * median_time(
                    fn, device=device, warmup=1, min_repeats=3, budget_s=budget_s
                )
        row["fastest"] = min(METHODS[1:], key=lambda m: row[m])
        table.append(row)
    if store:
        won = [2 * row["L"] for row in table if row["fastest"] == "dense"]
        dense_max = max(won, default=-1)
        lost = [2 * r["L"] for r in table if 2 * r["L"] > dense_max and r["separable"] > r["fft"]]
        # up to the first degree where "fft" beat "separable" (else the whole measured range)
        separable_max = min(lost) - 1 if lost else 2 * max(row["L"] for row in table)
        ROUTE_THRESHOLDS[device.type, dtype] = (dense_max, max(separable_max, dense_max))
        _PLANS.clear()
    return table


def gaunt_product(
    x1: torch.Tensor, x2: torch.Tensor, L_out: int | None = None, *, method: str = "auto"
) -> torch.Tensor:
    r"""SH coefficients of the product :math:`f_1 f_2` up to degree ``L_out``.

    Args:
        x1: ``(..., (L1+1)**2)`` real SH coefficients of :math:`f_1` (e3nn order and
            integral normalisation, see :mod:`companion.gaunt.sh_fourier`).
        x2: ``(..., (L2+1)**2)``; its leading dimensions broadcast with those of ``x1``.
        L_out: the highest output degree, ``0 <= L_out <= L1 + L2`` (default ``L1 + L2``,
            which loses nothing: the product has no higher degree).
        method: three exact implementations of the same map, all of the form
            "samples of :math:`f_1` and :math:`f_2` on a grid → pointwise product →
            projection":

            * ``"fft"`` (the paper's): SH → 2D Fourier (sparse, one batched matmul per
              :math:`v`) → ``irfft2`` → pointwise product → ``rfft2`` → SH;
              :math:`O(L^3)` per channel, but the FFTs are tiny (:math:`\sim 4L` points)
              and their per-transform cost dominates at small :math:`L`;
            * ``"dense"``: the same two linear maps (SH → torus samples with
              :math:`\theta\le\pi`, and back) as precomputed dense matrices: :math:`O(L^4)`
              per channel in three BLAS calls, fastest for small degrees;
            * ``"separable"``: uses that :math:`Y_{lm}=Λ_{l|m|}(\theta)c_m(\varphi)`: per
              order :math:`m` a Legendre sum over :math:`l` at Gauss-Legendre nodes
              (one batched matmul), then a matmul over :math:`m` to the azimuths, and the
              transpose steps back (:func:`separable_sizes`); :math:`O(L^3)` per channel in
              five large matrix products;
            * ``"auto"``: chosen per degree from the measured crossovers of the device and
              dtype (:data:`ROUTE_THRESHOLDS`, :func:`route_for`).

            On the CPU, ``"dense"`` and ``"separable"`` process the rows in chunks whose
            intermediates fit in cache (:data:`CHUNK_FLOATS`).

    Returns:
        ``(..., (L_out+1)**2)`` on the inputs' device, in their dtype (float16 and
        bfloat16 are computed in float32). Differentiable in both inputs.

    Equals :math:`y_k = \sum_{ij} G_{ijk} x^{(1)}_i x^{(2)}_j` with the Gaunt coefficients
    :math:`G` (:func:`gaunt_product_dense`), i.e. e3nn's CG tensor product restricted to
    the paths with :math:`l_1+l_2+l_3` even, each weighted by :math:`c_{l_1l_2l_3}`.
    """
    plan, key = None, None
    if (
        type(x1) is torch.Tensor
        and type(x2) is torch.Tensor
        and (L_out is None or type(L_out) is int)
    ):
        # Repeated calls with the same shapes/dtypes/devices skip the checks (done on the first call).
        key = (
            x1.shape,
            x2.shape,
            x1.dtype,
            x2.dtype,
            x1.device,
            x2.device,
            L_out,
            method,
            x1 is x2,
        )
        plan = _PLANS.get(key)
    if plan is None:
        plan = _make_plan(x1, x2, L_out, method)
        if key is not None:
            if len(_PLANS) >= _MAX_PLANS:  # e.g. graphs of varying size: keep the cache bounded
                _PLANS.clear()
            _PLANS[key] = plan
    kind, consts, batch, out_dtype, dtype = plan
    if kind == "empty":
        return x1.new_zeros(*batch, consts)
    a = x1 if x1.dtype == dtype else x1.to(dtype)
    b = x2 if x2.dtype == dtype else x2.to(dtype)
    if kind == "fft":
        (L1, L2, L_out, Nu, Nv) = consts
        s1 = _to_torus(a, L1, Nu, Nv)
        s2 = s1 if x2 is x1 else _to_torus(b, L2, Nu, Nv)
        y = _from_torus(s1 * s2, L_out, Nu, Nv)
        if y.shape[:-1] != batch:
            y = y.expand(*batch, y.shape[-1])
    else:
        fn, args, width, n_out = consts
        a_rows = a.expand(*batch, a.shape[-1]).reshape(-1, a.shape[-1])
        b_rows = None if x2 is x1 else b.expand(*batch, b.shape[-1]).reshape(-1, b.shape[-1])
        y = _chunked(fn, a_rows, b_rows, args, width, n_out).reshape(*batch, n_out)
    return y if y.dtype == out_dtype else y.to(out_dtype)


_PLANS: dict[tuple, tuple] = {}
_MAX_PLANS = 1024


def _make_plan(x1: object, x2: object, L_out: object, method: object) -> tuple:
    """Validate the arguments of :func:`gaunt_product` and choose what to run (cached per signature)."""
    L1, L2, L_out, batch = _check_pair(x1, x2, L_out)
    check_choice(method, "method", METHODS)
    x1 = check_tensor(x1, "x1")  # already checked by _check_pair; narrows the type
    out_dtype = x1.dtype
    dtype = _COMPUTE[out_dtype]
    if method == "auto":
        method = route_for(L1, L2, x1.device, dtype)
    if math.prod(batch) == 0:  # nothing to multiply (and some FFT back-ends reject empty batches)
        return "empty", (L_out + 1) ** 2, batch, out_dtype, dtype
    n_out = (L_out + 1) ** 2
    if method == "dense":
        Nu, Nv = dense_sizes(L1, L2, L_out)
        consts = (
            ("dense_in", (L1, Nu, Nv)),
            ("dense_in", (L2, Nu, Nv)),
            ("dense_out", (L_out, Nu, Nv)),
        )
        return "dense", (_dense_chunk, consts, (Nu // 2 + 1) * Nv, n_out), batch, out_dtype, dtype
    if method == "separable":
        Nt, Np = separable_sizes(L1, L2, L_out)
        sizes = (L1, L2, L_out, Nt, Np)
        return "separable", (_separable_chunk, sizes, Nt * Np, n_out), batch, out_dtype, dtype
    Nu, Nv = fft_sizes(L1, L2, L_out)
    return "fft", (L1, L2, L_out, Nu, Nv), batch, out_dtype, dtype


# --------------------------------------------------------------------------- references


def gaunt_product_dense(
    x1: torch.Tensor, x2: torch.Tensor, L_out: int | None = None
) -> torch.Tensor:
    """The same map with the dense Gaunt tensor (``einsum``, :math:`O(L^6)` per channel); a reference."""
    L1, L2, L_out, _ = _check_pair(x1, x2, L_out)
    dtype = _COMPUTE[x1.dtype]
    T = cached_on("gaunt", (L1, L2, L_out), x1.device, dtype)
    return torch.einsum("...i,...j,ijk->...k", x1.to(dtype), x2.to(dtype), T).to(x1.dtype)


def to_e3nn_layout(x: torch.Tensor) -> torch.Tensor:
    """``(..., C, (L+1)**2)`` (channels, SH) → e3nn's ``(..., dim)`` for irreps ``C x 0e + C x 1o + ...``."""
    L = degree_of(x)
    check_tensor(x, "x", min_ndim=2)
    return torch.cat([x[..., l * l : (l + 1) ** 2].flatten(-2) for l in range(L + 1)], dim=-1)


def from_e3nn_layout(y: torch.Tensor, channels: int, L: int) -> torch.Tensor:
    """Inverse of :func:`to_e3nn_layout`: ``(..., C (L+1)**2)`` → ``(..., C, (L+1)**2)``."""
    channels, L = check_int(channels, "channels", minimum=1), check_int(L, "L")
    check_tensor(y, "y", min_ndim=1, last_dims=(channels * (L + 1) ** 2,))
    parts, start = [], 0
    for l in range(L + 1):
        n = channels * (2 * l + 1)
        parts.append(y[..., start : start + n].unflatten(-1, (channels, 2 * l + 1)))
        start += n
    return torch.cat(parts, dim=-1)


def _gaunt_irreps(channels: int, L: int) -> o3.Irreps:
    return o3.Irreps([(channels, (l, (-1) ** l)) for l in range(L + 1)])


def e3nn_gaunt_tensor_product(
    L1: int, L2: int, L_out: int, channels: int
) -> tuple[o3.TensorProduct, torch.Tensor]:
    r"""The paper's e3nn reference: an ``o3.TensorProduct`` computing the Gaunt product.

    Irreps ``C x 0e + C x 1o + ...`` (parity :math:`(-1)^l`, so the parity rule keeps
    exactly the paths with :math:`l_1+l_2+l_3` even), one ``"uuu"`` instruction per allowed path
    with ``path_weight`` :math:`c^2` (e3nn multiplies a path by the square root of its
    ``path_weight``), normalisations off, shared external weights. Returns the module
    (float64 CPU; move it with ``.to``) and the weight vector to call it with: the signs of
    the :math:`c` (all +1 in e3nn's convention, which the construction checks rather than assumes).
    """
    L1, L2, L_out = check_int(L1, "L1"), check_int(L2, "L2"), check_int(L_out, "L_out")
    channels = check_int(channels, "channels", minimum=1)
    paths = allowed_paths(L1, L2, L_out)
    consts = [gaunt_to_wigner_constant(a, b, c) for a, b, c in paths]
    instr = [(a, b, c, "uuu", True, k * k) for (a, b, c), k in zip(paths, consts, strict=True)]
    with default_dtype(torch.float64):  # e3nn builds its constants in the default dtype
        tp = o3.TensorProduct(
            _gaunt_irreps(channels, L1),
            _gaunt_irreps(channels, L2),
            _gaunt_irreps(channels, L_out),
            instr,
            irrep_normalization="none",
            path_normalization="none",
            internal_weights=False,
            shared_weights=True,
        )
    weight = torch.cat(
        [torch.full((channels,), math.copysign(1.0, k), dtype=torch.float64) for k in consts]
    )
    return tp.to(torch.float64), weight


_TP_CACHE: BoundedCache[tuple[o3.TensorProduct, torch.Tensor]] = BoundedCache(maxsize=16)


def gaunt_product_e3nn(
    x1: torch.Tensor, x2: torch.Tensor, L_out: int | None = None
) -> torch.Tensor:
    """The same map through e3nn's CG ``TensorProduct`` (:func:`e3nn_gaunt_tensor_product`).

    ``x1: (..., C, (L1+1)**2)`` and ``x2: (..., C, (L2+1)**2)`` (same channels ``C``; the other
    leading dimensions broadcast). Slow (:math:`O(L^6)`); a reference for tests and benchmarks.
    """
    L1, L2, L_out, batch = _check_pair(x1, x2, L_out)
    if x1.ndim < 2 or x2.ndim < 2 or len(batch) < 1:
        raise ValueError("x1 and x2 must have a channel dimension: shapes (..., C, (L+1)**2)")
    C = batch[-1]
    dtype = _COMPUTE[x1.dtype]
    key = (L1, L2, L_out, C, str(x1.device), dtype)
    if key not in _TP_CACHE:
        tp, w = e3nn_gaunt_tensor_product(L1, L2, L_out, C)
        _TP_CACHE[key] = (tp.to(device=x1.device, dtype=dtype), w.to(device=x1.device, dtype=dtype))
    tp, w = _TP_CACHE[key]
    a = to_e3nn_layout(x1.to(dtype).expand(*batch, x1.shape[-1]))
    b = to_e3nn_layout(x2.to(dtype).expand(*batch, x2.shape[-1]))
    return from_e3nn_layout(tp(a, b, w), C, L_out).to(x1.dtype)


def grid_resolution(L1: int, L2: int, L_out: int) -> tuple[int, int]:
    r"""``(res_beta, res_alpha)`` for which e3nn's sphere grid computes the product exactly.

    ``FromS2Grid`` integrates :math:`f_1 f_2 Y_{l_3}` (degree :math:`\le L_1+L_2+L_{out}`):
    its Kostelec-Rockmore rule on ``2b`` polar points is exact below degree ``b``, and
    ``M`` equispaced azimuths are exact below frequency ``M``.
    """
    d = L1 + L2 + L_out
    return 2 * (d + 1), 2 * ((d + 2) // 2) + 1  # res_alpha odd (e3nn then uses its rfft path)


_GRID_CACHE: BoundedCache[tuple[torch.nn.Module, ...]] = BoundedCache(maxsize=16)


def gaunt_product_grid(
    x1: torch.Tensor, x2: torch.Tensor, L_out: int | None = None
) -> torch.Tensor:
    """The same map on a sphere grid: e3nn ``ToS2Grid`` → pointwise product → ``FromS2Grid``.

    Shapes as :func:`gaunt_product`; the grid is :func:`grid_resolution` (exact quadrature).
    """
    L1, L2, L_out, batch = _check_pair(x1, x2, L_out)
    dtype = _COMPUTE[x1.dtype]
    key = (L1, L2, L_out, str(x1.device), dtype)
    if key not in _GRID_CACHE:
        res = grid_resolution(L1, L2, L_out)
        kw = dict(normalization="integral", dtype=torch.float64)
        with default_dtype(torch.float64):  # e3nn's quadrature weights use the default dtype
            mods = (
                o3.ToS2Grid(L1, res, **kw),
                o3.ToS2Grid(L2, res, **kw),
                o3.FromS2Grid(res, L_out, **kw),
            )
        _GRID_CACHE[key] = tuple(m.to(device=x1.device, dtype=dtype) for m in mods)
    to1, to2, back = _GRID_CACHE[key]
    y = back(to1(x1.to(dtype)) * to2(x2.to(dtype)))
    return y.expand(*batch, y.shape[-1]).to(x1.dtype)
