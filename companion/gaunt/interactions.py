r"""The paper's other two uses of the Gaunt product: equivariant convolutions and many-body products.

**Equivariant convolution.** A message from node :math:`j` to node :math:`i` multiplies the
features of :math:`j` (a spherical function per channel, degrees :math:`\le L`) with a filter
built from the edge vector :math:`r_{ij}`: its spherical harmonics, weighted per channel and
degree by a radial function,

.. math:: F_{c,lm}(r_{ij}) = R_{c,l}(|r_{ij}|)\,Y_{lm}(\hat r_{ij}),\qquad
    m_{ij,c} = \mathrm{Gaunt}\big(x_{j,c},\,F_c(r_{ij})\big)_{\le L_{out}},\qquad
    y_i = \sum_{j} m_{ij}.

In Clebsch-Gordan terms this is e3nn's ``"uvu"`` tensor product of features and edge
harmonics (as in NequIP) restricted to the paths with :math:`l_1+l_2+l_3` even, with per-edge
path weights :math:`c_{l_1l_2l_3}R_{c,l_2}` (:func:`gaunt_conv_e3nn` builds exactly that, as
the reference).

**Many-body products.** MACE builds :math:`\nu`-body features from products of
:math:`\nu` copies of an atom's features. With Gaunt products the :math:`\nu`-fold product is
the product of :math:`\nu` spherical functions, which is associative and commutative, so it
can be computed by divide and conquer: :math:`f_1\cdots f_\nu =
(f_1\cdots f_{\lfloor\nu/2\rfloor})(f_{\lfloor\nu/2\rfloor+1}\cdots f_\nu)`, a tree of
depth :math:`\lceil\log_2\nu\rceil`; for a power :math:`f^\nu` equal halves are computed once,
so :math:`O(\log\nu)` products instead of :math:`\nu-1`. Each partial product is kept only up
to the degree that can still reach the output: a factor of degree :math:`\le d` moves degrees
by at most :math:`d`, so a partial product multiplied later by factors of total degree
:math:`D` is needed only up to :math:`L_{out}+D` — the result is exact, not an approximation.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from e3nn import o3

from ..checks import check_int, check_tensor
from ..utils import default_dtype
from .coefficients import allowed_paths, gaunt_to_wigner_constant
from .product import from_e3nn_layout, gaunt_product, gaunt_product_e3nn, to_e3nn_layout
from .sh_fourier import degree_of, real_spherical_harmonics

__all__ = [
    "edge_filter",
    "gaunt_conv",
    "gaunt_conv_e3nn",
    "gaunt_many_body",
    "gaunt_many_body_e3nn",
]


def _check_graph(
    x: object, edge_index: object, edge_vec: object, radial: object
) -> tuple[int, int, int, int]:
    """Validate the arguments of the convolutions; returns ``(N, C, L, L_filter)``."""
    xt = check_tensor(x, "x", min_ndim=3, floating=True)
    N, C = xt.shape[0], xt.shape[1]
    L = degree_of(xt, "x")
    ei = check_tensor(edge_index, "edge_index", ndim=2)
    if ei.dtype not in (torch.int64, torch.int32):
        raise TypeError(f"edge_index must be an integer tensor (int64), got {ei.dtype}")
    if ei.shape[0] != 2:
        raise ValueError(f"edge_index must have shape (2, E), got {tuple(ei.shape)}")
    E = ei.shape[1]
    if E and (int(ei.min()) < 0 or int(ei.max()) >= N):
        raise ValueError(f"edge_index must hold node indices in [0, {N}), got values outside")
    ev = check_tensor(edge_vec, "edge_vec", ndim=2, last_dims=(3,), floating=True)
    if ev.shape[0] != E:
        raise ValueError(f"edge_vec must have shape ({E}, 3), got {tuple(ev.shape)}")
    if E and bool((ev.norm(dim=-1) == 0).any()):
        raise ValueError("edge_vec must be non-zero (the direction of a zero vector is undefined)")
    rad = check_tensor(radial, "radial", ndim=3, floating=True)
    if rad.shape[:2] != (E, C):
        raise ValueError(f"radial must have shape ({E}, {C}, L_filter + 1), got {tuple(rad.shape)}")
    for name, t in (("x", xt), ("edge_vec", ev), ("radial", rad)):
        if not bool(torch.isfinite(t).all()):
            raise ValueError(f"{name} must be finite (no NaN or inf)")
        if t.dtype != xt.dtype:
            raise TypeError(f"{name} must have the dtype of x ({xt.dtype}), got {t.dtype}")
    return N, C, L, rad.shape[2] - 1


def edge_filter(edge_vec: torch.Tensor, radial: torch.Tensor) -> torch.Tensor:
    r"""The filters :math:`F_{c,lm} = R_{c,l}\,Y_{lm}(\hat r)`: ``edge_vec: (E, 3)``,
    ``radial: (E, C, L_f+1)`` → ``(E, C, (L_f+1)**2)`` (integral-normalised real SH)."""
    check_tensor(edge_vec, "edge_vec", ndim=2, last_dims=(3,), floating=True)
    check_tensor(radial, "radial", ndim=3, floating=True)
    L_f = radial.shape[2] - 1
    Y = real_spherical_harmonics(L_f, edge_vec / edge_vec.norm(dim=-1, keepdim=True))
    degree = torch.cat(
        [
            torch.full((2 * l + 1,), l, dtype=torch.int64, device=radial.device)
            for l in range(L_f + 1)
        ]
    )
    return radial[:, :, degree] * Y[:, None, :]


def gaunt_conv(
    x: torch.Tensor,
    edge_index: torch.Tensor,
    edge_vec: torch.Tensor,
    radial: torch.Tensor,
    L_out: int | None = None,
    *,
    method: str = "auto",
) -> torch.Tensor:
    r"""Equivariant convolution by Gaunt products: :math:`y_i=\sum_{(j\to i)}\mathrm{Gaunt}(x_j, F(r_{ij}))`.

    Args:
        x: ``(N, C, (L+1)**2)`` node features (C channels of spherical functions).
        edge_index: ``(2, E)`` int64, row 0 the source ``j`` and row 1 the target ``i`` of
            each edge.
        edge_vec: ``(E, 3)`` edge vectors :math:`r_{ij}` (non-zero).
        radial: ``(E, C, L_f+1)`` radial weights :math:`R_{c,l}(|r_{ij}|)` per edge, channel
            and filter degree (e.g. the output of a radial MLP).
        L_out: highest output degree, ``<= L + L_f`` (default ``L + L_f``).
        method: the route of :func:`~companion.gaunt.product.gaunt_product`.

    Returns:
        ``(N, C, (L_out+1)**2)``; nodes without incoming edges get zeros. Equivariant:
        rotating ``x`` (Wigner D) and ``edge_vec`` rotates the output.
    """
    N, C, L, L_f = _check_graph(x, edge_index, edge_vec, radial)
    L_out = L + L_f if L_out is None else check_int(L_out, "L_out")
    if L_out > L + L_f:
        raise ValueError(f"L_out must be <= L + L_filter = {L + L_f}, got {L_out}")
    src, dst = edge_index[0].long(), edge_index[1].long()
    messages = gaunt_product(x[src], edge_filter(edge_vec, radial), L_out, method=method)
    out = x.new_zeros(N, C, (L_out + 1) ** 2)
    return out.index_add_(0, dst, messages)


_CONV_CACHE: dict[tuple, tuple[o3.TensorProduct, list[tuple[int, int, int]]]] = {}


def _conv_tp(C: int, L: int, L_f: int, L_out: int) -> tuple[o3.TensorProduct, list]:
    key = (C, L, L_f, L_out)
    if key not in _CONV_CACHE:
        paths = allowed_paths(L, L_f, L_out)
        instr = [
            (a, b, c, "uvu", True, gaunt_to_wigner_constant(a, b, c) ** 2) for a, b, c in paths
        ]
        with default_dtype(torch.float64):  # e3nn builds its constants in the default dtype
            tp = o3.TensorProduct(
                o3.Irreps([(C, (l, (-1) ** l)) for l in range(L + 1)]),
                o3.Irreps([(1, (l, (-1) ** l)) for l in range(L_f + 1)]),
                o3.Irreps([(C, (l, (-1) ** l)) for l in range(L_out + 1)]),
                instr,
                irrep_normalization="none",
                path_normalization="none",
                internal_weights=False,
                shared_weights=False,
            )
        _CONV_CACHE[key] = (tp, paths)
    return _CONV_CACHE[key]


def gaunt_conv_e3nn(
    x: torch.Tensor,
    edge_index: torch.Tensor,
    edge_vec: torch.Tensor,
    radial: torch.Tensor,
    L_out: int | None = None,
) -> torch.Tensor:
    r"""The same convolution with e3nn: a ``"uvu"`` ``TensorProduct`` of the features and the
    edge harmonics (``o3.spherical_harmonics``, up to degree 12), one instruction per allowed
    path with ``path_weight`` :math:`c^2` and per-edge weights
    :math:`\mathrm{sign}(c)\,R_{c,l_2}`, then a sum over incoming edges. A reference: it
    shares no code with :func:`gaunt_conv` beyond the constants :math:`c`."""
    N, C, L, L_f = _check_graph(x, edge_index, edge_vec, radial)
    L_out = L + L_f if L_out is None else check_int(L_out, "L_out")
    if L_out > L + L_f:
        raise ValueError(f"L_out must be <= L + L_filter = {L + L_f}, got {L_out}")
    tp, paths = _conv_tp(C, L, L_f, L_out)
    tp = tp.to(device=x.device, dtype=x.dtype)
    src, dst = edge_index[0].long(), edge_index[1].long()
    Y = o3.spherical_harmonics(
        list(range(L_f + 1)), edge_vec, normalize=True, normalization="integral"
    )
    w = torch.cat(
        [
            math.copysign(1.0, gaunt_to_wigner_constant(a, b, c)) * radial[:, :, b]
            for a, b, c in paths
        ],
        dim=-1,
    )
    msg = from_e3nn_layout(tp(to_e3nn_layout(x[src]), Y, w), C, L_out)
    return x.new_zeros(N, C, (L_out + 1) ** 2).index_add_(0, dst, msg)


def _check_factors(xs: object, L_out: object) -> tuple[list[torch.Tensor], list[int], int]:
    if isinstance(xs, torch.Tensor) or not isinstance(xs, Sequence) or len(xs) == 0:
        raise TypeError("xs must be a non-empty list or tuple of tensors")
    degrees = [
        degree_of(check_tensor(x, f"xs[{k}]", floating=True), f"xs[{k}]") for k, x in enumerate(xs)
    ]
    total = sum(degrees)
    L_out = total if L_out is None else check_int(L_out, "L_out")
    if L_out > total:
        raise ValueError(f"L_out must be <= the sum of the degrees = {total}, got {L_out}")
    return list(xs), degrees, L_out


def gaunt_many_body(
    xs: Sequence[torch.Tensor], L_out: int | None = None, *, method: str = "auto"
) -> torch.Tensor:
    r"""The product :math:`f_1 f_2\cdots f_\nu` of ``ν = len(xs)`` spherical functions up to
    degree ``L_out``, by divide and conquer (see the module docstring).

    Args:
        xs: ``ν`` tensors ``(..., (L_k+1)**2)`` whose leading dimensions broadcast (nodes,
            channels); the same tensor object repeated (``[x] * ν``) makes a power, whose equal
            halves are computed once and squared.
        L_out: highest output degree, ``<= sum(L_k)`` (default the sum: nothing is lost).
        method: the route of :func:`~companion.gaunt.product.gaunt_product`.

    Returns:
        ``(..., (L_out+1)**2)``. Exact: equal to ``ν - 1`` sequential Gaunt products (or
        e3nn CG products, :func:`gaunt_many_body_e3nn`) truncated at the end.
    """
    xs, degrees, L_out = _check_factors(xs, L_out)
    total = sum(degrees)
    memo: dict[tuple[int, ...], torch.Tensor] = {}

    def product(lo: int, hi: int) -> torch.Tensor:
        """Product of xs[lo:hi], kept up to L_out + (degree of the other factors)."""
        ids = tuple(id(x) for x in xs[lo:hi])
        if ids in memo:
            return memo[ids]
        inner = sum(degrees[lo:hi])
        keep = min(inner, L_out + total - inner)
        if hi - lo == 1:
            x = xs[lo]
            y = x if keep == inner else x[..., : (keep + 1) ** 2]
        else:
            mid = (lo + hi) // 2
            a, b = product(lo, mid), product(mid, hi)
            y = gaunt_product(a, a if b is a else b, keep, method=method)
        memo[ids] = y
        return y

    return product(0, len(xs))


def gaunt_many_body_e3nn(xs: Sequence[torch.Tensor], L_out: int | None = None) -> torch.Tensor:
    r"""The reference: ``ν - 1`` sequential e3nn CG products
    (:func:`~companion.gaunt.product.gaunt_product_e3nn`, shapes ``(..., C, (L+1)**2)``),
    :math:`((f_1f_2)f_3)\cdots`, each partial product kept up to ``L_out`` plus the degree of
    the factors still to come, then truncated to ``L_out``."""
    xs, degrees, L_out = _check_factors(xs, L_out)
    total = sum(degrees)
    y, done = xs[0], degrees[0]
    y = y[..., : (min(done, L_out + total - done) + 1) ** 2]
    for x, d in zip(xs[1:], degrees[1:], strict=True):
        done += d
        y = gaunt_product_e3nn(y, x, min(done, L_out + total - done))
    return y[..., : (L_out + 1) ** 2]
