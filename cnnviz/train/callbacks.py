"""The Keras callbacks one training uses, one job each: :func:`cnnviz.train.loop.train_model` puts them together.

* :class:`FinishedEpochs` keeps the history and the weights of *finished* epochs only (all batches ran,
  every metric finite), so that what is kept always matches a whole epoch.
* :class:`StopOnRequest` ends training after the batch in which a ``should_stop()`` poll said so.
* :class:`StopOnNaN` ends training when the loss or an epoch's metric stops being finite, and says where.
* :class:`FilterSnapshots` copies the first conv layer's kernels after each (finished) epoch.
* :class:`BatchReporter` reports progress inside an epoch (the first batch at once, then throttled) and times
  the training batches.
* :class:`EpochReporter` reports each finished epoch with its history and its filters.
* :class:`BestFinishedEpochStopping` is Keras's ``EarlyStopping`` that looks at finished epochs only.

All report through plain callables and hold no UI. This module imports Keras (and so TensorFlow) when it
is imported: import it inside the functions that train.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import keras
import numpy as np

from cnnviz.train.loop import BatchProgress, EpochProgress


def as_float(value: Any) -> float:
    """Return ``value`` (a Python, NumPy or tensor scalar) as a float; NaN if it is not a number."""
    try:
        return float(np.asarray(value))
    except (TypeError, ValueError):
        return float("nan")


def _finite_logs(logs: dict[str, Any] | None) -> tuple[dict[str, float], bool]:
    values = {name: as_float(value) for name, value in (logs or {}).items()}
    return values, all(math.isfinite(value) for value in values.values())


class FinishedEpochs(keras.callbacks.Callback):
    """Keep the history and the weights of finished epochs only.

    An epoch is finished when all ``params["steps"]`` batches ran and every metric in its logs is finite.
    Keras still calls ``on_epoch_end`` after training stops in the middle of an epoch (a stop request, a
    NaN); such an epoch is not kept and sets ``partial``.

    Attributes (reset at the start of every ``fit``):
        history: metric name -> one float per finished epoch.
        epochs_done: finished epochs; ``last_logs`` the metrics of the latest one.
        last_weights: ``model.get_weights()`` after the latest finished epoch, or ``None``.
        partial: the last epoch that ran ended unfinished.
    """

    def __init__(self) -> None:
        super().__init__()
        self.on_train_begin()

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.history: dict[str, list[float]] = {}
        self.epochs_done = 0
        self.last_logs: dict[str, float] = {}
        self.last_weights: list[np.ndarray] | None = None
        self.partial = False
        self._steps_seen = 0

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._steps_seen = 0

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self._steps_seen = batch + 1

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        values, finite = _finite_logs(logs)
        if self._steps_seen < self.params.get("steps", 0) or not finite:
            self.partial = True
            return
        for name, value in values.items():
            self.history.setdefault(name, []).append(value)
        self.epochs_done = epoch + 1
        self.last_logs = values
        self.last_weights = self.model.get_weights()

    def is_finished(self, epoch: int) -> bool:
        """Return whether 0-based ``epoch`` is the latest finished epoch (call it from ``on_epoch_end``)."""
        return self.epochs_done == epoch + 1


class StopOnRequest(keras.callbacks.Callback):
    """Poll ``should_stop()`` after every batch; ``True`` ends training after that batch and sets ``stopped``."""

    def __init__(self, should_stop: Callable[[], bool]) -> None:
        super().__init__()
        self.should_stop = should_stop
        self.stopped = False

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.stopped = False

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if self.should_stop():
            self.stopped = True
            self.model.stop_training = True


class StopOnNaN(keras.callbacks.Callback):
    """End training when a batch's loss or an epoch's metric is not finite, and remember where.

    Ours rather than ``keras.callbacks.TerminateOnNaN``: that one only looks at the batch loss (a
    validation loss can blow up alone) and prints to stdout instead of telling the learner where it
    happened, which :meth:`message` does.

    Attributes:
        detected: a non-finite value was seen; ``where`` says which, for :meth:`message`.
    """

    def __init__(self) -> None:
        super().__init__()
        self.on_train_begin()

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.detected = False
        self.where = ""
        self._cause = ""
        self._epoch = 0

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._epoch = epoch

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        loss = as_float((logs or {}).get("loss"))
        if not self.detected and not math.isfinite(loss):
            self.detected = True
            self.where = f"The training loss became {loss} at batch {batch + 1} of epoch {self._epoch + 1}"
            self._cause = "usually because the learning rate is too large for this optimizer"
            self.model.stop_training = True

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        values, finite = _finite_logs(logs)
        if not self.detected and not finite:
            self.detected = True
            self.where = f"Epoch {epoch + 1} ended with a non-finite metric ({values})"
            self._cause = "usually because the learning rate is too large"
            self.model.stop_training = True

    def message(self, epochs_kept: int) -> str:
        """The learner's explanation of the NaN, given how many finished epochs were kept ("" if none seen)."""
        if not self.detected:
            return ""
        if epochs_kept:
            kept = f"the weights of the last finished epoch ({epochs_kept}) were kept"
        else:
            kept = "no epoch had finished, so no trained weights were kept"
        return (f"{self.where}: the weights blew up, {self._cause}. Training was stopped; {kept}. "
                "Try a learning rate 10 times smaller.")


