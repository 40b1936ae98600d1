"""The Reproductions page: rendered from results/*.json, and built by Sphinx with -W."""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path

import jsonschema
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "book" / "_ext"))
import reproductions as P  # noqa: E402

sys.path.pop(0)

SCHEMA = json.loads((ROOT / "results" / "schema.json").read_text())

FULL = {
    "chapter": "09_tiny",
    "mode": "full",
    "date": "2026-11-30T10:00:00Z",
    "device": {"type": "cpu", "name": "x86_64", "cpu_count": "2"},
    "versions": {"python": "3.11.7", "torch": "2.13.0", "e3nn": "0.6.0", "companion": "0.1.0"},
    "wall_seconds": 1234.5,
    "load_average": {"start": 3.5, "end": 4.25},
    "completed": True,
    "error": None,
    "claims": [
        {"claim": "err < 1e-05", "passed": True, "message": None, "values": {"err": 3.25e-07}},
        {
            "claim": "fa_mse < aug_mse",
            "passed": False,
            "message": "FA 0.0317 vs aug 0.0164",
            "values": {"fa_mse": 0.0317, "aug_mse": 0.0164},
        },
        {
            "claim": "for n in sizes | extra:\n    assert n",
            "passed": True,
            "message": None,
            "values": {},
        },
    ],
    "all_claims_hold": False,
}


def _write(folder: Path, record: dict) -> None:
    jsonschema.validate(record, SCHEMA)
    suffix = {"full": "", "smoke": ".smoke", "small": ".small"}[record["mode"]]
    (folder / f"{record['chapter']}{suffix}.json").write_text(json.dumps(record))


def _results(tmp_path: Path) -> Path:
    results = tmp_path / "results"
    results.mkdir()
    (results / "schema.json").write_text(json.dumps(SCHEMA))
    _write(results, FULL)
    small = copy.deepcopy(FULL) | {"mode": "small", "wall_seconds": 20.0}
    small["claims"][1] |= {"passed": True, "values": {"fa_mse": 0.021, "aug_mse": 0.034}}
    small["all_claims_hold"] = True
    _write(results, small)
    smoke = copy.deepcopy(FULL) | {"chapter": "08_big", "mode": "smoke", "wall_seconds": 60.0}
    smoke["smoke"] = {
        "steps": 5,
        "projected_wall_seconds": 9000.0,
        "loops": [
            {
                "desc": "training",
                "total": 20000,
                "done": 5,
                "seconds": 2.5,
                "first_step_seconds": 0.5,
                "seconds_per_step": 0.5,
                "projected_seconds": 9000.0,
            }
        ],
    }
    _write(results, smoke)
    return results


def test_render_shows_each_claim_at_both_scales_and_marks_smoke_runs(tmp_path):
    text = P.render(_results(tmp_path))
    tiny = text[text.index("## 09_tiny") :]
    row = next(line for line in tiny.splitlines() if "fa_mse < aug_mse" in line)
    cells = [c.strip() for c in row.strip("|").split(" | ")]
    assert cells[1:5] == [
        "fa_mse = 0.0317; aug_mse = 0.0164",
        "**fails**",
        "fa_mse = 0.021; aug_mse = 0.034",
        "holds",
    ]
    assert "err = 3.25e-07" in tiny and "1,234 s (21 min) at load average 3.5 → 4.2" in tiny
    assert "\\|" in tiny and "(block of checks)" in tiny  # a pipe in a claim is escaped
    big = text[text.index("## 08_big") : text.index("## 09_tiny")]
    assert "Paper-scale numbers not yet recorded" in big and "claims hold" not in big
    assert "| training | 5 / 20,000 | 0.5 s | 9,000 s (150 min) |" in big
    assert "9,000 s (150 min) projected" in text  # the summary table


def test_a_full_run_that_stopped_leaves_the_chapter_unrecorded(tmp_path):
    """Its run line stays; the smoke loops and the small-scale claims are what is shown."""
    results = _results(tmp_path)
    stopped = copy.deepcopy(FULL) | {
        "chapter": "08_big",
        "completed": False,
        "error": "CellTimeoutError: A cell timed out",
        "claims": [],
        "all_claims_hold": False,
    }
    _write(results, stopped)
    small = copy.deepcopy(FULL) | {"chapter": "08_big", "mode": "small", "wall_seconds": 20.0}
    _write(results, small)
    text = P.render(results)
    big = text[text.index("## 08_big") : text.index("## 09_tiny")]
    assert "did not reach its claims cell; stopped with `CellTimeoutError" in big
    assert "not yet recorded (the full run above stopped)" in big
    assert "| training | 5 / 20,000 | 0.5 s | 9,000 s (150 min) |" in big
    assert "not in the full record" not in big
    row = next(line for line in big.splitlines() if "fa_mse < aug_mse" in line)
    assert row.split(" | ")[1:3] == ["—", "—"]  # no full-scale numbers, small ones follow
    assert "stopped after 1,234 s (21 min) cpu" in text  # the summary table


def test_paper_numbers_come_from_the_table_of_published_values():
    assert P._paper("03_frame_averaging", "0.5 < mse_linear / 0.0819 < 2").startswith("Linear")
    assert P._paper("03_frame_averaging", "gap_teach < 1e-05") == "—"
    assert P._paper("09_tiny", "anything") == "—"


def test_a_misnamed_record_is_an_error(tmp_path):
    results = _results(tmp_path)
    (results / "09_tiny.json").rename(results / "07_other.json")
    with pytest.raises(ValueError, match="07_other.json"):
        P.load_records(results)


def test_committed_records_render():
    text = P.render(ROOT / "results", ROOT / "notebooks")
    for path in (ROOT / "results").glob("*.json"):
        if path.name != "schema.json":
            chapter = json.loads(path.read_text())["chapter"]
            assert f"notebooks/{chapter}>" in text, f"{chapter} missing from the page"


def test_page_builds_with_sphinx_from_the_files(tmp_path):
    sphinx = pytest.importorskip("sphinx.application")
    src = tmp_path / "src"
    src.mkdir()
    _results(src)
    (src / "conf.py").write_text(
        f"import sys\nsys.path.insert(0, {str(ROOT / 'book' / '_ext')!r})\n"
        "extensions = ['myst_parser', 'reproductions']\n"
        "exclude_patterns = ['results']\n"
        "myst_enable_extensions = ['colon_fence']\n"
    )
    page = (ROOT / "book" / "reproductions.md").read_text()
    assert P.MARKER in page
    (src / "index.md").write_text(page)
    app = sphinx.Sphinx(
        str(src),
        str(src),
        str(tmp_path / "html"),
        str(tmp_path / "doctrees"),
        "html",
        status=None,
        warningiserror=True,
        freshenv=True,
    )
    app.build()
    html = (tmp_path / "html" / "index.html").read_text()
    assert html.count("<table") == 3  # the summary and one table per chapter with claims
    assert "fa_mse = 0.0317" in html and "not yet recorded" in html
    assert "reproductions: the tables" not in html
