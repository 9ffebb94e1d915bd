"""Unit tests for the Kernel playground's figures (cnnviz.kernels.figures)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest

from cnnviz.core.figures import last_selected_ints
from cnnviz.kernels import figures as C
from cnnviz.kernels import ops as K
from cnnviz.kernels.explain import explain_output, explain_pool
from cnnviz.kernels.presets import PRESETS, preset_kernel


@pytest.mark.parametrize("count", [1, 3, 4, 7, 8])
@pytest.mark.parametrize("pool_mode", ["none", "max"])
def test_pipeline_figure_has_one_cell_per_kernel_and_stage(count, pool_mode):
    image = np.random.default_rng(count).random((12, 12))
    bank = np.stack([preset_kernel(name) for name in list(PRESETS)[:count]])
    config = K.PipelineConfig(activation="sigmoid", pool_mode=pool_mode)
    result = K.run_pipeline(image, bank, config)
    fig = C.pipeline_figure(result, [f"k{index}" for index in range(count)])
    stages = 4 if pool_mode != "none" else 3
    assert len(fig.data) == count * stages
    titles = [annotation.text for annotation in fig.layout.annotations]
    assert titles[0] == "convolution (10×10)" and len(titles) == stages
    assert fig.layout.yaxis.title.text == "k0"
    if pool_mode != "none":
        assert titles[3] == "max pooling (5×5)"
    # Convolution is diverging around 0; a sigmoid is grey on [0, 1].
    assert fig.data[0].zmid == 0.0 and fig.data[2].zmin == 0.0 and fig.data[2].zmax == 1.0
    # Every map keeps square pixels.
    assert fig.layout.yaxis2.scaleanchor == "x2"
    # A figure drawn under one that names the stages (one figure per kernel) leaves the names out.
    below = C.pipeline_figure(result, [f"k{index}" for index in range(count)], stage_titles=False)
    assert not [annotation.text for annotation in below.layout.annotations if annotation.text]
    assert below.layout.margin.t < fig.layout.margin.t and len(below.data) == len(fig.data)
    for trace, expected in zip(fig.data[:stages], [result.conv[0], result.biased[0], result.activated[0]]):
        np.testing.assert_allclose(np.asarray(trace.z), expected, atol=1e-4)


def test_clickable_map_has_a_marker_per_pixel_whose_click_reads_as_row_and_column():
    values = np.arange(12.0).reshape(3, 4)
    fig = C.clickable_map_figure(values, outline=(1, 2, 1, 1))
    markers = fig.data[1]
    assert isinstance(markers, go.Scatter) and len(markers.x) == 12
    # Clicking the marker of pixel (row 2, col 3) is read back, by the one selection parser, as (2, 3).
    index = 2 * 4 + 3
    point = {"x": markers.x[index], "y": markers.y[index], "curve_number": 1}
    assert last_selected_ints({"selection": {"points": [point]}}, 2, fields=("y", "x")) == (2, 3)
    assert markers.customdata[index] == values[2, 3]
    # The outline surrounds exactly the pixel at row 1, column 2.
    outline = fig.layout.shapes[0]
    assert outline.x0 < 2 < outline.x1 and outline.x1 - outline.x0 == 1
    assert outline.y0 < 1 < outline.y1 and outline.y1 - outline.y0 == 1


def test_input_figure_shows_padding_and_receptive_field():
    fig = C.input_figure(np.zeros((5, 5)), receptive_field=(-1, -1, 3, 3), padding=(1, 1, 1, 1))
    # The view is widened to show the padding pixels (-1 and 5) as well as the image (0-4).
    left, right = fig.layout.xaxis.range
    assert left < -1 < 5 < right
    # One frame surrounds exactly the 3x3 window starting on the padding at (-1, -1).
    windows = [s for s in fig.layout.shapes if s.x1 - s.x0 == 3 and s.y1 - s.y0 == 3]
    assert len(windows) == 1 and windows[0].x0 < -1 < 1 < windows[0].x1 and windows[0].y0 < -1 < 1 < windows[0].y1


def test_arithmetic_figure_writes_pad_and_numbers():
    explanation = explain_output(np.ones((4, 4)), np.ones((3, 3)), 0, 0, padding="same")
    fig = C.arithmetic_figure(explanation)
    assert len(fig.data) == 3
    assert fig.data[0].text[0][0] == "pad" and fig.data[0].text[1][1] == "1"
    assert "sum 4" in fig.layout.annotations[2].text


def test_bank_and_pool_figures():
    bank = np.stack([preset_kernel("Sobel x (vertical edges)"), preset_kernel("Laplacian")])
    fig = C.bank_figure(bank, ["a", "b"])
    assert len(fig.data) == 2 and fig.data[1].text[1][1] == "-4"
    assert fig.data[0].text[1][0] == "-2"
    pooled = explain_pool(np.arange(16.0).reshape(4, 4), 1, 1, size=2, mode="max")
    pool_fig = C.pool_window_figure(pooled)
    assert "max of this window = 15" in pool_fig.layout.title.text
    assert len(pool_fig.layout.shapes) == 1


def test_every_pipeline_map_has_its_own_colour_scale_beside_it():
    bank = np.stack([preset_kernel(name) for name in PRESETS][:3])
    result = K.run_pipeline(np.random.default_rng(0).random((10, 10)), bank, K.PipelineConfig(pool_mode="max"))
    fig = C.pipeline_figure(result)
    assert len(fig.data) == 12
    for index, trace in enumerate(fig.data):
        assert trace.showscale is True
        suffix = "" if index == 0 else str(index + 1)
        x_domain, y_domain = fig.layout[f"xaxis{suffix}"].domain, fig.layout[f"yaxis{suffix}"].domain
        # Just right of its own map, as tall as it (not one shared bar at the figure's edge).
        assert x_domain[1] <= trace.colorbar.x < x_domain[1] + 0.02
        assert y_domain[0] < trace.colorbar.y < y_domain[1]


def test_a_map_has_the_same_colours_in_the_pipeline_and_in_the_pooling_window():
    # A threshold nothing passes: an all-zero activated map, black in the pipeline (range 0..1).
    result = K.run_pipeline(np.zeros((6, 6)), preset_kernel("Identity"),
                            K.PipelineConfig(activation="threshold", threshold=5.0, pool_mode="max"))
    pipeline = C.pipeline_figure(result)
    zrange = C.stage_range(result.activated[0], signed=False)
    window = explain_pool(result.activated[0], 0, 0, size=2)
    drawn = [C.clickable_map_figure(result.activated[0], diverging=False, zrange=zrange).data[0],
             C.pool_window_figure(window, signed=False, zrange=zrange).data[0]]
    for trace in [pipeline.data[2], *drawn]:
        assert (trace.zmin, trace.zmax) == (0.0, 1.0)
    assert C.stage_range(np.zeros((2, 2)), signed=True) == (-1.0, 1.0)


def test_overflowed_values_are_drawn_at_the_end_of_the_scale_not_left_blank():
    image = np.ones((5, 5))
    result = K.run_pipeline(image, np.full((3, 3), 1e308), K.PipelineConfig())
    assert np.all(np.isposinf(result.conv))
    z = np.asarray(C.pipeline_figure(result).data[0].z, dtype=np.float64)
    assert np.all(np.isfinite(z)) and np.all(z == 1.0)  # an all-infinite map: the top of the default scale
    values = np.array([[np.inf, -np.inf, np.nan, 2.0]])
    shown = C.displayable(values, -3.0, 3.0)
    np.testing.assert_array_equal(shown[0, [0, 1, 3]], [3.0, -3.0, 2.0])
    assert np.isnan(shown[0, 2])


def test_huge_finite_values_are_not_rounded_into_infinities():
    result = K.run_pipeline(np.eye(3), np.full((3, 3), 5e307), K.PipelineConfig())
    assert np.isfinite(result.conv[0, 0, 0])
    z = np.asarray(C.pipeline_figure(result).data[0].z, dtype=np.float64)
    assert z[0, 0] == result.conv[0, 0, 0]
