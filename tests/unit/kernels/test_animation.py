"""Unit tests for cnnviz.kernels.animation and its figure: every step computes exactly what ops computes there."""

from __future__ import annotations

import numpy as np
import pytest

from cnnviz.kernels import animation as A
from cnnviz.kernels import ops as K
from cnnviz.kernels.figures import ANIMATED_TRACES, animation_figure
from cnnviz.kernels.presets import preset_kernel


@pytest.mark.parametrize("padding", ["valid", "same", 1])
@pytest.mark.parametrize("stride", [1, 2])
def test_step_n_of_the_convolution_is_convolve2d_at_its_position(stride, padding):
    rng = np.random.default_rng(stride)
    image, kernel = rng.random((9, 11)), rng.normal(size=(3, 3))
    animation = A.animate_convolution(image, kernel, stride=stride, padding=padding)
    expected = K.convolve2d(image, kernel, stride=stride, padding=padding)
    np.testing.assert_array_equal(animation.output, expected)
    assert len(animation.steps) == expected.size
    positions = [(step.row, step.col) for step in animation.steps]
    assert positions == [(r, c) for r in range(expected.shape[0]) for c in range(expected.shape[1])]  # reading order
    top_pad, _ = K.padding_amounts(9, 3, stride, padding)
    for step in animation.steps:
        assert step.value == expected[step.row, step.col]
        np.testing.assert_array_equal(step.products, step.window * kernel)
        # The window follows stride and padding: its top-left cell in the unpadded input.
        assert step.top == step.row * stride - top_pad


@pytest.mark.parametrize("mode", ["max", "avg", "min"])
@pytest.mark.parametrize("size,stride", [(2, None), (3, 1), (2, 3)])
def test_step_n_of_the_pooling_is_pool2d_at_its_position(mode, size, stride):
    values = np.random.default_rng(3).normal(size=(10, 9))
    animation = A.animate_pooling(values, size=size, stride=stride, mode=mode)
    expected = K.pool2d(values, size=size, stride=stride, mode=mode)
    assert len(animation.steps) == expected.size
    reduce = {"max": np.max, "avg": np.mean, "min": np.min}[mode]
    for step in animation.steps:
        assert step.value == expected[step.row, step.col]
        assert step.top == step.row * (stride or size) and step.window.shape == (size, size)
        # The window shown is the one pooled there.
        np.testing.assert_allclose(reduce(step.window), step.value, rtol=1e-12)
        assert (step.chosen is None) == (mode == "avg")


def test_a_big_image_is_scaled_down_and_says_so():
    image = np.random.default_rng(0).random((96, 64))
    animation = A.animate_convolution(image, preset_kernel("Identity"), padding="same")
    assert animation.scaled_from == (96, 64) and animation.source.shape == (28, 19)
    assert len(animation.steps) == 28 * 19
    np.testing.assert_array_equal(animation.output, K.convolve2d(animation.source, preset_kernel("Identity"),
                                                                 padding="same"))
    small, note = A.fit_for_animation(np.ones((28, 10)))
    assert note is None and small.shape == (28, 10)
    # A box average: a constant image stays constant.
    np.testing.assert_allclose(A.fit_for_animation(np.full((56, 56), 0.25))[0], 0.25)


def test_the_figure_has_one_frame_per_step_play_pause_and_a_step_slider():
    image = np.random.default_rng(1).random((6, 7))
    animation = A.animate_convolution(image, preset_kernel("Identity"), stride=2, padding="same")
    fig = animation_figure(animation, start=4)
    assert len(fig.frames) == len(animation.steps) == 3 * 4
    assert [frame.name for frame in fig.frames] == [str(index) for index in range(12)]
    labels = [button.label for button in fig.layout.updatemenus[0].buttons]
    assert "❚❚ Pause" in labels and sum("▶" in label for label in labels) == 3  # three speeds
    durations = {button.args[1]["frame"]["duration"] for button in fig.layout.updatemenus[0].buttons[:3]}
    assert len(durations) == 3
    slider = fig.layout.sliders[0]
    assert slider.active == 4 and len(slider.steps) == 12
    assert [list(step.args[0]) for step in slider.steps] == [[str(index)] for index in range(12)]
    # Step 4 (row 1, col 0): its label says the value; the figure starts there; its frame shows the products.
    step = animation.steps[4]
    assert slider.steps[4].label.startswith("Step 5 of 12: output row 1, column 0") and f"{step.value:.4g}" in (
        slider.steps[4].label)
    frame = fig.frames[4]
    assert list(frame.traces) == ANIMATED_TRACES[:4]
    np.testing.assert_allclose(np.asarray(frame.data[0].z, dtype=float), step.products, atol=1e-6)
    np.testing.assert_allclose(np.asarray(fig.data[1].z, dtype=float), step.products, atol=1e-6)
    # The window outline of step 4 surrounds the 3x3 window at its (top, left) in input coordinates.
    xs = [x for x in frame.data[1].x if x is not None]
    ys = [y for y in frame.data[1].y if y is not None]
    assert (min(xs), max(xs)) == (step.left - 0.5, step.left + 2.5)
    assert (min(ys), max(ys)) == (step.top - 0.5, step.top + 2.5)


def test_the_pooling_figure_outlines_the_kept_value():
    values = np.arange(16.0).reshape(4, 4)
    animation = A.animate_pooling(values, size=2, mode="max")
    fig = animation_figure(animation, signed=True)
    assert len(fig.frames) == 4
    frame = fig.frames[0]
    assert list(frame.traces) == ANIMATED_TRACES  # the kept-value outline changes too
    xs = [x for x in frame.data[4].x if x is not None]
    ys = [y for y in frame.data[4].y if y is not None]
    assert animation.steps[0].chosen == (1, 1)
    assert (min(xs), max(xs), min(ys), max(ys)) == (0.5, 1.5, 0.5, 1.5)
