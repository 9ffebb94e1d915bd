"""Which training images does the model think this image resembles? Nearest neighbours in the penultimate layer.

The computation (penultimate features, the cosine index of training images, the search) is shared with
the Sketch page and lives in :mod:`cnnviz.core.embedding`. This module is the Inside page's door to it:
how many neighbours the page shows, and the Inside page's error type (:class:`InspectError`, which the
page's sections turn into a message), so the sections catch one family of errors as before.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from cnnviz.core.embedding import MAX_INDEX_IMAGES, EmbeddingError, NeighbourIndex, Neighbours
from cnnviz.core.embedding import image_features as _image_features
from cnnviz.core.embedding import nearest as _nearest
from cnnviz.core.embedding import training_index as _training_index
from cnnviz.inside.activations import InspectError

__all__ = ["NEIGHBOURS", "NeighbourIndex", "Neighbours", "image_features", "nearest", "training_index"]

#: How many neighbours the page shows.
NEIGHBOURS = 9


@contextmanager
def _as_inspect_error() -> Iterator[None]:
    try:
        yield
    except EmbeddingError as error:
        raise InspectError(str(error)) from error


def training_index(
    model: Any, x_train: np.ndarray, y_train: np.ndarray, *, max_images: int = MAX_INDEX_IMAGES, seed: int = 0
) -> NeighbourIndex:
    """The index of (a stratified sample of) the training split; see :func:`cnnviz.core.embedding.training_index`.

    Raises:
        cnnviz.core.images.ModelInputError: not a batch of 28x28 images.
        InspectError: not a Keras model with one input, or labels that do not match the images.
    """
    with _as_inspect_error():
        return _training_index(model, x_train, y_train, max_images=max_images, seed=seed)


def image_features(model: Any, image: np.ndarray) -> np.ndarray:
    """The penultimate features of one (28, 28) image, (D,) float32; see :func:`cnnviz.core.embedding.image_features`.

    Raises:
        cnnviz.core.images.ModelInputError: not a 28x28 image.
        InspectError: a batch of several images, or not a Keras model with one input.
    """
    with _as_inspect_error():
        return _image_features(model, image)


def nearest(index: NeighbourIndex, query: np.ndarray, k: int = NEIGHBOURS) -> Neighbours:
    """The ``k`` training images most similar to ``query`` (D,); see :func:`cnnviz.core.embedding.nearest`.

    Raises:
        InspectError: an empty index, or a query whose length is not the index's feature size.
    """
    with _as_inspect_error():
        return _nearest(index, query, k)
