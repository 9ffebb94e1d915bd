"""Plain records shared between pages: a trained model and one training run.

A :class:`TrainedModel` is what the Train page produces and what the Sketch,
Kernels and Inside pages consume. It lives in the user's own session state
(see :mod:`cnnviz.ui.state`), never in a cache shared between users.

A :class:`RunRecord` is plain data (no model), kept in the session's run history
to compare runs: settings, curves, test metrics, duration and data source. The
Train page appends one per training to ``cnnviz.ui.state.get_runs()`` and updates
it after every finished epoch.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
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
        dataset: dataset name as accepted by :func:`cnnviz.core.datasets.load_dataset`.
        class_names: one display name per class index.
        spec: the model specification as a plain dict (JSON-serialisable).
        train_config: the training settings as a plain dict (``TrainConfig.to_dict()``); empty when unknown.
            With ``spec`` it is the model's design: a saved sidecar can be trained again, shared as a link or
            exported as a notebook (``python -m cnnviz train|link|notebook``).
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
    train_config: dict[str, Any] = field(default_factory=dict)
    version: str = field(default_factory=new_version)
    filter_snapshots: list[np.ndarray] = field(default_factory=list)
    created: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    name: str = "This session's model"


@dataclass
class RunRecord:
    """One training run.

    Attributes:
        run_id: 1-based number of the run in this session; ``label`` is ``"Run <id>"`` by default.
        dataset: dataset name; ``data_source`` where its images came from, in words.
        spec: the model spec as a dict (``ModelSpec.to_dict()``); ``config`` the training settings
            (``TrainConfig.to_dict()``); ``total_params`` the model's parameter count.
        history: ``{"loss": [...], "val_accuracy": [...], ...}``, one float per finished epoch.
        test_metrics: ``{"loss", "accuracy"}`` on the test split (empty until evaluated).
        status: ``"running"``, ``"finished"``, ``"early-stopped"``, ``"stopped"`` or ``"NaN"``.
        duration_s: seconds from start to the last update; ``samples_per_s`` training throughput.
        created: ISO-8601 UTC start time.
    """

    run_id: int
    dataset: str
    spec: dict[str, Any]
    config: dict[str, Any]
    data_source: str = ""
    total_params: int = 0
    history: dict[str, list[float]] = field(default_factory=dict)
    test_metrics: dict[str, float] = field(default_factory=dict)
    status: str = "running"
    duration_s: float = 0.0
    samples_per_s: float = 0.0
    created: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    label: str = ""

    def __post_init__(self) -> None:
        if not self.label:
            self.label = f"Run {self.run_id}"

    @property
    def epochs_done(self) -> int:
        """Number of finished epochs."""
        return len(self.history.get("loss", []))


def describe_spec(spec: Mapping[str, Any]) -> str:
    """Return a short architecture summary, e.g. ``"conv 32-64, dense 128, dropout 0.25"``."""
    blocks = spec.get("conv_blocks", [])
    filters = "-".join(str(block.get("filters", "?")) for block in blocks)
    dense = "-".join(str(units) for units in spec.get("dense_units", [])) or "none"
    parts = [f"conv {filters}", f"dense {dense}"]
    if spec.get("dropout"):
        parts.append(f"dropout {spec['dropout']:g}")
    if spec.get("batch_norm"):
        parts.append("batch norm")
    return ", ".join(parts)


def describe_datalab(config: Mapping[str, Any] | Any, class_names: Sequence[str] | None = None) -> str:
    """Say in a few words how a run damaged its training data on purpose (the Train page's data lab).

    Args:
        config: the training settings, a ``TrainConfig`` or its ``to_dict()`` (a run record's ``config``);
            settings it lacks (records older than the data lab) count as off.
        class_names: names to show beside the thinned-out classes' numbers (optional).

    Returns:
        ``"clean"`` when nothing was damaged, else e.g. ``"30% labels noisy; classes 3, 5 kept at 10%"``.
    """
    values = config.to_dict() if hasattr(config, "to_dict") else dict(config)
    parts = []
    noise = values.get("label_noise") or 0.0
    if noise > 0:
        parts.append(f"{noise:.0%} labels noisy")
    classes = list(values.get("imbalance_classes") or ())
    keep = values.get("imbalance_keep", 1.0)
    if classes and keep is not None and keep < 1.0:
        names = [f"{label} ({class_names[label]})" if class_names is not None and 0 <= label < len(class_names)
                 and str(class_names[label]) != str(label) else str(label) for label in classes]
        parts.append(f"class{'es' if len(classes) > 1 else ''} {', '.join(names)} kept at {keep:.0%}")
    return "; ".join(parts) or "clean"


def _best(series: Sequence[float], highest: bool) -> float | None:
    if not series:
        return None
    return max(series) if highest else min(series)


#: What the runs table shows for a number a run does not have (no validation split, no test metrics).
MISSING = "—"


def _percent(value: float | None) -> str:
    return MISSING if value is None else f"{value:.2%}"


def _number(value: float | None, digits: int = 4) -> str:
    return MISSING if value is None else f"{value:.{digits}g}"


def runs_table(runs: Sequence[RunRecord]) -> list[dict[str, Any]]:
    """Return one plain dict per run (for ``st.dataframe``), newest last.

    Columns: Run, Status, Dataset, Model, Params, Optimizer, LR, Batch, Epochs, Train images,
    Data lab (:func:`describe_datalab`), Best val acc, Test acc, Test loss, Time (s), Samples/s, Data source.
    The three result columns are text ("97.12%", or "—" when a run has no such number: a table cell reading
    "None" told learners nothing).
    """
    rows = []
    for run in runs:
        config = run.config
        rows.append(
            {
                "Run": run.label,
                "Status": run.status,
                "Dataset": run.dataset,
                "Model": describe_spec(run.spec),
                "Params": run.total_params,
                "Optimizer": config.get("optimizer", ""),
                "LR": config.get("learning_rate"),
                "Batch": config.get("batch_size"),
                "Epochs": f"{run.epochs_done}/{config.get('epochs', '?')}",
                "Train images": config.get("train_size"),
                "Data lab": describe_datalab(config),
                "Best val acc": _percent(_best(run.history.get("val_accuracy", []), highest=True)),
                "Test acc": _percent(run.test_metrics.get("accuracy")),
                "Test loss": _number(run.test_metrics.get("loss")),
                "Time (s)": round(run.duration_s, 1),
                "Samples/s": round(run.samples_per_s),
                "Data source": run.data_source,
            }
        )
    return rows

