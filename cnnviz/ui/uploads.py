"""The picture upload every page uses: a file chooser, the safe decoder, and one clear error for a bad file.

The Kernels page (a picture to run kernels on) and the Sketch page (a photo of a handwritten digit) had each
their own copy of this; they differed in the formats offered and in how an error looked.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st

from cnnviz.core.text import md_escape
from cnnviz.core.uploads import DEFAULT_MAX_SIDE, FILE_TYPES, ImageUploadError, decode_image


@dataclass(frozen=True)
class PictureUpload:
    """What the learner gave the upload widget.

    Attributes:
        file_name: the uploaded file's name, or ``None`` when nothing is uploaded.
        pixels: the decoded picture (uint8, see :func:`cnnviz.core.uploads.decode_image`), or ``None`` when
            nothing is uploaded or the file could not be used (the widget has said why).
    """

    file_name: str | None = None
    pixels: np.ndarray | None = None

    @property
    def empty(self) -> bool:
        """Whether no file is uploaded."""
        return self.file_name is None


def picture_upload(label: str, *, key: str, help: str, mode: str = "L",
                   max_side: int = DEFAULT_MAX_SIDE) -> PictureUpload:
    """Show a file chooser for one picture and decode what was uploaded; an unusable file gets an error message.

    Args:
        label: the chooser's label; say what picture is wanted.
        key: the widget's key (its file is in the session state under it).
        help: the tooltip: what happens to the picture.
        mode, max_side: as :func:`cnnviz.core.uploads.decode_image` (grey or colour, the longest side).

    The decoded picture is kept in the session for as long as the same file is uploaded (one picture per widget,
    no larger than ``max_side``), so reruns do not decode it again.

    Returns:
        The upload: empty, unreadable (``pixels`` is ``None``; an ``st.error`` says what was wrong and what to
        do) or decoded.
    """
    upload = st.file_uploader(label, type=FILE_TYPES, key=key, help=help)
    decoded_key = f"{key}_decoded"  # this session's last decoded picture: (file, mode, side), the upload
    if upload is None:
        st.session_state.pop(decoded_key, None)
        return PictureUpload()
    wanted = (upload.file_id, mode, max_side)
    kept = st.session_state.get(decoded_key)
    if kept is not None and kept[0] == wanted:
        # Both pages rerun their upload with every change around it (a Sketch sweep, a Kernels setting): a phone
        # photo took ~100 ms to decode each time, in one of the server's few decoding slots.
        return kept[1]
    try:
        pixels = decode_image(upload.getvalue(), mode=mode, max_side=max_side)
    except ImageUploadError as error:  # not kept: "the server is busy" must be tried again on the next rerun
        st.session_state.pop(decoded_key, None)
        st.error(md_escape(str(error)), icon=":material/broken_image:")
        return PictureUpload(file_name=upload.name)
    pixels.flags.writeable = False  # kept for the next reruns: nobody may change it in place
    result = PictureUpload(file_name=upload.name, pixels=pixels)
    st.session_state[decoded_key] = (wanted, result)
    return result
