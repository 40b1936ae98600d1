"""Tests of companion.gaunt: Gaunt coefficients, SH <-> 2D Fourier, the Gaunt product and its layer."""

from __future__ import annotations

import math

import pytest
import torch
from e3nn import o3
from hypothesis import given, settings
from hypothesis import strategies as st

from companion.gaunt import (
    GauntLayer,
    allowed_paths,
    fourier_to_sh,
    gaunt_from_wigner,
    gaunt_product,
    gaunt_product_dense,
    gaunt_product_e3nn,
    gaunt_product_grid,
    gaunt_quadrature,
    real_spherical_harmonics,
    sh_to_fourier,
    sh_to_fourier_matrix,
    wigner_3j_000,
)
from companion.gaunt.bench import compare, loglog_slope, markdown_table
from companion.groups import equivariance_error, irreps

F64 = torch.float64


def _rand(*shape, seed=0, dtype=F64):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=F64).to(dtype)


def _wigner_d(L, R):
    """Block-diagonal e3nn Wigner D of degrees 0..L (built in float64)."""
    return irreps(o3.Irreps([(1, (l, 1)) for l in range(L + 1)]))(R.to(F64))


# ----------------------------------------------------------------------------- coefficients


def test_gaunt_two_ways_agree_l_le_4():
    for l1 in range(5):
        for l2 in range(5):
            for l3 in range(5):
                q, w = gaunt_quadrature(l1, l2, l3), gaunt_from_wigner(l1, l2, l3)
                assert (q - w).abs().max() < 1e-12, (l1, l2, l3)
                if (l1 + l2 + l3) % 2:
                    assert torch.count_nonzero(w) == 0  # exact zeros for odd paths
                    assert q.abs().max() < 1e-13


def test_wigner_000_closed_form_known_values():
    assert wigner_3j_000(1, 1, 0) == pytest.approx(-1 / math.sqrt(3))
    assert wigner_3j_000(1, 1, 2) == pytest.approx(math.sqrt(2 / 15))
    assert wigner_3j_000(1, 1, 1) == 0.0 and wigner_3j_000(2, 0, 1) == 0.0


def test_gaunt_product_of_constants():
    # Y_00 = 1/sqrt(4π): (Y_00)^2 = Y_00 / sqrt(4π)
    assert gaunt_quadrature(0, 0, 0).item() == pytest.approx(1 / math.sqrt(4 * math.pi))


def test_cross_product_path_missing():
    assert (1, 1, 1) not in allowed_paths(1, 1, 2)
    assert {(1, 1, 0), (1, 1, 2)} <= set(allowed_paths(1, 1, 2))


# ----------------------------------------------------------------------------- spherical harmonics / Fourier


def test_sh_matches_e3nn_up_to_12():
    n = _rand(30, 3)
    n = n / n.norm(dim=-1, keepdim=True)
    ref = o3.spherical_harmonics(list(range(13)), n, normalize=False, normalization="integral")
    assert (real_spherical_harmonics(12, n) - ref).abs().max() < 1e-12


@pytest.mark.parametrize("l", [13])
def test_sh_equivariant_beyond_e3nn(l):
    n = _rand(10, 3, seed=1)
    n = n / n.norm(dim=-1, keepdim=True)
    R = _rotation(2)
    D = _wigner_d(l, R)[l * l :, l * l :]
    Y, YR = (
        real_spherical_harmonics(l, n)[:, l * l :],
        real_spherical_harmonics(l, n @ R.T)[:, l * l :],
    )
    assert (YR - Y @ D.T).abs().max() < 1e-11


def _rotation(seed):
    q = _rand(4, seed=seed)
    return o3.quaternion_to_matrix(q / q.norm())


@pytest.mark.parametrize("L", [0, 1, 4, 9])
def test_change_of_basis_round_trip(L):
    x = _rand(3, (L + 1) ** 2, seed=L)
    assert (fourier_to_sh(sh_to_fourier(x), L) - x).abs().max() < 1e-12
    B = sh_to_fourier_matrix(L)
    assert (B - B.flip(-2, -1).conj()).abs().max() == 0  # Hermitian: the functions are real


