"""The server keeps Keras's state across Streamlit script runs (cnnviz.ui.runtime), checked with real Keras."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from streamlit.runtime.scriptrunner import script_runner

from cnnviz.ui.runtime import keep_keras_state

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def streamlit_cleanup():
    # Streamlit's clean-up after a script run; an AppTest of app.py in this process may have replaced it already.
    original = script_runner._clean_problem_modules  # the test fails here if Streamlit renamed it
    yield original
    script_runner._clean_problem_modules = original


def _dense_name() -> str:
    import keras

    return keras.layers.Dense(1).name


def test_streamlits_cleanup_after_a_run_no_longer_clears_keras(streamlit_cleanup) -> None:
    import keras

    # Keras numbers unnamed layers through its global state; clear_session, which Streamlit's own clean-up calls
    # after every script run, starts the numbering again.
    keras.backend.clear_session()
    assert _dense_name() == "dense"
    assert keep_keras_state() and keep_keras_state()  # idempotent
    script_runner._clean_problem_modules()  # what now runs after every script run
    assert _dense_name() == "dense_1"  # the numbering went on: Keras's state was kept


def test_no_full_garbage_collection_after_every_script_run() -> None:
    config = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["runner"]["postScriptGC"] is False
