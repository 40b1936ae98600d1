"""`make full` machinery: claims evaluated claim by claim, smoke mode, results schema."""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path

import jsonschema
import nbformat
import numpy as np
import pytest
import torch

from companion import utils

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import claims as C  # noqa: E402
import full_run as R  # noqa: E402

sys.path.pop(0)

SCHEMA = json.loads((ROOT / "results" / "schema.json").read_text())
RESULTS = sorted(p for p in (ROOT / "results").glob("*.json") if p.name != "schema.json")


def test_claims_are_evaluated_one_by_one_with_their_numbers():
    ns = {"err": torch.tensor(3e-7), "acc": np.float64(0.91), "gap": 0.02, "stats": {"n": 5}}
    ns["errs"] = {"a": 0.5, "b": 0.25}
    src = (
        "limit = 1e-5\n"
        "print('checking')\n"
        'assert err < limit, f"error {float(err):.1e}"\n'
        'assert gap > 0.1, f"gap {gap:.2f}"\n'
        "assert acc > 0.9 and stats['n'] == 5\n"
        "assert max(errs.values()) < 1, 'all errors below 1'\n"
        "assert undefined_name > 0\n"
        'assert gap < 1, "still evaluated after failures"\n'
    )
    records = C.evaluate_claims(src, ns)
    assert [r["passed"] for r in records] == [True, False, True, True, False, True]
    assert records[0]["claim"] == "err < limit"
    assert records[0]["message"] == "error 3.0e-07"
    assert records[0]["values"] == pytest.approx({"err": 3e-7, "limit": 1e-5})
    assert records[1]["values"] == {"gap": 0.02} and records[1]["message"] == "gap 0.02"
    assert records[2]["values"] == {"acc": 0.91, "stats['n']": 5}  # the dict itself is no number
    assert records[2]["message"] is None
    assert records[3]["values"] == {"max(errs.values())": 0.5}
    # a comprehension's variable is not a global of the same name
    ns["k"] = 3
    (rec,) = C.evaluate_claims("assert all(errs[k] < 1 for k in errs) and gap < 1", ns)
    assert rec["passed"] and rec["values"] == {"gap": 0.02}
    (rec,) = C.evaluate_claims("assert max(errs[k] for k in errs) < 1", ns)
    assert rec["values"] == {"max((errs[k] for k in errs))": 0.5}
    assert records[4]["error"].startswith("NameError")
    json.dumps(records)  # plain JSON


def test_blocks_of_asserts_and_failing_statements_are_recorded():
    src = (
        "x = 1 / 0\n"
        "for v in (1, 2):\n    assert v > 0\n"
        "for v in (1, -2):\n    assert v > 0, f'v = {v}'\n"
        "assert True\n"
    )
    records = C.evaluate_claims(src, {})
    assert [r["passed"] for r in records] == [False, True, False, True]
    assert records[0]["error"].startswith("ZeroDivisionError")
    assert records[1]["claim"].startswith("for v in (1, 2)")
    assert records[2]["message"] == "v = -2" and "error" not in records[2]


def test_smoke_mode_cuts_every_progress_loop_and_times_it(tmp_path, monkeypatch):
    log = tmp_path / "smoke.jsonl"
    monkeypatch.setenv("COMPANION_SMOKE", "3")
    monkeypatch.setenv("COMPANION_SMOKE_LOG", str(log))
    assert list(utils.progress(range(10), desc="a")) == [0, 1, 2]
    assert list(utils.progress(iter(range(2)), desc="b")) == [0, 1]  # shorter than 3
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(r["desc"], r["total"], r["done"]) for r in lines] == [("a", 10, 3), ("b", None, 2)]
    assert all(0 <= r["first_step_seconds"] <= r["seconds"] for r in lines)
    monkeypatch.setenv("COMPANION_SMOKE", "0")
    with pytest.raises(ValueError, match="COMPANION_SMOKE"):
        utils.progress(range(3))
    monkeypatch.setenv("COMPANION_SMOKE", "")
    assert list(utils.progress(range(4))) == [0, 1, 2, 3]


