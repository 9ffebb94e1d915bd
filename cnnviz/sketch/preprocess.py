"""Turn a sketch or a photo of a digit into the 28x28 image an MNIST-style model expects.

MNIST digits were made in a particular way: the ink was cropped to its bounding
box, scaled (anti-aliased) so that the longer side fits a 20x20 box, and pasted
into a 28x28 field shifted so that the ink's centre of mass sits at the centre.
A model trained on them has only ever seen digits prepared like that, so a
sketch must be prepared the same way, or a 98% accurate model guesses.

Every step is a small public function so that the Sketch page can show each
intermediate picture and tests can check each one on its own. This module
needs NumPy and Pillow only (no TensorFlow, no Streamlit).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from PIL import Image, ImageFilter

from cnnviz.core.framing import (  # noqa: F401 (re-exported: the Sketch steps are built from these)
    BOX_SIZE,
    FIELD_CENTRE,
    FIELD_SIZE,
    FILL_FRAMING,
    MNIST_FRAMING,
    EmptySketchError,
    Framing,
    SketchInputError,
    centre_of_mass,
    crop_to_ink,
    framing_for,
    ink_bounding_box,
    normalise_digit,
    place_by_centre_of_mass,
    place_centred,
    scale_into_box,
)

#: How the ink was told apart from the background.
Background = Literal["transparent", "dark", "light"]

#: Inputs are first shrunk so their longer side is at most this many pixels (the result is 28x28 anyway).
MAX_WORKING_SIDE = 1024
#: Inputs with more pixels than this are refused rather than decoded into memory.
MAX_INPUT_PIXELS = 50_000_000
#: A sketch whose strongest ink differs from the background by fewer grey levels (of 255) counts as empty.
MIN_INK_CONTRAST = 24.0
#: Ink weaker than this fraction of the strongest ink is treated as background noise (canvas path).
INK_NOISE_FLOOR = 0.1
#: A photo's ink must be at least this much darker than the paper (fraction of the paper's brightness).
MIN_PHOTO_CONTRAST = 0.15


# ---------------------------------------------------------------------------------------------
# From a canvas image or a photo to an ink map.
# ---------------------------------------------------------------------------------------------


def check_image(image: np.ndarray) -> np.ndarray:
    """Validate a sketch or photo array and return it unchanged.

    Args:
        image: uint8 (H, W) grayscale, (H, W, 1), (H, W, 2) grayscale + alpha, (H, W, 3) RGB or (H, W, 4) RGBA.

    Raises:
        SketchInputError: for any other shape or dtype, or more than ``MAX_INPUT_PIXELS`` pixels.
    """
    array = np.asarray(image)
    if array.dtype != np.uint8:
        raise SketchInputError(
            f"Expected a uint8 image (values 0-255), got dtype {array.dtype}. "
            "Convert it first, e.g. (image * 255).round().astype(np.uint8) for floats in [0, 1]."
        )
    if not (array.ndim == 2 or (array.ndim == 3 and array.shape[2] in (1, 2, 3, 4))):
        raise SketchInputError(
            f"Expected an image of shape (H, W), (H, W, 3) or (H, W, 4), got shape {array.shape}."
        )
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise SketchInputError(f"Expected an image with at least one pixel, got shape {array.shape}.")
    if array.shape[0] * array.shape[1] > MAX_INPUT_PIXELS:
        raise SketchInputError(
            f"The image has {array.shape[0]} x {array.shape[1]} pixels, more than the {MAX_INPUT_PIXELS:,} "
            "accepted; scale it down first."
        )
    return array


def _as_hwc(image: np.ndarray) -> np.ndarray:
    """(H, W) -> (H, W, 1); channel layouts are otherwise kept."""
    return image[..., np.newaxis] if image.ndim == 2 else image


def limit_size(image: np.ndarray, max_side: int = MAX_WORKING_SIDE) -> np.ndarray:
    """Shrink an image (anti-aliased) so its longer side is at most ``max_side``; smaller images are returned as is.

    Args:
        image: a valid image (see :func:`check_image`).

    Returns:
        uint8 with the same number of channels and the aspect ratio kept.
    """
    array = _as_hwc(check_image(image))
    height, width, channels = array.shape
    if max(height, width) <= max_side:
        return array if image.ndim == 3 else array[..., 0]
    factor = max_side / max(height, width)
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    planes = [
        np.asarray(Image.fromarray(np.ascontiguousarray(array[..., c])).resize(size, Image.Resampling.BOX))
        for c in range(channels)
    ]
    shrunk = np.stack(planes, axis=-1)
    return shrunk if image.ndim == 3 else shrunk[..., 0]


def luminance(image: np.ndarray) -> np.ndarray:
    """Return the brightness of each pixel, ignoring alpha.

    Args:
        image: a valid image (see :func:`check_image`).

    Returns:
        (H, W) float32 in [0, 255], ITU-R 601 luma (0.299 R + 0.587 G + 0.114 B) for colour images.
    """
    array = _as_hwc(check_image(image)).astype(np.float32)
    if array.shape[2] >= 3:
        return array[..., 0] * 0.299 + array[..., 1] * 0.587 + array[..., 2] * 0.114
    return array[..., 0]


def _alpha(image: np.ndarray) -> np.ndarray | None:
    array = _as_hwc(image)
    return array[..., -1] if array.shape[2] in (2, 4) else None


def _border(values: np.ndarray) -> np.ndarray:
    """The pixels of the outermost frame of a 2-D array (a few pixels deep for large arrays)."""
    depth = max(1, min(values.shape) // 50)
    mask = np.ones(values.shape, dtype=bool)
    mask[depth:-depth, depth:-depth] = False
    return values[mask]


def detect_background(image: np.ndarray) -> Background:
    """Tell how ink differs from background: ``"transparent"``, ``"dark"`` (light ink) or ``"light"`` (dark ink).

    The background is what fills the image's border: a mostly transparent border
    means the ink is in the alpha channel (a transparent canvas); otherwise the
    border's median brightness says whether the paper is dark or light.

    Args:
        image: a valid image (see :func:`check_image`).
    """
    array = check_image(image)
    alpha = _alpha(array)
    if alpha is not None and float(np.median(_border(alpha))) < 128:
        return "transparent"
    return "dark" if float(np.median(_border(luminance(array)))) < 128 else "light"


def extract_ink(image: np.ndarray, background: Background | None = None) -> np.ndarray:
    """Return how much ink each pixel holds, whatever the drawing convention.

    Light ink on dark, dark ink on light and ink on a transparent background
    (``background`` detected by :func:`detect_background` unless given) all
    become the same thing: 0 where there is no ink, 1 where the ink is
    strongest. Faint values below ``INK_NOISE_FLOOR`` are set to 0 so that
    compression noise does not stretch the bounding box.

    Args:
        image: a valid image (see :func:`check_image`).

    Returns:
        (H, W) float32 in [0, 1].

    Raises:
        EmptySketchError: when the ink differs from the background by fewer than ``MIN_INK_CONTRAST`` grey levels.
    """
    array = check_image(image)
    kind = background or detect_background(array)
    if kind == "transparent":
        alpha = _alpha(array)
        if alpha is None:
            raise SketchInputError(
                f"A transparent background needs an alpha channel, got shape {array.shape}: "
                "pass an (H, W, 4) RGBA image or let the background be detected."
            )
        contrast = alpha.astype(np.float32)
    else:
        gray = luminance(array)
        paper = float(np.median(_border(gray)))
        contrast = gray - paper if kind == "dark" else paper - gray
    contrast = np.clip(contrast, 0.0, None)
    peak = float(contrast.max())
    if peak < MIN_INK_CONTRAST:
        raise EmptySketchError(
            "The canvas looks empty: draw a digit with the mouse (or a finger), then it will be recognised."
        )
    ink = contrast / peak
    ink[ink < INK_NOISE_FLOOR] = 0.0
    return ink.astype(np.float32)


def otsu_threshold(gray: np.ndarray) -> int:
    """Return Otsu's threshold of a uint8 image: the level that best splits it into two classes.

    Pixels ``<= threshold`` form one class and ``> threshold`` the other; the
    threshold maximises the between-class variance (Otsu, 1979), computed for
    all 256 levels at once from the histogram.

    Args:
        gray: uint8 array of any shape with at least one pixel.

    Returns:
        An int in [0, 255]. A constant image returns its single value.
    """
    array = np.asarray(gray)
    if array.dtype != np.uint8 or array.size == 0:
        raise SketchInputError(f"Expected a non-empty uint8 image, got dtype {array.dtype} and shape {array.shape}.")
    histogram = np.bincount(array.ravel(), minlength=256).astype(np.float64)
    levels = np.arange(256, dtype=np.float64)
    weight_low = np.cumsum(histogram)
    weight_high = weight_low[-1] - weight_low
    sum_low = np.cumsum(histogram * levels)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_low = sum_low / weight_low
        mean_high = (sum_low[-1] - sum_low) / weight_high
        between = weight_low * weight_high * (mean_low - mean_high) ** 2
    between = np.nan_to_num(between, nan=-1.0, posinf=-1.0)
    if between.max() <= 0:
        return int(array.flat[0])
    return int(np.argmax(between))


def _background_estimate(gray: np.ndarray) -> np.ndarray:
    """Estimate the paper's brightness everywhere (uneven lighting) by removing the dark ink.

    Works on a small copy for speed: shrink to at most 64 px, take a local maximum
    (which erases thin dark strokes), smooth, and grow back to full size.
    """
    height, width = gray.shape
    factor = min(1.0, 64 / max(height, width))
    small_size = (max(1, round(width * factor)), max(1, round(height * factor)))
    small = Image.fromarray(np.clip(gray, 0, 255).astype(np.uint8)).resize(small_size, Image.Resampling.BOX)
    small = small.filter(ImageFilter.MaxFilter(7)).filter(ImageFilter.GaussianBlur(3))
    return np.asarray(small.resize((width, height), Image.Resampling.BILINEAR), dtype=np.float32)


@dataclass(frozen=True)
class PhotoInk:
    """The photo path's intermediate results.

    Attributes:
        gray: (H, W) float32 in [0, 255], the photo in grayscale, paper light and ink dark.
        flattened: (H, W) uint8, lighting evened out and contrast stretched to the full 0-255 range.
        threshold: Otsu's threshold of ``flattened``; darker pixels are ink.
        ink: (H, W) float32, 1.0 on ink and 0.0 on paper.
    """

    gray: np.ndarray
    flattened: np.ndarray
    threshold: int
    ink: np.ndarray


def photo_to_ink(image: np.ndarray) -> PhotoInk:
    """Find the ink in a photo of a digit written on paper.

    Grayscale; if the paper is dark, invert so the paper is light; divide by an
    estimate of the paper's brightness so uneven lighting and shadows even out;
    stretch the contrast to 0-255; threshold with Otsu's method; remove isolated
    specks with a 3x3 median filter.

    Args:
        image: a valid image (see :func:`check_image`); photos are usually (H, W, 3).

    Raises:
        EmptySketchError: when nothing is clearly darker than the paper (a blank page).
    """
    array = check_image(image)
    alpha = _alpha(array)
    gray = luminance(array)
    if alpha is not None:  # Transparent parts of a photo are treated as white paper.
        weight = alpha.astype(np.float32) / 255.0
        gray = gray * weight + 255.0 * (1.0 - weight)
    if float(np.median(_border(gray))) < 128:
        gray = 255.0 - gray
    paper = np.maximum(_background_estimate(gray), 1.0)
    relative = np.clip(gray / paper, 0.0, 1.0)
    low, high = float(relative.min()), float(np.percentile(relative, 99))
    if high - low < MIN_PHOTO_CONTRAST:
        raise EmptySketchError(
            "No digit found in this photo: nothing is clearly darker than the paper. "
            "Write the digit with a dark pen, fill the frame with it and avoid glare."
        )
    flattened = np.clip((relative - low) / (high - low) * 255.0, 0, 255).round().astype(np.uint8)
    threshold = otsu_threshold(flattened)
    mask = (flattened <= threshold).astype(np.uint8) * 255
    mask = np.asarray(Image.fromarray(mask).filter(ImageFilter.MedianFilter(3)))
    ink = (mask > 0).astype(np.float32)
    if not ink.any():
        raise EmptySketchError("No digit found in this photo after thresholding: use a darker pen or more light.")
    return PhotoInk(gray=gray.astype(np.float32), flattened=flattened, threshold=threshold, ink=ink)


# ---------------------------------------------------------------------------------------------
# The whole pipeline, with every step kept for display.
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One picture of the preprocessing pipeline.

    Attributes:
        title: a short name ("Crop to the ink").
        image: (h, w) float32 to draw as a grayscale picture.
        explanation: a sentence or two for learners: what changed and why.
    """

    title: str
    image: np.ndarray
    explanation: str


