r"""Chapter 0: three ways to get symmetry, compared on one small task.

The task: from a point cloud :math:`x = (x_1, \dots, x_n)`, :math:`x_i \in \mathbb{R}^3`,
predict the *radially weighted centroid*

.. math::
    y(x) = \frac{1}{n}\sum_{i=1}^n w(\lVert x_i\rVert)\, x_i, \qquad w(r) = e^{-r^2/2}.

:math:`y` is O(3)-equivariant, :math:`y(gx) = g\,y(x)`, and invariant under
permutations of the points. Training clouds are *anisotropic* (stretched along
:math:`z`), so a model that has not got the symmetry sees only some orientations;
the test set is rotated by Haar-random elements of O(3).

The three ways:

* **architecture** — :class:`GatedVectorNet` is equivariant by construction;
* **data augmentation** — a plain :class:`PointMLP` trained on randomly rotated clouds;
* **regularisation** — a plain :class:`PointMLP` with the penalty
  :math:`\lambda\,\mathbb{E}_g\lVert f(gx) - g f(x)\rVert^2` (Chapter 1 develops this).

The second half of the module holds the small tools of the primer's mathematical sections,
which later chapters assume:

* **Lie algebras** — the generators of SO(2), SO(3) and GL(2)
  (:func:`so2_generator`, :func:`so3_generators`, :func:`gl2_generators`), the
  tensor-power representations :math:`\rho_k(g) = g^{\otimes k}` (:func:`tensor_power`)
  and their differentials :math:`d\rho_k(A)` (:func:`tensor_power_differential`), and
  the space of linear maps that commute with given generators (:func:`intertwiner_basis`);
* **semidirect products** :math:`\mathbb{R}^n \rtimes H` — :func:`semidirect_compose`,
  :func:`semidirect_inverse`, :func:`affine_matrix` and the action on functions of the
  plane, :func:`act_on_function`;
* **Wigner-D and Clebsch–Gordan** — :func:`wigner_d` (e3nn's real basis) and the
  orthogonal change of basis :func:`clebsch_gordan_basis` that block-diagonalises
  :math:`D^{l_1}\otimes D^{l_2}`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
from e3nn import o3
from torch import nn

from . import utils
from .checks import check_int, check_same_len, check_square, check_tensor
from .groups import VECTOR, haar_o3
from .utils import progress, seeded_init

__all__ = [
    "GatedVectorNet",
    "PointMLP",
    "TrainResult",
    "act_on_function",
    "affine_element",
    "affine_matrix",
    "clebsch_gordan_basis",
    "gl2_generators",
    "intertwiner_basis",
    "make_pointclouds",
    "pointcloud_mse",
    "semidirect_compose",
    "semidirect_inverse",
    "so2_generator",
    "so3_generators",
    "tensor_power",
    "tensor_power_differential",
    "train_regressor",
    "two_bumps",
    "weighted_centroid",
    "wigner_d",
]


def weighted_centroid(x: torch.Tensor) -> torch.Tensor:
    r"""The target :math:`y(x) = \frac1n\sum_i e^{-\lVert x_i\rVert^2/2} x_i`. ``x: (B, n, 3)`` → ``(B, 3)``."""
    x = check_tensor(x, "x", ndim=3, last_dims=(3,), floating=True)
    w = torch.exp(-0.5 * (x * x).sum(-1, keepdim=True))
    return (w * x).mean(dim=1)


def make_pointclouds(
    n_samples: int,
    n_points: int = 8,
    *,
    stretch: tuple[float, float, float] = (0.6, 0.6, 1.6),
    rotate: bool = False,
    generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Point clouds and their targets.

    Points are :math:`x_i = \mathrm{diag}(s)\,z_i` with :math:`z_i \sim \mathcal{N}(0, I_3)`
    and stretch ``s``; with ``rotate=True`` each cloud is then turned by a Haar-random
    element of O(3) (the test distribution). Returns ``x: (n_samples, n_points, 3)`` and
    ``y: (n_samples, 3)``.
    """
    n_samples = check_int(n_samples, "n_samples", minimum=1)
    n_points = check_int(n_points, "n_points", minimum=1)
    if len(stretch) != 3 or any(s <= 0 for s in stretch):
        raise ValueError(f"stretch must be three positive numbers, got {stretch}")
    z = torch.randn(n_samples, n_points, 3, generator=generator, dtype=dtype)
    x = z * torch.tensor(stretch, dtype=dtype)
    if rotate:
        g = haar_o3(n_samples, generator=generator, dtype=dtype)
        x = VECTOR.act(g, x)
    x = x.to(device)
    return x, weighted_centroid(x)


