"""Gaunt tensor products (Chapter 4): products of spherical functions by FFT in a 2D Fourier basis.

* :mod:`companion.gaunt.sh_fourier` — real SH (e3nn convention) ↔ 2D Fourier basis;
* :mod:`companion.gaunt.coefficients` — Gaunt coefficients two ways, relation to CG;
* :mod:`companion.gaunt.product` — :func:`~companion.gaunt.product.gaunt_product` and its
  references (dense, e3nn CG, sphere grid);
* :mod:`companion.gaunt.interactions` — equivariant convolution and many-body products (the
  paper's other two uses), each with an e3nn reference;
* :mod:`companion.gaunt.layers` — :class:`~companion.gaunt.layers.GauntLayer`, an equivariant feature interaction.
"""

from .bench import compare, loglog_slope, markdown_table, median_time
from .coefficients import (
    allowed_paths,
    gaunt_from_wigner,
    gaunt_quadrature,
    gaunt_tensor,
    gaunt_to_wigner_constant,
    wigner_3j_000,
)
from .interactions import (
    edge_filter,
    gaunt_conv,
    gaunt_conv_e3nn,
    gaunt_many_body,
    gaunt_many_body_e3nn,
)
from .layers import DegreeLinear, GauntLayer
from .product import (
    CHUNK_FLOATS,
    PRODUCT_METHODS,
    ROUTE_THRESHOLDS,
    dense_sizes,
    e3nn_gaunt_tensor_product,
    fft_sizes,
    from_e3nn_layout,
    gaunt_product,
    gaunt_product_dense,
    gaunt_product_e3nn,
    gaunt_product_grid,
    grid_resolution,
    route_for,
    separable_sizes,
    to_e3nn_layout,
    tune_routes,
)
from .sh_fourier import (
    degree_of,
    fourier_to_sh,
    fourier_to_sh_matrix,
    num_coefficients,
    real_spherical_harmonics,
    sh_on_torus,
    sh_to_fourier,
    sh_to_fourier_matrix,
    theta_integral,
    torus_points,
)

__all__ = [
    "CHUNK_FLOATS",
    "PRODUCT_METHODS",
    "ROUTE_THRESHOLDS",
    "compare",
    "loglog_slope",
    "markdown_table",
    "median_time",
    "DegreeLinear",
    "GauntLayer",
    "allowed_paths",
    "gaunt_from_wigner",
    "gaunt_quadrature",
    "gaunt_tensor",
    "gaunt_to_wigner_constant",
    "wigner_3j_000",
    "dense_sizes",
    "e3nn_gaunt_tensor_product",
    "fft_sizes",
    "from_e3nn_layout",
    "gaunt_product",
    "gaunt_product_dense",
    "gaunt_product_e3nn",
    "gaunt_product_grid",
    "grid_resolution",
    "route_for",
    "separable_sizes",
    "to_e3nn_layout",
    "tune_routes",
    "edge_filter",
    "gaunt_conv",
    "gaunt_conv_e3nn",
    "gaunt_many_body",
    "gaunt_many_body_e3nn",
    "degree_of",
    "real_spherical_harmonics",
    "fourier_to_sh",
    "fourier_to_sh_matrix",
    "num_coefficients",
    "sh_on_torus",
    "sh_to_fourier",
    "sh_to_fourier_matrix",
    "theta_integral",
    "torus_points",
]
