"""The frames sent while a stroke is drawn: decoding, refusals, and the same preprocessing as a released stroke."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from PIL import Image

from cnnviz.sketch.live import (
    MAX_FRAME_CHARS,
    PNG_DATA_URL_PREFIX,
    LiveFrameError,
    decode_live_frame,
    live_model_input,
)
from cnnviz.sketch.preprocess import FILL_FRAMING, sketch_to_input


def _canvas(ink: tuple[slice, slice] | None = (slice(60, 220), slice(125, 150))) -> np.ndarray:
    """A 280x280 opaque black RGBA canvas, with a white bar where ``ink`` says (a drawn "1")."""
    canvas = np.zeros((280, 280, 4), dtype=np.uint8)
    canvas[..., 3] = 255
    if ink is not None:
        canvas[ink[0], ink[1], :3] = 255
    return canvas


def _data_url(image: np.ndarray, fmt: str = "PNG") -> str:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format=fmt)
    return f"data:image/{fmt.lower()};base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def test_a_frame_decodes_to_the_exact_canvas_picture() -> None:
    canvas = _canvas()
    frame = decode_live_frame({"seq": 3, "png": _data_url(canvas)})
    assert frame is not None and frame.seq == 3
    assert frame.image is not None and frame.image.dtype == np.uint8
    np.testing.assert_array_equal(frame.image, canvas)


def test_no_frame_yet_and_the_release_marker() -> None:
    assert decode_live_frame(None) is None
    released = decode_live_frame({"seq": 7, "png": None})
    assert released is not None and released.seq == 7 and released.image is None


@pytest.mark.parametrize("framing", [None, FILL_FRAMING])
def test_a_frame_is_prepared_exactly_as_a_released_stroke(framing) -> None:
    canvas = _canvas()
    frame = decode_live_frame({"seq": 1, "png": _data_url(canvas)})
    assert frame is not None and frame.image is not None
    kwargs = {} if framing is None else {"framing": framing}
    live = live_model_input(frame.image, **kwargs)
    assert live is not None and live.shape == (28, 28) and live.dtype == np.float32
    np.testing.assert_array_equal(live, sketch_to_input(canvas, **kwargs))


def test_an_empty_canvas_or_a_dot_is_not_read_yet() -> None:
    assert live_model_input(_canvas(None)) is None
    assert live_model_input(_canvas((slice(130, 150), slice(130, 150)))) is None  # a dot: too little ink


@pytest.mark.parametrize(
    ("payload", "words"),
    [
        ("a string", "dict"),
        ({"seq": -1, "png": None}, "'seq'"),
        ({"seq": True, "png": None}, "'seq'"),
        ({"seq": "2", "png": None}, "'seq'"),
        ({"seq": 1, "png": 42}, "'png'"),
        ({"seq": 1, "png": _data_url(_canvas()[..., :3], "JPEG")}, "'png'"),
        ({"seq": 1, "png": PNG_DATA_URL_PREFIX + "not base64!"}, "could not be read"),
        ({"seq": 1, "png": PNG_DATA_URL_PREFIX + base64.b64encode(b"hello").decode()}, "could not be read"),
        ({"seq": 1, "png": PNG_DATA_URL_PREFIX + "A" * MAX_FRAME_CHARS}, "at most"),
    ],
)
def test_anything_else_is_refused_with_what_was_expected(payload: object, words: str) -> None:
    with pytest.raises(LiveFrameError, match=words):
        decode_live_frame(payload)
