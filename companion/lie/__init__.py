"""Lie group decompositions for equivariant networks (Chapter 2; Mironenco & Forré, ICLR 2024).

* :mod:`companion.lie.groups` — polar decomposition, the global chart ξ and its inverse;
* :mod:`companion.lie.haar` — Haar densities in three coordinate systems, samplers, weights;
* :mod:`companion.lie.layers` — affine lifting and group convolutions with implicit kernels;
* :mod:`companion.lie.data` — MNIST (5,000 shipped digits), affNIST-style transforms, loaders.
"""

from . import data, groups, haar, layers

__all__ = ["data", "groups", "haar", "layers"]
