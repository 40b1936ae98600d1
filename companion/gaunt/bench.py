r"""Timing the Gaunt product against e3nn (used by ``benchmarks/gaunt.py`` and the chapter).

The comparison is the paper's: ``C`` channels, input degrees ``0..L``, output degrees
``0..2L``, e3nn's weighted ``"uuu"`` ``TensorProduct`` as the reference
(:func:`~companion.gaunt.product.e3nn_gaunt_tensor_product`), timed on its own data
layout; every method is warmed up, then the *median* of repeated calls is reported.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

import torch

from ..checks import check_int
from ..utils import median_time
from .product import (
    e3nn_gaunt_tensor_product,
    from_e3nn_layout,
    gaunt_product,
    gaunt_product_grid,
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
) -> list[dict]:
    """Time e3nn's CG reference, the sphere-grid variant and
    :func:`~companion.gaunt.product.gaunt_product` for each max degree.

    Returns one dict per degree ``L`` with the median times in ms (``None`` where a method was
    skipped: e3nn above ``e3nn_max``, the grid above ``grid_max``), the ratios e3nn / method, the
    e3nn construction time, and the largest deviation of each method from the reference
    (e3nn where run, else the ``"fft"`` route).
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
                ref = from_e3nn_layout(tp(a, b, w), channels, L_out)
                row["e3nn_ms"] = 1e3 * median_time(
                    lambda: tp(a, b, w), device=device, budget_s=budget_s
                )
        else:
            row["e3nn_ms"] = None
        with torch.no_grad():
            outs = {}
            for name, fn in (
                ("fft", lambda: gaunt_product(x1, x2, L_out, method="fft")),
                ("dense", lambda: gaunt_product(x1, x2, L_out, method="dense")),
                ("auto", lambda: gaunt_product(x1, x2, L_out)),
                ("grid", lambda: gaunt_product_grid(x1, x2, L_out)),
            ):
                if name == "grid" and L > grid_max:
                    row["grid_ms"] = None
                    continue
                outs[name] = fn()
                row[f"{name}_ms"] = 1e3 * median_time(fn, device=device, budget_s=budget_s)
            if ref is None:
                ref = outs["fft"]
            scale = float(ref.abs().max())
            for name, y in outs.items():
                row[f"{name}_err"] = float((y - ref).abs().max()) / max(scale, 1e-30)
        for name in ("fft", "dense", "auto", "grid"):
            t = row.get(f"{name}_ms")
            row[f"{name}_speedup"] = (row["e3nn_ms"] / t) if (t and row["e3nn_ms"]) else None
        rows.append(row)
    return rows


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
        "| max degree L | out degree | e3nn CG (ms) | grid (ms) | FFT route (ms) | dense route (ms) "
        "| auto (ms) | e3nn / grid | e3nn / FFT | e3nn / dense | e3nn / auto | max rel. error |"
    )
    lines = [head, "|" + "---|" * 12]
    for r in rows:
        err = max(v for k, v in r.items() if k.endswith("_err"))
        lines.append(
            f"| {r['L']} | {r['L_out']} | {f(r['e3nn_ms'], '.3f')} | {f(r.get('grid_ms'), '.3f')} "
            f"| {f(r['fft_ms'], '.3f')} | {f(r['dense_ms'], '.3f')} | {f(r['auto_ms'], '.3f')} "
            f"| {f(r['grid_speedup'], '.1f')} | {f(r['fft_speedup'], '.1f')} "
            f"| {f(r['dense_speedup'], '.1f')} | {f(r['auto_speedup'], '.1f')} | {err:.1e} |"
        )
    return "\n".join(lines)
