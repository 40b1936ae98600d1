#!/usr/bin/env python3
"""Quick checks of the book's conventions (stdlib only, a few seconds).

Run from anywhere:  python3 tools/check_conventions.py
Prints one line per finding and a summary; exits 1 when something is wrong.
tests/test_project.py runs it, so a fresh clone checks the conventions too.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

# The project root is this file's parent folder, whatever the working directory.
ROOT = Path(__file__).resolve().parents[1]
findings: list[str] = []


def find(msg: str) -> None:
    findings.append(msg)


def check_layout() -> None:
    for name in [
        "book",
        "notebooks",
        "companion",
        "tests",
        "environment.yml",
        "_config.yml",
        "_toc.yml",
        "README.md",
        "pyproject.toml",
    ]:
        if not (ROOT / name).exists():
            find(f"layout: {name} is missing")
    ci = ROOT / ".ci" / "run"
    readme = ROOT / "README.md"
    if not ci.exists():
        find("ci: .ci/run is missing")
    elif readme.exists():
        ci_text = ci.read_text(errors="replace")
        commands = re.findall(
            r"^\s*(?:\$\s*)?(make \w[\w-]*)", readme.read_text(errors="replace"), re.M
        )
        if "make test" in commands and "make test" not in ci_text:
            find("ci: README names `make test` but .ci/run does not run it")


def check_notebooks() -> None:
    toc = (ROOT / "_toc.yml").read_text(errors="replace") if (ROOT / "_toc.yml").exists() else ""
    for nb_path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        rel = nb_path.relative_to(ROOT)
        try:
            nb = json.loads(nb_path.read_text())
        except (OSError, json.JSONDecodeError) as err:
            find(f"{rel}: not valid JSON ({err})")
            continue
        if rel.with_suffix("").as_posix() not in toc and rel.as_posix() not in toc:
            find(f"{rel}: not listed in _toc.yml")
        kernel = nb.get("metadata", {}).get("kernelspec", {}).get("name")
        if kernel != "python3":
            find(f"{rel}: kernelspec is {kernel!r}, expected 'python3'")
        code = [c for c in nb.get("cells", []) if c.get("cell_type") == "code"]
        if any(c.get("outputs") for c in code) or any(c.get("execution_count") for c in code):
            find(f"{rel}: has stored outputs or execution counts (strip them)")
        src = ["".join(c.get("source", "")) for c in code]
        if not src or "assert" not in src[-1]:
            find(f"{rel}: the last code cell should check the chapter's claims with assert")
        # Code inside an exercise's solution (between solution-start and solution-end) is
        # the reader's answer, not the chapter's logic: it does not count toward the limit.
        body, in_solution = [], False
        for c in nb.get("cells", []):
            text = "".join(c.get("source", ""))
            if c.get("cell_type") == "markdown":
                if "{solution-start}" in text:
                    in_solution = True
                if "{solution-end}" in text:
                    in_solution = False
            elif c.get("cell_type") == "code" and not in_solution:
                body.append(text)
        defined = sum(len(re.findall(r"^\s*(?:def|class) ", s, re.M)) for s in body)
        if defined > 6:
            find(f"{rel}: defines {defined} functions/classes; move real logic into companion/")
        for s in src:
            if re.search(r"\.cuda\(\)|download\s*=\s*True|urlretrieve|requests\.get", s):
                find(f"{rel}: hard-coded CUDA or a download in a code cell")
                break


def check_package() -> None:
    for py in sorted((ROOT / "companion").rglob("*.py")):
        text = py.read_text(errors="replace")
        rel = py.relative_to(ROOT)
        if re.search(r"\.cuda\(\)", text):
            find(f"{rel}: .cuda() hard-codes a device; take it from the inputs")
        for m in re.finditer(r"torch\.load\(([^)]*)\)", text):
            if "weights_only=True" not in m.group(1):
                find(f"{rel}: torch.load without weights_only=True")
        if re.search(r"urlretrieve|requests\.get|download\s*=\s*True", text):
            find(f"{rel}: downloads at run time; data must be generated or shipped")


def main() -> int:
    check_layout()
    if (ROOT / "notebooks").is_dir():
        check_notebooks()
    if (ROOT / "companion").is_dir():
        check_package()
    for f in findings:
        print(f"- {f}")
    print(f"conventions: {len(findings)} finding(s)")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
