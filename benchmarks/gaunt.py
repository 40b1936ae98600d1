"""Benchmark: the Gaunt product by FFT vs e3nn's Clebsch-Gordan tensor product.

The comparison of Luo, Chen & Krishnapriyan (ICLR 2024, ``efficiency-comparison/
test_equi_feat.ipynb``): 128 channels, input degrees 0..L, output degrees 0..2L,
e3nn's TensorProduct with one weighted "uuu" path per allowed (l1, l2, l_out) as the
reference. Unlike the paper's notebook (mean of 10 calls, warm-up included) we warm up and
report medians. Prints a Markdown table, the ratios e3nn / method measured in the same
run, and the fitted log-log slope of time vs L.

    python benchmarks/gaunt.py            # L = 1, 2, 3, 4, 6, 8, 12, 16
    python benchmarks/gaunt.py --quick    # L = 1, 2, 3, 4 (seconds)
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import torch

from companion.gaunt.bench import compare, loglog_slope, markdown_table


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--quick", action="store_true", help="small degrees only")
    p.add_argument("--degrees", type=int, nargs="*", default=None)
    p.add_argument("--channels", type=int, default=128)
    p.add_argument(
        "--nodes", type=int, default=1, help="batch of nodes (the paper's comparison: 1)"
    )
    p.add_argument("--e3nn-max", type=int, default=8, help="largest L for which e3nn is run")
    p.add_argument("--grid-max", type=int, default=8, help="largest L for the sphere-grid variant")
    p.add_argument("--device", default=None, help="default: cuda if available, else cpu")
    p.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument(
        "--budget", type=float, default=0.5, help="seconds of timed calls per method and L"
    )
    a = p.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    device = torch.device(a.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    degrees = a.degrees or ([1, 2, 3, 4] if a.quick else [1, 2, 3, 4, 6, 8, 12, 16])
    budget = min(a.budget, 0.2) if a.quick else a.budget
    name = (
        torch.cuda.get_device_name(device)
        if device.type == "cuda"
        else f"CPU, {torch.get_num_threads()} threads"
    )
    print(
        f"# Gaunt product vs e3nn — {name}; torch {torch.__version__}; {a.dtype}; "
        f"{a.channels} channels x {a.nodes} node(s); input degrees 0..L, output 0..2L; median of timed calls "
        f"after warm-up; os.cpu_count()={os.cpu_count()}\n"
    )
    t0 = time.perf_counter()
    rows = compare(
        degrees,
        channels=a.channels,
        nodes=a.nodes,
        e3nn_max=a.e3nn_max,
        grid_max=a.grid_max,
        device=device,
        dtype=getattr(torch, a.dtype),
        generator=torch.Generator().manual_seed(0),
        budget_s=budget,
    )
    print(markdown_table(rows))
    print()
    for key in ("auto", "fft", "dense"):
        ls = [r["L"] for r in rows if r["L"] >= 2]
        ts = [r[f"{key}_ms"] for r in rows if r["L"] >= 2]
        if len(ls) >= 2:
            print(f"log-log slope of time vs L (L >= 2), {key}: {loglog_slope(ls, ts):.2f}")
    e3 = [(r["L"], r["e3nn_ms"]) for r in rows if r["e3nn_ms"] and r["L"] >= 2]
    if len(e3) >= 2:
        print(
            f"log-log slope of time vs L (L >= 2), e3nn: {loglog_slope(*zip(*e3, strict=True)):.2f}"
        )
    builds = ", ".join(
        f"L={r['L']}: {r['e3nn_build_s']:.2f} s" for r in rows if "e3nn_build_s" in r
    )
    print(f"e3nn construction time: {builds}")
    print(f"total {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
