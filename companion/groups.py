r"""Groups, representations and the measurement of equivariance (Chapter 0).

Conventions used throughout the book
------------------------------------
* A group element is a matrix ``g: (..., d, d)``: ``d = 2`` for SO(2), ``d = 3``
  for SO(3) and O(3); a permutation of ``n`` objects is its ``(n, n)``
  permutation matrix. Composition is the matrix product ``g h``.
* A representation :math:`\rho` maps ``g: (..., d, d)`` to ``ρ(g): (..., D, D)``
  with :math:`\rho(gh) = \rho(g)\rho(h)`. It acts on one axis of a feature
  tensor (the last by default): :math:`x \mapsto \rho(g)x`.
* Rank-2 tensors :math:`T \in \mathbb{R}^{3\times 3}` are stored flattened row-major,
  ``vec(T): (..., 9)``; then :math:`\mathrm{vec}(gTg^\top) = (g\otimes g)\,\mathrm{vec}(T)`.
* e3nn's irreducible representations (``"1x0e + 1x1o"``) are available through
  :func:`irreps`; in e3nn 0.6 the components of a vector (``1o``) are ``(x, y, z)``.

A map :math:`f` is *equivariant* when :math:`f(\rho_{in}(g)x) = \rho_{out}(g) f(x)`
for all :math:`g`, and *invariant* when :math:`\rho_{out}` is trivial.
:func:`equivariance_error` measures by how much a map fails this.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import torch

from .checks import check_choice, check_int, check_orthogonal, check_square, check_tensor
from .utils import default_dtype

if TYPE_CHECKING:
    import e3nn.o3

# e3nn is imported inside the functions that need it: importing it pulls in
# torch._dynamo, which doubles the cold-start time of `import companion`.

__all__ = [
    "GROUPS",
    "GROUP_NAMES",
    "MATRIX_GROUP_KINDS",
    "PLANES",
    "GroupLike",
    "MatrixGroup",
    "so2",
    "so3",
    "o3",
    "o2_plane",
    "get_group",
    "Representation",
    "SCALAR",
    "PSEUDOSCALAR",
    "VECTOR",
    "TENSOR2",
    "PERMUTATION",
    "rotation_2d",
    "haar_so2",
    "haar_so3",
    "haar_o3",
    "sample",
    "compose",
    "inverse",
    "random_permutation",
    "permutation_matrix",
    "direct_sum",
    "irreps",
    "Action",
    "GroupAction",
    "IDENTITY",
    "equivariance_error",
    "invariance_error",
]

GROUPS = ("SO(2)", "SO(3)", "O(3)")
"""The compact groups of the core by name (:data:`GROUP_NAMES` adds the O(2) planes)."""


# --------------------------------------------------------------------------- sampling


def rotation_2d(theta: torch.Tensor) -> torch.Tensor:
    r"""Rotation matrices :math:`\begin{pmatrix}\cos\theta & -\sin\theta\\ \sin\theta & \cos\theta\end{pmatrix}`.

    ``theta: (...)`` → ``(..., 2, 2)``.
    """
    theta = check_tensor(theta, "theta", floating=True)
    c, s = torch.cos(theta), torch.sin(theta)
    return torch.stack([torch.stack([c, -s], -1), torch.stack([s, c], -1)], -2)


def _uniform(
    n: int, generator: torch.Generator | None, dtype: torch.dtype, device: torch.device | str | None
) -> torch.Tensor:
    return torch.rand(n, generator=generator, dtype=dtype).to(device)


def haar_so2(
    n: int,
    *,
    generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    r"""``n`` Haar-uniform rotations of the plane: :math:`\theta \sim U[0, 2\pi)`. Returns ``(n, 2, 2)``."""
    n = check_int(n, "n")
    return rotation_2d(2 * torch.pi * _uniform(n, generator, dtype, device))


def haar_so3(
    n: int,
    *,
    generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    r"""``n`` Haar-uniform rotations of space. Returns ``(n, 3, 3)``.

    A standard normal vector in :math:`\mathbb{R}^4`, normalised, is uniform on
    :math:`S^3`; as a unit quaternion it double-covers SO(3), and the uniform
    measure on :math:`S^3` pushes forward to the Haar measure. The quaternion is
    turned into a matrix by e3nn's ``o3.quaternion_to_matrix``.
    """
    from e3nn.o3 import quaternion_to_matrix

    n = check_int(n, "n")
    q = torch.randn(n, 4, generator=generator, dtype=dtype).to(device)
    q = q / q.norm(dim=-1, keepdim=True)
    return quaternion_to_matrix(q)


def haar_o3(
    n: int,
    *,
    generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    r"""``n`` Haar-uniform elements of O(3) = SO(3) × {I, −I}. Returns ``(n, 3, 3)``.

    Half of them (in law) are improper, :math:`\det g = -1`.
    """
    n = check_int(n, "n")
    r = haar_so3(n, generator=generator, dtype=dtype, device=device)
    sign = torch.where(_uniform(n, generator, dtype, device) < 0.5, -1.0, 1.0).to(dtype)
    return r * sign[:, None, None]


def sample(
    group: str | GroupLike,
    n: int,
    *,
    generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Draw ``n`` elements of ``group`` (Haar-uniform for the compact ones): a group object
    (:class:`GroupLike`) or a name in
    :data:`GROUP_NAMES` (resolved by :func:`get_group`). Returns ``(n, d, d)``."""
    if isinstance(group, str):
        return get_group(group).sample(n, generator=generator, dtype=dtype, device=device)
    if not isinstance(group, GroupLike):
        raise TypeError(f"group must be a str or a group object, got {type(group).__name__}")
    return group.sample(n, generator=generator, dtype=dtype, device=device)


