r"""An EMLP-shaped network with unconstrained linear layers and fixed O(3)-equivariant parts.

The network for ``n`` point masses (input ``x = (m_1..m_n, r_1..r_n)``, rep
``n T_0 ⊕ n T_1``) is

.. math::
    f_\theta = L_K \circ \sigma \circ L_{K-1} \circ \cdots \circ \sigma \circ L_1 \circ \phi ,

* :math:`\phi` — fixed quadratic features, exactly O(3)-equivariant (they stand in for
  EMLP's bilinear layer: without a product a linear/gated network cannot build the
  inertia tensor from positions, because every O(3)-equivariant linear map
  vectors → scalars is zero): scalars :math:`m_i, \lVert r_i\rVert^2, m_i\lVert r_i\rVert^2`,
  vectors :math:`r_i, m_i r_i`, tensors :math:`r_i r_i^\top, m_i r_i r_i^\top`;
* :math:`L_l(x) = W_l x + b_l` — :class:`SoftLinear`, a dense map between sums of
  tensor representations with **no** constraint on its weights;
* :math:`\sigma` — :class:`GatedNonlinearity`: swish on scalars, each vector or
  rank-2 tensor multiplied by the sigmoid of its own scalar gate (exactly O(3)-equivariant).

Since every fixed part is O(3)-equivariant, it is equivariant for every subgroup
:math:`G`; hence projecting every :math:`W_l, b_l` onto the :math:`G`-equivariant
subspace (:meth:`SoftEMLP.project_`) makes :math:`f_\theta` exactly :math:`G`-equivariant.
"""

from __future__ import annotations

import math
from typing import cast

import torch
from torch import nn

from ..checks import check_int, check_tensor
from .groups import MatrixGroup, TensorRep
from .projector import _check_group, equivariant_projector, project_blocks

__all__ = ["SoftLinear", "GatedNonlinearity", "InertiaFeatures", "SoftEMLP", "soft_linears"]


def _check_rep(rep: object, name: str) -> TensorRep:
    if not isinstance(rep, TensorRep):
        raise TypeError(f"{name} must be a TensorRep, got {type(rep).__name__}")
    return rep


