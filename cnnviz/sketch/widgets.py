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

import functools
from pathlib import Path
from typing import Any

import numpy as np
import streamlit as st

from cnnviz.ui.uploads import picture_upload

#: The canvas side, in screen pixels (10x the 28-pixel model input).
CANVAS_SIDE = 280


def _clear(key: str) -> None:
    """The Clear button's callback: forget the drawing; the canvas itself is emptied in the browser or from here.

    Where the companion script follows the canvas (:func:`live_canvas_frame` reported it "armed") and no parked
    drawing was given back, the script has already emptied the canvas at the click, in the browser. Otherwise
    the same canvas is told to load an empty drawing (see :func:`sketch_canvas`), which reaches it a round trip
    later: a stroke drawn in between is wiped by that load (the stroke lost after Clear, issue 15).
    """
    if not browser_clears(key):
        st.session_state[f"{key}_clears"] = int(st.session_state.get(f"{key}_clears", 0)) + 1
    end_live_frames(key)
    latest = st.session_state.pop(f"{key}_latest", None)
    st.session_state.pop(f"{key}_restore", None)
    if latest is not None:
        # Until the canvas sends its cleared state, the component still reports the old drawing.
        st.session_state[f"{key}_stale"] = latest


def browser_clears(key: str = "sketch") -> bool:
    """Whether "Clear the canvas" empties the canvas in the browser (see :func:`live_canvas_frame`).

    Not while a parked drawing was given back: the canvas's own reset would go back to that drawing.
    """
    return bool(st.session_state.get(f"{key}_armed")) and st.session_state.get(f"{key}_restore") is None


def _frame_seq(state: object) -> int:
    """The ``seq`` of the frame in the companion's state ``{"frame": {"seq": ...}, ...}``; 0 when there is none."""
    frame = state.get("frame") if isinstance(state, dict) else None
    seq = frame.get("seq") if isinstance(frame, dict) else None
    return seq if isinstance(seq, int) and not isinstance(seq, bool) else 0


def end_live_frames(key: str = "sketch") -> None:
    """Retire every frame sent so far: the canvas has sent its drawing (a released stroke) or was cleared.

    :func:`live_canvas_frame` then returns no frame until the next stroke's first one, so the reading of a
    finished stroke gives way to its prediction. (The companion script used to send a "released" frame itself,
    at the same moment as the canvas sent the stroke: two widgets' updates in one batch, which Streamlit ran as
    one fragment's rerun when they sat in two fragments, so now and then the released stroke was not read.)
    """
    st.session_state[f"{key}_live_ended"] = max(
        _frame_seq(st.session_state.get(f"{key}_live")), int(st.session_state.get(f"{key}_live_seen", 0))
    )  # the component's state, where Streamlit has it; else the last frame this page read


@functools.cache
def _companion() -> Any:
    """The companion script as a Streamlit components v2 component (registered once, on first use)."""
    script = (Path(__file__).parent / "live_canvas.js").read_text(encoding="utf-8")
    return st.components.v2.component("cnnviz_sketch_live_canvas", js=script)


def live_canvas_frame(key: str = "sketch") -> object:
    """Mount the companion script of :func:`sketch_canvas` and return its latest frame of the stroke being drawn.

    The script (``live_canvas.js``) has no UI. It finds the drawing canvas on the page and, while the mouse is
    down, sends the canvas with the stroke in progress a few times a second, each frame once the page has read
    the one before; it also makes "Clear the canvas" empty the canvas in the browser at the click. Where it
    cannot find the canvas it does nothing.

    Args:
        key: the session-state prefix of the canvas it follows.

    Returns:
        ``None`` before any frame and once the stroke it showed has ended (:func:`end_live_frames`), else the raw
        ``{"seq": int, "png": str}`` state the script sent (decode it with
        :func:`cnnviz.sketch.live.decode_live_frame`).
    """
    # The frame this run reads is known before the script is mounted (Streamlit keeps a component's state in
    # the session under its key), so the script hears "answered" in the same run and may send the next one.
    seq = _frame_seq(st.session_state.get(f"{key}_live"))
    result = _companion()(
        key=f"{key}_live",
        data={
            "canvasKey": f"{key}_canvas",
            "clearKey": f"{key}_clear",
            "browserClear": st.session_state.get(f"{key}_restore") is None,  # see browser_clears
            "answered": seq,
        },
        default={"frame": None, "armed": False},
        on_frame_change=lambda: None,
        on_armed_change=lambda: None,
        width="stretch",
        height="content",
    )
    st.session_state[f"{key}_armed"] = bool(result.get("armed"))
    seen = _frame_seq(result)
    if seen < int(st.session_state.get(f"{key}_live_seen", 0)):
        # The script counts from 0 again: it was mounted anew (the learner left the page and came back).
        st.session_state[f"{key}_live_ended"] = 0
    st.session_state[f"{key}_live_seen"] = seen
    if seen <= int(st.session_state.get(f"{key}_live_ended", 0)):
        return None  # a frame of a stroke the canvas has sent since, or of a drawing cleared since
    return result.get("frame")


