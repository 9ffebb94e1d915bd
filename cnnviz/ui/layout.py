"""Page furniture shared by every page: the sidebar and small explanation helpers."""

from __future__ import annotations

import streamlit as st

SIDEBAR_ABOUT = (
    "**cnnviz** is a studio for learning convolutional neural networks: "
    "look at the data, design and train a small CNN, play with kernels, "
    "sketch a digit and look inside the network."
)


def render_sidebar() -> None:
    """Draw the sidebar shown under the navigation on every page."""
    with st.sidebar:
        st.caption(SIDEBAR_ABOUT)
        from cnnviz.ui.state import get_session_model

        trained = get_session_model()
        if trained is not None:
            accuracy = trained.test_metrics.get("accuracy")
            detail = f", test accuracy {accuracy:.1%}" if accuracy is not None else ""
            st.caption(f"Model in this session: {trained.dataset}{detail}.")


def explain(title: str, body: str, *, expanded: bool = False) -> None:
    """Show a short "what am I looking at?" expander with ``body`` (Markdown)."""
    with st.expander(title, expanded=expanded):
        st.markdown(body)
