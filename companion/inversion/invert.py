"""GAN inversion: find the latent whose generated image best matches an input.

Optimisation-based inversion solves, for each image :math:`x` independently,

.. math::  z^\\star = \\arg\\min_z \\; \\tfrac{1}{3HW}\\|G(z) - x\\|_2^2 + \\lambda \\tfrac{1}{d}\\|z\\|_2^2,

by Adam from an initial latent — the encoder's guess :math:`E(x)` if an encoder is given
(the hybrid of encoder and optimisation that most inversion papers use), else
:math:`z = 0`. The prior term keeps :math:`z` where :math:`\\mathcal{N}(0, I)` puts its mass.

An out-of-domain region of :math:`x` cannot be matched by any :math:`G(z)`; it pulls
:math:`z^\\star` away from the face and leaves a large residual there — the reason for the
invertibility decomposition of :mod:`companion.inversion.detector`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..checks import check_int, check_number, check_tensor
from ._validate import check_images, check_module_dtype

__all__ = ["InversionResult", "invert", "attribute_direction"]


@dataclass
class InversionResult:
    """Result of :func:`invert`.

    Attributes:
        z: ``(batch, latent_dim)`` the optimised latents.
        images: ``(batch, 3, H, W)`` the inversions :math:`G(z^\\star)`.
        losses: ``(steps + 1, batch)`` each image's reconstruction MSE before every step
            and after the last one.
    """

    z: torch.Tensor
    images: torch.Tensor
    losses: torch.Tensor


def invert(
    generator: nn.Module,
    images: torch.Tensor,
    *,
    steps: int = 50,
    lr: float = 0.05,
    encoder: nn.Module | None = None,
    z_init: torch.Tensor | None = None,
    prior: float = 1e-3,
) -> InversionResult:
    """Invert ``images: (batch, 3, H, W)`` in ``[0, 1]`` into the latent space of ``generator``.

    Args:
        generator: maps ``(batch, latent_dim)`` to images the size of ``images``; its
            parameters are not changed.
        images: the targets.
        steps: Adam steps (0 returns the initial latent's image).
        lr: Adam learning rate.
        encoder: optional, gives the initial latents ``encoder(images)``.
        z_init: optional initial latents ``(batch, latent_dim)`` (exclusive with ``encoder``).
        prior: weight :math:`\\lambda` of the Gaussian prior term.
    """
    if not isinstance(generator, nn.Module):
        raise TypeError(f"generator must be a torch.nn.Module, got {type(generator).__name__}")
    images = check_images(images, "images")
    steps = check_int(steps, "steps", minimum=0)
    lr = check_number(lr, "lr", minimum=0, open_min=True)
    prior = check_number(prior, "prior", minimum=0.0)
    check_module_dtype(images, "images", generator, "generator")
    if encoder is not None and z_init is not None:
        raise ValueError("give at most one of encoder and z_init")
    d = check_int(getattr(generator, "latent_dim", None), "generator.latent_dim", minimum=1)
    if z_init is not None:
        z0 = check_tensor(z_init, "z_init", ndim=2, last_dims=(d,), floating=True)
        if z0.shape[0] != images.shape[0]:
            raise ValueError(
                f"z_init must have one row per image ({images.shape[0]}), got {z0.shape[0]}"
            )
        check_module_dtype(z0, "z_init", generator, "generator")
        if not torch.isfinite(z0).all():
            raise ValueError("z_init must be finite (it holds NaN or inf)")
    elif encoder is not None:
        if not isinstance(encoder, nn.Module):
            raise TypeError(f"encoder must be a torch.nn.Module, got {type(encoder).__name__}")
        check_module_dtype(images, "images", encoder, "encoder")
        with torch.no_grad():
            z0 = encoder(images)
    else:
        z0 = torch.zeros(images.shape[0], d, dtype=images.dtype, device=images.device)
    with torch.no_grad():
        out0 = generator(z0[:1])
    if out0.shape[1:] != images.shape[1:]:
        raise ValueError(
            f"images must match the generator's output {tuple(out0.shape[1:])}, "
            f"got {tuple(images.shape[1:])}"
        )
    z = z0.detach().clone().requires_grad_(True)
    opt = torch.optim.Adam([z], lr=lr)
    history = []
    for _ in range(steps):
        rec = ((generator(z) - images) ** 2).mean(dim=(1, 2, 3))
        history.append(rec.detach())
        loss = (rec + prior * (z**2).mean(dim=1)).sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    with torch.no_grad():
        out = generator(z)
        history.append(((out - images) ** 2).mean(dim=(1, 2, 3)))
    return InversionResult(z=z.detach(), images=out, losses=torch.stack(history))


def attribute_direction(z: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    """A latent editing direction: the least-squares slope of ``z`` on an attribute.

    With latents ``z: (n, d)`` of faces whose attribute (e.g. smile) is ``values: (n,)``,
    returns :math:`\\delta = \\operatorname{cov}(z, v) / \\operatorname{var}(v)`, shape ``(d,)``:
    moving a latent by :math:`t\\,\\delta` changes the attribute by about :math:`t`.
    """
    z = check_tensor(z, "z", ndim=2, floating=True)
    values = check_tensor(values, "values", ndim=1, floating=True)
    if values.shape[0] != z.shape[0] or z.shape[0] < 2:
        raise ValueError(
            f"values must have one entry per latent (>= 2), got {values.shape[0]} "
            f"for {z.shape[0]} latents"
        )
    vc = values - values.mean()
    var = (vc**2).sum()
    if var == 0:
        raise ValueError("values must not all be equal")
    return ((z - z.mean(dim=0)) * vc[:, None]).sum(dim=0) / var
