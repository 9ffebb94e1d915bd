"""cnnviz.train.ray_backend against a real local Ray cluster (tests/support/ray_cluster.py), not a mock.

A training on Ray streams what the local worker streams and ends with the same weights; Stop keeps the finished
epochs; a Ray worker killed mid-training is a one-line error with the finished epochs kept; the dataset goes to
the object store once. Each training starts a Ray worker that imports TensorFlow, so these tests are slow.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field

import numpy as np
import pytest

from cnnviz.train import ray_backend
from cnnviz.train.loop import BatchProgress, EpochProgress, PreparedData, TrainConfig, TrainResult, prepare_data
from cnnviz.train.ray_backend import RayConnectionError, RayWorkerDiedError, RayWorkerHungError, train_model_ray
from cnnviz.train.spec import ConvBlockSpec, ModelSpec
from cnnviz.train.worker import TrainingProcessError, train_model_isolated
from tests.support.paths import REPO_ROOT
from tests.support.ray_cluster import RayCluster, ray_cluster  # noqa: F401 - the fixture
from tests.support.training import fresh_model, make_tiny
from tools.streamlit_server import free_port

#: 200 images, 160 to train (10 batches of 16) and 40 to validate; the two tiny classes are learnt in an epoch.
CONFIG = TrainConfig(epochs=2, batch_size=16, train_size=200, validation_split=0.2, learning_rate=0.01,
                     early_stopping=False)


@pytest.fixture(scope="module")
def data() -> PreparedData:
    return prepare_data(make_tiny(train=200), CONFIG)


@dataclass
class Run:
    """A training on Ray and what its caller saw."""

    result: TrainResult
    weights: list[np.ndarray]
    batches: list[BatchProgress] = field(default_factory=list)
    epochs: list[EpochProgress] = field(default_factory=list)
    weights_at_epoch: list[list[np.ndarray]] = field(default_factory=list)
    puts: int = 0


@pytest.fixture(scope="module")
def ray_run(ray_cluster: RayCluster, data: PreparedData) -> Run:  # noqa: F811 - the fixture
    model = fresh_model()
    run = Run(TrainResult(), [])

    def on_epoch(progress: EpochProgress) -> None:
        run.epochs.append(progress)
        run.weights_at_epoch.append(model.get_weights())

    run.result = train_model_ray(model, data, CONFIG, on_batch=run.batches.append, on_epoch=on_epoch,
                                 batch_interval_s=0.0)
    run.weights = model.get_weights()
    run.puts = ray_backend.object_store_puts()
    return run


def _same_weights(actual: list[np.ndarray], expected: list[np.ndarray]) -> None:
    assert len(actual) == len(expected)
    for got, want in zip(actual, expected):
        np.testing.assert_array_equal(got, want)


@pytest.mark.slow
def test_a_ray_training_streams_every_batch_and_epoch_with_its_weights(ray_run: Run) -> None:
    result = ray_run.result
    assert result.status == "finished" and result.epochs_done == 2
    assert [progress.epoch for progress in ray_run.epochs] == [0, 1]
    # 160 training images / 16 = 10 batches per epoch, every one reported (batch_interval_s=0).
    assert [(progress.epoch, progress.step) for progress in ray_run.batches] == [
        (epoch, step) for epoch in range(2) for step in range(1, 11)
    ]
    assert ray_run.epochs[-1].history == result.history
    # The caller's model took each epoch's weights before on_epoch, and ends with the last one's.
    assert not np.array_equal(ray_run.weights_at_epoch[0][0], ray_run.weights_at_epoch[1][0])
    _same_weights(ray_run.weights, ray_run.weights_at_epoch[-1])
    assert len(result.filter_snapshots) == 2
    np.testing.assert_array_equal(result.filter_snapshots[-1], ray_run.weights_at_epoch[-1][0])
    assert result.test_metrics["accuracy"] > 0.9
    assert not ray_backend.running_workers(), "the training actor outlived its job"


@pytest.mark.slow
def test_the_same_seed_gives_the_local_workers_history_and_weights(ray_run: Run, data: PreparedData) -> None:
    """Equal up to float rounding, not bit for bit: the Ray worker runs TensorFlow on the one core it reserved
    (CNNVIZ_RAY_CPUS), the local worker on every core, and the sums of a batch are added in another order."""
    model = fresh_model()
    local = train_model_isolated(model, data, CONFIG)
    assert set(local.history) == set(ray_run.result.history)
    for name, values in local.history.items():
        assert ray_run.result.history[name] == pytest.approx(values, rel=1e-4, abs=1e-5), name
    assert ray_run.result.test_metrics == pytest.approx(local.test_metrics, rel=1e-4, abs=1e-5)
    for got, want in zip(ray_run.weights, model.get_weights()):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


@pytest.mark.slow
def test_stop_keeps_the_finished_epochs_and_the_dataset_is_not_sent_again(ray_run: Run, data: PreparedData) -> None:
    config = TrainConfig(**{**CONFIG.to_dict(), "epochs": 30})  # the same subset: prepare_data ignores epochs
    model = fresh_model()
    epochs: list[EpochProgress] = []
    saved: list[list[np.ndarray]] = []

    def on_epoch(progress: EpochProgress) -> None:
        epochs.append(progress)
        saved.append(model.get_weights())

    result = train_model_ray(model, prepare_data(make_tiny(train=200), config), config, on_epoch=on_epoch,
                             should_stop=lambda: len(epochs) >= 1)
    assert result.stopped_by_user and result.status == "stopped"
    assert 1 <= result.epochs_done < 30
    assert len(result.history["loss"]) == result.epochs_done == len(epochs)
    _same_weights(model.get_weights(), saved[-1])
    assert set(result.test_metrics) == {"loss", "accuracy"}  # measured on the kept epochs, as a local Stop does
    # Every array of this training was in the object store already (the first training put them there).
    assert ray_backend.object_store_puts() == ray_run.puts


@pytest.mark.slow
def test_a_ray_worker_killed_mid_training_is_a_one_line_error_and_the_finished_epochs_stay(
    ray_run: Run, data: PreparedData
) -> None:
    config = TrainConfig(**{**CONFIG.to_dict(), "epochs": 50})
    model = fresh_model()
    saved: list[list[np.ndarray]] = []
    killed: list[int] = []

    def on_epoch(progress: EpochProgress) -> None:
        saved.append(model.get_weights())
        if not killed:
            for _node, pid in ray_backend.running_workers():
                os.kill(pid, signal.SIGKILL)  # the out-of-memory killer, say
                killed.append(pid)

    with pytest.raises(RayWorkerDiedError) as raised:
        train_model_ray(model, data, config, on_epoch=on_epoch)
    assert killed, "no Ray worker was running the training"
    message = str(raised.value)
    assert "\n" not in message
    assert "ended unexpectedly" in message and "finished epochs are kept" in message
    assert isinstance(raised.value, TrainingProcessError)  # what the page already catches
    # Progress already on its way may still arrive after the kill; the model holds the last epoch that did.
    assert 1 <= len(saved) < 50
    _same_weights(model.get_weights(), saved[-1])
    assert not ray_backend.running_workers()


@pytest.mark.slow
def test_a_frozen_ray_worker_is_ended_after_its_heartbeat_stops_and_the_finished_epochs_stay(
    ray_run: Run, data: PreparedData
) -> None:
    config = TrainConfig(**{**CONFIG.to_dict(), "epochs": 50})
    model = fresh_model()
    saved: list[list[np.ndarray]] = []
    frozen: list[int] = []

    def on_epoch(progress: EpochProgress) -> None:
        saved.append(model.get_weights())
        if not frozen:
            for _node, pid in ray_backend.running_workers():
                os.kill(pid, signal.SIGSTOP)  # swapped out, deadlocked: alive but silent
                frozen.append(pid)

    started = time.monotonic()
    try:
        with pytest.raises(RayWorkerHungError, match=r"stopped responding \(nothing for \d+ s\).*epochs are kept"):
            # 8 s, not less: under a full test run a healthy worker was once silent for 3 s before its first epoch.
            train_model_ray(model, data, config, on_epoch=on_epoch, heartbeat_timeout=8.0)
    finally:
        for pid in frozen:  # ray.kill ended it already; make sure, since a stopped process ignores SIGTERM
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    assert frozen and time.monotonic() - started < 60
    _same_weights(model.get_weights(), saved[-1])
    assert not ray_backend.running_workers()


@pytest.mark.slow
def test_a_training_the_cluster_can_never_place_is_refused_and_the_slots_are_its_cores(ray_cluster: RayCluster,  # noqa: F811
                                                                         data: PreparedData) -> None:
    with pytest.raises(RayConnectionError, match=r"asks for 64 CPU cores .* the Ray cluster has 2\b"):
        train_model_ray(fresh_model(), data, CONFIG, cpus=64)
    # What a job queue in front of it may run at once: the cluster's 2 cores, 1 or 2 per training.
    assert [ray_backend.cluster_job_slots(cpus) for cpus in (1, 2, 64)] == [2, 1, 1]


def test_a_cluster_side_failure_keeps_its_reason_in_the_one_line_message() -> None:
    """Ray Client puts the cluster's traceback under a header line; the learner's message keeps the header and the
    traceback's last line (the error), not the header alone as it once did (a CI failure said only "server:")."""
    server_side = ConnectionAbortedError("Initialization failure from server:\nTraceback (most recent call last):\n"
                                         '  File "proxier.py", line 780, in Datapath\n'
                                         "RuntimeError: Proxy failed to Connect to backend! Check the logs.\n")
    assert ray_backend._one_line(server_side) == ("Initialization failure from server: RuntimeError: Proxy failed to "
                                                  "Connect to backend!")
    assert ray_backend._one_line(RuntimeError("worker died\nmore detail")) == "worker died"
    assert ray_backend._one_line(TimeoutError()) == "TimeoutError"
    assert len(ray_backend._one_line("x" * 500)) == 160


