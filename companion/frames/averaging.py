r"""Frame averaging: exact invariance or equivariance for any backbone.

Given a frame :math:`\mathcal{F}(X)` (see :mod:`companion.frames.pca`) and any backbone
:math:`\phi`, Puny et al. (2022) define

.. math::
    \langle\phi\rangle_{\mathcal{F}}(X) = \frac{1}{|\mathcal{F}(X)|}
        \sum_{g \in \mathcal{F}(X)} \rho_{out}(g)\,\phi\big(g^{-1} \cdot X\big),

which is exactly :math:`G`-equivariant, :math:`\langle\phi\rangle(gX) = \rho_{out}(g)\langle\phi\rangle(X)`,
because :math:`\mathcal{F}(gX) = g\mathcal{F}(X)`: substituting :math:`h = g g'` turns the
sum for :math:`gX` into :math:`\rho_{out}(g)` times the sum for :math:`X`. With trivial
:math:`\rho_{out}` it is invariant.

:class:`FrameAveraging` evaluates the backbone on all :math:`|\mathcal{F}|` canonicalised
copies of the batch in **one** call (the frame axis is folded into the batch axis), then maps
each output back with :math:`\rho_{out}(g)` and averages.

Feature types
-------------
Every input and output of the backbone has a type saying how :math:`g = (R, t)` acts on it
(``R: (3, 3)``, ``t: (3,)``; shapes ``(batch, ..., last)``):

* ``"scalar"`` — unchanged (charges, masks, energies); any last dimension;
* ``"pseudoscalar"`` — multiplied by :math:`\det R`; any last dimension;
* ``"vector"`` — :math:`v \mapsto R v` (velocities, forces); last dimension 3;
* ``"positions"`` — :math:`p \mapsto R p + t` (points); last dimension 3;
* ``"tensor2"`` — :math:`T \mapsto R T R^\top`; last dimension 9 (row-major).

A ``"vector"`` may be global ``(batch, 3)`` or point-wise ``(batch, n, 3)`` (or have more
axes); so may the others. ``"tensor2"`` uses the row-major flattening of
:data:`companion.groups.TENSOR2`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

from ..checks import check_bool, check_choice, check_int, check_square, check_tensor
from ..groups import TENSOR2, GroupAction, MatrixGroup
from .pca import DEGENERATE_POLICIES, Frame, frame_group, pca_frame

__all__ = [
    "FEATURE_TYPES",
    "FrameAveraging",
    "to_frame",
    "from_frame",
    "rigid_motion",
    "feature_action",
]

FEATURE_TYPES = ("scalar", "pseudoscalar", "vector", "positions", "tensor2")
_LAST = {"vector": 3, "positions": 3, "tensor2": 9}


def _check_type(kind: object, name: str) -> str:
    check_choice(kind, name, FEATURE_TYPES)
    return kind  # type: ignore[return-value]


def _check_feature(y: torch.Tensor, kind: str, name: str, batch: int) -> torch.Tensor:
    check_tensor(y, name, min_ndim=1)
    if y.shape[0] != batch:
        raise ValueError(
            f"{name} must have batch size {batch} on its first axis, got shape {tuple(y.shape)}"
        )
    if kind in _LAST:
        check_tensor(y, name, min_ndim=2, last_dims=(_LAST[kind],), floating=True)
    elif kind == "pseudoscalar":
        check_tensor(y, name, floating=True)
    return y


def rigid_motion(rot: torch.Tensor, shift: torch.Tensor | None = None) -> torch.Tensor:
    r"""The element :math:`g = (R, t)` of E(3) as a homogeneous matrix
    :math:`\begin{pmatrix}R & t\\ 0 & 1\end{pmatrix}`: ``rot: (..., 3, 3)``, ``shift: (..., 3)``
    (default 0) → ``(..., 4, 4)``. This is how :func:`feature_action` and
    :func:`companion.groups.equivariance_error` take group elements with a translation.
    """
    rot = check_square(rot, "rot", size=3)
    g = torch.zeros(*rot.shape[:-2], 4, 4, dtype=rot.dtype, device=rot.device)
    g[..., :3, :3] = rot
    g[..., 3, 3] = 1
    if shift is not None:
        shift = check_tensor(shift, "shift", last_dims=(3,), floating=True)
        g[..., :3, 3] = shift.to(rot.dtype)
    return g


def _act(kind: str, g: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    rot, t = g[..., :3, :3].to(y.dtype), g[..., :3, 3].to(y.dtype)
    batched = g.ndim == 3
    if kind == "scalar":
        return y
    if kind == "pseudoscalar":
        det = torch.linalg.det(rot)
        return y * (det.reshape(-1, *([1] * (y.ndim - 1))) if batched else det)
    if kind == "tensor2":
        return TENSOR2.act(rot, y)
    b = y.shape[0]
    flat = y.reshape(b, -1, 3) @ rot.transpose(-1, -2)
    if kind == "positions":
        flat = flat + (t[:, None, :] if batched else t)
    return flat.reshape(y.shape)


def feature_action(kind: str) -> GroupAction:
    """How E(3), given as homogeneous ``g: (batch, 4, 4)`` or ``(4, 4)`` (:func:`rigid_motion`),
    acts on a feature of type ``kind`` (see the module docstring); ``y: (batch, ..., last)``."""
    kind = _check_type(kind, "kind")
    return GroupAction(kind, lambda g, y: _act(kind, g, check_tensor(y, "y")))


def to_frame(y: torch.Tensor, kind: str, frame: Frame) -> torch.Tensor:
    r"""Express a feature in every frame element's coordinates: :math:`\rho(g_j)^{-1} y`.

    ``y: (batch, *s)`` → ``(batch, k, *s)`` with ``k = frame.size``. Uses
    :math:`R_j = V\mathrm{diag}(\sigma_j)`: one product with :math:`V` per sample, then sign flips.
    """
    kind = _check_type(kind, "kind")
    b, k = frame.basis.shape[0], frame.size
    if kind == "scalar":
        return y.unsqueeze(1).expand(b, k, *y.shape[1:])
    if kind == "pseudoscalar":
        return y.unsqueeze(1) * frame.determinants.to(y.dtype).reshape(b, k, *([1] * (y.ndim - 1)))
    v, signs = frame.basis.to(y.dtype), frame.signs.to(y.dtype)
    if kind in ("vector", "positions"):
        flat = y.reshape(b, -1, 3)
        if kind == "positions":
            flat = flat - frame.translation.to(y.dtype)[:, None, :]
        out = (flat @ v)[:, None] * signs[None, :, None, :]  # sigma_j V^T y
        return out.reshape(b, k, *y.shape[1:])
    flat = y.reshape(b, -1, 3, 3)
    w = v.transpose(1, 2)[:, None] @ flat @ v[:, None]  # V^T T V: (B, m, 3, 3)
    out = w[:, None] * (signs[:, :, None] * signs[:, None, :])[None, :, None]
    return out.reshape(b, k, *y.shape[1:])


def from_frame(y: torch.Tensor, kind: str, frame: Frame) -> torch.Tensor:
    r"""Map per-frame outputs back and average: :math:`\frac1k\sum_j \rho(g_j)\, y_j`.

    ``y: (batch, k, *s)`` → ``(batch, *s)``. With :math:`R_j = V\mathrm{diag}(\sigma_j)` the
    mean is taken first and :math:`V` applied once: :math:`V\,\frac1k\sum_j \sigma_j \odot y_j`.
    """
    kind = _check_type(kind, "kind")
    b, k = frame.basis.shape[0], frame.size
    if kind == "scalar":
        return y.mean(dim=1)
    if kind == "pseudoscalar":
        det = frame.determinants.to(y.dtype).reshape(b, k, *([1] * (y.ndim - 2)))
        return (y * det).mean(dim=1)
    v, signs = frame.basis.to(y.dtype), frame.signs.to(y.dtype)
    if kind in ("vector", "positions"):
        flat = y.reshape(b, k, -1, 3)
        out = (flat * signs[None, :, None, :]).mean(dim=1) @ v.transpose(
            1, 2
        )  # V mean_j(sigma_j y_j)
        if kind == "positions":
            out = out + frame.translation.to(y.dtype)[:, None, :]
        return out.reshape(b, *y.shape[2:])
    flat = y.reshape(b, k, -1, 3, 3)
    mean = (flat * (signs[:, :, None] * signs[:, None, :])[None, :, None]).mean(dim=1)
    out = v[:, None] @ mean @ v.transpose(1, 2)[:, None]  # V W V^T
    return out.reshape(b, *y.shape[2:])


class FrameAveraging(nn.Module):
    r"""Wrap a backbone so that it becomes exactly invariant or equivariant by frame averaging.

    The backbone is called as ``backbone(x, *extra)`` on canonicalised inputs with batch
    size ``batch * k``: ``x: (batch * k, n, 3)``, and each extra input reshaped the same
    way. Its output (or each output of a tuple) has the type(s) given by ``output``.

    Args:
        backbone: any ``nn.Module`` or callable; no symmetry is assumed.
        group: ``"E(3)"`` (rotations, reflections, translations; 8 frame elements),
            ``"SE(3)"`` (4), ``"O(3)"`` (8, no translations) or ``"SO(3)"`` (4); the
            core's group objects ``companion.groups.o3()``, ``so3()`` name the last two.
        output: the output's feature type (see the module docstring), or a tuple of types
            when the backbone returns a tuple.
        inputs: the types of the extra inputs passed after ``x`` (e.g. ``("vector", "scalar")``
            for velocities and charges). ``x`` itself has type ``"positions"``.
        degenerate, gap_tol: the policy for (nearly) degenerate covariance spectra,
            passed to :func:`~companion.frames.pca.pca_frame`.
        max_batch: the largest batch handed to the backbone at once. ``None`` (default)
            makes one call on all ``batch * k`` canonical inputs — best on a GPU; on a CPU a
            very large call can be slower than a few smaller ones (cache and allocation
            costs), and ``max_batch`` splits it into consecutive chunks. The result is the same.
        validate: check input values in every call (see
            :func:`~companion.frames.pca.pca_frame`); ``False`` keeps GPU forward passes free
            of host syncs (with ``degenerate="ignore"``) once the data have been checked.

    Example::

        fa = FrameAveraging(mlp, group="E(3)", output="positions", inputs=("vector", "scalar"))
        x_next = fa(x, v, q)     # x, v: (B, n, 3), q: (B, n, 1)
    """

    def __init__(
        self,
        backbone: torch.nn.Module | Callable[..., torch.Tensor],
        *,
        group: str | MatrixGroup = "E(3)",
        output: str | Sequence[str] = "scalar",
        inputs: Sequence[str] = (),
        degenerate: str = "warn",
        gap_tol: float = 1e-4,
        max_batch: int | None = None,
        validate: bool = True,
    ) -> None:
        super().__init__()
        if not callable(backbone):
            raise TypeError(
                f"backbone must be an nn.Module or a callable, got {type(backbone).__name__}"
            )
        group = frame_group(group)
        if isinstance(output, str):
            self.output: str | tuple[str, ...] = _check_type(output, "output")
        elif isinstance(output, Sequence) and len(output) > 0:
            self.output = tuple(_check_type(o, f"output[{i}]") for i, o in enumerate(output))
        else:
            raise ValueError(
                f"output must be a feature type or a non-empty tuple of them, got {output!r}"
            )
        if isinstance(inputs, str) or not isinstance(inputs, Sequence):
            raise TypeError(
                f"inputs must be a sequence of feature types, got {type(inputs).__name__}"
            )
        self.inputs = tuple(_check_type(t, f"inputs[{i}]") for i, t in enumerate(inputs))
        check_choice(degenerate, "degenerate", DEGENERATE_POLICIES)
        if max_batch is not None:
            max_batch = check_int(max_batch, "max_batch", minimum=1)
        self.backbone = backbone
        self.max_batch = max_batch
        self.group = group
        self.degenerate = degenerate
        self.gap_tol = gap_tol
        self.validate = check_bool(validate, "validate")

    @property
    def rep_in(self) -> tuple[GroupAction, ...]:
        """How E(3) acts on the inputs ``(x, *extra)`` (homogeneous ``g``, see :func:`rigid_motion`):
        ``equivariance_error(fa, (x, *extra), g)`` checks the wrapper's claim."""
        return tuple(feature_action(t) for t in ("positions", *self.inputs))

    @property
    def rep_out(self) -> GroupAction | tuple[GroupAction, ...]:
        """How E(3) acts on the output (a tuple for a tuple of outputs)."""
        if isinstance(self.output, str):
            return feature_action(self.output)
        return tuple(feature_action(t) for t in self.output)

    def frame(
        self,
        x: torch.Tensor,
        *,
        weights: torch.Tensor | None = None,
        mask: torch.Tensor | None = None,
    ) -> Frame:
        """The PCA frame this wrapper uses for ``x: (batch, n, 3)``."""
        return pca_frame(
            x,
            self.group,
            weights=weights,
            mask=mask,
            degenerate=self.degenerate,
            gap_tol=self.gap_tol,
            validate=self.validate,
        )

    def forward(
        self,
        x: torch.Tensor,
        *extra: torch.Tensor,
        weights: torch.Tensor | None = None,
        mask: torch.Tensor | None = None,
    ) -> torch.Tensor | tuple[torch.Tensor, ...]:
        """Frame-averaged backbone output for point clouds ``x: (batch, n, 3)``.

        ``weights``/``mask`` (``(batch, n)``) only shape the frame; pass a mask to the
        backbone as an extra ``"scalar"`` input if it needs one.
        """
        frame = self.frame(x, weights=weights, mask=mask)
        if len(extra) != len(self.inputs):
            raise ValueError(
                f"expected {len(self.inputs)} extra inputs of types {self.inputs}, got {len(extra)}"
            )
        b, k = x.shape[0], frame.size
        args = [frame.canonicalize(x).reshape(b * k, *x.shape[1:])]
        for i, (y, kind) in enumerate(zip(extra, self.inputs, strict=True)):
            _check_feature(y, kind, f"inputs[{i}]", b)
            args.append(to_frame(y, kind, frame).reshape(b * k, *y.shape[1:]))
        out = self._call_backbone(args)
        kinds = self.output if isinstance(self.output, tuple) else (self.output,)
        outs = out if isinstance(self.output, tuple) else (out,)
        if not isinstance(outs, (tuple, list)) or len(outs) != len(kinds):
            raise ValueError(
                f"backbone must return {len(kinds)} tensor(s) for output={self.output!r}"
            )
        results = []
        for j, (y, kind) in enumerate(zip(outs, kinds, strict=True)):
            if not isinstance(y, torch.Tensor) or y.ndim < 1 or y.shape[0] != b * k:
                raise ValueError(
                    f"backbone output {j} must be a tensor with batch size {b * k} "
                    f"(batch * frame size), got {getattr(y, 'shape', type(y).__name__)}"
                )
            y = y.reshape(b, k, *y.shape[1:])
            if kind in _LAST and y.shape[-1] != _LAST[kind]:
                raise ValueError(
                    f"backbone output {j} of type {kind!r} must have last dimension "
                    f"{_LAST[kind]}, got shape {tuple(y.shape[2:])}"
                )
            results.append(from_frame(y, kind, frame))
        return tuple(results) if isinstance(self.output, tuple) else results[0]

    def _call_backbone(self, args: list[torch.Tensor]):
        total = args[0].shape[0]
        if self.max_batch is None or total <= self.max_batch:
            return self.backbone(*args)
        parts = [
            self.backbone(*(a[i : i + self.max_batch] for a in args))
            for i in range(0, total, self.max_batch)
        ]
        if isinstance(parts[0], (tuple, list)):
            return tuple(torch.cat(p, dim=0) for p in zip(*parts, strict=True))
        return torch.cat(parts, dim=0)

    def extra_repr(self) -> str:
        return f"group={self.group!r}, output={self.output!r}, inputs={self.inputs!r}"
