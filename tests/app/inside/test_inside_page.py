"""AppTest runs of the whole Inside page over a small model put in the session, as the Train page would.

What only the page shows: the model picker, the test split refused for a model of another class
count, the sections chosen and remembered, the caches. Each section alone is tested in
test_sections.py. Numbers are checked against independent computations (Keras's own predict,
scikit-learn's metrics), not against the page's own helpers.
"""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest

from cnnviz.core.records import TrainedModel
from cnnviz.ui.state import SESSION_MODEL_KEY, SKETCH_KEY
from tests.support.apptest import app_test
from tests.support.models import one_pixel_dense, tiny_cnn

DIGITS = tuple(str(digit) for digit in range(10))


@pytest.fixture(scope="module")
def trained() -> TrainedModel:
    """An untrained tiny CNN on the built-in digits, with two fake epoch snapshots of conv_1."""
    model = tiny_cnn(num_classes=10, seed=1)
    kernel = model.get_layer("conv_1").get_weights()[0]
    return TrainedModel(
        model=model, dataset="digits", class_names=DIGITS, filter_snapshots=[kernel * 0.5, kernel]
    )


@pytest.fixture(autouse=True)
def no_saved_models(monkeypatch, tmp_path):
    """Keep the model picker to this session's model (no shipped or saved files)."""
    monkeypatch.setenv("CNNVIZ_MODELS_DIR", str(tmp_path / "models"))


def _open(trained: TrainedModel | None):
    app = app_test("pages/inside.py")
    if trained is not None:
        app.session_state[SESSION_MODEL_KEY] = trained
    return app.run()


def _figures(app) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in app.get("plotly_chart")]


def _titles(app) -> list[str]:
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


def _show(app, section: str):
    app.segmented_control(key="inside_section").set_value(section)
    return app.run()


def test_without_a_model_the_page_explains_and_stops() -> None:
    app = _open(None)
    assert not app.exception
    assert any("No model yet" in info.value for info in app.info)
    assert not app.get("plotly_chart")


def test_feature_maps_for_a_test_image_show_every_layer(trained: TrainedModel) -> None:
    app = _open(trained)
    assert not app.exception, [e.value for e in app.exception]
    titles = _titles(app)
    for layer, shape in [("conv_1", "26×26×4"), ("pool_1", "13×13×4"), ("conv_2", "11×11×6"), ("pool_2", "5×5×6")]:
        assert any(title.startswith(f"{layer} ") and shape in title for title in titles), (layer, titles)
    assert any("dense_1" in title for title in titles)
    assert any("softmax output" in title for title in titles)
    # The sentence under the chooser names the model's own prediction for test image #0.
    from cnnviz.core.datasets import load_dataset

    digits = load_dataset("digits")
    expected = trained.model.predict(digits.x_test[:1, :, :, None] / 255.0, verbose=0)[0]
    sentence = next(m.value for m in app.markdown if m.value.startswith("The model says"))
    assert f"**{int(np.argmax(expected))}** ({expected.max():.0%})" in sentence
    assert f"(true class: {digits.y_test[0]})" in sentence
    assert sentence.endswith(" Right." if int(np.argmax(expected)) == digits.y_test[0] else " Wrong.")


def test_another_image_and_the_sketch_can_be_chosen(trained: TrainedModel) -> None:
    app = app_test("pages/inside.py")
    app.session_state[SESSION_MODEL_KEY] = trained
    sketch = np.zeros((28, 28), np.float32)
    sketch[6:22, 12:15] = 1.0
    app.session_state[SKETCH_KEY] = sketch
    app.run()
    app.number_input(key="inside_image_index").set_value(5).run()
    assert not app.exception
    assert any("test image #5" in m.value for m in app.markdown)
    app.radio(key="inside_image_source").set_value("Your latest drawing or photo").run()
    assert not app.exception
    assert any("for your latest drawing or photo." in m.value for m in app.markdown)


def test_a_model_of_another_class_count_gets_its_sketch_not_the_test_split(trained: TrainedModel) -> None:
    # Two classes on a ten-class dataset: the test split is refused with a message, the sketch still works
    # (even right after a test image was being looked at), and the evaluation says why it has nothing to show.
    app = app_test("pages/inside.py")
    app.session_state[SESSION_MODEL_KEY] = trained
    app.session_state[SKETCH_KEY] = np.eye(28, dtype=np.float32)
    app.run()
    assert app.radio(key="inside_image_source").value == "A test image"
    app.session_state[SESSION_MODEL_KEY] = TrainedModel(
        model=one_pixel_dense(), dataset="digits", class_names=("a", "b")
    )
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    assert any("predicts 2 classes" in warning.value for warning in app.warning)
    assert app.radio(key="inside_image_source").options == ["Your latest drawing or photo"]
    assert any("for your latest drawing or photo." in m.value for m in app.markdown)
    app = _show(app, "Evaluation")
    assert not app.exception
    assert any("needs the test split" in info.value for info in app.info)


