"""Train the shipped models of chapter 2's affine-robustness experiment.

Run ``python -m companion.lie.train_weights`` (all models and seeds, one after another) or
``python -m companion.lie.train_weights --models GL+(2)`` for one model (several such
commands can run side by side). For every model of :data:`~companion.lie.weights.AFFINE_MODELS`
and every seed it trains on the upright digits of :func:`~companion.lie.data.affine_benchmark`
with :func:`~companion.lie.layers.train_classifier`, measures the *validation* accuracy on
clean and affine-transformed digits (the settings were chosen on that split; the test
split is the notebook's), and writes ``affine_<model>.pt`` (the state dicts, one per seed)
and ``affine_<model>.json`` (settings, validation accuracies, seconds, fingerprints).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import asdict, replace
from pathlib import Path

import torch

from .data import affine_benchmark
from .layers import classifier_accuracy, train_classifier
from .weights import (
    AFFINE_BENCHMARK,
    AFFINE_GROUP_CONFIG,
    AFFINE_MODELS,
    AFFINE_SEEDS,
    AFFINE_TRAINING,
    AFFINE_WEIGHTS_DIR,
    _file_stem,
    affine_model,
    logit_fingerprint,
)

__all__ = ["main"]


def main(argv: list[str] | None = None) -> dict:
    """Command-line entry point; returns the record of the last model written."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=AFFINE_WEIGHTS_DIR)
    ap.add_argument("--models", nargs="+", default=list(AFFINE_MODELS), choices=list(AFFINE_MODELS))
    ap.add_argument("--seeds", nargs="+", type=int, default=list(AFFINE_SEEDS))
    ap.add_argument("--steps", type=int, default=AFFINE_TRAINING["steps"])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument(
        "--train-digits",
        type=int,
        default=None,
        help="train on the first N training digits only (the split itself is unchanged)",
    )
    ap.add_argument(
        "--set",
        nargs="*",
        default=[],
        metavar="FIELD=VALUE",
        help="override a field of the group models' GCNNConfig (a search; recorded)",
    )
    args = ap.parse_args(argv)
    overrides = {}
    for item in args.set:
        key, _, value = item.partition("=")
        overrides[key] = json.loads(value) if value[:1] not in "'\"" else value.strip("'\"")
    config = replace(AFFINE_GROUP_CONFIG, **overrides)
    torch.set_num_threads(args.threads)
    data = affine_benchmark(**AFFINE_BENCHMARK, generator=torch.Generator().manual_seed(0))
    n_digits = len(data.x_train) if args.train_digits is None else args.train_digits
    if not 1 <= n_digits <= len(data.x_train):
        ap.error(f"--train-digits must be in 1..{len(data.x_train)}")
    x_train, y_train = data.x_train[:n_digits], data.y_train[:n_digits]
    args.out.mkdir(parents=True, exist_ok=True)
    record: dict = {}
    for name in args.models:
        states, runs = {}, {}
        for seed in args.seeds:
            model = affine_model(name, config, generator=torch.Generator().manual_seed(seed))
            gen = torch.Generator().manual_seed(100 + seed)
            t0 = time.perf_counter()
            res = train_classifier(
                model,
                x_train,
                y_train,
                steps=args.steps,
                batch_size=AFFINE_TRAINING["batch_size"],
                lr=AFFINE_TRAINING["lr"],
                generator=gen,
                desc=f"{name} seed {seed}",
            )
            seconds = time.perf_counter() - t0
            ev = torch.Generator().manual_seed(7)
            draws = AFFINE_TRAINING["draws"]
            clean = classifier_accuracy(model, data.x_val, data.y_val, draws=draws, generator=ev)
            aff = classifier_accuracy(
                model, data.x_val_affine, data.y_val, draws=draws, generator=ev
            )
            states[str(seed)] = model.state_dict()
            runs[str(seed)] = {
                "val_clean": round(clean, 4),
                "val_affine": round(aff, 4),
                "final_loss": round(res.metrics["loss"], 4),
                "train_seconds": round(seconds, 1),
                "fingerprint": logit_fingerprint(model, data.x_test[:4]),
            }
            print(name, seed, json.dumps(runs[str(seed)]), flush=True)
        stem = _file_stem(name)
        torch.save(states, args.out / f"{stem}.pt")
        record = {
            "model": name,
            "command": "python -m companion.lie.train_weights "
            f"--models '{name}' --seeds {' '.join(map(str, args.seeds))} "
            f"--steps {args.steps} --threads {args.threads}"
            + (f" --train-digits {n_digits}" if args.train_digits is not None else "")
            + (f" --out {args.out}" if args.out != AFFINE_WEIGHTS_DIR else "")
            + (" --set " + " ".join(args.set) if args.set else ""),
            "config": None if AFFINE_MODELS[name] is None else asdict(config),
            "steps": args.steps,
            "train_digits": n_digits,
            "training": AFFINE_TRAINING,
            "benchmark": AFFINE_BENCHMARK,
            "runs": runs,
            "torch": torch.__version__,
            "load_average_at_end": [round(v, 2) for v in os.getloadavg()],
            "cpu_count": os.cpu_count(),
        }
        (args.out / f"{stem}.json").write_text(json.dumps(record, indent=2) + "\n")
    return record


if __name__ == "__main__":
    main()
