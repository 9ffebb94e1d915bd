"""AppTest runs of the Train page with the real training code on a tiny subset of the digits.

A training is a job of the session (cnnviz.train.jobs) that the page follows from a fragment: after a click on
Train the tests rerun the page until the job's end is recorded (tests.support.jobs.run_until_trained), as the
fragment's timer does in a browser. Each test gets a fresh job manager, so no earlier test's job is ahead.
"""

from __future__ import annotations

import pytest

from cnnviz.core.records import RunRecord, TrainedModel
from cnnviz.ui.state import RUNS_KEY, SESSION_MODEL_KEY
from tests.support.apptest import app_test
from tests.support.jobs import (
    PausingBackend,
    fresh_job_manager,
    install_job_manager,
    run_until_trained,
    small_settings,
)

pytestmark = pytest.mark.usefixtures(fresh_job_manager.__name__)


def test_page_shows_summary_params_diagram_and_code_before_training():
    app = app_test("pages/train.py").run()
    assert not app.exception, [e.value for e in app.exception]
    assert app.selectbox(key="train_dataset").value == "mnist"
    # Every widget explains its concept.
    widgets = [*app.slider, *app.select_slider, *app.selectbox, *app.radio, *app.checkbox, *app.number_input]
    assert widgets and all(widget.help for widget in widgets), [w.label for w in widgets if not w.help]
    assert app.metric[0].label == "Parameters"
    code = [block.value for block in app.code if "def build_model" in block.value]
    assert code and 'name="conv_1"' in code[0]
    # On first view the controls show exactly the library's defaults.
    from cnnviz.core.datasets import load_dataset
    from cnnviz.train.loop import TrainConfig
    from cnnviz.train.script import keras_code
    from cnnviz.train.spec import ModelSpec

    split_of_test = load_dataset("mnist").split_from_test  # the page's script says what the page loaded
    expected = keras_code(ModelSpec(), TrainConfig(), dataset="mnist", num_classes=10, split_of_test=split_of_test)
    assert code[0].strip() == expected.strip()
    assert not app.button(key="train_start").disabled


def test_impossible_network_is_blocked_with_the_formula():
    app = app_test("pages/train.py").run()
    app.slider(key="train_blocks").set_value(4).run()
    for block in range(1, 5):
        app.radio(key=f"train_b{block}_padding").set_value("valid")
        app.radio(key=f"train_b{block}_kernel").set_value(5)
    app.run()
    assert not app.exception
    assert any("floor((" in error.value and "cannot be built" in error.value for error in app.error)
    assert app.button(key="train_start").disabled


def test_changing_controls_updates_the_parameter_count():
    app = app_test("pages/train.py").run()
    before = app.metric[0].value
    app.select_slider(key="train_b1_filters").set_value(8).run()
    assert app.metric[0].value != before


@pytest.mark.slow
def test_train_one_epoch_on_a_tiny_subset_then_compare_runs():
    app = small_settings(app_test("pages/train.py").run())
    assert not app.exception
    run_until_trained(app.button(key="train_start").click().run())
    assert not app.exception, [e.value for e in app.exception]
    assert any("finished 1 epochs" in message.value and "(local backend)" in message.value
               for message in app.success)
    trained = app.session_state[SESSION_MODEL_KEY]
    assert isinstance(trained, TrainedModel)
    assert trained.dataset == "digits" and len(trained.history["loss"]) == 1
    assert 0.0 <= trained.test_metrics["accuracy"] <= 1.0
    assert len(trained.filter_snapshots) == 1 and trained.filter_snapshots[0].shape == (3, 3, 1, 4)
    runs = app.session_state[RUNS_KEY]
    assert len(runs) == 1 and isinstance(runs[0], RunRecord) and runs[0].status == "finished"
    assert [m.label for m in app.metric][1:3] == ["Test accuracy", "Test loss"]
    # A second run appears in the runs table and in the overlay.
    run_until_trained(app.button(key="train_start").click().run())
    assert not app.exception
    assert len(app.session_state[RUNS_KEY]) == 2
    assert app.multiselect(key="train_compare_runs").value == ["Run 1", "Run 2"]


