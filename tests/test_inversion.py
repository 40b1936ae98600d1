"""Tests of companion.inversion: renderer, shipped weights, inversion, alignment,
detector, blending, baseline and metrics."""

from __future__ import annotations

import copy
import json
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from skimage.metrics import structural_similarity

from companion.inversion import (
    DETECTORS,
    HELD_OUT_KINDS,
    OOD_KINDS,
    TRAIN_KINDS,
    InvertibilityDetector,
    attribute_direction,
    baseline_mask,
    blend,
    calibrate_threshold,
    detector_fingerprint,
    detector_loss,
    error_map,
    fingerprint,
    flow_smoothness,
    flow_warp,
    invert,
    load_detector,
    load_encoder,
    load_fingerprint,
    load_generator,
    mask_iou,
    paired_bootstrap,
    region_psnr,
    region_ssim,
    render_faces,
    train_detector,
)
from companion.inversion.generator import WEIGHTS_DIR, Encoder, Generator
from companion.inversion.train_generator import GeneratorTrainResult, train_generator


@pytest.fixture(scope="module")
def gen():
    return load_generator()


@pytest.fixture(scope="module")
def ood_batch():
    return render_faces(6, generator=torch.Generator().manual_seed(11), ood="random")


# ---------------------------------------------------------------- renderer


def test_renderer_is_deterministic_by_seed():
    a = render_faces(5, generator=torch.Generator().manual_seed(3), ood="random")
    b = render_faces(5, generator=torch.Generator().manual_seed(3), ood="random")
    c = render_faces(5, generator=torch.Generator().manual_seed(4), ood="random")
    assert torch.equal(a.images, b.images) and torch.equal(a.masks, b.masks)
    assert a.kinds == b.kinds
    assert not torch.equal(a.images, c.images)


@pytest.mark.parametrize("kind", OOD_KINDS)
def test_mask_is_exactly_where_the_addition_was_drawn(kind):
    fb = render_faces(8, generator=torch.Generator().manual_seed(7), ood=[kind])
    m = fb.masks.bool().expand_as(fb.images)
    # outside the mask the input is the clean face, bit for bit
    assert torch.equal(fb.images[~m], fb.clean[~m])
    # every face got the addition, and it changes the image where it was drawn
    assert all(k == (kind,) for k in fb.kinds)
    assert (fb.masks.sum(dim=(1, 2, 3)) > 0).all()
    changed = (fb.images != fb.clean).any(dim=1, keepdim=True)
    assert changed.float().sum() > 0.5 * fb.masks.sum()
    assert set(fb.masks.unique().tolist()) <= {0.0, 1.0}


def test_in_domain_faces_have_empty_masks_and_valid_range():
    fb = render_faces(4, generator=torch.Generator().manual_seed(0))
    assert fb.masks.sum() == 0 and torch.equal(fb.images, fb.clean)
    assert fb.images.shape == (4, 3, 32, 32) and fb.images.dtype == torch.float32
    assert 0 <= fb.images.min() and fb.images.max() <= 1
    assert render_faces(2, generator=torch.Generator().manual_seed(0), size=64).images.shape == (
        2,
        3,
        64,
        64,
    )


@pytest.mark.parametrize(
    "kwargs, err",
    [
        (dict(n=0), ValueError),
        (dict(n=2.0), TypeError),
        (dict(n=2, generator=0), TypeError),
        (dict(n=2, size=48), ValueError),
        (dict(n=2, ood="sunhat"), ValueError),
        (dict(n=2, ood=["cape"]), ValueError),
        (dict(n=2, ood="random", ood_prob=1.5), ValueError),
    ],
)
def test_renderer_bad_arguments(kwargs, err):
    with pytest.raises(err):
        render_faces(**kwargs)


# ---------------------------------------------------------------- shipped weights


def test_shipped_weights_load_and_reproduce_fingerprint(gen):
    record = load_fingerprint()
    assert np.allclose(fingerprint(gen), record["fingerprint"], atol=1e-5)
    size = sum(p.stat().st_size for p in WEIGHTS_DIR.glob("*.pt"))
    assert size < 5 * 2**20  # "a few MB at most"


