"""AppTest of the "What excites a filter" section alone, with a small model and the built-in digits."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from cnnviz.core.datasets import load_dataset
from tests.support.models import one_pixel_dense, tiny_cnn
from tests.support.sections import picked as _picked
from tests.support.sections import run_section


def _run(picked, dataset, sketch=None):
    return run_section("excite_section", picked, dataset, sketch=sketch)


def _figures(app: AppTest) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in app.get("plotly_chart")]


def _heatmaps(figure: dict) -> int:
    return sum(trace["type"] == "heatmap" for trace in figure["data"])


@pytest.fixture(scope="module")
def model() -> Any:
    return tiny_cnn(num_classes=10, seed=1)


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


@pytest.fixture(autouse=True)
def empty_store() -> None:
    from cnnviz.inside.widgets import _excitement_store

    store, _ = _excitement_store()
    store.clear()


def test_every_filters_picture_and_its_strongest_test_patches(model, digits) -> None:
    import keras

    app = _run(_picked(model), digits)
    pictures, _, patches, context = _figures(app)
    assert _heatmaps(pictures) == 4  # conv_1 of the tiny model has four filters
    assert _heatmaps(patches) == 9 and _heatmaps(context) == 9
    assert len(context["layout"]["shapes"]) == 9  # one receptive-field frame per image
    outputs = keras.Model(model.inputs[0], model.get_layer("conv_1").output).predict(
        digits.x_test[..., None] / 255.0, verbose=0
    )
    strongest = outputs[..., 2].max(axis=(1, 2))
    app.number_input(key="inside_excite_filter").set_value(2).run()
    captions = [a["text"] for a in _figures(app)[-1]["layout"]["annotations"]]
    best = int(np.argmax(strongest))
    assert captions[0] == f"#{best} · {strongest[best]:.3g}"
    assert any(f"among {len(digits.y_test):,} test images" in caption.value for caption in app.caption)


def test_it_is_computed_once_per_model_version(model, digits, monkeypatch) -> None:
    import cnnviz.inside.widgets as widgets

    calls: list[int] = []
    original = widgets.activation_maximisation

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(widgets, "activation_maximisation", counting)
    app = _run(_picked(model, version="first"), digits)
    app.number_input(key="inside_excite_filter").set_value(3).run()  # another filter of the same layer
    assert not app.exception and len(calls) == 1
    app.selectbox(key="inside_excite_layer").set_value("conv_2").run()  # another layer: computed for it
    assert not app.exception and len(calls) == 2
    assert app.number_input(key="inside_excite_filter").max == 5
    _run(_picked(model, version="retrained"), digits)
    assert len(calls) == 3


def test_without_test_images_only_the_pictures_and_without_conv_layers_a_message(model) -> None:
    app = _run(_picked(model), None)
    assert any("need the test split" in info.value for info in app.info)
    assert _heatmaps(_figures(app)[0]) == 4
    app = _run(_picked(one_pixel_dense(), class_names=("a", "b")), None)
    assert any("no convolution layer" in info.value for info in app.info)
    assert not app.get("plotly_chart")
