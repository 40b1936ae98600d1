"""The invertibility detector, learned jointly with spatial alignment, and blending.

Given an input :math:`x` and its GAN inversion :math:`y = G(z^\\star)`, one small network
:math:`\\Phi` looks at the input and the *aligned* inversion and predicts both a flow
increment and an invertibility mask (1 = out of domain). As in the paper, the two are
iterated (the paper's ``cycle_align = 2``): with :math:`f_0 = 0`,

.. math::

    (\\Delta f_k, a_k) = \\Phi\\big(x, \\mathcal{W}(y, f_{k-1})\\big), \\qquad
    f_k = \\operatorname{clip}(f_{k-1} + \\Delta f_k, \\pm f_{\\max}), \\qquad k = 1..K,

and the mask is :math:`m = \\sigma(a_K)`, predicted once the inversion is aligned. The
decomposition blends the input's out-of-domain part with the aligned in-domain inversion,

.. math::  \\hat x = m \\odot x + (1 - m) \\odot \\mathcal{W}(y, f_K).

Training is self-supervised, as in the paper: no ground-truth mask, only

.. math::

    \\mathcal{L} = \\|\\hat x - x\\|_1
      + \\lambda_{\\text{area}} \\max\\big(0, \\bar m - a\\big)
      + \\lambda_{\\text{bin}} \\overline{\\min(m, 1 - m)}
      + \\lambda_{\\text{tv}} \\operatorname{TV}(f_K).

Copying the input (:math:`m = 1`) would reconstruct perfectly, so the *area* term
(a budget :math:`a` on the mean mask) forces the mask onto the pixels the aligned
generator explains worst; the *binary* term pushes :math:`m` to 0 or 1. Alignment
removes the in-domain error that comes from geometry (a mouth one pixel off), so what is
left — and masked — is what the generator cannot draw at all. (The paper adds
perceptual, identity and adversarial terms for photographs; at 32x32 we keep the pixel
loss.) The flow increment is gated by the local residual :math:`|x - \\mathcal{W}(y, f)|`,
so an image aligned with itself gets exactly zero flow.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ..checks import check_choice, check_int, check_number
from ..utils import TrainResult, check_generator, progress, seeded_init
from ._validate import check_images, check_module_dtype, check_same_shape
from .align import _warp, flow_smoothness

__all__ = [
    "DetectorTrainResult",
    "DETECTORS",
    "Decomposition",
    "InvertibilityDetector",
    "blend",
    "detector_loss",
    "train_detector",
    "load_detector",
    "detector_fingerprint",
]

#: The shipped detectors, each name mapped to whether its alignment is on.
DETECTORS = {"method": True, "no_align": False, "supervised": True}


@dataclass
class Decomposition:
    """Output of :class:`InvertibilityDetector`.

    Attributes:
        mask: ``(batch, 1, H, W)`` in ``[0, 1]``, 1 = out of domain (the last iteration's).
        flow: ``(batch, 2, H, W)`` the accumulated flow :math:`f_K` in pixels.
        aligned: ``(batch, 3, H, W)`` the aligned inversion :math:`\\mathcal{W}(y, f_K)`.
        blended: ``(batch, 3, H, W)`` :math:`m \\odot x + (1 - m) \\odot` aligned.
        masks: the mask after each iteration (``K`` tensors like ``mask``).
    """

    mask: torch.Tensor
    flow: torch.Tensor
    aligned: torch.Tensor
    blended: torch.Tensor
    masks: list[torch.Tensor]


def blend(x: torch.Tensor, y: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """:math:`m \\odot x + (1 - m) \\odot y` for ``x, y: (batch, 3, H, W)``, ``mask: (batch, 1, H, W)``.

    A zero mask returns ``y`` (the inversion) and a one mask returns ``x`` (the input).
    """
    x = check_images(x, "x")
    y = check_images(y, "y")
    check_same_shape(x, y, "x", "y")
    mask = check_images(mask, "mask", channels=1)
    check_same_shape(x, mask, "x", "mask", channels=False)
    return mask * x + (1 - mask) * y


class InvertibilityDetector(nn.Module):
    """:math:`\\Phi`: a dilated CNN (receptive field 33 px) with a flow head and a mask head.

    A full-resolution stem reads :math:`[x, \\mathcal{W}(y, f), x - \\mathcal{W}(y, f)]`;
    a dilated trunk (dilations 2, 4, 8) gives the context of a whole 32x32 face; a fusion
    layer joins the trunk's output with the stem's (a skip connection, as the paper's
    detector reads features at several resolutions), so the heads see both the fine
    outline of an addition and its surroundings.

    Args:
        width: channels of the hidden layers.
        max_flow: bound :math:`f_{\\max}` on each flow component, in pixels.
        iterations: default number :math:`K` of align-then-detect iterations.
        align: if ``False`` the flow is fixed at zero (the "no alignment" ablation).
        generator: draws the initial weights (``None``: the global stream).
    """

    def __init__(
        self,
        width: int = 32,
        max_flow: float = 1.5,
        iterations: int = 2,
        align: bool = True,
        *,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        w = check_int(width, "width", minimum=1)
        self.iterations = check_int(iterations, "iterations", minimum=1)
        self.max_flow = check_number(max_flow, "max_flow", minimum=0, open_min=True)
        self.align = bool(align)
        with seeded_init(generator):  # None: the global stream
            self.stem = nn.Sequential(nn.Conv2d(9, w, 3, padding=1), nn.LeakyReLU(0.2))
            layers: list[nn.Module] = []
            for dil in (2, 4, 8):
                layers += [nn.Conv2d(w, w, 3, padding=dil, dilation=dil), nn.LeakyReLU(0.2)]
            self.body = nn.Sequential(*layers)
            self.fuse = nn.Sequential(nn.Conv2d(2 * w, w, 3, padding=1), nn.LeakyReLU(0.2))
            self.flow_head = nn.Conv2d(w, 2, 3, padding=1)
            self.mask_head = nn.Conv2d(w, 1, 3, padding=1)
        nn.init.zeros_(self.flow_head.weight)
        # Conv2d's bias is Optional in its type; these heads are built with one
        assert self.flow_head.bias is not None and self.mask_head.bias is not None
        nn.init.zeros_(self.flow_head.bias)
        nn.init.constant_(self.mask_head.bias, -2.0)  # start from a small mask (sigma(-2) = 0.12)

    def step(self, x: torch.Tensor, aligned: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One application of :math:`\\Phi`: ``(flow increment (b,2,H,W), mask logit (b,1,H,W))``."""
        diff = x - aligned
        h0 = self.stem(torch.cat([x * 2 - 1, aligned * 2 - 1, diff], dim=1))
        h = self.fuse(torch.cat([self.body(h0), h0], dim=1))
        residual = F.avg_pool2d(
            diff.abs().mean(dim=1, keepdim=True), 3, 1, 1, count_include_pad=False
        )
        gate = torch.tanh(residual / 0.02)
        # each increment moves at most f_max / K, so K iterations reach f_max without the
        # clip (whose zero gradient would freeze a saturated flow)
        dflow = torch.tanh(self.flow_head(h)) * (self.max_flow / self.iterations) * gate
        return dflow, self.mask_head(h)

    def forward(
        self,
        x: torch.Tensor,
        y: torch.Tensor,
        iterations: int | None = None,
        *,
        validate: bool = True,
    ) -> Decomposition:
        """Decompose input ``x`` against its inversion ``y`` (both ``(batch, 3, H, W)`` in [0, 1]).

        ``validate=False`` skips the check that the pixel values lie in [0, 1] (it syncs a
        GPU); :func:`train_detector` checks its data once and then calls with ``False``.
        """
        x = check_images(x, "x", values=validate)
        y = check_images(y, "y", values=validate)
        check_same_shape(x, y, "x", "y")
        check_module_dtype(x, "x", self, "detector")
        check_module_dtype(y, "y", self, "detector")
        k = (
            self.iterations
            if iterations is None
            else check_int(iterations, "iterations", minimum=1)
        )
        flow = torch.zeros(x.shape[0], 2, *x.shape[2:], dtype=x.dtype, device=x.device)
        aligned = y
        masks = []
        for _ in range(k):
            dflow, logit = self.step(x, aligned)
            if self.align:
                flow = (flow + dflow).clamp(-self.max_flow, self.max_flow)
                aligned = _warp(y, flow)  # flow is built here: finite and clamped
            masks.append(torch.sigmoid(logit))
        mask = masks[-1]
        return Decomposition(
            mask=mask,
            flow=flow,
            aligned=aligned,
            blended=mask * x + (1 - mask) * aligned,
            masks=masks,
        )


def detector_loss(
    x: torch.Tensor,
    dec: Decomposition,
    *,
    area: float = 0.1,
    w_area: float = 0.1,
    w_bin: float = 0.02,
    w_tv: float = 0.01,
    target: torch.Tensor | None = None,
) -> tuple[torch.Tensor, dict[str, float]]:
    """The self-supervised loss of the module docstring; returns ``(loss, parts)``.

    ``parts`` holds plain floats: ``loss`` and its terms (``area`` is the mean mask).

    ``target`` (a ground-truth mask ``(batch, 1, H, W)``) switches to the *supervised
    ablation*: binary cross-entropy of the mask against it, plus the reconstruction term
    of the aligned inversion outside it (to train the flow). Never used for the method.
    """
    loss, parts = _loss_terms(x, dec, area, w_area, w_bin, w_tv, target)
    return loss, {k: v.item() for k, v in parts.items()}


def _loss_terms(
    x: torch.Tensor,
    dec: Decomposition,
    area: float,
    w_area: float,
    w_bin: float,
    w_tv: float,
    target: torch.Tensor | None,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """:func:`detector_loss` with its parts as detached 0-d tensors (no GPU sync)."""
    rec = (dec.blended - x).abs().mean()
    tv = flow_smoothness(dec.flow).mean()
    if target is not None:
        bce = F.binary_cross_entropy(dec.mask.clamp(1e-6, 1 - 1e-6), target)
        rec_id = ((dec.aligned - x).abs() * (1 - target)).mean()
        loss = bce + rec_id + w_tv * tv
        parts = {"loss": loss, "bce": bce, "rec_id": rec_id, "tv": tv}
    else:
        mean_mask = dec.mask.mean()
        area_term = F.relu(mean_mask - area)
        binary = torch.minimum(dec.mask, 1 - dec.mask).mean()
        loss = rec + w_area * area_term + w_bin * binary + w_tv * tv
        parts = {"loss": loss, "rec": rec, "area": mean_mask, "binary": binary, "tv": tv}
    return loss, {k: v.detach() for k, v in parts.items()}


@dataclass
class DetectorTrainResult(TrainResult):
    """:func:`train_detector`'s record: ``losses: (steps,)``, and ``parts``, the history of
    every term of :func:`detector_loss` by name (``(steps,)`` each)."""

    parts: dict[str, torch.Tensor] = field(default_factory=dict)


def train_detector(
    net: InvertibilityDetector,
    inputs: torch.Tensor,
    inversions: torch.Tensor,
    *,
    steps: int,
    batch_size: int = 32,
    lr: float = 2e-3,
    generator: torch.Generator | None = None,
    masks: torch.Tensor | None = None,
    desc: str | None = "detector",
    **loss_kwargs: float,
) -> DetectorTrainResult:
    """Train ``net`` on pairs ``(inputs[i], inversions[i])``, both ``(n, 3, H, W)``.

    ``masks`` (ground truth) selects the supervised ablation of :func:`detector_loss`;
    leave it ``None`` for the paper's self-supervised training. ``generator`` draws the
    batches (``None``: the global stream). Returns the loss per step and the history of
    every loss part (:class:`DetectorTrainResult`).
    """
    if not isinstance(net, InvertibilityDetector):
        raise TypeError(f"net must be an InvertibilityDetector, got {type(net).__name__}")
    inputs = check_images(inputs, "inputs")
    inversions = check_images(inversions, "inversions")
    check_same_shape(inputs, inversions, "inputs", "inversions")
    check_module_dtype(inputs, "inputs", net, "detector")
    check_module_dtype(inversions, "inversions", net, "detector")
    if masks is not None:
        masks = check_images(masks, "masks", channels=1)
        check_same_shape(inputs, masks, "inputs", "masks", channels=False)
    steps = check_int(steps, "steps", minimum=1)
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    p = next(net.parameters())  # train where the network lives (dtypes are checked above)
    inputs, inversions = inputs.to(p.device), inversions.to(p.device)
    if masks is not None:
        masks = masks.to(p.device, p.dtype)
    gen = check_generator(generator)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    # detector_loss's keyword defaults, overridden by loss_kwargs
    weights = {
        k: p.default
        for k, p in inspect.signature(detector_loss).parameters.items()
        if p.kind is p.KEYWORD_ONLY and k != "target"
    }
    unknown = sorted(set(loss_kwargs) - set(weights))
    if unknown:
        raise TypeError(f"unexpected keyword arguments for detector_loss: {unknown}")
    weights.update(loss_kwargs)
    net.train()
    log = []  # detached 0-d tensors, read once at the end: no GPU sync per step
    for _ in progress(range(steps), desc=desc):
        idx = torch.randint(0, inputs.shape[0], (batch_size,), generator=gen).to(p.device)
        dec = net(inputs[idx], inversions[idx], validate=False)  # checked above
        loss, parts = _loss_terms(
            inputs[idx],
            dec,
            weights["area"],
            weights["w_area"],
            weights["w_bin"],
            weights["w_tv"],
            None if masks is None else masks[idx],
        )
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        log.append(parts)
    net.eval()
    history = {k: torch.stack([step[k] for step in log]).cpu() for k in log[0]}
    final = {k: float(v[-1]) for k, v in history.items()}
    return DetectorTrainResult(history["loss"], final, history)


def load_detector(
    name: str = "method", path: str | Path | None = None, device: torch.device | str = "cpu"
) -> InvertibilityDetector:
    """A shipped detector (``"method"``, ``"no_align"`` or ``"supervised"``), eval mode.

    ``python -m companion.inversion.train_detectors`` rebuilds them.
    """
    from .generator import WEIGHTS_DIR, _load_state

    check_choice(name, "name", tuple(DETECTORS))
    file = Path(path) if path is not None else WEIGHTS_DIR / f"detector_{name}.pt"
    net = _load_state(InvertibilityDetector(align=DETECTORS[name]), file, f"detector {name!r}")
    net.requires_grad_(False)
    return net.to(device)


@torch.no_grad()
def detector_fingerprint(net: InvertibilityDetector) -> list[float]:
    """A numeric fingerprint: the mean mask and mean flow of ``net`` on a fixed probe.

    The probe is four faces rendered with ``render_faces(4, generator=seed 1234,
    ood="random")`` against their own clean versions as "inversions" (no generator is
    involved). The training command stores it next to the weights; a test reloads the
    weights and compares (the file, the architecture and the loader agree).
    """
    from .faces import render_faces

    if not isinstance(net, InvertibilityDetector):
        raise TypeError(f"net must be an InvertibilityDetector, got {type(net).__name__}")
    probe = render_faces(4, generator=torch.Generator().manual_seed(1234), ood="random")
    p = next(net.parameters())
    dec = net(probe.images.to(p), probe.clean.to(p))
    return [float(v) for v in dec.mask.mean(dim=(1, 2, 3))] + [float(dec.flow.abs().mean())]
