"""Train on a Ray cluster, with the contract of :func:`cnnviz.train.worker.train_model_isolated`.

When one machine is not enough for a class, the studio hands its trainings to Ray (https://docs.ray.io), an
existing distributed engine, instead of growing a scheduler of its own. :func:`train_model_ray` takes the same
arguments, calls the same callbacks in the calling thread, leaves the caller's model with the same weights and
returns the same :class:`~cnnviz.train.loop.TrainResult` as the local child process does; only where the
training runs differs. ``CNNVIZ_RAY_ADDRESS`` names the cluster (``auto`` for one started on this machine by
``make cluster``, a head's ``host:6379``, or ``ray://host:10001`` through Ray Client); ``CNNVIZ_RAY_CPUS``
(default 1) is how many CPU cores each training reserves, and TensorFlow in that training uses that many threads.

**One actor per training, polled for its messages.** Each training is a fresh Ray actor (:class:`_RayTrainer`):
``start`` rebuilds the model from its JSON and initial weights and trains it with
:func:`cnnviz.train.loop.train_model` in a thread of the actor's process; the caller calls ``messages`` in a
loop, each call returning everything queued since the last one (every batch report, every finished epoch with
its weights and filters, the final result, in order, as the local worker's pipe carries them) or a heartbeat
after :data:`HEARTBEAT_S` seconds without news. We chose:

- an *actor* over a plain task, because a running task can only be stopped by ``ray.cancel``, and Ray throws
  away what a cancelled task yields afterwards (measured with Ray 2.60: the next item of a cancelled streaming
  generator raises ``TaskCancelledError``), so the final result (the test metrics of the kept epochs) would be
  lost. The actor has more than one concurrency slot, so ``stop()`` reaches it while it trains: the training
  ends after the current batch exactly like a local Stop (``stopped_by_user``, test metrics of the finished
  epochs);
- *polling* the actor over a streaming generator method (``num_returns="streaming"``), because Ray Client
  (``ray://host:10001``) refuses streaming actor methods (Ray 2.60: "not currently supported when using Ray
  Client"), and a ``ray.util.queue.Queue``, because that is one more actor per job to start and clean up;
  one call per second at most while nothing happens, a few per second while batches arrive;
- *killing the actor after every job* (``ray.kill``), the counterpart of ``max_calls=1`` for actors: its
  worker process exits, so the memory TensorFlow keeps after each ``fit`` goes back to the OS, as with the
  local worker. An interrupted caller (Streamlit raising into the script) or a silent worker is also ended
  with ``ray.kill``: a ``ray.cancel`` of an actor task only raises a flag that a frozen worker never reads.

**Datasets travel once.** The arrays of a training go to the cluster's object store with ``ray.put`` and the
object references are kept, per server, in a cache keyed by their content (a BLAKE2b digest, ~40 ms for
10,000 test images); the next training on the same dataset (the same test split, and the same training
subset when seed and size agree) sends references only. The cache holds at most ``CNNVIZ_RAY_CACHE_MB``
(default 1024) megabytes, least recently used first out.

**Same seed, same run?** On Ray as locally, with TensorFlow's op determinism; across the two backends only
when TensorFlow uses as many threads on both. A Ray training uses ``CNNVIZ_RAY_CPUS`` threads, a local one
every core of the server, and a different summation order changes the last digits of the losses, which ten
epochs and early stopping can grow into a different run (measured on this 2-core machine with the earlier
10-epoch defaults: the MNIST run stopped early with 97.95 % locally and on Ray with 2 cores, and ran all 10
epochs to 98.35 % on 1 core).

**Failures.** A worker that dies (killed, out of memory, its machine gone) raises
:class:`RayWorkerDiedError`; one silent for ``heartbeat_timeout`` seconds is killed and raises
:class:`RayWorkerHungError`; a cluster that cannot be reached raises :class:`RayConnectionError`. All three
are :class:`~cnnviz.train.worker.TrainingProcessError` with a one-line message, and the caller's model keeps
the last finished epoch. A Ray Client connection lost mid-training (its head died) is a
:class:`RayWorkerDiedError` too, and the next training connects afresh. Connected as a plain Ray driver
(``auto``, ``host:6379``), a server outlives its head by 60 s only: then Ray ends the driver's process (measured;
Ray's rule, "Failed to connect to GCS within 60 seconds"), so servers that must survive a head restart connect
through ``ray://`` (see SCALING.md).

Importing this module imports neither Ray nor TensorFlow: ``import ray`` happens inside the functions.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import queue
import re
import socket
import sys
import threading
import time
import traceback
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

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
from cnnviz.train.worker import (
    IDLE_CALL_S,
    WORKER_NICENESS,
    TrainingHungError,
    TrainingProcessError,
    handle_message,
    heartbeat_timeout_s,
)

if TYPE_CHECKING:  # pragma: no cover - typing only
    import keras

#: The environment variable naming the Ray cluster: ``auto``, ``host:6379`` or ``ray://host:10001``.
RAY_ADDRESS_ENV = "CNNVIZ_RAY_ADDRESS"
#: The environment variable with the CPU cores one training reserves on the cluster (default :data:`RAY_CPUS`).
RAY_CPUS_ENV = "CNNVIZ_RAY_CPUS"
#: CPU cores one training reserves when ``CNNVIZ_RAY_CPUS`` is not set.
RAY_CPUS = 1.0
#: The environment variable bounding the object-store cache of datasets, in megabytes.
RAY_CACHE_MB_ENV = "CNNVIZ_RAY_CACHE_MB"
#: Megabytes of dataset arrays a server keeps in the object store when ``CNNVIZ_RAY_CACHE_MB`` is not set.
RAY_CACHE_MB = 1024.0
#: Seconds one ``messages`` call of the training actor waits for news before it answers with a heartbeat.
HEARTBEAT_S = 1.0
#: The Ray namespace of the studio's actors, apart from other jobs' on a shared cluster.
RAY_NAMESPACE = "cnnviz"


class RayConnectionError(TrainingProcessError):
    """The Ray cluster named by ``CNNVIZ_RAY_ADDRESS`` could not be reached, or cannot run a training."""


class RayWorkerDiedError(TrainingProcessError):
    """The Ray worker that trained the model died before it finished."""


class RayWorkerHungError(TrainingHungError):
    """The Ray worker sent nothing, not even its heartbeat, for too long and was killed."""


def ray_address() -> str | None:
    """The cluster to train on: ``CNNVIZ_RAY_ADDRESS`` without surrounding spaces, or ``None`` when unset/empty."""
    address = os.environ.get(RAY_ADDRESS_ENV, "").strip()
    return address or None


def ray_cpus() -> float:
    """CPU cores one training reserves: ``CNNVIZ_RAY_CPUS`` if it is a positive number, else :data:`RAY_CPUS`."""
    return positive_seconds_from_env(RAY_CPUS_ENV, RAY_CPUS) or RAY_CPUS


def _cache_limit_bytes() -> float:
    return (positive_seconds_from_env(RAY_CACHE_MB_ENV, RAY_CACHE_MB) or RAY_CACHE_MB) * 1e6


_connect_lock = threading.Lock()
#: Seconds to wait for the cluster's address to accept a connection before ``ray.init`` (which retries for
#: minutes against an address where nothing listens).
CONNECT_PROBE_S = 3.0
#: Ray's switch for a cluster that lives on this machine only: every Ray server binds to 127.0.0.1.
LOCAL_ONLY_ENV = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"


def _bootstrap_host_port(address: str) -> tuple[str, int] | None:
    """The ``(host, port)`` that connecting to ``address`` dials first, or ``None`` if it cannot be told here."""
    if address.startswith("ray://"):
        host_port = address[len("ray://"):]
    elif address == "auto":
        host_port = os.environ.get("RAY_ADDRESS", "").strip()
        if not host_port:
            try:  # the address `ray start` wrote for `auto` (a private helper: without it we skip the probe)
                from ray._private.utils import read_ray_address

                host_port = read_ray_address() or ""
            except Exception:  # noqa: BLE001 - any failure here only skips the probe
                return None
    else:
        host_port = address
    host, _, port = host_port.strip().rpartition(":")
    if not host or not port.isdigit():
        return None
    return host.strip("[]"), int(port)


def _token_available() -> bool:
    """Whether this machine has a Ray token where Ray looks: ``RAY_AUTH_TOKEN``, ``RAY_AUTH_TOKEN_PATH`` or
    ``~/.ray/auth_token`` (``make cluster`` writes the last)."""
    if os.environ.get("RAY_AUTH_TOKEN") or os.environ.get("RAY_AUTH_TOKEN_PATH"):
        return True
    return os.path.isfile(os.path.join(os.path.expanduser("~"), ".ray", "auth_token"))


def _is_loopback(host: str) -> bool:
    return host == "localhost" or host.startswith("127.") or host == "::1"


def connect(address: str | None = None) -> None:
    """Connect this process to the Ray cluster once (later calls return at once).

    A cluster on a loopback address (``make cluster``'s ``127.0.0.1:6379``, found by ``auto``) is joined in
    Ray's local-only mode, as it was started: Ray otherwise rewrites 127.0.0.1 into this machine's network
    address, where a local-only cluster does not listen. The address is probed for :data:`CONNECT_PROBE_S`
    seconds first, so that a cluster that is down is a message at once, not minutes of Ray's retries.

    Args:
        address: ``auto``, ``host:6379`` or ``ray://host:10001``; ``None``: :func:`ray_address`. If this process
            is connected to Ray already (a test session's local cluster, say), that connection is used.

    Raises:
        RayConnectionError: no address is set, or the cluster cannot be reached; the message says which and how.
    """
    global _last_failure
    waiting_since = time.monotonic()
    with _connect_lock:
        if "ray" in sys.modules and sys.modules["ray"].is_initialized():
            return
        address = address or ray_address()
        failure = _last_failure
        if failure is not None and failure[0] >= waiting_since and failure[1] == address:
            # A try that ended while this call waited for it has answered this call too: the studio's queue asks
            # the cluster's size in the background while a job waits to connect, and a head that cannot take a
            # connection would otherwise keep the learner waiting through both tries (2 x 2 x ~30 s).
            raise RayConnectionError(failure[2]) from None
        try:
            _connect_locked(address)
        except RayConnectionError as error:
            _last_failure = (time.monotonic(), address, str(error))
            raise


#: The last failed connection: (when it failed, its address, the message), for calls that waited for it.
_last_failure: tuple[float, str | None, str] | None = None


def _connect_locked(address: str | None) -> None:
    """The body of :func:`connect`, under its lock, for an ``address`` that may still be ``None``."""
    if address is None:
        raise RayConnectionError(
            f"No Ray cluster is set: {RAY_ADDRESS_ENV} is empty. Start one with `make cluster` and set "
            f"{RAY_ADDRESS_ENV}=auto, or train with the local backend."
        )
    target = _bootstrap_host_port(address)
    if target is not None:
        if _is_loopback(target[0]):
            os.environ.setdefault(LOCAL_ONLY_ENV, "0")  # read by Ray when it resolves the address below
        try:
            socket.create_connection(target, timeout=CONNECT_PROBE_S).close()
        except OSError as error:
            raise RayConnectionError(
                f"Could not reach the Ray cluster at {address!r} ({target[0]}:{target[1]}: "
                f"{error.strerror or error}). Is it running (`make cluster`) and is {RAY_ADDRESS_ENV} right?"
            ) from None
    if address.startswith("ray://") and "RAY_AUTH_MODE" not in os.environ and _token_available():
        # A Ray driver turns token authentication on by itself when it finds a token; Ray Client does not
        # (measured with Ray 2.60: "ray client connection timeout" against `make cluster`), so say it here.
        os.environ["RAY_AUTH_MODE"] = "token"
        if "ray" in sys.modules:  # Ray read its settings when it was imported: have it read them again
            with contextlib.suppress(Exception):
                from ray._raylet import Config

                Config.initialize("")
    # Never let a Ray call start a Ray of its own inside the studio (Ray's "auto connect" does, when a call
    # comes after a lost connection): a call without a connection must fail, and the next training reconnect.
    os.environ.setdefault("RAY_ENABLE_AUTO_CONNECT", "0")
    import ray

    with contextlib.suppress(Exception):  # the switch is read when Ray is imported; it may have been already
        from ray._private import auto_init_hook

        auto_init_hook.enable_auto_connect = os.environ["RAY_ENABLE_AUTO_CONNECT"] != "0"
    if target is not None and _is_loopback(target[0]):
        # Ray read that switch when it was first imported; if that was before, set what it read then.
        from ray._private import ray_constants

        ray_constants.ENABLE_RAY_CLUSTER = os.environ[LOCAL_ONLY_ENV].lower() not in ("0", "false")
    try:
        _init_ray(ray, address)
    except Exception as error:  # noqa: BLE001 - Ray raises ConnectionError, RuntimeError, ValueError...
        causes = []
        cause: BaseException | None = error
        while cause is not None and len(causes) < 5:
            causes.append(str(cause))
            cause = cause.__cause__ or cause.__context__
        if any("InvalidAuthToken" in text or "AuthenticationError" in text for text in causes):
            raise RayConnectionError(
                f"The Ray cluster at {address!r} refused this server: it needs the cluster's token. Copy "
                "~/.ray/auth_token from the head machine here, or set RAY_AUTH_TOKEN."
            ) from None
        if any(_CLIENT_INIT_FAILURE in text for text in causes):
            raise RayConnectionError(
                f"The Ray cluster at {address!r} answered but could not start this server's connection in "
                f"{RAY_CLIENT_INIT_ATTEMPTS} tries ({_one_line(error)}). Its head may be overloaded: try again, "
                "and see ray_client_server*.err in the head's Ray logs."
            ) from None
        raise RayConnectionError(
            f"Could not reach the Ray cluster at {address!r} ({_one_line(error)}). Is it running (`make "
            f"cluster`) and is {RAY_ADDRESS_ENV} right?"
        ) from None
    _object_cache.clear()  # references of an earlier connection are no longer valid


#: How many times a Ray Client connection is tried when the cluster's side of it fails to start.
RAY_CLIENT_INIT_ATTEMPTS = 2
#: What Ray Client raises when the cluster accepted the connection but its per-client server did not start.
_CLIENT_INIT_FAILURE = "Initialization failure from server"


def _init_ray(ray: Any, address: str) -> None:
    """``ray.init`` this process, once more if a Ray Client connection failed on the cluster's side.

    A ``ray://`` connection makes the cluster start a server process for this client; on a busy head that start
    can fail or time out (seen once in CI with both cores taken: "Initialization failure from server"), and Ray
    does not try again itself. Ray Client disconnects cleanly after such a failure, so a second ``ray.init`` is a
    fresh attempt; any other error is raised at once.
    """
    for attempt in range(1, RAY_CLIENT_INIT_ATTEMPTS + 1):
        try:
            # log_to_driver=False: the workers' TensorFlow output stays in Ray's logs, not the studio's.
            ray.init(address=address, namespace=RAY_NAMESPACE, log_to_driver=False)
            return
        except ConnectionAbortedError as error:
            if attempt == RAY_CLIENT_INIT_ATTEMPTS or _CLIENT_INIT_FAILURE not in str(error):
                raise
            time.sleep(1.0)


def _disconnect() -> None:
    """Drop this process's Ray connection and the object references made through it, so that the next training
    connects afresh (and says at once if the cluster is still down)."""
    _object_cache.clear()
    if "ray" in sys.modules:
        with contextlib.suppress(Exception):
            sys.modules["ray"].shutdown()


class _ObjectCache:
    """Object references of arrays already put into the object store, keyed by their content, LRU-bounded."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._refs: OrderedDict[tuple[str, tuple[int, ...], str], tuple[Any, int]] = OrderedDict()
        self.puts = 0  # how many arrays this server has sent to the object store (tests read it)

    def clear(self) -> None:
        with self._lock:
            self._refs.clear()

    def ref(self, array: np.ndarray) -> Any:
        """The object reference of ``array``'s content, putting it into the object store the first time."""
        import ray

        array = np.ascontiguousarray(array)
        digest = hashlib.blake2b(memoryview(array).cast("B"), digest_size=16).hexdigest()
        key = (array.dtype.str, tuple(array.shape), digest)
        with self._lock:
            if key in self._refs:
                self._refs.move_to_end(key)
                return self._refs[key][0]
        ref = ray.put(array)
        with self._lock:
            self.puts += 1
            self._refs[key] = (ref, array.nbytes)
            total = sum(size for _, size in self._refs.values())
            while len(self._refs) > 1 and total > _cache_limit_bytes():
                _, (_, size) = self._refs.popitem(last=False)
                total -= size
        return ref


_object_cache = _ObjectCache()


def object_store_puts() -> int:
    """How many arrays this server has put into the cluster's object store so far (each dataset part once)."""
    return _object_cache.puts


_running_lock = threading.Lock()
_running: dict[int, tuple[str, int]] = {}


def running_workers() -> list[tuple[str, int]]:
    """``(node IP, process id)`` of the Ray workers training for this server right now."""
    with _running_lock:
        return list(_running.values())


def _one_line(error: BaseException | str) -> str:
    """One line of an error's message, short enough for a one-line message to a learner: the first, or, where
    the first only introduces what follows (``"Initialization failure from server:"`` and a server's traceback),
    the first joined to the first sentence of the last, which names the error."""
    lines = [line.strip() for line in str(error).strip().splitlines() if line.strip()]
    if not lines:
        return type(error).__name__ if isinstance(error, BaseException) else ""
    line = lines[0]
    if line.endswith(":") and len(lines) > 1:
        reason = re.split(r"(?<=[.!?])\s", lines[-1], maxsplit=1)[0]
        line = f"{line} {reason}"
    return line[:160]


class _RayTrainer:
    """The body of the training actor (made a Ray actor in :func:`_trainer_actor`): one job, then killed.

    ``start`` begins the training in a thread of the actor's process; the caller then calls ``messages`` over and
    over (each call waits up to ``wait_s`` for news) and may call ``stop`` meanwhile, from another of the
    actor's concurrency slots.
    """

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._messages: queue.Queue[tuple] = queue.Queue()
        try:  # below the priority of whatever else runs on the node (a studio server on the same machine)
            os.setpriority(os.PRIO_PROCESS, 0, min(os.getpriority(os.PRIO_PROCESS, 0) + WORKER_NICENESS, 19))
        except OSError:  # pragma: no cover - not allowed on this node: train at normal priority
            pass

    def start(self, job: dict[str, Any], x_train: np.ndarray, y_train: np.ndarray, x_val: np.ndarray,
              y_val: np.ndarray, x_test: np.ndarray, y_test: np.ndarray) -> tuple[int, str]:
        """Start training ``job`` on these arrays in a thread; return this worker's process id and node address."""
        import ray

        data = PreparedData(x_train, y_train, x_val, y_val, x_test, y_test)
        threading.Thread(target=_train_job, args=(job, data, self._messages, self._stop.is_set),
                         name="cnnviz-ray-training", daemon=True).start()
        return os.getpid(), ray.util.get_node_ip_address()

    def messages(self, wait_s: float) -> list[tuple]:
        """Every message since the last call, waiting up to ``wait_s`` for the first; ``[("beat",)]`` if none came."""
        try:
            found = [self._messages.get(timeout=wait_s)]
        except queue.Empty:
            return [("beat",)]
        while True:
            try:
                found.append(self._messages.get_nowait())
            except queue.Empty:
                return found

    def stop(self) -> None:
        """Ask the running training to stop after its current batch (it then reports its result as usual)."""
        self._stop.set()


def _train_job(job: dict[str, Any], data: PreparedData, messages: queue.Queue, should_stop: Callable[[], bool]
               ) -> None:
    """Rebuild the job's model and train it as the local worker's child does, putting each message on ``messages``."""
    try:
        import tensorflow as tf

        threads = max(1, int(job["cpus"]))  # use the cores this actor reserved, not every core of the node
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
        if job["deterministic"]:
            tf.config.experimental.enable_op_determinism()
        import keras

        from cnnviz.train.loop import train_model

        # Seed before the model is rebuilt: a Dropout layer without its own seed draws one when it is built.
        keras.utils.set_random_seed(job["config"].seed)
        model = keras.models.model_from_json(job["model_json"])
        model.set_weights(job["weights"])
        result = train_model(
            model, data, job["config"],
            on_batch=lambda progress: messages.put(("batch", progress)),
            on_epoch=lambda progress: messages.put(("epoch", progress, model.get_weights())),
            should_stop=should_stop, batch_interval_s=job["batch_interval_s"],
        )
        messages.put(("done", result, model.get_weights()))
    except BaseException as error:  # noqa: BLE001 - everything is reported to the caller
        traceback.print_exc()  # for the worker's log in Ray's session folder; the learner gets the one-line message
        kind = "config" if isinstance(error, TrainingConfigError) else "error"
        messages.put((kind, f"{type(error).__name__}: {error}"))


_actor_lock = threading.Lock()
_actor_class: Any = None


def _trainer_actor() -> Any:
    """The Ray actor class of :class:`_RayTrainer` (made once per process, when Ray is first needed)."""
    global _actor_class
    import ray

    with _actor_lock:
        if _actor_class is None:
            # Three concurrency slots: `messages` may wait in one while `stop` (or `start`) runs in another. No
            # restarts or retries: a training that died is reported, not silently started again from epoch 1.
            _actor_class = ray.remote(max_concurrency=3, max_restarts=0, max_task_retries=0)(_RayTrainer)
        return _actor_class


@dataclass
class _Job:
    """A training actor and the node it runs on."""

    actor: Any
    node: str = "an unknown node"

    def kill(self) -> None:
        import ray

        if not ray.is_initialized():
            return  # the connection is gone, and the actor with it (Ray ends the actors of a lost owner)
        try:
            ray.kill(self.actor, no_restart=True)
        except Exception:  # noqa: BLE001 - it is gone already, or the connection with it
            pass


def cluster_job_slots(cpus: float | None = None) -> int:
    """How many trainings the cluster runs at once: its CPU cores over the cores one training reserves, at least 1.

    A job queue in front of this backend can run that many jobs at once; more wait in Ray's own queue for free
    cores (several studio servers sharing one cluster do so). Connects first (:func:`connect`).

    Args:
        cpus: cores per training; ``None``: :func:`ray_cpus`.
    """
    connect()  # first: connecting sets environment variables Ray reads when it is imported
    import ray

    per_job = ray_cpus() if cpus is None else cpus
    return max(1, int(ray.cluster_resources().get("CPU", 0.0) // per_job))


def _check_cluster_has(cpus: float) -> None:
    """Refuse a training the cluster can never place: it would wait forever in Ray's queue."""
    import ray

    total = ray.cluster_resources().get("CPU", 0.0)
    if total < cpus:
        raise RayConnectionError(
            f"Each training asks for {cpus:g} CPU cores ({RAY_CPUS_ENV}) but the Ray cluster has {total:g}. "
            f"Lower {RAY_CPUS_ENV} or add worker machines (`ray start --address=...`)."
        )


def train_model_ray(
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
    address: str | None = None,
    cpus: float | None = None,
) -> TrainResult:
    """Train ``model`` like :func:`cnnviz.train.worker.train_model_isolated`, but on a Ray cluster.

    Same arguments, callbacks and result. The callbacks run in the calling thread. ``model`` gets the worker's
    weights after every finished epoch (before ``on_epoch``) and at the end, and is compiled here, so that
    ``model.evaluate`` works on it afterwards. ``should_stop`` returning ``True`` stops the training after its
    current batch; the result then says ``stopped_by_user`` and has the test metrics of the finished epochs (while
    the training still waits for free cores, at once, with no epoch).
    If a callback raises (Streamlit interrupting the script), the worker is killed at once and the exception
    propagates; ``model`` keeps the last finished epoch.

    Args:
        on_idle: called about every :data:`~cnnviz.train.worker.IDLE_CALL_S` seconds while no progress arrives,
            with the seconds since the worker's last answer of any kind (0 while it sends heartbeats; the time
            waited while the cluster has no free cores for it). A Streamlit caller redraws something there, so
            that the script can be interrupted; it may raise.
        deterministic: train with TensorFlow's op determinism (same model, data and config, same history).
        heartbeat_timeout: seconds a started worker may stay silent before it is killed and
            :class:`RayWorkerHungError` raised; ``None``: :func:`~cnnviz.train.worker.heartbeat_timeout_s`.
            A training waiting for free cores in Ray's queue is not silent: it waits as long as it takes.
        address: the cluster; ``None``: ``CNNVIZ_RAY_ADDRESS`` (see :func:`connect`).
        cpus: cores the training reserves and TensorFlow uses; ``None``: :func:`ray_cpus`.

    Raises:
        TrainingConfigError: ``config`` is out of range (checked before anything is sent).
        RayConnectionError: the cluster cannot be reached, or has fewer cores than one training asks for.
        RayWorkerHungError: the worker sent nothing for ``heartbeat_timeout`` seconds; it was killed.
        RayWorkerDiedError: the worker died before it finished.
        TrainingProcessError: the training failed on the worker; the message says how.
    """
    validate_config(config)
    from cnnviz.train.loop import compile_model

    started = time.perf_counter()
    connect(address)  # before Ray is imported here: connecting sets environment variables Ray reads on import
    import ray
    from ray.exceptions import RayError

    cpus = ray_cpus() if cpus is None else cpus
    compile_model(model, config)
    job_spec = {"model_json": model.to_json(), "weights": model.get_weights(), "config": config,
                "batch_interval_s": batch_interval_s, "deterministic": deterministic, "cpus": cpus}
    try:
        _check_cluster_has(cpus)
        arrays = [_object_cache.ref(array) for array in
                  (data.x_train, data.y_train, data.x_val, data.y_val, data.x_test, data.y_test)]
        actor = _trainer_actor().options(num_cpus=cpus).remote()
        pending = actor.start.remote(job_spec, *arrays)  # ready once the actor has cores, a process and its job
    except (ConnectionError, RayError, ValueError) as error:  # a connection that broke since the last training
        _disconnect()
        raise RayConnectionError(
            f"Lost the connection to the Ray cluster ({_one_line(error)}). Train again to reconnect; if this "
            f"repeats, check that the cluster is running (`make cluster`) and {RAY_ADDRESS_ENV}."
        ) from None
    job = _Job(actor)
    timeout = heartbeat_timeout_s() if heartbeat_timeout is None else heartbeat_timeout
    result: TrainResult | None = None
    worker_pid: int | None = None
    stop_sent = False
    last_message = last_idle_call = time.monotonic()

    def died(error: BaseException) -> RayWorkerDiedError:
        return RayWorkerDiedError(
            f"The Ray worker training this model on {job.node} ended unexpectedly ({type(error).__name__}). "
            "The finished epochs are kept; train again to continue."
        )

    def lost(error: BaseException) -> RayWorkerDiedError:
        _disconnect()
        return RayWorkerDiedError(
            f"The connection to the Ray cluster was lost while it trained this model ({_one_line(error)}). The "
            "finished epochs are kept; train again once the cluster is back."
        )

    try:
        while result is None:
            if should_stop is not None and not stop_sent and should_stop():
                stop_sent = True
                if worker_pid is None:  # still waiting for free cores: nothing to keep, nothing to wait for
                    return TrainResult(stopped_by_user=True, duration_s=time.perf_counter() - started,
                                       train_size=len(data.x_train), val_size=len(data.x_val),
                                       test_size=len(data.x_test))
                actor.stop.remote()
            try:
                ready, _ = ray.wait([pending], timeout=poll_s)
            except ConnectionError as error:  # Ray Client lost the cluster (its head died, say)
                raise lost(error) from None
            now = time.monotonic()
            if not ready:
                silent = now - last_message
                # Waiting for free cores in Ray's queue is not silence; a started worker answers within HEARTBEAT_S.
                if worker_pid is not None and silent > timeout:
                    job.kill()
                    raise RayWorkerHungError(
                        f"The Ray worker training this model on {job.node} stopped responding (nothing for "
                        f"{silent:.0f} s) and was ended. The finished epochs are kept; train again to continue."
                    )
                if on_idle is not None and now - last_idle_call >= IDLE_CALL_S:
                    last_idle_call = now
                    on_idle(silent)
                continue
            try:
                answer = ray.get(pending)
            except RayError as error:  # ActorDiedError, ActorUnavailableError, a lost node, ...
                raise died(error) from None
            except ConnectionError as error:
                raise lost(error) from None
            last_message = now
            pending = actor.messages.remote(HEARTBEAT_S)
            if worker_pid is None:
                worker_pid, node = answer
                job.node = f"node {node}"
                with _running_lock:
                    _running[id(job)] = (node, worker_pid)
                continue
            for message in answer:
                if message[0] == "beat":
                    if on_idle is not None and now - last_idle_call >= IDLE_CALL_S:
                        last_idle_call = now
                        on_idle(0.0)
                    continue
                result = handle_message(
                    message, model, on_batch=on_batch, on_epoch=on_epoch,
                    failure=lambda detail: f"Training failed on the Ray worker on {job.node} ({_one_line(detail)}). "
                    "The finished epochs are kept; the worker's log in Ray's session folder has the details.",
                ) or result
    finally:
        with _running_lock:
            _running.pop(id(job), None)
        # Done, failed or interrupted: the worker process goes, and with it TensorFlow's memory of this fit.
        job.kill()
    return replace(result, duration_s=time.perf_counter() - started)
