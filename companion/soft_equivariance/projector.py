r"""Orthogonal projectors onto the equivariant linear maps between tensor representations.

A linear map :math:`W: T_a \to T_b` (a ``3^b × 3^a`` matrix) is :math:`G`-equivariant iff

.. math::
    d\rho_b(A)\,W - W\,d\rho_a(A) = 0 \quad (A \text{ a Lie generator}), \qquad
    \rho_b(h)\,W\,\rho_a(h)^{-1} - W = 0 \quad (h \text{ a discrete generator}).

With the row-major :math:`\mathrm{vec}(XWY) = (X \otimes Y^\top)\,\mathrm{vec}\,W` these are
linear equations :math:`C\,\mathrm{vec}\,W = 0` with the stacked constraint matrix

.. math::
    C = \begin{bmatrix} d\rho_b(A_i) \otimes I - I \otimes d\rho_a(A_i)^\top \\
                        \rho_b(h_j) \otimes \rho_a(h_j) - I \end{bmatrix}

(:math:`\rho_a(h)^{-\top} = \rho_a(h)` for orthogonal representations). The equivariant
subspace :math:`E = \ker C` gets an orthonormal basis :math:`Q` from the SVD of :math:`C`,
and :math:`P = QQ^\top` is the orthogonal projector onto it (:math:`P^2 = P = P^\top`).
A layer holds many channel pairs of each block type ``(a, b)``; :func:`project_blocks`
applies the one ``3^{a+b} × 3^{a+b}`` projector to all of them with one einsum.
"""

from __future__ import annotations

import torch

from ..checks import check_tensor
from .groups import MatrixGroup, _check_order, tensor_rep_lie, tensor_rep_matrix

__all__ = ["constraint_matrix", "equivariant_basis", "equivariant_projector", "project_blocks"]


def _check_group(group: object, name: str = "group") -> MatrixGroup:
    if not isinstance(group, MatrixGroup):
        raise TypeError(
            f"{name} must be a MatrixGroup (e.g. o2_plane('xy')), got {type(group).__name__}"
        )
    if group.dim != 3:  # the tensor representations here are of 3 x 3 matrices
        raise ValueError(f"{name} must be a subgroup of O(3), got {group.name}")
    return group


def constraint_matrix(group: MatrixGroup, order_in: int, order_out: int) -> torch.Tensor:
    r"""The stacked constraints :math:`C` (float64, ``(rows, 3^{a+b})``) for maps ``T_a → T_b``.

    ``a = order_in``, ``b = order_out``; ``rows = (m + n) · 3^{a+b}`` for ``m`` Lie and
    ``n`` discrete generators (``0`` rows for a group without generators).
    """
    group = _check_group(group)
    a, b = _check_order(order_in, "order_in"), _check_order(order_out, "order_out")
    da, db = 3**a, 3**b
    eye_a = torch.eye(da, dtype=torch.float64)
    eye_b = torch.eye(db, dtype=torch.float64)
    rows = []
    for gen in group.lie:
        rows.append(
            torch.kron(tensor_rep_lie(b, gen), eye_a)
            - torch.kron(eye_b, tensor_rep_lie(a, gen).T.contiguous())
        )
    for h in group.discrete:
        rows.append(
            torch.kron(tensor_rep_matrix(b, h), tensor_rep_matrix(a, h))
            - torch.eye(da * db, dtype=torch.float64)
        )
    if not rows:
        return torch.zeros(0, da * db, dtype=torch.float64)
    return torch.cat(rows, dim=0)


def equivariant_basis(
    group: MatrixGroup, order_in: int, order_out: int, *, rtol: float = 1e-10
) -> torch.Tensor:
    r"""An orthonormal basis ``Q: (3^{a+b}, r)`` (float64) of the equivariant maps ``T_a → T_b``.

    ``r = dim E`` is the number of free parameters of an equivariant block, e.g. 3 for
    O(3) and ``T_2 → T_2`` (identity, transpose, trace), 10 for an O(2) plane.
    Singular values below ``rtol · max(1, σ_max)`` count as zero.
    """
    c = constraint_matrix(group, order_in, order_out)
    d = c.shape[1]
    if c.shape[0] == 0:
        return torch.eye(d, dtype=torch.float64)
    _, s, vh = torch.linalg.svd(c, full_matrices=True)
    rank = int((s > rtol * max(1.0, float(s.max()))).sum())
    return vh[rank:].T.contiguous()


def equivariant_projector(
    group: MatrixGroup,
    order_in: int,
    order_out: int,
    *,
    dtype: torch.dtype = torch.float64,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    r"""The orthogonal projector :math:`P = QQ^\top` onto :math:`E_G(T_a \to T_b)`, ``(3^{a+b}, 3^{a+b})``.

    Computed once per group and block type in float64, cached on the group, then cast
    to ``dtype``/``device``. :math:`P\,\mathrm{vec}\,W` is the closest equivariant map to
    :math:`W` in Frobenius norm.
    """
    group = _check_group(group)
    key = (_check_order(order_in, "order_in"), _check_order(order_out, "order_out"))
    if key not in group._cache:
        q = equivariant_basis(group, *key)
        group._cache[key] = q @ q.T
    p = group._cache[key]
    return p.to(dtype=dtype, device=device)


def project_blocks(weight: torch.Tensor, projector: torch.Tensor) -> torch.Tensor:
    r"""Apply one block projector to every channel pair.

    :math:`W_{oc} \mapsto \mathrm{vec}^{-1}(P\,\mathrm{vec}\,W_{oc})`.

    Args:
        weight: blocks ``(..., 3^b, 3^a)`` (e.g. ``(c_out, c_in, 3^b, 3^a)`` for one
            block type of a layer, or a bias ``(c_out, 3^b, 1)``).
        projector: ``(3^b · 3^a, 3^b · 3^a)`` from :func:`equivariant_projector`.

    Returns:
        The projected blocks, same shape as ``weight``.
    """
    weight = check_tensor(weight, "weight", min_ndim=2, floating=True)
    projector = check_tensor(projector, "projector", ndim=2, floating=True)
    d = weight.shape[-1] * weight.shape[-2]
    if projector.shape != (d, d):
        raise ValueError(
            f"projector must be ({d}, {d}) for blocks of shape {tuple(weight.shape[-2:])}, "
            f"got {tuple(projector.shape)}"
        )
    flat = weight.reshape(*weight.shape[:-2], d)
    return torch.einsum("pq,...q->...p", projector.to(weight.dtype), flat).reshape(weight.shape)
