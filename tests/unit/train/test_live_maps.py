"""cnnviz.train.live_maps: the first layer's maps in NumPy equal Keras's own conv_1 output (issue 15 item 7)."""

from __future__ import annotations

import numpy as np
import pytest

from cnnviz.train.live_maps import MAX_SHOWN, first_layer_maps, live_maps_figure
from cnnviz.train.spec import ConvBlockSpec, ModelSpec, build_model


@pytest.mark.parametrize(("kernel_size", "stride", "padding", "activation"),
                         [(3, 1, "same", "relu"), (5, 2, "same", "tanh"), (3, 2, "valid", "sigmoid"),
                          (5, 1, "valid", "relu")])
def test_maps_equal_keras_conv_1(kernel_size: int, stride: int, padding: str, activation: str) -> None:
    import keras

    spec = ModelSpec(conv_blocks=(ConvBlockSpec(filters=6, kernel_size=kernel_size, stride=stride, padding=padding,
                                                activation=activation),), dense_units=())
    model = build_model(spec, 2, seed=3)
    kernel, bias = model.get_layer("conv_1").get_weights()
    bias = np.random.default_rng(0).normal(0, 0.1, bias.shape).astype(np.float32)  # non-zero, to see it added
    model.get_layer("conv_1").set_weights([kernel, bias])
    image = np.random.default_rng(1).random((28, 28)).astype(np.float32)
    oracle = keras.Model(model.inputs, model.get_layer("conv_1").output)(image[None, :, :, None]).numpy()[0]
    ours = first_layer_maps(image, kernel, bias, stride=stride, padding=padding, activation=activation)
    assert ours.shape == oracle.shape
    np.testing.assert_allclose(ours, oracle, atol=1e-5)


def test_bad_shapes_and_settings_are_refused() -> None:
    kernel, bias = np.zeros((3, 3, 1, 4)), np.zeros(4)
    with pytest.raises(ValueError, match="2-D image"):
        first_layer_maps(np.zeros((28, 28, 1)), kernel, bias)
    with pytest.raises(ValueError, match="bias"):
        first_layer_maps(np.zeros((28, 28)), kernel, np.zeros(3))
    with pytest.raises(ValueError, match="padding"):
        first_layer_maps(np.zeros((28, 28)), kernel, bias, padding="full")
    with pytest.raises(ValueError, match="activation"):
        first_layer_maps(np.zeros((28, 28)), kernel, bias, activation="gelu")


def test_the_figure_shows_the_image_and_each_filter_with_its_map_up_to_a_limit() -> None:
    kernel = np.random.default_rng(0).normal(size=(3, 3, 1, 20)).astype(np.float32)
    image = np.random.default_rng(1).random((28, 28))
    maps = first_layer_maps(image, kernel, np.zeros(20))
    fig = live_maps_figure(image, maps, kernel, epoch=3)
    assert len(fig.data) == 1 + 2 * MAX_SHOWN
    np.testing.assert_allclose(np.asarray(fig.data[2].z), maps[::-1, :, 0])  # filter 1's map, drawn upright
    assert "epoch 3" in fig.layout.title.text


def test_a_models_maps_of_a_dataset_image_are_its_conv_1_now() -> None:
    from cnnviz.train.live_maps import model_first_layer_maps

    block = ConvBlockSpec(filters=4, stride=2, padding="valid", activation="tanh")
    model = build_model(ModelSpec(conv_blocks=(block,), dense_units=()), 2, seed=1)
    image = np.random.default_rng(2).integers(0, 256, (28, 28)).astype(np.uint8)
    scaled, maps, kernel = model_first_layer_maps(model, block, image)
    np.testing.assert_allclose(scaled, image / 255.0, atol=1e-6)
    kernel_now, bias_now = model.get_layer("conv_1").get_weights()
    np.testing.assert_array_equal(kernel, kernel_now)
    np.testing.assert_allclose(maps, first_layer_maps(scaled, kernel_now, bias_now, stride=2, padding="valid",
                                                      activation="tanh"))
