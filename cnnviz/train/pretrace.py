"""A design compiled and traced before anyone clicks Train, so that the first batch of a training needs no tracing.

The first ``fit`` of a new model spends most of its start in TensorFlow: tracing the training step into a graph,
optimising it and creating its kernels. Measured for the Train page's default design on this 2-core machine: the
first batch took 3.2 CPU-seconds (the rest of the 7,200-image epoch 3.7), against 0.15 for ``model_from_json`` and
0.03 for receiving the data (issue 11, item 1). The warm worker's ready child (:mod:`cnnviz.train.worker`) therefore
builds the design most trainings use, compiles it the way :func:`cnnviz.train.loop.compile_model` does and traces its
training and test steps on a few blank images, before any job arrives: :meth:`TracedModel.prepare`.

When a job's architecture is that design, :meth:`TracedModel.adopt` takes the job's freshly built model (built from
its JSON and seeded exactly as in any child) and copies *all* of its state into the traced model: weights and the
random generators' states (dropout masks), so every random draw is the fresh model's. The optimizer's variables go
back to the values they had before the tracing fit (step 0, zero moments). The traced model then answers
:func:`~cnnviz.train.loop.compile_model`'s ``compile`` call by resetting that optimizer instead of replacing it,
when the optimizer, loss and metrics asked for are the ones traced (Keras's ``compile`` would drop the traced
functions); any other ``compile`` is Keras's own. The history is then the one a fresh child gives (tested in
``tests/unit/train/test_worker.py``).

Ours rather than a library's: Keras and TensorFlow keep traced functions per model object and have no way to carry
them to another model with the same architecture.

This module imports Keras (and so TensorFlow) when it is imported: import it inside the training child.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import keras
import numpy as np

from cnnviz.train.loop import TrainConfig, compile_model


class TracedModel:
    """A compiled model whose training and test steps are traced, waiting for a job of the same architecture.

    Use :meth:`prepare` to make one; :meth:`matches` says whether a job's architecture is the traced one, and
    :meth:`adopt` hands the traced model over to that job (once).
    """

    def __init__(self, model: keras.Model, model_json: str, optimizer_state: list[np.ndarray],
                 optimizer_key: tuple[str, str]) -> None:
        self.model = model
        self.model_json = model_json
        self._architecture = _architecture(model_json)
        self._optimizer_state = optimizer_state
        self._optimizer_key = optimizer_key
        self._loss, self._metrics = model.loss, _metric_names(model)
        self._adopted = False

    @classmethod
    def prepare(cls, model_json: str, config: TrainConfig) -> TracedModel:
        """Build the model of ``model_json``, compile it as a training with ``config`` would and trace it.

        The tracing fit runs on ``2 * batch_size + 1`` blank images with ``batch_size + 1`` validation images and
        an evaluation, so that a full and a smaller last batch are traced: TensorFlow's ``reduce_retracing`` then
        keeps one graph for every batch size, and a job with another batch size traces nothing either.
        """
        model = keras.models.model_from_json(model_json)
        compile_model(model, config)
        model.optimizer.build(model.trainable_variables)
        optimizer_state = [np.array(variable.numpy()) for variable in model.optimizer.variables]
        optimizer_key = _optimizer_key(model.optimizer)
        batch = config.batch_size
        shape = model.input_shape[1:]
        images = np.zeros((2 * batch + 1, *shape), np.float32)
        labels = np.zeros(len(images), np.int64)
        model.fit(images, labels, batch_size=batch, epochs=1, validation_data=(images[: batch + 1],
                  labels[: batch + 1]), shuffle=True, verbose=0)
        model.evaluate(images, labels, batch_size=batch, verbose=0)
        return cls(model, model_json, optimizer_state, optimizer_key)

    def matches(self, model_json: str) -> bool:
        """Whether a job's architecture (``keras.Model.to_json()``) is the traced one, and it is still free.

        How the job's model was compiled in the server (the JSON of a compiled model says) does not matter: the
        training compiles it again.
        """
        return not self._adopted and _architecture(model_json) == self._architecture

    def adopt(self, fresh: keras.Model) -> keras.Model:
        """Return the traced model holding ``fresh``'s whole state, for the job ``fresh`` was built for.

        Args:
            fresh: the job's model, built from the same JSON as the traced one (:meth:`matches`), seeded and given
                its initial weights. Its weights and random-generator states are copied, so the traced model
                trains exactly as ``fresh`` would.

        Raises:
            ValueError: the traced model was already adopted, or ``fresh`` has another architecture.
        """
        if self._adopted:
            raise ValueError("A traced model trains one job; this one was already adopted.")
        targets, sources = self.model.variables, fresh.variables
        if len(targets) != len(sources) or any(t.shape != s.shape for t, s in zip(targets, sources, strict=True)):
            raise ValueError(f"Expected a model of the traced architecture ({len(targets)} variables), got one with "
                             f"{len(sources)}: check matches() first.")
        for target, source in zip(targets, sources, strict=True):
            target.assign(source.value)
        self._reset_optimizer()
        self._adopted = True
        # An instance attribute over Keras's method: train_model compiles every model it trains, and Keras's
        # compile would throw the traced functions away (see _compile).
        self.model.compile = self._compile
        return self.model

    def _reset_optimizer(self) -> None:
        for variable, value in zip(self.model.optimizer.variables, self._optimizer_state, strict=True):
            variable.assign(value)

    def _compile(self, optimizer: Any = "rmsprop", loss: Any = None, metrics: Any = None, **options: Any) -> None:
        """Keras's ``compile``, except that the traced setup (the same optimizer with the same settings, any
        constant learning rate, the same loss and metrics) only resets the optimizer: a fresh optimizer would start
        from exactly those values, and the traced steps stay. A constant learning rate is a variable the traced
        step reads, so it is simply set."""
        optimizer_object = keras.optimizers.get(optimizer)
        if (not options and loss == self._loss and _names(metrics) == self._metrics
                and _optimizer_key(optimizer_object) == self._optimizer_key):
            self._reset_optimizer()
            if not isinstance(optimizer_object.learning_rate, keras.optimizers.schedules.LearningRateSchedule):
                self.model.optimizer.learning_rate = float(np.asarray(optimizer_object.learning_rate))
            self.model.stop_training = False
            return
        keras_compile: Callable[..., None] = type(self.model).compile
        keras_compile(self.model, optimizer=optimizer_object, loss=loss, metrics=metrics, **options)


def _architecture(model_json: str) -> dict[str, Any]:
    """A model's JSON without its compile settings: the layers, their settings and the built input shape."""
    data = json.loads(model_json)
    data.pop("compile_config", None)
    return data


def _optimizer_key(optimizer: keras.optimizers.Optimizer) -> tuple[str, str]:
    """The optimizer's class and settings, comparable between instances: its learning-rate schedule counts, a
    constant learning rate does not (the traced step reads it from a variable)."""
    config = dict(optimizer.get_config())
    config.pop("name", None)  # "adam", "adam_1", ...: a new instance's name, not a setting
    if not isinstance(config.get("learning_rate"), dict):  # a serialised schedule is a dict, a constant a number
        config.pop("learning_rate", None)
    return type(optimizer).__qualname__, repr(sorted(config.items()))


def _names(metrics: Any) -> tuple[str, ...] | None:
    if metrics is None:
        return None
    return tuple(str(metric) for metric in metrics)


def _metric_names(model: keras.Model) -> tuple[str, ...] | None:
    config = getattr(model, "_compile_config", None)
    metrics = config.config.get("metrics") if config is not None else None
    return _names(metrics)
