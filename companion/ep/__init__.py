"""Equilibrium propagation with Cauchy-integral nudges (chapter 5).

* :mod:`~companion.ep.network` — the recurrent network, its fixed points, energy and asymmetry;
* :mod:`~companion.ep.estimators` — the reference gradient, classic and holomorphic EP;
* :mod:`~companion.ep.homeostasis` — the Jacobian homeostasis loss and symmetry score;
* :mod:`~companion.ep.data` — offline digits / MNIST sample;
* :mod:`~companion.ep.train` — the training loop;
* :mod:`~companion.ep.asymmetry` — the symmetric / asymmetric / homeostatic experiment and its
  shipped networks (trained by ``python -m companion.ep.train_asymmetry``).
"""

from .asymmetry import (
    RUN_KINDS,
    AsymmetrySetting,
    build_network,
    digits_splits,
    evaluate_network,
    file_sha256,
    load_networks,
    save_networks,
    train_run,
)
from .data import Split, load_digits_split, load_mnist_sample, one_hot
from .estimators import (
    EP_METHODS,
    Estimator,
    cosine_similarity,
    dadbeta_classic,
    dadbeta_exact,
    dadbeta_hep,
    ep_gradient,
    flatten,
    free_state,
    gradient_from_dadbeta,
    hep_responses,
    implicit_gradient,
    loss_at,
    relative_error,
    unrolled_gradient,
)
from .homeostasis import (
    COORDINATES,
    asymmetry,
    homeostatic_loss,
    network_field,
    network_homeostatic_loss,
    network_jacobian,
    symmetry_score,
)
from .network import (
    EPNetwork,
    FixedPointError,
    complex_dtype,
    hopfield_energy,
    rotate_backward_weights,
    sigmoid,
    weight_angles,
)
from .train import EPTrainResult, network_accuracy, steps_per_epoch, train

__all__ = [
    "RUN_KINDS",
    "AsymmetrySetting",
    "build_network",
    "digits_splits",
    "evaluate_network",
    "file_sha256",
    "load_networks",
    "save_networks",
    "train_run",
    "COORDINATES",
    "Split",
    "load_digits_split",
    "load_mnist_sample",
    "one_hot",
    "EP_METHODS",
    "Estimator",
    "cosine_similarity",
    "dadbeta_classic",
    "dadbeta_exact",
    "dadbeta_hep",
    "ep_gradient",
    "flatten",
    "free_state",
    "gradient_from_dadbeta",
    "hep_responses",
    "implicit_gradient",
    "loss_at",
    "relative_error",
    "unrolled_gradient",
    "asymmetry",
    "homeostatic_loss",
    "network_field",
    "network_homeostatic_loss",
    "network_jacobian",
    "symmetry_score",
    "EPNetwork",
    "FixedPointError",
    "complex_dtype",
    "hopfield_energy",
    "rotate_backward_weights",
    "sigmoid",
    "weight_angles",
    "EPTrainResult",
    "network_accuracy",
    "steps_per_epoch",
    "train",
]
