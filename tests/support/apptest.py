"""Helpers for Streamlit AppTest tests: scripts are addressed from the repository root."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from tests.support.paths import REPO_ROOT

#: Generous per-run timeout: the first run of a page imports TensorFlow on a 2-core machine.
APP_TIMEOUT_S = 180


def app_test(script: str, timeout: float = APP_TIMEOUT_S) -> AppTest:
    """An AppTest for ``script`` given relative to the repository root, e.g. ``"pages/data.py"``."""
    return AppTest.from_file(str(Path(REPO_ROOT) / script), default_timeout=timeout)
