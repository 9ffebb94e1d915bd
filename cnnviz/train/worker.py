"""Train in a child process, so that the memory TensorFlow keeps after ``fit`` goes back to the OS.

Every ``model.fit`` on a *new* model leaves native memory behind in TensorFlow's eager
runtime (traced training functions and their kernels) that neither ``gc.collect()`` nor
``keras.backend.clear_session()`` returns; measured here at about 10 MB per training with
TensorFlow 2.21 (see ``benchmarks/load_test.py``). A studio server that a class trains on
all day would grow without bound. :func:`train_model_isolated` therefore runs
:func:`cnnviz.train.loop.train_model` in a fresh process and streams its progress
back; when the child exits, all of that memory is freed.

The child is ``python -m cnnviz.train.worker`` (not ``multiprocessing``, which would re-import the
caller's main script): the job goes to it pickled over one pipe, progress comes back over
another, and a message or end-of-file on the job pipe asks it to stop after the current batch.

The caller's model never leaves the caller: the child rebuilds it from its JSON
architecture and initial weights, and sends the weights back after every finished epoch
and at the end, which the caller's model takes over before ``on_epoch`` is called. So,
exactly as with :func:`~cnnviz.train.loop.train_model`, the caller's model always holds the
weights of the last finished epoch, also when the caller is interrupted (Streamlit raising
into the script when the user clicks Stop) or the child dies.

Starting the child costs an interpreter and a TensorFlow import: about 6 s more per training
than in-process on 2 cores (measured: 2 epochs on 2,000 MNIST images, 4.6 s in-process, 10.9 s
in a child), against ~100 s for the Train page's default run.

A **warm worker** hides that cost (issue 11): once :func:`start_warm_worker` was called (the Train page does),
the server keeps one child ready: interpreter started, TensorFlow and Keras imported, op determinism on, and
the Train page's default design (:class:`WarmDesign`) built, compiled and traced on a few blank images
(:mod:`cnnviz.train.pretrace`). A training takes the ready child; when its design is the traced one, the child
trains the traced model with the job's weights and random state and a reset optimizer, so its first batch
needs no tracing (3 CPU-seconds less on 2 cores) and the history is exactly a fresh child's. The replacement
starts when that training ends, in the background (started at once, its TensorFlow import competed with the
training on 2 cores); a ready child that died is replaced on demand without a word. Each child still trains one
job and exits, so the memory guarantee holds. Children run :func:`worker_niceness` steps nicer than the server
(``os.setpriority``), so pages stay responsive while one trains. ``CNNVIZ_WARM_WORKER=0`` turns the ready child
off (each training then starts its own, as before).

A frozen or hung child (``kill -STOP``, a deadlock) must not hold the training slot forever: the
child sends a heartbeat every :data:`HEARTBEAT_S` seconds from its own thread, and the parent kills a
child that has sent nothing for ``heartbeat_timeout_s`` (default :data:`HEARTBEAT_TIMEOUT_S`, or the
``CNNVIZ_HEARTBEAT_TIMEOUT_S`` environment variable) and raises :class:`TrainingHungError`; the caller's
model keeps its finished epochs. While it waits, the parent calls ``on_idle`` a few times a second, so
that a Streamlit caller makes a Streamlit call and can be interrupted even when the child is silent.

Importing this module does not import TensorFlow.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any

from cnnviz.train.loop import (
    BatchProgress,
    EpochProgress,
    PreparedData,
    TrainConfig,
    TrainingConfigError,
    TrainResult,
    positive_seconds_from_env,
    validate_config,
)
from cnnviz.train.spec import ModelSpec

if TYPE_CHECKING:  # pragma: no cover - typing only
    import keras


class TrainingProcessError(RuntimeError):
    """The training process failed or ended without a result; the caller's model keeps its finished epochs."""


class TrainingHungError(TrainingProcessError):
    """The training process sent nothing (not even its heartbeat) for too long and was killed."""