# --------------------------------------------------------------------------- group objects


@runtime_checkable
class GroupLike(Protocol):
    """What a group object offers: ``name``, Lie-algebra generators ``lie: (m, d, d)``,
    ``sample(n, generator=) -> (n, d, d)`` and ``contains(g) -> (...)`` bool.

    :class:`MatrixGroup` is the compact kind (closed subgroups of O(d), Haar samplers); a
    chapter whose groups have no Haar probability implements this protocol in its own
    module (``companion.lie.LinearGroup`` for GL⁺(2) and SL(2)).
    """

    name: str

    @property
    def lie(self) -> torch.Tensor: ...

    def sample(
        self,
        n: int,
        *,
        generator: torch.Generator | None = None,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str | None = None,
    ) -> torch.Tensor: ...

    def contains(self, g: torch.Tensor, atol: float = 1e-6) -> torch.Tensor: ...


MATRIX_GROUP_KINDS = ("SO(2)", "SO(3)", "O(3)", "O(2)")
"""The kinds of :class:`MatrixGroup`; each has its own Haar sampler (``O(2)`` in a plane of 3-D)."""

PLANES = ("xy", "yz", "xz")
"""The three coordinate planes; ``O(2)_xy`` rotates and reflects ``x, y`` and fixes ``z``."""

_PLANE_AXES = {
    "xy": (0, 1, 2),
    "yz": (1, 2, 0),
    "xz": (0, 2, 1),
}  # (in-plane i, in-plane j, fixed axis)


def _gen_atol(t: torch.Tensor) -> float:
    """Rounding tolerance for generators: anything beyond it is a different group."""
    return 1e-10 if t.dtype == torch.float64 else 1e-5


def _check_generators(t: object, name: str, d: int) -> torch.Tensor:
    """A real stack ``(m, d, d)`` of finite matrices (``m`` may be 0)."""
    t = check_tensor(t, name, ndim=3, last_dims=(d, d), floating=True)
    if t.is_complex():
        raise TypeError(f"{name} must be real, got {t.dtype}")
    if not torch.isfinite(t).all():
        raise ValueError(f"{name} must hold finite entries")
    return t


def _rotation_generator(i: int, j: int, d: int = 3) -> torch.Tensor:
    """The antisymmetric generator ``(d, d)`` of rotations that turn axis ``i`` towards axis ``j``."""
    a = torch.zeros(d, d, dtype=torch.float64)
    a[j, i], a[i, j] = 1.0, -1.0
    return a


