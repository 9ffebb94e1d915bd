"""cnnviz.train.worker: training in a child process gives what in-process training gives, and survives its end.

Each test starts a real ``python -m cnnviz.train.worker`` child (a TensorFlow import, 10 s or more on 2 busy
cores), so those tests are marked slow.
"""

from __future__ import annotations

import os
import signal
import time

import numpy as np
import pytest

from cnnviz.train.loop import (
    BatchProgress,
    EpochProgress,
    TrainConfig,
    TrainingConfigError,
    evaluate_model,
    prepare_data,
)
from cnnviz.train.spec import ConvBlockSpec, ModelSpec, build_model
from cnnviz.train.worker import (
    TrainingHungError,
    TrainingProcessError,
    WarmDesign,
    heartbeat_timeout_s,
    train_model_isolated,
    warm_worker_enabled,
)
from tests.support.figures import record_figure
from tests.support.training import TinyData, fresh_model, make_tiny
from tests.support.training import training_children as _children


@pytest.fixture(scope="module")
def tiny() -> TinyData:
    return make_tiny()


def _assert_same_weights(actual: list[np.ndarray], expected: list[np.ndarray]) -> None:
    assert len(actual) == len(expected)
    for got, want in zip(actual, expected):
        np.testing.assert_array_equal(got, want)


@pytest.mark.slow
def test_the_callers_model_gets_every_epochs_weights_and_a_stop_request_reaches_the_child(tiny: TinyData) -> None:
    config = TrainConfig(epochs=20, batch_size=16, train_size=96, validation_split=0.25, learning_rate=0.01,
                         early_stopping=False)
    model = fresh_model()
    initial = model.get_weights()
    batches: list[BatchProgress] = []
    epochs: list[EpochProgress] = []
    seen_weights: list[list[np.ndarray]] = []

    def on_epoch(progress: EpochProgress) -> None:
        epochs.append(progress)
        seen_weights.append(model.get_weights())

    result = train_model_isolated(model, prepare_data(tiny, config), config, on_batch=batches.append,
                                  on_epoch=on_epoch, should_stop=lambda: len(epochs) >= 2, batch_interval_s=0.0)

    assert result.stopped_by_user and result.status == "stopped"
    assert 2 <= result.epochs_done < 20
    assert [progress.epoch for progress in epochs] == list(range(result.epochs_done))
    # 72 training images / 16 = 5 batches per epoch, every one reported (the cut-short epoch's too).
    assert 5 * result.epochs_done <= len(batches) < 5 * (result.epochs_done + 1)
    assert epochs[-1].history == result.history
    # The caller's model changed epoch by epoch, and ends with the last finished epoch's weights.
    assert not np.array_equal(seen_weights[0][0], initial[0])
    assert not np.array_equal(seen_weights[0][0], seen_weights[1][0])
    _assert_same_weights(model.get_weights(), seen_weights[-1])
    # The first-layer snapshots are those of the caller's model after each epoch.
    np.testing.assert_array_equal(result.filter_snapshots[-1], model.get_layer("conv_1").get_weights()[0])
    # The child's test metrics are the caller's model's own: it was compiled here too.
    measured = evaluate_model(model, tiny)
    assert measured["accuracy"] == pytest.approx(result.test_metrics["accuracy"])
    assert measured["loss"] == pytest.approx(result.test_metrics["loss"], rel=1e-5)
    assert result.duration_s > 0
    assert not _children()


@pytest.mark.slow
def test_an_interrupted_caller_ends_the_child_and_keeps_the_last_finished_epoch(tiny: TinyData) -> None:
    """Streamlit interrupts the script by raising from a callback (here from on_batch)."""

    class Interrupted(BaseException):
        pass

    config = TrainConfig(epochs=50, batch_size=8, train_size=96, validation_split=0.0, early_stopping=False)
    model = fresh_model()
    saved: list[list[np.ndarray]] = []

    def on_batch(progress: BatchProgress) -> None:
        if progress.epoch == 1 and progress.step >= 3:
            raise Interrupted

    with pytest.raises(Interrupted):
        train_model_isolated(model, prepare_data(tiny, config), config, on_batch=on_batch,
                             on_epoch=lambda p: saved.append(model.get_weights()), batch_interval_s=0.0)
    assert len(saved) == 1
    _assert_same_weights(model.get_weights(), saved[0])
    assert not _children(), "the training process outlived its caller"


@pytest.mark.slow
def test_a_killed_child_is_a_clear_error_and_the_finished_epochs_stay(tiny: TinyData) -> None:
    config = TrainConfig(epochs=50, batch_size=8, train_size=96, validation_split=0.0, early_stopping=False)
    model = fresh_model()
    saved: list[list[np.ndarray]] = []

    def on_epoch(progress: EpochProgress) -> None:
        saved.append(model.get_weights())
        if len(saved) == 1:
            for pid in _children():
                os.kill(pid, signal.SIGKILL)  # the out-of-memory killer, say

    with pytest.raises(TrainingProcessError, match=r"ended unexpectedly \(exit code -9\).*finished epochs are kept"):
        train_model_isolated(model, prepare_data(tiny, config), config, on_epoch=on_epoch)
    _assert_same_weights(model.get_weights(), saved[0])
    assert not _children()


