"""cnnviz.train.session: the run bookkeeping over a plain dict, as the page keeps it in session state."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from cnnviz.core.records import RunRecord, TrainedModel
from cnnviz.train.loop import EpochProgress, TrainConfig, TrainResult
from cnnviz.train.session import ACTIVE_RUN_KEY, COMPARE_KEY, OUTCOME_KEY, TrainSession, outcome
from cnnviz.train.spec import ModelSpec

MODEL_KEY, RUNS_KEY = "model", "runs"


@dataclass
class FakeDataset:
    name: str = "digits"
    source: str = "scikit-learn"
    portable_source: str = "scikit-learn (bundled)"
    class_names: tuple[str, ...] = ("a", "b")


def session(state: dict | None = None) -> TrainSession:
    return TrainSession({} if state is None else state, model_key=MODEL_KEY, runs_key=RUNS_KEY)


def epoch(index: int, epochs: int = 5) -> EpochProgress:
    history = {"loss": [0.5 - 0.1 * i for i in range(index + 1)], "accuracy": [0.8] * (index + 1)}
    return EpochProgress(epoch=index, epochs=epochs, logs={}, history=history, filters=None, seconds=1.0)


def test_a_run_is_numbered_recorded_epoch_by_epoch_and_finished() -> None:
    book = session()
    first = book.start(FakeDataset(), ModelSpec(), TrainConfig(epochs=2), total_params=123)
    assert first.run_id == 1 and first.status == "running" and book.state[ACTIVE_RUN_KEY] == 1
    model = object()
    book.epoch_finished(first, model, FakeDataset(), epoch(0, 2), [np.zeros((3, 3, 1, 4))], seconds=2.0)
    assert first.epochs_done == 1 and book.model.model is model and book.model.name.endswith("1 epochs)")
    result = TrainResult(history=epoch(1, 2).history, epochs_done=2, test_metrics={"loss": 0.3, "accuracy": 0.9},
                         duration_s=4.0, samples_per_s=100.0)
    book.finish(first, result, waited_s=3.0)
    assert first.status == "finished" and first.test_metrics["accuracy"] == 0.9
    assert book.model.test_metrics == result.test_metrics and book.model.name == "This session's model (Run 1)"
    assert ACTIVE_RUN_KEY not in book.state
    kind, message = book.outcome
    assert kind == "success" and "Run 1 finished 2 epochs in 4 s" in message and "waited 3 s" in message
    second = book.start(FakeDataset(), ModelSpec(), TrainConfig(), total_params=1)
    assert second.run_id == 2 and [run.label for run in book.runs] == ["Run 1", "Run 2"]


def test_an_interrupted_run_is_wrapped_up_as_stopped_and_its_model_measured() -> None:
    """The rerun after Stop: an active run id left in the state with one finished epoch."""
    state = {ACTIVE_RUN_KEY: 1, RUNS_KEY: [RunRecord(run_id=1, dataset="digits", spec={}, config={"epochs": 5})]}
    book = session(state)
    run = book.runs[0]
    book.epoch_finished(run, "the model", FakeDataset(), epoch(0), [], seconds=1.0)
    asked: list[tuple] = []

    def evaluate(model, name):
        asked.append((model, name))
        return {"loss": 0.25, "accuracy": 0.75}

    book.wrap_up_interrupted(evaluate)
    assert run.status == "stopped" and asked == [("the model", "digits")]
    assert book.model.test_metrics == {"loss": 0.25, "accuracy": 0.75}
    kind, message = book.outcome
    assert kind == "warning" and "stopped after 1 of 5 epochs" in message and "Test accuracy 75.00%" in message
    book.state[OUTCOME_KEY] = None
    book.wrap_up_interrupted(evaluate)  # nothing active any more: nothing to do
    assert book.outcome is None and len(asked) == 1


def test_a_dead_training_process_says_so_first_and_keeps_the_finished_epochs() -> None:
    book = session()
    run = book.start(FakeDataset(), ModelSpec(), TrainConfig(epochs=5), total_params=1)
    book.epoch_finished(run, "model", FakeDataset(), epoch(0), [], seconds=1.0)
    book.fail("The training process ended unexpectedly.", lambda model, name: {"loss": 1.0, "accuracy": 0.5})
    kind, message = book.outcome
    assert kind == "error" and message.startswith("The training process ended unexpectedly. Run 1 stopped after 1")
    assert run.status == "stopped"


@pytest.mark.parametrize(
    "status,history,nan,best,expected_kind,expected",
    [
        ("NaN", {}, "The loss became nan.", None, "error", "Run 1 stopped: The loss became nan."),
        ("stopped", {}, "", None, "warning", "ended before its first epoch finished, so nothing was kept"),
        ("early-stopped", {"loss": [3, 2, 1, 2]}, "", 2, "success",
         "stopped early after 4 epochs. The weights of epoch 3 (best validation loss) were restored."),
        ("finished", {"loss": [3, 2]}, "", 1, "success", "Run 1 finished 2 epochs in 0 s."),
    ],
)
def test_outcome_says_how_a_run_ended(status, history, nan, best, expected_kind, expected) -> None:
    run = RunRecord(run_id=1, dataset="digits", spec={}, config={"epochs": 5}, history=history, status=status)
    kind, message = outcome(run, nan, best)
    assert kind == expected_kind and expected in message
    if status == "finished":
        assert "restored" not in message  # the best epoch was the last one


def test_the_comparison_follows_new_runs_and_keeps_a_choice_otherwise() -> None:
    book = session()
    for _ in range(4):
        book.start(FakeDataset(), ModelSpec(), TrainConfig(), total_params=1)
    assert book.compare_labels() == ["Run 1", "Run 2", "Run 3", "Run 4"]
    assert book.state[COMPARE_KEY] == ["Run 2", "Run 3", "Run 4"]
    book.state[COMPARE_KEY] = ["Run 1"]  # the learner's choice
    book.compare_labels()
    assert book.state[COMPARE_KEY] == ["Run 1"]
    book.start(FakeDataset(), ModelSpec(), TrainConfig(), total_params=1)
    book.compare_labels()
    assert book.state[COMPARE_KEY] == ["Run 3", "Run 4", "Run 5"]


def test_only_trained_models_and_run_records_count() -> None:
    book = session({MODEL_KEY: "not a model", RUNS_KEY: ["not a run"]})
    assert book.model is None and book.runs == []
    book.state[MODEL_KEY] = TrainedModel(model=None, dataset="digits", class_names=("a",))
    assert book.model is not None


def test_a_run_stopped_by_the_servers_time_limit_says_so_as_a_warning() -> None:
    """Issue 16, finding 7: a teacher's CNNVIZ_MAX_TRAINING_S stops a run; the learner is told why."""
    book = session()
    run = book.start(FakeDataset(), ModelSpec(), TrainConfig(epochs=5), total_params=1)
    book.epoch_finished(run, object(), FakeDataset(), epoch(1), [], seconds=2.0)
    result = TrainResult(history=epoch(1).history, epochs_done=2, stopped_by_user=True,
                         test_metrics={"loss": 0.3, "accuracy": 0.9}, duration_s=60.0)
    book.finish(run, result, time_limit_s=60.0)
    kind, message = book.outcome
    assert kind == "warning"
    assert "stopped after 2 of 5 epochs" in message and "limit of 60 s" in message
    assert "CNNVIZ_MAX_TRAINING_S" in message


