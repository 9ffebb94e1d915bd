"""Penultimate features and cosine nearest neighbours (shared by Inside and Sketch), checked against scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.neighbors import NearestNeighbors

from cnnviz.core.embedding import (
    EmbeddingError,
    build_index,
    image_features,
    index_size,
    nearest,
    neighbour_distance,
    penultimate_features,
    stratified_sample,
    training_index,
    unit_rows,
)
from tests.support.models import sample_images, tiny_cnn


@pytest.mark.parametrize("signed", [False, True])
def test_nearest_equals_scikit_learn_cosine_neighbours(signed: bool) -> None:
    rng = np.random.default_rng(3)
    features = rng.normal(size=(500, 24)).astype(np.float32)
    if not signed:
        features = np.maximum(features, 0.0)  # what a ReLU layer gives
    labels = rng.integers(0, 10, 500)
    index = build_index(features, labels, np.arange(1000, 1500))
    reference = NearestNeighbors(n_neighbors=9, metric="cosine").fit(features)
    queries = rng.normal(size=(5, 24)).astype(np.float32)
    for query in queries:
        found = nearest(index, query, k=9)
        distances, rows = reference.kneighbors(query[None, :])
        np.testing.assert_array_equal(found.indices, 1000 + rows[0])
        np.testing.assert_array_equal(found.labels, labels[rows[0]])
        np.testing.assert_allclose(1.0 - found.similarity, distances[0], atol=1e-5)
    # The mean distance to the k nearest, for many queries at once, is scikit-learn's too.
    distances, _ = reference.kneighbors(queries, n_neighbors=4)
    np.testing.assert_allclose(neighbour_distance(index, queries, k=4), distances.mean(axis=1), atol=1e-5)
    np.testing.assert_allclose(neighbour_distance(index, queries[0], k=4), distances[:1].mean(axis=1), atol=1e-5)


def test_zero_vectors_are_similar_to_nothing_and_ties_keep_the_index_order() -> None:
    np.testing.assert_array_equal(unit_rows(np.zeros((2, 3)))[0], np.zeros(3))
    index = build_index(np.array([[1.0, 0.0], [0.0, 0.0], [2.0, 0.0]]), [0, 1, 2])
    found = nearest(index, np.array([3.0, 0.0]), k=3)
    np.testing.assert_array_equal(found.indices, [0, 2, 1])
    np.testing.assert_allclose(found.similarity, [1.0, 1.0, 0.0])
    np.testing.assert_array_equal(nearest(index, np.zeros(2), k=3).similarity, [0.0, 0.0, 0.0])
    with pytest.raises(EmbeddingError, match="query of 2 features"):
        nearest(index, np.zeros(3))
    with pytest.raises(EmbeddingError, match="at least one neighbour"):
        neighbour_distance(index, np.zeros(2), k=0)
    with pytest.raises(EmbeddingError, match="one label and index per feature row"):
        build_index(np.zeros((3, 2)), [0, 1])
    with pytest.raises(EmbeddingError, match="finite"):
        build_index(np.full((1, 2), np.nan), [0])
    with pytest.raises(EmbeddingError, match="empty"):
        nearest(build_index(np.zeros((0, 2)), []), np.ones(2))


def test_the_sample_keeps_each_class_share_and_the_same_seed_gives_the_same_rows() -> None:
    labels = np.repeat(np.arange(4), [600, 300, 80, 20])
    rows = stratified_sample(labels, 100, seed=1)
    assert len(np.unique(rows)) == 100 and np.all(np.diff(rows) > 0)
    np.testing.assert_array_equal(np.bincount(labels[rows], minlength=4), [60, 30, 8, 2])
    np.testing.assert_array_equal(rows, stratified_sample(labels, 100, seed=1))
    assert not np.array_equal(rows, stratified_sample(labels, 100, seed=2))
    np.testing.assert_array_equal(stratified_sample(labels, 5000), np.arange(1000))
    # A class with one image cannot be split in proportion: a plain seeded sample of the right size instead.
    assert len(stratified_sample(np.array([0] * 50 + [1]), 10)) == 10
    # A very wide penultimate layer holds fewer images, so the index stays in memory.
    assert index_size(128, 60000) == 8000
    assert index_size(25088, 60000) == 637
    assert index_size(128, 300) == 300


def test_features_are_what_the_last_layer_receives_and_a_training_image_finds_itself_first() -> None:
    import keras

    model = tiny_cnn(num_classes=10, seed=2)
    images = sample_images(40, seed=4)
    labels = np.arange(40) % 10
    expected = keras.Model(model.inputs[0], model.get_layer("dense_1").output)(images[..., None] / 255.0)
    np.testing.assert_allclose(penultimate_features(model, images, batch_size=7), expected, atol=1e-5)
    index = training_index(model, images, labels, max_images=30, seed=0)
    assert index.size == 30 and index.features.shape == (30, 8)  # dense_1 has 8 units
    np.testing.assert_array_equal(np.bincount(index.labels, minlength=10), [3] * 10)
    row = int(index.indices[7])
    found = nearest(index, image_features(model, images[row]), k=3)
    assert found.indices[0] == row and found.similarity[0] == pytest.approx(1.0, abs=1e-5)
    assert found.labels[0] == labels[row]
    with pytest.raises(EmbeddingError, match="one label per image"):
        training_index(model, images, labels[:5])
    with pytest.raises(EmbeddingError, match="one image"):
        image_features(model, images[:2])
    with pytest.raises(EmbeddingError, match="Keras model"):
        penultimate_features(object(), images)
