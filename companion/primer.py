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
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

from .checks import check_int, check_same_len, check_tensor
from .groups import VECTOR, haar_o3
from .utils import progress

__all__ = [
    "weighted_centroid",
    "make_pointclouds",
    "PointMLP",
    "GatedVectorNet",
    "TrainResult",
    "train_regressor",
    "mse",
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

    def __init__(self, n_points: int, hidden: int = 128, depth: int = 2):
        super().__init__()
        n_points = check_int(n_points, "n_points", minimum=1)
        hidden = check_int(hidden, "hidden", minimum=1)
        depth = check_int(depth, "depth", minimum=1)
        layers: list[nn.Module] = []
        width = 3 * n_points
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


def mse(model: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, y: torch.Tensor) -> float:
    """Mean squared error of ``model`` on ``(x, y)``, without gradients."""
    with torch.no_grad():
        return float(((model(x) - y) ** 2).mean())


@dataclass
class TrainResult:
    """Loss history of :func:`train_regressor` (one entry per step)."""

    losses: list[float] = field(default_factory=list)
    penalties: list[float] = field(default_factory=list)


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
    steps = check_int(steps, "steps", minimum=1)
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    if equiv_weight < 0:
        raise ValueError(f"equiv_weight must be >= 0, got {equiv_weight}")
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    result = TrainResult()
    n = x.shape[0]
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
        result.losses.append(float(loss.detach()))
        result.penalties.append(float(penalty.detach()))
    return result
