"""Tests for cnnviz.inside.saliency on hand-built models whose right answer is known in closed form."""

from __future__ import annotations

import numpy as np
import pytest

from cnnviz.inside.activations import InspectError
from cnnviz.inside.saliency import contrast_class, grad_cam, gradient_saliency, upsample
from tests.support.models import one_by_one_conv, one_pixel_dense, sample_images, tiny_cnn


def test_gradient_saliency_finds_the_only_pixel_that_matters() -> None:
    model = one_pixel_dense(pixel=(5, 7), weight=3.0)
    image = np.random.default_rng(0).random((28, 28)).astype(np.float32)
    result = gradient_saliency(model, image, class_index=0)
    assert result.method == "gradient"
    assert result.heatmap.shape == (28, 28) and result.heatmap.dtype == np.float32
    expected = np.zeros((28, 28), np.float32)
    expected[5, 7] = 1.0
    np.testing.assert_allclose(result.heatmap, expected, atol=1e-6)
    # d logit_0 / d pixel is exactly the weight: the logit, not the saturating softmax, is explained.
    assert result.raw[5, 7] == pytest.approx(3.0, rel=1e-5)
    assert gradient_saliency(model, image, class_index=1).raw[5, 7] == pytest.approx(-3.0, rel=1e-5)


def test_gradient_saliency_defaults_to_predicted_class() -> None:
    model = one_pixel_dense(pixel=(5, 7))
    image = np.zeros((28, 28), np.float32)
    image[5, 7] = 1.0  # class 0 logit +3, class 1 logit -3
    result = gradient_saliency(model, image)
    assert result.class_index == 0
    assert result.probability == pytest.approx(1 / (1 + np.exp(-6.0)), rel=1e-5)


def test_grad_cam_matches_closed_form() -> None:
    rng = np.random.default_rng(1)
    dense_kernel = rng.normal(size=(28 * 28 * 2, 3)).astype(np.float32)
    model = one_by_one_conv(dense_kernel)
    image = sample_images(1)[0].astype(np.float32) / 255.0
    for class_index in range(3):
        result = grad_cam(model, image, class_index=class_index)
        # Flatten order is (row, col, channel): channel k's weights are rows k::2.
        alpha = np.array([dense_kernel[k::2, class_index].mean() for k in range(2)])
        expected = np.maximum(alpha[0] * image + alpha[1] * (-image), 0.0)
        np.testing.assert_allclose(result.raw, expected, rtol=1e-4, atol=1e-6)
        assert result.heatmap.shape == (28, 28)
        assert 0.0 <= result.heatmap.min() and result.heatmap.max() <= 1.0


def test_grad_cam_on_a_cnn_is_upsampled_and_normalised() -> None:
    model = tiny_cnn(num_classes=3)
    image = sample_images(1)[0]
    result = grad_cam(model, image)
    assert result.raw.shape == (11, 11)  # conv_2's resolution
    assert result.heatmap.shape == (28, 28) and result.heatmap.dtype == np.float32
    assert result.heatmap.max() in (0.0, pytest.approx(1.0))
    probabilities = model.predict(image[None, :, :, None] / 255.0, verbose=0)[0]
    assert result.class_index == int(np.argmax(probabilities))


def test_saliency_rejects_bad_class_and_conv_free_model() -> None:
    model = one_pixel_dense()
    image = np.zeros((28, 28), np.float32)
    with pytest.raises(InspectError, match="from 0 to 1, got 5"):
        gradient_saliency(model, image, class_index=5)
    with pytest.raises(InspectError, match="Conv2D"):
        grad_cam(model, image)


def test_upsample_keeps_constant_maps_constant() -> None:
    result = upsample(np.full((7, 7), 0.5, np.float32))
    assert result.shape == (28, 28)
    np.testing.assert_allclose(result, 0.5, atol=1e-6)


def test_the_class_explained_beside_the_prediction_is_the_true_one_when_the_model_is_wrong() -> None:
    assert contrast_class(predicted=3, true_class=8, num_classes=10) == 8
    assert contrast_class(predicted=3, true_class=3, num_classes=10) == 0  # right: the first other class
    assert contrast_class(predicted=0, true_class=None, num_classes=10) == 1  # a sketch predicted as 0
    assert contrast_class(predicted=0, true_class=None, num_classes=1) == 0  # no other class to offer