def test_fourier_reproduces_sh_values():
    L = 5
    th, ph = _rand(40, seed=3).abs() * 1.0, _rand(40, seed=4) * 3
    u = torch.arange(-L, L + 1)
    E = torch.exp(1j * (u[:, None, None] * th + u[None, :, None] * ph))
    vals = torch.einsum("kuv,uvp->pk", sh_to_fourier_matrix(L), E)
    from companion.gaunt import sh_on_torus

    assert (
        vals.real - sh_on_torus(L, th, ph)
    ).abs().max() < 1e-12 and vals.imag.abs().max() < 1e-12


# ----------------------------------------------------------------------------- the product


@settings(max_examples=20, deadline=None)
@given(
    L1=st.integers(0, 4),
    L2=st.integers(0, 4),
    cut=st.integers(0, 8),
    method=st.sampled_from(["fft", "dense", "separable"]),
    batch=st.lists(st.integers(1, 3), min_size=0, max_size=2),
    seed=st.integers(0, 2**16),
)
def test_product_equals_references(L1, L2, cut, method, batch, seed):
    L_out = min(cut, L1 + L2)
    x1 = _rand(*batch, 2, (L1 + 1) ** 2, seed=seed)
    x2 = _rand(2, (L2 + 1) ** 2, seed=seed + 1)  # broadcasts against x1
    y = gaunt_product(x1, x2, L_out, method=method)
    assert y.shape == (*batch, 2, (L_out + 1) ** 2) and y.dtype == F64
    assert (y - gaunt_product_dense(x1, x2, L_out)).abs().max() < 1e-10
    assert (y - gaunt_product_e3nn(x1, x2, L_out)).abs().max() < 1e-10
    assert (y - gaunt_product_grid(x1, x2, L_out)).abs().max() < 1e-10


def test_product_e3nn_degree_5():
    x1, x2 = _rand(4, 3, 36, seed=5), _rand(4, 3, 36, seed=6)
    assert (gaunt_product(x1, x2, 10) - gaunt_product_e3nn(x1, x2, 10)).abs().max() < 1e-10


def test_product_float32_close_to_float64():
    x1, x2 = _rand(4, 3, 49, seed=5), _rand(4, 3, 49, seed=6)
    y64 = gaunt_product_dense(x1, x2, 12)
    for method in ("fft", "dense", "separable"):
        y32 = gaunt_product(x1.float(), x2.float(), 12, method=method)
        assert y32.dtype == torch.float32 and (y32.double() - y64).abs().max() < 1e-5


@pytest.mark.parametrize("method", ["fft", "dense", "separable"])
def test_empty_batch_and_unbatched(method):
    assert gaunt_product(torch.zeros(0, 4), torch.zeros(0, 9), method=method).shape == (0, 16)
    x1, x2 = _rand(9, seed=20), _rand(4, seed=21)
    assert (
        gaunt_product(x1, x2, 2, method=method) - gaunt_product_dense(x1, x2, 2)
    ).abs().max() < 1e-12


def test_half_precision_kept():
    y = gaunt_product(_rand(2, 4, dtype=torch.bfloat16), _rand(2, 4, dtype=torch.bfloat16))
    assert y.dtype == torch.bfloat16 and y.shape == (2, 9)


def test_product_is_pointwise_product_on_sphere():
    L1, L2 = 3, 4
    x1, x2 = _rand((L1 + 1) ** 2, seed=7), _rand((L2 + 1) ** 2, seed=8)
    y = gaunt_product(x1, x2)  # L_out = L1 + L2: no truncation
    n = _rand(50, 3, seed=9)
    n = n / n.norm(dim=-1, keepdim=True)
    f1 = real_spherical_harmonics(L1, n) @ x1
    f2 = real_spherical_harmonics(L2, n) @ x2
    f = real_spherical_harmonics(L1 + L2, n) @ y
    assert (f - f1 * f2).abs().max() < 1e-11


