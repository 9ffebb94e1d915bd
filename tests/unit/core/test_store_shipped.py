"""Which models are shipped is decided by the package's manifest, not by a sidecar (issue 16, finding 4).

Before: a copied model whose hand-written sidecar said ``"default": true`` was listed as "Shipped",
sorted first and chosen by default; and ``default-mnist`` could be saved beside ``default_mnist``.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import zipfile
from pathlib import Path

import pytest

from cnnviz.core.shipped import SHIPPED_MODELS, name_key, shipped_for, shipped_lookalike
from cnnviz.core.store import ModelNameError, is_reserved_name, list_models, save_model
from tests.support.paths import REPO_ROOT

SHIPPED_DIR = REPO_ROOT / "models"


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("config.json", "{}")
    return buffer.getvalue()


def _forge(directory: Path, name: str, keras: bytes, created: str = "2030-01-01T00:00:00+00:00") -> None:
    """A pair with a hand-written sidecar that claims to be shipped (its checksum matches its file)."""
    (directory / f"{name}.keras").write_bytes(keras)
    meta = {
        "name": name, "dataset": "mnist", "class_names": [str(i) for i in range(10)], "default": True,
        "created": created, "keras_sha256": hashlib.sha256(keras).hexdigest(), "keras_bytes": len(keras),
    }
    (directory / f"{name}.json").write_text(json.dumps(meta))


def _copy_shipped(directory: Path, name: str, as_name: str | None = None) -> None:
    target = as_name or name
    shutil.copy2(SHIPPED_DIR / f"{name}.keras", directory / f"{target}.keras")
    meta = json.loads((SHIPPED_DIR / f"{name}.json").read_text())
    (directory / f"{target}.json").write_text(json.dumps({**meta, "name": target}))


@pytest.mark.parametrize("name", list(SHIPPED_MODELS))
def test_the_manifest_matches_the_shipped_files(name: str) -> None:
    data = (SHIPPED_DIR / f"{name}.keras").read_bytes()
    assert hashlib.sha256(data).hexdigest() == SHIPPED_MODELS[name].sha256, (
        "models/ changed: update cnnviz/core/shipped.py with `sha256sum models/default_*.keras`"
    )
    assert json.loads((SHIPPED_DIR / f"{name}.json").read_text())["dataset"] == SHIPPED_MODELS[name].dataset


def test_a_forged_default_flag_does_not_make_a_model_shipped(tmp_path: Path) -> None:
    _copy_shipped(tmp_path, "default_mnist")
    _forge(tmp_path, "sneaky", _zip())  # newest, "default": true, a matching checksum
    _forge(tmp_path, "default_kmnist", _zip())  # a shipped name, but not the shipped bytes
    _copy_shipped(tmp_path, "default_fashion_mnist", as_name="copied")  # the shipped bytes, another name
    records = list_models(tmp_path)
    assert all(record.ok for record in records)
    assert records[0].name == "default_mnist" and records[0].is_default
    assert [record.name for record in records if record.is_default] == ["default_mnist"]


def test_shipped_models_are_recognised_wherever_the_folder_is(tmp_path: Path) -> None:
    for name in SHIPPED_MODELS:
        _copy_shipped(tmp_path, name)
    _forge(tmp_path, "mine", _zip())
    names = [record.name for record in list_models(tmp_path) if record.is_default]
    assert names == ["default_mnist", "default_fashion_mnist", "default_kmnist"]
    assert shipped_for("mnist").name == "default_mnist" and shipped_for("digits") is None


@pytest.mark.parametrize(
    ("typed", "collides_with"),
    [
        ("default-mnist", "default_mnist"),
        ("Default_MNIST", "default_mnist"),
        ("DEFAULT MNIST", "default_mnist"),
        ("ｄｅｆａｕｌｔ－ｍｎｉｓｔ", "default_mnist"),  # full-width forms
        ("default--fashion_mnist", "default_fashion_mnist"),
        ("defaultkmnist", "default_kmnist"),
        ("default-cifar", "default_..."),
        ("Default_digits", "default_..."),
    ],
)
def test_look_alikes_of_shipped_names_are_refused(tmp_path: Path, typed: str, collides_with: str) -> None:
    assert shipped_lookalike(typed) == collides_with and is_reserved_name(typed)

    class _NeverSaved:
        def save(self, path: str) -> None:  # pragma: no cover - must not be reached
            raise AssertionError("a refused name must not be written")

    with pytest.raises(ModelNameError, match="shipped") as raised:
        save_model(_NeverSaved(), typed, {"dataset": "mnist", "class_names": ["0"]}, models_dir=tmp_path)
    if collides_with in SHIPPED_MODELS:
        assert f"'{collides_with}'" in str(raised.value)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("typed", ["my_mnist", "defaults", "default", "mnist_default", "my-default-mnist"])
def test_ordinary_names_are_not_reserved(typed: str) -> None:
    assert shipped_lookalike(typed) is None and not is_reserved_name(typed)


def test_name_key_folds_case_width_and_separators() -> None:
    assert name_key("Default-MNIST") == name_key("ｄｅｆａｕｌｔ＿ｍｎｉｓｔ") == name_key("default_mnist")
    assert name_key("default_mnist") == "defaultmnist"