def test_generator_produces_in_domain_looking_images(gen):
    z = torch.randn(64, gen.latent_dim, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        x = gen(z)
    assert x.shape == (64, 3, 32, 32) and 0 <= x.min() and x.max() <= 1
    real = render_faces(64, generator=torch.Generator().manual_seed(1)).clean
    # per-pixel mean image of samples is close to that of real faces (coarse moment match)
    assert (x.mean(0) - real.mean(0)).abs().mean() < 0.08
    # and samples differ from each other (no collapse to one image)
    assert x.std(0).mean() > 0.5 * real.std(0).mean()


@pytest.mark.parametrize("name", list(DETECTORS))
def test_shipped_detectors_load_and_predict_masks(name, ood_batch, gen):
    net = load_detector(name)
    assert net.align == DETECTORS[name]
    with torch.no_grad():
        y = gen(load_encoder()(ood_batch.images))
        dec = net(ood_batch.images, y)
    assert dec.mask.shape == (6, 1, 32, 32) and 0 <= dec.mask.min() and dec.mask.max() <= 1
    if not net.align:
        assert dec.flow.abs().max() == 0
    with pytest.raises(ValueError, match="name"):
        load_detector("oracle")


@pytest.mark.parametrize("name", list(DETECTORS))
def test_shipped_detectors_reproduce_their_fingerprint_and_never_saw_held_out_kinds(name):
    record = json.loads((WEIGHTS_DIR / "detectors.json").read_text())[name]
    assert np.allclose(detector_fingerprint(load_detector(name)), record["fingerprint"], atol=1e-5)
    assert record["kinds"] == list(TRAIN_KINDS)
    assert f"--only {name}" in record["command"]


def test_kind_split_is_a_partition():
    assert set(TRAIN_KINDS).isdisjoint(HELD_OUT_KINDS)
    assert sorted(TRAIN_KINDS + HELD_OUT_KINDS) == sorted(OOD_KINDS)
    fb = render_faces(30, generator=torch.Generator().manual_seed(2), ood=TRAIN_KINDS)
    assert all(set(k) <= set(TRAIN_KINDS) for k in fb.kinds)


def test_detector_fingerprint_follows_the_weights():
    a = InvertibilityDetector(width=4, generator=torch.Generator().manual_seed(0))
    b = copy.deepcopy(a)
    assert detector_fingerprint(a) == detector_fingerprint(b)
    with torch.no_grad():
        b.mask_head.bias += 1.0
    assert detector_fingerprint(b)[0] > detector_fingerprint(a)[0]
    with pytest.raises(TypeError, match="net"):
        detector_fingerprint(torch.nn.Linear(2, 2))


def test_missing_or_corrupted_weight_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="train_generator"):
        load_generator(tmp_path / "nope.pt")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a torch file")
    with pytest.raises(ValueError, match="corrupted"):
        load_generator(bad)
    torch.save({"fc.weight": torch.zeros(3)}, tmp_path / "foreign.pt")
    with pytest.raises(ValueError, match="corrupted"):
        load_encoder(tmp_path / "foreign.pt")


def test_train_generator_shares_the_training_signature_and_is_seeded():
    faces = render_faces(16, generator=torch.Generator().manual_seed(5)).clean
    runs = []
    for _ in range(2):
        torch.manual_seed(0)  # the networks' initial weights
        runs.append(
            train_generator(
                faces, steps=3, batch_size=4, generator=torch.Generator().manual_seed(1), desc=None
            )
        )
    res = runs[0]
    assert isinstance(res, GeneratorTrainResult)
    assert res.losses.shape == (3,) and set(res.parts) == {"loss_d", "rec", "moments"}
    assert res.metrics["loss"] == float(res.losses[-1])
    assert isinstance(res.gan_generator, Generator) and isinstance(res.encoder, Encoder)
    assert not res.gan_generator.training and not any(
        p.requires_grad for p in res.gan_generator.parameters()
    )
    # same seeds, same weights, bit for bit (the shipped weights depend on it)
    a, b = res.gan_generator.state_dict(), runs[1].gan_generator.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert torch.equal(res.losses, runs[1].losses)


