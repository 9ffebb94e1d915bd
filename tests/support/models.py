"""Small hand-built Keras models for the Inside-page tests (inspect, saliency, evaluation, page).

They mirror the layer names of ``cnnviz.train.spec.build_model`` ("input", "conv_1", "pool_1",
"flatten", "dense_1", "predictions") so the tests exercise the same code paths as the
app, without training anything.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def tiny_cnn(num_classes: int = 10, seed: int = 0) -> Any:
    """Return an untrained Functional CNN: conv(4, 3x3) -> pool -> conv(6, 3x3) -> dense(8) -> softmax."""
    import keras

    keras.utils.set_random_seed(seed)
    inputs = keras.Input(shape=(28, 28, 1), name="input")
    x = keras.layers.Conv2D(4, 3, activation="relu", name="conv_1")(inputs)
    x = keras.layers.MaxPooling2D(2, name="pool_1")(x)
    x = keras.layers.Conv2D(6, 3, activation="relu", name="conv_2")(x)
    x = keras.layers.MaxPooling2D(2, name="pool_2")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dense(8, activation="relu", name="dense_1")(x)
    x = keras.layers.Dropout(0.5, name="dropout")(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name="tiny_cnn")


def one_pixel_dense(pixel: tuple[int, int] = (5, 7), weight: float = 3.0) -> Any:
    """Return a Dense-only model whose class 0 logit is ``weight * image[pixel]`` and class 1 logit its negative.

    Every other pixel has zero weight, so the gradient of either logit is non-zero at ``pixel`` only.
    """
    import keras

    inputs = keras.Input(shape=(28, 28, 1), name="input")
    x = keras.layers.Flatten(name="flatten")(inputs)
    outputs = keras.layers.Dense(2, activation="softmax", name="predictions")(x)
    model = keras.Model(inputs, outputs, name="one_pixel")
    kernel = np.zeros((28 * 28, 2), dtype=np.float32)
    flat = pixel[0] * 28 + pixel[1]
    kernel[flat, 0] = weight
    kernel[flat, 1] = -weight
    model.get_layer("predictions").set_weights([kernel, np.zeros(2, dtype=np.float32)])
    return model


def one_by_one_conv(dense_kernel: np.ndarray) -> Any:
    """Return conv_1 (two 1x1 filters, weights +1 and -1, no bias, linear) -> flatten -> softmax Dense.

    ``dense_kernel`` is (28 * 28 * 2, num_classes); with it, Grad-CAM has a closed form the
    tests compute in NumPy: A_0 = image, A_1 = -image, alpha_k = mean of the kernel rows for channel k.
    """
    import keras

    inputs = keras.Input(shape=(28, 28, 1), name="input")
    x = keras.layers.Conv2D(2, 1, use_bias=False, name="conv_1")(inputs)
    x = keras.layers.Flatten(name="flatten")(x)
    outputs = keras.layers.Dense(dense_kernel.shape[1], activation="softmax", name="predictions")(x)
    model = keras.Model(inputs, outputs, name="one_by_one")
    model.get_layer("conv_1").set_weights([np.array([1.0, -1.0], dtype=np.float32).reshape(1, 1, 1, 2)])
    model.get_layer("predictions").set_weights(
        [dense_kernel.astype(np.float32), np.zeros(dense_kernel.shape[1], dtype=np.float32)]
    )
    return model


def sample_images(count: int = 4, seed: int = 0) -> np.ndarray:
    """Return ``count`` random-stroke images, (count, 28, 28) uint8."""
    rng = np.random.default_rng(seed)
    images = np.zeros((count, 28, 28), dtype=np.uint8)
    for index in range(count):
        top, left = rng.integers(4, 14, size=2)
        images[index, top : top + 10, left : left + 3] = 255
        images[index, top + 4 : top + 7, left : left + 10] = 200
    return images
