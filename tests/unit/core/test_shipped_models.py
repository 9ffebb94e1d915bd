"""The models shipped in models/: present, small, described by their metadata, loadable safely, accurate.

They are product, made by ``python -m tools.train_default_models``; these tests
check what that script promises without re-training.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import numpy as np
import pytest

from tests.support.paths import REPO_ROOT

MODELS = REPO_ROOT / "models"
SHIPPED = ("mnist", "fashion_mnist", "kmnist")
#: The lowest test accuracy each shipped model may have (measured on the split recorded in its sidecar).
MIN_ACCURACY = {"mnist": 0.97, "fashion_mnist": 0.89, "kmnist": 0.93}
#: A POSIX, home or Windows absolute path at the start of the text or after a space or bracket.
ABSOLUTE_PATH = re.compile(r"(?:^|[\s(])(?:/|~|[A-Za-z]:\\)")


def _meta(name: str) -> dict:
    return json.loads((MODELS / f"default_{name}.json").read_text())


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_model_files_and_metadata(name: str) -> None:
    keras_file = MODELS / f"default_{name}.keras"
    assert keras_file.is_file(), "run: python -m tools.train_default_models"
    assert keras_file.stat().st_size < 1_000_000, "shipped models must stay small"
    meta = _meta(name)
    assert meta["dataset"] == name and meta["default"] is True
    assert len(meta["class_names"]) == 10
    assert MIN_ACCURACY[name] <= meta["test_metrics"]["accuracy"] <= 1.0
    split = meta["split"]
    assert split["train"] > 0 and split["test"] > 0 and split["validation"] > 0
    assert split["test"] == split["dataset_test"]
    assert meta["data_source"] and "train_config" in meta and meta["made_by"] == "python -m tools.train_default_models"
    # Where the data came from, without the folder of the machine that trained it.
    assert not ABSOLUTE_PATH.search(meta["data_source"]), meta["data_source"]
    assert meta["spec"]["conv_blocks"]


def test_shipped_mnist_records_its_sketch_accuracy() -> None:
    sketch = _meta("mnist")["sketch_accuracy"]
    assert sketch["count"] == 600 and sketch["accuracy"] >= 0.95


@pytest.mark.slow
@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_model_loads_and_matches_its_recorded_accuracy(name: str) -> None:
    """Loaded the safe way (checksum + safe_mode), the model reproduces its recorded test accuracy."""
    from cnnviz.core.datasets import load_dataset
    from cnnviz.core.store import load_default_model

    model = load_default_model(name, models_dir=MODELS)
    assert model.output_shape == (None, 10)
    assert [layer.name for layer in model.layers][-1] == "predictions"
    dataset = load_dataset(name)
    if len(dataset.x_test) != _meta(name)["split"]["test"]:
        pytest.skip("this machine has a different copy of the dataset than the one the model was measured on")
    inputs = dataset.x_test.astype(np.float32)[..., np.newaxis] / 255.0
    accuracy = float((model.predict(inputs, batch_size=500, verbose=0).argmax(axis=1) == dataset.y_test).mean())
    assert accuracy == pytest.approx(_meta(name)["test_metrics"]["accuracy"], abs=0.002)


def test_training_script_recipes_use_the_project_code() -> None:
    from tools import train_default_models as script

    assert set(script.RECIPES) == set(SHIPPED)
    assert script.RECIPES["mnist"].augment_copies > 0
    from cnnviz.train.spec import total_params

    assert total_params(script.SPEC, 10) < 200_000  # keeps each file well under 1 MB


def _ignored(path: str) -> bool:
    """Whether git ignores ``path`` (relative to the repository); the file need not exist."""
    result = subprocess.run(["git", "check-ignore", "--no-index", "-q", path], cwd=REPO_ROOT, check=False)
    assert result.returncode in (0, 1), f"git check-ignore failed for {path}"
    return result.returncode == 0


def test_models_a_user_saves_are_git_ignored_and_the_shipped_ones_are_not() -> None:
    if shutil.which("git") is None or not (REPO_ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    for name in SHIPPED:
        for suffix in (".keras", ".json"):
            assert not _ignored(f"models/default_{name}{suffix}"), f"default_{name}{suffix} must stay tracked"
    for saved in ("models/my_cnn.keras", "models/my_cnn.json", "models/.tmp-abc.keras", "models/runs/x.json"):
        assert _ignored(saved), f"{saved} would show up in git status"
    assert not _ignored("cnnviz/core/shipped.py")  # the manifest of shipped models stays tracked
