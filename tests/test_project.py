"""Project hygiene: notebooks, table of contents, dependencies, conventions."""

import ast
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: the same parser, from PyPI (declared in the test extra)
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
CHAPTERS = [
    "00_symmetry_primer",
    "01_soft_equivariance",
    "02_lie_group_decompositions",
    "03_frame_averaging",
    "04_gaunt_tensor_products",
    "05_holomorphic_ep",
    "06_gan_inversion_masks",
]


def _toc_files():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc["parts"]:
        files += [c["file"] for c in part["chapters"]]
    return files


def test_there_is_at_least_the_primer():
    assert ROOT / "notebooks" / "00_symmetry_primer.ipynb" in NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_hygiene(path):
    nb = json.loads(path.read_text())
    assert path.stem in CHAPTERS, f"{path.name} is not one of the book's chapter files"
    assert f"notebooks/{path.stem}" in _toc_files(), f"{path.name} is not listed in _toc.yml"
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    for c in code:
        assert not c.get("outputs"), f"{path.name} has stored outputs: strip them"
        assert c.get("execution_count") is None, f"{path.name} has execution counts: strip them"
    title = "".join(nb["cells"][0]["source"]).splitlines()[0]
    number = int(path.stem[:2])
    assert nb["cells"][0]["cell_type"] == "markdown" and title.startswith(f"# {number}. "), (
        f"{path.name} must open with its title '# {number}. ...', got {title!r}"
    )
    setup = "".join(code[0]["source"])
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    url = config["repository"]["url"]
    assert '"google.colab" in sys.modules' in setup and f"git+{url}" in setup, (
        "the first code cell must install companion on Colab from the repository in _config.yml"
    )
    for needle in ("best_device()", "seed_everything("):
        assert needle in setup, f"setup cell lacks {needle}"
    last = "".join(code[-1]["source"])
    assert re.search(r"^\s*assert ", last, re.M), (
        f"{path.name} must end with a claims cell of asserts"
    )
    text = "".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    assert "## Exercises" in text and "## References" in text, (
        f"{path.name} lacks Exercises or References"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_asks_colab_for_a_gpu_runtime(path):
    # Colab reads these two keys when it opens a notebook from GitHub: without them it starts
    # a CPU runtime and `full` runs for hours. "T4" is the GPU of Colab's free tier.
    meta = json.loads(path.read_text())["metadata"]
    assert meta.get("accelerator") == "GPU", f"{path.name}: metadata.accelerator must be 'GPU'"
    assert meta.get("colab", {}).get("gpuType") == "T4", (
        f"{path.name}: metadata.colab.gpuType must be 'T4'"
    )


def test_toc_lists_only_existing_pages():
    for f in _toc_files():
        assert any((ROOT / f"{f}{ext}").exists() for ext in (".md", ".ipynb")), (
            f"_toc.yml lists missing {f}"
        )


def _names(reqs):
    return {
        re.split(r"[<>=!~\[ ;]", r.strip(), maxsplit=1)[0].lower().replace("_", "-") for r in reqs
    }


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = _names(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        declared |= _names(extra)
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda, pip = set(), set()
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            pip |= _names(dep["pip"])
        else:
            conda |= _names([dep])
    conda_names = {{"pytorch": "torch"}.get(n, n) for n in conda} - {"python", "pip"}
    in_env = conda_names | {n for n in pip if not n.startswith("-e")}
    assert in_env == declared, (
        f"only in environment.yml: {sorted(in_env - declared)}; "
        f"only in pyproject.toml: {sorted(declared - in_env)}"
    )


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    assert "make test" in readme and "make book" in readme
    assert re.search(r"^make test$", (ROOT / ".ci" / "run").read_text(), re.M)


CORE = {"__init__", "utils", "checks", "groups", "viz", "datasets"}


def _imported_modules(py: Path):
    """Absolute names of the modules a file imports (relative imports resolved)."""
    package = ["companion", *py.relative_to(ROOT / "companion").with_suffix("").parts[:-1]]
    for node in ast.walk(ast.parse(py.read_text())):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            if node.module is None:  # `from . import x`
                yield from (f"{module}.{a.name}" for a in node.names)
            else:
                yield module


def test_companion_never_imports_notebooks_tests_or_other_chapters():
    for py in (ROOT / "companion").rglob("*.py"):
        own = py.relative_to(ROOT / "companion").parts[0].removesuffix(".py")
        for name in _imported_modules(py):
            top = name.split(".")[0]
            assert top not in {"tests", "benchmarks", "notebooks", "conftest"}, (
                f"{py} imports {name}"
            )
            if top == "companion" and "." in name:
                target = name.split(".")[1]
                allowed = target in CORE or (own not in CORE and target == own)
                assert allowed, (
                    f"{py.relative_to(ROOT)} imports the chapter module companion.{target}"
                )


def test_importing_companion_downloads_nothing_and_is_quick():
    code = (
        "import socket\n"
        "def no(*a, **k): raise RuntimeError('network used at import')\n"
        "socket.socket.connect = no\n"
        "import companion, companion.groups, companion.viz, companion.primer\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, timeout=120)


def test_conventions_checker_passes():
    # The checker lives in the project (tools/), so a fresh clone runs it; it never skips.
    checker = ROOT / "tools" / "check_conventions.py"
    out = subprocess.run(
        [sys.executable, str(checker)], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stdout


def test_conventions_checker_finds_a_stored_output(tmp_path):
    # The checker must be able to fail: a copy of the project with one stored output.
    for name in ("tools", "notebooks", "companion", "book", "tests", ".ci"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("environment.yml", "_config.yml", "_toc.yml", "README.md", "pyproject.toml"):
        shutil.copy(ROOT / name, tmp_path / name)
    nb_path = tmp_path / "notebooks" / "00_symmetry_primer.ipynb"
    nb = json.loads(nb_path.read_text())
    next(c for c in nb["cells"] if c["cell_type"] == "code")["execution_count"] = 1
    nb_path.write_text(json.dumps(nb))
    out = subprocess.run(
        [sys.executable, str(tmp_path / "tools" / "check_conventions.py")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 1 and "stored outputs" in out.stdout, out.stdout


def test_api_page_documents_every_module():
    api = (ROOT / "book" / "api.md").read_text()
    assert len(re.findall(r"^```", api, re.M)) % 2 == 0, "book/api.md has an unclosed code fence"
    for py in sorted((ROOT / "companion").rglob("*.py")):
        rel = py.relative_to(ROOT).with_suffix("")
        if (
            any(part.startswith("_") and part != "__init__" for part in rel.parts)
            or rel.name == "__main__"
        ):
            continue
        module = ".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)
        if module == "companion":
            continue
        assert f"automodule:: {module}\n" in api, f"book/api.md does not document {module}"
