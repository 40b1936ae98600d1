"""The shipped models of chapter 2's affine-robustness experiment: settings, loading, fingerprints.

Two training conditions ship, each a CNN, an R²⋊SL(2) and an R²⋊GL⁺(2) model for the seeds
``AFFINE_SEEDS``, trained on the upright digits of :func:`~companion.lie.data.affine_benchmark`
(``AFFINE_BENCHMARK``, split generator seeded with 0):

* ``weights/``: all 3,000 training digits, 2,256 steps (24 passes) —
  ``python -m companion.lie.train_weights`` (the shipped files were trained one process per
  seed, ``--seeds 0``, ``--seeds 1``, ``--seeds 2`` side by side, and merged; seeds are
  independent, so the result is the same);
* ``weights/low_data/``: the first 1,000 of them, 384 steps (12 passes) —
  ``python -m companion.lie.train_weights --train-digits 1000 --steps 384
  --out companion/lie/weights/low_data``.

Each folder holds ``affine_<model>.pt`` (state dicts by seed, loaded with
``torch.load(..., weights_only=True)``) and ``affine_<model>.json`` (the command, settings,
validation accuracies, training seconds and load, and :func:`logit_fingerprint` values).
The settings were chosen on the validation split, never on the test split.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..checks import check_choice, check_tensor
from .layers import AffineGCNN, GCNNConfig, PlainCNN

__all__ = [
    "AFFINE_WEIGHTS_DIR",
    "AFFINE_GROUP_CONFIG",
    "AFFINE_MODELS",
    "AFFINE_SEEDS",
    "AFFINE_BENCHMARK",
    "AFFINE_TRAINING",
    "affine_model",
    "logit_fingerprint",
    "load_affine_models",
    "load_affine_record",
    "evaluate_affine_models",
    "share_kept_summary",
]

AFFINE_WEIGHTS_DIR = Path(__file__).with_name("weights")

AFFINE_SAMPLING: dict[str, Any] = dict(rot="equidistant", rot_bound=0.25, spd_var=0.05)
"""Group samples of both group models: four equidistant angles within ±π/4 and a log-normal
shape factor with variance 0.05 per coordinate: wider than the test transformations, so that
the sample distribution :math:`q` and its shift :math:`u^{-1}q` by a test transformation
overlap (see the chapter). Chosen on the validation split among ±0.15π/0.02 (narrower),
±0.25π/0.05 and ±0.5π/0.1 (wider; did not train)."""

AFFINE_GROUP_CONFIG = GCNNConfig(
    channels=(8, 8, 32), n_samples=4, omega=4.0, group_scale=1 / 16, **AFFINE_SAMPLING
)
"""The group models' settings (both groups)."""

AFFINE_MODELS: dict[str, str | None] = {"CNN": None, "SL(2)": "SL(2)", "GL+(2)": "GL+(2)"}
"""Model name → its group (``None``: the plain CNN)."""

AFFINE_SEEDS = (0, 1, 2)
AFFINE_BENCHMARK: dict[str, Any] = dict(
    n_train=3000, n_val=500, n_test=1000, pad=6, pool=2, translation=0.15
)
"""Arguments of :func:`~companion.lie.data.affine_benchmark` (40×40 canvas pooled to 20×20)."""

AFFINE_TRAINING: dict[str, Any] = dict(steps=2256, batch_size=32, lr=3e-3, draws=4)
"""Adam with cosine decay over ``steps``: 24 passes over the 3,000 training digits (8 passes,
752 steps, left the group models under-trained: see the chapter); ``draws`` group-sample
draws averaged at evaluation."""


def _file_stem(name: str) -> str:
    """``"GL+(2)"`` → ``"affine_gl2"`` (the weight and record files' names)."""
    check_choice(name, "name", tuple(AFFINE_MODELS))
    return "affine_" + {"CNN": "cnn", "SL(2)": "sl2", "GL+(2)": "gl2"}[name]


def affine_model(
    name: str,
    config: GCNNConfig | None = None,
    *,
    generator: torch.Generator | None = None,
) -> nn.Module:
    """A freshly initialised model of ``AFFINE_MODELS``; the shipped seed ``s`` used
    ``generator=torch.Generator().manual_seed(s)`` (``None``: the global stream).

    ``config`` replaces ``AFFINE_GROUP_CONFIG`` for the group models (ignored for the CNN).
    """
    check_choice(name, "name", tuple(AFFINE_MODELS))
    group = AFFINE_MODELS[name]
    if group is None:
        return PlainCNN(channels=(8, 16, 32), generator=generator)
    return AffineGCNN(group, config or AFFINE_GROUP_CONFIG, generator=generator)


def _config_from_record(record: dict) -> GCNNConfig | None:
    cfg = record.get("config")
    return None if cfg is None else GCNNConfig(**cfg)


