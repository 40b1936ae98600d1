"""Training an :class:`~companion.ep.network.EPNetwork` with backprop or equilibrium propagation.

Each step solves the free fixed point of a mini-batch, estimates ``∇_θ L`` with the chosen
method and takes an Adam (or SGD-with-momentum) step. Optionally the homeostatic loss
``λ_h ½‖J - Jᵀ‖²/n`` (estimated with two JVPs) is added, and the cosine between the
estimate and the true gradient is tracked on a fixed probe batch.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from ..checks import check_choice, check_int, check_number
from ..utils import TrainResult, progress
from .data import Split, one_hot
from .estimators import cosine_similarity, ep_gradient, implicit_gradient, loss_at
from .homeostasis import network_homeostatic_loss, network_jacobian, symmetry_score
from .network import EPNetwork

__all__ = ["EPTrainResult", "network_accuracy", "train", "TRAIN_METHODS"]

TRAIN_METHODS = ("bp", "hep", "one-sided", "symmetric")


@dataclass(kw_only=True)
class EPTrainResult(TrainResult):
    """What :func:`train` records: the shared :class:`~companion.utils.TrainResult` plus the
    per-epoch evaluations of this chapter.

    Attributes:
        losses: training loss per epoch (mean over the epoch's batches) ``(epochs,)``, float64.
        metrics: ``"loss"`` and ``"test_accuracy"`` at the end, and ``"cosine"`` /
            ``"symmetry"`` when tracked.
        test_accuracy: test accuracy, ``epochs + 1`` entries (entry 0 is before training).
        cosine: on the probe batch, the cosine of the estimate to the true gradient
            (``epochs + 1`` entries, or none without ``track_cosine``).
        symmetry: on the probe batch, the Jacobian symmetry score (as ``cosine``).
    """

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


def train(
    net: EPNetwork,
    data: Split,
    *,
    method: str = "hep",
    epochs: int = 10,
    batch_size: int = 32,
    optimizer: str = "adam",
    lr: float = 0.01,
    momentum: float = 0.9,
    n: int = 4,
    r: float = 0.5,
    beta: float = 0.1,
    homeostasis: float = 0.0,
    n_probes: int = 1,
    generator: torch.Generator | None = None,
    track_cosine: bool = False,
    probe_size: int = 128,
    max_iter: int = 1000,
    desc: str | None = None,
) -> EPTrainResult:
    """Train ``net`` in place on ``data`` and return an :class:`EPTrainResult`.

    The unit of training is the epoch (``epochs``, not the shared ``steps``): the test
    accuracy, cosine and symmetry are recorded once per data pass, and the notebook's
    numbers are per-epoch records.

    Args:
        optimizer: ``"adam"`` or ``"sgd"`` (with ``momentum``), learning rate ``lr``.
        method: ``"bp"`` (implicit-differentiation gradient), ``"hep"`` (``n`` nudges of
            radius ``r``), ``"one-sided"`` / ``"symmetric"`` (classic EP with ``beta``).
        homeostasis: weight ``λ_h`` of the homeostatic loss (0 = off), ``n_probes`` Gaussian
            probes per sample.
        generator: shuffles the batches and draws the probes.
        track_cosine: record, each epoch, the cosine between this method's estimate and the
            true gradient of the recurrent weights on the first ``probe_size`` training images.
    """
    if not isinstance(net, EPNetwork):
        raise TypeError(f"net must be an EPNetwork, got {type(net).__name__}")
    if not isinstance(data, Split):
        raise TypeError(f"data must be a Split, got {type(data).__name__}")
    check_choice(method, "method", TRAIN_METHODS)
    epochs = check_int(epochs, "epochs", minimum=1)
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    check_number(lr, "lr", minimum=0, open_min=True)
    check_number(homeostasis, "homeostasis", minimum=0)
    if data.x_train.shape[1] != net.sizes[0] or data.n_classes != net.n_classes:
        raise ValueError(
            f"data (d={data.x_train.shape[1]}, {data.n_classes} classes) does not fit "
            f"the network (n_0={net.sizes[0]}, {net.n_classes} classes)"
        )
    dt, dev = net.dtype, net.device
    x_tr, y_tr = data.x_train.to(dev, dt), data.y_train.to(dev)
    x_te, y_te = data.x_test.to(dev, dt), data.y_test.to(dev)
    yh_tr = one_hot(y_tr, net.n_classes, dt)
    probe_x, probe_y = x_tr[:probe_size], yh_tr[:probe_size]
    params = list(net.parameters())
    if optimizer == "adam":
        opt: torch.optim.Optimizer = torch.optim.Adam(params, lr=lr)
    elif optimizer == "sgd":
        opt = torch.optim.SGD(params, lr=lr, momentum=momentum)
    else:
        raise ValueError(f"optimizer must be 'adam' or 'sgd', got {optimizer!r}")
    hist = EPTrainResult(losses=torch.empty(0, dtype=torch.float64))
    train_loss: list[float] = []
    m = x_tr.shape[0]

    def record() -> None:
        hist.test_accuracy.append(network_accuracy(net, x_te, y_te, max_iter=max_iter))
        if track_cosine:
            u = net.solve(probe_x, max_iter=max_iter)
            ref = implicit_gradient(net, probe_x, probe_y, u=u, max_iter=max_iter)
            est = (
                ref
                if method == "bp"
                else ep_gradient(
                    net,
                    probe_x,
                    probe_y,
                    method=method,
                    n=n,
                    r=r,
                    beta=beta,
                    u=u,
                    max_iter=max_iter,
                )
            )
            hist.cosine.append(cosine_similarity(est, ref, network_only=net))
            J = network_jacobian(net, u[:8], probe_x[:8])
            hist.symmetry.append(float(symmetry_score(J).mean()))

    record()  # before training: entry 0
    for _ in progress(range(epochs), desc=desc or f"train ({method})"):
        perm = torch.randperm(m, generator=generator).to(dev)
        total, count = 0.0, 0
        for i in range(0, m, batch_size):
            idx = perm[i : i + batch_size]
            xb, yb = x_tr[idx], yh_tr[idx]
            u = net.solve(xb, max_iter=max_iter)
            if method == "bp":
                grads = implicit_gradient(net, xb, yb, u=u, max_iter=max_iter)
            else:
                grads = ep_gradient(
                    net, xb, yb, method=method, n=n, r=r, beta=beta, u=u, max_iter=max_iter
                )
            if homeostasis > 0:
                with torch.enable_grad():
                    h = network_homeostatic_loss(
                        net, u, xb, n_samples=n_probes, generator=generator
                    )
                    hg = torch.autograd.grad(homeostasis * h, params, allow_unused=True)
                grads = [g if e is None else g + e for g, e in zip(grads, hg, strict=True)]
            for p, g in zip(params, grads, strict=True):
                p.grad = g
            opt.step()
            with torch.no_grad():
                total += float(loss_at(net, u, yb)) * len(idx)
            count += len(idx)
        train_loss.append(total / count)
        record()
    hist.losses = torch.tensor(train_loss, dtype=torch.float64)
    hist.metrics = {"loss": train_loss[-1], "test_accuracy": hist.test_accuracy[-1]}
    if track_cosine:
        hist.metrics.update(cosine=hist.cosine[-1], symmetry=hist.symmetry[-1])
    return hist
