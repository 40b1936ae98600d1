"""Cost of frame averaging: the batched FrameAveraging wrapper vs plain backbone calls.

For each batch size B it times (medians of interleaved rounds, warm-up excluded, forward passes without grad):

* ``backbone``  — one call of the backbone on B systems;
* ``FA``        — ``FrameAveraging(backbone)`` on B systems (frame + one call on B·|F|);
* ``loop``      — the same average computed with |F| separate backbone calls of size B;
* ``FA chunked`` — ``FrameAveraging(..., max_batch=1024)``: the call split into chunks of
  at most 1,024 systems (on a CPU very large calls lose to cache and allocation costs).

and prints the ratios FA / backbone, FA / (|F| × backbone) (goal ≤ 1.2: batching should make
the frame cost no more than |F| backbone calls) and FA / loop.

    python benchmarks/frames.py            # CPU here, CUDA when available
    python benchmarks/frames.py --quick    # a short run
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from companion import best_device
from companion.frames import (
    FrameAveraging,
    GNNBackbone,
    MLPBackbone,
    fa_model,
    from_frame,
    to_frame,
)
from companion.utils import synchronize


def median_times(fns, device: torch.device, reps: int, warmup: int = 3) -> list[float]:
    """Median wall time (s) of each ``fn()`` over ``reps`` rounds, after ``warmup`` rounds.

    The callables are timed interleaved (one call of each per round), so that a change of
    machine load during the run affects all of them alike.
    """
    for _ in range(warmup):
        for fn in fns:
            fn()
    synchronize(device)
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(reps):
        for fn, bucket in zip(fns, times, strict=True):
            t0 = time.perf_counter()
            fn()
            synchronize(device)
            bucket.append(time.perf_counter() - t0)
    return [statistics.median(bucket) for bucket in times]


def looped_average(fa: FrameAveraging, x, v, q):
    """The frame average with one backbone call per frame element (the reference)."""
    frame = fa.frame(x)
    xc, vc, qc = frame.canonicalize(x), to_frame(v, "vector", frame), to_frame(q, "scalar", frame)
    outs = torch.stack(
        [fa.backbone(xc[:, j], vc[:, j], qc[:, j]) for j in range(frame.size)], dim=1
    )
    return from_frame(outs, "positions", frame)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer batch sizes and repetitions")
    parser.add_argument(
        "--device", default=None, help="torch device (default: companion.best_device())"
    )
    args = parser.parse_args()
    device = torch.device(args.device) if args.device else best_device()
    batches = (16, 128) if args.quick else (16, 64, 256, 1024)
    reps = 5 if args.quick else 15
    torch.manual_seed(0)
    backbones = {"MLP(128x3)": MLPBackbone(5, 128, 3), "GNN(64x4)": GNNBackbone(64, 4)}
    print(f"device: {device}, torch {torch.__version__}, threads {torch.get_num_threads()}\n")
    print(
        "| backbone | group | B | backbone (ms) | FA (ms) | loop (ms) | FA chunked (ms) | FA / backbone "
        "| FA / (|F| x backbone) | FA / loop | chunked / (|F| x backbone) |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, net in backbones.items():
        net = net.to(device).eval()
        for group in ("E(3)", "SE(3)"):
            fa = fa_model(net, group=group, degenerate="ignore")
            fa_chunked = fa_model(net, group=group, degenerate="ignore", max_batch=1024)
            k = 8 if group == "E(3)" else 4
            for b in batches:
                g = torch.Generator().manual_seed(b)
                x = torch.randn(b, 5, 3, generator=g).to(device)
                v = torch.randn(b, 5, 3, generator=g).to(device)
                q = torch.randn(b, 5, 1, generator=g).sign().to(device)
                with torch.no_grad():
                    assert torch.allclose(fa(x, v, q), looped_average(fa, x, v, q), atol=1e-4)
                    t_net, t_fa, t_loop, t_chunk = median_times(
                        [
                            lambda: net(x, v, q),
                            lambda: fa(x, v, q),
                            lambda: looped_average(fa, x, v, q),
                            lambda: fa_chunked(x, v, q),
                        ],
                        device,
                        reps,
                    )
                print(
                    f"| {name} | {group} | {b} | {1e3 * t_net:.2f} | {1e3 * t_fa:.2f} | {1e3 * t_loop:.2f} "
                    f"| {1e3 * t_chunk:.2f} | {t_fa / t_net:.2f} | {t_fa / (k * t_net):.2f} | {t_fa / t_loop:.2f} "
                    f"| {t_chunk / (k * t_net):.2f} |"
                )


if __name__ == "__main__":
    main()