class SoftLinear(nn.Module):
    r"""Unconstrained linear map :math:`x \mapsto Wx + b` between two
    :class:`~companion.soft_equivariance.groups.TensorRep` s.

    ``weight: (rep_out.dim, rep_in.dim)`` is one dense matrix and ``bias: (rep_out.dim,)``,
    with no constraint. Its block for order-``a`` inputs and order-``b`` outputs,
    seen as ``(c_out_b, 3^b, c_in_a, 3^a)`` (:meth:`weight_blocks`), holds one
    ``3^b × 3^a`` map per channel pair; each of them is projected with the same
    projector of block type ``(a, b)``. ``forward(x: (..., rep_in.dim)) -> (..., rep_out.dim)``.
    With ``group`` set, the weights used are the projected ones, :math:`P_G W`
    (a "hard" equivariant layer, as in EMLP).
    """

    def __init__(
        self,
        rep_in: TensorRep,
        rep_out: TensorRep,
        *,
        bias: bool = True,
        generator: torch.Generator | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        super().__init__()
        self.rep_in, self.rep_out = _check_rep(rep_in, "rep_in"), _check_rep(rep_out, "rep_out")
        std = 1.0 / math.sqrt(rep_in.dim)
        w = torch.randn(rep_out.dim, rep_in.dim, generator=generator, dtype=dtype) * std
        self.weight = nn.Parameter(w)
        self.bias = nn.Parameter(torch.zeros(rep_out.dim, dtype=dtype)) if bias else None
        self.group: MatrixGroup | None = None

    def weight_blocks(
        self, weight: torch.Tensor | None = None
    ) -> dict[tuple[int, int], torch.Tensor]:
        """``{(a, b): (c_out_b, 3^b, c_in_a, 3^a)}`` — views of ``weight`` (default: the parameter)."""
        w = self.weight if weight is None else weight
        out = {}
        for b, sb in self.rep_out.slices().items():
            for a, sa in self.rep_in.slices().items():
                out[(a, b)] = w[sb, sa].view(
                    self.rep_out.counts[b], 3**b, self.rep_in.counts[a], 3**a
                )
        return out

    def bias_blocks(self, bias: torch.Tensor | None = None) -> dict[int, torch.Tensor]:
        """``{b: (c_out_b, 3^b, 1, 1)}`` — views of the bias as maps from one scalar (empty without bias)."""
        bb = self.bias if bias is None else bias
        if bb is None:
            return {}
        return {
            b: bb[s].view(self.rep_out.counts[b], 3**b, 1, 1)
            for b, s in self.rep_out.slices().items()
        }

    @staticmethod
    def _project(block: torch.Tensor, a: int, b: int, group: MatrixGroup) -> torch.Tensor:
        # (c_o, 3^b, c_i, 3^a) -> (c_o, c_i, 3^b, 3^a) -> project -> back
        p = equivariant_projector(group, a, b, dtype=block.dtype, device=block.device)
        return project_blocks(block.permute(0, 2, 1, 3), p).permute(0, 2, 1, 3)

    def projected(self, group: MatrixGroup) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``(P_G W, P_G b)``: the closest ``group``-equivariant weight ``(D_out, D_in)`` and bias ``(D_out,)``."""
        group = _check_group(group)
        blocks = self.weight_blocks()
        rows = []
        for b in self.rep_out.slices():
            row = [
                self._project(blocks[(a, b)], a, b, group).reshape(
                    self.rep_out.counts[b] * 3**b, self.rep_in.counts[a] * 3**a
                )
                for a in self.rep_in.slices()
            ]
            rows.append(torch.cat(row, dim=1))
        w = torch.cat(rows, dim=0)
        bias = None
        if self.bias is not None:
            bias = torch.cat(
                [self._project(bb, 0, b, group).reshape(-1) for b, bb in self.bias_blocks().items()]
            )
        return w, bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = check_tensor(x, "x", min_ndim=1, last_dims=(self.rep_in.dim,), floating=True)
        w: torch.Tensor
        b: torch.Tensor | None
        if self.group is None:
            w, b = self.weight, self.bias
        else:
            w, b = self.projected(self.group)
        return nn.functional.linear(x, w, b)

    @torch.no_grad()
    def project_(self, group: MatrixGroup) -> None:
        """Replace the weight and bias by their projections onto ``group``'s equivariant subspace."""
        w, b = self.projected(group)
        self.weight.copy_(w)
        # projected() returns a bias exactly when the layer has one
        if b is not None and self.bias is not None:
            self.bias.copy_(b)


class GatedNonlinearity(nn.Module):
    r"""Gated nonlinearity for ``rep = (c0, c1, c2)``: input ``(c0 + c1 + c2, c1, c2)``, output ``rep``.

    Input scalars are ``[s (c0) | gates (c1 + c2)]``; output
    :math:`(\mathrm{swish}(s),\; \sigma(g_i)\,v_i,\; \sigma(g_{c_1 + j})\,T_j)`. Gates are
    true scalars, so the map is O(3)-equivariant. ``x: (..., input_rep.dim)``.
    """

    def __init__(self, rep: TensorRep) -> None:
        super().__init__()
        self.rep = _check_rep(rep, "rep")
        c0, c1, c2 = rep.counts
        self.input_rep = TensorRep((c0 + c1 + c2, c1, c2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        parts = self.input_rep.split(x)
        c0, c1, c2 = self.rep.counts
        scalars = parts[0][..., 0]
        out = {}
        if c0:
            out[0] = nn.functional.silu(scalars[..., :c0])[..., None]
        gates = torch.sigmoid(scalars[..., c0:])
        if c1:
            out[1] = gates[..., :c1, None] * parts[1]
        if c2:
            out[2] = gates[..., c1:, None] * parts[2]
        return self.rep.join(out)


class InertiaFeatures(nn.Module):
    r"""Fixed quadratic O(3)-equivariant features of ``n`` point masses.

    ``x: (..., 4n)`` laid out as ``(m_1..m_n, r_1..r_n)`` (rep ``(n, n, 0)``) →
    ``(..., 27 n)`` in rep ``(3n, 2n, 2n)``: scalars
    :math:`(m_i, \lVert r_i\rVert^2, m_i\lVert r_i\rVert^2)`, vectors :math:`(r_i, m_i r_i)`,
    tensors :math:`(r_i r_i^\top, m_i r_i r_i^\top)`.
    """

    def __init__(self, n_points: int) -> None:
        super().__init__()
        self.n = check_int(n_points, "n_points", minimum=1)
        self.rep_in = TensorRep((self.n, self.n, 0))
        self.rep_out = TensorRep((3 * self.n, 2 * self.n, 2 * self.n))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        parts = self.rep_in.split(check_tensor(x, "x", min_ndim=1, floating=True))
        m, r = parts[0], parts[1]  # (..., n, 1), (..., n, 3)
        r2 = (r * r).sum(-1, keepdim=True)
        rr = (r[..., :, None] * r[..., None, :]).flatten(-2)  # (..., n, 9)
        return self.rep_out.join(
            {
                0: torch.cat([m, r2, m * r2], dim=-2),
                1: torch.cat([r, m * r], dim=-2),
                2: torch.cat([rr, m * rr], dim=-2),
            }
        )


class SoftEMLP(nn.Module):
    r"""Features → [SoftLinear → gate] × (n_layers − 1) → SoftLinear (see the module docstring).

    Args:
        n_points: number of point masses ``n`` (input ``(..., 4n)``).
        hidden: hidden rep counts ``(c0, c1, c2)``.
        n_layers: number of :class:`SoftLinear` layers (≥ 1).
        out: output rep counts, default one rank-2 tensor ``(0, 0, 1)`` (``(..., 9)``).
        generator, dtype: for the weight initialisation.

    Set :attr:`group` (or pass ``hard=`` to the constructor) to use projected weights in
    every layer — an exactly equivariant EMLP for that group.
    """

    def __init__(
        self,
        n_points: int = 5,
        hidden: tuple[int, int, int] = (16, 8, 8),
        n_layers: int = 3,
        out: tuple[int, int, int] = (0, 0, 1),
        *,
        hard: MatrixGroup | None = None,
        generator: torch.Generator | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        super().__init__()
        n_layers = check_int(n_layers, "n_layers", minimum=1)
        self.features = InertiaFeatures(n_points)
        self.rep_in = self.features.rep_in
        # TensorRep checks at run time that each holds three counts
        hidden_rep = TensorRep(cast(tuple[int, int, int], tuple(hidden)))
        self.rep_out = TensorRep(cast(tuple[int, int, int], tuple(out)))
        layers: list[nn.Module] = []
        rep = self.features.rep_out
        for _ in range(n_layers - 1):
            gate = GatedNonlinearity(hidden_rep)
            layers += [SoftLinear(rep, gate.input_rep, generator=generator, dtype=dtype), gate]
            rep = hidden_rep
        layers.append(SoftLinear(rep, self.rep_out, generator=generator, dtype=dtype))
        self.net = nn.Sequential(*layers)
        self.group = hard

    @property
    def group(self) -> MatrixGroup | None:
        """The group every layer is projected onto in :meth:`forward` (``None``: unconstrained)."""
        return self._group

    @group.setter
    def group(self, value: MatrixGroup | None) -> None:
        if value is not None:
            _check_group(value, "hard")
        self._group = value
        for layer in soft_linears(self):
            layer.group = value

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = check_tensor(x, "x", min_ndim=1, last_dims=(self.rep_in.dim,), floating=True)
        return self.net(self.features(x))

    @torch.no_grad()
    def project_(self, group: MatrixGroup) -> SoftEMLP:
        """Project every weight onto ``group``'s equivariant subspace in place; returns ``self``."""
        for layer in soft_linears(self):
            layer.project_(group)
        return self


def soft_linears(model: nn.Module) -> list[SoftLinear]:
    """All :class:`SoftLinear` layers of ``model``, in order."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    return [m for m in model.modules() if isinstance(m, SoftLinear)]