@dataclass(frozen=True)
class Preprocessed:
    """The result of :func:`preprocess_steps`.

    Attributes:
        output: (28, 28) float32 in [0, 1], white digit on black: what the model sees.
        steps: the pictures from input to output, in order.
        background: how ink was told apart (``"transparent"``, ``"dark"``, ``"light"``, or ``"photo"``).
        bounding_box: (top, left, bottom, right) of the ink in the working-size image.
        threshold: Otsu's threshold for photos, ``None`` otherwise.
        working_shape: (H, W) of the working-size image the bounding box refers to.
    """

    output: np.ndarray
    steps: tuple[Step, ...]
    background: str
    bounding_box: tuple[int, int, int, int]
    threshold: int | None = None
    working_shape: tuple[int, int] | None = None


def preprocess_steps(image: np.ndarray, *, photo: bool = False, framing: Framing = MNIST_FRAMING) -> Preprocessed:
    """Run the whole MNIST-style preprocessing and keep every intermediate picture.

    Args:
        image: uint8 (H, W), (H, W, 3) or (H, W, 4): a canvas drawing (any convention) or, with ``photo=True``,
            a photo of a digit on paper.
        photo: use the photo path (grayscale, lighting and contrast normalisation, Otsu threshold).
        framing: how the model's dataset framed its images (see :func:`framing_for`); MNIST's by default.

    Returns:
        A :class:`Preprocessed` whose ``output`` is the (28, 28) float32 model input.

    Raises:
        EmptySketchError: for an empty canvas or a blank photo.
        SketchInputError: for an unusable shape or dtype.
    """
    original = check_image(image)
    working = limit_size(original)
    steps: list[Step] = []
    display = _display_picture(working)
    steps.append(Step("Your drawing" if not photo else "Your photo", display, _INPUT_TEXT))
    threshold: int | None = None
    if photo:
        found = photo_to_ink(working)
        steps.append(Step("Grayscale", found.gray / 255.0, _GRAY_TEXT))
        steps.append(Step("Even lighting and contrast", found.flattened.astype(np.float32) / 255.0, _FLAT_TEXT))
        steps.append(Step(f"Threshold (Otsu: {found.threshold})", found.ink, _OTSU_TEXT))
        ink, background, threshold = found.ink, "photo", found.threshold
    else:
        background = detect_background(working)
        ink = extract_ink(working, background)
        steps.append(Step("Ink, white on black", ink, _INK_TEXT[background]))
    box = ink_bounding_box(ink)
    cropped = ink[box[0] : box[2], box[1] : box[3]]
    steps.append(Step("Crop to the ink", cropped, _CROP_TEXT))
    scaled = scale_into_box(cropped, framing.box)
    steps.append(Step(f"Scale into {framing.box}x{framing.box}", scaled, _SCALE_TEXT.format(box=framing.box)))
    if framing.centre_by == "mass":
        output = place_by_centre_of_mass(scaled)
        steps.append(Step("Centre in 28x28", output, _CENTRE_TEXT))
    else:
        output = place_centred(scaled)
        steps.append(Step("Centre in 28x28", output, _CENTRE_BOX_TEXT))
    return Preprocessed(output=output, steps=tuple(steps), background=background, bounding_box=box, threshold=threshold,
                        working_shape=(int(working.shape[0]), int(working.shape[1])))


