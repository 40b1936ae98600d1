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

__all__ = ["PALETTE", "set_style", "slider_figure", "show", "live_view", "learning_path_svg"]

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


# The book's learning path (book/syllabus.md draws it with learning_path_svg()).
CHAPTER_TITLES: tuple[str, ...] = (
    "0. Symmetry primer",
    "1. Soft equivariance",
    "2. Lie group decompositions",
    "3. Frame averaging",
    "4. Gaunt tensor products",
    "5. Holomorphic EP",
    "6. OOD GAN inversion",
)
"""Short chapter titles, in book order."""
CHAPTER_REQUIRES: tuple[tuple[int, int], ...] = ((0, 1), (0, 2), (0, 3), (0, 4), (0, 5), (0, 6))
"""``(a, b)``: chapter ``b`` assumes chapter ``a``."""
CHAPTER_RELATED: tuple[tuple[int, int, str], ...] = (
    (1, 3, "projector = Reynolds operator"),
    (2, 3, "Haar sampling vs frames"),
    (1, 5, "regularise towards a symmetry"),
)
"""``(a, b, why)``: chapters that shed light on each other (read in either order)."""


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def learning_path_svg(
    titles: Sequence[str] | None = None,
    requires: Sequence[tuple[int, int]] | None = None,
    related: Sequence[tuple[int, int, str]] | None = None,
) -> str:
    r"""A self-contained SVG of how chapters depend on each other (no fonts or scripts to fetch).

    Chapter :math:`b` sits one column right of the deepest chapter it assumes
    (column :math:`= 1 + \max` over ``requires``), so the page reads left to right in a possible
    order. Solid arrows are ``requires`` (``(a, b)``: read ``a`` first); dashed curves are
    ``related`` pairs with a short label. Deterministic: the same arguments give the same text.

    Args:
        titles: one non-empty label per chapter, ``K`` of them (default: this book's
            ``CHAPTER_TITLES``, with ``CHAPTER_REQUIRES`` and ``CHAPTER_RELATED``
            as the default edges).
        requires: pairs of indices in ``range(K)``; must not form a cycle (default: none,
            or the book's with the default titles).
        related: triples ``(a, b, label)`` of indices in ``range(K)`` and a string (likewise).

    Returns:
        The SVG document as a string.
    """
    if titles is None:
        titles = CHAPTER_TITLES
        requires = CHAPTER_REQUIRES if requires is None else requires
        related = CHAPTER_RELATED if related is None else related
    requires = () if requires is None else requires
    related = () if related is None else related
    if isinstance(titles, str) or not all(isinstance(t, str) and t for t in titles):
        raise TypeError("titles must be a sequence of non-empty strings")
    k = len(titles)
    if k == 0:
        raise ValueError("titles must name at least one chapter")

    def check_pair(a: object, b: object, name: str) -> None:
        for i in (a, b):
            if not isinstance(i, int) or isinstance(i, bool):
                raise TypeError(f"{name} must hold integer chapter indices, got {i!r}")
            if not 0 <= i < k:
                raise ValueError(f"{name} index {i} is outside range({k})")
        if a == b:
            raise ValueError(f"{name} links chapter {a} to itself")

    for pair in requires:
        check_pair(*pair, name="requires")
    for a, b, label in related:
        check_pair(a, b, name="related")
        if not isinstance(label, str):
            raise TypeError(f"related labels must be strings, got {label!r}")

    depth: dict[int, int] = {}

    def column(i: int, seen: tuple[int, ...] = ()) -> int:
        if i in seen:
            raise ValueError(f"requires has a cycle through chapter {i}")
        if i not in depth:
            parents = [a for a, b in requires if b == i]
            depth[i] = 1 + max((column(a, seen + (i,)) for a in parents), default=-1)
        return depth[i]

    cols = [column(i) for i in range(k)]
    box_w, box_h, gap_x, gap_y, pad = 230, 40, 150, 22, 20
    rows: dict[int, int] = {}
    pos = []
    for i in range(k):
        r = rows.get(cols[i], 0)
        rows[cols[i]] = r + 1
        pos.append((pad + cols[i] * (box_w + gap_x), pad + r * (box_h + gap_y)))
    n_rows = max(rows.values())
    width = pad * 2 + (max(cols) + 1) * box_w + max(cols) * gap_x + 190
    height = pad * 2 + n_rows * box_h + (n_rows - 1) * gap_y + 30
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="13">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" '
        'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
        '<path d="M 0 0 L 10 5 L 0 10 z" fill="#555"/></marker></defs>',
    ]
    for a, b in requires:
        (xa, ya), (xb, yb) = pos[a], pos[b]
        out.append(
            f'<line x1="{xa + box_w}" y1="{ya + box_h / 2}" x2="{xb}" y2="{yb + box_h / 2}" '
            'stroke="#555" stroke-width="1.3" marker-end="url(#arrow)"/>'
        )
    for j, (a, b, label) in enumerate(related):
        (xa, ya), (xb, yb) = pos[a], pos[b]
        bulge = 50 + 45 * j
        x0, y0, x1, y1 = xa + box_w, ya + box_h / 2, xb + box_w, yb + box_h / 2
        out.append(
            f'<path d="M {x0} {y0} C {x0 + bulge} {y0}, {x1 + bulge} {y1}, {x1} {y1}" '
            f'fill="none" stroke="{PALETTE[1]}" stroke-width="1.3" stroke-dasharray="5 4"/>'
        )
        out.append(
            f'<text x="{max(x0, x1) + 0.75 * bulge + 4}" y="{(y0 + y1) / 2 + 4}" '
            f'fill="{PALETTE[1]}" font-size="11">{_xml(label)}</text>'
        )
    for i, (x, y) in enumerate(pos):
        out.append(
            f'<rect x="{x}" y="{y}" width="{box_w}" height="{box_h}" rx="6" '
            f'fill="#f4f6fb" stroke="{PALETTE[0]}" stroke-width="1.5"/>'
        )
        out.append(
            f'<text x="{x + 12}" y="{y + box_h / 2 + 5}" fill="#222">{_xml(titles[i])}</text>'
        )
    legend_y = height - 12
    out.append(
        f'<text x="{pad}" y="{legend_y}" fill="#555" font-size="11">solid arrow: read first; '
        "dashed: related chapters, either order</text>"
    )
    out.append("</svg>")
    return "\n".join(out) + "\n"
