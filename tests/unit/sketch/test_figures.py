"""Unit tests for cnnviz.sketch.figures: the figures carry the numbers they claim to show."""

from __future__ import annotations

import numpy as np
import pytest

from cnnviz.sketch.figures import model_input_figure, steps_figure, thumbnail
from cnnviz.sketch.preprocess import preprocess_steps


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
