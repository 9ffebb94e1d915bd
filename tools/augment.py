"""Data augmentation that makes MNIST look more like sketches: rotated, slanted, stretched, thin and thick.

People sketch digits slightly rotated or slanted, with a brush much thinner or
thicker than MNIST's pen. Each augmented digit is drawn from an MNIST digit by
enlarging it 2x, applying a random affine transform (rotation, shear, aspect
change) and a random stroke-width change (grey-level dilation or erosion), and
then *re-normalising it exactly like a sketch* with
:func:`cnnviz.sketch.preprocess.normalise_digit` (crop, 20x20 box, centre of mass).
So the model trains on the same framing it will see at prediction time.

Shifts and zooms are not needed: the normalisation removes position and size.
NumPy and Pillow only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image

from cnnviz.sketch.preprocess import EmptySketchError, normalise_digit

#: Working magnification: transforms and stroke changes are done at 56x56 (on an 84x84 canvas).
UPSCALE = 2


@dataclass(frozen=True)
class AugmentConfig:
    """Ranges of the random changes (each drawn uniformly per image).

    Attributes:
        max_rotation_deg: rotation in [-max, max] degrees.
        max_shear: horizontal shear (slant) in [-max, max] (0.3 is about 17 degrees).
        max_aspect_change: width multiplied by a factor in [1 - max, 1 + max].
        thicken_probability: chance of a thicker stroke (grey dilation at 2x, 3x3 or 5x5).
        thin_probability: chance of a thinner stroke (grey erosion at 2x, 3x3).
    """

    max_rotation_deg: float = 15.0
    max_shear: float = 0.3
    max_aspect_change: float = 0.2
    thicken_probability: float = 0.3
    thin_probability: float = 0.3


def augment_digit(image: np.ndarray, rng: np.random.Generator, config: AugmentConfig = AugmentConfig()) -> np.ndarray:
    """Return one randomly changed, re-normalised copy of a digit.

    Args:
        image: (28, 28) uint8 (0 background, 255 ink) or float in [0, 1].
        rng: the random source.
        config: the ranges of the changes.

    Returns:
        (28, 28) uint8, MNIST-framed (20x20 box, centre of mass at the centre). An image that loses
        all its ink (it cannot, in practice) is returned unchanged.
    """
    array = np.asarray(image, dtype=np.float32)
    if array.shape != (28, 28):
        raise ValueError(f"Expected a (28, 28) digit, got shape {array.shape}.")
    if array.max() > 1.0:
        array = array / 255.0
    side = 28 * UPSCALE
    canvas = side * 3 // 2  # room for the transformed digit (MNIST ink fits the middle 20/28)
    big = Image.fromarray(array, mode="F").resize((side, side), Image.Resampling.BILINEAR)
    padded = Image.new("F", (canvas, canvas), 0.0)
    padded.paste(big, ((canvas - side) // 2, (canvas - side) // 2))

    angle = math.radians(rng.uniform(-config.max_rotation_deg, config.max_rotation_deg))
    shear = rng.uniform(-config.max_shear, config.max_shear)
    stretch = 1.0 + rng.uniform(-config.max_aspect_change, config.max_aspect_change)
    # Forward map: stretch x, shear x by y, rotate. Pillow wants the inverse map, output -> input.
    forward = np.array(
        [[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]]
    ) @ np.array([[stretch, -shear], [0.0, 1.0]])
    inverse = np.linalg.inv(forward)
    centre = canvas / 2
    offset = np.array([centre, centre]) - inverse @ np.array([centre, centre])
    coefficients = (inverse[0, 0], inverse[0, 1], offset[0], inverse[1, 0], inverse[1, 1], offset[1])
    moved = padded.transform((canvas, canvas), Image.Transform.AFFINE, coefficients, Image.Resampling.BILINEAR)

    ink = np.asarray(moved, dtype=np.float32)
    draw = rng.random()
    if draw < config.thicken_probability:
        ink = _grey_morphology(ink, int(rng.choice([1, 2])), np.maximum)
    elif draw < config.thicken_probability + config.thin_probability:
        ink = _grey_morphology(ink, 1, np.minimum)
    ink = np.where(ink > 0.05, ink, 0.0)
    try:
        out = normalise_digit(ink)
    except EmptySketchError:
        return np.asarray(np.clip(array * 255.0, 0, 255).round(), dtype=np.uint8)
    return np.clip(out * 255.0, 0, 255).round().astype(np.uint8)


def _grey_morphology(image: np.ndarray, radius: int, combine: np.ufunc) -> np.ndarray:
    """Grey dilation (``np.maximum``) or erosion (``np.minimum``) over a (2r+1) x (2r+1) square, zero-padded."""
    padded = np.pad(image, radius)
    height, width = image.shape
    out = image.copy()
    for dy in range(2 * radius + 1):
        for dx in range(2 * radius + 1):
            out = combine(out, padded[dy : dy + height, dx : dx + width])
    return out


def augment_dataset(
    images: np.ndarray,
    labels: np.ndarray,
    *,
    copies: int = 1,
    seed: int = 0,
    config: AugmentConfig = AugmentConfig(),
) -> tuple[np.ndarray, np.ndarray]:
    """Return the originals followed by ``copies`` augmented versions of each, with their labels.

    Args:
        images: (N, 28, 28) uint8.
        labels: (N,) int labels.
        copies: augmented versions per image (0 returns the originals only).
        seed: makes the result reproducible.

    Returns:
        ``(images, labels)``: (N * (1 + copies), 28, 28) uint8 and (N * (1 + copies),) int64.
    """
    array = np.asarray(images)
    raw_labels = np.asarray(labels)
    if array.dtype.kind not in "biuf" or raw_labels.dtype.kind not in "biuf":
        raise ValueError(
            f"Expected numeric images and labels, got dtypes {array.dtype} and {raw_labels.dtype}."
        )
    targets = raw_labels.astype(np.int64)
    if array.ndim != 3 or array.shape[1:] != (28, 28) or len(array) != len(targets):
        raise ValueError(
            f"Expected images (N, 28, 28) and N labels, got images {array.shape} and labels {targets.shape}."
        )
    if copies < 0:
        raise ValueError(f"Expected copies >= 0, got {copies}.")
    rng = np.random.default_rng(seed)
    extra = [augment_digit(image, rng, config) for _ in range(copies) for image in array]
    all_images = np.concatenate([array.astype(np.uint8), np.asarray(extra, dtype=np.uint8).reshape(-1, 28, 28)])
    return all_images, np.concatenate([targets] * (1 + copies))
