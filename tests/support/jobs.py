"""Training jobs in tests: backends the test holds in its hand, a fresh job manager, and waiting for a job's end.

The backends are plain functions with :func:`cnnviz.train.worker.train_model_isolated`'s signature, so the job
manager, its queue and the page's bookkeeping run their real code around them.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from cnnviz.train import jobs
from cnnviz.train.loop import BatchProgress, EpochProgress, TrainResult


class GatedBackend:
    """A training that reports batch 1 and epoch 1 at once, then "trains" until its seed is released or a stop.

    ``fail=True``: the training process "dies" after epoch 1 (:class:`TrainingProcessError`). The returned
    history has ``config.epochs`` epochs when released, 1 when stopped.
    """

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self._lock = threading.Lock()
        self.releases: dict[int, threading.Event] = {}

    def _event(self, seed: int) -> threading.Event:
        with self._lock:
            return self.releases.setdefault(seed, threading.Event())

    def release(self, seed: int) -> None:
        """Let the training with this seed finish (before or after it started)."""
        self._event(seed).set()

    def __call__(self, model: Any, data: Any, config: Any, *, on_batch=None, on_epoch=None, should_stop=None,
                 on_idle=None) -> TrainResult:
        from cnnviz.train.loop import compile_model
        from cnnviz.train.worker import TrainingProcessError

        compile_model(model, config)  # the real backends leave the model compiled, so it can be evaluated
        history = {"loss": [0.7], "accuracy": [0.5], "val_loss": [0.7], "val_accuracy": [0.5]}
        on_batch(BatchProgress(epoch=0, epochs=config.epochs, step=1, steps=3, loss=0.7, accuracy=0.5,
                               samples_per_s=100.0, seconds_left=1.0))
        on_epoch(EpochProgress(epoch=0, epochs=config.epochs, logs={"loss": 0.7}, history=history, filters=None,
                               seconds=0.1))
        if self.fail:
            raise TrainingProcessError("The training process ended unexpectedly (exit code -9) before it finished.")
        released = self._event(config.seed)
        while not released.wait(0.01):
            if should_stop():
                return TrainResult(history=history, epochs_done=1, stopped_by_user=True,
                                   test_metrics={"loss": 0.7, "accuracy": 0.5})
            on_idle(0.0)
        full = {key: values * config.epochs for key, values in history.items()}
        return TrainResult(history=full, epochs_done=config.epochs, test_metrics={"loss": 0.6, "accuracy": 0.6})


class PausingBackend:
    """Wraps a real backend and holds its job after the first batch report and after every finished epoch, until
    the test calls :meth:`resume`; so a page can be looked at in a known state of a real training."""

    def __init__(self, backend: Any) -> None:
        self.backend = backend
        self._condition = threading.Condition()
        self.pauses: list[str] = []
        self._resumed = 0

    def _pause(self, what: str) -> None:
        with self._condition:
            self.pauses.append(what)
            self._condition.notify_all()
            self._condition.wait_for(lambda: self._resumed >= len(self.pauses), timeout=120)

    def wait_for_pause(self, count: int, timeout: float = 240) -> str:
        """Wait until the job has paused ``count`` times; return what the last pause followed."""
        with self._condition:
            assert self._condition.wait_for(lambda: len(self.pauses) >= count, timeout=timeout), self.pauses
            return self.pauses[count - 1]

    def resume(self) -> None:
        with self._condition:
            self._resumed += 1
            self._condition.notify_all()

    def __call__(self, model: Any, data: Any, config: Any, *, on_batch=None, on_epoch=None, **options) -> TrainResult:
        batches = [0]

        def paused_batch(progress: BatchProgress) -> None:
            on_batch(progress)
            batches[0] += 1
            if batches[0] == 1:
                self._pause("batch")

        def paused_epoch(progress: EpochProgress) -> None:
            on_epoch(progress)
            self._pause(f"epoch {progress.epoch + 1}")

        return self.backend(model, data, config, on_batch=paused_batch, on_epoch=paused_epoch, **options)


def install_job_manager(monkeypatch: pytest.MonkeyPatch, backend: Any = None, name: str = "local",
                        **options: Any) -> jobs.JobManager:
    """Make a fresh :class:`~cnnviz.train.jobs.JobManager` the server's (AppTest runs in this process)."""
    manager = jobs.JobManager(backend=(name, backend) if backend is not None else None, **options)
    monkeypatch.setattr(jobs, "_manager", manager)
    return manager


@pytest.fixture
def fresh_job_manager(monkeypatch: pytest.MonkeyPatch) -> jobs.JobManager:
    """A fresh job manager with the environment's backend for each test: no job of an earlier test is ahead."""
    return install_job_manager(monkeypatch)


def run_until_trained(app: Any, timeout: float = 240.0, poll_s: float = 0.2) -> Any:
    """Rerun ``app`` (an AppTest of a page of the studio) until its session has recorded its job's end."""
    deadline = time.monotonic() + timeout
    while True:
        tracked = app.session_state["train_job"] if "train_job" in app.session_state else None
        if isinstance(tracked, dict) and tracked.get("closed") or app.exception:
            return app
        assert time.monotonic() < deadline, "the training job did not end in time"
        time.sleep(poll_s)
        app.run()


def small_settings(app: Any, *, epochs: int = 1) -> Any:
    """Set a Train page AppTest to the digits, one conv block of 4 filters, no dense layer, ``epochs`` epochs on
    200 images (a training of a few seconds), and run it."""
    app.selectbox(key="train_dataset").set_value("digits").run()
    app.slider(key="train_blocks").set_value(1).run()
    app.select_slider(key="train_b1_filters").set_value(4)
    app.slider(key="train_dense").set_value(0)
    app.slider(key="train_epochs").set_value(epochs)
    app.slider(key="train_train_size").set_value(200)
    return app.run()
