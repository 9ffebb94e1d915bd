"""MNIST-style framing: how a digit (or any object) is placed in the 28x28 field.

MNIST digits were made in a particular way: the ink was cropped to its bounding
box, scaled (anti-aliased) so that the longer side fits a 20x20 box, and pasted
into a 28x28 field shifted so that the ink's centre of mass sits at the centre.
The dataset layer frames scikit-learn's digits this way and the Sketch feature
frames a drawing this way, so both live here, in the shared core.

NumPy and Pillow only (no TensorFlow, no Streamlit).
"""


from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from PIL import Image

#: Side of the square field the model sees.
FIELD_SIZE = 28
#: Side of the box the ink's longer side is scaled into (as MNIST did).
BOX_SIZE = 20
#: Where the ink's centre of mass is placed, as (row, col) in pixel-index coordinates.
#: MNIST's own digits have their centre of mass at (14.0, 14.0) on average (measured on the test split).
FIELD_CENTRE = (14.0, 14.0)


#: The largest box :func:`scale_into_box` scales into: a guard against absurd sizes (the field is 28 pixels).
MAX_BOX_SIDE = 1024


class SketchInputError(ValueError):
    """The image given for preprocessing has an unusable shape, type or content."""


class EmptySketchError(SketchInputError):
    """The image holds no ink (an empty canvas, or a blank photo)."""


@dataclass(frozen=True)
class Framing:
    """How a dataset placed its objects in the 28x28 field (so a sketch can be placed the same way).

    Attributes:
        box: the longer side of the object after scaling, in pixels.
        centre_by: ``"mass"`` (shift so the centre of mass is at the centre, as MNIST) or
            ``"box"`` (centre the bounding box, as Fashion-MNIST and KMNIST).
        description: one sentence for learners.
    """

    box: int
    centre_by: Literal["mass", "box"]
    description: str


#: MNIST (and scikit-learn's digits, prepared the same way): 20x20 box, centred by mass in 28x28.
MNIST_FRAMING = Framing(
    BOX_SIZE, "mass", "MNIST digits fill a 20x20 box and are centred by their centre of mass in 28x28."
)
#: Fashion-MNIST and KMNIST: the object's longer side fills the whole 28 pixels, centred by its bounding box.
FILL_FRAMING = Framing(
    FIELD_SIZE, "box", "Fashion-MNIST and KMNIST images fill the whole 28x28 field, centred by their bounding box."
)
_FRAMINGS = {"mnist": MNIST_FRAMING, "digits": MNIST_FRAMING, "fashion_mnist": FILL_FRAMING, "kmnist": FILL_FRAMING}


def framing_for(dataset: str) -> Framing:
    """Return how ``dataset``'s images were framed; unknown names get MNIST's framing.

    Measured on the test splits: MNIST's ink fits 20x20 with its centre of mass at
    (14.0, 14.0); Fashion-MNIST's and KMNIST's longer side is 28 pixels in over half the images.
    """
    return _FRAMINGS.get(dataset, MNIST_FRAMING)


def _check_ink(ink: np.ndarray) -> np.ndarray:
    """Return ``ink`` as a finite, non-negative float64 (H, W) array, or raise."""
    array = np.asarray(ink)
    if array.ndim != 2 or array.shape[0] == 0 or array.shape[1] == 0:
        raise SketchInputError(
            f"Expected a 2-D ink map (H, W) with H, W >= 1, got shape {array.shape}. "
            "Pass one channel, e.g. image[..., 0], or convert the image to grayscale first."
        )
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise SketchInputError(f"Expected a numeric ink map, got dtype {array.dtype}.")
    array = array.astype(np.float64)
    if not np.all(np.isfinite(array)):
        raise SketchInputError("The ink map contains NaN or infinite values; expected finite numbers.")
    return np.clip(array, 0.0, None)


def ink_bounding_box(ink: np.ndarray) -> tuple[int, int, int, int]:
    """Return the ink's bounding box as ``(top, left, bottom, right)``, bottom/right exclusive.

    Args:
        ink: (H, W) numbers, 0 = background, larger = more ink.

    Raises:
        EmptySketchError: when no pixel holds ink.
    """
    array = _check_ink(ink)
    rows = np.flatnonzero(array.any(axis=1))
    cols = np.flatnonzero(array.any(axis=0))
    if rows.size == 0:
        raise EmptySketchError(
            "There is no ink in this image: draw a digit (or upload a photo with a visible digit) and try again."
        )
    return int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1


def crop_to_ink(ink: np.ndarray) -> np.ndarray:
    """Crop an ink map to the bounding box of its ink.

    Args:
        ink: (H, W) numbers, 0 = background, larger = more ink.

    Returns:
        (h, w) float64, the smallest rectangle holding every inked pixel.
    """
    array = _check_ink(ink)
    top, left, bottom, right = ink_bounding_box(array)
    return array[top:bottom, left:right]