def test_the_shipped_mnist_model_is_evaluated_like_its_training_run_measured_it(repo_root, monkeypatch) -> None:
    """With the shipped default model: feature maps of its real layers, and the page's test accuracy
    agrees with the accuracy the training script measured and stored in the sidecar."""
    shipped = repo_root / "models" / "default_mnist.keras"
    if not shipped.exists():
        pytest.skip("models/default_mnist.keras is not installed (tools/train_default_models.py makes it)")
    monkeypatch.setenv("CNNVIZ_MODELS_DIR", str(repo_root / "models"))
    meta = json.loads(shipped.with_suffix(".json").read_text())
    app = _open(None)
    assert not app.exception, [e.value for e in app.exception]
    app.selectbox(key="inside_model").set_value("file:default_mnist").run()
    assert not app.exception, [e.value for e in app.exception]
    assert any(title.startswith("conv_1 (conv) · output 28×28×") for title in _titles(app))
    app = _show(app, "Evaluation")
    assert not app.exception, [e.value for e in app.exception]
    shown = float(next(m.value for m in app.metric if m.label == "Test accuracy").rstrip("%")) / 100
    assert shown == pytest.approx(meta["test_metrics"]["accuracy"], abs=0.002)


def test_reruns_reuse_the_cache_and_a_retrained_model_is_never_stale(trained: TrainedModel, monkeypatch) -> None:
    import cnnviz.inside.widgets as inside

    calls: list[str] = []
    original = inside.compute_activations

    def counting(model, image, layer_names=None):
        calls.append(model.name)
        return original(model, image, layer_names)

    monkeypatch.setattr(inside, "compute_activations", counting)
    inside.cached_activations.clear()
    app = _open(trained)
    app.run()  # a rerun with nothing changed
    assert len(calls) == 1

    # "Retrain": a new model with other weights (and so a new version) replaces the session model.
    retrained = TrainedModel(model=tiny_cnn(num_classes=10, seed=7), dataset="digits", class_names=DIGITS)
    app.session_state[SESSION_MODEL_KEY] = retrained
    app.run()
    assert not app.exception
    assert len(calls) == 2
    from cnnviz.core.datasets import load_dataset

    image = load_dataset("digits").x_test[:1, :, :, None] / 255.0
    expected = retrained.model.predict(image, verbose=0)[0]
    sentence = next(m.value for m in app.markdown if m.value.startswith("The model says"))
    assert f"**{int(np.argmax(expected))}** ({expected.max():.0%})" in sentence


def test_the_section_and_image_survive_a_visit_to_another_page(trained: TrainedModel) -> None:
    app = app_test("app.py")
    app.session_state[SESSION_MODEL_KEY] = trained
    app.run()
    app.switch_page("pages/inside.py").run()
    app.number_input(key="inside_image_index").set_value(3)
    app.segmented_control(key="inside_section").set_value("Saliency").run()
    app.switch_page("pages/data.py").run()
    app.switch_page("pages/inside.py").run()
    assert not app.exception, [e.value for e in app.exception]
    assert app.segmented_control(key="inside_section").value == "Saliency"
    assert app.number_input(key="inside_image_index").value == 3


def test_a_hostile_sidecars_dataset_and_class_names_are_shown_as_typed() -> None:
    """Issue 16, finding 5: a sidecar names the dataset and classes; Inside shows them as plain text."""
    from markdown_it import MarkdownIt

    names = tuple(f"[{digit}](https:evil.example) **b** <b>x</b>" for digit in range(10))
    dataset = "../../etc/passwd [x](https:evil.example) **b**"
    app = app_test("pages/inside.py")
    app.session_state[SESSION_MODEL_KEY] = TrainedModel(
        model=tiny_cnn(num_classes=10, seed=1), dataset=dataset, class_names=names
    )
    app.session_state[SKETCH_KEY] = np.eye(28, dtype=np.float32)
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    [warning] = [w.value for w in app.warning if "could not be loaded" in w.value]
    shown = [warning, *(m.value for m in app.markdown if m.value.startswith("The model says"))]
    assert len(shown) == 2
    for markdown in shown:
        html = MarkdownIt("commonmark").render(markdown)
        assert "<a " not in html and "<b>" not in html and html.count("<strong>") <= 1, html
    assert dataset in warning.replace("\\", "")
