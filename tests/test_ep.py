"""Tests of companion.ep: fixed points, the reference gradient, classic and holomorphic EP,
weight asymmetry and Jacobian homeostasis, data and training."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from companion.ep import (
    EP_METHODS,
    EPNetwork,
    Estimator,
    FixedPointError,
    Split,
    asymmetry,
    complex_dtype,
    cosine_similarity,
    dadbeta_classic,
    dadbeta_exact,
    dadbeta_hep,
    ep_gradient,
    flatten,
    gradient_from_dadbeta,
    hep_responses,
    homeostatic_loss,
    hopfield_energy,
    implicit_gradient,
    load_digits_split,
    load_mnist_sample,
    network_accuracy,
    network_homeostatic_loss,
    network_jacobian,
    one_hot,
    relative_error,
    rotate_backward_weights,
    sigmoid,
    steps_per_epoch,
    symmetry_score,
    train,
    unrolled_gradient,
    weight_angles,
)

F64 = torch.float64


def make(
    seed: int = 0,
    sizes=(5, 7, 6, 4),
    n_classes: int = 3,
    cost: str = "xent",
    symmetric: bool = True,
    batch: int = 4,
    dtype=F64,
    angle: float | None = None,
):
    g = torch.Generator().manual_seed(seed)
    if cost == "mse":
        sizes = (*sizes[:-1], n_classes)
    net = EPNetwork(
        sizes, n_classes, symmetric=symmetric, cost=cost, generator=g, dtype=dtype, init_scale=1.5
    )
    if angle is not None:
        rotate_backward_weights(net, angle, generator=g)
    x = torch.rand(batch, sizes[0], generator=g, dtype=dtype)
    y = one_hot(torch.randint(0, n_classes, (batch,), generator=g), n_classes, dtype)
    return net, x, y


# ---------------------------------------------------------------- fixed points
@pytest.mark.parametrize("schedule", ["alternating", "synchronous"])
@pytest.mark.parametrize("beta", [0.0, 0.7, 0.4 + 0.3j])
def test_fixed_point_satisfies_its_equation(schedule, beta):
    net, x, y = make(1)
    u = net.solve(x, y, beta, schedule=schedule)
    xx = x.to(u.dtype)
    assert torch.allclose(net.step(u, xx, y, beta), u, atol=1e-11, rtol=0)
    assert u.dtype == (torch.complex128 if isinstance(beta, complex) else F64)


def test_schedules_reach_the_same_fixed_point():
    net, x, y = make(2)
    a = net.solve(x, y, 0.3 - 0.2j, schedule="alternating")
    b = net.solve(x, y, 0.3 - 0.2j, schedule="synchronous", damping=0.7)
    assert torch.allclose(a, b, atol=1e-10)


def test_energy_is_stationary_at_the_fixed_point():
    net, x, y = make(3, cost="mse")
    for beta in (0.0, 0.5):
        u = net.solve(x, y, beta)
        a = sigmoid(u).requires_grad_(True)
        (dE,) = torch.autograd.grad(hopfield_energy(net, a, x, y, beta).sum(), a)
        assert dE.abs().max() < 1e-9
    # and away from it, ∂E/∂a = σ^{-1}(a) - Φ(a)
    a = (
        torch.rand(4, net.n_state, dtype=F64, generator=torch.Generator().manual_seed(0)) * 0.8
        + 0.1
    )
    a.requires_grad_(True)
    (dE,) = torch.autograd.grad(hopfield_energy(net, a, x).sum(), a)
    assert torch.allclose(dE, torch.logit(a) - net.field(a, x), atol=1e-12)


def test_connectivity_is_the_jacobian_and_symmetric_iff_tied():
    net, x, _ = make(4)
    u = net.solve(x)
    J = network_jacobian(net, u, x)
    eye = torch.eye(net.n_state, dtype=F64)
    assert torch.allclose(J, (net.connectivity() - eye).expand_as(J), atol=1e-12)
    assert torch.allclose(net.connectivity(), net.connectivity().T)
    net2, x2, _ = make(4, symmetric=False, angle=30.0)
    A = net2.connectivity()
    assert not torch.allclose(A, A.T)


def test_state_coordinate_jacobian_is_A_D_minus_I_and_not_symmetric_when_tied():
    """The paper's J (activation coordinates) is A - I; the dynamics' Jacobian in u is A D - I."""
    net, x, _ = make(4)
    u = net.solve(x)
    eye = torch.eye(net.n_state, dtype=F64)
    A = net.connectivity()
    d = sigmoid(u) * (1 - sigmoid(u))
    J_act = network_jacobian(net, u, x, coordinates="activation")
    J_state = network_jacobian(net, u, x, coordinates="state")
    assert torch.allclose(J_state, A * d[:, None, :] - eye, atol=1e-12)
    assert torch.allclose(J_state, (J_act + eye) @ torch.diag_embed(d) - eye, atol=1e-12)
    # tied weights: the activation Jacobian is symmetric, the state one is not ...
    assert torch.allclose(symmetry_score(J_act), torch.ones(len(x), dtype=F64))
    assert (symmetry_score(J_state) < 1 - 1e-3).all()
    # ... it is self-adjoint in the D-weighted inner product: D^{1/2} (J_state + I) D^{-1/2}
    r = d.sqrt()
    sym = r[:, :, None] * (J_state + eye) / r[:, None, :]
    assert torch.allclose(sym, sym.transpose(-1, -2), atol=1e-12)
    # the activation Jacobian is the same at every state; the state one is not
    assert torch.allclose(J_act, J_act[:1].expand_as(J_act), atol=1e-14)
    assert not torch.allclose(J_state, J_state[:1].expand_as(J_state), atol=1e-3)
    with pytest.raises(ValueError, match="coordinates"):
        network_jacobian(net, u, x, coordinates="preactivation")


def test_nudge_keeps_the_networks_float64_precision():
    """beta = 0.1 is not a float32 number: the nudge must not go through float32."""
    net, x, y = make(16)
    a = sigmoid(net.solve(x))
    beta = 0.1
    nudge = net.field(a, x, y, beta) - net.field(a, x)
    c = net.dcost(net.split(a)[-1], y)
    expected = torch.zeros_like(a)
    expected[:, net.offsets[-2] :] = -beta * c
    assert torch.allclose(nudge, expected, rtol=1e-14, atol=1e-16)
    # a complex beta keeps complex128 too
    ac = a.to(torch.complex128)
    nudge_c = net.field(ac, x, y, 0.1 + 0.3j) - net.field(ac, x)
    expected_c = torch.zeros_like(ac)
    expected_c[:, net.offsets[-2] :] = -(0.1 + 0.3j) * net.dcost(net.split(ac)[-1], y)
    assert torch.allclose(nudge_c, expected_c, rtol=1e-14, atol=1e-16)


def test_symmetric_classic_ep_follows_beta_squared_down_to_small_beta_in_float64():
    """With a float32 nudge the error stalls at ~2.5e-8 (the rounding of beta = 1e-4)."""
    net, x, y = make(11)
    u = net.solve(x, tol=1e-15)
    exact = dadbeta_exact(net, x, y, u)

    def err(beta: float) -> float:
        d = dadbeta_classic(net, x, y, u, beta, mode="symmetric", tol=1e-14)
        return float((d - exact).norm() / exact.norm())

    e3, e4 = err(1e-3), err(1e-4)
    # the O(β²) law predicts e4 = e3 / 100 (~2.6e-10 here)
    assert abs(e4 / (e3 / 100) - 1) < 0.1, (e3, e4)


# ---------------------------------------------------------------- reference gradient
@pytest.mark.parametrize("cost", ["xent", "mse"])
@pytest.mark.parametrize("symmetric", [True, False])
def test_implicit_gradient_matches_backprop_through_unrolled_dynamics(cost, symmetric):
    net, x, y = make(5, cost=cost, symmetric=symmetric, angle=None if symmetric else 40.0)
    gi = implicit_gradient(net, x, y)
    gu = unrolled_gradient(net, x, y, n_steps=300)
    assert relative_error(gi, gu) < 1e-9
    assert [g.shape for g in gi] == [p.shape for p in net.parameters()]


def test_exact_dadbeta_matches_finite_differences_of_the_solver():
    net, x, y = make(6)
    u = net.solve(x)
    h = 1e-5
    fd = (sigmoid(net.solve(x, y, h, u0=u)) - sigmoid(net.solve(x, y, -h, u0=u))) / (2 * h)
    assert torch.allclose(dadbeta_exact(net, x, y, u), fd, atol=1e-8)


def test_fixed_point_is_holomorphic_in_beta_cauchy_riemann():
    net, x, y = make(7)
    u0 = net.solve(x)
    b0, h = 0.3 + 0.2j, 1e-5

    def a(beta: complex) -> torch.Tensor:
        return sigmoid(net.solve(x, y, beta, u0=u0))

    d_re = (a(b0 + h) - a(b0 - h)) / (2 * h)
    d_im = (a(b0 + 1j * h) - a(b0 - 1j * h)) / (2 * h)
    # f holomorphic  <=>  ∂f/∂y = i ∂f/∂x
    assert torch.allclose(d_im, 1j * d_re, atol=1e-7)
    assert d_re.abs().max() > 1e-3  # the check is not vacuous


# ---------------------------------------------------------------- holomorphic EP
@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.sampled_from([6, 8, 12]))
def test_hep_converges_to_the_reference_on_random_networks(seed, n):
    net, x, y = make(seed)
    u = net.solve(x)
    ref = implicit_gradient(net, x, y, u=u)
    errs = [
        relative_error(ep_gradient(net, x, y, method="hep", n=k, r=0.5, u=u), ref, network_only=net)
        for k in (2, n, 2 * n)
    ]
    assert errs[1] < errs[0] and errs[2] < max(errs[1], 1e-11)
    assert errs[2] < 1e-7


def test_hep_error_is_geometric_in_n_with_rate_r_to_the_n():
    net, x, y = make(8)
    u = net.solve(x)
    exact = dadbeta_exact(net, x, y, u)

    def err(n: int, r: float) -> float:
        return float((dadbeta_hep(net, x, y, u, n, r) - exact).norm() / exact.norm())

    ns = np.arange(2, 13)
    e = np.array([err(int(n), 1.0) for n in ns])
    slope, icpt = np.polyfit(ns, np.log(e), 1)
    resid = np.log(e) - (slope * ns + icpt)
    assert slope < -0.5 and np.abs(resid).max() < 1.5, (slope, resid)
    # the leading error term is a_{N+1} r^N: halving r divides the error by ≈ 2^N
    for n in (4, 6):
        ratio = err(n, 0.5) / err(n, 0.25)
        assert 0.6 * 2**n < ratio < 1.5 * 2**n, (n, ratio)


@pytest.mark.parametrize("r", [0.25, 0.5, 1.0])
def test_hep_is_exact_at_finite_radius_for_symmetric_weights(r):
    net, x, y = make(9)
    u = net.solve(x)
    ref = implicit_gradient(net, x, y, u=u)
    est = ep_gradient(net, x, y, method="hep", n=24, r=r, u=u)
    assert relative_error(est, ref, network_only=net) < 1e-8


def test_hep_uses_the_conjugate_pairs_correctly():
    net, x, y = make(10)
    u = net.solve(x)
    betas, a = hep_responses(net, x, y, u, 7, 0.6, all_points=True)
    full = (a / betas[:, None, None]).mean(0)
    assert full.imag.abs().max() < 1e-12
    assert torch.allclose(dadbeta_hep(net, x, y, u, 7, 0.6), full.real, atol=1e-12)
    # responses at conjugate teaching signals are conjugate
    assert torch.allclose(a[1], a[6].conj(), atol=1e-12)


def test_classic_ep_errors_are_order_beta_and_beta_squared():
    net, x, y = make(11)
    u = net.solve(x)
    exact = dadbeta_exact(net, x, y, u)

    def err(beta: float, mode: str) -> float:
        return float((dadbeta_classic(net, x, y, u, beta, mode=mode) - exact).norm())

    r1 = err(0.02, "one-sided") / err(0.01, "one-sided")
    r2 = err(0.02, "symmetric") / err(0.01, "symmetric")
    assert 1.8 < r1 < 2.2 and 3.6 < r2 < 4.4, (r1, r2)
    # symmetric classic EP is holomorphic EP with N = 2
    assert torch.allclose(
        dadbeta_classic(net, x, y, u, 0.3, mode="symmetric"),
        dadbeta_hep(net, x, y, u, 2, 0.3),
        atol=1e-11,
    )


# ---------------------------------------------------------------- asymmetry
def test_asymmetry_bias_vanishes_when_weights_are_tied():
    net, x, y = make(12, symmetric=False, angle=0.0)
    assert max(weight_angles(net)) < 1e-5
    u = net.solve(x)
    ref = implicit_gradient(net, x, y, u=u)
    assert (
        relative_error(ep_gradient(net, x, y, method="exact", u=u), ref, network_only=net) < 1e-12
    )
    net, x, y = make(12, symmetric=False, angle=60.0)
    u = net.solve(x)
    ref = implicit_gradient(net, x, y, u=u)
    gen = ep_gradient(net, x, y, method="exact", u=u)
    assert relative_error(gen, ref, network_only=net) > 1e-3
    # generalised hEP converges to the (biased) exact EP direction, not to the true gradient
    hep = ep_gradient(net, x, y, method="hep", n=20, r=0.5, u=u)
    assert relative_error(hep, gen, network_only=net) < 1e-8


@settings(max_examples=20, deadline=None)
@given(angle=st.floats(0.0, 180.0), seed=st.integers(0, 1000))
def test_rotation_sets_the_angle_and_keeps_the_norm(angle, seed):
    net, _, _ = make(seed, symmetric=False, angle=angle)
    assert len(net.B) == 2
    assert all(abs(a - angle) < 1e-4 for a in weight_angles(net))
    for B, W in zip(net.backward_weights(), net.W[1:], strict=True):
        assert torch.isclose(B.norm(), W.norm())


# ---------------------------------------------------------------- homeostasis
def test_homeostatic_loss_is_unbiased_for_a_state_dependent_jacobian():
    g = torch.Generator().manual_seed(0)
    n = 6
    M = torch.randn(n, n, generator=g, dtype=F64)
    a = torch.randn(3, n, generator=g, dtype=F64)

    def f(z: torch.Tensor) -> torch.Tensor:
        return torch.tanh(z @ M.T) - z**3 / 3

    J = torch.vmap(torch.func.jacfwd(lambda z: f(z[None])[0]))(a)
    target = float(asymmetry(J).mean())
    samples = torch.stack([homeostatic_loss(f, a, generator=g) for _ in range(1000)])
    se = float(samples.std()) / math.sqrt(len(samples))
    assert abs(float(samples.mean()) - target) < 4 * se, (float(samples.mean()), target, se)
    assert target > 0.1
    # several probes per row in one call: the same estimator, averaged
    many = float(homeostatic_loss(f, a, n_samples=400, generator=g))
    assert abs(many - target) < 4 * float(samples.std()) / math.sqrt(400), (many, target)


def test_homeostatic_loss_of_the_network_and_zero_when_symmetric():
    net, x, _ = make(13, symmetric=False, angle=50.0)
    u = net.solve(x)
    target = float(asymmetry(network_jacobian(net, u, x)).mean())
    est = network_homeostatic_loss(
        net, u, x, n_samples=4000, generator=torch.Generator().manual_seed(1)
    ).item()
    assert abs(est - target) < 0.05 * target
    sym, xs, _ = make(13)
    us = sym.solve(xs)
    assert abs(network_homeostatic_loss(sym, us, xs).item()) < 1e-12


def test_homeostatic_gradient_realigns_backward_weights():
    net, x, _ = make(14, symmetric=False, angle=70.0)
    g = torch.Generator().manual_seed(2)
    u = net.solve(x)
    before = float(asymmetry(network_jacobian(net, u, x)).mean())
    opt = torch.optim.SGD(net.network_parameters(), lr=0.5)
    for _ in range(30):
        opt.zero_grad()
        network_homeostatic_loss(net, u, x, n_samples=8, generator=g).backward()
        opt.step()
    after = float(asymmetry(network_jacobian(net, net.solve(x), x)).mean())
    assert after < 0.5 * before and weight_angles(net)[0] < 60.0


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 8))
def test_symmetry_score_properties(seed, n):
    g = torch.Generator().manual_seed(seed)
    M = torch.randn(n, n, generator=g, dtype=F64)
    S, K = M + M.T, M - M.T
    assert torch.isclose(symmetry_score(S), torch.tensor(1.0, dtype=F64))
    if n > 1:
        assert torch.isclose(symmetry_score(K), torch.tensor(0.0, dtype=F64), atol=1e-12)
    s = float(symmetry_score(M))
    assert 0.0 <= s <= 1.0
    assert torch.isclose(asymmetry(M), 0.5 * (M - M.T).pow(2).sum() / n)


# ---------------------------------------------------------------- dtypes, devices
@pytest.mark.parametrize(
    "dtype,cdtype", [(torch.float32, torch.complex64), (torch.float64, torch.complex128)]
)
def test_dtypes_are_respected(dtype, cdtype):
    net, x, y = make(15, dtype=dtype)
    assert complex_dtype(dtype) == cdtype
    u = net.solve(x)
    assert u.dtype == dtype
    betas, a = hep_responses(net, x, y, u, 4, 0.5)
    assert a.dtype == cdtype and betas.dtype == cdtype
    for method in EP_METHODS:
        grads = ep_gradient(net, x, y, method=method, u=u)
        assert all(g.dtype == dtype for g in grads)
    ref = implicit_gradient(net, x, y, u=u)
    tol = 1e-3 if dtype == torch.float32 else 1e-8
    assert (
        relative_error(
            ep_gradient(net, x, y, method="hep", n=12, r=0.5, u=u), ref, network_only=net
        )
        < tol
    )


@pytest.mark.cuda
def test_runs_on_cuda():
    net, x, y = make(16)
    net, x, y = net.to("cuda"), x.to("cuda"), y.to("cuda")
    u = net.solve(x)
    ref = implicit_gradient(net, x, y, u=u)
    est = ep_gradient(net, x, y, method="hep", n=16, r=0.5, u=u)
    assert est[0].device.type == "cuda"
    assert relative_error(est, ref, network_only=net) < 1e-8


def test_one_method_vocabulary_for_ep_gradient_the_estimator_and_train():
    net, x, y = make(19)
    u = net.solve(x)
    ref = implicit_gradient(net, x, y, u=u)
    bp = ep_gradient(net, x, y, method="bp", u=u)
    assert all(torch.equal(a, b) for a, b in zip(bp, ref, strict=True))
    for method in EP_METHODS:
        est = Estimator(method=method, n=6, r=0.3, beta=0.05)
        direct = ep_gradient(net, x, y, method=method, n=6, r=0.3, beta=0.05, u=u)
        via = est.gradient(net, x, y, u)
        assert all(torch.equal(a, b) for a, b in zip(direct, via, strict=True)), method


# ---------------------------------------------------------------- data and training
def test_digits_split_is_stratified_and_scaled():
    d = load_digits_split(generator=torch.Generator().manual_seed(3))
    assert d.x_train.shape[1] == 64 and d.n_classes == 10
    assert d.x_train.shape[0] + d.x_test.shape[0] == 1797
    assert 0 <= float(d.x_train.min()) and float(d.x_train.max()) <= 1
    counts = torch.bincount(d.y_test, minlength=10)
    assert int(counts.min()) >= 40
    d2 = load_digits_split(generator=torch.Generator().manual_seed(3), n_train=100)
    assert d2.x_train.shape[0] == 100 and torch.equal(d2.x_test, d.x_test)


def test_mnist_sample_loads_offline():
    d = load_mnist_sample(n_train=50)
    assert d.x_train.shape == (50, 784) and d.x_test.shape[0] == 1000
    assert float(d.x_test.max()) <= 1


def test_training_with_hep_learns_digits():
    d = load_digits_split()
    net = EPNetwork((64, 64, 10), 10, generator=torch.Generator().manual_seed(0), init_scale=2.0)
    per_epoch = steps_per_epoch(d, 32)
    hist = train(
        net,
        d,
        steps=2 * per_epoch,
        batch_size=32,
        estimator=Estimator(method="hep", n=4, r=0.5),
        lr=0.01,
        generator=torch.Generator().manual_seed(1),
        track_cosine=True,
    )
    assert hist.eval_steps == [0, per_epoch, 2 * per_epoch]
    assert len(hist.test_accuracy) == 3 and hist.losses.shape == (2 * per_epoch,)
    assert hist.metrics["loss"] == float(hist.losses[-1])
    assert hist.metrics["test_accuracy"] == hist.test_accuracy[-1]
    assert hist.metrics["cosine"] == hist.cosine[-1]
    assert hist.test_accuracy[-1] > 0.5  # chance is 0.1
    assert min(hist.cosine) > 0.99 and min(hist.symmetry) == pytest.approx(1.0)
    assert network_accuracy(net, d.x_test, d.y_test) == pytest.approx(hist.test_accuracy[-1])


# ---------------------------------------------------------------- bad inputs
def test_solver_non_convergence_raises():
    net, x, y = make(17)
    with pytest.raises(FixedPointError, match="did not converge"):
        net.solve(x, max_iter=2)
    big = EPNetwork(
        (5, 7, 6, 4),
        3,
        cost="xent",
        generator=torch.Generator().manual_seed(0),
        init_scale=60.0,
        dtype=F64,
    )
    with pytest.raises(FixedPointError):
        big.solve(x, schedule="synchronous", max_iter=300)


def test_bad_estimator_arguments():
    net, x, y = make(18)
    u = net.solve(x)
    with pytest.raises(ValueError, match="N"):
        dadbeta_hep(net, x, y, u, 1, 0.5)
    with pytest.raises(TypeError, match="N"):
        dadbeta_hep(net, x, y, u, 2.0, 0.5)
    for r in (0.0, -1.0, float("inf"), float("nan")):
        with pytest.raises(ValueError, match="r"):
            dadbeta_hep(net, x, y, u, 4, r)
    with pytest.raises(TypeError, match="r"):
        dadbeta_hep(net, x, y, u, 4, 0.5j)
    with pytest.raises(ValueError, match="beta"):
        dadbeta_classic(net, x, y, u, -0.1)
    with pytest.raises(ValueError, match="mode"):
        dadbeta_classic(net, x, y, u, 0.1, mode="two-sided")
    with pytest.raises(ValueError, match="method"):
        ep_gradient(net, x, y, method="cauchy")
    with pytest.raises(TypeError, match="net"):
        implicit_gradient("net", x, y)
    with pytest.raises(TypeError, match="dadbeta"):
        gradient_from_dadbeta(net, x, y, u, torch.zeros(4, net.n_state, dtype=torch.complex128))
    with pytest.raises(TypeError, match="grads"):
        flatten([])
    with pytest.raises(ValueError, match="beta"):
        net.solve(x, y, float("nan"))
    with pytest.raises(ValueError, match="y is needed"):
        net.solve(x, None, 0.5)


def test_bad_network_inputs():
    net, x, y = make(19)
    bad_x = x.clone()
    bad_x[0, 0] = float("nan")
    with pytest.raises(ValueError, match="x must be finite"):
        net.solve(bad_x)
    with pytest.raises(ValueError, match="x"):
        net.solve(x[:, :3])
    with pytest.raises(TypeError, match="x"):
        net.solve(x.numpy())
    with pytest.raises(ValueError, match="y"):
        implicit_gradient(net, x, y[:2])
    with pytest.raises(ValueError, match="y"):
        implicit_gradient(net, x, y[:, :2])
    with pytest.raises(ValueError, match="damping"):
        net.solve(x, damping=1.5)
    with pytest.raises(ValueError, match="schedule"):
        net.solve(x, schedule="random")
    with pytest.raises(ValueError, match="tol"):
        net.solve(x, tol=0.0)
    with pytest.raises(ValueError, match="u0"):
        net.solve(x, u0=torch.zeros(4, 3, dtype=F64))


def test_bad_constructor_and_helper_arguments():
    with pytest.raises(ValueError, match="sizes"):
        EPNetwork((5,), 3)
    with pytest.raises(ValueError, match="sizes"):
        EPNetwork((5, 0, 3), 3)
    with pytest.raises(ValueError, match="n_classes"):
        EPNetwork((5, 4, 3), 1)
    with pytest.raises(ValueError, match="cost"):
        EPNetwork((5, 4, 3), 3, cost="hinge")
    with pytest.raises(ValueError, match="n_L"):
        EPNetwork((5, 4, 6), 3, cost="mse")
    with pytest.raises(TypeError, match="symmetric"):
        EPNetwork((5, 4, 3), 3, symmetric=1)
    with pytest.raises(TypeError, match="dtype"):
        EPNetwork((5, 4, 3), 3, dtype=torch.float16)
    with pytest.raises(ValueError, match="init_scale"):
        EPNetwork((5, 4, 3), 3, init_scale=0.0)
    net, x, y = make(20)
    with pytest.raises(ValueError, match="symmetric=False"):
        rotate_backward_weights(net, 10.0)
    asym, _, _ = make(20, symmetric=False)
    with pytest.raises(ValueError, match="angle"):
        rotate_backward_weights(asym, 200.0)
    with pytest.raises(ValueError, match="angle"):
        rotate_backward_weights(asym, float("nan"))
    with pytest.raises(TypeError, match="angle"):
        rotate_backward_weights(asym, "90")
    with pytest.raises(ValueError, match="symmetric"):
        hopfield_energy(asym, sigmoid(asym.solve(x)), x)
    with pytest.raises(ValueError, match="a must be real"):
        hopfield_energy(net, torch.full((4, net.n_state), 1.5, dtype=F64), x)
    with pytest.raises(ValueError, match="J"):
        symmetry_score(torch.zeros(3, 4))
    with pytest.raises(TypeError, match="f must be callable"):
        homeostatic_loss(3, torch.zeros(2, 3))
    with pytest.raises(ValueError, match="n_samples"):
        homeostatic_loss(lambda z: z, torch.zeros(2, 3), n_samples=0)
    with pytest.raises(TypeError, match="a must be real"):
        homeostatic_loss(lambda z: z, torch.zeros(2, 3, dtype=torch.complex64))
    with pytest.raises(TypeError, match="dtype"):
        complex_dtype(torch.int64)
    with pytest.raises(ValueError, match="labels"):
        one_hot(torch.tensor([0, 5]), 3)
    with pytest.raises(TypeError, match="labels"):
        one_hot(torch.tensor([0.0]), 3)
    with pytest.raises(ValueError, match="test_fraction"):
        load_digits_split(test_fraction=1.5)
    with pytest.raises(TypeError, match="generator must be a torch.Generator"):
        load_digits_split(generator=0)
    d = load_digits_split(n_train=50)
    small = EPNetwork((64, 8, 10), 10)
    with pytest.raises(ValueError, match="method"):
        Estimator(method="feedback-alignment")
    with pytest.raises(ValueError, match="n must be"):
        Estimator(n=1)
    with pytest.raises(ValueError, match="r must be"):
        Estimator(r=float("nan"))
    with pytest.raises(TypeError, match="estimator"):
        train(small, d, steps=1, estimator="hep")
    with pytest.raises(ValueError, match="does not fit"):
        train(EPNetwork((5, 4, 10), 10), d, steps=1)
    with pytest.raises(TypeError, match="data"):
        train(small, (d.x_train, d.y_train), steps=1)
    with pytest.raises(ValueError, match="optimizer"):
        train(small, d, optimizer="lbfgs", steps=1)
    with pytest.raises(ValueError, match="homeostasis"):
        train(small, d, homeostasis=-1.0, steps=1)
    with pytest.raises(ValueError, match="steps"):
        train(small, d, steps=0)
    with pytest.raises(TypeError, match="steps"):
        train(small, d, steps=2.0)
    with pytest.raises(ValueError, match="eval_every"):
        train(small, d, steps=1, eval_every=0)
    assert isinstance(d, Split)
    assert cosine_similarity([torch.ones(3)], [torch.ones(3)]) == pytest.approx(1.0)
