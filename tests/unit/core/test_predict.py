"""Unit tests for cnnviz.core.predict: probabilities from a real Keras model, top guesses, unsure."""

from __future__ import annotations

import numpy as np
import pytest

from cnnviz.core.predict import PredictionError, is_unsure, predict_probabilities, top_guesses

NAMES = [str(digit) for digit in range(10)]


def test_probabilities_match_keras_predict(tiny_model, four_images) -> None:
    image = four_images[2]
    probabilities = predict_probabilities(tiny_model, image)
    expected = tiny_model.predict(image[np.newaxis, ..., np.newaxis], verbose=0)[0]
    assert probabilities.shape == (10,)
    np.testing.assert_allclose(probabilities, expected, atol=1e-5)
    assert probabilities.sum() == pytest.approx(1.0)


def test_probabilities_reject_a_wrong_image_shape(tiny_model) -> None:
    with pytest.raises(ValueError, match="28, 28"):
        predict_probabilities(tiny_model, np.zeros((20, 20), dtype=np.float32))


def test_nan_output_is_explained() -> None:
    def broken(batch, training=False):
        return np.full((1, 10), np.nan)

    with pytest.raises(PredictionError, match="NaN"):
        predict_probabilities(broken, np.zeros((28, 28), dtype=np.float32))


def test_top_guesses_are_sorted_and_named() -> None:
    probabilities = np.array([0.05, 0.6, 0.0, 0.25, 0.1, 0, 0, 0, 0, 0])
    guesses = top_guesses(probabilities, NAMES)
    assert [(g.index, g.name) for g in guesses] == [(1, "1"), (3, "3"), (4, "4")]
    assert guesses[0].probability == pytest.approx(0.6)
    assert len(top_guesses(probabilities[:2], NAMES[:2], k=3)) == 2


def test_top_guesses_reject_mismatched_names() -> None:
    with pytest.raises(PredictionError, match="10 class names"):
        top_guesses(np.ones(3) / 3, NAMES)


def test_unsure() -> None:
    assert is_unsure(np.array([0.5, 0.3, 0.2]))
    assert not is_unsure(np.array([0.9, 0.05, 0.05]))
    assert is_unsure(np.array([0.7, 0.3]), threshold=0.8)
