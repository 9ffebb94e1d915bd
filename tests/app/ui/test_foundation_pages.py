"""AppTest runs of the router and the foundation pages (Home, Data)."""

from __future__ import annotations

from tests.support.apptest import app_test


def test_router_renders_home_without_exception():
    app = app_test("app.py").run()
    assert not app.exception
    assert "cnnviz" in app.title[0].value


# Every registered page running through the router without an exception is checked once, with a models folder
# that also holds broken files: tests/app/ui/test_faults_app.py::test_every_page_works_with_corrupt_model_files.


def test_data_page_shows_source_counts_and_charts(official_test_splits_only):
    app = app_test("pages/data.py").run()
    assert not app.exception
    assert app.selectbox(key="data_dataset").value == "mnist"
    captions = " ".join(c.value for c in app.caption)
    assert "Data source:" in captions and "official test split only" in captions
    assert any("divided" in info.value for info in app.info)
    assert [m.value for m in app.metric][:3] == ["8,000", "2,000", "10"]


def test_data_page_switches_to_digits():
    app = app_test("pages/data.py").run()
    app.selectbox(key="data_dataset").set_value("digits").run()
    assert not app.exception
    assert [m.value for m in app.metric][:2] == ["1,438", "359"]


def test_data_page_explains_a_missing_dataset_and_offers_digits(no_dataset_files):
    # No data anywhere and no network: the page explains and offers the built-in digits, no traceback.
    app = app_test("pages/data.py").run()
    assert not app.exception
    assert any("could not be loaded" in error.value for error in app.error)
    app.button(key="data_dataset_use_digits").click().run()
    assert not app.exception
    assert app.selectbox(key="data_dataset").value == "digits"
    assert not app.error
