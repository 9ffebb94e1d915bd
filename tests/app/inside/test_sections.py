"""AppTest.from_function runs of each Inside section alone, given a small model and the built-in digits.

Cheaper than the page (no model picker, no other section drawn first). The numbers shown are checked
against independent computations (Keras's own predict, scikit-learn's metrics).
"""

from __future__ import annotations

import base64
import json
from typing import Any

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, confusion_matrix
from streamlit.testing.v1 import AppTest

from cnnviz.core.datasets import load_dataset
from cnnviz.core.records import TrainedModel
from cnnviz.ui.models import PickedModel
from tests.support.models import one_pixel_dense, tiny_cnn
from tests.support.sections import DIGITS
from tests.support.sections import picked as _picked
from tests.support.sections import run_section as _run_named


def _figures(app: AppTest) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in app.get("plotly_chart")]


def _titles(app: AppTest) -> list[str]:
    titles = []
    for figure in _figures(app):
        title = figure.get("layout", {}).get("title", {})
        titles.append(title.get("text", "") if isinstance(title, dict) else str(title))
    return titles


def _array(value) -> np.ndarray:
    """A figure array from its JSON: a plain list, or Plotly's typed array {"dtype", "bdata", "shape"}."""
    if isinstance(value, dict) and "bdata" in value:
        data = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
        shape = value.get("shape")
        if shape:
            data = data.reshape([int(n) for n in str(shape).split(",")])
        return data
    return np.asarray(value)


def _first_filter(figure: dict) -> np.ndarray:
    """Filter 0 (3x3) of a filter mosaic, read back through its pixels' hover data (filter, row, column)."""
    z, where = _array(figure["data"][0]["z"]), _array(figure["data"][0]["customdata"])
    mask = np.isfinite(z) & (where[..., 0] == 0)
    kernel = np.full((3, 3), np.nan)
    kernel[where[mask][:, 1], where[mask][:, 2]] = z[mask]
    return kernel


def _column_formats(table: Any) -> dict[str, dict]:
    """The number formats a dataframe's column_config asks the browser for, by column."""
    configs = json.loads(table.proto.columns)
    return {name: config.get("type_config", {}) for name, config in configs.items() if config.get("type_config")}


@pytest.fixture(scope="module")
def model() -> Any:
    """An untrained tiny CNN for the ten digit classes."""
    return tiny_cnn(num_classes=10, seed=1)


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


def test_filters_of_any_layer_and_the_epoch_replay(model) -> None:
    kernel = model.get_layer("conv_1").get_weights()[0]
    snapshots = [kernel * 0.5, kernel]
    app = _run_named("filters_section", model, snapshots)
    assert any("conv_1: 4 filters of 3×3" in title for title in _titles(app))
    replay = app.slider(key="inside_snapshot_epoch")
    assert (replay.min, replay.max, replay.value) == (1, 2, 2)
    replay.set_value(1).run()
    figure = _figures(app)[-1]
    assert "after epoch 1 of 2" in figure["layout"]["title"]["text"]
    # Epoch 1's weights are drawn on the colour range of all epochs (the larger, final ones).
    bound = float(np.abs(snapshots[-1]).max())
    assert figure["data"][0]["zmax"] == pytest.approx(bound, rel=1e-5)
    np.testing.assert_allclose(_first_filter(figure), snapshots[0][:, :, 0, 0], rtol=1e-5)
    app.selectbox(key="inside_filter_layer").set_value("conv_2").run()
    assert not app.exception
    app.slider(key="inside_filter_channel").set_value(3).run()
    assert any("conv_2: 6 filters of 3×3, input channel 3" in title for title in _titles(app))


def test_saliency_for_the_predicted_and_a_chosen_class(model, digits) -> None:
    app = _run_named("saliency_section", _picked(model), digits)
    titles = [title for title in _titles(app) if title]
    predicted = int(np.argmax(model.predict(digits.x_test[:1, :, :, None] / 255.0, verbose=0)[0]))
    assert any(title.startswith(f"Predicted class: {predicted} (") for title in titles), titles
    app.selectbox(key="inside_saliency_class").set_value(7).run()
    assert not app.exception
    assert any(title.startswith("Chosen class: 7") for title in _titles(app))


def test_evaluation_matches_scikit_learn_and_a_chosen_cell_lists_its_images(model, digits) -> None:
    predictions = model.predict(digits.x_test[..., None] / 255.0, verbose=0).argmax(axis=1)
    app = _run_named("evaluation_section", _picked(model), digits)
    metrics = {metric.label: metric.value for metric in app.metric}
    assert metrics["Test accuracy"] == f"{accuracy_score(digits.y_test, predictions):.2%}"
    assert metrics["Test images"] == f"{len(digits.y_test):,}"
    assert metrics["Mistakes"] == f"{int(np.sum(predictions != digits.y_test)):,}"
    reference = confusion_matrix(digits.y_test, predictions, labels=range(10))
    # It starts on the most common mistake.
    off_diagonal = reference - np.diag(np.diag(reference))
    worst = np.unravel_index(int(np.argmax(off_diagonal)), reference.shape)
    assert (app.selectbox(key="inside_cell_true").value, app.selectbox(key="inside_cell_predicted").value) == worst
    true_class, predicted_class = 3, int(np.argmax(reference[3]))
    app.selectbox(key="inside_cell_true").set_value(true_class)
    app.selectbox(key="inside_cell_predicted").set_value(predicted_class).run()
    assert not app.exception
    sentence = next(m.value for m in app.markdown if "test images of" in m.value)
    assert sentence.startswith(f"**{reference[true_class, predicted_class]}** test images of **3**")
    gallery = next(f for f in _figures(app) if f["layout"].get("annotations", [{}])[0].get("text", "").startswith("#"))
    assert len([t for t in gallery["data"] if t["type"] == "heatmap"]) == min(16, reference[3, predicted_class])
    # The per-class table: precision, recall and F1 in percent points, all with one decimal (issue 15).
    table = app.dataframe[0]
    np.testing.assert_allclose(
        table.value["recall"].to_numpy(), 100 * np.diag(reference) / reference.sum(axis=1), rtol=1e-6
    )
    formats = {name: config["format"] for name, config in _column_formats(table).items()}
    assert formats == {"precision": "%.1f%%", "recall": "%.1f%%", "F1": "%.1f%%"}
    # Each mistake's caption: the classes on one line, the confidence on the next, four images a row.
    mistakes = next(f for f in _figures(app) if "→" in f["layout"].get("annotations", [{}])[0].get("text", ""))
    assert all("<br>" in a["text"] for a in mistakes["layout"]["annotations"])
    assert len({round(a["x"], 3) for a in mistakes["layout"]["annotations"]}) == 4


