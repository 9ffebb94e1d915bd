"""The one private Streamlit switch cnnviz relies on (cnnviz.ui.layout.require_router).

These fail when Streamlit changes what the workaround relies on: then either remove it
(Streamlit no longer has the legacy ``pages/`` mode) or adapt it. The deep link itself is
checked in a browser by tests/e2e/app/test_navigation_e2e.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.runtime.pages_manager import PagesManager
from streamlit.testing.v1 import AppTest

from tests.support.apptest import APP_TIMEOUT_S
from tests.support.paths import REPO_ROOT


@pytest.fixture
def legacy_flag() -> Iterator[None]:
    """Restore Streamlit's process-wide flag after the test."""
    saved = PagesManager.uses_pages_directory
    yield
    PagesManager.uses_pages_directory = saved


def test_streamlit_still_puts_an_app_with_a_pages_folder_in_legacy_mode(legacy_flag: None) -> None:
    assert (REPO_ROOT / "pages").is_dir()
    PagesManager.uses_pages_directory = None  # as on a freshly started server
    PagesManager(str(REPO_ROOT / "app.py"))
    assert PagesManager.uses_pages_directory is True, (
        "Streamlit no longer detects pages/ as a legacy multipage app: require_router may be unnecessary now"
    )


PAGE_SCRIPT = """
import streamlit as st

from cnnviz.ui.layout import require_router

st.session_state["runs"] = st.session_state.get("runs", 0) + 1
require_router()
st.write(f"ran {st.session_state['runs']} times")
"""


def _app_folder(folder: Path, *, with_pages: bool) -> Path:
    """A one-script app in ``folder``; with a ``pages/`` folder beside it Streamlit starts in legacy mode."""
    (folder / "page.py").write_text(PAGE_SCRIPT)
    if with_pages:
        (folder / "pages").mkdir()
        (folder / "pages" / "other.py").write_text("import streamlit as st\nst.write('other')\n")
    return folder / "page.py"


def test_require_router_leaves_legacy_mode_and_reruns(legacy_flag: None, tmp_path: Path) -> None:
    app = AppTest.from_file(str(_app_folder(tmp_path, with_pages=True)), default_timeout=APP_TIMEOUT_S).run()
    assert not app.exception
    assert PagesManager.uses_pages_directory is False
    assert app.session_state["runs"] == 2  # the first run stopped at require_router and reran
    assert app.markdown[0].value == "ran 2 times"


def test_require_router_does_nothing_under_the_router(legacy_flag: None, tmp_path: Path) -> None:
    app = AppTest.from_file(str(_app_folder(tmp_path, with_pages=False)), default_timeout=APP_TIMEOUT_S).run()
    assert not app.exception
    assert app.session_state["runs"] == 1
    assert app.markdown[0].value == "ran 1 times"