@pytest.mark.slow
def test_a_diverging_run_is_explained_not_raised(monkeypatch):
    """SGD at 1e30 blows up in the first epoch; the page offers at most 10, which need not diverge."""
    import cnnviz.train.widgets as train_widgets

    monkeypatch.setattr(train_widgets, "LEARNING_RATES", (*train_widgets.LEARNING_RATES, 1e30))
    app = small_settings(app_test("pages/train.py").run())
    app.select_slider(key="train_lr").set_value(1e30)
    app.selectbox(key="train_optimizer").set_value("sgd").run()
    run_until_trained(app.button(key="train_start").click().run())
    assert not app.exception, [e.value for e in app.exception]
    assert app.session_state[RUNS_KEY][-1].status == "NaN"
    errors = [error.value for error in app.error]
    assert any("Run 1 stopped: The training loss became nan" in text and "learning rate" in text for text in errors)


@pytest.mark.slow
def test_a_training_process_that_dies_keeps_the_finished_epoch_and_says_so(monkeypatch):
    """The training child is SIGKILLed (out of memory, say) during epoch 2: a message, no traceback."""
    import os
    import signal

    from cnnviz.train.worker import train_model_isolated
    from tests.support.training import training_children as _children

    def killed_after_first_epoch(model, data, config, *, on_epoch, **kwargs):
        def on_epoch_then_kill(progress):
            on_epoch(progress)
            for pid in _children():
                os.kill(pid, signal.SIGKILL)

        return train_model_isolated(model, data, config, on_epoch=on_epoch_then_kill, **kwargs)

    install_job_manager(monkeypatch, killed_after_first_epoch)
    app = small_settings(app_test("pages/train.py").run())
    app.slider(key="train_epochs").set_value(5).run()
    run_until_trained(app.button(key="train_start").click().run())
    assert not app.exception, [e.value for e in app.exception]
    errors = [message.value for message in app.error]
    assert not any("Traceback" in text for text in errors)
    trained = app.session_state[SESSION_MODEL_KEY]
    # The child is killed from the first epoch's callback; on a busy machine it may finish epoch 2 before the
    # signal lands. Whatever finished is kept, and the message counts exactly that.
    kept = len(trained.history["loss"])
    assert kept in (1, 2) and 0.0 <= trained.test_metrics["accuracy"] <= 1.0
    assert any("ended unexpectedly" in text and f"stopped after {kept} of 5 epochs" in text for text in errors), errors
    assert app.session_state[RUNS_KEY][-1].status == "stopped"


def test_the_largest_design_gets_a_time_warning_before_training():
    """Issue 16, finding 7: 4 blocks x 128 filters 5x5 and 3 dense layers of 512 for 30 epochs: ~14 minutes."""
    app = app_test("pages/train.py").run()
    assert not any("Estimated training time" in warning.value for warning in app.warning)
    assert any("Estimated training time" in caption.value for caption in app.caption)
    app.slider(key="train_blocks").set_value(4).run()
    for block in range(1, 5):
        app.select_slider(key=f"train_b{block}_filters").set_value(128)
        app.radio(key=f"train_b{block}_kernel").set_value(5)
    app.slider(key="train_dense").set_value(3).run()
    for index in range(1, 4):
        app.select_slider(key=f"train_units{index}").set_value(512)
    app.slider(key="train_epochs").set_value(30)
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    assert app.metric[0].value == "1,829,002"
    assert any("Estimated training time" in warning.value and "min" in warning.value and "only one training"
               in warning.value for warning in app.warning), [w.value for w in app.warning]


