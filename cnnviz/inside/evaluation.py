"""How good is the model, and where does it go wrong? Metrics and projections on the test split.

The metric functions are plain NumPy on integer labels (checked against
scikit-learn in the tests); only :func:`predict_with_features` runs the Keras model.
The PCA is scikit-learn's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from cnnviz.core import embedding
from cnnviz.inside.activations import InspectError, check_model


class EvaluationError(InspectError):
    """Labels, predictions or features that cannot be evaluated together (message says why)."""


@dataclass(frozen=True)
class ClassMetrics:
    """Per-class precision, recall, F1 and support, each a (num_classes,) array.

    A class never predicted has precision 0; a class absent from the labels has
    recall 0 (scikit-learn's ``zero_division=0``).
    """

    precision: np.ndarray
    recall: np.ndarray
    f1: np.ndarray
    support: np.ndarray


@dataclass(frozen=True)
class Evaluation:
    """The model's predictions on a labelled split and the metrics derived from them.

    Attributes:
        y_true: (N,) int64 true labels.
        y_pred: (N,) int64 predicted labels (argmax of ``probabilities``).
        probabilities: (N, num_classes) float32 softmax outputs.
        confusion: (num_classes, num_classes) int64; rows are true classes, columns predictions.
        accuracy: fraction of correct predictions.
        per_class: :class:`ClassMetrics`.
        class_names: one display name per class.
    """

    y_true: np.ndarray
    y_pred: np.ndarray
    probabilities: np.ndarray
    confusion: np.ndarray
    accuracy: float
    per_class: ClassMetrics
    class_names: tuple[str, ...]

    @property
    def num_classes(self) -> int:
        """How many classes the model predicts."""
        return int(self.probabilities.shape[1])

    @property
    def mistakes(self) -> int:
        """How many test images the model got wrong (most probable class is not the true one)."""
        return int(np.count_nonzero(self.y_true != self.y_pred))

    @property
    def confidence(self) -> np.ndarray:
        """(N,) float32: the probability the model gave to the class it predicted."""
        return self.probabilities[np.arange(self.y_pred.shape[0]), self.y_pred]


def _labels(values: Sequence[int] | np.ndarray, name: str) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1:
        raise EvaluationError(f"Expected {name} as a 1-D array of class indices, got shape {array.shape}.")
    if array.dtype.kind not in "biuf":
        raise EvaluationError(f"Expected {name} as numbers (class indices), got dtype {array.dtype}.")
    if array.size and not np.issubdtype(array.dtype, np.integer):
        if not np.all(np.equal(np.mod(array, 1), 0)):
            raise EvaluationError(f"Expected integer class indices in {name}, got dtype {array.dtype}.")
    return array.astype(np.int64)


def confusion_matrix(
    y_true: Sequence[int] | np.ndarray, y_pred: Sequence[int] | np.ndarray, num_classes: int
) -> np.ndarray:
    """Return the (num_classes, num_classes) int64 confusion matrix, rows true, columns predicted.

    Raises:
        EvaluationError: lengths differ, or a label is outside ``[0, num_classes)``.
    """
    true = _labels(y_true, "y_true")
    pred = _labels(y_pred, "y_pred")
    if true.shape != pred.shape:
        raise EvaluationError(
            f"Expected as many predictions as labels, got {pred.shape[0]} predictions for {true.shape[0]} labels."
        )
    if num_classes < 1:
        raise EvaluationError(f"Expected at least one class, got num_classes={num_classes}.")
    for name, array in (("y_true", true), ("y_pred", pred)):
        if array.size and (array.min() < 0 or array.max() >= num_classes):
            raise EvaluationError(
                f"Expected {name} in [0, {num_classes - 1}], got values from {array.min()} to {array.max()}."
            )
    flat = true * num_classes + pred
    return np.bincount(flat, minlength=num_classes * num_classes).reshape(num_classes, num_classes).astype(np.int64)


def class_metrics(confusion: np.ndarray) -> ClassMetrics:
    """Per-class precision, recall, F1 and support from a confusion matrix (rows true, columns predicted)."""
    matrix = np.asarray(confusion, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise EvaluationError(f"Expected a square confusion matrix, got shape {matrix.shape}.")
    true_positive = np.diag(matrix)
    predicted = matrix.sum(axis=0)
    actual = matrix.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(predicted > 0, true_positive / predicted, 0.0)
        recall = np.where(actual > 0, true_positive / actual, 0.0)
        denominator = precision + recall
        f1 = np.where(denominator > 0, 2 * precision * recall / denominator, 0.0)
    return ClassMetrics(
        precision=precision, recall=recall, f1=f1, support=actual.astype(np.int64)
    )


def evaluate_predictions(
    y_true: Sequence[int] | np.ndarray, probabilities: np.ndarray, class_names: Sequence[str]
) -> Evaluation:
    """Derive predictions, accuracy, confusion matrix and per-class metrics from probabilities.

    Args:
        y_true: (N,) integer labels.
        probabilities: (N, num_classes) float model outputs.
        class_names: ``num_classes`` display names.
    """
    probs = np.asarray(probabilities, dtype=np.float32)
    true = _labels(y_true, "y_true")
    if probs.ndim != 2 or probs.shape[0] != true.shape[0]:
        raise EvaluationError(
            f"Expected probabilities of shape ({true.shape[0]}, num_classes), got {probs.shape}."
        )
    if probs.shape[1] != len(class_names):
        raise EvaluationError(
            f"Expected {len(class_names)} classes ({', '.join(map(str, class_names))}) but the model outputs "
            f"{probs.shape[1]}. Evaluate the model on the dataset it was trained on."
        )
    if true.size == 0:
        raise EvaluationError("Expected at least one labelled image to evaluate, got none.")
    pred = np.argmax(probs, axis=1).astype(np.int64)
    confusion = confusion_matrix(true, pred, probs.shape[1])
    return Evaluation(
        y_true=true,
        y_pred=pred,
        probabilities=probs,
        confusion=confusion,
        accuracy=float(np.mean(true == pred)),
        per_class=class_metrics(confusion),
        class_names=tuple(str(name) for name in class_names),
    )


def cell_indices(evaluation: Evaluation, true_class: int, predicted_class: int) -> np.ndarray:
    """Return the indices of the images with this (true, predicted) pair, most confident first.

    Returns:
        (k,) int64 indices into the evaluated split.
    """
    for name, value in (("true", true_class), ("predicted", predicted_class)):
        if not 0 <= value < evaluation.num_classes:
            raise EvaluationError(
                f"Expected a {name} class from 0 to {evaluation.num_classes - 1}, got {value}."
            )
    indices = np.flatnonzero((evaluation.y_true == true_class) & (evaluation.y_pred == predicted_class))
    order = np.argsort(-evaluation.confidence[indices], kind="stable")
    return indices[order].astype(np.int64)


def most_confused_pair(confusion: np.ndarray) -> tuple[int, int]:
    """Return ``(true, predicted)`` of the largest off-diagonal cell (the most common mistake).

    Returns ``(0, 0)`` when the matrix has no mistakes at all.
    """
    raw = np.asarray(confusion)
    if raw.ndim != 2 or raw.dtype.kind not in "biuf":
        raise EvaluationError(f"Expected a 2-D confusion matrix of counts, got shape {raw.shape}, dtype {raw.dtype}.")
    matrix = np.nan_to_num(raw.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0).astype(np.int64)
    np.fill_diagonal(matrix, -1)
    if matrix.size == 0 or matrix.max() <= 0:
        return (0, 0)
    true_class, predicted_class = np.unravel_index(int(np.argmax(matrix)), matrix.shape)
    return int(true_class), int(predicted_class)


def most_confident_mistakes(evaluation: Evaluation, count: int = 12) -> np.ndarray:
    """Return the indices of up to ``count`` wrong predictions, most confident first ((k,) int64)."""
    wrong = np.flatnonzero(evaluation.y_true != evaluation.y_pred)
    order = np.argsort(-evaluation.confidence[wrong], kind="stable")
    return wrong[order][: max(0, count)].astype(np.int64)


def predict_with_features(
    model: Any, images: np.ndarray, *, batch_size: int = 500, feature_rows: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Return the class probabilities of every image and the penultimate features, in one forward pass.

    :func:`cnnviz.core.embedding.predict_with_features` (shared with the Sketch page) with the Inside page's
    error type.

    Args:
        images: (N, 28, 28) uint8 (or float32 in [0, 1]).
        feature_rows: which images' features to keep (sorted indices); default all.

    Returns:
        ``(probabilities, features)``: (N, num_classes) float32 model outputs and
        (len(feature_rows), D) float32 inputs of the model's last layer (what it "sees"),
        flattened when spatial.

    Raises:
        cnnviz.core.images.ModelInputError: not a batch of 28x28 images.
        InspectError: not a Keras model with one input, or a batch size below 1.
    """
    check_model(model)
    try:
        return embedding.predict_with_features(model, images, batch_size=batch_size, feature_rows=feature_rows)
    except embedding.EmbeddingError as error:
        raise InspectError(str(error)) from error


@dataclass(frozen=True)
class Projection:
    """A 2-D PCA projection.

    Attributes:
        points: (N, 2) float32 coordinates on the first two principal components.
        explained_variance_ratio: (2,) float64 share of the total variance each axis keeps.
        components: (2, D) float64 principal axes (unit rows).
    """

    points: np.ndarray
    explained_variance_ratio: np.ndarray
    components: np.ndarray


def pca_2d(features: np.ndarray) -> Projection:
    """Project rows of ``features`` (N, D) onto their first two principal components (scikit-learn's PCA).

    Each axis's sign is fixed so that its largest-magnitude loading is positive, so the
    picture does not flip between runs. Fewer than two dimensions of variation give zero columns.

    Raises:
        EvaluationError: fewer than two rows, or not a 2-D finite array.
    """
    from sklearn.decomposition import PCA

    data = np.asarray(features, dtype=np.float64)
    if data.ndim != 2 or data.shape[0] < 2:
        raise EvaluationError(f"Expected at least two feature rows (N, D), got shape {data.shape}.")
    if not np.all(np.isfinite(data)):
        raise EvaluationError("Expected finite features, got NaN or infinity: the model may have diverged.")
    components = np.zeros((2, data.shape[1]), dtype=np.float64)
    ratio = np.zeros(2, dtype=np.float64)
    points = np.zeros((data.shape[0], 2), dtype=np.float32)
    kept = min(2, data.shape[1])
    # Without any variation scikit-learn's ratios are 0/0; every point sits at the origin then.
    if kept == 0 or not np.any(np.ptp(data, axis=0) > 0):
        return Projection(points=points, explained_variance_ratio=ratio, components=components)
    pca = PCA(n_components=kept, svd_solver="full").fit(data)
    components[:kept] = pca.components_
    for row in range(kept):
        pivot = int(np.argmax(np.abs(components[row])))
        if components[row, pivot] < 0:
            components[row] = -components[row]
    ratio[:kept] = pca.explained_variance_ratio_
    points = ((data - pca.mean_) @ components.T).astype(np.float32)
    return Projection(points=points, explained_variance_ratio=ratio, components=components)


def sample_indices(labels: np.ndarray, count: int, *, seed: int = 0) -> np.ndarray:
    """Return up to ``count`` sorted indices drawn without replacement, the same for the same seed."""
    array = np.asarray(labels)
    if array.ndim == 0:
        raise EvaluationError(f"Expected an array of labels to sample from, got a single value {array!r}.")
    total = int(array.shape[0])
    if count >= total:
        return np.arange(total, dtype=np.int64)
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(total, size=count, replace=False)).astype(np.int64)