#: A drawing whose ink spans less than this fraction of the canvas's longer side is not read: scaled up
#: to MNIST's 20-pixel box, a dot becomes a disc that a model reads as "0" with confidence (issue 15).
#: A dot of the thickest brush (40 of 280 pixels) is 0.14; a small but real digit is 0.2 or more.
MIN_INK_EXTENT = 0.15
TOO_LITTLE_INK = (
    "There is too little ink to read: draw a bigger digit, filling about half of the canvas's height. "
    "(A dot or a tiny scribble would be blown up to the size of a digit and read as a 0.)"
)


def ink_extent(bounding_box: tuple[int, int, int, int], shape: tuple[int, int]) -> float:
    """Return how far the ink reaches: the bounding box's longer side over the image's longer side, in (0, 1].

    Args:
        bounding_box: (top, left, bottom, right) of the ink, bottom/right exclusive.
        shape: (H, W) of the image the box refers to.

    Raises:
        SketchInputError: for an empty shape.
    """
    if min(shape) < 1:
        raise SketchInputError(f"Expected an image with at least one pixel, got shape {shape}.")
    top, left, bottom, right = bounding_box
    return max(bottom - top, right - left) / max(shape)


def too_little_ink(result: Preprocessed) -> bool:
    """Whether a *drawing* holds too little ink to be read (see :data:`MIN_INK_EXTENT`); photos are not judged.

    A photo's digit is found by thresholding and cropped by the learner, so its size says little; a
    canvas drawing with a tiny extent is a dot or a slip.
    """
    if result.background == "photo" or result.working_shape is None:
        return False
    return ink_extent(result.bounding_box, result.working_shape) < MIN_INK_EXTENT


