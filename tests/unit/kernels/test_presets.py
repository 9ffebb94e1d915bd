"""Unit tests for cnnviz.kernels.presets: named kernels, typed cells, a trained layer's kernels."""

from __future__ import annotations

import numpy as np
import pytest

from cnnviz.core.layers import ConvWeights, conv_weights
from cnnviz.kernels import presets as P
from cnnviz.kernels.ops import KernelError, convolve2d


@pytest.mark.parametrize("name", list(P.PRESETS))
@pytest.mark.parametrize("size", [3, 5])
def test_every_preset_has_both_sizes(name, size):
    kernel = P.preset_kernel(name, size)
    assert kernel.shape == (size, size)
    assert np.all(np.isfinite(kernel))


def test_presets_include_the_issue_list():
    names = " ".join(P.PRESETS).lower()
    for word in ["identity", "diagonal", "anti-diagonal", "horizontal", "vertical", "sobel x", "sobel y",
                 "prewitt", "laplacian", "sharpen", "box blur", "gaussian", "emboss", "outline"]:
        assert word in names
    assert P.preset_kernel("Line: diagonal (\\)").tolist() == [[2, -1, -1], [-1, 2, -1], [-1, -1, 2]]


def test_resize_kernel_centres_and_crops():
    kernel = np.arange(9.0).reshape(3, 3)
    grown = P.resize_kernel(kernel, 5)
    assert grown[1:4, 1:4].tolist() == kernel.tolist() and grown.sum() == kernel.sum()
    np.testing.assert_array_equal(P.resize_kernel(grown, 3), kernel)
    # A centred 5x5 identity does exactly what the 3x3 one does (with "same" padding).
    image = np.random.default_rng(0).random((9, 9))
    np.testing.assert_allclose(convolve2d(image, P.preset_kernel("Identity", 5), padding="same"), image)


def test_normalise_kernel():
    np.testing.assert_allclose(P.normalise_kernel(np.ones((3, 3))).sum(), 1.0)
    edge = P.normalise_kernel(P.preset_kernel("Sobel x (vertical edges)"))
    np.testing.assert_allclose(np.abs(edge).sum(), 1.0)
    np.testing.assert_array_equal(P.normalise_kernel(np.zeros((3, 3))), np.zeros((3, 3)))


@pytest.mark.parametrize(
    "cell,match",
    [("abc", "not a number"), ("", "empty"), (None, "empty"), ("nan", "NaN"), (float("nan"), "NaN"),
     ("inf", "infinite"), (float("-inf"), "infinite"), ("1/0", "not a number"), (True, "not a number")],
)
def test_parse_cell_rejects_bad_cells(cell, match):
    with pytest.raises(KernelError, match=match) as info:
        P.parse_kernel_cells([[0, 0, 0], [0, cell, 0], [0, 0, 0]])
    assert "row 2, column 2" in str(info.value)


def test_parse_cells_accepts_numbers_text_and_fractions():
    kernel = P.parse_kernel_cells([["1", " -2 ", "1/9"], [0.5, 3, "1e-1"], ["−1", "0", "2"]])
    np.testing.assert_allclose(kernel, [[1, -2, 1 / 9], [0.5, 3, 0.1], [-1, 0, 2]])


@pytest.mark.parametrize("cells", [[], [[]], [[1, 2], [3]]])
def test_parse_cells_rejects_empty_and_ragged_grids(cells):
    with pytest.raises(KernelError):
        P.parse_kernel_cells(cells)


def test_learned_kernels_are_the_first_conv_layer_filters(tiny_model):
    learned = P.learned_kernels(conv_weights(tiny_model))
    weights, biases = tiny_model.get_layer("conv_1").get_weights()
    assert learned.layer_name == "conv_1"
    assert learned.kernels.shape == (4, 3, 3)
    np.testing.assert_allclose(learned.kernels[2], weights[:, :, 0, 2])
    np.testing.assert_allclose(learned.biases, biases)


def test_learned_kernels_refuse_a_layer_reading_several_channels():
    weights = ConvWeights("conv_rgb", np.zeros((3, 3, 3, 2), np.float32), np.zeros(2, np.float32))
    with pytest.raises(KernelError, match="reads 3 channels"):
        P.learned_kernels(weights)


def test_a_model_without_conv_layer_has_no_kernels_to_learn_from():
    from cnnviz.core.layers import LayerReadError

    class Dense:
        name = "dense"

        def get_weights(self):
            return [np.zeros((3, 2)), np.zeros(2)]

    class Model:
        layers = [Dense()]

    with pytest.raises(LayerReadError, match="no 2-D convolution layer"):
        conv_weights(Model())
