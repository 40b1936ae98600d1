"""Train the shipped generator and encoder from scratch on in-domain faces only.

Run ``python -m companion.inversion.train_generator`` (``--help`` for options); it
writes ``generator.pt``, ``encoder.pt`` and ``fingerprint.json`` into the output folder
(by default the package's ``weights/``). Everything is seeded.

* **Generator**: a DCGAN (:class:`~companion.inversion.generator.Generator`) against a
  spectrally normalised discriminator with the non-saturating loss
  :math:`\\mathcal{L}_D = \\operatorname{softplus}(-D(x)) + \\operatorname{softplus}(D(G(z)))`,
  :math:`\\mathcal{L}_G = \\operatorname{softplus}(-D(G(z)))`, Adam (2e-4, betas 0.5/0.99);
  the shipped weights are an exponential moving average of the generator's.
* **Encoder**: regresses the latent of generated images and reconstructs in-domain faces,
  :math:`\\mathcal{L}_E = \\|E(G(z)) - z\\|^2 + \\|G(E(x)) - x\\|^2 + \\|G(E(G(z))) - G(z)\\|^2`.

No out-of-domain addition is ever rendered here.
"""
from __future__ import annotations

import argparse
import copy
import json
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from ..checks import check_int
from ..utils import progress
from .faces import render_faces
from .generator import WEIGHTS_DIR, Discriminator, Encoder, Generator, fingerprint

__all__ = ["train_generator", "train_encoder", "main"]


def _faces(n: int, seed: int) -> torch.Tensor:
    return render_faces(n, seed=seed).clean


def train_generator(faces: torch.Tensor, *, steps: int, batch: int = 32, seed: int = 0,
                    ema: float = 0.995, log_every: int = 0) -> Generator:
    """Train a DCGAN on ``faces: (n, 3, 32, 32)`` for ``steps`` steps; return the EMA generator."""
    steps = check_int(steps, "steps", minimum=1)
    batch = check_int(batch, "batch", minimum=1)
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    g, d = Generator(), Discriminator()
    g_ema = copy.deepcopy(g).requires_grad_(False)
    opt_g = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.99))
    opt_d = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.99))
    n = faces.shape[0]
    for step in progress(range(steps), desc="GAN"):
        idx = torch.randint(0, n, (batch,), generator=gen)
        real = faces[idx]
        flip = torch.rand(batch, generator=gen) < 0.5  # faces are mirror-symmetric in law
        real = torch.where(flip[:, None, None, None], real.flip(-1), real)
        z = torch.randn(batch, g.latent_dim, generator=gen)
        fake = g(z)
        loss_d = F.softplus(-d(real)).mean() + F.softplus(d(fake.detach())).mean()
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        loss_g = F.softplus(-d(fake)).mean()
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        with torch.no_grad():
            for pe, p in zip(g_ema.parameters(), g.parameters()):
                pe.lerp_(p, 1 - ema)
            for be, b in zip(g_ema.buffers(), g.buffers()):
                be.copy_(b)
        if log_every and (step + 1) % log_every == 0:
            print(f"GAN step {step + 1}: loss_d {loss_d.item():.3f} loss_g {loss_g.item():.3f}",
                  flush=True)
    return g_ema.eval()


def train_encoder(g: Generator, faces: torch.Tensor, *, steps: int, batch: int = 32,
                  seed: int = 0) -> Encoder:
    """Train the inversion encoder against a frozen generator ``g`` (see the module doc)."""
    steps = check_int(steps, "steps", minimum=1)
    gen = torch.Generator().manual_seed(seed + 1)
    torch.manual_seed(seed + 1)
    g = g.eval().requires_grad_(False)
    e = Encoder()
    opt = torch.optim.Adam(e.parameters(), lr=1e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    n = faces.shape[0]
    for _ in progress(range(steps), desc="encoder"):
        z = torch.randn(batch, g.latent_dim, generator=gen)
        with torch.no_grad():
            xg = g(z)
        real = faces[torch.randint(0, n, (batch,), generator=gen)]
        zg = e(xg)
        loss = (F.mse_loss(zg, z) + F.mse_loss(g(zg), xg) * 10
                + F.mse_loss(g(e(real)), real) * 10)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
    return e.eval().requires_grad_(False)


def main(argv: list[str] | None = None) -> dict:
    """Command-line entry point; returns the record written to ``fingerprint.json``."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=WEIGHTS_DIR)
    ap.add_argument("--faces", type=int, default=8000, help="in-domain training faces")
    ap.add_argument("--gan-steps", type=int, default=1800)
    ap.add_argument("--encoder-steps", type=int, default=500)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    faces = _faces(args.faces, seed=args.seed + 10_000)
    t1 = time.perf_counter()
    g = train_generator(faces, steps=args.gan_steps, seed=args.seed, log_every=250)
    t2 = time.perf_counter()
    args.out.mkdir(parents=True, exist_ok=True)
    torch.save(g.state_dict(), args.out / "generator.pt")
    e = train_encoder(g, faces, steps=args.encoder_steps, seed=args.seed)
    t3 = time.perf_counter()
    torch.save(e.state_dict(), args.out / "encoder.pt")
    record = {
        "fingerprint": fingerprint(g),
        "command": "python -m companion.inversion.train_generator "
                   f"--faces {args.faces} --gan-steps {args.gan_steps} "
                   f"--encoder-steps {args.encoder_steps} --seed {args.seed} --threads {args.threads}",
        "seconds": {"render": round(t1 - t0, 1), "gan": round(t2 - t1, 1),
                    "encoder": round(t3 - t2, 1)},
        "torch": torch.__version__,
    }
    (args.out / "fingerprint.json").write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps(record, indent=2))
    return record


if __name__ == "__main__":
    main()
