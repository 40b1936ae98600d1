"""Tests of companion.primer: the task, the models, and training."""

import pytest
import torch
from e3nn import o3
from hypothesis import given, settings
from hypothesis import strategies as st

from companion import groups as G
from companion import primer


@given(seed=st.integers(0, 2**31 - 1))
@settings(max_examples=20, deadline=None)
def test_target_and_gated_net_are_o3_and_permutation_equivariant(seed):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(16, 5, 3, generator=gen, dtype=torch.float64)
    g = G.haar_o3(16, generator=gen, dtype=torch.float64)
    p = G.permutation_matrix(G.random_permutation(16, 5, generator=gen), dtype=torch.float64)
    torch.manual_seed(seed)
    net = primer.GatedVectorNet(hidden=16).double()
    for f in (primer.weighted_centroid, net):
        assert G.equivariance_error(f, x, g, G.VECTOR, G.VECTOR) < 1e-10
        assert G.invariance_error(f, x, p, G.PERMUTATION) < 1e-10


def test_plain_mlp_is_not_equivariant():
    torch.manual_seed(0)
    x = torch.randn(64, 4, 3)
    g = G.haar_o3(64, generator=torch.Generator().manual_seed(0))
    assert G.equivariance_error(primer.PointMLP(4), x, g, G.VECTOR, G.VECTOR) > 1e-2


def test_make_pointclouds_shapes_stretch_and_seed():
    x, y = primer.make_pointclouds(4000, 3, generator=torch.Generator().manual_seed(0))
    assert x.shape == (4000, 3, 3) and y.shape == (4000, 3)
    std = x.reshape(-1, 3).std(0)
    torch.testing.assert_close(std, torch.tensor([0.6, 0.6, 1.6]), atol=0.05, rtol=0)
    xr, _ = primer.make_pointclouds(
        4000, 3, rotate=True, generator=torch.Generator().manual_seed(0)
    )
    assert (
        xr.reshape(-1, 3).std(0).max() - xr.reshape(-1, 3).std(0).min() < 0.1
    )  # isotropic after rotation
    x2, _ = primer.make_pointclouds(4000, 3, generator=torch.Generator().manual_seed(0))
    assert torch.equal(x, x2)


def test_training_reduces_loss_with_every_option():
    gen = torch.Generator().manual_seed(0)
    x, y = primer.make_pointclouds(256, 4, generator=gen)
    for options in ({}, {"augment": True}, {"equiv_weight": 1.0}):
        torch.manual_seed(0)
        model = primer.PointMLP(4, hidden=32)
        before = primer.pointcloud_mse(model, x, y)
        res = primer.train_regressor(model, x, y, steps=150, generator=gen, **options)
        assert len(res.losses) == 150
        assert primer.pointcloud_mse(model, x, y) < before
        if "equiv_weight" in options:
            assert max(res.penalties) > 0


def test_bad_input():
    with pytest.raises(ValueError, match="x must have shape"):
        primer.weighted_centroid(torch.randn(2, 3, 2))
    with pytest.raises(ValueError, match="stretch"):
        primer.make_pointclouds(2, 3, stretch=(1, 1, 0))
    with pytest.raises(ValueError, match="n_samples must be >= 1"):
        primer.make_pointclouds(0)
    with pytest.raises(ValueError, match="x must have shape"):
        primer.PointMLP(4)(torch.randn(2, 5, 3))
    x, y = primer.make_pointclouds(8, 4)
    with pytest.raises(ValueError, match="same number of samples"):
        primer.train_regressor(primer.PointMLP(4), x, y[:4])
    with pytest.raises(ValueError, match="equiv_weight"):
        primer.train_regressor(primer.PointMLP(4), x, y, equiv_weight=-1.0)


# --------------------------------------------------------------------------- Lie algebras

F64 = torch.float64


