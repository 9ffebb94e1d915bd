"""What the model "sees": penultimate-layer features and cosine nearest neighbours among training images.

The model's last layer decides from the numbers its penultimate layer gives it (128 for the
default models). Two images that give similar numbers look alike *to the model*, whatever they look
like to us. Similarity is the cosine of the angle between the two feature vectors (1: same direction,
0: nothing in common; ReLU features are never negative, so it stays in [0, 1] for them).

Shared by the Inside page (the nine nearest training images) and the Sketch page (how far a drawing
is from every training image, against typical test images): features never import each other, so
the generic part lives here. The index holds the features of the training split, or of a seeded
stratified sample of it (scikit-learn's ``train_test_split(stratify=...)``) when it is larger than
``max_size``. The search itself is one matrix product in NumPy, ours rather than scikit-learn's
``NearestNeighbors``: for a few thousand rows brute force is what scikit-learn does too, and a matrix
product over all queries at once gives the Sketch page's reference distances for 1,000 test images in
one call. It is checked against ``NearestNeighbors(metric="cosine")`` in the tests.

TensorFlow is not imported at module level: the functions receive an already built Keras model.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Any

import numpy as np

from cnnviz.core.images import to_model_batch

#: How many training images the index holds at most (a stratified sample beyond that).
MAX_INDEX_IMAGES = 8000
#: Most feature numbers the index may hold (rows x features), so a huge penultimate layer stays in memory.
MAX_INDEX_VALUES = 16_000_000
#: Query rows compared with the index in one matrix product (bounds the (rows, index size) similarity block).
QUERY_CHUNK = 1000


class EmbeddingError(ValueError):
    """Features or a model that cannot be searched (the message says what was received and what to do)."""


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


def _check_model(model: Any) -> None:
    inputs = getattr(model, "inputs", None)
    if not inputs or len(inputs) != 1 or not getattr(model, "layers", None):
        raise EmbeddingError(
            f"Expected a built Keras model with one (28, 28, 1) input, got {type(model).__name__}. "
            "Train a model on the Train page or pick a saved one."
        )


#: One feature extractor per model, kept while the model lives: its compiled predict function makes a one-image
#: call ~2 ms instead of ~12-40 ms for a fresh eager call (the Sketch page asks after every stroke).
_EXTRACTORS: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()


def _extractor(model: Any) -> Any:
    """The model's outputs and its last layer's input as one Keras model (cached per model object)."""
    try:
        return _EXTRACTORS[model]
    except (KeyError, TypeError):
        pass
    import keras

    extractor = keras.Model(
        inputs=model.inputs[0], outputs=[model.outputs[0], model.layers[-1].input], name="outputs_and_features"
    )
    try:
        _EXTRACTORS[model] = extractor  # the extractor holds the layers, not the model: the entry dies with it
    except TypeError:  # an object that cannot be weakly referenced: build it each time
        pass
    return extractor


def predict_with_features(
    model: Any, images: np.ndarray, *, batch_size: int = 500, feature_rows: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Return the class probabilities of every image and the penultimate features, in one forward pass.

    Args:
        model: a Functional ``keras.Model`` (input (28, 28, 1) float32 in [0, 1]), in inference mode.
        images: (N, 28, 28) uint8 (or float32 in [0, 1]); one (28, 28) image is a batch of one.
        batch_size: images per forward pass.
        feature_rows: which images' features to keep (sorted indices); default all.

    Returns:
        ``(probabilities, features)``: (N, num_classes) float32 model outputs and
        (len(feature_rows), D) float32 inputs of the model's last layer (what it "sees"),
        flattened when spatial.

    Raises:
        cnnviz.core.images.ModelInputError: not a batch of 28x28 images.
        EmbeddingError: not a Keras model with one input, or a batch size below 1.
    """
    _check_model(model)
    if batch_size < 1:
        raise EmbeddingError(f"Expected a batch size of at least 1, got {batch_size}.")
    batch = to_model_batch(images)
    rows = np.arange(batch.shape[0]) if feature_rows is None else np.asarray(feature_rows, dtype=np.int64)
    extractor = _extractor(model)
    probabilities, features = [], []
    for start in range(0, batch.shape[0], batch_size):
        stop = min(start + batch_size, batch.shape[0])
        output, hidden = extractor.predict_on_batch(batch[start:stop])  # inference mode: dropout off
        probabilities.append(np.asarray(output, dtype=np.float32))
        keep = rows[(rows >= start) & (rows < stop)] - start
        hidden = np.asarray(hidden, dtype=np.float32)
        features.append(hidden.reshape(hidden.shape[0], -1)[keep])
    return np.concatenate(probabilities, axis=0), np.concatenate(features, axis=0)


