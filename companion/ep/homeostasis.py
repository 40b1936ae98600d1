"""Jacobian homeostasis: measure and penalise the asymmetry of the network's Jacobian.

**Which Jacobian.** At the free fixed point, generalised EP's bias comes from ``J ≠ J^T`` where
``J = ∂F/∂a`` is the Jacobian of the vector field *without the activation*,
``F(a) = Φ(a) - a``, taken in activation coordinates at ``a = σ(u*)``. This is the field the
authors' code differentiates (``vfield_no_act`` in ``vf_jac`` and ``homeo_loss`` of
Laborieux & Zenke 2024, ``generalized-holo-ep``). The reason: the bias of EP's ``da/dβ`` against
the adjoint is ``(I - DA^T)^{-1} D (A^T - A) (I - DA)^{-1} D c`` (see
:mod:`companion.ep.estimators`), and ``A^T - A = J^T - J`` for this ``J = A - I``. The Jacobian
of the dynamics in the pre-activation state, ``∂(Φ(σ(u)) - u)/∂u = A D - I`` with
``D = diag σ'(u)``, is *not* symmetric even for tied weights (it is self-adjoint in the
``D``-weighted inner product instead), so penalising its asymmetry would push a network that EP
already treats exactly. :func:`network_jacobian` returns both (``coordinates=``).

For the layered network of :mod:`companion.ep.network`, ``Φ`` is affine in ``a``, so
``J = A - I`` is the same at every state and every fixed point. That is a property of this
field and this architecture, not of homeostasis in general: with a non-linear coupling (the
authors' convolutional network sends its feedback through a softmax pooling) ``J`` depends on
the fixed point, and the state-coordinate Jacobian depends on it through ``D`` for any
architecture.

For Gaussian ``ε ~ N(0, I_n)``,

.. math::

    E_ε\\big[‖Jε‖^2 - ε^T J^2 ε\\big] = \\operatorname{tr}(J^T J) - \\operatorname{tr}(J^2)
    = \\tfrac12 ‖J - J^T‖_F^2,

so ``(‖Jε‖² - εᵀJ(Jε))/n`` — two Jacobian-vector products, no ``n × n`` matrix — is an
unbiased estimate of ``½‖J - Jᵀ‖²_F / n`` that can be added to the training loss.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..checks import check_int, check_square, check_tensor
from .network import EPNetwork, sigmoid

__all__ = [
    "COORDINATES",
    "homeostatic_loss",
    "network_field",
    "network_homeostatic_loss",
    "network_jacobian",
    "asymmetry",
    "symmetry_score",
]


def homeostatic_loss(
    f: Callable[[torch.Tensor], torch.Tensor],
    a: torch.Tensor,
    *,
    n_samples: int = 1,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Monte Carlo estimate of ``mean_i ½‖J_i - J_i^T‖²_F / n`` with two ``torch.func.jvp``.

    Args:
        f: a vector field ``(batch, n) → (batch, n)`` acting row by row, so that
           ``J_i = ∂f(a)_i/∂a_i``; it may close over parameters (the estimate is differentiable).
        a: the point ``(batch, n)`` (real).
        n_samples: Gaussian probes ``ε`` per row.
        generator: for the probes (drawn on the CPU, then moved to ``a``'s device).

    Returns:
        The scalar ``mean over rows and probes of (‖Jε‖² - εᵀJ(Jε)) / n``.
    """
    if not callable(f):
        raise TypeError(f"f must be callable, got {type(f).__name__}")
    check_tensor(a, "a", ndim=2, floating=True)
    if a.is_complex():
        raise TypeError("a must be real")
    n_samples = check_int(n_samples, "n_samples", minimum=1)
    a = a.detach()
    eps = torch.randn((n_samples, *a.shape), generator=generator, dtype=a.dtype).to(a.device)
    aa = a.unsqueeze(0).expand_as(eps).reshape(-1, a.shape[-1])
    eps = eps.reshape(-1, a.shape[-1])
    je = torch.func.jvp(_f_rows(f, n_samples), (aa,), (eps,))[1]
    jje = torch.func.jvp(_f_rows(f, n_samples), (aa,), (je,))[1]
    per_row = (je.pow(2).sum(-1) - (eps * jje).sum(-1)) / a.shape[-1]
    return per_row.mean()