@torch.no_grad()
def logit_fingerprint(model: nn.Module, probe: torch.Tensor) -> list[float]:
    """Sum of the logits for each probe image ``(B, 1, H, W)``, one fixed group-sample draw
    (generator seeded 11): a numeric fingerprint of the weights, stored by the training
    command and checked by a test after reloading."""
    probe = check_tensor(probe, "probe", ndim=4, floating=True)
    model.eval()
    if isinstance(model, AffineGCNN):
        out = model(probe, generator=torch.Generator().manual_seed(11))
    else:
        out = model(probe)
    return [round(float(v), 5) for v in out.sum(-1)]


def load_affine_record(name: str, directory: str | Path | None = None) -> dict:
    """The training record (``affine_<model>.json``) of a model of ``AFFINE_MODELS``."""
    d = Path(directory) if directory is not None else AFFINE_WEIGHTS_DIR
    return json.loads((d / f"{_file_stem(name)}.json").read_text())


def load_affine_models(
    names: tuple[str, ...] | list[str] | None = None,
    *,
    directory: str | Path | None = None,
    device: torch.device | str | None = None,
) -> dict[tuple[str, int], nn.Module]:
    """The shipped models, ``{(name, seed): model}`` in eval mode on ``device``."""
    d = Path(directory) if directory is not None else AFFINE_WEIGHTS_DIR
    out: dict[tuple[str, int], nn.Module] = {}
    for name in names if names is not None else tuple(AFFINE_MODELS):
        path = d / f"{_file_stem(name)}.pt"
        if not path.is_file():
            raise FileNotFoundError(
                f"no weights {path}: run python -m companion.lie.train_weights --models '{name}'"
            )
        states = torch.load(path, map_location="cpu", weights_only=True)
        config = _config_from_record(load_affine_record(name, d))
        for seed, state in states.items():
            gen = torch.Generator().manual_seed(int(seed))
            model = affine_model(name, config, generator=gen)
            model.load_state_dict(state)
            out[name, int(seed)] = model.to(device).eval()
    return out


def evaluate_affine_models(
    models: dict[tuple[str, int], nn.Module],
    x_clean: torch.Tensor,
    x_affine: torch.Tensor,
    y: torch.Tensor,
    *,
    draws: int = AFFINE_TRAINING["draws"],
    seed: int = 7,
) -> dict[tuple[str, int], tuple[float, float]]:
    """``{(name, seed): (clean accuracy, affine accuracy)}`` of each model on the clean digits
    ``x_clean: (N, 1, H, W)`` and their transformed copies ``x_affine`` (labels ``y: (N,)``).

    Each model gets a fresh evaluation generator seeded ``seed`` (clean first, then affine),
    as in :mod:`~companion.lie.train_weights` and the chapter.
    """
    from .layers import classifier_accuracy

    out = {}
    for key, model in models.items():
        gen = torch.Generator().manual_seed(seed)
        clean = classifier_accuracy(model, x_clean, y, draws=draws, generator=gen)
        aff = classifier_accuracy(model, x_affine, y, draws=draws, generator=gen)
        out[key] = (clean, aff)
    return out


def share_kept_summary(
    results: dict[tuple[str, int], tuple[float, float]], baseline: str = "CNN"
) -> dict[str, dict[str, float]]:
    """Per model: the share of clean accuracy kept, :math:`a_\\text{affine}/a_\\text{clean}`,
    as mean and sample standard deviation over seeds, and (other models) its ``margin`` over
    ``baseline`` and ``spread`` = twice the larger of the two seed standard deviations; a
    margin counts as an effect when ``margin > spread``.

    ``results`` maps ``(name, seed)`` to ``(clean, affine)`` accuracies (at least two seeds per
    model, clean accuracy > 0). Returns ``{name: {"clean", "clean_sd", "affine", "affine_sd",
    "kept", "kept_sd", "n_seeds"[, "margin", "spread"]}}``.
    """
    if not isinstance(results, dict):
        raise TypeError(f"results must be a dict, got {type(results).__name__}")
    names = list(dict.fromkeys(name for name, _ in results))
    if baseline not in names:
        raise ValueError(f"baseline {baseline!r} is not among the results' models {names}")
    out: dict[str, dict[str, float]] = {}
    for name in names:
        acc = np.array([v for (n, _), v in results.items() if n == name], dtype=float)
        if len(acc) < 2:
            raise ValueError(f"results need at least two seeds per model; {name} has one")
        if not np.isfinite(acc).all() or (acc[:, 0] <= 0).any():
            raise ValueError(f"results of {name} need finite accuracies, clean > 0")
        share = acc[:, 1] / acc[:, 0]
        out[name] = {
            "clean": float(acc[:, 0].mean()),
            "clean_sd": float(acc[:, 0].std(ddof=1)),
            "affine": float(acc[:, 1].mean()),
            "affine_sd": float(acc[:, 1].std(ddof=1)),
            "kept": float(share.mean()),
            "kept_sd": float(share.std(ddof=1)),
            "n_seeds": len(acc),
        }
    for name in names:
        if name != baseline:
            out[name]["margin"] = out[name]["kept"] - out[baseline]["kept"]
            out[name]["spread"] = 2 * max(out[name]["kept_sd"], out[baseline]["kept_sd"])
    return out
