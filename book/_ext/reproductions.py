"""The Reproductions page, rendered at build time from the records in ``results/``.

``book/reproductions.md`` holds the prose and one marker line, :data:`MARKER`. When Sphinx
reads that page, :func:`render` replaces the marker with Markdown tables built from every
``results/<chapter>.json`` (``make full``), ``results/<chapter>.smoke.json`` (``make smoke``)
and ``results/<chapter>.small.json`` (``make small-results``), all written by
``tools/full_run.py`` and validated against ``results/schema.json``. Each record is
registered as a dependency of the page, so a new or changed record rebuilds it.

Per chapter: the record's device, wall time, date and versions, then one row per claim
with the numbers it checks and its verdict at full scale (or the smoke run's timings),
at small scale, and the paper's number for the same quantity where :data:`PAPER` has one.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

MARKER = "% reproductions: the tables below are generated from results/*.json at build time"

# The published number for the quantity a claim checks, where the paper reports one:
# chapter -> [(a piece of the claim's source text, the paper's number with its source)].
PAPER: dict[str, list[tuple[str, str]]] = {
    "03_frame_averaging": [
        ("mse_linear", "Linear: test MSE 0.0819 (EGNN paper's table)"),
        ("fa_many < gnn_many", "FA-GNN 0.0057, GNN 0.0107 (3,000 trajectories)"),
    ],
    "04_gaunt_tensor_products": [
        ("speedup_top", "e3nn / Gaunt: 8.8×, 14.0×, 59.9× at L = 1, 2, 3 (GPU, 1 node)"),
        ("ratio_256", "e3nn / Gaunt: 8.8×, 14.0×, 59.9× at L = 1, 2, 3 (GPU, 1 node)"),
    ],
}

_MODES = {"full": "", "smoke": ".smoke", "small": ".small"}


def load_records(results: Path) -> dict[str, dict[str, dict]]:
    """``{chapter: {mode: record}}`` from the ``*.json`` files in ``results`` (not the schema)."""
    out: dict[str, dict[str, dict]] = {}
    for path in sorted(results.glob("*.json")):
        if path.name == "schema.json":
            continue
        record = json.loads(path.read_text())
        chapter, mode = record["chapter"], record["mode"]
        if path.name != f"{chapter}{_MODES[mode]}.json":
            raise ValueError(f"{path.name} holds a {mode} record of {chapter}")
        out.setdefault(chapter, {})[mode] = record
    return out


def _fmt(value: object) -> str:
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value == 0:
            return "0"
        if not math.isfinite(value):
            return str(value)
        mag = abs(value)
        return f"{value:.3g}" if 1e-3 <= mag < 1e4 else f"{value:.2e}"
    return str(value)


def _cell(text: str) -> str:
    """Text safe inside one Markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")


def _claim_text(claim: str) -> str:
    first = claim.strip().splitlines()[0]
    if len(first) > 70:
        first = first[:67] + "…"
    elif "\n" in claim.strip():
        first += " …"
    return "`" + first.replace("`", "'") + "`"


def _values(record: dict | None) -> str:
    if record is None:
        return ""
    if record.get("error"):
        return "error: " + record["error"][:60]
    vals = record["values"]
    if not vals:
        return "(block of checks)" if "\n" in record["claim"].strip() else "(no numbers)"
    return "; ".join(f"{k} = {_fmt(v)}" for k, v in list(vals.items())[:4])


def _verdict(record: dict | None) -> str:
    if record is None:
        return "—"
    return "holds" if record["passed"] else "**fails**"


def _paper(chapter: str, claim: str) -> str:
    for piece, text in PAPER.get(chapter, []):
        if piece in claim:
            return text
    return "—"


def _seconds(s: float | None) -> str:
    if s is None:
        return "—"
    if s < 120:
        return f"{s:.0f} s"
    return f"{s:,.0f} s ({s / 60:.0f} min)"


def _run_line(record: dict, label: str) -> str:
    dev = record["device"]
    v = record["versions"]
    held = sum(c["passed"] for c in record["claims"])
    status = f"{held}/{len(record['claims'])} claims hold"
    if not record["completed"] and not record["claims"]:
        status = "did not reach its claims cell"
    if record["mode"] == "smoke":  # a few steps of training: the verdicts mean nothing
        status = "its claims are not results (the models trained for a few steps)"
    if record["error"]:
        status += f"; stopped with `{_cell(record['error'][:100])}`"
    load = record.get("load_average")
    busy = ""
    if load and None not in (load["start"], load["end"]):
        busy = f" at load average {load['start']:.1f} → {load['end']:.1f}"
    return (
        f"- **{label}**: {dev['type'].upper()} ({dev['name']}, {dev['cpu_count']} cores), "
        f"{_seconds(record['wall_seconds'])}{busy}, "
        f"{record['date'].replace('T', ' ')[:16]} UTC; "
        f"{status}. torch {v['torch']}, e3nn {v['e3nn']}, companion {v['companion']}, "
        f"Python {v['python']}."
    )


