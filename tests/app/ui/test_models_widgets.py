"""AppTest checks of cnnviz.ui.models: the model picker and the save form, with real files and Keras."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from markdown_it import MarkdownIt
from streamlit.testing.v1 import AppTest

from cnnviz.core.records import TrainedModel
from cnnviz.core.store import list_models, save_model
from cnnviz.ui.state import SESSION_MODEL_KEY
from tests.support.paths import REPO_ROOT

TIMEOUT = 60


def picker_app() -> None:
    import streamlit as st

    from cnnviz.ui.models import model_picker

    picked = model_picker("picker", label="Model")
    if picked is None:
        st.text("picked: none")
    else:
        st.text(f"picked: {picked.label}")
        st.text(f"dataset: {picked.dataset}")
        st.text(f"version: {picked.version}")
        st.text(f"classes: {len(picked.class_names)}")
        st.text(f"trained: {picked.trained is not None}")
        st.text(f"layers: {[layer.name for layer in picked.model.layers][-1]}")


def save_app() -> None:

    from cnnviz.ui.models import save_model_form
    from cnnviz.ui.state import get_session_model

    save_model_form(get_session_model(), key="save", split={"train": 100, "test": 20})


def blocked_save_app() -> None:
    from cnnviz.ui.models import save_model_form
    from cnnviz.ui.state import get_session_model

    save_model_form(get_session_model(), key="save",
                    disabled_reason="Run 2 kept no epoch, so there is nothing to save.")


def _meta(accuracy: float = 0.9) -> dict[str, Any]:
    return {"dataset": "digits", "class_names": [str(i) for i in range(10)], "test_metrics": {"accuracy": accuracy}}


@pytest.fixture
def models_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "models"
    folder.mkdir()
    monkeypatch.setenv("CNNVIZ_MODELS_DIR", str(folder))
    return folder


@pytest.fixture
def trained(tiny_model: Any) -> TrainedModel:
    return TrainedModel(
        model=tiny_model,
        dataset="digits",
        class_names=tuple(str(i) for i in range(10)),
        history={"loss": [1.2, 0.7], "accuracy": [0.5, 0.8]},
        test_metrics={"loss": 0.7, "accuracy": 0.81},
        data_source="scikit-learn digits",
    )


def _texts(at: AppTest) -> list[str]:
    return [element.value for element in at.text]


def _plain(markdown: str) -> str:
    """Markdown source without its backslash escapes: the text a reader sees."""
    return re.sub(r"\\(.)", r"\1", markdown)


def _html(markdown: str) -> str:
    """How a CommonMark renderer shows ``markdown`` (Streamlit's Markdown follows CommonMark)."""
    return MarkdownIt("commonmark").render(markdown)


def _copy_shipped_mnist(models_dir: Path) -> None:
    for suffix in (".keras", ".json"):
        shutil.copy2(REPO_ROOT / "models" / f"default_mnist{suffix}", models_dir / f"default_mnist{suffix}")


def test_picker_without_any_model_says_how_to_get_one(models_dir: Path) -> None:
    at = AppTest.from_function(picker_app, default_timeout=TIMEOUT).run()
    assert not at.exception
    assert "No model yet" in at.info[0].value and "Train" in at.info[0].value
    assert "picked: none" in _texts(at)
    assert len(at.selectbox) == 0


def test_picker_offers_saved_and_skips_unreadable(models_dir: Path, tiny_model: Any) -> None:
    _copy_shipped_mnist(models_dir)
    # A sidecar that claims to be shipped is still only "Saved": the package's manifest decides.
    save_model(tiny_model, "forged", {**_meta(0.95), "default": True}, models_dir=models_dir)
    save_model(tiny_model, "mine", _meta(0.5), models_dir=models_dir)
    (models_dir / "broken.keras").write_bytes(b"not a zip")
    (models_dir / "broken.json").write_text("{")
    at = AppTest.from_function(picker_app, default_timeout=TIMEOUT).run()
    assert not at.exception
    labels = at.selectbox[0].options
    assert labels[0].startswith("Shipped: default_mnist") and "test accuracy" in labels[0]
    assert any(label.startswith("Saved: forged") and "95.0%" in label for label in labels)
    assert any(label.startswith("Saved: mine") for label in labels)
    assert not any("broken" in label for label in labels)
    assert "unreadable" in at.expander[0].label
    assert any("broken" in markdown.value for markdown in at.markdown)
    texts = _texts(at)
    assert "dataset: mnist" in texts and "classes: 10" in texts and "trained: False" in texts
    assert "layers: predictions" in texts
    shipped_version = next(t for t in texts if t.startswith("version:"))

    at.selectbox[0].set_value("file:mine").run()
    assert not at.exception
    assert any(t.startswith("picked: Saved: mine") for t in _texts(at))
    assert next(t for t in _texts(at) if t.startswith("version:")) != shipped_version


def test_unreadable_file_names_are_shown_as_text(models_dir: Path, tiny_model: Any) -> None:
    save_model(tiny_model, "mine", _meta(), models_dir=models_dir)
    hostile = "[click me](https:evil.example) **bold** <b>x<b>"  # a file name: no slash
    (models_dir / f"{hostile}.keras").write_bytes(b"PK")
    at = AppTest.from_function(picker_app, default_timeout=TIMEOUT).run()
    assert not at.exception
    [entry] = [markdown.value for markdown in at.expander[0].markdown if "click me" in markdown.value]
    rendered = _html(entry)
    assert "<a" not in rendered and "<strong>" not in rendered and "<b>" not in rendered, rendered
    assert "<code>[click me](https:evil.example) **bold** &lt;b&gt;x&lt;b&gt;</code>" in rendered


def test_a_model_deleted_while_shown_is_announced(models_dir: Path, tiny_model: Any) -> None:
    _copy_shipped_mnist(models_dir)
    save_model(tiny_model, "mine", _meta(), models_dir=models_dir)
    at = AppTest.from_function(picker_app, default_timeout=TIMEOUT).run()
    at.selectbox[0].set_value("file:mine").run()
    assert any(t.startswith("picked: Saved: mine") for t in _texts(at)) and not at.warning
    for suffix in (".keras", ".json"):
        (models_dir / f"mine{suffix}").unlink()
    at.run()
    assert not at.exception
    assert [_plain(w.value) for w in at.warning] == [
        "The model you were looking at, `mine`, was deleted; showing the shipped MNIST model instead."
    ]
    assert any(t.startswith("picked: Shipped: default_mnist") for t in _texts(at))
    at.run()
    assert not at.warning  # said once, when it happened


def test_picker_prefers_this_sessions_model(models_dir: Path, tiny_model: Any, trained: TrainedModel) -> None:
    save_model(tiny_model, "mine", _meta(), models_dir=models_dir)
    at = AppTest.from_function(picker_app, default_timeout=TIMEOUT)
    at.session_state[SESSION_MODEL_KEY] = trained
    at.run()
    assert not at.exception
    texts = _texts(at)
    assert any(t.startswith("picked: This session's model") and "81.0%" in t for t in texts)
    assert "trained: True" in texts and f"version: session:{trained.version}" in texts


def test_replaced_file_gets_a_new_version(models_dir: Path, tiny_model: Any) -> None:
    import keras

    save_model(tiny_model, "mine", _meta(), models_dir=models_dir)
    at = AppTest.from_function(picker_app, default_timeout=TIMEOUT).run()
    first = next(t for t in _texts(at) if t.startswith("version:"))
    other = keras.models.clone_model(tiny_model)  # fresh random weights: a different file
    save_model(other, "mine", _meta(), models_dir=models_dir, overwrite=True)
    at.run()
    assert not at.exception
    assert next(t for t in _texts(at) if t.startswith("version:")) != first


def test_save_form_saves_confirms_before_replacing(models_dir: Path, trained: TrainedModel) -> None:
    at = AppTest.from_function(save_app, default_timeout=TIMEOUT)
    at.session_state[SESSION_MODEL_KEY] = trained
    at.run()
    assert not at.exception
    at.text_input(key="save_name").set_value("My Net!").run()
    assert "my_net" in at.caption[0].value  # the sanitised name is shown before saving
    at.button(key="save_button").click().run()
    assert not at.exception
    assert "Saved as" in at.success[0].value
    [record] = list_models(models_dir)
    assert record.name == "my_net" and record.meta["split"] == {"train": 100, "test": 20}
    assert record.meta["test_metrics"]["accuracy"] == 0.81
    first_sha = record.meta["keras_sha256"]

    # Saving again under the same name asks first and leaves the file alone until confirmed.
    at.button(key="save_button").click().run()
    assert "already saved" in at.warning[0].value
    assert list_models(models_dir)[0].meta["keras_sha256"] == first_sha
    at.button(key="save_replace").click().run()
    assert not at.exception
    assert "Saved as" in at.success[0].value
    assert len(list_models(models_dir)) == 1


def test_save_form_is_off_and_says_why_when_there_is_nothing_to_save(models_dir: Path,
                                                                      trained: TrainedModel) -> None:
    """Issue 15: after a run that kept no epoch, Save wrote the previous run's weights under the new name."""
    at = AppTest.from_function(blocked_save_app, default_timeout=TIMEOUT)
    at.session_state[SESSION_MODEL_KEY] = trained
    at.run()
    assert not at.exception
    assert at.button(key="save_button").disabled
    assert any("Run 2 kept no epoch" in message.value for message in at.info)
    at.text_input(key="save_name").set_value("run_two").run()
    assert at.button(key="save_button").disabled and list_models(models_dir) == []


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("///", "no usable characters"),
        ("default_mnist", "is the name of the model shipped with the studio, 'default_mnist'"),
        ("default-mnist", "looks like the name of the model shipped with the studio, 'default_mnist'"),
        ("ｄｅｆａｕｌｔ－ｍｎｉｓｔ", "looks like the name of the model shipped"),  # full-width
        ("Default_Cifar", "belong to the models shipped"),
        ("\x00\x01", "no usable characters"),
        ("**[]()** <>", "no usable characters"),
    ],
)
def test_save_form_refuses_bad_names(models_dir: Path, trained: TrainedModel, typed: str, message: str) -> None:
    at = AppTest.from_function(save_app, default_timeout=TIMEOUT)
    at.session_state[SESSION_MODEL_KEY] = trained
    at.run()
    at.text_input(key="save_name").set_value(typed).run()
    assert not at.exception
    assert message in _plain(at.error[0].value)
    rendered = _html(at.error[0].value)  # what was typed is echoed as text, not Markdown
    assert "<strong>" not in rendered and "<a" not in rendered and "<b>" not in rendered, rendered
    assert at.button(key="save_button").disabled
    assert list_models(models_dir) == []


def test_save_form_reports_a_read_only_folder(
    models_dir: Path, trained: TrainedModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno
    import os

    real_replace = os.replace

    def refuse(src: Any, dst: Any) -> None:
        if str(dst).startswith(str(models_dir)):
            raise OSError(errno.EROFS, "Read-only file system")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", refuse)
    at = AppTest.from_function(save_app, default_timeout=TIMEOUT)
    at.session_state[SESSION_MODEL_KEY] = trained
    at.run()
    at.button(key="save_button").click().run()
    assert not at.exception
    assert "read-only" in _plain(at.error[0].value) and "untouched" in at.error[0].value
    assert list(models_dir.iterdir()) == []


def test_save_form_history_download_is_csv(models_dir: Path, trained: TrainedModel) -> None:
    at = AppTest.from_function(save_app, default_timeout=TIMEOUT)
    at.session_state[SESSION_MODEL_KEY] = trained
    at.run()
    assert not at.exception
    # The CSV itself is checked in the store unit tests; here both buttons must be present.
    labels = [element.proto.label for element in at.get("download_button")]
    assert labels == ["Download .keras", "Download history (CSV)"]
    assert json.loads(json.dumps(trained.history))  # stays plain data
