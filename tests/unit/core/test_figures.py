"""Unit tests for cnnviz.core.figures: the charts every feature shares."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest

from cnnviz.core.figures import OTHER_COLOUR, TOP_COLOUR, image_grid_figure, keep_margins, probability_figure


def test_probability_figure_highlights_the_top_class_and_marks_the_true_one() -> None:
    probabilities = np.array([0.1, 0.7, 0.2])
    fig = probability_figure(probabilities, ["a", "b", "c"], true_class=2, title="softmax output")
    bar = fig.data[0]
    assert list(bar.x) == ["a", "b", "c ✓"]
    np.testing.assert_allclose(bar.y, probabilities)
    assert list(bar.marker.color) == [OTHER_COLOUR, TOP_COLOUR, OTHER_COLOUR]
    assert fig.layout.title.text == "softmax output"


def test_probability_figure_draws_the_unsure_line_where_asked() -> None:
    fig = probability_figure(np.array([0.5, 0.5]), ["a", "b"], unsure_below=0.6)
    assert [shape.y0 for shape in fig.layout.shapes] == [pytest.approx(0.6)]
    assert "unsure below 60%" in fig.layout.yaxis.title.text
    assert not probability_figure(np.array([0.5, 0.5]), ["a", "b"]).layout.shapes


def test_probability_figure_rejects_a_probability_per_class_mismatch() -> None:
    with pytest.raises(ValueError, match="one probability per class"):
        probability_figure(np.ones(3) / 3, ["a", "b"])


def test_probability_figure_shows_hostile_class_names_as_typed() -> None:
    # Class names come from a sidecar anyone can write; Plotly renders <b>, <a href> and entities in labels.
    hostile = ["<b>bold</b>", "<a href='https://evil.example'>x</a>", "AT&amp;T", "a<br>b"]
    fig = probability_figure(np.array([0.1, 0.2, 0.3, 0.4]), hostile, true_class=1)
    labels = list(fig.data[0].x)
    assert labels == [
        "&lt;b&gt;bold&lt;/b&gt;",
        "&lt;a href='https://evil.example'&gt;x&lt;/a&gt; ✓",
        "AT&amp;amp;T",
        "a&lt;br&gt;b",
    ]


def test_only_axes_that_show_nothing_stop_asking_plotly_for_margin() -> None:
    # An axis asking for margin (automargin) makes Plotly draw the whole figure a second time once it has grown it.
    grid = image_grid_figure(np.zeros((3, 4, 4)), titles=["a", "b", "c"], cols=3)
    axes = [grid.layout[name] for name in grid.layout if name.startswith(("xaxis", "yaxis"))]
    assert len(axes) == 6 and all(axis.automargin is False for axis in axes)
    fig = go.Figure(go.Bar(x=[1, 2], y=[3, 4]))
    fig.update_xaxes(showticklabels=False, title="epoch")  # a title still needs its room
    fig.update_yaxes(tickformat=".0%")  # so do tick labels
    keep_margins(fig)
    assert fig.layout.xaxis.automargin is None and fig.layout.yaxis.automargin is None
    fig.update_xaxes(title=None, visible=False)
    assert keep_margins(fig).layout.xaxis.automargin is False
