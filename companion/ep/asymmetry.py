"""The asymmetry experiment of chapter 5: symmetric, asymmetric and homeostatic hEP, side by side.

Three kinds of run (``RUN_KINDS``) train the same layered network from the same forward
weights, with the same mini-batches, with generalised holomorphic EP (:class:`~companion.ep.estimators.Estimator`):

* ``"symmetric"`` — tied backward weights ``B_{l+1} = W_{l+1}^T`` (energy-based network);
* ``"asymmetric"`` — free backward weights, rotated by ``setting.angle`` degrees away from
  ``W^T`` (:func:`~companion.ep.network.rotate_backward_weights`) and trained by the same
  local rule;
* ``"homeostasis"`` — the asymmetric network plus ``setting.homeostasis`` times the
  Jacobian homeostatic loss (:mod:`companion.ep.homeostasis`).

:class:`AsymmetrySetting` holds the configuration (chosen on a validation split carved out of
the training images; see :func:`digits_splits`). :func:`train_run` trains one run;
:func:`evaluate_network` measures a trained network (test accuracy, the cosine of its hEP update
to the true gradient, layer by layer, the Jacobian symmetry score and the weight angles).
The shipped networks (``weights/asymmetry.pt``, written by
``python -m companion.ep.train_asymmetry``) load with :func:`load_networks`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ..checks import check_choice, check_int, check_number
from ..utils import check_generator
from .data import Split, load_digits_split, one_hot
from .estimators import Estimator, cosine_similarity, implicit_gradient
from .homeostasis import network_jacobian, symmetry_score
from .network import EPNetwork, rotate_backward_weights, weight_angles
from .train import EPTrainResult, _check_run, network_accuracy, steps_per_epoch, train

__all__ = [
    "RUN_KINDS",
    "AsymmetrySetting",
    "digits_splits",
    "build_network",
    "train_run",
    "evaluate_network",
    "save_networks",
    "load_networks",
    "file_sha256",
]

RUN_KINDS = ("symmetric", "asymmetric", "homeostasis")
WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"


@dataclass(frozen=True)
class AsymmetrySetting:
    """One configuration of the asymmetry experiment.

    Attributes:
        sizes: ``(n_0, n_1, ..., n_L)`` of the :class:`~companion.ep.network.EPNetwork`.
        cost: ``"mse"`` or ``"xent"``.
        init_scale: weights uniform in ``±init_scale/sqrt(fan_in)``.
        angle: degrees between each initial ``B_{l+1}`` and ``W_{l+1}^T`` (asymmetric runs).
        epochs: passes over the training images (``epochs * steps_per_epoch`` steps).
        batch_size, optimizer, lr: of :func:`~companion.ep.train.train`.
        estimator: the gradient estimator of every run (hEP, ``n`` nudges of radius ``r``).
        homeostasis: weight ``λ_h`` of the homeostatic loss in the ``"homeostasis"`` runs.
        n_val: training images held out for validation (:func:`digits_splits`).
        dtype: ``"float32"`` or ``"float64"``, the precision a run trains and relaxes in.
            The initial weights are drawn in float32 either way, so one seed starts from the
            same network in both precisions (``torch.rand`` draws other numbers in float64).
    """

    sizes: tuple[int, ...] = (64, 32, 32, 10)
    cost: str = "mse"
    init_scale: float = 2.0
    angle: float = 120.0
    epochs: int = 20
    batch_size: int = 32
    optimizer: str = "adam"
    lr: float = 3e-3
    # max_iter: late in training the tied network's complex nudged relaxations contract
    # slowly (one needed more than 1,000 sweeps); they do converge, so allow more sweeps.
    estimator: Estimator = field(
        default_factory=lambda: Estimator(method="hep", n=4, r=0.5, max_iter=5000)
    )
    homeostasis: float = 0.1
    n_val: int = 300
    # float64 for the 5-seed `full` runs: in float32 one complex nudged relaxation of a
    # tied network settled on another fixed point and stalled (results/notes).
    dtype: str = "float32"

    def __post_init__(self) -> None:
        if not isinstance(self.sizes, tuple) or len(self.sizes) < 3:
            raise ValueError(f"sizes must be a tuple with >= 1 hidden layer, got {self.sizes!r}")
        for s in self.sizes:
            check_int(s, "sizes[i]", minimum=1)
        check_choice(self.cost, "cost", ("mse", "xent"))
        check_number(self.init_scale, "init_scale", minimum=0, open_min=True)
        check_number(self.angle, "angle", minimum=0, maximum=180)
        check_int(self.epochs, "epochs", minimum=1)
        check_int(self.batch_size, "batch_size", minimum=1)
        check_choice(self.optimizer, "optimizer", ("adam", "sgd"))
        check_number(self.lr, "lr", minimum=0, open_min=True)
        if not isinstance(self.estimator, Estimator):
            raise TypeError(f"estimator must be an Estimator, got {type(self.estimator).__name__}")
        check_number(self.homeostasis, "homeostasis", minimum=0)
        check_int(self.n_val, "n_val", minimum=1)
        check_choice(self.dtype, "dtype", ("float32", "float64"))

    def to_dict(self) -> dict:
        """A JSON-ready dict (the estimator as a nested dict)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> AsymmetrySetting:
        """Inverse of :meth:`to_dict`."""
        d = dict(d)
        d["sizes"] = tuple(d["sizes"])
        d["estimator"] = Estimator(**d["estimator"])
        return cls(**d)