@pytest.mark.parametrize(
    ("history", "accuracy", "kind", "words"),
    [
        # Issue 15: learning rate 10 gave 8.90% with a training loss of 2.9e9 in a green "finished" box.
        ({"loss": [2.3, 2.9e9], "accuracy": [0.1, 0.089]}, 0.089, "warning", ("exploded", "learning rate")),
        ({"loss": [2.31, 2.30], "accuracy": [0.1, 0.11]}, 0.12, "warning", ("chance level", "10%", "learning rate")),
        ({"loss": [0.5, 0.2], "accuracy": [0.8, 0.95]}, 0.96, "success", ()),
    ],
)
def test_a_run_that_learned_nothing_or_exploded_is_a_warning_that_says_why(history, accuracy, kind, words) -> None:
    book = session()
    run = book.start(FakeDataset(class_names=tuple("abcdefghij")), ModelSpec(), TrainConfig(epochs=2),
                     total_params=1)
    book.epoch_finished(run, object(), FakeDataset(class_names=tuple("abcdefghij")), epoch(1, 2), [], seconds=1.0)
    result = TrainResult(history=history, epochs_done=2, test_metrics={"loss": 2.3, "accuracy": accuracy},
                         duration_s=4.0)
    book.finish(run, result)
    got_kind, message = book.outcome
    assert got_kind == kind, message
    assert all(word in message for word in words), message
    assert ("But its" in message) == (kind == "warning")


