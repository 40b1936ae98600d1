"""The conventions every chapter's public API follows, checked mechanically (CONTRIBUTING.md).

The test walks the public names (``__all__``) of the core and of every chapter package:
functions, classes and their public methods. It checks

* that every chapter package and every module in it declares a flat ``__all__``;
* randomness: no public ``seed`` parameter, and a parameter named ``generator`` is a
  keyword with default ``None`` annotated ``torch.Generator | None`` (the global stream);
  no other parameter is annotated ``torch.Generator``;
* that the equivariant modules declare what they are equivariant to (``rep_in``/``rep_out``)
  and pass the core check with it;
* that no notebook imports a module under an alias another notebook uses for another module;
* that no public name means two things in two packages (core re-exports excepted).
"""

from __future__ import annotations

import ast
import importlib
import inspect
import json
import pkgutil
import types
import typing
from pathlib import Path

import pytest
import torch

import companion

ROOT = Path(__file__).resolve().parents[1]
CORE = ["companion.utils", "companion.checks", "companion.groups", "companion.viz"]
CHAPTERS = [
    "companion.primer",
    "companion.soft_equivariance",
    "companion.lie",
    "companion.frames",
    "companion.gaunt",
    "companion.ep",
    "companion.inversion",
]
# Exempt from the randomness rule: command-line scripts (``python -m``; --seed is a CLI flag),
# the one entry point of a seed (seed_everything), and the validator of generators.
SCRIPT_MODULES = {
    "companion.inversion.train_generator",
    "companion.inversion.train_detectors",
    "companion.lie.train_weights",
    "companion.lie.compare_weights",
}
EXEMPT = {
    "companion.inversion.train_generator.main",
    "companion.inversion.train_detectors.main",
    "companion.lie.train_weights.main",
    "companion.utils.seed_everything",
    "companion.utils.check_generator",
}


def _modules() -> list[str]:
    names = list(CORE)
    for name in CHAPTERS:
        names.append(name)
        module = importlib.import_module(name)
        if hasattr(module, "__path__"):
            names += [
                m.name
                for m in pkgutil.iter_modules(module.__path__, name + ".")
                if not m.name.split(".")[-1].startswith("_")
            ]
    return names


MODULES = _modules()


def _public_callables():
    """(qualified name, callable) for every public function, class and public method."""
    seen = set()
    for name in MODULES:
        module = importlib.import_module(name)
        for attr in getattr(module, "__all__", []):
            obj = getattr(module, attr)
            if not (inspect.isfunction(obj) or inspect.isclass(obj)):
                continue
            if not getattr(obj, "__module__", "").startswith("companion") or id(obj) in seen:
                continue
            seen.add(id(obj))
            qual = f"{obj.__module__}.{obj.__qualname__}"
            if inspect.isfunction(obj):
                yield qual, obj
                continue
            if issubclass(obj, BaseException):
                continue
            for meth_name, meth in vars(obj).items():
                if meth_name == "__init__" or (
                    not meth_name.startswith("_") and inspect.isfunction(meth)
                ):
                    if inspect.isfunction(meth):
                        yield f"{qual}.{meth_name}", meth


CALLABLES = sorted(_public_callables(), key=lambda t: t[0])


def test_the_walk_finds_the_api():
    names = {q for q, _ in CALLABLES}
    assert len(CALLABLES) > 150
    for expected in (
        "companion.groups.equivariance_error",
        "companion.frames.averaging.FrameAveraging.__init__",
        "companion.lie.layers.AffineGCNN.__init__",
        "companion.inversion.faces.render_faces",
    ):
        assert expected in names


@pytest.mark.parametrize("name", CHAPTERS + CORE)
def test_every_package_and_module_declares_a_flat_all(name):
    module = importlib.import_module(name)
    assert isinstance(getattr(module, "__all__", None), (list, tuple)), f"{name} has no __all__"
    for attr in module.__all__:
        obj = getattr(module, attr)
        assert not inspect.ismodule(obj), f"{name}.__all__ lists the module {attr}; flatten it"
    if hasattr(module, "__path__"):  # a chapter package re-exports its modules' names
        for sub in MODULES:
            if sub.startswith(name + ".") and sub not in SCRIPT_MODULES:
                missing = set(importlib.import_module(sub).__all__) - set(module.__all__)
                assert not missing, f"{name}.__all__ lacks {sorted(missing)} from {sub}"


