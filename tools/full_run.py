"""`make full`: run chapters at COMPANION_SCALE=full and record results/<chapter>.json.

    python tools/full_run.py [--smoke N | --scale small] [--timeout S] [--out results] notebooks/*.ipynb

Each notebook runs in a fresh python3 kernel with ``COMPANION_SCALE=full`` on the best
device (``COMPANION_DEVICE`` overrides it). Its last code cell, the claims cell, is
evaluated claim by claim (tools/claims.py), so the record holds every number the claims
check and pass or fail per claim even when one fails. The record also holds the device,
the wall time, the machine's load average at the start and the end, and the versions of
Python, torch, e3nn and companion; it is validated
against results/schema.json before it is written.

``--smoke N`` runs the full configuration for N iterations of every long loop (each
``companion.progress`` loop; see ``companion.utils.smoke_steps``) and records the measured
time per step (after the first, which carries the warm-up) and the projected wall time of
the full run: the time outside the loops plus each loop's first step and its remaining
steps at the measured rate. Its claims are recorded but
mean nothing: the models are barely trained.

``--scale small`` records the default (``small``) configuration the same way, as
``results/<chapter>.small.json`` (mode ``"small"``): the small-scale numbers the
Reproductions page shows next to the full-scale ones (``make small-results``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TOOLS = Path(__file__).resolve().parent
SCHEMA = ROOT / "results" / "schema.json"
MARK = "@@companion-claims@@"


def _versions() -> dict[str, str | None]:
    from importlib.metadata import PackageNotFoundError, version

    out: dict[str, str | None] = {"python": platform.python_version()}
    for name, dist in (
        ("torch", "torch"),
        ("e3nn", "e3nn"),
        ("companion", "symmetry-structure-companion"),
    ):
        try:
            out[name] = version(dist)
        except PackageNotFoundError:
            out[name] = None
    return out


def _device() -> dict[str, str]:
    import torch

    import companion

    device = companion.best_device()
    name = platform.processor() or platform.machine()
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
    return {"type": device.type, "name": name, "cpu_count": str(os.cpu_count())}


def _load() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):  # not on this platform
        return None


def _harness(claims_source: str) -> str:
    """The cell that replaces the claims cell: evaluates it claim by claim, prints JSON."""
    return (
        "import json as _json, sys as _sys\n"
        f"_sys.path.insert(0, {str(TOOLS)!r})\n"
        "from claims import evaluate_claims as _evaluate_claims\n"
        f"print({MARK!r} + _json.dumps(_evaluate_claims({claims_source!r}, globals())))\n"
    )


def _claims_from(cell) -> list[dict] | None:
    for out in cell.get("outputs", []):
        text = out.get("text", "")
        text = "".join(text) if isinstance(text, list) else text
        for line in text.splitlines():
            if line.startswith(MARK):
                return json.loads(line[len(MARK) :])
    return None


def run_notebook(
    path: Path, *, smoke: int | None = None, timeout: int = 7200, scale: str = "full"
) -> dict:
    """Execute ``path`` at ``scale`` (``"full"``, its smoke mode, or ``"small"``) and return
    its results record."""
    if scale not in ("small", "full"):
        raise ValueError(f"scale must be 'small' or 'full', got {scale!r}")
    if smoke is not None and scale != "full":
        raise ValueError("smoke runs are of the full configuration (scale='full')")
    import nbclient
    import nbformat

    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    claims_cell = code[-1]
    claims_source = claims_cell.source
    claims_cell.source = _harness(claims_source)
    env_before = dict(os.environ)
    log = Path(tempfile.mkstemp(prefix="smoke-", suffix=".jsonl")[1])
    os.environ["COMPANION_SCALE"] = scale
    if smoke is not None:
        os.environ["COMPANION_SMOKE"] = str(smoke)
        os.environ["COMPANION_SMOKE_LOG"] = str(log)
    error = None
    load_start = _load()
    start = time.perf_counter()
    try:
        client = nbclient.NotebookClient(
            nb,
            timeout=timeout,
            kernel_name="python3",
            resources={"metadata": {"path": str(path.parent)}},
        )
        client.execute()
    except nbclient.exceptions.CellExecutionError as err:
        error = f"{err.ename}: {err.evalue}"
    except Exception as err:  # a timeout, a dead kernel
        error = f"{type(err).__name__}: {err}"
    finally:
        wall = time.perf_counter() - start
        os.environ.clear()
        os.environ.update(env_before)
    claims = _claims_from(claims_cell) or []
    record: dict = {
        "chapter": path.stem,
        "mode": "smoke" if smoke is not None else scale,
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "device": _device(),
        "versions": _versions(),
        "wall_seconds": round(wall, 1),
        # the machine's 1-minute load average when the run started and ended: a CPU's wall
        # times mean little without it on a shared machine
        "load_average": {"start": load_start, "end": _load()},
        "completed": error is None and bool(claims),
        "error": error,
        "claims": claims,
        "all_claims_hold": bool(claims) and all(c["passed"] for c in claims),
    }
    if smoke is not None:
        loops = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
        for loop in loops:
            # the steady per-step time excludes the first step's warm-up where there are more
            done, first, total = loop["done"], loop["first_step_seconds"], loop["total"]
            if done > 1:
                per = (loop["seconds"] - first) / (done - 1)
            else:
                per = loop["seconds"] / done if done else None
            loop["seconds_per_step"] = per
            if per is None or not total:
                loop["projected_seconds"] = None
            elif done > 1:
                loop["projected_seconds"] = first + per * (total - 1)
            else:
                loop["projected_seconds"] = per * total
        rest = wall - sum(loop["seconds"] for loop in loops)
        projected = [loop["projected_seconds"] for loop in loops]
        record["smoke"] = {
            "steps": smoke,
            "loops": loops,
            "projected_wall_seconds": (
                round(rest + sum(projected), 1) if all(p is not None for p in projected) else None
            ),
        }
    log.unlink(missing_ok=True)
    return record


def validate(record: dict) -> None:
    import jsonschema

    jsonschema.validate(record, json.loads(SCHEMA.read_text()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--smoke", type=int, default=None, help="iterations per long loop")
    parser.add_argument(
        "--scale", choices=("small", "full"), default="full", help="record this scale"
    )
    parser.add_argument("--timeout", type=int, default=7200, help="seconds per cell")
    parser.add_argument("--out", type=Path, default=ROOT / "results")
    args = parser.parse_args(argv)
    if args.smoke is not None and args.smoke < 1:
        parser.error("--smoke must be a positive integer")
    if args.smoke is not None and args.scale != "full":
        parser.error(
            "--smoke runs the full configuration; it cannot be combined with --scale small"
        )
    args.out.mkdir(parents=True, exist_ok=True)
    failed = 0
    for path in args.notebooks:
        mode = f"smoke {args.smoke}" if args.smoke is not None else args.scale
        print(f"{path.stem}: running ({mode})")
        record = run_notebook(path, smoke=args.smoke, timeout=args.timeout, scale=args.scale)
        validate(record)
        suffix = {"smoke": ".smoke", "small": ".small", "full": ""}[record["mode"]]
        name = path.stem + suffix + ".json"
        (args.out / name).write_text(json.dumps(record, indent=1) + "\n")
        held = sum(c["passed"] for c in record["claims"])
        print(
            f"{path.stem}: {record['wall_seconds']:.0f} s on {record['device']['type']}, "
            f"{held}/{len(record['claims'])} claims hold"
            + (f", error {record['error']}" if record["error"] else "")
            + (
                f", projected full run {record['smoke']['projected_wall_seconds']} s"
                if args.smoke is not None
                else ""
            )
        )
        failed += not record["all_claims_hold"]
    return 1 if failed and args.smoke is None else 0


if __name__ == "__main__":
    sys.exit(main())
