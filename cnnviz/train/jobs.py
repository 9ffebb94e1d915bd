"""Training jobs that outlive the page: a fair queue in the server process, trained by a backend (issue 12).

A learner's click on Train submits a :class:`JobRequest` (dataset, design, settings, repeats) to the
server's one :class:`JobManager` (:func:`job_manager`). The manager keeps a first-in first-out queue and
runs at most ``CNNVIZ_LOCAL_WORKERS`` jobs at once (default 1: on a 2-core server, two trainings at once
both crawl; with the ray backend, as many as the cluster has cores for), each in a thread of its own that
calls a **backend**:

- ``local`` (the default): :func:`cnnviz.train.worker.train_model_isolated`, a child process per training
  (the warm worker, its niceness, heartbeat and per-fit memory guarantees are the worker's);
- ``ray`` when ``CNNVIZ_RAY_ADDRESS`` is set: the function of :mod:`cnnviz.train.ray_backend` with the same
  signature and errors, imported only then.

A backend is any function ``(model, data, config, *, on_batch, on_epoch, on_idle, should_stop) ->
TrainResult`` that raises :class:`~cnnviz.train.worker.TrainingProcessError` when its training process
dies, leaving ``model`` at its last finished epoch. The job records what the Train page needs (the latest
batch, every finished epoch with the model holding its weights, the first layer's filters, the result or
the failure) and which backend ran it; the page reads that record whenever it runs, so leaving the page
stops nothing.

Fair means: one active (queued or running) job per browser session, served in order of submission; a
second submit of the same session, or a submit to a full queue (``CNNVIZ_QUEUE_LIMIT`` waiting jobs,
default 30), is refused with :class:`JobRefused` and a message for the learner. :meth:`JobManager.place`
says how many trainings are ahead and how long they will take, from the durations of recent jobs.

A closed tab: the page touches its session's heartbeat (:meth:`JobManager.touch`) every second while its
job is active (a Streamlit fragment on every page). A session silent for ``CNNVIZ_JOB_ORPHAN_S`` seconds
(default 120: browsers slow the timers of a hidden tab down to about one a minute) and, where the Streamlit
layer can tell (:meth:`JobManager.set_session_check`), no longer connected is taken as closed: its queued job
is dropped and its running job stopped (finished epochs kept, nobody left to see them).

Importing this module does not import TensorFlow; the job threads import Keras when a job starts.
"""

from __future__ import annotations

import heapq
import itertools
import os
import statistics
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import numpy as np

from cnnviz.train.loop import BatchProgress, EpochProgress, PreparedData, TrainConfig, TrainResult
from cnnviz.train.spec import ModelSpec

#: Job states. ``queued`` and ``running`` are active; the others are ends.
QUEUED, RUNNING, FINISHED, STOPPED, FAILED, DROPPED = "queued", "running", "finished", "stopped", "failed", "dropped"
ACTIVE_STATES = (QUEUED, RUNNING)

#: Defaults of the settings a teacher can change in the server's environment.
LOCAL_WORKERS = 1
QUEUE_LIMIT = 30
ORPHAN_S = 120.0
#: How many recent finished jobs the expected wait is computed from.
RECENT_JOBS = 20
#: Seconds between two questions to a Ray cluster about how many trainings it can run at once.
SLOTS_REFRESH_S = 60.0

#: What the page says about each backend (the job records its name).
BACKEND_LABELS = {
    "local": "this server's own training process (local backend)",
    "ray": "the Ray cluster (ray backend)",
}


class Backend(Protocol):
    """A training function with :func:`cnnviz.train.worker.train_model_isolated`'s signature and contract."""

    def __call__(self, model: Any, data: PreparedData, config: TrainConfig, *,
                 on_batch: Callable[[BatchProgress], None] | None = None,
                 on_epoch: Callable[[EpochProgress], None] | None = None,
                 should_stop: Callable[[], bool] | None = None,
                 on_idle: Callable[[float], None] | None = None) -> TrainResult: ...


