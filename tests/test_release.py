"""Release engineering: workflows, version, citation, distribution, lint configuration."""

from __future__ import annotations

import json
import re
import shutil
import site
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import jsonschema
import pytest
import yaml

import companion

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: the same parser, from PyPI (declared in the test extra)
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
DIST_NAME = "symmetry-structure-companion"
WORKFLOWS = ROOT / ".github" / "workflows"
# The CFF 1.2.0 JSON schema (CC-BY-4.0, citation-file-format.github.io), as shipped by
# cffconvert 2.0.0; cffconvert itself pins jsonschema<4, which Jupyter cannot use.
CFF_SCHEMA = Path(__file__).parent / "data" / "citation-cff-1.2.0.schema.json"
# The paper each chapter reproduces (chapter 5 has two), as keys of book/references.bib.
CHAPTER_PAPERS = [
    "kim2023soft",
    "mironenco2024lie",
    "puny2022frame",
    "luo2024gaunt",
    "laborieux2022holomorphic",
    "laborieux2024homeostasis",
    "yang2023ood",
]


def _tool(name: str) -> str:
    """A console script of the lint extra: beside this interpreter, else on PATH."""
    exe = Path(sys.executable).parent / name
    found = str(exe) if exe.exists() else shutil.which(name)
    assert found, f"{name} is not installed: install the lint extra (pip install -e '.[lint]')"
    return found


# ----------------------------------------------------------------------------- workflows


def test_the_four_workflows_exist():
    names = {p.stem for p in WORKFLOWS.glob("*.yml")}
    assert {"test", "book", "drift", "lowest"} <= names, names


