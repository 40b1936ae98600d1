"""Tests of companion.groups: Haar sampling, representations, equivariance error."""

import math

import numpy as np
import pytest
import torch
from e3nn import o3
from hypothesis import given, settings
from hypothesis import strategies as st

from companion import groups as G

SEEDS = st.integers(min_value=0, max_value=2**31 - 1)
REPS = [
    G.SCALAR,
    G.PSEUDOSCALAR,
    G.VECTOR,
    G.TENSOR2,
    G.direct_sum(G.VECTOR, G.TENSOR2, G.SCALAR),
    G.irreps("2x0e + 1o + 2e"),
]


def gen(seed):
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("group,d", [("SO(2)", 2), ("SO(3)", 3), ("O(3)", 3)])
@given(seed=SEEDS)
@settings(max_examples=20, deadline=None)
def test_samples_are_orthogonal_with_right_determinant(group, d, seed):
    g = G.sample(group, 64, generator=gen(seed), dtype=torch.float64)
    assert g.shape == (64, d, d)
    torch.testing.assert_close(
        g @ g.transpose(1, 2), torch.eye(d, dtype=torch.float64).expand(64, d, d)
    )
    det = torch.linalg.det(g)
    if group == "O(3)":
        torch.testing.assert_close(det.abs(), torch.ones(64, dtype=torch.float64))
    else:
        torch.testing.assert_close(det, torch.ones(64, dtype=torch.float64))


def test_sampling_is_seeded():
    a = G.haar_o3(10, generator=gen(3))
    b = G.haar_o3(10, generator=gen(3))
    c = G.haar_o3(10, generator=gen(4))
    assert torch.equal(a, b) and not torch.equal(a, c)


def _ks(samples, cdf):
    s = np.sort(samples)
    f = cdf(s)
    i = np.arange(1, len(s) + 1)
    return max(np.max(i / len(s) - f), np.max(f - (i - 1) / len(s)))


def test_so3_rotation_angle_follows_haar_law():
    # Under Haar measure the rotation angle has CDF (w - sin w)/pi.
    r = G.haar_so3(20000, generator=gen(0), dtype=torch.float64)
    w = torch.arccos(((r.diagonal(dim1=1, dim2=2).sum(-1) - 1) / 2).clamp(-1, 1)).numpy()
    assert _ks(w, lambda t: (t - np.sin(t)) / np.pi) < 1.63 / math.sqrt(len(w))  # 1% level


def test_so3_haar_is_left_invariant_in_law():
    # If R ~ Haar then hR ~ Haar: the angle law of hR also passes the test, and the first column
    # of R is uniform on the sphere (each coordinate uniform on [-1, 1]).
    h = G.haar_so3(1, generator=gen(1), dtype=torch.float64)[0]
    r = h @ G.haar_so3(20000, generator=gen(2), dtype=torch.float64)
    w = torch.arccos(((r.diagonal(dim1=1, dim2=2).sum(-1) - 1) / 2).clamp(-1, 1)).numpy()
    assert _ks(w, lambda t: (t - np.sin(t)) / np.pi) < 1.63 / math.sqrt(len(w))
    z = r[:, 2, 0].numpy()
    assert _ks(z, lambda t: (t + 1) / 2) < 1.63 / math.sqrt(len(z))


def test_so2_angles_are_uniform():
    g = G.haar_so2(20000, generator=gen(5), dtype=torch.float64)
    theta = torch.atan2(g[:, 1, 0], g[:, 0, 0]).numpy() % (2 * np.pi)
    assert _ks(theta, lambda t: t / (2 * np.pi)) < 1.63 / math.sqrt(len(theta))


def test_o3_has_both_components_in_equal_measure():
    det = torch.linalg.det(G.haar_o3(20000, generator=gen(6), dtype=torch.float64))
    frac = float((det < 0).double().mean())
    assert abs(frac - 0.5) < 4 * 0.5 / math.sqrt(20000)


def test_haar_so3_agrees_with_e3nn_in_law():
    # e3nn's own sampler, compared through the mean of the trace (E tr R = 0 under Haar)
    # and of tr(R)^2 (= 1: the number of times the trivial rep occurs in 1 (x) 1).
    torch.manual_seed(0)
    ours = G.haar_so3(50000, generator=gen(7), dtype=torch.float64)
    theirs = o3.rand_matrix(50000, dtype=torch.float64)
    for r in (ours, theirs):
        tr = r.diagonal(dim1=1, dim2=2).sum(-1)
        assert abs(float(tr.mean())) < 0.03
        assert abs(float((tr**2).mean()) - 1) < 0.05


