"""Tests for cnnviz.core.store: names, atomic save, listing of good and broken files, safe loading."""

from __future__ import annotations

import errno
import json
import os
import re
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from cnnviz.core.records import TrainedModel
from cnnviz.core.store import (
    MAX_NAME_LENGTH,
    TEMP_PREFIX,
    ModelExistsError,
    ModelLoadError,
    ModelNameError,
    ModelStoreError,
    default_model_path,
    list_models,
    load_default_model,
    load_model,
    metadata_from_trained,
    sanitize_model_name,
    save_model,
)

SAFE_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")


def _meta(**extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "dataset": "digits",
        "class_names": [str(i) for i in range(10)],
        "spec": {"conv_blocks": [{"filters": 4}]},
        "history": {"loss": [1.0, np.float32(0.5)], "val_loss": [float("nan"), 0.6]},
        "test_metrics": {"loss": np.float64(0.4), "accuracy": 0.9},
        "data_source": "scikit-learn digits",
        "split": {"train": np.int64(1000), "test": 300},
    }
    base.update(extra)
    return base


def _files(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.iterdir())


# ---------------------------------------------------------------------------------------------
# Names
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("my model", "my_model"),
        ("MNIST 3 blocks!", "mnist_3_blocks"),
        ("../../etc/passwd", "etc_passwd"),
        ("..\\..\\windows\\system32", "windows_system32"),
        ("/abs/path.keras", "abs_path_keras"),
        ("name\x00with\nnul\tand\x1bcontrol", "name_with_nul_and_control"),
        ("Modèle numéro 1", "modele_numero_1"),
        ("CON", "con_model"),
        ("lpt9", "lpt9_model"),
        ("  --trim--me__  ", "trim--me"),
        ("a" * 500, "a" * MAX_NAME_LENGTH),
    ],
)
def test_sanitize_model_name(typed: str, expected: str) -> None:
    assert sanitize_model_name(typed) == expected


@pytest.mark.parametrize("typed", ["", "   ", "../", "///", "\x00\x01", "日本語", "....", None, 5])
def test_unusable_names_are_refused_with_a_hint(typed: Any) -> None:
    with pytest.raises(ModelNameError, match="(?i)name"):
        sanitize_model_name(typed)


def test_model_name_error_is_a_value_error() -> None:
    assert issubclass(ModelNameError, ValueError) and issubclass(ModelStoreError, ValueError)


# ---------------------------------------------------------------------------------------------
# Save / list / load round trip
# ---------------------------------------------------------------------------------------------


def test_save_list_load_round_trip(tmp_path: Path, tiny_model: Any, four_images: np.ndarray) -> None:
    path = save_model(tiny_model, "My First CNN", _meta(), models_dir=tmp_path)
    assert path == tmp_path / "my_first_cnn.keras"
    assert _files(tmp_path) == ["my_first_cnn.json", "my_first_cnn.keras"]

    meta = json.loads((tmp_path / "my_first_cnn.json").read_text())
    assert meta["name"] == "my_first_cnn"
    assert meta["dataset"] == "digits" and meta["default"] is False
    assert meta["history"]["val_loss"] == [None, 0.6]  # NaN stored as null: strict JSON
    assert meta["split"]["train"] == 1000
    assert len(meta["keras_sha256"]) == 64 and meta["keras_bytes"] == path.stat().st_size

    [record] = list_models(tmp_path)
    assert record.ok and record.name == "my_first_cnn" and not record.is_default
    loaded = load_model(record)
    batch = four_images[..., None]
    np.testing.assert_allclose(loaded.predict(batch, verbose=0), tiny_model.predict(batch, verbose=0), atol=1e-6)
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in tiny_model.layers]
    # Loading by path works too.
    assert load_model(path).count_params() == tiny_model.count_params()


def test_existing_name_is_not_overwritten_without_confirmation(tmp_path: Path, tiny_model: Any) -> None:
    save_model(tiny_model, "net", _meta(test_metrics={"accuracy": 0.5}), models_dir=tmp_path)
    with pytest.raises(ModelExistsError, match="already saved"):
        save_model(tiny_model, "NET", _meta(test_metrics={"accuracy": 0.9}), models_dir=tmp_path)
    assert json.loads((tmp_path / "net.json").read_text())["test_metrics"]["accuracy"] == 0.5
    save_model(tiny_model, "net", _meta(test_metrics={"accuracy": 0.9}), models_dir=tmp_path, overwrite=True)
    assert json.loads((tmp_path / "net.json").read_text())["test_metrics"]["accuracy"] == 0.9
    assert _files(tmp_path) == ["net.json", "net.keras"]


