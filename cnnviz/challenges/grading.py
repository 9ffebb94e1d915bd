"""The server's own measurement of a submitted model: what the leaderboard records.

A submission is graded from the model object in the learner's server-side session and
the dataset files on the server, never from numbers sent by the browser or claimed by the
model's record:

* **accuracy**: the model is run on the challenge dataset's whole test split here
  (:func:`measure_accuracy`), whatever ``test_metrics`` the record carries;
* **parameters**: ``model.count_params()``;
* **epochs**: the finished epochs in the record's history, ``len(history["loss"])``: each
  epoch the training loop finishes appends one loss, so the record cannot show fewer epochs
  than were trained without also losing its curves.

Keras is not imported here; the functions receive an already built model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from cnnviz.challenges.rules import Challenge, Measured
from cnnviz.core.datasets import DATASETS, Dataset
from cnnviz.core.images import ModelInputError, to_model_batch
from cnnviz.core.records import TrainedModel

#: Images per forward pass while grading: large enough to be quick, small enough for a shared server.
GRADING_BATCH = 500


class GradingError(ValueError):
    """A model that cannot be graded for a challenge; the message says why and what to do."""


@dataclass(frozen=True)
class Grade:
    """The outcome of grading one model for one challenge.

    Attributes:
        challenge_id: the challenge graded for.
        measured: accuracy, parameters and epochs, all measured by the server.
        passed: whether ``measured`` meets the challenge's goal.
        reasons: the checks in words (what was missed, or that the goal was met).
        claimed_accuracy: the test accuracy the model's record claimed, or ``None``; shown only to
            explain a difference, never stored as the result.
        test_images: how many test images the accuracy was measured on.
    """

    challenge_id: str
    measured: Measured
    passed: bool
    reasons: tuple[str, ...]
    claimed_accuracy: float | None
    test_images: int


def _predict(model: Any, batch: np.ndarray) -> np.ndarray:
    predict_on_batch = getattr(model, "predict_on_batch", None)
    output = predict_on_batch(batch) if callable(predict_on_batch) else model(batch, training=False)
    return np.asarray(output.numpy() if hasattr(output, "numpy") else output)


def measure_accuracy(model: Any, images: np.ndarray, labels: np.ndarray, *, batch_size: int = GRADING_BATCH) -> float:
    """Return the fraction of ``images`` the model classifies as ``labels``.

    Args:
        model: a Keras model taking ``(N, 28, 28, 1)`` float32 in [0, 1] and returning ``(N, classes)`` scores
            (anything with ``predict_on_batch``, or a callable ``model(batch, training=False)``).
        images: ``(N, 28, 28)`` uint8 (a dataset split) or float in [0, 1]; converted by
            :func:`cnnviz.core.images.to_model_batch`, the one model-input contract.
        labels: ``(N,)`` integer class indices.
        batch_size: images per forward pass.

    Returns:
        Accuracy in [0, 1].

    Raises:
        GradingError: no images, images and labels of different lengths, or an output of the wrong shape.
    """
    labels = np.asarray(labels)
    if len(images) == 0 or len(images) != len(labels):
        raise GradingError(f"Expected as many labels as images (at least one), got {len(images)} and {len(labels)}.")
    correct = 0
    for start in range(0, len(images), batch_size):
        try:
            batch = to_model_batch(images[start : start + batch_size])
        except ModelInputError as error:
            raise GradingError(f"The test images cannot be given to the model: {error}") from error
        scores = _predict(model, batch)
        if scores.ndim != 2 or scores.shape[0] != len(batch):
            raise GradingError(
                f"Expected the model to return ({len(batch)}, classes) scores, got shape {scores.shape}."
            )
        correct += int(np.sum(np.argmax(scores, axis=1) == labels[start : start + batch_size]))
    return correct / len(labels)


def grade(trained: TrainedModel, challenge: Challenge, dataset: Dataset) -> Grade:
    """Measure ``trained`` on ``dataset``'s test split and check it against ``challenge``.

    Args:
        trained: this session's model and its training record (as the Train page stores it).
        challenge: the challenge submitted to.
        dataset: the challenge's dataset as the server loads it (``load_dataset(challenge.dataset)``).

    Returns:
        A :class:`Grade` built only from the server's own measurements.

    Raises:
        GradingError: the model was trained on another dataset, ``dataset`` is not the challenge's,
            the model's output does not have one score per class, or its record has no finished epoch.
    """
    wanted = DATASETS[challenge.dataset].title
    if dataset.name != challenge.dataset:
        raise GradingError(f"This challenge is graded on {wanted}, but the server passed {dataset.title}.")
    if trained.dataset != challenge.dataset:
        trained_on = DATASETS[trained.dataset].title if trained.dataset in DATASETS else repr(trained.dataset)
        raise GradingError(
            f"This challenge is played on {wanted}, and your model was trained on {trained_on}. "
            f"Train a model on {wanted} on the Train page, then submit it here."
        )
    epochs = len(trained.history.get("loss", []))
    if epochs == 0:
        raise GradingError("Your model's record has no finished training epoch. Train at least one epoch first.")
    output_shape = tuple(getattr(trained.model, "output_shape", ()) or ())
    if output_shape and output_shape[-1] != dataset.num_classes:
        raise GradingError(
            f"Your model gives {output_shape[-1]} scores per image; {wanted} has {dataset.num_classes} classes."
        )
    accuracy = measure_accuracy(trained.model, dataset.x_test, dataset.y_test)
    measured = Measured(accuracy=accuracy, params=int(trained.model.count_params()), epochs=epochs)
    verdict = challenge.check(measured)
    claimed = trained.test_metrics.get("accuracy")
    return Grade(
        challenge_id=challenge.id,
        measured=measured,
        passed=verdict.passed,
        reasons=verdict.reasons,
        claimed_accuracy=float(claimed) if claimed is not None else None,
        test_images=len(dataset.y_test),
    )


__all__ = ["GRADING_BATCH", "Grade", "GradingError", "grade", "measure_accuracy"]
