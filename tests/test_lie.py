"""Tests for companion.lie: decompositions, the ξ chart, Haar measures, affine group convolutions, data."""

from __future__ import annotations

import copy
import gzip
import itertools
import json
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from companion import lie
from companion.groups import GroupAction, equivariance_error, rotation_2d

F64 = torch.float64
U = torch.tensor([[1.3, 0.4], [0.1, 0.9]], dtype=F64)  # a fixed GL+(2) element
ROT90 = torch.tensor([[0.0, -1.0], [1.0, 0.0]])  # maps the pixel grid to itself


def random_gl_plus(n: int, seed: int, dtype=F64) -> torch.Tensor:
    g = torch.randn(n, 2, 2, generator=torch.Generator().manual_seed(seed), dtype=dtype)
    flip = torch.linalg.det(g) < 0
    g[flip, 0] = -g[flip, 0]
    return g


# ----------------------------------------------------------------------------- decompositions


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000))
def test_polar_round_trip_and_factors(seed):
    g = random_gl_plus(64, seed)
    s, r = lie.polar(g)
    assert torch.allclose(lie.from_polar(s, r), g, atol=1e-10)
    assert torch.allclose(s, g @ g.mT, atol=1e-12)
    assert torch.allclose(r @ r.mT, torch.eye(2, dtype=F64).expand(64, 2, 2), atol=1e-10)
    assert torch.allclose(torch.linalg.det(r), torch.ones(64, dtype=F64), atol=1e-10)
    assert (torch.linalg.eigvalsh(s) > 0).all()


def test_polar_agrees_with_svd():
    g = random_gl_plus(50, 1)
    u, sv, vh = torch.linalg.svd(g)
    _, r = lie.polar(g)
    assert torch.allclose(r, u @ vh, atol=1e-10)  # the orthogonal polar factor is U Vᵀ


def test_eigh_sym_matches_lapack():
    g = random_gl_plus(200, 2)
    s = g @ g.mT
    lam, vec = lie.eigh_sym(s)
    assert torch.allclose(lam, torch.linalg.eigvalsh(s), atol=1e-10)
    assert torch.allclose(vec @ torch.diag_embed(lam) @ vec.mT, s, atol=1e-10)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000))
def test_xi_is_a_chart(seed):
    g = random_gl_plus(64, seed)
    assert torch.allclose(lie.xi(lie.xi_inv(g)), g, atol=1e-10)
    a = torch.randn(64, 2, 2, generator=torch.Generator().manual_seed(seed), dtype=F64)
    a = a.clone()
    skew = 0.5 * (a[:, 1, 0] - a[:, 0, 1])
    keep = skew.abs() < math.pi - 1e-3  # log R is defined up to 2π
    assert torch.allclose(lie.xi_inv(lie.xi(a[keep])), a[keep], atol=1e-9)


