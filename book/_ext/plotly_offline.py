"""Serve plotly.js from the book itself, so interactive figures draw with no network.

Figures are emitted by ``companion.viz.show`` as bare divs that call ``Plotly``;
this extension copies ``plotly.min.js`` from the installed plotly package (the
same version that produced the figures) into the site's ``_static`` and loads it
in every page's head, before any other script.
"""
from __future__ import annotations

import shutil
from pathlib import Path


def _plotly_js() -> Path:
    import plotly

    path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    if not path.is_file():
        raise FileNotFoundError(f"plotly.min.js not found in the plotly package at {path}")
    return path


def _copy(app, exception) -> None:
    if exception is None and app.builder.format == "html":
        dest = Path(app.outdir) / "_static" / "plotly.min.js"
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(_plotly_js(), dest)


def setup(app):
    _plotly_js()  # fail early, with a clear message, if plotly is missing
    app.add_js_file("plotly.min.js", priority=100)
    app.connect("build-finished", _copy)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
