r"""Frame averaging (Chapter 3): exact invariance and equivariance for any backbone.

* :mod:`companion.frames.pca` — PCA frames for E(3), SE(3), O(3), SO(3) on point clouds,
  with weights/masks and a documented policy for degenerate spectra;
* :mod:`companion.frames.averaging` — :class:`~companion.frames.averaging.FrameAveraging`, the wrapper that averages a
  backbone over the frame in one batched call;
* :mod:`companion.frames.nbody` — the charged-particle n-body simulator (EGNN / FA benchmark);
* :mod:`companion.frames.models` — plain MLP and message-passing backbones for it;
* :mod:`companion.frames.graphs` — sorting frames for the permutation group :math:`S_n` on
  graphs, GIN backbones, the 1-WL test and graph pairs that 1-WL cannot separate.

Reference: Puny, Atzmon, Ben-Hamu, Misra, Grover, Smith, Lipman, *Frame Averaging for
Invariant and Equivariant Network Design*, ICLR 2022.
"""

from .averaging import (
    FEATURE_TYPES,
    FrameAveraging,
    feature_action,
    from_frame,
    rigid_motion,
    to_frame,
)
from .graphs import (
    GINBackbone,
    GraphFrame,
    GraphFrameAveraging,
    automorphism_count,
    canonical_graphs,
    circulant_graph,
    complete_graph,
    cycle_graph,
    disjoint_union,
    from_edges,
    graph_frame,
    hypercube_graph,
    laplacian,
    relabel,
    spectral_node_keys,
    wl_colors,
    wl_equivalent,
    wl_hard_pairs,
)
from .models import (
    GNNBackbone,
    MLPBackbone,
    NBodyTrainResult,
    fa_model,
    nbody_mse,
    train_nbody,
)
from .nbody import (
    NBodyData,
    charged_particles,
    charged_particles_splits,
    coulomb_forces,
    nbody_energy,
    simulate,
)
from .pca import (
    DEGENERATE_POLICIES,
    FRAME_GROUPS,
    DegenerateFrameWarning,
    Frame,
    frame_group,
    pca_frame,
    sign_patterns,
    spectral_gap,
)

__all__ = [
    "FEATURE_TYPES",
    "FrameAveraging",
    "from_frame",
    "to_frame",
    "feature_action",
    "rigid_motion",
    "GNNBackbone",
    "MLPBackbone",
    "fa_model",
    "NBodyTrainResult",
    "nbody_mse",
    "train_nbody",
    "GINBackbone",
    "GraphFrame",
    "GraphFrameAveraging",
    "automorphism_count",
    "canonical_graphs",
    "circulant_graph",
    "complete_graph",
    "cycle_graph",
    "disjoint_union",
    "from_edges",
    "graph_frame",
    "hypercube_graph",
    "laplacian",
    "relabel",
    "spectral_node_keys",
    "wl_colors",
    "wl_equivalent",
    "wl_hard_pairs",
    "NBodyData",
    "charged_particles",
    "charged_particles_splits",
    "coulomb_forces",
    "nbody_energy",
    "simulate",
    "DEGENERATE_POLICIES",
    "FRAME_GROUPS",
    "frame_group",
    "DegenerateFrameWarning",
    "Frame",
    "pca_frame",
    "sign_patterns",
    "spectral_gap",
]