#: Seconds the parent waits for a finished child to exit before it terminates it.
EXIT_GRACE_S = 10.0
#: Seconds between two heartbeats of the child.
HEARTBEAT_S = 1.0
#: Seconds of silence after which the parent gives up on the child. Generous: a heavily loaded 2-core
#: machine starves the child's heartbeat thread for a few seconds at most (the TensorFlow import included).
HEARTBEAT_TIMEOUT_S = 60.0
#: Seconds between two ``on_idle`` calls while the child is silent.
IDLE_CALL_S = 0.5
#: How much nicer (lower CPU priority) than the server a training child runs (``CNNVIZ_WORKER_NICENESS``).
WORKER_NICENESS = 10


def worker_niceness() -> int:
    """How many steps nicer than the server a training child runs: ``CNNVIZ_WORKER_NICENESS`` if it is a whole
    number from 0 to 19, else :data:`WORKER_NICENESS`.

    10 keeps pages responsive on a server that trains. Lower it where other busy processes at normal priority
    share the cores and the trainings must keep up with them: the test suite's second process starved a child 10
    steps nicer (a 32 s AppTest training took 126 s).
    """
    try:
        value = int(os.environ.get("CNNVIZ_WORKER_NICENESS", ""))
    except ValueError:
        return WORKER_NICENESS
    return value if 0 <= value <= 19 else WORKER_NICENESS


def heartbeat_timeout_s() -> float:
    """The silence after which a training child is given up: ``CNNVIZ_HEARTBEAT_TIMEOUT_S`` if it is a positive
    number, else :data:`HEARTBEAT_TIMEOUT_S`."""
    return positive_seconds_from_env("CNNVIZ_HEARTBEAT_TIMEOUT_S", HEARTBEAT_TIMEOUT_S) or HEARTBEAT_TIMEOUT_S