def _hints(fn) -> dict:
    try:
        return typing.get_type_hints(fn)
    except Exception:  # a forward reference that does not resolve: fall back to strings
        return {k: v for k, v in getattr(fn, "__annotations__", {}).items()}


@pytest.mark.parametrize(("qual", "fn"), CALLABLES, ids=[q for q, _ in CALLABLES])
def test_randomness_goes_through_an_optional_generator(qual, fn):
    if qual in EXEMPT:
        return
    params = inspect.signature(fn).parameters
    assert "seed" not in params, f"{qual} takes seed=; take generator: torch.Generator | None"
    hints = _hints(fn)
    for p in params.values():
        hint = hints.get(p.name)
        is_gen = hint is torch.Generator or (
            typing.get_origin(hint) in (typing.Union, types.UnionType)
            and torch.Generator in typing.get_args(hint)
        )
        if p.name == "generator":
            assert is_gen and type(None) in typing.get_args(hint), (
                f"{qual}: generator must be annotated torch.Generator | None, got {hint}"
            )
            assert p.default is None, f"{qual}: generator must default to None (global state)"
            assert p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)
        else:
            assert not is_gen, f"{qual}: a torch.Generator parameter must be named generator"


def _equivariant_modules():
    from companion.frames import FrameAveraging, GNNBackbone, fa_model, rigid_motion
    from companion.gaunt import GauntLayer
    from companion.groups import haar_o3
    from companion.soft_equivariance import SoftEMLP, o3

    gen = torch.Generator().manual_seed(0)
    g3 = haar_o3(4, generator=gen, dtype=torch.float64)
    fa = fa_model(GNNBackbone(8, 1, generator=gen).double(), degenerate="ignore")
    x = torch.randn(4, 5, 3, generator=gen, dtype=torch.float64)
    v = torch.randn(4, 5, 3, generator=gen, dtype=torch.float64)
    q = torch.randn(4, 5, 1, generator=gen, dtype=torch.float64)
    shift = torch.randn(4, 3, generator=gen, dtype=torch.float64)
    assert isinstance(fa, FrameAveraging)
    return [
        ("FrameAveraging", fa, (x, v, q), rigid_motion(g3, shift)),
        ("GauntLayer", GauntLayer(2, 2, 2, 3, generator=gen).double(),
         torch.randn(4, 2, 9, generator=gen, dtype=torch.float64), g3),
        ("SoftEMLP", SoftEMLP(hidden=(4, 2, 2), hard=o3(), generator=gen, dtype=torch.float64),
         torch.randn(4, 20, generator=gen, dtype=torch.float64), g3),
    ]  # fmt: skip


def test_equivariant_modules_declare_their_reps_and_pass_the_core_check():
    for name, module, x, g in _equivariant_modules():
        assert hasattr(module, "rep_in") and hasattr(module, "rep_out"), name
        with torch.no_grad():
            err = companion.groups.equivariance_error(module, x, g)
        assert err < 1e-9, f"{name}: {float(err):.1e}"


def _notebook_aliases() -> dict[str, dict[str, str]]:
    """alias -> {notebook: module} for every ``import x as y`` / ``from a import b as y``."""
    aliases: dict[str, dict[str, str]] = {}
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        nb = json.loads(path.read_text())
        for cell in nb["cells"]:
            if cell["cell_type"] != "code":
                continue
            src = "".join(cell["source"])
            src = "\n".join(  # IPython magics are not Python
                line.split("%")[0] + "pass" if line.lstrip()[:1] in ("%", "!") else line
                for line in src.splitlines()
            )
            for node in ast.walk(ast.parse(src)):
                if isinstance(node, (ast.Import, ast.ImportFrom)):
                    for a in node.names:
                        if a.asname:
                            full = (
                                f"{node.module}.{a.name}"
                                if isinstance(node, ast.ImportFrom)
                                else a.name
                            )
                            aliases.setdefault(a.asname, {})[path.stem] = full
    return aliases