def park_canvas(key: str = "sketch") -> None:
    """Keep the current drawing while the canvas is off the page (the learner switched to a photo upload).

    Streamlit forgets a component's value when it is not drawn; :func:`sketch_canvas` gives the parked
    strokes back to the canvas (its ``initial_drawing``) when it returns, and the parked picture stands
    in until the next stroke.
    """
    latest = st.session_state.get(f"{key}_latest")
    if latest is not None:
        st.session_state[f"{key}_restore"] = latest


def sketch_canvas(key: str = "sketch", *, brush_width: int = 18) -> np.ndarray | None:
    """Show a 280x280 drawing canvas (white brush on black, like MNIST) and return what is drawn.

    The canvas's own toolbar has Undo, Redo and "Reset canvas & history"; the
    "Clear the canvas" button below it empties the canvas in place (its ``initial_drawing``
    changes). The app reruns after every stroke, so the prediction follows the drawing.
    A drawing parked by :func:`park_canvas` comes back.

    Args:
        key: the session-state prefix for this canvas.
        brush_width: the brush diameter in canvas pixels.

    Returns:
        uint8 (H, W, 4) RGBA image of the canvas, or ``None`` before anything was drawn.
    """
    from streamlit_drawable_canvas import st_canvas

    # Clear changes the initial drawing of the *same* canvas, which then loads it in place. Clearing used to
    # give the canvas a new key: now and then the new canvas never finished mounting (no toolbar, strokes
    # ignored), which lost the stroke drawn right after Clear (issue 15). The initial drawing is otherwise
    # fixed while the canvas is shown: a changing one would be reloaded on every run.
    parked = st.session_state.get(f"{key}_restore")
    clears = int(st.session_state.get(f"{key}_clears", 0))
    initial = parked[0] if parked is not None else {"objects": [], "clears": clears}
    result = st_canvas(
        stroke_width=int(brush_width),
        stroke_color="#FFFFFF",
        background_color="#000000",
        height=CANVAS_SIDE,
        width=CANVAS_SIDE,
        drawing_mode="freedraw",
        initial_drawing=initial,
        update_streamlit=True,
        return_image_data=True,
        key=f"{key}_canvas",
    )
    st.button(
        "Clear the canvas",
        key=f"{key}_clear",
        on_click=_clear,
        args=(key,),
        help="Start again with an empty canvas. (The bin icon in the canvas toolbar does the same; "
        "the curved arrows undo and redo single strokes.)",
    )
    _note_sent_drawing(key, result.json_data)
    image = result.image_data
    if image is None:
        # A canvas given back its parked strokes sends nothing until the next stroke: show the parked picture.
        return parked[1] if parked is not None else None
    array = np.asarray(image)
    array = array if array.dtype == np.uint8 else np.clip(array, 0, 255).astype(np.uint8)
    stale = st.session_state.get(f"{key}_stale")
    if stale is not None:
        if not array[..., :3].any():
            # The canvas sent its cleared state: from now on what it sends is new.
            st.session_state.pop(f"{key}_stale")
            return None
        if result.json_data == stale[0] and np.array_equal(array, stale[1]):
            return None  # still the drawing from before Clear
        st.session_state.pop(f"{key}_stale")
    if result.json_data is not None:
        st.session_state[f"{key}_latest"] = (result.json_data, array)
    return array


def _note_sent_drawing(key: str, drawing: object) -> None:
    """A drawing the canvas had not sent before (a released stroke, an undo) ends the live frames before it."""
    if drawing is not None and drawing != st.session_state.get(f"{key}_sent"):
        st.session_state[f"{key}_sent"] = drawing
        end_live_frames(key)


#: The Sketch page's photo upload widget (its file, or None, is in the session state under this key).
PHOTO_KEY = "sketch_photo"


def photo_input(key: str = PHOTO_KEY) -> np.ndarray | None:
    """Show a file upload for a photo of a handwritten digit and return it decoded.

    Returns:
        uint8 (H, W, 3) RGB with the longer side at most 1024 pixels, or ``None`` when nothing
        (or nothing usable) was uploaded; an unusable file is explained with ``st.error``.
    """
    return picture_upload(
        "Photo of a digit written on paper", key=key, mode="RGB",
        help="Write one digit with a dark pen on white paper, fill most of the photo with it and avoid "
        "shadows across the digit. The photo is converted to grey, its lighting is evened out and it is "
        "thresholded before the MNIST steps.",
    ).pixels
