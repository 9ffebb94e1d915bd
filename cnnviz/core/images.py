"""The one model-input contract: how pixels become what every model in the studio takes.

Every model the studio trains or ships takes a batch ``(N, 28, 28, 1)`` of float32 in
[0, 1], white ink on black. Dataset images arrive as uint8 in [0, 255]; sketches and
the kernel playground work in float in [0, 1]. :func:`to_unit` and
:func:`to_model_batch` are the only places that convert between the two.
"""

from __future__ import annotations

import numpy as np

#: Side of the square images every model takes.
IMAGE_SIDE = 28


class ModelInputError(ValueError):
    """Pixels that cannot be given to a model: wrong shape, type or range."""


def to_unit(images: np.ndarray) -> np.ndarray:
    """Return pixels as float32 in [0, 1]: uint8 is divided by 255, floats must already be in [0, 1].

    Args:
        images: any shape; uint8 in [0, 255] or a float/integer array with values in [0, 1].

    Returns:
        float32 of the same shape, clipped to [0, 1] (values within 1e-6 outside are rounding).

    Raises:
        ModelInputError: non-numeric, non-finite, or float values outside [0, 1].
    """
    array = np.asarray(images)
    if array.dtype == np.uint8:
        return array.astype(np.float32) / np.float32(255.0)
    if array.dtype == np.bool_ or not np.issubdtype(array.dtype, np.number):
        raise ModelInputError(f"Expected numeric pixels, got dtype {array.dtype}.")
    array = array.astype(np.float32)
    if array.size == 0:
        return array
    if not np.all(np.isfinite(array)):
        raise ModelInputError("Expected finite pixel values, got NaN or infinity. Redraw or reload the image.")
    low, high = float(array.min()), float(array.max())
    if low < -1e-6 or high > 1.0 + 1e-6:
        raise ModelInputError(
            f"Expected float pixels in [0, 1], got values from {low:.3g} to {high:.3g}. "
            "Divide uint8 images by 255 (or pass them as uint8)."
        )
    return np.clip(array, 0.0, 1.0)


def to_model_batch(images: np.ndarray) -> np.ndarray:
    """Convert one image or a batch to the models' input: ``(N, 28, 28, 1)`` float32 in [0, 1].

    Args:
        images: one image (28, 28) / (28, 28, 1) or a batch (N, 28, 28) / (N, 28, 28, 1);
            uint8 in [0, 255] (dataset images) or float in [0, 1] (sketches).

    Raises:
        ModelInputError: wrong shape, an empty batch, or pixels :func:`to_unit` refuses.
    """
    array = np.asarray(images)
    shape = array.shape
    if array.ndim >= 3 and shape[-1] == 1:
        array = array[..., 0]
    if array.ndim == 2:
        array = array[np.newaxis]
    if array.ndim != 3 or array.shape[1:] != (IMAGE_SIDE, IMAGE_SIDE) or array.shape[0] == 0:
        raise ModelInputError(
            f"Expected a 28x28 image or a batch (N, 28, 28), got shape {shape}. "
            "Use a dataset sample or a sketch preprocessed on the Sketch page."
        )
    return to_unit(array)[..., np.newaxis]
