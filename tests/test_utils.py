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


@pytest.mark.parametrize(
    ("value", "kwargs", "error", "match"),
    [
        (True, {}, TypeError, "lr must be a real number, got bool"),
        ("0.1", {}, TypeError, "lr must be a real number, got str"),
        (1j, {}, TypeError, "lr must be a real number"),
        (float("nan"), {"finite": False}, ValueError, "lr must be a finite number"),
        (float("inf"), {}, ValueError, "lr must be a finite number"),
        (0.0, {"minimum": 0, "open_min": True}, ValueError, "lr must be > 0"),
        (-1, {"minimum": 0}, ValueError, "lr must be >= 0"),
        (1.0, {"maximum": 1, "open_max": True}, ValueError, "lr must be < 1"),
        (2, {"maximum": 1}, ValueError, "lr must be <= 1"),
    ],
)
def test_check_number_rejects(value, kwargs, error, match):
    with pytest.raises(error, match=match):
        checks.check_number(value, "lr", **kwargs)


def test_check_number_accepts_and_narrows_to_float():
    assert checks.check_number(3, "x") == 3.0 and isinstance(checks.check_number(3, "x"), float)
    assert checks.check_number(np.float32(0.5), "x", minimum=0, maximum=1) == 0.5
    assert checks.check_number(np.int64(2), "x") == 2.0
    assert checks.check_number(torch.tensor(1.5), "x") == 1.5
    assert checks.check_number(float("inf"), "x", finite=False) == float("inf")
    assert checks.check_number(0.0, "x", minimum=0) == 0.0  # closed bound


def test_check_choice_bool_and_same_len():
    assert checks.check_choice("b", "mode", ("a", "b")) == "b"
    assert checks.check_choice(2, "k", (0, 1, 2)) == 2
    with pytest.raises(ValueError, match=r"mode must be one of \('a', 'b'\), got 'c'"):
        checks.check_choice("c", "mode", ("a", "b"))
    with pytest.raises(TypeError, match="mode must be a str"):
        checks.check_choice(1, "mode", ("a", "b"))
    with pytest.raises(TypeError, match="k must be an int"):
        checks.check_choice(True, "k", (0, 1, 2))  # a bool is not an order
    with pytest.raises(TypeError, match="k must be an int"):
        checks.check_choice(1.0, "k", (0, 1, 2))
    assert checks.check_bool(False, "flag") is False
    with pytest.raises(TypeError, match="flag must be a bool"):
        checks.check_bool(1, "flag")
    assert checks.check_same_len(torch.zeros(3, 2), [0, 1, 2], "x and y") == 3
    with pytest.raises(
        ValueError, match="x and y must hold the same number of samples, got 3 and 2"
    ):
        checks.check_same_len(torch.zeros(3), torch.zeros(2), "x and y")
    with pytest.raises(TypeError, match="x and y must be tensors or sequences"):
        checks.check_same_len(torch.zeros(3), 3, "x and y")
    with pytest.raises(ValueError, match="first axis"):
        checks.check_same_len(torch.tensor(1.0), torch.zeros(2), "x and y")


def test_default_dtype_restores_even_after_an_error():
    before = torch.get_default_dtype()
    with utils.default_dtype(torch.float64):
        assert torch.zeros(1).dtype == torch.float64
    assert torch.get_default_dtype() == before
    with pytest.raises(RuntimeError, match="boom"), utils.default_dtype(torch.float64):
        raise RuntimeError("boom")
    assert torch.get_default_dtype() == before
    with pytest.raises(TypeError, match="dtype"), utils.default_dtype(torch.int64):
        pass


def test_median_time_calls_fn_the_requested_number_of_times():
    calls = []
    t = utils.median_time(lambda: calls.append(1), warmup=2, min_repeats=4, max_repeats=4)
    assert len(calls) == 6 and t >= 0.0
    with pytest.raises(ValueError, match="max_repeats"):
        utils.median_time(lambda: None, min_repeats=5, max_repeats=2)
    utils.synchronize("cpu")  # a no-op off CUDA


def test_mnist_sample_is_fresh_and_in_range():
    x, y = utils.mnist_sample()
    assert x.shape == (5000, 28, 28) and x.dtype == torch.float32 and y.dtype == torch.int64
    assert 0.0 <= float(x.min()) and float(x.max()) <= 1.0
    assert torch.equal(torch.bincount(y), torch.full((10,), 500))
    x[0] = -1.0  # the cached copy must not see this
    assert float(utils.mnist_sample(dtype=torch.float64)[0].min()) >= 0.0
    with pytest.raises(TypeError, match="dtype"):
        utils.mnist_sample(dtype=torch.int32)


def test_import_companion_does_not_import_e3nn():
    """e3nn pulls in torch._dynamo (seconds); the core imports it only when needed."""
    import subprocess
    import sys

    code = "import sys, companion; print('e3nn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_draw_seed_and_seeded_init_follow_the_generator():
    a = utils.draw_seed(torch.Generator().manual_seed(5))
    assert a == utils.draw_seed(torch.Generator().manual_seed(5)) and 0 <= a < 2**62
    with pytest.raises(TypeError, match="generator must be a torch.Generator"):
        utils.draw_seed(5)
    torch.manual_seed(0)
    before = torch.random.get_rng_state()
    with utils.seeded_init(torch.Generator().manual_seed(1)):
        w1 = torch.nn.Linear(3, 2).weight.detach().clone()
    assert torch.equal(torch.random.get_rng_state(), before)  # global stream untouched
    with utils.seeded_init(torch.Generator().manual_seed(1)):
        assert torch.equal(torch.nn.Linear(3, 2).weight, w1)
    with utils.seeded_init(None):  # None: the global stream, which advances
        torch.nn.Linear(3, 2)
    assert not torch.equal(torch.random.get_rng_state(), before)


def test_bounded_cache_drops_the_least_recently_used():
    cache = utils.BoundedCache(maxsize=2)
    cache["a"], cache["b"] = 1, 2
    assert cache["a"] == 1  # "a" is now the most recent
    cache["c"] = 3
    assert list(cache) == ["a", "c"] and cache.get("b") is None and cache.get("c") == 3
    with pytest.raises(ValueError, match="maxsize"):
        utils.BoundedCache(maxsize=0)


def test_numpy_rng_follows_the_generator_seed_not_its_state():
    g = torch.Generator().manual_seed(200)
    a = utils.numpy_rng(g).random(3)
    torch.rand(5, generator=g)  # advancing the torch stream does not change the data set
    assert np.array_equal(utils.numpy_rng(g).random(3), a)
    assert np.array_equal(np.random.default_rng(200).random(3), a)
    assert not np.array_equal(utils.numpy_rng(torch.Generator().manual_seed(201)).random(3), a)
    with pytest.raises(TypeError, match="generator must be a torch.Generator"):
        utils.numpy_rng(200)
