"""One backprop step on a filter: dL/dW against finite differences, its patch-sum build, and Keras's optimizer step."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from cnnviz.inside.activations import InspectError
from cnnviz.inside.backprop import (
    GradientBuild,
    conv_layer_info,
    cross_entropy,
    extract_patches,
    filter_gradient,
    gradient_build,
    optimizer_step,
)
from tests.support.models import one_pixel_dense, sample_images, tiny_cnn

LABEL = 3


@pytest.fixture(scope="module")
def model64() -> Any:
    """tiny_cnn in float64, so central differences are not drowned in float32 rounding."""
    import keras

    floatx, policy = keras.config.floatx(), keras.config.dtype_policy()
    keras.config.set_floatx("float64")
    keras.config.set_dtype_policy("float64")  # Keras caches the policy: both must be set, and both restored
    try:
        return tiny_cnn(num_classes=10, seed=1)
    finally:
        keras.config.set_floatx(floatx)
        keras.config.set_dtype_policy(policy)


@pytest.fixture(scope="module")
def model() -> Any:
    return tiny_cnn(num_classes=10, seed=1)


@pytest.fixture(scope="module")
def image() -> np.ndarray:
    return sample_images(1, seed=2)[0]


def _finite_differences(model: Any, image: np.ndarray, layer: str, index: int, eps: float = 1e-5) -> np.ndarray:
    kernel = model.get_layer(layer).kernel
    base = np.array(kernel.numpy())
    result = np.zeros(base.shape[:3])
    try:
        for position in np.ndindex(*base.shape[:3]):
            for sign in (1.0, -1.0):
                moved = base.copy()
                moved[position + (index,)] += sign * eps
                kernel.assign(moved)
                result[position] += sign * cross_entropy(model, image, LABEL) / (2 * eps)
    finally:
        kernel.assign(base)
    return result[:, :, 0] if result.shape[2] == 1 else result


@pytest.mark.parametrize(("layer", "index", "shape"), [("conv_1", 2, (3, 3)), ("conv_2", 5, (3, 3, 4))])
def test_filter_gradient_matches_central_finite_differences(model64, image, layer, index, shape) -> None:
    gradient = filter_gradient(model64, image, LABEL, layer, index)
    assert gradient.shape == shape
    expected = _finite_differences(model64, image, layer, index)
    assert np.linalg.norm(expected) > 0
    assert np.linalg.norm(gradient - expected) / np.linalg.norm(expected) < 1e-2


def test_filter_gradient_is_taken_with_dropout_off(model, image) -> None:
    # Dropout is random in training mode; in inference mode two calls agree exactly.
    first = filter_gradient(model, image, LABEL, "conv_1", 0)
    np.testing.assert_array_equal(first, filter_gradient(model, image, LABEL, "conv_1", 0))


@pytest.mark.parametrize(("layer", "index"), [("conv_1", 1), ("conv_2", 4)])
def test_input_patches_weighted_by_the_output_gradient_sum_to_the_filter_gradient(model, image, layer, index) -> None:
    build = gradient_build(model, image, LABEL, layer, index)
    expected = filter_gradient(model, image, LABEL, layer, index)
    assert np.abs(expected).max() > 0
    np.testing.assert_allclose(build.weighted_sum, expected, rtol=1e-4, atol=1e-7)
    if layer == "conv_1":
        np.testing.assert_allclose(build.layer_input[:, :, 0], image / 255.0, rtol=1e-6)


def test_patches_follow_same_padding_strides_and_dilation() -> None:
    import keras

    inputs = keras.Input(shape=(28, 28, 1), name="input")
    x = keras.layers.Conv2D(2, 3, strides=2, padding="same", name="conv_1")(inputs)
    x = keras.layers.Conv2D(3, 3, dilation_rate=2, padding="same", activation="tanh", name="conv_2")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    model = keras.Model(inputs, keras.layers.Dense(4, activation="softmax", name="predictions")(x))
    image = sample_images(1, seed=5)[0]
    for layer in ("conv_1", "conv_2"):
        build = gradient_build(model, image, 1, layer, 1)
        np.testing.assert_allclose(build.weighted_sum, filter_gradient(model, image, 1, layer, 1), rtol=1e-4, atol=1e-7)
    # A brute-force loop for one patch: stride 2, "same" padding on 28 pixels puts the extra zero after.
    values = np.arange(28 * 28, dtype=np.float32).reshape(28, 28, 1)
    patches = extract_patches(values, conv_layer_info(model, "conv_1"))
    assert patches.shape == (14, 14, 3, 3, 1)
    np.testing.assert_array_equal(patches[3, 5, :, :, 0], values[6:9, 10:13, 0])
    np.testing.assert_array_equal(patches[13, 13, :, :, 0], np.pad(values[26:28, 26:28, 0], ((0, 1), (0, 1))))


def test_the_positions_shown_are_those_that_add_most_not_a_large_gradient_over_a_blank_patch() -> None:
    patches = np.zeros((2, 2, 3, 3, 1), dtype=np.float32)
    patches[0, 1] = 1.0  # ||patch|| = 3
    patches[1, 0] = 0.5  # ||patch|| = 1.5
    gradient = np.array([[100.0, 1.0], [-4.0, 0.0]], dtype=np.float32)  # (0, 0) is large but its patch is blank
    build = GradientBuild(patches=patches, output_gradient=gradient, layer_input=np.zeros((4, 4, 1)))
    np.testing.assert_array_equal(build.strongest_positions(2), [[1, 0], [0, 1]])
    np.testing.assert_allclose(build.weighted_sum, np.full((3, 3), 1.0 - 2.0))


def test_the_optimizer_step_equals_keras_apply_gradients_on_a_copy(model, image) -> None:
    import keras
    import tensorflow as tf

    original = [w.copy() for w in model.get_weights()]
    step = optimizer_step(model, image, LABEL, "conv_2", 3, optimizer="RMSprop", learning_rate=0.05)
    # The picked model is not changed.
    for before, now in zip(original, model.get_weights(), strict=True):
        np.testing.assert_array_equal(before, now)
    reference = keras.models.clone_model(model)
    reference.set_weights(original)
    batch = tf.convert_to_tensor((image / 255.0).astype(np.float32)[None, :, :, None])
    with tf.GradientTape() as tape:
        probabilities = reference(batch, training=False)
        loss = -tf.math.log(probabilities[0, LABEL])
    gradients = tape.gradient(loss, reference.trainable_variables)
    keras.optimizers.RMSprop(learning_rate=0.05).apply_gradients(zip(gradients, reference.trainable_variables))
    expected = reference.get_layer("conv_2").get_weights()[0][:, :, :, 3]
    np.testing.assert_allclose(step.weights_after, expected, rtol=1e-5, atol=1e-7)
    assert step.loss_before == pytest.approx(float(loss), rel=1e-5)
    assert step.loss_after == pytest.approx(cross_entropy(reference, image, LABEL), rel=1e-5)
    assert np.abs(step.update).max() > 0


def test_sgd_moves_against_the_gradient_and_adam_by_the_learning_rate(model, image) -> None:
    sgd = optimizer_step(model, image, LABEL, "conv_1", 2, optimizer="SGD", learning_rate=0.1)
    np.testing.assert_allclose(sgd.update, -0.1 * sgd.gradient, rtol=1e-4, atol=1e-8)
    np.testing.assert_allclose(sgd.gradient, filter_gradient(model, image, LABEL, "conv_1", 2), rtol=1e-5)
    # Adam's first step is lr * g / (|g| + eps): the learning rate against the gradient's sign.
    adam = optimizer_step(model, image, LABEL, "conv_1", 2, optimizer="Adam", learning_rate=0.01)
    big = np.abs(adam.gradient) > 1e-4
    np.testing.assert_allclose(adam.update[big], -0.01 * np.sign(adam.gradient[big]), rtol=1e-2)
    # A small step downhill lowers the loss; moving only this filter lowers it too, by less or equal.
    small = optimizer_step(model, image, LABEL, "conv_1", 2, optimizer="SGD", learning_rate=0.01)
    assert small.loss_after < small.loss_before
    assert small.loss_filter_only < small.loss_before


def test_models_and_arguments_it_cannot_use_are_refused_with_a_reason(model, image) -> None:
    with pytest.raises(InspectError, match="no convolution layer"):
        filter_gradient(one_pixel_dense(), image, 0, "conv_1", 0)
    with pytest.raises(InspectError, match="conv layers"):
        filter_gradient(model, image, LABEL, "dense_1", 0)
    with pytest.raises(InspectError, match="filter index from 0 to 3"):
        filter_gradient(model, image, LABEL, "conv_1", 4)
    with pytest.raises(InspectError, match="class label from 0 to 9"):
        gradient_build(model, image, 10, "conv_1", 0)
    with pytest.raises(InspectError, match="optimizer"):
        optimizer_step(model, image, LABEL, "conv_1", 0, optimizer="Lion")
    with pytest.raises(InspectError, match="learning rate"):
        optimizer_step(model, image, LABEL, "conv_1", 0, learning_rate=0.0)