class PointMLP(nn.Module):
    """A plain MLP on the flattened cloud: ``(B, n, 3) -> (B, 3)``. No symmetry built in."""

    def __init__(
        self,
        n_points: int,
        hidden: int = 128,
        depth: int = 2,
        *,
        generator: torch.Generator | None = None,
    ):
        super().__init__()
        n_points = check_int(n_points, "n_points", minimum=1)
        hidden = check_int(hidden, "hidden", minimum=1)
        depth = check_int(depth, "depth", minimum=1)
        layers: list[nn.Module] = []
        width = 3 * n_points
        with seeded_init(generator):  # None: the global stream
            for _ in range(depth):
                layers += [nn.Linear(width, hidden), nn.SiLU()]
                width = hidden
            layers.append(nn.Linear(width, 3))
        self.net = nn.Sequential(*layers)
        self.n_points = n_points

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_tensor(x, "x", ndim=3, last_dims=(self.n_points, 3))
        return self.net(x.flatten(1))


class GatedVectorNet(nn.Module):
    r"""An O(3)- and permutation-equivariant model for vector outputs.

    .. math::
        f(x) = \frac1n \sum_i \phi\big(\lVert x_i\rVert^2,\ x_i\cdot\bar x,\ \lVert\bar x\rVert^2\big)\, x_i,
        \qquad \bar x = \frac1n\sum_j x_j,

    where :math:`\phi` is an MLP of invariant scalars. Since the scalars do not change under
    :math:`x \mapsto gx` and the output is a sum of the :math:`x_i`, :math:`f(gx) = g f(x)`
    exactly for every orthogonal :math:`g`, and :math:`f` ignores the order of the points.
    """

    def __init__(self, hidden: int = 64):
        super().__init__()
        hidden = check_int(hidden, "hidden", minimum=1)
        self.phi = nn.Sequential(
            nn.Linear(3, hidden),
            nn.SiLU(),
            nn.Linear(hidden, hidden),
            nn.SiLU(),
            nn.Linear(hidden, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_tensor(x, "x", ndim=3, last_dims=(3,))
        xbar = x.mean(dim=1, keepdim=True)  # (B, 1, 3)
        inv = torch.cat(
            [
                (x * x).sum(-1, keepdim=True),  # |x_i|^2
                (x * xbar).sum(-1, keepdim=True),  # x_i . xbar
                (xbar * xbar).sum(-1, keepdim=True).expand_as(x[..., :1]),
            ],
            -1,
        )
        return (self.phi(inv) * x).mean(dim=1)  # (B, 3)


def pointcloud_mse(
    model: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, y: torch.Tensor
) -> float:
    """Mean squared error of ``model`` on ``(x, y)``, without gradients."""
    with torch.no_grad():
        return float(((model(x) - y) ** 2).mean())


@dataclass
class TrainResult(utils.TrainResult):
    """:func:`train_regressor`'s record: ``losses`` and the equivariance ``penalties``, ``(steps,)``."""

    penalties: torch.Tensor = field(default_factory=lambda: torch.zeros(0))


def train_regressor(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    steps: int = 500,
    lr: float = 3e-3,
    batch_size: int = 128,
    augment: bool = False,
    equiv_weight: float = 0.0,
    generator: torch.Generator | None = None,
    desc: str | None = None,
) -> TrainResult:
    r"""Fit ``model`` to ``(x, y)`` with Adam and mean squared error.

    Args:
        model: maps ``x: (B, n, 3)`` to ``(B, 3)``.
        x, y: training inputs ``(N, n, 3)`` and targets ``(N, 3)``.
        augment: rotate each mini-batch sample (input and target) by a Haar-random
            element of O(3) — *data augmentation*.
        equiv_weight: :math:`\lambda` of the *equivariance penalty*
            :math:`\lambda\,\mathrm{mean}\lVert f(gx) - g f(x)\rVert^2` with Haar-random
            :math:`g \in \mathrm{O}(3)` per sample (0 switches it off).
        generator: drives mini-batch order and the sampled group elements.
    """
    x = check_tensor(x, "x", ndim=3, last_dims=(3,), floating=True)
    y = check_tensor(y, "y", ndim=2, last_dims=(3,), floating=True)
    check_same_len(x, y, "x and y")
    p = next(model.parameters(), None)
    if p is not None:  # train where the model lives
        x, y = x.to(p.device, p.dtype), y.to(p.device, p.dtype)
    steps = check_int(steps, "steps", minimum=1)
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    if equiv_weight < 0:
        raise ValueError(f"equiv_weight must be >= 0, got {equiv_weight}")
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    n = x.shape[0]
    # detached, on the device: read once at the end, not per step
    losses: list[torch.Tensor] = []
    penalties: list[torch.Tensor] = []
    for _ in progress(range(steps), desc=desc or type(model).__name__):
        idx = torch.randint(0, n, (min(batch_size, n),), generator=generator).to(x.device)
        xb, yb = x[idx], y[idx]
        if augment:
            g = haar_o3(len(idx), generator=generator, dtype=x.dtype, device=x.device)
            xb, yb = VECTOR.act(g, xb), VECTOR.act(g, yb)
        pred = model(xb)
        loss = ((pred - yb) ** 2).mean()
        penalty = torch.zeros((), device=x.device)
        if equiv_weight > 0:
            g = haar_o3(len(idx), generator=generator, dtype=x.dtype, device=x.device)
            penalty = ((model(VECTOR.act(g, xb)) - VECTOR.act(g, pred)) ** 2).mean()
        opt.zero_grad()
        (loss + equiv_weight * penalty).backward()
        opt.step()
        sched.step()
        losses.append(loss.detach())
        penalties.append(penalty.detach())
    loss_t, pen_t = torch.stack(losses).cpu(), torch.stack(penalties).cpu()
    return TrainResult(
        loss_t, {"loss": float(loss_t[-1]), "penalty": float(pen_t[-1])}, penalties=pen_t
    )


# --------------------------------------------------------------------------- Lie algebras


def _check_finite(x: torch.Tensor, name: str) -> torch.Tensor:
    if not bool(torch.isfinite(x).all()):
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    return x


def so2_generator(*, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    r"""The generator :math:`J = \begin{pmatrix}0 & -1\\ 1 & 0\end{pmatrix}` of SO(2).

    :math:`\exp(\theta J)` is the rotation by :math:`\theta`. Returns ``(2, 2)``.
    """
    return torch.tensor([[0.0, -1.0], [1.0, 0.0]], dtype=dtype)


def so3_generators(*, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    r"""The generators :math:`L_x, L_y, L_z` of SO(3), :math:`(L_i)_{jk} = -\varepsilon_{ijk}`.

    :math:`L_i v = e_i \times v`, so :math:`\exp(\theta L_i)` is the rotation by
    :math:`\theta` about the axis :math:`e_i`; they satisfy :math:`[L_x, L_y] = L_z`
    (cyclically). Returns ``(3, 3, 3)``, the first axis indexing :math:`i`.
    """
    eps = torch.zeros(3, 3, 3, dtype=dtype)
    for i, j, k in ((0, 1, 2), (1, 2, 0), (2, 0, 1)):
        eps[i, j, k], eps[i, k, j] = 1.0, -1.0
    return -eps


def gl2_generators(*, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    r"""The matrix units :math:`E_{11}, E_{12}, E_{21}, E_{22}`, a basis of :math:`\mathfrak{gl}(2)`.

    :math:`\mathfrak{gl}(2)` is all of :math:`\mathbb{R}^{2\times 2}`: every matrix is a
    tangent vector of GL(2) at the identity. Returns ``(4, 2, 2)``.
    """
    return torch.eye(4, dtype=dtype).reshape(4, 2, 2)


def tensor_power(g: torch.Tensor, rank: int) -> torch.Tensor:
    r"""The tensor-power representation :math:`\rho_k(g) = g^{\otimes k}` (row-major Kronecker).

    ``g: (..., d, d)`` → ``(..., d^k, d^k)``; rank 0 gives the trivial ``(..., 1, 1)``.
    It acts on row-major flattened tensors: :math:`\mathrm{vec}(gTg^\top) = \rho_2(g)\,\mathrm{vec}(T)`.
    """
    g = _check_finite(check_square(g, "g"), "g")
    rank = check_int(rank, "rank")
    d = g.shape[-1]
    out = torch.ones(*g.shape[:-2], 1, 1, dtype=g.dtype, device=g.device)
    for _ in range(rank):
        n = out.shape[-1]
        out = (out[..., :, None, :, None] * g[..., None, :, None, :]).reshape(
            *g.shape[:-2], n * d, n * d
        )
    return out


def tensor_power_differential(a: torch.Tensor, rank: int) -> torch.Tensor:
    r"""The differential :math:`d\rho_k(A) = \frac{d}{dt}\rho_k(e^{tA})\big|_{t=0}`.

    By the product rule it is a sum of :math:`k` terms with :math:`A` in one slot,
    :math:`d\rho_k(A) = \sum_{i=1}^{k} I^{\otimes(i-1)}\otimes A\otimes I^{\otimes(k-i)}`:
    :math:`d\rho_1(A) = A`, :math:`d\rho_2(A) = A\otimes I + I\otimes A`, and zero for
    rank 0. ``a: (..., d, d)`` → ``(..., d^k, d^k)``.
    """
    a = _check_finite(check_square(a, "a"), "a")
    rank = check_int(rank, "rank")
    d = a.shape[-1]
    eye = torch.eye(d, dtype=a.dtype, device=a.device).expand_as(a)
    total = torch.zeros(*a.shape[:-2], d**rank, d**rank, dtype=a.dtype, device=a.device)
    for slot in range(rank):
        term = torch.ones(*a.shape[:-2], 1, 1, dtype=a.dtype, device=a.device)
        for i in range(rank):
            m = a if i == slot else eye
            n = term.shape[-1]
            term = (term[..., :, None, :, None] * m[..., None, :, None, :]).reshape(
                *a.shape[:-2], n * d, n * d
            )
        total = total + term
    return total


def intertwiner_basis(
    lie: Sequence[tuple[torch.Tensor, torch.Tensor]],
    discrete: Sequence[tuple[torch.Tensor, torch.Tensor]] = (),
    *,
    rtol: float = 1e-10,
) -> torch.Tensor:
    r"""Orthonormal basis of the linear maps :math:`W: V_a \to V_b` that commute with a group.

    ``lie`` holds pairs :math:`(d\rho_a(A_i), d\rho_b(A_i))` for Lie-algebra generators and
    ``discrete`` pairs :math:`(\rho_a(h_j), \rho_b(h_j))` for discrete generators. The
    conditions :math:`d\rho_b(A)W = W d\rho_a(A)` and :math:`\rho_b(h)W\rho_a(h)^{-1} = W`
    become, with the row-major :math:`\mathrm{vec}(XWZ) = (X\otimes Z^\top)\mathrm{vec}(W)`,

    .. math::
        \big(d\rho_b(A)\otimes I - I\otimes d\rho_a(A)^\top\big)\mathrm{vec}(W) = 0,\qquad
        \big(\rho_b(h)\otimes\rho_a(h)^{-\top} - I\big)\mathrm{vec}(W) = 0,

    for any (not necessarily orthogonal) representation. Returns ``(D_b * D_a, k)``:
    the columns are :math:`\mathrm{vec}(W)` of an orthonormal basis of the solutions
    (null space by SVD, singular values below ``rtol`` times the largest count as zero).
    """
    pairs = list(lie) + list(discrete)
    if not pairs:
        raise ValueError("lie and discrete must hold at least one generator pair")
    rows = []
    for k, (m_a, m_b) in enumerate(pairs):
        m_a = _check_finite(check_square(m_a, f"generator pair {k} (input)"), "generators")
        m_b = _check_finite(check_square(m_b, f"generator pair {k} (output)"), "generators")
        da, db = m_a.shape[-1], m_b.shape[-1]
        if (da, db) != (pairs[0][0].shape[-1], pairs[0][1].shape[-1]):
            raise ValueError("all generator pairs must act on the same spaces V_a and V_b")
        ia = torch.eye(da, dtype=m_a.dtype, device=m_a.device)
        ib = torch.eye(db, dtype=m_a.dtype, device=m_a.device)
        if k < len(lie):
            # contiguous: torch.kron cannot view a transposed operand
            rows.append(torch.kron(m_b.contiguous(), ia) - torch.kron(ib, m_a.T.contiguous()))
        else:
            inv_t = torch.linalg.inv(m_a).T.contiguous()
            rows.append(torch.kron(m_b.contiguous(), inv_t) - torch.kron(ib, ia))
    c = torch.cat(rows)
    _, s, vh = torch.linalg.svd(c, full_matrices=True)
    rank = int((s > rtol * max(float(s.max()), 1.0)).sum())
    return vh[rank:].T


# --------------------------------------------------------------------------- semidirect products


def _check_pair(t: torch.Tensor, h: torch.Tensor, name: str) -> tuple[torch.Tensor, torch.Tensor]:
    h = _check_finite(check_square(h, f"{name}.h"), f"{name}.h")
    t = _check_finite(check_tensor(t, f"{name}.t", min_ndim=1, floating=True), f"{name}.t")
    if t.shape[-1] != h.shape[-1]:
        raise ValueError(
            f"{name}: t must have shape (..., n) for h of shape (..., n, n), "
            f"got {tuple(t.shape)} and {tuple(h.shape)}"
        )
    return t, h


def semidirect_compose(
    g1: tuple[torch.Tensor, torch.Tensor], g2: tuple[torch.Tensor, torch.Tensor]
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""The product in :math:`\mathbb{R}^n \rtimes H`: :math:`(t_1, h_1)(t_2, h_2) = (t_1 + h_1 t_2,\ h_1 h_2)`.

    An element :math:`(t, h)` acts on points by :math:`x \mapsto hx + t`; the law is
    "apply :math:`g_2`, then :math:`g_1`". Each element is a pair ``(t: (..., n), h: (..., n, n))``.
    """
    (t1, h1), (t2, h2) = _check_pair(*g1, "g1"), _check_pair(*g2, "g2")
    return t1 + (h1 @ t2[..., None])[..., 0], h1 @ h2


def semidirect_inverse(g: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    r"""The inverse in :math:`\mathbb{R}^n \rtimes H`: :math:`(t, h)^{-1} = (-h^{-1}t,\ h^{-1})`."""
    t, h = _check_pair(*g, "g")
    h_inv = torch.linalg.inv(h)
    return -(h_inv @ t[..., None])[..., 0], h_inv


def affine_element(
    angle: float,
    shear: float = 0.0,
    scale: tuple[float, float] = (1.0, 1.0),
    shift: tuple[float, float] = (0.0, 0.0),
    *,
    dtype: torch.dtype = torch.float64,
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""One element :math:`(t, h)` of :math:`\mathbb{R}^2 \rtimes \mathrm{GL}^+(2)`.

    :math:`h = R(\text{angle})\begin{pmatrix}1 & \text{shear}\\ 0 & 1\end{pmatrix}
    \operatorname{diag}(\text{scale})` and :math:`t = \text{shift}`: the affine map
    :math:`x \mapsto hx + t` stretches, shears, turns, then shifts. Returns
    ``(t: (2,), h: (2, 2))``.
    """
    vals = {"angle": angle, "shear": shear, "scale": scale, "shift": shift}
    flat = [angle, shear, *scale, *shift]
    if len(scale) != 2 or len(shift) != 2:
        raise ValueError("scale and shift must be pairs of numbers")
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in flat):
        raise TypeError(f"angle, shear, scale and shift must be real numbers, got {vals}")
    if not all(torch.isfinite(torch.tensor(float(v))) for v in flat):
        raise ValueError(f"angle, shear, scale and shift must be finite, got {vals}")
    if min(scale) <= 0:
        raise ValueError(f"scale must be positive (h in GL+(2)), got {scale}")
    c, s = torch.cos(torch.tensor(angle, dtype=dtype)), torch.sin(torch.tensor(angle, dtype=dtype))
    rot = torch.stack([torch.stack([c, -s]), torch.stack([s, c])])
    shear_m = torch.tensor([[1.0, shear], [0.0, 1.0]], dtype=dtype)
    h = rot @ shear_m @ torch.diag(torch.tensor(scale, dtype=dtype))
    return torch.tensor(shift, dtype=dtype), h


def two_bumps(x: torch.Tensor) -> torch.Tensor:
    r"""An asymmetric test function on the plane: a round bump at 0 and a flat one at (0.6, 0).

    :math:`f(x) = e^{-\lVert x\rVert^2/0.08} + 0.6\,e^{-\lVert (x - (0.6, 0))/0.3\rVert^2}`,
    so turns, shears and reflections of it are visible. ``x: (..., 2)`` → ``(...)``.
    """
    x = check_tensor(x, "x", last_dims=(2,), floating=True)
    centre = torch.tensor([0.6, 0.0], dtype=x.dtype, device=x.device)
    return torch.exp(-(x**2).sum(-1) / 0.08) + 0.6 * torch.exp(-(((x - centre) / 0.3) ** 2).sum(-1))


def affine_matrix(g: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    r"""The homogeneous matrix :math:`\begin{pmatrix}h & t\\ 0 & 1\end{pmatrix}` of :math:`(t, h)`.

    It turns the semidirect product into a matrix product (a faithful representation),
    an independent check of :func:`semidirect_compose`. Returns ``(..., n + 1, n + 1)``.
    """
    t, h = _check_pair(*g, "g")
    n = h.shape[-1]
    top = torch.cat([h, t[..., None]], -1)
    bottom = torch.zeros(*top.shape[:-2], 1, n + 1, dtype=h.dtype, device=h.device)
    bottom[..., 0, n] = 1.0
    return torch.cat([top, bottom], -2)


def act_on_function(
    g: tuple[torch.Tensor, torch.Tensor],
    f: Callable[[torch.Tensor], torch.Tensor],
) -> Callable[[torch.Tensor], torch.Tensor]:
    r"""The left-regular action :math:`(L_g f)(x) = f(g^{-1}x) = f\big(h^{-1}(x - t)\big)`.

    ``g = (t: (n,), h: (n, n))`` is one element; ``f`` maps points ``(..., n)`` to values
    ``(...)``. The inverse makes :math:`L_{g_1}L_{g_2} = L_{g_1g_2}`: the bump of ``f`` at
    :math:`x_0` moves to :math:`g x_0`.
    """
    t, h = _check_pair(*g, "g")
    if h.ndim != 2:
        raise ValueError(f"g must be a single element (t: (n,), h: (n, n)), got h {tuple(h.shape)}")
    if not callable(f):
        raise TypeError(f"f must be callable, got {type(f).__name__}")
    t_inv, h_inv = semidirect_inverse((t, h))
    return lambda x: f(x @ h_inv.T.to(x.dtype) + t_inv.to(x.dtype))


# --------------------------------------------------------------------------- Wigner-D, Clebsch-Gordan


def _sphere_points(n: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    # Fibonacci lattice: n well-spread unit vectors, so the harmonics' fit below is well posed
    i = torch.arange(n, dtype=dtype, device=device) + 0.5
    z = 1 - 2 * i / n
    r, phi = torch.sqrt(1 - z * z), torch.pi * (1 + 5**0.5) * i
    return torch.stack([r * torch.cos(phi), r * torch.sin(phi), z], -1)


def wigner_d(l: int, r: torch.Tensor) -> torch.Tensor:  # noqa: E741
    r"""The Wigner matrix :math:`D^{l}(R)` of rotations, in e3nn's real basis.

    :math:`D^l` is the irreducible representation of SO(3) of dimension :math:`2l+1`,
    *defined* here by the property that makes it useful: e3nn's real spherical harmonics
    transform with it, :math:`Y^l(Rx) = D^l(R)\,Y^l(x)` for every :math:`x`. Sampling
    :math:`4l+4` points of the sphere and solving that linear system (least squares)
    gives :math:`D^l(R)` to rounding error in float64. (e3nn's own
    ``Irrep.D_from_matrix`` goes through Euler angles and is accurate to about
    :math:`10^{-6}` only, even in float64; the tests compare the two.) In e3nn's basis
    (version 0.6) the :math:`l = 1` harmonics are :math:`(x, y, z)` up to a constant, so
    :math:`D^1(R) = R`.
    ``r: (..., 3, 3)`` → ``(..., 2l+1, 2l+1)``.
    """
    l = check_int(l, "l")  # noqa: E741
    r = _check_finite(check_square(r, "r", size=3), "r")
    x = _sphere_points(4 * l + 4, r.dtype, r.device)
    y = o3.spherical_harmonics(l, x, normalize=True)  # (n, 2l+1)
    y_rot = o3.spherical_harmonics(l, x @ r.transpose(-1, -2), normalize=True)  # (..., n, 2l+1)
    # rows: Y(R x_i)^T = Y(x_i)^T D^T, so D^T solves Y D^T = Y_rot
    d_t = torch.linalg.lstsq(y.expand(*y_rot.shape[:-2], *y.shape), y_rot).solution
    return d_t.transpose(-1, -2)


def clebsch_gordan_basis(
    l1: int, l2: int, *, dtype: torch.dtype = torch.float64
) -> tuple[torch.Tensor, list[int]]:
    r"""The orthogonal change of basis that splits :math:`D^{l_1}\otimes D^{l_2}` into irreducibles.

    :math:`l_1\otimes l_2 = \bigoplus_{L=|l_1-l_2|}^{l_1+l_2} L`. The rows of
    :math:`Q` for output degree :math:`L` are :math:`\sqrt{2L+1}\,C^{l_1l_2L}_{m_1m_2M}`,
    with :math:`C` e3nn's ``wigner_3j`` (real Clebsch–Gordan coefficients, each
    :math:`(l_1,l_2,L)` block of unit Frobenius norm), indexed by :math:`M` (rows) and the
    row-major pair :math:`(m_1, m_2)` (columns). Then :math:`QQ^\top = I` and

    .. math::
        Q\,\big(D^{l_1}(R)\otimes D^{l_2}(R)\big)\,Q^\top = \bigoplus_L D^{L}(R).

    Returns ``Q: ((2l_1+1)(2l_2+1), (2l_1+1)(2l_2+1))`` and the degrees ``[L, ...]``
    in the order of the blocks.
    """
    l1, l2 = check_int(l1, "l1"), check_int(l2, "l2")
    degrees = list(range(abs(l1 - l2), l1 + l2 + 1))
    rows = [
        (2 * big_l + 1) ** 0.5
        * o3.wigner_3j(l1, l2, big_l, dtype=dtype).reshape(-1, 2 * big_l + 1).T
        for big_l in degrees
    ]
    return torch.cat(rows), degrees
