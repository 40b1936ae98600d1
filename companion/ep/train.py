"""Training an :class:`~companion.ep.network.EPNetwork` with backprop or equilibrium propagation.

Each step solves the free fixed point of a mini-batch, estimates ``∇_θ L`` with the chosen
:class:`~companion.ep.estimators.Estimator` and takes an Adam (or SGD-with-momentum) step.
Optionally the homeostatic loss ``λ_h ½‖J - Jᵀ‖²/n`` (estimated with two JVPs) is added, and the
cosine between the estimate and the true gradient is tracked on a fixed probe batch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from ..checks import check_bool, check_choice, check_int, check_number
from ..utils import TrainResult, check_generator, progress
from .data import Split, one_hot
from .estimators import Estimator, cosine_similarity, implicit_gradient, loss_at
from .homeostasis import network_homeostatic_loss, network_jacobian, symmetry_score
from .network import EPNetwork

__all__ = ["EPTrainResult", "network_accuracy", "steps_per_epoch", "train"]

_DEFAULT_ESTIMATOR = Estimator()  # frozen, so one shared default is safe


@dataclass(kw_only=True)
class EPTrainResult(TrainResult):
    """What :func:`train` records: the shared :class:`~companion.utils.TrainResult` plus the
    periodic evaluations of this chapter.

    Attributes:
        losses: training loss per step (the mini-batch's loss at its free fixed point)
            ``(steps,)``, float64.
        metrics: ``"loss"`` (the last step's) and ``"test_accuracy"`` at the end, and
            ``"cosine"`` / ``"symmetry"`` when tracked.
        eval_steps: the step after which each evaluation was made (``0``: before training).
        test_accuracy: test accuracy at each of ``eval_steps``.
        cosine: on the probe batch, the cosine of the estimate to the true gradient (at each
            of ``eval_steps``, or none without ``track_cosine``).
        symmetry: on the probe batch, the Jacobian symmetry score (as ``cosine``).
    """

    eval_steps: list[int] = field(default_factory=list)
    test_accuracy: list[float] = field(default_factory=list)
    cosine: list[float] = field(default_factory=list)
    symmetry: list[float] = field(default_factory=list)


def network_accuracy(
    net: EPNetwork,
    x: torch.Tensor,
    labels: torch.Tensor,
    *,
    batch_size: int = 1024,
    max_iter: int = 1000,
) -> float:
    """Fraction of ``x: (m, n_0)`` whose free-phase readout argmax equals ``labels: (m,)``."""
    if not isinstance(net, EPNetwork):
        raise TypeError(f"net must be an EPNetwork, got {type(net).__name__}")
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    correct = 0
    for i in range(0, x.shape[0], batch_size):
        xb = x[i : i + batch_size]
        u = net.solve(xb, max_iter=max_iter)
        with torch.no_grad():
            z = net.logits(net.split(torch.sigmoid(u))[-1])
        correct += int((z.argmax(-1) == labels[i : i + batch_size]).sum())
    return correct / x.shape[0]


def steps_per_epoch(data: Split, batch_size: int) -> int:
    """Mini-batches in one pass over ``data.x_train`` (the last one may be smaller)."""
    if not isinstance(data, Split):
        raise TypeError(f"data must be a Split, got {type(data).__name__}")
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    return math.ceil(data.x_train.shape[0] / batch_size)


def _check_run(net: object, data: object, estimator: object) -> None:
    """The ``(net, data, estimator)`` of a training or evaluation run, type-checked once."""
    if not isinstance(net, EPNetwork):
        raise TypeError(f"net must be an EPNetwork, got {type(net).__name__}")
    if not isinstance(data, Split):
        raise TypeError(f"data must be a Split, got {type(data).__name__}")
    if not isinstance(estimator, Estimator):
        raise TypeError(f"estimator must be an Estimator, got {type(estimator).__name__}")


def train(
    net: EPNetwork,
    data: Split,
    *,
    steps: int,
    batch_size: int = 32,
    generator: torch.Generator | None = None,
    desc: str | None = None,
    estimator: Estimator = _DEFAULT_ESTIMATOR,
    optimizer: str = "adam",
    lr: float = 0.01,
    momentum: float = 0.9,
    homeostasis: float = 0.0,
    n_probes: int = 1,
    eval_every: int | None = None,
    track_cosine: bool = False,
    probe_size: int = 128,
) -> EPTrainResult:
    """Train ``net`` in place for ``steps`` mini-batches of ``data`` and return an :class:`EPTrainResult`.

    The batches are drawn without replacement, one fresh permutation of the training set per
    data pass (:func:`steps_per_epoch` steps).

    Args:
        steps: optimiser steps (mini-batches).
        batch_size: images per mini-batch.
        generator: shuffles the batches and draws the homeostatic probes (``None``: global).
        desc: progress-bar label.
        estimator: how the gradient is estimated (``Estimator(method="bp")`` for backprop).
        optimizer: ``"adam"`` or ``"sgd"`` (with ``momentum``), learning rate ``lr``.
        homeostasis: weight ``λ_h`` of the homeostatic loss (0 = off), ``n_probes`` Gaussian
            probes per sample.
        eval_every: evaluate (test accuracy; cosine and symmetry with ``track_cosine``) every
            this many steps, at step 0 and after the last step (``None``: once per data pass).
        track_cosine: record the cosine between the estimator's update and the true gradient
            of the recurrent weights on the first ``probe_size`` training images.
    """
    _check_run(net, data, estimator)
    steps = check_int(steps, "steps", minimum=1)
    per_epoch = steps_per_epoch(data, batch_size)
    eval_every = per_epoch if eval_every is None else check_int(eval_every, "eval_every", minimum=1)
    check_generator(generator)
    check_choice(optimizer, "optimizer", ("adam", "sgd"))
    check_number(lr, "lr", minimum=0, open_min=True)
    check_number(momentum, "momentum", minimum=0, maximum=1)
    check_number(homeostasis, "homeostasis", minimum=0)
    n_probes = check_int(n_probes, "n_probes", minimum=1)
    check_bool(track_cosine, "track_cosine")
    probe_size = check_int(probe_size, "probe_size", minimum=1)
    if data.x_train.shape[1] != net.sizes[0] or data.n_classes != net.n_classes:
        raise ValueError(
            f"data (d={data.x_train.shape[1]}, {data.n_classes} classes) does not fit "
            f"the network (n_0={net.sizes[0]}, {net.n_classes} classes)"
        )
    est, max_iter = estimator, estimator.max_iter
    dt, dev = net.dtype, net.device
    x_tr, y_tr = data.x_train.to(dev, dt), data.y_train.to(dev)
    x_te, y_te = data.x_test.to(dev, dt), data.y_test.to(dev)
    yh_tr = one_hot(y_tr, net.n_classes, dt)
    probe_x, probe_y = x_tr[:probe_size], yh_tr[:probe_size]
    params = list(net.parameters())
    if optimizer == "adam":
        opt: torch.optim.Optimizer = torch.optim.Adam(params, lr=lr)
    else:
        opt = torch.optim.SGD(params, lr=lr, momentum=momentum)
    hist = EPTrainResult(losses=torch.empty(0, dtype=torch.float64))
    losses = torch.empty(steps, dtype=torch.float64)
    m = x_tr.shape[0]

    def record(step: int) -> None:
        hist.eval_steps.append(step)
        hist.test_accuracy.append(network_accuracy(net, x_te, y_te, max_iter=max_iter))
        if track_cosine:
            u = net.solve(probe_x, tol=est.tol, max_iter=max_iter)
            ref = implicit_gradient(net, probe_x, probe_y, u=u, max_iter=max_iter)
            g = ref if est.method == "bp" else est.gradient(net, probe_x, probe_y, u)
            hist.cosine.append(cosine_similarity(g, ref, network_only=net))
            J = network_jacobian(net, u[:8], probe_x[:8])
            hist.symmetry.append(float(symmetry_score(J).mean()))

    record(0)
    perm = torch.empty(0, dtype=torch.int64)
    for step in progress(range(steps), desc=desc or f"train ({est.method})"):
        i = (step % per_epoch) * batch_size
        if i == 0:  # a new data pass
            perm = torch.randperm(m, generator=generator).to(dev)
        idx = perm[i : i + batch_size]
        xb, yb = x_tr[idx], yh_tr[idx]
        u = net.solve(xb, tol=est.tol, max_iter=max_iter)
        grads = est.gradient(net, xb, yb, u)
        if homeostasis > 0:
            with torch.enable_grad():
                h = network_homeostatic_loss(net, u, xb, n_samples=n_probes, generator=generator)
                hg = torch.autograd.grad(homeostasis * h, params, allow_unused=True)
            grads = [g if e is None else g + e for g, e in zip(grads, hg, strict=True)]
        for p, g in zip(params, grads, strict=True):
            p.grad = g
        opt.step()
        with torch.no_grad():
            losses[step] = float(loss_at(net, u, yb))
        if (step + 1) % eval_every == 0 or step + 1 == steps:
            record(step + 1)
    hist.losses = losses
    hist.metrics = {"loss": float(losses[-1]), "test_accuracy": hist.test_accuracy[-1]}
    if track_cosine:
        hist.metrics.update(cosine=hist.cosine[-1], symmetry=hist.symmetry[-1])
    return hist
