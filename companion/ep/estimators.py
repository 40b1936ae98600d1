"""Gradients of the loss at the fixed point: the reference and equilibrium propagation.

Setting (see :mod:`companion.ep.network`): ``u* = Φ(σ(u*))``, ``a* = σ(u*)``, loss
``L(θ) = mean_i C_i(a*_i)``. With ``D = diag σ'(u*)``, ``A = ∂Φ/∂a`` and ``c = ∂C/∂a``,

* **reference** (implicit differentiation at the fixed point):
  ``∇_θ L = (∂Φ/∂θ)^T λ + ∂C/∂θ`` with the adjoint ``λ = D A^T λ + D c`` (:func:`implicit_gradient`;
  :func:`unrolled_gradient` backpropagates through the unrolled dynamics instead);
* **EP**: the nudged fixed point ``u(β) = Φ_β(σ(u(β)))``, ``Φ_β = Φ - β c``, has
  ``da/dβ|_0 = -(I - D A)^{-1} D c``, which equals ``-λ`` when ``A = A^T``. EP therefore estimates
  ``∇_θ L ≈ -(∂Φ/∂θ)^T \\widehat{da/dβ} + ∂C/∂θ`` (:func:`gradient_from_dadbeta`), and the
  estimators differ only in how they get ``da/dβ``:

  - classic one-sided ``(a(β) - a(0))/β`` (error ``O(β)``) and symmetric
    ``(a(β) - a(-β))/(2β)`` (error ``O(β²)``) — :func:`dadbeta_classic`;
  - holomorphic EP: ``β_k = r e^{2πik/N}``, ``\\frac1N Σ_k a(β_k)/β_k`` — the trapezoidal rule
    for Cauchy's integral ``\\frac{1}{2πi}∮ a(β)/β^2 dβ``, whose error is
    ``Σ_{m≥1} a_{mN+1} r^{mN}`` (``a_j`` the Taylor coefficients): geometric in ``N`` —
    :func:`dadbeta_hep`;
  - the exact derivative by the implicit function theorem — :func:`dadbeta_exact`.

  With asymmetric weights (``A ≠ A^T``) the same formula is *generalised hEP*; its bias
  ``(I - DA)^{-1} D c - (I - DA^T)^{-1} D c`` comes from the asymmetry of the Jacobian.

Gradients are returned as lists aligned with ``list(net.parameters())``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from ..checks import check_choice, check_int, check_number, check_tensor
from .network import EPNetwork, complex_dtype, sigmoid

__all__ = [
    "EP_METHODS",
    "Estimator",
    "free_state",
    "loss_at",
    "implicit_gradient",
    "unrolled_gradient",
    "dadbeta_exact",
    "dadbeta_classic",
    "dadbeta_hep",
    "hep_responses",
    "gradient_from_dadbeta",
    "ep_gradient",
    "flatten",
    "cosine_similarity",
    "relative_error",
]


#: The one vocabulary of gradient methods (:func:`ep_gradient`, :class:`Estimator`, ``train``):
#: ``"bp"`` the true gradient (implicit differentiation, recurrent backprop); ``"exact"`` EP's
#: formula with the exact ``da/dβ`` (equal to ``"bp"`` iff the Jacobian is symmetric);
#: ``"hep"`` holomorphic EP; ``"one-sided"`` / ``"symmetric"`` classic EP.
EP_METHODS = ("bp", "exact", "hep", "one-sided", "symmetric")


def _check_net(net: object) -> EPNetwork:
    if not isinstance(net, EPNetwork):
        raise TypeError(f"net must be an EPNetwork, got {type(net).__name__}")
    return net


def free_state(net: EPNetwork, x: torch.Tensor, **solve_kw) -> torch.Tensor:
    """The free (``β = 0``) fixed point ``u*: (batch, n)``.

    Keywords go to :meth:`~companion.ep.network.EPNetwork.solve`.
    """
    return _check_net(net).solve(x, **solve_kw)


def loss_at(net: EPNetwork, u: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean cross entropy ``L = mean_i C_i(σ(u_i))`` at a state ``u: (batch, n)``."""
    return _check_net(net).cost(sigmoid(u), y).mean()