def _f_rows(
    f: Callable[[torch.Tensor], torch.Tensor], n_samples: int
) -> Callable[[torch.Tensor], torch.Tensor]:
    """Apply ``f: (batch, n) → (batch, n)`` to ``(n_samples·batch, n)`` stacked copies."""

    def g(z: torch.Tensor) -> torch.Tensor:
        return torch.cat([f(c) for c in z.chunk(n_samples, dim=0)], dim=0)

    return g


def network_field(net: EPNetwork, x: torch.Tensor) -> Callable[[torch.Tensor], torch.Tensor]:
    """``F(a) = Φ(a) - a`` at ``β = 0`` for inputs ``x: (batch, n_0)`` (the paper's vector field)."""
    if not isinstance(net, EPNetwork):
        raise TypeError(f"net must be an EPNetwork, got {type(net).__name__}")
    net.check_inputs(x)

    def f(a: torch.Tensor) -> torch.Tensor:
        return net.field(a, x) - a

    return f


def network_homeostatic_loss(
    net: EPNetwork,
    u: torch.Tensor,
    x: torch.Tensor,
    *,
    n_samples: int = 1,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """:func:`homeostatic_loss` of ``F(a) = Φ(a) - a`` at the fixed point ``a = σ(u)``."""
    if not isinstance(net, EPNetwork):
        raise TypeError(f"net must be an EPNetwork, got {type(net).__name__}")
    check_tensor(u, "u", ndim=2, last_dims=(net.n_state,), floating=True)
    n_samples = check_int(n_samples, "n_samples", minimum=1)
    # one batched call: the probes of all samples are rows of one (n_samples·batch, n) state
    return homeostatic_loss(
        network_field(net, x.repeat(n_samples, 1)),
        sigmoid(u.detach()).repeat(n_samples, 1),
        generator=generator,
    )


COORDINATES = ("activation", "state")


def network_jacobian(
    net: EPNetwork, u: torch.Tensor, x: torch.Tensor, *, coordinates: str = "activation"
) -> torch.Tensor:
    """Explicit Jacobians ``(batch, n, n)`` at the states ``u: (batch, n)`` (``torch.func.jacfwd``).

    * ``coordinates="activation"`` (the paper's, what homeostasis regularises):
      ``J_i = ∂F(a)_i/∂a_i`` with ``F(a) = Φ(a) - a`` at ``a = σ(u_i)``; ``J = A - I`` here.
    * ``coordinates="state"``: the Jacobian of the dynamics' increment in the pre-activations,
      ``∂(Φ(σ(u)) - u)_i/∂u_i = A D_i - I`` with ``D_i = diag σ'(u_i)``, which depends on the
      state and is not symmetric for tied weights (see the module docstring).
    """
    if not isinstance(net, EPNetwork):
        raise TypeError(f"net must be an EPNetwork, got {type(net).__name__}")
    check_tensor(u, "u", ndim=2, last_dims=(net.n_state,), floating=True)
    net.check_inputs(x)
    if coordinates not in COORDINATES:
        raise ValueError(f"coordinates must be one of {COORDINATES}, got {coordinates!r}")
    u = u.detach()

    def in_activations(ai: torch.Tensor, xi: torch.Tensor) -> torch.Tensor:
        return net.field(ai[None], xi[None])[0] - ai

    def in_states(ui: torch.Tensor, xi: torch.Tensor) -> torch.Tensor:
        return net.step(ui[None], xi[None])[0] - ui

    with torch.no_grad():
        if coordinates == "activation":
            return torch.vmap(torch.func.jacfwd(in_activations))(sigmoid(u), x)
        return torch.vmap(torch.func.jacfwd(in_states))(u, x)


def asymmetry(J: torch.Tensor) -> torch.Tensor:
    """``½‖J - J^T‖²_F / n`` for ``J: (..., n, n)`` (shape ``(...)``): what the loss estimates."""
    J = check_square(J, "J")
    d = J - J.transpose(-1, -2)
    return 0.5 * d.pow(2).sum((-1, -2)) / J.shape[-1]


def symmetry_score(J: torch.Tensor) -> torch.Tensor:
    """``‖J_sym‖_F / (‖J_sym‖_F + ‖J_anti‖_F)`` for ``J: (..., n, n)``: 1 symmetric, ½ … 0 skew."""
    J = check_square(J, "J")
    s = (0.5 * (J + J.transpose(-1, -2))).pow(2).sum((-1, -2)).sqrt()
    k = (0.5 * (J - J.transpose(-1, -2))).pow(2).sum((-1, -2)).sqrt()
    return s / (s + k)