@pytest.mark.parametrize(
    "kwargs, err",
    [
        (dict(steps=0), ValueError),
        (dict(steps=2, batch_size=1), ValueError),
        (dict(steps=2, batch=4), TypeError),
        (dict(steps=2, ema=1.0), ValueError),
        (dict(steps=2, w_adv=float("nan")), ValueError),
        (dict(steps=2, generator=0), TypeError),
    ],
)
def test_train_generator_bad_arguments(kwargs, err):
    faces = render_faces(4, generator=torch.Generator().manual_seed(5)).clean
    with pytest.raises(err):
        train_generator(faces, **kwargs)
    with pytest.raises(ValueError, match="faces"):
        train_generator(faces * 2, steps=1)


# ---------------------------------------------------------------- inversion


def test_inversion_lowers_reconstruction_error(gen):
    x = render_faces(8, generator=torch.Generator().manual_seed(21)).clean
    res = invert(gen, x, steps=30, lr=0.05)
    assert res.losses.shape == (31, 8)
    assert (res.losses[-1] < res.losses[0]).all()
    # the encoder's initial guess is already better than the mean latent
    enc = load_encoder()
    res_e = invert(gen, x, steps=0, encoder=enc)
    assert res_e.losses[0].mean() < res.losses[0].mean()


def test_inversion_recovers_a_generated_image(gen):
    z = torch.randn(4, gen.latent_dim, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        x = gen(z)
    res = invert(gen, x, steps=150, lr=0.05, encoder=load_encoder(), prior=0.0)
    assert res.losses[-1].max() < 0.25 * res.losses[0].max() + 1e-4


def test_invert_bad_inputs(gen):
    x = render_faces(2, generator=torch.Generator().manual_seed(0)).clean
    with pytest.raises(ValueError, match="channels"):
        invert(gen, x[:, :1])
    with pytest.raises(ValueError, match="\\[0, 1\\]"):
        invert(gen, x * 2)
    with pytest.raises(ValueError, match="generator's output"):
        invert(gen, torch.rand(2, 3, 16, 16))
    with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
        invert(lambda z: z, x)
    with pytest.raises(ValueError, match="z_init"):
        invert(gen, x, z_init=torch.zeros(3, gen.latent_dim))
    with pytest.raises(ValueError, match="lr"):
        invert(gen, x, lr=0)


def test_attribute_direction_recovers_a_planted_slope():
    g = torch.Generator().manual_seed(0)
    v = torch.randn(500, generator=g)
    d = torch.randn(8, generator=g)
    z = v[:, None] * d + 0.01 * torch.randn(500, 8, generator=g)
    assert torch.allclose(attribute_direction(z, v), d, atol=0.01)
    with pytest.raises(ValueError):
        attribute_direction(z, torch.ones(500))


# ---------------------------------------------------------------- alignment


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**16), c=st.integers(1, 4))
def test_warp_with_zero_flow_is_identity(seed, c):
    x = torch.rand(2, c, 9, 7, generator=torch.Generator().manual_seed(seed))
    assert torch.allclose(flow_warp(x, torch.zeros(2, 2, 9, 7)), x, atol=1e-6)


@settings(max_examples=20, deadline=None)
@given(dx=st.integers(-3, 3), dy=st.integers(-3, 3))
def test_warp_by_integer_flow_is_a_shift(dx, dy):
    x = torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(dx * 7 + dy))
    flow = torch.zeros(1, 2, 16, 16)
    flow[:, 0], flow[:, 1] = dx, dy
    out = flow_warp(x, flow)
    ref = torch.roll(x, shifts=(-dy, -dx), dims=(2, 3))
    inner = (slice(3, 13), slice(3, 13))  # away from the border padding
    assert torch.allclose(out[..., inner[0], inner[1]], ref[..., inner[0], inner[1]], atol=1e-6)


def test_flow_smoothness_closed_form():
    f = torch.zeros(1, 2, 4, 4)
    f[0, 0, :, 2:] = 1.0  # a step of 1 between columns 1 and 2 in the x-component
    # dx: 4 rows x 1 jump over 2*4*3 entries; dy: none
    assert torch.allclose(flow_smoothness(f), torch.tensor([4 / 24]))
    with pytest.raises(ValueError):
        flow_warp(torch.rand(1, 3, 4, 4), torch.zeros(1, 2, 4, 5))