def _ill_conditioned(n: float, dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """g = [[N, N-1], [N+1, N]] (det 1 exactly, cond ≈ 4N²) and its ξ⁻¹ in closed form.

    σ₁ = N + √(N²+1), so log σ₁ = asinh N = -log σ₂; the top eigenvector of g gᵀ is at the
    angle φ with (cos 2φ, sin 2φ) = (-1, N)/√(N²+1); R turns by atan(1/N).
    """
    g = torch.tensor([[n, n - 1], [n + 1, n]], dtype=dtype)
    c = math.asinh(n) / math.sqrt(n * n + 1)
    t = math.atan(1 / n)
    ref = torch.tensor([[-c, c * n - t], [c * n + t, c]], dtype=F64)
    return g, ref


@pytest.mark.parametrize(
    "n,dtype,tol",
    [
        (1e3, F64, 1e-14),
        (1e4, F64, 1e-14),
        (1e5, F64, 1e-14),
        (30.0, torch.float32, 1e-6),
        (300.0, torch.float32, 1e-6),
    ],
)
def test_xi_inv_is_accurate_for_ill_conditioned_matrices(n, dtype, tol):
    """The closed-form eigenvalues of g gᵀ lose ε·cond²: 4e-7 at cond 4e6, garbage at 4e8."""
    g, ref = _ill_conditioned(n, dtype)
    out = lie.xi_inv(g).to(F64)
    assert float((out - ref).norm() / ref.norm()) < tol
    sv = lie.singular_values2(g.to(F64))
    assert torch.allclose(
        sv, torch.tensor([-math.asinh(n), math.asinh(n)], dtype=F64).exp(), rtol=1e-15
    )


def test_det2_is_exact_where_the_products_cancel():
    n = 2.0**27 + 1  # n² is not a float64 number: the plain formula is off by 1 here
    g = torch.tensor([[n, n - 1], [n + 1, n]], dtype=F64)
    assert float(g[0, 0] * g[1, 1] - g[0, 1] * g[1, 0]) != 1.0
    assert float(lie.det2(g)) == 1.0
    gs = random_gl_plus(100, 7)
    assert torch.allclose(lie.det2(gs), torch.linalg.det(gs), rtol=1e-13)
    assert torch.allclose(lie.singular_values2(gs), torch.linalg.svdvals(gs).flip(-1), rtol=1e-13)


def test_xi_inv_identity_and_traceless():
    assert torch.allclose(lie.xi_inv(torch.eye(2, dtype=F64)), torch.zeros(2, 2, dtype=F64))
    a = torch.randn(100, 2, 2, dtype=F64, generator=torch.Generator().manual_seed(3))
    a = a - 0.5 * a.diagonal(dim1=-2, dim2=-1).sum(-1)[:, None, None] * torch.eye(2, dtype=F64)
    g = lie.xi(a)
    assert torch.allclose(torch.linalg.det(g), torch.ones(100, dtype=F64), atol=1e-10)


def test_exp_is_not_surjective_on_sl2_but_xi_is():
    gen = torch.Generator().manual_seed(0)
    v = 3.0 * torch.randn(20_000, 3, generator=gen, dtype=F64)
    x = lie.from_coords(v, "SL(2)")
    tr = torch.linalg.matrix_exp(x).diagonal(dim1=-2, dim2=-1).sum(-1)
    assert tr.min() > -2  # tr exp X ≥ −2 on sl(2)
    g = torch.diag(torch.tensor([-2.0, -0.5], dtype=F64))  # trace −2.5: not exp of anything
    a = lie.xi_inv(g)
    assert torch.isfinite(a).all()
    c = lie.to_coords(a, "SL(2)")
    assert abs(abs(c[2].item()) - math.sqrt(2) * math.pi) < 1e-12  # R = −I: rotation by π
    assert torch.allclose(lie.xi(a), g, atol=1e-12)


def test_algebra_basis_is_orthonormal_and_coords_round_trip():
    for group, d in (("GL+(2)", 4), ("SL(2)", 3)):
        b = lie.algebra_basis(group)
        gram = torch.einsum("kij,lij->kl", b, b)
        assert torch.allclose(gram, torch.eye(d, dtype=F64))
        v = torch.randn(10, d, dtype=F64)
        assert torch.allclose(lie.to_coords(lie.from_coords(v, group), group), v)


# ----------------------------------------------------------------------------- samplers


@pytest.mark.parametrize("group", ["GL+(2)", "SL(2)"])
@pytest.mark.parametrize("rot", ["uniform", "equidistant"])
def test_samples_are_group_elements_with_separate_inverses(group, rot):
    s = lie.sample_group(
        group, 500, spd_var=0.5, rot=rot, generator=torch.Generator().manual_seed(0)
    )
    det = torch.linalg.det(s.g)
    assert (det > 0).all()
    if group == "SL(2)":
        assert (det - 1).abs().max() < 1e-5
    assert torch.allclose(s.g @ s.g_inv, torch.eye(2).expand(500, 2, 2), atol=1e-5)
    assert s.g.untyped_storage().data_ptr() != s.g_inv.untyped_storage().data_ptr()
    t = s.left_mul(torch.tensor([[1.0, 0.0], [0.0, 1.0]]))
    assert t.g.untyped_storage().data_ptr() != t.g_inv.untyped_storage().data_ptr()
    # the recorded coordinates are ξ⁻¹ of the samples
    assert torch.allclose(
        lie.to_coords(lie.xi_inv(s.g.double()), group), s.coords.double(), atol=1e-4
    )


def test_equidistant_angles_have_no_duplicate():
    th = lie.sample_angles(8, kind="equidistant")
    assert len(torch.unique((th % (2 * math.pi)).round(decimals=5))) == 8


# ----------------------------------------------------------------------------- Haar measure


def _phi_entries(g):
    a = torch.tensor([[1.0, 0.5], [-0.3, 1.2]], dtype=F64)
    return torch.linalg.det(g) ** 2 * torch.exp(-((g - a) ** 2).sum((-1, -2)))


def test_haar_densities_match_autograd_jacobians():
    """|det g|⁻² · |∂g/∂(coords)| equals the polar and log densities (independent of Monte Carlo)."""
    gen = torch.Generator().manual_seed(5)
    for _ in range(5):
        v = 0.7 * torch.randn(3, generator=gen, dtype=F64)
        th = torch.rand((), generator=gen, dtype=F64) * 6

        def g_log(p):
            x = lie.from_coords(torch.cat([p[:3], p[:1] * 0]), "GL+(2)")
            return (lie.xi(x) @ rotation_2d(p[3])).reshape(4)

        p = torch.cat([v, th[None]])
        jac = torch.autograd.functional.jacobian(g_log, p)
        g = g_log(p).reshape(2, 2)
        x = lie.from_coords(torch.cat([v, v[:1] * 0]), "GL+(2)")
        lhs = lie.haar_density_entries(g) * torch.linalg.det(jac).abs()
        assert torch.allclose(lhs, lie.haar_density_log(x, "GL+(2)"), rtol=1e-8)

        def g_polar(q):
            s = torch.stack([torch.stack([q[0], q[1]]), torch.stack([q[1], q[2]])])
            return (lie.spd_sqrt(s) @ rotation_2d(q[3])).reshape(4)

        s = g @ g.T
        q = torch.stack([s[0, 0], s[0, 1], s[1, 1], th])
        jac = torch.autograd.functional.jacobian(g_polar, q)
        lhs = lie.haar_density_entries(g) * torch.linalg.det(jac).abs()
        assert torch.allclose(lhs, lie.haar_density_polar(s), rtol=1e-8)


@pytest.mark.parametrize("coords", ["entries", "polar", "log"])
def test_haar_left_invariance_monte_carlo(coords):
    kw = dict(coords=coords, n_samples=100_000)
    a, _ = lie.haar_integral(_phi_entries, generator=torch.Generator().manual_seed(0), **kw)
    b, _ = lie.haar_integral(
        lambda g: _phi_entries(U @ g), generator=torch.Generator().manual_seed(1), **kw
    )
    assert abs(a - b) / abs(a) < 0.03, (coords, a, b)


def test_haar_right_invariance_and_common_normalisation():
    res = [
        lie.haar_integral(
            _phi_entries, coords=c, n_samples=100_000, generator=torch.Generator().manual_seed(2)
        )
        for c in ("entries", "polar", "log")
    ]
    # one measure, three coordinate systems
    for (a, sa), (b, sb) in itertools.pairwise(res):
        assert abs(a - b) < 4 * math.hypot(sa, sb), res
    b, _ = lie.haar_integral(
        lambda g: _phi_entries(g @ U),
        coords="entries",
        n_samples=100_000,
        generator=torch.Generator().manual_seed(3),
    )
    assert abs(b - res[0][0]) / res[0][0] < 0.03


def test_unweighted_lognormal_sampler_is_not_invariant():
    a_mat = torch.tensor([[1.0, 0.5], [-0.3, 1.2]], dtype=F64)

    def phi(g):  # a narrower bump than _phi_entries
        return torch.linalg.det(g) ** 2 * torch.exp(-((g - a_mat) ** 2).sum((-1, -2)) / 0.3)

    kw = dict(coords="lognormal", n_samples=100_000, spd_var=0.1)  # the released code's default
    a, sa = lie.haar_integral(phi, generator=torch.Generator().manual_seed(0), **kw)
    b, sb = lie.haar_integral(
        lambda g: phi(U @ g), generator=torch.Generator().manual_seed(1), **kw
    )
    assert abs(a - b) > 5 * math.hypot(sa, sb) and abs(a - b) > 0.1 * a, (a, b)


def test_haar_densities_reject_what_they_do_not_measure():
    """det g ≤ 0 lies outside GL⁺; a non-symmetric x is not a log P (both used to pass)."""
    with pytest.raises(ValueError, match="positive determinant"):
        lie.haar_density_entries(torch.diag(torch.tensor([1.0, -2.0], dtype=F64)))
    with pytest.raises(ValueError, match="positive determinant"):
        lie.haar_density_entries(torch.zeros(3, 2, 2, dtype=F64))
    with pytest.raises(ValueError, match="finite"):
        lie.haar_density_entries(torch.full((2, 2), math.nan, dtype=F64))
    x = torch.tensor([[0.3, 0.2], [-0.2, 0.1]], dtype=F64)  # symmetric part diag(0.3, 0.1)
    with pytest.raises(ValueError, match="symmetric"):
        lie.haar_density_log(x)
    with pytest.raises(ValueError, match="symmetric"):
        lie.haar_density_log(x.float(), "SL(2)")
    with pytest.raises(ValueError, match="finite"):
        lie.haar_density_log(torch.full((2, 2), math.inf, dtype=F64))
    # rounding-level asymmetry still passes
    xs = torch.tensor([[0.3, 0.2], [0.2 + 1e-15, 0.1]], dtype=F64)
    assert torch.isfinite(lie.haar_density_log(xs))


# ----------------------------------------------------------------------------- layers


def _smooth_digits(n: int, pad: int) -> torch.Tensor:
    x, _ = lie.mnist_digits()
    f = F.pad(x[:n], (pad,) * 4)
    for _ in range(2):
        f = F.avg_pool2d(f, 3, 1, 1)
    return f


IMAGE = GroupAction("image", lambda u, f: lie.affine_warp(f, u))
"""u ∈ GL+(2) acts on images (and on lifted feature maps) by warping: (L_u f)(x) = f(u⁻¹x)."""
SAMPLES = GroupAction(
    "samples",
    lambda u, h: [s.left_mul(u) for s in h] if isinstance(h, list) else h.left_mul(u),
)
"""... and on group samples H (or a list of them, one per layer) by left multiplication."""


def _rel(a, b):
    return float((a - b).detach().norm() / b.detach().norm())


def test_lifting_exactly_equivariant_for_90_degrees():
    f = _smooth_digits(3, 2)
    samples = lie.sample_group(
        "GL+(2)", 6, spd_var=0.3, rot="uniform", generator=torch.Generator().manual_seed(1)
    )
    lift = lie.LiftingConv(1, 4, 9, "GL+(2)")
    shifted = samples.left_mul(torch.linalg.inv(ROT90))
    assert equivariance_error(lift, (f, shifted), ROT90, (IMAGE, SAMPLES), IMAGE) < 1e-5
    # without shifting the samples by u^-1 the lifting is not equivariant
    assert equivariance_error(lift, (f, samples), ROT90, (IMAGE, None), IMAGE) > 0.1


def test_lifting_general_affine_shift_helps():
    f = _smooth_digits(3, 10)
    samples = lie.sample_group(
        "GL+(2)", 6, spd_var=0.1, rot="uniform", generator=torch.Generator().manual_seed(2)
    )
    lift = lie.LiftingConv(1, 4, 15, "GL+(2)")
    u = (
        rotation_2d(torch.tensor(1.2, dtype=F64))
        @ torch.tensor([[1.1, 0.2], [0.0, 0.9]], dtype=F64)
    ).float()
    shifted = samples.left_mul(torch.linalg.inv(u))
    with_shift = equivariance_error(lift, (f, shifted), u, (IMAGE, SAMPLES), IMAGE)
    without = equivariance_error(lift, (f, samples), u, (IMAGE, None), IMAGE)
    assert with_shift < 0.5 * without, (with_shift, without)


@pytest.mark.parametrize("group", ["GL+(2)", "SL(2)"])
def test_group_conv_exactly_equivariant_for_90_degrees(group):
    gen = torch.Generator().manual_seed(3)
    f = _smooth_digits(2, 2)
    h_in = lie.sample_group(group, 5, spd_var=0.3, rot="uniform", generator=gen)
    h_out = lie.sample_group(group, 4, spd_var=0.3, rot="uniform", generator=gen)
    lift = lie.LiftingConv(1, 3, 7, group)
    conv = lie.GroupConv(3, 2, 5, group)
    x = lift(f, h_in)
    ui = torch.linalg.inv(ROT90)
    inputs = (x, h_in.left_mul(ui), h_out.left_mul(ui))
    err = equivariance_error(conv, inputs, ROT90, (IMAGE, SAMPLES, SAMPLES), IMAGE)
    assert err < 1e-5


def test_model_exactly_invariant_for_90_degrees_and_threads_samples():
    model = lie.AffineGCNN("GL+(2)", channels=(4, 4, 8), n_samples=4)
    f = _smooth_digits(4, 0)[..., 1:-1, 1:-1].contiguous()  # 26 x 26
    samples = model.draw_samples(torch.Generator().manual_seed(4))
    ui = torch.linalg.inv(ROT90)
    with torch.no_grad():  # invariant logits: the output is not acted on
        err = equivariance_error(
            model, (f, [s.left_mul(ui) for s in samples]), ROT90, (IMAGE, SAMPLES), None
        )
    assert err < 1e-5
    lift, c1, c2 = model.layers
    assert c1.last_samples_in is lift.last_samples_out  # input samples = previous output samples
    assert c2.last_samples_in is c1.last_samples_out
    assert not torch.equal(
        c2.last_samples_out.g, c2.last_samples_in.g
    )  # new samples after the block


def test_window_from_samples_holds_every_kernel_support():
    """Default window: a scaled-up sample's kernel is cut at the edge; window='samples' is not."""
    h = lie.sample_group(
        "GL+(2)", 6, spd_var=0.3, rot="uniform", generator=torch.Generator().manual_seed(8)
    )
    assert float(torch.linalg.matrix_norm(h.g, ord=2).max()) > 1.3
    for window, cut in (("kernel", True), ("samples", False)):
        lift = lie.LiftingConv(1, 2, 7, "GL+(2)", window=window)
        size = lift.window_size(h)
        # the mask on a window far larger than any support
        big = lie.kernel_offsets(61, dtype=F64)
        z = torch.einsum("nab,klb->nkla", h.g_inv.to(F64), big) / lift.radius
        inside = lie.bump_mask(z) > 0
        half = size // 2
        outside = inside.clone()
        outside[:, 30 - half : 31 + half, 30 - half : 31 + half] = False
        assert bool(outside.any()) == cut, (window, size)
        # the output keeps its size whatever the window
        x = torch.rand(2, 1, 12, 12, generator=torch.Generator().manual_seed(9))
        assert lift(x, h).shape == (2, 2, 6, 12, 12)
        conv = lie.GroupConv(2, 2, 5, "GL+(2)", window=window, padding=1)
        assert conv(lift(x, h), h, h).shape == (2, 2, 6, 10, 10)
    with pytest.raises(ValueError, match="window"):
        lie.LiftingConv(1, 2, 7, "GL+(2)", window="auto")


def test_window_from_samples_lowers_the_affine_equivariance_error():
    """The chapter's setting: the cut supports raise the error of Λ(L_u f; H) ≈ L_u Λ(f; u⁻¹H)."""
    f = _smooth_digits(4, 10)  # 48 x 48
    h = lie.sample_group(
        "GL+(2)", 6, spd_var=0.3, rot="uniform", generator=torch.Generator().manual_seed(10)
    )
    u = (
        rotation_2d(torch.tensor(1.2, dtype=F64))
        @ torch.tensor([[1.1, 0.2], [0.0, 0.9]], dtype=F64)
    ).float()
    errs = {}
    for window in lie.WINDOWS:
        lift = lie.LiftingConv(1, 4, 15, "GL+(2)", window=window)
        with torch.no_grad():
            a = lift(lie.affine_warp(f, u), h)
            errs[window] = _rel(a, lie.affine_warp(lift(f, h.left_mul(torch.linalg.inv(u))), u))
    assert errs["samples"] < 0.5 * errs["kernel"], errs


SCALED_IMAGE = GroupAction(
    "image × det", lambda u, f: torch.linalg.det(u).to(f.dtype) * lie.affine_warp(f, u)
)
"""The warp times det u: what a layer *without* its |det| factors does under a dilation."""


@pytest.mark.parametrize("layer", ["lift", "group"])
def test_det_factor_gives_scale_equivariance_in_amplitude(layer):
    """u = 2I: with |det| factors Λ(L_u f; H) ≈ L_u Λ(f; u⁻¹H); without, off by det u = 4."""
    f = _smooth_digits(2, 14)  # 56 x 56, digit in the middle half
    gen = torch.Generator().manual_seed(5)
    h1 = lie.sample_group("GL+(2)", 3, spd_var=0.01, rot="uniform", rot_bound=0.1, generator=gen)
    h2 = lie.sample_group("GL+(2)", 3, spd_var=0.01, rot="uniform", rot_bound=0.1, generator=gen)
    u = 2 * torch.eye(2)
    ui = torch.linalg.inv(u)
    errs = {}
    for det_factor in (True, False):
        lift = lie.LiftingConv(
            1, 2, 15, "GL+(2)", radius=7.0, det_factor=det_factor or layer == "group"
        )
        if layer == "lift":
            fn, x, acts = lift, (f, h1.left_mul(ui)), (IMAGE, SAMPLES)
        else:
            conv = lie.GroupConv(2, 2, 15, "GL+(2)", radius=7.0, det_factor=det_factor)

            def fn(img, ha, hb, lift=lift, conv=conv):
                return conv(lift(img, ha), ha, hb)

            x, acts = (f, h1.left_mul(ui), h2.left_mul(ui)), (IMAGE, SAMPLES, SAMPLES)
        with torch.no_grad():
            for out in (IMAGE, SCALED_IMAGE):
                errs[det_factor, out.name] = float(equivariance_error(fn, x, u, acts, out))
    # with the factor: equivariant up to resampling; without: equivariant only up to det u
    assert errs[True, "image"] < 0.02, errs
    assert errs[False, "image × det"] < 0.02, errs
    assert errs[False, "image"] > 2.5 and errs[True, "image × det"] > 0.7, errs


def test_kernels_and_training_helpers_run():
    k = lie.ImplicitKernel(3, 5, kind="siren")
    assert k(torch.zeros(7, 3)).shape == (7, 5)
    x, y = lie.mnist_digits()
    xs = F.avg_pool2d(x[:40], 2)
    model = lie.AffineGCNN("SL(2)", channels=(2, 2, 4), n_samples=2, head=8)
    before = [p.detach().clone() for p in model.parameters()]
    res = lie.train_classifier(
        model, xs, y[:40], steps=3, batch_size=16, generator=torch.Generator().manual_seed(0)
    )
    assert res.losses.shape == (3,) and math.isfinite(res.metrics["loss"])
    assert res.metrics["loss"] == float(res.losses[-1])
    assert any(not torch.equal(b, p) for b, p in zip(before, model.parameters(), strict=True))
    acc = lie.classifier_accuracy(
        model, xs, y[:40], draws=2, generator=torch.Generator().manual_seed(1)
    )
    assert 0.0 <= acc <= 1.0
    assert lie.predict(lie.PlainCNN(), xs).shape == (40, 10)


def test_train_classifier_walks_whole_passes_over_the_data():
    """steps count optimiser steps; every pass is a fresh permutation, the last batch smaller."""

    class Recorder(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(4, 10)
            self.seen: list[torch.Tensor] = []

        def forward(self, x):
            self.seen.append(x[:, 0, 0, 0].detach().clone())
            return self.lin(x.flatten(1))

    x = torch.arange(10.0)[:, None, None, None].expand(10, 1, 2, 2).contiguous()
    y = torch.arange(10) % 10
    model = Recorder()
    res = lie.train_classifier(
        model, x, y, steps=7, batch_size=4, generator=torch.Generator().manual_seed(0)
    )
    sizes = [len(b) for b in model.seen]
    assert sizes == [4, 4, 2, 4, 4, 2, 4] and res.losses.shape == (7,)
    for first in (0, 3):  # each pass sees every example exactly once
        seen = torch.cat(model.seen[first : first + 3]).sort().values
        assert torch.equal(seen, torch.arange(10.0))
    assert not torch.equal(torch.cat(model.seen[:3]), torch.cat(model.seen[3:6]))


def test_gcnn_config_holds_the_settings_and_keywords_override_it():
    cfg = lie.GCNNConfig(channels=3, n_samples=2, head=8)
    assert cfg.channels == (3, 3, 3)
    model = lie.AffineGCNN("SL(2)", cfg, n_samples=5)
    assert model.config.n_samples == model.n_samples == 5 and model.config.head == 8
    assert lie.AffineGCNN("SL(2)", n_samples=5).config == lie.GCNNConfig(n_samples=5)
    a = lie.AffineGCNN("SL(2)", cfg, generator=torch.Generator().manual_seed(0))
    b = lie.AffineGCNN("SL(2)", generator=torch.Generator().manual_seed(0), **vars(cfg))
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))
    with pytest.raises(TypeError, match="unknown settings"):
        lie.AffineGCNN("SL(2)", n_sample=4)
    with pytest.raises(TypeError, match="config"):
        lie.AffineGCNN("SL(2)", {"n_samples": 4})
    with pytest.raises(ValueError, match="channels"):
        lie.GCNNConfig(channels=(2, 2))
    with pytest.raises(ValueError, match="rot"):
        lie.GCNNConfig(rot="random")
    with pytest.raises(ValueError, match="spd_var"):
        lie.GCNNConfig(spd_var=float("nan"))


