"""cnnviz.train.jobs: the fair queue, stop, closed tabs and failures, with a fake backend; then the local backend.

The fake backend (tests.support.jobs.GatedBackend) is a plain function with train_model_isolated's signature: it
reports one batch and one finished epoch, then trains "until released" (per seed, so each job is released on its
own) or until asked to stop. The queue's logic and the session bookkeeping (TrainSession.follow_job) are the real code.
"""

from __future__ import annotations

import threading
import time
from dataclasses import replace

import numpy as np
import pytest

from cnnviz.train.jobs import (
    DROPPED,
    FAILED,
    FINISHED,
    QUEUED,
    RUNNING,
    STOPPED,
    Job,
    JobManager,
    JobRefused,
    JobRequest,
    QueuePlace,
    RunProgress,
    select_backend,
)
from cnnviz.train.loop import BatchProgress, EpochProgress, TrainConfig
from cnnviz.train.session import OUTCOME_KEY, TrainSession
from tests.support.jobs import GatedBackend
from tests.support.training import TINY_SPEC, make_tiny

EPOCHS = 3


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


DATA = make_tiny()


def request(seed: int, **options) -> JobRequest:
    return JobRequest(dataset=replace_name(DATA), spec=TINY_SPEC, config=TrainConfig(epochs=EPOCHS, seed=seed,
                      train_size=64, batch_size=16), **options)


def replace_name(data):
    data.name, data.portable_source = "tiny", "made by tests.support.training"
    return data


def wait_until(condition, timeout: float = 120.0) -> None:  # the first job imports Keras: over 30 s at load 20-40
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def manager(backend: GatedBackend, clock: Clock, **options) -> JobManager:
    return JobManager(workers=options.pop("workers", 1), limit=options.pop("limit", 30),
                      orphan_after_s=options.pop("orphan_after_s", 60.0), backend=("fake", backend), clock=clock)


def test_three_sessions_get_their_places_and_expected_waits_from_recent_jobs() -> None:
    backend, clock = GatedBackend(), Clock()
    jobs = manager(backend, clock, limit=2)
    # One job that took 40 s gives the queue its typical duration.
    first = jobs.submit("earlier", request(seed=1))
    wait_until(lambda: len(first.runs) == 1 and first.runs[0].epochs)
    clock.now += 40
    backend.release(1)
    wait_until(lambda: first.state == FINISHED)
    assert jobs.typical_duration_s() == pytest.approx(40)

    a, b, c = (jobs.submit(owner, request(seed=seed)) for owner, seed in (("a", 2), ("b", 3), ("c", 4)))
    assert (a.state, b.state, c.state) == (RUNNING, QUEUED, QUEUED)
    assert jobs.place(a) is None and jobs.queue_length() == 2 and jobs.running_count() == 1
    clock.now += 10  # a has run 10 of its expected 40 s
    assert jobs.place(b) == QueuePlace(position=1, ahead=1, expected_wait_s=30.0)
    assert jobs.place(c) == QueuePlace(position=2, ahead=2, expected_wait_s=70.0)
    assert jobs.place(c).describe() == "2 trainings ahead of yours, about 70 s"

    with pytest.raises(JobRefused, match="still running"):
        jobs.submit("a", request(seed=9))  # one job per session
    with pytest.raises(JobRefused, match="still waiting in the queue"):
        jobs.submit("b", request(seed=9))
    with pytest.raises(JobRefused, match=r"queue is full \(2 trainings are waiting"):
        jobs.submit("d", request(seed=9))

    jobs.stop(b)  # leaving the queue moves c up
    assert b.state == STOPPED and jobs.place(c).position == 1
    backend.release(2)
    wait_until(lambda: c.state == RUNNING)
    assert a.state == FINISHED and a.backend == "fake"
    backend.release(4)
    wait_until(lambda: c.state == FINISHED)
    assert jobs.submit("a", request(seed=5)).state == RUNNING  # an ended job no longer blocks its session
    backend.release(5)


