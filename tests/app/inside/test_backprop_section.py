"""AppTest of the "Backprop on a filter" section alone, with a small model and the built-in digits."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from cnnviz.core.datasets import load_dataset
from tests.support.models import one_pixel_dense, tiny_cnn
from tests.support.sections import picked as _picked
from tests.support.sections import run_section


def _run(picked, dataset, sketch=None):
    return run_section("backprop_section", picked, dataset, sketch=sketch)


def _metrics(app: AppTest) -> dict[str, float]:
    return {metric.label: float(metric.value) for metric in app.metric}


@pytest.fixture(scope="module")
def model() -> Any:
    return tiny_cnn(num_classes=10, seed=1)


def test_the_loss_and_a_step_of_the_chosen_optimizer_on_a_test_image(model) -> None:
    digits = load_dataset("digits")
    app = _run(_picked(model), digits)
    image = digits.x_test[0][None, :, :, None] / 255.0
    expected = -np.log(model.predict(image, verbose=0)[0, digits.y_test[0]])
    metrics = _metrics(app)
    assert metrics["Loss before"] == pytest.approx(expected, abs=1e-3)
    # The label is the test image's own and cannot be changed.
    label = app.selectbox(key="inside_backprop_label")
    assert (label.value, label.disabled) == (int(digits.y_test[0]), True)
    sgd_after = metrics["Loss after the step"]
    app.selectbox(key="inside_backprop_optimizer").set_value("Adam")
    app.select_slider(key="inside_backprop_rate").set_value(0.001).run()
    assert not app.exception
    assert _metrics(app)["Loss after the step"] != sgd_after
    assert any("weighted patches gives dL/dW" in caption.value for caption in app.caption)
    app.selectbox(key="inside_backprop_layer").set_value("conv_2").run()
    assert app.slider(key="inside_backprop_channel").max == 3  # conv_2 reads conv_1's four maps
    # One of the model's mistakes brings its own (true) label.
    app.toggle(key="inside_backprop_mistakes").set_value(True).run()
    assert not app.exception
    index = int(app.selectbox(key="inside_backprop_mistake").format_func(0).split("#")[1].split(":")[0])
    assert app.selectbox(key="inside_backprop_label").value == digits.y_test[index]
    assert np.argmax(model.predict(digits.x_test[index][None, :, :, None] / 255.0, verbose=0)) != digits.y_test[index]


def test_a_sketch_takes_the_label_the_learner_gives() -> None:
    sketch = np.zeros((28, 28), dtype=np.float32)
    sketch[6:22, 12:16] = 1.0
    app = _run(_picked(tiny_cnn(num_classes=10, seed=1)), None, sketch=sketch)
    label = app.selectbox(key="inside_backprop_label")
    assert not label.disabled
    before = _metrics(app)["Loss before"]
    label.set_value((label.value + 1) % 10).run()
    assert not app.exception
    assert _metrics(app)["Loss before"] != before


def test_a_model_without_conv_layers_gets_a_message() -> None:
    app = _run(_picked(one_pixel_dense(), ("a", "b")), None, sketch=np.eye(28, dtype=np.float32))
    assert any("no convolution layer" in info.value for info in app.info)
    assert not app.get("plotly_chart")
