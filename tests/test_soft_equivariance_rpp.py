"""Tests for companion.soft_equivariance.rpp: residual pathway priors (Finzi, Benton & Wilson 2021)."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from companion.soft_equivariance import (
    RPPEMLP,
    RPPLinear,
    TensorRep,
    equivariance_errors,
    equivariant_projector,
    modified_inertia,
    o2_plane,
    o3,
    plane_groups,
    regression_mse,
    rpp_layers,
    rpp_penalty,
    train,
)

F64 = torch.float64
REP_IN, REP_OUT = TensorRep((5, 5, 0)), TensorRep((0, 0, 1))


def _model(seed: int, group=None, residual_scale: float = 1.0) -> RPPEMLP:
    return RPPEMLP(
        group or o3(),
        hidden=(4, 2, 2),
        residual_scale=residual_scale,
        generator=torch.Generator().manual_seed(seed),
        dtype=F64,
    )


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 1000), which=st.sampled_from(["O(3)", "xy", "yz"]))
def test_without_residual_the_model_is_exactly_equivariant(seed, which):
    group = o3() if which == "O(3)" else o2_plane(which)
    net = _model(seed, group, residual_scale=0.0)
    x, _ = modified_inertia(64, generator=torch.Generator().manual_seed(seed), dtype=F64)
    candidates = [group] + ([o2_plane("xz")] if which == "O(3)" else [])
    errs = equivariance_errors(
        net,
        x,
        candidates,
        rep_in=REP_IN,
        rep_out=REP_OUT,
        generator=torch.Generator().manual_seed(1),
    )
    assert errs.max() < 1e-10


def test_residual_path_breaks_equivariance():
    net = _model(0)
    x, _ = modified_inertia(64, generator=torch.Generator().manual_seed(0), dtype=F64)
    err = equivariance_errors(
        net, x, [o3()], rep_in=REP_IN, rep_out=REP_OUT, generator=torch.Generator().manual_seed(1)
    )
    assert err[0] > 1e-3


def test_layer_is_the_sum_of_both_paths():
    torch.manual_seed(0)
    layer = RPPLinear(TensorRep((2, 1, 1)), TensorRep((1, 2, 1)), o2_plane("xy"), dtype=F64)
    x = torch.randn(5, layer.equivariant.rep_in.dim, dtype=F64)
    w_eq, b_eq = layer.equivariant.projected(o2_plane("xy"))
    want = x @ (w_eq + layer.residual.weight).T + b_eq + layer.residual.bias
    assert torch.allclose(layer(x), want, atol=1e-12)


def test_penalty_closed_form_and_gradient():
    net = _model(3)
    with torch.no_grad():
        for layer in rpp_layers(net):
            layer.equivariant.bias.normal_()
            layer.residual.bias.normal_()
    eq, res = 0.0, 0.0
    for layer in rpp_layers(net):
        # reference: project each block by hand with the block projectors
        w, b = layer.equivariant.projected(o3())
        eq += float((w.pow(2).sum() + b.pow(2).sum()).detach())
        res += float(
            (layer.residual.weight.pow(2).sum() + layer.residual.bias.pow(2).sum()).detach()
        )
    val = rpp_penalty(net, equiv_wd=0.3, basic_wd=2.0)
    assert torch.allclose(val, torch.tensor(0.15 * eq + 1.0 * res, dtype=F64))
    # gradient of the residual term is basic_wd * W_B (autograd against the closed form)
    val.backward()
    layer = rpp_layers(net)[0]
    assert torch.allclose(layer.residual.weight.grad, 2.0 * layer.residual.weight, atol=1e-12)


def test_equivariant_penalty_sees_only_the_projected_weights():
    # a weight in the orthogonal complement of the O(3)-equivariant maps costs nothing
    layer = RPPLinear(TensorRep((0, 0, 1)), TensorRep((0, 0, 1)), o3(), dtype=F64)
    p = equivariant_projector(o3(), 2, 2)
    with torch.no_grad():
        w = torch.randn(81, dtype=F64, generator=torch.Generator().manual_seed(0))
        layer.equivariant.weight.copy_((w - p @ w).reshape(9, 9))
        layer.equivariant.bias.zero_()
    eq, _ = layer.penalty_terms()
    assert eq < 1e-20


def test_residual_prior_strength_trades_symmetry_for_fit():
    # a strong prior on the residual path keeps the trained net close to O(3)-equivariance;
    # a weak one lets the residual fit the O(3)-breaking term (lower training error)
    x, y = modified_inertia(200, generator=torch.Generator().manual_seed(0), dtype=F64)
    nets = {}
    for basic_wd in (1e3, 1e-4):
        net = _model(1)
        train(
            net,
            x,
            y,
            steps=150,
            lr=1e-2,
            wd=0.0,
            penalty=lambda m, b=basic_wd: rpp_penalty(m, equiv_wd=0.0, basic_wd=b),
        )
        err = equivariance_errors(
            net,
            x,
            [o3()],
            rep_in=REP_IN,
            rep_out=REP_OUT,
            generator=torch.Generator().manual_seed(1),
        )[0]
        res = sum(float(layer.residual.weight.detach().norm()) for layer in rpp_layers(net))
        nets[basic_wd] = (net, float(err), res)
    (strong, err_s, res_s), (weak, err_w, res_w) = nets[1e3], nets[1e-4]
    assert res_s < 0.1 * res_w
    assert err_s < 0.2 * err_w
    assert regression_mse(weak, x, y) < regression_mse(strong, x, y)


def test_training_penalty_argument_is_used_and_checked():
    x, y = modified_inertia(50, generator=torch.Generator().manual_seed(0), dtype=F64)
    calls = []

    def penalty(model):
        calls.append(1)
        return rpp_penalty(model, equiv_wd=1e-5, basic_wd=1.0)

    train(_model(0), x, y, steps=3, penalty=penalty)
    assert len(calls) == 3
    with pytest.raises(TypeError, match="penalty"):
        train(_model(0), x, y, steps=3, penalty=1.0)


def test_bad_inputs():
    with pytest.raises(TypeError, match="group"):
        RPPEMLP("O(3)")
    with pytest.raises(TypeError, match="group"):
        RPPLinear(TensorRep((1, 0, 0)), TensorRep((1, 0, 0)), plane_groups)
    with pytest.raises(TypeError, match="rep_in"):
        RPPLinear((1, 0, 0), TensorRep((1, 0, 0)), o3())
    with pytest.raises(ValueError, match="residual_scale"):
        RPPLinear(TensorRep((1, 0, 0)), TensorRep((1, 0, 0)), o3(), residual_scale=float("nan"))
    with pytest.raises(ValueError, match="residual_scale"):
        RPPLinear(TensorRep((1, 0, 0)), TensorRep((1, 0, 0)), o3(), residual_scale=-1.0)
    net = _model(0)
    with pytest.raises(ValueError, match="basic_wd"):
        rpp_penalty(net, equiv_wd=1e-5, basic_wd=float("inf"))
    with pytest.raises(ValueError, match="equiv_wd"):
        rpp_penalty(net, equiv_wd=-1.0, basic_wd=1.0)
    with pytest.raises(ValueError, match="RPPLinear"):
        rpp_penalty(torch.nn.Linear(2, 2), equiv_wd=1e-5, basic_wd=1.0)
    with pytest.raises(TypeError, match="model"):
        rpp_layers("net")