@dataclass(frozen=True, eq=False)
class MatrixGroup:
    r"""A closed subgroup of O(d) given by generators, with a Haar sampler.

    As in EMLP (Finzi, Welling & Wilson, ICML 2021), the group is given by Lie-algebra
    generators :math:`A_i` (antisymmetric) spanning the algebra of its identity component
    and discrete generators :math:`h_j` that reach the other components: a linear map is
    equivariant iff it commutes with every :math:`d\rho(A_i)` and :math:`\rho(h_j)`.

    Attributes:
        name: e.g. ``"O(3)"`` or ``"O(2)_xy"``.
        lie: Lie-algebra generators ``(m, d, d)`` (float64, antisymmetric; ``m`` may be 0).
        discrete: discrete generators ``(n, d, d)`` (float64, orthogonal; ``n`` may be 0).
        kind: one of :data:`MATRIX_GROUP_KINDS` (selects the sampler); ``d = 2`` for
            ``"SO(2)"``, else ``d = 3``.
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
        check_choice(self.kind, "kind", MATRIX_GROUP_KINDS)
        if self.kind == "O(2)":
            if self.plane not in PLANES:
                raise ValueError(
                    f"plane must be one of {PLANES} for kind 'O(2)', got {self.plane!r}"
                )
        elif self.plane is not None:
            raise ValueError(f"plane must be None for kind {self.kind!r}, got {self.plane!r}")
        lie = _check_generators(self.lie, "lie", self.dim)
        discrete = _check_generators(self.discrete, "discrete", self.dim)
        skew = (lie + lie.transpose(-1, -2)).abs().amax() if len(lie) else 0.0
        if skew > _gen_atol(lie):
            raise ValueError(
                f"lie must hold antisymmetric generators of o({self.dim}) (A^T = -A); "
                f"max |A + A^T| is {float(skew):.2e}"
            )
        if len(discrete):
            check_orthogonal(discrete, "discrete", atol=_gen_atol(discrete))
        object.__setattr__(self, "lie", lie.to(torch.float64))
        object.__setattr__(self, "discrete", discrete.to(torch.float64))

    @property
    def dim(self) -> int:
        """Size ``d`` of the matrices: 2 for SO(2), 3 otherwise."""
        return 2 if self.kind == "SO(2)" else 3

    def sample(
        self,
        n: int,
        *,
        generator: torch.Generator | None = None,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str | None = None,
    ) -> torch.Tensor:
        r"""``n`` Haar-uniform elements ``(n, d, d)``.

        SO(2), SO(3) and O(3) use :func:`haar_so2`, :func:`haar_so3` and :func:`haar_o3`.
        For ``O(2)`` in a plane, a Haar rotation of the plane (``haar_so2``) is composed
        with the reflection of one in-plane axis with probability ½, and embedded in the
        3 × 3 identity so that the fixed axis is untouched.
        """
        n = check_int(n, "n")
        samplers = {"SO(2)": haar_so2, "SO(3)": haar_so3, "O(3)": haar_o3}
        if self.kind in samplers:
            return samplers[self.kind](n, generator=generator, dtype=dtype, device=device)
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
        """Whether each ``g: (..., d, d)`` is orthogonal and lies in the group (det, fixed axis)."""
        g = check_square(g, "g", size=self.dim)
        eye = torch.eye(self.dim, dtype=g.dtype, device=g.device)
        ok = (g @ g.transpose(-1, -2) - eye).abs().flatten(-2).amax(-1) < atol
        if self.kind in ("SO(2)", "SO(3)"):
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


def so2() -> MatrixGroup:
    """SO(2): the rotation generator of the plane, no discrete generator (``2 × 2``)."""
    lie = _rotation_generator(0, 1, 2)[None]
    return MatrixGroup("SO(2)", lie, torch.zeros(0, 2, 2, dtype=torch.float64), "SO(2)")


def _so3_algebra() -> torch.Tensor:
    return torch.stack(
        [_rotation_generator(1, 2), _rotation_generator(2, 0), _rotation_generator(0, 1)]
    )


def o3() -> MatrixGroup:
    """O(3): the three rotation generators and the inversion ``−I``."""
    return MatrixGroup("O(3)", _so3_algebra(), -torch.eye(3, dtype=torch.float64)[None], "O(3)")


def so3() -> MatrixGroup:
    """SO(3): the three rotation generators, no discrete generator."""
    return MatrixGroup("SO(3)", _so3_algebra(), torch.zeros(0, 3, 3, dtype=torch.float64), "SO(3)")


def o2_plane(plane: str) -> MatrixGroup:
    r"""O(2) acting in a coordinate plane and fixing the third axis.

    ``plane`` ∈ :data:`PLANES`. Generators: the rotation in the plane and the
    reflection of its second axis (``diag(1, −1, 1)`` for ``"xy"``); the fixed axis is
    never reflected, as in EMLP's ``Embed(O(2), 3)``.
    """
    check_choice(plane, "plane", PLANES)
    i, j, _ = _PLANE_AXES[plane]
    refl = torch.eye(3, dtype=torch.float64)
    refl[j, j] = -1.0
    return MatrixGroup(f"O(2)_{plane}", _rotation_generator(i, j)[None], refl[None], "O(2)", plane)


_REGISTRY: dict[str, Callable[[], MatrixGroup]] = {
    "SO(2)": so2,
    "SO(3)": so3,
    "O(3)": o3,
    **{f"O(2)_{p}": functools.partial(o2_plane, p) for p in PLANES},
}

GROUP_NAMES = tuple(_REGISTRY)
"""Names :func:`get_group` (and :func:`sample`) resolve: :data:`GROUPS` and the O(2) planes."""


def get_group(name: str) -> MatrixGroup:
    """The :class:`MatrixGroup` named ``name`` (one of :data:`GROUP_NAMES`), built fresh."""
    return _REGISTRY[check_choice(name, "group", GROUP_NAMES)]()


def compose(g: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """The group product ``g h`` (apply ``h`` first). Shapes broadcast: ``(..., d, d)``."""
    g, h = check_square(g, "g"), check_square(h, "h")
    if g.shape[-1] != h.shape[-1]:
        raise ValueError(
            f"g and h must act on the same space, got {tuple(g.shape)} and {tuple(h.shape)}"
        )
    return g @ h


def inverse(g: torch.Tensor) -> torch.Tensor:
    """Inverse of orthogonal matrices (also permutation matrices): ``g⁻¹ = gᵀ``."""
    return check_orthogonal(g, "g").transpose(-1, -2)


def random_permutation(
    batch: int,
    n: int,
    *,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """``batch`` uniform random permutations of ``n`` objects, as index tensors ``(batch, n)``."""
    batch, n = check_int(batch, "batch"), check_int(n, "n", minimum=1)
    return torch.argsort(torch.rand(batch, n, generator=generator), dim=-1).to(device)


def permutation_matrix(perm: torch.Tensor, *, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    r"""Permutation matrices ``P: (..., n, n)`` with :math:`(Px)_i = x_{\pi(i)}`, from ``perm: (..., n)``."""
    perm = check_tensor(perm, "perm", min_ndim=1)
    if perm.is_floating_point() or perm.is_complex():
        raise TypeError(f"perm must hold integer indices, got {perm.dtype}")
    n = perm.shape[-1]
    if not torch.equal(
        perm.sort(dim=-1).values, torch.arange(n, device=perm.device).expand_as(perm)
    ):
        raise ValueError("perm must be permutations of 0..n-1 along its last axis")
    return torch.nn.functional.one_hot(perm, n).to(dtype)


# --------------------------------------------------------------------------- representations


@dataclass(frozen=True)
class Representation:
    r"""A representation :math:`\rho` of a matrix group and the feature axis it acts on.

    ``matrix(g: (..., d, d)) -> (..., D, D)``; :meth:`act` applies
    :math:`x \mapsto \rho(g)x` along ``axis`` of ``x``. With ``g: (B, d, d)`` the
    features must have the batch axis first, ``x: (B, ..., D, ...)``; a single
    ``g: (d, d)`` acts on every sample.
    """

    name: str
    matrix: Callable[[torch.Tensor], torch.Tensor]
    axis: int = -1

    def __call__(self, g: torch.Tensor) -> torch.Tensor:
        return self.matrix(g)

    def dim(self, d: int) -> int:
        """Dimension ``D`` of the representation space for ``d × d`` group elements."""
        return int(self.matrix(torch.eye(d, dtype=torch.float64)).shape[-1])

    def act(self, g: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Return :math:`\\rho(g)x` along ``self.axis`` (see the class docstring for shapes)."""
        r = self.matrix(g)
        xm = torch.movedim(x, self.axis, -1)
        if xm.shape[-1] != r.shape[-1]:
            raise ValueError(
                f"x has size {xm.shape[-1]} on axis {self.axis}, but the representation "
                f"{self.name} has dimension {r.shape[-1]}"
            )
        if r.ndim == 2:
            out = xm @ r.transpose(-1, -2)
        else:
            if r.shape[0] != x.shape[0]:
                raise ValueError(
                    f"g holds {r.shape[0]} group elements but x has batch size {x.shape[0]}"
                )
            flat = xm.reshape(xm.shape[0], -1, xm.shape[-1])
            out = torch.einsum("bij,bnj->bni", r.to(x.dtype), flat).reshape(xm.shape)
        return torch.movedim(out, -1, self.axis)