def test_aligning_an_image_with_itself_gives_zero_flow(ood_batch):
    torch.manual_seed(0)
    net = InvertibilityDetector()
    for p in net.parameters():  # any weights, not just the zero-initialised flow head
        torch.nn.init.normal_(p, std=0.3)
    dec = net(ood_batch.images, ood_batch.images)
    assert torch.equal(dec.flow, torch.zeros_like(dec.flow))
    assert torch.equal(dec.aligned, ood_batch.images)
    # ... while a different image does get a non-zero flow from the same weights
    assert net(ood_batch.images, ood_batch.clean).flow.abs().max() > 0


# ---------------------------------------------------------------- detector and blending


def test_detector_output_range_and_shape(ood_batch):
    net = InvertibilityDetector(iterations=3)
    dec = net(ood_batch.images, ood_batch.clean)
    assert dec.mask.shape == (6, 1, 32, 32) and len(dec.masks) == 3
    assert 0 <= dec.mask.min() and dec.mask.max() <= 1
    assert dec.flow.abs().max() <= net.max_flow
    assert dec.blended.shape == ood_batch.images.shape


def test_blend_zero_mask_gives_inversion_and_one_mask_gives_input(ood_batch):
    x, y = ood_batch.images, ood_batch.clean
    zeros = torch.zeros(6, 1, 32, 32)
    assert torch.equal(blend(x, y, zeros), y)
    assert torch.equal(blend(x, y, torch.ones_like(zeros)), x)
    with pytest.raises(ValueError, match="mask"):
        blend(x, y, torch.zeros(6, 1, 16, 16))
    with pytest.raises(ValueError, match="\\[0, 1\\]"):
        blend(x, y, zeros - 1)


def test_detector_training_lowers_its_loss(ood_batch):
    torch.manual_seed(0)
    net = InvertibilityDetector(width=8)
    res = train_detector(net, ood_batch.images, ood_batch.clean, steps=40, batch_size=6, lr=5e-3)
    assert res.losses.shape == (40,) and set(res.parts) == {"loss", "rec", "area", "binary", "tv"}
    assert torch.equal(res.parts["loss"], res.losses) and res.metrics["loss"] == res.losses[-1]
    assert res.losses[-5:].mean() < res.losses[:5].mean()


def test_detector_loss_area_term_and_ablation_switch(ood_batch):
    net = InvertibilityDetector(width=4)
    dec = net(ood_batch.images, ood_batch.clean)
    _, parts = detector_loss(ood_batch.images, dec)
    assert set(parts) == {"loss", "rec", "area", "binary", "tv"}
    assert abs(parts["area"] - dec.mask.mean().item()) < 1e-6
    _, sup = detector_loss(ood_batch.images, dec, target=ood_batch.masks)
    assert set(sup) == {"loss", "bce", "rec_id", "tv"}


def test_detector_bad_inputs(ood_batch):
    net = InvertibilityDetector(width=4)
    with pytest.raises(ValueError, match="matching"):
        net(ood_batch.images, ood_batch.images[:, :, :16, :16])
    with pytest.raises(ValueError, match="channels"):
        net(ood_batch.images[:, :2], ood_batch.images[:, :2])
    with pytest.raises(TypeError):
        net(ood_batch.images.numpy(), ood_batch.images)
    with pytest.raises(ValueError, match="max_flow"):
        InvertibilityDetector(max_flow=0)
    with pytest.raises(ValueError, match=r"values must lie in \[0, 1\]"):
        net(ood_batch.images + 2, ood_batch.images)
    net(ood_batch.images + 2, ood_batch.images, validate=False)  # checked once elsewhere


def test_detector_init_follows_its_generator():
    a = InvertibilityDetector(width=4, generator=torch.Generator().manual_seed(3))
    b = InvertibilityDetector(width=4, generator=torch.Generator().manual_seed(3))
    c = InvertibilityDetector(width=4, generator=torch.Generator().manual_seed(4))
    assert torch.equal(a.stem[0].weight, b.stem[0].weight)
    assert not torch.equal(a.stem[0].weight, c.stem[0].weight)


# ---------------------------------------------------------------- CUDA