def test_metadata_from_trained(tmp_path: Path, tiny_model: Any) -> None:
    trained = TrainedModel(
        model=tiny_model,
        dataset="digits",
        class_names=tuple(str(i) for i in range(10)),
        history={"loss": [0.9, 0.4]},
        test_metrics={"loss": 0.3, "accuracy": 0.91},
        data_source="scikit-learn",
        train_config={"epochs": 2, "seed": 7},
    )
    meta = metadata_from_trained(trained, data_note="8x8 upscaled", split={"train": 1400, "test": 397})
    save_model(tiny_model, "from_trained", meta, models_dir=tmp_path)
    [record] = list_models(tmp_path)
    assert record.meta["class_names"][3] == "3" and record.meta["split"] == {"train": 1400, "test": 397}
    assert record.meta["created"] == trained.created and record.dataset == "digits"
    # The sidecar is a design again (spec + train_config) for python -m cnnviz train, link and notebook.
    assert record.meta["train_config"] == {"epochs": 2, "seed": 7}


@pytest.mark.parametrize(
    "metadata",
    [None, [], {"class_names": ["a"]}, {"dataset": "digits"}, {"dataset": "digits", "class_names": []},
     {"dataset": "digits", "class_names": ["a"], "spec": object()}],
    ids=["none", "list", "no-dataset", "no-classes", "empty-classes", "not-json"],
)
def test_bad_metadata_is_refused_before_writing(tmp_path: Path, tiny_model: Any, metadata: Any) -> None:
    with pytest.raises(ModelStoreError):
        save_model(tiny_model, "x", metadata, models_dir=tmp_path)
    assert _files(tmp_path) == []


def test_defaults_are_listed_first_and_loadable_by_dataset(tmp_path: Path, tiny_model: Any) -> None:
    from cnnviz import SHIPPED_MODELS_DIR

    save_model(tiny_model, "zeta", _meta(), models_dir=tmp_path)
    for suffix in (".keras", ".json"):
        (tmp_path / f"default_mnist{suffix}").write_bytes((SHIPPED_MODELS_DIR / f"default_mnist{suffix}").read_bytes())
    records = list_models(tmp_path)
    assert [record.name for record in records] == ["default_mnist", "zeta"]
    assert records[0].is_default and not records[1].is_default
    assert load_default_model("mnist", models_dir=tmp_path).output_shape == (None, 10)


@pytest.mark.parametrize("dataset", ["../mnist", "mnist/..", "", "MNIST", None, "a" * 100])
def test_default_model_refuses_odd_dataset_names(dataset: Any) -> None:
    with pytest.raises(ModelStoreError, match="dataset name"):
        default_model_path(dataset)


def test_missing_default_model_explains_how_to_get_one(tmp_path: Path) -> None:
    with pytest.raises(ModelStoreError, match="Train page"):
        load_default_model("kmnist", models_dir=tmp_path)


def test_missing_folder_lists_nothing(tmp_path: Path) -> None:
    assert list_models(tmp_path / "nope") == []


# ---------------------------------------------------------------------------------------------
# Broken files are listed with an error and never loaded
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def saved(tmp_path: Path, tiny_model: Any) -> Path:
    """A models folder holding one good model, 'good'."""
    save_model(tiny_model, "good", _meta(), models_dir=tmp_path)
    return tmp_path


def _copy_pair(directory: Path, name: str) -> None:
    for suffix in (".keras", ".json"):
        data = (directory / f"good{suffix}").read_bytes()
        if suffix == ".json":
            meta = json.loads(data)
            meta["name"] = name
            data = json.dumps(meta).encode()
        (directory / f"{name}{suffix}").write_bytes(data)


