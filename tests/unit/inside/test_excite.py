"""What excites each filter: top patches against a brute-force loop, receptive fields, activation maximisation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cnnviz.inside.activations import InspectError
from cnnviz.inside.excite import (
    ReceptiveField,
    activation_maximisation,
    crop,
    per_image_maxima,
    receptive_field,
    top_patches,
    top_per_filter,
)
from tests.support.models import one_pixel_dense, sample_images, tiny_cnn
from tests.support.paths import REPO_ROOT

FIELD = ReceptiveField(size=(3, 3), jump=(1, 1), start=(1.0, 1.0))


def _brute_force(activations: np.ndarray, k: int) -> list[list[tuple[int, int, int, float]]]:
    """For every filter: (image, row, col, value) of its k strongest images, by plain loops."""
    count, height, width, filters = activations.shape
    result = []
    for f in range(filters):
        best = []
        for n in range(count):
            top = (-np.inf, 0, 0)
            for row in range(height):
                for col in range(width):
                    if activations[n, row, col, f] > top[0]:
                        top = (float(activations[n, row, col, f]), row, col)
            best.append((n, top[1], top[2], top[0]))
        best.sort(key=lambda item: (-item[3], item[0]))
        result.append(best[:k])
    return result


def test_top_patches_are_the_arg_max_positions_of_a_brute_force_loop() -> None:
    rng = np.random.default_rng(0)
    activations = rng.integers(0, 6, size=(12, 4, 5, 3)).astype(np.float32)  # small integers: many ties
    values, rows, cols = per_image_maxima(activations)
    top = top_per_filter(values, rows, cols, FIELD, k=4)
    for f, expected in enumerate(_brute_force(activations, 4)):
        assert list(zip(top.images[f], top.rows[f], top.cols[f], top.values[f], strict=True)) == expected
    with pytest.raises(InspectError, match="N, H, W, F"):
        per_image_maxima(activations[0])


def test_the_receptive_field_is_the_pixels_that_reach_an_output() -> None:
    import keras
    import tensorflow as tf

    inputs = keras.Input(shape=(28, 28, 1), name="input")
    x = keras.layers.Conv2D(1, 3, padding="same", use_bias=False, name="conv_1")(inputs)
    x = keras.layers.AveragePooling2D(2, name="pool_1")(x)
    x = keras.layers.Conv2D(1, 3, strides=2, padding="same", use_bias=False, name="conv_2")(x)
    x = keras.layers.Conv2D(1, 3, dilation_rate=2, use_bias=False, name="conv_3")(x)
    model = keras.Model(inputs, x)
    for name in ("conv_1", "conv_2", "conv_3"):
        model.get_layer(name).set_weights([np.ones((3, 3, 1, 1), np.float32)])
    names = ("conv_1", "conv_2", "conv_3")
    extractor = keras.Model(inputs, [model.get_layer(name).output for name in names])
    probe = tf.zeros((1, 28, 28, 1))
    positions = ((0, 0), (1, 2))
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(probe)
        outputs = extractor(probe)
        units = [[output[0, row, col, 0] for row, col in positions] for output in outputs]
    for name, layer_units in zip(names, units, strict=True):
        field = receptive_field(model, name)
        for (row, col), unit in zip(positions, layer_units, strict=True):
            reach = np.asarray(tape.gradient(unit, probe))[0, :, :, 0] != 0
            top, left, bottom, right = field.window(row, col)
            window = np.zeros((28, 28), dtype=bool)
            window[max(top, 0) : bottom, max(left, 0) : right] = True
            np.testing.assert_array_equal(reach, window, err_msg=f"{name} at {(row, col)}: {field}")
    assert receptive_field(model, "conv_3").size == (24, 24)


def test_a_crop_is_zero_where_the_field_reaches_outside_the_image() -> None:
    image = np.arange(1, 28 * 28 + 1).reshape(28, 28)
    field = ReceptiveField(size=(4, 4), jump=(2, 2), start=(0.5, 0.5))
    np.testing.assert_array_equal(crop(image, field, 3, 4), image[5:9, 7:11])
    corner = crop(image, field, 0, 0)
    np.testing.assert_array_equal(corner[:1], 0)
    np.testing.assert_array_equal(corner[1:, 1:], image[:3, :3])


def test_top_patches_of_a_model_read_the_layers_strongest_outputs() -> None:
    import keras

    model = tiny_cnn(num_classes=10, seed=3)
    images = sample_images(20, seed=1)
    top = top_patches(model, "conv_2", images, k=3, batch_size=7)
    outputs = keras.Model(model.inputs[0], model.get_layer("conv_2").output).predict(
        images[..., None] / 255.0, verbose=0
    )
    for f in (0, 5):
        for image, row, col, value in zip(top.images[f], top.rows[f], top.cols[f], top.values[f], strict=True):
            assert value == pytest.approx(outputs[image].max(axis=(0, 1))[f], rel=1e-5)
            assert value == pytest.approx(outputs[image, row, col, f], rel=1e-5)
    assert top.patches(images, 0).shape == (3, 8, 8)  # conv_2 of tiny_cnn sees 8x8 pixels


def test_activation_maximisation_raises_a_filters_mean_activation_fivefold() -> None:
    model = tiny_cnn(num_classes=10, seed=3)
    pictures = activation_maximisation(model, "conv_1")
    assert pictures.images.shape == (4, 28, 28)
    assert pictures.images.min() >= 0.0 and pictures.images.max() <= 1.0
    assert np.all(pictures.end_activation >= 5 * pictures.start_activation), pictures


def test_activation_maximisation_on_the_shipped_mnist_model() -> None:
    """The 64 filters of the shipped model's conv_2: nearly all rise at least fivefold, and the layer on average."""
    from cnnviz.core.store import load_model

    model = load_model(Path(REPO_ROOT) / "models" / "default_mnist.keras")
    pictures = activation_maximisation(model, "conv_2")
    ratio = pictures.end_activation / np.maximum(pictures.start_activation, 1e-9)
    assert np.mean(ratio >= 5) >= 0.9, np.round(ratio, 1)
    assert pictures.end_activation.mean() >= 5 * pictures.start_activation.mean()


def test_models_it_cannot_follow_are_refused_with_a_reason() -> None:
    with pytest.raises(InspectError, match="no convolution layer"):
        activation_maximisation(one_pixel_dense(), "conv_1")
    model = tiny_cnn(num_classes=10, seed=3)
    with pytest.raises(InspectError, match="conv layers"):
        top_patches(model, "dense_1", sample_images(2))
    with pytest.raises(InspectError, match="Flatten"):
        receptive_field(model, "dense_1")


def test_progress_is_reported_in_order_up_to_done() -> None:
    model = tiny_cnn(num_classes=10, seed=3)
    reports: list[tuple[float, str]] = []
    top_patches(model, "conv_1", sample_images(10), batch_size=4, on_progress=lambda s, t: reports.append((s, t)))
    activation_maximisation(model, "conv_2", steps=2, chunk=4, on_progress=lambda s, t: reports.append((s, t)))
    shares = [share for share, _ in reports]
    assert shares == [0.4, 0.8, 1.0, 4 / 6, 1.0]
    assert reports[-1][1] == "conv_2: growing a picture for filters 4-5"