def test_dense_route_uses_half_of_an_even_grid():
    from companion.gaunt import dense_sizes

    for L1, L2, L_out in [(0, 0, 0), (1, 1, 2), (3, 2, 1), (4, 0, 4)]:
        Nu, Nv = dense_sizes(L1, L2, L_out)
        assert Nv % 2 == 0 and Nu == 2 * (L1 + L2) + 1 and Nv >= L1 + L2 + L_out + 1


def test_large_degree_fft_equals_dense():
    x1, x2 = _rand(2, (14 + 1) ** 2, seed=10), _rand(2, (12 + 1) ** 2, seed=11)
    a = gaunt_product(x1, x2, 20, method="fft")
    b = gaunt_product(x1, x2, 20, method="dense")
    assert (a - b).abs().max() < 1e-10 * max(1.0, float(a.abs().max()))


@settings(max_examples=12, deadline=None)
@given(L1=st.integers(0, 4), L2=st.integers(0, 4), seed=st.integers(0, 2**16))
def test_equivariance(L1, L2, seed):
    L_out = L1 + L2
    x1, x2 = _rand(3, (L1 + 1) ** 2, seed=seed), _rand(3, (L2 + 1) ** 2, seed=seed + 1)
    R = _rotation(seed)
    sh = [lambda g, L=L: _wigner_d(L, g) for L in (L1, L2, L_out)]
    err = equivariance_error(lambda a, b: gaunt_product(a, b, L_out), (x1, x2), R, sh[:2], sh[2])
    assert err < 1e-9


def test_gradients_match_reference():
    x1 = _rand(2, 16, seed=12).requires_grad_()
    x2 = _rand(2, 9, seed=13).requires_grad_()
    w = _rand(2, 25, seed=14)
    for method in ("fft", "dense"):
        g = torch.autograd.grad((gaunt_product(x1, x2, 4, method=method) * w).sum(), (x1, x2))
        r = torch.autograd.grad((gaunt_product_e3nn(x1, x2, 4) * w).sum(), (x1, x2))
        assert all((a - b).abs().max() < 1e-10 for a, b in zip(g, r, strict=True))
    assert torch.autograd.gradcheck(
        lambda a, b: gaunt_product(a, b, 3, method="fft"),
        (x1[:1].detach().requires_grad_(), x2[:1].detach().requires_grad_()),
    )


@pytest.mark.cuda
def test_cuda_matches_cpu():
    x1, x2 = _rand(4, 25, seed=15), _rand(4, 25, seed=16)
    for method in ("fft", "dense"):
        y = gaunt_product(x1.cuda(), x2.cuda(), 8, method=method)
        assert (
            y.device.type == "cuda"
            and (y.cpu() - gaunt_product_dense(x1, x2, 8)).abs().max() < 1e-10
        )


# ----------------------------------------------------------------------------- layer, benchmark helpers


def test_layer_equivariant_and_trainable():
    layer = GauntLayer(2, 3, 2, 3, generator=torch.Generator().manual_seed(0)).double()
    x = _rand(5, 2, 9, seed=17)
    R = _rotation(3)
    with torch.no_grad():
        assert equivariance_error(layer, x, R) < 1e-10  # layer.rep_in/rep_out: Wigner D
        assert equivariance_error(layer, x, -R) < 1e-10  # and parity (-1)^l: O(3)
        assert equivariance_error(layer, x, R, None, layer.rep_out) > 0.1  # a wrong claim
    layer(x).square().sum().backward()
    assert all(p.grad is not None for p in layer.parameters())


def test_bench_helpers():
    rows = compare([1], channels=2, e3nn_max=1, grid_max=1, budget_s=0.01)
    assert rows[0]["fft_err"] < 1e-5 and rows[0]["e3nn_ms"] > 0
    assert "| 1 | " in markdown_table(rows) and rows[0]["separable_err"] < 1e-5
    assert loglog_slope([1, 2, 4], [1, 8, 64]) == pytest.approx(3.0)


# ----------------------------------------------------------------------------- bad inputs


