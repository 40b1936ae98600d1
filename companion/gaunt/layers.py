"""An equivariant layer built on the Gaunt product (feature interaction with per-degree weights)."""

from __future__ import annotations

import math

import torch
from torch import nn

from ..checks import check_int, check_tensor
from ..groups import Representation, irreps
from .product import gaunt_product
from .sh_fourier import degree_of

__all__ = ["DegreeLinear", "GauntLayer"]


def _degree_index(L: int) -> torch.Tensor:
    return torch.cat([torch.full((2 * l + 1,), l, dtype=torch.int64) for l in range(L + 1)])


class DegreeLinear(nn.Module):
    r"""Equivariant channel mixing: :math:`y_{c,lm} = \sum_{c'} W^{(l)}_{cc'} x_{c',lm}`.

    One ``(C_out, C_in)`` matrix per degree :math:`l`, shared by the :math:`2l+1` orders, so it
    commutes with every Wigner D. ``x: (..., C_in, (L+1)**2)`` → ``(..., C_out, (L+1)**2)``.
    """

    degree: torch.Tensor  # buffer, declared for the type checker

    def __init__(
        self,
        channels_in: int,
        channels_out: int,
        L: int,
        *,
        generator: torch.Generator | None = None,
    ):
        super().__init__()
        self.channels_in = check_int(channels_in, "channels_in", minimum=1)
        self.channels_out = check_int(channels_out, "channels_out", minimum=1)
        self.L = check_int(L, "L")
        w = torch.randn(self.L + 1, self.channels_out, self.channels_in, generator=generator)
        self.weight = nn.Parameter(w / math.sqrt(self.channels_in))
        self.register_buffer("degree", _degree_index(self.L), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_tensor(
            x, "x", min_ndim=2, last_dims=(self.channels_in, (self.L + 1) ** 2), floating=True
        )
        w = self.weight[self.degree]  # ((L+1)^2, C_out, C_in)
        return torch.einsum("kij,...jk->...ik", w.to(x.dtype), x)


def _sh_irreps(L: int) -> Representation:
    # real spherical harmonics of degree l: Wigner D_l, and (-1)^l under inversion
    return irreps(" + ".join(f"1x{l}{'eo'[l % 2]}" for l in range(L + 1)))


class GauntLayer(nn.Module):
    r"""Equivariant feature interaction through the Gaunt product.

    .. math:: y = w^{out}_{l} \odot \mathrm{Gaunt}\big(A x,\; B x\big)_{\le L_{out}},

    where :math:`A, B` are :class:`DegreeLinear` channel mixings (learnable, one matrix per
    degree) and :math:`w^{out}_{c,l}` learnable per-channel, per-output-degree weights.
    Every step commutes with rotations (and with inversion, under which degree :math:`l`
    picks up :math:`(-1)^l`), so the layer is O(3)-equivariant.

    ``x: (..., C_in, (L_in+1)**2)`` → ``(..., C_out, (L_out+1)**2)``.
    """

    degree: torch.Tensor  # buffer, declared for the type checker

    def __init__(
        self,
        channels_in: int,
        channels_out: int,
        L_in: int,
        L_out: int,
        *,
        generator: torch.Generator | None = None,
    ):
        super().__init__()
        L_in, L_out = check_int(L_in, "L_in"), check_int(L_out, "L_out")
        if L_out > 2 * L_in:
            raise ValueError(f"L_out must be <= 2 * L_in = {2 * L_in}, got {L_out}")
        self.L_in, self.L_out = L_in, L_out
        self.left = DegreeLinear(channels_in, channels_out, L_in, generator=generator)
        self.right = DegreeLinear(channels_in, channels_out, L_in, generator=generator)
        self.out_weight = nn.Parameter(torch.ones(channels_out, L_out + 1))
        self.register_buffer("degree", _degree_index(L_out), persistent=False)

    @property
    def rep_in(self) -> Representation:
        """O(3) acts on the last axis of ``x`` by Wigner D of degrees ``0..L_in``, parity (-1)^l."""
        return _sh_irreps(self.L_in)

    @property
    def rep_out(self) -> Representation:
        """As :attr:`rep_in`, for degrees ``0..L_out``: ``equivariance_error(layer, x, g)``."""
        return _sh_irreps(self.L_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_tensor(x, "x", min_ndim=2, floating=True)
        if degree_of(x) != self.L_in:
            raise ValueError(
                f"x must have last dimension (L_in+1)**2 = {(self.L_in + 1) ** 2}, "
                f"got shape {tuple(x.shape)}"
            )
        y = gaunt_product(self.left(x), self.right(x), self.L_out)
        return y * self.out_weight[:, self.degree].to(y.dtype)
