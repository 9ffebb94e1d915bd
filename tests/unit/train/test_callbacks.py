"""cnnviz.train.callbacks: each callback alone in a real ``model.fit(verbose=0)`` on tiny data."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from cnnviz.train.callbacks import (
    BatchReporter,
    BestFinishedEpochStopping,
    EpochReporter,
    FilterSnapshots,
    FinishedEpochs,
    StopOnNaN,
    StopOnRequest,
)
from cnnviz.train.loop import BatchProgress, EpochProgress, PreparedData, TrainConfig, prepare_data
from tests.support.training import fresh_model, make_tiny

#: 48 training images in batches of 8: 6 batches per epoch.
STEPS = 6


@pytest.fixture(scope="module")
def data() -> PreparedData:
    return prepare_data(make_tiny(), TrainConfig(train_size=64, validation_split=0.25, seed=0))


def fit(data: PreparedData, callbacks: list, *, epochs: int = 2, learning_rate: float = 0.01,
        optimizer: str = "adam", validation: bool = True, model=None) -> keras.Model:
    model = model if model is not None else fresh_model()
    chosen = (keras.optimizers.Adam(learning_rate) if optimizer == "adam"
              else keras.optimizers.SGD(learning_rate, momentum=0.9))
    model.compile(optimizer=chosen, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(data.x_train, data.y_train, batch_size=8, epochs=epochs, verbose=0, callbacks=callbacks,
              validation_data=(data.x_val, data.y_val) if validation else None)
    return model


def stop_at(epoch: int, batch: int) -> keras.callbacks.LambdaCallback:
    """Keras's own way to end training after ``batch`` (1-based) of 0-based ``epoch``."""
    state = {"epoch": 0}

    def on_epoch_begin(index, logs):
        state["epoch"] = index

    def on_train_batch_end(index, logs):
        if state["epoch"] == epoch and index + 1 == batch:
            callback.model.stop_training = True

    callback = keras.callbacks.LambdaCallback(on_epoch_begin=on_epoch_begin, on_train_batch_end=on_train_batch_end)
    return callback


def weights_after_each_epoch(store: list) -> keras.callbacks.LambdaCallback:
    callback = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: store.append(callback.model.get_weights())
    )
    return callback


def test_finished_epochs_keeps_whole_epochs_only_and_resets_for_the_next_fit(data: PreparedData) -> None:
    finished = FinishedEpochs()
    after: list = []
    model = fit(data, [finished, weights_after_each_epoch(after), stop_at(2, 3)], epochs=5)
    assert finished.epochs_done == 2 and finished.partial
    assert set(finished.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(series) == 2 for series in finished.history.values())
    assert finished.last_logs["loss"] == finished.history["loss"][-1]
    for kept, expected in zip(finished.last_weights, after[1]):
        np.testing.assert_array_equal(kept, expected)
    assert not np.array_equal(finished.last_weights[0], model.get_weights()[0])  # epoch 3 trained 3 batches on
    # The same instance in a second fit starts from nothing.
    fit(data, [finished], epochs=1, model=model)
    assert finished.epochs_done == 1 and not finished.partial and len(finished.history["loss"]) == 1


def test_stop_on_request_ends_after_the_batch_that_asked(data: PreparedData) -> None:
    polls: list[int] = []

    def should_stop() -> bool:
        polls.append(1)
        return len(polls) == STEPS + 2

    stop = StopOnRequest(should_stop)
    finished = FinishedEpochs()
    fit(data, [finished, stop], epochs=4)
    assert stop.stopped and len(polls) == STEPS + 2
    assert finished.epochs_done == 1 and finished.partial


def test_stop_on_request_that_never_asks_lets_every_epoch_run(data: PreparedData) -> None:
    stop = StopOnRequest(lambda: False)
    finished = FinishedEpochs()
    fit(data, [finished, stop], epochs=2)
    assert not stop.stopped and finished.epochs_done == 2


def test_stop_on_nan_stops_at_the_batch_whose_loss_blew_up_and_explains(data: PreparedData) -> None:
    guard = StopOnNaN()
    finished = FinishedEpochs()
    fit(data, [guard, finished], epochs=3, optimizer="sgd", learning_rate=1e12, validation=False)
    assert guard.detected and finished.epochs_done == 0
    assert guard.where.startswith("The training loss became nan at batch ")
    message = guard.message(0)
    assert "no epoch had finished" in message and "10 times smaller" in message and "for this optimizer" in message
    assert "last finished epoch (2) were kept" in guard.message(2)


