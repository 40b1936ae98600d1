r"""The modified-inertia data set and a per-group, sample-based equivariance error.

``n_points`` point masses with :math:`m_i = \mathrm{softplus}(z_i)` and
:math:`r_i \sim \mathcal N(0, I_3)`; the inertia tensor
:math:`I = \sum_i m_i(\lVert r_i\rVert^2 I_3 - r_i r_i^\top)` is O(3)-equivariant. The target

.. math::
    Y = I + \varepsilon\, (I e_a)\, e_a^\top

adds a term that is equivariant only for the orthogonal maps fixing the axis
:math:`e_a`: O(2) acting in the plane orthogonal to :math:`e_a` (axis ``z`` → ``O(2)_xy``).
Inputs are ``x: (N, 4 n)`` = ``(m_1..m_n, r_1..r_n)`` (rep ``n T_0 ⊕ n T_1``), targets
``y: (N, 9)`` = ``vec(Y)`` row-major (rep ``T_2``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from ..checks import check_choice, check_int, check_number, check_tensor
from ..groups import equivariance_error as _core_equivariance_error
from .groups import MatrixGroup, TensorRep
from .projector import _check_group

__all__ = ["AXES", "AXIS_PLANE", "inertia_target", "modified_inertia", "equivariance_errors"]

AXES = ("x", "y", "z")
AXIS_PLANE = {"x": "yz", "y": "xz", "z": "xy"}
"""The plane whose O(2) keeps the target exactly equivariant, for each axis."""


def _check_axis(axis: object) -> int:
    return AXES.index(check_choice(axis, "axis", AXES))


def _check_eps(eps: object) -> float:
    return check_number(eps, "eps")


def inertia_target(x: torch.Tensor, eps: float = 0.3, axis: str = "z") -> torch.Tensor:
    r"""The true function :math:`x \mapsto \mathrm{vec}(I + \varepsilon (I e_a) e_a^\top)`.

    ``x: (..., 4n)`` → ``(..., 9)``; works for any ``n`` (inferred from the width).
    """
    x = check_tensor(x, "x", min_ndim=1, floating=True)
    if x.shape[-1] % 4:
        raise ValueError(
            f"x must have 4n columns (n masses, n positions), got shape {tuple(x.shape)}"
        )
    eps, a = _check_eps(eps), _check_axis(axis)
    n = x.shape[-1] // 4
    m, r = x[..., :n], x[..., n:].reshape(*x.shape[:-1], n, 3)
    r2 = (r * r).sum(-1)
    eye = torch.eye(3, dtype=x.dtype, device=x.device)
    inertia = torch.einsum(
        "...i,...ijk->...jk", m, r2[..., None, None] * eye - r[..., :, None] * r[..., None, :]
    )
    extra = torch.zeros_like(inertia)
    extra[..., :, a] = inertia[..., :, a]  # (I e_a) e_aᵀ
    return (inertia + eps * extra).flatten(-2)


def modified_inertia(
    n: int,
    *,
    eps: float = 0.3,
    axis: str = "z",
    n_points: int = 5,
    generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.float32,
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Draw ``n`` samples ``(x: (n, 4·n_points), y: (n, 9))`` of the modified-inertia task.

    Args:
        n: number of samples.
        eps: strength :math:`\varepsilon` of the symmetry-breaking term (finite; 0 gives
            the O(3)-equivariant inertia tensor).
        axis: ``"x"``, ``"y"`` or ``"z"``; the target is exactly equivariant for
            ``O(2)`` in the plane :data:`AXIS_PLANE` ``[axis]``.
        n_points: number of point masses.
        generator: the random stream (seeded for repeatable data).
    """
    n = check_int(n, "n", minimum=1)
    n_points = check_int(n_points, "n_points", minimum=1)
    eps, _ = _check_eps(eps), _check_axis(axis)
    z = torch.randn(n, n_points, generator=generator, dtype=torch.float64)
    r = torch.randn(n, n_points, 3, generator=generator, dtype=torch.float64)
    x = torch.cat([torch.nn.functional.softplus(z), r.flatten(-2)], dim=-1)
    return x.to(dtype), inertia_target(x, eps, axis).to(dtype)


def equivariance_errors(
    f: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    groups: Sequence[MatrixGroup],
    *,
    rep_in: TensorRep,
    rep_out: TensorRep,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    r"""Mean relative equivariance error of ``f`` for each group, ``(K,)``.

    For each group one Haar-random :math:`g_i` per input :math:`x_i` is drawn
    (:meth:`~.groups.MatrixGroup.sample`), inputs and outputs transform with their own
    representations, and :func:`companion.groups.equivariance_error` returns
    :math:`\mathrm{mean}_i \lVert f(\rho_{in}(g_i)x_i) - \rho_{out}(g_i)f(x_i)\rVert /
    \lVert\rho_{out}(g_i) f(x_i)\rVert`.
    """
    if not callable(f):
        raise TypeError(f"f must be callable, got {type(f).__name__}")
    if not isinstance(rep_in, TensorRep) or not isinstance(rep_out, TensorRep):
        raise TypeError("rep_in and rep_out must be TensorRep")
    x = check_tensor(x, "x", ndim=2, last_dims=(rep_in.dim,), floating=True)
    if isinstance(groups, MatrixGroup) or not isinstance(groups, Sequence) or not groups:
        raise TypeError("groups must be a non-empty list of MatrixGroup")
    errs = []
    for i, group in enumerate(groups):
        group = _check_group(group, f"groups[{i}]")
        g = group.sample(x.shape[0], generator=generator, dtype=x.dtype, device=x.device)
        with torch.no_grad():
            errs.append(
                _core_equivariance_error(f, x, g, rep_in.representation(), rep_out.representation())
            )
    return torch.stack(errs)
