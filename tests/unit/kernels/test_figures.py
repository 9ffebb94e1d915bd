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
