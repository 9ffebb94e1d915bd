"""Tests for cnnviz.inside.evaluation: metrics against scikit-learn, the PCA against NumPy's eigendecomposition."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, precision_recall_fscore_support
from sklearn.metrics import confusion_matrix as sk_confusion_matrix

from cnnviz.inside.evaluation import (
    EvaluationError,
    cell_indices,
    cell_or_most_confused,
    class_count_problem,
    class_metrics,
    confusion_matrix,
    evaluate_predictions,
    most_confident_mistakes,
    most_confused_pair,
    pca_2d,
    predict_with_features,
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


def test_pca_matches_the_covariance_eigenvectors_with_a_fixed_sign() -> None:
    rng = np.random.default_rng(3)
    features = rng.normal(size=(120, 6)) @ rng.normal(size=(6, 6))
    projection = pca_2d(features)
    # Oracle: the principal axes are the covariance matrix's top eigenvectors, their variances its eigenvalues.
    centred = features - features.mean(axis=0)
    eigenvalues, eigenvectors = np.linalg.eigh(np.cov(centred, rowvar=False))
    order = np.argsort(eigenvalues)[::-1][:2]
    axes = eigenvectors[:, order].T
    for axis in range(2):
        sign = np.sign(np.dot(projection.components[axis], axes[axis]))
        np.testing.assert_allclose(projection.components[axis], sign * axes[axis], atol=1e-8)
        # The sign rule: each axis's largest-magnitude loading is positive, so the picture never flips.
        assert projection.components[axis, np.argmax(np.abs(projection.components[axis]))] > 0
    np.testing.assert_allclose(projection.points, centred @ projection.components.T, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(projection.explained_variance_ratio, eigenvalues[order] / eigenvalues.sum(), rtol=1e-6)
    assert projection.points.shape == (120, 2) and projection.points.dtype == np.float32


def test_pca_of_one_dimensional_data_constant_data_and_bad_input() -> None:
    features = np.outer(np.arange(5.0), [1.0, 0.0, 0.0])
    projection = pca_2d(features)
    np.testing.assert_allclose(projection.points[:, 0], np.arange(5.0) - 2.0, atol=1e-6)
    np.testing.assert_allclose(projection.points[:, 1], 0.0, atol=1e-9)
    assert projection.explained_variance_ratio[0] == pytest.approx(1.0)
    single = pca_2d(np.arange(4.0).reshape(4, 1))  # one feature: the second axis is all zeros
    np.testing.assert_allclose(single.points[:, 1], 0.0)
    np.testing.assert_allclose(single.explained_variance_ratio, [1.0, 0.0])
    constant = pca_2d(np.ones((3, 4)))  # no variation at all: every point at the origin, no NaN ratios
    np.testing.assert_array_equal(constant.points, 0.0)
    np.testing.assert_array_equal(constant.explained_variance_ratio, 0.0)
    with pytest.raises(EvaluationError, match="at least two"):
        pca_2d(np.zeros((1, 3)))
    with pytest.raises(EvaluationError, match="finite"):
        pca_2d(np.array([[0.0, np.nan], [1.0, 2.0]]))


def test_sample_indices_is_deterministic() -> None:
    labels = np.arange(100)
    first = sample_indices(labels, 10, seed=4)
    np.testing.assert_array_equal(first, sample_indices(labels, 10, seed=4))
    assert len(np.unique(first)) == 10
    np.testing.assert_array_equal(sample_indices(labels, 500), np.arange(100))


def test_most_confused_pair_is_the_largest_off_diagonal_cell() -> None:
    assert most_confused_pair(np.array([[50, 1, 2], [7, 40, 0], [0, 3, 60]])) == (1, 0)
    assert most_confused_pair(np.diag([5, 5])) == (0, 0)


def test_the_shown_cell_is_the_chosen_one_or_falls_back_to_the_most_common_mistake() -> None:
    confusion = np.array([[50, 1, 2], [7, 40, 0], [0, 3, 60]])
    assert cell_or_most_confused((None, None), confusion) == (1, 0)  # nothing chosen yet
    assert cell_or_most_confused((2, 2), confusion) == (2, 2)
    assert cell_or_most_confused((np.int64(0), 1), confusion) == (0, 1)
    assert cell_or_most_confused((2, 7), confusion) == (2, 0)  # a class this model does not have
    assert cell_or_most_confused((-1, "2"), confusion) == (1, 0)


def test_a_dataset_with_another_class_count_is_refused_with_a_reason() -> None:
    assert class_count_problem(10, 10, "mnist") is None
    problem = class_count_problem(2, 10, "digits")
    assert problem is not None and "predicts 2 classes" in problem and "digits dataset it names has 10" in problem


def test_one_pass_gives_the_models_probabilities_and_what_its_last_layer_sees() -> None:
    import keras

    model = tiny_cnn(num_classes=3)
    images = sample_images(7)
    rows = np.array([1, 4, 5, 6])
    probabilities, features = predict_with_features(model, images, batch_size=3, feature_rows=rows)
    batch = images[..., None].astype(np.float32) / 255.0
    np.testing.assert_allclose(probabilities, model.predict(batch, verbose=0), rtol=1e-5, atol=1e-6)
    # Oracle: Keras's own extractor of the last layer's input (dense_1's 8 units, seen through dropout).
    hidden = keras.Model(model.inputs, model.get_layer("dropout").output).predict(batch[rows], verbose=0)
    assert features.shape == (4, 8)
    np.testing.assert_allclose(features, hidden, rtol=1e-5, atol=1e-6)
