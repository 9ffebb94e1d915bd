"""AppTest of the data lab controls: what the learner sets reaches the TrainConfig; each control explains itself."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from cnnviz.train.loop import TrainConfig
from tests.support.apptest import APP_TIMEOUT_S

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
