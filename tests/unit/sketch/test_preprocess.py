"""Unit tests for cnnviz.sketch.preprocess: every step of the MNIST-style preparation."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from cnnviz.sketch.preprocess import (
    FILL_FRAMING,
    MAX_INPUT_PIXELS,
    MNIST_FRAMING,
    EmptySketchError,
    SketchInputError,
    centre_of_mass,
    crop_to_ink,
    detect_background,
    extract_ink,
    framing_for,
    ink_bounding_box,
    limit_size,
    luminance,
    normalise_digit,
    otsu_threshold,
    photo_to_ink,
    place_by_centre_of_mass,
    preprocess_steps,
    scale_into_box,
    sketch_to_input,
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


# ---------------------------------------------------------------------------------------------
# Canvas images: ink extraction in every convention, the full pipeline, bad input.
# ---------------------------------------------------------------------------------------------



def _draw_seven(size: int = 280, *, mode: str = "L", background=0, ink=255, width: int = 18) -> np.ndarray:
    """A "7" drawn with Pillow, in the given colour convention."""
    picture = Image.new(mode, (size, size), background)
    pen = ImageDraw.Draw(picture)
    scale = size / 280
    pen.line([(70 * scale, 50 * scale), (200 * scale, 50 * scale), (120 * scale, 240 * scale)], fill=ink,
             width=max(1, round(width * scale)), joint="curve")
    return np.asarray(picture, dtype=np.uint8)


@pytest.fixture(scope="module")
def reference_seven() -> np.ndarray:
    return sketch_to_input(_draw_seven())


@pytest.mark.parametrize(
    ("image_factory", "expected"),
    [
        (lambda: _draw_seven(mode="L", background=0, ink=255), "dark"),
        (lambda: _draw_seven(mode="L", background=255, ink=0), "light"),
        (lambda: _draw_seven(mode="RGB", background=(0, 0, 0), ink=(255, 255, 255)), "dark"),
        (lambda: _draw_seven(mode="RGB", background=(250, 250, 240), ink=(20, 20, 120)), "light"),
        (lambda: _draw_seven(mode="RGBA", background=(0, 0, 0, 0), ink=(0, 0, 0, 255)), "transparent"),
        (lambda: _draw_seven(mode="RGBA", background=(0, 0, 0, 0), ink=(255, 255, 255, 255)), "transparent"),
        (lambda: _draw_seven(mode="RGBA", background=(255, 255, 255, 255), ink=(0, 0, 0, 255)), "light"),
        (lambda: _draw_seven(mode="RGBA", background=(0, 0, 0, 255), ink=(255, 255, 255, 255)), "dark"),
    ],
)
def test_every_convention_gives_the_same_input(image_factory, expected, reference_seven) -> None:
    image = image_factory()
    assert detect_background(image) == expected
    out = sketch_to_input(image)
    assert out.shape == (28, 28) and out.dtype == np.float32
    assert 0.0 <= out.min() and out.max() <= 1.0
    # Black ink on a transparent layer must not come out as "no ink" or inverted.
    np.testing.assert_allclose(out, reference_seven, atol=0.02)


def test_inversion_makes_ink_white_on_black() -> None:
    ink = extract_ink(_draw_seven(mode="L", background=255, ink=0))
    assert ink[50, 130] == pytest.approx(1.0)  # on the top bar of the 7
    assert ink[5, 5] == 0.0  # background
    assert ink.dtype == np.float32 and ink.max() == pytest.approx(1.0)


def test_extract_ink_uses_alpha_for_transparent_background() -> None:
    image = np.zeros((20, 20, 4), dtype=np.uint8)
    image[5:15, 9:11] = (10, 20, 30, 128)  # half-transparent dark ink
    ink = extract_ink(image)
    assert ink[10, 10] == pytest.approx(1.0)
    assert ink[0, 0] == 0.0


def test_extract_ink_removes_faint_noise() -> None:
    image = np.zeros((100, 100), dtype=np.uint8)
    image[20:80, 48:52] = 255
    image[2, 2] = 10  # a speck of compression noise far from the digit
    assert extract_ink(image)[2, 2] == 0.0
    assert preprocess_steps(image).bounding_box == (20, 48, 80, 52)


@pytest.mark.parametrize(
    "blank",
    [
        np.zeros((280, 280, 4), dtype=np.uint8),  # an untouched transparent canvas
        np.zeros((280, 280, 3), dtype=np.uint8),  # an untouched black canvas
        np.full((280, 280), 255, dtype=np.uint8),  # white paper
        np.full((50, 60, 3), 128, dtype=np.uint8)
        + np.random.default_rng(0).integers(0, 5, (50, 60, 3), dtype=np.uint8),
    ],
)
def test_empty_canvas_raises_a_friendly_value_error(blank) -> None:
    with pytest.raises(ValueError, match="empty|no ink") as caught:
        sketch_to_input(blank)
    assert isinstance(caught.value, EmptySketchError)


@pytest.mark.parametrize(
    ("bad", "match"),
    [
        (np.zeros((28, 28), dtype=np.float32), "uint8"),
        (np.zeros((28, 28, 5), dtype=np.uint8), "shape"),
        (np.zeros((2, 28, 28, 1), dtype=np.uint8), "shape"),
        (np.zeros((0, 28), dtype=np.uint8), "at least one pixel"),
    ],
)
def test_bad_images_raise_with_what_was_received(bad, match) -> None:
    with pytest.raises(SketchInputError, match=match):
        sketch_to_input(bad)


def test_too_many_pixels_are_refused_before_any_work() -> None:
    side = int(MAX_INPUT_PIXELS**0.5) + 2
    huge = np.broadcast_to(np.uint8(0), (side, side))  # no memory: a broadcast view
    with pytest.raises(SketchInputError, match="scale it down"):
        sketch_to_input(huge)


def test_huge_input_is_shrunk_first_and_matches_small() -> None:
    # How fast it is lives in benchmarks/bench_sketch.py; here, that a 4000-pixel photo gives the same digit.
    big = _draw_seven(size=4000, mode="L", background=255, ink=0)
    out = sketch_to_input(big)
    np.testing.assert_allclose(out, sketch_to_input(_draw_seven(mode="L", background=255, ink=0)), atol=0.15)


@pytest.mark.parametrize("shape", [(1, 1), (1, 500), (500, 1), (3, 900), (7, 5)])
def test_odd_shaped_blank_inputs_are_empty(shape) -> None:
    with pytest.raises(EmptySketchError):
        sketch_to_input(np.zeros(shape, dtype=np.uint8))


@pytest.mark.parametrize("shape", [(1, 500), (500, 1), (3, 900), (7, 5), (280, 17)])
def test_odd_shaped_drawings_are_centred(shape) -> None:
    cross = np.zeros(shape, dtype=np.uint8)
    cross[shape[0] // 2, :] = 255
    cross[:, shape[1] // 2] = 255
    out = sketch_to_input(np.pad(cross, 2))  # a black frame around it, as on a canvas
    assert out.shape == (28, 28)
    row, col = centre_of_mass(out)
    assert abs(row - 14) <= 1 and abs(col - 14) <= 1
    assert max(_bbox(out > 0)) == 20


def test_limit_size_shrinks_only_large_images() -> None:
    small = np.zeros((100, 50, 4), dtype=np.uint8)
    assert limit_size(small) is small
    large = np.zeros((3000, 1500, 3), dtype=np.uint8)
    assert limit_size(large).shape == (1024, 512, 3)
    assert limit_size(np.zeros((3000, 10), dtype=np.uint8)).shape == (1024, 3)


def test_luminance_matches_pillow() -> None:
    rng = np.random.default_rng(1)
    rgb = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
    expected = np.asarray(Image.fromarray(rgb).convert("L"), dtype=np.float32)
    np.testing.assert_allclose(luminance(rgb), expected, atol=1.0)


def test_steps_are_in_order_and_end_with_the_output() -> None:
    result = preprocess_steps(_draw_seven(mode="RGBA", background=(0, 0, 0, 0), ink=(0, 0, 0, 255)))
    titles = [step.title for step in result.steps]
    assert titles == ["Your drawing", "Ink, white on black", "Crop to the ink", "Scale into 20x20", "Centre in 28x28"]
    assert result.background == "transparent"
    assert result.steps[-1].image is result.output
    assert max(result.steps[3].image.shape) == 20
    assert all(step.explanation for step in result.steps)


# ---------------------------------------------------------------------------------------------
# Photos: Otsu's threshold against a brute-force oracle, uneven lighting, blank pages.
# ---------------------------------------------------------------------------------------------


def _otsu_brute_force(gray: np.ndarray) -> int:
    """Oracle: try every threshold and compute the between-class variance directly from the pixels."""
    values = gray.ravel().astype(np.float64)
    best, best_t = -1.0, 0
    for t in range(256):
        low, high = values[values <= t], values[values > t]
        if low.size == 0 or high.size == 0:
            continue
        w0, w1 = low.size / values.size, high.size / values.size
        between = w0 * w1 * (low.mean() - high.mean()) ** 2
        if between > best + 1e-12:
            best, best_t = between, t
    return best_t


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_otsu_matches_brute_force(seed) -> None:
    rng = np.random.default_rng(seed)
    dark = rng.normal(60 + 20 * seed, 15, 300)
    light = rng.normal(200, 20, 900)
    gray = np.clip(np.concatenate([dark, light]), 0, 255).astype(np.uint8).reshape(30, 40)
    assert otsu_threshold(gray) == _otsu_brute_force(gray)


def test_otsu_on_two_levels_splits_between_them() -> None:
    gray = np.array([[10, 10, 200, 200]], dtype=np.uint8)
    assert 10 <= otsu_threshold(gray) < 200
    assert otsu_threshold(np.full((3, 3), 77, dtype=np.uint8)) == 77


def _photo_of_seven(seed: int = 0) -> np.ndarray:
    """Dark ink on paper lit from one side (a strong brightness gradient) with sensor noise, as RGB."""
    rng = np.random.default_rng(seed)
    size = 400
    ink = _draw_seven(size=size, mode="L", background=0, ink=255, width=22).astype(np.float64) / 255
    columns = np.linspace(0.45, 1.0, size)[np.newaxis, :]  # the left side is in shadow
    paper = 235 * columns * np.ones((size, 1))
    photo = paper * (1 - 0.75 * ink) + rng.normal(0, 4, (size, size))
    gray = np.clip(photo, 0, 255).astype(np.uint8)
    return np.stack([gray, gray, np.clip(gray.astype(int) - 10, 0, 255).astype(np.uint8)], axis=-1)


def test_photo_with_uneven_lighting_finds_the_digit(reference_seven) -> None:
    photo = _photo_of_seven()
    found = photo_to_ink(photo)
    truth = _draw_seven(size=400, mode="L", background=0, ink=255, width=22) > 127
    agreement = (found.ink.astype(bool) == truth).mean()
    assert agreement > 0.98
    # The shadowed paper on the left is not mistaken for ink.
    assert found.ink[:, :40].sum() == 0
    result = preprocess_steps(photo, photo=True)
    assert result.background == "photo" and result.threshold == found.threshold
    titles = [s.title.split(" (")[0] for s in result.steps][:4]
    assert titles == ["Your photo", "Grayscale", "Even lighting and contrast", "Threshold"]
    assert np.abs(result.output - reference_seven).mean() < 0.05


def test_plain_threshold_fails_where_lighting_correction_succeeds() -> None:
    """Why the flattening step exists: a global Otsu threshold on the raw photo marks the shadow as ink."""
    gray = luminance(_photo_of_seven()).astype(np.uint8)
    naive = gray <= otsu_threshold(gray)
    assert naive[:, :40].mean() > 0.5


def test_blank_photo_raises() -> None:
    rng = np.random.default_rng(0)
    paper = np.clip(200 + rng.normal(0, 3, (300, 300)), 0, 255).astype(np.uint8)
    with pytest.raises(EmptySketchError, match="No digit"):
        sketch_to_input(paper, photo=True)


def test_photo_of_light_ink_on_dark_board() -> None:
    image = _draw_seven(mode="L", background=30, ink=220)
    out = sketch_to_input(image, photo=True)
    assert abs(centre_of_mass(out)[0] - 14) <= 1
    assert np.abs(out - sketch_to_input(_draw_seven())).mean() < 0.05


def test_fill_framing_fills_the_field_and_centres_the_box() -> None:
    assert framing_for("mnist") is MNIST_FRAMING and framing_for("digits") is MNIST_FRAMING
    assert framing_for("fashion_mnist") is FILL_FRAMING and framing_for("kmnist") is FILL_FRAMING
    result = preprocess_steps(_draw_seven(), framing=FILL_FRAMING)
    rows = np.flatnonzero(result.output.any(axis=1))
    cols = np.flatnonzero(result.output.any(axis=0))
    assert rows[-1] - rows[0] + 1 == 28  # the 7 is taller than wide: its height fills the field
    assert abs((cols[0] + cols[-1]) / 2 - 13.5) <= 0.5
    assert result.steps[3].title == "Scale into 28x28"


def _canvas_with(draw_on) -> np.ndarray:
    picture = Image.new("RGB", (280, 280), "black")
    draw_on(ImageDraw.Draw(picture))
    return np.asarray(picture)


def test_a_dot_is_too_little_ink_but_a_small_digit_is_not() -> None:
    from cnnviz.sketch.preprocess import MIN_INK_EXTENT, ink_extent, preprocess_steps, too_little_ink

    dot = preprocess_steps(_canvas_with(lambda d: d.ellipse((130, 130, 150, 150), fill="white")))  # brush 20
    thick_dot = preprocess_steps(_canvas_with(lambda d: d.ellipse((120, 120, 160, 160), fill="white")))  # brush 40
    small_one = preprocess_steps(_canvas_with(lambda d: d.line((140, 110, 140, 170), fill="white", width=12)))
    assert too_little_ink(dot) and too_little_ink(thick_dot)
    assert not too_little_ink(small_one)  # 61 of 280 pixels tall: small, but a digit
    assert ink_extent((110, 134, 171, 146), (280, 280)) == pytest.approx(61 / 280)
    assert ink_extent((130, 130, 150, 151), (280, 280)) < MIN_INK_EXTENT < 61 / 280
    # Photos are not judged by their ink's size.
    photo = preprocess_steps(_canvas_with(lambda d: d.rectangle((0, 0, 279, 279), fill="white")
                                          or d.ellipse((130, 130, 150, 150), fill="black")), photo=True)
    assert not too_little_ink(photo)