def test_workflows_pass_actionlint():
    files = sorted(str(p) for p in WORKFLOWS.glob("*.yml"))
    out = subprocess.run(
        [_tool("actionlint"), "-no-color", *files],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_actionlint_rejects_a_broken_workflow(tmp_path):
    # The check above must be able to fail: an unknown key and an undefined step output.
    bad = tmp_path / ".github" / "workflows" / "bad.yml"
    bad.parent.mkdir(parents=True)
    bad.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    step:\n      - run: echo\n"
    )
    out = subprocess.run(
        [_tool("actionlint"), "-no-color", str(bad)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert out.returncode == 1 and "bad.yml" in out.stdout, out.stdout + out.stderr


def test_workflows_run_make_test_and_the_lowest_one_uses_the_constraints():
    text = {p.stem: p.read_text() for p in WORKFLOWS.glob("*.yml")}
    for name in ("test", "drift", "lowest"):
        assert re.search(r"^\s*make test\b", text[name], re.M), f"{name}.yml must run make test"
    assert "tools/constraints-lowest.txt" in text["lowest"]
    matrix = yaml.safe_load(text["test"])["jobs"]["test"]["strategy"]["matrix"]
    assert "3.10" in matrix["python-version"], "the test matrix must include Python 3.10"
    assert "actions/deploy-pages" in text["book"]


# ------------------------------------------------------------- lowest versions, lint config


def _lowest():
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import lowest_constraints
    finally:
        sys.path.pop(0)
    return lowest_constraints


def test_lowest_constraints_file_matches_pyproject():
    lc = _lowest()
    assert (ROOT / "tools" / "constraints-lowest.txt").read_text() == lc.constraints(), (
        "tools/constraints-lowest.txt is out of date: run python tools/lowest_constraints.py"
    )


def test_lowest_constraints_parse_floors_pins_and_markers():
    lc = _lowest()
    assert lc.floor_pin("torch>=2.2") == "torch==2.2"
    assert lc.floor_pin("jupyter-book>=1.0.4,<2") == "jupyter-book==1.0.4"
    assert lc.floor_pin("ruff==0.17.6") == "ruff==0.17.6"
    assert lc.floor_pin("Foo_Bar[x]>=1; python_version < '3.11'") == (
        "foo-bar==1; python_version < '3.11'"
    )
    assert lc.floor_pin("numpy<3") is None
    with pytest.raises(ValueError, match="more than one lower bound"):
        lc.floor_pin("numpy>=1,>=2")
    with pytest.raises(ValueError, match="not understood"):
        lc.floor_pin("@@")


def test_every_runtime_dependency_has_a_floor():
    # A floor nobody can test is no floor: each dependency must declare one.
    lc = _lowest()
    for req in PYPROJECT["project"]["dependencies"]:
        assert lc.floor_pin(req) is not None, f"{req} has no lower bound"


def test_precommit_uses_the_pinned_ruff_and_mypy_from_the_venv():
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    pins = dict(
        r.split("==") for r in PYPROJECT["project"]["optional-dependencies"]["lint"] if "==" in r
    )
    ruff = next(r for r in config["repos"] if r["repo"].endswith("ruff-pre-commit"))
    assert ruff["rev"] == f"v{pins['ruff']}", "pre-commit's ruff differs from the lint extra"
    local = {h["id"] for r in config["repos"] if r["repo"] == "local" for h in r["hooks"]}
    assert {"mypy", "actionlint"} <= local
    out = subprocess.run(
        [_tool("pre-commit"), "validate-config", ".pre-commit-config.yaml"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_makefile_test_runs_lint():
    make = (ROOT / "Makefile").read_text()
    assert re.search(r"^test: lint\b", make, re.M)
    lint = make.split("\nlint:")[1].split("\n\n")[0]
    for step in ("ruff check", "ruff format --check", "mypy"):
        assert step in lint, f"make lint lacks {step}"


def test_notebook_cells_are_held_to_85_columns():
    # E501 in notebooks at 85 (the book's code column); ruff check enforces it in make lint.
    nb_cfg = tomllib.loads((ROOT / "notebooks" / "ruff.toml").read_text())
    assert nb_cfg["line-length"] == 85 and nb_cfg["lint"]["pycodestyle"]["max-line-length"] == 85
    assert "E" in PYPROJECT["tool"]["ruff"]["lint"]["select"]
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        nb = json.loads(path.read_text())
        for cell in nb["cells"]:
            if cell["cell_type"] == "code":
                for line in "".join(cell["source"]).splitlines():
                    assert len(line) <= 85, f"{path.name}: {len(line)} columns: {line}"


# ---------------------------------------------------------------------- version, citation


def test_version_is_written_once():
    project = PYPROJECT["project"]
    assert "version" not in project and "version" in project["dynamic"]
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {
        "attr": "companion.__version__"
    }
    assert re.fullmatch(r"\d+\.\d+\.\d+", companion.__version__)


def test_release_tag_changelog_and_citation_agree_with_the_version():
    version = companion.__version__
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert "## [Unreleased]" in changelog, "CHANGELOG.md keeps an [Unreleased] section"
    assert re.search(rf"^## \[{re.escape(version)}\] - \d{{4}}-\d{{2}}-\d{{2}}$", changelog, re.M)
    assert re.search(rf"^\[{re.escape(version)}\]: .*v{re.escape(version)}$", changelog, re.M)
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert str(cff["version"]) == version
    url = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        nb = json.loads(path.read_text())
        setup = "".join(next(c for c in nb["cells"] if c["cell_type"] == "code")["source"])
        assert f'"git+{url}@v{version}"' in setup, (
            f"{path.name}: the Colab install must pin the release tag v{version}"
        )
        assert f'%pip install -q "{DIST_NAME} @ {{release}}"' in setup, (
            f"{path.name}: the Colab install must name the distribution {DIST_NAME}"
        )


def test_distribution_name_is_used_everywhere():
    assert PYPROJECT["project"]["name"] == DIST_NAME
    readme = (ROOT / "README.md").read_text()
    assert f'pip install "{DIST_NAME} @ git+' in readme
    assert "not run `pip install companion`" in readme, "README must warn against it"
    assert DIST_NAME in (ROOT / "environment.yml").read_text()
    assert DIST_NAME in (ROOT / "CONTRIBUTING.md").read_text()


def _validate_cff(data: dict) -> None:
    schema = json.loads(CFF_SCHEMA.read_text())
    jsonschema.validate(data, schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)


def test_citation_cff_is_valid():
    _validate_cff(yaml.safe_load((ROOT / "CITATION.cff").read_text()))


def test_citation_cff_schema_rejects_broken_metadata():
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    del cff["authors"]
    with pytest.raises(jsonschema.ValidationError, match="authors"):
        _validate_cff(cff)
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    cff["references"][0]["type"] = "not-a-type"
    with pytest.raises(jsonschema.ValidationError):
        _validate_cff(cff)


def _bib_entries() -> dict[str, str]:
    """``key -> field text`` of each entry of book/references.bib."""
    bib = (ROOT / "book" / "references.bib").read_text()
    return {m.group(1): m.group(2) for m in re.finditer(r"@\w+\{([^,]+),(.*?)\n\}", bib, re.S)}


def _strip(tex: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"[{}]", "", tex)).strip()


def test_citation_cites_each_chapters_paper_as_in_the_bibliography():
    entries = _bib_entries()
    refs = yaml.safe_load((ROOT / "CITATION.cff").read_text())["references"]
    titles = {_strip(r["title"]): r for r in refs}
    for key in CHAPTER_PAPERS:
        fields = entries[key]
        title = _strip(re.search(r"title\s*=\s*\{(.*)\},?\s*\n", fields).group(1))
        assert title in titles, f"CITATION.cff does not cite {key}: {title}"
        year = int(re.search(r"year\s*=\s*\{(\d+)\}", fields).group(1))
        assert titles[title]["year"] == year, key
        first = titles[title]["authors"][0]["family-names"]
        assert first.split()[0] in _strip(fields), f"{key}: first author {first}"
    assert len(refs) == len(CHAPTER_PAPERS)


# -------------------------------------------------------------------------------- wheel


def test_wheel_installs_outside_the_checkout_and_loads_the_weights(tmp_path):
    # Build from a copy of what the wheel is made of, so the checkout gets no build/ folder.
    src = tmp_path / "src"
    shutil.copytree(
        ROOT / "companion", src / "companion", ignore=shutil.ignore_patterns("__pycache__")
    )
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, src / name)
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation"]
        + ["-w", str(wheels), str(src)],
        check=True,
        timeout=300,
    )
    (wheel,) = wheels.glob("*.whl")
    assert wheel.name.startswith(f"{DIST_NAME.replace('-', '_')}-{companion.__version__}-")
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        metadata = zf.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert f"Name: {DIST_NAME}\n" in metadata and f"Version: {companion.__version__}\n" in metadata
    # Every chapter's shipped weights and their records, in nested folders too.
    shipped = {
        p.relative_to(ROOT).as_posix()
        for folder in (ROOT / "companion").glob("*/weights")
        for p in folder.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    assert len({n.split("/")[1] for n in shipped}) >= 2
    assert shipped <= set(names) and "companion/py.typed" in names
    assert not [n for n in names if n.startswith(("tests/", "notebooks/", "benchmarks/"))]

    # A clean environment that borrows this one's libraries (torch is large) through a .pth
    # file, but not its editable `companion`: .pth files in borrowed folders are not run.
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)
    py = env_dir / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    purelib = subprocess.run(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    Path(purelib, "_borrowed.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(py), "install", "-q", "--no-deps"]
        + ["--no-index", str(wheel)],
        check=True,
        timeout=300,
    )
    code = (
        "import json, companion\n"
        "from companion.inversion.generator import fingerprint, load_generator, "
        "load_fingerprint\n"
        "from companion.inversion.detector import load_detector\n"
        "g = load_generator()\n"
        "load_detector('method')\n"
        "err = max(abs(a - b) for a, b in zip(fingerprint(g), load_fingerprint()['fingerprint']))\n"
        "print(json.dumps({'file': companion.__file__, 'version': companion.__version__,"
        " 'err': err}))\n"
    )
    out = subprocess.run(
        [str(py), "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=300
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert Path(result["file"]).is_relative_to(env_dir), result["file"]
    assert result["version"] == companion.__version__
    assert result["err"] < 1e-5, result
