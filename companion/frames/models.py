r"""Backbones for the n-body experiment: plain networks with no rotation symmetry.

Both take the state of ``n`` particles — positions ``x: (B, n, 3)``, velocities
``v: (B, n, 3)`` and charges ``q: (B, n, 1)`` — and predict future positions ``(B, n, 3)``
as :math:`x_i + \Delta_i`. Neither is rotation- or translation-equivariant; wrapped in
:class:`~companion.frames.averaging.FrameAveraging` (``output="positions"``,
``inputs=("vector", "scalar")``) both become exactly E(3)-equivariant (:func:`fa_model`).

* :class:`MLPBackbone` flattens the whole system into one vector (not even permutation
  equivariant).
* :class:`GNNBackbone` is a message-passing network on the complete graph, in the style of
  the GNN baseline of Satorras et al. (2021) and the FA-GNN of Puny et al. (2022): node
  inputs :math:`(x_i, v_i, q_i)`, edge inputs :math:`(q_i q_j, \lVert x_i - x_j\rVert^2)`,
  messages :math:`m_{ij} = \phi_e(h_i, h_j, e_{ij})`, updates
  :math:`h_i \leftarrow h_i + \phi_h(h_i, \sum_{j\ne i} m_{ij})`, output
  :math:`x_i + \phi_{out}(h_i)`. It is permutation-equivariant, but its raw coordinate
  inputs break rotation and translation symmetry.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from ..checks import check_bool, check_int, check_number, check_tensor
from ..groups import haar_o3
from ..utils import TrainResult, check_generator, progress, seeded_init
from .averaging import FrameAveraging
from .nbody import NBodyData

__all__ = [
    "MLPBackbone",
    "GNNBackbone",
    "fa_model",
    "NBodyTrainResult",
    "nbody_mse",
    "train_nbody",
]


def _mlp(sizes: list[int], act: type[nn.Module] = nn.SiLU) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(act())
    return nn.Sequential(*layers)


def _check_inputs(x: torch.Tensor, v: torch.Tensor, q: torch.Tensor, n: int | None) -> None:
    check_tensor(x, "x", ndim=3, last_dims=(3,), floating=True)
    check_tensor(v, "v", ndim=3, last_dims=(3,), floating=True)
    check_tensor(q, "q", ndim=3, last_dims=(1,), floating=True)
    if v.shape != x.shape or q.shape[:2] != x.shape[:2]:
        raise ValueError(
            f"x, v, q must share (batch, n): got {tuple(x.shape)}, {tuple(v.shape)}, "
            f"{tuple(q.shape)}"
        )
    if n is not None and x.shape[1] != n:
        raise ValueError(f"this model was built for n = {n} particles, got {x.shape[1]}")


class MLPBackbone(nn.Module):
    r"""An MLP on the flattened system :math:`(x, v, q) \in \mathbb{R}^{7n}`; predicts :math:`x + \Delta`.

    Args:
        n_particles: ``n``, fixed by the flattening.
        hidden: width of the hidden layers.
        depth: number of hidden layers.
    """

    def __init__(
        self,
        n_particles: int = 5,
        hidden: int = 128,
        depth: int = 3,
        *,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        self.n = check_int(n_particles, "n_particles", minimum=1)
        hidden = check_int(hidden, "hidden", minimum=1)
        depth = check_int(depth, "depth", minimum=1)
        with seeded_init(generator):  # None: the global stream
            self.net = _mlp([7 * self.n] + [hidden] * depth + [3 * self.n])

    def forward(self, x: torch.Tensor, v: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
        """``x, v: (B, n, 3)``, ``q: (B, n, 1)`` → ``(B, n, 3)``."""
        _check_inputs(x, v, q, self.n)
        z = torch.cat([x, v, q.to(x.dtype)], dim=-1).flatten(1)
        return x + self.net(z).reshape(x.shape)


class GNNBackbone(nn.Module):
    """Message passing on the complete graph of ``n`` particles (see the module docstring).

    Args:
        hidden: width of node embeddings and messages.
        layers: number of message-passing layers.
    """

    def __init__(
        self, hidden: int = 64, layers: int = 4, *, generator: torch.Generator | None = None
    ) -> None:
        super().__init__()
        hidden = check_int(hidden, "hidden", minimum=1)
        layers = check_int(layers, "layers", minimum=1)
        with seeded_init(generator):  # None: the global stream
            self.embed = nn.Linear(7, hidden)
            self.edge = nn.ModuleList(_mlp([2 * hidden + 2, hidden, hidden]) for _ in range(layers))
            self.node = nn.ModuleList(_mlp([2 * hidden, hidden, hidden]) for _ in range(layers))
            self.out = _mlp([hidden, hidden, 3])

    def forward(self, x: torch.Tensor, v: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
        """``x, v: (B, n, 3)``, ``q: (B, n, 1)`` → ``(B, n, 3)``."""
        _check_inputs(x, v, q, None)
        b, n, _ = x.shape
        q = q.to(x.dtype)
        h = self.embed(torch.cat([x, v, q], dim=-1))  # (B, n, H)
        diff = x[:, :, None, :] - x[:, None, :, :]
        e = torch.stack([(q[:, :, None, 0] * q[:, None, :, 0]), (diff * diff).sum(-1)], dim=-1)
        off = ~torch.eye(n, dtype=torch.bool, device=x.device)  # no self-messages
        for edge, node in zip(self.edge, self.node, strict=True):
            hi = h[:, :, None, :].expand(b, n, n, h.shape[-1])
            hj = h[:, None, :, :].expand(b, n, n, h.shape[-1])
            m = edge(torch.cat([hi, hj, e], dim=-1)) * off[None, :, :, None]
            h = h + node(torch.cat([h, m.sum(dim=2)], dim=-1))
        return x + self.out(h)


def fa_model(backbone: torch.nn.Module, group: str = "E(3)", **kwargs) -> FrameAveraging:
    """Wrap an n-body backbone ``(x, v, q) -> x_next`` in :class:`~companion.frames.averaging.FrameAveraging`.

    Positions are of type ``"positions"``, velocities ``"vector"``, charges ``"scalar"``.
    ``kwargs`` (``degenerate``, ``gap_tol``) go to the wrapper.
    """
    return FrameAveraging(
        backbone, group=group, output="positions", inputs=("vector", "scalar"), **kwargs
    )


@dataclass
class NBodyTrainResult(TrainResult):
    """:func:`train_nbody`'s record: ``losses: (steps,)``; ``test_curve``, the test MSE
    every ``eval_every`` steps (empty without ``test``); ``train_curve``, the MSE on the
    whole training set at the same steps (empty unless ``record_train``)."""

    test_curve: torch.Tensor = field(default_factory=lambda: torch.zeros(0))
    train_curve: torch.Tensor = field(default_factory=lambda: torch.zeros(0))


def nbody_mse(model: nn.Module, data: NBodyData, *, batch_size: int | None = None) -> float:
    r"""Mean squared error :math:`\frac{1}{3Nn}\sum \lVert \hat x_T - x_T\rVert^2` of
    ``model(x, v, q)`` on ``data`` (no gradients), in ``batch_size`` chunks (``None``: one
    pass). The data are moved to the model's device and dtype."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(data, NBodyData):
        raise TypeError(f"data must be an NBodyData, got {type(data).__name__}")
    n = len(data)
    batch_size = n if batch_size is None else check_int(batch_size, "batch_size", minimum=1)
    p = next(model.parameters())
    data = data.to(device=p.device, dtype=p.dtype)
    total = torch.zeros((), dtype=torch.float64, device=p.device)
    with torch.no_grad():
        for i in range(0, n, batch_size):
            x, v, q, y = (
                t[i : i + batch_size] for t in (data.x, data.v, data.charges, data.x_target)
            )
            total += (model(x, v, q) - y).pow(2).sum().double()
    return float(total) / data.x_target.numel()


