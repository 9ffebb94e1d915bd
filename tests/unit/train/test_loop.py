"""cnnviz.train.loop: real ``model.fit(verbose=0)`` runs on tiny data, no mocking of Keras."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from cnnviz.train.loop import (
    LR_SCHEDULES,
    BatchProgress,
    EpochProgress,
    PreparedData,
    TrainConfig,
    TrainingConfigError,
    prepare_data,
    scheduled_learning_rate,
    train_model,
    validate_config,
)
from tests.support.training import TinyData, fresh_model, make_tiny


@pytest.fixture(scope="module")
def tiny() -> TinyData:
    return make_tiny()


def test_prepare_data_is_a_seeded_scaled_subset(tiny: TinyData) -> None:
    config = TrainConfig(train_size=50, validation_split=0.2, seed=3)
    data = prepare_data(tiny, config)
    assert data.x_train.shape == (40, 28, 28, 1) and data.x_val.shape == (10, 28, 28, 1)
    assert data.x_train.dtype == np.float32 and 0.0 <= data.x_train.min() and data.x_train.max() <= 1.0
    assert data.x_test.shape == (32, 28, 28, 1)
    again = prepare_data(tiny, config)
    np.testing.assert_array_equal(data.y_train, again.y_train)
    # More than available is capped; no validation means an empty validation set.
    all_data = prepare_data(tiny, TrainConfig(train_size=10_000, validation_split=0.0))
    assert len(all_data.x_train) == 96 and len(all_data.x_val) == 0


def test_prepared_data_travels_as_its_pixels_and_arrives_the_same(tiny: TinyData) -> None:
    # What the training process receives: a pickled copy. With the data lab thinning a class out, too.
    config = TrainConfig(train_size=80, validation_split=0.25, seed=1, imbalance_classes=(1,), imbalance_keep=0.5)
    data = prepare_data(tiny, config)
    assert data.pixels is not None and [part.dtype for part in data.pixels] == [np.uint8] * 3
    sent = pickle.dumps(data)
    received = pickle.loads(sent)
    for name in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test"):
        np.testing.assert_array_equal(getattr(received, name), getattr(data, name), err_msg=name)
        assert getattr(received, name).dtype == getattr(data, name).dtype
    floats = sum(part.nbytes for part in (data.x_train, data.x_val, data.x_test))
    assert len(sent) < floats / 3  # a quarter of the bytes, and the labels
    # A copy put together by hand (other images than its pixels) sends its floats.
    by_hand = PreparedData(data.x_train[:5], data.y_train[:5], data.x_val, data.y_val, data.x_test, data.y_test,
                           pixels=data.pixels)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(by_hand)).x_train, data.x_train[:5])
    no_validation = pickle.loads(pickle.dumps(prepare_data(tiny, TrainConfig(train_size=20, validation_split=0.0))))
    assert no_validation.x_val.shape == (0, 28, 28, 1) and no_validation.x_val.dtype == np.float32


def test_training_learns_and_reports_every_epoch(tiny: TinyData) -> None:
    batches: list[BatchProgress] = []
    epochs: list[EpochProgress] = []
    config = TrainConfig(epochs=3, batch_size=16, train_size=96, validation_split=0.25, learning_rate=0.01,
                         early_stopping=False)
    model = fresh_model()
    result = train_model(model, prepare_data(tiny, config), config, on_batch=batches.append, on_epoch=epochs.append,
                         batch_interval_s=0.0)

    assert result.epochs_done == 3 and result.status == "finished"
    assert set(result.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(series) == 3 for series in result.history.values())
    assert [progress.epoch for progress in epochs] == [0, 1, 2]
    assert epochs[-1].history == result.history
    # With batch_interval_s=0 every batch is reported: 72 training images / 16 = 5 batches per epoch.
    assert len(batches) == 15 and batches[-1].step == batches[-1].steps == 5
    assert len(result.filter_snapshots) == 3 and result.filter_snapshots[0].shape == (3, 3, 1, 4)
    assert not np.array_equal(result.filter_snapshots[0], result.filter_snapshots[-1])
    assert result.test_metrics["accuracy"] >= 0.9
    evaluated = model.evaluate(prepare_data(tiny, config).x_test, tiny.y_test, verbose=0, return_dict=True)
    assert result.test_metrics["accuracy"] == pytest.approx(evaluated["accuracy"])
    assert (result.train_size, result.val_size, result.test_size) == (72, 24, 32)
    assert result.samples_per_s > 0 and result.duration_s > 0


def test_stop_mid_epoch_keeps_finished_epochs_and_their_weights(tiny: TinyData) -> None:
    config = TrainConfig(epochs=5, batch_size=8, train_size=96, validation_split=0.25, early_stopping=False)
    model = fresh_model()
    weights_after_epoch: list[list[np.ndarray]] = []
    batches_seen = 0

    def on_epoch(progress: EpochProgress) -> None:
        weights_after_epoch.append(model.get_weights())

    def should_stop() -> bool:
        nonlocal batches_seen
        batches_seen += 1
        # 72 training images / 8 = 9 batches per epoch: stop at batch 4 of epoch 3.
        return batches_seen == 2 * 9 + 4

    result = train_model(model, prepare_data(tiny, config), config, on_epoch=on_epoch, should_stop=should_stop)
    assert result.stopped_by_user and result.status == "stopped"
    assert result.epochs_done == 2
    assert all(len(series) == 2 for series in result.history.values())
    assert len(result.filter_snapshots) == 2
    for kept, expected in zip(model.get_weights(), weights_after_epoch[-1]):
        np.testing.assert_array_equal(kept, expected)
    assert "accuracy" in result.test_metrics


def test_stop_during_first_epoch_keeps_nothing(tiny: TinyData) -> None:
    config = TrainConfig(epochs=3, batch_size=8, train_size=96, validation_split=0.0)
    result = train_model(fresh_model(), prepare_data(tiny, config), config, should_stop=lambda: True)
    assert result.stopped_by_user and result.epochs_done == 0
    assert result.history == {} and result.test_metrics == {}


def test_exception_inside_fit_restores_last_finished_epoch(tiny: TinyData) -> None:
    """Streamlit interrupts a script by raising from inside a callback; finished epochs must survive."""

    class Interrupted(BaseException):
        pass

    config = TrainConfig(epochs=4, batch_size=8, train_size=96, validation_split=0.0, early_stopping=False)
    model = fresh_model()
    saved: list[list[np.ndarray]] = []

    def on_batch(progress: BatchProgress) -> None:
        if progress.epoch == 1 and progress.step == 5:
            raise Interrupted

    with pytest.raises(Interrupted):
        train_model(
            model, prepare_data(tiny, config), config, on_batch=on_batch,
            on_epoch=lambda p: saved.append(model.get_weights()), batch_interval_s=0.0,
        )
    assert len(saved) == 1
    for kept, expected in zip(model.get_weights(), saved[0]):
        np.testing.assert_array_equal(kept, expected)


def test_huge_learning_rate_stops_on_nan_with_an_explanation(tiny: TinyData) -> None:
    config = TrainConfig(optimizer="sgd", learning_rate=1e12, epochs=3, batch_size=8, train_size=96,
                         validation_split=0.0)
    model = fresh_model()
    initial = model.get_weights()
    result = train_model(model, prepare_data(tiny, config), config)
    assert result.nan_detected and result.status == "NaN"
    assert "learning rate" in result.nan_message and "smaller" in result.nan_message
    assert all(np.isfinite(series).all() for series in result.history.values())
    assert all(np.isfinite(weights).all() for weights in model.get_weights())
    # SGD at 1e12 blows up within the first epoch: the untrained weights are put back.
    assert result.epochs_done == 0 and "no epoch had finished" in result.nan_message
    for kept, expected in zip(model.get_weights(), initial):
        np.testing.assert_array_equal(kept, expected)


def test_early_stopping_restores_best_epoch(tiny: TinyData) -> None:
    config = TrainConfig(epochs=30, batch_size=16, train_size=96, validation_split=0.25, early_stopping=True,
                         patience=1, learning_rate=0.05, seed=1)
    model = fresh_model()
    weights: list[list[np.ndarray]] = []
    result = train_model(model, prepare_data(tiny, config), config,
                         on_epoch=lambda p: weights.append(model.get_weights()))
    assert result.early_stopped and result.status == "early-stopped"
    assert result.epochs_done < 30
    best = int(np.argmin(result.history["val_loss"]))
    assert result.best_epoch == best
    for kept, expected in zip(model.get_weights(), weights[best]):
        np.testing.assert_array_equal(kept, expected)


@pytest.mark.parametrize(
    "config",
    [
        TrainConfig(optimizer="lbfgs"),
        TrainConfig(learning_rate=0.0),
        TrainConfig(learning_rate=float("nan")),
        TrainConfig(batch_size=0),
        TrainConfig(epochs=0),
        TrainConfig(validation_split=0.9),
        TrainConfig(patience=0),
        TrainConfig(lr_schedule="one-cycle"),
    ],
)
def test_bad_config_is_rejected_with_the_value(config: TrainConfig) -> None:
    with pytest.raises(TrainingConfigError, match="got"):
        validate_config(config)


def test_config_dict_round_trip() -> None:
    for schedule in LR_SCHEDULES:
        config = TrainConfig(optimizer="rmsprop", epochs=2, early_stopping=False, lr_schedule=schedule)
        assert TrainConfig.from_dict(config.to_dict()) == config
    assert TrainConfig.from_dict({"epochs": 4, "lr_schedule": "cosine", "unknown": 1}) == TrainConfig(epochs=4)


def test_settings_saved_before_the_schedule_existed_still_train_at_a_constant_rate() -> None:
    old = {key: value for key, value in TrainConfig(learning_rate=0.001, batch_size=32).to_dict().items()
           if key != "lr_schedule"}
    assert TrainConfig.from_dict(old).lr_schedule == "constant"


def test_cosine_schedule_halves_a_cosine_wave_over_the_epochs() -> None:
    # Worked by hand for 4 epochs: (1 + cos(k * pi / 4)) / 2 = 1, (2 + sqrt(2)) / 4, 1/2, (2 - sqrt(2)) / 4.
    config = TrainConfig(learning_rate=0.004, epochs=4, lr_schedule="cosine")
    expected = [0.004, 0.001 * (2 + 2**0.5), 0.002, 0.001 * (2 - 2**0.5)]
    assert [scheduled_learning_rate(config, epoch) for epoch in range(4)] == pytest.approx(expected, rel=1e-12)
    constant = TrainConfig(learning_rate=0.004, epochs=4, lr_schedule="constant")
    assert [scheduled_learning_rate(constant, epoch) for epoch in range(4)] == [0.004] * 4


def test_a_cosine_training_sets_each_epochs_rate_and_keeps_it_out_of_the_history(tiny: TinyData) -> None:
    config = TrainConfig(epochs=3, batch_size=16, train_size=96, validation_split=0.25, learning_rate=0.01,
                         early_stopping=False, lr_schedule="cosine")
    model = fresh_model()
    rates: list[float] = []
    result = train_model(model, prepare_data(tiny, config), config,
                         on_epoch=lambda progress: rates.append(float(model.optimizer.learning_rate.numpy())))
    assert rates == pytest.approx([scheduled_learning_rate(config, epoch) for epoch in range(3)], rel=1e-6)
    assert rates[0] == pytest.approx(0.01) and rates[-1] == pytest.approx(0.0025)  # (1 + cos(2 pi / 3)) / 2 = 1/4
    assert set(result.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert result.test_metrics["accuracy"] >= 0.9


def test_interrupted_training_with_early_stopping_ends_on_the_best_epoch(tiny: TinyData) -> None:
    class Interrupted(BaseException):
        pass

    config = TrainConfig(epochs=6, batch_size=8, train_size=96, validation_split=0.25, learning_rate=0.05,
                         patience=5, seed=1)
    model = fresh_model()
    saved: list[list[np.ndarray]] = []
    history: dict[str, list[float]] = {}

    def on_epoch(progress: EpochProgress) -> None:
        saved.append(model.get_weights())
        history.update(progress.history)

    def on_batch(progress: BatchProgress) -> None:
        if progress.epoch == 3 and progress.step == 2:
            raise Interrupted

    with pytest.raises(Interrupted):
        train_model(model, prepare_data(tiny, config), config, on_batch=on_batch, on_epoch=on_epoch,
                    batch_interval_s=0.0)
    best = int(np.argmin(history["val_loss"]))
    for kept, expected in zip(model.get_weights(), saved[best]):
        np.testing.assert_array_equal(kept, expected)
