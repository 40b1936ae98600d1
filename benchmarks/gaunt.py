"""Benchmark: the Gaunt product (three routes) vs e3nn's Clebsch-Gordan tensor product.

The comparison of Luo, Chen & Krishnapriyan (ICLR 2024, ``efficiency-comparison/``):
128 channels, input degrees 0..L, output degrees 0..2L, e3nn's TensorProduct with one
weighted "uuu" path per allowed (l1, l2, l_out) as the reference. Unlike the paper's
notebook (mean of 10 calls, warm-up included) we warm up and report medians.

Sections (``--sections``):

* ``product``: one table per batch size (``--nodes``, default 1 and 256 nodes x 128
  channels), the ratios e3nn / route measured in the same run, and the fitted log-log
  slopes of time vs L over the degrees where every method ran;
* ``crossover``: the three routes on 4096 rows for L up to 16 (the measurement behind
  ``ROUTE_THRESHOLDS``, whose CPU entries were measured up to L = 24 with ``tune_routes``),
  and where the FFT route's CPU time goes at small L (``torch.profiler``);
* ``conv``: equivariant convolution (features x spherical harmonics of edge vectors);
* ``manybody``: nu-fold products by divide and conquer vs e3nn's sequential products.

    python benchmarks/gaunt.py --threads 1                 # everything (about 15 min on 1 core)
    python benchmarks/gaunt.py --quick                     # small sizes (seconds)
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import torch

from companion.gaunt import bench
from companion.gaunt.product import ROUTE_THRESHOLDS, tune_routes


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--quick", action="store_true", help="small degrees only")
    p.add_argument("--sections", nargs="*", default=["product", "crossover", "conv", "manybody"])
    p.add_argument("--degrees", type=int, nargs="*", default=None)
    p.add_argument("--channels", type=int, default=128)
    p.add_argument("--nodes", type=int, nargs="*", default=[1, 256], help="batch sizes")
    p.add_argument("--e3nn-max", type=int, default=12, help="largest L for which e3nn is run")
    p.add_argument("--grid-max", type=int, default=6, help="largest L for the sphere-grid variant")
    p.add_argument("--device", default=None, help="default: cuda if available, else cpu")
    p.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument(
        "--budget", type=float, default=0.5, help="seconds of timed calls per method and L"
    )
    p.add_argument(
        "--clock",
        default="wall",
        choices=["wall", "thread"],
        help="thread: CPU time of the calling thread (1 thread; robust on a loaded machine)",
    )
    a = p.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    device = torch.device(a.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    dtype = getattr(torch, a.dtype)
    degrees = a.degrees or ([1, 2, 3, 4] if a.quick else [1, 2, 3, 4, 5, 6, 8, 10, 12])
    budget = min(a.budget, 0.2) if a.quick else a.budget
    name = (
        torch.cuda.get_device_name(device)
        if device.type == "cuda"
        else f"CPU, {torch.get_num_threads()} threads"
    )
    print(
        f"# Gaunt products vs e3nn — {name}; torch {torch.__version__}; {a.dtype}; "
        f"median of timed calls after warm-up ({a.clock} clock); os.cpu_count()={os.cpu_count()}; "
        f"load average at start {os.getloadavg()[0]:.1f}\n"
    )
    t0 = time.perf_counter()
    if "product" in a.sections:
        for nodes in a.nodes:
            print(f"## {a.channels} channels x {nodes} node(s); input degrees 0..L, output 0..2L\n")
            rows = bench.compare(
                degrees,
                channels=a.channels,
                nodes=nodes,
                e3nn_max=a.e3nn_max,
                grid_max=a.grid_max,
                device=device,
                dtype=dtype,
                generator=torch.Generator().manual_seed(0),
                budget_s=budget,
                clock=a.clock,
            )
            print(bench.markdown_table(rows))
            print()
            both = [r for r in rows if r["e3nn_ms"] and r["L"] >= 2]
            if len(both) >= 2:
                ls = [r["L"] for r in both]
                print(
                    f"log-log slopes of time vs L over L = {ls[0]}..{ls[-1]}: "
                    + ", ".join(
                        f"{k} {bench.loglog_slope(ls, [r[f'{k}_ms'] for r in both]):.2f}"
                        for k in ("e3nn", "dense", "separable", "fft", "auto")
                    )
                )
            builds = ", ".join(
                f"L={r['L']}: {r['e3nn_build_s']:.2f} s" for r in rows if "e3nn_build_s" in r
            )
            print(f"e3nn construction time: {builds}\n")
    if "crossover" in a.sections:
        cross = [1, 2, 3, 4] if a.quick else [1, 2, 3, 4, 5, 6, 8, 10, 12, 16]
        table = tune_routes(device, dtype, tuple(cross), rows=4096, budget_s=budget, store=False)
        print("## Route crossover: 4096 rows, L1 = L2 = L, L_out = 2L (ms)\n")
        print(bench.crossover_table(table))
        print(f"\nstored thresholds (L1 + L2) for auto: {ROUTE_THRESHOLDS}\n")
        print("## Where the FFT route's CPU time goes (4096 rows, torch.profiler, ms per call)\n")
        print(bench.fft_breakdown_table([1, 2, 4, 8] if not a.quick else [1, 2], dtype))
        print()
    if "conv" in a.sections:
        print("## Equivariant convolution: features x SH of edge vectors, summed over edges\n")
        conv_deg = [1, 2, 3] if a.quick else [1, 2, 3, 4, 6]
        rows = bench.conv_compare(
            conv_deg,
            channels=a.channels,
            device=device,
            dtype=dtype,
            budget_s=budget,
            clock=a.clock,
        )
        print(bench.simple_table(rows, ("L", "edges", "e3nn_ms", "gaunt_ms", "speedup", "err")))
        print()
    if "manybody" in a.sections:
        print("## Many-body products A^nu (channel-wise), degrees 0..L -> 0..L\n")
        mb = (
            [(1, 2), (1, 3), (2, 2), (2, 3), (2, 4)]
            if a.quick
            else [(1, 2), (1, 3), (1, 4), (2, 2), (2, 3), (2, 4), (3, 2), (3, 3), (3, 4)]
        )
        rows = bench.many_body_compare(
            mb, channels=a.channels, device=device, dtype=dtype, budget_s=budget, clock=a.clock
        )
        print(
            bench.simple_table(
                rows, ("L", "nu", "nodes", "e3nn_ms", "gaunt_ms", "speedup", "products", "err")
            )
        )
        print()
    print(f"total {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
