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

from dataclasses import dataclass, field

import torch

from ..checks import check_choice, check_int, check_orthogonal, check_square, check_tensor
from ..groups import SCALAR, TENSOR2, VECTOR, Representation, haar_o3, haar_so2, haar_so3

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
PLANES = ("xy", "yz", "xz")
"""The three coordinate planes; ``O(2)_xy`` rotates and reflects ``x, y`` and fixes ``z``."""

_PLANE_AXES = {
    "xy": (0, 1, 2),
    "yz": (1, 2, 0),
    "xz": (0, 2, 1),
}  # (in-plane i, in-plane j, fixed axis)


def _check_order(k: object, name: str) -> int:
    return check_choice(k, name, ORDERS)


KINDS = ("O(3)", "SO(3)", "O(2)")
"""The kinds of :class:`MatrixGroup` (each has its own Haar sampler)."""


def _gen_atol(t: torch.Tensor) -> float:
    """Rounding tolerance for generators: anything beyond it is a different group."""
    return 1e-10 if t.dtype == torch.float64 else 1e-5


def _check_generators(t: object, name: str) -> torch.Tensor:
    """A real stack ``(m, 3, 3)`` of finite matrices (``m`` may be 0)."""
    t = check_tensor(t, name, ndim=3, last_dims=(3, 3), floating=True)
    if t.is_complex():
        raise TypeError(f"{name} must be real, got {t.dtype}")
    if not torch.isfinite(t).all():
        raise ValueError(f"{name} must hold finite entries")
    return t


def _generator(i: int, j: int) -> torch.Tensor:
    """The antisymmetric generator of rotations that turn axis ``i`` towards axis ``j``."""
    a = torch.zeros(3, 3, dtype=torch.float64)
    a[j, i], a[i, j] = 1.0, -1.0
    return a


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