def cell_or_most_confused(cell: tuple[object, object], confusion: np.ndarray) -> tuple[int, int]:
    """Return the confusion-matrix cell to show: ``cell`` (true, predicted) where it names classes of ``confusion``.

    Each of the two that is not a class index (nothing chosen yet, or a remembered class that another
    model with fewer classes does not have) is replaced by its part of :func:`most_confused_pair`, so
    the view starts on the most common mistake.
    """
    size = int(np.shape(confusion)[0]) if np.ndim(confusion) == 2 else 0
    worst = most_confused_pair(confusion)
    chosen = [
        int(value) if isinstance(value, (int, np.integer)) and 0 <= int(value) < size else fallback
        for value, fallback in zip(cell, worst, strict=True)
    ]
    return chosen[0], chosen[1]


def class_count_problem(model_classes: int, dataset_classes: int, dataset_name: str) -> str | None:
    """Return why a dataset's test split cannot be used with a model, or ``None`` when it can.

    A model predicting ``model_classes`` classes can only be evaluated on (and shown images of) a
    dataset with as many classes. The answer is Markdown; ``dataset_name`` is put in as given, so a
    name from a sidecar must come escaped (:func:`cnnviz.core.text.md_escape`).
    """
    if model_classes == dataset_classes:
        return None
    return (
        f"This model predicts {model_classes} classes but the {dataset_name} dataset it names has "
        f"{dataset_classes}, so its test images cannot be used (only your sketch). Pick a model trained "
        "on one of the studio's datasets."
    )