def test_the_evaluation_is_computed_once_per_model_version(model, digits, monkeypatch) -> None:
    import cnnviz.inside.widgets as widgets

    calls: list[int] = []
    original = widgets.predict_with_features

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(widgets, "predict_with_features", counting)
    widgets.cached_test_results.clear()
    app = _run_named("evaluation_section", _picked(model, version="first"), digits)
    app.selectbox(key="inside_cell_true").set_value(0).run()  # a rerun with the same model
    assert len(calls) == 1
    _run_named("evaluation_section", _picked(model, version="retrained"), digits)  # a new version is never served stale
    assert len(calls) == 2


def test_a_model_without_conv_layers_is_explained_not_crashed() -> None:
    odd = one_pixel_dense()
    app = _run_named("filters_section", odd, [])
    assert any("no convolution layer" in info.value for info in app.info)
    # Without a usable test split the sketch is explained, and Grad-CAM says why it is missing.
    app = _run_named("saliency_section", _picked(odd, ("a", "b")), None, sketch=np.eye(28, dtype=np.float32))
    assert any("No Grad-CAM" in caption.value for caption in app.caption)
    # Drawn or uploaded: the stored input does not say, so it is named as either (issue 15).
    assert any(title.endswith("for your latest drawing or photo") for title in _titles(app))
    app = _run_named("evaluation_section", _picked(odd, ("a", "b")), None)
    assert any("needs the test split" in info.value for info in app.info)


def test_the_filters_section_replays_this_sessions_training_and_a_bad_image_gets_a_message(model) -> None:
    kernel = model.get_layer("conv_1").get_weights()[0]
    trained = TrainedModel(model=model, dataset="digits", class_names=DIGITS, filter_snapshots=[kernel] * 3)
    picked = PickedModel(model=model, label="", dataset="digits", class_names=DIGITS, version="v", trained=trained)
    app = _run_named("show_section", "Filters", picked, None)
    assert app.slider(key="inside_snapshot_epoch").max == 3
    # A sketch that is not a picture (NaN pixels) is explained in a message, not a traceback.
    broken = np.full((28, 28), np.nan, dtype=np.float32)
    app = _run_named("show_section", "Feature maps", picked, None, sketch=broken)
    assert any("could not be computed" in error.value and "finite" in error.value for error in app.error)


@pytest.mark.slow
def test_a_model_trained_by_the_training_code_replays_its_filters_epoch_by_epoch(digits) -> None:
    """Integration with the Train page's code: build_model + train_model fill filter_snapshots, one per epoch,
    and the section replays them; the last one is the trained conv_1 kernel itself."""
    from cnnviz.train.loop import TrainConfig, prepare_data, train_model
    from cnnviz.train.spec import ConvBlockSpec, ModelSpec, build_model

    spec = ModelSpec(conv_blocks=(ConvBlockSpec(filters=4), ConvBlockSpec(filters=8)), dense_units=(16,))
    trained_model = build_model(spec, digits.num_classes, seed=0)
    config = TrainConfig(epochs=3, batch_size=64, train_size=600, early_stopping=False, seed=0)
    result = train_model(trained_model, prepare_data(digits, config), config)
    assert len(result.filter_snapshots) == 3
    app = _run_named("filters_section", trained_model, result.filter_snapshots)
    replay = app.slider(key="inside_snapshot_epoch")
    assert (replay.max, replay.value) == (3, 3)
    last = _first_filter(_figures(app)[-1])
    np.testing.assert_allclose(last, trained_model.get_layer("conv_1").get_weights()[0][:, :, 0, 0], rtol=1e-5)
    replay.set_value(1).run()
    first = _first_filter(_figures(app)[-1])
    assert not np.allclose(first, last), "the filters should have changed between epoch 1 and epoch 3"


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ("Backprop on a filter", "no convolution layer"),
        ("What excites a filter", "no convolution layer"),
        ("Nearest examples", "training images, which could not be loaded"),
    ],
)
def test_the_new_sections_are_reached_through_show_section(section: str, message: str) -> None:
    odd = one_pixel_dense()
    app = _run_named("show_section", section, _picked(odd, ("a", "b")), None, sketch=np.eye(28, dtype=np.float32))
    assert any(message in info.value for info in app.info)