def test_train_weights_command_writes_loadable_models_with_fingerprints(tmp_path):
    from companion.lie import train_weights

    rec = train_weights.main(
        ["--out", str(tmp_path), "--models", "CNN", "--seeds", "3", "--steps", "2"]
    )
    assert set(rec["runs"]) == {"3"} and rec["steps"] == 2
    assert lie.load_affine_record("CNN", tmp_path)["runs"]["3"] == rec["runs"]["3"]
    (model,) = lie.load_affine_models(["CNN"], directory=tmp_path).values()
    data = lie.affine_benchmark(**lie.AFFINE_BENCHMARK, generator=torch.Generator().manual_seed(0))
    fp = lie.logit_fingerprint(model, data.x_test[:4])
    assert fp == pytest.approx(rec["runs"]["3"]["fingerprint"], abs=1e-4)
    fresh = lie.logit_fingerprint(
        lie.affine_model("CNN", generator=torch.Generator().manual_seed(3)), data.x_test[:4]
    )
    assert fresh != pytest.approx(fp, abs=1e-3)  # the fingerprint sees the training
    with pytest.raises(FileNotFoundError, match="train_weights"):
        lie.load_affine_models(["SL(2)"], directory=tmp_path)
    with pytest.raises(ValueError, match="name"):
        lie.affine_model("ResNet")


