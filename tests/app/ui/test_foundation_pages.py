"""AppTest runs of the router and the foundation pages (Home, Data)."""

from __future__ import annotations

import json

import pytest

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


def _chart_text(chart) -> str:
    """Everything a Plotly chart of the page says, as text (its JSON spec, Unicode unescaped)."""
    return json.dumps(json.loads(chart.proto.spec), ensure_ascii=False)


@pytest.mark.parametrize(("name", "class_name"), [("fashion_mnist", "Ankle boot"), ("kmnist", "お (o)")])
def test_data_page_names_the_classes_of_each_dataset(name: str, class_name: str):
    # The sample grid (first chart) and the class counts (second) are labelled with the class names.
    # In Chromium, tests/e2e/app/test_navigation_e2e.py checks that Kuzushiji's labels render.
    app = app_test("pages/data.py").run()
    app.selectbox(key="data_dataset").set_value(name).run()
    assert not app.exception
    if app.error:
        pytest.skip(f"{name} is not available on this machine: {app.error[0].value[:200]}")
    samples, counts = app.get("plotly_chart")[:2]
    assert class_name in _chart_text(samples)
    assert class_name in _chart_text(counts)


def test_data_page_explains_a_missing_dataset_and_offers_digits(no_dataset_files):
    # No data anywhere and no network: the page explains and offers the built-in digits, no traceback.
    app = app_test("pages/data.py").run()
    assert not app.exception
    assert any("could not be loaded" in error.value for error in app.error)
    app.button(key="data_dataset_use_digits").click().run()
    assert not app.exception
    assert app.selectbox(key="data_dataset").value == "digits"
    assert not app.error