@pytest.mark.parametrize("rho", REPS, ids=lambda r: r.name)
@given(seed=SEEDS)
@settings(max_examples=20, deadline=None)
def test_representations_are_homomorphisms(rho, seed):
    g = G.haar_o3(16, generator=gen(seed), dtype=torch.float64)
    h = G.haar_o3(16, generator=gen(seed + 1), dtype=torch.float64)
    torch.testing.assert_close(rho(G.compose(g, h)), rho(g) @ rho(h))
    e = torch.eye(3, dtype=torch.float64)
    torch.testing.assert_close(rho(e), torch.eye(rho.dim(3), dtype=torch.float64))


def test_tensor2_acts_as_conjugation():
    g = G.haar_o3(8, generator=gen(0), dtype=torch.float64)
    t = torch.randn(8, 3, 3, dtype=torch.float64, generator=gen(1))
    expected = (g @ t @ g.transpose(1, 2)).reshape(8, 9)
    torch.testing.assert_close(G.TENSOR2.act(g, t.reshape(8, 9)), expected)


def test_permutation_matrix_reorders_points():
    perm = G.random_permutation(4, 6, generator=gen(0))
    x = torch.randn(4, 6, 3, generator=gen(1))
    p = G.permutation_matrix(perm)
    torch.testing.assert_close(
        G.PERMUTATION.act(p, x), torch.stack([x[b, perm[b]] for b in range(4)])
    )
    torch.testing.assert_close(G.inverse(p) @ p, torch.eye(6).expand(4, 6, 6))


def test_rotation_2d_composes_angles():
    a, b = torch.tensor(0.3, dtype=torch.float64), torch.tensor(1.1, dtype=torch.float64)
    torch.testing.assert_close(G.compose(G.rotation_2d(a), G.rotation_2d(b)), G.rotation_2d(a + b))


@given(seed=SEEDS)
@settings(max_examples=25, deadline=None)
def test_equivariance_error_zero_for_equivariant_maps(seed):
    x = torch.randn(32, 7, 3, generator=gen(seed), dtype=torch.float64)
    g = G.haar_o3(32, generator=gen(seed + 1), dtype=torch.float64)

    # Vector-valued, tensor-valued and invariant maps of a point cloud.
    def vec(x):
        return (x.norm(dim=-1, keepdim=True) * x).sum(1)

    def ten(x):
        return torch.einsum("bni,bnj->bij", x, x).flatten(1)

    def inv(x):
        return torch.cdist(x, x).sum((1, 2))[:, None]

    assert G.equivariance_error(vec, x, g, G.VECTOR, G.VECTOR) < 1e-12
    assert G.equivariance_error(ten, x, g, G.VECTOR, G.TENSOR2) < 1e-12
    assert G.invariance_error(inv, x, g, G.VECTOR) < 1e-12
    # per-sample errors also vanish
    assert G.equivariance_error(vec, x, g, G.VECTOR, G.VECTOR, reduction="none").shape == (32,)


@given(seed=SEEDS)
@settings(max_examples=25, deadline=None)
def test_equivariance_error_positive_for_broken_maps(seed):
    x = torch.randn(32, 7, 3, generator=gen(seed), dtype=torch.float64)
    g = G.haar_so3(32, generator=gen(seed + 1), dtype=torch.float64)

    def broken(x):
        return (x**3).sum(1)  # coordinate-wise cube depends on the axes

    assert G.equivariance_error(broken, x, g, G.VECTOR, G.VECTOR) > 1e-2

    # A pseudovector (cross product) is equivariant under rotations but not as a plain vector under O(3).
    def cross(x):
        return torch.cross(x[:, 0], x[:, 1], dim=-1)

    assert G.equivariance_error(cross, x, g, G.VECTOR, G.VECTOR) < 1e-12
    flip = -torch.eye(3, dtype=torch.float64)
    assert G.equivariance_error(cross, x, flip, G.VECTOR, G.VECTOR) > 1.0
    pseudovector = G.Representation(
        "pseudovector", lambda g: torch.linalg.det(g)[..., None, None] * g
    )
    assert G.equivariance_error(cross, x, flip, G.VECTOR, pseudovector) < 1e-12


def test_single_group_element_broadcasts():
    x = torch.randn(5, 4, 3, dtype=torch.float64)
    g = G.haar_so3(1, generator=gen(0), dtype=torch.float64)[0]
    assert G.equivariance_error(lambda x: x.mean(1), x, g, G.VECTOR, G.VECTOR) < 1e-12