def test_exp_of_generators_is_the_rotation_against_closed_forms():
    theta = torch.linspace(-3.0, 3.0, 13, dtype=F64)
    j = primer.so2_generator()
    torch.testing.assert_close(
        torch.linalg.matrix_exp(theta[:, None, None] * j), G.rotation_2d(theta)
    )
    lx, ly, lz = primer.so3_generators()
    for axis, gen in zip(torch.eye(3, dtype=F64), (lx, ly, lz), strict=True):
        # e3nn's axis-angle formula is an independent reference for exp(θ L_i)
        ref = o3.axis_angle_to_matrix(axis.expand(13, 3), theta)
        torch.testing.assert_close(torch.linalg.matrix_exp(theta[:, None, None] * gen), ref)
    # the Lie bracket of so(3): [L_x, L_y] = L_z, and L_i v = e_i × v
    torch.testing.assert_close(lx @ ly - ly @ lx, lz)
    v = torch.randn(3, dtype=F64, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(lz @ v, torch.linalg.cross(torch.eye(3, dtype=F64)[2], v))


def test_gl2_generators_span_all_matrices_and_exponentiate_to_shears_and_scalings():
    e = primer.gl2_generators()
    assert e.shape == (4, 2, 2) and torch.linalg.matrix_rank(e.reshape(4, 4)) == 4
    t = 0.7
    torch.testing.assert_close(
        torch.linalg.matrix_exp(t * e[1]), torch.tensor([[1.0, t], [0.0, 1.0]], dtype=F64)
    )
    torch.testing.assert_close(
        torch.linalg.matrix_exp(t * (e[0] + e[3])),
        torch.exp(torch.tensor(t, dtype=F64)) * torch.eye(2, dtype=F64),
    )


def test_tensor_power_acts_on_row_major_tensors():
    gen = torch.Generator().manual_seed(1)
    g = torch.randn(5, 3, 3, dtype=F64, generator=gen)
    t2 = torch.randn(5, 3, 3, dtype=F64, generator=gen)
    t3 = torch.randn(5, 3, 3, 3, dtype=F64, generator=gen)
    rho2, rho3 = primer.tensor_power(g, 2), primer.tensor_power(g, 3)
    torch.testing.assert_close(
        (rho2 @ t2.reshape(5, 9, 1)).reshape(5, 3, 3), g @ t2 @ g.transpose(1, 2)
    )
    ref3 = torch.einsum("bia,bjc,bkd,bacd->bijk", g, g, g, t3)
    torch.testing.assert_close((rho3 @ t3.reshape(5, 27, 1)).reshape(5, 3, 3, 3), ref3)
    torch.testing.assert_close(primer.tensor_power(g, 0), torch.ones(5, 1, 1, dtype=F64))
    torch.testing.assert_close(primer.tensor_power(g, 1), g)


@given(seed=st.integers(0, 2**31 - 1), rank=st.integers(0, 3), d=st.integers(1, 3))
@settings(max_examples=25, deadline=None)
def test_differential_is_the_derivative_of_the_representation(seed, rank, d):
    a = torch.randn(d, d, dtype=F64, generator=torch.Generator().manual_seed(seed))

    # autograd is the independent reference: d/dt ρ(exp tA) at t = 0
    def curve(t):
        return primer.tensor_power(torch.linalg.matrix_exp(t * a), rank)

    jac = torch.func.jacfwd(curve)(torch.zeros((), dtype=F64))
    drho = primer.tensor_power_differential(a, rank)
    torch.testing.assert_close(drho, jac)
    # and it exponentiates to the representation: ρ(exp A) = exp(dρ(A))
    torch.testing.assert_close(
        torch.linalg.matrix_exp(drho), primer.tensor_power(torch.linalg.matrix_exp(a), rank)
    )
    if rank == 2:
        eye = torch.eye(d, dtype=F64)
        torch.testing.assert_close(drho, torch.kron(a, eye) + torch.kron(eye, a))


def test_intertwiners_from_generators_match_known_dimensions():
    j = primer.so2_generator()
    flip = torch.diag(torch.tensor([1.0, -1.0], dtype=F64))
    so2 = primer.intertwiner_basis([(j, j)])
    o2 = primer.intertwiner_basis([(j, j)], [(flip, flip)])
    assert so2.shape[1] == 2 and o2.shape[1] == 1  # {aI + bJ} and {aI}
    torch.testing.assert_close(o2[:, 0].abs(), torch.eye(2, dtype=F64).flatten().abs() / 2**0.5)
    gens, minus_i = primer.so3_generators(), -torch.eye(3, dtype=F64)
    dims = {}
    for a in range(3):
        for b in range(3):
            lie = [
                (primer.tensor_power_differential(x, a), primer.tensor_power_differential(x, b))
                for x in gens
            ]
            disc = [(primer.tensor_power(minus_i, a), primer.tensor_power(minus_i, b))]
            dims["SO3", a, b] = primer.intertwiner_basis(lie).shape[1]
            dims["O3", a, b] = primer.intertwiner_basis(lie, disc).shape[1]
    # classical invariant theory: δ_ij, ε_ijk and their products
    assert dims["SO3", 1, 1] == 1 and dims["SO3", 2, 2] == 3 and dims["O3", 2, 2] == 3
    assert dims["SO3", 1, 2] == 1 and dims["O3", 1, 2] == 0
    assert dims["SO3", 0, 2] == 1 and dims["SO3", 0, 1] == 0


def test_intertwiners_of_a_non_orthogonal_representation_use_the_inverse_transpose():
    # ρ_a = S ρ S^-1 is not orthogonal; maps ρ_a -> ρ commuting with O(2) are W ∝ S^-1
    j = primer.so2_generator()
    flip = torch.diag(torch.tensor([1.0, -1.0], dtype=F64))
    s = torch.tensor([[2.0, 0.5], [0.3, 1.0]], dtype=F64)
    s_inv = torch.linalg.inv(s)
    w = primer.intertwiner_basis([(s @ j @ s_inv, j)], [(s @ flip @ s_inv, flip)])
    assert w.shape[1] == 1
    w = w[:, 0].reshape(2, 2)
    ratio = w / s_inv
    torch.testing.assert_close(ratio, ratio[0, 0].expand(2, 2))
    g = G.rotation_2d(torch.tensor(0.9, dtype=F64))
    for h in (g, flip @ g):
        torch.testing.assert_close(h @ w, w @ (s @ h @ s_inv))


# --------------------------------------------------------------------------- semidirect products


def _random_affine(gen, batch=()):
    t = torch.randn(*batch, 2, dtype=F64, generator=gen)
    h = torch.randn(*batch, 2, 2, dtype=F64, generator=gen) + 2 * torch.eye(2, dtype=F64)
    return t, h


@given(seed=st.integers(0, 2**31 - 1))
@settings(max_examples=25, deadline=None)
def test_semidirect_law_is_associative_has_inverses_and_matches_affine_matrices(seed):
    gen = torch.Generator().manual_seed(seed)
    a, b, c = (_random_affine(gen, (4,)) for _ in range(3))
    ab_c = primer.semidirect_compose(primer.semidirect_compose(a, b), c)
    a_bc = primer.semidirect_compose(a, primer.semidirect_compose(b, c))
    for x, y in zip(ab_c, a_bc, strict=True):
        torch.testing.assert_close(x, y)
    e = primer.semidirect_compose(a, primer.semidirect_inverse(a))
    torch.testing.assert_close(e[0], torch.zeros_like(e[0]))
    torch.testing.assert_close(e[1], torch.eye(2, dtype=F64).expand(4, 2, 2))
    # the homogeneous matrices are an independent model of the same group
    torch.testing.assert_close(
        primer.affine_matrix(primer.semidirect_compose(a, b)),
        primer.affine_matrix(a) @ primer.affine_matrix(b),
    )


def test_action_on_functions_is_a_left_action_and_moves_bumps_forward():
    gen = torch.Generator().manual_seed(3)
    g1, g2 = _random_affine(gen), _random_affine(gen)
    x0 = torch.tensor([0.5, -0.2], dtype=F64)

    def f(x):
        return torch.exp(-((x - x0) ** 2).sum(-1) - x[..., 0])

    pts = torch.randn(50, 2, dtype=F64, generator=gen)
    left = primer.act_on_function(g1, primer.act_on_function(g2, f))(pts)
    torch.testing.assert_close(
        left, primer.act_on_function(primer.semidirect_compose(g1, g2), f)(pts)
    )
    t, h = g1
    torch.testing.assert_close(primer.act_on_function(g1, f)(pts @ h.T + t), f(pts))


# --------------------------------------------------------------------------- Wigner-D, Clebsch-Gordan


def test_wigner_d_is_a_homomorphism_and_carries_the_spherical_harmonics():
    gen = torch.Generator().manual_seed(4)
    r1, r2 = G.haar_so3(8, generator=gen, dtype=F64), G.haar_so3(8, generator=gen, dtype=F64)
    x = torch.randn(8, 3, dtype=F64, generator=gen)
    for deg in range(4):
        torch.testing.assert_close(
            primer.wigner_d(deg, r1 @ r2), primer.wigner_d(deg, r1) @ primer.wigner_d(deg, r2)
        )
        y_rot = o3.spherical_harmonics(deg, (r1 @ x[..., None])[..., 0], normalize=True)
        y = o3.spherical_harmonics(deg, x, normalize=True)
        torch.testing.assert_close(y_rot, (primer.wigner_d(deg, r1) @ y[..., None])[..., 0])
        # e3nn's Euler-angle route is an independent (if only ~1e-6 accurate) reference
        ref = o3.Irrep(deg, 1).D_from_matrix(r1)
        torch.testing.assert_close(primer.wigner_d(deg, r1), ref, atol=1e-5, rtol=0)
        eye = torch.eye(2 * deg + 1, dtype=F64)
        torch.testing.assert_close(
            primer.wigner_d(deg, r1) @ primer.wigner_d(deg, r1).mT, eye.expand(8, -1, -1)
        )
    # l = 1 is the rotation itself: e3nn's l = 1 harmonics are (x, y, z) / |x| times a constant
    torch.testing.assert_close(primer.wigner_d(1, r1), r1)
    assert primer.wigner_d(3, r1[0]).shape == (7, 7)


@pytest.mark.parametrize("l1,l2", [(0, 2), (1, 1), (1, 2), (2, 2), (3, 1)])
def test_clebsch_gordan_basis_block_diagonalises_the_tensor_product(l1, l2):
    q, degrees = primer.clebsch_gordan_basis(l1, l2)
    n = (2 * l1 + 1) * (2 * l2 + 1)
    assert degrees == list(range(abs(l1 - l2), l1 + l2 + 1)) and q.shape == (n, n)
    torch.testing.assert_close(q @ q.T, torch.eye(n, dtype=F64))
    r = G.haar_so3(4, generator=torch.Generator().manual_seed(5), dtype=F64)
    d1, d2 = primer.wigner_d(l1, r), primer.wigner_d(l2, r)
    kron = (d1[:, :, None, :, None] * d2[:, None, :, None, :]).reshape(4, n, n)
    blocks = torch.stack(
        [torch.block_diag(*[primer.wigner_d(big_l, ri) for big_l in degrees]) for ri in r]
    )
    torch.testing.assert_close(q @ kron @ q.T, blocks)


def test_clebsch_gordan_for_two_vectors_is_trace_and_cross_product():
    q, _ = primer.clebsch_gordan_basis(1, 1)
    # closed forms: the scalar is tr(T)/sqrt 3, the vector the antisymmetric part (ε_ijk)
    torch.testing.assert_close(q[0].abs(), torch.eye(3, dtype=F64).flatten() / 3**0.5)
    eps = -primer.so3_generators().reshape(3, 9)  # ε_ijk, rows i
    for row in q[1:4]:
        coef = torch.linalg.lstsq(eps.T, row[:, None]).solution
        torch.testing.assert_close(eps.T @ coef, row[:, None])


# --------------------------------------------------------------------------- bad input


def test_lie_and_group_helpers_reject_bad_input():
    with pytest.raises(TypeError, match="g"):
        primer.tensor_power([[1.0]], 2)
    with pytest.raises(ValueError, match="rank"):
        primer.tensor_power(torch.eye(2), -1)
    with pytest.raises(TypeError, match="rank"):
        primer.tensor_power_differential(torch.eye(2), 1.5)
    with pytest.raises(ValueError, match="square"):
        primer.tensor_power_differential(torch.ones(2, 3), 1)
    with pytest.raises(ValueError, match="finite"):
        primer.tensor_power_differential(torch.full((2, 2), float("nan")), 1)
    with pytest.raises(ValueError, match="at least one"):
        primer.intertwiner_basis([])
    with pytest.raises(ValueError, match="same spaces"):
        primer.intertwiner_basis([(torch.eye(2), torch.eye(2)), (torch.eye(3), torch.eye(2))])
    with pytest.raises(ValueError, match=r"g1: t must"):
        primer.semidirect_compose((torch.zeros(3), torch.eye(2)), (torch.zeros(2), torch.eye(2)))
    with pytest.raises(ValueError, match="finite"):
        primer.semidirect_inverse((torch.tensor([float("inf"), 0.0]), torch.eye(2)))
    with pytest.raises(TypeError, match="f must be callable"):
        primer.act_on_function((torch.zeros(2), torch.eye(2)), 3.0)
    with pytest.raises(ValueError, match="single element"):
        primer.act_on_function((torch.zeros(4, 2), torch.eye(2).expand(4, 2, 2)), lambda x: x)
    with pytest.raises(ValueError, match="r must be 3x3"):
        primer.wigner_d(1, torch.eye(2))
    with pytest.raises(ValueError, match="l"):
        primer.wigner_d(-1, torch.eye(3))
    with pytest.raises(TypeError, match="l1"):
        primer.clebsch_gordan_basis(1.0, 1)


def test_affine_element_builds_rotation_shear_scaling_and_two_bumps_is_asymmetric():
    t, h = primer.affine_element(0.5, 0.3, (2.0, 0.5), (1.0, -1.0))
    c, s = torch.cos(torch.tensor(0.5, dtype=F64)), torch.sin(torch.tensor(0.5, dtype=F64))
    rot = torch.stack([torch.stack([c, -s]), torch.stack([s, c])])
    ref = (
        rot
        @ torch.tensor([[1.0, 0.3], [0.0, 1.0]], dtype=F64)
        @ torch.diag(torch.tensor([2.0, 0.5], dtype=F64))
    )
    torch.testing.assert_close(h, ref)
    torch.testing.assert_close(t, torch.tensor([1.0, -1.0], dtype=F64))
    assert torch.linalg.det(h) > 0
    x = torch.tensor([[0.0, 0.0], [0.6, 0.0], [-0.6, 0.0]], dtype=F64)
    f = primer.two_bumps(x)
    assert f[0] > f[1] > f[2] > 0  # no reflection symmetry about the y axis
    with pytest.raises(ValueError, match="scale must be positive"):
        primer.affine_element(0.0, scale=(1.0, -1.0))
    with pytest.raises(ValueError, match="finite"):
        primer.affine_element(float("nan"))
    with pytest.raises(TypeError, match="real numbers"):
        primer.affine_element("0")
    with pytest.raises(ValueError, match="x must have shape"):
        primer.two_bumps(torch.zeros(3, 3))


# --------------------------------------------------------------------------- CUDA


@pytest.mark.cuda
def test_training_and_wigner_on_cuda_match_cpu(exact_fp32):
    x, y = primer.make_pointclouds(64, 4, generator=torch.Generator().manual_seed(0))
    for options in ({}, {"augment": True}, {"equiv_weight": 1.0}):
        runs = {}
        for device in ("cpu", "cuda"):
            torch.manual_seed(0)
            model = primer.PointMLP(4, hidden=16).to(device)
            res = primer.train_regressor(
                model,
                x.to(device),
                y.to(device),
                steps=10,
                generator=torch.Generator().manual_seed(1),
                **options,
            )
            assert next(model.parameters()).device.type == device
            runs[device] = torch.tensor(res.losses + res.penalties)
        torch.testing.assert_close(runs["cuda"], runs["cpu"], rtol=1e-3, atol=1e-6)
    r = G.haar_so3(4, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    for deg in (1, 2, 3):
        d_cuda = primer.wigner_d(deg, r.cuda())
        assert d_cuda.device.type == "cuda"
        torch.testing.assert_close(d_cuda.cpu(), primer.wigner_d(deg, r), atol=1e-10, rtol=0)
