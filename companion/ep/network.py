"""A layered recurrent network that relaxes to a fixed point, with real or complex states.

Notation (Laborieux & Zenke 2022, 2024). The state is the vector of pre-activations
``u = (u_1, ..., u_L)`` of ``L`` layers, flattened to one tensor ``u: (batch, n)`` with
``n = n_1 + ... + n_L``; the activations are ``a = σ(u)`` with the logistic sigmoid
``σ(z) = 1 / (1 + e^{-z})``, which is holomorphic away from its poles ``z = iπ(2k+1)``.
The input ``x: (batch, n_0)`` is clamped (it is ``a_0``). The *vector field* of the network is

.. math::

    Φ_l(a) = W_l a_{l-1} + b_l + B_{l+1} a_{l+1}, \\qquad
    Φ_L(a) = W_L a_{L-1} + b_L - β\\, ∂C/∂a_L,

with forward weights ``W_l: (n_l, n_{l-1})``, biases ``b_l: (n_l,)`` and backward weights
``B_{l+1}: (n_l, n_{l+1})``. The fixed point solves ``u = Φ(σ(u))``, and the discrete
dynamics are ``u ← Φ(σ(u))``. The cost ``C`` is either the squared error of the last layer,
``C(a_L) = ½‖a_L - y‖²`` (``cost="mse"``, ``n_L`` = number of classes), or the cross entropy of
a linear readout, ``C(a_L) = -Σ_c y_c log softmax(V a_L + c)_c`` (``cost="xent"``).

* **Energy-based (symmetric) form**, ``symmetric=True``: the backward weights are tied,
  ``B_{l+1} = W_{l+1}^T``. The block connectivity ``A = ∂Φ/∂a`` is then a symmetric matrix and
  the fixed point is a stationary point of the Hopfield energy :func:`hopfield_energy`.
* **General vector-field form**, ``symmetric=False``: ``B_{l+1}`` are free parameters; they are
  made asymmetric in a controlled way with :func:`rotate_backward_weights`.

Everything is a holomorphic function of the state, of ``β`` and (for real weights) has
the reflection property ``a(\\bar β) = \\overline{a(β)}``, which the estimators use.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from ..checks import check_bool, check_choice, check_int, check_number, check_tensor

__all__ = [
    "FixedPointError",
    "EPNetwork",
    "sigmoid",
    "complex_dtype",
    "hopfield_energy",
    "rotate_backward_weights",
    "weight_angles",
]


class FixedPointError(RuntimeError):
    """The fixed-point iteration did not converge (or produced non-finite states)."""


def sigmoid(z: torch.Tensor) -> torch.Tensor:
    """Logistic sigmoid, valid for real and complex ``z`` (holomorphic off ``iπ(2k+1)``)."""
    return torch.sigmoid(z)


def complex_dtype(dtype: torch.dtype) -> torch.dtype:
    """The complex dtype matching a real one (float32 → complex64, float64 → complex128)."""
    if dtype.is_complex:
        return dtype
    if dtype == torch.float64:
        return torch.complex128
    if dtype == torch.float32:
        return torch.complex64
    raise TypeError(f"dtype must be float32/float64 or complex64/complex128, got {dtype}")


def _softmax(z: torch.Tensor) -> torch.Tensor:
    """Softmax along the last axis, holomorphic for complex ``z`` (shift by the real max)."""
    shift = (
        z.real.amax(dim=-1, keepdim=True).detach()
        if z.is_complex()
        else z.amax(dim=-1, keepdim=True).detach()
    )
    e = torch.exp(z - shift)
    return e / e.sum(dim=-1, keepdim=True)


def _log_softmax(z: torch.Tensor) -> torch.Tensor:
    shift = (
        z.real.amax(dim=-1, keepdim=True).detach()
        if z.is_complex()
        else z.amax(dim=-1, keepdim=True).detach()
    )
    zs = z - shift
    return zs - torch.log(torch.exp(zs).sum(dim=-1, keepdim=True))


class EPNetwork(nn.Module):
    """Layered recurrent network ``u = Φ(σ(u))`` (see the module docstring for the math).

    Args:
        sizes: ``(n_0, n_1, ..., n_L)``: input size and the sizes of the ``L >= 1`` layers.
        n_classes: number of classes (``= n_L`` for ``cost="mse"``; the readout
            ``V: (n_classes, n_L)`` for ``cost="xent"``).
        cost: ``"mse"`` (bounded curvature: robust nudged dynamics) or ``"xent"``.
        symmetric: tie the backward weights to the transposed forward ones (energy-based form).
        init_scale: weights and biases start uniform in ``±init_scale/sqrt(fan_in)``.
        generator: seeds the initialisation.
        dtype, device: of the real parameters.
    """

    def __init__(
        self,
        sizes: Sequence[int],
        n_classes: int,
        *,
        symmetric: bool = True,
        cost: str = "mse",
        init_scale: float = 1.0,
        generator: torch.Generator | None = None,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str | None = None,
    ) -> None:
        super().__init__()
        if not isinstance(sizes, (list, tuple)) or len(sizes) < 2:
            raise ValueError(
                f"sizes must be a sequence (n_0, n_1, ..., n_L) with L >= 1, got {sizes!r}"
            )
        sizes = tuple(check_int(s, "sizes[i]", minimum=1) for s in sizes)
        n_classes = check_int(n_classes, "n_classes", minimum=2)
        check_bool(symmetric, "symmetric")
        check_choice(cost, "cost", ("mse", "xent"))
        if cost == "mse" and sizes[-1] != n_classes:
            raise ValueError(
                f"cost='mse' needs n_L = n_classes, got sizes[-1]={sizes[-1]} and "
                f"n_classes={n_classes}"
            )
        check_number(init_scale, "init_scale", minimum=0, open_min=True)
        if dtype not in (torch.float32, torch.float64):
            raise TypeError(f"dtype must be torch.float32 or torch.float64, got {dtype}")
        self.sizes = sizes
        self.n_classes = n_classes
        self.symmetric = symmetric
        self.cost_kind = cost
        self.n_layers = len(sizes) - 1
        self.n_state = sum(sizes[1:])
        offs = [0]
        for s in sizes[1:]:
            offs.append(offs[-1] + s)
        self.offsets = tuple(offs)

        def uniform(shape: tuple[int, ...], fan_in: int) -> nn.Parameter:
            bound = init_scale / math.sqrt(fan_in)
            t = (torch.rand(shape, generator=generator, dtype=dtype) * 2 - 1) * bound
            return nn.Parameter(t.to(device))

        self.W = nn.ParameterList(
            [uniform((sizes[l], sizes[l - 1]), sizes[l - 1]) for l in range(1, len(sizes))]
        )
        self.b = nn.ParameterList(
            [uniform((sizes[l],), sizes[l - 1]) for l in range(1, len(sizes))]
        )
        # B[k] carries layer k+2 back to layer k+1 (shape (n_{k+1}, n_{k+2})); tied: B[k] = W[k+1]^T.
        if symmetric:
            self.B = nn.ParameterList()
        else:
            self.B = nn.ParameterList(
                [nn.Parameter(self.W[l].detach().T.clone()) for l in range(1, self.n_layers)]
            )
        if cost == "xent":
            self.V = uniform((n_classes, sizes[-1]), sizes[-1])
            self.c = nn.Parameter(torch.zeros(n_classes, dtype=dtype, device=device))

    # ------------------------------------------------------------------ helpers
    @property
    def dtype(self) -> torch.dtype:
        return self.W[0].dtype

    @property
    def device(self) -> torch.device:
        return self.W[0].device

    def network_parameters(self) -> list[nn.Parameter]:
        """The parameters of the recurrent network (``W``, ``b`` and, if free, ``B``)."""
        return [*self.W, *self.b, *self.B]

    def readout_parameters(self) -> list[nn.Parameter]:
        """The readout ``V, c`` for ``cost="xent"`` (the cost depends on them directly), else ``[]``."""
        return [self.V, self.c] if self.cost_kind == "xent" else []

    def backward_weights(self) -> list[torch.Tensor]:
        """``[B_2, ..., B_L]``: the free ones, or ``W^T`` when tied."""
        if self.symmetric:
            return [w.T for w in self.W[1:]]
        return list(self.B)

    def split(self, u: torch.Tensor) -> list[torch.Tensor]:
        """``u: (..., n)`` → ``[u_1: (..., n_1), ..., u_L: (..., n_L)]``."""
        return [u[..., self.offsets[l] : self.offsets[l + 1]] for l in range(self.n_layers)]

    def zero_state(self, x: torch.Tensor) -> torch.Tensor:
        """The initial state ``u = 0: (batch, n)`` in ``x``'s dtype and device."""
        return torch.zeros(x.shape[0], self.n_state, dtype=x.dtype, device=x.device)

    def check_inputs(self, x: object, y: object | None = None) -> None:
        """Validate ``x: (batch, n_0)`` (finite) and one-hot ``y: (batch, n_classes)``."""
        check_tensor(x, "x", ndim=2, last_dims=(self.sizes[0],), floating=True)
        assert isinstance(x, torch.Tensor)
        if not torch.isfinite(x).all():
            raise ValueError("x must be finite (it holds NaN or inf)")
        if y is not None:
            check_tensor(y, "y", ndim=2, last_dims=(self.n_classes,), floating=True)
            assert isinstance(y, torch.Tensor)
            if y.shape[0] != x.shape[0]:
                raise ValueError(
                    f"y must have the batch size of x ({x.shape[0]}), got {y.shape[0]}"
                )
            if not torch.isfinite(y).all():
                raise ValueError("y must be finite (it holds NaN or inf)")

    # ------------------------------------------------------------------ the model
    def logits(self, a_last: torch.Tensor) -> torch.Tensor:
        """Class scores ``(batch, n_classes)``: ``a_L`` (mse) or ``V a_L + c`` (xent)."""
        if self.cost_kind == "mse":
            return a_last
        return a_last @ self.V.T.to(a_last.dtype) + self.c.to(a_last.dtype)

    def cost(self, a: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Per-sample cost ``C_i: (batch,)`` at activations ``a: (batch, n)``."""
        a_last = self.split(a)[-1]
        if self.cost_kind == "mse":
            return 0.5 * (a_last - y.to(a.dtype)).pow(2).sum(-1)
        z = self.logits(a_last)
        return -(y.to(z.dtype) * _log_softmax(z)).sum(dim=-1)

    def dcost(self, a_last: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """``∂C_i/∂a_L: (batch, n_L)``: ``a_L - y`` or ``V^T (softmax(z) - y)`` (holomorphic)."""
        if self.cost_kind == "mse":
            return a_last - y.to(a_last.dtype)
        z = self.logits(a_last)
        return (_softmax(z) - y.to(z.dtype)) @ self.V.to(z.dtype)

    def _nudge(
        self, beta: torch.Tensor | complex | float, dt: torch.dtype, device: torch.device
    ) -> torch.Tensor | None:
        """``β`` as a tensor of the state's dtype ``dt`` (``None`` for ``β = 0``).

        A Python number goes straight to ``dt``: through torch's default float32 a float64
        state would be nudged by a β that is off by ~1e-8 relative, an error floor for
        classic EP at small β.
        """
        if isinstance(beta, (int, float, complex)) and beta == 0:
            return None
        if isinstance(beta, torch.Tensor):
            b = beta.to(device)
        elif isinstance(beta, complex):
            b = torch.tensor(beta, dtype=dt if dt.is_complex else None)
        else:
            b = torch.tensor(beta, dtype=dt)
        if b.is_complex() and not dt.is_complex:
            raise ValueError("a complex beta needs a complex state")
        b = b.to(device=device, dtype=dt)
        return b[:, None] if b.ndim == 1 else b

    def field_layer(
        self,
        l: int,
        acts: list[torch.Tensor],
        y: torch.Tensor | None,
        beta: torch.Tensor | None,
        *,
        drive: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """``Φ_l`` (layer ``l`` in ``1..L``) from ``acts = [x, a_1, ..., a_L]``; ``beta`` as from ``_nudge``.

        ``drive``: the input drive ``W_1 x + b_1: (batch, n_1)`` of layer 1, when the caller
        has computed it once (it does not change while the network relaxes).
        """
        dt = acts[1].dtype
        if l == 1 and drive is not None:
            h = drive
        else:
            h = acts[l - 1] @ self.W[l - 1].T.to(dt) + self.b[l - 1].to(dt)
        if l < self.n_layers:
            Bt = self.W[l].to(dt) if self.symmetric else self.B[l - 1].T.to(dt)
            h = h + acts[l + 1] @ Bt
        elif beta is not None:
            if y is None:
                raise ValueError("y is needed for a nonzero teaching signal beta")
            h = h - beta * self.dcost(acts[l], y)
        return h

    def field(
        self,
        a: torch.Tensor,
        x: torch.Tensor,
        y: torch.Tensor | None = None,
        beta: torch.Tensor | complex | float = 0.0,
    ) -> torch.Tensor:
        """The vector field ``Φ(a): (batch, n)`` at activations ``a: (batch, n)``.

        ``beta`` is a scalar or a ``(batch,)`` tensor (one teaching signal per row); the
        nudge ``-β ∂C/∂a_L`` needs the one-hot targets ``y``. ``Φ`` is affine in ``a`` at
        ``β = 0`` (its Jacobian is :meth:`connectivity`).
        """
        acts = [x.to(a.dtype), *self.split(a)]
        b = self._nudge(beta, a.dtype, a.device)
        return torch.cat(
            [self.field_layer(l, acts, y, b) for l in range(1, self.n_layers + 1)], dim=-1
        )

    def step(
        self,
        u: torch.Tensor,
        x: torch.Tensor,
        y: torch.Tensor | None = None,
        beta: torch.Tensor | complex | float = 0.0,
    ) -> torch.Tensor:
        """One step of the discrete dynamics ``u ← Φ(σ(u))``."""
        return self.field(sigmoid(u), x, y, beta)

    def connectivity(self) -> torch.Tensor:
        """The block matrix ``A = ∂Φ/∂a: (n, n)`` at ``β = 0`` (symmetric iff weights are tied)."""
        A = torch.zeros(self.n_state, self.n_state, dtype=self.dtype, device=self.device)
        o = self.offsets
        Bs = self.backward_weights()
        for l in range(1, self.n_layers):  # W_{l+1}: layer l → l+1 ; B: l+1 → l
            A[o[l] : o[l + 1], o[l - 1] : o[l]] = self.W[l]
            A[o[l - 1] : o[l], o[l] : o[l + 1]] = Bs[l - 1]
        return A

    @torch.no_grad()
    def solve(
        self,
        x: torch.Tensor,
        y: torch.Tensor | None = None,
        beta: torch.Tensor | complex | float = 0.0,
        *,
        u0: torch.Tensor | None = None,
        tol: float | None = None,
        max_iter: int = 1000,
        damping: float = 1.0,
        schedule: str = "alternating",
    ) -> torch.Tensor:
        """Iterate ``u ← (1-τ) u + τ Φ(σ(u))`` to the fixed point ``u*: (batch, n)``.

        ``schedule="alternating"`` updates the odd layers, then the even ones from the new odd
        ones (layers only talk to their neighbours, so for tied weights each half-sweep
        minimises the energy over half the layers and the iteration cannot oscillate);
        ``"synchronous"`` updates all layers at once (the discrete dynamics). Both stop at the
        same fixed points.

        The state is complex (``complex64``/``complex128`` matching the parameters) as soon as
        ``beta`` or ``u0`` is complex. Converged when a sweep moves no state by more than ``tol``
        (default ``1e-5`` in single, ``1e-12`` in double precision).

        Raises:
            FixedPointError: no convergence within ``max_iter`` steps, or non-finite states.
        """
        self.check_inputs(x, y)
        max_iter = check_int(max_iter, "max_iter", minimum=1)
        if not (isinstance(damping, (int, float)) and 0 < damping <= 1):
            raise ValueError(f"damping must lie in (0, 1], got {damping!r}")
        if schedule not in ("alternating", "synchronous"):
            raise ValueError(f"schedule must be 'alternating' or 'synchronous', got {schedule!r}")
        beta_t = torch.as_tensor(beta)
        if not torch.isfinite(beta_t).all():
            raise ValueError(f"beta must be finite, got {beta!r}")
        dt = self.dtype
        if beta_t.is_complex() or (u0 is not None and u0.is_complex()):
            dt = complex_dtype(dt)
        if tol is None:
            tol = 1e-5 if dt in (torch.float32, torch.complex64) else 1e-12
        tol = check_number(tol, "tol", minimum=0, open_min=True)
        u = self.zero_state(x).to(dt) if u0 is None else u0.to(dt).clone()
        if u.shape != (x.shape[0], self.n_state):
            raise ValueError(
                f"u0 must have shape {(x.shape[0], self.n_state)}, got {tuple(u.shape)}"
            )
        # W_1 x + b_1 is constant while the network relaxes; for 784-pixel inputs it is most
        # of the cost of a sweep, so compute it once (in the real dtype when x is real).
        w1, b1 = self.W[0].detach(), self.b[0].detach()
        if x.is_complex():
            drive = x.to(dt) @ w1.T.to(dt) + b1.to(dt)
        else:
            drive = (x.to(self.dtype) @ w1.T + b1).to(dt)
        x = x.to(dt)
        b = self._nudge(beta, dt, x.device)
        layers = list(range(1, self.n_layers + 1))
        if schedule == "alternating":
            sweeps = [g for g in (layers[0::2], layers[1::2]) if g]
        else:
            sweeps = [layers]
        res = float("inf")
        for it in range(1, max_iter + 1):
            res = 0.0
            for group in sweeps:
                acts = [x, *self.split(sigmoid(u))]
                parts = self.split(u)
                new = {l: self.field_layer(l, acts, y, b, drive=drive) for l in group}
                for l, h in new.items():
                    res = max(res, float((h - parts[l - 1]).abs().amax()) if h.numel() else 0.0)
                u = torch.cat(
                    [
                        (1 - damping) * parts[l - 1] + damping * new[l]
                        if l in new
                        else parts[l - 1]
                        for l in layers
                    ],
                    dim=-1,
                )
            if not math.isfinite(res):
                raise FixedPointError(
                    f"fixed-point iteration diverged (non-finite state) after {it} "
                    "steps; reduce the weights' scale, |beta| or the damping"
                )
            if res <= tol:
                return u
        raise FixedPointError(
            f"fixed-point iteration did not converge: last sweep moved "
            f"the state by {res:.3e} > tol = {tol:.1e} after {max_iter} steps; "
            "increase max_iter, lower the damping, or shrink the weights / |beta|"
        )


def hopfield_energy(
    net: EPNetwork,
    a: torch.Tensor,
    x: torch.Tensor,
    y: torch.Tensor | None = None,
    beta: float = 0.0,
) -> torch.Tensor:
    """Hopfield energy ``E(a): (batch,)`` of a symmetric network (real activations in (0, 1)).

    .. math::

        E(a) = Σ_i [a_i \\log a_i + (1-a_i)\\log(1-a_i)] - Σ_l a_l^T W_l a_{l-1} - Σ_l b_l^T a_l
               + β C(a_L),

    so that ``∂E/∂a = σ^{-1}(a) - Φ(a)``: the fixed points ``u = Φ(σ(u))`` are exactly its
    stationary points, and ``dE/dθ`` gives classic EP's contrastive rule.
    """
    if not isinstance(net, EPNetwork):
        raise TypeError(f"net must be an EPNetwork, got {type(net).__name__}")
    if not net.symmetric:
        raise ValueError("energy needs a symmetric network (tied backward weights)")
    check_tensor(a, "a", ndim=2, last_dims=(net.n_state,), floating=True)
    if a.is_complex() or not ((a > 0) & (a < 1)).all():
        raise ValueError("a must be real activations in (0, 1)")
    acts = [x.to(a.dtype), *net.split(a)]
    e = (a * torch.log(a) + (1 - a) * torch.log1p(-a)).sum(-1)
    for l in range(1, net.n_layers + 1):
        e = e - ((acts[l - 1] @ net.W[l - 1].T) * acts[l]).sum(-1) - acts[l] @ net.b[l - 1]
    if beta != 0:
        if y is None:
            raise ValueError("y is needed for a nonzero beta")
        e = e + beta * net.cost(a, y)
    return e


def _frob_angle(p: torch.Tensor, q: torch.Tensor) -> float:
    p, q = p.double(), q.double()
    cos = float((p * q).sum() / (p.norm() * q.norm()))
    return math.degrees(math.acos(max(-1.0, min(1.0, cos))))


@torch.no_grad()
def rotate_backward_weights(
    net: EPNetwork, angle: float, *, generator: torch.Generator | None = None
) -> EPNetwork:
    """Set each ``B_{l+1}`` at an angle ``angle`` (degrees) from ``W_{l+1}^T``, keeping its norm.

    With ``R`` a Gaussian matrix made Frobenius-orthogonal to ``W^T`` and scaled to its norm,
    ``B = cos(φ) W^T + sin(φ) R``, so ``⟨B, W^T⟩_F = cos(φ) ‖W‖_F^2`` exactly. Needs
    ``symmetric=False``. Returns ``net`` (modified in place).
    """
    if not isinstance(net, EPNetwork):
        raise TypeError(f"net must be an EPNetwork, got {type(net).__name__}")
    if net.symmetric:
        raise ValueError("rotate_backward_weights needs a network built with symmetric=False")
    angle = check_number(angle, "angle", minimum=0, maximum=180)  # degrees
    phi = math.radians(angle)
    for k, B in enumerate(net.B):
        wt = net.W[k + 1].T
        r = torch.randn(wt.shape, generator=generator, dtype=wt.dtype).to(wt.device)
        r = r - (r * wt).sum() / (wt * wt).sum() * wt
        r = r * (wt.norm() / r.norm())
        B.copy_(math.cos(phi) * wt + math.sin(phi) * r)
    return net


def weight_angles(net: EPNetwork) -> list[float]:
    """Angles (degrees) between each ``B_{l+1}`` and ``W_{l+1}^T`` (zeros when tied)."""
    if not isinstance(net, EPNetwork):
        raise TypeError(f"net must be an EPNetwork, got {type(net).__name__}")
    with torch.no_grad():
        return [_frob_angle(B, W.T) for B, W in zip(net.backward_weights(), net.W[1:], strict=True)]