def sketch_to_input(image: np.ndarray, *, photo: bool = False, framing: Framing = MNIST_FRAMING) -> np.ndarray:
    """Turn a canvas drawing (or, with ``photo=True``, a photo) into the model's input image.

    Args:
        image: uint8 (H, W), (H, W, 3) or (H, W, 4). Light ink on dark, dark ink on light and ink on a
            transparent background are all detected automatically.
        photo: use the photo path (grayscale, lighting and contrast normalisation, Otsu threshold).
        framing: how the model's dataset framed its images (see :func:`framing_for`); MNIST's by default.

    Returns:
        (28, 28) float32 in [0, 1], white digit on black, centred by mass as MNIST digits are
        (or framed as ``framing`` says).

    Raises:
        EmptySketchError: (a ``ValueError``) for an empty canvas or blank photo, with a friendly message.
        SketchInputError: (a ``ValueError``) for an unusable shape or dtype.
    """
    return preprocess_steps(image, photo=photo, framing=framing).output


def _display_picture(image: np.ndarray) -> np.ndarray:
    """(h, w) float32 in [0, 1] showing the input as the user sees it (transparent shown as black)."""
    gray = luminance(image) / 255.0
    alpha = _alpha(image)
    if alpha is not None and np.any(alpha < 255):
        gray = gray * (alpha.astype(np.float32) / 255.0)
    return gray.astype(np.float32)


