"""Tests of companion.viz: slider figures, the two display paths, live views."""

import matplotlib
import plotly.graph_objects as go
import pytest

from companion import viz

matplotlib.use("Agg")


def _traces(v):
    return [go.Scatter(x=[0, 1], y=[0, v]), go.Scatter(x=[0], y=[v])]


def test_slider_figure_has_one_frame_per_value():
    fig = viz.slider_figure(_traces, [0.0, 0.5, 1.0], label="slope", active=1)
    assert len(fig.frames) == 3
    assert [s["label"] for s in fig.layout.sliders[0].steps] == ["0.00", "0.50", "1.00"]
    assert fig.layout.sliders[0].active == 1
    assert list(fig.data[0].y) == [0, 0.5]  # the initial data are the active frame's
    assert list(fig.frames[2].data[0].y) == [0, 1.0]


def test_slider_figure_rejects_bad_input():
    with pytest.raises(ValueError, match="values must hold"):
        viz.slider_figure(_traces, [], label="x")
    with pytest.raises(ValueError, match="active must index"):
        viz.slider_figure(_traces, [1], label="x", active=3)
    with pytest.raises(ValueError, match="expected 1"):
        viz.slider_figure(lambda v: _traces(v)[: 1 + int(v)], [0, 1], label="x")


def test_show_emits_a_bare_div_in_the_book(monkeypatch, capsys):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj: shown.append(obj))
    monkeypatch.setenv("COMPANION_BOOK", "1")
    viz.show(viz.slider_figure(_traces, [0, 1], label="x"))
    html = shown[0].data
    assert "Plotly.newPlot" in html and "<script src" not in html  # no CDN, no inline library
    assert "Plotly.animate" not in html  # the slider starts on its active frame, not playing
    assert len(html) < 100_000
    with pytest.raises(TypeError, match="fig must be a plotly Figure"):
        viz.show("not a figure")


def test_live_view_builds_widget_and_runs_callback(monkeypatch):
    shown, calls = [], []
    monkeypatch.setattr("IPython.display.display", lambda obj: shown.append(obj))
    for book in ("1", "0"):
        monkeypatch.setenv("COMPANION_BOOK", book)
        w = viz.live_view(lambda a=1.0: calls.append(a), a=(0.0, 2.0, 0.5))
        assert w.children[0].description == "a"
    assert calls and calls[0] == 1.0
    assert "Live view" in shown[0].data  # the note shown in the book
    with pytest.raises(ValueError, match="at least one control"):
        viz.live_view(lambda: None)
    with pytest.raises(TypeError, match="fn must be callable"):
        viz.live_view(3, a=(0, 1))


def test_set_style_sets_palette():
    viz.set_style()
    assert matplotlib.rcParams["axes.prop_cycle"].by_key()["color"][0] == viz.PALETTE[0]
