"""The course kit: exercises with solutions, prerequisites and summaries, the syllabus, and the
autograded assignments.

Counts are read from the notebooks, never typed here. The assignment tests build every
chapter's student notebook and autograder with otter-grader (what ``make course`` does) and
grade three submissions with ``otter run`` (local, no Docker): the reference solutions, the
untouched student notebook, and one with answers of the wrong type or shape. They need the
``course`` extra (``pip install -e ".[course]"``, which ``make test`` installs) and skip
without it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
CHAPTERS = [p.stem for p in NOTEBOOKS]
COURSE = ROOT / "course"

EXERCISE = re.compile(r"^`{3,}\{exercise\}[ \t]*(?P<title>.*)\n:label:[ \t]*(?P<label>\S+)", re.M)
SOLUTION = re.compile(
    r"^`{3,}\{solution(?P<gated>-start)?\}[ \t]*(?P<label>\S+)\n(?P<opts>(?::.*\n)*)", re.M
)
SOLUTION_END = re.compile(r"^`{3,}\{solution-end\}", re.M)
DIFFICULTY = re.compile(r"\((?P<stars>★{1,3}☆{0,2}), (?P<time>[^)]*)\)\s*$")
TIME = re.compile(r"^(\d+ min|\d+ min \+ .+|\d+ hours?(, .+)?|several hours(, .+)?|hours of .+)$")
QUESTION = re.compile(r"^\*\*Question (\d+) \((?P<kind>[^)]+)\)\.\*\*", re.M)


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _source(cell: dict) -> str:
    return "".join(cell["source"])


def _markdown(path: Path) -> str:
    return "\n".join(_source(c) for c in _cells(path) if c["cell_type"] == "markdown")


# ----------------------------------------------------------------------------- exercises


@pytest.mark.parametrize("path", NOTEBOOKS, ids=CHAPTERS)
def test_every_exercise_has_difficulty_time_and_one_folded_solution(path):
    text = _markdown(path)
    exercises = {m["label"]: m["title"] for m in EXERCISE.finditer(text)}
    assert exercises, f"{path.name} has no {{exercise}} directives"
    assert len(exercises) == len(EXERCISE.findall(text)), f"{path.name}: duplicate exercise labels"
    prefix = f"ch{int(path.name[:2])}-"
    for label, title in exercises.items():
        assert label.startswith(prefix), f"{path.name}: label {label} should start with {prefix}"
        m = DIFFICULTY.search(title)
        assert m, f"{path.name} {label}: title {title!r} lacks '(★★☆, 30 min)'"
        assert len(m["stars"]) == 3, (
            f"{path.name} {label}: difficulty needs 3 symbols, got {m['stars']}"
        )
        assert TIME.match(m["time"]), f"{path.name} {label}: time estimate {m['time']!r}"
    solutions = [(m["label"], m["gated"], m["opts"]) for m in SOLUTION.finditer(text)]
    labels = [s[0] for s in solutions]
    assert sorted(labels) == sorted(exercises), (
        f"{path.name}: exercises {sorted(exercises)} vs solutions {sorted(labels)}"
    )
    for label, _, opts in solutions:
        assert ":class: dropdown" in opts, (
            f"{path.name} {label}: the solution must be hidden (dropdown)"
        )
    n_gated = sum(1 for s in solutions if s[1])
    assert len(SOLUTION_END.findall(text)) == n_gated, f"{path.name}: unbalanced solution-start/end"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=CHAPTERS)
def test_solution_code_sits_inside_its_solution_and_asserts(path):
    """Code cells between solution-start and solution-end are the computed solutions."""
    inside, gated_code = False, []
    for cell in _cells(path):
        text = _source(cell)
        if cell["cell_type"] == "markdown":
            if "{solution-start}" in text:
                assert not inside, f"{path.name}: solution-start inside a solution"
                inside = True
            if "{solution-end}" in text:
                assert inside, f"{path.name}: solution-end without solution-start"
                inside = False
        elif inside:
            gated_code.append(text)
    assert not inside, f"{path.name}: a solution is not closed"
    for code in gated_code:
        assert "assert" in code or "print" in code, f"{path.name}: a solution cell shows nothing"
    assert any("assert" in code for code in gated_code), (
        f"{path.name}: no solution asserts a number"
    )


# ----------------------------------------------------------------------------- chapter frame


@pytest.mark.parametrize("path", NOTEBOOKS, ids=CHAPTERS)
def test_prerequisites_summary_and_claims_heading(path):
    cells = _cells(path)
    box = _source(cells[1])
    assert cells[1]["cell_type"] == "markdown" and "Before you start" in box, (
        f"{path.name}: the cell after the title must be the prerequisites box"
    )
    flat = " ".join(box.split())
    for needle in (
        "../book/notation",
        "../book/syllabus",
        "Reading time",
        "Run time",
        "2 CPU cores",
    ):
        assert needle in flat, f"{path.name}: the prerequisites box lacks {needle!r}"
    if path.name[:2] != "00":
        assert "00_symmetry_primer" in box, f"{path.name}: the box should link the primer"
    summary = [_source(c) for c in cells if _source(c).startswith("## Summary")]
    assert len(summary) == 1, f"{path.name}: needs one '## Summary' section"
    bullets = re.findall(r"^- ", summary[0], re.M)
    assert 5 <= len(bullets) <= 8, f"{path.name}: the summary has {len(bullets)} takeaways, not 5-8"
    code = [i for i, c in enumerate(cells) if c["cell_type"] == "code"]
    before_claims = cells[code[-1] - 1]
    assert before_claims["cell_type"] == "markdown" and _source(before_claims).startswith(
        "## Claims checked"
    ), f"{path.name}: the claims cell needs its own '## Claims checked' heading right above it"
    assert len(_source(before_claims).split("\n\n", 1)[-1].strip()) > 40, (
        f"{path.name}: say in a sentence what the claims cell asserts"
    )


def test_syllabus_is_in_the_toc_and_draws_its_figure_offline():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [ch["file"] for part in toc["parts"] for ch in part["chapters"]]
    assert "book/syllabus" in files
    text = (ROOT / "book" / "syllabus.md").read_text(encoding="utf-8")
    for chapter in CHAPTERS:
        assert f"notebooks/{chapter}" in text, f"the syllabus does not link {chapter}"
    for needle in ("7-week", "13-week", "Prerequisites", "learning-path.svg", "make course"):
        assert needle in text, f"the syllabus lacks {needle!r}"
    svg = ROOT / "book" / "learning-path.svg"
    assert svg.read_text(encoding="utf-8").lstrip().startswith("<svg"), (
        "learning-path.svg is not an SVG"
    )
    assert "http" not in svg.read_text(encoding="utf-8").replace(
        "http://www.w3.org/2000/svg", ""
    ), "the learning-path figure must not reference anything online"


def test_learning_path_figure_is_up_to_date():
    from companion.viz import learning_path_svg

    assert (ROOT / "book" / "learning-path.svg").read_text(
        encoding="utf-8"
    ) == learning_path_svg(), (
        "book/learning-path.svg is stale: run `python -m companion.viz` (see book/syllabus.md)"
    )


# ----------------------------------------------------------------------------- assignments


def _questions(master: Path) -> list[tuple[str, str]]:
    """(kind, hidden-test source) per question of an otter-assign master notebook."""
    cells, out, i = _cells(master), [], 0
    while i < len(cells):
        if cells[i]["cell_type"] == "raw" and _source(cells[i]).startswith("# BEGIN QUESTION"):
            kind, tests, j = None, [], i + 1
            while not _source(cells[j]).startswith("# END QUESTION"):
                m = QUESTION.match(_source(cells[j]))
                if m:
                    kind = m["kind"]
                if cells[j]["cell_type"] == "code" and "hidden: true" in _source(cells[j]):
                    tests.append(_source(cells[j]))
                j += 1
            out.append((kind, "\n".join(tests)))
            i = j
        i += 1
    return out


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_assignment_source_has_numeric_and_conceptual_questions(chapter):
    master = COURSE / f"{chapter}.ipynb"
    assert master.exists(), f"no assignment source course/{chapter}.ipynb"
    questions = _questions(master)
    assert len(questions) >= 3, f"{chapter}: {len(questions)} graded questions, at least 3 needed"
    kinds = [k for k, _ in questions]
    assert None not in kinds, f"{chapter}: every question states its kind"
    numeric = [t for k, t in questions if k == "numeric"]
    assert numeric and any(re.search(r"abs\(.*\) < ", t) for t in numeric), (
        f"{chapter}: needs a numeric question checked with a tolerance"
    )
    assert "conceptual" in kinds, f"{chapter}: needs a conceptual question"
    assert all(t for _, t in questions), f"{chapter}: every question needs hidden value tests"


OFFLINE = {
    "http_proxy": "http://127.0.0.1:9",
    "https_proxy": "http://127.0.0.1:9",
    "HTTP_PROXY": "http://127.0.0.1:9",
    "HTTPS_PROXY": "http://127.0.0.1:9",
    "PIP_NO_INDEX": "1",
    "OMP_NUM_THREADS": "1",
}


def _otter(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("otter")
    env = {**os.environ, **OFFLINE}
    return subprocess.run(
        [str(exe), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )


def _grade(zip_path: Path, submission: Path, out: Path) -> dict[str, tuple[float, float, str]]:
    out.mkdir()
    proc = _otter("run", "--no-logo", "-a", str(zip_path), "-o", str(out), str(submission), cwd=out)
    assert proc.returncode == 0, f"otter run crashed on {submission.name}:\n{proc.stderr[-2000:]}"
    results = json.loads((out / "results.json").read_text())
    return {
        t["name"]: (float(t.get("score") or 0), float(t["max_score"]), t.get("output", ""))
        for t in results["tests"]
        if t.get("max_score") is not None
    }


def _wrong_answers(student: Path, dest: Path) -> None:
    """Replace every `name = ...` placeholder by a value of the wrong type or shape."""
    nb = json.loads(student.read_text(encoding="utf-8"))
    wrong = iter(['"not a number"', "[[1.0, 2.0], [3.0, 4.0]]", "torch.zeros(7, 7)", "None"] * 20)
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            src = _source(cell)
            src = re.sub(r"^(\s*\w+ = )\.\.\.$", lambda m: m[1] + next(wrong), src, flags=re.M)
            cell["source"] = src.splitlines(keepends=True)
    dest.write_text(json.dumps(nb), encoding="utf-8")


@pytest.mark.slow
@pytest.mark.parametrize("chapter", CHAPTERS)
def test_autograder_builds_offline_and_grades(chapter, tmp_path):
    pytest.importorskip(
        "otter", reason='the course extra is not installed: pip install -e ".[course]"'
    )
    built = tmp_path / "dist"
    proc = _otter(
        "assign", "--no-run-tests", str(COURSE / f"{chapter}.ipynb"), str(built), cwd=tmp_path
    )
    assert proc.returncode == 0, f"otter assign failed:\n{proc.stderr[-2000:]}"
    student = built / "student" / f"{chapter}.ipynb"
    reference = built / "autograder" / f"{chapter}.ipynb"
    (zip_path,) = (built / "autograder").glob("*.zip")
    assert student.exists() and reference.exists()
    student_text = student.read_text(encoding="utf-8")
    assert "# SOLUTION" not in student_text and "BEGIN SOLUTION" not in student_text
    assert "= ..." in student_text, "the student version should have placeholders"

    ref = _grade(zip_path, reference, tmp_path / "reference")
    assert ref and all(s == m for s, m, _ in ref.values()), (
        f"reference solutions lose points: { {k: v[:2] for k, v in ref.items()} }"
    )

    untouched = _grade(zip_path, student, tmp_path / "untouched")
    assert sum(s for s, _, _ in untouched.values()) < sum(m for _, m, _ in untouched.values())
    feedback = "\n".join(o for *_, o in untouched.values())
    assert re.search(r"AssertionError: \w+.* should be", feedback), (
        "the untouched notebook should get readable messages such as 'q1_x should be a number'"
    )

    wrong = tmp_path / f"{chapter}_wrong.ipynb"
    _wrong_answers(student, wrong)
    graded = _grade(zip_path, wrong, tmp_path / "wrong")
    assert set(graded) == set(ref), "every question must be graded even with wrong answers"
    assert sum(s for s, _, _ in graded.values()) < sum(m for _, m, _ in graded.values())


def test_learning_path_svg_validates_its_arguments():
    from companion.viz import learning_path_svg

    svg = learning_path_svg(["a", "b", "c"], [(0, 1), (1, 2)], [(0, 2, "x < y & z")])
    assert svg.startswith("<svg") and svg.count("<rect") == 3 and "x &lt; y &amp; z" in svg
    assert svg == learning_path_svg(["a", "b", "c"], [(0, 1), (1, 2)], [(0, 2, "x < y & z")])
    with pytest.raises(TypeError, match="titles"):
        learning_path_svg("abc")
    with pytest.raises(TypeError, match="titles"):
        learning_path_svg(["a", ""])
    with pytest.raises(ValueError, match="titles"):
        learning_path_svg([])
    with pytest.raises(TypeError, match="requires"):
        learning_path_svg(["a", "b"], [(0, 1.0)])
    with pytest.raises(ValueError, match="requires index 2"):
        learning_path_svg(["a", "b"], [(0, 2)])
    with pytest.raises(ValueError, match="itself"):
        learning_path_svg(["a", "b"], [(1, 1)])
    with pytest.raises(ValueError, match="cycle"):
        learning_path_svg(["a", "b"], [(0, 1), (1, 0)])
    with pytest.raises(TypeError, match="labels"):
        learning_path_svg(["a", "b"], [], [(0, 1, 3)])


SYLLABUS_ROW = re.compile(
    r"^\| \{doc\}`[^<]*<\.\./notebooks/(?P<nb>[^>]+)>` \|[^|]*\|[^|]*\|[^|]*\| "
    r"(?P<n>\d+) \((?P<s1>\d+) / (?P<s2>\d+) / (?P<s3>\d+)\) \| (?P<mins>\d+) min[^|]*\| "
    r"(?P<q>\d+) questions \|$",
    re.M,
)


def test_syllabus_table_agrees_with_the_notebooks_and_assignments():
    rows = {m["nb"]: m for m in SYLLABUS_ROW.finditer((ROOT / "book" / "syllabus.md").read_text())}
    assert sorted(rows) == CHAPTERS, f"the syllabus table lists {sorted(rows)}"
    for path in NOTEBOOKS:
        row, text = rows[path.stem], _markdown(path)
        titles = [m["title"] for m in EXERCISE.finditer(text)]
        stars = [DIFFICULTY.search(t)["stars"].count("★") for t in titles]
        minutes = sum(
            int(t) for t in re.findall(r"\((?:★+☆*), (\d+) min\)\s*$", "\n".join(titles), re.M)
        )
        assert int(row["n"]) == len(titles), f"{path.stem}: exercise count"
        assert [int(row[f"s{k}"]) for k in (1, 2, 3)] == [stars.count(k) for k in (1, 2, 3)], (
            path.stem
        )
        assert int(row["mins"]) == minutes, (
            f"{path.stem}: {row['mins']} min in the table, {minutes} in the notebook"
        )
        assert int(row["q"]) == len(_questions(COURSE / f"{path.stem}.ipynb")), (
            f"{path.stem}: questions"
        )
