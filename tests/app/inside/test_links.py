"""Links to, from and within the Inside page (issue 15, item 6), through the studio's router (app.py).

cnnviz.ui.links itself (read once, back, remember) is tested in tests/app/ui; here: what Inside sends and
what it opens, and that the learner's place survives the round trip.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from cnnviz.core.datasets import load_dataset
from cnnviz.core.records import TrainedModel
from cnnviz.ui.links import BACK_KEY, LINK_KEY, Link
from cnnviz.ui.state import SESSION_MODEL_KEY
from tests.support.apptest import app_test
from tests.support.models import tiny_cnn

DIGITS = tuple(str(digit) for digit in range(10))


@pytest.fixture(scope="module")
def trained() -> TrainedModel:
    return TrainedModel(model=tiny_cnn(num_classes=10, seed=1), dataset="digits", class_names=DIGITS)


@pytest.fixture(autouse=True)
def no_saved_models(monkeypatch, tmp_path):
    monkeypatch.setenv("CNNVIZ_MODELS_DIR", str(tmp_path / "models"))


@pytest.fixture(autouse=True)
def no_legacy_rerun(monkeypatch):
    """Under AppTest every run of a page through app.py starts a fresh PagesManager that sees pages/ and sets
    the legacy flag, so require_router() reruns each time and a plain ``if st.button(...)`` (the link and back
    buttons) never sees its click. A real server clears the flag once; here the pages run without it."""
    monkeypatch.setattr("cnnviz.ui.layout.require_router", lambda: None)


def _inside(trained: TrainedModel | None, link: Link | None = None):
    app = app_test("app.py")
    if trained is not None:
        app.session_state[SESSION_MODEL_KEY] = trained
    app.run()
    if link is not None:
        app.session_state[LINK_KEY] = link
    app.switch_page("pages/inside.py").run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def _buttons(app) -> list[str]:
    return [button.label for button in app.button]


def test_a_photo_sent_from_sketch_opens_inside_on_it_and_back_returns(trained: TrainedModel) -> None:
    photo = np.zeros((28, 28), np.float32)
    photo[4:24, 13:16] = 1.0
    link = Link(page="pages/inside.py", payload={"image": photo, "source": "photo"}, origin="pages/sketch.py")
    app = _inside(trained, link)
    assert app.radio(key="inside_image_source").value == "Your latest drawing or photo"
    assert any(m.value.startswith("The model says") and m.value.endswith("for your photo.") for m in app.markdown)
    expected = trained.model.predict(photo[None, :, :, None], verbose=0)[0]
    sentence = next(m.value for m in app.markdown if m.value.startswith("The model says"))
    assert f"**{int(np.argmax(expected))}** ({expected.max():.0%})" in sentence
    assert "Back to Sketch" in _buttons(app)
    app.button(key="cnnviz_back_inside").click().run()
    assert not app.exception, [e.value for e in app.exception]
    assert [title.value for title in app.title][0] != "Inside the network"  # left for the Sketch page
    app.switch_page("pages/inside.py").run()  # back through the navigation: no link, the photo still chosen
    assert "Back to Sketch" not in _buttons(app)
    assert any(m.value.endswith("for your photo.") for m in app.markdown)


def test_a_saved_run_opens_its_model_by_file_name_only(repo_root, monkeypatch) -> None:
    if not (repo_root / "models" / "default_mnist.keras").exists():
        pytest.skip("models/default_mnist.keras is not installed (tools/train_default_models.py makes it)")
    monkeypatch.setenv("CNNVIZ_MODELS_DIR", str(repo_root / "models"))
    # A path is cut to its file name: the link can only choose among the models the picker lists.
    link = Link(page="pages/inside.py", payload={"model": "../elsewhere/default_mnist.keras"}, origin="pages/train.py")
    app = _inside(None, link)
    assert app.selectbox(key="inside_model").value == "file:default_mnist"
    assert "Back to Train" in _buttons(app)


def test_a_link_with_an_unusable_image_says_so() -> None:
    link = Link(page="pages/inside.py", payload={"image": np.full((28, 28), np.nan), "source": "sketch"}, origin="")
    app = _inside(TrainedModel(model=tiny_cnn(num_classes=10, seed=1), dataset="digits", class_names=DIGITS), link)
    assert any("could not be used" in warning.value for warning in app.warning)
    assert app.radio(key="inside_image_source").options == ["A test image"]


def test_a_first_layer_feature_map_opens_its_kernel_on_kernels_with_the_same_image(trained: TrainedModel) -> None:
    app = _inside(trained)
    app.number_input(key="inside_image_index").set_value(4).run()
    app.number_input(key="inside_kernel_link_filter").set_value(2).run()
    app.button(key="inside_kernel_link").click().run()
    assert not app.exception, [e.value for e in app.exception]
    # The Kernels page may or may not have taken it yet: either way the link holds the payload.
    link = app.session_state[LINK_KEY] if LINK_KEY in app.session_state else app.session_state[BACK_KEY][
        "pages/kernels.py"
    ]
    assert (link.page, link.origin) == ("pages/kernels.py", "pages/inside.py")
    kernel, bias = trained.model.get_layer("conv_1").get_weights()
    np.testing.assert_allclose(link.payload["kernel"], kernel[:, :, 0, 2], rtol=1e-6)
    assert link.payload["bias"] == pytest.approx(float(bias[2]))
    np.testing.assert_allclose(link.payload["image"], load_dataset("digits").x_test[4] / 255.0, rtol=1e-6)
    assert (link.payload["test_index"], link.payload["dataset"], link.payload["filter"]) == (4, "digits", 2)
    assert (link.payload["stride"], link.payload["padding"]) == (1, "valid")
    app.switch_page("pages/inside.py").run()  # back (by the navigation here): the place is kept
    assert app.number_input(key="inside_image_index").value == 4
    assert app.number_input(key="inside_kernel_link_filter").value == 2


@pytest.mark.parametrize("where", ["inside_cell_saliency", "inside_mistake_saliency"])
def test_a_cell_image_or_a_mistake_opens_its_saliency_and_back_keeps_the_evaluation(
    trained: TrainedModel, where: str
) -> None:
    app = _inside(trained)
    app.segmented_control(key="inside_section").set_value("Evaluation").run()
    cell = (app.selectbox(key="inside_cell_true").value, app.selectbox(key="inside_cell_predicted").value)
    pick = app.selectbox(key=f"{where}_pick")  # it starts on the most common mistake: never empty
    last = len(pick.options) - 1
    index = int(re.match(r"test image #(\d+)", pick.options[last]).group(1))
    pick.set_value(last).run()
    app.button(key=f"{where}_open").click().run()
    assert not app.exception, [e.value for e in app.exception]
    assert app.segmented_control(key="inside_section").value == "Saliency"
    assert app.number_input(key="inside_image_index").value == index
    assert any(f"for test image #{index} " in title for title in _plot_titles(app))
    app.button(key="inside_back_to_section").click().run()
    assert not app.exception, [e.value for e in app.exception]
    assert app.segmented_control(key="inside_section").value == "Evaluation"
    assert (app.selectbox(key="inside_cell_true").value, app.selectbox(key="inside_cell_predicted").value) == cell


def _plot_titles(app) -> list[str]:
    import json

    titles = []
    for chart in app.get("plotly_chart"):
        title = json.loads(chart.proto.spec).get("layout", {}).get("title", {})
        titles.append(title.get("text", "") if isinstance(title, dict) else str(title))
    return titles
