r"""Affine group convolutions on images: lifting :math:`\mathbb R^2 \to \mathbb R^2\rtimes H` and
group convolution :math:`\mathbb R^2\rtimes H \to \mathbb R^2\rtimes H`, :math:`H` = GL⁺(2) or SL(2).

Images live on the pixel grid with points :math:`x = (\text{column}, \text{row})`; an element
:math:`u` of the affine group acts by :math:`(L_u f)(x) = f(u^{-1}x)` (see
:func:`companion.lie.data.affine_warp`). Feature maps on the group are tensors ``(B, C, n, H, W)``:
channel, *group sample*, rows, columns. Sample sets are :class:`~companion.lie.haar.GroupSample`.

* **Lifting** (on output samples :math:`\{h_j\}`):

  .. math:: (\Lambda f)(x, h_j) = \sum_y f(y)\,k_\theta\!\big(h_j^{-1}(y - x)/r\big)\,|\det h_j|^{-1}

* **Group convolution** (input samples :math:`\{\tilde h_i\}`, output samples :math:`\{h_j\}`):

  .. math:: (F * k)(x, h_j) = \frac1{n_{in}}\sum_i\sum_y F(y, \tilde h_i)\,
            k_\theta\!\big(h_j^{-1}(y-x)/r,\ \xi^{-1}(h_j^{-1}\tilde h_i)\big)\,|\det \tilde h_i|^{-1}

The kernels :math:`k_\theta` are implicit (:class:`ImplicitKernel`): a coordinate network
evaluated on :math:`h^{-1}\Delta` for the :math:`k\times k` pixel offsets :math:`\Delta`,
times a compactly supported mask :math:`(1 - \lVert z\rVert^2)_+^2`. Both layers are
equivariant: :math:`\Lambda(L_u f; H) = L_u\,\Lambda(f; u^{-1}H)`, where :math:`L_u` moves
the spatial grid and :math:`u^{-1}H = \{u^{-1}h_j\}` relabels the samples — exactly so when
:math:`u` maps the pixel grid to itself (90° rotations), up to resampling error otherwise.

Every layer takes its input sample set explicitly, and :class:`AffineGCNN` hands each
layer the previous layer's *output* samples (the released code of the paper does not; see
the chapter). Each layer records the sets it last used in ``last_samples_in/out``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from typing import Any, cast

import torch
import torch.nn.functional as F
from torch import nn

from ..checks import check_choice, check_int, check_number, check_same_len, check_tensor
from ..utils import TrainResult, check_generator, seeded_init
from .groups import algebra_dim, check_group, to_coords, xi_inv
from .haar import ROTATION_SAMPLERS, GroupSample, sample_group

__all__ = [
    "kernel_offsets",
    "bump_mask",
    "ImplicitKernel",
    "LiftingConv",
    "GroupConv",
    "GCNNConfig",
    "AffineGCNN",
    "PlainCNN",
    "KERNELS",
    "WINDOWS",
    "train_classifier",
    "predict",
    "classifier_accuracy",
]

KERNELS = ("rff", "siren")
WINDOWS = ("kernel", "samples")


def kernel_offsets(
    k: int, *, dtype: torch.dtype = torch.float32, device: torch.device | str | None = None
) -> torch.Tensor:
    r"""Pixel offsets :math:`\Delta` of a ``k × k`` kernel, ``(k, k, 2)`` as (column, row), centred."""
    k = check_int(k, "k", minimum=1)
    if k % 2 == 0:
        raise ValueError(f"k must be odd (a centred kernel), got {k}")
    r = torch.arange(k, dtype=dtype, device=device) - (k - 1) / 2
    rows, cols = torch.meshgrid(r, r, indexing="ij")
    return torch.stack([cols, rows], -1)


def bump_mask(z: torch.Tensor) -> torch.Tensor:
    r"""Compactly supported :math:`C^1` mask :math:`(1 - \lVert z\rVert^2)_+^2`; ``z: (..., 2)`` → ``(...)``."""
    return (1 - (z**2).sum(-1)).clamp_min(0) ** 2


class ImplicitKernel(nn.Module):
    r"""A coordinate network :math:`k_\theta: \mathbb R^{d_{in}} \to \mathbb R^{d_{out}}`.

    ``kind="rff"``: random Fourier features :math:`W\cos(\Omega z + b)` with fixed
    :math:`\Omega \sim \mathcal N(0, \omega^2)`, :math:`b\sim U[0, 2\pi)` and learned :math:`W`
    (fast to train); ``kind="siren"``: two sine layers (:math:`\omega_0` = ``omega``) and a
    linear read-out, as in the paper's code. ``z: (..., d_in)`` → ``(..., d_out)``.

    ``coord_scale`` (``d_in`` positive numbers, default all ones) multiplies the coordinates
    before the network, :math:`k_\theta(z) = \mathrm{net}(s \odot z)`: the frequency scale of
    coordinate ``i`` is ``omega * coord_scale[i]``. The group layers use it to make the kernel
    smoother along the Lie-algebra coordinates than along space.
    """

    # buffers, declared for the type checker
    coord_scale: torch.Tensor
    freq: torch.Tensor
    phase: torch.Tensor

    def __init__(
        self,
        in_dim: int,
        out_dim: int,
        *,
        kind: str = "rff",
        hidden: int = 64,
        omega: float = 2.0,
        fan_in: int = 1,
        coord_scale: tuple[float, ...] | None = None,
        generator: torch.Generator | None = None,
    ):
        super().__init__()
        self.in_dim = check_int(in_dim, "in_dim", minimum=1)
        scale = (1.0,) * self.in_dim if coord_scale is None else tuple(coord_scale)
        if len(scale) != self.in_dim or not all(
            isinstance(c, (int, float)) and c > 0 for c in scale
        ):
            raise ValueError(
                f"coord_scale must be {self.in_dim} positive numbers, got {coord_scale!r}"
            )
        self.register_buffer(
            "coord_scale", torch.tensor(scale, dtype=torch.float32), persistent=False
        )
        self.out_dim = check_int(out_dim, "out_dim", minimum=1)
        hidden = check_int(hidden, "hidden", minimum=1)
        fan_in = check_int(fan_in, "fan_in", minimum=1)
        check_choice(kind, "kind", KERNELS)
        self.kind = kind
        self.omega = float(omega)
        gen = check_generator(generator)  # None: the global stream
        # Read-out weights are O(1/sqrt(hidden)); the fan-in scale is a fixed gain, so that
        # Adam's step size means the same for these weights as for an ordinary conv layer.
        self.gain = 1.0 / math.sqrt(fan_in)
        bound = 1.0 / math.sqrt(hidden)
        if kind == "rff":
            self.register_buffer("freq", omega * torch.randn(in_dim, hidden, generator=gen))
            self.register_buffer("phase", 2 * math.pi * torch.rand(hidden, generator=gen))
            self.out = nn.Parameter(
                math.sqrt(2.0) * bound * torch.randn(hidden, out_dim, generator=gen)
            )
        else:
            lim1 = 1.0 / in_dim
            lim2 = math.sqrt(6.0 / hidden) / self.omega
            self.w1 = nn.Parameter((2 * torch.rand(in_dim, hidden, generator=gen) - 1) * lim1)
            self.b1 = nn.Parameter((2 * torch.rand(hidden, generator=gen) - 1) * lim1)
            self.w2 = nn.Parameter((2 * torch.rand(hidden, hidden, generator=gen) - 1) * lim2)
            self.b2 = nn.Parameter(torch.zeros(hidden))
            self.out = nn.Parameter(
                (2 * torch.rand(hidden, out_dim, generator=gen) - 1) * math.sqrt(3.0) * bound
            )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        z = check_tensor(z, "z", min_ndim=1, last_dims=(self.in_dim,), floating=True)
        z = z * self.coord_scale.to(z.dtype)
        if self.kind == "rff":
            h = torch.cos(z @ self.freq + self.phase)
        else:
            h = torch.sin(self.omega * (z @ self.w1 + self.b1))
            h = torch.sin(self.omega * (h @ self.w2 + self.b2))
        return (h @ self.out) * self.gain


def _check_samples(s: object, name: str, group: str) -> GroupSample:
    if not isinstance(s, GroupSample):
        raise TypeError(
            f"{name} must be a GroupSample (see companion.lie.haar.sample_group), "
            f"got {type(s).__name__}"
        )
    if s.group != group:
        raise ValueError(f"{name} holds {s.group} elements but the layer is for {group}")
    return s


class _AffineConvBase(nn.Module):
    uses_lie_coords = False  # does the kernel also see ξ⁻¹ of relative group elements?

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        group: str,
        *,
        radius: float | None = None,
        kernel: str = "rff",
        hidden: int = 64,
        omega: float = 2.0,
        group_scale: float = 1.0,
        det_factor: bool = True,
        padding: int | str = "same",
        bias: bool = False,
        window: str = "kernel",
        generator: torch.Generator | None = None,
    ):
        super().__init__()
        self.window = check_choice(window, "window", WINDOWS)
        self.in_channels = check_int(in_channels, "in_channels", minimum=1)
        self.out_channels = check_int(out_channels, "out_channels", minimum=1)
        self.kernel_size = check_int(kernel_size, "kernel_size", minimum=1)
        if self.kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd, got {kernel_size}")
        self.group = check_group(group)
        self.radius = float(radius) if radius is not None else (self.kernel_size - 1) / 2 + 0.5
        if not self.radius > 0:
            raise ValueError(f"radius must be positive, got {radius}")
        if padding == "same":
            padding = self.kernel_size // 2
        if not isinstance(padding, int) or padding < 0:
            raise ValueError(f"padding must be 'same' or a non-negative int, got {padding!r}")
        self.padding = padding
        self.det_factor = bool(det_factor)
        check_number(group_scale, "group_scale", minimum=0, open_min=True)
        self.group_scale = float(group_scale)
        extra_dim = algebra_dim(self.group) if self.uses_lie_coords else 0
        fan_in = self.in_channels * self.kernel_size**2 // 4 + 1
        self.kernel = ImplicitKernel(
            2 + extra_dim,
            self.in_channels * self.out_channels,
            kind=kernel,
            hidden=hidden,
            omega=omega,
            fan_in=fan_in,
            coord_scale=(1.0, 1.0) + (self.group_scale,) * extra_dim,
            generator=generator,
        )
        self.bias = nn.Parameter(torch.zeros(self.out_channels)) if bias else None
        self.register_buffer("offsets", kernel_offsets(self.kernel_size), persistent=False)
        self.last_samples_in: GroupSample | None = None
        self.last_samples_out: GroupSample | None = None

    def window_size(self, samples_out: GroupSample) -> int:
        r"""Side of the pixel window the kernel is evaluated on for these output samples.

        ``window="kernel"``: ``kernel_size``. ``window="samples"``: the smallest odd size
        :math:`\ge` ``kernel_size`` that holds the support :math:`h\,B(r)` of the kernel for
        every sample :math:`h`: its half-width is :math:`r\max_h\max_i\lVert h_{i,:}\rVert`
        (the ellipse's extent along each pixel axis), rounded down to the last pixel inside.
        """
        k = self.kernel_size
        if self.window == "kernel":
            return k
        rows = samples_out.g.to(torch.float64).norm(dim=-1)  # (n, 2) row norms
        half = math.ceil(self.radius * float(rows.max()) - 1e-9) - 1
        return 2 * max(k // 2, half) + 1

    def _spatial(self, g_inv: torch.Tensor, dtype: torch.dtype, size: int) -> torch.Tensor:
        """z = h⁻¹Δ / r for every output sample over a ``size × size`` window: ``(n, s, s, 2)``."""
        if size == self.kernel_size:
            delta = self.offsets.to(dtype=dtype, device=g_inv.device)
        else:
            delta = kernel_offsets(size, dtype=dtype, device=g_inv.device)
        return torch.einsum("nab,klb->nkla", g_inv.to(dtype), delta) / self.radius

    def _conv_padding(self, w: torch.Tensor) -> int:
        """Padding for a weight of side ``w.shape[-1]``: the output keeps the size it has with
        the ``kernel_size`` window (a wider window reads more zero padding, not less image)."""
        return self.padding + (w.shape[-1] - self.kernel_size) // 2

    def _finish(self, out: torch.Tensor, b: int, n_out: int) -> torch.Tensor:
        out = out.view(b, self.out_channels, n_out, *out.shape[-2:])
        if self.bias is not None:
            out = out + self.bias.view(1, -1, 1, 1, 1)
        return out


class LiftingConv(_AffineConvBase):
    r"""Lifting convolution :math:`\mathbb R^2 \to \mathbb R^2 \rtimes H` (see the module docstring).

    ``forward(x: (B, C_in, H, W), samples_out: GroupSample with n elements) -> (B, C_out, n, H', W')``.
    ``det_factor=False`` drops :math:`|\det h_j|^{-1}` (wrong for GL⁺(2); for ablations/tests).

    The arguments are shared with :class:`GroupConv`.

    Args:
        in_channels, out_channels: feature channels ``C_in``, ``C_out``.
        kernel_size: odd ``k``; the kernel is evaluated on the ``k × k`` pixel offsets.
        group: ``"GL+(2)"`` or ``"SL(2)"``.
        radius: pixel scale ``r`` of the kernel coordinates (default ``k/2``); the mask
            vanishes where :math:`\lVert h^{-1}\Delta\rVert \ge r`, so the kernel of a
            sample :math:`h` lives on the ellipse :math:`h\,B(r)`.
        window: ``"kernel"`` (default) evaluates the kernel on the ``k × k`` offsets only.
            With the default radius the disc :math:`B(r)` just fits that window, so a sample
            that scales up (:math:`\lVert h\rVert > 1`) has its kernel *cut off* at the window's
            edge: the layer is then not the integral it approximates, and the equivariance
            error :math:`\Lambda(L_u f; H)` vs :math:`L_u\Lambda(f; u^{-1}H)` grows (the
            two sides cut different parts). ``"samples"`` sizes the window from the samples
            (``window_size``) so that no support is cut, at the cost of a larger
            convolution; the output keeps its size (the extra width reads zero padding).
        kernel, hidden, omega: the :class:`ImplicitKernel`'s kind, width and frequency scale.
        group_scale: the Lie-algebra coordinates :math:`\xi^{-1}(h_j^{-1}\tilde h_i)` enter the
            kernel multiplied by this factor (``GroupConv`` only; default 1): below 1 makes the
            kernel smoother along the group than along space.
        det_factor: apply the :math:`|\det|^{-1}` factor (default ``True``).
        padding: ``"same"`` or a number of zero pixels; bias: a learned per-channel bias.
        generator: draws the kernel network's initial weights (``None``: the global stream).
    """

    def weight(self, samples_out: GroupSample) -> torch.Tensor:
        """The conv2d weight ``(C_out·n, C_in, k, k)`` for the sample set (kernel gallery)."""
        s = _check_samples(samples_out, "samples_out", self.group)
        dtype = self.kernel.out.dtype
        k = self.window_size(s)
        z = self._spatial(s.g_inv, dtype, k)  # (n, k, k, 2)
        kern = self.kernel(z) * bump_mask(z)[..., None]  # (n, k, k, Co·Ci)
        if self.det_factor:
            kern = (
                kern / torch.linalg.det(s.g.to(torch.float64)).abs().to(dtype)[:, None, None, None]
            )
        n = len(s)
        kern = kern.view(n, k, k, self.out_channels, self.in_channels)
        return kern.permute(3, 0, 4, 1, 2).reshape(self.out_channels * n, self.in_channels, k, k)

    def forward(self, x: torch.Tensor, samples_out: GroupSample) -> torch.Tensor:
        x = check_tensor(x, "x", ndim=4, floating=True)
        if x.shape[1] != self.in_channels:
            raise ValueError(
                f"x must have {self.in_channels} channels (B, C_in, H, W), got {tuple(x.shape)}"
            )
        w = self.weight(samples_out).to(x.dtype)
        self.last_samples_in, self.last_samples_out = None, samples_out
        out = F.conv2d(x, w, padding=self._conv_padding(w))
        return self._finish(out, x.shape[0], len(samples_out))


class GroupConv(_AffineConvBase):
    r"""Group convolution :math:`\mathbb R^2\rtimes H \to \mathbb R^2\rtimes H` (see the module docstring).

    ``forward(x: (B, C_in, n_in, H, W), samples_in (n_in), samples_out (n_out)) ->
    (B, C_out, n_out, H', W')``. The kernel sees :math:`[h_j^{-1}\Delta/r,\ \xi^{-1}(h_j^{-1}\tilde h_i)]`
    (2 + dim G coordinates); the input is divided by :math:`|\det\tilde h_i|` (GL⁺(2)).
    """

    uses_lie_coords = True

    def weight(self, samples_in: GroupSample, samples_out: GroupSample) -> torch.Tensor:
        """The conv2d weight ``(C_out·n_out, C_in·n_in, k, k)``."""
        si = _check_samples(samples_in, "samples_in", self.group)
        so = _check_samples(samples_out, "samples_out", self.group)
        dtype = self.kernel.out.dtype
        n_in, n_out, k = len(si), len(so), self.window_size(so)
        rel = (
            so.g_inv.to(torch.float64)[:, None] @ si.g.to(torch.float64)[None]
        )  # (n_out, n_in, 2, 2)
        lie = to_coords(xi_inv(rel), self.group).to(dtype)  # (n_out, n_in, d)
        z = self._spatial(so.g_inv, dtype, k)  # (n_out, k, k, 2)
        coords = torch.cat(
            [
                z[:, None].expand(n_out, n_in, k, k, 2),
                lie[:, :, None, None].expand(n_out, n_in, k, k, lie.shape[-1]),
            ],
            -1,
        )
        kern = (
            self.kernel(coords) * bump_mask(z)[:, None, ..., None] / n_in
        )  # (n_out, n_in, k, k, Co·Ci)
        if self.det_factor:
            kern = (
                kern
                / torch.linalg.det(si.g.to(torch.float64))
                .abs()
                .to(dtype)[None, :, None, None, None]
            )
        kern = kern.view(n_out, n_in, k, k, self.out_channels, self.in_channels)
        return kern.permute(4, 0, 5, 1, 2, 3).reshape(
            self.out_channels * n_out, self.in_channels * n_in, k, k
        )

    def forward(
        self, x: torch.Tensor, samples_in: GroupSample, samples_out: GroupSample
    ) -> torch.Tensor:
        x = check_tensor(x, "x", ndim=5, floating=True)
        _check_samples(samples_in, "samples_in", self.group)
        if x.shape[1] != self.in_channels or x.shape[2] != len(samples_in):
            raise ValueError(
                f"x must have shape (B, {self.in_channels}, {len(samples_in)}, H, W) to match "
                f"in_channels and samples_in, got {tuple(x.shape)}"
            )
        w = self.weight(samples_in, samples_out).to(x.dtype)
        self.last_samples_in, self.last_samples_out = samples_in, samples_out
        b = x.shape[0]
        out = F.conv2d(x.reshape(b, -1, *x.shape[-2:]), w, padding=self._conv_padding(w))
        return self._finish(out, b, len(samples_out))


def _rms_norm(x: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Divide each sample by its root-mean-square over ``(C, n, H, W)`` (commutes with the group)."""
    return x / (x.pow(2).mean(dim=tuple(range(1, x.ndim)), keepdim=True).sqrt() + eps)


@dataclass(frozen=True)
class GCNNConfig:
    r"""The settings of an :class:`AffineGCNN` (everything but the group and the generator).

    Attributes:
        channels: feature channels after the lift, the first and the second group
            convolution (one int: all three).
        n_samples: group samples per layer output (the paper's code: 10).
        lift_kernel, kernel_size: odd kernel sides of the lift and the group convolutions.
        hidden, kernel, omega, group_scale: the :class:`ImplicitKernel` (width, ``"rff"`` or
            ``"siren"``, spatial frequency scale, scale of the Lie-algebra coordinates).
        head, n_classes, in_channels: the MLP head's width, the classes, the image channels.
        spd_var, rot, rot_bound: the sampler (:func:`~companion.lie.haar.sample_group`):
            log-normal variance of the shape factor, ``"uniform"``/``"equidistant"``
            angles within :math:`\pm\pi\,` ``rot_bound``.
        bias: learned per-channel biases in the group layers.
    """

    channels: int | tuple[int, int, int] = (8, 8, 32)
    n_samples: int = 8
    lift_kernel: int = 7
    kernel_size: int = 5
    hidden: int = 64
    head: int = 64
    n_classes: int = 10
    in_channels: int = 1
    kernel: str = "rff"
    spd_var: float = 0.05
    rot: str = "uniform"
    rot_bound: float = 0.15
    bias: bool = True
    omega: float = 4.0
    group_scale: float = 1 / 16

    def __post_init__(self) -> None:
        raw = self.channels
        ch: tuple[int, ...] = (raw,) * 3 if isinstance(raw, int) else tuple(raw)
        if len(ch) != 3 or not all(isinstance(c, int) and c >= 1 for c in ch):
            raise ValueError(f"channels must be a positive int or three of them, got {ch!r}")
        object.__setattr__(self, "channels", ch)
        check_choice(self.rot, "rot", ROTATION_SAMPLERS)
        check_number(self.spd_var, "spd_var", minimum=0)
        check_number(self.rot_bound, "rot_bound", minimum=0, maximum=1, open_min=True)


class AffineGCNN(nn.Module):
    r"""A small :math:`\mathbb R^2\rtimes H` classifier: lift → GConv (same samples) → 2×2 max-pool
    → GConv (new samples) → max over (group, space) → MLP.

    ``AffineGCNN(group, config=None, *, generator=None, **settings)``: the settings are a
    :class:`GCNNConfig` (default ``GCNNConfig()``), and keywords override single fields
    (``AffineGCNN("SL(2)", n_samples=4)``); ``model.config`` is the resulting config.

    An RMS normalisation over ``(C, n, H, W)`` and a GELU follow each convolution (the paper's
    ``GResNet`` uses a layer norm there, and a residual block; at CPU scale the mean-free layer
    norm learned much more slowly in our runs). The kernels default to ``omega=4`` and
    ``group_scale=1/16``: smooth along the Lie-algebra coordinates, so that the invariant
    features vary less between group-sample draws than between images (with ``group_scale=1``
    the draw-to-draw spread exceeds the image-to-image one and training fits sampling noise).
    ``forward(x: (B, 1, H, W), samples=None, generator=None) -> (B, n_classes)``; ``samples``
    is a list of one :class:`~companion.lie.haar.GroupSample` per layer *output* (see :meth:`draw_samples`), and
    layer ``i`` receives ``samples[i - 1]`` as its input samples.
    """

    def __init__(
        self,
        group: str,
        config: GCNNConfig | None = None,
        *,
        generator: torch.Generator | None = None,
        **settings: Any,
    ):
        super().__init__()
        if config is not None and not isinstance(config, GCNNConfig):
            raise TypeError(f"config must be a GCNNConfig, got {type(config).__name__}")
        unknown = set(settings) - {f.name for f in fields(GCNNConfig)}
        if unknown:
            raise TypeError(f"AffineGCNN got unknown settings {sorted(unknown)} (see GCNNConfig)")
        cfg = replace(config if config is not None else GCNNConfig(), **settings)
        self.config = cfg
        self.group = check_group(group)
        self.n_samples = check_int(cfg.n_samples, "n_samples", minimum=1)
        self.spd_var, self.rot, self.rot_bound = float(cfg.spd_var), cfg.rot, float(cfg.rot_bound)
        gen = check_generator(generator)  # kernels, then the head's initial weights
        common: dict[str, Any] = dict(
            kernel=cfg.kernel,
            hidden=cfg.hidden,
            generator=gen,
            bias=cfg.bias,
            omega=cfg.omega,
            group_scale=cfg.group_scale,
        )
        c1, c2, c3 = cast(tuple[int, int, int], cfg.channels)  # normalised by GCNNConfig
        self.lift = LiftingConv(cfg.in_channels, c1, cfg.lift_kernel, self.group, **common)
        self.conv1 = GroupConv(c1, c2, cfg.kernel_size, self.group, **common)
        self.conv2 = GroupConv(c2, c3, cfg.kernel_size, self.group, **common)
        with seeded_init(gen):
            self.fc1 = nn.Linear(c3, cfg.head)
            self.fc2 = nn.Linear(cfg.head, cfg.n_classes)

    @property
    def layers(self) -> list[nn.Module]:
        """The three group layers in order (lift, conv1, conv2)."""
        return [self.lift, self.conv1, self.conv2]

    def draw_samples(
        self,
        generator: torch.Generator | None = None,
        *,
        n: int | None = None,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str | None = None,
    ) -> list[GroupSample]:
        """One sample set per layer output: ``[H0, H0, H1]`` (the middle layer keeps its input's set)."""
        n = self.n_samples if n is None else check_int(n, "n", minimum=1)
        kw: dict[str, Any] = dict(
            spd_var=self.spd_var,
            rot=self.rot,
            rot_bound=self.rot_bound,
            generator=generator,
            dtype=dtype,
            device=device,
        )
        h0 = sample_group(self.group, n, **kw)
        h1 = sample_group(self.group, n, **kw)
        return [h0, h0, h1]

    def features(self, x: torch.Tensor, samples: list[GroupSample]) -> torch.Tensor:
        """Invariant features ``(B, channels)``: the max over group samples and space."""
        if not isinstance(samples, (list, tuple)) or len(samples) != 3:
            raise ValueError("samples must be a list of 3 GroupSample (one per layer output)")
        h = F.gelu(_rms_norm(self.lift(x, samples[0])))
        h = F.gelu(_rms_norm(self.conv1(h, samples[0], samples[1])))
        b, c, n = h.shape[:3]
        h = F.max_pool2d(h.reshape(b, c * n, *h.shape[-2:]), 2).reshape(
            b, c, n, *[s // 2 for s in h.shape[-2:]]
        )
        h = F.gelu(_rms_norm(self.conv2(h, samples[1], samples[2])))
        return h.amax(dim=(2, 3, 4))

    def forward(
        self,
        x: torch.Tensor,
        samples: list[GroupSample] | None = None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        x = check_tensor(x, "x", ndim=4, floating=True)
        if samples is None:
            samples = self.draw_samples(generator, dtype=x.dtype, device=x.device)
        return self.fc2(F.gelu(self.fc1(self.features(x, samples))))


class PlainCNN(nn.Module):
    """The baseline: three 5×5 convolutions (GELU, one 2×2 max-pool), global max, the same MLP head.

    ``forward(x: (B, C_in, H, W)) -> (B, n_classes)``.
    """

    def __init__(
        self,
        *,
        channels: tuple[int, int, int] = (8, 16, 32),
        head: int = 64,
        n_classes: int = 10,
        in_channels: int = 1,
        generator: torch.Generator | None = None,
    ):
        super().__init__()
        c1, c2, c3 = channels
        with seeded_init(generator):  # None: the global stream
            self.conv1 = nn.Conv2d(in_channels, c1, 5, padding=2)
            self.conv2 = nn.Conv2d(c1, c2, 5, padding=2)
            self.conv3 = nn.Conv2d(c2, c3, 5, padding=2)
            self.fc1 = nn.Linear(c3, head)
            self.fc2 = nn.Linear(head, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = check_tensor(x, "x", ndim=4, floating=True)
        h = F.gelu(self.conv1(x))
        h = F.max_pool2d(F.gelu(self.conv2(h)), 2)
        h = F.gelu(self.conv3(h)).amax(dim=(2, 3))
        return self.fc2(F.gelu(self.fc1(h)))


def _forward(
    model: nn.Module,
    x: torch.Tensor,
    generator: torch.Generator | None,
    samples: list[GroupSample] | None = None,
) -> torch.Tensor:
    if isinstance(model, AffineGCNN):
        return model(x, samples=samples, generator=generator)
    return model(x)


RESAMPLE = ("step", "epoch")


def train_classifier(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    steps: int = 100,
    batch_size: int = 100,
    lr: float = 3e-3,
    weight_decay: float = 0.0,
    generator: torch.Generator | None = None,
    resample: str = "step",
    desc: str | None = None,
) -> TrainResult:
    """Train with Adam (cosine learning-rate decay over ``steps``) on ``x: (N, C, H, W)``, ``y: (N,)``.

    Mini-batches walk through a shuffled copy of the data (a new permutation from
    ``generator`` at every pass; the last batch of a pass may be smaller), so
    ``steps = epochs · ⌈N / batch_size⌉`` trains for whole epochs. An :class:`AffineGCNN`
    draws fresh group samples from ``generator`` at every step (``resample="step"``, as the
    paper's code does) or once per pass (``"epoch"``: less gradient noise). The data move to
    the model's device and dtype. Returns a :class:`~companion.utils.TrainResult` with the
    training loss of every step, ``(steps,)``.
    """
    from ..utils import progress

    x = check_tensor(x, "x", ndim=4, floating=True)
    y = check_tensor(y, "y", ndim=1)
    check_same_len(x, y, "x and y")
    p = next(model.parameters(), None)
    if p is not None:  # train where the model lives
        x, y = x.to(p.device, p.dtype), y.to(p.device)
    steps = check_int(steps, "steps", minimum=1)
    check_choice(resample, "resample", RESAMPLE)
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    losses = []  # detached, on the device: read once at the end, not per step
    model.train()
    perm, pos, fixed = None, len(x), None
    for _ in progress(range(steps), desc=desc):
        if pos >= len(x):  # a new pass over the data
            perm, pos = torch.randperm(len(x), generator=generator).to(x.device), 0
            if resample == "epoch" and isinstance(model, AffineGCNN):
                fixed = model.draw_samples(generator, dtype=x.dtype, device=x.device)
        assert perm is not None
        idx = perm[pos : pos + batch_size]
        pos += batch_size
        loss = F.cross_entropy(_forward(model, x[idx], generator, fixed), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        losses.append(loss.detach())
    model.eval()
    loss_t = torch.stack(losses).cpu()
    return TrainResult(loss_t, {"loss": float(loss_t[-1])})


@torch.no_grad()
def predict(
    model: nn.Module,
    x: torch.Tensor,
    *,
    draws: int = 1,
    batch_size: int = 500,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Class probabilities ``(N, classes)``, averaged over ``draws`` group-sample draws (G-CNNs)."""
    x = check_tensor(x, "x", ndim=4, floating=True)
    draws = check_int(draws, "draws", minimum=1)
    model.eval()
    out = []
    for i in range(0, len(x), batch_size):
        xb = x[i : i + batch_size]
        reps = draws if isinstance(model, AffineGCNN) else 1
        probs = F.softmax(_forward(model, xb, generator), -1)
        for _ in range(reps - 1):
            probs = probs + F.softmax(_forward(model, xb, generator), -1)
        out.append(probs / reps)
    return torch.cat(out)


def classifier_accuracy(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    draws: int = 1,
    generator: torch.Generator | None = None,
) -> float:
    """Fraction of ``x`` classified as ``y`` (see :func:`predict`)."""
    y = check_tensor(y, "y", ndim=1)
    return float(
        (predict(model, x, draws=draws, generator=generator).argmax(-1) == y).float().mean()
    )
