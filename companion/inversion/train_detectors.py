"""Train the shipped invertibility detectors (the method and its two ablations).

Run ``python -m companion.inversion.train_detectors`` after the generator's weights exist.
It renders ``--faces`` faces with out-of-domain additions (80% of them get one or two),
inverts them with the shipped generator and encoder (``--inv-steps`` Adam steps), and
trains three :class:`~companion.inversion.detector.InvertibilityDetector` networks with
:func:`~companion.inversion.detector.train_detector`:

* ``method`` — the paper's self-supervised objective with the iterated alignment;
* ``no_align`` — the same, with the flow held at zero (ablation);
* ``supervised`` — *uses the ground-truth masks* (binary cross-entropy): an upper bound
  for this network, never the method.

It writes ``detector_<name>.pt`` and ``detectors.json`` (command and seconds).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from .detector import DETECTORS, InvertibilityDetector, train_detector
from .faces import _render_faces
from .generator import WEIGHTS_DIR, load_encoder, load_generator
from .invert import invert

__all__ = ["main"]


def main(argv: list[str] | None = None) -> dict:
    """Command-line entry point; returns the record written to ``detectors.json``."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=WEIGHTS_DIR)
    ap.add_argument("--faces", type=int, default=320)
    ap.add_argument("--inv-steps", type=int, default=40)
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    g, e = load_generator(), load_encoder()
    t0 = time.perf_counter()
    rng = np.random.default_rng(100 + args.seed)
    data = _render_faces(args.faces, rng, ood="random", ood_prob=0.8)
    inv = invert(g, data.images, steps=args.inv_steps, encoder=e)
    seconds = {"data": round(time.perf_counter() - t0, 1)}
    args.out.mkdir(parents=True, exist_ok=True)
    for name, align in DETECTORS.items():
        torch.manual_seed(args.seed)
        net = InvertibilityDetector(align=align)
        t0 = time.perf_counter()
        train_detector(
            net,
            data.images,
            inv.images,
            steps=args.steps,
            batch_size=32,
            generator=torch.Generator().manual_seed(args.seed),
            masks=data.masks if name == "supervised" else None,
        )
        seconds[name] = round(time.perf_counter() - t0, 1)
        torch.save(net.state_dict(), args.out / f"detector_{name}.pt")
    record = {
        "command": "python -m companion.inversion.train_detectors "
        f"--faces {args.faces} --inv-steps {args.inv_steps} --steps {args.steps} "
        f"--seed {args.seed} --threads {args.threads}",
        "seconds": seconds,
        "torch": torch.__version__,
    }
    (args.out / "detectors.json").write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps(record, indent=2))
    return record


if __name__ == "__main__":
    main()
