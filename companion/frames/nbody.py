r"""The charged-particle n-body system of the EGNN and frame-averaging benchmarks.

``n`` particles (5 in the papers) with unit mass and charges :math:`q_i \in \{-1, +1\}` move
under Coulomb-like pair forces

.. math::
    F_i = \sum_{j \ne i} k\, q_i q_j \frac{x_i - x_j}{\lVert x_i - x_j\rVert^3}

(like charges repel), integrated with the kick–drift (symplectic Euler) scheme
:math:`v \leftarrow v + \Delta t\, F(x)`, :math:`x \leftarrow x + \Delta t\, v`, with
:math:`\Delta t = 10^{-3}`, no walls. Positions start Gaussian (std ``loc_std``),
velocities in uniformly random directions with norm ``vel_norm``. As in Satorras et al.
(2021) the model's input is the state after ``n_burn = 3000`` steps, and its target is the
positions ``n_steps = 1000`` steps later. The benchmark has 3,000 / 2,000 / 2,000
train / validation / test trajectories (:func:`charged_particles_splits`' defaults).

Differences from the reference generator, both to keep the simulator's symmetries exact:
the force is limited to ``max_force`` by clamping the *norm of each pair force* (the
reference clamps each Cartesian component of the summed force, which is not
rotation-equivariant), so Newton's third law and momentum conservation hold exactly; and
trajectories are generated in float64 with an explicit ``torch.Generator``.

The total energy :math:`E = \tfrac12\sum_i \lVert v_i\rVert^2 + \tfrac12\sum_{i\ne j} k q_i q_j / r_{ij}`
(:func:`nbody_energy`) is conserved up to the integrator's :math:`O(\Delta t)` error away from
close encounters; the momentum :math:`\sum_i v_i` is conserved to rounding.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..checks import check_int, check_number, check_tensor
from ..utils import draw_seed

__all__ = [
    "NBodyData",
    "coulomb_forces",
    "nbody_energy",
    "simulate",
    "charged_particles",
    "charged_particles_splits",
]


@dataclass(frozen=True)
class NBodyData:
    """One split of the charged-particle data set.

    Attributes:
        x: ``(N, n, 3)`` positions at the input time.
        v: ``(N, n, 3)`` velocities at the input time.
        charges: ``(N, n, 1)`` charges, ±1.
        x_target: ``(N, n, 3)`` positions ``n_steps`` later (the regression target).
    """

    x: torch.Tensor
    v: torch.Tensor
    charges: torch.Tensor
    x_target: torch.Tensor

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def to(self, *args, **kwargs) -> NBodyData:
        """Move/cast every tensor (``.to(device)``, ``.to(torch.float32)``)."""
        return NBodyData(
            *(t.to(*args, **kwargs) for t in (self.x, self.v, self.charges, self.x_target))
        )

    def subset(self, n: int) -> NBodyData:
        """The first ``n`` trajectories."""
        n = check_int(n, "n", minimum=1)
        return NBodyData(self.x[:n], self.v[:n], self.charges[:n], self.x_target[:n])


def _check_state(x: torch.Tensor, v: torch.Tensor | None, charges: torch.Tensor) -> None:
    check_tensor(x, "x", ndim=3, floating=True)
    if x.shape[-1] != 3:
        raise ValueError(f"x must have shape (batch, n, 3), got {tuple(x.shape)}")
    if x.shape[1] < 2:
        raise ValueError(f"the system needs at least 2 particles, got n = {x.shape[1]}")
    if v is not None:
        check_tensor(v, "v", ndim=3, floating=True)
        if v.shape != x.shape:
            raise ValueError(f"v must have the shape of x {tuple(x.shape)}, got {tuple(v.shape)}")
    check_tensor(charges, "charges", ndim=3, floating=True)
    if tuple(charges.shape) != (*x.shape[:2], 1):
        raise ValueError(f"charges must have shape {(*x.shape[:2], 1)}, got {tuple(charges.shape)}")
    for name, t in (("x", x), ("v", v), ("charges", charges)):
        if t is not None and not torch.isfinite(t).all():
            raise ValueError(f"{name} contains NaN or infinite values")


def _pair_strength(charges: torch.Tensor, strength: float) -> torch.Tensor:
    """``k q_i q_j`` with a zero diagonal, ``(B, n, n)``."""
    q = charges[..., 0]
    kqq = strength * q[:, :, None] * q[:, None, :]
    return kqq * (1 - torch.eye(q.shape[1], dtype=q.dtype, device=q.device))


def _forces(
    x: torch.Tensor, kqq: torch.Tensor, eye: torch.Tensor, max_force: float
) -> torch.Tensor:
    # |f_ij| = k q_i q_j / r_ij^2 (clamped); F_i = sum_j |f_ij| (x_i - x_j) / r_ij
    #        = x_i sum_j c_ij - sum_j c_ij x_j  with c_ij = |f_ij| / r_ij
    inv_r = torch.cdist(x, x, compute_mode="donot_use_mm_for_euclid_dist").add_(eye).reciprocal_()
    c = (kqq * inv_r * inv_r).clamp_(-max_force, max_force).mul_(inv_r)
    return c.sum(dim=-1, keepdim=True) * x - torch.bmm(c, x)


def coulomb_forces(
    x: torch.Tensor, charges: torch.Tensor, *, strength: float = 1.0, max_force: float = 100.0
) -> torch.Tensor:
    r"""Pair-summed forces :math:`F_i` on every particle. ``x: (B, n, 3)``, ``charges: (B, n, 1)`` → ``(B, n, 3)``.

    Each pair force :math:`f_{ij} = k q_i q_j (x_i - x_j)/r_{ij}^3` is scaled down to norm
    ``max_force`` where it is larger, so that :math:`f_{ij} = -f_{ji}` always.
    """
    _check_state(x, None, charges)
    check_number(max_force, "max_force", minimum=0, open_min=True, finite=False)
    eye = torch.eye(x.shape[1], dtype=x.dtype, device=x.device)
    return _forces(x, _pair_strength(charges.to(x.dtype), strength), eye, max_force)


def nbody_energy(
    x: torch.Tensor, v: torch.Tensor, charges: torch.Tensor, *, strength: float = 1.0
) -> torch.Tensor:
    r"""Total energy :math:`\tfrac12\sum_i\lVert v_i\rVert^2 + \sum_{i<j} k q_i q_j / r_{ij}` per system, ``(B,)``."""
    _check_state(x, v, charges)
    n = x.shape[1]
    r = torch.cdist(x, x, compute_mode="donot_use_mm_for_euclid_dist")
    iu = torch.triu_indices(n, n, offset=1, device=x.device)
    qq = charges[:, :, None, 0] * charges[:, None, :, 0]
    potential = (strength * qq[:, iu[0], iu[1]] / r[:, iu[0], iu[1]]).sum(-1)
    return 0.5 * (v * v).sum(dim=(1, 2)) + potential


def simulate(
    x: torch.Tensor,
    v: torch.Tensor,
    charges: torch.Tensor,
    n_steps: int,
    *,
    dt: float = 1e-3,
    strength: float = 1.0,
    max_force: float = 100.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Advance ``n_steps`` kick–drift steps; returns the final ``(x, v)``, each ``(B, n, 3)``.

    The map :math:`(x, v) \mapsto (x', v')` is E(3)-equivariant: rotating/reflecting
    both and translating ``x`` moves the result the same way (up to rounding).
    """
    _check_state(x, v, charges)
    n_steps = check_int(n_steps, "n_steps")
    check_number(dt, "dt", minimum=0, open_min=True)
    check_number(max_force, "max_force", minimum=0, open_min=True, finite=False)
    x, v = x.clone(), v.clone()
    kqq = _pair_strength(charges.to(x.dtype), strength)
    eye = torch.eye(x.shape[1], dtype=x.dtype, device=x.device)
    for _ in range(n_steps):
        v.add_(_forces(x, kqq, eye, max_force), alpha=dt)
        x.add_(v, alpha=dt)
    return x, v