def _trivial(g: torch.Tensor) -> torch.Tensor:
    return torch.ones(*g.shape[:-2], 1, 1, dtype=g.dtype, device=g.device)


def _pseudoscalar(g: torch.Tensor) -> torch.Tensor:
    return torch.linalg.det(g)[..., None, None]


def _tensor2(g: torch.Tensor) -> torch.Tensor:
    d = g.shape[-1]
    return torch.einsum("...ij,...kl->...ikjl", g, g).reshape(*g.shape[:-2], d * d, d * d)


SCALAR = Representation("scalar", _trivial)
"""The trivial representation, ρ(g) = 1, of invariant quantities (energies, distances)."""
PSEUDOSCALAR = Representation("pseudoscalar", _pseudoscalar)
"""The sign representation, ρ(g) = det g, of scalars that flip under reflections (signed volume)."""
VECTOR = Representation("vector", lambda g: g)
"""The standard representation, ρ(g) = g, of vectors (positions, velocities, forces)."""
TENSOR2 = Representation("tensor2", _tensor2)
"""The representation g ⊗ g on row-major vec(T) of rank-2 tensors (inertia, stress)."""
PERMUTATION = Representation("permutation", lambda p: p, axis=-2)
"""Permutation matrices acting on the point axis of ``x: (batch, n, D)``."""


