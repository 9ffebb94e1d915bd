"""AppTest of the Sketch page's "How robust is the reading?" section alone, on a small model and the built-in digits."""

from __future__ import annotations

import base64
import json
from typing import Any

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from cnnviz.core.datasets import load_dataset
from cnnviz.sketch.robustness import SWEEPS
from tests.support.apptest import APP_TIMEOUT_S
from tests.support.models import tiny_cnn
from tests.support.sections import picked


def _section_script(picked_model, image):  # no annotations: the body runs as a script
    from cnnviz.sketch.sections import robustness_section

    robustness_section(picked_model, image)


def _run(model: Any, image: np.ndarray | None) -> AppTest:
    app = AppTest.from_function(_section_script, args=(picked(model), image), default_timeout=APP_TIMEOUT_S)
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    return app


@pytest.fixture(scope="module")
def model() -> Any:
    return tiny_cnn(num_classes=10, seed=3)


def _chart(app: AppTest, key: str) -> dict[str, Any]:
    (chart,) = [element for element in app.get("plotly_chart") if element.proto.id and key in element.proto.id]
    return json.loads(chart.proto.spec)


def _numbers(value: Any) -> list[float]:
    """A figure array from its JSON: a plain list, or Plotly's typed array {"dtype", "bdata"}."""
    if isinstance(value, dict) and "bdata" in value:
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"])).tolist()
    return list(value)


def test_with_a_drawing_every_sweep_is_charted_and_the_familiarity_is_read(model) -> None:
    image = load_dataset("digits").x_test[0] / 255.0
    app = _run(model, image)
    assert [header.value for header in app.subheader] == ["How robust is the reading?"]
    chooser = app.radio(key="sketch_sweep")
    assert chooser.options == [kind.title for kind in SWEEPS.values()] and chooser.value == "shift_x"
    shift_chart = _chart(app, "sketch_sweep_chart")
    assert len(shift_chart["data"]) == 10  # one line per class
    assert _numbers(shift_chart["data"][0]["x"]) == list(SWEEPS["shift_x"].values)
    text = "\\n".join(markdown.value for markdown in app.markdown)
    assert "from -" in text or "all the way" in text  # where the answer holds
    assert "How digits-like is this drawing?" in text
    (reading,) = [*app.info, *app.warning]
    assert "test images" in reading.value
    assert any("off-centre" in expander.label for expander in app.expander)
    chooser.set_value("rotation").run()
    assert not app.exception
    assert _numbers(_chart(app, "sketch_sweep_chart")["data"][0]["x"]) == list(SWEEPS["rotation"].values)


def test_without_a_drawing_one_caption_says_what_to_do(model) -> None:
    app = _run(model, None)
    assert not app.subheader and not app.get("plotly_chart")
    assert any("Once there is a digit to read (drawn or from a photo)" in caption.value for caption in app.caption)