def test_stop_on_nan_catches_a_validation_metric_that_is_not_finite(data: PreparedData) -> None:
    # Validation images near float32's largest value overflow the validation loss to inf. (NaN images do not do
    # it everywhere: on an AVX-512 Xeon oneDNN's max pooling dropped the NaNs and the loss stayed 0.69.)
    broken = PreparedData(data.x_train, data.y_train, np.full_like(data.x_val, 3e38), data.y_val,
                          data.x_test, data.y_test)
    guard = StopOnNaN()
    finished = FinishedEpochs()
    fit(broken, [guard, finished], epochs=3)
    assert guard.detected and guard.where.startswith("Epoch 1 ended with a non-finite metric")
    assert finished.epochs_done == 0 and finished.partial  # the training loss was fine, the epoch is not kept


def test_stop_on_nan_says_nothing_when_all_is_finite(data: PreparedData) -> None:
    guard = StopOnNaN()
    fit(data, [guard], epochs=1)
    assert not guard.detected and guard.message(1) == ""


def test_filter_snapshots_copy_the_kernel_of_each_kept_epoch(data: PreparedData) -> None:
    every = FilterSnapshots("conv_1")
    second_only = FilterSnapshots("conv_1", keep=lambda epoch: epoch == 1)
    missing = FilterSnapshots("conv_9")
    model = fit(data, [every, second_only, missing], epochs=2)
    assert len(every.snapshots) == 2 and every.snapshots[0].shape == (3, 3, 1, 4)
    assert every.snapshots[0].dtype == np.float32
    assert not np.array_equal(every.snapshots[0], every.snapshots[1])
    np.testing.assert_array_equal(every.snapshots[1], model.get_layer("conv_1").get_weights()[0])
    assert len(second_only.snapshots) == 1
    np.testing.assert_array_equal(second_only.snapshots[0], every.snapshots[1])
    assert missing.snapshots == [] and missing.latest is None


def test_batch_reporter_reports_every_batch_or_the_first_and_each_last_when_throttled(data: PreparedData) -> None:
    every: list[BatchProgress] = []
    throttled: list[BatchProgress] = []
    reporter = BatchReporter(every.append, batch_size=8, train_samples=48, interval_s=0.0)
    fit(data, [reporter, BatchReporter(throttled.append, batch_size=8, train_samples=48, interval_s=3600.0)])
    assert [(p.epoch, p.step) for p in every] == [(e, s) for e in range(2) for s in range(1, STEPS + 1)]
    assert all(p.steps == STEPS and p.epochs == 2 for p in every)
    assert all(p.samples_per_s > 0 and p.seconds_left >= 0 for p in every)
    assert every[STEPS - 1].seconds_left == 0.0 and every[0].seconds_left > 0
    assert np.isfinite(every[0].loss) and 0.0 <= every[0].accuracy <= 1.0
    # With an interval never reached: the training's first batch (the learner sees it move at once), then only
    # each epoch's last batch.
    assert [(p.epoch, p.step) for p in throttled] == [(0, 1), (0, STEPS), (1, STEPS)]
    assert reporter.train_seconds > 0


def test_epoch_reporter_reports_finished_epochs_with_their_filters(data: PreparedData) -> None:
    reports: list[EpochProgress] = []
    finished = FinishedEpochs()
    snapshots = FilterSnapshots("conv_1", keep=finished.is_finished)
    fit(data, [finished, snapshots, EpochReporter(reports.append, finished, snapshots), stop_at(2, 2)], epochs=5)
    assert [report.epoch for report in reports] == [0, 1]  # the cut-short third epoch is not reported
    assert all(report.epochs == 5 and report.seconds > 0 for report in reports)
    assert reports[0].history == {name: series[:1] for name, series in finished.history.items()}
    assert reports[1].history == finished.history and reports[1].logs == finished.last_logs
    np.testing.assert_array_equal(reports[1].filters, snapshots.snapshots[1])


def test_early_stopping_only_weighs_finished_epochs(data: PreparedData) -> None:
    after: list = []
    # Only epoch 0 counts as finished: later epochs can neither be the best nor use up the patience.
    early = BestFinishedEpochStopping(lambda epoch: epoch == 0, monitor="val_loss", patience=1,
                                      restore_best_weights=True)
    model = fit(data, [weights_after_each_epoch(after), early], epochs=4, learning_rate=0.05)
    assert early.best_epoch == 0 and early.stopped_epoch == 0
    for kept, expected in zip(model.get_weights(), after[0]):  # Keras restored the best weights at the end
        np.testing.assert_array_equal(kept, expected)
