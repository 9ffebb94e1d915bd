"""Choosing a model and saving one: the shared widgets behind every "which model?" question.

* :func:`model_picker` offers this session's model, the models shipped with cnnviz and the
  models saved in ``models/``. Saved files are loaded once per file version through
  ``st.cache_resource`` (one copy shared by every user, read-only); a model a user trained
  stays in that user's session and never enters a shared cache.
* :func:`save_model_form` is the "Save model" box of the Train page: a name, a confirmation
  before replacing, and download buttons for the ``.keras`` file and the history CSV.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import streamlit as st

from cnnviz.core.records import TrainedModel
from cnnviz.core.store import (
    ModelExistsError,
    ModelRecord,
    ModelStoreError,
    history_to_csv,
    is_reserved_name,
    list_models,
    load_model,
    metadata_from_trained,
    model_to_bytes,
    reserved_name_message,
    resolve_models_dir,
    sanitize_model_name,
    save_model,
)
from cnnviz.core.text import md_code, md_escape
from cnnviz.ui.state import get_session_model

#: What a picker says when there is nothing to choose from.
NO_MODEL_MESSAGE = (
    "No model yet: train one on the **Train** page (it appears here straight away), "
    "or ask your teacher to run `python -m tools.train_default_models` to install the shipped models."
)
#: The option id of this session's model in a picker.
SESSION_OPTION = "session"
#: Most saved models kept loaded at once in the shared cache (older ones are dropped).
MAX_CACHED_MODELS = 8


@dataclass(frozen=True, eq=False)
class PickedModel:
    """The model a user chose in a :func:`model_picker`.

    Attributes:
        model: the ``keras.Model``; input (N, 28, 28, 1) float32 in [0, 1], output (N, classes) softmax.
        label: how the picker showed it, e.g. "Saved: mnist_big · MNIST · test accuracy 98.7%".
        dataset: the dataset it was trained on (a :func:`cnnviz.core.datasets.load_dataset` name).
        class_names: one display name per output index.
        version: a cache key for anything computed from this model; changes when the model does
            (a new training, or a saved file replaced under the same name).
        meta: the saved sidecar metadata (for this session's model, built from the training record).
        trained: this session's :class:`TrainedModel` (filter snapshots, history), or ``None`` for a file.
    """

    model: Any
    label: str
    dataset: str
    class_names: tuple[str, ...]
    version: str
    meta: dict[str, Any] = field(default_factory=dict)
    trained: TrainedModel | None = None


def _dataset_title(name: str) -> str:
    try:
        from cnnviz.core.datasets import DATASETS
    except ImportError:  # pragma: no cover - the data layer is always there in the app
        return name
    info = DATASETS.get(name)
    return info.title if info is not None else name


def _accuracy_text(metrics: object) -> str:
    if isinstance(metrics, Mapping):
        accuracy = metrics.get("accuracy")
        if isinstance(accuracy, (int, float)) and 0 <= accuracy <= 1:
            return f" · test accuracy {accuracy:.1%}"
    return ""


def record_label(record: ModelRecord) -> str:
    """The picker's text for a saved or shipped model."""
    kind = "Shipped" if record.is_default else "Saved"
    return f"{kind}: {record.name} · {_dataset_title(record.dataset)}{_accuracy_text(record.meta.get('test_metrics'))}"


def session_label(trained: TrainedModel) -> str:
    """The picker's text for this session's model."""
    return f"{trained.name} · {_dataset_title(trained.dataset)}{_accuracy_text(trained.test_metrics)}"


@st.cache_resource(max_entries=MAX_CACHED_MODELS, show_spinner="Loading the saved model...")
def _load_saved_model(keras_path: str, mtime_ns: int, sha256: str) -> Any:
    """Load a saved model once per file version (path, modification time and checksum are the key).

    Shared by every user: only files from ``models/``, never a model a user trained in a session.
    """
    del mtime_ns, sha256  # Part of the cache key only.
    return load_model(Path(keras_path))


def _file_option(record: ModelRecord) -> str:
    return f"file:{record.name}"


def model_picker(
    key: str,
    *,
    label: str = "Model",
    help: str | None = None,
    datasets: Collection[str] | None = None,
    models_dir: Path | str | None = None,
) -> PickedModel | None:
    """Let the user choose a model: this session's, a shipped one, or a saved one.

    Unreadable files in ``models/`` are listed under an expander as unreadable and are not
    offered. The choice is remembered in the session (also across page switches); when the
    chosen file is deleted (or breaks) while a page shows it, the picker switches to the first
    model offered and says so. File names and reasons are escaped before they reach Markdown.

    Args:
        key: a widget key unique on the page.
        label: the select box label.
        help: the select box tooltip (a default explanation is used when ``None``).
        datasets: offer only models trained on these datasets (``None``: all).
        models_dir: the folder of saved models (default: ``models/`` or ``$CNNVIZ_MODELS_DIR``).

    Returns:
        PickedModel | None: the chosen model, or ``None`` when there is none (a message saying
        how to get one is shown) or the chosen file could not be loaded (an error is shown).
    """
    trained = get_session_model()
    records = list_models(resolve_models_dir(models_dir))
    listed = {record.name: record for record in records}
    if datasets is not None:
        allowed = set(datasets)
        records = [record for record in records if record.dataset in allowed or (record.error and not record.dataset)]
        if trained is not None and trained.dataset not in allowed:
            trained = None

    labels: dict[str, str] = {}
    by_option: dict[str, ModelRecord] = {}
    if trained is not None and trained.model is not None:
        labels[SESSION_OPTION] = session_label(trained)
    for record in records:
        if record.ok:
            option = _file_option(record)
            labels[option] = record_label(record)
            by_option[option] = record
    broken = [record for record in records if not record.ok]

    if not labels:
        st.info(NO_MODEL_MESSAGE)
        _show_unreadable(broken)
        return None

    options = list(labels)
    remembered_key = f"cnnviz_picker_last_{key}"
    previous = st.session_state.get(key)
    notice = None
    if previous not in options:
        st.session_state.pop(key, None)
        remembered = st.session_state.get(remembered_key)
        st.session_state[key] = remembered if remembered in options else options[0]
        notice = _vanished_notice(previous if previous is not None else remembered, st.session_state[key],
                                  labels, by_option, listed)
    choice = st.selectbox(
        label,
        options,
        format_func=labels.__getitem__,
        key=key,
        help=help
        or "Which trained network to use. 'This session's model' is the one you trained on the Train page; "
        "'Shipped' models come with the studio; 'Saved' models were saved by someone from the Train page.",
    )
    st.session_state[remembered_key] = choice
    if notice:
        st.warning(notice)
    _show_unreadable(broken)

    if choice == SESSION_OPTION and trained is not None:
        return PickedModel(
            model=trained.model,
            label=labels[choice],
            dataset=trained.dataset,
            class_names=tuple(trained.class_names),
            version=f"session:{trained.version}",
            meta=metadata_from_trained(trained),
            trained=trained,
        )
    record = by_option[choice]
    try:
        stat = record.keras_path.stat()
        model = _load_saved_model(str(record.keras_path), stat.st_mtime_ns, str(record.meta["keras_sha256"]))
    except (ModelStoreError, OSError) as error:
        st.error(f"This model could not be loaded, so it is skipped. {md_escape(error)}")
        return None
    return PickedModel(
        model=model,
        label=labels[choice],
        dataset=record.dataset,
        class_names=tuple(str(name) for name in record.meta["class_names"]),
        version=f"saved:{record.name}:{str(record.meta['keras_sha256'])[:16]}",
        meta=dict(record.meta),
        trained=None,
    )


def _vanished_notice(
    gone: object,
    shown: str,
    labels: Mapping[str, str],
    by_option: Mapping[str, ModelRecord],
    listed: Mapping[str, ModelRecord],
) -> str | None:
    """What to say when the saved model a user was looking at is no longer offered (``None``: nothing).

    Deleted, or no longer readable, while a page showed it: the picker switches to ``shown`` and says
    so, instead of switching silently (issue 16, finding 6). A model only hidden by the page's
    dataset filter is not mentioned.
    """
    if not isinstance(gone, str) or not gone.startswith("file:") or gone == shown:
        return None
    name = gone.removeprefix("file:")
    record = listed.get(name)
    if record is not None and record.ok:
        return None  # still there, only not offered on this page
    what = "was deleted" if record is None else "can no longer be read"
    fallback = by_option.get(shown)
    if fallback is not None and fallback.is_default:
        instead = f"the shipped {_dataset_title(fallback.dataset).split(' ')[0]} model"  # "MNIST", not its subtitle
    elif shown == SESSION_OPTION:
        instead = "this session's model"
    else:
        instead = f"'{labels.get(shown, shown)}'"
    return f"The model you were looking at, {md_code(name)}, {what}; showing {md_escape(instead)} instead."


def _show_unreadable(broken: list[ModelRecord]) -> None:
    if not broken:
        return
    with st.expander(f"{len(broken)} unreadable model file(s), skipped"):
        st.caption(
            "These files in the models folder cannot be used, so no page loads them. "
            "Save the model again, or ask your teacher to remove the files."
        )
        for record in broken:
            st.markdown(f"- {md_code(record.name)}: {md_escape(record.error)}")


# ---------------------------------------------------------------------------------------------
# Saving
# ---------------------------------------------------------------------------------------------


def _keys(key: str) -> dict[str, str]:
    return {
        "name": f"{key}_name",
        "button": f"{key}_button",
        "replace": f"{key}_replace",
        "cancel": f"{key}_cancel",
        "confirm": f"cnnviz_{key}_confirm_replace",
        "result": f"cnnviz_{key}_result",
    }


def _attempt_save(
    trained: TrainedModel,
    safe_name: str,
    keys: dict[str, str],
    *,
    overwrite: bool,
    models_dir: Path,
    data_note: str,
    split: Mapping[str, int] | None,
) -> None:
    st.session_state.pop(keys["confirm"], None)
    try:
        path = save_model(
            trained.model,
            safe_name,
            metadata_from_trained(trained, data_note=data_note, split=split),
            models_dir=models_dir,
            overwrite=overwrite,
        )
    except ModelExistsError:
        st.session_state[keys["confirm"]] = safe_name
        st.session_state.pop(keys["result"], None)
        return
    except ModelStoreError as error:
        st.session_state[keys["result"]] = ("error", safe_name, str(error))
        return
    st.session_state[keys["result"]] = (
        "success",
        safe_name,
        f"Saved as {md_code(path.name)} (and {md_code(safe_name + '.json')}). It now appears in every model "
        f"picker as 'Saved: {md_escape(safe_name)}'.",
    )


def save_model_form(
    trained: TrainedModel,
    key: str = "save",
    *,
    data_note: str = "",
    split: Mapping[str, int] | None = None,
    models_dir: Path | str | None = None,
    disabled_reason: str = "",
) -> None:
    """Show the "save this model" box: a name, Save, confirm-to-replace, and download buttons.

    Args:
        trained: the model to save (this session's :class:`TrainedModel`).
        key: prefix of this widget's session-state keys (unique on the page).
        data_note: ``Dataset.note`` to store with the model.
        split: sample counts to store, e.g. ``{"train": 8000, "test": 2000}``.
        models_dir: where to save (default: ``models/`` or ``$CNNVIZ_MODELS_DIR``).
        disabled_reason: when not empty, saving is off and this (trusted Markdown) says why, e.g. the latest run
            kept no epoch, so ``trained`` is an older run's model (issue 15: it was saved under the new name).
    """
    keys = _keys(key)
    if disabled_reason:
        st.info(disabled_reason)
    directory = resolve_models_dir(models_dir)
    typed = st.text_input(
        "Model name",
        value=f"{trained.dataset}_cnn",
        max_chars=80,
        key=keys["name"],
        help="A short name for the saved model. Letters, digits, '_' and '-' are kept; anything else "
        "(spaces, slashes, dots) becomes '_', so the name is always a safe file name.",
    )
    try:
        safe_name = sanitize_model_name(typed)
    except ModelStoreError as error:
        st.error(md_escape(error))  # the message echoes what was typed
        safe_name = ""
    if safe_name and safe_name != typed:
        st.caption(f"It will be saved as {md_code(safe_name)}.")
    reserved = bool(safe_name) and is_reserved_name(safe_name)
    if reserved:
        st.error(md_escape(reserved_name_message(safe_name) or ""))

    columns = st.columns(3)
    clicked = columns[0].button(
        "Save model",
        key=keys["button"],
        type="primary",
        disabled=not safe_name or reserved or bool(disabled_reason),
        help="Write the model and its training record to the models folder, so that it can be chosen "
        "on the other pages (also after the server restarts).",
    )
    save_options: dict[str, Any] = {"models_dir": directory, "data_note": data_note, "split": split}
    if clicked and not disabled_reason:
        _attempt_save(trained, safe_name, keys, overwrite=False, **save_options)

    pending = st.session_state.get(keys["confirm"])
    if pending and pending == safe_name:
        st.warning(f"A model named '{md_escape(pending)}' is already saved. Replace it with this one?")
        confirm_columns = st.columns(2)
        if confirm_columns[0].button(f"Replace '{md_escape(pending)}'", key=keys["replace"]):
            _attempt_save(trained, safe_name, keys, overwrite=True, **save_options)
            st.rerun()
        if confirm_columns[1].button("Cancel", key=keys["cancel"]):
            st.session_state.pop(keys["confirm"], None)
            st.rerun()

    result = st.session_state.get(keys["result"])
    if result and result[1] == safe_name:
        kind, _, message = result
        (st.success if kind == "success" else st.error)(message if kind == "success" else md_escape(message))

    file_stem = safe_name or "model"
    columns[1].download_button(
        "Download .keras",
        data=lambda: model_to_bytes(trained.model),
        file_name=f"{file_stem}.keras",
        mime="application/octet-stream",
        on_click="ignore",
        key=f"{key}_download_model",
        help="The trained network as a Keras file, to load in your own Python with "
        "keras.saving.load_model(path). (The studio itself never loads uploaded model files.)",
    )
    try:
        history_csv = history_to_csv(trained.history)
    except ModelStoreError:
        history_csv = "epoch\n"
    columns[2].download_button(
        "Download history (CSV)",
        data=history_csv,
        file_name=f"{file_stem}_history.csv",
        mime="text/csv",
        on_click="ignore",
        key=f"{key}_download_history",
        help="Loss and accuracy after every epoch, one row per epoch, for a spreadsheet or pandas.",
    )


__all__ = ["NO_MODEL_MESSAGE", "PickedModel", "model_picker", "record_label", "save_model_form", "session_label"]
