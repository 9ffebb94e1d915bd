"""The Inside page's nearest examples: the shared search of cnnviz.core.embedding, with the Inside page's errors.

The search itself is checked against scikit-learn in tests/unit/core/test_embedding.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from cnnviz.core import embedding
from cnnviz.inside.activations import InspectError
from cnnviz.inside.neighbours import NEIGHBOURS, image_features, nearest, training_index
from tests.support.models import sample_images, tiny_cnn


def test_the_inside_page_gets_the_shared_search_and_its_own_error_type() -> None:
    model = tiny_cnn(num_classes=10, seed=2)
    images = sample_images(30, seed=1)
    labels = np.arange(30) % 10
    index = training_index(model, images, labels, max_images=20)
    shared = embedding.training_index(model, images, labels, max_images=20)
    np.testing.assert_array_equal(index.indices, shared.indices)
    query = image_features(model, images[3])
    found = nearest(index, query)
    assert len(found.indices) == NEIGHBOURS
    np.testing.assert_array_equal(found.indices, embedding.nearest(shared, query, k=NEIGHBOURS).indices)
    # The Inside sections turn InspectError into a message, so the shared module's errors arrive as one.
    with pytest.raises(InspectError, match="one label per image"):
        training_index(model, images, labels[:5])
    with pytest.raises(InspectError, match="query of 8 features"):
        nearest(index, np.zeros(3))
    with pytest.raises(InspectError, match="one image"):
        image_features(model, images[:2])
