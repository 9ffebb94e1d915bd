"""Tests for cnnviz.inside.activations: layer activations and learned filters, checked against Keras itself.

The filters are read with ``cnnviz.core.layers`` (the one conv-weight reader); these tests cover the
Inside page's use of it: any conv layer, sliced per input channel.
"""

from __future__ import annotations

import numpy as np
import pytest

from cnnviz.core.images import ModelInputError
from cnnviz.core.layers import LayerReadError, conv_layer_names, conv_weights
from cnnviz.inside.activations import (
    InspectError,
    compute_activations,
    filter_images,
    inspectable_layers,
    last_conv_layer_name,
)
from tests.support.models import one_pixel_dense, sample_images, tiny_cnn


@pytest.fixture(scope="module")
def model():
    return tiny_cnn()


def test_inspectable_layers_skip_bookkeeping_and_mark_output(model) -> None:
    assert inspectable_layers(model) == [
        ("conv_1", "conv"),
        ("pool_1", "pool"),
        ("conv_2", "conv"),
        ("pool_2", "pool"),
        ("dense_1", "dense"),
        ("predictions", "output"),
    ]
    assert conv_layer_names(model) == ["conv_1", "conv_2"]
    assert last_conv_layer_name(model) == "conv_2"


def test_activations_have_layer_shapes_and_match_keras(model) -> None:
    image = sample_images(1)[0]
    activations = compute_activations(model, image)
    assert [a.shape for a in activations] == [(26, 26, 4), (13, 13, 4), (11, 11, 6), (5, 5, 6), (8,), (10,)]
    assert all(a.values.dtype == np.float32 for a in activations)
    assert [a.is_spatial for a in activations] == [True] * 4 + [False] * 2
    # Oracle: the model's own prediction, and conv_1 recomputed with tf.nn.conv2d.
    import tensorflow as tf

    batch = image.astype(np.float32)[None, :, :, None] / 255.0
    np.testing.assert_allclose(activations[-1].values, model.predict(batch, verbose=0)[0], rtol=1e-5, atol=1e-6)
    kernel, bias = model.get_layer("conv_1").get_weights()
    expected = tf.nn.relu(tf.nn.conv2d(batch, kernel, strides=1, padding="VALID") + bias).numpy()[0]
    np.testing.assert_allclose(activations[0].values, expected, rtol=1e-5, atol=1e-6)


def test_activations_for_chosen_layers_and_unknown_layer(model) -> None:
    image = np.zeros((28, 28), dtype=np.float32)
    chosen = compute_activations(model, image, ["pool_1"])
    assert [(a.name, a.kind) for a in chosen] == [("pool_1", "pool")]
    with pytest.raises(InspectError, match="flatten"):
        compute_activations(model, image, ["flatten"])


def test_compute_activations_rejects_a_batch_and_a_wrong_size(model) -> None:
    with pytest.raises(InspectError, match="one image"):
        compute_activations(model, np.zeros((2, 28, 28), np.uint8))
    with pytest.raises(ModelInputError, match="28x28"):
        compute_activations(model, np.zeros((20, 20), np.uint8))


def test_filters_of_any_conv_layer_are_its_weights_sliced_per_input_channel(model) -> None:
    first = conv_weights(model).kernel
    assert first.shape == (3, 3, 1, 4)
    np.testing.assert_array_equal(first, model.get_layer("conv_1").get_weights()[0])
    deeper = conv_weights(model, "conv_2").kernel
    assert deeper.shape == (3, 3, 4, 6)
    images = filter_images(deeper, input_channel=2)
    assert images.shape == (6, 3, 3)
    np.testing.assert_array_equal(images[5], deeper[:, :, 2, 5])
    with pytest.raises(InspectError, match="from 0 to 3"):
        filter_images(deeper, input_channel=4)
    with pytest.raises(LayerReadError, match="conv layers"):
        conv_weights(model, "dense_1")


def test_dense_only_model_has_no_filters() -> None:
    model = one_pixel_dense()
    assert conv_layer_names(model) == []
    with pytest.raises(InspectError, match="Conv2D"):
        last_conv_layer_name(model)
    with pytest.raises(LayerReadError, match="no 2-D convolution layer"):
        conv_weights(model)
