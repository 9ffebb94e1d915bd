"""cnnviz.ui.links: a link opens another page with its payload once, and 'Back' returns to the learner's place."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.support.apptest import APP_TIMEOUT_S

ROUTER = """
import streamlit as st

st.navigation([st.Page("origin.py", title="Origin", default=True), st.Page("target.py", title="Target")]).run()
"""
# The origin keeps its place (a section and an image) with remember(), as a feature page does.
ORIGIN = """
import streamlit as st

from cnnviz.ui.links import link_button
from cnnviz.ui.state import remember

if st.session_state.pop("rerun_once", False):
    st.rerun()  # as require_router() does on a page's first run under a fresh pages manager
st.text("on: origin")
remember("origin_section", "Layers")
section = st.radio("Section", ["Layers", "Filters"], key="origin_section")
remember("origin_image", 0)
image = st.number_input("Image", 0, 9, key="origin_image")
link_button("Open on Target", "target.py", {"image": image, "section": section}, origin="origin.py",
            key="origin_link", help="Shows this image on the target page.")
"""
TARGET = """
import streamlit as st

from cnnviz.ui.links import back_button, take_link

st.text("on: target")
link = take_link("target.py")
if link is not None:
    st.text(f"payload: {link.payload['image']} {link.payload['section']}")
back_button("target.py")
"""


@pytest.fixture
def app(tmp_path: Path) -> AppTest:
    for name, text in (("app.py", ROUTER), ("origin.py", ORIGIN), ("target.py", TARGET)):
        (tmp_path / name).write_text(textwrap.dedent(text))
    return AppTest.from_file(str(tmp_path / "app.py"), default_timeout=APP_TIMEOUT_S)


def _texts(app: AppTest) -> list[str]:
    return [element.value for element in app.text]


def test_a_link_lands_on_its_page_with_the_payload(app: AppTest) -> None:
    app.run()
    assert _texts(app) == ["on: origin"]
    app.radio(key="origin_section").set_value("Filters").run()
    app.number_input(key="origin_image").set_value(7).run()
    app.button(key="origin_link").click().run()
    assert not app.exception
    assert _texts(app) == ["on: target", "payload: 7 Filters"]
    assert [button.label for button in app.button] == ["Back to Origin"]


def test_the_payload_is_read_once(app: AppTest) -> None:
    app.run()
    app.button(key="origin_link").click().run()
    assert "payload: 0 Layers" in _texts(app)
    app.run()  # any rerun of the target (a widget, say): the link was taken
    assert _texts(app) == ["on: target"]
    assert [button.label for button in app.button] == ["Back to Origin"]  # the way back stays


def test_back_returns_to_the_learners_place(app: AppTest) -> None:
    app.run()
    app.radio(key="origin_section").set_value("Filters").run()
    app.number_input(key="origin_image").set_value(7).run()
    app.button(key="origin_link").click().run()
    app.button[0].click().run()
    assert not app.exception
    assert _texts(app) == ["on: origin"]
    assert app.radio(key="origin_section").value == "Filters"
    assert app.number_input(key="origin_image").value == 7
    app.switch_page("target.py").run()  # back used: a visit through the navigation offers no way back
    assert _texts(app) == ["on: target"] and not app.button


def test_a_page_opened_through_the_navigation_has_no_link(app: AppTest) -> None:
    app.run()
    app.switch_page("target.py").run()
    assert not app.exception
    assert _texts(app) == ["on: target"] and not app.button


def test_a_click_survives_a_rerun_before_the_button_is_reached(app: AppTest) -> None:
    app.run()
    app.session_state["rerun_once"] = True
    app.button(key="origin_link").click().run()
    assert not app.exception
    assert _texts(app) == ["on: target", "payload: 0 Layers"]