class FilterSnapshots(keras.callbacks.Callback):
    """Copy a layer's kernel after each epoch that ``keep(epoch)`` accepts (every epoch if ``keep`` is ``None``).

    Attributes:
        snapshots: float32 (kh, kw, in_channels, filters) copies, one per kept epoch.
        latest: the copy taken at the latest ``on_epoch_end``, or ``None`` (epoch not kept, no such layer).
    """

    def __init__(self, layer_name: str = "conv_1", keep: Callable[[int], bool] | None = None) -> None:
        super().__init__()
        self.layer_name = layer_name
        self.keep = keep
        self.on_train_begin()

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.snapshots: list[np.ndarray] = []
        self.latest: np.ndarray | None = None

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.latest = None
        if self.keep is not None and not self.keep(epoch):
            return
        try:
            layer = self.model.get_layer(self.layer_name)
        except ValueError:
            return
        if getattr(layer, "kernel", None) is not None:
            self.latest = np.array(layer.kernel.numpy(), dtype=np.float32)
            self.snapshots.append(self.latest)


class BatchReporter(keras.callbacks.Callback):
    """Report progress inside an epoch and time the training batches.

    Args:
        on_batch: called with a :class:`BatchProgress` after the training's first batch (so that a learner sees
            it move at once, issue 11), then at most every ``interval_s`` seconds, and after the last batch of
            each epoch; ``None`` only times.
        batch_size: images per batch; ``train_samples`` images per epoch (for images/s and time left).

    Attributes:
        train_seconds: wall time spent inside training batches in the latest ``fit``.
    """

    def __init__(self, on_batch: Callable[[BatchProgress], None] | None, *, batch_size: int, train_samples: int,
                 interval_s: float = 0.25) -> None:
        super().__init__()
        self.on_batch = on_batch
        self.batch_size = batch_size
        self.train_samples = train_samples
        self.interval_s = interval_s
        self.train_seconds = 0.0
        self._reported = False

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.train_seconds = 0.0
        self._reported = False

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._epoch = epoch
        self._epoch_seconds = 0.0
        self._last_report = time.perf_counter()

    def on_train_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self._batch_start = time.perf_counter()

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        now = time.perf_counter()
        self._epoch_seconds += now - self._batch_start
        self.train_seconds += now - self._batch_start
        steps = self.params.get("steps", 0)
        last = batch + 1 >= steps
        due = last or not self._reported or now - self._last_report >= self.interval_s
        if self.on_batch is None or not due:
            return
        self._last_report, self._reported = now, True
        logs = logs or {}
        seen = min((batch + 1) * self.batch_size, self.train_samples)
        rate = seen / self._epoch_seconds if self._epoch_seconds > 0 else 0.0
        left = (self.train_samples - seen) / rate if rate > 0 else float("nan")
        self.on_batch(
            BatchProgress(
                epoch=self._epoch, epochs=self.params.get("epochs", 0), step=batch + 1, steps=steps,
                loss=as_float(logs.get("loss")), accuracy=as_float(logs.get("accuracy")),
                samples_per_s=rate, seconds_left=max(left, 0.0),
            )
        )


class EpochReporter(keras.callbacks.Callback):
    """Call ``on_epoch`` with an :class:`EpochProgress` after every epoch ``finished`` kept (never a partial one).

    Args:
        on_epoch: the report; the model then holds that epoch's weights.
        finished: the :class:`FinishedEpochs` of the same ``fit``, listed before this callback.
        snapshots: the :class:`FilterSnapshots` of the same ``fit`` (listed before), or ``None``.
    """

    def __init__(self, on_epoch: Callable[[EpochProgress], None], finished: FinishedEpochs,
                 snapshots: FilterSnapshots | None = None) -> None:
        super().__init__()
        self.on_epoch = on_epoch
        self.finished = finished
        self.snapshots = snapshots
        self._epoch_start = time.perf_counter()

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._epoch_start = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if not self.finished.is_finished(epoch):
            return
        self.on_epoch(
            EpochProgress(
                epoch=epoch, epochs=self.params.get("epochs", 0), logs=dict(self.finished.last_logs),
                history={name: list(series) for name, series in self.finished.history.items()},
                filters=self.snapshots.latest if self.snapshots is not None else None,
                seconds=time.perf_counter() - self._epoch_start,
            )
        )


class BestFinishedEpochStopping(keras.callbacks.EarlyStopping):
    """Keras's ``EarlyStopping`` that only looks at finished epochs (``is_finished(epoch)``).

    Keras's own would take an epoch cut short by Stop or by a NaN as a candidate best epoch (Keras still
    calls ``on_epoch_end`` for it, with a validation loss of half-trained weights), and the studio promises
    that kept weights are those of a whole epoch. Everything else (patience, ``best_epoch``,
    ``best_weights``, ``stopped_epoch``, restoring the best weights when ``fit`` returns) is Keras's.
    """

    def __init__(self, is_finished: Callable[[int], bool], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.is_finished = is_finished

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self.is_finished(epoch):
            super().on_epoch_end(epoch, logs)
