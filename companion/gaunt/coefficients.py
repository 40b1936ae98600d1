r"""Gaunt coefficients, computed two independent ways, and their relation to Clebsch-Gordan.

The **Gaunt coefficient** of three real spherical harmonics (e3nn convention,
integral normalisation, see :mod:`companion.gaunt.sh_fourier`) is

.. math:: G^{l_1 l_2 l_3}_{m_1 m_2 m_3} = \int_{S^2} Y_{l_1 m_1} Y_{l_2 m_2} Y_{l_3 m_3}\, d\Omega .

It is the coefficient of :math:`Y_{l_3 m_3}` in the product :math:`Y_{l_1 m_1} Y_{l_2 m_2}`.

1. :func:`gaunt_quadrature` evaluates the integral with a quadrature that is exact
   for the integrand (Gauss-Legendre in :math:`\cos\theta`, uniform in
   :math:`\varphi`), from e3nn's spherical harmonics only.
2. :func:`gaunt_from_wigner` uses that the integral is an invariant tensor, so it is
   a multiple of e3nn's real Wigner 3j symbol :math:`W` (``o3.wigner_3j``, unit
   Frobenius norm): :math:`G = c_{l_1 l_2 l_3} W`, with the closed form

   .. math:: |c_{l_1 l_2 l_3}| = \sqrt{\tfrac{(2l_1+1)(2l_2+1)(2l_3+1)}{4\pi}}\;
       \left|\begin{pmatrix} l_1 & l_2 & l_3\\ 0&0&0\end{pmatrix}\right| ,

   where the parity factor :math:`\begin{pmatrix} l_1 & l_2 & l_3\\ 0&0&0\end{pmatrix}` vanishes exactly when
   :math:`l_1+l_2+l_3` is odd. The sign of :math:`c` depends on the sign convention
   of e3nn's real :math:`W`; it is fixed without any integral: the function
   :math:`g(n) = \sum W_{m_1m_2m_3} Y_{l_1m_1}(n)Y_{l_2m_2}(n)Y_{l_3m_3}(n)` is rotation
   invariant, hence constant, and :math:`\int g = \sum_m W G = c`, so
   :math:`c = 4\pi\, g(n)` at any one point :math:`n`.
"""

from __future__ import annotations

import math
from functools import cache

import numpy as np
import torch
from e3nn import o3

from ..checks import check_int
from .sh_fourier import real_spherical_harmonics

__all__ = [
    "wigner_3j_000",
    "gaunt_to_wigner_constant",
    "gaunt_from_wigner",
    "gaunt_quadrature",
    "gaunt_tensor",
    "allowed_paths",
]


def _check_triple(l1: int, l2: int, l3: int) -> tuple[int, int, int]:
    return check_int(l1, "l1"), check_int(l2, "l2"), check_int(l3, "l3")


def _triangle(l1: int, l2: int, l3: int) -> bool:
    return abs(l1 - l2) <= l3 <= l1 + l2


def wigner_3j_000(l1: int, l2: int, l3: int) -> float:
    r"""The closed form of :math:`\begin{pmatrix} l_1 & l_2 & l_3\\ 0&0&0\end{pmatrix}` (Condon-Shortley).

    With :math:`J = l_1+l_2+l_3`: zero if :math:`J` is odd or the triangle rule fails, else
    :math:`(-1)^{J/2}\sqrt{\frac{(J-2l_1)!(J-2l_2)!(J-2l_3)!}{(J+1)!}}\frac{(J/2)!}{(J/2-l_1)!(J/2-l_2)!(J/2-l_3)!}`.
    """
    l1, l2, l3 = _check_triple(l1, l2, l3)
    J = l1 + l2 + l3
    if J % 2 or not _triangle(l1, l2, l3):
        return 0.0
    g = J // 2
    f = math.factorial
    # exact integer arithmetic under the square root, then one rounding
    ratio = f(J - 2 * l1) * f(J - 2 * l2) * f(J - 2 * l3) / f(J + 1)
    return (-1) ** g * math.sqrt(ratio) * f(g) / (f(g - l1) * f(g - l2) * f(g - l3))


@cache
def _wigner_sign(l1: int, l2: int, l3: int) -> float:
    """Sign of Σ W Y Y Y at a generic point (see module docstring)."""
    W = o3.wigner_3j(l1, l2, l3, dtype=torch.float64)
    n = torch.tensor([0.3, -0.5, 0.81], dtype=torch.float64)
    n = n / n.norm()
    Y = [real_spherical_harmonics(l, n)[l * l :] for l in (l1, l2, l3)]
    g = torch.einsum("ijk,i,j,k->", W, *Y)
    return 1.0 if float(g) >= 0 else -1.0


