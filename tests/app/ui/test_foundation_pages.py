"""AppTest runs of the router and the foundation pages (Home, Data)."""

from __future__ import annotations

import pytest

from cnnviz.ui.pages import PAGES
from tests.support.apptest import app_test


def test_router_renders_home_without_exception():
    app = app_test("app.py").run()
    assert not app.exception
    assert "cnnviz" in app.title[0].value


@pytest.mark.parametrize("info", PAGES, ids=[info.title for info in PAGES])
def test_every_registered_page_runs_without_exception(info):
    app = app_test("app.py")
    app.run()
    app.switch_page(info.path).run()
    assert not app.exception, [e.value for e in app.exception]


def test_data_page_shows_source_counts_and_charts():
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


def test_data_page_explains_a_missing_dataset_and_offers_digits(monkeypatch, tmp_path):
    # No data anywhere and no network: the page explains and offers the built-in digits, no traceback.
    monkeypatch.setenv("CNNVIZ_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CNNVIZ_OFFLINE", "1")
    monkeypatch.setattr("cnnviz.core.datasets.DEBIAN_DATASETS_DIR", tmp_path / "debian")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.chdir(tmp_path)
    from cnnviz.core.datasets import clear_cache
    from cnnviz.ui.datasets import get_dataset

    clear_cache()
    get_dataset.clear()
    app = app_test("pages/data.py").run()
    assert not app.exception
    assert any("could not be loaded" in error.value for error in app.error)
    app.button(key="data_dataset_use_digits").click().run()
    assert not app.exception
    assert app.selectbox(key="data_dataset").value == "digits"
    assert not app.error
    clear_cache()
    get_dataset.clear()
