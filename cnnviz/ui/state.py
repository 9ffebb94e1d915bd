"""Session-state keys shared between pages, and typed accessors for them.

Widget state is dropped when the user switches pages, so anything that must
survive navigation lives under these non-widget keys.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import streamlit as st

from cnnviz.core.records import TrainedModel

#: The model trained in this session (a :class:`cnnviz.core.records.TrainedModel`).
SESSION_MODEL_KEY = "cnnviz_session_model"
#: The history of training runs in this session (a list owned by the Train page).
RUNS_KEY = "cnnviz_runs"
#: Non-widget copies of widget values, so they survive a visit to another page (see :func:`remember`).
REMEMBERED_KEY = "cnnviz_remembered_widgets"
#: The latest sketch from the Sketch page, preprocessed: (28, 28) float32 in [0, 1], white ink on black.
SKETCH_KEY = "cnnviz_latest_sketch"
#: Where the latest sketch came from: ``"sketch"`` (drawn on the canvas) or ``"photo"`` (an uploaded photo).
SKETCH_SOURCE_KEY = "cnnviz_latest_sketch_source"


def get_session_model() -> TrainedModel | None:
    """Return this session's trained model, or ``None`` if the user has not trained one."""
    value = st.session_state.get(SESSION_MODEL_KEY)
    return value if isinstance(value, TrainedModel) else None


def set_session_model(trained: TrainedModel) -> None:
    """Make ``trained`` this session's model (replacing, and so freeing, the previous one)."""
    st.session_state[SESSION_MODEL_KEY] = trained


def get_latest_sketch() -> np.ndarray | None:
    """Return the latest preprocessed sketch, (28, 28) float32 in [0, 1], or ``None``."""
    value = st.session_state.get(SKETCH_KEY)
    if isinstance(value, np.ndarray) and value.shape == (28, 28):
        return value
    return None


def set_latest_sketch(image: np.ndarray, source: str = "sketch") -> None:
    """Remember the latest preprocessed sketch so other pages can use it as an input image.

    Args:
        image: (28, 28) numbers in [0, 1], stored as float32.
        source: where it came from, ``"sketch"`` (drawn) or ``"photo"`` (uploaded), so other pages can name it.

    Raises:
        ValueError: for another shape.
    """
    array = np.asarray(image, dtype=np.float32)
    if array.shape != (28, 28):
        raise ValueError(f"Expected a (28, 28) sketch, got shape {array.shape}.")
    st.session_state[SKETCH_KEY] = array
    st.session_state[SKETCH_SOURCE_KEY] = str(source)


def get_latest_sketch_source() -> str | None:
    """Where the latest sketch came from (``"sketch"`` or ``"photo"``, as passed to :func:`set_latest_sketch`).

    ``None`` when there is no latest sketch; ``"sketch"`` when it was stored without a source.
    """
    if get_latest_sketch() is None:
        return None
    source = st.session_state.get(SKETCH_SOURCE_KEY)
    return source if isinstance(source, str) else "sketch"


def get_runs() -> list[Any]:
    """Return (creating if needed) the list of this session's training runs."""
    return st.session_state.setdefault(RUNS_KEY, [])


def remember(key: str, default: Any, *, valid: Any = None) -> None:
    """Call just before creating widget ``key`` (without ``value=``/``index=``): its value survives page switches.

    Streamlit forgets a widget's value when its page (or section) stops drawing it. This copies the
    current value to a non-widget entry on every run and puts it back when the widget comes back.
    This is the only place the studio does that.

    Args:
        key: the widget's key.
        default: the value the widget starts with the first time.
        valid: optional predicate or collection: a remembered value it rejects (an option that no
            longer exists, say) is replaced by ``default``.
    """
    kept = st.session_state.setdefault(REMEMBERED_KEY, {})
    if key in st.session_state:
        kept[key] = st.session_state[key]
        return
    value = kept.get(key, default)
    if valid is not None:
        ok = valid(value) if callable(valid) else value in valid
        if not ok:
            value = default
    st.session_state[key] = value