def digits_splits(
    n_val: int = 300, *, generator: torch.Generator | None = None
) -> tuple[Split, Split]:
    """scikit-learn's digits as ``(selection, final)`` splits that share their training images.

    The stratified train/test split of :func:`~companion.ep.data.load_digits_split` (1,347 /
    450 images, drawn from ``generator``); the first ``n_val`` training images are held out.
    ``selection`` trains on the rest and tests on those ``n_val`` (settings are chosen
    there); ``final`` trains on the same images and tests on the untouched test set.
    """
    n_val = check_int(n_val, "n_val", minimum=1)
    d = load_digits_split(generator=check_generator(generator))
    if n_val >= d.x_train.shape[0]:
        raise ValueError(f"n_val must be below {d.x_train.shape[0]}, got {n_val}")
    xf, yf = d.x_train[n_val:], d.y_train[n_val:]
    selection = Split(xf, yf, d.x_train[:n_val], d.y_train[:n_val], d.n_classes)
    return selection, Split(xf, yf, d.x_test, d.y_test, d.n_classes)


def build_network(
    kind: str,
    setting: AsymmetrySetting,
    *,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
) -> EPNetwork:
    """The untrained network of a run: forward weights from ``generator``, then (asymmetric
    kinds) the rotation of the backward weights from the same ``generator``.

    For one generator state the forward weights are the same for every ``kind``. Both are
    drawn in float32; the network is then cast to ``setting.dtype``.
    """
    check_choice(kind, "kind", RUN_KINDS)
    if not isinstance(setting, AsymmetrySetting):
        raise TypeError(f"setting must be an AsymmetrySetting, got {type(setting).__name__}")
    net = EPNetwork(
        setting.sizes,
        setting.sizes[-1],
        symmetric=kind == "symmetric",
        cost=setting.cost,
        init_scale=setting.init_scale,
        generator=generator,
        device=device,
    )
    if kind != "symmetric":
        rotate_backward_weights(net, setting.angle, generator=generator)
    return net.to(getattr(torch, setting.dtype))


