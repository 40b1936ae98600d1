r"""Training with one equivariance regulariser per candidate group and automatic strengths.

Loss (full batch or mini-batches, Adam with a cosine learning-rate schedule):

.. math::
    L(\theta) = \mathrm{MSE}(f_\theta(x), y) + \sum_k \lambda_k R_k(\theta)
                + \tfrac{wd}{2}\lVert\theta\rVert^2 .

With ``autotune_at = T`` the strengths are rescaled once at step ``T`` by
:func:`~.regularizer.autotune_strengths`, using the reference vector
(:func:`~.regularizer.reference_regularizer`) of the records of the ``window`` steps
before ``T``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from ..checks import check_int, check_same_len, check_tensor
from ..utils import TrainResult, progress
from .groups import MatrixGroup
from .model import soft_linears
from .regularizer import _check_groups, autotune_strengths, reference_regularizer, regularizers

__all__ = ["SoftTrainResult", "train", "regression_mse"]


@dataclass(kw_only=True)
class SoftTrainResult(TrainResult):
    """What :func:`train` records: the shared :class:`~companion.utils.TrainResult` plus the
    strengths and regulariser histories of this chapter.

    Attributes:
        losses: training MSE (the fit term, without ``wd`` and ``λ·R``) per step ``(steps,)``,
            float64; ``metrics["loss"]`` is its last entry.
        lam: final strengths ``(K,)``.
        lam_initial: strengths at the start ``(K,)``.
        r_history: regulariser values per step ``(steps, K)`` (before the step's update).
        tuned_at: the step of the automatic tuning, or ``None``.
        r_reference: the vector the tuning used ``(K,)``, or ``None``.
    """

    lam: torch.Tensor
    lam_initial: torch.Tensor
    r_history: torch.Tensor
    tuned_at: int | None
    r_reference: torch.Tensor | None


@torch.no_grad()
def regression_mse(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Mean squared error of ``model(x)`` against ``y: (N, D)`` (evaluation mode, no gradients)."""
    x = check_tensor(x, "x", ndim=2, floating=True)
    y = check_tensor(y, "y", ndim=2, floating=True)
    check_same_len(x, y, "x and y")
    return float(nn.functional.mse_loss(model(x), y))


def train(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    groups: Sequence[MatrixGroup] | None = None,
    lam: torch.Tensor | Sequence[float] | None = None,
    steps: int = 1000,
    lr: float = 5e-3,
    wd: float = 2e-4,
    autotune_at: int | None = None,
    window: int | None = None,
    p: float = 2.0,
    batch_size: int | None = None,
    generator: torch.Generator | None = None,
    desc: str | None = None,
    penalty: Callable[[nn.Module], torch.Tensor] | None = None,
) -> SoftTrainResult:
    """Train ``model`` in place on ``(x: (N, D_in), y: (N, D_out))`` with soft equivariance.

    Args:
        groups: the candidate groups (``None``: no regulariser, ``K = 0``).
        lam: initial strengths ``(K,)`` (non-negative).
        steps: optimisation steps; ``lr``: Adam's peak learning rate (cosine to 0);
            ``wd``: weight decay on the linear layers' weights and biases.
        autotune_at: step ``T`` of the one automatic tuning (``None``: fixed strengths).
        window: how many records before ``T`` the tuning looks at (default ``T // 2``).
        p: the tuning exponent.
        batch_size: mini-batch size (``None``: full batch); batches are drawn with ``generator``.
        desc: progress-bar caption.
        penalty: an extra term ``penalty(model) -> scalar`` added to the loss at every step,
            e.g. the prior of residual pathway priors (:func:`~.rpp.rpp_penalty`).
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    param = next(model.parameters())
    x = check_tensor(x, "x", ndim=2, floating=True).to(param.device, param.dtype)
    y = check_tensor(y, "y", ndim=2, floating=True).to(param.device, param.dtype)
    check_same_len(x, y, "x and y")
    steps = check_int(steps, "steps", minimum=1)
    groups = _check_groups(groups) if groups is not None else []
    k = len(groups)
    if lam is None:
        lam_t = param.new_zeros(k)
    else:
        lam_t = torch.as_tensor(lam, dtype=param.dtype).to(param.device).clone()
        if lam_t.shape != (k,):
            raise ValueError(
                f"lam must have shape ({k},) (one strength per group), got {tuple(lam_t.shape)}"
            )
        if not (torch.isfinite(lam_t).all() and (lam_t >= 0).all()):
            raise ValueError("lam must be finite and non-negative")
    if autotune_at is not None:
        autotune_at = check_int(autotune_at, "autotune_at", minimum=1)
        if autotune_at >= steps:
            raise ValueError(f"autotune_at must be < steps ({steps}), got {autotune_at}")
        if k == 0:
            raise ValueError("autotune_at needs candidate groups")
        window = (
            check_int(window, "window", minimum=1)
            if window is not None
            else max(1, autotune_at // 2)
        )
        # (step, window) of the one auto-tuning event; an int window, never None, in the loop.
        tune: tuple[int, int] | None = (autotune_at, min(window, autotune_at))
    else:
        tune = None
    if batch_size is not None:
        batch_size = check_int(batch_size, "batch_size", minimum=1)
    if penalty is not None and not callable(penalty):
        raise TypeError(f"penalty must be callable, got {type(penalty).__name__}")
    lam_initial = lam_t.clone()
    weights = [q for layer in soft_linears(model) for q in layer.parameters()]
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
    # Histories stay on the model's device, in its dtype (exact: float64 is applied once, at
    # the end), so a step never waits for the GPU; MPS has no float64 anyway.
    r_hist = param.new_zeros(steps, k)
    mse_hist = param.new_zeros(steps)
    r_ref = None
    tuned_at = None
    model.train()
    for step in progress(range(steps), desc=desc or "training", total=steps):
        if tune is not None and step == tune[0]:
            r_ref = reference_regularizer(r_hist[tune[0] - tune[1] : tune[0]])
            lam_t = autotune_strengths(lam_t, r_ref.to(lam_t), p)
            tuned_at = step
        if batch_size is None or batch_size >= x.shape[0]:
            xb, yb = x, y
        else:
            idx = torch.randint(0, x.shape[0], (batch_size,), generator=generator).to(x.device)
            xb, yb = x[idx], y[idx]
        loss_fit = nn.functional.mse_loss(model(xb), yb)
        loss = loss_fit + 0.5 * wd * sum(w.pow(2).sum() for w in weights)
        if penalty is not None:
            loss = loss + penalty(model)
        if k:
            r = regularizers(model, groups)
            loss = loss + (lam_t * r).sum()
            r_hist[step] = r.detach()
        mse_hist[step] = loss_fit.detach()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
    model.eval()
    losses = mse_hist.to(torch.float64).cpu()
    return SoftTrainResult(
        losses=losses,
        metrics={"loss": float(losses[-1])},
        lam=lam_t.detach().cpu(),
        lam_initial=lam_initial.cpu(),
        r_history=r_hist.to(torch.float64).cpu(),
        tuned_at=tuned_at,
        r_reference=None if r_ref is None else r_ref.to(torch.float64).cpu(),
    )
