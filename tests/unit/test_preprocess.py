"""Unit tests for cnnviz.preprocess: every step of the MNIST-style preparation."""

from __future__ import annotations

import numpy as np
import pytest

from cnnviz.preprocess import (
    EmptySketchError,
    SketchInputError,
    centre_of_mass,
    crop_to_ink,
    ink_bounding_box,
    normalise_digit,
    place_by_centre_of_mass,
    scale_into_box,
)


def _bbox(image: np.ndarray) -> tuple[int, int]:
    rows = np.flatnonzero(image.any(axis=1))
    cols = np.flatnonzero(image.any(axis=0))
    return int(rows[-1] - rows[0] + 1), int(cols[-1] - cols[0] + 1)


def _oracle_centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    """Independent oracle: the weighted mean of the index grids."""
    rows, cols = np.indices(image.shape)
    total = image.sum()
    return float((rows * image).sum() / total), float((cols * image).sum() / total)


def _ring(height: int, width: int, top: int, left: int, size: tuple[int, int], thickness: int) -> np.ndarray:
    """A hollow rectangle ("0"-like) of ink inside a (height, width) canvas."""
    image = np.zeros((height, width), dtype=np.float64)
    h, w = size
    image[top : top + h, left : left + w] = 1.0
    image[top + thickness : top + h - thickness, left + thickness : left + w - thickness] = 0.0
    return image


@pytest.mark.parametrize(
    ("canvas", "top", "left", "size"),
    [
        ((280, 280), 10, 20, (200, 120)),  # tall, off-centre
        ((280, 280), 200, 180, (40, 90)),  # small, wide, in a corner
        ((50, 400), 5, 300, (30, 30)),  # odd-shaped canvas
        ((12, 9), 2, 1, (8, 5)),  # smaller than the output (must scale up)
    ],
)
def test_normalise_digit_centres_mass_and_fits_box(canvas, top, left, size) -> None:
    ink = _ring(*canvas, top, left, size, thickness=max(1, min(size) // 8))
    out = normalise_digit(ink)
    assert out.shape == (28, 28)
    assert out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() == pytest.approx(1.0)
    row, col = _oracle_centre_of_mass(out)
    assert abs(row - 14.0) <= 1.0 and abs(col - 14.0) <= 1.0
    height, width = _bbox(out > 0)
    assert max(height, width) <= 20
    assert max(height, width) >= 19  # the longer side fills the box
    # Aspect ratio kept (within a pixel of rounding on each side).
    expected = size[0] / size[1]
    assert (height - 1) / (width + 1) <= expected <= (height + 1) / max(width - 1, 1)


def test_normalise_digit_keeps_a_thin_vertical_stroke_thin() -> None:
    ink = np.zeros((280, 280))
    ink[30:250, 138:142] = 255.0  # a "1": 220 tall, 4 wide
    out = normalise_digit(ink)
    height, width = _bbox(out > 0.05)
    assert height == 20
    assert width <= 2


def test_normalise_digit_is_translation_invariant() -> None:
    a = _ring(280, 280, 20, 30, (150, 100), 12)
    b = _ring(280, 280, 110, 160, (150, 100), 12)
    np.testing.assert_allclose(normalise_digit(a), normalise_digit(b), atol=1e-6)


def test_normalise_digit_ignores_ink_scale() -> None:
    ink = _ring(100, 100, 10, 10, (60, 40), 6)
    np.testing.assert_allclose(normalise_digit(ink), normalise_digit(ink * 255.0), atol=1e-6)


@pytest.mark.parametrize("bad", [np.zeros((28, 28)), np.zeros((5, 7)), -np.ones((10, 10))])
def test_normalise_digit_rejects_empty_ink(bad) -> None:
    with pytest.raises(EmptySketchError, match="no ink"):
        normalise_digit(bad)


@pytest.mark.parametrize("bad", [np.ones((28,)), np.ones((0, 5)), np.ones((2, 2, 2)), np.array([[np.nan, 1.0]])])
def test_normalise_digit_rejects_bad_shapes(bad) -> None:
    with pytest.raises(SketchInputError):
        normalise_digit(bad)


def test_empty_sketch_error_is_a_value_error() -> None:
    assert issubclass(EmptySketchError, ValueError)


def test_crop_and_bounding_box() -> None:
    ink = np.zeros((10, 12))
    ink[2:5, 3:9] = 0.5
    assert ink_bounding_box(ink) == (2, 3, 5, 9)
    assert crop_to_ink(ink).shape == (3, 6)


def test_scale_into_box_shrinks_and_grows_keeping_aspect() -> None:
    shrunk = scale_into_box(np.ones((200, 100)))
    assert shrunk.shape == (20, 10)
    grown = scale_into_box(np.ones((4, 8)))
    assert grown.shape == (10, 20)
    assert shrunk.max() == pytest.approx(1.0) and grown.max() == pytest.approx(1.0)


def test_scale_into_box_anti_aliases() -> None:
    """Shrinking a sharp edge by 10x must produce intermediate grey values, not just 0 and 1."""
    ink = np.zeros((200, 200))
    ink[:, :95] = 1.0  # an edge that does not fall on a 10-pixel boundary
    scaled = scale_into_box(ink)
    assert np.any((scaled > 0.05) & (scaled < 0.95))


def test_centre_of_mass_matches_oracle() -> None:
    rng = np.random.default_rng(0)
    image = rng.random((13, 17))
    assert centre_of_mass(image) == pytest.approx(_oracle_centre_of_mass(image))


def test_place_by_centre_of_mass_never_cuts_ink() -> None:
    # All the mass in the top-left corner of a full 20x20 box: the shift is limited.
    digit = np.zeros((20, 20))
    digit[0, 0] = 1.0
    digit[19, 19] = 0.01
    field = place_by_centre_of_mass(digit)
    assert field.sum() == pytest.approx(digit.sum())
