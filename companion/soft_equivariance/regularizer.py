r"""The projection-based equivariance regulariser and the automatic strength tuning.

For a candidate group :math:`G_k` with block projectors :math:`P_k`,

.. math::
    R_k(\theta) = \sum_{\text{layers } l} \tfrac12 \lVert W_l - P_k W_l\rVert_F^2
                  + \tfrac12 \lVert b_l - P_k b_l\rVert^2 ,

a sum (not a mean) over every weight and bias block. It needs no data and no group
samples, and :math:`R_k = 0` iff every linear layer is :math:`G_k`-equivariant. The
training loss is :math:`\mathrm{MSE} + \sum_k \lambda_k R_k + \tfrac{wd}{2}\lVert\theta\rVert^2`.

**Automatic tuning** (once, at step :math:`T`): with the regulariser vector
:math:`R = (R_k)` recorded over a window before :math:`T`,

.. math::
    R_{\min} = \min_{k:\ \lambda_k \ne 0} R_k, \qquad
    \lambda_k \leftarrow \lambda_k \left(\frac{R_{\min}}{R_k}\right)^{p} .

The candidate the data let the network fit best keeps its strength; the others shrink
by the ratio of their regulariser values to the power :math:`p`.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ..checks import check_number, check_tensor
from .groups import MatrixGroup
from .model import soft_linears
from .projector import _check_group, equivariant_projector

__all__ = ["regularizers", "regularizer", "autotune_strengths", "reference_regularizer"]


def _check_groups(groups: object) -> list[MatrixGroup]:
    if isinstance(groups, MatrixGroup) or not isinstance(groups, Sequence) or not groups:
        raise TypeError("groups must be a non-empty list of MatrixGroup")
    return [_check_group(g, f"groups[{i}]") for i, g in enumerate(groups)]


_COMPLEMENTS: dict = {}


def _complements(
    groups: list[MatrixGroup], a: int, b: int, dtype: torch.dtype, device: torch.device
) -> torch.Tensor:
    """Stacked :math:`I - P_k` for block type ``(a, b)``, shaped ``(K, 3^b, 3^a, 3^b, 3^a)`` (cached)."""
    key = (tuple(id(g) for g in groups), a, b, dtype, str(device))
    hit = _COMPLEMENTS.get(key)
    if hit is not None and all(h is g for h, g in zip(hit[0], groups, strict=True)):
        return hit[1]
    d = 3 ** (a + b)
    eye = torch.eye(d, dtype=torch.float64)
    comp = torch.stack([eye - equivariant_projector(g, a, b) for g in groups])
    comp = comp.reshape(len(groups), 3**b, 3**a, 3**b, 3**a).to(dtype=dtype, device=device)
    if len(_COMPLEMENTS) > 256:
        _COMPLEMENTS.clear()
    _COMPLEMENTS[key] = (tuple(groups), comp)
    return comp


def regularizers(
    model: nn.Module, groups: Sequence[MatrixGroup], *, bias: bool = True
) -> torch.Tensor:
    r"""The vector :math:`(R_1, \dots, R_K)` for ``K = len(groups)``; differentiable, ``(K,)``.

    For each block type of each :class:`~.model.SoftLinear` the stacked complements
    :math:`I - P_k` (``(K, d, d)``) act on all channel pairs with one einsum.
    ``bias=False`` leaves the biases out (the paper's ``--no_bias_regular``).
    """
    groups = _check_groups(groups)
    layers = soft_linears(model)
    if not layers:
        raise ValueError("model has no SoftLinear layer to regularise")
    param = layers[0].weight
    total = param.new_zeros(len(groups))
    for layer in layers:
        items = list(layer.weight_blocks().items())
        if bias:
            items += [((0, b), bb) for b, bb in layer.bias_blocks().items()]
        for (a, b), w in items:  # w: (c_out, 3^b, c_in, 3^a), a view
            comp = _complements(groups, a, b, w.dtype, w.device)  # (K, 3^b, 3^a, 3^b, 3^a)
            resid = torch.einsum("kijIJ,oIcJ->koicj", comp, w)
            total = total + 0.5 * resid.pow(2).sum(dim=(1, 2, 3, 4))
    return total


def regularizer(model: nn.Module, group: MatrixGroup, *, bias: bool = True) -> torch.Tensor:
    r"""The scalar :math:`R_G(\theta)` for one group (see :func:`regularizers`)."""
    return regularizers(model, [_check_group(group)], bias=bias)[0]


def autotune_strengths(lam: torch.Tensor, r: torch.Tensor, p: float = 2.0) -> torch.Tensor:
    r"""One tuning step :math:`\lambda_k \leftarrow \lambda_k (R_{\min}/R_k)^p`, ``R_min`` over ``λ_k ≠ 0``.

    Args:
        lam: current strengths ``(K,)``, non-negative; zeros stay zero and do not enter
            :math:`R_{\min}`.
        r: regulariser values ``(K,)``, non-negative.
        p: the exponent (``p = 0`` leaves ``lam`` unchanged).

    Returns:
        The new strengths ``(K,)``.

    >>> autotune_strengths(torch.tensor([1., 1, 1]), torch.tensor([1e-4, 1e-2, 2e-2]), 2)
    tensor([1.0000e+00, 1.0000e-04, 2.5000e-05])
    """
    lam = check_tensor(lam, "lam", ndim=1, floating=True)
    r = check_tensor(r, "r", ndim=1, floating=True)
    if lam.shape != r.shape:
        raise ValueError(
            f"lam and r must have the same shape, got {tuple(lam.shape)} and {tuple(r.shape)}"
        )
    if not (torch.isfinite(lam).all() and (lam >= 0).all()):
        raise ValueError("lam must be finite and non-negative")
    if not (torch.isfinite(r).all() and (r >= 0).all()):
        raise ValueError("r must be finite and non-negative")
    check_number(p, "p")
    active = lam != 0
    if not active.any():
        return lam.clone()
    r_min = r[active].min()
    ratio = torch.where(active, r_min / r.clamp_min(torch.finfo(r.dtype).tiny), torch.ones_like(r))
    return torch.where(active, lam * ratio.pow(p), torch.zeros_like(lam))


def reference_regularizer(history: torch.Tensor) -> torch.Tensor:
    r"""The regulariser vector the tuning uses, from a window of records ``history: (T, K)``.

    As in the paper's code: walk through the window, keep a running minimum per
    candidate, and whenever *any* entry reaches a new minimum take that step's whole
    vector (not the element-wise minimum). Returns ``(K,)``.
    """
    history = check_tensor(history, "history", ndim=2, floating=True)
    if history.shape[0] == 0:
        raise ValueError("history must hold at least one record")
    best = history[0].clone()
    ref = history[0]
    for row in history[1:]:
        improved = row < best
        if improved.any():
            ref = row
            best = torch.minimum(best, row)
    return ref.clone()
