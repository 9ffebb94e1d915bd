"""AppTest checks of the Sketch page, with ``st_canvas`` replaced by a stub that returns a drawn array.

The real ``streamlit_drawable_canvas`` registers its front-end files on import and
so only imports inside a running app; the page imports it lazily (in
:func:`cnnviz.sketch.widgets.sketch_canvas`), which lets these tests put a stub module
in ``sys.modules`` first.
"""

from __future__ import annotations

import base64
import io
import sys
import types
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from cnnviz.core.store import save_model
from cnnviz.ui.links import LINK_KEY, Link
from cnnviz.ui.state import SKETCH_KEY, SKETCH_SOURCE_KEY
from tests.support.apptest import app_test
from tests.support.paths import REPO_ROOT
from tools.synthetic import draw_sketch

PAGE = "pages/sketch.py"


class FakeCanvas:
    """Stands in for streamlit_drawable_canvas: returns ``drawing`` and records every call's arguments."""

    def __init__(self) -> None:
        self.drawing: np.ndarray | None = None
        self.strokes: dict[str, Any] = {"objects": []}
        self.calls: list[dict[str, Any]] = []

    def st_canvas(self, **kwargs: Any) -> types.SimpleNamespace:
        self.calls.append(kwargs)
        return types.SimpleNamespace(image_data=self.drawing, json_data=self.strokes)


@pytest.fixture
def canvas(monkeypatch: pytest.MonkeyPatch) -> FakeCanvas:
    fake = FakeCanvas()
    module = types.ModuleType("streamlit_drawable_canvas")
    module.st_canvas = fake.st_canvas  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "streamlit_drawable_canvas", module)
    return fake


@pytest.fixture
def tiny_models_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_model: Any) -> Path:
    """A models folder holding the (untrained) tiny model saved as the shipped MNIST model."""
    folder = tmp_path / "models"
    meta = {"dataset": "mnist", "class_names": [str(i) for i in range(10)], "test_metrics": {"accuracy": 0.1}}
    save_model(tiny_model, "default_mnist", meta, models_dir=folder)
    monkeypatch.setenv("CNNVIZ_MODELS_DIR", str(folder))
    return folder


def _canvas_drawing(label: int, seed: int = 0) -> np.ndarray:
    """An RGBA array as the canvas returns it: white strokes on an opaque black background."""
    rgb = draw_sketch(label, np.random.default_rng(seed), convention="white_on_black")
    return np.dstack([rgb, np.full(rgb.shape[:2], 255, dtype=np.uint8)])


def test_before_drawing_the_page_invites_a_drawing(canvas: FakeCanvas, tiny_models_dir: Path) -> None:
    at = app_test(PAGE).run()
    assert not at.exception
    assert any("Draw a digit" in info.value for info in at.info)
    assert canvas.calls and canvas.calls[0]["return_image_data"] is True
    assert canvas.calls[0]["width"] == canvas.calls[0]["height"] == 280
    assert canvas.calls[0]["stroke_width"] == at.slider(key="sketch_brush").value
    assert SKETCH_KEY not in at.session_state


def test_a_drawing_is_preprocessed_predicted_and_kept(canvas: FakeCanvas, tiny_models_dir: Path) -> None:
    canvas.drawing = _canvas_drawing(7)
    at = app_test(PAGE).run()
    assert not at.exception
    assert [h.value for h in at.subheader][0].startswith("Prediction:")
    assert len(at.metric) == 3
    assert {m.label for m in at.metric} == {"Guess 1", "Guess 2", "Guess 3"}
    sketch = at.session_state[SKETCH_KEY]
    assert sketch.shape == (28, 28) and sketch.dtype == np.float32 and sketch.max() == pytest.approx(1.0)
    assert at.session_state[SKETCH_SOURCE_KEY] == "sketch"
    assert "Centre in 28x28" in at.markdown[-1].value or any("Centre in 28x28" in m.value for m in at.markdown)


