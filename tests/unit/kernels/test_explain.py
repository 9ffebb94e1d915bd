"""Unit tests for cnnviz.kernels.explain: the arithmetic behind each number reproduces ops' values exactly."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cnnviz.kernels import explain as E
from cnnviz.kernels import ops as K
from cnnviz.kernels.ops import KernelError, PipelineConfig
from cnnviz.kernels.presets import preset_kernel


@pytest.mark.parametrize(
    "h,kernel,stride,padding,expected",
    [(28, 3, 1, "valid", 26), (28, 3, 1, "same", 28), (28, 3, 2, "same", 14), (28, 5, 3, 2, 10), (7, 3, 2, 1, 4)],
)
def test_conv_output_size_and_formula_text(h, kernel, stride, padding, expected):
    assert K.conv_output_size(h, kernel, stride, padding) == expected
    text = E.conv_size_formula(h, kernel, stride, padding)
    assert f"**{expected}**" in text and str(h) in text and f"/ {stride}" in text


def test_pool_formula_text():
    assert E.pool_size_formula(26, 2, None) == "pooled height = ⌊(26 − 2) / 2⌋ + 1 = **13**"


@pytest.mark.parametrize("padding", ["valid", "same", 2])
@pytest.mark.parametrize("stride", [1, 2, 3])
def test_explain_output_adds_up_to_the_map_value(padding, stride):
    rng = np.random.default_rng(stride)
    image = rng.random((11, 9))
    kernel = rng.normal(size=(3, 3))
    bias = 0.25
    result = K.run_pipeline(image, kernel, PipelineConfig(stride=stride, padding=padding, bias=bias))
    out = result.biased[0]
    for row, col in [(0, 0), (out.shape[0] - 1, out.shape[1] - 1), (out.shape[0] // 2, 1)]:
        explanation = E.explain_output(image, kernel, row, col, stride=stride, padding=padding, bias=bias)
        assert explanation.value == out[row, col]  # exactly, as the page promises
        assert math.isclose(explanation.total, float(explanation.products.sum()), abs_tol=1e-12)
        np.testing.assert_array_equal(explanation.products, explanation.patch * kernel)


def test_explain_output_marks_padding_cells():
    image = np.ones((4, 4))
    explanation = E.explain_output(image, np.ones((3, 3)), 0, 0, padding="same")
    assert (explanation.top, explanation.left) == (-1, -1)
    assert explanation.in_padding.sum() == 5
    assert explanation.total == 4.0


@pytest.mark.parametrize("mode", ["max", "avg", "min"])
def test_explain_pool_matches_pool2d(mode):
    x = np.random.default_rng(3).normal(size=(7, 8))
    pooled = K.pool2d(x, size=3, stride=2, mode=mode)
    for row, col in [(0, 0), (pooled.shape[0] - 1, pooled.shape[1] - 1)]:
        explanation = E.explain_pool(x, row, col, size=3, stride=2, mode=mode)
        assert math.isclose(explanation.value, pooled[row, col], rel_tol=1e-12)
        assert explanation.window.shape == (3, 3)
        if mode != "avg":
            assert explanation.window[explanation.chosen] == explanation.value


def test_explain_positions_outside_are_rejected():
    with pytest.raises(KernelError, match="outside"):
        E.explain_output(np.zeros((5, 5)), np.ones((3, 3)), 3, 0)
    with pytest.raises(KernelError, match="outside"):
        E.explain_pool(np.zeros((4, 4)), 0, 2, size=2)


def test_format_sum_writes_the_arithmetic():
    image = np.zeros((3, 3))
    image[0, 0], image[1, 1] = 0.5, 1.0
    explanation = E.explain_output(image, preset_kernel("Line: diagonal (\\)"), 0, 0, bias=-1.0)
    assert E.format_sum(explanation) == "0.5×2 + 1×2 (+ 7 products that are 0) = 3; then 3 + bias (-1) = **2**"
    empty = E.explain_output(np.zeros((3, 3)), np.ones((3, 3)), 0, 0)
    assert E.format_sum(empty).startswith("all 9 products are 0, so their sum = 0")


def test_pipeline_formulas_cover_every_stage():
    image = np.zeros((28, 28))
    plain = K.run_pipeline(image, np.ones((3, 3)), PipelineConfig())
    pooled = K.run_pipeline(image, np.ones((3, 3)), PipelineConfig(pool_mode="max", pool_size=2))
    assert E.pipeline_formulas(plain) == [E.conv_size_formula(28, 3, 1, "valid", "height"),
                                          E.conv_size_formula(28, 3, 1, "valid", "width")]
    assert E.pipeline_formulas(pooled)[2:] == [E.pool_size_formula(26, 2, None, "height"),
                                               E.pool_size_formula(26, 2, None, "width")]


def _pipeline_with_weight(weight: float) -> K.PipelineResult:
    image = np.zeros((8, 8))
    image[2:6, 2:6] = 1.0
    return K.run_pipeline(image, np.full((3, 3), weight), PipelineConfig(pool_mode="max"))


def test_an_overflowed_output_says_so():
    # Nine cells of 1e308 over bright pixels add up past float64's 1.8e308 (issue 16, finding 6).
    result = _pipeline_with_weight(1e308)
    assert not np.all(np.isfinite(result.biased))
    (warning,) = E.magnitude_warnings(result)
    bad = int(np.count_nonzero(~np.isfinite(result.biased)))
    assert "overflowed" in warning and f"{bad} of {result.biased.size}" in warning and "1e+308" in warning


def test_a_huge_output_says_so_and_a_normal_one_says_nothing():
    (warning,) = E.magnitude_warnings(_pipeline_with_weight(1e9))
    assert "huge" in warning and "9e+09" in warning  # nine bright pixels under 1e9 each
    assert E.magnitude_warnings(_pipeline_with_weight(1.0)) == []


@pytest.mark.parametrize(
    "position,old,new,expected",
    [((13, 13), (26, 26), (24, 24), (12, 12)), ((5, 25), (26, 26), (24, 24), (5, 23)), ((0, 0), (1, 1), (5, 7), (2, 3)),
     ((30, -2), (26, 26), (13, 13), (12, 0))],
)
def test_moved_position_keeps_the_relative_place(position, old, new, expected):
    assert E.moved_position(position, old, new) == expected
