"""Tests for chapter 5's asymmetry experiment (companion.ep.asymmetry) and its shipped networks."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch

from companion.ep import (
    RUN_KINDS,
    AsymmetrySetting,
    EPNetwork,
    Estimator,
    Split,
    build_network,
    digits_splits,
    evaluate_network,
    file_sha256,
    load_networks,
    save_networks,
    train_run,
    weight_angles,
)
from companion.ep.asymmetry import WEIGHTS_DIR

TINY = AsymmetrySetting(sizes=(64, 8, 8, 10), epochs=1, batch_size=64, lr=3e-3)


def _tiny_data(n: int = 128) -> Split:
    _, final = digits_splits(300, generator=torch.Generator().manual_seed(0))
    return Split(final.x_train[:n], final.y_train[:n], final.x_test[:64], final.y_test[:64], 10)


def test_setting_round_trips_and_rejects_bad_values():
    s = AsymmetrySetting(homeostasis=0.5, estimator=Estimator(n=6, r=0.3))
    assert AsymmetrySetting.from_dict(json.loads(json.dumps(s.to_dict()))) == s
    with pytest.raises(ValueError, match="sizes"):
        AsymmetrySetting(sizes=(64, 10))
    with pytest.raises(ValueError, match="angle"):
        AsymmetrySetting(angle=200.0)
    with pytest.raises(ValueError, match="cost"):
        AsymmetrySetting(cost="hinge")
    with pytest.raises(TypeError, match="epochs"):
        AsymmetrySetting(epochs=2.5)
    with pytest.raises(ValueError, match="homeostasis"):
        AsymmetrySetting(homeostasis=float("nan"))
    with pytest.raises(TypeError, match="estimator"):
        AsymmetrySetting(estimator="hep")
    with pytest.raises(ValueError, match="dtype"):
        AsymmetrySetting(dtype="float16")
    # a record written before the setting had a dtype loads as float32
    old = {k: v for k, v in s.to_dict().items() if k != "dtype"}
    assert AsymmetrySetting.from_dict(old).dtype == "float32"


@pytest.mark.parametrize("kind", RUN_KINDS)
def test_float64_runs_start_from_the_float32_network(kind):
    """A seed's initial weights (and rotation) do not depend on the precision of the run."""
    s64 = AsymmetrySetting(dtype="float64")
    n32 = build_network(kind, AsymmetrySetting(), generator=torch.Generator().manual_seed(4))
    n64 = build_network(kind, s64, generator=torch.Generator().manual_seed(4))
    assert n64.dtype == torch.float64 and n32.dtype == torch.float32
    for (name, p32), p64 in zip(n32.state_dict().items(), n64.state_dict().values(), strict=True):
        assert p64.dtype == torch.float64, name
        assert torch.equal(p64, p32.double()), name


def test_digits_splits_hold_out_validation_from_the_training_images():
    sel, final = digits_splits(300, generator=torch.Generator().manual_seed(0))
    assert torch.equal(sel.x_train, final.x_train) and sel.x_train.shape[0] == 1347 - 300
    assert sel.x_test.shape[0] == 300 and final.x_test.shape[0] == 450
    # validation, training and test images are three disjoint sets of rows
    rows = lambda t: {tuple(r.tolist()) for r in t}  # noqa: E731
    assert not rows(sel.x_test) & rows(final.x_test)
    assert len(rows(sel.x_test) & rows(sel.x_train)) < 5  # digits has a few duplicate images
    with pytest.raises(ValueError, match="n_val"):
        digits_splits(2000)
    with pytest.raises(TypeError, match="generator"):
        digits_splits(300, generator=1)


def test_build_network_shares_forward_weights_and_rotates_backward_ones():
    nets = {
        k: build_network(k, TINY, generator=torch.Generator().manual_seed(3)) for k in RUN_KINDS
    }
    assert nets["symmetric"].symmetric and not nets["asymmetric"].symmetric
    for k in ("asymmetric", "homeostasis"):
        assert all(torch.equal(a, b) for a, b in zip(nets[k].W, nets["symmetric"].W, strict=True))
        assert weight_angles(nets[k]) == pytest.approx([TINY.angle] * 2, abs=1e-3)
    with pytest.raises(ValueError, match="kind"):
        build_network("tied", TINY)
    with pytest.raises(TypeError, match="setting"):
        build_network("symmetric", {"sizes": (64, 8, 10)})