def test_equivariance_error_several_inputs_outputs_and_non_orthogonal_g():
    gen = torch.Generator().manual_seed(0)
    x, y = torch.randn(8, 5, 3, generator=gen), torch.randn(8, 5, 3, generator=gen)
    w = torch.randn(8, 5, 1, generator=gen)
    g = torch.randn(8, 3, 3, generator=gen) + 3 * torch.eye(3)  # general linear, not orthogonal

    def f(a, b, c):  # linear in the vectors, c is an untouched weight
        return (c * a).sum(1) + 2 * b.mean(1), (c * b).sum(1, keepdim=True)

    # GL(3) acts linearly on both outputs; the weight c is an untouched input
    acts_in = (G.VECTOR, G.VECTOR, None)
    assert G.equivariance_error(f, (x, y, w), g, acts_in, (G.VECTOR, G.VECTOR)) < 1e-5
    # claiming the second output invariant is wrong: the error reports the worst output
    assert G.equivariance_error(f, (x, y, w), g, acts_in, (G.VECTOR, None)) > 0.1
    assert G.invariance_error(f, (x, y, w), g, acts_in) > 0.1
    # an affine action (not a representation) through GroupAction, with homogeneous g
    shift = G.GroupAction("positions", lambda h, p: p @ h[..., :3, :3].mT + h[..., None, :3, 3])
    h = torch.eye(4).repeat(8, 1, 1)
    h[:, :3, :3] = G.haar_so3(8, generator=gen)
    h[:, :3, 3] = torch.randn(8, 3, generator=gen)
    centroid = lambda p: p.mean(1, keepdim=True)  # noqa: E731
    assert G.equivariance_error(centroid, x, h, shift, shift) < 1e-5
    assert G.equivariance_error(lambda p: p.sum(1, keepdim=True), x, h, shift, shift) > 0.1


def test_equivariance_error_reads_the_actions_a_module_declares():
    class Scale(torch.nn.Module):
        rep_in, rep_out = G.VECTOR, G.VECTOR

        def forward(self, v):
            return 3 * v

    x, g = torch.randn(4, 3), G.haar_o3(4)
    assert G.equivariance_error(Scale(), x, g) < 1e-6
    assert G.equivariance_error(Scale(), x, g, rho_out=None) > 0.1


# ----------------------------------------------------------------- bad input


def test_bad_group_elements_are_rejected():
    x = torch.randn(4, 5, 3)
    f = lambda x: x.mean(1)  # noqa: E731
    with pytest.raises(ValueError, match="g must be square"):
        G.equivariance_error(f, x, torch.randn(4, 3, 2), G.VECTOR, G.VECTOR)
    with pytest.raises(ValueError, match="g must be finite"):
        G.equivariance_error(f, x, torch.full((3, 3), float("nan")), G.VECTOR, G.VECTOR)
    with pytest.raises(ValueError, match="rho_in must have one entry per tensor"):
        G.equivariance_error(lambda a, b: a, (x, x), torch.eye(3), [G.VECTOR], G.VECTOR)
    with pytest.raises(ValueError, match="rho_out must be a sequence of 2"):
        G.equivariance_error(lambda a: (a, a), x, torch.eye(3), G.VECTOR, G.VECTOR)
    with pytest.raises(TypeError, match="rho_in and rho_out must be given"):
        G.equivariance_error(f, x, torch.eye(3))
    with pytest.raises(ValueError, match="f must return tensors"):
        G.equivariance_error(lambda a: 1.0, x, torch.eye(3), G.VECTOR, None)
    with pytest.raises(ValueError, match="batch size"):
        G.equivariance_error(f, x, G.haar_so3(3), G.VECTOR, G.VECTOR)
    with pytest.raises(TypeError, match="g must be a torch.Tensor"):
        G.equivariance_error(f, x, np.eye(3), G.VECTOR, G.VECTOR)
    with pytest.raises(TypeError, match="x must be a torch.Tensor"):
        G.equivariance_error(f, x.numpy(), torch.eye(3), G.VECTOR, G.VECTOR)
    with pytest.raises(TypeError, match="x must have a floating dtype"):
        G.equivariance_error(
            f, torch.ones(4, 5, 3, dtype=torch.long), torch.eye(3), G.VECTOR, G.VECTOR
        )
    with pytest.raises(ValueError, match="dimension"):
        G.equivariance_error(f, torch.randn(4, 5, 2), torch.eye(3), G.VECTOR, G.VECTOR)
    with pytest.raises(TypeError, match="rho_in must be"):
        G.equivariance_error(f, x, torch.eye(3), "vector", G.VECTOR)
    with pytest.raises(ValueError, match="reduction"):
        G.equivariance_error(f, x, torch.eye(3), G.VECTOR, G.VECTOR, reduction="sum")
    with pytest.raises(TypeError, match="f must be callable"):
        G.equivariance_error(None, x, torch.eye(3), G.VECTOR, G.VECTOR)


