r"""Change of basis between real spherical harmonics and the 2D Fourier basis.

Conventions (those of ``e3nn.o3.spherical_harmonics``)
------------------------------------------------------
A point of the sphere is written with the polar angle :math:`\theta\in[0,\pi]`
measured from the :math:`y` axis and the azimuth :math:`\varphi` measured from
:math:`z` towards :math:`x`:

.. math:: n(\theta, \varphi) = (\sin\theta\sin\varphi,\; \cos\theta,\; \sin\theta\cos\varphi),

which is ``e3nn.o3.angles_to_xyz(alpha=φ, beta=θ)``. The real spherical
harmonics :math:`Y_{lm}` are e3nn's with ``normalization="integral"``:
:math:`\int_{S^2} Y_{lm} Y_{l'm'}\,d\Omega = \delta_{ll'}\delta_{mm'}`. A spherical
function of degree :math:`\le L` is stored as its coefficient vector
``x: (..., (L+1)**2)`` in e3nn's order ``l = 0..L``, ``m = -l..l``, so that
:math:`f(n) = \sum_{lm} x_{lm} Y_{lm}(n)`. For :math:`m > 0`, :math:`Y_{lm}`
varies as :math:`\cos(m\varphi)`; for :math:`m < 0` as :math:`\sin(|m|\varphi)`.

The 2D Fourier basis
--------------------
Extended from :math:`\theta\in[0,\pi]` to the whole torus :math:`[0,2\pi)^2`,
:math:`Y_{lm}` is a homogeneous polynomial of degree :math:`l` in the three
coordinates of :math:`n(\theta,\varphi)`, each of which is a trigonometric
polynomial of degree 1 in :math:`\theta` and in :math:`\varphi`. Hence

.. math:: Y_{lm}(\theta,\varphi) = \sum_{|u|\le l}\;\sum_{v=\pm m} B^{lm}_{uv}\, e^{i(u\theta + v\varphi)}

exactly, with only the two azimuthal frequencies :math:`v = \pm m` (sparsity).
We compute :math:`B` (:func:`sh_to_fourier_matrix`) by the discrete Fourier
transform of samples on a :math:`(2L+1)\times(2L+1)` torus grid, which is exact
(no aliasing) for trigonometric polynomials of degree :math:`\le L`.

The way back is the integral over the sphere. For a function given by Fourier
coefficients :math:`F_{uv}` on the torus,

.. math:: \int_{S^2} f\,Y_{lm}\,d\Omega = \int_0^\pi\!\!\int_0^{2\pi} f\,Y_{lm}\,\sin\theta\,d\varphi\,d\theta
    = 2\pi \sum_{u,v} F_{uv} \sum_{u'} B^{lm}_{u',-v}\, I(u+u'),

with the closed form :math:`I(k) = \int_0^\pi e^{ik\theta}\sin\theta\,d\theta`
:math:`= 2/(1-k^2)` for even :math:`k`, :math:`\pm i\pi/2` for :math:`k=\pm1`
and :math:`0` for other odd :math:`k` (:func:`fourier_to_sh_matrix`).
Because the :math:`\theta` integral runs over half a period, every frequency
:math:`u` of :math:`f` contributes: the way back needs all of them.

Everything is built once per size in float64 on the CPU (``functools.lru_cache``)
and copied to a device/dtype on demand (``cached_on``).
"""

from __future__ import annotations

import math
from functools import cache

import torch

from ..checks import check_int, check_tensor
from ..utils import BoundedCache

__all__ = [
    "num_coefficients",
    "degree_of",
    "torus_points",
    "real_spherical_harmonics",
    "sh_on_torus",
    "sh_to_fourier_matrix",
    "theta_integral",
    "fourier_to_sh_matrix",
    "sh_to_fourier",
    "fourier_to_sh",
]


def num_coefficients(L: int) -> int:
    """Number of real SH coefficients of degree ``<= L``: ``(L+1)**2``."""
    L = check_int(L, "L")
    return (L + 1) ** 2


def degree_of(x: torch.Tensor, name: str = "x") -> int:
    """The degree ``L`` of a coefficient tensor ``x: (..., (L+1)**2)``; ValueError if not a square."""
    x = check_tensor(x, name, min_ndim=1)
    n = x.shape[-1]
    L = math.isqrt(n) - 1
    if n == 0 or (L + 1) ** 2 != n:
        raise ValueError(
            f"{name} must have a last dimension (L+1)**2 for some degree L >= 0 "
            f"(1, 4, 9, 16, ...), got shape {tuple(x.shape)}"
        )
    return L


def torus_points(theta: torch.Tensor, phi: torch.Tensor) -> torch.Tensor:
    r"""Points :math:`n(\theta,\varphi)` of the (extended) sphere: ``(...,)`` → ``(..., 3)``.

    For any real :math:`\theta` (not only :math:`[0,\pi]`) this is a unit vector.
    """
    theta = check_tensor(theta, "theta", floating=True)
    phi = check_tensor(phi, "phi", floating=True)
    st = torch.sin(theta)
    return torch.stack(
        torch.broadcast_tensors(st * torch.sin(phi), torch.cos(theta), st * torch.cos(phi)), dim=-1
    )


