"""The record of a model trained in this session, shared between pages.

A :class:`TrainedModel` is what the Train page produces and what the Sketch,
Kernels and Inside pages consume. It lives in the user's own session state
(see :mod:`cnnviz.ui.state`), never in a cache shared between users.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import numpy as np


def new_version() -> str:
    """Return a fresh, unique version string for cache keys (changes on every training)."""
    return uuid.uuid4().hex[:12]


@dataclass
class TrainedModel:
    """A trained Keras model together with everything needed to explain it.

    Attributes:
        model: the ``keras.Model`` (Functional, named layers; input (28, 28, 1) float32 in [0, 1],
            output softmax probabilities over ``len(class_names)`` classes).
        dataset: dataset name as accepted by :func:`cnnviz.data.load_dataset`.
        class_names: one display name per class index.
        spec: the model specification as a plain dict (JSON-serialisable).
        history: Keras-style history, e.g. ``{"loss": [...], "val_accuracy": [...]}``, one value per finished epoch.
        test_metrics: e.g. ``{"loss": 0.05, "accuracy": 0.98}`` on the held-out test split; empty if not evaluated.
        data_source: where the training data came from, in words (``Dataset.source``).
        version: unique per training; use it as the cache key of anything computed from this model.
        filter_snapshots: first conv layer kernels after each epoch, each ``(kh, kw, in_ch, filters)`` float32.
        created: ISO-8601 UTC timestamp.
        name: a short label for pickers ("This session's model").
    """

    model: Any
    dataset: str
    class_names: tuple[str, ...]
    spec: dict[str, Any] = field(default_factory=dict)
    history: dict[str, list[float]] = field(default_factory=dict)
    test_metrics: dict[str, float] = field(default_factory=dict)
    data_source: str = ""
    version: str = field(default_factory=new_version)
    filter_snapshots: list[np.ndarray] = field(default_factory=list)
    created: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))
    name: str = "This session's model"
