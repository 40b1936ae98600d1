"""A small DCGAN generator of 32x32 faces, its discriminator, and an inversion encoder.

The generator :math:`G: \\mathbb{R}^{d} \\to [0,1]^{3 \\times 32 \\times 32}` maps a latent
:math:`z \\sim \\mathcal{N}(0, I_d)` through a linear layer to a ``4x4`` feature map and
three transposed convolutions (each doubling the side) to an image; ``(tanh + 1) / 2``
puts it in ``[0, 1]``. It is trained on in-domain faces only
(:mod:`companion.inversion.train_generator`), so glasses, hats, hands, microphones,
stickers and textured backgrounds lie outside its range — they are out of domain.

The encoder :math:`E` (the role e4e plays in the paper) maps an image to a latent,
``E(x) ≈ argmin_z ||G(z) - x||``; it is trained jointly with the generator (a
reconstruction loss next to the adversarial one, as in VAE-GAN), initialises the
optimisation-based inversion and makes inverting a whole training set cheap.

The shipped weights live in ``companion/inversion/weights/`` and are loaded with
``torch.load(..., weights_only=True)``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TypeVar

import torch
from torch import nn

from ..checks import check_int, check_tensor
from ._validate import check_module_dtype

__all__ = [
    "LATENT_DIM",
    "IMAGE_SIZE",
    "WEIGHTS_DIR",
    "Generator",
    "Discriminator",
    "Encoder",
    "load_generator",
    "load_encoder",
    "load_fingerprint",
    "fingerprint",
]

LATENT_DIM = 64
IMAGE_SIZE = 32
WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"


class Generator(nn.Module):
    """DCGAN generator ``z: (batch, latent_dim) -> image: (batch, 3, 32, 32)`` in ``[0, 1]``."""

    def __init__(self, latent_dim: int = LATENT_DIM, width: int = 32) -> None:
        super().__init__()
        self.latent_dim = check_int(latent_dim, "latent_dim", minimum=1)
        w = check_int(width, "width", minimum=1)
        self.fc = nn.Linear(latent_dim, 4 * w * 4 * 4)
        self.net = nn.Sequential(
            nn.BatchNorm2d(4 * w),
            nn.ReLU(),
            nn.ConvTranspose2d(4 * w, 2 * w, 4, 2, 1, bias=False),
            nn.BatchNorm2d(2 * w),
            nn.ReLU(),
            nn.ConvTranspose2d(2 * w, w, 4, 2, 1, bias=False),
            nn.BatchNorm2d(w),
            nn.ReLU(),
            nn.ConvTranspose2d(w, w // 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(w // 2),
            nn.ReLU(),
            nn.Conv2d(w // 2, 3, 3, 1, 1),
            nn.Tanh(),
        )
        self.width = w

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        z = check_tensor(z, "z", ndim=2, last_dims=(self.latent_dim,), floating=True)
        check_module_dtype(z, "z", self, "generator")
        h = self.fc(z).view(z.shape[0], 4 * self.width, 4, 4)
        return (self.net(h) + 1) / 2


class Discriminator(nn.Module):
    """DCGAN discriminator ``image: (batch, 3, 32, 32) -> logit: (batch,)`` (spectral norm)."""

    def __init__(self, width: int = 32) -> None:
        super().__init__()
        sn = nn.utils.parametrizations.spectral_norm
        w = check_int(width, "width", minimum=1)
        self.net = nn.Sequential(
            sn(nn.Conv2d(3, w, 4, 2, 1)),
            nn.LeakyReLU(0.2),
            sn(nn.Conv2d(w, 2 * w, 4, 2, 1)),
            nn.LeakyReLU(0.2),
            sn(nn.Conv2d(2 * w, 4 * w, 4, 2, 1)),
            nn.LeakyReLU(0.2),
            nn.Flatten(),
            sn(nn.Linear(4 * w * 16, 1)),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x * 2 - 1).squeeze(1)


class Encoder(nn.Module):
    """Inversion encoder ``image: (batch, 3, 32, 32) -> z: (batch, latent_dim)``."""

    def __init__(self, latent_dim: int = LATENT_DIM, width: int = 24) -> None:
        super().__init__()
        self.latent_dim = check_int(latent_dim, "latent_dim", minimum=1)
        w = check_int(width, "width", minimum=1)
        self.net = nn.Sequential(
            nn.Conv2d(3, w, 3, 1, 1),
            nn.LeakyReLU(0.2),
            nn.Conv2d(w, 2 * w, 4, 2, 1),
            nn.LeakyReLU(0.2),
            nn.Conv2d(2 * w, 4 * w, 4, 2, 1),
            nn.LeakyReLU(0.2),
            nn.Conv2d(4 * w, 4 * w, 4, 2, 1),
            nn.LeakyReLU(0.2),
            nn.Flatten(),
            nn.Linear(4 * w * 16, latent_dim),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = check_tensor(x, "x", ndim=4, last_dims=(3, IMAGE_SIZE, IMAGE_SIZE), floating=True)
        check_module_dtype(x, "x", self, "encoder")
        return self.net(x * 2 - 1)


M = TypeVar("M", bound=nn.Module)


def _load_state(module: M, path: Path, what: str) -> M:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"{what} weights not found at {path}; rebuild them with "
            "`python -m companion.inversion.train_generator` (generator, encoder) or "
            "`python -m companion.inversion.train_detectors` (detectors)"
        )
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        module.load_state_dict(state)
    except Exception as err:  # unpickling or key/shape mismatch: a corrupted or foreign file
        raise ValueError(
            f"{what} weight file {path} is corrupted or does not match the "
            f"architecture ({type(err).__name__}: {err})"
        ) from err
    return module.eval()


def load_generator(path: str | Path | None = None, device: torch.device | str = "cpu") -> Generator:
    """The shipped generator (eval mode; ``requires_grad`` off), or one saved at ``path``."""
    g = _load_state(
        Generator(), Path(path) if path is not None else WEIGHTS_DIR / "generator.pt", "generator"
    )
    g.requires_grad_(False)
    return g.to(device)


def load_encoder(path: str | Path | None = None, device: torch.device | str = "cpu") -> Encoder:
    """The shipped inversion encoder (eval mode), or one saved at ``path``."""
    e = _load_state(
        Encoder(), Path(path) if path is not None else WEIGHTS_DIR / "encoder.pt", "encoder"
    )
    e.requires_grad_(False)
    return e.to(device)


FINGERPRINT_PROBE_SEED = 1234
"""The fingerprint's latents are fixed: ``randn`` from a generator seeded with this value."""


@torch.no_grad()
def fingerprint(model: Generator, n: int = 8) -> list[float]:
    """A numeric fingerprint: the mean intensity of ``G(z_i)`` for ``n`` fixed probe latents.

    The latents are the first ``n`` rows drawn from a generator seeded with
    ``FINGERPRINT_PROBE_SEED`` (a fixed probe, not a source of randomness). The training
    command stores the fingerprint next to the weights; a test reloads the weights and
    compares (a check that the file, the architecture and the loader agree).
    """
    n = check_int(n, "n", minimum=1)
    probe = torch.Generator().manual_seed(FINGERPRINT_PROBE_SEED)
    p = next(model.parameters())
    z = torch.randn(n, model.latent_dim, generator=probe).to(p)
    return [float(v) for v in model(z).mean(dim=(1, 2, 3))]


def load_fingerprint(path: str | Path | None = None) -> dict:
    """The fingerprint (and training record) written by the training command."""
    file = Path(path) if path is not None else WEIGHTS_DIR / "fingerprint.json"
    return json.loads(file.read_text())
