"""Benchmark: holomorphic EP vs the reference gradient through the fixed point.

Prints two Markdown tables:

1. median wall time of one gradient on a digits-sized network (64-64-10, a mini-batch of
   digits) for holomorphic EP with N nudges, against the reference computed in the same run
   (implicit differentiation at the fixed point), and backprop through the unrolled dynamics;
   each includes the free-phase solve;
2. the relative error of hEP's gradient against the reference, in float64, for several N and r.

Usage: ``python benchmarks/ep.py [--quick] [--device cpu|cuda] [--threads 1]``.
Warm-up calls are excluded from the medians.
"""

from __future__ import annotations

import argparse

import torch

from companion import best_device
from companion.ep import (
    EPNetwork,
    FixedPointError,
    ep_gradient,
    implicit_gradient,
    load_digits_split,
    one_hot,
    relative_error,
    unrolled_gradient,
)
from companion.utils import median_time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats and settings")
    parser.add_argument("--device", default=None, help="torch device (default: best available)")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="CPU threads (default 1: these matrices are too small to split)",
    )
    parser.add_argument("--batch", type=int, default=64)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device) if args.device else best_device()
    repeats = 5 if args.quick else 20
    ns = [2, 4, 8] if args.quick else [2, 4, 6, 8, 12, 16]
    radii = [0.25, 1.0, 2.0] if args.quick else [0.1, 0.25, 0.5, 1.0, 1.5, 2.0]

    data = load_digits_split(dtype=torch.float64)
    x64 = data.x_train[: args.batch].to(device)
    y64 = one_hot(data.y_train[: args.batch], 10, torch.float64).to(device)
    net64 = EPNetwork(
        (64, 64, 10),
        10,
        generator=torch.Generator().manual_seed(0),
        init_scale=2.0,
        dtype=torch.float64,
    ).to(device)
    net32 = EPNetwork(
        (64, 64, 10), 10, generator=torch.Generator().manual_seed(0), init_scale=2.0
    ).to(device)
    x32, y32 = x64.float(), y64.float()

    print(
        f"device: {device}, threads: {torch.get_num_threads()}, batch: {args.batch}, "
        f"network 64-64-10 (float32), {repeats} repeats\n"
    )
    # two warm-up calls, then exactly `repeats` timed calls
    timing = dict(device=device, warmup=2, min_repeats=repeats, max_repeats=repeats)
    t_ref = median_time(lambda: implicit_gradient(net32, x32, y32), **timing)
    t_bptt = median_time(lambda: unrolled_gradient(net32, x32, y32, n_steps=60), **timing)
    print("| method | median time (ms) | ratio to implicit |")
    print("|---|---:|---:|")
    print(f"| implicit differentiation (reference) | {1e3 * t_ref:.2f} | 1.00 |")
    print(f"| backprop through 60 unrolled steps | {1e3 * t_bptt:.2f} | {t_bptt / t_ref:.2f} |")
    for n in ns:
        t = median_time(
            lambda n=n: ep_gradient(net32, x32, y32, method="hep", n=n, r=0.5), **timing
        )
        print(f"| hEP, N = {n} | {1e3 * t:.2f} | {t / t_ref:.2f} |")

    u = net64.solve(x64)
    ref = implicit_gradient(net64, x64, y64, u=u)
    print("\nRelative error of hEP's gradient (recurrent weights) vs the reference, float64:\n")
    print("| N | " + " | ".join(f"r = {r}" for r in radii) + " |")
    print("|---|" + "---:|" * len(radii))

    def error(method: str, **kw) -> str:
        try:
            g = ep_gradient(net64, x64, y64, method=method, u=u, **kw)
        except FixedPointError:  # the nudged fixed point left the region of holomorphy
            return "no fixed point"
        return f"{relative_error(g, ref, network_only=net64):.1e}"

    for n in ns:
        print(f"| {n} | " + " | ".join(error("hep", n=n, r=r) for r in radii) + " |")
    print(
        "| classic one-sided, β = r | "
        + " | ".join(error("one-sided", beta=r) for r in radii)
        + " |"
    )


if __name__ == "__main__":
    main()