def test_share_kept_summary_matches_numpy_and_rejects_bad_input():
    res = {("CNN", 0): (0.9, 0.8), ("CNN", 1): (0.8, 0.6), ("CNN", 2): (1.0, 0.7)}
    res |= {("GL+(2)", s): (c, c * k) for s, (c, k) in enumerate([(0.9, 0.95), (0.8, 0.9)])}
    out = lie.share_kept_summary(res)
    cnn = np.array([0.8 / 0.9, 0.6 / 0.8, 0.7 / 1.0])
    assert out["CNN"]["kept"] == pytest.approx(cnn.mean())
    assert out["CNN"]["kept_sd"] == pytest.approx(np.std(cnn, ddof=1))
    assert out["GL+(2)"]["kept"] == pytest.approx(0.925) and out["GL+(2)"]["n_seeds"] == 2
    assert out["GL+(2)"]["margin"] == pytest.approx(0.925 - cnn.mean())
    gl_sd = np.std([0.95, 0.9], ddof=1)
    assert out["GL+(2)"]["spread"] == pytest.approx(2 * max(gl_sd, np.std(cnn, ddof=1)))
    assert "margin" not in out["CNN"]
    with pytest.raises(TypeError, match="results"):
        lie.share_kept_summary([(("CNN", 0), (0.9, 0.8))])
    with pytest.raises(ValueError, match="baseline"):
        lie.share_kept_summary({("SL(2)", 0): (0.9, 0.8), ("SL(2)", 1): (0.9, 0.8)})
    with pytest.raises(ValueError, match="two seeds"):
        lie.share_kept_summary({("CNN", 0): (0.9, 0.8)})
    with pytest.raises(ValueError, match="finite"):
        lie.share_kept_summary({("CNN", 0): (0.9, float("nan")), ("CNN", 1): (0.9, 0.8)})


