"""Every page keeps working when files on disk are broken (issue 7, section 2).

* Corrupt ``.keras`` / ``.json`` files in the models folder: each registered page runs
  through the router without an exception (the one test that every page runs), the pages
  with a model picker list the files as unreadable and skip them, and
  a good model next to them is still offered.
* A corrupt dataset file: the Data and Train pages name the file in a clear message and
  offer the built-in digits.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from cnnviz.core.store import list_models
from cnnviz.ui.pages import PAGES
from tests.support.apptest import app_test
from tests.support.paths import REPO_ROOT

PICKER_PAGES = {"pages/inside.py", "pages/sketch.py", "pages/kernels.py"}


def _break_models(folder: Path) -> list[str]:
    """Write one broken pair of every kind; return their names."""
    good_keras = folder / "default_mnist.keras"
    good_json = json.loads((folder / "default_mnist.json").read_text())
    broken: dict[str, tuple[bytes, bytes | None]] = {
        "truncated": (good_keras.read_bytes()[:1000], None),
        "garbage": (b"\x00" * 5000, None),
        "text_keras": (b"this is not a model", None),
        "bad_json": (good_keras.read_bytes(), b"{ definitely not json"),
        "empty_json": (good_keras.read_bytes(), b""),
    }
    for name, (keras_bytes, json_bytes) in broken.items():
        (folder / f"{name}.keras").write_bytes(keras_bytes)
        meta = {**good_json, "name": name}
        (folder / f"{name}.json").write_bytes(json_bytes if json_bytes is not None else json.dumps(meta).encode())
    (folder / "no_sidecar.keras").write_bytes(good_keras.read_bytes())
    (folder / "no_model.json").write_text(json.dumps({**good_json, "name": "no_model"}))
    (folder / ".tmp-999999999-abc-crashed.keras").write_bytes(b"PK\x03\x04 partial")
    return [*broken, "no_sidecar", "no_model"]


@pytest.fixture
def broken_models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, list[str]]:
    shipped = REPO_ROOT / "models" / "default_mnist.keras"
    if not shipped.is_file():
        pytest.skip("the shipped MNIST model is not in models/ yet (tools/train_default_models.py)")
    folder = tmp_path / "models"
    folder.mkdir()
    for suffix in (".keras", ".json"):
        shutil.copy2(shipped.with_suffix(suffix), folder / f"default_mnist{suffix}")
    names = _break_models(folder)
    monkeypatch.setenv("CNNVIZ_MODELS_DIR", str(folder))
    return folder, names


def test_the_store_lists_every_broken_pair_as_unreadable(broken_models: tuple[Path, list[str]]) -> None:
    folder, names = broken_models
    records = {record.name: record for record in list_models(folder)}
    assert records["default_mnist"].ok
    assert {name for name, record in records.items() if not record.ok} == set(names)
    assert not (folder / ".tmp-999999999-abc-crashed.keras").exists()  # crash leftovers cleaned


@pytest.mark.parametrize("info", PAGES, ids=[info.title for info in PAGES])
def test_every_page_works_with_corrupt_model_files(broken_models: tuple[Path, list[str]], info) -> None:
    _, names = broken_models
    app = app_test("app.py").run()
    app.switch_page(info.path).run()
    assert not app.exception, [element.value for element in app.exception]
    if info.path == "pages/kernels.py":  # its picker sits behind a toggle
        app.toggle(key="kernels_show_learned").set_value(True).run()
        assert not app.exception, [element.value for element in app.exception]
    if info.path in PICKER_PAGES:
        pickers = [box for box in app.selectbox if any("default_mnist" in str(o) for o in box.options)]
        assert pickers, f"{info.title}: the good shipped model is no longer offered"
        offered = " ".join(str(option) for option in pickers[0].options)
        assert not any(f": {name} " in offered for name in names), offered
        unreadable = [expander for expander in app.expander if "unreadable" in expander.label]
        assert unreadable and str(len(names)) in unreadable[0].label


@pytest.mark.parametrize(("script", "key"), [("pages/data.py", "data_dataset"), ("pages/train.py", "train_dataset")])
def test_a_corrupt_dataset_file_is_named_and_digits_offered(
    no_dataset_files: Path, shared_data: Path, script: str, key: str
) -> None:
    # Only MNIST's official test split, its images file cut short as by an interrupted download.
    (no_dataset_files / "mnist").mkdir()
    labels = "t10k-labels-idx1-ubyte.gz"
    (no_dataset_files / "mnist" / labels).symlink_to(shared_data / "mnist" / labels)
    images = no_dataset_files / "mnist" / "t10k-images-idx3-ubyte.gz"
    images.write_bytes((shared_data / "mnist" / images.name).read_bytes()[:5000])
    app = app_test(script).run()
    assert not app.exception, [element.value for element in app.exception]
    if app.selectbox(key=key).value != "mnist":
        app.selectbox(key=key).set_value("mnist").run()
    messages = " ".join(element.value for element in [*app.error, *app.warning, *app.code])
    assert "t10k-images-idx3-ubyte.gz" in messages and "corrupt" in messages, messages
    app.button(key=f"{key}_use_digits").click().run()
    assert not app.exception
    assert app.selectbox(key=key).value == "digits"