def test_bad_inputs():
    x = torch.zeros(2, 9)
    with pytest.raises(ValueError, match="x1"):
        gaunt_product(torch.zeros(2, 8), x)
    with pytest.raises(ValueError, match="x2"):
        gaunt_product(x, torch.zeros(2, 5))
    with pytest.raises(ValueError, match="x1"):
        gaunt_product(torch.zeros(2, 0), x)
    with pytest.raises(ValueError, match="L_out"):
        gaunt_product(x, x, 5)
    with pytest.raises(ValueError, match="L_out"):
        gaunt_product(x, x, -1)
    with pytest.raises(TypeError, match="L_out"):
        gaunt_product(x, x, 2.0)
    with pytest.raises(ValueError, match="broadcastable"):
        gaunt_product(torch.zeros(3, 9), torch.zeros(2, 9))
    with pytest.raises(TypeError, match="x1"):
        gaunt_product(torch.zeros(2, 9, dtype=torch.int64), x)
    with pytest.raises(TypeError, match="x1"):
        gaunt_product(torch.zeros(2, 9, dtype=torch.complex64), x)
    with pytest.raises(TypeError, match="same dtype"):
        gaunt_product(x.double(), x)
    with pytest.raises(TypeError, match="x1"):
        gaunt_product([0.0] * 9, x)
    with pytest.raises(ValueError, match="method"):
        gaunt_product(x, x, method="fast")
    with pytest.raises(ValueError, match="l1"):
        gaunt_quadrature(-1, 0, 0)
    with pytest.raises(TypeError, match="l2"):
        gaunt_from_wigner(1, 1.5, 0)
    with pytest.raises(TypeError, match="L"):
        sh_to_fourier_matrix(2.0)
    with pytest.raises(ValueError, match="x"):
        sh_to_fourier(torch.zeros(3, 7))
    with pytest.raises(ValueError, match="L_out"):
        GauntLayer(1, 1, 1, 3)
    with pytest.raises(ValueError, match="x"):
        GauntLayer(1, 1, 1, 2)(torch.zeros(2, 1, 9))


# ----------------------------------------------------------------------------- routes, chunks, defect


@pytest.mark.parametrize("method", ["dense", "separable"])
def test_chunked_rows_equal_reference_with_gradients(method):
    # 3000 rows span several cache-sized chunks on the CPU; values and gradients must not change
    x1 = _rand(3000, 16, seed=30).requires_grad_()
    x2 = _rand(3000, 9, seed=31).requires_grad_()
    w = _rand(3000, 36, seed=32)
    y = gaunt_product(x1, x2, 5, method=method)
    assert (y - gaunt_product_dense(x1, x2, 5)).abs().max() < 1e-11
    g = torch.autograd.grad((y * w).sum(), (x1, x2))
    r = torch.autograd.grad((gaunt_product_dense(x1, x2, 5) * w).sum(), (x1, x2))
    assert all((a - b).abs().max() < 1e-11 for a, b in zip(g, r, strict=True))
    with torch.no_grad():  # the in-place path, and the square x * x
        assert (gaunt_product(x1, x2, 5, method=method) - y).abs().max() < 1e-12
        sq = gaunt_product(x1, x1, 6, method=method)
        assert (sq - gaunt_product_dense(x1, x1.clone(), 6)).abs().max() < 1e-11


def test_separable_grid_is_exact_and_minimal():
    from companion.gaunt import separable_sizes

    assert separable_sizes(2, 2, 4) == (5, 9)
    x1, x2 = _rand(3, 16, seed=33), _rand(3, 16, seed=34)
    y = gaunt_product(x1, x2, 6, method="separable")
    assert (y - gaunt_product_e3nn(x1[:, None], x2[:, None], 6)[:, 0]).abs().max() < 1e-12


def test_auto_route_uses_the_table_and_is_not_frozen(monkeypatch):
    from companion.gaunt import product as P

    x1, x2 = _rand(4, 9, seed=35), _rand(4, 9, seed=36)
    monkeypatch.setitem(P.ROUTE_THRESHOLDS, ("cpu", F64), (4, 8))
    assert P.route_for(2, 2, "cpu", F64) == "dense" and P.route_for(5, 5, "cpu", F64) == "fft"
    assert P.route_for(2, 3, "cpu", F64) == "separable"
    assert P.route_for(1, 1, "cpu", torch.bfloat16) == P.route_for(1, 1, "cpu", torch.float32)
    y = gaunt_product(x1, x2)
    assert P._PLANS[next(k for k in P._PLANS if k[0] == x1.shape and k[6] is None)][0] == "dense"
    monkeypatch.setitem(P.ROUTE_THRESHOLDS, ("cpu", F64), (-1, 8))
    P._PLANS.clear()  # a new table takes effect once the plans are cleared (tune_routes does it)
    assert (gaunt_product(x1, x2) - y).abs().max() < 1e-12
    assert (
        P._PLANS[next(k for k in P._PLANS if k[0] == x1.shape and k[6] is None)][0] == "separable"
    )