class JobRefused(RuntimeError):
    """A submit the queue does not take (the session already has a job, the queue is full); the message says why."""


def _int_from_env(name: str, default: int, low: int = 1) -> int:
    try:
        value = int(os.environ.get(name, ""))
    except ValueError:
        return default
    return value if value >= low else default


def _seconds_from_env(name: str, default: float) -> float:
    from cnnviz.train.loop import positive_seconds_from_env

    return positive_seconds_from_env(name, default) or default


def local_workers() -> int:
    """How many jobs run at once: ``CNNVIZ_LOCAL_WORKERS`` (a whole number >= 1), else :data:`LOCAL_WORKERS`."""
    return _int_from_env("CNNVIZ_LOCAL_WORKERS", LOCAL_WORKERS)


def queue_limit() -> int:
    """How many jobs may wait: ``CNNVIZ_QUEUE_LIMIT`` (a whole number >= 1), else :data:`QUEUE_LIMIT`."""
    return _int_from_env("CNNVIZ_QUEUE_LIMIT", QUEUE_LIMIT)


def orphan_s() -> float:
    """Seconds of silence after which a session counts as closed: ``CNNVIZ_JOB_ORPHAN_S``, else :data:`ORPHAN_S`."""
    return _seconds_from_env("CNNVIZ_JOB_ORPHAN_S", ORPHAN_S)


def select_backend(name: str | None = None) -> tuple[str, Backend]:
    """Return ``(name, function)`` of a backend: ``name``, else ``"ray"`` when ``CNNVIZ_RAY_ADDRESS`` is set, else
    ``"local"``.

    Raises:
        ValueError: ``name`` is neither ``"local"`` nor ``"ray"``.
    """
    if name is None:
        name = "ray" if os.environ.get("CNNVIZ_RAY_ADDRESS", "").strip() else "local"
    if name == "local":
        from cnnviz.train.worker import train_model_isolated

        return "local", train_model_isolated
    if name == "ray":
        from cnnviz.train import ray_backend  # imported only when asked for: it imports Ray when it trains

        return "ray", ray_backend.train_model_ray
    raise ValueError(f"The training backend must be 'local' or 'ray', got {name!r}.")


@dataclass(frozen=True)
class JobRequest:
    """What to train.

    Attributes:
        dataset: a :class:`cnnviz.core.datasets.Dataset` (read: ``name``, ``class_names``, ``portable_source``,
            the images and labels).
        spec, config: the design and the training settings (``config.seed`` seeds the first run).
        repeats: how many runs, with seeds ``config.seed, +1, ...`` (:func:`cnnviz.train.repeats.repeat_seeds`).
        watch_image: a test image's index whose first-layer feature maps are computed after every epoch, or ``None``.
        prepare: ``(dataset, config) -> PreparedData``; ``None``: :func:`cnnviz.train.loop.prepare_data` (the
            shipped models' script adds sketch-like copies of the training images here).
    """

    dataset: Any
    spec: ModelSpec
    config: TrainConfig
    repeats: int = 1
    watch_image: int | None = None
    prepare: Callable[[Any, TrainConfig], PreparedData] | None = None