@pytest.mark.cuda
def test_inversion_and_detector_on_cuda_match_cpu(gen, ood_batch, exact_fp32):
    x = ood_batch.images
    g_cuda, enc = load_generator(device="cuda"), load_encoder()
    res = invert(gen, x, steps=10, encoder=enc)
    res_cuda = invert(g_cuda, x.cuda(), steps=10, encoder=load_encoder(device="cuda"))
    assert res_cuda.z.device.type == "cuda" and res_cuda.images.device.type == "cuda"
    assert torch.allclose(res_cuda.losses.cpu(), res.losses, rtol=1e-3, atol=1e-5)
    net = load_detector("method")
    with torch.no_grad():
        dec = net(x, res.images)
        dec_cuda = load_detector("method", device="cuda")(x.cuda(), res.images.cuda())
    assert dec_cuda.mask.device.type == "cuda"
    assert torch.allclose(dec_cuda.mask.cpu(), dec.mask, atol=1e-4)
    assert torch.allclose(dec_cuda.blended.cpu(), dec.blended, atol=1e-4)
    mask = baseline_mask(x.cuda(), res_cuda.images, 0.05)
    assert mask.device.type == "cuda"
    assert mask_iou(mask, ood_batch.masks.cuda()).shape == (6,)
    assert math.isfinite(region_psnr(x.cuda(), res_cuda.images, ood_batch.masks.cuda(), "out"))


@pytest.mark.cuda
def test_detector_training_on_cuda_matches_cpu(ood_batch, exact_fp32):
    logs = []
    for device in ("cpu", "cuda"):
        torch.manual_seed(0)
        net = InvertibilityDetector(width=4).to(device)
        x, y = ood_batch.images.to(device), ood_batch.clean.to(device)
        res = train_detector(net, x, y, steps=5, batch_size=4, lr=5e-3, desc=None)
        logs.append(res.parts)
        assert next(net.parameters()).device.type == device
    a, b = logs
    assert a.keys() == b.keys()
    assert all(torch.allclose(a[k], b[k], rtol=1e-3, atol=1e-5) for k in a), (a, b)


# ---------------------------------------------------------------- baseline


def test_baseline_mask_thresholds_the_error_map():
    x = torch.zeros(1, 3, 4, 4)
    y = torch.zeros(1, 3, 4, 4)
    y[0, :, 1, 2] = 0.5
    y[0, 0, 3, 3] = 0.3  # channel mean 0.1
    e = error_map(x, y)
    assert torch.isclose(e[0, 0, 1, 2], torch.tensor(0.5)) and torch.isclose(
        e[0, 0, 3, 3], torch.tensor(0.1)
    )
    m = baseline_mask(x, y, 0.2)
    assert m.sum() == 1 and m[0, 0, 1, 2] == 1
    # a 3x3 box filter spreads the 0.5 over its neighbourhood (interior: 9 pixels)
    assert torch.isclose(error_map(x, y, smooth=3)[0, 0, 1, 1], torch.tensor(0.5 / 9))
    with pytest.raises(ValueError, match="odd"):
        error_map(x, y, smooth=2)
    with pytest.raises(ValueError, match="threshold"):
        baseline_mask(x, y, -1.0)


# ---------------------------------------------------------------- non-finite values and dtypes


def test_non_finite_flow_and_numbers_are_rejected(gen):
    """Each of these used to be accepted silently (NaN compares False with every bound)."""
    x = render_faces(2, generator=torch.Generator().manual_seed(0)).clean
    flow = torch.zeros(2, 2, 32, 32)
    for bad in (math.nan, math.inf):
        with pytest.raises(ValueError, match="flow must be finite"):
            flow_warp(x, flow + bad)
        with pytest.raises(ValueError, match="threshold"):
            baseline_mask(x, x, bad)
        with pytest.raises(ValueError, match="max_flow"):
            InvertibilityDetector(max_flow=bad)
        with pytest.raises(ValueError, match="prior"):
            invert(gen, x, steps=1, prior=bad)
        with pytest.raises(ValueError, match="lr"):
            invert(gen, x, steps=1, lr=bad)
        with pytest.raises(ValueError, match="z_init must be finite"):
            invert(gen, x, steps=1, z_init=torch.full((2, gen.latent_dim), bad))
    with pytest.raises(ValueError, match="image must be finite"):
        flow_warp(x * math.nan, flow)
    with pytest.raises(TypeError, match="threshold"):
        baseline_mask(x, x, "0.1")


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float64])
def test_warp_supports_every_floating_dtype_and_mixed_flows(dtype):
    x = torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    flow = torch.zeros(1, 2, 16, 16)
    flow[:, 0], flow[:, 1] = 1.0, -2.0
    ref = flow_warp(x, flow)
    tol = 1e-6 if dtype == torch.float64 else 2e-2
    for f in (flow.to(dtype), flow):  # same dtype, and a float32 flow
        out = flow_warp(x.to(dtype), f)
        assert out.dtype == dtype
        assert torch.allclose(out.float(), ref, atol=tol)
    out = flow_warp(x, flow.to(dtype))  # float32 image, other flow dtype: image's dtype
    assert out.dtype == torch.float32 and torch.allclose(out, ref, atol=tol)


