"""Tests for companion.soft_equivariance (Chapter 1: soft equivariance under mixed symmetries)."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from companion.groups import equivariance_error, haar_o3
from companion.soft_equivariance import (
    AXIS_PLANE,
    PLANES,
    SoftEMLP,
    SoftLinear,
    TensorRep,
    autotune_strengths,
    equivariance_errors,
    equivariant_basis,
    equivariant_projector,
    inertia_target,
    modified_inertia,
    o2_plane,
    o3,
    plane_groups,
    project_blocks,
    reference_regularizer,
    regression_mse,
    regularizer,
    regularizers,
    so3,
    tensor_rep_lie,
    tensor_rep_matrix,
    train,
)

ALL_GROUPS = [o3(), so3()] + plane_groups()
BLOCKS = [(a, b) for a in range(3) for b in range(3)]
REP_IN, REP_OUT = TensorRep((5, 5, 0)), TensorRep((0, 0, 1))


def small_model(seed: int = 0, dtype: torch.dtype = torch.float64, **kw) -> SoftEMLP:
    return SoftEMLP(
        hidden=(4, 2, 2), generator=torch.Generator().manual_seed(seed), dtype=dtype, **kw
    )


def data(n: int = 64, seed: int = 0, **kw):
    return modified_inertia(
        n, generator=torch.Generator().manual_seed(seed), dtype=torch.float64, **kw
    )


# --------------------------------------------------------------------------- groups and representations


@pytest.mark.parametrize("group", ALL_GROUPS, ids=lambda g: g.name)
def test_samples_lie_in_the_group(group):
    g = group.sample(200, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    assert group.contains(g).all()
    det = torch.linalg.det(g)
    frac_improper = float((det < 0).double().mean())
    if group.name == "SO(3)":
        assert frac_improper == 0.0
    else:  # Haar on a group with two components puts mass ½ on each
        assert 0.35 < frac_improper < 0.65


def test_plane_subgroups_fix_their_axis():
    for plane, axis in (("xy", 2), ("yz", 0), ("xz", 1)):
        g = o2_plane(plane).sample(
            50, generator=torch.Generator().manual_seed(0), dtype=torch.float64
        )
        e = torch.zeros(3, dtype=torch.float64)
        e[axis] = 1.0
        torch.testing.assert_close(g @ e, e.expand(50, 3))
        # and they are not contained in the other planes' groups
        others = [o2_plane(p) for p in PLANES if p != plane]
        assert all(not other.contains(g).all() for other in others)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), order=st.sampled_from([0, 1, 2]))
def test_tensor_rep_is_a_homomorphism(seed, order):
    gen = torch.Generator().manual_seed(seed)
    g, h = o3().sample(2, generator=gen, dtype=torch.float64)
    torch.testing.assert_close(
        tensor_rep_matrix(order, g @ h), tensor_rep_matrix(order, g) @ tensor_rep_matrix(order, h)
    )


@pytest.mark.parametrize("order", [0, 1, 2])
def test_lie_rep_is_the_derivative_of_the_group_rep(order):
    a = o3().lie[0] + 0.3 * o3().lie[2]
    t = 1e-5
    finite = (
        tensor_rep_matrix(order, torch.linalg.matrix_exp(t * a))
        - tensor_rep_matrix(order, torch.linalg.matrix_exp(-t * a))
    ) / (2 * t)
    torch.testing.assert_close(tensor_rep_lie(order, a), finite, atol=1e-8, rtol=0)


def test_tensor_rep_sum_matches_core_tensor2():
    from companion.groups import TENSOR2

    g = o3().sample(3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    torch.testing.assert_close(TensorRep((0, 0, 1)).matrix(g), TENSOR2(g))
    big = TensorRep((2, 1, 1)).matrix(g)
    assert big.shape == (3, 14, 14)
    torch.testing.assert_close(big[:, 2:5, 2:5], g)
    torch.testing.assert_close(big[:, :2, :2], torch.eye(2, dtype=torch.float64).expand(3, 2, 2))


# --------------------------------------------------------------------------- projectors


@pytest.mark.parametrize("group", ALL_GROUPS, ids=lambda g: g.name)
@pytest.mark.parametrize("a,b", BLOCKS)
def test_projector_symmetric_idempotent(group, a, b):
    p = equivariant_projector(group, a, b)
    assert p.dtype == torch.float64
    assert float((p @ p - p).abs().max()) < 1e-8
    assert float((p - p.T).abs().max()) < 1e-8


@pytest.mark.parametrize(
    "group,a,b,rank",
    [
        (o3(), 2, 2, 3),
        (o3(), 1, 1, 1),
        (o3(), 0, 2, 1),
        (o3(), 1, 2, 0),
        (o3(), 0, 1, 0),
        (so3(), 1, 2, 1),
        (so3(), 2, 2, 3),
        (o2_plane("xy"), 2, 2, 10),
        (o2_plane("xy"), 1, 1, 2),
        (o2_plane("xy"), 0, 2, 2),
        (o2_plane("yz"), 2, 2, 10),
        (o2_plane("yz"), 1, 1, 2),
        (o2_plane("xz"), 2, 2, 10),
        (o2_plane("xz"), 1, 1, 2),
    ],
)
def test_equivariant_subspace_dimensions(group, a, b, rank):
    assert equivariant_basis(group, a, b).shape[1] == rank
    assert round(float(torch.trace(equivariant_projector(group, a, b)))) == rank


@pytest.mark.parametrize("group", [o3(), o2_plane("xy"), o2_plane("xz")], ids=lambda g: g.name)
def test_projector_equals_haar_average(group):
    """Independent reference: the Haar average of ρ_b(g) ⊗ ρ_a(g) is the projector onto the commutant."""
    g = group.sample(40_000, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    r2 = tensor_rep_matrix(2, g)
    twirl = torch.einsum("nij,nkl->ikjl", r2, r2).reshape(81, 81) / g.shape[0]
    assert float((twirl - equivariant_projector(group, 2, 2)).abs().max()) < 0.05


@settings(max_examples=20, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    block=st.sampled_from(BLOCKS),
    which=st.integers(0, len(ALL_GROUPS) - 1),
)
def test_projected_blocks_commute_with_the_group(seed, block, which):
    group, (a, b) = ALL_GROUPS[which], block
    gen = torch.Generator().manual_seed(seed)
    w = torch.randn(2, 3, 3**b, 3**a, generator=gen, dtype=torch.float64)
    pw = project_blocks(w, equivariant_projector(group, a, b))
    g = group.sample(5, generator=gen, dtype=torch.float64)[:, None, None]
    lhs = tensor_rep_matrix(b, g) @ pw
    rhs = pw @ tensor_rep_matrix(a, g)
    assert float((lhs - rhs).abs().max()) < 1e-10
    # the projection is the closest equivariant block: the residual is orthogonal to it
    assert abs(float(((w - pw) * pw).sum())) < 1e-10


def test_subgroup_inclusion():
    """O(3)-equivariant maps are O(2)-plane equivariant: E_O(3) ⊂ E_O(2)_P, so R_O(3) ≥ R_O(2)_P."""
    gen = torch.Generator().manual_seed(0)
    for a, b in BLOCKS:
        w = torch.randn(4, 3**b * 3**a, generator=gen, dtype=torch.float64)
        w3 = w @ equivariant_projector(o3(), a, b).T
        for group in plane_groups() + [so3()]:
            torch.testing.assert_close(w3 @ equivariant_projector(group, a, b).T, w3)
    r = regularizers(small_model(), [o3()] + plane_groups())
    assert (r[0] >= r[1:]).all()


# --------------------------------------------------------------------------- model and regulariser


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), which=st.integers(0, len(ALL_GROUPS) - 1))
def test_hard_projected_model_is_equivariant(seed, which):
    group = ALL_GROUPS[which]
    x, _ = data(32, seed)
    model = small_model(seed)
    with torch.no_grad():  # give the biases something to project
        for layer in model.net:
            if isinstance(layer, SoftLinear):
                layer.bias.normal_(generator=torch.Generator().manual_seed(seed))
    gen = torch.Generator().manual_seed(seed + 1)
    before = equivariance_errors(model, x, [group], rep_in=REP_IN, rep_out=REP_OUT, generator=gen)[
        0
    ]
    model.project_(group)
    after = equivariance_errors(model, x, [group], rep_in=REP_IN, rep_out=REP_OUT, generator=gen)[0]
    assert after < 1e-5, after
    assert before > 1e-2, before
    assert regularizer(model, group).item() < 1e-20


def test_hard_mode_equals_in_place_projection():
    x, _ = data(16)
    model = small_model(3)
    model.group = o2_plane("yz")
    y_hard = model(x)
    model.group = None
    assert not torch.allclose(model(x), y_hard)
    model.project_(o2_plane("yz"))
    torch.testing.assert_close(model(x), y_hard)


def test_regularizer_is_zero_iff_equivariant_and_has_closed_form_gradient():
    model = small_model(5)
    groups = plane_groups()
    r = regularizers(model, groups)
    assert (r > 1e-3).all()
    # closed form: ∇_W ½‖W − PW‖² = W − PW (P symmetric, idempotent)
    r[1].backward()
    layer = model.net[0]
    w_proj, b_proj = layer.projected(groups[1])
    torch.testing.assert_close(layer.weight.grad, layer.weight.detach() - w_proj.detach())
    torch.testing.assert_close(layer.bias.grad, layer.bias.detach() - b_proj.detach())
    # the same value from the assembled projected matrices (an independent code path)
    direct = sum(
        0.5 * ((lay.weight - lay.projected(groups[2])[0]) ** 2).sum()
        + 0.5 * ((lay.bias - lay.projected(groups[2])[1]) ** 2).sum()
        for lay in model.net
        if isinstance(lay, SoftLinear)
    )
    torch.testing.assert_close(r[2].detach(), direct.detach())
    model.project_(groups[0])
    r = regularizers(model, groups)
    assert r[0] < 1e-20 and (r[1:] > 1e-3).all()
    assert regularizers(model, groups, bias=False)[1] <= r[1]


# --------------------------------------------------------------------------- data


def test_inertia_closed_form():
    x = torch.tensor([[1.0, 1.0, 0.0, 0.0]], dtype=torch.float64)  # one unit mass at e_x
    torch.testing.assert_close(
        inertia_target(x, 0.0).reshape(3, 3),
        torch.diag(torch.tensor([0.0, 1, 1], dtype=torch.float64)),
    )
    torch.testing.assert_close(
        inertia_target(x, 0.5, "z").reshape(3, 3),
        torch.diag(torch.tensor([0.0, 1, 1.5], dtype=torch.float64)),
    )
    x2 = torch.tensor([[2.0, 0.0, 1.0, 1.0]], dtype=torch.float64)  # mass 2 at (0, 1, 1)
    expect = 2 * (
        2 * torch.eye(3, dtype=torch.float64)
        - torch.tensor([[0.0, 0, 0], [0, 1, 1], [0, 1, 1]], dtype=torch.float64)
    )
    torch.testing.assert_close(inertia_target(x2, 0.0).reshape(3, 3), expect)


@pytest.mark.parametrize("axis", ["x", "y", "z"])
def test_data_symmetric_only_in_the_plane_orthogonal_to_the_axis(axis):
    x, y = data(200, 1, eps=0.3, axis=axis)
    torch.testing.assert_close(y, inertia_target(x, 0.3, axis))
    f = lambda z: inertia_target(z, 0.3, axis)  # noqa: E731
    errs = equivariance_errors(
        f,
        x,
        plane_groups(),
        rep_in=REP_IN,
        rep_out=REP_OUT,
        generator=torch.Generator().manual_seed(2),
    )
    true = PLANES.index(AXIS_PLANE[axis])
    assert errs[true] < 1e-12
    assert all(errs[k] > 0.05 for k in range(3) if k != true)
    # ε = 0: the plain inertia tensor is O(3)-equivariant
    f0 = lambda z: inertia_target(z, 0.0, axis)  # noqa: E731
    assert equivariance_errors(f0, x, [o3()], rep_in=REP_IN, rep_out=REP_OUT)[0] < 1e-12


def test_data_is_seeded():
    a, b = data(10, 7), data(10, 7)
    torch.testing.assert_close(a, b)
    assert a[0].shape == (10, 20) and a[1].shape == (10, 9)
    assert (a[0][:, :5] > 0).all()  # masses are positive (softplus)


# --------------------------------------------------------------------------- tuning rule


def test_autotune_hand_worked_example():
    lam = autotune_strengths(
        torch.ones(3, dtype=torch.float64), torch.tensor([1e-4, 1e-2, 2e-2], dtype=torch.float64), 2
    )
    torch.testing.assert_close(lam, torch.tensor([1.0, 1e-4, 2.5e-5], dtype=torch.float64))


def test_autotune_zero_strength_stays_zero_and_is_excluded():
    lam = torch.tensor([0.0, 2.0, 1.0], dtype=torch.float64)
    r = torch.tensor([1e-9, 1e-2, 4e-2], dtype=torch.float64)  # the λ = 0 entry has the smallest R
    out = autotune_strengths(lam, r, 2)
    torch.testing.assert_close(out, torch.tensor([0.0, 2.0, 1.0 / 16], dtype=torch.float64))
    torch.testing.assert_close(autotune_strengths(lam, r, 0), lam)
    torch.testing.assert_close(autotune_strengths(torch.zeros(3), torch.ones(3), 2), torch.zeros(3))


def test_reference_regularizer_takes_the_whole_vector_of_the_last_improvement():
    hist = torch.tensor([[3.0, 3.0], [2.0, 4.0], [2.5, 3.5], [2.2, 2.9], [2.1, 3.0]])
    # row 3 improves entry 1 (2.9 < 3.0) -> whole row [2.2, 2.9]; row 4 improves nothing
    torch.testing.assert_close(reference_regularizer(hist), torch.tensor([2.2, 2.9]))


def test_short_training_keeps_the_true_plane_strongest():
    torch.manual_seed(0)
    x, y = modified_inertia(400, eps=0.3, axis="z", generator=torch.Generator().manual_seed(0))
    model = SoftEMLP(hidden=(8, 4, 4), generator=torch.Generator().manual_seed(1))
    res = train(
        model, x, y, groups=plane_groups(), lam=[1.0, 1.0, 1.0], steps=400, lr=1e-2, autotune_at=200
    )
    assert res.tuned_at == 200 and res.r_reference is not None
    assert int(res.lam.argmax()) == PLANES.index("xy")
    assert res.lam[0] == 1.0 and (res.lam[1:] < 0.5).all()
    assert res.r_history.shape == (400, 3) and torch.isfinite(res.losses).all()
    assert regression_mse(model, x, y) < float(res.losses[0])


def test_hard_emlp_passes_the_core_check_with_the_reps_it_declares():
    """SoftEMLP carries rep_in/rep_out: one core check, as for frames and gaunt."""
    x, _ = data(16, seed=3)
    g = haar_o3(16, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    hard, soft = small_model(5, hard=o3()), small_model(5)
    with torch.no_grad():
        assert equivariance_error(hard, x, g) < 1e-10
        assert equivariance_error(soft, x, g) > 1e-2
    assert torch.equal(hard.rep_in.act(g, x), hard.rep_in.representation().act(g, x))


# --------------------------------------------------------------------------- bad input


def test_matrix_group_validates_kind_plane_and_generators():
    """Each of these used to be accepted and failed later (KeyError) or gave a wrong projector."""
    from companion.soft_equivariance.groups import MatrixGroup

    xy = o2_plane("xy")
    lie, disc = xy.lie, xy.discrete
    with pytest.raises(ValueError, match="kind"):
        MatrixGroup("G", lie, disc, "O(2)x")
    with pytest.raises(TypeError, match="kind"):
        MatrixGroup("G", lie, disc, 2)
    with pytest.raises(ValueError, match="plane"):
        MatrixGroup("G", lie, disc, "O(2)")  # plane None: .sample() raised KeyError: None
    with pytest.raises(ValueError, match="plane"):
        MatrixGroup("G", lie, disc, "O(2)", "xw")
    with pytest.raises(ValueError, match="plane"):
        MatrixGroup("G", lie, disc, "SO(3)", "xy")
    with pytest.raises(ValueError, match="antisymmetric"):
        MatrixGroup("G", lie + torch.eye(3, dtype=torch.float64) * 0.1, disc, "O(2)", "xy")
    with pytest.raises(ValueError, match="orthogonal"):
        MatrixGroup("G", lie, 1.5 * disc, "O(2)", "xy")
    with pytest.raises(ValueError, match="finite"):
        MatrixGroup("G", lie * math.nan, disc, "O(2)", "xy")
    with pytest.raises(ValueError, match="lie must have 3 dimensions"):
        MatrixGroup("G", lie[0], disc, "O(2)", "xy")
    with pytest.raises(TypeError, match="discrete"):
        MatrixGroup("G", lie, disc.long(), "O(2)", "xy")
    # float32 generators within float32 rounding are fine and stored in float64
    g32 = MatrixGroup("G", lie.float(), disc.float(), "O(2)", "xy")
    assert g32.lie.dtype == torch.float64 and g32.discrete.dtype == torch.float64
    assert equivariant_projector(g32, 1, 1).shape == (9, 9)


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match="plane"):
        o2_plane("xw")
    with pytest.raises(ValueError, match="order"):
        equivariant_projector(o3(), 3, 1)
    with pytest.raises(ValueError, match="order"):
        tensor_rep_matrix(-1, torch.eye(3))
    with pytest.raises(TypeError, match="group"):
        equivariant_projector("O(3)", 1, 1)
    with pytest.raises(ValueError, match="projector"):
        project_blocks(torch.zeros(2, 3, 3), torch.eye(4))
    with pytest.raises(ValueError, match="lam and r"):
        autotune_strengths(torch.ones(3), torch.ones(2), 2)
    with pytest.raises(ValueError, match="lam"):
        autotune_strengths(torch.tensor([1.0, -1.0]), torch.ones(2), 2)
    with pytest.raises(ValueError, match="r must"):
        autotune_strengths(torch.ones(2), torch.tensor([1.0, math.nan]), 2)
    with pytest.raises(ValueError, match="eps"):
        modified_inertia(5, eps=math.inf)
    with pytest.raises(ValueError, match="eps"):
        inertia_target(torch.zeros(2, 20), eps=math.nan)
    with pytest.raises(ValueError, match="axis"):
        modified_inertia(5, axis="w")
    with pytest.raises(ValueError, match="4n"):
        inertia_target(torch.zeros(2, 7))
    with pytest.raises(ValueError, match="counts"):
        TensorRep((1, 2))
    with pytest.raises(ValueError, match="x must have shape"):
        small_model()(torch.zeros(3, 21, dtype=torch.float64))
    with pytest.raises(TypeError, match="groups"):
        regularizers(small_model(), o3())
    with pytest.raises(ValueError, match="x and y"):
        train(small_model(), torch.zeros(4, 20), torch.zeros(3, 9), steps=1)
    with pytest.raises(ValueError, match="lam must have shape"):
        train(
            small_model(),
            torch.zeros(4, 20),
            torch.zeros(4, 9),
            groups=plane_groups(),
            lam=[1.0],
            steps=1,
        )
    with pytest.raises(ValueError, match="autotune_at"):
        train(
            small_model(),
            torch.zeros(4, 20),
            torch.zeros(4, 9),
            groups=plane_groups(),
            lam=[1.0] * 3,
            steps=5,
            autotune_at=5,
        )
    with pytest.raises(ValueError, match="x must have shape"):
        equivariance_errors(
            small_model(), torch.zeros(4, 9), [o3()], rep_in=REP_IN, rep_out=REP_OUT
        )
    with pytest.raises(TypeError, match="hard"):
        SoftEMLP(hard="O(3)")


@pytest.mark.cuda
def test_training_on_cuda():
    x, y = modified_inertia(64, generator=torch.Generator().manual_seed(0))
    model = SoftEMLP(hidden=(4, 2, 2)).to("cuda")
    res = train(model, x, y, groups=plane_groups(), lam=[1.0] * 3, steps=20, autotune_at=10)
    assert res.lam.shape == (3,)
    model.project_(o2_plane("xy"))
    errs = equivariance_errors(
        model, x.to("cuda"), [o2_plane("xy")], rep_in=REP_IN, rep_out=REP_OUT
    )
    assert errs[0] < 1e-4
