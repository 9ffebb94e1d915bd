"""Predictions while a stroke is being drawn: read the canvas frames the page's companion script sends.

The drawing canvas (streamlit-drawable-canvas) reports a stroke only when the mouse is released. While the
mouse is down, the Sketch page's companion script (``live_canvas.js``, mounted by
:func:`cnnviz.sketch.widgets.live_canvas_frame`) sends a few frames a second: the whole canvas, the stroke in
progress included, as a PNG data URL, numbered. This module turns such a frame into the model's input through
exactly the preprocessing a released stroke goes through (:func:`cnnviz.sketch.preprocess.preprocess_steps`),
so the reading while drawing and the reading on release differ only by the ink added in between.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Final

import numpy as np

from cnnviz.core.uploads import ImageUploadError, decode_image
from cnnviz.sketch.preprocess import MNIST_FRAMING, EmptySketchError, Framing, preprocess_steps, too_little_ink

#: What a frame's ``png`` must start with.
PNG_DATA_URL_PREFIX: Final[str] = "data:image/png;base64,"
#: The longest data URL accepted. A 280x280 canvas drawn in white on black is 3-30 KB as a PNG; a frame far
#: larger is not the canvas and is refused before it is decoded.
MAX_FRAME_CHARS: Final[int] = 1_000_000
#: Frames are decoded at most this large (the canvas is 280x280; anything larger is scaled down).
MAX_FRAME_SIDE: Final[int] = 560


class LiveFrameError(ValueError):
    """A frame from the browser that is not a canvas picture (the page ignores it and says nothing)."""


@dataclass(frozen=True)
class LiveFrame:
    """One frame of the stroke being drawn.

    Attributes:
        seq: the frame's number, counted by the browser (it only grows).
        image: uint8 (H, W, 4) RGBA picture of the whole canvas, or ``None`` for the frame that says the mouse
            was released (the released stroke's own prediction takes over).
    """

    seq: int
    image: np.ndarray | None


def decode_live_frame(payload: object) -> LiveFrame | None:
    """Turn the companion script's ``frame`` state into a :class:`LiveFrame`.

    Args:
        payload: ``None`` before any frame, else ``{"seq": int >= 0, "png": str | None}`` where ``png`` is a
            ``data:image/png;base64,...`` URL of the canvas (``None`` once the mouse is released).

    Returns:
        The frame, or ``None`` when there is no frame yet.

    Raises:
        LiveFrameError: a payload of another shape, a negative or non-integer ``seq``, a ``png`` that is not a
            PNG data URL, is longer than :data:`MAX_FRAME_CHARS`, is not valid base64 or does not decode.
    """
    if payload is None:
        return None
    if not isinstance(payload, dict):
        raise LiveFrameError(f"Expected a frame as a dict with 'seq' and 'png', got {type(payload).__name__}.")
    seq, png = payload.get("seq"), payload.get("png")
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 0:
        raise LiveFrameError(f"Expected the frame's 'seq' to be an integer >= 0, got {seq!r}.")
    if png is None:
        return LiveFrame(seq=seq, image=None)
    if not isinstance(png, str) or not png.startswith(PNG_DATA_URL_PREFIX):
        raise LiveFrameError(f"Expected the frame's 'png' to be a '{PNG_DATA_URL_PREFIX}...' URL.")
    if len(png) > MAX_FRAME_CHARS:
        raise LiveFrameError(f"Expected a frame of at most {MAX_FRAME_CHARS:,} characters, got {len(png):,}.")
    try:
        raw = base64.b64decode(png[len(PNG_DATA_URL_PREFIX):], validate=True)
        image = decode_image(raw, mode="RGBA", max_side=MAX_FRAME_SIDE)
    except (binascii.Error, ImageUploadError) as error:
        raise LiveFrameError(f"The frame's picture could not be read: {error}") from error
    return LiveFrame(seq=seq, image=image)


def live_model_input(image: np.ndarray, *, framing: Framing = MNIST_FRAMING) -> np.ndarray | None:
    """Prepare a frame's canvas picture as a released stroke is prepared; ``None`` when there is nothing to read.

    Args:
        image: uint8 (H, W, 4) RGBA canvas picture (see :func:`decode_live_frame`).
        framing: how the model's dataset framed its images (:func:`cnnviz.sketch.preprocess.framing_for`).

    Returns:
        (28, 28) float32 in [0, 1], the same array :func:`cnnviz.sketch.preprocess.preprocess_steps` gives
        for this picture, or ``None`` for an empty canvas or too little ink so far
        (:func:`cnnviz.sketch.preprocess.too_little_ink`): the page then waits for more ink.

    Raises:
        SketchInputError: (a ``ValueError``) for an unusable shape or dtype.
    """
    try:
        result = preprocess_steps(image, photo=False, framing=framing)
    except EmptySketchError:
        return None
    return None if too_little_ink(result) else result.output
