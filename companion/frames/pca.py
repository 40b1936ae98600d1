r"""PCA frames for the Euclidean groups E(3), SE(3) and their linear parts O(3), SO(3).

A *frame* (Puny et al., 2022) is a set-valued map :math:`\mathcal{F}(X) \subset G` that is
equivariant, :math:`\mathcal{F}(gX) = g\,\mathcal{F}(X)` as sets. For a point cloud
``x: (batch, n, 3)`` (rows are points) a group element of E(3) is a pair :math:`(R, t)`
acting by :math:`x_i \mapsto R x_i + t`; the PCA frame is

* :math:`t = \sum_i w_i x_i / \sum_i w_i`, the (weighted) centroid (E(3), SE(3)); for the
  linear groups O(3), SO(3) nothing is translated and :math:`t = 0`;
* :math:`C = \sum_i w_i (x_i - t)(x_i - t)^\top / \sum_i w_i`, the covariance, with
  eigen-decomposition :math:`C = V \Lambda V^\top`, :math:`\lambda_1 \le \lambda_2 \le \lambda_3`;
* :math:`\mathcal{F}(X) = \{(V\,\mathrm{diag}(s), t) : s \in \{\pm 1\}^3\}`: the eight sign
  choices of the eigenvectors for O(3)/E(3), the four of them with
  :math:`\det = +1` for SO(3)/SE(3).

Since :math:`C(RX + t) = R\,C(X)\,R^\top`, the eigenvectors of the moved cloud are
:math:`R v_j` up to sign, so the frame is equivariant — *provided the eigenvalues are distinct*.

Degenerate eigenvalues: the policy
----------------------------------
When two eigenvalues coincide the eigenvectors of that eigenspace are any orthonormal basis
of it: the exact frame is then an infinite set and no finite average is exactly invariant.
Numerically the trouble starts before exact equality: an eigenvector computed in precision
:math:`\varepsilon` is off by about :math:`\varepsilon\,\lambda_3 / \mathrm{gap}`, and so is
the frame-averaged output. This module therefore measures the *relative spectral gap*

.. math:: \gamma(X) = \min(\lambda_2 - \lambda_1,\ \lambda_3 - \lambda_2) / \lambda_3

and flags a sample as **degenerate** when :math:`\gamma < ` ``gap_tol`` (default ``1e-4``)
(or when :math:`\lambda_3 = 0`). What happens then is chosen by ``degenerate``:

``"warn"`` (default)
    issue a :class:`DegenerateFrameWarning` naming how many samples are affected and
    return the frame computed anyway (deterministic, but only approximately equivariant
    for those samples);
``"raise"``
    raise a ``ValueError``;
``"ignore"``
    return the frame silently.

In every case :attr:`Frame.degenerate` says which samples were flagged, so a caller can
drop, perturb or treat them otherwise. The covariance and its eigenvectors are always
computed in float64 (and the result cast back), so the frame of a float32 cloud is as
accurate as the float32 input allows.

Two more properties used by :mod:`companion.frames.averaging`: the frame is differentiable
(it is not detached, so forces :math:`-\nabla_x E` of a frame-averaged energy are exact and
equivariant; the eigenvector gradients grow like 1/gap near degeneracy), and it does not
depend on the order of the points, so a permutation-equivariant backbone stays so.
"""

from __future__ import annotations

import itertools
import warnings
from dataclasses import dataclass

import torch

from ..checks import check_choice, check_number, check_tensor
from ..groups import MatrixGroup

__all__ = [
    "FRAME_GROUPS",
    "frame_group",
    "DEGENERATE_POLICIES",
    "DegenerateFrameWarning",
    "Frame",
    "pca_frame",
    "spectral_gap",
    "sign_patterns",
]

FRAME_GROUPS = ("O(3)", "SO(3)", "E(3)", "SE(3)")
"""Names of the groups that have a PCA frame here. O(3) and SO(3) are the core's groups
(:func:`companion.groups.get_group`); E(3) and SE(3) add translations."""


def frame_group(group: object, name: str = "group") -> str:
    """The name in :data:`FRAME_GROUPS` of ``group``: such a name or a core group object
    (``companion.groups.o3()``, ``so3()``)."""
    if isinstance(group, MatrixGroup):
        group = group.name  # the core's names are this module's names for O(3) and SO(3)
    return check_choice(group, name, FRAME_GROUPS)


DEGENERATE_POLICIES = ("warn", "raise", "ignore")


class DegenerateFrameWarning(UserWarning):
    """Some inputs have (nearly) equal covariance eigenvalues: their frame is not unique."""