def test_before_any_job_finished_the_wait_is_not_guessed() -> None:
    backend, clock = GatedBackend(), Clock()
    jobs = manager(backend, clock)
    jobs.submit("a", request(seed=1))
    queued = jobs.submit("b", request(seed=2))
    place = jobs.place(queued)
    assert place == QueuePlace(position=1, ahead=1, expected_wait_s=None)
    assert place.describe().startswith("1 training ahead of yours (no training has finished")
    backend.release(1)
    backend.release(2)


def test_two_workers_start_two_jobs_and_the_third_waits_for_the_first_free_one() -> None:
    backend, clock = GatedBackend(), Clock()
    jobs = manager(backend, clock, workers=2)
    warm = jobs.submit("z", request(seed=1))
    clock.now += 20
    backend.release(1)
    wait_until(lambda: warm.state == FINISHED)
    a = jobs.submit("a", request(seed=2))
    clock.now += 15
    b = jobs.submit("b", request(seed=3))
    c = jobs.submit("c", request(seed=4))
    assert (a.state, b.state, c.state) == (RUNNING, RUNNING, QUEUED)
    assert jobs.place(c) == QueuePlace(position=1, ahead=2, expected_wait_s=5.0)  # a ends first: 20 - 15
    for seed in (2, 3, 4):
        backend.release(seed)


def test_stop_keeps_the_finished_epoch_and_the_session_records_it() -> None:
    backend, clock = GatedBackend(), Clock()
    jobs = manager(backend, clock)
    job = jobs.submit("a", request(seed=1))
    wait_until(lambda: job.runs and job.runs[0].epochs)
    book = TrainSession({}, model_key="model", runs_key="runs")
    assert not book.follow_job(job)  # still running: the run and its first epoch are recorded
    assert book.runs[0].status == "running" and len(book.model.history["loss"]) == 1
    jobs.stop(job)
    wait_until(lambda: not job.active)
    assert job.state == STOPPED and job.stop_reason == "user"
    assert book.follow_job(job) and not book.follow_job(job)  # the end is recorded once
    assert book.runs[0].status == "stopped"
    kind, message = book.state[OUTCOME_KEY]
    assert kind == "warning" and f"stopped after 1 of {EPOCHS} epochs" in message and "(local backend)" not in message
    assert book.model.model is job.runs[0].model


def test_a_closed_tab_drops_its_queued_job_and_stops_its_running_one() -> None:
    backend, clock = GatedBackend(), Clock()
    jobs = manager(backend, clock, orphan_after_s=30)
    running = jobs.submit("closed-1", request(seed=1))
    queued = jobs.submit("closed-2", request(seed=2))
    other = jobs.submit("open", request(seed=3))
    wait_until(lambda: running.runs and running.runs[0].epochs)
    clock.now += 20
    jobs.touch("open")
    clock.now += 20  # the two closed tabs have been silent for 40 s, the open one for 20 s
    assert jobs.queue_length() == 1
    assert queued.state == DROPPED and "tab of this training was closed" in queued.message
    wait_until(lambda: not running.active)
    assert running.state == STOPPED and running.stop_reason == "closed" and running.runs[0].result.epochs_done == 1
    wait_until(lambda: other.state == RUNNING)
    assert jobs.job_of("closed-1") is None  # an ended job of a closed tab is forgotten, models and all
    backend.release(3)


def test_a_silent_but_connected_tab_keeps_its_jobs_and_a_disconnected_one_loses_them() -> None:
    # Under a heavy load a page can lag minutes behind its heartbeat: the Streamlit layer says the tab is still
    # connected, and its jobs stay (the load test lost three trainings this way before the check existed).
    backend, clock = GatedBackend(), Clock()
    jobs = manager(backend, clock, orphan_after_s=30)
    connected = {"lagging-1": True, "lagging-2": True}
    jobs.set_session_check(connected.get)
    running = jobs.submit("lagging-1", request(seed=1))
    queued = jobs.submit("lagging-2", request(seed=2))
    wait_until(lambda: running.runs and running.runs[0].epochs)
    clock.now += 300  # silent for five minutes, still connected
    assert jobs.queue_length() == 1 and queued.state == QUEUED and not running.stop_requested
    connected["lagging-2"] = False  # now that tab is gone
    assert jobs.queue_length() == 0 and queued.state == DROPPED
    backend.release(1)
    wait_until(lambda: not running.active)
    assert running.state != STOPPED and jobs.job_of("lagging-1") is running  # ended, and still there to be read