@dataclass(eq=False)
class RunProgress:
    """One training of a job (a job of "Repeat with 3 seeds" has three), as far as it got.

    Written by the job's thread, read by the pages: lists only grow, and an epoch is appended to
    ``epochs`` last, after its filters, time and maps, so a reader that saw it sees them too.

    Attributes:
        config: the settings of this run (its own seed).
        model: the ``keras.Model``; it holds the weights of the last finished epoch.
        total_params: the model's weights.
        batch: the latest progress inside an epoch, or ``None``.
        batch_losses: ``(epoch + step / steps, running loss)`` for every batch report, for the live loss line.
        epochs: every finished epoch; ``filters`` and ``epoch_seconds`` have one entry per epoch too
            (filters ``None`` for a model without a conv layer named ``conv_1``).
        maps: ``(epoch number, image, feature maps, kernel)`` of the watched image after the latest epoch.
        silent_s: seconds the training process has been silent (its heartbeat included), when it is.
        result: the training's result once it ended normally (finished, early-stopped, stopped, NaN).
        failure: the one-line message when its process died or it could not start; ``kept_metrics`` then has the
            kept model's test metrics (``{}`` when no epoch finished).
        time_limit_s: the server's limit on one training (``CNNVIZ_MAX_TRAINING_S``) when that is what stopped it.
    """

    config: TrainConfig
    model: Any = None
    total_params: int = 0
    batch: BatchProgress | None = None
    batch_losses: list[tuple[float, float]] = field(default_factory=list)
    epochs: list[EpochProgress] = field(default_factory=list)
    filters: list[np.ndarray | None] = field(default_factory=list)
    epoch_seconds: list[float] = field(default_factory=list)
    maps: tuple[int, np.ndarray, np.ndarray, np.ndarray] | None = None
    silent_s: float = 0.0
    result: TrainResult | None = None
    failure: str = ""
    kept_metrics: dict[str, float] = field(default_factory=dict)
    time_limit_s: float | None = None

    @property
    def ended(self) -> bool:
        """Whether this run is over (a result or a failure)."""
        return self.result is not None or bool(self.failure)

    def snapshots(self, epochs: int) -> list[np.ndarray]:
        """The first layer's kernels after each of the first ``epochs`` finished epochs (those that have them)."""
        return [kernel for kernel in self.filters[:epochs] if kernel is not None]


@dataclass(eq=False)
class Job:
    """One session's training job (see the module docstring); :class:`JobManager` creates and changes it.

    Attributes:
        job_id: unique in this server, counting from 1.
        owner: the id of the browser session that submitted it.
        state: one of :data:`QUEUED`, :data:`RUNNING`, :data:`FINISHED`, :data:`STOPPED`, :data:`FAILED`,
            :data:`DROPPED`.
        backend: the name of the backend that ran it (``""`` until it starts).
        runs: its trainings so far.
        message: why it was dropped or failed before a run could say so.
        stop_reason: ``"user"`` (Stop), ``"closed"`` (the tab was closed), or ``""``.
    """

    job_id: int
    owner: str
    request: JobRequest
    submitted_at: float
    state: str = QUEUED
    backend: str = ""
    started_at: float | None = None
    ended_at: float | None = None
    runs: list[RunProgress] = field(default_factory=list)
    message: str = ""
    stop_reason: str = ""
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def active(self) -> bool:
        """Queued or running."""
        return self.state in ACTIVE_STATES

    @property
    def stop_requested(self) -> bool:
        """Whether Stop was asked for (by the learner, or because the tab was closed)."""
        return self._stop.is_set()

    def wait_for_first_points(self, timeout_s: float, *, shown_batch: bool = False, poll_s: float = 0.02) -> bool:
        """Until the latest run's first epoch is finished, wait up to ``timeout_s`` seconds for a milestone the
        view has not shown yet.

        The milestones are the first batch report (the batch curve can start) and then the first finished epoch
        (the first epoch point). Right after a click they are what the learner waits for, and a view that redraws
        on a timer would show each up to one period late; so its redraw waits here first. A first batch the view
        has not drawn yet (``shown_batch`` false) is a milestone even if it came before this call: a redraw that
        starts just after it draws it at once. Once the first epoch is there, or the job is no longer active, it
        returns at once.

        Args:
            shown_batch: whether the view already shows a batch of the latest run (as it is at this call).

        Returns:
            ``False`` when the time ran out first; ``True`` when a milestone came, the first epoch was there
            already, or the job ended.
        """
        runs = len(self.runs)
        deadline = time.monotonic() + timeout_s
        while self.active:
            batch, epoch = self._milestones()
            if epoch or (batch and (not shown_batch or len(self.runs) != runs)):
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(poll_s)
        return True

    def _milestones(self) -> tuple[bool, bool]:
        """Whether the latest run has reported a batch, and whether it has finished an epoch (or ended)."""
        run = self.runs[-1] if self.runs else None
        if run is None:
            return False, False
        return run.batch is not None, bool(run.epochs) or run.ended

    @property
    def waited_s(self) -> float:
        """Seconds it waited in the queue before it started (0 while it waits or if it never started)."""
        return max(self.started_at - self.submitted_at, 0.0) if self.started_at is not None else 0.0

    @property
    def duration_s(self) -> float | None:
        """Seconds it ran, once it ended after starting; else ``None``."""
        if self.started_at is None or self.ended_at is None:
            return None
        return self.ended_at - self.started_at


