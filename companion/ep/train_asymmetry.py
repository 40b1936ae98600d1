"""Train the shipped networks of chapter 5's asymmetry experiment.

Run ``python -m companion.ep.train_asymmetry --jobs 3`` (one process per seed; see
``weights/asymmetry.json`` for the measured times). For every seed it trains the three
runs of ``companion.ep.asymmetry.RUN_KINDS`` with the default
:class:`~companion.ep.asymmetry.AsymmetrySetting` on the ``final`` split of
:func:`~companion.ep.asymmetry.digits_splits`, and writes

* ``asymmetry.pt`` — all networks (``torch.load(..., weights_only=True)``);
* ``asymmetry.json`` — the command, the setting, per run the seconds, the test accuracy
  per epoch and the final evaluation (:func:`~companion.ep.asymmetry.evaluate_network`),
  and the file's SHA-256 (checked by a test).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import torch

from .asymmetry import (
    RUN_KINDS,
    WEIGHTS_DIR,
    AsymmetrySetting,
    build_network,
    digits_splits,
    evaluate_network,
    file_sha256,
    save_networks,
    train_run,
)

__all__: list[str] = []  # a command-line script (python -m companion.ep.train_asymmetry)


def _train_seed(seed: int, kinds: list[str], setting: AsymmetrySetting, threads: int) -> dict:
    """All runs of one seed: ``{name: (state_dict, record)}`` (a worker of ``--jobs``)."""
    torch.set_num_threads(threads)
    _, final = digits_splits(setting.n_val, generator=torch.Generator().manual_seed(0))
    out = {}
    for kind in kinds:
        t0 = time.perf_counter()
        net, rec = train_run(
            kind,
            setting,
            final,
            generator=torch.Generator().manual_seed(seed),
            desc=f"{kind} seed {seed}",
        )
        name = f"{kind}/{seed}"
        out[name] = (
            net.state_dict(),
            {
                "seconds": round(time.perf_counter() - t0, 1),
                "test_accuracy_per_epoch": rec.test_accuracy,
                **evaluate_network(net, final, setting.estimator),
            },
        )
        print(name, json.dumps(out[name][1]), flush=True)
    return out


def main(argv: list[str] | None = None) -> dict:
    """Command-line entry point; returns the record written to ``asymmetry.json``."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=WEIGHTS_DIR)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--kinds", nargs="+", default=list(RUN_KINDS), choices=RUN_KINDS)
    ap.add_argument("--epochs", type=int, default=None, help="override the setting's epochs")
    ap.add_argument(
        "--dtype", choices=("float32", "float64"), default=None, help="override the precision"
    )
    ap.add_argument("--threads", type=int, default=1, help="torch threads per job")
    ap.add_argument("--jobs", type=int, default=1, help="seeds trained in parallel processes")
    args = ap.parse_args(argv)
    setting = AsymmetrySetting()
    if args.epochs is not None:
        setting = dataclasses.replace(setting, epochs=args.epochs)
    if args.dtype is not None:
        setting = dataclasses.replace(setting, dtype=args.dtype)
    t0 = time.perf_counter()
    if args.jobs > 1:
        with ProcessPoolExecutor(args.jobs) as pool:
            parts = list(
                pool.map(
                    _train_seed,
                    args.seeds,
                    [args.kinds] * len(args.seeds),
                    [setting] * len(args.seeds),
                    [args.threads] * len(args.seeds),
                )
            )
    else:
        parts = [_train_seed(s, args.kinds, setting, args.threads) for s in args.seeds]
    wall = time.perf_counter() - t0
    nets, runs = {}, {}
    for part in parts:
        for name, (state, record) in part.items():
            net = build_network(name.split("/")[0], setting)
            net.load_state_dict(state)
            nets[name], runs[name] = net, record
    args.out.mkdir(parents=True, exist_ok=True)
    pt = args.out / "asymmetry.pt"
    save_networks(nets, setting, pt)
    cli = sys.argv[1:] if argv is None else argv
    record = {
        "command": " ".join(["python -m companion.ep.train_asymmetry", *cli]),
        "wall_seconds": round(wall, 1),
        "setting": setting.to_dict(),
        "torch": torch.__version__,
        "threads": args.threads,
        "jobs": args.jobs,
        "sha256": file_sha256(pt),
        "runs": runs,
    }
    (args.out / "asymmetry.json").write_text(json.dumps(record, indent=1) + "\n")
    return record


if __name__ == "__main__":
    main()
