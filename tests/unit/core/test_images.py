"""The one model-input contract (cnnviz.core.images)."""

from __future__ import annotations

import numpy as np
import pytest

from cnnviz.core.images import ModelInputError, to_model_batch


@pytest.mark.parametrize(
    ("images", "expected_shape"),
    [
        (np.zeros((28, 28), np.uint8), (1, 28, 28, 1)),
        (np.zeros((28, 28, 1), np.float32), (1, 28, 28, 1)),
        (np.zeros((3, 28, 28), np.uint8), (3, 28, 28, 1)),
        (np.zeros((3, 28, 28, 1), np.float64), (3, 28, 28, 1)),
    ],
)
def test_to_model_batch_shapes(images: np.ndarray, expected_shape: tuple[int, ...]) -> None:
    batch = to_model_batch(images)
    assert batch.shape == expected_shape
    assert batch.dtype == np.float32


def test_to_model_batch_scales_uint8_and_rejects_bad_input() -> None:
    assert to_model_batch(np.full((28, 28), 255, np.uint8)).max() == pytest.approx(1.0)
    with pytest.raises(ModelInputError, match=r"got shape \(32, 32\)"):
        to_model_batch(np.zeros((32, 32)))
    with pytest.raises(ModelInputError, match="in \\[0, 1\\]"):
        to_model_batch(np.full((28, 28), 255.0))
    with pytest.raises(ModelInputError, match="finite"):
        to_model_batch(np.full((28, 28), np.nan))
