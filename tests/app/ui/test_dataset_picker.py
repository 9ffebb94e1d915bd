"""dataset_picker: the built-in digits, once chosen over a dataset that failed, hold for the session."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from tests.support.apptest import APP_TIMEOUT_S, app_test


def _two_pages() -> None:
    # Two pages with their own pickers, as Data ("data_dataset") and Kernels ("kernels_dataset") have.
    import streamlit as st

    from cnnviz.ui.datasets import dataset_picker
    from cnnviz.ui.state import remember

    page = st.session_state.get("page", "data")
    if page == "kernels":
        remember("kernels_dataset", "mnist")  # as the Kernels page's controls do before their picker
    dataset_picker(f"{page}_dataset", show_source=False)


def _visit(app: AppTest, page: str) -> AppTest:
    app.session_state["page"] = page
    return app.run()


def test_choosing_the_digits_holds_on_the_next_page_and_back(no_dataset_files: Path) -> None:
    app = AppTest.from_function(_two_pages, default_timeout=APP_TIMEOUT_S).run()
    assert any("could not be loaded" in error.value for error in app.error)
    app.button(key="data_dataset_use_digits").click().run()
    assert app.selectbox(key="data_dataset").value == "digits" and not app.error

    _visit(app, "kernels")  # a page that was never opened: it starts on the digits, not the MNIST error
    assert not app.exception
    assert app.selectbox(key="kernels_dataset").value == "digits"
    assert not app.error

    _visit(app, "data")  # and the first page still shows the digits
    assert app.selectbox(key="data_dataset").value == "digits"
    assert not app.error


def test_without_the_choice_the_next_page_shows_the_error(no_dataset_files: Path) -> None:
    # The control: no digits chosen, so the other page starts on MNIST and explains why it failed.
    app = AppTest.from_function(_two_pages, default_timeout=APP_TIMEOUT_S).run()
    _visit(app, "kernels")
    assert app.selectbox(key="kernels_dataset").value == "mnist"
    assert any("could not be loaded" in error.value for error in app.error)


def test_picking_the_failed_dataset_by_hand_tries_it_again(no_dataset_files: Path) -> None:
    app = AppTest.from_function(_two_pages, default_timeout=APP_TIMEOUT_S).run()
    app.button(key="data_dataset_use_digits").click().run()
    app.selectbox(key="data_dataset").set_value("mnist").run()
    assert app.selectbox(key="data_dataset").value == "mnist"
    assert any("could not be loaded" in error.value for error in app.error)
    _visit(app, "kernels")  # retried by hand: the other pages try it again too
    assert app.selectbox(key="kernels_dataset").value == "mnist"


def test_a_page_that_already_showed_the_error_switches_too(no_dataset_files: Path) -> None:
    # Kernels visited first (MNIST error, remembered), then the digits chosen on Data: Kernels follows.
    app = AppTest.from_function(_two_pages, default_timeout=APP_TIMEOUT_S)
    _visit(app, "kernels")
    assert app.selectbox(key="kernels_dataset").value == "mnist"
    _visit(app, "data")
    app.button(key="data_dataset_use_digits").click().run()
    _visit(app, "kernels")
    assert app.selectbox(key="kernels_dataset").value == "digits" and not app.error


def test_a_page_keeps_its_dataset_across_a_visit_elsewhere(no_dataset_files: Path) -> None:
    app = AppTest.from_function(_two_pages, default_timeout=APP_TIMEOUT_S).run()
    app.selectbox(key="data_dataset").set_value("digits").run()
    _visit(app, "kernels")
    _visit(app, "data")
    assert app.selectbox(key="data_dataset").value == "digits"


def test_the_real_pages_data_then_kernels_then_train(no_dataset_files: Path) -> None:
    # Through the router, as the learner goes: Data (error, choose the digits), then Kernels and Train.
    app = app_test("app.py")
    app.switch_page("pages/data.py").run()
    assert any("could not be loaded" in error.value for error in app.error)
    app.button(key="data_dataset_use_digits").click().run()
    for page, key in (("pages/kernels.py", "kernels_input_dataset"), ("pages/train.py", "train_dataset")):
        app.switch_page(page).run()
        assert not app.exception, page
        pickers = [box for box in app.selectbox if box.key == key]
        assert pickers and pickers[0].value == "digits", page
        assert not [error.value for error in app.error if "could not be loaded" in error.value], page
