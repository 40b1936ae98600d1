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

import torch
from torch import nn

from ..checks import check_int, check_tensor
from .averaging import FrameAveraging

__all__ = ["MLPBackbone", "GNNBackbone", "fa_model"]


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

    def __init__(self, n_particles: int = 5, hidden: int = 128, depth: int = 3) -> None:
        super().__init__()
        self.n = check_int(n_particles, "n_particles", minimum=1)
        hidden = check_int(hidden, "hidden", minimum=1)
        depth = check_int(depth, "depth", minimum=1)
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

    def __init__(self, hidden: int = 64, layers: int = 4) -> None:
        super().__init__()
        hidden = check_int(hidden, "hidden", minimum=1)
        layers = check_int(layers, "layers", minimum=1)
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
