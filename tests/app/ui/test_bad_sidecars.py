"""Malformed sidecars in the models folder do not break the pages with a model picker (issue 16, finding 2).

Before: ``"keras_bytes": null`` raised TypeError and 100,000 nested brackets RecursionError inside
``list_models``, so Sketch and Inside failed on open and Kernels when it showed a model's kernels.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.support.apptest import app_test
from tests.support.paths import REPO_ROOT

#: Sidecars of the attack, each beside a copy of the shipped model's .keras file.
BAD_SIDECARS = {
    "bytes_null": lambda meta: json.dumps({**meta, "keras_bytes": None}),
    "bytes_text": lambda meta: json.dumps({**meta, "keras_bytes": "123"}),
    "bytes_list": lambda meta: json.dumps({**meta, "keras_bytes": [1]}),
    "deep_brackets": lambda meta: "[" * 100_000 + "]" * 100_000,
    "huge_number": lambda meta: json.dumps({**meta, "keras_bytes": "HUGE"}).replace('"HUGE"', "1e999"),
}


@pytest.fixture
def bad_sidecars(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shipped = REPO_ROOT / "models" / "default_mnist.keras"
    if not shipped.is_file():
        pytest.skip("the shipped MNIST model is not in models/ yet (tools/train_default_models.py)")
    folder = tmp_path / "models"
    folder.mkdir()
    for suffix in (".keras", ".json"):
        shutil.copy2(shipped.with_suffix(suffix), folder / f"default_mnist{suffix}")
    meta = json.loads(shipped.with_suffix(".json").read_text())
    for name, make in BAD_SIDECARS.items():
        shutil.copy2(shipped, folder / f"{name}.keras")
        (folder / f"{name}.json").write_text(make({**meta, "name": name}))
    monkeypatch.setenv("CNNVIZ_MODELS_DIR", str(folder))
    return folder


@pytest.mark.parametrize("page", ["pages/sketch.py", "pages/inside.py", "pages/kernels.py"])
def test_pages_render_and_name_the_unreadable_sidecars(bad_sidecars: Path, page: str) -> None:
    app = app_test("app.py").run()
    app.switch_page(page).run()
    assert not app.exception, [element.value for element in app.exception]
    if page == "pages/kernels.py":  # its picker sits behind a toggle
        app.toggle(key="kernels_show_learned").set_value(True).run()
        assert not app.exception, [element.value for element in app.exception]
    boxes = [expander for expander in app.expander if "unreadable" in expander.label]
    assert boxes and boxes[0].label.startswith(f"{len(BAD_SIDECARS)} unreadable")
    listed = " ".join(element.value for element in boxes[0].markdown)
    assert all(name in listed for name in BAD_SIDECARS), listed
    offered = [box for box in app.selectbox if any("default_mnist" in str(option) for option in box.options)]
    assert offered, "the good shipped model is still offered"
