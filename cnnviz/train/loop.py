"""Training a CNN on a dataset, with live progress, a stop request, NaN detection and one lock per process.

:func:`train_model` is a thin layer over ``model.fit(verbose=0)``: it prepares
the arrays, compiles, and adds one Keras callback (:class:`TrainingMonitor`)
that reports progress through plain callables, keeps the history of *finished*
epochs only, keeps a copy of the weights after each finished epoch, and stops
on request or on a NaN loss. The callback holds no UI; the Train page passes
callables that draw.

Stopping keeps what was finished: if training ends in the middle of an epoch
(a stop request, a NaN, or an exception such as Streamlit interrupting the
script), the model is put back to its weights at the end of the last finished
epoch, so the weights always match the history.

Only one training runs at a time in a process (:func:`training_lock`): on 2 CPU
cores, several concurrent trainings would all crawl.

Importing this module does not import TensorFlow.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from cnnviz.core.images import to_model_batch

if TYPE_CHECKING:  # pragma: no cover - typing only
    import keras

#: Optimizers offered to learners; SGD uses momentum 0.9.
OPTIMIZERS: tuple[str, ...] = ("adam", "sgd", "rmsprop", "adadelta")


class TrainingConfigError(ValueError):
    """Training settings that cannot work; the message says what was received and what to use."""


class TrainingBusyError(RuntimeError):
    """Another training held the process-wide lock for longer than the caller was willing to wait."""


class TrainingData(Protocol):
    """What :func:`train_model` needs from a dataset (:class:`cnnviz.core.datasets.Dataset` has it).

    ``x_*`` are uint8 (N, 28, 28) images (0 = background), ``y_*`` int labels in ``[0, num classes)``.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: Any


