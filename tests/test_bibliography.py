"""The bibliography is usable: every entry links to its paper and is cited somewhere.

`book/references.bib` is parsed with a small reader (entries ``@type{key, field = {...}}``)
so the test needs nothing beyond the standard library; citations are collected from the
``{cite}`` roles of the notebooks' Markdown cells and of the pages under ``book/``.
"""

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIB = ROOT / "book" / "references.bib"

ENTRY = re.compile(r"^@(\w+)\s*\{\s*([^,\s]+)\s*,(.*?)^\}", re.MULTILINE | re.DOTALL)
FIELD = re.compile(r"^\s*(\w+)\s*=\s*[{\"]?(.*?)[}\"]?\s*,?\s*$", re.MULTILINE)
CITE = re.compile(r"\{cite(?::\w+)?\}`([^`]+)`")
DOI = re.compile(r"^10\.\d{4,9}/\S+$")
ARXIV = re.compile(r"^(\d{4}\.\d{4,5}|[a-z-]+(\.[A-Z]{2})?/\d{7})$")


def _entries() -> dict[str, tuple[str, dict[str, str]]]:
    text = BIB.read_text()
    entries = {}
    for kind, key, body in ENTRY.findall(text):
        fields = {name.lower(): value.strip() for name, value in FIELD.findall(body)}
        assert key not in entries, f"duplicate bibliography key {key}"
        entries[key] = (kind.lower(), fields)
    return entries


def _cited_keys() -> set[str]:
    sources = [p.read_text() for p in (ROOT / "book").glob("*.md")]
    for nb in (ROOT / "notebooks").glob("*.ipynb"):
        cells = json.loads(nb.read_text())["cells"]
        sources += ["".join(c["source"]) for c in cells if c["cell_type"] == "markdown"]
    keys = set()
    for text in sources:
        for group in CITE.findall(text):
            keys.update(k.strip() for k in group.split(","))
    return keys


def test_bib_reader_sees_every_entry():
    n_at = len(re.findall(r"^@\w+\s*\{", BIB.read_text(), re.MULTILINE))
    assert len(_entries()) == n_at > 0


@pytest.mark.parametrize("key", sorted(_entries()))
def test_every_entry_links_to_its_paper(key):
    kind, fields = _entries()[key]
    links = {f: fields[f] for f in ("doi", "url", "eprint") if f in fields}
    assert links, f"{key} has no doi, url or eprint: a reader cannot click through"
    if "doi" in links:
        assert DOI.match(links["doi"]), f"{key}: malformed doi {links['doi']!r}"
    if "url" in links:
        assert links["url"].startswith("https://"), f"{key}: url must be https"
    if "eprint" in links:
        assert ARXIV.match(links["eprint"]), f"{key}: eprint is not an arXiv id"
        assert fields.get("archiveprefix", "").lower() == "arxiv", (
            f"{key}: eprint needs archiveprefix"
        )
    # an arXiv monograph is not a book with an arXiv id as its publisher
    assert "arxiv" not in fields.get("publisher", "").lower(), f"{key}: arXiv is not a publisher"
    assert "arxiv" not in fields.get("journal", "").lower(), f"{key}: use eprint for arXiv ids"
    need = {"article": "journal", "inproceedings": "booktitle", "book": "publisher"}
    if kind in need:
        assert need[kind] in fields, f"{key}: @{kind} needs a {need[kind]}"


def test_every_entry_is_cited_and_every_citation_exists():
    entries, cited = set(_entries()), _cited_keys()
    assert not entries - cited, f"never cited: {sorted(entries - cited)}"
    assert not cited - entries, f"cited but not in references.bib: {sorted(cited - entries)}"