def test_bad_settings_are_refused_before_any_process_starts(tiny: TinyData) -> None:
    data = prepare_data(tiny, TrainConfig(train_size=32))
    with pytest.raises(TrainingConfigError, match="Epochs"):
        train_model_isolated(fresh_model(), data, TrainConfig(epochs=0))
    assert not _children()


@pytest.mark.slow
def test_a_frozen_child_is_killed_after_its_heartbeat_stops_and_the_finished_epochs_stay(tiny: TinyData) -> None:
    """Issue 16, finding 3: a child frozen with SIGSTOP held the training slot forever."""
    config = TrainConfig(epochs=50, batch_size=8, train_size=96, validation_split=0.0, early_stopping=False)
    model = fresh_model()
    saved: list[list[np.ndarray]] = []
    idle: list[float] = []
    frozen: list[float] = []

    def on_epoch(progress: EpochProgress) -> None:
        saved.append(model.get_weights())
        if len(saved) == 1:
            for pid in _children():
                os.kill(pid, signal.SIGSTOP)
            frozen.append(time.monotonic())

    with pytest.raises(TrainingHungError, match=r"stopped responding.*finished epochs are kept"):
        train_model_isolated(model, prepare_data(tiny, config), config, on_epoch=on_epoch, on_idle=idle.append,
                             heartbeat_timeout=3.0)
    recovery = time.monotonic() - frozen[0]
    print(f"recovered from a frozen training child in {recovery:.1f} s (heartbeat timeout 3 s)")
    record_figure("hung_training_child", {"heartbeat_timeout_s": 3.0, "recovered_after_s": round(recovery, 1),
                                          "finished_epochs_kept": len(saved)})
    assert len(saved) == 1
    _assert_same_weights(model.get_weights(), saved[0])
    assert not _children(), "the frozen child was left behind"
    # The silent wait called back (a Streamlit caller can be interrupted there), saying how long it was silent.
    assert idle and max(idle) >= 1.5


def test_the_heartbeat_timeout_comes_from_the_environment_when_it_is_a_positive_number(monkeypatch) -> None:
    monkeypatch.setenv("CNNVIZ_HEARTBEAT_TIMEOUT_S", "7.5")
    assert heartbeat_timeout_s() == 7.5
    for bad in ("", "0", "-3", "nan", "inf", "soon"):
        monkeypatch.setenv("CNNVIZ_HEARTBEAT_TIMEOUT_S", bad)
        assert heartbeat_timeout_s() == 60.0


@pytest.mark.slow
def test_the_same_settings_and_seed_give_the_same_history_twice(tiny: TinyData) -> None:
    """Issue 15: eight runs with seed 42 ended between 97.95% and 98.50%. Dropout and several batches per epoch
    make every source of randomness count: initial weights, shuffling, dropout masks, reduction order."""
    from cnnviz.train.spec import ConvBlockSpec, ModelSpec, build_model

    spec = ModelSpec(conv_blocks=(ConvBlockSpec(filters=8, pooling="max"),), dropout=0.5, dense_units=(16,))
    config = TrainConfig(epochs=3, batch_size=16, train_size=96, validation_split=0.25, early_stopping=False, seed=7)
    runs = [train_model_isolated(build_model(spec, 2, seed=config.seed), prepare_data(tiny, config), config)
            for _ in range(2)]
    assert runs[0].epochs_done == 3
    assert runs[0].history == runs[1].history
    assert runs[0].test_metrics == runs[1].test_metrics
    np.testing.assert_array_equal(runs[0].filter_snapshots[-1], runs[1].filter_snapshots[-1])
    # (deterministic=False, a fresh child without op determinism, is used only by benchmarks/bench_training.py's
    # comparison, which runs it; a third child here cost 11-25 s of the suite.)


#: The design the tests' ready child traces: dropout and several batches per epoch, so that a traced model that
#: drew other dropout masks or kept its optimizer's steps would give another history than a fresh child.
TRACED_SPEC = ModelSpec(conv_blocks=(ConvBlockSpec(filters=4, pooling="max"),), dropout=0.5, dense_units=(8,))


@pytest.fixture()
def warm_worker():
    """The server's ready child (tracing :data:`TRACED_SPEC` for 2 classes), kept for the test and ended after it."""
    from cnnviz.train import worker

    worker.start_warm_worker(WarmDesign(spec=TRACED_SPEC, num_classes=2))
    yield worker
    worker.stop_warm_worker()


def _wait_for_ready(worker) -> int:
    pid = worker.warm_worker_pid()
    assert pid is not None
    return pid