@dataclass(frozen=True, eq=False)
class MatrixGroup:
    r"""A closed subgroup of O(3) given by generators, with a Haar sampler.

    Attributes:
        name: e.g. ``"O(2)_xy"``.
        lie: Lie-algebra generators ``(m, 3, 3)`` (float64, antisymmetric; ``m`` may be 0).
        discrete: discrete generators ``(n, 3, 3)`` (float64, orthogonal; ``n`` may be 0).
        kind: ``"O(3)"``, ``"SO(3)"`` or ``"O(2)"`` (selects the sampler).
        plane: for ``kind == "O(2)"``, one of :data:`PLANES`.
    """

    name: str
    lie: torch.Tensor
    discrete: torch.Tensor
    kind: str
    plane: str | None = None
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        # A wrong generator does not fail later: it silently gives a wrong projector.
        if not isinstance(self.name, str):
            raise TypeError(f"name must be a string, got {type(self.name).__name__}")
        if not isinstance(self.kind, str):
            raise TypeError(
                f"kind must be a string, one of {KINDS}, got {type(self.kind).__name__}"
            )
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {self.kind!r}")
        if self.kind == "O(2)":
            if self.plane not in PLANES:
                raise ValueError(
                    f"plane must be one of {PLANES} for kind 'O(2)', got {self.plane!r}"
                )
        elif self.plane is not None:
            raise ValueError(f"plane must be None for kind {self.kind!r}, got {self.plane!r}")
        lie = _check_generators(self.lie, "lie")
        discrete = _check_generators(self.discrete, "discrete")
        skew = (lie + lie.transpose(-1, -2)).abs().amax() if len(lie) else 0.0
        if skew > _gen_atol(lie):
            raise ValueError(
                "lie must hold antisymmetric generators of o(3) (A^T = -A); "
                f"max |A + A^T| is {float(skew):.2e}"
            )
        if len(discrete):
            check_orthogonal(discrete, "discrete", atol=_gen_atol(discrete))
        object.__setattr__(self, "lie", lie.to(torch.float64))
        object.__setattr__(self, "discrete", discrete.to(torch.float64))

    def sample(
        self,
        n: int,
        *,
        generator: torch.Generator | None = None,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str | None = None,
    ) -> torch.Tensor:
        r"""``n`` Haar-uniform elements ``(n, 3, 3)``.

        O(3) and SO(3) use :func:`companion.groups.haar_o3` / ``haar_so3``. For
        ``O(2)`` in a plane, a Haar rotation of the plane (``haar_so2``) is composed with
        the reflection of one in-plane axis with probability ½, and embedded in the
        3 × 3 identity so that the fixed axis is untouched.
        """
        n = check_int(n, "n")
        if self.kind == "O(3)":
            return haar_o3(n, generator=generator, dtype=dtype, device=device)
        if self.kind == "SO(3)":
            return haar_so3(n, generator=generator, dtype=dtype, device=device)
        i, j, _ = self._plane_axes()
        q = haar_so2(n, generator=generator, dtype=dtype, device=device)
        flip = torch.rand(n, generator=generator, dtype=dtype).to(device) < 0.5
        q = torch.where(
            flip[:, None, None], q * torch.tensor([1.0, -1.0], dtype=dtype, device=device), q
        )
        g = torch.eye(3, dtype=dtype, device=device).repeat(n, 1, 1)
        idx = torch.tensor([i, j], device=device)
        g[:, idx[:, None], idx[None, :]] = q
        return g

    def _plane_axes(self) -> tuple[int, int, int]:
        """(in-plane i, in-plane j, fixed axis) of an ``O(2)`` group."""
        if self.plane is None:
            raise ValueError(f"{self.name} acts in no coordinate plane")
        return _PLANE_AXES[self.plane]

    def contains(self, g: torch.Tensor, atol: float = 1e-6) -> torch.Tensor:
        """Whether each ``g: (..., 3, 3)`` is orthogonal and lies in the group (fixes the axis, etc.)."""
        g = check_square(g, "g", size=3)
        eye = torch.eye(3, dtype=g.dtype, device=g.device)
        ok = (g @ g.transpose(-1, -2) - eye).abs().flatten(-2).amax(-1) < atol
        if self.kind == "SO(3)":
            ok = ok & ((torch.linalg.det(g) - 1).abs() < atol)
        elif self.kind == "O(2)":
            _, _, a = self._plane_axes()
            e = eye[a]
            ok = (
                ok
                & ((g[..., :, a] - e).abs().amax(-1) < atol)
                & ((g[..., a, :] - e).abs().amax(-1) < atol)
            )
        return ok


def o3() -> MatrixGroup:
    """O(3): the three rotation generators and the inversion ``−I``."""
    lie = torch.stack([_generator(1, 2), _generator(2, 0), _generator(0, 1)])
    return MatrixGroup("O(3)", lie, -torch.eye(3, dtype=torch.float64)[None], "O(3)")


def so3() -> MatrixGroup:
    """SO(3): the three rotation generators, no discrete generator."""
    lie = torch.stack([_generator(1, 2), _generator(2, 0), _generator(0, 1)])
    return MatrixGroup("SO(3)", lie, torch.zeros(0, 3, 3, dtype=torch.float64), "SO(3)")


def o2_plane(plane: str) -> MatrixGroup:
    r"""O(2) acting in a coordinate plane and fixing the third axis.

    ``plane`` ∈ :data:`PLANES`. Generators: the rotation in the plane and the
    reflection of its second axis (``diag(1, −1, 1)`` for ``"xy"``); the fixed axis is
    never reflected, as in the paper's ``Embed(O(2), 3)``.
    """
    check_choice(plane, "plane", PLANES)
    i, j, _ = _PLANE_AXES[plane]
    refl = torch.eye(3, dtype=torch.float64)
    refl[j, j] = -1.0
    return MatrixGroup(f"O(2)_{plane}", _generator(i, j)[None], refl[None], "O(2)", plane)


def plane_groups() -> list[MatrixGroup]:
    """The three candidates ``[O(2)_xy, O(2)_yz, O(2)_xz]`` (in the order of :data:`PLANES`)."""
    return [o2_plane(p) for p in PLANES]