def train_run(
    kind: str,
    setting: AsymmetrySetting,
    data: Split,
    *,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
    eval_every: int | None = None,
    track_cosine: bool = False,
    desc: str | None = None,
) -> tuple[EPNetwork, EPTrainResult]:
    """Build and train one run of ``kind`` on ``data``; returns ``(network, record)``.

    A training seed is drawn from ``generator`` first, so that for one generator state all
    kinds see the same mini-batches; then the network is built (:func:`build_network`).
    """
    check_generator(generator)
    seed = int(torch.randint(0, 2**62, (1,), generator=generator))
    net = build_network(kind, setting, generator=generator, device=device)
    record = train(
        net,
        data,
        steps=setting.epochs * steps_per_epoch(data, setting.batch_size),
        batch_size=setting.batch_size,
        generator=torch.Generator().manual_seed(seed),
        desc=desc or kind,
        estimator=setting.estimator,
        optimizer=setting.optimizer,
        lr=setting.lr,
        homeostasis=setting.homeostasis if kind == "homeostasis" else 0.0,
        eval_every=eval_every,
        track_cosine=track_cosine,
    )
    return net, record


def evaluate_network(
    net: EPNetwork, data: Split, estimator: Estimator, *, probe_size: int = 128
) -> dict[str, float | list[float]]:
    """Measure a trained network on ``data``'s test images.

    Returns ``test_accuracy``; on the first ``probe_size`` test images, ``cosine`` (all
    recurrent weights) and ``layer_cosines`` (each ``W_l``) between the ``estimator``'s
    update and the true gradient; ``symmetry`` (mean Jacobian symmetry score over 8 of
    them); and ``angles`` between each ``B_{l+1}`` and ``W_{l+1}^T`` in degrees.
    """
    _check_run(net, data, estimator)
    probe_size = check_int(probe_size, "probe_size", minimum=1)
    x = data.x_test.to(net.device, net.dtype)
    labels = data.y_test.to(net.device)
    xp, yp = x[:probe_size], one_hot(labels[:probe_size], net.n_classes, net.dtype)
    u = net.solve(xp, tol=estimator.tol, max_iter=estimator.max_iter)
    ref = implicit_gradient(net, xp, yp, u=u, max_iter=estimator.max_iter)
    est = estimator.gradient(net, xp, yp, u)
    layers = range(net.n_layers)  # the W_l lead the parameter list
    return {
        "test_accuracy": network_accuracy(net, x, labels, max_iter=estimator.max_iter),
        "cosine": cosine_similarity(est, ref, network_only=net),
        "layer_cosines": [cosine_similarity([est[i]], [ref[i]]) for i in layers],
        "symmetry": float(symmetry_score(network_jacobian(net, u[:8], xp[:8])).mean()),
        "angles": weight_angles(net),
    }


def save_networks(nets: dict[str, EPNetwork], setting: AsymmetrySetting, path: str | Path) -> None:
    """Write ``{name: network}`` (names ``"<kind>/<seed>"``) and the setting to ``path``."""
    if not isinstance(setting, AsymmetrySetting):
        raise TypeError(f"setting must be an AsymmetrySetting, got {type(setting).__name__}")
    state = {"setting": json.dumps(setting.to_dict())}
    for name, net in nets.items():
        kind = name.split("/")[0]
        check_choice(kind, "kind of a network name", RUN_KINDS)
        for k, v in net.state_dict().items():
            state[f"{name}/{k}"] = v.detach().cpu()
    torch.save(state, Path(path))


def load_networks(
    path: str | Path | None = None, device: torch.device | str = "cpu"
) -> tuple[dict[str, EPNetwork], AsymmetrySetting]:
    """The networks saved by :func:`save_networks` (default: the shipped ones) and their setting.

    Loaded with ``weights_only=True``; names are ``"<kind>/<seed>"``.
    """
    file = Path(path) if path is not None else WEIGHTS_DIR / "asymmetry.pt"
    state = torch.load(file, map_location="cpu", weights_only=True)
    setting = AsymmetrySetting.from_dict(json.loads(state.pop("setting")))
    names = sorted({k.rsplit("/", 1)[0] for k in state if k.count("/") == 2})
    nets = {}
    for name in names:
        kind = name.split("/")[0]
        net = build_network(kind, setting, generator=torch.Generator().manual_seed(0))
        prefix = name + "/"
        net.load_state_dict({k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)})
        nets[name] = net.to(device)
    return nets, setting


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file (the fingerprint of the shipped weights)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