def real_spherical_harmonics(L: int, n: torch.Tensor) -> torch.Tensor:
    r"""Real SH of degrees ``0..L`` at points ``n: (..., 3)`` (not normalised): ``(..., (L+1)**2)``.

    e3nn's convention for any degree (``e3nn.o3.spherical_harmonics`` stops at
    :math:`l=12`; for :math:`l\le12` the two agree to rounding, and for every :math:`l` these
    transform with e3nn's Wigner D, which the tests check):

    .. math:: Y_{lm} = \sqrt{2-\delta_{m0}}\;\bar P_l^{|m|}(y)\,
        \begin{cases}\mathrm{Re}\,(z+ix)^{|m|} & m\ge0\\ \mathrm{Im}\,(z+ix)^{|m|} & m<0\end{cases}

    with :math:`\bar P_l^m(y)\sin^m\theta` the orthonormal associated Legendre functions (no
    Condon-Shortley phase), computed by the standard stable three-term recurrence in :math:`l`.
    """
    L = check_int(L, "L")
    n = check_tensor(n, "n", floating=True, last_dims=(3,))
    x, y, z = n.unbind(-1)
    P: dict[tuple[int, int], torch.Tensor] = {}
    pmm = torch.full_like(y, math.sqrt(1 / (4 * math.pi)))
    for m in range(L + 1):
        if m > 0:
            pmm = pmm * math.sqrt((2 * m + 1) / (2 * m))
        P[m, m] = pmm
        if m + 1 <= L:
            P[m + 1, m] = math.sqrt(2 * m + 3) * y * pmm
        for l in range(m + 2, L + 1):
            a = math.sqrt((4 * l * l - 1) / (l * l - m * m))
            b = math.sqrt(((l - 1) ** 2 - m * m) / (4 * (l - 1) ** 2 - 1))
            P[l, m] = a * (y * P[l - 1, m] - b * P[l - 2, m])
    cos_m, sin_m = [torch.ones_like(x)], [torch.zeros_like(x)]  # Re, Im of (z + i x)^m
    for _ in range(1, L + 1):
        cos_m.append(cos_m[-1] * z - sin_m[-1] * x)
        sin_m.append(sin_m[-1] * z + cos_m[-2] * x)
    out = []
    for l in range(L + 1):
        for m in range(-l, l + 1):
            a = abs(m)
            out.append((math.sqrt(2) if m else 1.0) * P[l, a] * (cos_m[a] if m >= 0 else sin_m[a]))
    return torch.stack(out, dim=-1)


def sh_on_torus(L: int, theta: torch.Tensor, phi: torch.Tensor) -> torch.Tensor:
    """The integral-normalised real SH of degrees ``0..L`` at ``n(θ, φ)``: ``(...)`` → ``(..., (L+1)**2)``."""
    return real_spherical_harmonics(L, torus_points(theta, phi))


def sh_to_fourier_matrix(L: int) -> torch.Tensor:
    r"""The coefficients :math:`B^{lm}_{uv}`, complex128 of shape ``((L+1)**2, 2L+1, 2L+1)``.

    ``B[k, u + L, v + L]`` is the coefficient of :math:`e^{i(u\theta+v\varphi)}` in the
    ``k``-th real SH (e3nn order). Entries with :math:`v\ne\pm m` are exactly zero,
    and :math:`B_{-u,-v} = \overline{B_{uv}}` holds exactly (the functions are real).
    Built once per ``L``; each call returns a fresh copy.
    """
    return _sh_to_fourier_matrix(check_int(L, "L")).clone()


@cache
def _sh_to_fourier_matrix(L: int) -> torch.Tensor:
    n = 2 * L + 1
    grid = 2 * math.pi * torch.arange(n, dtype=torch.float64) / n
    theta, phi = torch.meshgrid(grid, grid, indexing="ij")
    samples = sh_on_torus(L, theta, phi).movedim(-1, 0)  # (K, n, n)
    coef = torch.fft.fftshift(torch.fft.fft2(samples, norm="forward"), dim=(-2, -1))
    # Exact structure: keep v = ±m only, and make the Hermitian symmetry exact.
    keep = torch.zeros_like(coef, dtype=torch.bool)
    for l in range(L + 1):
        for m in range(-l, l + 1):
            keep[l * l + l + m, :, L + abs(m)] = True
            keep[l * l + l + m, :, L - abs(m)] = True
    coef = torch.where(keep, coef, torch.zeros((), dtype=coef.dtype))
    coef = 0.5 * (coef + coef.flip(-2, -1).conj())
    return coef