def test_no_notebook_alias_means_two_things():
    for alias, uses in _notebook_aliases().items():
        assert len(set(uses.values())) == 1, f"alias {alias!r} means different modules: {uses}"
    assert "G" not in _notebook_aliases(), "`as G` is ambiguous (groups? generator?)"


def _trainers():
    from companion import ep, frames, inversion, lie, primer, soft_equivariance

    return {
        "primer.train_regressor": primer.train_regressor,
        "lie.train_classifier": lie.train_classifier,
        "inversion.train_detector": inversion.train_detector,
        # a module of its own (python -m ...), so its function is reached through it
        "inversion.train_generator": importlib.import_module(
            "companion.inversion.train_generator"
        ).train_generator,
        "frames.train_nbody": frames.train_nbody,
        "soft_equivariance.train": soft_equivariance.train,
        "ep.train": ep.train,
    }


@pytest.mark.parametrize("name", sorted(_trainers()))
def test_training_entry_points_share_one_signature(name):
    fn = _trainers()[name]
    params = inspect.signature(fn).parameters
    assert ("steps" in params) != ("epochs" in params), f"{name}: steps or epochs, not both"
    for p in ("batch_size", "generator", "desc"):
        assert p in params and params[p].kind is inspect.Parameter.KEYWORD_ONLY, (name, p)
    assert not {"batch", "progress_desc", "seed"} & set(params), name
    ret = typing.get_type_hints(fn)["return"]
    assert isinstance(ret, type) and issubclass(ret, companion.utils.TrainResult), (
        f"{name} returns {ret}"
    )


def test_shared_training_result_holds_a_loss_tensor_and_moves_data_to_the_model():
    from companion import primer

    gen = torch.Generator().manual_seed(0)
    x, y = primer.make_pointclouds(32, 4, generator=gen)
    model = primer.PointMLP(4, hidden=8, generator=gen).double()  # data stay float32
    res = primer.train_regressor(model, x, y, steps=3, batch_size=8, generator=gen)
    assert isinstance(res, companion.utils.TrainResult)
    assert res.losses.shape == (3,) and res.losses.dtype == torch.float64
    assert res.metrics["loss"] == float(res.losses[-1])


def _public_objects(name: str) -> dict[str, object]:
    module = importlib.import_module(name)
    return {attr: getattr(module, attr) for attr in module.__all__}


# Deliberately shared names: each chapter's training entry point is ``<chapter>.train`` (always
# called qualified; test_training_entry_points_share_one_signature holds them to one signature).
SAME_ROLE = {"train"}


def _same_meaning(attr: str, obj: object, core: dict[str, object]) -> bool:
    if attr not in core:
        return False
    ref = core[attr]  # a re-export of the core, or a chapter's extension of the core's class
    return obj is ref or (inspect.isclass(obj) and inspect.isclass(ref) and issubclass(obj, ref))


def test_no_public_name_means_two_things():
    """A name in two packages' ``__all__`` is the core's object (or extends the core's class)."""
    core: dict[str, object] = {}
    for name in CORE:
        for attr, obj in _public_objects(name).items():
            assert core.setdefault(attr, obj) is obj, f"{attr} means two things in the core"
    owners: dict[str, list[str]] = {}
    for name in CHAPTERS:
        for attr, obj in _public_objects(name).items():
            if not _same_meaning(attr, obj, core):
                owners.setdefault(attr, []).append(name)
    clashes = {
        attr: pkgs
        for attr, pkgs in owners.items()
        if attr not in SAME_ROLE and (len(pkgs) > 1 or attr in core)
    }
    assert not clashes, f"public names with two meanings (rename one): {clashes}"


def test_the_name_clash_check_can_fail():
    core = {"TrainResult": companion.utils.TrainResult, "GROUPS": companion.groups.GROUPS}
    from companion import lie, primer

    assert _same_meaning("TrainResult", primer.TrainResult, core)  # a subclass extends it
    assert not _same_meaning("GROUPS", lie.LIE_GROUPS, core)
    assert not _same_meaning("mnist_sample", lie.mnist_digits, core)
