"""Unit tests for cnnviz.kernels.ops, checked against TensorFlow and Keras as independent oracles."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnviz.kernels import ops as K
from cnnviz.kernels import presets as P
from cnnviz.kernels.explain import explain_output
from cnnviz.kernels.ops import KernelError, PipelineConfig


@pytest.fixture(scope="module")
def tf():
    import tensorflow

    return tensorflow


def _random_cases(count: int, seed: int) -> list[tuple[int, int, int, int, int, object]]:
    """(height, width, kh, kw, stride, padding) cases where the kernel fits."""
    rng = np.random.default_rng(seed)
    cases = []
    while len(cases) < count:
        h, w = (int(v) for v in rng.integers(3, 17, size=2))
        kh, kw = (int(v) for v in rng.choice([1, 2, 3, 4, 5], size=2))
        stride = int(rng.integers(1, 4))
        padding = ["valid", "same", int(rng.integers(0, 3))][int(rng.integers(0, 3))]
        try:
            K.conv_output_size(h, kh, stride, padding)  # type: ignore[arg-type]
            K.conv_output_size(w, kw, stride, padding)  # type: ignore[arg-type]
        except KernelError:
            continue
        cases.append((h, w, kh, kw, stride, padding))
    return cases


@pytest.mark.parametrize("h,w,kh,kw,stride,padding", _random_cases(24, seed=4))
def test_convolve2d_matches_tf_nn_conv2d(tf, h, w, kh, kw, stride, padding):
    rng = np.random.default_rng(h * 100 + w)
    image = rng.normal(size=(h, w))
    kernel = rng.normal(size=(kh, kw))
    if isinstance(padding, int):
        tf_padding = [[0, 0], [padding, padding], [padding, padding], [0, 0]]
    else:
        tf_padding = padding.upper()
    expected = tf.nn.conv2d(
        image[None, :, :, None], kernel[:, :, None, None], strides=stride, padding=tf_padding
    ).numpy()[0, :, :, 0]
    got = K.convolve2d(image, kernel, stride=stride, padding=padding)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-10)


def _pool_cases(count: int, seed: int) -> list[tuple[int, int, int, int | None, str]]:
    rng = np.random.default_rng(seed)
    cases = []
    modes = ["max", "avg", "min"]
    for index in range(count):
        size = int(rng.integers(2, 5))
        stride = None if index % 4 == 0 else int(rng.integers(1, 5))
        h, w = (int(v) for v in rng.integers(size, 15, size=2))
        cases.append((h, w, size, stride, modes[index % 3]))
    return cases


@pytest.mark.parametrize("h,w,size,stride,mode", _pool_cases(18, seed=7))
def test_pool2d_matches_keras_pooling_layers(h, w, size, stride, mode):
    import keras

    rng = np.random.default_rng(h * 31 + w)
    x = rng.normal(size=(h, w)).astype(np.float32)
    batch = x[None, :, :, None]
    if mode == "avg":
        layer = keras.layers.AveragePooling2D(pool_size=size, strides=stride, padding="valid")
        expected = np.asarray(layer(batch))[0, :, :, 0]
    else:
        layer = keras.layers.MaxPooling2D(pool_size=size, strides=stride, padding="valid")
        sign = 1.0 if mode == "max" else -1.0  # min pooling is -maxpool(-x)
        expected = sign * np.asarray(layer(sign * batch))[0, :, :, 0]
    got = K.pool2d(x, size=size, stride=stride, mode=mode)  # type: ignore[arg-type]
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_pool2d_pools_each_map_of_a_bank():
    x = np.arange(2 * 4 * 4, dtype=float).reshape(2, 4, 4)
    pooled = K.pool2d(x, size=2, mode="max")
    assert pooled.shape == (2, 2, 2)
    np.testing.assert_array_equal(pooled[1], K.pool2d(x[1], size=2))


def test_convolution_is_cross_correlation_not_flipped():
    image = np.zeros((3, 3))
    image[0, 0] = 1.0
    kernel = np.arange(9.0).reshape(3, 3)
    # A flipped (true) convolution would give kernel[2, 2] = 8; deep learning's gives kernel[0, 0].
    assert K.convolve2d(image, kernel)[0, 0] == 0.0
    image[0, 0], image[2, 2] = 0.0, 1.0
    assert K.convolve2d(image, kernel)[0, 0] == 8.0


def test_tutorial_diagonal_filter_finds_the_diagonal_line():
    image = np.eye(7)
    diagonal = P.preset_kernel("Line: diagonal (\\)")
    anti = P.preset_kernel("Line: anti-diagonal (/)")
    line = K.apply_activation(K.convolve2d(image, diagonal), "threshold", threshold=2.0)
    other = K.apply_activation(K.convolve2d(image, anti), "threshold", threshold=2.0)
    np.testing.assert_array_equal(line, np.eye(5))
    assert other.sum() == 0


def test_activations():
    x = np.array([-1000.0, -1.0, 0.0, 2.0, 1000.0])
    np.testing.assert_array_equal(K.apply_activation(x, "none"), x)
    np.testing.assert_array_equal(K.apply_activation(x, "relu"), [0, 0, 0, 2, 1000])
    sig = K.apply_activation(x, "sigmoid")
    np.testing.assert_allclose(sig, 1 / (1 + np.exp(-np.clip(x, -700, 700))), atol=1e-12)
    assert np.all(np.isfinite(sig))
    np.testing.assert_array_equal(K.apply_activation(x, "threshold", threshold=2.0), [0, 0, 0, 0, 1])
    with pytest.raises(KernelError, match="Unknown activation"):
        K.apply_activation(x, "tanh")  # type: ignore[arg-type]


def test_run_pipeline_stages_and_shapes():
    image = np.random.default_rng(1).random((28, 28))
    bank = np.stack([P.preset_kernel(name) for name in P.TUTORIAL_PRESETS])
    config = PipelineConfig(stride=1, padding="valid", bias=-1.0, activation="relu", pool_mode="max", pool_size=2)
    result = K.run_pipeline(image, bank, config)
    assert result.conv.shape == (4, 26, 26) and result.pooled is not None and result.pooled.shape == (4, 13, 13)
    np.testing.assert_array_equal(result.biased, result.conv - 1.0)
    assert result.activated.min() >= 0
    assert result.output is result.pooled
    # One kernel's part is what the pipeline gives for that kernel alone.
    alone = K.run_pipeline(image, bank[2:3], config)
    part = result.only(2)
    for stage in ("kernels", "conv", "biased", "activated", "pooled"):
        np.testing.assert_array_equal(getattr(part, stage), getattr(alone, stage), err_msg=stage)
    assert part.config == config and part.image is result.image


def test_to_unit_image_scales_uint8_once():
    image = np.full((2, 2), 255, dtype=np.uint8)
    np.testing.assert_array_equal(K.to_unit_image(image), np.ones((2, 2)))
    sketch = np.full((28, 28), 0.5, dtype=np.float32)
    np.testing.assert_array_equal(K.to_unit_image(sketch), sketch)


# ---------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "kernel,match",
    [(np.zeros((0, 0)), "empty"), (np.zeros(3), "2-D"), ([[1, np.nan], [0, 0]], "row 1, column 2"),
     ([[1, 0], [np.inf, 0]], "finite"), ([["a", "b"]], "not numbers")],
)
def test_convolve2d_rejects_bad_kernels(kernel, match):
    with pytest.raises(KernelError, match=match):
        K.convolve2d(np.zeros((5, 5)), kernel)


def test_kernel_larger_than_image_is_explained():
    with pytest.raises(KernelError, match="larger than the input") as info:
        K.convolve2d(np.zeros((3, 3)), np.ones((5, 5)))
    assert "'same' padding" in str(info.value)
    # ... and works with enough padding.
    assert K.convolve2d(np.zeros((3, 3)), np.ones((5, 5)), padding="same").shape == (3, 3)


@pytest.mark.parametrize(
    "kwargs,match",
    [({"stride": 0}, "stride"), ({"stride": 1.5}, "stride"), ({"padding": "full"}, "Unknown padding"),
     ({"padding": -1}, "padding")],
)
def test_convolve2d_rejects_bad_settings(kwargs, match):
    with pytest.raises(KernelError, match=match):
        K.convolve2d(np.zeros((5, 5)), np.ones((3, 3)), **kwargs)


@pytest.mark.parametrize(
    "image,match",
    [(np.zeros((0, 5)), "empty"), (np.zeros((2, 3, 3)), "grayscale"), (np.array([[np.nan]]), "NaN")],
)
def test_bad_images(image, match):
    with pytest.raises(KernelError, match=match):
        K.convolve2d(image, np.ones((1, 1)))


def test_pool_bad_inputs():
    with pytest.raises(KernelError, match="larger than"):
        K.pool2d(np.zeros((3, 3)), size=4)
    with pytest.raises(KernelError, match="Unknown pooling mode"):
        K.pool2d(np.zeros((4, 4)), mode="median")  # type: ignore[arg-type]
    with pytest.raises(KernelError, match="pooling stride"):
        K.pool2d(np.zeros((4, 4)), stride=0)


def test_bank_limits():
    with pytest.raises(KernelError, match="empty"):
        K.validate_bank([])
    with pytest.raises(KernelError, match="at most 8"):
        K.validate_bank([np.ones((3, 3))] * 9)
    with pytest.raises(KernelError, match="same size"):
        K.validate_bank([np.ones((3, 3)), np.ones((5, 5))])


def test_pipeline_rejects_bad_bias_and_threshold():
    with pytest.raises(KernelError, match="bias"):
        K.run_pipeline(np.zeros((5, 5)), np.ones((3, 3)), PipelineConfig(bias=float("nan")))
    with pytest.raises(KernelError, match="threshold"):
        K.run_pipeline(np.zeros((5, 5)), np.ones((3, 3)), PipelineConfig(activation="threshold", threshold=math.inf))


# ---------------------------------------------------------------------------- properties (Hypothesis)


def _naive_convolve(image: np.ndarray, kernel: np.ndarray, stride: int, pad: tuple[int, int, int, int]) -> np.ndarray:
    """The textbook definition, one output pixel at a time (an independent, slow oracle)."""
    padded = np.pad(image, ((pad[0], pad[1]), (pad[2], pad[3])))
    kh, kw = kernel.shape
    rows = (padded.shape[0] - kh) // stride + 1
    cols = (padded.shape[1] - kw) // stride + 1
    out = np.zeros((rows, cols))
    for i in range(rows):
        for j in range(cols):
            out[i, j] = np.sum(padded[i * stride : i * stride + kh, j * stride : j * stride + kw] * kernel)
    return out


@settings(max_examples=60, deadline=None)
@given(
    h=st.integers(1, 9),
    w=st.integers(1, 9),
    kh=st.integers(1, 4),
    kw=st.integers(1, 4),
    stride=st.integers(1, 3),
    padding=st.one_of(st.sampled_from(["valid", "same"]), st.integers(0, 2)),
    seed=st.integers(0, 2**16),
)
def test_convolve2d_matches_the_textbook_loop(h, w, kh, kw, stride, padding, seed):
    rng = np.random.default_rng(seed)
    image, kernel = rng.normal(size=(h, w)), rng.normal(size=(kh, kw))
    try:
        got = K.convolve2d(image, kernel, stride=stride, padding=padding)
    except KernelError as error:
        # Refused only when the kernel really does not fit, and the message says so.
        assert "larger than the input" in str(error)
        top, bottom = K.padding_amounts(h, kh, stride, padding)
        left, right = K.padding_amounts(w, kw, stride, padding)
        assert kh > h + top + bottom or kw > w + left + right
        return
    pad = (*K.padding_amounts(h, kh, stride, padding), *K.padding_amounts(w, kw, stride, padding))
    np.testing.assert_allclose(got, _naive_convolve(image, kernel, stride, pad), atol=1e-12)
    row, col = int(rng.integers(0, got.shape[0])), int(rng.integers(0, got.shape[1]))
    assert explain_output(image, kernel, row, col, stride=stride, padding=padding).value == got[row, col]
