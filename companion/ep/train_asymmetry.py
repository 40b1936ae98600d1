"""Train the shipped networks of chapter 5's asymmetry experiment.

Run ``python -m companion.ep.train_asymmetry`` (about 10 minutes on 2 CPU cores; see
``weights/asymmetry.json`` for the measured times). For every seed it trains the three
runs of :data:`~companion.ep.asymmetry.RUN_KINDS` with the default
:class:`~companion.ep.asymmetry.AsymmetrySetting` on the ``final`` split of
:func:`~companion.ep.asymmetry.digits_splits`, and writes

* ``asymmetry.pt`` — all networks (``torch.load(..., weights_only=True)``);
* ``asymmetry.json`` — the command, the setting, per run the seconds, the test accuracy
  per epoch and the final evaluation (:func:`~companion.ep.asymmetry.evaluate_network`),
  and the file's SHA-256 (checked by a test).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

from .asymmetry import (
    RUN_KINDS,
    WEIGHTS_DIR,
    AsymmetrySetting,
    digits_splits,
    evaluate_network,
    file_sha256,
    save_networks,
    train_run,
)

__all__: list[str] = []  # a command-line script (python -m companion.ep.train_asymmetry)


def main(argv: list[str] | None = None) -> dict:
    """Command-line entry point; returns the record written to ``asymmetry.json``."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=WEIGHTS_DIR)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--kinds", nargs="+", default=list(RUN_KINDS), choices=RUN_KINDS)
    ap.add_argument("--epochs", type=int, default=None, help="override the setting's epochs")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    setting = AsymmetrySetting()
    if args.epochs is not None:
        setting = AsymmetrySetting(**{**setting.__dict__, "epochs": args.epochs})
    _, final = digits_splits(setting.n_val, generator=torch.Generator().manual_seed(0))
    nets, runs = {}, {}
    for seed in args.seeds:
        for kind in args.kinds:
            t0 = time.perf_counter()
            net, rec = train_run(
                kind,
                setting,
                final,
                generator=torch.Generator().manual_seed(seed),
                desc=f"{kind} seed {seed}",
            )
            seconds = time.perf_counter() - t0
            name = f"{kind}/{seed}"
            nets[name] = net
            runs[name] = {
                "seconds": round(seconds, 1),
                "test_accuracy_per_epoch": rec.test_accuracy,
                **evaluate_network(net, final, setting.estimator),
            }
            print(name, json.dumps(runs[name]), flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    pt = args.out / "asymmetry.pt"
    save_networks(nets, setting, pt)
    record = {
        "command": "python -m companion.ep.train_asymmetry "
        + " ".join(sys.argv[1:] if argv is None else argv),
        "setting": setting.to_dict(),
        "torch": torch.__version__,
        "threads": args.threads,
        "sha256": file_sha256(pt),
        "runs": runs,
    }
    (args.out / "asymmetry.json").write_text(json.dumps(record, indent=1) + "\n")
    return record


if __name__ == "__main__":
    main()
