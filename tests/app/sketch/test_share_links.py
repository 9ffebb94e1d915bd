"""The Sketch page's share link (AppTest): the model choice round-trips through the URL."""

from __future__ import annotations

from tests.support.apptest import app_test


def test_a_link_picks_the_model_and_the_url_follows_the_picker():
    app = app_test("pages/sketch.py")
    app.query_params["model"] = "default_fashion_mnist"
    app.run()
    assert not app.exception
    assert app.selectbox(key="sketch_model").value == "file:default_fashion_mnist"
    assert app.query_params == {"model": "default_fashion_mnist"}
    app.selectbox(key="sketch_model").set_value("file:default_mnist").run()
    assert app.query_params == {}  # the page's first choice needs no parameter


def test_a_link_to_a_model_this_browser_lacks_falls_back_to_the_first_choice():
    app = app_test("pages/sketch.py")
    app.query_params["model"] = "session"  # opened in a new browser: no model trained in this session
    app.run()
    assert not app.exception
    assert app.selectbox(key="sketch_model").value == "file:default_mnist"