def _truncate_keras(directory: Path) -> None:
    _copy_pair(directory, "cut")
    data = (directory / "cut.keras").read_bytes()
    (directory / "cut.keras").write_bytes(data[: len(data) // 2])


def _garbage_keras_same_size(directory: Path) -> None:
    _copy_pair(directory, "garbage")
    size = (directory / "garbage.keras").stat().st_size
    (directory / "garbage.keras").write_bytes(b"\x00" * size)


def _tampered_keras(directory: Path) -> None:
    # A valid zip of the right size whose content differs from what was saved: checksum catches it.
    _copy_pair(directory, "tampered")
    data = bytearray((directory / "tampered.keras").read_bytes())
    data[-30] ^= 0xFF  # inside the zip's end-of-central-directory comment area / footer
    (directory / "tampered.keras").write_bytes(bytes(data))


def _bad_json(directory: Path) -> None:
    _copy_pair(directory, "badjson")
    (directory / "badjson.json").write_text("{ not json", encoding="utf-8")


def _json_list(directory: Path) -> None:
    _copy_pair(directory, "jsonlist")
    (directory / "jsonlist.json").write_text("[1, 2]", encoding="utf-8")


def _json_binary(directory: Path) -> None:
    _copy_pair(directory, "jsonbinary")
    (directory / "jsonbinary.json").write_bytes(b"\xff\xfe\x00garbage")


def _keras_without_sidecar(directory: Path) -> None:
    _copy_pair(directory, "orphan")
    (directory / "orphan.json").unlink()


def _sidecar_without_keras(directory: Path) -> None:
    _copy_pair(directory, "lonely")
    (directory / "lonely.keras").unlink()


def _foreign_sidecar(directory: Path) -> None:
    # A .json without the checksum fields: not written by cnnviz's store.
    _copy_pair(directory, "foreign")
    (directory / "foreign.json").write_text(json.dumps({"dataset": "mnist", "class_names": ["0"]}))


def _unsanitary_name(directory: Path) -> None:
    _copy_pair(directory, "Bad Name")


BREAKERS = {
    "truncated-keras": (_truncate_keras, "cut"),
    "garbage-keras": (_garbage_keras_same_size, "garbage"),
    "bad-json": (_bad_json, "badjson"),
    "json-list": (_json_list, "jsonlist"),
    "json-binary": (_json_binary, "jsonbinary"),
    "no-sidecar": (_keras_without_sidecar, "orphan"),
    "no-keras": (_sidecar_without_keras, "lonely"),
    "foreign-sidecar": (_foreign_sidecar, "foreign"),
    "unsanitary-name": (_unsanitary_name, "Bad Name"),
}


@pytest.mark.parametrize("breaker", list(BREAKERS), ids=list(BREAKERS))
def test_broken_pairs_are_listed_with_an_error_and_refused(saved: Path, breaker: str) -> None:
    make_broken, name = BREAKERS[breaker]
    make_broken(saved)
    records = {record.name: record for record in list_models(saved)}
    assert records["good"].ok
    assert records[name].error, f"{breaker} should be listed as unreadable"
    with pytest.raises(ModelLoadError, match=re.escape(name)):
        load_model(records[name])


def test_tampered_keras_is_refused_by_checksum(saved: Path) -> None:
    _tampered_keras(saved)
    record = next(r for r in list_models(saved) if r.name == "tampered")
    with pytest.raises(ModelLoadError, match="checksum|cannot be loaded"):
        load_model(record)


def test_lambda_layer_model_is_refused_even_with_a_valid_sidecar(tmp_path: Path) -> None:
    # Even a model cnnviz itself saved is loaded with safe_mode=True, which refuses Lambda code.
    import keras

    inputs = keras.Input(shape=(28, 28, 1), name="input")
    x = keras.layers.Flatten(name="flatten")(inputs)
    x = keras.layers.Lambda(lambda t: t * 2.0, name="code")(x)
    outputs = keras.layers.Dense(10, activation="softmax", name="predictions")(x)
    save_model(keras.Model(inputs, outputs), "sneaky", _meta(), models_dir=tmp_path)
    with pytest.raises(ModelLoadError, match="(?i)lambda|safe"):
        load_model(tmp_path / "sneaky.keras")


@pytest.mark.parametrize("value", [None, 3, "model.h5", "../models/x.txt"])
def test_load_model_refuses_non_model_paths(value: Any) -> None:
    with pytest.raises(ModelLoadError):
        load_model(value)


# ---------------------------------------------------------------------------------------------
# Atomicity and faults
# ---------------------------------------------------------------------------------------------


class _FailingModel:
    """Stands in for a Keras model whose save() dies half way, as on a full disk."""

    def __init__(self, error: OSError) -> None:
        self.error = error

    def save(self, path: str) -> None:
        with open(path, "wb") as handle:
            handle.write(b"PK\x03\x04 half a zip")
        raise self.error


@pytest.mark.parametrize(
    ("code", "words"),
    [(errno.ENOSPC, "full"), (errno.EROFS, "read-only"), (errno.EACCES, "read-only"), (errno.EIO, "Try again")],
)
def test_failed_save_keeps_earlier_files_and_leaves_no_partial_file(
    saved: Path, code: int, words: str
) -> None:
    before = {name: (saved / name).read_bytes() for name in _files(saved)}
    for overwrite in (False, True):
        name = "good" if overwrite else "new"
        with pytest.raises(ModelStoreError, match=words) as raised:
            failing = _FailingModel(OSError(code, os.strerror(code)))
            save_model(failing, name, _meta(), models_dir=saved, overwrite=overwrite)
        assert "untouched" in str(raised.value)
    assert {name: (saved / name).read_bytes() for name in _files(saved)} == before


def test_abandoned_temp_files_are_cleaned_and_ignored(saved: Path) -> None:
    dead_pid = 999_999_999  # larger than any real pid
    (saved / f"{TEMP_PREFIX}{dead_pid}-abc-new.keras").write_bytes(b"PK\x03\x04 partial")
    (saved / f"{TEMP_PREFIX}{dead_pid}-abc-new.json").write_text("{")
    live = saved / f"{TEMP_PREFIX}{os.getpid()}-def-inflight.keras"  # a save in progress in this process
    live.write_bytes(b"PK")
    records = list_models(saved)
    assert [record.name for record in records] == ["good"]
    assert _files(saved) == sorted(["good.json", "good.keras", live.name])


def test_interrupted_commit_is_completed_from_the_temp_sidecar(saved: Path, tiny_model: Any) -> None:
    # Simulate a server killed between os.replace(keras) and os.replace(json) while overwriting 'good'.
    import shutil

    save_model(tiny_model, "next", _meta(test_metrics={"accuracy": 0.99}), models_dir=saved)
    new_meta = json.loads((saved / "next.json").read_text())
    new_meta["name"] = "good"
    shutil.copy(saved / "next.keras", saved / "good.keras")  # the .keras move happened
    (saved / f"{TEMP_PREFIX}999999999-abc-good.json").write_text(json.dumps(new_meta))  # the .json did not
    records = {record.name: record for record in list_models(saved)}
    assert records["good"].ok and records["good"].meta["test_metrics"]["accuracy"] == 0.99
    assert load_model(records["good"]) is not None
    assert not any(name.startswith(TEMP_PREFIX) for name in _files(saved))


def test_saved_keras_is_a_complete_zip(saved: Path) -> None:
    with zipfile.ZipFile(saved / "good.keras") as archive:
        assert archive.testzip() is None
        assert "config.json" in archive.namelist()


# ---------------------------------------------------------------------------------------------
# Export helpers and folder resolution
# ---------------------------------------------------------------------------------------------


def test_history_to_csv_pads_ragged_columns() -> None:
    from cnnviz.core.store import history_to_csv

    text = history_to_csv({"loss": [1.0, 0.5, float("nan")], "val_loss": [0.75]})
    assert text.splitlines() == ["epoch,loss,val_loss", "1,1.0,0.75", "2,0.5,", "3,nan,"]
    assert history_to_csv({}) == "epoch\n"


@pytest.mark.parametrize("history", [None, [1, 2], {"loss": "abc"}, {"loss": [object()]}, {"loss": 3}])
def test_history_to_csv_refuses_non_histories(history: Any) -> None:
    from cnnviz.core.store import history_to_csv

    with pytest.raises(ModelStoreError):
        history_to_csv(history)


def test_model_to_bytes_is_a_loadable_keras_file(tmp_path: Path, tiny_model: Any) -> None:
    import io

    from cnnviz.core.store import model_to_bytes

    data = model_to_bytes(tiny_model)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert "config.json" in archive.namelist()


def test_models_dir_comes_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cnnviz import MODELS_DIR
    from cnnviz.core.store import resolve_models_dir

    monkeypatch.delenv("CNNVIZ_MODELS_DIR", raising=False)
    assert resolve_models_dir() == MODELS_DIR
    monkeypatch.setenv("CNNVIZ_MODELS_DIR", str(tmp_path))
    assert resolve_models_dir() == tmp_path and list_models() == []
    assert resolve_models_dir("elsewhere") == Path("elsewhere")


def test_shipped_models_are_offered_in_the_order_learners_meet_them():
    from cnnviz import SHIPPED_MODELS_DIR

    names = [record.name for record in list_models(SHIPPED_MODELS_DIR) if record.is_default]
    assert names == ["default_mnist", "default_fashion_mnist", "default_kmnist"]