def sign_patterns(
    proper: bool = False,
    *,
    dtype: torch.dtype = torch.float64,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    r"""The sign vectors :math:`s \in \{\pm1\}^3`: all 8, or the 4 with :math:`s_1 s_2 s_3 = +1`.

    Returns ``(8, 3)`` or ``(4, 3)``; the first row is ``(1, 1, 1)``.
    """
    signs = torch.tensor(list(itertools.product((1.0, -1.0), repeat=3)), dtype=dtype, device=device)
    if proper:
        signs = signs[signs.prod(dim=-1) > 0]
    return signs


_SIGNS = {False: sign_patterns(False), True: sign_patterns(True)}


@dataclass(frozen=True)
class Frame:
    r"""A PCA frame: ``k`` group elements :math:`(R_j, t)` per sample, :math:`R_j = V\,\mathrm{diag}(\sigma_j)`.

    The elements share the eigenvector basis :math:`V` and differ only in the signs
    :math:`\sigma_j \in \{\pm1\}^3`, so they are stored factorised: acting with all ``k``
    elements costs one ``3 × 3`` product per sample and ``k`` sign flips.

    Attributes:
        basis: ``(batch, 3, 3)``, :math:`V`; its columns are the eigenvectors in ascending
            order of eigenvalue (for SO(3)/SE(3) with :math:`\det V = +1`).
        signs: ``(k, 3)``, the sign patterns :math:`\sigma_j` (8 or 4; the first is ``(1, 1, 1)``).
        translation: ``(batch, 3)``, the centroid :math:`t` (zeros for O(3), SO(3)).
        eigenvalues: ``(batch, 3)``, ascending :math:`\lambda_1 \le \lambda_2 \le \lambda_3`.
        gap: ``(batch,)``, the relative spectral gap :math:`\gamma` (see the module docstring).
        degenerate: ``(batch,)`` bool, ``gap < gap_tol``.
        group: the group the frame was built for.
    """

    basis: torch.Tensor
    signs: torch.Tensor
    translation: torch.Tensor
    eigenvalues: torch.Tensor
    gap: torch.Tensor
    degenerate: torch.Tensor
    group: str

    @property
    def size(self) -> int:
        """Number of frame elements per sample, :math:`|\\mathcal{F}(X)|` (8 or 4)."""
        return int(self.signs.shape[0])

    @property
    def rotations(self) -> torch.Tensor:
        r"""The frame's linear parts :math:`R_j = V\mathrm{diag}(\sigma_j)`, ``(batch, k, 3, 3)``."""
        return self.basis[:, None, :, :] * self.signs[None, :, None, :]

    @property
    def determinants(self) -> torch.Tensor:
        r""":math:`\det R_j = \det V \prod_i \sigma_{j,i}`, ``(batch, k)``."""
        return torch.linalg.det(self.basis)[:, None] * self.signs.prod(dim=-1)[None, :]

    def canonicalize(self, x: torch.Tensor) -> torch.Tensor:
        r"""Apply every inverse frame element to points: :math:`R_j^\top (x_i - t)`.

        ``x: (batch, n, 3)`` → ``(batch, k, n, 3)``.
        """
        x = check_tensor(x, "x", ndim=3, last_dims=(3,), floating=True)
        xv = (x - self.translation.to(x.dtype)[:, None, :]) @ self.basis.to(x.dtype)  # (B, n, 3)
        return xv[:, None, :, :] * self.signs.to(x.dtype)[None, :, None, :]


def spectral_gap(eigenvalues: torch.Tensor) -> torch.Tensor:
    r"""Relative gap :math:`\min(\lambda_2-\lambda_1, \lambda_3-\lambda_2)/\lambda_3` of ascending ``(..., 3)``.

    Zero when :math:`\lambda_3 = 0` (a cloud of identical points).
    """
    lam = check_tensor(eigenvalues, "eigenvalues", last_dims=(3,), floating=True)
    gaps = torch.minimum(lam[..., 1] - lam[..., 0], lam[..., 2] - lam[..., 1])
    top = lam[..., 2]
    return torch.where(
        top > 0, gaps / top.clamp_min(torch.finfo(lam.dtype).tiny), torch.zeros_like(top)
    )


def _check_weights(
    weights: torch.Tensor | None, mask: torch.Tensor | None, x: torch.Tensor, values: bool
) -> torch.Tensor | None:
    b, n, _ = x.shape
    if weights is not None and mask is not None:
        raise ValueError("give either weights or mask, not both")
    if mask is not None:
        check_tensor(mask, "mask", ndim=2)
        if mask.dtype != torch.bool:
            raise TypeError(f"mask must be a bool tensor, got {mask.dtype}")
        if tuple(mask.shape) != (b, n):
            raise ValueError(
                f"mask must have shape {(b, n)} like x's first two axes, got {tuple(mask.shape)}"
            )
        weights = mask.to(torch.float64)
    elif weights is not None:
        check_tensor(weights, "weights", ndim=2, floating=True)
        if tuple(weights.shape) != (b, n):
            raise ValueError(
                f"weights must have shape {(b, n)} like x's first two axes, "
                f"got {tuple(weights.shape)}"
            )
        if values and (not torch.isfinite(weights).all() or (weights < 0).any()):
            raise ValueError("weights must be finite and non-negative")
        weights = weights.to(torch.float64)
    else:
        return None
    if values and b and ((weights > 0).sum(dim=1) < 3).any():
        raise ValueError(
            "every sample needs at least 3 points with positive weight (mask) to define a 3D frame"
        )
    return weights


def pca_frame(
    x: torch.Tensor,
    group: str | MatrixGroup = "E(3)",
    *,
    weights: torch.Tensor | None = None,
    mask: torch.Tensor | None = None,
    degenerate: str = "warn",
    gap_tol: float = 1e-4,
    validate: bool = True,
) -> Frame:
    r"""The PCA frame of point clouds ``x: (batch, n, 3)`` for ``group``.

    Args:
        x: points, one per row; ``n >= 3``; finite floating values.
        group: ``"E(3)"``, ``"SE(3)"`` (centred at the centroid) or ``"O(3)"``, ``"SO(3)"``
            (about the origin, :math:`C = \sum_i w_i x_i x_i^\top / \sum_i w_i`); the
            core's group objects ``companion.groups.o3()``, ``so3()`` name the last two.
        weights: optional non-negative ``(batch, n)`` point weights (e.g. masses).
        mask: optional bool ``(batch, n)``; ``False`` points are ignored (weight 0).
        degenerate: what to do with samples whose relative spectral gap is below
            ``gap_tol``: ``"warn"``, ``"raise"`` or ``"ignore"`` (see the module docstring).
        gap_tol: the threshold on the relative gap :math:`\gamma`.
        validate: check the values of ``x`` and ``weights`` (finite, non-negative, at least
            three weighted points). These checks read the data, a host sync on a GPU; pass
            ``False`` in a hot loop whose inputs were checked once. Shapes and types are
            always checked; the ``degenerate`` policy still applies.

    Returns:
        A :class:`Frame` with ``k = 8`` elements (O(3), E(3)) or ``k = 4`` (SO(3), SE(3)),
        in the dtype of ``x`` (computed in float64).
    """
    x = check_tensor(x, "x", ndim=3, floating=True)
    if x.shape[-1] != 3:
        raise ValueError(
            f"x must hold 3D points, shape (batch, n, 3); got last dimension {x.shape[-1]}"
        )
    if x.is_complex():
        raise TypeError(f"x must be real, got {x.dtype}")
    if x.shape[1] < 3:
        raise ValueError(
            f"x must have at least n = 3 points (as many as dimensions) to define a frame, "
            f"got n = {x.shape[1]}"
        )
    if validate and not torch.isfinite(x).all():
        raise ValueError("x contains NaN or infinite coordinates")
    group = frame_group(group)
    check_choice(degenerate, "degenerate", DEGENERATE_POLICIES)
    check_number(gap_tol, "gap_tol", minimum=0, maximum=1, open_max=True)
    w = _check_weights(weights, mask, x, validate)

    x64 = x.to(torch.float64)
    b, n = x.shape[:2]
    translate = group in ("E(3)", "SE(3)")
    if w is None:
        t = x64.mean(dim=1) if translate else x64.new_zeros(b, 3)  # (B, 3)
        xc = x64 - t[:, None, :] if translate else x64
        cov = xc.transpose(1, 2) @ xc / n  # (B, 3, 3)
    else:
        total = w.sum(dim=1)  # (B,)
        t = (w[..., None] * x64).sum(dim=1) / total[:, None] if translate else x64.new_zeros(b, 3)
        xc = x64 - t[:, None, :]
        cov = (xc * w[..., None]).transpose(1, 2) @ xc / total[:, None, None]
    lam, vec = torch.linalg.eigh(cov)  # ascending
    proper = group in ("SO(3)", "SE(3)")
    if proper:
        # make V a rotation (flip its last column where det V = -1); the proper sign
        # patterns (even number of flips) then give exactly the det +1 elements
        det = (torch.linalg.cross(vec[..., 0], vec[..., 1]) * vec[..., 2]).sum(-1)
        vec = torch.cat([vec[..., :2], vec[..., 2:] * det.sign()[:, None, None]], dim=-1)
    signs = _SIGNS[proper].to(device=x.device, dtype=x.dtype)  # (k, 3)

    gap = spectral_gap(lam)
    flagged = gap < gap_tol
    # counting the flagged samples syncs a GPU: only when the policy needs it
    n_bad = int(flagged.sum()) if flagged.numel() and degenerate != "ignore" else 0
    if n_bad:
        msg = (
            f"{n_bad} of {x.shape[0]} point clouds have nearly equal covariance eigenvalues "
            f"(relative gap < {gap_tol:g}, smallest {float(gap.min()):.1e}); their {group} frame is "
            "not unique, so frame averaging is only approximately invariant for them"
        )
        if degenerate == "raise":
            raise ValueError(msg)
        warnings.warn(msg, DegenerateFrameWarning, stacklevel=2)
    return Frame(
        basis=vec.to(x.dtype),
        signs=signs,
        translation=t.to(x.dtype),
        eigenvalues=lam.to(x.dtype),
        gap=gap.to(x.dtype),
        degenerate=flagged,
        group=group,
    )
