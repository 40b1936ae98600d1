"""Figures shared by every chapter: one matplotlib style, plotly sliders, live widgets.

The book is interactive in two worlds:

* **static HTML** — a plotly figure whose slider steps through *precomputed*
  frames (:func:`slider_figure`), shown with :func:`show`; it needs no kernel
  and no network (the book serves ``plotly.min.js`` itself);
* **Jupyter / Colab** — the same exploration with ipywidgets sliders that call
  Python live (:func:`live_view`).

In the book build (``COMPANION_BOOK=1``, see :func:`companion.utils.in_book_build`)
:func:`show` emits a bare ``<div>`` that uses the page's plotly.js, and
:func:`live_view` prints a note instead of a widget that would be dead without a kernel.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import matplotlib as mpl
from cycler import cycler  # matplotlib's own dependency; mpl.cycler is untyped

from .utils import in_book_build

__all__ = ["PALETTE", "set_style", "slider_figure", "show", "live_view"]

# Colour-blind-safe (Okabe-Ito); chapters use these in this order.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000")

LIVE_NOTE = (
    "<div class='admonition note'><p class='admonition-title'>Live view</p>"
    "<p>{what}: the sliders of this cell call Python, so they run in Jupyter or Colab "
    "(use the launch button at the top of the page). The interactive figure above is "
    "its precomputed twin for the static book.</p></div>"
)


def set_style() -> None:
    """Apply the book's matplotlib style (sizes, grid, colour cycle)."""
    mpl.rcParams.update(
        {
            "figure.figsize": (6.4, 4.0),
            "figure.dpi": 100,
            "savefig.dpi": 150,
            "axes.grid": True,
            "grid.alpha": 0.3,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.prop_cycle": cycler(color=list(PALETTE)),
            "font.size": 10,
            "legend.frameon": False,
            "image.cmap": "viridis",
        }
    )


def slider_figure(
    make_traces: Callable[[Any], Sequence[Any]],
    values: Sequence[Any],
    *,
    label: str,
    fmt: str = "{:.2f}",
    layout: dict | None = None,
    active: int = 0,
) -> Any:
    """A plotly figure with a slider over precomputed frames.

    Args:
        make_traces: ``value -> [trace, ...]``; every call must return the same
            number and kinds of traces (frames replace their data).
        values: the slider's positions, each computed once here.
        label: the slider's caption, e.g. ``"rotation angle (deg)"``.
        fmt: how a value is printed on the slider.
        layout: extra ``go.Layout`` settings (titles, axis ranges — fix the
            ranges so the axes do not jump between frames).
        active: index of the initially shown value.

    Returns:
        ``plotly.graph_objects.Figure``; display it with :func:`show`.
    """
    import plotly.graph_objects as go

    values = list(values)
    if not values:
        raise ValueError("values must hold at least one slider position")
    if not 0 <= active < len(values):
        raise ValueError(f"active must index values (0..{len(values) - 1}), got {active}")
    frames = []
    n_traces = None
    for i, v in enumerate(values):
        traces = list(make_traces(v))
        if n_traces is None:
            n_traces = len(traces)
        elif len(traces) != n_traces:
            raise ValueError(
                f"make_traces returned {len(traces)} traces for values[{i}], "
                f"expected {n_traces} as for values[0]"
            )
        frames.append(go.Frame(data=traces, name=str(i)))
    steps = [
        dict(
            method="animate",
            label=fmt.format(v),
            args=[
                [str(i)],
                dict(
                    mode="immediate",
                    frame=dict(duration=0, redraw=True),
                    transition=dict(duration=0),
                ),
            ],
        )
        for i, v in enumerate(values)
    ]
    fig = go.Figure(data=frames[active].data, frames=frames)
    fig.update_layout(
        template="plotly_white",
        margin=dict(l=40, r=20, t=50, b=40),
        sliders=[
            dict(active=active, steps=steps, currentvalue=dict(prefix=f"{label}: "), pad=dict(t=40))
        ],
        **(layout or {}),
    )
    return fig


def show(fig: Any) -> None:
    """Display a plotly figure: a bare div in the book build, the default renderer elsewhere."""
    import plotly.graph_objects as go

    if not isinstance(fig, go.Figure):
        raise TypeError(f"fig must be a plotly Figure, got {type(fig).__name__}")
    if in_book_build():
        from IPython.display import HTML, display

        # auto_play=False: plotly's default plays through all frames on page load and
        # leaves the slider on the last one instead of the active one.
        display(
            HTML(
                fig.to_html(
                    full_html=False,
                    include_plotlyjs=False,
                    auto_play=False,
                    config={"displaylogo": False, "responsive": True},
                )
            )
        )
    else:
        fig.show(auto_play=False)


def live_view(fn: Callable[..., Any], *, description: str = "Explore", **controls: Any) -> Any:
    """ipywidgets sliders that re-run ``fn(**values)`` live (Jupyter / Colab).

    ``controls`` are ipywidgets controls or ``(min, max, step)`` tuples, as for
    ``ipywidgets.interactive``. ``fn`` draws (e.g. a matplotlib figure). Returns
    the widget; in the book build a note is shown instead (callbacks need a kernel),
    but the widget is still built and ``fn`` runs once, so the cell is tested.
    """
    import ipywidgets as widgets
    from IPython.display import HTML, display

    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    if not controls:
        raise ValueError("live_view needs at least one control, e.g. angle=(0, 360, 5)")
    if in_book_build():
        # Build the widget (which calls fn once with the initial values) but show
        # only the note: a saved widget would be dead in static HTML.
        import matplotlib.pyplot as plt

        with plt.ioff():
            w = widgets.interactive(fn, {"manual": False}, **controls)
            if int(widgets.__version__.split(".")[0]) < 8:
                w.update()  # ipywidgets 7 (Colab's) runs fn only once the widget is displayed
        plt.close("all")
        display(HTML(LIVE_NOTE.format(what=description)))
        return w
    w = widgets.interactive(fn, **controls)
    display(w)
    return w