@dataclass(frozen=True)
class TrainConfig:
    """How to train.

    Attributes:
        optimizer: ``"adam"``, ``"sgd"`` (with momentum 0.9), ``"rmsprop"`` or ``"adadelta"``.
        learning_rate: step size of the optimizer, > 0.
        batch_size: images per gradient step, 1..4096.
        epochs: passes over the training subset, 1..100.
        train_size: how many training images to use (a random subset; capped at what the dataset has).
        validation_split: fraction of the subset held out to validate after each epoch, 0..0.5.
        early_stopping: stop when the validation loss has not improved for ``patience`` epochs.
        patience: epochs without improvement before early stopping, >= 1.
        restore_best_weights: with early stopping, end with the weights of the best epoch.
        seed: seeds the subset choice, the shuffling and (via ``build_model(seed=...)``) the initial weights.
    """

    optimizer: str = "adam"
    learning_rate: float = 1e-3
    batch_size: int = 32
    epochs: int = 10
    train_size: int = 8000
    validation_split: float = 0.1
    early_stopping: bool = True
    patience: int = 3
    restore_best_weights: bool = True
    seed: int = 42

    def to_dict(self) -> dict[str, Any]:
        """Return the settings as a JSON-serialisable dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """Build a config from :meth:`to_dict` output (missing keys take defaults, unknown keys are ignored)."""
        known = {name: value for name, value in data.items() if name in cls.__dataclass_fields__}
        return cls(**known)


def validate_config(config: TrainConfig) -> None:
    """Raise :class:`TrainingConfigError` if a setting is out of range; return ``None`` otherwise."""
    if config.optimizer not in OPTIMIZERS:
        raise TrainingConfigError(f"Optimizer must be one of {list(OPTIMIZERS)}, got {config.optimizer!r}.")
    if not (isinstance(config.learning_rate, (int, float)) and math.isfinite(config.learning_rate)
            and config.learning_rate > 0):
        raise TrainingConfigError(f"Learning rate must be a positive number, got {config.learning_rate!r}.")
    checks = (("Batch size", config.batch_size, 1, 4096), ("Epochs", config.epochs, 1, 100),
              ("Training-set size", config.train_size, 2, 10_000_000), ("Patience", config.patience, 1, 100))
    for name, value, low, high in checks:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise TrainingConfigError(f"{name} must be a whole number from {low} to {high}, got {value!r}.")
    split = config.validation_split
    if isinstance(split, bool) or not isinstance(split, (int, float)) or not 0.0 <= split <= 0.5:
        raise TrainingConfigError(
            f"Validation split must be a fraction from 0 to 0.5, got {config.validation_split!r}."
        )


def make_optimizer(name: str, learning_rate: float) -> keras.optimizers.Optimizer:
    """Return a fresh Keras optimizer by name (``"sgd"`` gets momentum 0.9)."""
    import keras

    if name == "adam":
        return keras.optimizers.Adam(learning_rate=learning_rate)
    if name == "sgd":
        return keras.optimizers.SGD(learning_rate=learning_rate, momentum=0.9)
    if name == "rmsprop":
        return keras.optimizers.RMSprop(learning_rate=learning_rate)
    if name == "adadelta":
        return keras.optimizers.Adadelta(learning_rate=learning_rate)
    raise TrainingConfigError(f"Optimizer must be one of {list(OPTIMIZERS)}, got {name!r}.")


@dataclass(frozen=True)
class PreparedData:
    """The arrays one training uses.

    Attributes:
        x_train, x_val, x_test: float32 (N, 28, 28, 1) in [0, 1].
        y_train, y_val, y_test: int64 (N,) labels.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def prepare_data(dataset: TrainingData, config: TrainConfig) -> PreparedData:
    """Pick the seeded random training subset, split off the validation part and scale to [0, 1].

    The subset has ``min(config.train_size, len(dataset.x_train))`` images; the last
    ``round(validation_split * n)`` of them (after shuffling) validate.
    """
    validate_config(config)
    available = len(dataset.x_train)
    if available < 2:
        raise TrainingConfigError(f"The dataset has {available} training images; training needs at least 2.")
    count = min(config.train_size, available)
    order = np.random.default_rng(config.seed).permutation(available)[:count]
    x = to_model_batch(np.asarray(dataset.x_train)[order])
    y = np.asarray(dataset.y_train)[order].astype(np.int64)
    val_count = int(round(config.validation_split * count))
    if config.validation_split > 0:
        val_count = min(max(val_count, 1), count - 1)
    split = count - val_count
    return PreparedData(
        x_train=x[:split],
        y_train=y[:split],
        x_val=x[split:],
        y_val=y[split:],
        x_test=to_model_batch(np.asarray(dataset.x_test)),
        y_test=np.asarray(dataset.y_test).astype(np.int64),
    )


