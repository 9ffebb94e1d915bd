"""AppTest of the data lab controls: what the learner sets reaches the TrainConfig; each control explains itself."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from cnnviz.train.loop import TrainConfig
from tests.support.apptest import APP_TIMEOUT_S, app_test

FASHION = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")


def _controls_script(class_names):  # no annotations: the body runs as a script
    from dataclasses import replace

    import streamlit as st

    from cnnviz.train.datalab_widgets import datalab_controls
    from cnnviz.train.loop import TrainConfig

    st.session_state["config"] = replace(TrainConfig(), **datalab_controls("train", class_names))


def _run(class_names=FASHION) -> AppTest:
    app = AppTest.from_function(_controls_script, args=(class_names,), default_timeout=APP_TIMEOUT_S).run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def test_the_data_lab_starts_clean_and_explains_each_control() -> None:
    app = _run()
    assert app.session_state["config"] == TrainConfig()
    assert app.expander[0].label == "Data lab: damage the data on purpose"
    widgets = [*app.slider, *app.multiselect]
    assert len(widgets) == 3 and all(widget.help for widget in widgets)
    assert app.slider(key="train_imbalance_keep").disabled  # nothing to thin out yet
    assert any("Nothing is damaged" in caption.value for caption in app.caption)


def test_the_data_lab_settings_reach_the_train_config() -> None:
    app = _run()
    app.slider(key="train_label_noise").set_value(0.3)
    app.multiselect(key="train_imbalance_classes").set_value([5, 3]).run()
    app.slider(key="train_imbalance_keep").set_value(0.2).run()
    assert not app.exception
    config = app.session_state["config"]
    assert (config.label_noise, config.imbalance_classes, config.imbalance_keep) == (0.3, (3, 5), 0.2)
    assert any("30% labels noisy; classes 3 (Dress), 5 (Sandal) kept at 20%" in caption.value
               for caption in app.caption)
    # Choosing no class again switches the imbalance off, whatever the share slider says.
    app.multiselect(key="train_imbalance_classes").set_value([]).run()
    assert app.session_state["config"].imbalance_keep == 1.0


def test_on_the_train_page_the_data_lab_reaches_the_keras_script() -> None:
    """The page passes the dataset's classes to the training controls; the damage shows in the generated script."""
    app = app_test("pages/train.py").run()
    app.selectbox(key="train_dataset").set_value("digits").run()
    app.slider(key="train_label_noise").set_value(0.4)
    app.multiselect(key="train_imbalance_classes").set_value([7]).run()
    assert not app.exception, [e.value for e in app.exception]
    code = next(block.value for block in app.code if "def build_model" in block.value)
    assert "LABEL_NOISE = 0.4" in code and "IMBALANCE_CLASSES = (7,)" in code and "IMBALANCE_KEEP = 0.1" in code


def _result_script(config):  # no annotations: the body runs as a script
    import streamlit as st

    from cnnviz.core.records import RunRecord, TrainedModel
    from cnnviz.train.session import MODEL_RUN_KEY
    from cnnviz.train.widgets import show_result
    from cnnviz.ui.state import RUNS_KEY

    st.session_state[RUNS_KEY] = [RunRecord(run_id=1, dataset="fashion_mnist", spec={}, config=config)]
    st.session_state[MODEL_RUN_KEY] = 1
    names = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
    show_result(TrainedModel(model=None, dataset="fashion_mnist", class_names=names,
                             history={"loss": [0.9, 0.7], "accuracy": [0.6, 0.7]}, test_metrics={"accuracy": 0.7}))


def test_the_result_says_how_its_data_was_damaged_and_opens_the_confusion_matrix() -> None:
    damaged = TrainConfig(imbalance_classes=(3,), imbalance_keep=0.0).to_dict()
    app = AppTest.from_function(_result_script, args=(damaged,), default_timeout=APP_TIMEOUT_S).run()
    assert not app.exception, [e.value for e in app.exception]
    assert any("class 3 (Dress) kept at 0%" in caption.value for caption in app.caption)
    assert app.button(key="train_datalab_inside").label == "See its confusion matrix on Inside"
    clean = AppTest.from_function(_result_script, args=({"epochs": 5},), default_timeout=APP_TIMEOUT_S).run()
    assert any("confusion matrix" in caption.value for caption in clean.caption)
    assert not any("damaged" in caption.value for caption in clean.caption)