def test_evaluation_sees_the_bias_of_asymmetry():
    data = _tiny_data()
    sym = build_network("symmetric", TINY, generator=torch.Generator().manual_seed(0))
    asym = build_network("asymmetric", TINY, generator=torch.Generator().manual_seed(0))
    ev_s = evaluate_network(sym, data, TINY.estimator)
    ev_a = evaluate_network(asym, data, TINY.estimator)
    assert ev_s["cosine"] > 0.999 and ev_s["symmetry"] == pytest.approx(1.0)
    assert min(ev_s["layer_cosines"]) > 0.99
    # at 120° the hidden layers' updates are far from the gradient; the readout's is not
    assert ev_a["layer_cosines"][0] < 0.9 and ev_a["layer_cosines"][-1] > 0.9
    assert ev_a["symmetry"] < 0.9 and ev_a["angles"] == pytest.approx([TINY.angle] * 2, abs=1e-3)
    assert 0 <= ev_a["test_accuracy"] <= 1
    with pytest.raises(TypeError, match="estimator"):
        evaluate_network(sym, data, "hep")


def test_homeostasis_runs_align_the_backward_weights():
    data = _tiny_data(256)
    setting = AsymmetrySetting(
        sizes=(64, 8, 8, 10), epochs=3, batch_size=32, lr=0.03, homeostasis=1.0
    )
    angles = {}
    for kind in ("asymmetric", "homeostasis"):
        net, rec = train_run(kind, setting, data, generator=torch.Generator().manual_seed(1))
        assert rec.losses.shape == (3 * 8,) and len(rec.test_accuracy) == 4
        angles[kind] = max(weight_angles(net))
    assert angles["homeostasis"] < angles["asymmetric"] - 20


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_save_and_load_round_trip(tmp_path, dtype):
    tiny = dataclasses.replace(TINY, dtype=dtype)
    nets = {
        f"{k}/0": build_network(k, tiny, generator=torch.Generator().manual_seed(0))
        for k in RUN_KINDS
    }
    path = tmp_path / "nets.pt"
    save_networks(nets, tiny, path)
    loaded, setting = load_networks(path)
    assert setting == tiny and set(loaded) == set(nets)
    for name, net in nets.items():
        assert isinstance(loaded[name], EPNetwork)
        assert loaded[name].dtype == getattr(torch, dtype)
        for (ka, a), (kb, b) in zip(
            net.state_dict().items(), loaded[name].state_dict().items(), strict=True
        ):
            assert ka == kb and torch.equal(a, b)
    with pytest.raises(ValueError, match="kind"):
        save_networks({"tied/0": nets["symmetric/0"]}, tiny, path)


RECORD = WEIGHTS_DIR / "asymmetry.json"


@pytest.mark.skipif(not RECORD.exists(), reason="shipped networks not trained yet")
def test_shipped_networks_match_their_fingerprint():
    record = json.loads(RECORD.read_text())
    assert file_sha256(WEIGHTS_DIR / "asymmetry.pt") == record["sha256"]
    nets, setting = load_networks()
    assert setting == AsymmetrySetting.from_dict(record["setting"])
    assert set(nets) == set(record["runs"])
    _, final = digits_splits(setting.n_val, generator=torch.Generator().manual_seed(0))
    for name in ("symmetric/0", "asymmetric/0", "homeostasis/0"):
        ev = evaluate_network(nets[name], final, setting.estimator)
        # one test image either way: float32 rounding may differ across machines
        assert abs(ev["test_accuracy"] - record["runs"][name]["test_accuracy"]) <= 1.01 / 450
        assert ev["angles"] == pytest.approx(record["runs"][name]["angles"], abs=1e-3)