def _warm_up() -> None:
    """A tiny fit, so that the child's TensorFlow runtime, Keras and the optimizer are initialised (~1 s)."""
    import keras
    import numpy as np

    keras.utils.set_random_seed(0)  # seeded like every training (op determinism, when a job asks for it, needs seeds)
    inputs = keras.Input((28, 28, 1), name="warm_image")
    hidden = keras.layers.Conv2D(2, 3, activation="relu", name="warm_conv")(inputs)
    hidden = keras.layers.MaxPooling2D(2, name="warm_pool")(hidden)
    hidden = keras.layers.Flatten(name="warm_flatten")(hidden)
    outputs = keras.layers.Dense(2, activation="softmax", name="warm_output")(hidden)
    model = keras.Model(inputs, outputs, name="warm_up")
    model.compile(optimizer=keras.optimizers.Adam(0.001), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    images = np.zeros((16, 28, 28, 1), np.float32)
    model.fit(images, np.zeros(16, np.int64), batch_size=8, epochs=1, validation_split=0.25, verbose=0)
    model.evaluate(images, np.zeros(16, np.int64), verbose=0)
    keras.backend.clear_session()


@dataclass(frozen=True)
class WarmDesign:
    """The design a ready child compiles and traces before any click (:mod:`cnnviz.train.pretrace`).

    A job of this architecture then starts training without tracing (about 3 CPU-seconds less for the default
    design on 2 cores); any other architecture trains as in a fresh child. The batch size does not matter (every
    batch size shares the traced steps); the optimizer, its learning rate and the number of classes do.

    Attributes:
        spec: the architecture (default: the Train page's default design).
        num_classes: classes of the output layer (every dataset the studio offers has 10).
        config: the training settings whose optimizer is traced (default: the Train page's).
    """

    spec: ModelSpec = field(default_factory=ModelSpec)
    num_classes: int = 10
    config: TrainConfig = field(default_factory=TrainConfig)

    def to_argument(self) -> str:
        """The design as one command-line argument of the child (JSON)."""
        return json.dumps({"spec": self.spec.to_dict(), "num_classes": self.num_classes,
                           "config": self.config.to_dict()})

    @classmethod
    def from_argument(cls, argument: str) -> WarmDesign:
        """The design :meth:`to_argument` wrote."""
        data = json.loads(argument)
        return cls(ModelSpec.from_dict(data["spec"]), int(data["num_classes"]), TrainConfig.from_dict(data["config"]))


#: What :func:`start_warm_worker` prepares unless told otherwise: the Train page's defaults.
DEFAULT_DESIGN = WarmDesign()


def _prepare(design: WarmDesign) -> Any:
    """Trace ``design`` (a :class:`cnnviz.train.pretrace.TracedModel`); ``None`` when that fails (logged), so that a
    design TensorFlow cannot trace here only costs the job its tracing, as in a fresh child."""
    try:
        import keras

        from cnnviz.train.pretrace import TracedModel
        from cnnviz.train.spec import build_model

        keras.utils.set_random_seed(0)  # the tracing fit shuffles; op determinism needs a seed
        return TracedModel.prepare(build_model(design.spec, design.num_classes).to_json(), design.config)
    except Exception:  # noqa: BLE001 - the child still trains, only without a head start
        traceback.print_exc()
        return None


def _child_main(job_fd: int, message_fd: int, *, warm: bool = False, design: WarmDesign | None = None) -> None:
    """Entry point of ``python -m cnnviz.train.worker JOB_FD MESSAGE_FD [--warm [DESIGN_JSON]]``: train one job.

    With ``--warm`` the child first imports TensorFlow and Keras, switches op determinism on (every training of the
    server asks for it) and either traces ``design`` (:class:`WarmDesign`, given as JSON after ``--warm``) or runs a
    tiny fit, then waits for its job. Every step is reported to the parent over the message pipe.
    """
    jobs = Connection(job_fd, writable=False)
    messages = Connection(message_fd, readable=False)
    parent_pid = os.getppid()
    send_lock = threading.Lock()  # the heartbeat thread and the training share one pipe
    finished = threading.Event()
    busy = threading.Event()  # a job arrived: only then does anyone read the messages (a ready child stays quiet)

    def send(message: tuple) -> None:
        with send_lock:
            messages.send(message)

    def heartbeat() -> None:
        while not finished.wait(HEARTBEAT_S):
            if not busy.is_set():
                if not jobs.poll():
                    continue  # idle and ready: nobody reads the beats, they would fill the pipe
                busy.set()  # the job is waiting while this child still warms up: the parent is listening
            try:
                send(("beat",))
            except (OSError, ValueError):
                return  # the parent is gone, or the pipe was closed at the end

    threading.Thread(target=heartbeat, name="cnnviz-heartbeat", daemon=True).start()
    try:
        import tensorflow as tf

        traced = None
        if warm:
            # A ready child only takes jobs that ask for op determinism (_take_child), so it can trace with it on.
            tf.config.experimental.enable_op_determinism()
            traced = _prepare(design) if design is not None else None
            if traced is None:
                _warm_up()
        try:
            job: dict[str, Any] = jobs.recv()
        except EOFError:
            return  # the server ended (or gave this ready child up) before any training took it
        busy.set()
        if job.get("deterministic", True):
            # Same settings and seed, same history (issue 15): TensorFlow's kernels pick deterministic algorithms
            # and reduction orders; keras.utils.set_random_seed below seeds weights, dropout and shuffling.
            # Switched on per job (TensorFlow has no public way to switch it off again for a job that asks).
            tf.config.experimental.enable_op_determinism()
        import keras

        from cnnviz.train.loop import train_model

        # Seed before the model is rebuilt: a Dropout layer without its own seed draws one when it is built.
        keras.utils.set_random_seed(job["config"].seed)
        model = keras.models.model_from_json(job["model_json"])
        model.set_weights(job["weights"])
        pretraced = traced is not None and traced.matches(job["model_json"])
        if pretraced:
            model = traced.adopt(model)  # the same state, already traced: the first batch starts at once
        send(("started", {"pretraced": pretraced}))

        def should_stop() -> bool:
            # Any message, or end-of-file because the parent died (SIGKILL, power cut), means stop.
            return jobs.poll() or os.getppid() != parent_pid

        result = train_model(
            model,
            job["data"],
            job["config"],
            on_batch=lambda progress: send(("batch", progress)),
            on_epoch=lambda progress: send(("epoch", progress, model.get_weights())),
            should_stop=should_stop,
            batch_interval_s=job["batch_interval_s"],
        )
        send(("done", result, model.get_weights()))
    except BaseException as error:  # noqa: BLE001 - everything is reported to the parent
        kind = "config" if isinstance(error, TrainingConfigError) else "error"
        traceback.print_exc()  # for the server's log; the learner gets the one-line message
        try:
            send((kind, f"{type(error).__name__}: {error}"))
        except OSError:
            pass  # the parent is gone; nobody is listening
    finally:
        finished.set()
        with send_lock:
            messages.close()


def _end_child(process: subprocess.Popen, *, grace_s: float) -> None:
    """End ``process``: wait ``grace_s`` for it, then SIGTERM, then SIGKILL."""
    try:
        process.wait(timeout=grace_s)
        return
    except subprocess.TimeoutExpired:
        process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


def _kill_child(process: subprocess.Popen) -> None:
    """Kill ``process`` at once with SIGKILL (a stopped process ignores SIGTERM until it is continued)."""
    try:
        process.send_signal(signal.SIGKILL)
    except ProcessLookupError:  # pragma: no cover - it ended by itself meanwhile
        pass
    process.wait(timeout=10)


@dataclass
class _Child:
    """A started training child: its process and the parent's ends of its two pipes."""

    process: subprocess.Popen
    jobs: Connection
    messages: Connection
    design: WarmDesign | None = None

    def close(self) -> None:
        self.jobs.close()
        self.messages.close()


def _spawn(*, warm: bool, design: WarmDesign | None = None) -> _Child:
    """Start ``python -m cnnviz.train.worker`` (``--warm``: it warms up, tracing ``design``, before its job)."""
    job_read, job_write = os.pipe()
    message_read, message_write = os.pipe()
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2")}
    command = [sys.executable, "-m", "cnnviz.train.worker", str(job_read), str(message_write)]
    if warm:
        command += ["--warm"] + ([design.to_argument()] if design is not None else [])
    try:
        process = subprocess.Popen(command, pass_fds=(job_read, message_write),
                                   stdin=subprocess.DEVNULL, env=env)
    except BaseException:
        for fd in (job_write, message_read):
            os.close(fd)
        raise
    finally:
        # The child holds its own copies: end-of-file on either pipe now means the other side is gone.
        os.close(job_read)
        os.close(message_write)
    # Below the server's priority, so pages stay responsive while it trains. Set here (the os.nice of the
    # child's own process) right after exec, while the child has one thread: every thread it starts inherits it.
    niceness = min(os.getpriority(os.PRIO_PROCESS, 0) + worker_niceness(), 19)
    try:
        os.setpriority(os.PRIO_PROCESS, process.pid, niceness)
    except OSError:  # pragma: no cover - it died at once; reading its messages reports that
        pass
    return _Child(process, Connection(job_write, readable=False), Connection(message_read, writable=False),
                  design if warm else None)


_pool_lock = threading.Lock()
_ready: _Child | None = None
_pool_on = False
_design: WarmDesign | None = DEFAULT_DESIGN


def warm_worker_enabled() -> bool:
    """Whether the server keeps a ready child: not when ``CNNVIZ_WARM_WORKER`` is ``0``, ``false`` or ``no``.

    Nor when ``CNNVIZ_RAY_ADDRESS`` is set: trainings then run on the Ray cluster, and an idle local child would
    hold ~770 MB for nothing.
    """
    if os.environ.get("CNNVIZ_RAY_ADDRESS", "").strip():
        return False
    return os.environ.get("CNNVIZ_WARM_WORKER", "1").strip().lower() not in ("0", "false", "no", "off")


def start_warm_worker(design: WarmDesign | None = DEFAULT_DESIGN) -> None:
    """Keep one training child ready from now on (idempotent and cheap: call it on every Train page run).

    Starts one in the background if none is ready, or if the ready one traced another design; does nothing when
    :func:`warm_worker_enabled` is false.

    Args:
        design: the design every ready child traces before its job (:class:`WarmDesign`; ``None``: none, a tiny fit
            only). A training of another design still takes the ready child and traces its own steps.
    """
    global _ready, _pool_on, _design
    if not warm_worker_enabled():
        return
    with _pool_lock:
        _pool_on = True
        stale = _ready is not None and _ready.design != design
        _design = design
        if _ready is None or _ready.process.poll() is not None or stale:
            if _ready is not None:
                _ready.close()  # end-of-file on its job pipe: it exits (or already did)
                if stale:
                    threading.Thread(target=_end_child, args=(_ready.process,), kwargs={"grace_s": EXIT_GRACE_S},
                                     daemon=True).start()
            _ready = _spawn(warm=True, design=_design)


def stop_warm_worker() -> None:
    """Stop keeping a ready child and end the one there is (it exits on end-of-file of its job pipe)."""
    global _ready, _pool_on
    with _pool_lock:
        _pool_on, child, _ready = False, _ready, None
    if child is not None:
        child.close()
        _end_child(child.process, grace_s=EXIT_GRACE_S)


def warm_worker_pid() -> int | None:
    """The process id of the ready child, or ``None`` (none kept, or it died)."""
    with _pool_lock:
        if _ready is None or _ready.process.poll() is not None:
            return None
        return _ready.process.pid


def _take_child(*, deterministic: bool = True) -> _Child:
    """The ready child if it is alive (a new one is started at once), else a fresh child, started now.

    A job without op determinism (only the benchmark asks) gets a fresh child: a ready child has switched
    determinism on, and TensorFlow cannot switch it off again.
    """
    global _ready
    if not deterministic:
        return _spawn(warm=False)
    with _pool_lock:
        child, _ready = _ready, None
        if child is not None and child.process.poll() is not None:
            child.close()  # it died while waiting (killed, out of memory): replaced silently
            child = None
        if child is None:
            child = _spawn(warm=False)
    # The replacement starts when this job ends (train_model_isolated's finally), not now: on 2 cores its
    # TensorFlow import competed with the training (a default run took 20.7 s instead of 17.0 s).
    return child


def handle_message(
    message: tuple[Any, ...],
    model: keras.Model,
    *,
    on_batch: Callable[[BatchProgress], None] | None,
    on_epoch: Callable[[EpochProgress], None] | None,
    failure: Callable[[str], str],
) -> TrainResult | None:
    """Act on one message from a training process (this module's child or a Ray worker); return the result.

    ``("batch", progress)`` and ``("epoch", progress, weights)`` reach the callbacks (an epoch's weights are put
    into ``model`` first, so the caller's model always matches the finished epochs); ``("done", result,
    weights)`` returns the :class:`TrainResult`; ``("config", message)`` raises :class:`TrainingConfigError`;
    anything else is a failure, raised as :class:`TrainingProcessError` with ``failure(detail)`` as its message.
    Heartbeats (``"beat"``) are the caller's: how it times them depends on the transport.

    Returns:
        The result for ``"done"``, else ``None``.
    """
    kind = message[0]
    if kind == "batch":
        if on_batch is not None:
            on_batch(message[1])
    elif kind == "epoch":
        model.set_weights(message[2])
        if on_epoch is not None:
            on_epoch(message[1])
    elif kind == "done":
        model.set_weights(message[2])
        return message[1]
    elif kind == "config":
        raise TrainingConfigError(message[1])
    else:
        raise TrainingProcessError(failure(str(message[1])))
    return None


def train_model_isolated(
    model: keras.Model,
    data: PreparedData,
    config: TrainConfig,
    *,
    on_batch: Callable[[BatchProgress], None] | None = None,
    on_epoch: Callable[[EpochProgress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    on_idle: Callable[[float], None] | None = None,
    batch_interval_s: float = 0.25,
    poll_s: float = 0.05,
    heartbeat_timeout: float | None = None,
    deterministic: bool = True,
    on_started: Callable[[dict[str, Any]], None] | None = None,
) -> TrainResult:
    """Train ``model`` like :func:`cnnviz.train.loop.train_model`, but inside a child process.

    Same arguments and result. The callbacks run in the calling thread. ``model`` gets the
    child's weights after every finished epoch (before ``on_epoch``) and at the end, so it ends
    exactly as an in-process training would leave it. The model is compiled here too, so that
    ``model.evaluate`` works on it afterwards.

    If a callback raises (Streamlit interrupting the script), the child is terminated at once
    and the exception propagates; ``model`` keeps the last finished epoch.

    Args:
        on_idle: called about every :data:`IDLE_CALL_S` seconds while no progress arrives, with the seconds since
            the child's last message of any kind (heartbeats included). A Streamlit caller redraws something
            there, so that the script can be interrupted (Stop) however long a batch takes; it may raise.
        deterministic: train with TensorFlow's op determinism, so that the same model, data and config give
            the same history every time on this machine.
        heartbeat_timeout: seconds of silence (not even a heartbeat) after which the child is killed and
            :class:`TrainingHungError` raised; ``None``: :func:`heartbeat_timeout_s`.
        on_started: called once, just before the child's first batch, with ``{"pretraced": bool}``: whether the
            child had this architecture traced already (:class:`WarmDesign`), for the benchmark and the tests.

    Raises:
        TrainingConfigError: ``config`` is out of range (checked before any process starts).
        TrainingHungError: the child sent nothing for ``heartbeat_timeout`` seconds (frozen, hung); it was killed.
        TrainingProcessError: the child failed or died; the message says how.
    """
    validate_config(config)
    from cnnviz.train.loop import compile_model

    started = time.perf_counter()
    compile_model(model, config)
    child = _take_child(deterministic=deterministic)
    process, jobs, messages = child.process, child.jobs, child.messages
    result: TrainResult | None = None
    try:
        try:
            jobs.send({"model_json": model.to_json(), "weights": model.get_weights(), "data": data,
                       "config": config, "batch_interval_s": batch_interval_s,
                       "deterministic": deterministic})
        except OSError:
            pass  # the child died before reading its job; reading its messages reports how
        stop_sent = False
        timeout = heartbeat_timeout_s() if heartbeat_timeout is None else heartbeat_timeout
        last_message = last_idle_call = time.monotonic()
        while result is None:
            if should_stop is not None and not stop_sent and should_stop():
                stop_sent = True
                try:
                    jobs.send(("stop",))
                except OSError:
                    pass  # the child has already ended; its last messages are still to be read
            if not messages.poll(poll_s):
                now = time.monotonic()
                silent = now - last_message
                if silent > timeout:
                    _kill_child(process)
                    raise TrainingHungError(
                        f"The training process stopped responding (nothing for {silent:.0f} s) and was ended. "
                        "The finished epochs are kept; train again to continue."
                    )
                if on_idle is not None and now - last_idle_call >= IDLE_CALL_S:
                    last_idle_call = now
                    on_idle(silent)
                continue
            last_message = time.monotonic()
            try:
                message = messages.recv()
            except EOFError:
                code = process.wait(timeout=10)
                raise TrainingProcessError(
                    f"The training process ended unexpectedly (exit code {code}) before it finished. "
                    "The finished epochs are kept; train again to continue."
                ) from None
            if message[0] == "started":
                if on_started is not None:
                    on_started(message[1])
                continue
            if message[0] == "beat":
                if on_idle is not None and last_message - last_idle_call >= IDLE_CALL_S:
                    last_idle_call = last_message
                    on_idle(0.0)
                continue
            result = handle_message(
                message, model, on_batch=on_batch, on_epoch=on_epoch,
                failure=lambda detail: f"Training failed in its process ({detail}). The finished epochs are kept; "
                "the server's log has the details.",
            ) or result
    except BaseException:
        _end_child(process, grace_s=0)
        raise
    finally:
        jobs.close()
        messages.close()
        if _pool_on:
            start_warm_worker(_design)  # the next training finds a ready child again (tracing the same design)
    _end_child(process, grace_s=EXIT_GRACE_S)
    # Count the child's start-up too: that is what the learner waited for.
    return replace(result, duration_s=time.perf_counter() - started)


if __name__ == "__main__":
    _options = sys.argv[3:]
    _warm = "--warm" in _options
    _design = _options[_options.index("--warm") + 1] if _warm and len(_options) > _options.index("--warm") + 1 else None
    _child_main(int(sys.argv[1]), int(sys.argv[2]), warm=_warm,
                design=WarmDesign.from_argument(_design) if _design else None)
    # Everything is sent and both pipes are closed: end at once instead of tearing TensorFlow down, which the
    # parent waits for before it hands the result over (measured: 10.7 s of a busy 2-core machine's wall time).
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