def test_brush_width_reaches_the_canvas(canvas: FakeCanvas, tiny_models_dir: Path) -> None:
    at = app_test(PAGE).run()
    at.slider(key="sketch_brush").set_value(33).run()
    assert canvas.calls[-1]["stroke_width"] == 33


def test_an_empty_canvas_explains_instead_of_failing(canvas: FakeCanvas, tiny_models_dir: Path) -> None:
    canvas.drawing = np.zeros((280, 280, 4), dtype=np.uint8)
    canvas.drawing[..., 3] = 255  # an opaque black canvas with nothing drawn (after "clear")
    at = app_test(PAGE).run()
    assert not at.exception
    assert any("empty" in info.value for info in at.info)
    assert not at.metric


def test_clear_empties_the_same_canvas_and_ignores_the_picture_from_before(
    canvas: FakeCanvas, tiny_models_dir: Path
) -> None:
    canvas.drawing, canvas.strokes = _canvas_drawing(1), {"objects": [{"type": "path", "path": [["M", 1, 2]]}]}
    at = app_test(PAGE).run()
    first, first_strokes = canvas.calls[-1], canvas.strokes
    # Until the browser has loaded the empty drawing, the component still reports the old picture.
    at.button(key="sketch_clear").click().run()
    assert not at.exception
    cleared = canvas.calls[-1]
    assert cleared["key"] == first["key"]  # no new canvas to mount (a fresh one sometimes never got ready)
    assert cleared["initial_drawing"]["objects"] == [] and cleared["initial_drawing"] != first["initial_drawing"]
    assert any("Draw a digit" in info.value for info in at.info) and not at.subheader
    # Then it sends the empty canvas (still "draw a digit"), then a new stroke is read.
    empty = np.zeros_like(canvas.drawing)
    empty[..., 3] = 255
    canvas.drawing, canvas.strokes = empty, {"objects": []}
    at.run()
    assert any("Draw a digit" in info.value for info in at.info)
    # Even the very same stroke drawn again is new now.
    canvas.drawing, canvas.strokes = _canvas_drawing(1), first_strokes
    at.run()
    assert at.subheader[0].value.startswith("Prediction:")
    # The canvas keeps the cleared drawing from now on: it is not reloaded on every run.
    assert canvas.calls[-1]["initial_drawing"] == cleared["initial_drawing"]


