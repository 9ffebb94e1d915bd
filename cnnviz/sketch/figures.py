"""Figures for the Sketch page: the preprocessing steps and the 28x28 image the model sees.

The class probabilities are :func:`cnnviz.core.figures.probability_figure`, the chart the Inside page uses too.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from PIL import Image

from cnnviz.core.figures import image_figure, image_grid_figure
from cnnviz.sketch.preprocess import Step

#: Pictures larger than this (e.g. the 280x280 canvas) are shrunk for display, so the figure stays light.
THUMBNAIL_SIDE = 84


def thumbnail(image: np.ndarray, max_side: int = THUMBNAIL_SIDE) -> np.ndarray:
    """Shrink a 2-D picture (anti-aliased) so its longer side is at most ``max_side``; small ones are unchanged.

    Args:
        image: (H, W) float in [0, 1].

    Returns:
        (h, w) float32 with the aspect ratio kept.
    """
    array = np.asarray(image, dtype=np.float32)
    if array.ndim != 2:
        raise ValueError(f"Expected a 2-D picture (H, W), got shape {array.shape}.")
    height, width = array.shape
    if max(height, width) <= max_side:
        return array
    factor = max_side / max(height, width)
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    return np.asarray(Image.fromarray(array, mode="F").resize(size, Image.Resampling.BOX), dtype=np.float32)


def steps_figure(steps: Sequence[Step], *, cell_height: int = 170) -> go.Figure:
    """Return one row of pictures, one per preprocessing step, each with its pixel values on hover.

    Args:
        steps: the steps of :func:`cnnviz.sketch.preprocess.preprocess_steps`, in order.
    """
    if not steps:
        raise ValueError("Expected at least one preprocessing step to draw, got none.")
    return image_grid_figure(
        [thumbnail(step.image) for step in steps],
        titles=[step.title for step in steps],
        cols=len(steps),
        cell_height=cell_height,
    )


def model_input_figure(image: np.ndarray, *, height: int = 300) -> go.Figure:
    """Return the 28x28 image the model sees, values 0-1 on hover, on a fixed 0-1 grey scale."""
    array = np.asarray(image, dtype=np.float32)
    if array.shape != (28, 28):
        raise ValueError(f"Expected the (28, 28) model input, got shape {array.shape}.")
    return image_figure(array, zmin=0.0, zmax=1.0, height=height, showscale=False)
