"""Dataset summaries for the Data page (cnnviz.data.stats), checked against direct NumPy computations."""

from __future__ import annotations

import numpy as np
import pytest

from cnnviz.data import stats
from cnnviz.data.stats import (
    class_counts,
    class_montage,
    mean_images,
    montage,
    pixel_histogram,
    sample_indices_per_class,
)

RNG = np.random.default_rng(0)
IMAGES = RNG.integers(0, 256, size=(60, 28, 28), dtype=np.uint8)
LABELS = np.arange(60) % 3


def test_montage_places_each_image_in_its_cell():
    tiles = np.arange(4 * 2 * 3, dtype=np.float32).reshape(4, 2, 3)
    canvas = montage(tiles, 2, 2, pad=1)
    assert canvas.shape == (5, 7)
    np.testing.assert_array_equal(canvas[3:5, 4:7], tiles[3])
    assert canvas[2].sum() == 0  # the padding row


def test_montage_rejects_too_many_images():
    with pytest.raises(ValueError, match="do not fit"):
        montage(np.zeros((5, 2, 2)), 2, 2)


def test_class_montage_rows_hold_their_class():
    canvas = class_montage(IMAGES, LABELS, 3, per_class=4, pad=2)
    assert canvas.shape == (3 * 30 - 2, 4 * 30 - 2)
    first_of_class_2 = canvas[60:88, 0:28]
    picks = sample_indices_per_class(LABELS, 3, 4)
    np.testing.assert_array_equal(first_of_class_2, IMAGES[picks[2][0]])
    assert all(np.all(LABELS[p] == label) for label, p in enumerate(picks))


def test_counts_means_and_histogram_match_numpy():
    np.testing.assert_array_equal(class_counts(LABELS, 3), [20, 20, 20])
    np.testing.assert_allclose(mean_images(IMAGES, LABELS, 3)[1], IMAGES[LABELS == 1].mean(axis=0), rtol=1e-5)
    counts, edges = pixel_histogram(IMAGES, bins=32)
    expected, expected_edges = np.histogram(IMAGES, bins=32, range=(0, 256))
    np.testing.assert_array_equal(counts, expected)
    np.testing.assert_allclose(edges, expected_edges)


def test_missing_class_gives_nan_mean_and_bad_labels_are_refused():
    assert np.isnan(mean_images(IMAGES, LABELS, 4)[3]).all()
    with pytest.raises(ValueError, match="Labels must lie"):
        class_counts(np.array([0, 5]), 3)
    with pytest.raises(ValueError, match="labels"):
        mean_images(IMAGES, LABELS[:5], 3)


def test_the_intensity_caption_is_computed_from_the_data():
    # MNIST-like: background and ink near 255; Fashion-like: the bright pixels peak near 210.
    mnist_like = np.zeros((10, 28, 28), dtype=np.uint8)
    mnist_like[:, 10:14, 5:20] = 253
    fashion_like = np.zeros((10, 28, 28), dtype=np.uint8)
    fashion_like[:, 5:20, 5:20] = 210
    fashion_like[:, 5:7, 5:20] = 150
    mnist_text = stats.intensity_summary(*stats.pixel_histogram(mnist_like))
    fashion_text = stats.intensity_summary(*stats.pixel_histogram(fashion_like))
    assert "92% of the pixels are background" in mnist_text and "near 252" in mnist_text  # the bin 248-256
    assert "71% of the pixels are background" in fashion_text and "near 212" in fashion_text  # the bin 208-216
    assert "no pixel reaches 128" in stats.intensity_summary(*stats.pixel_histogram(np.full((2, 4, 4), 40, np.uint8)))
    with pytest.raises(ValueError, match="no pixels"):
        stats.intensity_summary(np.zeros(4), np.linspace(0, 256, 5))