def _title(chapter: str, notebooks: Path | None) -> str:
    if notebooks is not None:
        path = notebooks / f"{chapter}.ipynb"
        if path.exists():
            cells = json.loads(path.read_text())["cells"]
            for cell in cells:
                source = "".join(cell["source"])
                if cell["cell_type"] == "markdown" and source.startswith("# "):
                    return source.splitlines()[0][2:].split(":")[0].strip()
    return chapter


def _chapter(chapter: str, modes: dict[str, dict], notebooks: Path | None) -> list[str]:
    title = _title(chapter, notebooks)
    exists = notebooks is not None and (notebooks / f"{chapter}.ipynb").exists()
    link = f"{{doc}}`{title} <../notebooks/{chapter}>`" if exists else f"`{chapter}`"
    lines = [f"## {title}", "", f"Chapter: {link}.", ""]
    attempt, smoke, small = modes.get("full"), modes.get("smoke"), modes.get("small")
    if attempt:
        lines.append(_run_line(attempt, "Full scale"))
    # a full run that stopped (error, timeout) records no numbers: the chapter stays unrecorded
    full = attempt if attempt and attempt["completed"] else None
    if smoke:
        proj = smoke["smoke"]["projected_wall_seconds"]
        lines.append(
            _run_line(smoke, f"Smoke run ({smoke['smoke']['steps']} steps per loop)")
            + f" Projected full run: {_seconds(proj)}."
        )
    if small:
        lines.append(_run_line(small, "Small scale"))
    if not full:
        lines += [
            "",
            "Paper-scale numbers not yet recorded"
            + (" (the full run above stopped)" if attempt else "")
            + (
                ": the smoke run below times the full configuration"
                if smoke
                else ": no full or smoke record"
            )
            + ".",
        ]
    lines.append("")
    if smoke and not full:
        lines += [
            "| loop | steps done / total | time per step | projected |",
            "|---|---|---|---|",
        ]
        for loop in smoke["smoke"]["loops"]:
            per = loop["seconds_per_step"]
            total = "?" if loop["total"] is None else f"{loop['total']:,}"
            lines.append(
                f"| {_cell(loop['desc'] or '—')} | {loop['done']} / {total} | "
                f"{'—' if per is None else f'{per:.3g} s'} | "
                f"{_seconds(loop['projected_seconds'])} |"
            )
        lines.append("")
    main = full or small
    if main is None:
        return lines
    by_claim = {c["claim"]: c for c in small["claims"]} if (full and small) else {}
    lines += [
        "| claim | full scale: numbers | verdict | small scale: numbers | verdict | paper |",
        "|---|---|---|---|---|---|",
    ]
    for c in main["claims"]:
        full_c, small_c = (c, by_claim.get(c["claim"])) if full else (None, c)
        cells = (
            _claim_text(c["claim"]),
            _values(full_c) or "—",
            _verdict(full_c),
            _values(small_c) or "—",
            _verdict(small_c),
            _paper(chapter, c["claim"]),
        )
        lines.append("| " + " | ".join(_cell(x) for x in cells) + " |")
    if full and small:
        in_full = {x["claim"] for x in full["claims"]}
        for c in (
            c for c in small["claims"] if c["claim"] not in in_full
        ):  # a claim the full record does not have (the chapter changed)
            lines.append(
                f"| {_cell(_claim_text(c['claim']))} | not in the full record | — | "
                f"{_cell(_values(c))} | {_verdict(c)} | {_cell(_paper(chapter, c['claim']))} |"
            )
    lines.append("")
    return lines


def render(results: Path, notebooks: Path | None = None) -> str:
    """Markdown for every chapter with a record in ``results`` (a summary table, then one
    section per chapter). ``notebooks``: where the chapters live, for titles and links."""
    records = load_records(results)
    if not records:
        return (
            "No records in `results/` yet: run `make full`, `make smoke` or `make small-results`.\n"
        )
    lines = [
        "| chapter | full scale | smoke run (projected full) | small scale |",
        "|---|---|---|---|",
    ]
    for chapter, modes in records.items():
        cols = []
        for mode in ("full", "smoke", "small"):
            r = modes.get(mode)
            if r is None:
                cols.append("—")
                continue
            held = sum(c["passed"] for c in r["claims"])
            text = f"{held}/{len(r['claims'])} hold, {_seconds(r['wall_seconds'])} {r['device']['type']}"
            if not r["completed"]:
                text = f"stopped after {_seconds(r['wall_seconds'])} {r['device']['type']}"
            if mode == "smoke":
                text = f"{_seconds(r['smoke']['projected_wall_seconds'])} projected"
            cols.append(text)
        lines.append(f"| {_cell(_title(chapter, notebooks))} | " + " | ".join(cols) + " |")
    lines.append("")
    for chapter, modes in records.items():
        lines += _chapter(chapter, modes, notebooks)
    return "\n".join(lines) + "\n"


def _source_read(app, docname: str, source: list[str]) -> None:
    if MARKER not in source[0]:
        return
    root = Path(app.srcdir)
    results = root / "results"
    for path in sorted(results.glob("*.json")):
        app.env.note_dependency(str(path))
    notebooks = root / "notebooks"
    source[0] = source[0].replace(MARKER, render(results, notebooks))


def setup(app):
    app.connect("source-read", _source_read)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
