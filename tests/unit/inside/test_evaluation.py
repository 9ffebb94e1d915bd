"""Tests for cnnviz.inside.evaluation: metrics against scikit-learn, PCA against sklearn's PCA."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.decomposition import PCA
from sklearn.metrics import accuracy_score, precision_recall_fscore_support
from sklearn.metrics import confusion_matrix as sk_confusion_matrix

from cnnviz.inside.evaluation import (
    EvaluationError,
    cell_indices,
    class_metrics,
    confusion_matrix,
    evaluate_model,
    evaluate_predictions,
    most_confident_mistakes,
    pca_2d,
    penultimate_features,
    sample_indices,
)
from tests.support.models import sample_images, tiny_cnn


def _random_probabilities(n: int, classes: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(n, classes)) * 2
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    labels = rng.integers(0, classes, size=n)
    return labels, probabilities.astype(np.float32)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_metrics_match_scikit_learn(seed: int) -> None:
    labels, probabilities = _random_probabilities(200, 5, seed)
    result = evaluate_predictions(labels, probabilities, ["a", "b", "c", "d", "e"])
    predictions = probabilities.argmax(axis=1)
    np.testing.assert_array_equal(result.confusion, sk_confusion_matrix(labels, predictions, labels=range(5)))
    assert result.accuracy == pytest.approx(accuracy_score(labels, predictions))
    assert result.mistakes == len(labels) - accuracy_score(labels, predictions, normalize=False)
    precision, recall, f1, support = precision_recall_fscore_support(
        labels, predictions, labels=range(5), zero_division=0
    )
    np.testing.assert_allclose(result.per_class.precision, precision)
    np.testing.assert_allclose(result.per_class.recall, recall)
    np.testing.assert_allclose(result.per_class.f1, f1)
    np.testing.assert_array_equal(result.per_class.support, support)


def test_metrics_for_never_predicted_and_absent_classes_match_scikit_learn() -> None:
    labels = np.array([0, 0, 1, 1, 1])
    predictions = np.array([0, 1, 1, 1, 0])  # class 2 is neither present nor predicted
    matrix = confusion_matrix(labels, predictions, 3)
    metrics = class_metrics(matrix)
    precision, recall, f1, _ = precision_recall_fscore_support(
        labels, predictions, labels=range(3), zero_division=0
    )
    np.testing.assert_allclose(metrics.precision, precision)
    np.testing.assert_allclose(metrics.recall, recall)
    np.testing.assert_allclose(metrics.f1, f1)


def test_confusion_matrix_rejects_bad_labels() -> None:
    with pytest.raises(EvaluationError, match=r"in \[0, 2\], got values from 0 to 3"):
        confusion_matrix([0, 3], [0, 1], 3)
    with pytest.raises(EvaluationError, match="2 predictions for 3 labels"):
        confusion_matrix([0, 1, 2], [0, 1], 3)


def test_evaluate_predictions_rejects_class_count_mismatch() -> None:
    labels, probabilities = _random_probabilities(10, 3, 0)
    with pytest.raises(EvaluationError, match="model outputs 3"):
        evaluate_predictions(labels, probabilities, [str(i) for i in range(10)])


def test_cells_and_mistakes_are_sorted_by_confidence() -> None:
    labels = np.array([0, 0, 1, 1, 0])
    probabilities = np.array(
        [[0.9, 0.1], [0.3, 0.7], [0.2, 0.8], [0.6, 0.4], [0.05, 0.95]], dtype=np.float32
    )
    result = evaluate_predictions(labels, probabilities, ["zero", "one"])
    np.testing.assert_array_equal(cell_indices(result, 0, 1), [4, 1])
    np.testing.assert_array_equal(cell_indices(result, 1, 1), [2])
    np.testing.assert_array_equal(most_confident_mistakes(result, 2), [4, 1])
    np.testing.assert_array_equal(most_confident_mistakes(result), [4, 1, 3])
    with pytest.raises(EvaluationError, match="from 0 to 1, got 2"):
        cell_indices(result, 2, 0)
    np.testing.assert_allclose(result.confidence, [0.9, 0.7, 0.8, 0.6, 0.95])


def test_pca_matches_scikit_learn_up_to_sign() -> None:
    rng = np.random.default_rng(3)
    features = rng.normal(size=(120, 6)) @ rng.normal(size=(6, 6))
    projection = pca_2d(features)
    expected = PCA(n_components=2).fit(features)
    reference = expected.transform(features)
    for axis in range(2):
        sign = np.sign(np.dot(projection.points[:, axis], reference[:, axis]))
        np.testing.assert_allclose(projection.points[:, axis], sign * reference[:, axis], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(projection.explained_variance_ratio, expected.explained_variance_ratio_, rtol=1e-6)
    assert projection.points.shape == (120, 2) and projection.points.dtype == np.float32


def test_pca_of_one_dimensional_data_and_bad_input() -> None:
    features = np.outer(np.arange(5.0), [1.0, 0.0, 0.0])
    projection = pca_2d(features)
    np.testing.assert_allclose(projection.points[:, 1], 0.0, atol=1e-9)
    assert projection.explained_variance_ratio[0] == pytest.approx(1.0)
    with pytest.raises(EvaluationError, match="at least two"):
        pca_2d(np.zeros((1, 3)))
    with pytest.raises(EvaluationError, match="finite"):
        pca_2d(np.array([[0.0, np.nan], [1.0, 2.0]]))


def test_evaluate_model_and_penultimate_features_on_a_keras_model() -> None:
    model = tiny_cnn(num_classes=3)
    images = sample_images(6)
    labels = np.array([0, 1, 2, 0, 1, 2])
    result = evaluate_model(model, images, labels, ["a", "b", "c"], batch_size=4)
    expected = model.predict(images[..., None].astype(np.float32) / 255.0, verbose=0)
    np.testing.assert_allclose(result.probabilities, expected, rtol=1e-5, atol=1e-6)
    features = penultimate_features(model, images, batch_size=4)
    assert features.shape == (6, 8)  # dense_1's 8 units, as seen through the dropout layer


def test_sample_indices_is_deterministic() -> None:
    labels = np.arange(100)
    first = sample_indices(labels, 10, seed=4)
    np.testing.assert_array_equal(first, sample_indices(labels, 10, seed=4))
    assert len(np.unique(first)) == 10
    np.testing.assert_array_equal(sample_indices(labels, 500), np.arange(100))


def test_most_confused_pair_is_the_largest_off_diagonal_cell() -> None:
    from cnnviz.inside.evaluation import most_confused_pair

    assert most_confused_pair(np.array([[50, 1, 2], [7, 40, 0], [0, 3, 60]])) == (1, 0)
    assert most_confused_pair(np.diag([5, 5])) == (0, 0)


def test_one_pass_gives_the_same_probabilities_and_features() -> None:
    from cnnviz.inside.evaluation import predict_probabilities, predict_with_features

    model = tiny_cnn(num_classes=3)
    images = sample_images(7)
    rows = np.array([1, 4, 5, 6])
    probabilities, features = predict_with_features(model, images, batch_size=3, feature_rows=rows)
    np.testing.assert_allclose(probabilities, predict_probabilities(model, images), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(features, penultimate_features(model, images[rows]), rtol=1e-5, atol=1e-6)