@pytest.mark.slow
def test_the_servers_time_limit_stops_a_training_and_says_why(monkeypatch):
    monkeypatch.setenv("CNNVIZ_MAX_TRAINING_S", "1")
    # Long enough to outlast the limit whatever the machine: one epoch of 200 images took under 1 s on a warm
    # training child (a CI rehearsal saw it finish), 30 epochs of every digit take several seconds.
    app = small_settings(app_test("pages/train.py").run(), epochs=30)
    app.slider(key="train_train_size").set_value(app.slider(key="train_train_size").max).run()
    assert any("stops a training after 1 s" in warning.value for warning in app.warning)
    run_until_trained(app.button(key="train_start").click().run())
    assert not app.exception, [e.value for e in app.exception]
    assert app.session_state[RUNS_KEY][-1].status == "stopped"
    warnings = [warning.value for warning in app.warning]
    assert any("limit of 1 s for one training" in text for text in warnings), warnings


def test_early_stopping_is_off_and_says_why_without_validation_images():
    """Issue 15: with a validation split of 0, early stopping has nothing to watch; it must not pretend."""
    app = app_test("pages/train.py").run()
    assert not app.checkbox(key="train_early").disabled
    app.slider(key="train_val_split").set_value(0.0).run()
    assert not app.exception, [e.value for e in app.exception]
    assert app.checkbox(key="train_early").disabled
    assert app.slider(key="train_patience").disabled
    assert any("Early stopping is off" in caption.value and "validation split of 0" in caption.value
               for caption in app.caption)
    code = next(block.value for block in app.code if "def build_model" in block.value)
    assert "EarlyStopping" not in code


@pytest.mark.slow
def test_repeat_with_three_seeds_trains_three_runs_and_shows_their_spread():
    app = small_settings(app_test("pages/train.py").run())
    run_until_trained(app.button(key="train_repeat").click().run())
    assert not app.exception, [e.value for e in app.exception]
    runs = app.session_state[RUNS_KEY]
    assert [run.config["seed"] for run in runs] == [42, 43, 44]
    assert all(run.status == "finished" for run in runs)
    messages = [message.value for message in [*app.success, *app.warning]]
    assert any("seeds 42, 43, 44" in text and "±" in text for text in messages), messages
    assert any("one design with 3 seeds" in caption.value for caption in app.caption)


def test_sections_are_numbered_without_a_gap_and_the_layer_table_keeps_every_setting():
    """Issue 15: sections read 1, 2, 4 until a model existed; the layer table's Settings column was cut off."""
    app = app_test("pages/train.py").run()
    assert not app.exception
    numbers = [header.value.split(".")[0] for header in app.subheader if header.value[:1].isdigit()]
    assert numbers == ["1", "2", "3"]
    # A static table (it wraps its cells in the half-page column) with each layer's settings in full.
    table = app.table[0].value
    assert list(table.columns) == ["Layer", "Type", "Output shape", "Parameters", "Settings"]
    assert "32 filters 3x3, stride 1, same, relu" in table["Settings"].tolist()


@pytest.mark.slow
def test_watching_the_first_layer_redraws_its_maps_after_every_epoch(monkeypatch):
    """Issue 15 item 7: one chosen test image's first-layer maps and filters, refreshed after every epoch."""
    import cnnviz.train.widgets as train_widgets
    from cnnviz.train.worker import train_model_isolated

    drawn = []
    original = train_widgets.live_maps_figure

    def recording(image, maps, kernel, *, epoch):
        drawn.append((epoch, image.copy(), maps.copy(), kernel.copy()))
        return original(image, maps, kernel, epoch=epoch)

    monkeypatch.setattr(train_widgets, "live_maps_figure", recording)
    paused = PausingBackend(train_model_isolated)  # the job waits after each epoch while the page is looked at
    install_job_manager(monkeypatch, paused)
    app = small_settings(app_test("pages/train.py").run())
    app.slider(key="train_epochs").set_value(2)
    app.checkbox(key="train_watch").check().run()
    app.number_input(key="train_watch_image").set_value(5).run()
    app.button(key="train_start").click().run()
    for pause in (1, 2, 3):
        what = paused.wait_for_pause(pause)
        app.run()  # what the fragment shows at this moment
        paused.resume()
        assert what == ("batch" if pause == 1 else f"epoch {pause - 1}")
    run_until_trained(app)
    assert not app.exception, [e.value for e in app.exception]
    first_drawings = {epoch: rest for epoch, *rest in reversed(drawn)}  # the first drawing of each epoch's maps
    assert sorted(first_drawings) == [1, 2] and drawn[0][0] == 1
    (image, maps, kernel), (_, _, later_kernel) = first_drawings[1], first_drawings[2]
    assert image.shape == (28, 28) and maps.shape == (28, 28, 4) and kernel.shape == (3, 3, 1, 4)
    assert not (kernel == later_kernel).all()  # the filters changed between the epochs
    import numpy as np

    from cnnviz.core.datasets import load_dataset

    np.testing.assert_allclose(image, load_dataset("digits").x_test[5] / 255.0, atol=1e-6)


