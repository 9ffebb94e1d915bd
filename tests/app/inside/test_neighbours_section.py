"""AppTest of the "Nearest examples" section alone, with a small model and the built-in digits."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sklearn.neighbors import NearestNeighbors
from streamlit.testing.v1 import AppTest

from cnnviz.core.datasets import load_dataset
from tests.support.models import tiny_cnn
from tests.support.sections import picked as _picked
from tests.support.sections import run_section


def _run(picked, dataset, sketch=None):
    return run_section("neighbours_section", picked, dataset, sketch=sketch)


def _gallery_captions(app: AppTest) -> list[str]:
    figure = json.loads(app.get("plotly_chart")[-1].proto.spec)
    return [annotation["text"] for annotation in figure["layout"]["annotations"]]


@pytest.fixture(scope="module")
def model() -> Any:
    return tiny_cnn(num_classes=10, seed=1)


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


def test_the_nine_nearest_training_images_are_scikit_learns_cosine_neighbours(model, digits) -> None:
    import keras

    app = _run(_picked(model), digits)
    features = keras.Model(model.inputs[0], model.layers[-1].input)
    train = features.predict(digits.x_train[..., None] / 255.0, verbose=0)
    query = features.predict(digits.x_test[:1, :, :, None] / 255.0, verbose=0)
    distances, rows = NearestNeighbors(n_neighbors=9, metric="cosine").fit(train).kneighbors(query)
    expected = [f"{digits.y_train[row]} · {1 - distance:.3f}" for row, distance in zip(rows[0], distances[0])]
    assert _gallery_captions(app) == expected
    assert any(f"Searched {len(digits.y_train):,} training images." in c.value for c in app.caption)


def test_the_index_is_built_once_per_model_version(model, digits, monkeypatch) -> None:
    import cnnviz.inside.widgets as widgets

    calls: list[int] = []
    original = widgets.training_index

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(widgets, "training_index", counting)
    widgets.cached_neighbour_index.clear()
    app = _run(_picked(model, version="first"), digits)
    app.number_input(key="inside_image_index").set_value(5).run()  # another image, same model
    assert not app.exception and len(calls) == 1
    _run(_picked(model, version="retrained"), digits)
    assert len(calls) == 2


def test_a_mistake_can_be_the_starting_image_and_no_data_gets_a_message(model, digits) -> None:
    app = _run(_picked(model), digits)
    app.toggle(key="inside_neighbours_mistakes").set_value(True).run()
    assert not app.exception
    mistake = app.selectbox(key="inside_neighbours_mistake")
    assert mistake.value == 0 and "→" in mistake.format_func(0)
    assert len(_gallery_captions(app)) == 9
    app = _run(_picked(model), None)
    assert any("training images, which could not be loaded" in info.value for info in app.info)
