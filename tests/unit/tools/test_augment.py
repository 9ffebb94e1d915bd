"""Unit tests for tools.augment: augmented digits keep MNIST's framing and are reproducible."""

from __future__ import annotations

import numpy as np
import pytest

from cnnviz.sketch.preprocess import centre_of_mass
from tools.augment import AugmentConfig, augment_dataset, augment_digit


def _digit() -> np.ndarray:
    image = np.zeros((28, 28), dtype=np.uint8)
    image[4:24, 12:16] = 255  # a "1", 20 tall and 4 wide, like MNIST
    image[4:7, 9:12] = 255
    return image


def test_augmented_digit_keeps_mnist_framing() -> None:
    rng = np.random.default_rng(0)
    for _ in range(20):
        out = augment_digit(_digit(), rng)
        assert out.shape == (28, 28) and out.dtype == np.uint8
        row, col = centre_of_mass(out.astype(np.float64))
        assert abs(row - 14) <= 1 and abs(col - 14) <= 1
        rows = np.flatnonzero(out.any(axis=1))
        cols = np.flatnonzero(out.any(axis=0))
        assert max(rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1) == 20
        assert out.max() == 255


def test_no_change_config_keeps_the_digit() -> None:
    still = AugmentConfig(0.0, 0.0, 0.0, 0.0, 0.0)
    out = augment_digit(_digit(), np.random.default_rng(0), still).astype(np.float64) / 255
    original = _digit().astype(np.float64) / 255
    assert np.abs(out - original).mean() < 0.05


def test_thickening_adds_ink_and_thinning_removes_it() -> None:
    base = AugmentConfig(0.0, 0.0, 0.0, 0.0, 0.0)
    plain = augment_digit(_digit(), np.random.default_rng(0), base).sum()
    thick = augment_digit(_digit(), np.random.default_rng(0), AugmentConfig(0.0, 0.0, 0.0, 1.0, 0.0)).sum()
    thin = augment_digit(_digit(), np.random.default_rng(0), AugmentConfig(0.0, 0.0, 0.0, 0.0, 1.0)).sum()
    assert thin < plain < thick


def test_augment_dataset_is_reproducible_and_keeps_labels() -> None:
    images = np.stack([_digit(), _digit().T])
    labels = np.array([1, 7])
    x1, y1 = augment_dataset(images, labels, copies=2, seed=3)
    x2, _ = augment_dataset(images, labels, copies=2, seed=3)
    assert x1.shape == (6, 28, 28) and y1.tolist() == [1, 7, 1, 7, 1, 7]
    np.testing.assert_array_equal(x1, x2)
    np.testing.assert_array_equal(x1[:2], images)  # originals first, untouched


@pytest.mark.parametrize("bad", [np.zeros((27, 28)), np.zeros((2, 28, 28, 1))])
def test_bad_shapes_raise(bad) -> None:
    with pytest.raises(ValueError, match="28, 28"):
        if bad.ndim == 2:
            augment_digit(bad, np.random.default_rng(0))
        else:
            augment_dataset(bad, np.zeros(2))
