"""Unit tests for cnnviz.sketch.figures: the figures carry the numbers they claim to show."""

from __future__ import annotations

import numpy as np
import pytest

from cnnviz.core.figures import TOP_COLOUR
from cnnviz.sketch.figures import model_input_figure, steps_figure, sweep_figure, sweep_images_figure, thumbnail
from cnnviz.sketch.preprocess import preprocess_steps
from cnnviz.sketch.robustness import SWEEPS, Sweep


def test_steps_figure_has_one_picture_per_step() -> None:
    image = np.zeros((280, 280), dtype=np.uint8)
    image[40:240, 120:150] = 255
    result = preprocess_steps(image)
    fig = steps_figure(result.steps)
    assert len(fig.data) == len(result.steps)
    # The 280x280 input is shrunk for display; the 28x28 output keeps its exact values.
    assert np.asarray(fig.data[0].z).shape == (84, 84)
    np.testing.assert_allclose(np.asarray(fig.data[-1].z), result.output, atol=1e-6)


def test_thumbnail_keeps_small_pictures_and_aspect() -> None:
    small = np.ones((28, 28), dtype=np.float32)
    assert thumbnail(small) is not None and thumbnail(small).shape == (28, 28)
    assert thumbnail(np.ones((400, 200), dtype=np.float32)).shape == (84, 42)


def test_model_input_figure_uses_a_fixed_scale() -> None:
    fig = model_input_figure(np.full((28, 28), 0.5, dtype=np.float32))
    assert fig.data[0].zmin == 0.0 and fig.data[0].zmax == 1.0
    with pytest.raises(ValueError, match="28, 28"):
        model_input_figure(np.zeros((20, 20)))


def _rotation_sweep() -> Sweep:
    """A hand-made rotation sweep over 3 classes: class 2 at the unchanged drawing, class 0 past +30 degrees."""
    values = np.asarray(SWEEPS["rotation"].values)
    probabilities = np.tile([0.1, 0.1, 0.8], (len(values), 1))
    probabilities[values > 30] = [0.7, 0.2, 0.1]
    images = np.stack([np.full((28, 28), n / len(values), np.float32) for n in range(len(values))])
    return Sweep("rotation", values, images, probabilities, neutral_index=int(np.argmin(np.abs(values))))


def test_sweep_figure_has_a_line_per_class_the_answer_highlighted_and_the_drawing_marked() -> None:
    result = _rotation_sweep()
    fig = sweep_figure(result, ["zero", "one", "<b>two</b>"])
    assert len(fig.data) == 3
    for column, trace in enumerate(fig.data):
        np.testing.assert_array_equal(trace.x, result.values)
        np.testing.assert_allclose(trace.y, result.probabilities[:, column])
    answer = fig.data[2]
    assert "&lt;b&gt;two&lt;/b&gt;" in answer.name and answer.line.color == TOP_COLOUR  # a sidecar name, escaped
    assert answer.line.width > max(trace.line.width for trace in fig.data[:2])
    assert all(trace.line.color != TOP_COLOUR for trace in fig.data[:2])
    (marker,) = [shape for shape in fig.layout.shapes if shape.type == "line"]
    assert marker.x0 == marker.x1 == 0.0
    with pytest.raises(ValueError, match="one class name per probability column"):
        sweep_figure(result, ["zero", "one"])


def test_sweep_images_show_the_unchanged_drawing_and_the_answer_at_each_setting() -> None:
    result = _rotation_sweep()
    fig = sweep_images_figure(result, ["zero", "one", "two"], count=4)
    labels = list(fig.layout.xaxis.ticktext)
    assert labels == ["-60° → two", "0° → two", "+20° → two", "+60° → zero"]
    strip = np.asarray(fig.data[0].z, dtype=np.float64)
    for slot, setting in enumerate([-60, 0, 20, 60]):
        left = slot * 30  # 28 pixels and a 2-column gap
        row = int(np.flatnonzero(result.values == setting)[0])
        np.testing.assert_allclose(strip[:, left : left + 28], result.images[row])
        assert fig.layout.xaxis.tickvals[slot] == pytest.approx(left + 13.5)
    assert np.isnan(strip[:, 28:30]).all()
