"""Grading: the server measures accuracy on the test split itself, reads parameters from the model and
epochs from its record, and ignores whatever accuracy the record claims."""

from __future__ import annotations

import numpy as np
import pytest

from cnnviz.challenges.grading import GradingError, grade, measure_accuracy
from cnnviz.challenges.rules import get_challenge
from cnnviz.core.datasets import DIGIT_NAMES, Dataset
from cnnviz.core.records import TrainedModel


def lit_pixel_images(labels: list[int]) -> np.ndarray:
    """One uint8 image per label with only pixel (0, label) lit: the model below reads the class from it."""
    images = np.zeros((len(labels), 28, 28), dtype=np.uint8)
    for index, label in enumerate(labels):
        images[index, 0, label] = 255
    return images


def pixel_reader():
    """A Dense-only model whose class k score is 10 x pixel (0, k): it predicts the lit pixel's column.

    784 * 10 weights + 10 biases = 7,850 parameters (counted by hand, the oracle for count_params).
    """
    import keras

    inputs = keras.Input(shape=(28, 28, 1), name="input")
    flat = keras.layers.Flatten(name="flatten")(inputs)
    outputs = keras.layers.Dense(10, activation="softmax", name="predictions")(flat)
    model = keras.Model(inputs, outputs, name="pixel_reader")
    kernel = np.zeros((784, 10), dtype=np.float32)
    kernel[np.arange(10), np.arange(10)] = 10.0  # pixel (0, k) is flat index k
    model.get_layer("predictions").set_weights([kernel, np.zeros(10, dtype=np.float32)])
    return model


@pytest.fixture(scope="module")
def mnist_like() -> Dataset:
    """A hand-built 'mnist' whose test labels the pixel reader gets right for 7 images of 10."""
    drawn = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
    labels = [0, 1, 2, 3, 4, 5, 6, 0, 0, 0]  # the last three are labelled 0, but show 7, 8 and 9
    images = lit_pixel_images(drawn)
    return Dataset(
        name="mnist",
        x_train=images,
        y_train=np.asarray(drawn),
        x_test=images,
        y_test=np.asarray(labels, dtype=np.int64),
        class_names=DIGIT_NAMES,
        source="built by the test",
    )


@pytest.fixture(scope="module")
def model():
    return pixel_reader()


def trained(model, *, claimed: float = 0.99, epochs: int = 2, dataset: str = "mnist") -> TrainedModel:
    return TrainedModel(
        model=model,
        dataset=dataset,
        class_names=DIGIT_NAMES,
        history={"loss": [1.0 / (epoch + 1) for epoch in range(epochs)], "accuracy": [0.99] * epochs},
        test_metrics={"accuracy": claimed, "loss": 0.01},
    )


def test_a_record_claiming_99_percent_gets_its_measured_accuracy(model, mnist_like: Dataset) -> None:
    result = grade(trained(model, claimed=0.99, epochs=2), get_challenge("mnist-fewest-97"), mnist_like)
    assert result.measured.accuracy == pytest.approx(0.7)  # 7 of the 10 labels match the lit pixel
    assert result.claimed_accuracy == 0.99
    assert result.measured.params == 7850
    assert result.measured.epochs == 2
    assert result.test_images == 10
    assert not result.passed and "below 97%" in result.reasons[0]


def test_epochs_come_from_the_records_history(model, mnist_like: Dataset) -> None:
    challenge = get_challenge("fashion-3-epochs")
    fashion_like = Dataset(
        name="fashion_mnist",
        x_train=mnist_like.x_train,
        y_train=mnist_like.y_train,
        x_test=mnist_like.x_train,
        y_test=mnist_like.y_train,  # every label right: accuracy 1.0
        class_names=DIGIT_NAMES,
        source="built by the test",
    )
    assert grade(trained(model, epochs=3, dataset="fashion_mnist"), challenge, fashion_like).passed
    four = grade(trained(model, epochs=4, dataset="fashion_mnist"), challenge, fashion_like)
    assert four.measured.accuracy == 1.0 and four.measured.epochs == 4 and not four.passed


def test_accuracy_in_batches_equals_one_pass(model, mnist_like: Dataset) -> None:
    one_pass = measure_accuracy(model, mnist_like.x_test, mnist_like.y_test, batch_size=100)
    in_threes = measure_accuracy(model, mnist_like.x_test, mnist_like.y_test, batch_size=3)
    assert one_pass == in_threes == pytest.approx(0.7)


def test_a_model_of_another_dataset_is_refused_with_a_way_out(model, mnist_like: Dataset) -> None:
    with pytest.raises(GradingError, match="trained on scikit-learn|Train a model on MNIST"):
        grade(trained(model, dataset="digits"), get_challenge("mnist-5k"), mnist_like)


def test_a_record_without_a_finished_epoch_is_refused(model, mnist_like: Dataset) -> None:
    with pytest.raises(GradingError, match="no finished training epoch"):
        grade(trained(model, epochs=0), get_challenge("mnist-5k"), mnist_like)


def test_the_server_must_pass_the_challenges_dataset(model, mnist_like: Dataset) -> None:
    with pytest.raises(GradingError, match="graded on Kuzushiji-MNIST"):
        grade(trained(model, dataset="kmnist"), get_challenge("kmnist-20k"), mnist_like)
