"""Train the shipped invertibility detectors (the method and its two ablations).

Run ``python -m companion.inversion.train_detectors`` after the generator's weights exist.
It renders ``--faces`` faces with out-of-domain additions of the *training kinds* only
(:data:`~companion.inversion.faces.TRAIN_KINDS`; 80% of the faces get one or two; the
held-out kinds are never shown to a detector), inverts them with the shipped generator
and encoder (``--inv-steps`` Adam steps), and trains
:class:`~companion.inversion.detector.InvertibilityDetector` networks with
:func:`~companion.inversion.detector.train_detector`:

* ``method`` — the paper's self-supervised objective with the iterated alignment;
* ``no_align`` — the same, with the flow held at zero (ablation);
* ``supervised`` — *uses the ground-truth masks* (binary cross-entropy): an upper bound
  for this network, never the method.

``--only NAME`` trains one of them (to run the three as parallel processes). Each writes
``detector_<name>.pt`` and its entry in ``detectors.json`` (command, seconds, the machine's
load average while it ran, the final loss terms and the
:func:`~companion.inversion.detector.detector_fingerprint`).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import torch

from .detector import DETECTORS, InvertibilityDetector, detector_fingerprint, train_detector
from .faces import TRAIN_KINDS, _render_faces
from .generator import WEIGHTS_DIR, load_encoder, load_generator
from .invert import invert

__all__ = ["main"]


def main(argv: list[str] | None = None) -> dict:
    """Command-line entry point; returns the record written to ``detectors.json``."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=WEIGHTS_DIR)
    ap.add_argument("--faces", type=int, default=1200)
    ap.add_argument("--inv-steps", type=int, default=40)
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--only", choices=tuple(DETECTORS), default=None)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    g, e = load_generator(), load_encoder()
    t0 = time.perf_counter()
    rng = np.random.default_rng(100 + args.seed)
    data = _render_faces(args.faces, rng, ood=TRAIN_KINDS, ood_prob=0.8)
    inv = invert(g, data.images, steps=args.inv_steps, encoder=e)
    data_seconds = round(time.perf_counter() - t0, 1)
    args.out.mkdir(parents=True, exist_ok=True)
    file = args.out / "detectors.json"
    record = json.loads(file.read_text()) if file.is_file() else {}
    names = [args.only] if args.only else list(DETECTORS)
    for name in names:
        net = InvertibilityDetector(
            align=DETECTORS[name], generator=torch.Generator().manual_seed(args.seed)
        )
        load = os.getloadavg()[0]
        t0 = time.perf_counter()
        res = train_detector(
            net,
            data.images,
            inv.images,
            steps=args.steps,
            batch_size=32,
            generator=torch.Generator().manual_seed(args.seed),
            masks=data.masks if name == "supervised" else None,
            desc=name,
        )
        seconds = round(time.perf_counter() - t0, 1)
        torch.save(net.state_dict(), args.out / f"detector_{name}.pt")
        record[name] = {
            "command": "python -m companion.inversion.train_detectors "
            f"--faces {args.faces} --inv-steps {args.inv_steps} --steps {args.steps} "
            f"--seed {args.seed} --threads {args.threads} --only {name}",
            "kinds": list(TRAIN_KINDS),
            "seconds": {"data": data_seconds, "train": seconds},
            "load_average": [round(load, 1), round(os.getloadavg()[0], 1)],
            "final": {k: round(v, 5) for k, v in res.metrics.items()},
            "fingerprint": detector_fingerprint(net),
            "torch": torch.__version__,
        }
        if file.is_file():  # another process may have added its detector meanwhile
            record = json.loads(file.read_text()) | {name: record[name]}
        file.write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps(record, indent=2))
    return record


if __name__ == "__main__":
    main()
