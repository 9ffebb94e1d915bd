"""AppTest layer: see tests/support/apptest.py for the helper every page test uses."""

from __future__ import annotations

import pytest

from cnnviz.ui.runtime import keep_keras_state
from tests.support.apptest import scan_installed_components_once


@pytest.fixture(scope="session", autouse=True)
def pages_run_as_the_server_runs_them() -> None:
    """Two things the studio's server does once and a bare AppTest does on every run or every instance.

    Streamlit clears Keras after every script run unless app.py stopped it (cnnviz.ui.runtime); an AppTest of one
    page skips app.py, so each rerun of a page that has imported Keras paid 0.2-0.3 s of
    ``keras.backend.clear_session()`` (85% of an Inside rerun under py-spy). And each AppTest scanned the
    installed packages for Streamlit components (tests/support/apptest.py).
    """
    keep_keras_state()
    scan_installed_components_once()
