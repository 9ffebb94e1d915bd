"""The coach on the Train page (AppTest): it reads the last run, and Apply sets the training controls."""

from __future__ import annotations

from cnnviz.core.records import RunRecord
from cnnviz.train.loop import TrainConfig
from cnnviz.train.spec import ModelSpec
from cnnviz.ui.state import RUNS_KEY
from tests.support.apptest import APP_TIMEOUT_S, app_test


def _page_after(run: RunRecord):
    """The Train page (on the built-in digits) as it is after ``run`` ended."""
    app = app_test("pages/train.py")
    app.session_state[RUNS_KEY] = [run]
    app.run()
    app.selectbox(key="train_dataset").set_value("digits").run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def test_apply_after_a_nan_run_sets_the_learning_rate_and_says_what_changed():
    config = TrainConfig(optimizer="sgd", learning_rate=10.0, epochs=1, train_size=200)
    run = RunRecord(run_id=1, dataset="digits", spec=ModelSpec().to_dict(), config=config.to_dict(), status="NaN")
    app = _page_after(run)
    app.selectbox(key="train_optimizer").set_value("sgd")
    app.select_slider(key="train_lr").set_value(10.0).run()
    assert any("became NaN" in block.value for block in app.markdown)
    apply = app.button(key="train_coach_run1_apply_0")
    assert apply.label == "Apply: learning rate 0.01" and apply.help
    apply.click().run()
    assert not app.exception, [e.value for e in app.exception]
    assert app.select_slider(key="train_lr").value == 0.01
    assert app.selectbox(key="train_optimizer").value == "sgd"  # only the suggested setting changed
    applied = [caption.value for caption in app.caption if caption.value.startswith("Applied")]
    assert applied and "learning rate 0.01 (learning rate was 10)" in applied[0] and "Press **Train**" in applied[0]


def test_apply_after_an_overfitting_run_sets_dropout_and_early_stopping():
    history = {
        "loss": [1.0, 0.5, 0.3, 0.2, 0.1, 0.05], "accuracy": [0.7, 0.85, 0.9, 0.95, 0.98, 0.99],
        "val_loss": [1.0, 0.6, 0.5, 0.55, 0.65, 0.8], "val_accuracy": [0.7, 0.82, 0.85, 0.85, 0.84, 0.83],
    }
    config = TrainConfig(epochs=6, early_stopping=False)
    run = RunRecord(run_id=3, dataset="digits", spec=ModelSpec(dropout=0.0).to_dict(), config=config.to_dict(),
                    history=history, status="finished")
    app = _page_after(run)
    app.slider(key="train_dropout").set_value(0.0)
    app.checkbox(key="train_early").uncheck().run()
    assert any(block.value.startswith("**The network is memorising") for block in app.markdown)
    app.button(key="train_coach_run3_apply_0").click().run()
    assert not app.exception, [e.value for e in app.exception]
    assert app.slider(key="train_dropout").value == 0.2
    assert app.checkbox(key="train_early").value is True


def test_apply_after_an_underfitting_run_on_noisy_labels_cleans_the_labels():
    history = {"loss": [2.2, 1.9, 1.85, 1.84, 1.84], "accuracy": [0.2, 0.3, 0.32, 0.33, 0.33]}
    config = TrainConfig(epochs=5, label_noise=0.3)
    run = RunRecord(run_id=2, dataset="digits", spec=ModelSpec().to_dict(), config=config.to_dict(), history=history,
                    status="finished")
    app = _page_after(run)
    app.slider(key="train_label_noise").set_value(0.3).run()
    apply = app.button(key="train_coach_run2_apply_0")
    assert apply.label == "Apply: label noise 0%"
    apply.click().run()
    assert not app.exception, [e.value for e in app.exception]
    assert app.slider(key="train_label_noise").value == 0.0


def test_the_model_of_the_last_run_is_probed_once_and_its_dead_units_are_named():
    import numpy as np

    from cnnviz.core.records import TrainedModel
    from cnnviz.train.session import MODEL_RUN_KEY
    from cnnviz.train.spec import ConvBlockSpec, build_model
    from cnnviz.ui.state import SESSION_MODEL_KEY

    spec = ModelSpec(conv_blocks=(ConvBlockSpec(filters=4),), dropout=0.0, dense_units=())
    model = build_model(spec, 10, seed=0)
    kernel, bias = model.get_layer("conv_1").get_weights()
    model.get_layer("conv_1").set_weights([kernel, np.full_like(bias, -1000.0)])  # every filter dead
    history = {"loss": [0.5, 0.2, 0.1, 0.07, 0.06], "accuracy": [0.85, 0.94, 0.97, 0.98, 0.985]}
    run = RunRecord(run_id=4, dataset="digits", spec=spec.to_dict(), config=TrainConfig().to_dict(), history=history,
                    status="finished")
    trained = TrainedModel(model=model, dataset="digits", class_names=tuple(str(i) for i in range(10)),
                           spec=spec.to_dict(), history=history)
    app = app_test("pages/train.py")
    app.session_state[RUNS_KEY] = [run]
    app.session_state[SESSION_MODEL_KEY] = trained
    app.session_state[MODEL_RUN_KEY] = 4
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    assert any("conv_1 100% of 4" in block.value for block in app.markdown)
    version, probes = app.session_state["train_coach_probes"]
    assert version == trained.version and probes.layers[0].dead_share == 1.0
    app.run()  # a rerun reads the kept probes instead of probing again
    assert app.session_state["train_coach_probes"][1] is probes


def _live_line() -> None:
    from cnnviz.train.coach_widgets import coach_line

    coach_line({})  # before the first epoch: nothing to say
    coach_line({"loss": [9.0, 12.0], "accuracy": [0.1, 0.1]})


def test_the_live_line_names_what_the_finished_epochs_show():
    from streamlit.testing.v1 import AppTest

    app = AppTest.from_function(_live_line, default_timeout=APP_TIMEOUT_S).run()
    assert not app.exception
    assert [caption.value.split(".")[0] for caption in app.caption] == [
        ":material/psychology: Coach after epoch 2: **diverging**"]