def scale_into_box(ink: np.ndarray, box: int = BOX_SIZE) -> np.ndarray:
    """Scale an ink map so its longer side is ``box`` pixels, keeping the aspect ratio.

    Resampling is anti-aliased (Pillow's bilinear filter widens its support when
    shrinking), so thin strokes become grey edges rather than vanishing. The
    result is rescaled so that its brightest pixel is 1.0, which keeps strokes
    drawn with a thin brush as bright as MNIST's.

    Args:
        ink: (h, w) numbers >= 0 with some ink, typically already cropped.
        box: the side of the target square box.

    Returns:
        (h', w') float32 in [0, 1] with ``max(h', w') == box`` and ``h'/w'`` close to ``h/w``
        (the shorter side is at least 1 pixel).
    """
    if not 1 <= box <= MAX_BOX_SIDE:
        raise SketchInputError(f"Expected a box size between 1 and {MAX_BOX_SIDE} pixels, got {box}.")
    array = _check_ink(ink)
    peak = float(array.max())
    if peak <= 0:
        raise EmptySketchError("There is no ink to scale: draw a digit first.")
    height, width = array.shape
    factor = box / max(height, width)
    new_height = max(1, min(box, round(height * factor)))
    new_width = max(1, min(box, round(width * factor)))
    picture = Image.fromarray((array / peak).astype(np.float32), mode="F")
    scaled = np.asarray(picture.resize((new_width, new_height), Image.Resampling.BILINEAR), dtype=np.float32)
    scaled = np.clip(scaled, 0.0, None)
    top = float(scaled.max())
    if top <= 0:
        raise EmptySketchError("The ink vanished when scaled: draw a larger or thicker digit.")
    return (scaled / top).astype(np.float32)


def centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    """Return the ``(row, col)`` centre of mass of a non-negative image, in pixel-index coordinates.

    Args:
        image: (H, W) numbers >= 0 with some ink.
    """
    array = _check_ink(image)
    total = float(array.sum())
    if total <= 0:
        raise EmptySketchError("There is no ink, so there is no centre of mass: draw a digit first.")
    rows = np.arange(array.shape[0], dtype=np.float64)
    cols = np.arange(array.shape[1], dtype=np.float64)
    row = float((array.sum(axis=1) * rows).sum() / total)
    col = float((array.sum(axis=0) * cols).sum() / total)
    return row, col


def place_by_centre_of_mass(
    digit: np.ndarray, size: int = FIELD_SIZE, centre: tuple[float, float] = FIELD_CENTRE
) -> np.ndarray:
    """Paste a scaled digit into a ``size`` x ``size`` black field with its centre of mass at ``centre``.

    The shift is a whole number of pixels (as MNIST did), so strokes stay sharp
    and the centre of mass lands within half a pixel of ``centre``. If the
    shift would push ink out of the field, it is limited so nothing is cut off.

    Args:
        digit: (h, w) float ink with h, w <= size.
        size: side of the output field.
        centre: target (row, col) of the centre of mass.

    Returns:
        (size, size) float32, same value range as ``digit``.
    """
    array = _check_ink(digit)
    height, width = array.shape
    if height > size or width > size:
        raise SketchInputError(
            f"Expected a digit no larger than {size}x{size}, got {height}x{width}. Scale it first (scale_into_box)."
        )
    row, col = centre_of_mass(array)
    top = int(np.clip(round(centre[0] - row), 0, size - height))
    left = int(np.clip(round(centre[1] - col), 0, size - width))
    field = np.zeros((size, size), dtype=np.float32)
    field[top : top + height, left : left + width] = array
    return field


def place_centred(digit: np.ndarray, size: int = FIELD_SIZE) -> np.ndarray:
    """Paste a scaled object into a ``size`` x ``size`` black field with its bounding box centred.

    Args:
        digit: (h, w) float ink with h, w <= size.

    Returns:
        (size, size) float32, same value range as ``digit``.
    """
    array = _check_ink(digit)
    height, width = array.shape
    if height > size or width > size:
        raise SketchInputError(f"Expected an image no larger than {size}x{size}, got {height}x{width}. Scale it first.")
    top, left = (size - height) // 2, (size - width) // 2
    field = np.zeros((size, size), dtype=np.float32)
    field[top : top + height, left : left + width] = array
    return field


def normalise_digit(ink: np.ndarray) -> np.ndarray:
    """Prepare an ink map exactly as MNIST digits were prepared.

    Crop to the ink's bounding box, scale the longer side to 20 pixels keeping
    the aspect ratio (anti-aliased), paste into a 28x28 black field and shift
    so the centre of mass is at (14, 14).

    Args:
        ink: (H, W) float (any numeric dtype), 0 = background, larger = more ink. Negative values count as 0.

    Returns:
        (28, 28) float32 in [0, 1], white digit on black, brightest pixel 1.0.

    Raises:
        EmptySketchError: when ``ink`` holds no ink.
        SketchInputError: when ``ink`` is not a finite 2-D numeric array.
    """
    return place_by_centre_of_mass(scale_into_box(crop_to_ink(ink)))
