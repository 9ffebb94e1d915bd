"""Page furniture shared by every page: the sidebar and small explanation helpers."""

from __future__ import annotations

import streamlit as st

from cnnviz.core.text import md_escape

SIDEBAR_ABOUT = (
    "**cnnviz** is a studio for learning convolutional neural networks: "
    "look at the data, design and train a small CNN, play with kernels, "
    "sketch a digit and look inside the network."
)


def require_router() -> None:
    """Make a deep link (``/train`` on a freshly started server) go through ``app.py``.

    Streamlit treats an app whose folder holds ``pages/`` as a legacy multipage
    app until the first ``st.navigation`` call, so the very first visit to a page
    URL would run that page alone: no page config, no sidebar, file names as
    navigation. Each page calls this first; in that legacy mode it switches the
    server to ``st.navigation`` mode and reruns, which routes through ``app.py``.
    Under the router (and in AppTest) it does nothing.

    This is the one place cnnviz touches private Streamlit API, and why (checked in
    Streamlit 1.67): the first ``PagesManager`` of a server sets the class attribute
    ``uses_pages_directory`` from whether ``pages/`` sits beside the main script, and
    while it is true the script runner runs the requested page file itself instead of
    ``app.py``. No config option turns that detection off, and ``st.navigation`` in
    ``app.py`` clears the flag only once ``app.py`` has run, which a deep link on a
    fresh server never does. The project keeps ``pages/`` (the layout it was asked
    for), so the flag is cleared here. ``tests/app/ui/test_layout.py`` fails when
    Streamlit stops relying on it, and ``tests/e2e/app/test_navigation_e2e.py`` checks
    the deep link itself.
    """
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # A future Streamlit without the legacy mode: nothing to do (the unit test says so).
        return
    if getattr(PagesManager, "uses_pages_directory", False):
        PagesManager.uses_pages_directory = False
        st.rerun()


def render_sidebar() -> None:
    """Draw the sidebar shown under the navigation on every page."""
    with st.sidebar:
        st.caption(SIDEBAR_ABOUT)
        from cnnviz.ui.state import get_session_model

        trained = get_session_model()
        if trained is not None:
            accuracy = trained.test_metrics.get("accuracy")
            detail = f", test accuracy {accuracy:.1%}" if accuracy is not None else ""
            st.caption(f"Model in this session: {md_escape(trained.dataset)}{detail}.")


def explain(title: str, body: str, *, expanded: bool = False) -> None:
    """Show a short "what am I looking at?" expander with ``body`` (Markdown)."""
    with st.expander(title, expanded=expanded):
        st.markdown(body)
