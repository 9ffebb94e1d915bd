"""Input widgets of the Sketch page: the drawing canvas and the photo upload.

``streamlit_drawable_canvas`` is imported inside :func:`sketch_canvas`, not at
the top: the package registers its front-end files when imported, which only
works inside a running Streamlit app (the server, or ``AppTest``, scans the
installed components first). A plain ``import`` in a test or script raises
``StreamlitAPIException: ... must be declared in pyproject.toml with asset_dir``.
Tests replace the module in ``sys.modules`` with a stub whose ``st_canvas``
returns a drawn array.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from cnnviz.core.uploads import ImageUploadError, decode_image

#: The canvas side, in screen pixels (10x the 28-pixel model input).
CANVAS_SIDE = 280
#: Formats accepted by the photo upload (decoded by :func:`cnnviz.core.uploads.decode_image`).
PHOTO_TYPES = ["png", "jpg", "jpeg", "webp", "bmp", "gif", "tif", "tiff"]


def sketch_canvas(key: str = "sketch", *, brush_width: int = 18) -> np.ndarray | None:
    """Show a 280x280 drawing canvas (white brush on black, like MNIST) and return what is drawn.

    The canvas's own toolbar has Undo, Redo and "Reset canvas & history"; the
    "Clear the canvas" button below it replaces the canvas with a fresh one.
    The app reruns after every stroke, so the prediction follows the drawing.

    Args:
        key: the session-state prefix for this canvas.
        brush_width: the brush diameter in canvas pixels.

    Returns:
        uint8 (H, W, 4) RGBA image of the canvas, or ``None`` before anything was drawn.
    """
    from streamlit_drawable_canvas import st_canvas

    generation_key = f"{key}_generation"
    generation = int(st.session_state.get(generation_key, 0))
    result = st_canvas(
        stroke_width=int(brush_width),
        stroke_color="#FFFFFF",
        background_color="#000000",
        height=CANVAS_SIDE,
        width=CANVAS_SIDE,
        drawing_mode="freedraw",
        update_streamlit=True,
        return_image_data=True,
        key=f"{key}_canvas_{generation}",
    )
    if st.button(
        "Clear the canvas",
        key=f"{key}_clear",
        help="Start again with an empty canvas. (The bin icon in the canvas toolbar does the same; "
        "the curved arrows undo and redo single strokes.)",
    ):
        st.session_state[generation_key] = generation + 1
        st.rerun()
    image = result.image_data
    if image is None:
        return None
    array = np.asarray(image)
    return array if array.dtype == np.uint8 else np.clip(array, 0, 255).astype(np.uint8)


def photo_input(key: str = "sketch_photo") -> np.ndarray | None:
    """Show a file upload for a photo of a handwritten digit and return it decoded.

    Returns:
        uint8 (H, W, 3) RGB with the longer side at most 1024 pixels, or ``None`` when nothing
        (or nothing usable) was uploaded; an unusable file is explained with ``st.error``.
    """
    upload = st.file_uploader(
        "Photo of a digit written on paper",
        type=PHOTO_TYPES,
        key=key,
        help="Write one digit with a dark pen on white paper, fill most of the photo with it and avoid "
        "shadows across the digit. The photo is converted to grey, its lighting is evened out and it is "
        "thresholded before the MNIST steps.",
    )
    if upload is None:
        return None
    try:
        return decode_image(upload.getvalue(), mode="RGB")
    except ImageUploadError as error:
        st.error(str(error))
        return None
