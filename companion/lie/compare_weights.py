"""Compare trained models of chapter 2's affine-robustness experiment: share of clean accuracy kept.

``python -m companion.lie.compare_weights --dirs DIR [DIR ...]`` loads every
``affine_<model>.pt`` in the folders (seeds of one model may be spread over several folders,
e.g. one training process per seed), evaluates each model and seed on the **validation**
split of :func:`~companion.lie.data.affine_benchmark` (clean and transformed), and prints per
model and seed the clean accuracy, the affine accuracy and their ratio (the share kept), then
mean ± sd over seeds and each model's margin over the CNN against twice the seed spread.
``--split test`` evaluates on the test split instead: judge settings on validation first.
``--json FILE`` writes the numbers.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from .data import affine_benchmark
from .weights import (
    AFFINE_BENCHMARK,
    AFFINE_MODELS,
    AFFINE_TRAINING,
    _file_stem,
    evaluate_affine_models,
    load_affine_models,
    share_kept_summary,
)

__all__ = ["main"]


def main(argv: list[str] | None = None) -> dict:
    """Command-line entry point; returns ``{"split", "dirs", "runs", "summary"}``."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dirs", nargs="+", type=Path, required=True)
    ap.add_argument("--split", choices=["val", "test"], default="val")
    ap.add_argument("--draws", type=int, default=AFFINE_TRAINING["draws"])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    models: dict = {}
    for d in args.dirs:
        names = [n for n in AFFINE_MODELS if (d / f"{_file_stem(n)}.pt").is_file()]
        if not names:
            ap.error(f"no affine_<model>.pt in {d}")
        for key, model in load_affine_models(names, directory=d).items():
            if key in models:
                ap.error(f"{key[0]} seed {key[1]} found in two folders")
            models[key] = model
    data = affine_benchmark(**AFFINE_BENCHMARK, generator=torch.Generator().manual_seed(0))
    if args.split == "val":
        x_clean, x_aff, y = data.x_val, data.x_val_affine, data.y_val
    else:
        x_clean, x_aff, y = data.x_test, data.x_test_affine, data.y_test
    models = dict(
        sorted(models.items(), key=lambda kv: (list(AFFINE_MODELS).index(kv[0][0]), kv[0][1]))
    )
    results = evaluate_affine_models(models, x_clean, x_aff, y, draws=args.draws)
    print(f"split: {args.split} ({len(y)} digits, each transformed once)")
    print(f"{'model':<8}{'seed':>5}{'clean':>8}{'affine':>8}{'kept':>7}")
    for (name, seed), (c, a) in results.items():
        print(f"{name:<8}{seed:>5}{c:>8.3f}{a:>8.3f}{a / c:>7.3f}")
    summary = share_kept_summary(results)
    print(f"\n{'model':<8}{'clean':>15}{'affine':>15}{'kept':>15}{'margin':>9}{'2x sd':>7}")
    for name, s in summary.items():
        row = (
            f"{name:<8}{s['clean']:>8.3f} ± {s['clean_sd']:.3f}{s['affine']:>8.3f} ± "
            f"{s['affine_sd']:.3f}{s['kept']:>8.3f} ± {s['kept_sd']:.3f}"
        )
        if "margin" in s:
            verdict = "effect" if s["margin"] > s["spread"] else "within spread"
            row += f"{s['margin']:>+9.3f}{s['spread']:>7.3f}  {verdict}"
        print(row)
    out = {
        "split": args.split,
        "dirs": [str(d) for d in args.dirs],
        "draws": args.draws,
        "runs": {f"{n} {s}": list(v) for (n, s), v in results.items()},
        "summary": summary,
    }
    if args.json is not None:
        args.json.write_text(json.dumps(out, indent=2) + "\n")
    return out


if __name__ == "__main__":
    main()