def _jacobian_factors(net: EPNetwork, u: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``A = ∂Φ/∂a: (n, n)`` and ``d = σ'(u): (batch, n)``: the Jacobian of ``u ↦ Φ(σ(u))`` is ``A diag(d)``."""
    a = sigmoid(u)
    return net.connectivity().to(u.dtype), a * (1 - a)


def implicit_gradient(
    net: EPNetwork,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    u: torch.Tensor | None = None,
    tol: float | None = None,
    max_iter: int = 1000,
) -> list[torch.Tensor]:
    """Reference gradient ``∇_θ L`` by implicit differentiation at the fixed point.

    Differentiating ``u* = Φ(σ(u*))`` gives ``du* = A D du* + (∂Φ/∂θ) dθ``, hence
    ``∇_θ L = (∂Φ/∂θ)^T λ + ∂L/∂θ`` with the adjoint ``(I - D A^T) λ = D ∂L/∂a``, solved
    exactly per sample (``torch.linalg.solve`` on ``(batch, n, n)``). Returns a list aligned
    with ``net.parameters()``. ``tol``/``max_iter`` go to the free-phase solve when ``u`` is None.
    """
    net = _check_net(net)
    net.check_inputs(x, y)
    if u is None:
        u = net.solve(x, tol=tol, max_iter=max_iter)
    check_tensor(u, "u", ndim=2, last_dims=(net.n_state,), floating=True)
    params = list(net.parameters())
    u = u.detach()
    with torch.enable_grad():
        a = sigmoid(u).requires_grad_(True)
        loss = net.cost(a, y).mean()
        (dl_da,) = torch.autograd.grad(loss, a, retain_graph=True)
        A, d = _jacobian_factors(net, u)
        eye = torch.eye(net.n_state, dtype=u.dtype, device=u.device)
        lam = torch.linalg.solve(eye - d[:, :, None] * A.T, (d * dl_da)[:, :, None])[..., 0]
        out = net.field(a.detach(), x)
        g_phi = torch.autograd.grad(out, params, grad_outputs=lam, allow_unused=True)
        g_dir = _direct(net, loss, params)
    return [_add(p, ga, gb) for p, ga, gb in zip(params, g_phi, g_dir, strict=True)]


def _direct(
    net: EPNetwork, loss: torch.Tensor, params: Sequence[torch.Tensor]
) -> tuple[torch.Tensor | None, ...]:
    """``∂L/∂θ`` at fixed state: nonzero only for the readout (``cost="xent"``)."""
    if not net.readout_parameters():
        return (None,) * len(params)
    return torch.autograd.grad(loss, params, allow_unused=True)


def _add(p: torch.Tensor, a: torch.Tensor | None, b: torch.Tensor | None) -> torch.Tensor:
    out = torch.zeros_like(p)
    if a is not None:
        out = out + a
    if b is not None:
        out = out + b
    return out.detach()


def unrolled_gradient(
    net: EPNetwork, x: torch.Tensor, y: torch.Tensor, *, n_steps: int = 200
) -> list[torch.Tensor]:
    """Backprop through ``n_steps`` unrolled steps ``u ← Φ(σ(u))`` from ``u = 0`` (BPTT).

    An independent check of :func:`implicit_gradient`: both agree once the unrolled
    dynamics have converged.
    """
    net = _check_net(net)
    net.check_inputs(x, y)
    n_steps = check_int(n_steps, "n_steps", minimum=1)
    params = list(net.parameters())
    with torch.enable_grad():
        u = net.zero_state(x)
        for _ in range(n_steps):
            u = net.step(u, x)
        g = torch.autograd.grad(loss_at(net, u, y), params, allow_unused=True)
    return [_add(p, a, None) for p, a in zip(params, g, strict=True)]


def dadbeta_exact(
    net: EPNetwork, x: torch.Tensor, y: torch.Tensor, u: torch.Tensor
) -> torch.Tensor:
    """Exact ``da*/dβ: (batch, n)`` at ``β = 0`` by the implicit function theorem.

    ``du/dβ = A D du/dβ - c`` with ``c = ∂C_i/∂a`` (zero outside the last layer), so
    ``da/dβ = -(I - D A)^{-1} D c``, solved per sample.
    """
    net = _check_net(net)
    net.check_inputs(x, y)
    check_tensor(u, "u", ndim=2, last_dims=(net.n_state,), floating=True)
    u = u.detach()
    with torch.no_grad():
        c = torch.zeros_like(u)
        c[:, net.offsets[-2] :] = net.dcost(net.split(sigmoid(u))[-1], y)
        A, d = _jacobian_factors(net, u)
        eye = torch.eye(net.n_state, dtype=u.dtype, device=u.device)
        return -torch.linalg.solve(eye - d[:, :, None] * A, (d * c)[:, :, None])[..., 0]


def _check_beta(beta: object, name: str) -> float:
    return check_number(beta, name, minimum=0, open_min=True)


def dadbeta_classic(
    net: EPNetwork,
    x: torch.Tensor,
    y: torch.Tensor,
    u: torch.Tensor,
    beta: float,
    *,
    mode: str = "one-sided",
    tol: float | None = None,
    max_iter: int = 1000,
) -> torch.Tensor:
    """Classic EP's finite difference for ``da/dβ: (batch, n)`` with a real nudge ``β > 0``.

    ``mode="one-sided"``: ``(a(β) - a(0))/β``; ``mode="symmetric"``: ``(a(β) - a(-β))/(2β)``.
    """
    net = _check_net(net)
    beta = _check_beta(beta, "beta")
    if mode not in ("one-sided", "symmetric"):
        raise ValueError(f"mode must be 'one-sided' or 'symmetric', got {mode!r}")
    a_plus = sigmoid(net.solve(x, y, beta, u0=u, tol=tol, max_iter=max_iter))
    if mode == "one-sided":
        return (a_plus - sigmoid(u)) / beta
    a_minus = sigmoid(net.solve(x, y, -beta, u0=u, tol=tol, max_iter=max_iter))
    return (a_plus - a_minus) / (2 * beta)


def hep_responses(
    net: EPNetwork,
    x: torch.Tensor,
    y: torch.Tensor,
    u: torch.Tensor,
    n: int,
    r: float,
    *,
    tol: float | None = None,
    max_iter: int = 1000,
    all_points: bool = False,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Fixed points at the teaching signals ``β_k = r e^{2πik/N}``.

    Returns ``(betas: (K,), a: (K, batch, n))`` complex, for ``k = 0..⌊N/2⌋`` (the others are
    complex conjugates for real weights) or, with ``all_points=True``, ``k = 0..N-1``. All
    ``K`` nudged problems are solved in one batched fixed-point iteration, warm-started at ``u``.
    """
    net = _check_net(net)
    n = check_int(n, "N", minimum=2)
    r = _check_beta(r, "r")
    net.check_inputs(x, y)
    check_tensor(u, "u", ndim=2, last_dims=(net.n_state,), floating=True)
    ks = torch.arange(n if all_points else n // 2 + 1)
    cdt = complex_dtype(net.dtype)
    betas = (r * torch.exp(2j * math.pi * ks.to(torch.float64) / n)).to(cdt).to(x.device)
    k, bsz = len(ks), x.shape[0]
    xs, ys = x.repeat(k, 1), y.repeat(k, 1)
    bs = betas.repeat_interleave(bsz)
    us = net.solve(xs, ys, bs, u0=u.repeat(k, 1).to(cdt), tol=tol, max_iter=max_iter)
    return betas, sigmoid(us).reshape(k, bsz, -1)


def dadbeta_hep(
    net: EPNetwork,
    x: torch.Tensor,
    y: torch.Tensor,
    u: torch.Tensor,
    n: int,
    r: float,
    *,
    tol: float | None = None,
    max_iter: int = 1000,
) -> torch.Tensor:
    """Holomorphic EP's ``da/dβ ≈ \\frac1N Σ_{k<N} a(β_k)/β_k``, ``β_k = r e^{2πik/N}``, ``N >= 2``.

    Uses ``a(\\bar β) = \\overline{a(β)}``: only ``k <= N/2`` are solved and paired as
    ``2 Re``. Real tensor ``(batch, n)``.
    """
    betas, a = hep_responses(net, x, y, u, n, r, tol=tol, max_iter=max_iter)
    w = torch.full((len(betas),), 2.0, dtype=a.real.dtype, device=a.device)
    w[0] = 1.0
    if n % 2 == 0:
        w[-1] = 1.0
    return ((a / betas[:, None, None]).real * w[:, None, None]).sum(0) / n


def gradient_from_dadbeta(
    net: EPNetwork, x: torch.Tensor, y: torch.Tensor, u: torch.Tensor, dadbeta: torch.Tensor
) -> list[torch.Tensor]:
    """EP's gradient ``-(∂Φ/∂θ)^T \\widehat{da/dβ} / batch + ∂L/∂θ`` (list like ``net.parameters()``).

    For a forward weight ``W_l`` this is the local rule ``-mean_i \\hat{δ}_{l,i} a_{l-1,i}^T``.
    """
    net = _check_net(net)
    check_tensor(dadbeta, "dadbeta", ndim=2, last_dims=(net.n_state,), floating=True)
    if dadbeta.is_complex():
        raise TypeError("dadbeta must be real")
    params = list(net.parameters())
    with torch.enable_grad():
        us = u.detach()
        out = net.step(us, x)
        g_phi = torch.autograd.grad(
            out, params, grad_outputs=-dadbeta.to(out.dtype) / x.shape[0], allow_unused=True
        )
        g_dir = _direct(net, loss_at(net, us, y), params)
    return [_add(p, a, b) for p, a, b in zip(params, g_phi, g_dir, strict=True)]


def ep_gradient(
    net: EPNetwork,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    method: str = "hep",
    n: int = 4,
    r: float = 0.5,
    beta: float = 0.1,
    u: torch.Tensor | None = None,
    tol: float | None = None,
    max_iter: int = 1000,
) -> list[torch.Tensor]:
    """One gradient estimate, ``method`` in :data:`EP_METHODS`.

    ``"hep"`` uses ``n`` nudges on the circle of radius ``r``; the classic ones use ``beta``;
    ``"exact"`` uses the forward-mode ``da/dβ`` (equal to the true gradient iff weights are
    tied); ``"bp"`` is the true gradient itself (:func:`implicit_gradient`).
    """
    net = _check_net(net)
    check_choice(method, "method", EP_METHODS)
    net.check_inputs(x, y)
    if u is None:
        u = net.solve(x, tol=tol, max_iter=max_iter)
    if method == "bp":
        return implicit_gradient(net, x, y, u=u, max_iter=max_iter)
    if method == "hep":
        d = dadbeta_hep(net, x, y, u, n, r, tol=tol, max_iter=max_iter)
    elif method in ("one-sided", "symmetric"):
        d = dadbeta_classic(net, x, y, u, beta, mode=method, tol=tol, max_iter=max_iter)
    else:
        d = dadbeta_exact(net, x, y, u)
    return gradient_from_dadbeta(net, x, y, u, d)


@dataclass(frozen=True)
class Estimator:
    """How :func:`~companion.ep.train.train` gets its gradient: the settings of :func:`ep_gradient`.

    Attributes:
        method: one of :data:`EP_METHODS`.
        n: nudges on the circle (``"hep"``, ``n >= 2``).
        r: their radius ``|β|`` (``"hep"``).
        beta: the real nudge of classic EP (``"one-sided"``, ``"symmetric"``).
        max_iter: fixed-point iterations allowed per relaxation.
        tol: convergence tolerance of the relaxations (``None``: by dtype, see
            :meth:`~companion.ep.network.EPNetwork.solve`).
    """

    method: str = "hep"
    n: int = 4
    r: float = 0.5
    beta: float = 0.1
    max_iter: int = 1000
    tol: float | None = None

    def __post_init__(self) -> None:
        check_choice(self.method, "method", EP_METHODS)
        check_int(self.n, "n", minimum=2)
        _check_beta(self.r, "r")
        _check_beta(self.beta, "beta")
        check_int(self.max_iter, "max_iter", minimum=1)
        if self.tol is not None:
            check_number(self.tol, "tol", minimum=0, open_min=True)

    def gradient(
        self, net: EPNetwork, x: torch.Tensor, y: torch.Tensor, u: torch.Tensor | None = None
    ) -> list[torch.Tensor]:
        """:func:`ep_gradient` with these settings (``u``: the free fixed point, if known)."""
        return ep_gradient(
            net,
            x,
            y,
            method=self.method,
            n=self.n,
            r=self.r,
            beta=self.beta,
            u=u,
            tol=self.tol,
            max_iter=self.max_iter,
        )


def flatten(grads: list[torch.Tensor], *, network_only: EPNetwork | None = None) -> torch.Tensor:
    """Concatenate a gradient list into one vector (only the recurrent part if ``network_only``)."""
    if not isinstance(grads, (list, tuple)) or not grads:
        raise TypeError("grads must be a non-empty list of tensors")
    if network_only is not None:
        grads = list(grads)[: len(network_only.network_parameters())]
    return torch.cat([g.reshape(-1) for g in grads])


def cosine_similarity(
    g: list[torch.Tensor], h: list[torch.Tensor], *, network_only: EPNetwork | None = None
) -> float:
    """Cosine between two gradient lists (optionally only the recurrent network's part)."""
    a, b = flatten(g, network_only=network_only), flatten(h, network_only=network_only)
    return float((a * b).sum() / (a.norm() * b.norm()))


def relative_error(
    g: list[torch.Tensor], ref: list[torch.Tensor], *, network_only: EPNetwork | None = None
) -> float:
    """``‖g - ref‖ / ‖ref‖`` over the concatenated gradients."""
    a, b = flatten(g, network_only=network_only), flatten(ref, network_only=network_only)
    return float((a - b).norm() / b.norm())
