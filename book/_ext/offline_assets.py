"""Serve plotly.js and MathJax from the book itself: pages work with no network.

* Figures are emitted by ``companion.viz.show`` as bare divs that call ``Plotly``;
  ``plotly.min.js`` is copied from the installed plotly package (the version that
  produced the figures) and loaded in every page's head before any other script.
* MathJax 3 comes from the ``django-static-mathjax`` wheel (static files only, no
  dependencies) instead of Sphinx's default CDN address.
"""

from __future__ import annotations

import shutil
from pathlib import Path

MATHJAX_DIR = "mathjax"
MATHJAX_ENTRY = "tex-mml-chtml.js"


def _plotly_js() -> Path:
    import plotly

    path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    if not path.is_file():
        raise FileNotFoundError(f"plotly.min.js not found in the plotly package at {path}")
    return path


def _mathjax_dir() -> Path:
    try:
        import mathjax
    except ImportError as err:
        raise ImportError(
            "MathJax for the offline book comes from the 'django-static-mathjax' "
            "package: pip install -e '.[book]'"
        ) from err
    path = Path(mathjax.__file__).parent / "static" / "mathjax" / "es5"
    if not (path / MATHJAX_ENTRY).is_file():
        raise FileNotFoundError(f"{MATHJAX_ENTRY} not found in {path}")
    return path


def _copy(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    static = Path(app.outdir) / "_static"
    static.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(_plotly_js(), static / "plotly.min.js")
    shutil.copytree(_mathjax_dir(), static / MATHJAX_DIR, dirs_exist_ok=True)


def _use_local_mathjax(app, config) -> None:
    # A relative mathjax_path is resolved against the site's _static folder.
    config.mathjax_path = f"{MATHJAX_DIR}/{MATHJAX_ENTRY}"


def setup(app):
    _plotly_js()  # fail early, with a clear message, if an asset is missing
    _mathjax_dir()
    app.add_js_file("plotly.min.js", priority=100)
    app.connect("config-inited", _use_local_mathjax, priority=900)
    app.connect("build-finished", _copy)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