def test_bad_sampler_arguments_are_rejected():
    with pytest.raises(ValueError, match="n must be >= 0"):
        G.haar_so3(-1)
    with pytest.raises(TypeError, match="n must be an int"):
        G.haar_o3(2.5)
    with pytest.raises(TypeError, match="n must be an int"):
        G.haar_so2(True)
    with pytest.raises(ValueError, match="group must be one of"):
        G.sample("SU(2)", 3)
    with pytest.raises(ValueError, match="n must be >= 1"):
        G.random_permutation(2, 0)
    with pytest.raises(ValueError, match="perm must be permutations"):
        G.permutation_matrix(torch.tensor([0, 0, 1]))
    with pytest.raises(TypeError, match="perm must hold integer"):
        G.permutation_matrix(torch.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match="same space"):
        G.compose(torch.eye(2), torch.eye(3))
    with pytest.raises(ValueError, match="g must be orthogonal"):
        G.inverse(torch.ones(3, 3))
    with pytest.raises(ValueError, match="at least one"):
        G.direct_sum()
    with pytest.raises(TypeError, match=r"reps\[0\] must be a Representation"):
        G.direct_sum(lambda g: g)
    assert G.haar_so3(0).shape == (0, 3, 3)


def test_equivariance_error_rejects_an_output_action_that_returns_no_tensor():
    x = torch.randn(4, 3, dtype=torch.float64)
    g = torch.eye(3, dtype=torch.float64)
    bad = G.GroupAction("bad", lambda g, y: y.tolist())
    with pytest.raises(ValueError, match="rho_out must map f's output to a tensor, got list"):
        G.equivariance_error(lambda v: v, x, g, G.VECTOR, bad)


# --------------------------------------------------------------------------- group objects


@pytest.mark.parametrize("name", G.GROUP_NAMES)
def test_the_registry_resolves_every_name_to_a_group_whose_samples_it_contains(name):
    group = G.get_group(name)
    assert isinstance(group, G.MatrixGroup) and isinstance(group, G.GroupLike)
    assert group.name == name
    assert G.get_group(name) is not group  # built fresh: no shared mutable state
    g = G.sample(group, 32, generator=gen(0), dtype=torch.float64)
    assert g.shape == (32, group.dim, group.dim) and bool(group.contains(g).all())
    # the generators lie in the group: exp(t A) and the discrete ones
    rot = torch.linalg.matrix_exp(0.7 * group.lie)
    assert bool(group.contains(torch.cat([rot, group.discrete])).all())


@pytest.mark.parametrize("name", G.GROUPS)
def test_sampling_by_name_or_object_draws_the_same_haar_elements(name):
    reference = {"SO(2)": G.haar_so2, "SO(3)": G.haar_so3, "O(3)": G.haar_o3}[name]
    expected = reference(16, generator=gen(3), dtype=torch.float64)
    group = G.get_group(name)
    for drawn in (
        G.sample(name, 16, generator=gen(3), dtype=torch.float64),
        G.sample(group, 16, generator=gen(3), dtype=torch.float64),
        group.sample(16, generator=gen(3), dtype=torch.float64),
    ):
        torch.testing.assert_close(drawn, expected, rtol=0, atol=0)


def test_contains_tells_the_groups_apart():
    refl2 = torch.diag(torch.tensor([1.0, -1.0], dtype=torch.float64))
    assert not bool(G.so2().contains(refl2))
    improper = -torch.eye(3, dtype=torch.float64)
    assert bool(G.o3().contains(improper)) and not bool(G.so3().contains(improper))
    about_x = G.sample("O(2)_yz", 1, generator=gen(1), dtype=torch.float64)
    assert bool(G.o2_plane("yz").contains(about_x)) and not bool(G.o2_plane("xy").contains(about_x))
    assert not bool(G.o3().contains(2 * torch.eye(3, dtype=torch.float64)))


def test_the_chapters_share_the_core_group_type():
    from companion import soft_equivariance as se

    assert se.MatrixGroup is G.MatrixGroup and se.o3 is G.o3 and se.PLANES is G.PLANES
    with pytest.raises(ValueError, match="subgroup of O\\(3\\)"):
        se.equivariant_basis(G.so2(), 1, 1)


def test_bad_group_arguments_are_rejected():
    with pytest.raises(TypeError, match="group must be a str"):
        G.get_group(3)
    with pytest.raises(ValueError, match="group must be one of"):
        G.get_group("O(2)")
    with pytest.raises(TypeError, match="group must be a str"):
        G.sample(None, 2)
    with pytest.raises(ValueError, match=r"lie must have shape \(\.\.\., 2, 2\)"):
        G.MatrixGroup("G", torch.zeros(1, 3, 3), torch.zeros(0, 2, 2), "SO(2)")
    with pytest.raises(ValueError, match="antisymmetric generators of o\\(2\\)"):
        G.MatrixGroup("G", torch.ones(1, 2, 2), torch.zeros(0, 2, 2), "SO(2)")
    with pytest.raises(ValueError, match="plane must be None"):
        G.MatrixGroup("G", torch.zeros(1, 2, 2), torch.zeros(0, 2, 2), "SO(2)", "xy")
