"""Tests for cnnviz.inside.figures: the figures carry the right data, and clicks decode back to cells and images.

Clicks are read with ``cnnviz.core.figures.last_selected_ints`` (the one selection parser); these tests
check that the Inside figures carry what it reads back.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest

from cnnviz.core.figures import TOP_COLOUR, last_selected_ints, probability_figure
from cnnviz.inside.activations import LayerActivation
from cnnviz.inside.figures import (
    confusion_matrix_figure,
    dense_activation_figure,
    feature_maps_figure,
    filter_grid_figure,
    image_gallery_figure,
    pca_figure,
    saliency_figure,
    snapshot_range,
)

NAMES = ("zero", "one", "two")


def _heatmaps(fig: go.Figure) -> list[go.Heatmap]:
    return [trace for trace in fig.data if isinstance(trace, go.Heatmap)]


def _map_from_mosaic(fig: go.Figure, index: int, shape: tuple[int, int]) -> np.ndarray:
    """Read map ``index`` back from the mosaic through the hover data (map, row, column) of its pixels."""
    (mosaic,) = _heatmaps(fig)
    z, where = np.asarray(mosaic.z, dtype=np.float64), np.asarray(mosaic.customdata)
    mask = np.isfinite(z) & (where[..., 0] == index)
    out = np.full(shape, np.nan)
    out[where[mask][:, 1], where[mask][:, 2]] = z[mask]
    return out


def test_feature_maps_figure_shows_each_channel_with_layer_name_and_shape() -> None:
    values = np.random.default_rng(0).random((6, 6, 5)).astype(np.float32)
    fig = feature_maps_figure(LayerActivation("conv_1", "conv", values), max_maps=3, cols=2)
    for index in range(3):  # every shown map is in the mosaic, whole, where its hover says
        np.testing.assert_allclose(_map_from_mosaic(fig, index, (6, 6)), values[:, :, index], rtol=1e-6)
    (mosaic,) = _heatmaps(fig)
    assert np.isfinite(np.asarray(mosaic.z, dtype=np.float64)).sum() == 3 * 36  # and nothing else
    assert [a.text for a in fig.layout.annotations] == ["map 0", "map 1", "map 2"]
    assert "conv_1" in fig.layout.title.text and "6×6×5" in fig.layout.title.text
    assert "first 3 of 5" in fig.layout.title.text
    assert mosaic.zmax == pytest.approx(float(values[:, :, :3].max()))  # one shared scale
    assert mosaic.zmin == pytest.approx(float(values[:, :, :3].min()))


def test_feature_maps_with_negative_values_are_diverging_and_vectors_are_refused() -> None:
    values = np.linspace(-1, 1, 2 * 2 * 2).reshape(2, 2, 2)
    fig = feature_maps_figure(LayerActivation("bn_1", "norm", values))
    assert _heatmaps(fig)[0].zmid == 0.0
    with pytest.raises(ValueError, match="dense_activation_figure"):
        feature_maps_figure(LayerActivation("dense_1", "dense", np.zeros(4)))


def test_dense_and_probability_bars() -> None:
    fig = dense_activation_figure(LayerActivation("dense_1", "dense", np.arange(7.0)))
    np.testing.assert_array_equal(np.asarray(fig.data[0].y), np.arange(7.0))
    assert "dense_1" in fig.layout.title.text
    # The softmax output is core's probability chart, as the Inside page calls it (title, true class).
    # Kept here until tests/unit/core has a test of probability_figure.
    probs = probability_figure(np.array([0.1, 0.7, 0.2]), NAMES, true_class=2, title="predictions (softmax output)")
    colours = list(probs.data[0].marker.color)
    assert colours.index(TOP_COLOUR) == 1 and colours.count(TOP_COLOUR) == 1
    assert list(probs.data[0].x) == ["zero", "one", "two ✓"]
    assert probs.layout.title.text == "predictions (softmax output)"
    with pytest.raises(ValueError, match=r"one probability per class name \(3\)"):
        probability_figure(np.array([0.5, 0.5]), NAMES)


def test_filter_grid_uses_symmetric_or_given_range() -> None:
    filters = np.array([[[0.5, -2.0], [0.0, 1.0]], [[0.1, 0.2], [0.3, 0.4]]])
    fig = filter_grid_figure(filters, title="conv_1")
    assert {(t.zmin, t.zmax) for t in _heatmaps(fig)} == {(-2.0, 2.0)}
    assert "weight" in _heatmaps(fig)[0].hovertemplate
    for index in range(2):  # one mosaic: each filter whole, where its hover says, numbered above it
        np.testing.assert_allclose(_map_from_mosaic(fig, index, (2, 2)), filters[index])
    assert [a.text for a in fig.layout.annotations] == ["filter 0", "filter 1"]
    fixed = filter_grid_figure(filters, value_range=(-5.0, 5.0))
    assert {(t.zmin, t.zmax) for t in _heatmaps(fixed)} == {(-5.0, 5.0)}
    assert snapshot_range([np.full((3, 3, 1, 2), 0.5), np.full((3, 3, 1, 2), -3.0)]) == (-3.0, 3.0)
    with pytest.raises(ValueError, match="filters, kh, kw"):
        filter_grid_figure(np.zeros((3, 3)))


def test_saliency_figure_has_input_map_and_overlay_per_method() -> None:
    image = np.zeros((28, 28), np.uint8)
    fig = saliency_figure(image, {"Gradient saliency": np.zeros((28, 28)), "Grad-CAM": np.ones((28, 28))})
    assert len(fig.data) == 1 + 2 * 3
    titles = [a.text for a in fig.layout.annotations]
    assert titles == [
        "Input", "Gradient saliency", "Gradient saliency over the input", "Grad-CAM", "Grad-CAM over the input"
    ]
    # One colour bar for all maps (they share the 0-1 scale), saying in words what the colours mean.
    scaled = [trace for trace in fig.data if trace.showscale]
    assert len(scaled) == 1 and scaled[0].name == "Grad-CAM" and (scaled[0].zmin, scaled[0].zmax) == (0.0, 1.0)
    assert "influence" in scaled[0].colorbar.title.text
    assert list(scaled[0].colorbar.ticktext) == ["0: none", "0.5", "1: the most"]


def test_confusion_matrix_figure_counts_and_clickable_cells_round_trip() -> None:
    confusion = np.array([[5, 1, 0], [2, 3, 0], [0, 0, 0]])
    fig = confusion_matrix_figure(confusion, NAMES, selected=(1, 0))
    heatmap, cells = fig.data
    np.testing.assert_array_equal(np.asarray(heatmap.text), confusion)
    np.testing.assert_allclose(np.asarray(heatmap.z)[1], [0.4, 0.6, 0.0])
    np.testing.assert_allclose(np.asarray(heatmap.z)[2], 0.0)  # an empty row is not a division by zero
    assert len(fig.layout.shapes) == 1  # the selected cell is outlined; no outline without a selection
    assert len(confusion_matrix_figure(confusion, NAMES).layout.shapes) == 0
    # A click on a cell comes back as the marker's customdata: [true, predicted, count].
    data = np.asarray(cells.customdata)
    point = int(np.flatnonzero((data[:, 0] == 1) & (data[:, 1] == 0))[0])
    assert cells.x[point] == 0 and cells.y[point] == 1 and data[point, 2] == 2
    event = {"selection": {"points": [{"curve_number": 1, "point_index": point, "customdata": data[point].tolist()}]}}
    assert last_selected_ints(event, 2) == (1, 0)
    # What Streamlit 1.67 really sends from Chromium: customdata as an object with string keys.
    sent = {"selection": {"points": [{"curve_number": 1, "x": 0, "y": 1, "customdata": {"0": 1, "1": 0, "2": 2}}]}}
    assert last_selected_ints(sent, 2) == (1, 0)
    assert last_selected_ints({"selection": {"points": []}}, 2) is None
    assert last_selected_ints(None, 2) is None
    with pytest.raises(ValueError, match=r"\(3, 3\)"):
        confusion_matrix_figure(np.zeros((2, 2)), NAMES)


def test_pca_figure_one_trace_per_present_class_carrying_indices() -> None:
    points = np.arange(10.0).reshape(5, 2)
    labels = np.array([0, 0, 2, 2, 2])
    predictions = np.array([0, 2, 2, 2, 1])
    fig = pca_figure(points, labels, predictions, NAMES, np.array([10, 11, 12, 13, 14]), explained=(0.5, 0.25))
    # Per class: correct dots, then mistakes as crosses in the same legend group (legend shows the dot).
    assert [(t.name, t.marker.symbol, t.showlegend) for t in fig.data] == [
        ("zero", "circle", True), ("zero", "x", False), ("two", "circle", True), ("two", "x", False)
    ]
    assert [int(row[0]) for row in fig.data[2].customdata] == [12, 13]
    assert [int(row[0]) for row in fig.data[3].customdata] == [14]
    assert "50%" in fig.layout.xaxis.title.text
    # A clicked point gives back its test-image index (the first customdata value).
    clicked = fig.data[2].customdata[1].tolist()
    assert last_selected_ints({"selection": {"points": [{"customdata": clicked}]}}, 1) == (13,)
    assert last_selected_ints({"selection": {"points": [{"customdata": {"0": 12, "1": "two"}}]}}, 1) == (12,)


def test_image_gallery_uses_one_grey_scale() -> None:
    images = np.zeros((3, 28, 28), np.uint8)
    fig = image_gallery_figure(images, ["a", "b", "c\nd"])
    assert {(t.zmin, t.zmax) for t in _heatmaps(fig)} == {(0, 255)}
    assert [a.text for a in fig.layout.annotations] == ["a", "b", "c<br>d"]  # a caption's second line


def test_saliency_scale_starts_black_in_rgb_form() -> None:
    # Streamlit's theme swapped named/hex scales for its own in Chromium; rgb() stops survive.
    fig = saliency_figure(np.zeros((28, 28)), {"Grad-CAM": np.zeros((28, 28))})
    scale = fig.data[1].colorscale
    assert scale[0][1] == "rgb(0,0,4)" and scale[-1][1] == "rgb(252,255,164)"


HOSTILE = ("[x](https:evil.example)", "**b**", "<b>x</b>")


def _no_raw_markup(texts) -> None:
    for text in texts:
        assert "<b>" not in str(text) and "<a" not in str(text), text


def test_names_from_a_sidecar_or_model_file_are_shown_as_typed_not_as_html() -> None:
    confusion = confusion_matrix_figure(np.eye(3, dtype=int), HOSTILE)
    assert "&lt;b&gt;x&lt;/b&gt;" in confusion.layout.xaxis.ticktext
    _no_raw_markup([*confusion.layout.xaxis.ticktext, *confusion.layout.yaxis.ticktext, *confusion.data[1].text])
    pca = pca_figure(np.zeros((3, 2)), np.arange(3), np.array([2, 2, 2]), HOSTILE, np.arange(3))
    _no_raw_markup([trace.name for trace in pca.data] + [row[1] for trace in pca.data for row in trace.customdata])
    gallery = image_gallery_figure(np.zeros((1, 28, 28), np.uint8), ["<b>x</b> → 1"])
    assert [a.text for a in gallery.layout.annotations] == ["&lt;b&gt;x&lt;/b&gt; → 1"]
    maps = feature_maps_figure(LayerActivation("<a href='e'>c</a>", "conv", np.zeros((2, 2, 1))))
    _no_raw_markup([maps.layout.title.text])