def compile_model(model: keras.Model, config: TrainConfig) -> None:
    """Compile ``model`` for integer labels: the chosen optimizer, cross-entropy loss, accuracy."""
    model.compile(
        optimizer=make_optimizer(config.optimizer, config.learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )


@dataclass(frozen=True)
class BatchProgress:
    """Progress inside an epoch, reported after a batch.

    Attributes:
        epoch: 0-based epoch index; ``epochs`` is the planned total.
        step: batches finished in this epoch (1-based); ``steps`` per epoch.
        loss: running mean training loss over this epoch so far; ``accuracy`` likewise.
        samples_per_s: training images per second in this epoch so far.
        seconds_left: estimated seconds until this epoch's batches are done.
    """

    epoch: int
    epochs: int
    step: int
    steps: int
    loss: float
    accuracy: float
    samples_per_s: float
    seconds_left: float


@dataclass(frozen=True)
class EpochProgress:
    """A finished epoch.

    Attributes:
        epoch: 0-based index of the epoch just finished; ``epochs`` is the planned total.
        logs: this epoch's metrics, e.g. ``{"loss", "accuracy", "val_loss", "val_accuracy"}``.
        history: every finished epoch so far, ``{"loss": [...], ...}`` (copies).
        filters: the first conv layer's kernels after this epoch, float32 (kh, kw, in_ch, filters), or ``None``.
        seconds: wall time of this epoch including validation.
    """

    epoch: int
    epochs: int
    logs: dict[str, float]
    history: dict[str, list[float]]
    filters: np.ndarray | None
    seconds: float


def _as_float(value: Any) -> float:
    try:
        return float(np.asarray(value))
    except (TypeError, ValueError):
        return float("nan")


def make_monitor(
    *,
    steps_per_epoch: int,
    batch_size: int,
    train_samples: int,
    on_batch: Callable[[BatchProgress], None] | None = None,
    on_epoch: Callable[[EpochProgress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    batch_interval_s: float = 0.25,
    snapshot_layer: str | None = "conv_1",
    early_stopping_patience: int | None = None,
    monitor: str = "val_loss",
) -> Any:
    """Return a Keras callback that reports progress, stops on request or NaN, and keeps finished epochs.

    Args:
        steps_per_epoch: batches in one epoch (an epoch is "finished" when all of them ran).
        batch_size: images per batch; ``train_samples`` images per epoch (for samples/s).
        on_batch: called with a :class:`BatchProgress` at most every ``batch_interval_s`` seconds, and after
            the last batch of each epoch.
        on_epoch: called with an :class:`EpochProgress` after each finished epoch (never a partial one).
        should_stop: polled after every batch; ``True`` ends training after that batch.
        snapshot_layer: the layer whose kernel is copied after each epoch (skipped if absent).
        early_stopping_patience: if set, stop after this many finished epochs without improvement of
            ``monitor`` and remember the best epoch's weights.

    The callback's attributes after ``fit``: ``history``, ``epochs_done``, ``stopped_by_user``,
    ``nan_detected``, ``nan_message``, ``early_stopped``, ``best_epoch``, ``best_weights``,
    ``last_finished_weights``, ``filter_snapshots``, ``partial_epoch`` (an epoch ended unfinished),
    ``train_seconds`` (time inside training batches).
    """
    import keras

    class _Monitor(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.on_train_begin()

        # Reset everything so one instance can be reused for another fit.
        def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
            self.history: dict[str, list[float]] = {}
            self.epochs_done = 0
            self.stopped_by_user = False
            self.nan_detected = False
            self.nan_message = ""
            self.early_stopped = False
            self.best_epoch: int | None = None
            self.best_value = math.inf
            self.best_weights: list[np.ndarray] | None = None
            self.wait = 0
            self.last_finished_weights: list[np.ndarray] | None = None
            self.filter_snapshots: list[np.ndarray] = []
            self.partial_epoch = False
            self.train_seconds = 0.0
            self._epoch = 0
            self._steps_seen = 0
            self._epoch_start = 0.0
            self._batch_time = 0.0
            self._batch_start = 0.0
            self._last_report = 0.0

        def _kept(self) -> str:
            """What a NaN leaves the learner: the last finished epoch's weights, or nothing."""
            if self.epochs_done:
                return f"the weights of the last finished epoch ({self.epochs_done}) were kept"
            return "no epoch had finished, so no trained weights were kept"

        def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            self._epoch = epoch
            self._steps_seen = 0
            self._batch_time = 0.0
            self._epoch_start = time.perf_counter()
            self._last_report = self._epoch_start

        def on_train_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
            self._batch_start = time.perf_counter()

        def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
            now = time.perf_counter()
            self._batch_time += now - self._batch_start
            self.train_seconds += now - self._batch_start
            self._steps_seen = batch + 1
            logs = logs or {}
            loss = _as_float(logs.get("loss"))
            if not math.isfinite(loss):
                self.nan_detected = True
                self.nan_message = (
                    f"The training loss became {loss} at batch {batch + 1} of epoch {self._epoch + 1}: the "
                    "weights blew up, usually because the learning rate is too large for this optimizer. "
                    f"Training was stopped; {self._kept()}. Try a learning rate 10 times smaller."
                )
                self.model.stop_training = True
                return
            if should_stop is not None and should_stop():
                self.stopped_by_user = True
                self.model.stop_training = True
            last = self._steps_seen >= steps_per_epoch
            if on_batch is not None and (last or now - self._last_report >= batch_interval_s):
                self._last_report = now
                seen = min(self._steps_seen * batch_size, train_samples)
                rate = seen / self._batch_time if self._batch_time > 0 else 0.0
                left = (train_samples - seen) / rate if rate > 0 else float("nan")
                on_batch(
                    BatchProgress(
                        epoch=self._epoch,
                        epochs=self.params.get("epochs", 0) if self.params else 0,
                        step=self._steps_seen,
                        steps=steps_per_epoch,
                        loss=loss,
                        accuracy=_as_float(logs.get("accuracy")),
                        samples_per_s=rate,
                        seconds_left=max(left, 0.0),
                    )
                )

        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            if self._steps_seen < steps_per_epoch or self.nan_detected:
                # Keras still calls on_epoch_end after a stop mid-epoch; that epoch is not finished.
                self.partial_epoch = True
                return
            values = {name: _as_float(value) for name, value in (logs or {}).items()}
            if not all(math.isfinite(value) for value in values.values()):
                self.nan_detected = True
                self.nan_message = (
                    f"Epoch {epoch + 1} ended with a non-finite metric ({values}): the weights blew up, usually "
                    f"because the learning rate is too large. Training was stopped; {self._kept()}. Try a "
                    "learning rate 10 times smaller."
                )
                self.partial_epoch = True
                self.model.stop_training = True
                return
            for name, value in values.items():
                self.history.setdefault(name, []).append(value)
            self.epochs_done = epoch + 1
            self.last_finished_weights = self.model.get_weights()
            filters = None
            if snapshot_layer is not None:
                try:
                    layer = self.model.get_layer(snapshot_layer)
                except ValueError:
                    layer = None
                if layer is not None and getattr(layer, "kernel", None) is not None:
                    filters = np.array(layer.kernel.numpy(), dtype=np.float32)
                    self.filter_snapshots.append(filters)
            if early_stopping_patience is not None:
                current = values.get(monitor, values.get("loss", math.inf))
                if current < self.best_value:
                    self.best_value = current
                    self.best_epoch = epoch
                    self.best_weights = self.last_finished_weights
                    self.wait = 0
                else:
                    self.wait += 1
                    if self.wait >= early_stopping_patience:
                        self.early_stopped = True
                        self.model.stop_training = True
            if on_epoch is not None:
                on_epoch(
                    EpochProgress(
                        epoch=epoch,
                        epochs=self.params.get("epochs", 0) if self.params else 0,
                        logs=values,
                        history={name: list(series) for name, series in self.history.items()},
                        filters=filters,
                        seconds=time.perf_counter() - self._epoch_start,
                    )
                )

    return _Monitor()


@dataclass
class TrainResult:
    """What a training produced. The model itself is trained in place.

    Attributes:
        history: ``{"loss", "accuracy", "val_loss", "val_accuracy"}`` -> one float per finished epoch.
        epochs_done: finished epochs (0 if stopped during the first one).
        stopped_by_user, nan_detected, early_stopped: why training ended early (all False: all epochs ran).
        nan_message: the explanation when ``nan_detected``.
        best_epoch: 0-based epoch whose weights were restored by early stopping, else ``None``.
        test_metrics: ``{"loss", "accuracy"}`` on the test split; empty if no epoch finished.
        duration_s: wall time of the whole call (fit + test evaluation).
        samples_per_s: training images per second inside training batches.
        filter_snapshots: the first conv layer's kernels after each finished epoch, float32 (kh, kw, 1, filters).
        train_size, val_size, test_size: images used for each part.
    """

    history: dict[str, list[float]] = field(default_factory=dict)
    epochs_done: int = 0
    stopped_by_user: bool = False
    nan_detected: bool = False
    nan_message: str = ""
    early_stopped: bool = False
    best_epoch: int | None = None
    test_metrics: dict[str, float] = field(default_factory=dict)
    duration_s: float = 0.0
    samples_per_s: float = 0.0
    filter_snapshots: list[np.ndarray] = field(default_factory=list)
    train_size: int = 0
    val_size: int = 0
    test_size: int = 0

    @property
    def status(self) -> str:
        """One word for tables: ``"finished"``, ``"early-stopped"``, ``"stopped"`` or ``"NaN"``."""
        if self.nan_detected:
            return "NaN"
        if self.stopped_by_user:
            return "stopped"
        if self.early_stopped:
            return "early-stopped"
        return "finished"


def train_model(
    model: keras.Model,
    dataset: TrainingData,
    config: TrainConfig,
    *,
    on_batch: Callable[[BatchProgress], None] | None = None,
    on_epoch: Callable[[EpochProgress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    batch_interval_s: float = 0.25,
    data: PreparedData | None = None,
) -> TrainResult:
    """Compile and train ``model`` in place on a subset of ``dataset``, then evaluate it on the test split.

    Args:
        model: an uncompiled or compiled Keras model, input (28, 28, 1) float32, softmax output.
        dataset: uint8 (N, 28, 28) images and int labels (see :class:`TrainingData`).
        config: the settings (validated; :class:`TrainingConfigError` if out of range).
        on_batch: progress inside an epoch (see :func:`make_monitor`), at most every ``batch_interval_s``.
        on_epoch: called after every finished epoch; the model then has that epoch's weights.
        should_stop: polled after every batch; returning ``True`` stops after the current batch.
        data: arrays from :func:`prepare_data`, to reuse them across trainings (computed if ``None``).

    Returns:
        A :class:`TrainResult`. If training ended inside an epoch (stop, NaN), the model holds the
        weights of the last finished epoch; if no epoch finished, ``test_metrics`` is empty.
        If anything raises during ``fit`` (for example Streamlit interrupting the script), the weights
        of the last finished epoch are restored before the exception propagates.
    """
    validate_config(config)
    import keras

    started = time.perf_counter()
    prepared = data if data is not None else prepare_data(dataset, config)
    keras.utils.set_random_seed(config.seed)
    compile_model(model, config)
    train_samples = len(prepared.x_train)
    steps = math.ceil(train_samples / config.batch_size)
    has_validation = len(prepared.x_val) > 0
    monitor = make_monitor(
        steps_per_epoch=steps,
        batch_size=config.batch_size,
        train_samples=train_samples,
        on_batch=on_batch,
        on_epoch=on_epoch,
        should_stop=should_stop,
        batch_interval_s=batch_interval_s,
        early_stopping_patience=config.patience if config.early_stopping else None,
        monitor="val_loss" if has_validation else "loss",
    )
    initial_weights = model.get_weights()
    finished_normally = False
    try:
        model.fit(
            prepared.x_train,
            prepared.y_train,
            batch_size=config.batch_size,
            epochs=config.epochs,
            validation_data=(prepared.x_val, prepared.y_val) if has_validation else None,
            shuffle=True,
            callbacks=[monitor],
            verbose=0,
        )
        finished_normally = True
    finally:
        # Put back weights that match the kept history: the best epoch's when early stopping restores them,
        # else the last finished epoch's (a partial epoch, or one that ended in NaN, is thrown away).
        restore_best = config.early_stopping and config.restore_best_weights and monitor.best_weights is not None
        if restore_best:
            model.set_weights(monitor.best_weights)
        elif not finished_normally or monitor.partial_epoch:
            weights = monitor.last_finished_weights
            if weights is None and monitor.nan_detected:
                weights = initial_weights
            if weights is not None:
                model.set_weights(weights)
    best_epoch = monitor.best_epoch if config.early_stopping and config.restore_best_weights else None

    test_metrics: dict[str, float] = {}
    if monitor.epochs_done > 0 and len(prepared.x_test) > 0:
        values = model.evaluate(prepared.x_test, prepared.y_test, batch_size=256, verbose=0, return_dict=True)
        test_metrics = {name: _as_float(value) for name, value in values.items() if name in ("loss", "accuracy")}
    seen = monitor.epochs_done * train_samples
    return TrainResult(
        history=monitor.history,
        epochs_done=monitor.epochs_done,
        stopped_by_user=monitor.stopped_by_user,
        nan_detected=monitor.nan_detected,
        nan_message=monitor.nan_message,
        early_stopped=monitor.early_stopped,
        best_epoch=best_epoch,
        test_metrics=test_metrics,
        duration_s=time.perf_counter() - started,
        samples_per_s=seen / monitor.train_seconds if monitor.train_seconds > 0 and seen else 0.0,
        filter_snapshots=monitor.filter_snapshots,
        train_size=train_samples,
        val_size=len(prepared.x_val),
        test_size=len(prepared.x_test),
    )


def evaluate_model(model: keras.Model, dataset: TrainingData, *, batch_size: int = 256) -> dict[str, float]:
    """Return ``{"loss", "accuracy"}`` of a model compiled by :func:`train_model` on the test split.

    Args:
        model: compiled with a loss and an ``"accuracy"`` metric.
        dataset: its ``x_test`` uint8 (N, 28, 28) and ``y_test`` int labels are used.
    """
    if len(dataset.x_test) == 0:
        return {}
    values = model.evaluate(
        to_model_batch(np.asarray(dataset.x_test)), np.asarray(dataset.y_test).astype(np.int64),
        batch_size=batch_size, verbose=0, return_dict=True,
    )
    return {name: _as_float(value) for name, value in values.items() if name in ("loss", "accuracy")}


# One training at a time per process: on 2 CPU cores parallel trainings all crawl.
_LOCK = threading.Lock()
_HOLDER_LOCK = threading.Lock()
_holder: dict[str, Any] = {}


def is_training_elsewhere() -> bool:
    """Return ``True`` while some training in this process holds the lock."""
    return _LOCK.locked()


def current_holder() -> dict[str, Any]:
    """Return a copy of what the current lock holder said about itself (``{}`` when free)."""
    with _HOLDER_LOCK:
        return dict(_holder)


@contextmanager
def training_lock(
    *,
    owner: str = "",
    on_wait: Callable[[float], None] | None = None,
    poll_s: float = 0.5,
    timeout_s: float | None = None,
) -> Iterator[bool]:
    """Hold the process-wide training lock for the ``with`` body, waiting for it if needed.

    Args:
        owner: a label for the holder (e.g. a session id), see :func:`current_holder`.
        on_wait: called every ``poll_s`` seconds with the seconds waited so far while another training
            holds the lock (the page shows "waiting for another training to finish"). It may raise to
            give up waiting (Streamlit does, when the user clicks a button).
        timeout_s: give up after this many seconds with :class:`TrainingBusyError` (``None``: wait forever).

    Yields:
        ``True`` if the caller had to wait, ``False`` if the lock was free.
    """
    waited = False
    if not _LOCK.acquire(blocking=False):
        waited = True
        start = time.monotonic()
        while True:
            elapsed = time.monotonic() - start
            if on_wait is not None:
                on_wait(elapsed)
            if timeout_s is not None and elapsed >= timeout_s:
                raise TrainingBusyError(
                    f"Another training has been running for more than {timeout_s:.0f} s; try again later."
                )
            if _LOCK.acquire(timeout=poll_s):
                break
    try:
        with _HOLDER_LOCK:
            _holder.clear()
            _holder.update(owner=owner, since=time.time())
        yield waited
    finally:
        with _HOLDER_LOCK:
            _holder.clear()
        _LOCK.release()