def theta_integral(k: torch.Tensor) -> torch.Tensor:
    r""":math:`I(k) = \int_0^\pi e^{ik\theta}\sin\theta\,d\theta` for integer ``k`` (complex128)."""
    k = check_tensor(k, "k")
    k = k.to(torch.int64)
    kf = k.to(torch.float64)
    even = k % 2 == 0
    real = torch.where(
        even, 2.0 / (1.0 - kf * kf).where(even, torch.ones_like(kf)), torch.zeros_like(kf)
    )
    imag = torch.where(k.abs() == 1, kf * (math.pi / 2), torch.zeros_like(kf))
    return torch.complex(real, imag)


def fourier_to_sh_matrix(L_out: int, U: int) -> torch.Tensor:
    r"""The projection :math:`G^{lm}_{uv}` of :math:`e^{i(u\theta+v\varphi)}` onto :math:`Y_{lm}`.

    Complex128 of shape ``((L_out+1)**2, 2U+1, 2L_out+1)``: for a real function with
    Fourier coefficients ``F[u + U, v + L_out]`` (:math:`|u|\le U`, :math:`|v|\le L_{out}`; higher
    :math:`|v|` are orthogonal to all SH of degree :math:`\le L_{out}`),
    :math:`\int f Y_{lm} = \mathrm{Re}\sum_{uv} F_{uv} G^{lm}_{uv}`. Built once per size;
    each call returns a fresh copy.
    """
    return _fourier_to_sh_matrix(check_int(L_out, "L_out"), check_int(U, "U")).clone()


@cache
def _fourier_to_sh_matrix(L_out: int, U: int) -> torch.Tensor:
    B = _sh_to_fourier_matrix(L_out)  # (K, 2Lo+1 [u'], 2Lo+1 [v'])
    u = torch.arange(-U, U + 1)
    up = torch.arange(-L_out, L_out + 1)
    I = theta_integral(u[:, None] + up[None, :])  # (2U+1, 2Lo+1)
    # G[k, u, v] = 2π Σ_u' B[k, u', -v] I(u + u')
    return 2 * math.pi * torch.einsum("kpv,up->kuv", B.flip(-1), I)


def sh_to_fourier(x: torch.Tensor) -> torch.Tensor:
    """Dense reference: SH coefficients ``(..., (L+1)**2)`` → Fourier ``(..., 2L+1, 2L+1)`` (complex, [u, v])."""
    L = degree_of(x)
    check_tensor(x, "x", floating=True)
    B = cached_on("B", (L,), x.device, _complex_of(x.dtype))
    return torch.einsum("...k,kuv->...uv", x.to(B.dtype), B)


def fourier_to_sh(F: torch.Tensor, L_out: int) -> torch.Tensor:
    r"""Dense reference: Fourier coefficients ``F: (..., 2U+1, 2V+1)`` (index ``[u+U, v+V]``) of a
    real function → its SH coefficients of degree ``<= L_out``, ``(..., (L_out+1)**2)`` (real)."""
    F = check_tensor(F, "F", min_ndim=2)
    L_out = check_int(L_out, "L_out")
    if F.shape[-2] % 2 == 0 or F.shape[-1] % 2 == 0:
        raise ValueError(
            f"F must have odd sizes (2U+1, 2V+1) in its last two dimensions, got {tuple(F.shape)}"
        )
    U, V = F.shape[-2] // 2, F.shape[-1] // 2
    G = cached_on("G", (L_out, U), F.device, F.dtype if F.is_complex() else _complex_of(F.dtype))
    # Align the v ranges: G covers |v| <= L_out.
    if V >= L_out:
        F = F[..., V - L_out : V + L_out + 1]
    else:
        G = G[..., L_out - V : L_out + V + 1]
    return torch.einsum("...uv,kuv->...k", F.to(G.dtype), G).real


_COMPLEX = {
    torch.float64: torch.complex128,
    torch.float32: torch.complex64,
    torch.float16: torch.complex64,
    torch.bfloat16: torch.complex64,
}


def _complex_of(dtype: torch.dtype) -> torch.dtype:
    return dtype if dtype.is_complex else _COMPLEX.get(dtype, torch.complex128)


_BUILDERS = {"B": _sh_to_fourier_matrix, "G": _fourier_to_sh_matrix}
_DEVICE_CACHE: BoundedCache[torch.Tensor] = BoundedCache(maxsize=128)


def register_builder(name: str, fn) -> None:
    """Register a cached CPU float64 builder under ``name`` for :func:`cached_on` (internal)."""
    _BUILDERS[name] = fn


def cached_on(name: str, args: tuple, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """The constant ``_BUILDERS[name](*args)`` (built once on the CPU in float64) on ``device``/``dtype``.

    Each (constant, device, dtype) is copied once and kept (the 128 most recently used), so
    repeated calls cost a dict look-up. Internal: the tensor is shared, never edit it.
    """
    key = (name, args, device, dtype)
    t = _DEVICE_CACHE.get(key)
    if t is None:
        t = _BUILDERS[name](*args).to(device=device, dtype=dtype)
        _DEVICE_CACHE[key] = t
    return t
