r"""Soft equivariance under mixed symmetries (Chapter 1).

Kim, Lee, Yang & Lee, "Regularizing Towards Soft Equivariance Under Mixed
Symmetries" (ICML 2023): an unconstrained network, one projection-based
equivariance regulariser per candidate group, and strengths tuned during training.

* :mod:`.groups` — candidate subgroups of O(3) by generators; tensor representations;
* :mod:`.projector` — orthogonal projectors onto equivariant linear maps;
* :mod:`.model` — the EMLP-shaped network with unconstrained linear layers;
* :mod:`.regularizer` — :math:`R_k` and the automatic strength tuning;
* :mod:`.data` — the modified-inertia task and per-group equivariance errors;
* :mod:`.train` — the training loop;
* :mod:`.rpp` — residual pathway priors (Finzi, Benton & Wilson, 2021), the paper's baseline.
"""

from .data import AXES, AXIS_PLANE, equivariance_errors, inertia_target, modified_inertia
from .groups import (
    KINDS,
    ORDERS,
    PLANES,
    MatrixGroup,
    TensorRep,
    o2_plane,
    o3,
    plane_groups,
    so3,
    tensor_rep_lie,
    tensor_rep_matrix,
)
from .model import GatedNonlinearity, InertiaFeatures, SoftEMLP, SoftLinear, soft_linears
from .projector import constraint_matrix, equivariant_basis, equivariant_projector, project_blocks
from .regularizer import autotune_strengths, reference_regularizer, regularizer, regularizers
from .rpp import RPPEMLP, RPPLinear, rpp_layers, rpp_penalty
from .train import SoftTrainResult, regression_mse, train

__all__ = [
    "AXES",
    "AXIS_PLANE",
    "KINDS",
    "ORDERS",
    "PLANES",
    "MatrixGroup",
    "TensorRep",
    "o3",
    "so3",
    "o2_plane",
    "plane_groups",
    "tensor_rep_matrix",
    "tensor_rep_lie",
    "constraint_matrix",
    "equivariant_basis",
    "equivariant_projector",
    "project_blocks",
    "SoftLinear",
    "GatedNonlinearity",
    "InertiaFeatures",
    "SoftEMLP",
    "soft_linears",
    "regularizers",
    "regularizer",
    "autotune_strengths",
    "reference_regularizer",
    "inertia_target",
    "modified_inertia",
    "equivariance_errors",
    "RPPLinear",
    "RPPEMLP",
    "rpp_layers",
    "rpp_penalty",
    "SoftTrainResult",
    "train",
    "regression_mse",
]
