r"""Candidate symmetry groups and tensor representations for soft equivariance.

A candidate group :math:`G \subset \mathrm{O}(3)` is given, as in EMLP
(Finzi, Welling & Wilson, ICML 2021), by

* Lie-algebra generators :math:`A_1, \dots, A_m \in \mathfrak{o}(3)` (antisymmetric
  ``3 × 3`` matrices) spanning the algebra of its identity component, and
* discrete generators :math:`h_1, \dots, h_n \in G` that reach the other components.

Both are what the null-space projector (:mod:`.projector`) needs: a linear map is
:math:`G`-equivariant iff it commutes with :math:`d\rho(A_i)` and with :math:`\rho(h_j)`.

Representations are sums of Cartesian tensors of order 0 (scalars), 1 (vectors)
and 2 (rank-2 tensors). A :class:`TensorRep` with ``counts = (c0, c1, c2)`` stores
a feature as ``x: (..., c0 + 3 c1 + 9 c2)``: first the ``c0`` scalars, then the
``c1`` vectors (channel-major, ``(c1, 3)`` flattened), then the ``c2`` rank-2 tensors
(``(c2, 9)``, each the row-major ``vec(T)``). Under :math:`g` a tensor of order
``k`` transforms with :math:`\rho_k(g) = g^{\otimes k}` (``(3^k, 3^k)``), the
book's convention :math:`\mathrm{vec}(gTg^\top) = (g\otimes g)\,\mathrm{vec}(T)`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..checks import check_choice, check_int, check_square, check_tensor
from ..groups import (  # the group type lives in the core; re-exported here
    MATRIX_GROUP_KINDS,
    PLANES,
    SCALAR,
    TENSOR2,
    VECTOR,
    MatrixGroup,
    Representation,
    o2_plane,
    o3,
    so3,
)

__all__ = [
    "KINDS",
    "PLANES",
    "ORDERS",
    "MatrixGroup",
    "TensorRep",
    "o3",
    "so3",
    "o2_plane",
    "plane_groups",
    "tensor_rep_matrix",
    "tensor_rep_lie",
]

ORDERS = (0, 1, 2)

KINDS = MATRIX_GROUP_KINDS
"""The kinds of :class:`~companion.groups.MatrixGroup` (each has its own Haar sampler)."""


def _check_order(k: object, name: str) -> int:
    return check_choice(k, name, ORDERS)


# --------------------------------------------------------------------------- tensor representations


def tensor_rep_matrix(order: int, g: torch.Tensor) -> torch.Tensor:
    r"""The representation :math:`\rho_k(g) = g^{\otimes k}` of tensors of order ``k``.

    ``g: (..., 3, 3)`` → ``(..., 3^k, 3^k)``; order 0 gives ones, order 2 the row-major
    Kronecker product :math:`g \otimes g`.
    """
    order = _check_order(order, "order")
    g = check_square(g, "g", size=3)
    return (SCALAR, VECTOR, TENSOR2)[order](g)  # the core's tensor representations


def tensor_rep_lie(order: int, a: torch.Tensor) -> torch.Tensor:
    r"""The Lie-algebra representation :math:`d\rho_k(A) = \frac{d}{dt}\rho_k(e^{tA})|_{t=0}`.

    Order 0: ``0``; order 1: ``A``; order 2: :math:`A \otimes I + I \otimes A`.
    ``a: (..., 3, 3)`` → ``(..., 3^k, 3^k)``.
    """
    order = _check_order(order, "order")
    a = check_square(a, "a", size=3)
    if order == 0:
        return torch.zeros(*a.shape[:-2], 1, 1, dtype=a.dtype, device=a.device)
    if order == 1:
        return a
    eye = torch.eye(3, dtype=a.dtype, device=a.device).expand_as(a)
    kron = lambda u, v: torch.einsum("...ij,...kl->...ikjl", u, v).reshape(*a.shape[:-2], 9, 9)  # noqa: E731
    return kron(a, eye) + kron(eye, a)


@dataclass(frozen=True)
class TensorRep:
    r"""A direct sum :math:`c_0 T_0 \oplus c_1 T_1 \oplus c_2 T_2` of Cartesian tensors in 3-D.

    ``counts = (c0, c1, c2)``; features are ``x: (..., dim)`` with
    ``dim = c0 + 3 c1 + 9 c2`` laid out as described in the module docstring.
    """

    counts: tuple[int, int, int]

    def __post_init__(self) -> None:
        counts = self.counts
        if not isinstance(counts, tuple) or len(counts) != 3:
            raise ValueError(f"counts must be a tuple (c0, c1, c2), got {counts!r}")
        for k, c in enumerate(counts):
            check_int(c, f"counts[{k}]")
        if sum(counts) == 0:
            raise ValueError("counts must hold at least one tensor channel")

    @property
    def dim(self) -> int:
        """Dimension ``c0 + 3 c1 + 9 c2`` of the feature space."""
        return sum(c * 3**k for k, c in enumerate(self.counts))

    def slices(self) -> dict[int, slice]:
        """Where the channels of each order lie in the flat feature axis (orders with ``c_k > 0``)."""
        out, start = {}, 0
        for k, c in enumerate(self.counts):
            if c:
                out[k] = slice(start, start + c * 3**k)
            start += c * 3**k
        return out

    def split(self, x: torch.Tensor) -> dict[int, torch.Tensor]:
        """``x: (..., dim)`` → ``{k: (..., c_k, 3^k)}`` for the orders present."""
        x = check_tensor(x, "x", min_ndim=1, last_dims=(self.dim,))
        return {
            k: x[..., s].reshape(*x.shape[:-1], self.counts[k], 3**k)
            for k, s in self.slices().items()
        }

    def join(self, parts: dict[int, torch.Tensor]) -> torch.Tensor:
        """Inverse of :meth:`split`: ``{k: (..., c_k, 3^k)}`` → ``(..., dim)``."""
        return torch.cat([parts[k].flatten(-2) for k in sorted(self.slices())], dim=-1)

    def matrix(self, g: torch.Tensor) -> torch.Tensor:
        """Block-diagonal :math:`\\rho(g) = \\bigoplus_k I_{c_k} \\otimes g^{\\otimes k}`.

        ``g: (..., 3, 3)`` → ``(..., dim, dim)``.
        """
        g = check_square(g, "g", size=3)
        out = g.new_zeros(*g.shape[:-2], self.dim, self.dim)
        for k, s in self.slices().items():
            r = tensor_rep_matrix(k, g)
            eye = torch.eye(self.counts[k], dtype=g.dtype, device=g.device)
            block = torch.einsum("ab,...ij->...aibj", eye, r).reshape(
                *g.shape[:-2], s.stop - s.start, s.stop - s.start
            )
            out[..., s, s] = block
        return out

    def act(self, g: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        r"""Return :math:`\rho(g)x` on the last axis (``x: (B, dim)``, ``g: (B, 3, 3)`` or ``(3, 3)``)."""
        return self.representation().act(g, x)

    def representation(self) -> Representation:
        """This sum as a core :class:`companion.groups.Representation` (acts on the last axis)."""
        return Representation(f"TensorRep{self.counts}", self.matrix)


# --------------------------------------------------------------------------- candidate groups


def plane_groups() -> list[MatrixGroup]:
    """The three candidates ``[O(2)_xy, O(2)_yz, O(2)_xz]`` (in the order of :data:`~companion.groups.PLANES`)."""
    return [o2_plane(p) for p in PLANES]