def test_a_dead_training_process_fails_the_job_with_its_message_and_the_kept_epoch_measured() -> None:
    jobs = manager(GatedBackend(fail=True), Clock())
    job = jobs.submit("a", request(seed=1))
    wait_until(lambda: not job.active)
    assert job.state == FAILED
    run = job.runs[0]
    assert "ended unexpectedly" in run.failure and 0.0 <= run.kept_metrics["accuracy"] <= 1.0
    book = TrainSession({}, model_key="model", runs_key="runs")
    assert book.follow_job(job)
    kind, message = book.state[OUTCOME_KEY]
    assert kind == "error" and "ended unexpectedly" in message and f"stopped after 1 of {EPOCHS} epochs" in message
    assert book.model.test_metrics == run.kept_metrics


def test_repeats_run_one_after_the_other_as_one_group() -> None:
    backend = GatedBackend()
    for seed in (7, 8, 9):
        backend.release(seed)
    jobs = manager(backend, Clock())
    job = jobs.submit("a", request(seed=7, repeats=3))
    wait_until(lambda: not job.active)
    assert job.state == FINISHED and [run.config.seed for run in job.runs] == [7, 8, 9]
    book = TrainSession({}, model_key="model", runs_key="runs")
    assert book.follow_job(job)
    assert [run.status for run in book.runs] == ["finished"] * 3 and len(book.repeat_groups()) == 1
    assert "seeds 7, 8, 9" in book.state[OUTCOME_KEY][1]


def test_with_a_ray_cluster_as_many_jobs_run_as_it_has_slots_asked_outside_the_queues_lock(monkeypatch) -> None:
    from cnnviz.train import ray_backend

    # A cluster of 3 cores, 1 per training, slow to answer as one being connected to (the real query is tested
    # against a real cluster in test_ray_backend): the queue keeps answering pages meanwhile.
    asked, answer = threading.Event(), threading.Event()

    def slow_slots() -> int:
        asked.set()
        answer.wait(10)
        return 3

    monkeypatch.setenv("CNNVIZ_RAY_ADDRESS", "auto")
    monkeypatch.setenv("CNNVIZ_LOCAL_WORKERS", "1")
    monkeypatch.setattr(ray_backend, "cluster_job_slots", slow_slots)
    manager = JobManager()
    assert manager.workers == 1 and asked.wait(5)  # one at a time until the cluster answers
    replied: list[int] = []
    reader = threading.Thread(target=lambda: replied.append(manager.queue_length()))
    reader.start()
    reader.join(5)
    assert replied == [0]  # a sidebar's read did not wait for the cluster
    answer.set()
    deadline = time.monotonic() + 5
    while manager.workers != 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert manager.workers == 3
    assert JobManager(workers=2).workers == 2  # a server's own choice wins
    monkeypatch.delenv("CNNVIZ_RAY_ADDRESS")
    assert JobManager().workers == 1


def test_an_unknown_backend_is_refused_and_the_default_is_local(monkeypatch) -> None:
    monkeypatch.delenv("CNNVIZ_RAY_ADDRESS", raising=False)
    assert select_backend()[0] == "local"
    with pytest.raises(ValueError, match="'local' or 'ray', got 'spark'"):
        select_backend("spark")


