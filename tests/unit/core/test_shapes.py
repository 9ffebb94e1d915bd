"""cnnviz.core.shapes, the one output-size formula, checked against Keras itself (the oracle)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from cnnviz.core.shapes import conv_output_size, same_padding

SIZES, KERNELS, STRIDES = (5, 6, 7, 28), (1, 2, 3, 4, 5), (1, 2, 3)


@pytest.mark.parametrize("padding", ["valid", "same"])
def test_output_size_is_what_keras_builds(padding: str) -> None:
    import keras

    for size, kernel, stride in itertools.product(SIZES, KERNELS, STRIDES):
        if padding == "valid" and kernel > size:
            continue
        layer = keras.layers.Conv2D(1, kernel, strides=stride, padding=padding)
        expected = layer.compute_output_shape((1, size, size, 1))[1]
        assert conv_output_size(size, kernel, stride, padding) == expected, (size, kernel, stride, padding)


def test_int_padding_is_zeros_on_every_side_then_valid() -> None:
    import keras

    for size, kernel, stride, zeros in itertools.product((5, 6), (2, 3), (1, 2), (0, 1, 2)):
        padded = keras.layers.ZeroPadding2D(zeros).compute_output_shape((1, size, size, 1))[1]
        expected = keras.layers.Conv2D(1, kernel, strides=stride).compute_output_shape((1, padded, padded, 1))[1]
        assert conv_output_size(size, kernel, stride, zeros) == expected


def test_same_padding_puts_the_zeros_where_tensorflow_does() -> None:
    # Pad with same_padding's (before, after), convolve "valid": the same numbers as Keras's "same".
    import keras

    rng = np.random.default_rng(0)
    for size, kernel, stride in [(5, 2, 1), (6, 3, 2), (7, 4, 2), (6, 4, 3), (28, 5, 2)]:
        image = rng.random((1, size, size, 1)).astype(np.float32)
        same = keras.layers.Conv2D(1, kernel, strides=stride, padding="same", use_bias=False)
        expected = np.asarray(same(image))
        before, after = same_padding(size, kernel, stride)
        padded = np.pad(image, ((0, 0), (before, after), (before, after), (0, 0)))
        valid = keras.layers.Conv2D(1, kernel, strides=stride, padding="valid", use_bias=False)
        valid.build(padded.shape)
        valid.set_weights(same.get_weights())
        np.testing.assert_allclose(np.asarray(valid(padded)), expected, rtol=1e-5, atol=1e-6)


def test_a_kernel_that_does_not_fit_gives_less_than_one() -> None:
    assert conv_output_size(3, 5) < 1  # the caller decides whether that is an error or a design to flag


@pytest.mark.parametrize(
    ("stride", "padding", "message"),
    [(0, "valid", "stride"), (1.5, "valid", "stride"), (True, "valid", "stride"), (1, "full", "padding"),
     (1, -1, "padding")],
)
def test_bad_stride_or_padding_is_a_value_error_naming_it(stride: object, padding: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        conv_output_size(28, 3, stride, padding)  # type: ignore[arg-type]
