"""cnnviz.train.script: the generated Keras script builds the same model and loads the same data as the studio."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cnnviz.core.datasets import Dataset, load_dataset
from cnnviz.train.loop import TrainConfig, prepare_data, scheduled_learning_rate
from cnnviz.train.script import keras_code
from cnnviz.train.spec import ConvBlockSpec, ModelSpec, SpecError, layer_table, total_params
from tests.support.data import only_mnist_test_split

SMALL_SPEC = ModelSpec(conv_blocks=(ConvBlockSpec(filters=4, pooling="average"),), batch_norm=True, dense_units=(8,))


def run_definitions(source: str) -> dict[str, object]:
    """Execute the script's definitions (``main()`` only runs under ``__main__``)."""
    namespace: dict[str, object] = {"__name__": "generated"}
    exec(compile(source, "train_cnn.py", "exec"), namespace)
    return namespace


def assert_same_bytes(actual: np.ndarray, expected: np.ndarray) -> None:
    assert actual.dtype == expected.dtype and actual.shape == expected.shape
    assert actual.tobytes() == expected.tobytes()


def assert_same_data(loaded: tuple, dataset: Dataset) -> None:
    (x_train, y_train), (x_test, y_test) = loaded
    for actual, expected in ((x_train, dataset.x_train), (y_train, dataset.y_train), (x_test, dataset.x_test),
                             (y_test, dataset.y_test)):
        assert_same_bytes(np.asarray(actual), np.asarray(expected))


@pytest.mark.parametrize("dataset", ["mnist", "fashion_mnist", "kmnist", "digits"])
def test_the_script_builds_the_same_model(dataset: str) -> None:
    # With the data lab on, so that every dataset's script also defines the damage functions it then needs.
    config = TrainConfig(optimizer="sgd", learning_rate=0.01, epochs=3, early_stopping=True, label_noise=0.1)
    source = keras_code(SMALL_SPEC, config, dataset=dataset, num_classes=10)
    assert "LABEL_NOISE = 0.1" in source
    assert "momentum=0.9" in source and "EarlyStopping" in source and "EPOCHS = 3" in source
    assert "import cnnviz" not in source and "from cnnviz" not in source
    model = run_definitions(source)["build_model"]()  # type: ignore[operator]
    assert model.count_params() == total_params(SMALL_SPEC, 10)
    assert [layer.name for layer in model.layers] == [row.name for row in layer_table(SMALL_SPEC, 10)]


def test_the_scripts_learning_rate_schedule_is_the_studios_float_for_float() -> None:
    config = TrainConfig(learning_rate=0.003, epochs=7, lr_schedule="cosine")
    source = keras_code(SMALL_SPEC, config, dataset="digits")
    assert "keras.callbacks.LearningRateScheduler(cosine_learning_rate)" in source
    schedule = run_definitions(source)["cosine_learning_rate"]
    assert [schedule(epoch, 0.5) for epoch in range(7)] == [  # type: ignore[operator]
        scheduled_learning_rate(config, epoch) for epoch in range(7)]
    constant = keras_code(SMALL_SPEC, TrainConfig(lr_schedule="constant"), dataset="digits")
    assert "cosine_learning_rate" not in constant and "LearningRateScheduler" not in constant


def test_the_script_rejects_an_unknown_dataset() -> None:
    with pytest.raises(SpecError, match="No download recipe"):
        keras_code(ModelSpec(), dataset="cifar10")


def test_the_scripts_digits_are_the_studios_byte_for_byte() -> None:
    script = run_definitions(keras_code(SMALL_SPEC, dataset="digits"))
    assert_same_data(script["load_data"](), load_dataset("digits"))  # type: ignore[operator]


@pytest.mark.parametrize(
    "datalab",
    [{}, {"label_noise": 0.3, "imbalance_classes": (3, 5), "imbalance_keep": 0.2}, {"label_noise": 0.5},
     {"imbalance_classes": (0,), "imbalance_keep": 0.0}],
    ids=["clean", "noise-and-imbalance", "noise", "class-removed"],
)
def test_the_scripts_subset_and_validation_part_are_prepare_datas(datalab: dict) -> None:
    """Also with the data lab on: the script damages the training part exactly as the studio does."""
    config = TrainConfig(train_size=300, validation_split=0.15, seed=5, **datalab)
    source = keras_code(SMALL_SPEC, config, dataset="digits")
    assert ("def damage_training_data" in source) == bool(datalab)  # a clean run's script stays as simple as before
    script = run_definitions(source)
    dataset = load_dataset("digits")
    (x_train, y_train), (x_val, y_val), (x_test, y_test) = script["prepare"](  # type: ignore[operator]
        dataset.x_train, dataset.y_train, dataset.x_test, dataset.y_test
    )
    expected = prepare_data(dataset, config)
    for actual, wanted in ((x_train, expected.x_train), (y_train, expected.y_train), (x_val, expected.x_val),
                           (y_val, expected.y_val), (x_test, expected.x_test), (y_test, expected.y_test)):
        assert_same_bytes(actual, wanted)


def test_the_scripts_split_of_the_official_test_split_is_the_studios(
    shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only MNIST's official test split is found: studio and script divide it the same way."""
    folder, studio = only_mnist_test_split(shared_data, tmp_path, monkeypatch)
    assert len(studio.x_train) == 8000
    script = run_definitions(keras_code(SMALL_SPEC, dataset="mnist", split_of_test=True))
    assert_same_data(script["load_data"](folder), studio)  # type: ignore[operator]


@pytest.mark.slow
def test_the_whole_script_trains_one_epoch(tmp_path: Path) -> None:
    config = TrainConfig(epochs=1, train_size=64, batch_size=32, validation_split=0.25)
    (tmp_path / "train_cnn.py").write_text(keras_code(SMALL_SPEC, config, dataset="digits"))
    run = subprocess.run([sys.executable, "train_cnn.py"], cwd=tmp_path, capture_output=True, text=True,
                         timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "Test loss" in run.stdout and "test accuracy" in run.stdout
    assert (tmp_path / "cnn.keras").is_file()
