"""Checks of the built book (run by `make test` after `jupyter-book build`).

The plotly figure of the primer must draw, and its mathematics typeset, in a real
browser with the network off: plotly.js and MathJax are served from the book's own
_static folder, never from a CDN.
"""

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.book

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
PRIMER = HTML / "notebooks" / "00_symmetry_primer.html"
CHROMIUM = (
    shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
)


def _built():
    if not PRIMER.exists():
        pytest.skip("the book is not built (run `make book` or `make test`)")
    return PRIMER.read_text()


def test_book_has_index_and_every_chapter_page():
    _built()
    assert (HTML / "index.html").exists() or (HTML / "book" / "intro.html").exists()
    for nb in (ROOT / "notebooks").glob("*.ipynb"):
        assert (HTML / "notebooks" / f"{nb.stem}.html").exists(), f"no page for {nb.name}"


def test_pages_load_no_script_from_the_network():
    for page in HTML.rglob("*.html"):
        text = page.read_text(errors="replace")
        for src in re.findall(r"<script[^>]+src=\"([^\"]+)\"", text):
            assert not src.startswith(("http:", "https:", "//")), (
                f"{page.relative_to(HTML)} loads {src} from the network"
            )


def test_primer_page_has_executed_outputs_and_the_figure_div():
    html = _built()
    assert "plotly-graph-div" in html and "Plotly.newPlot" in html
    assert "All claims hold" in html  # the claims cell ran and printed
    assert (HTML / "_static" / "plotly.min.js").stat().st_size > 1_000_000
    head = html.split("</head>")[0]
    assert re.search(r"<script[^>]+src=\"[./]*_static/plotly\.min\.js", head), (
        "plotly.min.js is not loaded in <head>"
    )


def test_plotly_figure_draws_offline_in_chromium():
    _built()
    if CHROMIUM is None:
        pytest.skip(
            "Chromium is absent: install Debian's `chromium` package to run the offline rendering check"
        )
    with tempfile.TemporaryDirectory() as profile:
        cmd = [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            # network off: every host resolves nowhere, and no proxy fallback
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "--proxy-server=127.0.0.1:9",
            f"--user-data-dir={profile}",
            "--virtual-time-budget=15000",
            "--dump-dom",
            PRIMER.as_uri(),
        ]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    dom = out.stdout
    assert "plotly-graph-div" in dom, f"page did not load: {out.stderr[-2000:]}"
    assert 'class="main-svg"' in dom, "the plotly figure was not drawn (no main-svg in the DOM)"
    assert "slider-container" in dom or "slider-rail-rect" in dom, (
        "the figure's slider was not drawn"
    )
    assert ">rotation about x (degrees): 0°<" in dom, "the slider does not rest on its first frame"
    assert "<mjx-container" in dom, "MathJax did not typeset the page's mathematics"


# Markdown tables printed by a notebook (display(Markdown(...))) must render as tables. In
# CommonMark they come out as one paragraph of pipes with `|---|` turned into `|—|`;
# `_config.yml` sets `nb_render_markdown_format: myst`, which has pipe tables.
RAW_TABLE = re.compile(r"\|\s*(?:-{3,}|[—–]+)\s*\||^\s*\|(?:[^|\n]*\|){2,}\s*$", re.MULTILINE)
NOT_TEXT = re.compile(
    r"<(script|style|pre|code|textarea)\b.*?</\1>|\\\(.*?\\\)|\\\[.*?\\\]|\$\$.*?\$\$", re.DOTALL
)
PRINTED_TABLES = {"04_gaunt_tensor_products": 1, "06_gan_inversion_masks": 2}


def _output_tables(html: str) -> int:
    """Number of ``<table>`` elements inside the notebook's cell outputs."""
    starts = [m.end() for m in re.finditer(r'class="cell_output', html)]
    count = 0
    for start in starts:
        end = html.find('class="cell docutils container"', start)
        count += html[start : end if end > 0 else len(html)].count("<table")
    return count


def test_no_page_shows_raw_markdown_tables():
    _built()
    for page in HTML.rglob("*.html"):
        if "_static" in page.parts or "_sources" in page.parts:
            continue
        text = NOT_TEXT.sub(" ", page.read_text(errors="replace"))
        text = re.sub(r"<[^>]+>", "\n", text)  # visible text only, one line per element
        hit = RAW_TABLE.search(text)
        assert hit is None, (
            f"{page.relative_to(HTML)} shows a raw Markdown table: {hit.group(0)[:80]!r}"
        )


@pytest.mark.parametrize("stem,n_tables", sorted(PRINTED_TABLES.items()))
def test_printed_results_tables_are_html_tables(stem, n_tables):
    _built()
    html = (HTML / "notebooks" / f"{stem}.html").read_text()
    assert _output_tables(html) >= n_tables, (
        f"{stem}: expected {n_tables} <table> element(s) among the cell outputs"
    )