def test_without_any_model_the_page_says_how_to_get_one(
    canvas: FakeCanvas, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CNNVIZ_MODELS_DIR", str(tmp_path / "empty"))
    at = app_test(PAGE).run()
    assert not at.exception
    assert any("No model yet" in info.value for info in at.info)
    assert not canvas.calls


@pytest.mark.slow
def test_shipped_model_reads_drawn_digits(canvas: FakeCanvas, monkeypatch: pytest.MonkeyPatch) -> None:
    """Through the whole page, the real shipped MNIST model gives the library's answer and reads most digits.

    (Its accuracy is measured on 600 sketches in tests/unit/test_synthetic.py; here one per digit.)
    """
    from cnnviz.core.predict import predict_probabilities
    from cnnviz.core.store import load_default_model
    from cnnviz.sketch.preprocess import sketch_to_input

    models = REPO_ROOT / "models"
    monkeypatch.setenv("CNNVIZ_MODELS_DIR", str(models))
    assert (models / "default_mnist.keras").is_file(), "run tools/train_default_models.py"
    model = load_default_model("mnist", models_dir=models)
    at = app_test(PAGE)
    correct = 0
    for label in range(10):
        canvas.drawing = _canvas_drawing(label, seed=100 + label)
        at.run()
        assert not at.exception
        expected = int(np.argmax(predict_probabilities(model, sketch_to_input(canvas.drawing))))
        heading = at.subheader[0].value
        assert heading in (f"Prediction: {expected}", f"Prediction: unsure (best guess {expected})")
        correct += heading == f"Prediction: {label}"
    assert correct >= 8


def _png(array: np.ndarray) -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def test_a_photo_upload_goes_through_the_photo_steps(canvas: FakeCanvas, tiny_models_dir: Path) -> None:
    # Dark ink on unevenly lit paper, as a phone photo of a written digit.
    ink = draw_sketch(4, np.random.default_rng(1), convention="white_on_black")[..., 0].astype(np.float64) / 255
    paper = 230 * np.linspace(0.5, 1.0, ink.shape[1])[np.newaxis, :] * np.ones((ink.shape[0], 1))
    photo = np.clip(paper * (1 - 0.7 * ink), 0, 255).astype(np.uint8)
    at = app_test(PAGE).run()
    at.radio(key="sketch_source").set_value("Upload a photo").run()
    assert len(canvas.calls) == 1  # only the first run drew the canvas: photo mode shows the upload instead
    at.file_uploader(key="sketch_photo").upload("four.png", _png(photo), "image/png").run()
    assert not at.exception
    assert at.subheader[0].value.startswith("Prediction:")
    steps_text = "\n".join(m.value for m in at.markdown)
    assert "Threshold (Otsu" in steps_text and "Even lighting and contrast" in steps_text
    assert at.session_state[SKETCH_SOURCE_KEY] == "photo"  # Inside names it a photo, not a sketch


def test_a_file_that_is_not_an_image_is_refused_politely(canvas: FakeCanvas, tiny_models_dir: Path) -> None:
    at = app_test(PAGE).run()
    at.radio(key="sketch_source").set_value("Upload a photo").run()
    assert [info.value for info in at.info] == ["Upload a photo of one digit written on paper: the prediction "
                                                "appears here."]
    at.file_uploader(key="sketch_photo").upload("digit.png", b"this is not a picture", "image/png").run()
    assert not at.exception
    assert at.error and not at.metric
    assert not at.info  # the error under the upload says what is wrong; no "upload a photo" beside it


def test_a_fashion_model_gets_its_class_names_and_framing(
    canvas: FakeCanvas, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_model: Any
) -> None:
    folder = tmp_path / "models"
    names = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
    meta = {"dataset": "fashion_mnist", "class_names": names}
    save_model(tiny_model, "default_fashion_mnist", meta, models_dir=folder)
    monkeypatch.setenv("CNNVIZ_MODELS_DIR", str(folder))
    canvas.drawing = _canvas_drawing(0)
    at = app_test(PAGE).run()  # no default_mnist here: the picker falls back to what there is
    assert not at.exception
    assert "piece of clothing" in at.caption[0].value
    assert {m.value for m in at.metric} <= set(names)
    assert any("Scale into 28x28" in m.value for m in at.markdown)


def test_hostile_dataset_and_class_names_show_as_typed(
    canvas: FakeCanvas, tiny_models_dir: Path, tiny_model: Any
) -> None:
    from cnnviz.core.records import TrainedModel
    from cnnviz.ui.state import SESSION_MODEL_KEY

    link, bold = "[x](https:evil.example)", "**bold**"
    canvas.drawing = _canvas_drawing(3)
    at = app_test(PAGE)
    at.session_state[SESSION_MODEL_KEY] = TrainedModel(model=tiny_model, dataset=link, class_names=(bold,) * 10)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    shown = [at.caption[0].value, at.subheader[0].value, *(w.value for w in at.warning)]
    assert r"\[x\]\(https\:evil\.example\)" in shown[0] and r"\*\*bold\*\*" in shown[1]
    for text in shown:
        assert "](" not in text and "**bold**" not in text


def test_a_dot_asks_for_a_bigger_digit_instead_of_predicting(canvas: FakeCanvas, tiny_models_dir: Path) -> None:
    dot = np.zeros((280, 280, 4), dtype=np.uint8)
    dot[..., 3] = 255
    yy, xx = np.ogrid[:280, :280]
    dot[(yy - 140) ** 2 + (xx - 140) ** 2 <= 100, :3] = 255  # one click of the 20-pixel brush
    canvas.drawing = dot
    at = app_test(PAGE).run()
    assert not at.exception
    assert any("draw a bigger digit" in info.value for info in at.info)
    assert not at.metric and not at.subheader


def test_draw_upload_draw_keeps_the_drawing_and_clear_forgets_it(canvas: FakeCanvas, tiny_models_dir: Path) -> None:
    canvas.drawing, canvas.strokes = _canvas_drawing(7), {"objects": [{"type": "path", "path": [["M", 1, 2]]}]}
    at = app_test(PAGE).run()
    assert canvas.calls[-1]["initial_drawing"]["objects"] == []
    at.radio(key="sketch_source").set_value("Upload a photo").run()
    # Back to Draw: the canvas is mounted again and sends nothing until the next stroke.
    canvas.drawing, canvas.strokes = None, {"objects": []}
    at.radio(key="sketch_source").set_value("Draw").run()
    assert not at.exception
    assert canvas.calls[-1]["initial_drawing"] == {"objects": [{"type": "path", "path": [["M", 1, 2]]}]}
    assert at.subheader[0].value.startswith("Prediction:")  # the parked drawing is still read
    at.button(key="sketch_clear").click().run()
    assert canvas.calls[-1]["initial_drawing"]["objects"] == []
    assert any("Draw a digit" in info.value for info in at.info)


def test_a_drawing_opens_inside_on_it_and_back_finds_the_drawing(
    canvas: FakeCanvas, tiny_models_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Under AppTest each run through app.py sees pages/ afresh, so require_router() would rerun every time and
    # a link or back button would never see its click; a real server clears that flag once.
    monkeypatch.setattr("cnnviz.ui.layout.require_router", lambda: None)
    strokes = {"objects": [{"type": "path", "path": [["M", 1, 2]]}]}
    canvas.drawing, canvas.strokes = _canvas_drawing(7), strokes
    app = app_test("app.py").run()
    app.switch_page(PAGE).run()
    assert not app.exception, [e.value for e in app.exception]
    drawn = app.session_state[SKETCH_KEY]
    app.button(key="sketch_inside_link").click().run()
    assert not app.exception, [e.value for e in app.exception]
    assert any(b.label == "Back to Sketch" for b in app.button)  # on Inside, opened by the link
    linked = app.session_state["inside_linked_image"]
    np.testing.assert_array_equal(linked["image"], drawn)
    assert linked["source"] == "sketch"
    # Back: the canvas is mounted again with the strokes, and the drawing is still read before the next stroke.
    canvas.drawing, canvas.strokes = None, {"objects": []}
    next(b for b in app.button if b.label == "Back to Sketch").click().run()
    assert not app.exception, [e.value for e in app.exception]
    assert canvas.calls[-1]["initial_drawing"] == strokes
    assert app.subheader[0].value.startswith("Prediction:")


def test_a_link_naming_a_saved_model_selects_it(canvas: FakeCanvas, tiny_models_dir: Path, tiny_model: Any) -> None:
    meta = {"dataset": "mnist", "class_names": [str(i) for i in range(10)], "test_metrics": {"accuracy": 0.2}}
    save_model(tiny_model, "my_run", meta, models_dir=tiny_models_dir)
    at = app_test(PAGE)
    at.session_state[LINK_KEY] = Link(page=PAGE, payload={"model": "my_run.keras"}, origin="pages/train.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.selectbox(key="sketch_model").value == "file:my_run"
    assert any(b.label == "Back to Train" for b in at.button)
    at.run()  # read once: the learner's later choice is theirs
    at.selectbox(key="sketch_model").set_value("file:default_mnist").run()
    assert at.selectbox(key="sketch_model").value == "file:default_mnist"


def test_a_link_without_a_model_is_ignored_with_a_note(canvas: FakeCanvas, tiny_models_dir: Path) -> None:
    at = app_test(PAGE)
    at.session_state[LINK_KEY] = Link(page=PAGE, payload={"model": 42}, origin="pages/train.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("named no model" in warning.value for warning in at.warning)
    assert at.selectbox(key="sketch_model").value == "file:default_mnist"


class FakeCompanion:
    """Stands in for the canvas's companion script (``cnnviz.sketch.widgets._companion``): returns ``state``."""

    def __init__(self) -> None:
        self.state: dict[str, Any] = {"frame": None, "armed": True}
        self.calls: list[dict[str, Any]] = []

    def __call__(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        return dict(self.state)


@pytest.fixture
def companion(monkeypatch: pytest.MonkeyPatch) -> FakeCompanion:
    import cnnviz.sketch.widgets as widgets

    fake = FakeCompanion()
    monkeypatch.setattr(widgets, "_companion", lambda: fake)
    return fake


def _frame(image: np.ndarray, seq: int) -> dict[str, Any]:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return {"seq": seq, "png": "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")}


def test_where_the_browser_clears_clear_does_not_reload_the_canvas(
    canvas: FakeCanvas, companion: FakeCompanion, tiny_models_dir: Path
) -> None:
    canvas.drawing, canvas.strokes = _canvas_drawing(1), {"objects": [{"type": "path", "path": [["M", 1, 2]]}]}
    at = app_test(PAGE).run()
    first = canvas.calls[-1]
    assert companion.calls[-1]["data"]["browserClear"] is True
    at.button(key="sketch_clear").click().run()
    assert not at.exception
    # The companion script emptied the canvas at the click: a new initial drawing would wipe the next stroke.
    assert canvas.calls[-1]["initial_drawing"] == first["initial_drawing"]
    assert any("Draw a digit" in info.value for info in at.info) and not at.subheader  # not the old picture


def test_a_frame_of_the_stroke_in_progress_is_read_while_drawing(
    canvas: FakeCanvas, companion: FakeCompanion, tiny_models_dir: Path
) -> None:
    at = app_test(PAGE).run()
    assert not any("While drawing:" in m.value for m in at.markdown)
    companion.state["frame"] = _frame(_canvas_drawing(7), seq=4)
    at.run()
    assert not at.exception
    reading = [m.value for m in at.markdown if m.value.startswith("**While drawing:**")]
    assert len(reading) == 1 and "update 4" in reading[0]
    assert not at.subheader  # the mouse is still down: no released stroke, no authoritative prediction
    # Released: the canvas sends the stroke and the reading gives way to the prediction.
    canvas.drawing, canvas.strokes = _canvas_drawing(7), {"objects": [{"type": "path", "path": [["M", 1, 2]]}]}
    at.run()
    assert not at.exception and at.subheader
    assert not any("While drawing:" in m.value for m in at.markdown)
    # The next stroke's frames are read again; one that is not a canvas picture is ignored without a word.
    companion.state["frame"] = _frame(_canvas_drawing(1), seq=5)
    at.run()
    assert any("update 5" in m.value for m in at.markdown if m.value.startswith("**While drawing:**"))
    companion.state["frame"] = {"seq": 6, "png": "data:image/png;base64,bm90IGEgcGljdHVyZQ=="}
    at.run()
    assert not at.exception and not at.error
    assert not any("While drawing:" in m.value for m in at.markdown)
    # Clear retires the frame of the cleared drawing too.
    companion.state["frame"] = _frame(_canvas_drawing(1), seq=7)
    at.run()
    assert any("update 7" in m.value for m in at.markdown)
    at.button(key="sketch_clear").click().run()
    assert not any("While drawing:" in m.value for m in at.markdown)
    # Back from another page, the script counts its frames from 1 again: they are read, not taken for old ones.
    companion.state["frame"] = None
    at.run()
    companion.state["frame"] = _frame(_canvas_drawing(1), seq=1)
    at.run()
    assert any("update 1" in m.value for m in at.markdown if m.value.startswith("**While drawing:**"))