def test_a_cluster_that_is_down_is_a_message_within_seconds() -> None:
    """Ray itself retries an address where nothing listens for many minutes; the probe answers at once."""
    port = free_port()
    script = ("from cnnviz.train.ray_backend import connect\n"
              f"connect('127.0.0.1:{port}')\n")
    started = time.monotonic()
    finished = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                              env={**os.environ, "RAY_ADDRESS": ""})
    assert finished.returncode != 0
    assert "RayConnectionError: Could not reach the Ray cluster at '127.0.0.1:" in finished.stderr
    assert "make cluster" in finished.stderr
    assert time.monotonic() - started < 60


@pytest.mark.slow
def test_the_command_line_trains_through_the_ray_backend(ray_cluster: RayCluster, tmp_path) -> None:  # noqa: F811
    """``python -m cnnviz train --backend ray`` in its own process, through Ray Client (``ray://``): the address a
    studio server should use to outlive a head that dies (a driver connected to ``host:6379`` is ended by Ray)."""
    design = tmp_path / "design.json"
    design.write_text(json.dumps({
        "spec": ModelSpec(conv_blocks=(ConvBlockSpec(filters=4),), dropout=0.0, dense_units=()).to_dict(),
        "train_config": TrainConfig(epochs=2, train_size=200, batch_size=32, early_stopping=False).to_dict(),
        "dataset": "digits",
    }), encoding="utf-8")
    env = {**os.environ, **ray_cluster.env, "CNNVIZ_RAY_ADDRESS": ""}  # the address comes from the option
    done = subprocess.run([sys.executable, "-m", "cnnviz", "train", str(design), "--backend", "ray",
                           "--ray-address", ray_cluster.client_address], cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.strip().splitlines()
    assert [line.split(":")[0] for line in lines if line.startswith("epoch ")] == ["epoch 1/2", "epoch 2/2"]
    final = next(line for line in lines if line.startswith("test accuracy "))
    assert "after 2 epochs" in final and "(ray backend)" in final