@pytest.mark.slow
def test_the_local_backend_trains_a_job_to_the_end_with_the_watched_maps() -> None:
    jobs = JobManager(workers=1, limit=5, orphan_after_s=600)  # the backend the environment selects: local
    config = TrainConfig(epochs=2, seed=3, train_size=96, batch_size=16, early_stopping=False)
    job = jobs.submit("a", JobRequest(dataset=replace_name(make_tiny()), spec=TINY_SPEC, config=config,
                                      watch_image=0))
    wait_until(lambda: not job.active, timeout=240)
    assert job.state == FINISHED and job.backend == "local"
    run = job.runs[0]
    assert run.result.epochs_done == 2 and len(run.epochs) == 2 and len(run.snapshots(2)) == 2
    assert run.batch_losses and run.maps[0] == 2 and run.maps[2].shape == (28, 28, 4)
    assert not np.array_equal(*run.snapshots(2))  # the first layer's filters changed between the epochs
    book = TrainSession({}, model_key="model", runs_key="runs")
    assert book.follow_job(job)
    assert book.runs[0].status == "finished" and book.model.test_metrics == run.result.test_metrics
    assert "(local backend)" in book.state[OUTCOME_KEY][1]
    assert jobs.typical_duration_s() == pytest.approx(job.duration_s)


def test_a_job_that_cannot_start_says_why() -> None:
    jobs = manager(GatedBackend(), Clock())
    bad = replace(request(seed=1), config=TrainConfig(epochs=0))
    job = jobs.submit("a", bad)
    wait_until(lambda: not job.active)
    assert job.state == FAILED and "Epochs must be a whole number" in job.runs[0].failure


def _later(action, delay_s: float = 0.1) -> threading.Thread:
    thread = threading.Thread(target=lambda: (time.sleep(delay_s), action()))
    thread.start()
    return thread


def test_a_live_view_waits_for_the_first_batch_then_the_first_epoch_and_then_not_at_all() -> None:
    job = Job(job_id=1, owner="a", request=request(0), submitted_at=0.0, state=RUNNING)
    batch = BatchProgress(epoch=0, epochs=3, step=1, steps=4, loss=2.3, accuracy=0.1, samples_per_s=0.0,
                          seconds_left=1.0)
    epoch = EpochProgress(epoch=0, epochs=3, logs={"loss": 1.0}, history={"loss": [1.0]}, filters=None, seconds=1.0)
    assert not job.wait_for_first_points(0.05)  # nothing came: the time ran out
    run = RunProgress(config=TrainConfig())
    job.runs.append(run)
    assert not job.wait_for_first_points(0.05)  # a run that has not reported a batch is no milestone yet

    thread = _later(lambda: setattr(run, "batch", batch))
    assert job.wait_for_first_points(60.0) and run.batch is batch  # it returned for the first batch
    thread.join()
    # A view that has not drawn that batch yet (it came just before this redraw) draws it at once ...
    assert job.wait_for_first_points(60.0, shown_batch=False)
    # ... and one that has waits for the first epoch: later batches do not count.
    assert not job.wait_for_first_points(0.05, shown_batch=True)
    thread = _later(lambda: run.epochs.append(epoch))
    assert job.wait_for_first_points(60.0, shown_batch=True) and run.epochs == [epoch]
    thread.join()
    assert job.wait_for_first_points(0.0, shown_batch=True)  # from the first epoch on, no wait at all

    # A repeat's next run starts during the wait (the last one stopped before its first epoch): the batch the view
    # showed was the last run's, this one's is news.
    repeated = Job(job_id=3, owner="c", request=request(0), submitted_at=0.0, state=RUNNING)
    repeated.runs.append(RunProgress(config=TrainConfig(), batch=batch))
    following = RunProgress(config=TrainConfig(), batch=batch)
    thread = _later(lambda: repeated.runs.append(following))
    assert repeated.wait_for_first_points(60.0, shown_batch=True) and repeated.runs[-1] is following
    thread.join()

    ended = Job(job_id=2, owner="b", request=request(0), submitted_at=0.0, state=RUNNING)
    thread = _later(lambda: setattr(ended, "state", STOPPED))
    assert ended.wait_for_first_points(60.0)  # a job that ends (Stop before the first batch) ends the wait
    thread.join()
