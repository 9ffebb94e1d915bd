"""User-controlled text the shared widgets show in Markdown stays text: folder and dataset names."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from markdown_it import MarkdownIt
from streamlit.testing.v1 import AppTest

from cnnviz.core.records import TrainedModel
from cnnviz.ui.state import SESSION_MODEL_KEY
from tests.support.apptest import APP_TIMEOUT_S

HOSTILE = "[x](https:evil.example) **b** <i>i</i> $x$ :red[r]"  # no "//": a folder name keeps it as typed


def _html(markdown: str) -> str:
    """How a CommonMark renderer shows ``markdown`` (Streamlit's Markdown follows CommonMark)."""
    return MarkdownIt("commonmark").render(markdown)


def _plain(markdown: str) -> str:
    """Markdown source without its backslash escapes: the text a reader sees."""
    return re.sub(r"\\(.)", r"\1", markdown)


def _picker() -> None:
    from cnnviz.ui.datasets import dataset_picker

    dataset_picker("data_dataset")


def _sidebar() -> None:
    from cnnviz.ui.layout import render_sidebar

    render_sidebar()


def test_a_hostile_data_folder_name_is_shown_as_typed(
    no_dataset_files: Path, shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = no_dataset_files / HOSTILE
    (folder / "mnist").mkdir(parents=True)
    for path in (shared_data / "mnist").iterdir():
        (folder / "mnist" / path.name).symlink_to(path)
    monkeypatch.setenv("CNNVIZ_DATA_DIR", str(folder))
    app = AppTest.from_function(_picker, default_timeout=APP_TIMEOUT_S).run()
    assert not app.exception and not app.error
    [caption] = [element.value for element in app.caption if "Data source" in element.value]
    assert HOSTILE in _plain(caption)
    html = _html(caption)
    assert "<a " not in html and "<em>" not in html and "<i>" not in html
    assert html.count("<strong>") == 1  # only the page's own "Data source:"


def test_a_hostile_dataset_name_in_the_sidebar_is_shown_as_typed() -> None:
    app = AppTest.from_function(_sidebar, default_timeout=APP_TIMEOUT_S)
    app.session_state[SESSION_MODEL_KEY] = TrainedModel(model=None, dataset=HOSTILE, class_names=("a", "b"))
    app.run()
    [caption] = [element.value for element in app.sidebar.caption if "Model in this session" in element.value]
    assert HOSTILE in _plain(caption)
    html = _html(caption)
    assert "<a " not in html and "<strong>" not in html and "<i>" not in html