@dataclass(frozen=True)
class QueuePlace:
    """Where a queued job stands.

    Attributes:
        position: 1 for the next job to start.
        ahead: trainings that start or end before this one can start (running ones included).
        expected_wait_s: seconds until it starts, from the durations of recent jobs; ``None`` before any finished.
    """

    position: int
    ahead: int
    expected_wait_s: float | None

    def describe(self) -> str:
        """``"2 trainings ahead of yours, about 40 s"`` (the page's wording)."""
        if self.ahead == 0:
            text = "Yours is next"
        else:
            text = f"{self.ahead} training{'s' if self.ahead != 1 else ''} ahead of yours"
        if self.expected_wait_s is None:
            return text + " (no training has finished on this server yet to time the wait)"
        return text + f", about {describe_seconds(self.expected_wait_s)}"


def describe_seconds(seconds: float) -> str:
    """``"40 s"`` below two minutes, else ``"3 min"``."""
    seconds = max(seconds, 0.0)
    if seconds < 120:
        return f"{max(round(seconds / 5) * 5, 5):.0f} s"
    return f"{round(seconds / 60):.0f} min"


class JobManager:
    """The server's training queue: submit, follow, stop. Thread-safe; see the module docstring.

    Args:
        workers: jobs running at once (``None``: :func:`local_workers` for the local backend; for the ray backend
            chosen by ``CNNVIZ_RAY_ADDRESS``, the trainings the cluster can run at once,
            :func:`cnnviz.train.ray_backend.cluster_job_slots`, asked in the background again every
            :data:`SLOTS_REFRESH_S` seconds so that worker machines that join are used; 1 until the first answer).
        limit: jobs that may wait (``None``: :func:`queue_limit`).
        orphan_after_s: a session silent this long is closed (``None``: :func:`orphan_s`).
        backend: ``(name, function)`` for every job (tests); ``None``: :func:`select_backend` when a job starts.
        clock: monotonic seconds (tests may pass their own).
    """

    def __init__(self, *, workers: int | None = None, limit: int | None = None, orphan_after_s: float | None = None,
                 backend: tuple[str, Backend] | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self._fixed_workers = workers
        self._slots: tuple[float, int] | None = None  # (when asked, the Ray cluster's slots)
        self._asking_slots = False  # a thread is asking the cluster (see _ask_cluster_slots)
        self.limit = limit if limit is not None else queue_limit()
        self.orphan_after_s = orphan_after_s if orphan_after_s is not None else orphan_s()
        self._backend = backend
        self._clock = clock
        self._lock = threading.RLock()
        self._ids = itertools.count(1)
        self._queue: deque[Job] = deque()
        self._running: list[Job] = []
        self._latest: dict[str, Job] = {}  # each session's latest job, ended ones too (the page reads their end)
        self._seen: dict[str, float] = {}
        self._is_open: Callable[[str], bool | None] | None = None
        self._durations: deque[float] = deque(maxlen=RECENT_JOBS)

    @property
    def workers(self) -> int:
        """How many jobs may run at once now (see the ``workers`` argument)."""
        if self._fixed_workers is not None:
            return self._fixed_workers
        if self._backend is not None or not os.environ.get("CNNVIZ_RAY_ADDRESS", "").strip():
            return local_workers()
        with self._lock:
            stale = self._slots is None or time.monotonic() - self._slots[0] > SLOTS_REFRESH_S
            if stale and not self._asking_slots:
                self._asking_slots = True
                threading.Thread(target=self._ask_cluster_slots, name="cnnviz-ray-slots", daemon=True).start()
            return self._slots[1] if self._slots is not None else 1

    def _ask_cluster_slots(self) -> None:
        """Ask the Ray cluster how many trainings it runs at once, then start what the answer allows.

        In a thread of its own, not under the queue's lock: connecting takes seconds (a minute or more when the
        cluster is unreachable), and every page's sidebar reads the queue under that lock. Until the first answer
        one job runs at a time; the job itself connects and says why when the cluster cannot be reached.
        """
        try:
            from cnnviz.train.ray_backend import cluster_job_slots

            slots = cluster_job_slots()
        except Exception:  # noqa: BLE001 - an unreachable cluster: one at a time; the job itself says why
            slots = local_workers()
        with self._lock:
            self._slots, self._asking_slots = (time.monotonic(), slots), False
            self._dispatch()

    # -- the learner's side ------------------------------------------------------------------------------------

    def submit(self, owner: str, request: JobRequest) -> Job:
        """Queue ``request`` for session ``owner`` and start it if a worker is free; return the job.

        Raises:
            JobRefused: ``owner`` already has a queued or running job, or the queue holds :attr:`limit` jobs.
        """
        with self._lock:
            self._seen[owner] = self._clock()
            self._reap()
            current = self._latest.get(owner)
            if current is not None and current.active:
                raise JobRefused(
                    "Your previous training is still " + ("waiting in the queue" if current.state == QUEUED else
                                                           "running") + ": stop it first, or wait until it ends. "
                    "Each browser tab trains one network at a time, so that everybody's training gets its turn."
                )
            if len(self._queue) >= self.limit:
                waiting = len(self._queue)
                raise JobRefused(
                    f"The training queue is full ({waiting} training{'s are' if waiting != 1 else ' is'} waiting, "
                    f"the server's limit is {self.limit}). Try again in a minute or two, or ask your teacher to raise "
                    "CNNVIZ_QUEUE_LIMIT."
                )
            job = Job(job_id=next(self._ids), owner=owner, request=request, submitted_at=self._clock())
            self._latest[owner] = job
            self._queue.append(job)
            self._dispatch()
            return job

    def job_of(self, owner: str) -> Job | None:
        """Session ``owner``'s latest job (active or ended), or ``None``."""
        with self._lock:
            self._reap()
            return self._latest.get(owner)

    def touch(self, owner: str) -> None:
        """Session ``owner`` is still open (its page ran just now)."""
        with self._lock:
            self._seen[owner] = self._clock()

    def stop(self, job: Job, reason: str = "user") -> None:
        """Stop ``job``: a queued one leaves the queue, a running one stops after its current batch (its finished
        epochs are kept). Does nothing to an ended job."""
        with self._lock:
            if not job.active:
                return
            job.stop_reason = job.stop_reason or reason
            job._stop.set()
            if job.state == QUEUED:
                self._queue.remove(job)
                self._end(job, STOPPED if reason == "user" else DROPPED)
                if reason != "user":
                    job.message = "The browser tab of this training was closed, so it left the queue."
                self._dispatch()

    def forget(self, owner: str) -> None:
        """Drop session ``owner``'s ended job (its page has recorded it); an active job is kept."""
        with self._lock:
            job = self._latest.get(owner)
            if job is not None and not job.active:
                del self._latest[owner]

    def place(self, job: Job) -> QueuePlace | None:
        """Where ``job`` stands in the queue, or ``None`` when it is not queued."""
        with self._lock:
            self._reap()
            if job.state != QUEUED or job not in self._queue:
                return None
            index = self._queue.index(job)
            typical = self.typical_duration_s()
            # The trainings that must start before this one; the running ones free a worker as they end.
            ahead = index + len(self._running)
            if typical is None:
                return QueuePlace(position=index + 1, ahead=ahead, expected_wait_s=None)
            now = self._clock()
            left = [max(typical - (now - (running.started_at or now)), 0.0) for running in self._running]
            # Each worker is free when its running job ends (a typical job's length after it started); each queued
            # job ahead takes the first free worker for a typical job's length; this one takes the next free one.
            free = sorted(left + [0.0] * max(self.workers - len(left), 0))
            for _ in range(index):
                heapq.heapreplace(free, free[0] + typical)
            wait = free[0]
            return QueuePlace(position=index + 1, ahead=ahead, expected_wait_s=wait)

    def queue_length(self) -> int:
        """How many jobs wait (not counting the running ones)."""
        with self._lock:
            self._reap()
            return len(self._queue)

    def running_count(self) -> int:
        """How many jobs run now."""
        with self._lock:
            return len(self._running)

    def typical_duration_s(self) -> float | None:
        """The median duration of the last :data:`RECENT_JOBS` finished jobs, or ``None`` before any finished."""
        with self._lock:
            return statistics.median(self._durations) if self._durations else None

    # -- the manager's side ------------------------------------------------------------------------------------

    def set_session_check(self, is_open: Callable[[str], bool | None] | None) -> None:
        """Ask ``is_open(owner)`` before taking a silent session as closed (``None``: the heartbeat alone decides).

        The Streamlit layer passes whether the owner's browser tab is still connected: under a heavy load a page
        can lag minutes behind, and a connected tab whose heartbeat is late must not lose its job (seen in the
        classroom load test: three trainings ended with nothing on their pages). ``is_open`` returns ``None``
        when it cannot tell (no Streamlit runtime, as in AppTest); it must be quick and thread-safe.
        """
        with self._lock:
            self._is_open = is_open

    def _orphaned(self, owner: str) -> bool:
        if self._clock() - self._seen.get(owner, self._clock()) <= self.orphan_after_s:
            return False
        check = getattr(self, "_is_open", None)
        if check is not None:
            try:
                if check(owner):
                    return False  # silent but connected: a lagging page, not a closed tab
            except Exception:  # noqa: BLE001 - a failing check must not stop anyone's training: fall back
                pass
        return True

    def _reap(self) -> None:
        """Drop the queued jobs of closed sessions, stop their running ones, forget their ended ones."""
        for job in [job for job in self._queue if self._orphaned(job.owner)]:
            self.stop(job, reason="closed")
        for job in self._running:
            if self._orphaned(job.owner) and not job.stop_requested:
                job.stop_reason = "closed"
                job._stop.set()
        for owner in [owner for owner, job in self._latest.items() if not job.active and self._orphaned(owner)]:
            del self._latest[owner]  # its models too: nobody is left to see them
            self._seen.pop(owner, None)

    def _end(self, job: Job, state: str) -> None:
        job.state = state
        job.ended_at = self._clock()

    def _dispatch(self) -> None:
        """Start queued jobs, oldest first, while fewer than :attr:`workers` run."""
        while self._queue and len(self._running) < self.workers:
            job = self._queue.popleft()
            job.state = RUNNING
            job.started_at = self._clock()
            self._running.append(job)
            threading.Thread(target=self._run, args=(job,), name=f"cnnviz-job-{job.job_id}", daemon=True).start()

    def _run(self, job: Job) -> None:
        state = FAILED
        try:
            name, backend = self._backend if self._backend is not None else select_backend()
            job.backend = name

            def should_stop() -> bool:
                if not job.stop_requested and self._orphaned(job.owner):
                    with self._lock:
                        job.stop_reason = job.stop_reason or "closed"
                        job._stop.set()
                return job.stop_requested

            failed = run_training_job(job.request, job.runs, backend, should_stop)
            if failed:
                state = FAILED
            elif job.stop_requested or any(run.result is not None and run.result.stopped_by_user
                                            and run.time_limit_s is None for run in job.runs):
                state = STOPPED
            else:
                state = FINISHED
        except Exception as error:  # noqa: BLE001 - a job never dies silently: its page says what happened
            traceback.print_exc()
            job.message = f"The training could not run ({type(error).__name__}: {error})."
            for run in job.runs:
                if not run.ended:
                    run.failure = job.message  # its page ends it with this message, keeping finished epochs
        finally:
            with self._lock:
                self._running.remove(job)
                self._end(job, state)
                if state == FINISHED and job.duration_s is not None:
                    self._durations.append(job.duration_s)
                self._dispatch()


def run_training_job(request: JobRequest, runs: list[RunProgress], backend: Backend,
                     should_stop: Callable[[], bool]) -> bool:
    """Train ``request`` with ``backend``, appending each run's progress to ``runs``; return whether a run failed.

    A run builds a fresh model (:func:`cnnviz.train.spec.build_model`, seeded), prepares the data as the page
    always did (:func:`cnnviz.train.loop.prepare_data`) and calls the backend. A stop, a NaN or a failure ends a
    repeat too. The server's time limit on one training (:func:`cnnviz.train.estimate.max_training_s`) stops a
    run like Stop, and says so. When the training process dies, the kept model (last finished epoch) is
    measured on the test split here, so that the page needs no Keras call to say how good it is.
    """
    from cnnviz.train.estimate import max_training_s
    from cnnviz.train.live_maps import model_first_layer_maps
    from cnnviz.train.loop import evaluate_model, prepare_data
    from cnnviz.train.repeats import repeat_seeds
    from cnnviz.train.spec import build_model
    from cnnviz.train.worker import TrainingProcessError

    dataset = request.dataset
    limit = max_training_s()
    for seed in repeat_seeds(request.config.seed, request.repeats):
        if should_stop():
            break
        config = replace(request.config, seed=seed)
        model = build_model(request.spec, len(dataset.class_names), seed=seed)
        run = RunProgress(config=config, model=model, total_params=int(model.count_params()))
        runs.append(run)
        started = time.perf_counter()

        def run_should_stop(run: RunProgress = run, started: float = started) -> bool:
            if limit is not None and time.perf_counter() - started > limit:
                run.time_limit_s = limit  # the teacher's cap (CNNVIZ_MAX_TRAINING_S): stop, keeping finished epochs
                return True
            return should_stop()

        def on_batch(progress: BatchProgress, run: RunProgress = run) -> None:
            run.batch = progress
            run.silent_s = 0.0
            if np.isfinite(progress.loss):
                run.batch_losses.append((progress.epoch + progress.step / max(progress.steps, 1), float(progress.loss)))

        def on_epoch(progress: EpochProgress, run: RunProgress = run, started: float = started) -> None:
            run.filters.append(progress.filters)
            run.epoch_seconds.append(time.perf_counter() - started)
            if request.watch_image is not None:
                image, feature_maps, kernel = model_first_layer_maps(run.model, request.spec.conv_blocks[0],
                                                                     dataset.x_test[request.watch_image])
                run.maps = (progress.epoch + 1, image, feature_maps, kernel)
            run.epochs.append(progress)  # last: a reader that sees this epoch sees its filters, time and maps

        def on_idle(silent_s: float, run: RunProgress = run) -> None:
            run.silent_s = silent_s

        try:
            data = (request.prepare or prepare_data)(dataset, config)
            run.result = backend(model, data, config, on_batch=on_batch, on_epoch=on_epoch, on_idle=on_idle,
                                 should_stop=run_should_stop)
        except TrainingProcessError as error:
            # The training process died or hung (out of memory, killed, frozen): keep what finished, say how.
            run.kept_metrics = evaluate_model(model, dataset) if run.epochs else {}
            run.failure = str(error) or "The training process failed."
            return True
        except ValueError as error:  # settings that cannot work (TrainingConfigError, SpecError): the message says
            run.failure = f"Training did not start: {error}"
            return True
        if run.result.status in ("stopped", "NaN"):
            break
    return False


_manager: JobManager | None = None
_manager_lock = threading.Lock()


def job_manager() -> JobManager:
    """The server's one :class:`JobManager`, created on first use with the environment's settings."""
    global _manager
    with _manager_lock:
        if _manager is None:
            _manager = JobManager()
        return _manager
