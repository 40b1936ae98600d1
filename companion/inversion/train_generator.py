"""Train the shipped generator and encoder from scratch on in-domain faces only.

Run ``python -m companion.inversion.train_generator`` (``--help`` for options); it
writes ``generator.pt``, ``encoder.pt`` and ``fingerprint.json`` into the output folder
(by default the package's ``weights/``). Everything is seeded.

The generator (:class:`~companion.inversion.generator.Generator`) and the inversion
encoder are trained together, as in VAE-GAN: a spectrally normalised discriminator with
the non-saturating loss makes prior samples :math:`G(z)` look like faces, and a
reconstruction loss :math:`\\|G(E(x)) - x\\|^2` makes the generator's range cover the
in-domain faces (see :func:`train_generator`). The shipped weights are exponential moving
averages.

No out-of-domain addition is ever rendered here.
"""

from __future__ import annotations

import argparse
import copy
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..checks import check_int, check_number
from ..utils import TrainResult, check_generator, progress
from ._validate import check_images
from .faces import _render_faces
from .generator import WEIGHTS_DIR, Discriminator, Encoder, Generator, fingerprint

__all__ = ["GeneratorTrainResult", "train_generator", "main"]


def _faces(n: int, seed: int) -> torch.Tensor:
    return _render_faces(n, np.random.default_rng(seed)).clean


@dataclass
class GeneratorTrainResult(TrainResult):
    """:func:`train_generator`'s record.

    Attributes:
        losses: ``(steps,)`` the generator-and-encoder loss per step (on the CPU).
        metrics: final values: ``loss``, ``loss_d``, ``rec``, ``moments``.
        gan_generator: the EMA copy of the trained generator (eval mode, no gradients; not
            named ``generator``, which in ``companion`` always means a random stream).
        encoder: the EMA copy of the trained encoder (eval mode, no gradients).
        parts: the history of ``loss_d``, ``rec`` and ``moments`` by name (``(steps,)`` each).
    """

    gan_generator: Generator | None = None
    encoder: Encoder | None = None
    parts: dict[str, torch.Tensor] = field(default_factory=dict)


