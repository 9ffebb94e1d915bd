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

Importing this module does not import TensorFlow.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import replace
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any

from cnnviz.train.loop import (
    BatchProgress,
    EpochProgress,
    PreparedData,
    TrainConfig,
    TrainingConfigError,
    TrainResult,
    validate_config,
)

if TYPE_CHECKING:  # pragma: no cover - typing only
    import keras


class TrainingProcessError(RuntimeError):
    """The training process failed or ended without a result; the caller's model keeps its finished epochs."""


#: Seconds the parent waits for a finished child to exit before it terminates it.
EXIT_GRACE_S = 10.0


def _child_main(job_fd: int, message_fd: int) -> None:
    """Entry point of ``python -m cnnviz.train.worker JOB_FD MESSAGE_FD``: train one job, report each step."""
    jobs = Connection(job_fd, writable=False)
    messages = Connection(message_fd, readable=False)
    parent_pid = os.getppid()
    try:
        job: dict[str, Any] = jobs.recv()
        import keras

        from cnnviz.train.loop import train_model

        model = keras.models.model_from_json(job["model_json"])
        model.set_weights(job["weights"])

        def should_stop() -> bool:
            # Any message, or end-of-file because the parent died (SIGKILL, power cut), means stop.
            return jobs.poll() or os.getppid() != parent_pid

        result = train_model(
            model,
            job["data"],
            job["config"],
            on_batch=lambda progress: messages.send(("batch", progress)),
            on_epoch=lambda progress: messages.send(("epoch", progress, model.get_weights())),
            should_stop=should_stop,
            batch_interval_s=job["batch_interval_s"],
        )
        messages.send(("done", result, model.get_weights()))
    except BaseException as error:  # noqa: BLE001 - everything is reported to the parent
        kind = "config" if isinstance(error, TrainingConfigError) else "error"
        traceback.print_exc()  # for the server's log; the learner gets the one-line message
        try:
            messages.send((kind, f"{type(error).__name__}: {error}"))
        except OSError:
            pass  # the parent is gone; nobody is listening
    finally:
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


def train_model_isolated(
    model: keras.Model,
    data: PreparedData,
    config: TrainConfig,
    *,
    on_batch: Callable[[BatchProgress], None] | None = None,
    on_epoch: Callable[[EpochProgress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    batch_interval_s: float = 0.25,
    poll_s: float = 0.05,
) -> TrainResult:
    """Train ``model`` like :func:`cnnviz.train.loop.train_model`, but inside a child process.

    Same arguments and result. The callbacks run in the calling thread. ``model`` gets the
    child's weights after every finished epoch (before ``on_epoch``) and at the end, so it ends
    exactly as an in-process training would leave it. The model is compiled here too, so that
    ``model.evaluate`` works on it afterwards.

    If a callback raises (Streamlit interrupting the script), the child is terminated at once
    and the exception propagates; ``model`` keeps the last finished epoch.

    Raises:
        TrainingConfigError: ``config`` is out of range (checked before any process starts).
        TrainingProcessError: the child failed or died; the message says how.
    """
    validate_config(config)
    from cnnviz.train.loop import compile_model

    started = time.perf_counter()
    compile_model(model, config)
    job_read, job_write = os.pipe()
    message_read, message_write = os.pipe()
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2")}
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "cnnviz.train.worker", str(job_read), str(message_write)],
            pass_fds=(job_read, message_write), stdin=subprocess.DEVNULL, env=env,
        )
    finally:
        # The child holds its own copies: end-of-file on either pipe now means the other side is gone.
        os.close(job_read)
        os.close(message_write)
    jobs = Connection(job_write, readable=False)
    messages = Connection(message_read, writable=False)
    result: TrainResult | None = None
    try:
        try:
            jobs.send({"model_json": model.to_json(), "weights": model.get_weights(), "data": data,
                       "config": config, "batch_interval_s": batch_interval_s})
        except OSError:
            pass  # the child died before reading its job; reading its messages reports how
        stop_sent = False
        while result is None:
            if should_stop is not None and not stop_sent and should_stop():
                stop_sent = True
                try:
                    jobs.send(("stop",))
                except OSError:
                    pass  # the child has already ended; its last messages are still to be read
            if not messages.poll(poll_s):
                continue
            try:
                message = messages.recv()
            except EOFError:
                code = process.wait(timeout=10)
                raise TrainingProcessError(
                    f"The training process ended unexpectedly (exit code {code}) before it finished. "
                    "The finished epochs are kept; train again to continue."
                ) from None
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
                result = message[1]
            elif kind == "config":
                raise TrainingConfigError(message[1])
            else:
                raise TrainingProcessError(
                    f"Training failed in its process ({message[1]}). The finished epochs are kept; the server's "
                    "log has the details."
                )
    except BaseException:
        _end_child(process, grace_s=0)
        raise
    finally:
        jobs.close()
        messages.close()
    _end_child(process, grace_s=EXIT_GRACE_S)
    # Count the child's start-up too: that is what the learner waited for.
    return replace(result, duration_s=time.perf_counter() - started)


if __name__ == "__main__":
    _child_main(int(sys.argv[1]), int(sys.argv[2]))
