r"""Timing the Gaunt product against e3nn (used by ``benchmarks/gaunt.py`` and the chapter).

The comparison is the paper's: ``C`` channels, input degrees ``0..L``, output degrees
``0..2L``, e3nn's weighted ``"uuu"`` ``TensorProduct`` as the reference
(:func:`~companion.gaunt.product.e3nn_gaunt_tensor_product`), timed on its own data
layout; every method is warmed up, then the *median* of repeated calls is reported.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Sequence

import torch

from ..checks import check_choice, check_int
from ..utils import median_time
from .product import (
    e3nn_gaunt_tensor_product,
    from_e3nn_layout,
    gaunt_product,
    gaunt_product_grid,
    route_for,
    to_e3nn_layout,
)

__all__ = ["median_time", "compare", "loglog_slope", "markdown_table"]


def compare(
    degrees: Sequence[int],
    *,
    channels: int = 128,
    nodes: int = 1,
    e3nn_max: int = 6,
    grid_max: int = 8,
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float32,
    generator: torch.Generator | None = None,
    budget_s: float = 0.5,
    slow_repeats: int = 3,
    clock: str = "wall",
) -> list[dict]:
    """Time e3nn's CG reference, the sphere-grid variant and
    :func:`~companion.gaunt.product.gaunt_product` for each max degree.

    Returns one dict per degree ``L`` with the median times in ms (``None`` where a method was
    skipped: e3nn above ``e3nn_max``, the grid above ``grid_max``), the ratios e3nn / method, the
    e3nn construction time, and the largest deviation of each method from the reference
    (e3nn where run, else the ``"fft"`` route). A method whose first call takes over a second
    is timed with one warm-up call and ``slow_repeats`` timed calls.
    """
    channels, nodes = (
        check_int(channels, "channels", minimum=1),
        check_int(nodes, "nodes", minimum=1),
    )
    device = torch.device(device)
    rows = []
    for L in degrees:
        L = check_int(L, "degrees")
        L_out = 2 * L
        shape = (nodes, channels, (L + 1) ** 2)
        x1 = torch.randn(shape, generator=generator, dtype=dtype).to(device)
        x2 = torch.randn(shape, generator=generator, dtype=dtype).to(device)
        row: dict = {"L": L, "L_out": L_out, "channels": channels, "nodes": nodes}
        ref = None
        if L <= e3nn_max:
            t0 = time.perf_counter()
            tp, w = e3nn_gaunt_tensor_product(L, L, L_out, channels)
            tp, w = tp.to(device=device, dtype=dtype), w.to(device=device, dtype=dtype)
            row["e3nn_build_s"] = time.perf_counter() - t0
            a, b = to_e3nn_layout(x1), to_e3nn_layout(x2)
            with torch.no_grad():
                row["e3nn_ms"] = 1e3 * _time(
                    lambda: tp(a, b, w), device, budget_s, slow_repeats, clock
                )
                ref = from_e3nn_layout(tp(a, b, w), channels, L_out)
        else:
            row["e3nn_ms"] = None
        with torch.no_grad():
            outs = {}
            for name, fn in (
                ("fft", lambda: gaunt_product(x1, x2, L_out, method="fft")),
                ("dense", lambda: gaunt_product(x1, x2, L_out, method="dense")),
                ("separable", lambda: gaunt_product(x1, x2, L_out, method="separable")),
                ("auto", lambda: gaunt_product(x1, x2, L_out)),
                ("grid", lambda: gaunt_product_grid(x1, x2, L_out)),
            ):
                if name == "grid" and L > grid_max:
                    row["grid_ms"] = None
                    continue
                outs[name] = fn()
                row[f"{name}_ms"] = 1e3 * _time(fn, device, budget_s, slow_repeats, clock)
            row["auto_route"] = route_for(L, L, device, dtype)
            if ref is None:
                ref = outs["fft"]
            scale = float(ref.abs().max())
            for name, y in outs.items():
                row[f"{name}_err"] = float((y - ref).abs().max()) / max(scale, 1e-30)
        for name in ("fft", "dense", "separable", "auto", "grid"):
            t = row.get(f"{name}_ms")
            row[f"{name}_speedup"] = (row["e3nn_ms"] / t) if (t and row["e3nn_ms"]) else None
        rows.append(row)
    return rows


def _time(
    fn: Callable[[], object], device, budget_s: float, slow_repeats: int, clock: str = "wall"
) -> float:
    """Median seconds of ``fn`` (:func:`~companion.utils.median_time`); a call slower than a
    second gets one warm-up and ``slow_repeats`` timed calls instead.

    ``clock="thread"`` measures the CPU time of the calling thread (``time.thread_time``)
    instead of wall time: on a loaded machine it does not count the time the process waits
    for a core. Meaningful only on the CPU with one torch thread."""
    check_choice(clock, "clock", ("wall", "thread"))
    if clock == "thread" and (torch.device(device).type != "cpu" or torch.get_num_threads() != 1):
        raise ValueError('clock="thread" needs device="cpu" and torch.get_num_threads() == 1')
    t0 = time.perf_counter()
    fn()
    slow = time.perf_counter() - t0 > 1.0
    if clock == "wall":
        if slow:
            return median_time(
                fn, device=device, warmup=0, min_repeats=slow_repeats, max_repeats=slow_repeats
            )
        return median_time(fn, device=device, budget_s=budget_s)
    if not slow:
        fn()
        fn()
    times: list[float] = []
    start = time.thread_time()
    while len(times) < (slow_repeats if slow else 50) and (
        len(times) < (slow_repeats if slow else 5) or time.thread_time() - start < budget_s
    ):
        t = time.thread_time()
        fn()
        times.append(time.thread_time() - t)
    return statistics.median(times)


def loglog_slope(degrees: Sequence[float], times: Sequence[float]) -> float:
    """Least-squares slope of ``log(time)`` against ``log(degree)``: the empirical exponent."""
    pts = [(math.log(d), math.log(t)) for d, t in zip(degrees, times, strict=True) if d and t]
    if len(pts) < 2:
        raise ValueError(
            "loglog_slope needs at least two (degree, time) pairs with positive values"
        )
    mx = sum(p[0] for p in pts) / len(pts)
    my = sum(p[1] for p in pts) / len(pts)
    return sum((x - mx) * (y - my) for x, y in pts) / sum((x - mx) ** 2 for x, _ in pts)


def markdown_table(rows: Sequence[dict]) -> str:
    """The rows of :func:`compare` as a Markdown table (times in ms, ratios e3nn / method)."""

    def f(v, fmt):
        return "—" if v is None else format(v, fmt)

    head = (
        "| L | e3nn CG (ms) | grid (ms) | FFT (ms) | dense (ms) | separable (ms) "
        "| auto (ms) | auto route | e3nn / FFT | e3nn / dense | e3nn / separable "
        "| e3nn / auto | max rel. error |"
    )
    lines = [head, "|" + "---|" * 13]
    for r in rows:
        err = max(v for k, v in r.items() if k.endswith("_err"))
        lines.append(
            f"| {r['L']} | {f(r['e3nn_ms'], '.3g')} | {f(r.get('grid_ms'), '.3g')} "
            f"| {f(r['fft_ms'], '.3g')} | {f(r['dense_ms'], '.3g')} "
            f"| {f(r['separable_ms'], '.3g')} | {f(r['auto_ms'], '.3g')} | {r['auto_route']} "
            f"| {f(r['fft_speedup'], '.1f')} | {f(r['dense_speedup'], '.1f')} "
            f"| {f(r['separable_speedup'], '.1f')} | {f(r['auto_speedup'], '.1f')} | {err:.1e} |"
        )
    return "\n".join(lines)


def crossover_table(table: Sequence[dict]) -> str:
    """The rows of :func:`~companion.gaunt.product.tune_routes` as a Markdown table (ms)."""
    lines = ["| L | dense (ms) | separable (ms) | FFT (ms) | fastest |", "|---|---|---|---|---|"]
    for r in table:
        lines.append(
            f"| {r['L']} | {r['dense']:.3g} | {r['separable']:.3g} | {r['fft']:.3g} "
            f"| {r['fastest']} |"
        )
    return "\n".join(lines)


def fft_breakdown(
    L: int,
    *,
    rows: int = 4096,
    dtype: torch.dtype = torch.float32,
    calls: int = 5,
) -> dict:
    """Where the FFT route's CPU time goes at ``L1 = L2 = L``, ``L_out = 2L`` on ``rows`` rows:
    ``torch.profiler`` attributes the self CPU time of ``calls`` calls to the FFT kernels
    (``aten::_fft_*``: two ``irfft2`` and one ``rfft2``, each batched over ``rows`` tiny grids)
    and to everything else (copies into the FFT layouts, the batched SH ↔ Fourier matmuls).
    CPU only (the profiler's CPU time does not measure a GPU's work)."""
    from torch.profiler import profile

    from .product import fft_sizes

    L = check_int(L, "L")
    rows = check_int(rows, "rows", minimum=1)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(rows, (L + 1) ** 2, generator=g, dtype=dtype)
    y = torch.randn(rows, (L + 1) ** 2, generator=g, dtype=dtype)
    with torch.no_grad():
        for _ in range(2):
            gaunt_product(x, y, 2 * L, method="fft")
        with profile() as prof:
            for _ in range(calls):
                gaunt_product(x, y, 2 * L, method="fft")
    events = prof.key_averages()
    total = sum(e.self_cpu_time_total for e in events)
    fft = sum(e.self_cpu_time_total for e in events if e.key.startswith("aten::_fft"))
    return {
        "L": L,
        "grid": fft_sizes(L, L, 2 * L),
        "total_ms": total / 1e3 / calls,
        "fft_ms": fft / 1e3 / calls,
        "rest_ms": (total - fft) / 1e3 / calls,
        "fft_share": fft / total,
        "us_per_transform": fft / calls / (3 * rows),
    }


def fft_breakdown_table(degrees: Sequence[int], dtype: torch.dtype = torch.float32) -> str:
    """:func:`fft_breakdown` for each degree, as a Markdown table."""
    lines = [
        "| L | grid (N_u, N_v) | FFT route, CPU (ms) | its 3 FFTs (ms) | rest (ms) "
        "| FFT share | µs per tiny 2D FFT |",
        "|---|---|---|---|---|---|---|",
    ]
    for L in degrees:
        r = fft_breakdown(L, dtype=dtype)
        lines.append(
            f"| {L} | {r['grid']} | {r['total_ms']:.3g} | {r['fft_ms']:.3g} | {r['rest_ms']:.3g} "
            f"| {r['fft_share']:.0%} | {r['us_per_transform']:.2f} |"
        )
    return "\n".join(lines)


def simple_table(rows: Sequence[dict], keys: Sequence[str]) -> str:
    """A Markdown table of the given keys of ``rows`` (floats to 3 significant digits)."""

    def f(v):
        if v is None:
            return "—"
        if isinstance(v, float):
            return f"{v:.1e}" if (v != 0 and abs(v) < 1e-3) else f"{v:.3g}"
        return str(v)

    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    lines += ["| " + " | ".join(f(r.get(k)) for k in keys) + " |" for r in rows]
    return "\n".join(lines)


def conv_compare(
    degrees: Sequence[int],
    *,
    channels: int = 128,
    nodes: int = 64,
    edges: int = 256,
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float32,
    budget_s: float = 0.5,
    slow_repeats: int = 3,
    clock: str = "wall",
) -> list[dict]:
    """Time :func:`~companion.gaunt.interactions.gaunt_conv` against its e3nn reference on a
    random graph: features, filters and output of degrees ``0..L`` (``L_f = L_out = L``),
    ``edges`` random edges (``edges x channels`` messages). Median ms, ratio, relative error."""
    from .interactions import gaunt_conv, gaunt_conv_e3nn

    rows = []
    g = torch.Generator().manual_seed(0)
    for L in degrees:
        L = check_int(L, "degrees")
        x = torch.randn(nodes, channels, (L + 1) ** 2, generator=g, dtype=dtype).to(device)
        ei = torch.randint(0, nodes, (2, edges), generator=g).to(device)
        ev = torch.randn(edges, 3, generator=g, dtype=dtype).to(device)
        rad = torch.randn(edges, channels, L + 1, generator=g, dtype=dtype).to(device)
        with torch.no_grad():
            ref = gaunt_conv_e3nn(x, ei, ev, rad, L)
            err = float((gaunt_conv(x, ei, ev, rad, L) - ref).abs().max() / ref.abs().max())
            t_e3 = _time(
                lambda: gaunt_conv_e3nn(x, ei, ev, rad, L), device, budget_s, slow_repeats, clock
            )
            t_g = _time(
                lambda: gaunt_conv(x, ei, ev, rad, L), device, budget_s, slow_repeats, clock
            )
        rows.append(
            {
                "L": L,
                "edges": edges,
                "channels": channels,
                "e3nn_ms": 1e3 * t_e3,
                "gaunt_ms": 1e3 * t_g,
                "speedup": t_e3 / t_g,
                "err": err,
            }
        )
    return rows


def many_body_compare(
    settings: Sequence[tuple[int, int]],
    *,
    channels: int = 128,
    nodes: int = 256,
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float32,
    budget_s: float = 0.5,
    slow_repeats: int = 3,
    clock: str = "wall",
) -> list[dict]:
    """Time the ν-fold power :math:`A^\\nu` (degrees ``0..L`` → ``0..L``, channel-wise) by
    :func:`~companion.gaunt.interactions.gaunt_many_body` (divide and conquer, equal halves
    squared once) against ``ν - 1`` sequential e3nn CG products, for each ``(L, ν)``."""
    from .interactions import gaunt_many_body, gaunt_many_body_e3nn

    rows = []
    g = torch.Generator().manual_seed(0)
    for L, nu in settings:
        L, nu = check_int(L, "L"), check_int(nu, "nu", minimum=1)
        A = torch.randn(nodes, channels, (L + 1) ** 2, generator=g, dtype=dtype).to(device)
        A = A / math.sqrt((L + 1) ** 2)
        with torch.no_grad():
            ref = gaunt_many_body_e3nn([A] * nu, L)
            err = float((gaunt_many_body([A] * nu, L) - ref).abs().max() / ref.abs().max())
            t_e3 = _time(
                lambda: gaunt_many_body_e3nn([A] * nu, L), device, budget_s, slow_repeats, clock
            )
            t_g = _time(lambda: gaunt_many_body([A] * nu, L), device, budget_s, slow_repeats, clock)
        rows.append(
            {
                "L": L,
                "nu": nu,
                "nodes": nodes,
                "e3nn_ms": 1e3 * t_e3,
                "gaunt_ms": 1e3 * t_g,
                "speedup": t_e3 / t_g,
                "products": f"{nu - 1} vs {_tree_products(nu)}",
                "err": err,
            }
        )
    return rows


def _tree_products(nu: int) -> int:
    """Distinct products in the divide-and-conquer tree of a ν-fold power (equal halves once)."""
    seen: set[int] = set()

    def walk(k: int) -> None:
        if k > 1 and k not in seen:
            seen.add(k)
            walk(k // 2)
            walk(k - k // 2)

    walk(nu)
    return len(seen)