@pytest.mark.parametrize(("key", "page"), [("train_open_sketch", "pages/sketch.py"),
                                           ("train_open_inside", "pages/inside.py")])
def test_a_saved_run_opens_its_model_on_sketch_and_inside(monkeypatch, tmp_path, key, page):
    """Issue 15 item 6: after Save, a link sends the saved file's name, as the store lists it, to Sketch or Inside.

    What the target does with ``{"model": ...}`` is its own test (tests/app/inside/test_links.py, Sketch's).
    """
    from cnnviz.ui.links import LINK_KEY
    from tests.support.models import tiny_cnn

    monkeypatch.setenv("CNNVIZ_MODELS_DIR", str(tmp_path))
    app = app_test("pages/train.py")
    app.session_state[SESSION_MODEL_KEY] = TrainedModel(
        model=tiny_cnn(num_classes=10, seed=1), dataset="digits", class_names=tuple("0123456789"),
        history={"loss": [0.5], "accuracy": [0.9]}, test_metrics={"loss": 0.5, "accuracy": 0.9},
    )
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    assert not [button for button in app.button if button.key.startswith("train_open_")]  # nothing saved yet
    app.text_input(key="train_save_name").set_value("my run").run()
    app.button(key="train_save_button").click().run()
    assert (tmp_path / "my_run.keras").exists()
    labels = {button.key: button.label for button in app.button}
    assert labels["train_open_sketch"] == "Open 'my\\_run' on Sketch"
    assert labels["train_open_inside"] == "Open 'my\\_run' on Inside"
    app.button(key=key).click().run()
    link = app.session_state[LINK_KEY]
    assert (link.page, link.origin, dict(link.payload)) == (page, "pages/train.py", {"model": "my_run.keras"})


@pytest.mark.slow
def test_the_loss_chart_moves_batch_by_batch_before_the_first_epoch_ends(monkeypatch):
    """Issue 11 item 2: the live loss chart draws the running batch loss before any epoch point exists."""
    import cnnviz.train.widgets as train_widgets
    from cnnviz.train.worker import train_model_isolated

    drawn = []
    original = train_widgets.history_figure

    def recording(history, metric="loss", **options):
        drawn.append((metric, {key: list(values) for key, values in history.items()}, list(options.get("batches", ()))))
        return original(history, metric, **options)

    monkeypatch.setattr(train_widgets, "history_figure", recording)
    paused = PausingBackend(train_model_isolated)  # the job waits after its first batch and after each epoch
    install_job_manager(monkeypatch, paused)
    app = small_settings(app_test("pages/train.py").run())
    app.select_slider(key="train_batch").set_value(16)
    app.slider(key="train_train_size").set_value(400)
    app.slider(key="train_epochs").set_value(2)
    app.button(key="train_start").click().run()
    for pause in (1, 2, 3):
        paused.wait_for_pause(pause)
        app.run()
        paused.resume()
    run_until_trained(app)
    assert not app.exception, [e.value for e in app.exception]
    live = [(history, batches) for metric, history, batches in drawn if metric == "loss" and batches]
    before_first_epoch = [batches for history, batches in live if not history.get("loss")]
    assert before_first_epoch and all(0 < x <= 1 for x, _ in before_first_epoch[-1])
    # Later drawings keep the batch line and add the epoch points on top.
    history, batches = live[-1]
    assert len(history["loss"]) == 2 and len(batches) > len(before_first_epoch[-1])
    assert [x for x, _ in batches] == sorted(x for x, _ in batches)