def train_generator(
    faces: torch.Tensor,
    *,
    steps: int,
    batch_size: int = 32,
    generator: torch.Generator | None = None,
    desc: str | None = "generator",
    ema: float = 0.995,
    w_adv: float = 0.05,
    log_every: int = 0,
) -> GeneratorTrainResult:
    """Train generator and encoder jointly on ``faces: (n, 3, 32, 32)``; return EMA copies.

    Per step, with real faces :math:`x` and prior samples :math:`z \\sim \\mathcal{N}(0, I)`:

    * discriminator: :math:`\\operatorname{softplus}(-D(x)) + \\operatorname{softplus}(D(G(z)))`;
    * generator and encoder:
      :math:`10\\|G(E(x)) - x\\|^2 + w_{\\text{adv}}\\operatorname{softplus}(-D(G(z)))
      + 0.1(\\|\\bar{E}\\|^2 + \\|\\operatorname{var}(E) - 1\\|^2)`, the last two
      matching the batch moments of the codes :math:`E(x)` to the prior's.

    The adversarial term makes prior samples look like faces; the reconstruction term
    makes the generator's range cover the in-domain faces (a GAN alone, trained for a few
    CPU minutes, does not), and trains the encoder used to start every inversion.

    The shared training signature of ``companion`` (``steps``, ``batch_size``,
    ``generator``, ``desc``), with the GAN's own settings beside it: ``ema`` (the decay of
    the weights' moving average), ``w_adv`` (the adversarial weight) and ``log_every``
    (print the losses every so many steps; 0: never). ``generator`` draws the batches and
    the prior samples (``None``: the global stream); the networks initialise from the
    global stream (seed it, as the command does). The networks are built on the faces'
    device and dtype. Returns a :class:`GeneratorTrainResult` holding the EMA copies.
    """
    faces = check_images(faces, "faces")
    steps = check_int(steps, "steps", minimum=1)
    batch_size = check_int(batch_size, "batch_size", minimum=2)
    ema = check_number(ema, "ema", minimum=0.0)
    if ema >= 1.0:
        raise ValueError(f"ema must lie in [0, 1), got {ema}")
    w_adv = check_number(w_adv, "w_adv", minimum=0.0)
    log_every = check_int(log_every, "log_every", minimum=0)
    gen = check_generator(generator)
    g, d, e = Generator(), Discriminator(), Encoder()  # initialised from the global stream
    for m in (g, d, e):
        m.to(faces.device, faces.dtype)  # in place, as Module.to is
    g_ema = copy.deepcopy(g).requires_grad_(False)
    e_ema = copy.deepcopy(e).requires_grad_(False)
    opt_g = torch.optim.Adam(
        list(g.parameters()) + list(e.parameters()), lr=1e-3, betas=(0.5, 0.99)
    )
    opt_d = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.99))
    n = faces.shape[0]
    log = []  # detached 0-d tensors, read once at the end: no GPU sync per step
    for step in progress(range(steps), desc=desc):
        idx = torch.randint(0, n, (batch_size,), generator=gen).to(faces.device)
        real = faces[idx]
        flip = torch.rand(batch_size, generator=gen) < 0.5  # faces are mirror-symmetric in law
        flip = flip.to(faces.device)
        real = torch.where(flip[:, None, None, None], real.flip(-1), real)
        z = torch.randn(batch_size, g.latent_dim, generator=gen).to(faces.device, faces.dtype)
        fake = g(z)
        loss_d = F.softplus(-d(real)).mean() + F.softplus(d(fake.detach())).mean()
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        codes = e(real)
        rec = F.mse_loss(g(codes), real)
        moments = codes.mean(0).pow(2).mean() + (codes.var(0) - 1).pow(2).mean()
        loss_g = rec * 10 + w_adv * F.softplus(-d(fake)).mean() + 0.1 * moments
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        with torch.no_grad():
            for src, dst in ((g, g_ema), (e, e_ema)):
                for pe, p in zip(dst.parameters(), src.parameters(), strict=True):
                    pe.lerp_(p, 1 - ema)
                for be, b in zip(dst.buffers(), src.buffers(), strict=True):
                    be.copy_(b)
        parts = {"loss": loss_g, "loss_d": loss_d, "rec": rec, "moments": moments}
        log.append({k: v.detach() for k, v in parts.items()})
        if log_every and (step + 1) % log_every == 0:
            print(
                f"step {step + 1}: loss_d {loss_d.item():.3f} rec {rec.item():.4f} "
                f"moments {moments.item():.3f}",
                flush=True,
            )
    history = {k: torch.stack([s[k] for s in log]).cpu() for k in log[0]}
    losses = history.pop("loss")
    return GeneratorTrainResult(
        losses=losses,
        metrics={"loss": float(losses[-1])} | {k: float(v[-1]) for k, v in history.items()},
        gan_generator=g_ema.eval(),
        encoder=e_ema.eval(),
        parts=history,
    )


def main(argv: list[str] | None = None) -> dict:
    """Command-line entry point; returns the record written to ``fingerprint.json``."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=WEIGHTS_DIR)
    ap.add_argument("--faces", type=int, default=8000, help="in-domain training faces")
    ap.add_argument("--steps", type=int, default=1600)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    faces = _faces(args.faces, seed=args.seed + 10_000)
    t1 = time.perf_counter()
    torch.manual_seed(args.seed)  # the networks' initial weights
    result = train_generator(
        faces, steps=args.steps, generator=torch.Generator().manual_seed(args.seed), log_every=250
    )
    g, e = result.gan_generator, result.encoder
    assert g is not None and e is not None  # always set by train_generator
    t2 = time.perf_counter()
    args.out.mkdir(parents=True, exist_ok=True)
    torch.save(g.state_dict(), args.out / "generator.pt")
    torch.save(e.state_dict(), args.out / "encoder.pt")
    record = {
        "fingerprint": fingerprint(g),
        "command": "python -m companion.inversion.train_generator "
        f"--faces {args.faces} --steps {args.steps} --seed {args.seed} "
        f"--threads {args.threads}",
        "seconds": {"render": round(t1 - t0, 1), "train": round(t2 - t1, 1)},
        "torch": torch.__version__,
    }
    (args.out / "fingerprint.json").write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps(record, indent=2))
    return record


if __name__ == "__main__":
    main()