def test_compare_weights_command_evaluates_seeds_spread_over_folders(tmp_path):
    from companion.lie import compare_weights, train_weights

    for s in (3, 4):  # one folder per seed, as when each seed trains in its own process
        train_weights.main(
            ["--out", str(tmp_path / f"s{s}"), "--models", "CNN", "--seeds", str(s), "--steps", "2"]
        )
    out = compare_weights.main(
        ["--dirs", str(tmp_path / "s3"), str(tmp_path / "s4"), "--json", str(tmp_path / "v.json")]
    )
    assert out["split"] == "val" and set(out["runs"]) == {"CNN 3", "CNN 4"}
    rec = lie.load_affine_record("CNN", tmp_path / "s3")["runs"]["3"]
    assert out["runs"]["CNN 3"] == pytest.approx([rec["val_clean"], rec["val_affine"]], abs=1e-4)
    assert json.loads((tmp_path / "v.json").read_text())["summary"]["CNN"]["n_seeds"] == 2
    with pytest.raises(SystemExit):  # the same seed twice
        compare_weights.main(["--dirs", str(tmp_path / "s3"), str(tmp_path / "s3")])


@pytest.mark.parametrize("folder", ["", "low_data"])
@pytest.mark.parametrize("name", list(lie.AFFINE_MODELS))
def test_shipped_affine_models_match_their_fingerprints(name, folder):
    """The shipped weights reload to the numbers the training command recorded."""
    directory = lie.AFFINE_WEIGHTS_DIR / folder
    rec = lie.load_affine_record(name, directory)
    models = lie.load_affine_models([name], directory=directory)
    assert sorted(seed for _, seed in models) == sorted(int(s) for s in rec["runs"])
    assert [int(s) for s in rec["runs"]] == list(lie.AFFINE_SEEDS)
    data = lie.affine_benchmark(**lie.AFFINE_BENCHMARK, generator=torch.Generator().manual_seed(0))
    for (_, seed), model in models.items():
        got = lie.logit_fingerprint(model, data.x_test[:4])
        assert got == pytest.approx(rec["runs"][str(seed)]["fingerprint"], abs=1e-3), seed
        assert rec["runs"][str(seed)]["val_clean"] > 0.5  # trained, far above chance (0.1)