def train_nbody(
    model: nn.Module,
    data: NBodyData,
    *,
    steps: int,
    batch_size: int = 100,
    lr: float = 1e-3,
    augment: bool = False,
    test: NBodyData | None = None,
    eval_every: int = 100,
    generator: torch.Generator | None = None,
    desc: str | None = None,
    record_train: bool = False,
) -> NBodyTrainResult:
    r"""Fit ``model(x, v, q) -> x_target`` on n-body data with Adam, a cosine schedule and MSE.

    Each step draws ``batch_size`` samples with replacement. ``augment`` moves every sample
    by its own random element of E(3) (Haar rotation-reflection :math:`R`, shift
    :math:`s \sim \mathcal N(0, I)`): :math:`x \mapsto xR^\top + s`, :math:`v \mapsto vR^\top`,
    the target like :math:`x` — *data augmentation*, the alternative to frame averaging.
    ``generator`` draws the batches and the augmentations (``None``: the global stream).
    The data are moved to the model's device and dtype. With ``test``, the test MSE is
    recorded every ``eval_every`` steps and after the last step; with ``record_train``, so
    is the MSE on the whole training set (:func:`nbody_mse`), which shows over-fitting as a
    gap between the curves.
    """
    if not isinstance(data, NBodyData):
        raise TypeError(f"data must be an NBodyData, got {type(data).__name__}")
    if test is not None and not isinstance(test, NBodyData):
        raise TypeError(f"test must be an NBodyData or None, got {type(test).__name__}")
    steps = check_int(steps, "steps", minimum=1)
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    eval_every = check_int(eval_every, "eval_every", minimum=1)
    lr = check_number(lr, "lr", minimum=0, open_min=True)
    check_bool(augment, "augment")
    check_bool(record_train, "record_train")
    gen = check_generator(generator)
    p = next(model.parameters())  # train where the model lives
    data = data.to(device=p.device, dtype=p.dtype)
    test = None if test is None else test.to(device=p.device, dtype=p.dtype)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    losses, curve, train_curve = [], [], []
    done = 0
    for step in progress(range(steps), desc=desc):
        done = step + 1
        idx = torch.randint(len(data), (batch_size,), generator=gen).to(p.device)
        x, v, q, y = data.x[idx], data.v[idx], data.charges[idx], data.x_target[idx]
        if augment:  # a random element of E(3) per sample
            r = haar_o3(batch_size, generator=gen).to(p.device, p.dtype)
            s = torch.randn(batch_size, 1, 3, generator=gen).to(p.device, p.dtype)
            rt = r.transpose(1, 2)
            x, v, y = x @ rt + s, v @ rt, y @ rt + s
        loss = (model(x, v, q) - y).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        losses.append(loss.detach())
        if test is not None and (step + 1) % eval_every == 0:
            with torch.no_grad():
                pred = model(test.x, test.v, test.charges)
                curve.append((pred - test.x_target).pow(2).mean().item())
        if record_train and (step + 1) % eval_every == 0:
            train_curve.append(nbody_mse(model, data, batch_size=1000))
    if (
        done % eval_every
    ):  # the final model is always evaluated (also when a smoke run cut the loop)
        if test is not None:
            curve.append(nbody_mse(model, test))
        if record_train:
            train_curve.append(nbody_mse(model, data, batch_size=1000))
    loss_t = torch.stack(losses).cpu()
    metrics = {"loss": float(loss_t[-1])}
    if curve:
        metrics["test_mse"] = curve[-1]
    if train_curve:
        metrics["train_mse"] = train_curve[-1]
    return NBodyTrainResult(
        loss_t,
        metrics,
        test_curve=torch.tensor(curve, dtype=torch.float64),
        train_curve=torch.tensor(train_curve, dtype=torch.float64),
    )
