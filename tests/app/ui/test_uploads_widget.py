"""cnnviz.ui.uploads.picture_upload, the one picture upload of every page, in AppTest."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image
from streamlit.testing.v1 import AppTest

from tests.support.apptest import APP_TIMEOUT_S


def _upload_app() -> None:
    import streamlit as st

    from cnnviz.ui.uploads import picture_upload

    upload = picture_upload("A picture", key="picture", help="Any picture.", mode=st.session_state["mode"],
                            max_side=st.session_state.get("side", 50))
    st.session_state["seen"] = (upload.empty, upload.file_name,
                                None if upload.pixels is None else (upload.pixels.shape, str(upload.pixels.dtype)))
    # Whether this run got the very array the last run got (kept, not decoded again).
    st.session_state["same_pixels"] = upload.pixels is not None and upload.pixels is st.session_state.get("pixels")
    st.session_state["pixels"] = upload.pixels


def _png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def test_nothing_then_a_picture_then_a_file_that_is_none() -> None:
    app = AppTest.from_function(_upload_app, default_timeout=APP_TIMEOUT_S)
    app.session_state["mode"] = "RGB"
    app.run()
    assert app.session_state["seen"] == (True, None, None) and not app.error
    assert set(app.file_uploader(key="picture").proto.type) >= {".png", ".jpg", ".webp", ".tiff"}

    grey = np.tile(np.arange(200, dtype=np.uint8), (100, 1))  # 100 x 200: the longer side is scaled to 50
    app.file_uploader(key="picture").upload("ramp.png", _png(grey), "image/png").run()
    assert app.session_state["seen"] == (False, "ramp.png", ((25, 50, 3), "uint8")) and not app.error

    app.file_uploader(key="picture").upload("notes.png", b"hello, not a picture", "image/png").run()
    assert not app.exception
    assert app.session_state["seen"] == (False, "notes.png", None)  # uploaded, but nothing usable
    assert len(app.error) == 1 and "not a picture" in app.error[0].value  # what was wrong and what to do


def test_a_picture_is_decoded_once_per_file_and_size() -> None:
    app = AppTest.from_function(_upload_app, default_timeout=APP_TIMEOUT_S)
    app.session_state["mode"] = "L"
    app.run()
    grey = np.tile(np.arange(200, dtype=np.uint8), (100, 1))
    app.file_uploader(key="picture").upload("ramp.png", _png(grey), "image/png").run()
    assert app.session_state["seen"] == (False, "ramp.png", ((25, 50), "uint8"))
    app.run()  # a rerun for something else on the page: the same decoded array, not a new decode
    assert app.session_state["same_pixels"] and app.session_state["seen"] == (False, "ramp.png", ((25, 50), "uint8"))
    app.session_state["side"] = 100
    app.run()  # another size is decoded afresh
    assert not app.session_state["same_pixels"]
    assert app.session_state["seen"] == (False, "ramp.png", ((50, 100), "uint8"))
    app.file_uploader(key="picture").upload("other.png", _png(255 - grey), "image/png").run()
    assert not app.session_state["same_pixels"]  # another file too: its picture, not the kept one
    row = app.session_state["pixels"][0].astype(int)  # the inverted ramp: 255 on the left, falling to the right
    assert row[0] == 255 and (np.diff(row) <= 0).all() and row[-1] < 100