@pytest.mark.slow
def test_a_training_takes_the_warm_child_and_a_new_one_is_ready_afterwards(tiny: TinyData, warm_worker) -> None:
    """Issue 11 item 1: the ready child trains (one job) on the design it traced beforehand, a new one is ready once
    it ends, both run nicer, and the history is the one a fresh child gives."""
    ready = _wait_for_ready(warm_worker)
    # The ready child runs at a lower CPU priority than the server (a higher niceness).
    assert os.getpriority(os.PRIO_PROCESS, ready) > os.getpriority(os.PRIO_PROCESS, 0)
    config = TrainConfig(epochs=2, batch_size=16, train_size=96, validation_split=0.25, early_stopping=False)
    model = build_model(TRACED_SPEC, 2, seed=config.seed)
    alive_while_training: list[tuple[bool, int | None]] = []
    started: list[dict] = []

    def on_epoch(progress: EpochProgress) -> None:
        alive_while_training.append((os.path.exists(f"/proc/{ready}"), warm_worker.warm_worker_pid()))

    result = train_model_isolated(model, prepare_data(tiny, config), config, on_epoch=on_epoch,
                                  on_started=started.append)
    assert result.epochs_done == 2
    assert started == [{"pretraced": True}]  # it trained the model it had traced while waiting
    (alive, during), _ = alive_while_training
    # The warm child trains; its replacement waits for the training to end (no TensorFlow import racing it).
    assert alive and during is None
    replacement = warm_worker.warm_worker_pid()
    assert replacement is not None and replacement != ready
    assert not os.path.exists(f"/proc/{ready}") or ready not in _children()  # one job per child: it exited
    assert os.getpriority(os.PRIO_PROCESS, replacement) > os.getpriority(os.PRIO_PROCESS, 0)
    with open(f"/proc/{replacement}/cmdline", "rb") as cmdline:  # it traces the same design for the next training
        assert WarmDesign.from_argument(cmdline.read().split(b"\0")[-2].decode()) == WarmDesign(TRACED_SPEC, 2)
    # A warm child trains exactly as a fresh one does (same seed, same history, same weights), although it trained
    # its traced model, whose optimizer had stepped and whose dropout had drawn masks during the tracing.
    cold_model = build_model(TRACED_SPEC, 2, seed=config.seed)
    warm_worker.stop_warm_worker()
    cold_started: list[dict] = []
    cold = train_model_isolated(cold_model, prepare_data(tiny, config), config, on_started=cold_started.append)
    assert cold_started == [{"pretraced": False}]
    assert cold.history == result.history
    assert cold.test_metrics == result.test_metrics
    _assert_same_weights(cold_model.get_weights(), model.get_weights())


@pytest.mark.slow
def test_a_dead_warm_child_is_replaced_and_stop_keeps_the_finished_epochs(tiny: TinyData, warm_worker) -> None:
    ready = _wait_for_ready(warm_worker)
    os.kill(ready, signal.SIGKILL)  # the out-of-memory killer, say, while it waited
    deadline = time.monotonic() + 10
    while warm_worker.warm_worker_pid() is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    config = TrainConfig(epochs=20, batch_size=16, train_size=96, validation_split=0.0, early_stopping=False)
    model = fresh_model()
    saved: list[list[np.ndarray]] = []

    def on_epoch(progress: EpochProgress) -> None:
        saved.append(model.get_weights())

    started: list[dict] = []
    result = train_model_isolated(model, prepare_data(tiny, config), config, on_epoch=on_epoch,
                                  should_stop=lambda: len(saved) >= 2, on_started=started.append)
    assert result.status == "stopped" and 2 <= result.epochs_done < 20
    assert started == [{"pretraced": False}]  # trained on a child started on demand, which traced nothing before
    _assert_same_weights(model.get_weights(), saved[-1])
    replacement = warm_worker.warm_worker_pid()
    assert replacement is not None and replacement != ready
    assert not _children()


def test_no_warm_child_is_kept_when_trainings_run_on_ray(monkeypatch) -> None:
    monkeypatch.delenv("CNNVIZ_WARM_WORKER", raising=False)
    monkeypatch.delenv("CNNVIZ_RAY_ADDRESS", raising=False)
    assert warm_worker_enabled()
    monkeypatch.setenv("CNNVIZ_RAY_ADDRESS", "auto")  # the cluster trains: an idle local child would waste ~770 MB
    assert not warm_worker_enabled()


def test_the_childs_niceness_comes_from_the_environment_within_0_to_19(monkeypatch) -> None:
    from cnnviz.train.worker import WORKER_NICENESS, worker_niceness

    for value, expected in (("", WORKER_NICENESS), ("3", 3), ("0", 0), ("19", 19), ("20", WORKER_NICENESS),
                            ("-1", WORKER_NICENESS), ("high", WORKER_NICENESS), ("2.5", WORKER_NICENESS)):
        monkeypatch.setenv("CNNVIZ_WORKER_NICENESS", value)
        assert worker_niceness() == expected, value
