"""Tests of companion.utils and companion.checks."""

import random

import numpy as np
import pytest
import torch

from companion import checks, utils


def test_best_device_default_and_override(monkeypatch):
    monkeypatch.delenv("COMPANION_DEVICE", raising=False)
    d = utils.best_device()
    expected = (
        "cuda"
        if torch.cuda.is_available()
        else ("mps" if torch.backends.mps.is_available() else "cpu")
    )
    assert d.type == expected
    monkeypatch.setenv("COMPANION_DEVICE", "cpu")
    assert utils.best_device() == torch.device("cpu")
    monkeypatch.setenv("COMPANION_DEVICE", "tpu-of-dreams")
    with pytest.raises(ValueError, match="COMPANION_DEVICE"):
        utils.best_device()


def test_seed_everything_repeats_all_generators():
    g1 = utils.seed_everything(123)
    a = (random.random(), np.random.rand(), torch.rand(3), torch.rand(2, generator=g1))
    g2 = utils.seed_everything(123)
    b = (random.random(), np.random.rand(), torch.rand(3), torch.rand(2, generator=g2))
    assert a[0] == b[0] and a[1] == b[1]
    assert torch.equal(a[2], b[2]) and torch.equal(a[3], b[3])
    with pytest.raises(TypeError, match="seed must be an int"):
        utils.seed_everything(1.5)
    with pytest.raises(ValueError, match="seed must lie"):
        utils.seed_everything(-1)


def test_scale_and_pick(monkeypatch):
    monkeypatch.delenv("COMPANION_SCALE", raising=False)
    assert utils.scale() == "small" and utils.pick(1, 2) == 1
    monkeypatch.setenv("COMPANION_SCALE", "full")
    assert utils.pick(1, 2) == 2
    monkeypatch.setenv("COMPANION_SCALE", "huge")
    with pytest.raises(ValueError, match="COMPANION_SCALE"):
        utils.pick(1, 2)


def test_progress_yields_everything(monkeypatch):
    monkeypatch.setenv("CI", "true")
    assert list(utils.progress(range(5), desc="x")) == [0, 1, 2, 3, 4]


def test_in_book_build(monkeypatch):
    monkeypatch.setenv("COMPANION_BOOK", "1")
    assert utils.in_book_build()
    monkeypatch.setenv("COMPANION_BOOK", "0")
    assert not utils.in_book_build()


def test_checks_messages_name_the_argument():
    with pytest.raises(TypeError, match="foo must be a torch.Tensor"):
        checks.check_tensor([1], "foo")
    with pytest.raises(ValueError, match=r"foo must have shape \(\.\.\., \*, 3\)"):
        checks.check_tensor(torch.zeros(2, 4), "foo", last_dims=(None, 3))
    with pytest.raises(ValueError, match="foo must have 2 or 3 dimensions"):
        checks.check_tensor(torch.zeros(2), "foo", ndim=(2, 3))
    with pytest.raises(ValueError, match="at least 2"):
        checks.check_tensor(torch.zeros(2), "foo", min_ndim=2)
    with pytest.raises(ValueError, match="n must be >= 1"):
        checks.check_int(0, "n", minimum=1)
    assert checks.check_int(torch.tensor(3), "n") == 3
    with pytest.raises(ValueError, match="3x3"):
        checks.check_square(torch.eye(2), "g", size=3)
    assert checks.check_orthogonal(torch.eye(3, dtype=torch.float64), "g").shape == (3, 3)