def penultimate_features(model: Any, images: np.ndarray, *, batch_size: int = 500) -> np.ndarray:
    """The penultimate features of a batch (N, 28, 28) or of one (28, 28) image: (N, D) float32.

    See :func:`predict_with_features` (this keeps only the features).
    """
    return predict_with_features(model, images, batch_size=batch_size)[1]


def unit_rows(features: np.ndarray) -> np.ndarray:
    """Return ``features`` (N, D) with every row divided by its Euclidean length; zero rows stay zero. float32.

    Raises:
        EmbeddingError: not a finite 2-D array.
    """
    array = np.asarray(features, dtype=np.float64)
    if array.ndim != 2:
        raise EmbeddingError(f"Expected features as (N, D), got shape {array.shape}.")
    if not np.all(np.isfinite(array)):
        raise EmbeddingError("Expected finite features, got NaN or infinity: the model may have diverged.")
    lengths = np.linalg.norm(array, axis=1, keepdims=True)
    return np.divide(array, lengths, out=np.zeros_like(array), where=lengths > 0).astype(np.float32)


def sample_rows(labels: np.ndarray, size: int, *, seed: int = 0) -> np.ndarray:
    """Return ``size`` sorted row indices drawn without replacement (all rows when there are not more)."""
    total = int(np.shape(labels)[0]) if np.ndim(labels) else 0
    if size >= total:
        return np.arange(total, dtype=np.int64)
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(total, size=max(0, size), replace=False)).astype(np.int64)


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
        return sample_rows(array, size, seed=seed)
    return np.sort(np.asarray(chosen, dtype=np.int64))


def build_index(features: np.ndarray, labels: np.ndarray, indices: np.ndarray | None = None) -> NeighbourIndex:
    """Return a :class:`NeighbourIndex` from features (N, D), their labels (N,) and training positions (N,).

    Raises:
        EmbeddingError: lengths differ, or features that are not a finite 2-D array.
    """
    rows = unit_rows(features)
    label_array = np.asarray(labels, dtype=np.int64).reshape(-1)
    positions = np.arange(rows.shape[0], dtype=np.int64) if indices is None else np.asarray(indices, np.int64)
    if not rows.shape[0] == label_array.shape[0] == positions.shape[0]:
        raise EmbeddingError(
            f"Expected one label and index per feature row, got {rows.shape[0]} rows, "
            f"{label_array.shape[0]} labels and {positions.shape[0]} indices."
        )
    return NeighbourIndex(features=rows, indices=positions, labels=label_array)


def _similarities(index: NeighbourIndex, queries: np.ndarray) -> np.ndarray:
    """(Q, N) float32 cosine similarity of every query row (Q, D) to every index row."""
    if index.size == 0:
        raise EmbeddingError("The neighbour index is empty: the training split has no images.")
    array = np.asarray(queries, dtype=np.float64)
    if array.ndim != 2 or array.shape[1] != index.features.shape[1]:
        got = array.shape[-1] if array.ndim else 0
        raise EmbeddingError(f"Expected a query of {index.features.shape[1]} features, got {got}.")
    return (unit_rows(array).astype(np.float64) @ index.features.astype(np.float64).T).astype(np.float32)


def nearest(index: NeighbourIndex, query: np.ndarray, k: int = 9) -> Neighbours:
    """Return the ``k`` rows of ``index`` with the largest cosine similarity to ``query`` (D,), most similar first.

    Ties keep the index's order. A zero query is similar to nothing (every similarity 0).

    Raises:
        EmbeddingError: an empty index, or a query whose length is not the index's feature size.
    """
    similarity = _similarities(index, np.asarray(query, dtype=np.float64).reshape(1, -1))[0]
    order = np.argsort(-similarity, kind="stable")[: max(0, min(k, index.size))]
    return Neighbours(indices=index.indices[order], labels=index.labels[order], similarity=similarity[order])