def test_networks_name_a_dtype_mismatch_instead_of_a_raw_torch_error(gen, ood_batch):
    x = ood_batch.images
    net = InvertibilityDetector(width=4)
    for dtype in (torch.float64, torch.float16):
        with pytest.raises(TypeError, match="detector's dtype"):
            net(x.to(dtype), x.to(dtype))
        with pytest.raises(TypeError, match="generator's dtype"):
            invert(gen, x.to(dtype), steps=1)
        with pytest.raises(TypeError, match="detector's dtype"):
            train_detector(net, x.to(dtype), x.to(dtype), steps=1)
    with pytest.raises(TypeError, match="y must have the detector's dtype"):
        net(x, x.double())
    with pytest.raises(TypeError, match="z_init must have the generator's dtype"):
        invert(gen, x, steps=1, z_init=torch.zeros(len(x), gen.latent_dim, dtype=torch.float64))
    with pytest.raises(TypeError, match="encoder's dtype"):
        invert(copy.deepcopy(gen).double(), x.double(), steps=1, encoder=load_encoder())
    # a float64 detector takes float64 images
    dec = InvertibilityDetector(width=4).double()(x.double(), x.double())
    assert dec.mask.dtype == torch.float64 and dec.aligned.dtype == torch.float64


# ---------------------------------------------------------------- metrics


def test_mask_iou_hand_computed():
    p = torch.zeros(2, 1, 2, 2)
    t = torch.zeros(2, 1, 2, 2)
    p[0, 0, 0, :] = 1  # 2 pixels
    t[0, 0, :, 0] = 1  # 2 pixels, 1 shared -> 1 / 3
    assert torch.allclose(mask_iou(p, t), torch.tensor([1 / 3, 1.0], dtype=torch.float64))
    with pytest.raises(ValueError, match="binary"):
        mask_iou(p * 0.5, t)
    # bool masks, the natural type for a mask, give the same answer
    assert torch.equal(mask_iou(p.bool(), t.bool()), mask_iou(p, t))
    assert torch.equal(mask_iou(p.bool(), t), mask_iou(p, t))
    with pytest.raises(ValueError, match="pred must have shape"):
        mask_iou(p.bool()[:, 0], t)
    x = torch.rand(2, 3, 2, 2, generator=torch.Generator().manual_seed(0))
    assert region_psnr(x, x * 0.5, p.bool(), "out") == region_psnr(x, x * 0.5, p, "out")


def test_region_psnr_hand_computed():
    x = torch.zeros(1, 3, 2, 2)
    y = x.clone()
    y[0, :, 0, 0] = 0.1  # only the OOD pixel is wrong, by 0.1
    mask = torch.zeros(1, 1, 2, 2)
    mask[0, 0, 0, 0] = 1
    assert math.isclose(region_psnr(x, y, mask, "out"), 20.0, rel_tol=1e-6)  # MSE 0.01
    assert math.isclose(region_psnr(x, y, mask, "whole"), 10 * math.log10(400), rel_tol=1e-6)
    assert region_psnr(x, y, mask, "in") == math.inf
    assert math.isnan(region_psnr(x, y, torch.zeros_like(mask), "out"))
    with pytest.raises(ValueError, match="region"):
        region_psnr(x, y, mask, "middle")


