"""Settings and fixtures shared by every test layer.

The environment is set before any cnnviz or TensorFlow import so that every
test finds the offline data the same way CI does.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.support.paths import REPO_ROOT, SHARED_DATA
from tests.support.scheduling import BrowserTestsTogether, run_order

if SHARED_DATA.is_dir():
    os.environ.setdefault("CNNVIZ_DATA_DIR", str(SHARED_DATA))
# Tests never reach for the network: a missing dataset must fail fast and clearly.
os.environ.setdefault("CNNVIZ_OFFLINE", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
if os.environ.get("PYTEST_XDIST_WORKER"):
    # `make test` runs two test processes at normal priority on 2 cores: a training child 10 steps nicer than its
    # test starved behind the other process (a 32 s training took 126 s). One step still tests "nicer".
    os.environ.setdefault("CNNVIZ_WORKER_NICENESS", "1")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests first, then the files that train in child processes (tests.support.scheduling says why)."""
    order = run_order([item.nodeid for item in items])
    items[:] = [items[index] for index in order]


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object | None:
    """Under ``--dist loadfile`` (``make test``), every browser test in one work unit; other modes as xdist has them."""
    if config.getvalue("dist") != "loadfile":
        return None
    return BrowserTestsTogether(config, log)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository root (holding app.py)."""
    return REPO_ROOT


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The offline dataset folder beside the repository (skips when absent outside CI)."""
    if not SHARED_DATA.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"CI must provide {SHARED_DATA}")
        pytest.skip(f"{SHARED_DATA} is not present on this machine")
    return SHARED_DATA


def _forget_loaded_datasets() -> None:
    """Empty both dataset caches: the library's and the Streamlit one the pages use."""
    from cnnviz.core.datasets import clear_cache
    from cnnviz.ui.datasets import get_dataset

    clear_cache()
    get_dataset.clear()


@pytest.fixture
def no_dataset_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Hide every dataset source on this machine; yield the (empty) folder ``CNNVIZ_DATA_DIR`` now names.

    ``load_dataset`` also looks in ./data, Debian's /usr/share/datasets, the Keras cache and the
    network: each is pointed at an empty place, so what a test sees does not depend on the machine
    (a Keras cache holding the full MNIST, say). Both dataset caches are emptied before and after.
    """
    folder = tmp_path / "data"
    folder.mkdir()
    monkeypatch.setenv("CNNVIZ_DATA_DIR", str(folder))
    monkeypatch.setenv("CNNVIZ_OFFLINE", "1")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setattr("cnnviz.core.datasets.DEBIAN_DATASETS_DIR", tmp_path / "debian")
    monkeypatch.chdir(tmp_path)  # ./data is relative to the working directory
    _forget_loaded_datasets()
    yield folder
    _forget_loaded_datasets()


@pytest.fixture
def official_test_splits_only(no_dataset_files: Path, shared_data: Path) -> Path:
    """Only the official MNIST and KMNIST *test* splits (links to the offline files), nothing else anywhere.

    The studio then divides each test split into 8,000 training and 2,000 test images and says so.
    """
    for name in ("mnist", "kmnist"):
        source = shared_data / name
        if source.is_dir():
            (no_dataset_files / name).mkdir()
            for path in source.iterdir():
                (no_dataset_files / name / path.name).symlink_to(path)
    return no_dataset_files


@pytest.fixture
def four_images() -> np.ndarray:
    """Four 28x28 float32 images in [0, 1] with simple strokes (a vertical bar, a horizontal bar, a box, a dot)."""
    images = np.zeros((4, 28, 28), dtype=np.float32)
    images[0, 4:24, 13:15] = 1.0
    images[1, 13:15, 4:24] = 1.0
    images[2, 6:22, 6:8] = images[2, 6:22, 20:22] = images[2, 6:8, 6:22] = images[2, 20:22, 6:22] = 1.0
    images[3, 12:16, 12:16] = 1.0
    return images


@pytest.fixture(scope="session")
def tiny_model():
    """A small untrained Functional CNN with named layers, input (28, 28, 1), 10-way softmax.

    Layers: input, conv_1 (4 filters), pool_1, conv_2 (8 filters), pool_2, flatten, dense_1 (16), predictions.
    """
    import keras

    keras.utils.set_random_seed(0)
    inputs = keras.Input(shape=(28, 28, 1), name="input")
    x = keras.layers.Conv2D(4, 3, activation="relu", padding="same", name="conv_1")(inputs)
    x = keras.layers.MaxPooling2D(2, name="pool_1")(x)
    x = keras.layers.Conv2D(8, 3, activation="relu", padding="same", name="conv_2")(x)
    x = keras.layers.MaxPooling2D(2, name="pool_2")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dense(16, activation="relu", name="dense_1")(x)
    outputs = keras.layers.Dense(10, activation="softmax", name="predictions")(x)
    model = keras.Model(inputs, outputs, name="tiny_cnn")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model