def test_tune_routes_measures_and_stores(monkeypatch):
    from companion.gaunt import product as P

    monkeypatch.setattr(P, "ROUTE_THRESHOLDS", {})
    table = P.tune_routes("cpu", F64, degrees=(1, 2), rows=64, budget_s=0.01)
    assert [r["L"] for r in table] == [1, 2] and all(r["dense"] > 0 for r in table)
    dense_max, separable_max = P.ROUTE_THRESHOLDS["cpu", F64]
    assert -1 <= dense_max <= separable_max <= 4
    assert P.route_for(1, 1, "cpu", F64) in ("dense", "separable")
    assert ("cpu", torch.float32) not in P.ROUTE_THRESHOLDS  # measured per dtype
    with pytest.raises(TypeError, match="dtype"):
        P.tune_routes("cpu", torch.float16, degrees=(1,))


def test_gaunt_tensor_rejects_output_degree_above_sum():
    # used to return a zero-padded tensor while gaunt_product raised; now both raise
    from companion.gaunt import gaunt_tensor

    assert gaunt_tensor(1, 1, 2).shape == (4, 4, 9)
    with pytest.raises(ValueError, match="L_out"):
        gaunt_tensor(1, 1, 3)
    with pytest.raises(ValueError, match="L_out"):
        gaunt_product(torch.zeros(4), torch.zeros(4), 3)


def test_fft_breakdown_accounts_for_the_route():
    from companion.gaunt.bench import fft_breakdown

    r = fft_breakdown(1, rows=64, calls=2)
    assert r["grid"] == (5, 5) and 0 < r["fft_share"] < 1
    assert r["total_ms"] == pytest.approx(r["fft_ms"] + r["rest_ms"])


# ----------------------------------------------------------------------------- convolution, many-body


def _graph(N=6, C=3, L=2, Lf=2, E=15, seed=40):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(N, C, (L + 1) ** 2, generator=g, dtype=F64)
    ei = torch.randint(0, N, (2, E), generator=g)
    ev = torch.randn(E, 3, generator=g, dtype=F64)
    rad = torch.randn(E, C, Lf + 1, generator=g, dtype=F64)
    return x, ei, ev, rad


@pytest.mark.parametrize("L, Lf, L_out", [(2, 2, None), (2, 1, 2), (1, 3, 3), (3, 0, 2)])
def test_conv_equals_e3nn(L, Lf, L_out):
    from companion.gaunt import gaunt_conv, gaunt_conv_e3nn

    x, ei, ev, rad = _graph(L=L, Lf=Lf)
    y = gaunt_conv(x, ei, ev, rad, L_out)
    assert y.shape == (6, 3, ((L + Lf if L_out is None else L_out) + 1) ** 2)
    assert (y - gaunt_conv_e3nn(x, ei, ev, rad, L_out)).abs().max() < 1e-12


def test_conv_equivariant_and_message_sum():
    from companion.gaunt import edge_filter, gaunt_conv

    x, ei, ev, rad = _graph()
    R = _rotation(4)
    y = gaunt_conv(x, ei, ev, rad, 3)
    yr = gaunt_conv(x @ _wigner_d(2, R).T, ei, ev @ R.T, rad, 3)
    assert (yr - y @ _wigner_d(3, R).T).abs().max() < 1e-11
    # node 0's output is the sum of the products over its incoming edges
    into0 = (ei[1] == 0).nonzero().flatten()
    F = edge_filter(ev, rad)
    ref = sum(gaunt_product_dense(x[ei[0, e]], F[e], 3) for e in into0.tolist())
    assert (y[0] - ref).abs().max() < 1e-12 if len(into0) else y[0].abs().max() == 0


