"""Shared test settings."""

import pytest
import torch


@pytest.fixture(autouse=True, scope="session")
def one_thread():
    """One intra-op thread: the models under test are tiny, and with two test processes on
    two cores extra threads only spin-wait on each other (about 20x slower, measured)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def pytest_configure(config):
    config.addinivalue_line("markers", "cuda: needs a CUDA device; skipped cleanly without one")


def pytest_collection_modifyitems(config, items):
    """The one CUDA-or-skip rule: mark a test ``@pytest.mark.cuda`` instead of a skipif."""
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs CUDA")
    for item in items:
        if item.get_closest_marker("cuda") is not None:
            item.add_marker(skip)


@pytest.fixture
def exact_fp32():
    """Full-precision float32 on CUDA for a CPU-vs-CUDA comparison: cuDNN convolutions use
    TF32 (10-bit mantissa) by default on Ampere and later GPUs, ~1e-3 relative error."""
    before = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    yield
    torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = before