def direct_sum(*reps: Representation) -> Representation:
    r"""The block-diagonal representation :math:`\rho_1 \oplus \rho_2 \oplus \cdots` (last axis)."""
    if not reps:
        raise ValueError("direct_sum needs at least one representation")
    for i, r in enumerate(reps):
        if not isinstance(r, Representation):
            raise TypeError(f"reps[{i}] must be a Representation, got {type(r).__name__}")

    def matrix(g: torch.Tensor) -> torch.Tensor:
        blocks = [r.matrix(g) for r in reps]
        size = sum(b.shape[-1] for b in blocks)
        out = g.new_zeros(*g.shape[:-2], size, size)
        i = 0
        for b in blocks:
            k = b.shape[-1]
            out[..., i : i + k, i : i + k] = b
            i += k
        return out

    return Representation(" ⊕ ".join(r.name for r in reps), matrix)


def irreps(spec: str | e3nn.o3.Irreps) -> Representation:
    """O(3) representation given by e3nn irreps, e.g. ``"2x0e + 1x1o"`` (Wigner D matrices)."""
    from e3nn.o3 import Irreps

    ir = Irreps(spec)

    def matrix(g: torch.Tensor) -> torch.Tensor:
        # e3nn builds the Lie algebra generators in torch's default dtype; match g's
        # precision, or float64 inputs get float32-accurate (1e-7) matrices.
        dtype = g.dtype if g.dtype in (torch.float32, torch.float64) else torch.get_default_dtype()
        with default_dtype(dtype):
            return ir.D_from_matrix(g)

    return Representation(str(ir), matrix)


# --------------------------------------------------------------------------- measuring equivariance


