"""Settings and fixtures shared by every test layer.

The environment is set before any cnnviz or TensorFlow import so that every
test finds the offline data the same way CI does.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from tests.support.paths import REPO_ROOT, SHARED_DATA

if SHARED_DATA.is_dir():
    os.environ.setdefault("CNNVIZ_DATA_DIR", str(SHARED_DATA))
# Tests never reach for the network: a missing dataset must fail fast and clearly.
os.environ.setdefault("CNNVIZ_OFFLINE", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")


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