# ----------------------------------------------------------------------------- CUDA


@pytest.mark.cuda
def test_group_maps_and_haar_on_cuda_match_cpu():
    g = lie.sample_group("GL+(2)", 64, spd_var=0.3, rot="uniform", dtype=F64).g
    gc = g.cuda()
    for fn in (lie.xi_inv, lie.det2, lie.singular_values2, lie.haar_density_entries):
        out = fn(gc)
        assert out.device.type == "cuda"
        assert torch.allclose(out.cpu(), fn(g), rtol=1e-10, atol=1e-12), fn.__name__
    s, r = lie.polar(gc)
    s0, r0 = lie.polar(g)
    assert torch.allclose(s.cpu(), s0, atol=1e-12) and torch.allclose(r.cpu(), r0, atol=1e-12)
    assert torch.allclose(lie.xi(lie.xi_inv(gc)).cpu(), g, atol=1e-10)
    a, t = lie.random_affine(4, generator=torch.Generator().manual_seed(0))
    f = _smooth_digits(4, 4)
    assert torch.allclose(
        lie.affine_warp(f.cuda(), a.cuda(), t.cuda()).cpu(), lie.affine_warp(f, a, t), atol=1e-5
    )


@pytest.mark.cuda
def test_affine_gcnn_on_cuda_matches_cpu_and_trains(exact_fp32):
    model = lie.AffineGCNN("GL+(2)", channels=(4, 4, 8), n_samples=4, head=8)
    gpu_model = copy.deepcopy(model).cuda()
    f = _smooth_digits(4, 0)[..., 1:-1, 1:-1].contiguous()  # 26 x 26, as the CPU test
    samples = model.draw_samples(torch.Generator().manual_seed(0))
    on_gpu = [s.to("cuda") for s in samples]
    with torch.no_grad():
        cpu_out = model(f, samples)
        gpu_out = gpu_model(f.cuda(), on_gpu)
        # the exact 90-degree invariance holds on the device too: model(L_u f, H) = model(f, u⁻¹H)
        ui = torch.linalg.inv(ROT90).cuda()
        shifted = [s.left_mul(ui) for s in on_gpu]
        err = equivariance_error(
            gpu_model, (f.cuda(), shifted), ROT90.cuda(), (IMAGE, SAMPLES), None
        )
    assert gpu_out.device.type == "cuda"
    assert torch.allclose(gpu_out.cpu(), cpu_out, rtol=1e-3, atol=1e-4)
    assert float(err) < 1e-4
    x, y = lie.mnist_digits()
    xs, ys = F.avg_pool2d(x[:24], 2), y[:24]
    res = lie.train_classifier(
        gpu_model,
        xs.cuda(),
        ys.cuda(),
        steps=4,
        batch_size=8,
        generator=torch.Generator().manual_seed(1),
    )
    assert res.losses.shape == (4,) and bool(torch.isfinite(res.losses).all())
    acc = lie.classifier_accuracy(
        gpu_model, xs.cuda(), ys.cuda(), draws=2, generator=torch.Generator().manual_seed(2)
    )
    assert 0.0 <= acc <= 1.0


# ----------------------------------------------------------------------------- data


def test_warp_rot90_is_a_pixel_permutation():
    x = torch.randn(2, 3, 10, 10)
    out = lie.affine_warp(x, ROT90)
    assert any(torch.allclose(out, torch.rot90(x, k, dims=(-2, -1)), atol=1e-5) for k in (1, 3))
    assert torch.allclose(lie.affine_warp(x, torch.eye(2)), x, atol=1e-6)


def test_affine_benchmark_splits_are_disjoint_and_keep_the_digit_in_view():
    b = lie.affine_benchmark(40, 10, 20, generator=torch.Generator().manual_seed(0))
    assert b.x_train.shape == (40, 1, 20, 20) and b.x_test_affine.shape == (20, 1, 20, 20)
    assert b.y_train.dtype == torch.int64 and b.y_val.shape == (10,) and b.ink_kept.shape == (20,)
    x, _ = lie.mnist_digits()
    pooled = F.avg_pool2d(F.pad(x, (6,) * 4), 2).flatten(1)
    idx = [  # every image is a pooled shipped digit: find which one
        {int((pooled - im.flatten()).abs().sum(-1).argmin()) for im in part}
        for part in (b.x_train, b.x_val, b.x_test)
    ]
    assert [len(i) for i in idx] == [40, 10, 20]
    assert not (idx[0] & idx[1] or idx[0] & idx[2] or idx[1] & idx[2])
    # a warp keeps det(A) times the ink when nothing leaves the canvas
    assert float(b.ink_kept.min()) > 0.97 and abs(float(b.ink_kept.mean()) - 1) < 0.01
    assert not torch.allclose(b.x_test, b.x_test_affine)
    again = lie.affine_benchmark(40, 10, 20, generator=torch.Generator().manual_seed(0))
    assert torch.equal(again.x_test_affine, b.x_test_affine)
    with pytest.raises(ValueError, match="at most 5000"):
        lie.affine_benchmark(4000, 500, 1000)
    with pytest.raises(ValueError, match="translation"):
        lie.affine_benchmark(10, 10, 10, translation=float("nan"))


def test_random_affine_ranges():
    a, t = lie.random_affine(1000, generator=torch.Generator().manual_seed(0))
    assert a.shape == (1000, 2, 2) and t.shape == (1000, 2)
    assert (torch.linalg.det(a) > 0).all()
    assert t.abs().max() <= 0.1
    sv = torch.linalg.svdvals(a)
    assert sv.max() < 1.2 * 1.25 and sv.min() > 0.8 / 1.25


def test_mnist_sample_is_real_and_cached():
    x, y = lie.mnist_digits()
    assert x.shape == (5000, 1, 28, 28) and y.shape == (5000,) and y.dtype == torch.int64
    assert torch.equal(torch.bincount(y), torch.full((10,), 500))
    assert 0.0 <= x.min() and x.max() <= 1.0
    x[0] = -1.0  # callers get their own copy
    assert lie.mnist_digits()[0].min() >= 0.0