@dataclass(frozen=True)
class GroupAction:
    r"""A (possibly non-linear) action :math:`x \mapsto g\cdot x` given by a function ``act(g, x)``.

    For actions that are not a matrix on one feature axis: images warped by an affine map,
    point clouds moved by a rigid motion with translation, group samples shifted by
    :math:`u^{-1}`. :class:`Representation` covers the linear case; both have ``act(g, x)``
    and either can be given to :func:`equivariance_error`.
    """

    name: str
    fn: Callable[[torch.Tensor, object], object]

    def act(self, g: torch.Tensor, x: object) -> object:
        r"""Return :math:`g\cdot x`."""
        return self.fn(g, x)


IDENTITY = GroupAction("identity", lambda g, x: x)
"""Leaves its argument unchanged (an input the group does not touch, or an invariant output)."""

Action = Representation | GroupAction | Callable[[torch.Tensor], torch.Tensor] | None
"""What :func:`equivariance_error` accepts for one input or output: a :class:`Representation`,
a :class:`GroupAction` (or any object with a method ``act(g, x)``), a callable
``g -> ρ(g)`` (a matrix on the last axis), or ``None`` (unchanged)."""


def _as_action(rho: object, name: str) -> Representation | GroupAction:
    if rho is None:
        return IDENTITY
    if isinstance(rho, (Representation, GroupAction)):
        return rho
    act = getattr(rho, "act", None)
    if callable(act):  # a chapter's own representation type
        return GroupAction(getattr(rho, "name", type(rho).__name__), act)
    if callable(rho):
        return Representation(getattr(rho, "__name__", name), rho)
    raise TypeError(
        f"{name} must be a Representation, a GroupAction, a callable g -> matrix, or None; "
        f"got {type(rho).__name__}"
    )


def _as_actions(rho: object, n: int, name: str) -> list[Representation | GroupAction]:
    if rho is None:
        return [IDENTITY] * n
    if isinstance(rho, (list, tuple)):
        if len(rho) != n:
            raise ValueError(f"{name} must have one entry per tensor ({n}), got {len(rho)}")
        return [_as_action(r, f"{name}[{i}]") for i, r in enumerate(rho)]
    if n != 1:
        raise ValueError(f"{name} must be a sequence of {n} actions, got one")
    return [_as_action(rho, name)]


_FROM_F = object()


