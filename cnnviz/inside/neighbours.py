"""Which training images does the model think this image resembles? Nearest neighbours in the penultimate layer.

The model's last layer decides from the numbers its penultimate layer gives it (128 for the
default models). Two images that give similar numbers look alike *to the model*, whatever they look
like to us. Similarity is the cosine of the angle between the two feature vectors (1: same direction,
0: nothing in common; ReLU features are never negative, so it stays in [0, 1] for them).

The index holds the features of the training split, or of a seeded stratified sample of it
(scikit-learn's ``train_test_split(stratify=...)``) when it is larger than ``max_size``. The search
itself is one matrix product in NumPy: for a few thousand rows that is as fast as a tree, and it is
checked against scikit-learn's ``NearestNeighbors(metric="cosine")`` in the tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from cnnviz.inside.activations import InspectError, one_image_batch
from cnnviz.inside.evaluation import predict_with_features, sample_indices

#: How many training images the index holds at most (a stratified sample beyond that).
MAX_INDEX_IMAGES = 8000
#: Most feature numbers the index may hold (rows x features), so a huge penultimate layer stays in memory.
MAX_INDEX_VALUES = 16_000_000
#: How many neighbours the page shows.
NEIGHBOURS = 9


@dataclass(frozen=True)
class NeighbourIndex:
    """The penultimate features of training images, ready for cosine search.

    Attributes:
        features: (N, D) float32, each row divided by its length (all-zero rows stay zero).
        indices: (N,) int64, each row's position in the training split.
        labels: (N,) int64 class indices.
    """

    features: np.ndarray
    indices: np.ndarray
    labels: np.ndarray

    @property
    def size(self) -> int:
        """How many training images the index holds."""
        return int(self.indices.shape[0])


@dataclass(frozen=True)
class Neighbours:
    """The training images nearest to one query, most similar first.

    Attributes:
        indices: (k,) int64 positions in the training split.
        labels: (k,) int64 their classes.
        similarity: (k,) float32 cosine similarity to the query, in [-1, 1].
    """

    indices: np.ndarray
    labels: np.ndarray
    similarity: np.ndarray


def unit_rows(features: np.ndarray) -> np.ndarray:
    """Return ``features`` (N, D) with every row divided by its Euclidean length; zero rows stay zero. float32.

    Raises:
        InspectError: not a finite 2-D array.
    """
    array = np.asarray(features, dtype=np.float64)
    if array.ndim != 2:
        raise InspectError(f"Expected features as (N, D), got shape {array.shape}.")
    if not np.all(np.isfinite(array)):
        raise InspectError("Expected finite features, got NaN or infinity: the model may have diverged.")
    lengths = np.linalg.norm(array, axis=1, keepdims=True)
    return np.divide(array, lengths, out=np.zeros_like(array), where=lengths > 0).astype(np.float32)


def stratified_sample(labels: np.ndarray, size: int, *, seed: int = 0) -> np.ndarray:
    """Return ``size`` sorted row indices keeping each class's share (all rows when there are not more).

    Uses scikit-learn's ``train_test_split(stratify=labels)``; a class too rare to stratify falls back to a
    plain seeded sample. The same seed gives the same rows.
    """
    from sklearn.model_selection import train_test_split

    array = np.asarray(labels)
    total = int(array.shape[0])
    if size >= total:
        return np.arange(total, dtype=np.int64)
    try:
        chosen, _ = train_test_split(np.arange(total), train_size=size, stratify=array, random_state=seed)
    except ValueError:  # a class with a single image cannot be split in proportion
        return sample_indices(array, size, seed=seed)
    return np.sort(np.asarray(chosen, dtype=np.int64))


def build_index(features: np.ndarray, labels: np.ndarray, indices: np.ndarray | None = None) -> NeighbourIndex:
    """Return a :class:`NeighbourIndex` from features (N, D), their labels (N,) and training positions (N,).

    Raises:
        InspectError: lengths differ, or features that are not a finite 2-D array.
    """
    rows = unit_rows(features)
    label_array = np.asarray(labels, dtype=np.int64).reshape(-1)
    positions = np.arange(rows.shape[0], dtype=np.int64) if indices is None else np.asarray(indices, np.int64)
    if not rows.shape[0] == label_array.shape[0] == positions.shape[0]:
        raise InspectError(
            f"Expected one label and index per feature row, got {rows.shape[0]} rows, "
            f"{label_array.shape[0]} labels and {positions.shape[0]} indices."
        )
    return NeighbourIndex(features=rows, indices=positions, labels=label_array)


def nearest(index: NeighbourIndex, query: np.ndarray, k: int = NEIGHBOURS) -> Neighbours:
    """Return the ``k`` rows of ``index`` with the largest cosine similarity to ``query`` (D,), most similar first.

    Ties keep the index's order. A zero query is similar to nothing (every similarity 0).

    Raises:
        InspectError: an empty index, or a query whose length is not the index's feature size.
    """
    vector = np.asarray(query, dtype=np.float64).reshape(1, -1)
    if index.size == 0:
        raise InspectError("The neighbour index is empty: the training split has no images.")
    if vector.shape[1] != index.features.shape[1]:
        raise InspectError(f"Expected a query of {index.features.shape[1]} features, got {vector.shape[1]}.")
    similarity = (index.features.astype(np.float64) @ unit_rows(vector)[0].astype(np.float64)).astype(np.float32)
    order = np.argsort(-similarity, kind="stable")[: max(0, min(k, index.size))]
    return Neighbours(indices=index.indices[order], labels=index.labels[order], similarity=similarity[order])


def index_size(feature_size: int, available: int, max_images: int = MAX_INDEX_IMAGES) -> int:
    """How many training images an index of ``feature_size`` features per image may hold."""
    return int(min(available, max_images, max(500, MAX_INDEX_VALUES // max(1, feature_size))))


def penultimate_size(model: Any) -> int:
    """The number of features the model's last layer receives (its penultimate layer's output, flattened)."""
    shape = model.layers[-1].input.shape[1:]
    return int(np.prod([int(n) for n in shape]))


def training_index(
    model: Any, x_train: np.ndarray, y_train: np.ndarray, *, max_images: int = MAX_INDEX_IMAGES, seed: int = 0
) -> NeighbourIndex:
    """Run (a stratified sample of) the training split through the model and index its penultimate features.

    Args:
        model: a Functional ``keras.Model`` (input (28, 28, 1) in [0, 1]).
        x_train: (N, 28, 28) uint8 training images.
        y_train: (N,) their labels.
        max_images: the most images to index (see :func:`index_size`; fewer for a very wide penultimate layer).
        seed: the sample's seed.

    Raises:
        cnnviz.core.images.ModelInputError: not a batch of 28x28 images.
        InspectError: not a Keras model with one input, or labels that do not match the images.
    """
    labels = np.asarray(y_train)
    if labels.shape[0] != np.shape(x_train)[0]:
        raise InspectError(f"Expected one label per image, got {labels.shape[0]} labels for {len(x_train)} images.")
    rows = stratified_sample(labels, index_size(penultimate_size(model), labels.shape[0], max_images), seed=seed)
    _, features = predict_with_features(model, np.asarray(x_train)[rows])
    return build_index(features, labels[rows], rows)


def image_features(model: Any, image: np.ndarray) -> np.ndarray:
    """The penultimate features of one (28, 28) image, (D,) float32 (see :func:`training_index`)."""
    _, features = predict_with_features(model, one_image_batch(image)[..., 0])
    return features[0]
