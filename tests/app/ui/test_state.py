"""cnnviz.ui.state.remember: the one way a widget keeps its value when its page or section stops drawing it."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from tests.support.apptest import APP_TIMEOUT_S


def _slider_script() -> None:
    import streamlit as st

    from cnnviz.ui.state import remember

    if st.session_state.get("show", True):
        if st.session_state.get("use_remember", True):
            remember("level", 3)
        st.slider("Level", 1, 5, key="level")


def _choice_script() -> None:
    import streamlit as st

    from cnnviz.ui.state import remember

    options = st.session_state.get("options", ["a", "b", "c"])
    if st.session_state.get("show", True):
        remember("choice", options[0], valid=options)
        st.selectbox("Choice", options, key="choice")


def _away_and_back(app: AppTest) -> AppTest:
    """Run once without the widget (another page or section), then once with it again."""
    app.session_state["show"] = False
    app.run()
    assert not app.slider and not app.selectbox  # the widget really was gone for a run
    app.session_state["show"] = True
    return app.run()


def test_a_remembered_widget_starts_at_its_default_and_keeps_its_value_across_a_switch() -> None:
    app = AppTest.from_function(_slider_script, default_timeout=APP_TIMEOUT_S).run()
    assert app.slider(key="level").value == 3
    app.slider(key="level").set_value(5).run()
    _away_and_back(app)
    assert not app.exception
    assert app.slider(key="level").value == 5


def test_without_remember_streamlit_forgets_the_value() -> None:
    # The control experiment: what remember() is for.
    app = AppTest.from_function(_slider_script, default_timeout=APP_TIMEOUT_S)
    app.session_state["use_remember"] = False
    app.run()
    app.slider(key="level").set_value(5).run()
    _away_and_back(app)
    assert app.slider(key="level").value == 1


def test_a_remembered_value_that_is_no_longer_valid_falls_back_to_the_default() -> None:
    app = AppTest.from_function(_choice_script, default_timeout=APP_TIMEOUT_S).run()
    app.selectbox(key="choice").set_value("c").run()
    _away_and_back(app)
    assert app.selectbox(key="choice").value == "c"
    app.selectbox(key="choice").set_value("b").run()
    app.session_state["show"] = False
    app.run()
    app.session_state["options"] = ["a", "c"]  # "b" no longer exists (a deleted model, say)
    app.session_state["show"] = True
    app.run()
    assert not app.exception
    assert app.selectbox(key="choice").value == "a"


def _sketch_script() -> None:
    import numpy as np
    import streamlit as st

    from cnnviz.ui.state import get_latest_sketch_source, set_latest_sketch

    source = st.session_state.get("source")
    if source is not None:
        image = np.zeros((28, 28), dtype=np.float32)
        set_latest_sketch(image) if source == "default" else set_latest_sketch(image, source=source)
    st.text(f"source: {get_latest_sketch_source()}")


def test_the_latest_sketch_remembers_where_it_came_from() -> None:
    app = AppTest.from_function(_sketch_script, default_timeout=APP_TIMEOUT_S).run()
    assert app.text[0].value == "source: None"  # no sketch yet
    for source, shown in (("photo", "photo"), ("default", "sketch"), ("photo", "photo"), ("sketch", "sketch")):
        app.session_state["source"] = source
        app.run()
        assert not app.exception
        assert app.text[0].value == f"source: {shown}"