def _write_idx(path, arr: np.ndarray, magic: int, gz: bool = False):
    header = magic.to_bytes(4, "big") + b"".join(int(s).to_bytes(4, "big") for s in arr.shape)
    raw = header + arr.astype(np.uint8).tobytes()
    if gz:
        path = path.with_name(path.name + ".gz")
        raw = gzip.compress(raw)
    path.write_bytes(raw)


@pytest.mark.parametrize("gz", [False, True])
def test_load_mnist_idx_on_tiny_files(tmp_path, gz):
    imgs = np.arange(3 * 28 * 28).reshape(3, 28, 28) % 256
    _write_idx(tmp_path / "t10k-images-idx3-ubyte", imgs, 2051, gz)
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.array([7, 2, 1]), 2049, gz)
    x, y = lie.load_mnist_idx(tmp_path, "test")
    assert x.shape == (3, 1, 28, 28) and x.dtype == torch.float32
    assert torch.equal(y, torch.tensor([7, 2, 1]))
    assert torch.allclose(x[1, 0], torch.from_numpy(imgs[1] / 255.0).float())


def test_load_mnist_idx_rejects_bad_files(tmp_path):
    _write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((2, 28, 28)), 2049)  # wrong magic
    _write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(2), 2049)
    with pytest.raises(ValueError, match="magic"):
        lie.load_mnist_idx(tmp_path, "train")


def test_load_affnist_on_tiny_mat(tmp_path):
    import scipy.io

    imgs = (np.arange(3 * 1600).reshape(3, 40, 40) % 256).astype(np.uint8)
    (tmp_path / "transformed").mkdir()
    scipy.io.savemat(
        tmp_path / "transformed" / "test.mat",
        {"affNISTdata": {"image": imgs.reshape(3, 1600).T, "label_int": np.array([4, 0, 9])}},
    )
    x, y = lie.load_affnist(tmp_path, "test")
    assert x.shape == (3, 1, 40, 40) and y.dtype == torch.int64
    assert torch.equal(y, torch.tensor([4, 0, 9]))
    assert torch.allclose(x[2, 0], torch.from_numpy(imgs[2] / 255.0).float())


def test_loaders_missing_path_errors(tmp_path, monkeypatch):
    # root=None reads the folder companion.datasets.fetch fills: COMPANION_DATA/<name>
    monkeypatch.setenv("COMPANION_DATA", str(tmp_path / "home"))
    with pytest.raises(FileNotFoundError, match=r"datasets.fetch\('mnist'\)"):
        lie.load_mnist_idx(None)
    with pytest.raises(FileNotFoundError, match=r"home/affnist: run companion.datasets"):
        lie.load_affnist()
    with pytest.raises(FileNotFoundError, match="does not exist"):
        lie.load_affnist(tmp_path / "nope")
    with pytest.raises(FileNotFoundError, match="missing"):
        lie.load_affnist(tmp_path, "test")
    with pytest.raises(FileNotFoundError, match="missing"):
        lie.load_mnist_idx(tmp_path, "train")
    (tmp_path / "home" / "mnist").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match="missing file .*home/mnist/train-images"):
        lie.load_mnist_idx()
    with pytest.raises(ValueError, match="split"):
        lie.load_affnist(tmp_path, "nope")
    with pytest.raises(TypeError, match="root"):
        lie.load_mnist_idx(3)


# ----------------------------------------------------------------------------- bad inputs


def test_bad_matrices():
    with pytest.raises(ValueError, match="positive determinant"):
        lie.polar(torch.tensor([[1.0, 2.0], [2.0, 4.0]], dtype=F64))  # singular
    with pytest.raises(ValueError, match="positive determinant"):
        lie.xi_inv(torch.diag(torch.tensor([1.0, -1.0])))  # reflection
    with pytest.raises(ValueError, match="square"):
        lie.polar(torch.zeros(2, 3))
    with pytest.raises(ValueError, match="2x2"):
        lie.xi(torch.zeros(3, 3))
    with pytest.raises(TypeError, match="floating"):
        lie.polar(torch.eye(2, dtype=torch.int64))
    with pytest.raises(ValueError, match="determinant 1"):
        lie.check_gl_plus(2 * torch.eye(2), "g", special=True)
    with pytest.raises(ValueError, match="positive definite"):
        lie.spd_sqrt(-torch.eye(2))
    s = lie.sample_group("SL(2)", 3)
    with pytest.raises(ValueError, match="determinant 1"):
        s.left_mul(2 * torch.eye(2))
    with pytest.raises(ValueError, match="positive determinant"):
        lie.affine_warp(torch.zeros(1, 1, 4, 4), torch.diag(torch.tensor([1.0, -1.0])))


def test_bad_group_and_sampler_arguments():
    with pytest.raises(ValueError, match="group"):
        lie.sample_group("SO(3)", 3)
    with pytest.raises(TypeError, match="group"):
        lie.check_group(2)
    assert lie.check_group("gl2") == "GL+(2)" and lie.check_group("sl2") == "SL(2)"
    with pytest.raises(ValueError, match="kind"):
        lie.sample_angles(3, kind="gauss")
    with pytest.raises(ValueError, match="bound"):
        lie.sample_angles(3, bound=2.0)
    with pytest.raises(ValueError, match="spd_var"):
        lie.sample_group("GL+(2)", 3, spd_var=-1.0)
    with pytest.raises(ValueError, match="n must be"):
        lie.sample_group("GL+(2)", 0)
    with pytest.raises(ValueError, match="rot_bound"):
        lie.importance_weights(lie.sample_group("GL+(2)", 3, rot_bound=0.5))
    with pytest.raises(ValueError, match="translated"):
        lie.importance_weights(lie.sample_group("GL+(2)", 3).left_mul(torch.eye(2)))
    with pytest.raises(TypeError, match="GroupSample"):
        lie.importance_weights(torch.eye(2))
    with pytest.raises(ValueError, match="coords"):
        lie.haar_integral(lambda g: g[:, 0, 0], coords="spherical", n_samples=10)
    with pytest.raises(TypeError, match="phi"):
        lie.haar_integral(3, coords="log", n_samples=10)
    with pytest.raises(ValueError, match="v must have shape"):
        lie.from_coords(torch.zeros(5, 3), "GL+(2)")


