r"""Residual Pathway Priors (RPP): the soft-equivariance baseline of Finzi, Benton & Wilson (2021).

RPP turns a hard constraint into a prior. Each linear layer is the sum of an equivariant
path and an unconstrained residual path,

.. math::
    L(x) = (P_G W_A)\,x + P_G b_A \;+\; W_B\,x + b_B ,

where :math:`P_G` projects onto the :math:`G`-equivariant linear maps (the same projector as
EMLP and as PER's regulariser, :mod:`.projector`). Both paths get Gaussian priors,
:math:`A \sim \mathcal N(0, \sigma_A^2)` on the equivariant weights (in an orthonormal basis of
the equivariant subspace, so :math:`\lVert A\rVert = \lVert P_G W_A\rVert`) and
:math:`B \sim \mathcal N(0, \sigma_B^2)` on the residual, with :math:`\sigma_B \ll \sigma_A`: the data can
use the residual path only where the symmetry does not fit them. The MAP objective is the
training loss plus the penalty

.. math::
    \Omega(\theta) = \tfrac{\text{equiv\_wd}}{2}\sum_l \big(\lVert P_G W_{A,l}\rVert^2 + \lVert P_G b_{A,l}\rVert^2\big)
                   + \tfrac{\text{basic\_wd}}{2}\sum_l \big(\lVert W_{B,l}\rVert^2 + \lVert b_{B,l}\rVert^2\big),

with ``equiv_wd`` :math:`\propto 1/\sigma_A^2` small and ``basic_wd`` :math:`\propto 1/\sigma_B^2` large (the
RPP and PER code bases use ``equiv_wd = 1e-5`` and ``basic_wd = 1`` for this kind of model).
RPP knows **one** symmetry type, ``G``: the paper on mixed symmetries (Kim et al., 2023) uses
it with the architecture's group O(3) as its baseline, whereas PER regularises towards several
candidate groups with strengths of their own.

The network (:class:`RPPEMLP`) has the same fixed O(3)-equivariant parts as
:class:`~.model.SoftEMLP` (quadratic features and gated nonlinearities); only the linear
layers differ. RPP's original network also adds a residual path to the gated nonlinearity;
ours is exactly O(3)-equivariant and needs none.
"""

from __future__ import annotations

from typing import cast

import torch
from torch import nn

from ..checks import check_int, check_number
from .groups import MatrixGroup, TensorRep
from .model import GatedNonlinearity, InertiaFeatures, SoftLinear, _check_rep
from .projector import _check_group

__all__ = ["RPPLinear", "RPPEMLP", "rpp_penalty", "rpp_layers"]


class RPPLinear(nn.Module):
    r"""One RPP layer :math:`x \mapsto (P_G W_A + W_B)x + P_G b_A + b_B` between two tensor reps.

    ``equivariant`` is a :class:`~.model.SoftLinear` with ``group`` set (its forward pass uses
    :math:`P_G W_A`, :math:`P_G b_A`); ``residual`` is an unconstrained one, initialised with
    weights scaled by ``residual_scale``. ``forward(x: (..., rep_in.dim)) -> (..., rep_out.dim)``.
    """

    def __init__(
        self,
        rep_in: TensorRep,
        rep_out: TensorRep,
        group: MatrixGroup,
        *,
        residual_scale: float = 1.0,
        generator: torch.Generator | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        super().__init__()
        _check_rep(rep_in, "rep_in"), _check_rep(rep_out, "rep_out")
        self.group = _check_group(group)
        residual_scale = check_number(residual_scale, "residual_scale", minimum=0.0)
        self.equivariant = SoftLinear(rep_in, rep_out, generator=generator, dtype=dtype)
        self.equivariant.group = self.group
        self.residual = SoftLinear(rep_in, rep_out, generator=generator, dtype=dtype)
        with torch.no_grad():
            self.residual.weight.mul_(residual_scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.equivariant(x) + self.residual(x)

    def penalty_terms(self) -> tuple[torch.Tensor, torch.Tensor]:
        r"""``(‖P_G W_A‖² + ‖P_G b_A‖², ‖W_B‖² + ‖b_B‖²)``, differentiable scalars."""
        w, b = self.equivariant.projected(self.group)
        eq = w.pow(2).sum() + (b.pow(2).sum() if b is not None else 0.0)
        res = self.residual.weight.pow(2).sum()
        if self.residual.bias is not None:
            res = res + self.residual.bias.pow(2).sum()
        return eq, res


class RPPEMLP(nn.Module):
    r"""Features → [RPPLinear → gate] × (n_layers − 1) → RPPLinear, for ``n`` point masses.

    The same shape and fixed parts as :class:`~.model.SoftEMLP`; every linear layer is an
    :class:`RPPLinear` with equivariant path for ``group`` (default O(3) via the caller).
    ``forward(x: (..., 4n)) -> (..., rep_out.dim)``.
    """

    def __init__(
        self,
        group: MatrixGroup,
        n_points: int = 5,
        hidden: tuple[int, int, int] = (16, 8, 8),
        n_layers: int = 3,
        out: tuple[int, int, int] = (0, 0, 1),
        *,
        residual_scale: float = 1.0,
        generator: torch.Generator | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        super().__init__()
        self.group = _check_group(group)
        n_layers = check_int(n_layers, "n_layers", minimum=1)
        self.features = InertiaFeatures(n_points)
        self.rep_in = self.features.rep_in
        hidden_rep = TensorRep(cast(tuple[int, int, int], tuple(hidden)))
        self.rep_out = TensorRep(cast(tuple[int, int, int], tuple(out)))
        layers: list[nn.Module] = []
        rep = self.features.rep_out
        for k in range(n_layers):
            gate = None if k == n_layers - 1 else GatedNonlinearity(hidden_rep)
            layers.append(
                RPPLinear(
                    rep,
                    self.rep_out if gate is None else gate.input_rep,
                    self.group,
                    residual_scale=residual_scale,
                    generator=generator,
                    dtype=dtype,
                )
            )
            if gate is not None:
                layers.append(gate)
                rep = hidden_rep
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(self.features(x))


def rpp_layers(model: nn.Module) -> list[RPPLinear]:
    """All :class:`RPPLinear` layers of ``model``, in order."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    return [m for m in model.modules() if isinstance(m, RPPLinear)]


def rpp_penalty(model: nn.Module, *, equiv_wd: float, basic_wd: float) -> torch.Tensor:
    r"""The RPP prior penalty :math:`\Omega(\theta)` of the module docstring (a differentiable scalar).

    Args:
        model: a network holding :class:`RPPLinear` layers.
        equiv_wd: weight decay of the equivariant path (:math:`\propto 1/\sigma_A^2`), ``≥ 0``.
        basic_wd: weight decay of the residual path (:math:`\propto 1/\sigma_B^2`), ``≥ 0``.
    """
    equiv_wd = check_number(equiv_wd, "equiv_wd", minimum=0.0)
    basic_wd = check_number(basic_wd, "basic_wd", minimum=0.0)
    layers = rpp_layers(model)
    if not layers:
        raise ValueError("model has no RPPLinear layer")
    total = layers[0].equivariant.weight.new_zeros(())
    for layer in layers:
        eq, res = layer.penalty_terms()
        total = total + 0.5 * equiv_wd * eq + 0.5 * basic_wd * res
    return total