def equivariance_error(
    f: Callable[..., object],
    x: torch.Tensor | Sequence[object],
    g: torch.Tensor,
    rho_in: Action | Sequence[Action] = _FROM_F,  # type: ignore[assignment]
    rho_out: Action | Sequence[Action] = _FROM_F,  # type: ignore[assignment]
    *,
    reduction: str = "mean",
    eps: float = 1e-12,
) -> torch.Tensor:
    r"""Relative equivariance error of ``f`` at inputs ``x`` under group elements ``g``.

    .. math::
        e(x, g) = \frac{\lVert f(\rho_{in}(g)x) - \rho_{out}(g)f(x)\rVert}
                       {\lVert \rho_{out}(g) f(x)\rVert}

    with norms over all non-batch axes. ``rho_out=None`` (or :data:`SCALAR`
    for outputs of shape ``(B, 1)``) measures invariance: :math:`f(\rho_{in}(g)x)` vs :math:`f(x)`.

    Several inputs and outputs (like e3nn's ``equivariance_error(func, args_in, irreps_in,
    irreps_out)``): pass ``x`` as a tuple, ``f`` is called as ``f(*x)``, and ``rho_in`` holds
    one action per input (``None`` leaves an input unchanged). When ``f`` returns a tuple,
    ``rho_out`` holds one action per output and the error of a sample is the largest of the
    outputs' relative errors. Inputs acted on by a :class:`GroupAction` may be any object
    (e.g. a set of group samples); outputs are tensors.

    Group elements need not be orthogonal (affine maps, homogeneous ``(4, 4)`` rigid motions
    with translation, GL⁺(2)); they are only checked to be finite square matrices.

    An equivariant module can carry its own actions as attributes ``rep_in`` and ``rep_out``
    (as ``FrameAveraging``, ``GauntLayer`` and ``SoftEMLP`` do): then omit ``rho_in`` and
    ``rho_out``, and ``equivariance_error(module, x, g)`` checks what the module claims.

    Args:
        f: the map, ``(B, ...) -> (B, ...)`` (several inputs/outputs: see above).
        x: inputs ``(B, ...)``, or a tuple of them; a representation acts on its ``axis``.
        g: group elements, one per sample ``(B, d, d)`` or one for all ``(d, d)``.
        rho_in, rho_out: actions (:data:`Action`), or sequences of them; taken from
            ``f.rep_in``/``f.rep_out`` when omitted.
        reduction: ``"mean"`` (a scalar), ``"max"`` or ``"none"`` (per sample, ``(B,)``).

    Returns:
        The relative error; 0 for an exactly equivariant ``f`` (up to rounding).
    """
    if not callable(f):
        raise TypeError(f"f must be callable, got {type(f).__name__}")
    if rho_in is _FROM_F or rho_out is _FROM_F:
        if not (hasattr(f, "rep_in") and hasattr(f, "rep_out")):
            raise TypeError(
                "rho_in and rho_out must be given, or f must have rep_in and rep_out attributes"
            )
        rho_in = f.rep_in if rho_in is _FROM_F else rho_in
        rho_out = f.rep_out if rho_out is _FROM_F else rho_out
    several_in = isinstance(x, (list, tuple))
    # any objects: a GroupAction may act on non-tensors (checked per action below)
    xs: list[Any] = list(x) if several_in else [x]
    if not xs:
        raise ValueError("x must hold at least one input")
    acts_in = _as_actions(rho_in, len(xs), "rho_in")
    for i, (xi, a) in enumerate(zip(xs, acts_in, strict=True)):
        if isinstance(a, Representation) or isinstance(xi, torch.Tensor):
            check_tensor(xi, f"x[{i}]" if several_in else "x", min_ndim=1, floating=True)
    g = check_square(g, "g")
    if not bool(torch.isfinite(g).all()):
        raise ValueError("g must be finite (no NaN or inf)")
    batch = next((xi.shape[0] for xi in xs if isinstance(xi, torch.Tensor)), None)
    if g.ndim not in (2, 3):
        raise ValueError(f"g must have shape (d, d) or (batch, d, d), got {tuple(g.shape)}")
    if g.ndim == 3 and batch is not None and g.shape[0] != batch:
        raise ValueError(f"g holds {g.shape[0]} group elements but x has batch size {batch}")
    check_choice(reduction, "reduction", ("mean", "max", "none"))
    dtype = next((xi.dtype for xi in xs if isinstance(xi, torch.Tensor)), g.dtype)
    g = g.to(dtype)

    fx = f(*xs)
    f_gx = f(*[a.act(g, xi) for a, xi in zip(acts_in, xs, strict=True)])
    several_out = isinstance(fx, (list, tuple))
    fxs, f_gxs = (list(fx), list(f_gx)) if several_out else ([fx], [f_gx])  # type: ignore
    acts_out = _as_actions(rho_out, len(fxs), "rho_out")
    errs = []
    for i, (y, y_g, a) in enumerate(zip(fxs, f_gxs, acts_out, strict=True)):
        if not isinstance(y, torch.Tensor) or not isinstance(y_g, torch.Tensor):
            raise ValueError("f must return tensors (or a tuple of tensors)")
        if y.shape != y_g.shape:
            raise ValueError("f must return tensors of one shape for x and for transformed x")
        target = a.act(g, y)
        if not isinstance(target, torch.Tensor):
            name = f"rho_out[{i}]" if several_out else "rho_out"
            raise ValueError(f"{name} must map f's output to a tensor, got {type(target).__name__}")
        b = y.shape[0]
        num = (y_g - target).reshape(b, -1).norm(dim=-1)
        errs.append(num / target.reshape(b, -1).norm(dim=-1).clamp_min(eps))
    err = torch.stack(errs).amax(0)
    if reduction == "none":
        return err
    return err.mean() if reduction == "mean" else err.max()


def invariance_error(
    f: Callable[..., object],
    x: torch.Tensor | Sequence[object],
    g: torch.Tensor,
    rho_in: Action | Sequence[Action],
    *,
    reduction: str = "mean",
) -> torch.Tensor:
    r"""Relative invariance error :math:`\lVert f(\rho_{in}(g)x) - f(x)\rVert / \lVert f(x)\rVert`."""
    return equivariance_error(f, x, g, rho_in, None, reduction=reduction)