def test_bad_layer_inputs():
    lift = lie.LiftingConv(1, 2, 5, "GL+(2)")
    conv = lie.GroupConv(2, 2, 5, "GL+(2)")
    h = lie.sample_group("GL+(2)", 3)
    with pytest.raises(ValueError, match="channels"):
        lift(torch.zeros(1, 2, 8, 8), h)
    with pytest.raises(ValueError, match="dimensions"):
        lift(torch.zeros(1, 8, 8), h)
    with pytest.raises(TypeError, match="GroupSample"):
        lift(torch.zeros(1, 1, 8, 8), torch.eye(2)[None])
    with pytest.raises(ValueError, match="SL\\(2\\) elements"):
        lift(torch.zeros(1, 1, 8, 8), lie.sample_group("SL(2)", 3))
    with pytest.raises(ValueError, match="samples_in"):
        conv(torch.zeros(1, 2, 4, 8, 8), h, h)  # 4 slices, 3 samples
    with pytest.raises(ValueError, match="odd"):
        lie.LiftingConv(1, 2, 4, "GL+(2)")
    with pytest.raises(ValueError, match="kind"):
        lie.ImplicitKernel(2, 3, kind="wire")
    with pytest.raises(ValueError, match="padding"):
        lie.GroupConv(1, 1, 3, "SL(2)", padding="valid")
    with pytest.raises(ValueError, match="coord_scale"):
        lie.ImplicitKernel(3, 2, coord_scale=(1.0, 1.0))
    with pytest.raises(ValueError, match="coord_scale"):
        lie.ImplicitKernel(2, 2, coord_scale=(1.0, 0.0))
    with pytest.raises(ValueError, match="group_scale"):
        lie.GroupConv(1, 1, 3, "SL(2)", group_scale=-1.0)
    model = lie.AffineGCNN("SL(2)", channels=2, n_samples=2)
    with pytest.raises(ValueError, match="3 GroupSample"):
        model.features(torch.zeros(1, 1, 8, 8), [lie.sample_group("SL(2)", 2)])
    with pytest.raises(ValueError, match="resample"):
        lie.train_classifier(
            model, torch.zeros(2, 1, 8, 8), torch.zeros(2, dtype=torch.int64), resample="never"
        )
    with pytest.raises(ValueError, match="same number of samples"):
        lie.train_classifier(model, torch.zeros(2, 1, 8, 8), torch.zeros(3, dtype=torch.int64))
    with pytest.raises(ValueError, match="batch size"):
        lie.affine_warp(torch.zeros(2, 1, 4, 4), torch.eye(2).expand(3, 2, 2))
    with pytest.raises(ValueError, match="scale"):
        lie.random_affine(3, scale=(1.2, 0.8))


@pytest.mark.parametrize("kind", lie.KERNELS)
def test_coord_scale_rescales_the_kernel_inputs(kind):
    scale = (1.0, 0.5, 0.25)

    def gen():
        return torch.Generator().manual_seed(3)

    scaled = lie.ImplicitKernel(3, 4, kind=kind, coord_scale=scale, generator=gen())
    plain = lie.ImplicitKernel(3, 4, kind=kind, generator=gen())
    z = torch.randn(11, 3, generator=torch.Generator().manual_seed(4))
    torch.testing.assert_close(scaled(z), plain(z * torch.tensor(scale)))


def test_group_scale_only_touches_the_lie_coordinates():
    h = lie.sample_group(
        "SL(2)", 3, spd_var=0.1, rot="uniform", generator=torch.Generator().manual_seed(0)
    )
    conv = lie.GroupConv(1, 1, 3, "SL(2)", group_scale=0.125)
    assert conv.kernel.coord_scale.tolist() == [1.0, 1.0, 0.125, 0.125, 0.125]
    lift = lie.LiftingConv(1, 1, 3, "SL(2)", group_scale=0.125)  # no Lie coordinates there
    assert lift.kernel.coord_scale.tolist() == [1.0, 1.0]
    assert conv.weight(h, h).shape == (3, 3, 3, 3)


def test_small_group_scale_reduces_monte_carlo_noise_of_invariant_features():
    x, _ = lie.mnist_digits()
    xs = F.avg_pool2d(x[:32], 2)
    spread = {}
    for gs in (1.0, 1 / 16):
        model = lie.AffineGCNN(
            "SL(2)",
            channels=(4, 4, 8),
            n_samples=4,
            rot="equidistant",
            spd_var=0.02,
            group_scale=gs,
            generator=torch.Generator().manual_seed(0),
        )
        gen = torch.Generator().manual_seed(1)
        with torch.no_grad():
            f = torch.stack([model.features(xs, model.draw_samples(gen)) for _ in range(6)])
        spread[gs] = float(f.std(0).mean() / f.mean(0).std(0).mean())
    assert spread[1 / 16] < 0.5 * spread[1.0], spread


def test_linear_groups_are_core_group_objects():
    from companion import groups as core_groups

    for alias, name in (("gl2", "GL+(2)"), ("SL(2)", "SL(2)")):
        grp = lie.LinearGroup(alias)
        assert grp.name == name and isinstance(grp, core_groups.GroupLike)
        assert grp.lie.shape == (lie.algebra_dim(name), 2, 2)
        drawn = core_groups.sample(grp, 16, generator=torch.Generator().manual_seed(4))
        ref = lie.sample_group(name, 16, rot="uniform", generator=torch.Generator().manual_seed(4))
        assert torch.equal(drawn, ref.g) and bool(grp.contains(drawn.double()).all())
        # exp of an algebra element lies in the group
        assert bool(grp.contains(torch.linalg.matrix_exp(0.3 * grp.lie)).all())
    f64 = torch.float64
    stretch, flip = (
        torch.diag(torch.tensor([2.0, 1.0], dtype=f64)),
        torch.diag(torch.tensor([-1.0, 1.0], dtype=f64)),
    )
    assert bool(lie.LinearGroup("GL+(2)").contains(stretch))
    assert not bool(lie.LinearGroup("SL(2)").contains(stretch))
    assert not bool(lie.LinearGroup("GL+(2)").contains(flip))
    assert not bool(lie.LinearGroup("GL+(2)").contains(torch.full((2, 2), math.nan, dtype=f64)))
    with pytest.raises(TypeError, match="name must be a string"):
        lie.LinearGroup(2)
    with pytest.raises(ValueError, match="name must be one of"):
        lie.LinearGroup("SO(2)")
    with pytest.raises(TypeError, match="group must be a str or a group object"):
        core_groups.sample(3.0, 2)