def gaunt_to_wigner_constant(l1: int, l2: int, l3: int) -> float:
    r"""The constant :math:`c_{l_1l_2l_3}` with :math:`G = c\,W` (``W = o3.wigner_3j(l1, l2, l3)``).

    Zero (exactly) when :math:`l_1+l_2+l_3` is odd or the triangle rule fails.
    """
    l1, l2, l3 = _check_triple(l1, l2, l3)
    w000 = wigner_3j_000(l1, l2, l3)
    if w000 == 0.0:
        return 0.0
    mag = math.sqrt((2 * l1 + 1) * (2 * l2 + 1) * (2 * l3 + 1) / (4 * math.pi)) * abs(w000)
    return _wigner_sign(l1, l2, l3) * mag


def gaunt_from_wigner(l1: int, l2: int, l3: int) -> torch.Tensor:
    """Gaunt coefficients ``(2l1+1, 2l2+1, 2l3+1)`` (float64) as :math:`c\\,W` from e3nn's Wigner 3j."""
    l1, l2, l3 = _check_triple(l1, l2, l3)
    shape = (2 * l1 + 1, 2 * l2 + 1, 2 * l3 + 1)
    c = gaunt_to_wigner_constant(l1, l2, l3)
    if c == 0.0:
        return torch.zeros(shape, dtype=torch.float64)
    return c * o3.wigner_3j(l1, l2, l3, dtype=torch.float64)


def gaunt_quadrature(l1: int, l2: int, l3: int) -> torch.Tensor:
    r"""Gaunt coefficients ``(2l1+1, 2l2+1, 2l3+1)`` (float64) by exact quadrature of three real SH.

    After the :math:`\varphi` integral, the integrand is a polynomial of degree
    :math:`\le l_1+l_2+l_3` in :math:`t=\cos\theta`, integrated exactly by Gauss-Legendre
    with :math:`\lceil (l_1+l_2+l_3+1)/2\rceil` nodes; the :math:`\varphi` integral of a
    trigonometric polynomial of degree :math:`\le l_1+l_2+l_3` is exact on
    :math:`l_1+l_2+l_3+1` equispaced points.
    """
    l1, l2, l3 = _check_triple(l1, l2, l3)
    J = l1 + l2 + l3
    nodes, weights = np.polynomial.legendre.leggauss(J // 2 + 1)
    n_phi = J + 1
    t = torch.as_tensor(nodes, dtype=torch.float64)
    w = torch.as_tensor(weights, dtype=torch.float64) * (2 * math.pi / n_phi)
    phi = 2 * math.pi * torch.arange(n_phi, dtype=torch.float64) / n_phi
    st = torch.sqrt(1 - t * t)
    pts = torch.stack(
        torch.broadcast_tensors(
            st[:, None] * torch.sin(phi), t[:, None], st[:, None] * torch.cos(phi)
        ),
        -1,
    )
    Y = [real_spherical_harmonics(l, pts)[..., l * l :] for l in (l1, l2, l3)]
    return torch.einsum("ab,abi,abj,abk->ijk", w[:, None].expand(-1, n_phi), *Y)


@cache
def gaunt_tensor(L1: int, L2: int, L_out: int) -> torch.Tensor:
    r"""All Gaunt coefficients as one dense tensor ``((L1+1)**2, (L2+1)**2, (L_out+1)**2)`` (float64).

    ``gaunt_tensor(L1, L2, L_out)[i, j, k]`` is :math:`\int Y_i Y_j Y_k`, so the SH
    coefficients of the product of two functions are ``einsum("...i,...j,ijk->...k")``
    (the dense :math:`O(L^6)` reference). Built from :func:`gaunt_from_wigner`; cached.
    ``L_out > L1 + L2`` is a ValueError, as in :func:`~companion.gaunt.product.gaunt_product`.
    """
    L1, L2, L_out = check_int(L1, "L1"), check_int(L2, "L2"), check_int(L_out, "L_out")
    if L_out > L1 + L2:  # as gaunt_product: the product has no higher degree
        raise ValueError(
            f"L_out must be <= L1 + L2 = {L1 + L2} (the product of degrees {L1} and {L2} "
            f"has no higher degree), got {L_out}"
        )
    T = torch.zeros((L1 + 1) ** 2, (L2 + 1) ** 2, (L_out + 1) ** 2, dtype=torch.float64)
    for l1, l2, l3 in allowed_paths(L1, L2, L_out):
        T[l1 * l1 : (l1 + 1) ** 2, l2 * l2 : (l2 + 1) ** 2, l3 * l3 : (l3 + 1) ** 2] = (
            gaunt_from_wigner(l1, l2, l3)
        )
    return T


def allowed_paths(L1: int, L2: int, L_out: int) -> list[tuple[int, int, int]]:
    r"""The paths :math:`(l_1, l_2, l_3)` with non-zero Gaunt coefficient: triangle rule and
    :math:`l_1+l_2+l_3` even (the CG paths with odd sum, e.g. the cross product
    :math:`1\otimes1\to1`, are exactly those the Gaunt product cannot express)."""
    L1, L2, L_out = check_int(L1, "L1"), check_int(L2, "L2"), check_int(L_out, "L_out")
    return [
        (a, b, c)
        for a in range(L1 + 1)
        for b in range(L2 + 1)
        for c in range(L_out + 1)
        if _triangle(a, b, c) and (a + b + c) % 2 == 0
    ]