def _tiny_notebook(path: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [
        nbformat.v4.new_markdown_cell("# 9. Tiny"),
        nbformat.v4.new_code_cell(
            "import os\nfrom companion import pick, progress\n"
            "steps = pick(small=5, full=40)\n"
            "done = sum(1 for _ in progress(range(steps), desc='train'))\n"
            "scale = os.environ['COMPANION_SCALE']"
        ),
        nbformat.v4.new_code_cell(
            'assert scale == "full", scale\n'
            'assert done == steps, f"{done} of {steps} steps"\n'
            'assert done < 0, "a claim that fails"'
        ),
    ]
    nbformat.write(nb, path)
    return path


@pytest.mark.allow_hosts(["127.0.0.1"])  # the kernel talks to us over localhost only
def test_run_notebook_records_full_and_smoke_runs(tmp_path):
    path = _tiny_notebook(tmp_path / "09_tiny.ipynb")
    full = R.run_notebook(path, timeout=300)
    R.validate(full)
    assert full["mode"] == "full" and full["completed"] and full["error"] is None
    assert [c["passed"] for c in full["claims"]] == [True, True, False]
    assert full["claims"][1]["values"] == {"done": 40, "steps": 40}
    assert not full["all_claims_hold"] and "smoke" not in full
    assert full["versions"]["torch"] == torch.__version__
    assert all(v is None or v >= 0 for v in full["load_average"].values())

    smoke = R.run_notebook(path, smoke=4, timeout=300)
    R.validate(smoke)
    assert smoke["mode"] == "smoke" and smoke["claims"][1]["values"] == {"done": 4, "steps": 40}
    (loop,) = smoke["smoke"]["loops"]
    assert (loop["desc"], loop["total"], loop["done"]) == ("train", 40, 4)
    per = (loop["seconds"] - loop["first_step_seconds"]) / 3
    assert loop["seconds_per_step"] == pytest.approx(per)
    assert loop["projected_seconds"] == pytest.approx(loop["first_step_seconds"] + 39 * per)
    assert smoke["smoke"]["projected_wall_seconds"] >= loop["projected_seconds"]

    small = R.run_notebook(path, scale="small", timeout=300)
    R.validate(small)
    assert small["mode"] == "small" and "smoke" not in small
    assert [c["passed"] for c in small["claims"]] == [False, True, False]
    assert small["claims"][0]["message"] == "small"  # the notebook ran at small
    assert small["claims"][1]["values"] == {"done": 5, "steps": 5}


def test_run_notebook_rejects_bad_scales(tmp_path):
    path = tmp_path / "09_tiny.ipynb"  # never read: the arguments are checked first
    with pytest.raises(ValueError, match="scale"):
        R.run_notebook(path, scale="medium")
    with pytest.raises(ValueError, match="smoke"):
        R.run_notebook(path, smoke=3, scale="small")
    with pytest.raises(SystemExit):
        R.main(["--smoke", "3", "--scale", "small", str(path)])


def test_schema_rejects_a_broken_record():
    record = {
        "chapter": "04_gaunt_tensor_products",
        "mode": "full",
        "date": "2026-11-30T10:00:00Z",
        "device": {"type": "cpu", "name": "x86_64", "cpu_count": "2"},
        "versions": {"python": "3.11.7", "torch": "2.13.0", "e3nn": "0.5.1", "companion": "0.1.0"},
        "wall_seconds": 24.0,
        "completed": True,
        "error": None,
        "claims": [
            {"claim": "err < 1e-05", "passed": True, "message": None, "values": {"err": 1e-7}}
        ],
        "all_claims_hold": True,
    }
    jsonschema.validate(record, SCHEMA)
    for broken in ("device", "claims", "smoke"):
        bad = copy.deepcopy(record)
        if broken == "device":
            bad["device"]["type"] = "tpu"
        elif broken == "claims":
            del bad["claims"][0]["passed"]
        else:
            bad["mode"] = "smoke"  # a smoke record must carry its timings
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, SCHEMA)


@pytest.mark.parametrize("path", RESULTS, ids=lambda p: p.name)
def test_committed_results_follow_the_schema(path):
    record = json.loads(path.read_text())
    jsonschema.validate(record, SCHEMA)
    assert path.name.split(".")[0] == record["chapter"]
    assert (ROOT / "notebooks" / f"{record['chapter']}.ipynb").exists()
    suffix = {"full": ".json", "smoke": ".smoke.json", "small": ".small.json"}[record["mode"]]
    assert path.name == record["chapter"] + suffix