def charged_particles(
    n_samples: int,
    *,
    n_particles: int = 5,
    n_burn: int = 3000,
    n_steps: int = 1000,
    dt: float = 1e-3,
    loc_std: float = 1.0,
    vel_norm: float = 0.5,
    strength: float = 1.0,
    max_force: float = 100.0,
    generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.float32,
) -> NBodyData:
    """Generate ``n_samples`` independent trajectories of the charged-particle system.

    Initial state: positions :math:`\\mathcal N(0, \\mathrm{loc\\_std}^2)`, velocities of
    norm ``vel_norm`` in uniform directions, charges ±1 with probability ½. After
    ``n_burn`` steps the state is recorded as input, after ``n_burn + n_steps`` the
    positions as target. Simulated in float64 on the CPU; returned in ``dtype``.
    """
    n_samples = check_int(n_samples, "n_samples", minimum=1)
    n_particles = check_int(n_particles, "n_particles", minimum=2)
    n_burn = check_int(n_burn, "n_burn")
    n_steps = check_int(n_steps, "n_steps", minimum=1)
    if not (loc_std > 0 and vel_norm >= 0):
        raise ValueError(f"loc_std must be > 0 and vel_norm >= 0, got {loc_std}, {vel_norm}")
    f64 = torch.float64
    x = torch.randn(n_samples, n_particles, 3, generator=generator, dtype=f64) * loc_std
    v = torch.randn(n_samples, n_particles, 3, generator=generator, dtype=f64)
    v = v * (vel_norm / v.norm(dim=-1, keepdim=True))
    charges = torch.where(
        torch.rand(n_samples, n_particles, 1, generator=generator, dtype=f64) < 0.5, -1.0, 1.0
    ).to(f64)
    kw = dict(dt=dt, strength=strength, max_force=max_force)
    x, v = simulate(x, v, charges, n_burn, **kw)
    x_target, _ = simulate(x, v, charges, n_steps, **kw)
    return NBodyData(x, v, charges, x_target).to(dtype)


def charged_particles_splits(
    n_train: int = 3000,
    n_val: int = 2000,
    n_test: int = 2000,
    *,
    generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.float32,
    **kwargs,
) -> dict[str, NBodyData]:
    """Train / validation / test splits (the papers' sizes by default), from one generator.

    Three seeds are drawn from ``generator`` (``None``: the global stream) first, one
    per split, and each split is simulated from its own stream, so the test set does not
    change when the training set size does. ``kwargs`` go to :func:`charged_particles`
    (``n_particles``, ``n_burn``, ``n_steps``, ...).
    """
    seeds = [draw_seed(generator) for _ in range(3)]
    out = {}
    for seed, (name, n) in zip(
        seeds, (("train", n_train), ("val", n_val), ("test", n_test)), strict=True
    ):
        gen = torch.Generator().manual_seed(seed)
        out[name] = charged_particles(n, generator=gen, dtype=dtype, **kwargs)
    return out