def test_chance_level_is_judged_against_the_number_of_classes() -> None:
    from cnnviz.train.session import failure_note

    run = RunRecord(run_id=1, dataset="digits", spec={}, config={}, history={"loss": [0.69]},
                    test_metrics={"accuracy": 0.52})
    assert "chance level" in failure_note(run, 2)  # a coin flip among 2 classes
    assert failure_note(run, 10) == ""  # 52% among 10 classes learned something
    assert failure_note(run, None) == ""


def test_saving_is_blocked_when_the_latest_run_kept_nothing() -> None:
    """Issue 15: a run that kept no epoch left the previous run's model in place, and Save saved that."""
    book = session()
    assert book.save_blocker() == ""
    first = book.start(FakeDataset(), ModelSpec(), TrainConfig(epochs=2), total_params=1)
    book.epoch_finished(first, object(), FakeDataset(), epoch(0, 2), [], seconds=1.0)
    book.finish(first, TrainResult(history=epoch(0, 2).history, epochs_done=1))
    assert book.save_blocker() == ""
    second = book.start(FakeDataset(), ModelSpec(), TrainConfig(epochs=2), total_params=1)
    assert book.save_blocker() == ""  # while Run 2 trains, Run 1's model may still be saved
    book.finish(second, TrainResult(stopped_by_user=True))
    assert "Run 2 kept no finished epoch" in book.save_blocker()
    third = book.start(FakeDataset(), ModelSpec(), TrainConfig(epochs=2), total_params=1)
    book.epoch_finished(third, object(), FakeDataset(), epoch(0, 2), [], seconds=1.0)
    book.finish(third, TrainResult(history=epoch(0, 2).history, epochs_done=1))
    assert book.save_blocker() == ""


def test_the_progress_line_shows_speed_and_time_left_only_once_a_few_batches_are_timed() -> None:
    """Issue 15: the first progress line said "32 images/s · 222 s left"."""
    from cnnviz.train.loop import BatchProgress
    from cnnviz.train.session import progress_text

    first = BatchProgress(epoch=0, epochs=10, step=1, steps=225, loss=2.3, accuracy=0.1, samples_per_s=32.0,
                          seconds_left=222.0)
    assert "measuring speed" in progress_text(first) and "images/s" not in progress_text(first)
    later = BatchProgress(epoch=0, epochs=10, step=40, steps=225, loss=0.9, accuracy=0.7, samples_per_s=812.0,
                          seconds_left=7.3)
    assert progress_text(later).endswith("812 images/s · 7 s left in this epoch")
    short = BatchProgress(epoch=0, epochs=1, step=2, steps=2, loss=0.9, accuracy=0.7, samples_per_s=50.0,
                          seconds_left=0.0)
    assert "50 images/s" in progress_text(short)  # an epoch of 2 batches is timed by its end
