"""Tests for companion.frames: PCA frames, the frame-averaging wrapper, the n-body simulator."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from companion import groups
from companion.frames import (
    FRAME_GROUPS,
    DegenerateFrameWarning,
    FrameAveraging,
    GNNBackbone,
    MLPBackbone,
    NBodyData,
    charged_particles,
    charged_particles_splits,
    coulomb_forces,
    fa_model,
    feature_action,
    nbody_energy,
    pca_frame,
    rigid_motion,
    sign_patterns,
    simulate,
    spectral_gap,
)

F64 = torch.float64
PROPER = {"SO(3)", "SE(3)"}
AFFINE = {"E(3)", "SE(3)"}


def _cloud(seed: int, b: int = 4, n: int = 6, dtype: torch.dtype = F64) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    # anisotropic scales keep the covariance spectrum well separated
    return torch.randn(b, n, 3, generator=g, dtype=dtype) * torch.tensor(
        [3.0, 1.5, 0.5], dtype=dtype
    )


def _element(
    group: str, seed: int, b: int, dtype: torch.dtype = F64
) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    rot = (groups.haar_so3 if group in PROPER else groups.haar_o3)(b, generator=g, dtype=dtype)
    shift = (
        torch.randn(b, 1, 3, generator=g, dtype=dtype) * 5
        if group in AFFINE
        else torch.zeros(b, 1, 3, dtype=dtype)
    )
    return rot, shift


def _motion(group: str, seed: int, b: int, dtype: torch.dtype = F64) -> torch.Tensor:
    """The same elements as :func:`_element`, as homogeneous (b, 4, 4) matrices."""
    rot, shift = _element(group, seed, b, dtype)
    return rigid_motion(rot, shift[:, 0])


def _move(x: torch.Tensor, rot: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    return x @ rot.transpose(-1, -2) + shift


class RandomBackbone(torch.nn.Module):
    """A random MLP on (canonical) positions and one extra per-point vector; several output types."""

    def __init__(self, n: int, seed: int, dtype: torch.dtype = F64) -> None:
        super().__init__()
        torch.manual_seed(seed)
        self.n = n
        self.net = torch.nn.Sequential(
            torch.nn.Linear(6 * n, 64),
            torch.nn.Tanh(),
            torch.nn.Linear(64, 1 + 1 + 3 + 3 * n + 3 * n + 9),
        ).to(dtype)

    def forward(self, x: torch.Tensor, u: torch.Tensor):
        z = self.net(torch.cat([x, u], -1).flatten(1))
        n, b = self.n, x.shape[0]
        s, p, vec, pts, pos, ten = torch.split(z, [1, 1, 3, 3 * n, 3 * n, 9], dim=-1)
        return s, p, vec, pts.reshape(b, n, 3), pos.reshape(b, n, 3), ten


OUT_TYPES = ("scalar", "pseudoscalar", "vector", "vector", "positions", "tensor2")


def _out_reps(rot: torch.Tensor, shift: torch.Tensor):
    """Expected transformation of each output of RandomBackbone under (rot, shift)."""
    det = torch.linalg.det(rot)
    return (
        lambda y: y,
        lambda y: y * det[:, None],
        lambda y: torch.einsum("bij,bj->bi", rot, y),
        lambda y: y @ rot.transpose(-1, -2),
        lambda y: y @ rot.transpose(-1, -2) + shift,
        lambda y: groups.TENSOR2.act(rot, y),
    )


def test_feature_actions_match_the_formulas():
    """feature_action on homogeneous g = (R, t) against the written-out actions."""
    rot, shift = _element("E(3)", 1, 4)
    g = rigid_motion(rot, shift[:, 0])
    gen = torch.Generator().manual_seed(2)
    ys = [
        torch.randn(4, 2, generator=gen, dtype=F64),
        torch.randn(4, 3, generator=gen, dtype=F64),
        torch.randn(4, 3, generator=gen, dtype=F64),
        torch.randn(4, 5, 3, generator=gen, dtype=F64),
        torch.randn(4, 5, 3, generator=gen, dtype=F64),
        torch.randn(4, 9, generator=gen, dtype=F64),
    ]
    for kind, y, expected in zip(OUT_TYPES, ys, _out_reps(rot, shift), strict=True):
        assert torch.allclose(feature_action(kind).act(g, y), expected(y), atol=1e-12), kind
    one = rigid_motion(rot[0], shift[0, 0])  # a single element acts on every sample
    assert torch.allclose(
        feature_action("positions").act(one, ys[3]), ys[3] @ rot[0].T + shift[0], atol=1e-12
    )
    with pytest.raises(ValueError, match="kind must be one of"):
        feature_action("spinor")
    with pytest.raises(ValueError, match="rot must be 3x3"):
        rigid_motion(torch.eye(2))


# --------------------------------------------------------------------------- frames


@pytest.mark.parametrize("group", FRAME_GROUPS)
def test_frame_is_orthogonal_with_right_determinant(group):
    x = _cloud(0)
    frame = pca_frame(x, group)
    r = frame.rotations
    assert frame.size == (4 if group in PROPER else 8)
    eye = torch.eye(3, dtype=F64)
    assert torch.allclose(r.transpose(-1, -2) @ r, eye.expand_as(r), atol=1e-12)
    det = torch.linalg.det(r)
    if group in PROPER:
        assert torch.allclose(det, torch.ones_like(det), atol=1e-12)
    else:
        assert (det > 0).sum() == (det < 0).sum() == 4 * x.shape[0]
    # all frame elements distinct
    flat = r.reshape(x.shape[0], frame.size, 9)
    assert (torch.cdist(flat, flat) + torch.eye(frame.size) * 10).min() > 1.0


def test_frame_matches_numpy_eigendecomposition_and_weighted_centroid():
    x = _cloud(1)
    w = torch.rand(x.shape[:2], generator=torch.Generator().manual_seed(2), dtype=F64) + 0.1
    frame = pca_frame(x, "E(3)", weights=w)
    for b in range(x.shape[0]):
        xb, wb = x[b].numpy(), w[b].numpy()
        t = (wb[:, None] * xb).sum(0) / wb.sum()
        c = ((xb - t).T * wb) @ (xb - t) / wb.sum()
        lam, vec = np.linalg.eigh(c)
        assert np.allclose(frame.translation[b].numpy(), t, atol=1e-12)
        assert np.allclose(frame.eigenvalues[b].numpy(), lam, atol=1e-12)
        # each column equals numpy's eigenvector up to sign
        r0 = frame.rotations[b, 0].numpy()
        assert np.allclose(np.abs((r0 * vec).sum(0)), 1.0, atol=1e-10)


def test_linear_groups_do_not_centre():
    x = _cloud(3) + 10.0
    for group in ("O(3)", "SO(3)"):
        frame = pca_frame(x, group)
        assert torch.equal(frame.translation, torch.zeros_like(frame.translation))
        c = x.transpose(1, 2) @ x / x.shape[1]
        assert torch.allclose(torch.linalg.eigvalsh(c), frame.eigenvalues, atol=1e-10)


@settings(max_examples=30, deadline=None)
@given(group=st.sampled_from(FRAME_GROUPS), seed=st.integers(0, 10_000), n=st.integers(3, 12))
def test_frame_is_equivariant_as_a_set(group, seed, n):
    x = torch.randn(3, n, 3, generator=torch.Generator().manual_seed(seed), dtype=F64)
    frame = pca_frame(x, group, degenerate="ignore")
    assume(bool((frame.gap > 1e-3).all()))
    rot, shift = _element(group, seed + 1, 3)
    moved = pca_frame(_move(x, rot, shift), group, degenerate="ignore")
    expected = rot[:, None] @ frame.rotations  # g F(X)
    d = torch.cdist(moved.rotations.reshape(3, -1, 9), expected.reshape(3, -1, 9))
    # a bijection between the two sets: every element has a partner at distance ~0
    assert d.min(dim=2).values.max() < 1e-8 and d.min(dim=1).values.max() < 1e-8
    assert torch.allclose(
        moved.translation,
        (frame.translation[:, None] @ rot.transpose(-1, -2))[:, 0]
        + (shift[:, 0] if group in AFFINE else 0),
        atol=1e-9,
    )


def test_sign_patterns():
    assert sign_patterns().shape == (8, 3) and sign_patterns(True).shape == (4, 3)
    assert (sign_patterns(True).prod(-1) == 1).all()
    assert torch.equal(sign_patterns()[0], torch.ones(3, dtype=F64))


def test_mask_equals_frame_of_the_kept_points():
    x = _cloud(4, b=2, n=8)
    mask = torch.ones(2, 8, dtype=torch.bool)
    mask[:, 5:] = False
    x_junk = x.clone()
    x_junk[:, 5:] = 1e3  # masked points move far away
    a = pca_frame(x_junk, "E(3)", mask=mask)
    b = pca_frame(x[:, :5], "E(3)")
    assert torch.allclose(a.rotations, b.rotations, atol=1e-10)
    assert torch.allclose(a.translation, b.translation, atol=1e-10)


# --------------------------------------------------------------------------- degenerate policy


def _cube() -> torch.Tensor:
    return torch.tensor(
        [[i, j, k] for i in (-1.0, 1.0) for j in (-1.0, 1.0) for k in (-1.0, 1.0)], dtype=F64
    )[None]


def test_degenerate_spectrum_warns_by_default():
    x = torch.cat([_cube(), _cloud(5, b=1, n=8)])  # isotropic + generic
    with pytest.warns(DegenerateFrameWarning, match="1 of 2"):
        frame = pca_frame(x, "E(3)")
    assert frame.degenerate.tolist() == [True, False]
    assert float(frame.gap[0]) < 1e-12


def test_degenerate_policy_raise_and_ignore():
    with pytest.raises(ValueError, match="nearly equal covariance eigenvalues"):
        pca_frame(_cube(), "SO(3)", degenerate="raise")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        frame = pca_frame(_cube(), "SO(3)", degenerate="ignore")
    assert bool(frame.degenerate.all())


def test_gap_threshold_separates_near_degenerate_inputs():
    # a cloud with prescribed covariance spectrum (1, 1 + eps, 3): gap = eps / 3
    base = torch.cat([torch.eye(3, dtype=F64), -torch.eye(3, dtype=F64)])  # covariance I / 3
    for eps, flagged in ((1e-6, True), (1e-2, False)):
        x = (base * torch.tensor([1.0, (1 + eps) ** 0.5, 3**0.5], dtype=F64))[None]
        frame = pca_frame(x, "E(3)", degenerate="ignore", gap_tol=1e-4)
        assert torch.allclose(frame.gap, torch.tensor([eps / 3], dtype=F64), rtol=1e-6)
        assert bool(frame.degenerate[0]) is flagged
    # collinear points: two zero eigenvalues
    line = torch.linspace(-1, 1, 5, dtype=F64)[None, :, None] * torch.tensor(
        [1.0, 2.0, 3.0], dtype=F64
    )
    assert bool(pca_frame(line, "E(3)", degenerate="ignore").degenerate[0])
    assert float(spectral_gap(torch.zeros(3, dtype=F64))) == 0.0


# --------------------------------------------------------------------------- the wrapper


@settings(max_examples=30, deadline=None)
@given(group=st.sampled_from(FRAME_GROUPS), seed=st.integers(0, 10_000), n=st.integers(3, 7))
def test_fa_is_exactly_invariant_and_equivariant_float64(group, seed, n):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(3, n, 3, generator=gen, dtype=F64) + torch.randn(
        3, 1, 3, generator=gen, dtype=F64
    )
    u = torch.randn(3, n, 3, generator=gen, dtype=F64)
    assume(bool((pca_frame(x, group, degenerate="ignore").gap > 1e-3).all()))
    fa = FrameAveraging(RandomBackbone(n, seed), group=group, output=OUT_TYPES, inputs=("vector",))
    g = _motion(group, seed + 1, 3)
    with torch.no_grad():
        err = groups.equivariance_error(fa, (x, u), g, reduction="max")
    assert err < 1e-9, f"{group}: relative error {float(err):.1e}"


@pytest.mark.parametrize("group", FRAME_GROUPS)
def test_fa_float32_error_below_1e5_while_plain_backbone_is_not_equivariant(group):
    x = _cloud(6, b=64, n=5, dtype=torch.float32)
    u = torch.randn(64, 5, 3, generator=torch.Generator().manual_seed(7))
    backbone = RandomBackbone(5, 8, dtype=torch.float32)
    fa = FrameAveraging(backbone, group=group, output=OUT_TYPES, inputs=("vector",))
    g = _motion(group, 9, 64, dtype=torch.float32)
    for i, kind in enumerate(OUT_TYPES):  # one output at a time: each must be exact
        with torch.no_grad():
            fa_err = groups.equivariance_error(
                lambda *a, i=i: fa(*a)[i], (x, u), g, fa.rep_in, fa.rep_out[i]
            )
            plain_err = groups.equivariance_error(
                lambda *a, i=i: backbone(*a)[i], (x, u), g, fa.rep_in, fa.rep_out[i]
            )
        assert fa_err < 1e-5, f"{kind}: FA error {fa_err:.1e}"
        assert plain_err > 1e-2, f"{kind}: plain error {plain_err:.1e}"


@pytest.mark.parametrize("group", ["SO(3)", "SE(3)"])
def test_proper_frames_are_not_reflection_equivariant(group):
    x = _cloud(10, b=16, n=5)
    fa = FrameAveraging(RandomBackbone(5, 11), group=group, output=OUT_TYPES, inputs=("vector",))
    u = torch.randn(16, 5, 3, generator=torch.Generator().manual_seed(12), dtype=F64)
    mirror = torch.diag(torch.tensor([-1.0, 1.0, 1.0], dtype=F64))
    with torch.no_grad():  # the global vector output
        err = groups.equivariance_error(
            lambda *a: fa(*a)[2], (x, u), rigid_motion(mirror), fa.rep_in, fa.rep_out[2]
        )
    assert err > 1e-2


def test_fa_keeps_an_equivariant_function_unchanged():
    """Averaging an already E(3)-equivariant map over the frame returns the map itself."""
    x = _cloud(13, b=5, n=6)
    v = torch.randn(5, 6, 3, generator=torch.Generator().manual_seed(14), dtype=F64)

    def physics(p, w):  # E(3)-equivariant: positions plus velocities plus a central pull
        return p + w - 0.1 * (p - p.mean(1, keepdim=True))

    fa = FrameAveraging(physics, group="E(3)", output="positions", inputs=("vector",))
    assert torch.allclose(fa(x, v), physics(x, v), atol=1e-12)
    dist = FrameAveraging(lambda p: torch.cdist(p, p).sum((1, 2))[:, None], group="O(3)")
    assert torch.allclose(dist(x), torch.cdist(x, x).sum((1, 2))[:, None], atol=1e-10)


def test_backbone_is_called_once_on_the_whole_frame_batch():
    calls = []

    def backbone(p):
        calls.append(tuple(p.shape))
        return p.sum((1, 2))[:, None]

    FrameAveraging(backbone, group="E(3)")(_cloud(15, b=7, n=5))
    FrameAveraging(backbone, group="SE(3)")(_cloud(15, b=7, n=5))
    assert calls == [(56, 5, 3), (28, 5, 3)]


def test_max_batch_splits_the_call_without_changing_the_result():
    calls = []
    x = _cloud(27, b=5, n=6)
    u = torch.randn(5, 6, 3, generator=torch.Generator().manual_seed(28), dtype=F64)
    backbone = RandomBackbone(6, 29)

    def counted(p, w):
        calls.append(p.shape[0])
        return backbone(p, w)

    whole = FrameAveraging(counted, group="E(3)", output=OUT_TYPES, inputs=("vector",))
    split = FrameAveraging(
        counted, group="E(3)", output=OUT_TYPES, inputs=("vector",), max_batch=16
    )
    with torch.no_grad():
        for a, b in zip(whole(x, u), split(x, u), strict=True):
            assert torch.allclose(a, b, atol=1e-12)
    assert calls == [40, 16, 16, 8]
    with pytest.raises(ValueError, match="max_batch must be >= 1"):
        FrameAveraging(counted, max_batch=0)


def test_fa_keeps_permutation_equivariance_of_the_backbone():
    """The PCA frame does not depend on the order of the points, so FA-GNN stays S_n-equivariant."""
    x, v, q = (t.float() for t in _state(30, b=4))
    torch.manual_seed(1)
    fa = fa_model(GNNBackbone(16, 2))
    perm = torch.tensor([2, 4, 0, 1, 3])
    with torch.no_grad():
        assert torch.allclose(
            fa(x[:, perm], v[:, perm], q[:, perm]), fa(x, v, q)[:, perm], atol=1e-5
        )


def test_gradient_of_an_fa_energy_is_an_equivariant_force_field():
    """Forces -dE/dx of an invariant FA energy rotate with the input (autograd through eigh)."""
    x = _cloud(31, b=4, n=6)
    torch.manual_seed(2)
    energy_net = torch.nn.Sequential(
        torch.nn.Flatten(), torch.nn.Linear(18, 32), torch.nn.Tanh(), torch.nn.Linear(32, 1)
    ).double()
    fa = FrameAveraging(energy_net, group="E(3)", output="scalar")
    rot, shift = _element("E(3)", 32, 4)

    def forces(p):
        p = p.clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(fa(p).sum(), p)
        return -grad

    f0, f1 = forces(x), forces(_move(x, rot, shift))
    assert torch.isfinite(f0).all()
    assert torch.allclose(f1, f0 @ rot.transpose(-1, -2), atol=1e-8)
    assert torch.allclose(
        f0.sum(1), torch.zeros(4, 3, dtype=F64), atol=1e-8
    )  # translation invariance


def test_weights_shape_only_the_frame():
    x = _cloud(16, b=3, n=6)
    w = torch.rand(3, 6, generator=torch.Generator().manual_seed(17), dtype=F64) + 0.5
    fa = FrameAveraging(lambda p: p[:, :2].reshape(p.shape[0], -1), group="E(3)", output="scalar")
    rot, shift = _element("E(3)", 18, 3)
    assert torch.allclose(fa(x, weights=w), fa(_move(x, rot, shift), weights=w), atol=1e-10)
    assert torch.allclose(fa(x, weights=w), fa(x, weights=3 * w), atol=1e-12)


# --------------------------------------------------------------------------- n-body simulator


def _state(seed: int, b: int = 8):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(b, 5, 3, generator=g, dtype=F64) * 1.5
    v = torch.randn(b, 5, 3, generator=g, dtype=F64) * 0.3
    q = torch.where(torch.rand(b, 5, 1, generator=g, dtype=F64) < 0.5, -1.0, 1.0).to(F64)
    return x, v, q


def test_forces_are_minus_the_gradient_of_the_potential():
    x, v, q = _state(20)
    x = x.requires_grad_(True)
    potential = nbody_energy(x, torch.zeros_like(v), q).sum()
    (grad,) = torch.autograd.grad(potential, x)
    f = coulomb_forces(x.detach(), q, max_force=float("inf"))
    assert torch.allclose(f, -grad, atol=1e-10)
    assert torch.allclose(f.sum(1), torch.zeros(8, 3, dtype=F64), atol=1e-10)  # Newton's third law


def test_force_clamp_keeps_newtons_third_law():
    x, _, q = _state(21)
    x[:, 1] = x[:, 0] + 1e-3  # a very close pair
    f = coulomb_forces(x, q, max_force=5.0)
    assert torch.allclose(f.sum(1), torch.zeros(8, 3, dtype=F64), atol=1e-9)
    assert f.norm(dim=-1).max() <= 5.0 * 4 + 1e-9


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), group=st.sampled_from(["E(3)", "SE(3)"]))
def test_simulator_is_e3_equivariant(seed, group):
    x, v, q = _state(seed, b=4)
    rot, shift = _element(group, seed + 1, 4)
    x1, v1 = simulate(x, v, q, 100)
    x2, v2 = simulate(_move(x, rot, shift), v @ rot.transpose(-1, -2), q, 100)
    assert torch.allclose(x2, _move(x1, rot, shift), atol=1e-8)
    assert torch.allclose(v2, v1 @ rot.transpose(-1, -2), atol=1e-8)


def test_simulator_conserves_momentum_and_energy():
    x, v, q = _state(22, b=32)
    x1, v1 = simulate(x, v, q, 500)
    assert torch.allclose(v1.sum(1), v.sum(1), atol=1e-10)
    e0, e1 = nbody_energy(x, v, q), nbody_energy(x1, v1, q)
    scale = 0.5 * (v * v).sum((1, 2)) + nbody_energy(x, torch.zeros_like(v), q).abs()
    drift = ((e1 - e0).abs() / scale).median()
    assert drift < 1e-3, f"median relative energy drift {float(drift):.1e}"
    # halving dt shrinks the drift (first-order integrator), over the same time span
    x2, v2 = simulate(x, v, q, 1000, dt=5e-4)
    drift2 = ((nbody_energy(x2, v2, q) - e0).abs() / scale).median()
    assert drift2 < 0.75 * drift


def test_dataset_is_seeded_and_shaped():
    kw = dict(n_burn=50, n_steps=20)
    a = charged_particles(6, generator=torch.Generator().manual_seed(1), **kw)
    b = charged_particles(6, generator=torch.Generator().manual_seed(1), **kw)
    c = charged_particles(6, generator=torch.Generator().manual_seed(2), **kw)
    assert torch.equal(a.x, b.x) and torch.equal(a.x_target, b.x_target)
    assert not torch.equal(a.x, c.x)
    assert a.x.shape == a.v.shape == a.x_target.shape == (6, 5, 3) and a.charges.shape == (6, 5, 1)
    assert a.x.dtype == torch.float32 and set(a.charges.unique().tolist()) <= {-1.0, 1.0}
    assert torch.allclose(a.v.norm(dim=-1).mean(), torch.tensor(0.5), atol=0.5)
    # the target is the simulator's output
    x_t, _ = simulate(a.x.double(), a.v.double(), a.charges.double(), 20)
    assert torch.allclose(x_t.float(), a.x_target, atol=1e-4)
    splits = charged_particles_splits(5, 3, 2, generator=torch.Generator().manual_seed(0), **kw)
    assert [len(splits[k]) for k in ("train", "val", "test")] == [5, 3, 2]
    assert len(splits["train"].subset(2)) == 2 and isinstance(splits["test"], NBodyData)


# --------------------------------------------------------------------------- backbones


def test_backbones_shapes_symmetries_and_fa_versions():
    x, v, q = (t.float() for t in _state(23, b=6))
    torch.manual_seed(0)
    for backbone in (MLPBackbone(5, 32, 2), GNNBackbone(16, 2)):
        assert backbone(x, v, q).shape == (6, 5, 3)
        fa = fa_model(backbone)
        g = _motion("E(3)", 24, 6, dtype=torch.float32)
        with torch.no_grad():
            assert groups.equivariance_error(fa, (x, v, q), g) < 1e-5
            assert groups.equivariance_error(backbone, (x, v, q), g, fa.rep_in, fa.rep_out) > 1e-3
    gnn = GNNBackbone(16, 2)
    perm = torch.tensor([3, 0, 4, 1, 2])
    with torch.no_grad():
        assert torch.allclose(
            gnn(x[:, perm], v[:, perm], q[:, perm]), gnn(x, v, q)[:, perm], atol=1e-5
        )


@pytest.mark.cuda
def test_fa_on_cuda_matches_cpu():
    x, v, q = (t.float() for t in _state(25, b=16))
    fa = fa_model(MLPBackbone(5, 32, 2))
    with torch.no_grad():
        cpu = fa(x, v, q)
        gpu = fa.to("cuda")(x.to("cuda"), v.to("cuda"), q.to("cuda"))
    assert torch.allclose(gpu.cpu(), cpu, atol=1e-4)


# --------------------------------------------------------------------------- bad inputs


def test_bad_point_clouds_raise():
    with pytest.raises(TypeError, match="x must be a torch.Tensor"):
        pca_frame(np.zeros((2, 5, 3)))
    with pytest.raises(TypeError, match="floating"):
        pca_frame(torch.zeros(2, 5, 3, dtype=torch.long))
    with pytest.raises(ValueError, match="last dimension 2"):
        pca_frame(torch.randn(2, 5, 2))
    with pytest.raises(ValueError, match="3 dimensions"):
        pca_frame(torch.randn(5, 3))
    with pytest.raises(ValueError, match="at least n = 3 points"):
        pca_frame(torch.randn(2, 2, 3))
    bad = torch.randn(2, 5, 3)
    bad[1, 2, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        pca_frame(bad)
    with pytest.raises(ValueError, match="group must be one of"):
        pca_frame(torch.randn(2, 5, 3), "SE(2)")
    with pytest.raises(ValueError, match="degenerate must be one of"):
        pca_frame(torch.randn(2, 5, 3), degenerate="fallback")
    with pytest.raises(ValueError, match="gap_tol"):
        pca_frame(torch.randn(2, 5, 3), gap_tol=2.0)


def test_bad_masks_and_weights_raise():
    x = torch.randn(2, 5, 3)
    with pytest.raises(TypeError, match="mask must be a bool"):
        pca_frame(x, mask=torch.ones(2, 5))
    with pytest.raises(ValueError, match="mask must have shape"):
        pca_frame(x, mask=torch.ones(2, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match="weights must be finite and non-negative"):
        pca_frame(x, weights=-torch.ones(2, 5))
    with pytest.raises(ValueError, match="weights must have shape"):
        pca_frame(x, weights=torch.ones(2, 4))
    with pytest.raises(ValueError, match="either weights or mask"):
        pca_frame(x, weights=torch.ones(2, 5), mask=torch.ones(2, 5, dtype=torch.bool))
    few = torch.zeros(2, 5, dtype=torch.bool)
    few[:, :2] = True
    with pytest.raises(ValueError, match="at least 3 points with positive weight"):
        pca_frame(x, mask=few)


def test_bad_wrapper_arguments_raise():
    net = MLPBackbone(5, 8, 1)
    with pytest.raises(TypeError, match="backbone must be"):
        FrameAveraging(3)
    with pytest.raises(ValueError, match="group must be one of"):
        FrameAveraging(net, group="Sim(3)")
    with pytest.raises(ValueError, match="output must be one of"):
        FrameAveraging(net, output="spinor")
    with pytest.raises(ValueError, match=r"inputs\[1\] must be one of"):
        FrameAveraging(net, inputs=("vector", "vec"))
    with pytest.raises(TypeError, match="inputs must be a sequence"):
        FrameAveraging(net, inputs="vector")
    with pytest.raises(ValueError, match="degenerate must be one of"):
        FrameAveraging(net, degenerate="sometimes")
    fa = fa_model(net)
    x, v, q = (t.float() for t in _state(26, b=2))
    with pytest.raises(ValueError, match="expected 2 extra inputs"):
        fa(x, v)
    with pytest.raises(ValueError, match=r"inputs\[0\] must have shape"):
        fa(x, v[..., :2], q)
    with pytest.raises(ValueError, match="batch size 2"):
        fa(x, v[:1], q)
    with pytest.raises(ValueError, match="last dimension 3"):
        FrameAveraging(lambda p: p[..., :2], output="vector")(x)
    with pytest.raises(ValueError, match="must return 2 tensor"):
        FrameAveraging(lambda p: p, output=("vector", "scalar"))(x)
    with pytest.raises(ValueError, match="batch size 16"):
        FrameAveraging(lambda p: p[:1], output="vector")(x)


def test_bad_simulator_and_model_inputs_raise():
    x, v, q = _state(27, b=2)
    with pytest.raises(ValueError, match="charges must have shape"):
        simulate(x, v, torch.ones(2, 5, 2, dtype=F64), 3)
    with pytest.raises(ValueError, match="v must have the shape of x"):
        simulate(x, v[:, :4], q, 3)
    with pytest.raises(ValueError, match="n_steps must be >= 0"):
        simulate(x, v, q, -1)
    with pytest.raises(ValueError, match="dt must be > 0"):
        simulate(x, v, q, 3, dt=0.0)
    with pytest.raises(ValueError, match="max_force must be > 0"):
        coulomb_forces(x, q, max_force=0.0)
    x_nan = x.clone()
    x_nan[0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="x contains NaN"):
        simulate(x_nan, v, q, 3)
    with pytest.raises(ValueError, match="at least 2 particles"):
        nbody_energy(x[:, :1], v[:, :1], q[:, :1])
    with pytest.raises(ValueError, match="n_samples must be >= 1"):
        charged_particles(0)
    with pytest.raises(ValueError, match="built for n = 5"):
        MLPBackbone(5, 8, 1)(torch.randn(2, 4, 3), torch.randn(2, 4, 3), torch.ones(2, 4, 1))
    with pytest.raises(ValueError, match="must share"):
        GNNBackbone(8, 1)(torch.randn(2, 5, 3), torch.randn(2, 4, 3), torch.ones(2, 5, 1))


def test_validate_false_skips_only_the_value_checks():
    x = _cloud(0)
    bad = x.clone()
    bad[0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        pca_frame(bad, "E(3)")
    frame = pca_frame(x, "E(3)", validate=False)  # same frame on good data
    assert torch.equal(frame.basis, pca_frame(x, "E(3)").basis)
    with pytest.raises(ValueError, match="3D points"):  # shapes are always checked
        pca_frame(x[..., :2], "E(3)", validate=False)
    fa = FrameAveraging(lambda p: p.sum(1), group="O(3)", output="vector", validate=False)
    assert fa(x).shape == (x.shape[0], 3)
    with pytest.raises(TypeError, match="validate must be a bool"):
        FrameAveraging(lambda p: p, validate=1)


def test_feature_action_rejects_a_non_tensor():
    with pytest.raises(TypeError, match="y must be a torch.Tensor, got list"):
        feature_action("vector").act(torch.eye(4, dtype=torch.float64), [[1.0, 2.0, 3.0]])


def test_train_nbody_records_losses_and_test_curve_and_repeats():
    from companion.frames import charged_particles, train_nbody

    gen = torch.Generator().manual_seed(0)
    data = charged_particles(40, n_steps=20, generator=gen)
    test = charged_particles(10, n_steps=20, generator=gen)

    def run(augment):
        model = fa_model(GNNBackbone(8, 1, generator=torch.Generator().manual_seed(1)))
        return train_nbody(
            model, data, steps=30, batch_size=8, lr=1e-2, augment=augment, test=test,
            eval_every=10, generator=torch.Generator().manual_seed(2),
        )  # fmt: skip

    a, b = run(False), run(False)
    assert a.losses.shape == (30,) and a.test_curve.shape == (3,)
    assert torch.equal(a.losses, b.losses) and torch.equal(a.test_curve, b.test_curve)
    assert a.metrics["test_mse"] == float(a.test_curve[-1])
    assert a.losses[-10:].mean() < a.losses[:10].mean()
    assert not torch.equal(run(True).losses, a.losses)  # augmentation draws from the stream
    with pytest.raises(TypeError, match="data must be an NBodyData"):
        train_nbody(GNNBackbone(8, 1), data.x, steps=1)


def test_nbody_mse_matches_a_direct_computation_in_any_chunking():
    from companion.frames import charged_particles, nbody_mse

    data = charged_particles(7, n_steps=20, generator=torch.Generator().manual_seed(0))
    model = fa_model(GNNBackbone(8, 1, generator=torch.Generator().manual_seed(1)))
    with torch.no_grad():
        direct = (model(data.x, data.v, data.charges) - data.x_target).pow(2).mean().item()
    for chunk in (None, 1, 3, 7, 100):
        assert nbody_mse(model, data, batch_size=chunk) == pytest.approx(direct, rel=1e-6)
    with pytest.raises(TypeError, match="data must be an NBodyData"):
        nbody_mse(model, data.x)
    with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
        nbody_mse(lambda x, v, q: x, data)
    with pytest.raises(ValueError, match="batch_size"):
        nbody_mse(model, data, batch_size=0)


def test_train_nbody_records_the_training_error_on_request():
    from companion.frames import charged_particles, nbody_mse, train_nbody

    gen = torch.Generator().manual_seed(0)
    data = charged_particles(20, n_steps=20, generator=gen)
    model = GNNBackbone(8, 1, generator=torch.Generator().manual_seed(1))
    res = train_nbody(
        model, data, steps=20, batch_size=8, lr=1e-2, eval_every=10, record_train=True,
        generator=torch.Generator().manual_seed(2),
    )  # fmt: skip
    assert res.train_curve.shape == (2,) and res.test_curve.shape == (0,)
    assert res.metrics["train_mse"] == pytest.approx(nbody_mse(model, data), rel=1e-6)
    odd = train_nbody(
        model, data, steps=25, batch_size=8, eval_every=10, test=data, record_train=True
    )  # the final model is evaluated too
    assert odd.test_curve.shape == (3,) and odd.train_curve.shape == (3,)
    assert odd.metrics["test_mse"] == pytest.approx(nbody_mse(model, data), rel=1e-6)
    plain = train_nbody(GNNBackbone(8, 1), data, steps=2, eval_every=1)
    assert plain.train_curve.shape == (0,) and "train_mse" not in plain.metrics
    with pytest.raises(TypeError, match="record_train must be a bool"):
        train_nbody(GNNBackbone(8, 1), data, steps=1, record_train=1)


def test_frames_take_the_core_group_objects_for_the_same_groups():
    from companion.frames import FrameAveraging, frame_group, pca_frame

    x = torch.randn(3, 6, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    for name in ("O(3)", "SO(3)"):
        by_object = pca_frame(x, groups.get_group(name))
        by_name = pca_frame(x, name)
        assert by_object.group == name
        torch.testing.assert_close(by_object.basis, by_name.basis, rtol=0, atol=0)
        assert torch.equal(by_object.signs, by_name.signs)
    assert FrameAveraging(lambda x: x.sum((1, 2)), group=groups.so3()).group == "SO(3)"
    assert frame_group("E(3)") == "E(3)"
    with pytest.raises(ValueError, match="group must be one of"):
        frame_group(groups.so2())
    with pytest.raises(TypeError, match="group must be a str"):
        frame_group(3)