_INPUT_TEXT = "The image exactly as it arrived, in grayscale."
_INK_TEXT: dict[str, str] = {
    "transparent": "The background is transparent, so the ink is wherever the drawing is opaque (its alpha channel).",
    "dark": "The background is dark, so bright pixels are ink. MNIST digits are white ink on black: kept as is.",
    "light": "The background is light, so dark pixels are ink. Inverted to white ink on black, like MNIST.",
}
_GRAY_TEXT = "Colour removed; if the paper was dark it is inverted so the paper is light and the ink dark."
_FLAT_TEXT = (
    "Each pixel divided by the paper's local brightness, so shadows and uneven light disappear; "
    "then stretched so the darkest ink is 0 and the paper 255."
)
_OTSU_TEXT = (
    "Otsu's method picks the grey level that best separates two groups of pixels (ink and paper); "
    "pixels darker than it become ink (white)."
)
_CROP_TEXT = (
    "Cut to the smallest rectangle holding all the ink, so the digit's position on the canvas no longer matters."
)
_SCALE_TEXT = (
    "Resized so the longer side is {box} pixels, keeping the shape (a '1' stays thin). "
    "Smooth resampling turns edges into grey pixels, as in MNIST."
)
_CENTRE_TEXT = (
    "Pasted into a 28x28 black field, shifted so the ink's centre of mass is at the centre. "
    "This is exactly what the model sees."
)
_CENTRE_BOX_TEXT = (
    "Pasted into the middle of a 28x28 black field, as this model's dataset was made. "
    "This is exactly what the model sees."
)