def neighbour_distance(index: NeighbourIndex, queries: np.ndarray, k: int = 9) -> np.ndarray:
    """The mean cosine distance (1 - similarity) from each query row to its ``k`` nearest index rows.

    A small distance: the model sees the query much as it sees some training images. Averaging over a
    few neighbours keeps one odd training image from deciding it.

    Args:
        queries: (Q, D) features, or one (D,) vector.

    Returns:
        (Q,) float32 in [0, 2].

    Raises:
        EmbeddingError: an empty index, a feature size that does not match, or ``k`` below 1.
    """
    if k < 1:
        raise EmbeddingError(f"Expected at least one neighbour to measure the distance to, got k={k}.")
    array = np.asarray(queries, dtype=np.float64)
    array = array.reshape(1, -1) if array.ndim == 1 else array
    count = min(k, index.size) if index.size else k
    distances = []
    for start in range(0, max(1, array.shape[0]), QUERY_CHUNK):
        similarity = _similarities(index, array[start : start + QUERY_CHUNK])
        top = -np.partition(-similarity, count - 1, axis=1)[:, :count]
        distances.append(1.0 - top.astype(np.float64).mean(axis=1))
    return np.concatenate(distances).astype(np.float32)


def index_size(feature_size: int, available: int, max_images: int = MAX_INDEX_IMAGES) -> int:
    """How many training images an index of ``feature_size`` features per image may hold."""
    return int(min(available, max_images, max(500, MAX_INDEX_VALUES // max(1, feature_size))))


def penultimate_size(model: Any) -> int:
    """The number of features the model's last layer receives (its penultimate layer's output, flattened)."""
    _check_model(model)
    shape = model.layers[-1].input.shape[1:]
    return int(np.prod([int(n) for n in shape]))


def training_index(
    model: Any, x_train: np.ndarray, y_train: np.ndarray, *, max_images: int = MAX_INDEX_IMAGES, seed: int = 0
) -> NeighbourIndex:
    """Run (a stratified sample of) the training split through the model and index its penultimate features.

    Build it once per model version (the pages cache it by ``PickedModel.version``): 2.6 to 6.3 s for
    8,000 images through the shipped MNIST model, measured on two cores shared with other work.

    Args:
        model: a Functional ``keras.Model`` (input (28, 28, 1) in [0, 1]).
        x_train: (N, 28, 28) uint8 training images.
        y_train: (N,) their labels.
        max_images: the most images to index (see :func:`index_size`; fewer for a very wide penultimate layer).
        seed: the sample's seed.

    Raises:
        cnnviz.core.images.ModelInputError: not a batch of 28x28 images.
        EmbeddingError: not a Keras model with one input, or labels that do not match the images.
    """
    labels = np.asarray(y_train)
    if labels.ndim != 1 or labels.shape[0] != np.shape(x_train)[0]:
        raise EmbeddingError(
            f"Expected one label per image, got {labels.shape[0] if labels.ndim else 0} labels "
            f"for {np.shape(x_train)[0] if np.ndim(x_train) else 0} images."
        )
    rows = stratified_sample(labels, index_size(penultimate_size(model), labels.shape[0], max_images), seed=seed)
    features = penultimate_features(model, np.asarray(x_train)[rows])
    return build_index(features, labels[rows], rows)


def image_features(model: Any, image: np.ndarray) -> np.ndarray:
    """The penultimate features of one (28, 28) image, (D,) float32 (see :func:`training_index`).

    Raises:
        cnnviz.core.images.ModelInputError: not one 28x28 image.
        EmbeddingError: not a Keras model with one input.
    """
    batch = to_model_batch(image)
    if batch.shape[0] != 1:
        raise EmbeddingError(f"Expected one image, got a batch of {batch.shape[0]}. Pass a single (28, 28) image.")
    return penultimate_features(model, batch[..., 0])[0]