def test_conv_bad_inputs():
    from companion.gaunt import gaunt_conv

    x, ei, ev, rad = _graph()
    with pytest.raises(TypeError, match="edge_index"):
        gaunt_conv(x, ei.double(), ev, rad)
    with pytest.raises(ValueError, match="edge_index"):
        gaunt_conv(x, ei + 10, ev, rad)
    with pytest.raises(ValueError, match="edge_vec"):
        gaunt_conv(x, ei, torch.zeros_like(ev), rad)
    with pytest.raises(ValueError, match="radial"):
        gaunt_conv(x, ei, ev, rad[:, :2])
    with pytest.raises(ValueError, match="x"):
        gaunt_conv(x.clone().fill_(float("nan")), ei, ev, rad)
    with pytest.raises(TypeError, match="edge_vec"):
        gaunt_conv(x, ei, ev.float(), rad)
    with pytest.raises(ValueError, match="L_out"):
        gaunt_conv(x, ei, ev, rad, 5)


@pytest.mark.parametrize("nu, L_out", [(1, 2), (2, 4), (3, 2), (4, 3), (5, 2)])
def test_many_body_power_equals_e3nn_and_pointwise(nu, L_out):
    from companion.gaunt import gaunt_many_body, gaunt_many_body_e3nn

    x = _rand(2, 3, 9, seed=nu)
    y = gaunt_many_body([x] * nu, L_out)
    assert (y - gaunt_many_body_e3nn([x] * nu, L_out)).abs().max() < 1e-11
    n = _rand(40, 3, seed=50)
    n = n / n.norm(dim=-1, keepdim=True)
    full = gaunt_many_body([x] * nu)  # no truncation: the function x(n) ** nu exactly
    f = (real_spherical_harmonics(2, n) @ x[1, 2]) ** nu
    assert (real_spherical_harmonics(2 * nu, n) @ full[1, 2] - f).abs().max() < 1e-10
    assert (full[..., : (L_out + 1) ** 2] - y).abs().max() < 1e-11  # truncation is exact


def test_many_body_mixed_factors_and_bad_inputs():
    from companion.gaunt import gaunt_many_body, gaunt_many_body_e3nn

    xs = [_rand(2, 3, (l + 1) ** 2, seed=60 + l) for l in (1, 2, 0, 3)]
    assert (gaunt_many_body(xs, 3) - gaunt_many_body_e3nn(xs, 3)).abs().max() < 1e-12
    with pytest.raises(TypeError, match="xs"):
        gaunt_many_body(xs[0])
    with pytest.raises(TypeError, match="xs"):
        gaunt_many_body([])
    with pytest.raises(ValueError, match="L_out"):
        gaunt_many_body(xs, 7)
    with pytest.raises(ValueError, match=r"xs\[1\]"):
        gaunt_many_body([xs[0], torch.zeros(2, 3, 5)])


def test_bench_thread_clock():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the thread clock is meaningful for one torch thread only
    try:
        rows = compare([1], channels=2, e3nn_max=1, grid_max=0, budget_s=0.01, clock="thread")
    finally:
        torch.set_num_threads(threads)
    assert rows[0]["e3nn_ms"] > 0 and rows[0]["separable_ms"] > 0
    with pytest.raises(ValueError, match="clock"):
        compare([1], channels=2, e3nn_max=0, grid_max=0, budget_s=0.01, clock="cpu")


def test_interaction_benchmarks_run():
    from companion.gaunt.bench import conv_compare, many_body_compare, simple_table

    rows = conv_compare([1], channels=2, nodes=4, edges=8, budget_s=0.01)
    assert rows[0]["err"] < 1e-5 and rows[0]["speedup"] > 0
    rows = many_body_compare([(1, 4)], channels=2, nodes=3, budget_s=0.01)
    assert rows[0]["err"] < 1e-5 and rows[0]["products"] == "3 vs 2"
    assert "| 1 | 4 |" in simple_table(rows, ("L", "nu"))