def test_region_ssim_is_the_skimage_map_averaged_over_the_region():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(2, 3, 16, 16, generator=g)
    y = (x + 0.1 * torch.rand(2, 3, 16, 16, generator=g)).clamp(0, 1)
    mask = torch.zeros(2, 1, 16, 16)
    mask[0, 0, 2:6, 3:9] = 1
    maps = [
        structural_similarity(
            x[i].permute(1, 2, 0).double().numpy(),
            y[i].permute(1, 2, 0).double().numpy(),
            data_range=1.0,
            channel_axis=-1,
            win_size=7,
            full=True,
        )[1].mean(-1)
        for i in range(2)
    ]
    assert math.isclose(region_ssim(x, y, mask, "whole"), np.mean(maps), rel_tol=1e-9)
    assert math.isclose(region_ssim(x, y, mask, "out"), maps[0][2:6, 3:9].mean(), rel_tol=1e-9)
    n_out = 24
    whole = (
        region_ssim(x, y, mask, "in") * (512 - n_out) + region_ssim(x, y, mask, "out") * n_out
    ) / 512
    assert math.isclose(whole, np.mean(maps), rel_tol=1e-9)
    assert region_ssim(x, x, mask, "whole") == pytest.approx(1.0)


# ---------------------------------------------------------------- calibration and spread


def test_calibrate_threshold_finds_the_separating_threshold():
    # error 0.3 on the true mask, 0.1 elsewhere: thresholds in [0.1, 0.3) are perfect
    masks = torch.zeros(4, 1, 8, 8)
    masks[:, :, 2:5, 3:6] = 1
    y = torch.full((4, 3, 8, 8), 0.5)
    x = y + 0.1 + 0.2 * masks
    cal = calibrate_threshold(x, y, masks, [0.05, 0.2, 0.35])
    assert cal.threshold == 0.2 and cal.smooth == 1 and cal.iou == pytest.approx(1.0)
    assert cal.table[(1, 0.05)] == pytest.approx(9 / 64)  # everything masked
    assert cal.table[(1, 0.35)] == pytest.approx(0.0)  # nothing masked
    with pytest.raises(ValueError, match="empty"):
        calibrate_threshold(x, y, masks, [])
    with pytest.raises(ValueError, match="smooths"):
        calibrate_threshold(x, y, masks, [0.1], smooths=[0])


def test_calibrate_threshold_matches_a_brute_force_numpy_search(gen, ood_batch):
    with torch.no_grad():
        y = gen(load_encoder()(ood_batch.images))
    taus = [0.05, 0.1, 0.15, 0.2]
    cal = calibrate_threshold(ood_batch.images, y, ood_batch.masks, taus, smooths=(1, 3))
    t = ood_batch.masks.numpy()[:, 0] > 0.5
    best = -1.0
    for k in (1, 3):
        e = error_map(ood_batch.images, y, smooth=k).numpy()[:, 0]
        for tau in taus:
            p = e > tau
            inter, union = (p & t).sum((1, 2)), (p | t).sum((1, 2))
            iou = np.where(union == 0, 1.0, inter / np.maximum(union, 1)).mean()
            assert cal.table[(k, tau)] == pytest.approx(iou)
            best = max(best, iou)
    assert cal.iou == pytest.approx(best)


def test_paired_bootstrap_mean_and_spread_match_the_closed_form():
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(400, generator=gen, dtype=torch.float64) + 0.3
    b = torch.randn(400, generator=gen, dtype=torch.float64)
    mean, spread = paired_bootstrap(a, b, n_boot=4000, generator=torch.Generator().manual_seed(1))
    d = a - b
    assert mean == pytest.approx(float(d.mean()))
    # the bootstrap standard error of a mean is the sample sd / sqrt(n), up to MC noise
    assert spread == pytest.approx(float(d.std()) / 400**0.5, rel=0.08)
    with pytest.raises(ValueError, match="same length"):
        paired_bootstrap(a, b[:10])
    with pytest.raises(ValueError, match="finite"):
        paired_bootstrap(a, b.clone().fill_(float("nan")))
    with pytest.raises(TypeError):
        paired_bootstrap(a.tolist(), b)
