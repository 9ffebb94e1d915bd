"""Compare two runs of a session (issue 13 item 5): their settings side by side and one line on what changed.

:func:`settings_rows` lines up every setting of two :class:`cnnviz.core.records.RunRecord` s (the dataset,
the design of their ``spec`` and the training settings of their ``config``, the data lab's included: any
setting the records carry is compared, with a readable name where one is known) and marks those that differ.
:func:`reading` says in one sentence what changed and what it did, e.g.
``"dropout 0.3 -> 0.5: validation accuracy +0.4 points, train-validation gap -1.2 points."``; when a run was
repeated with several seeds (:mod:`cnnviz.train.repeats`), the sentence says whether the difference is larger
than that spread or may be luck.

:func:`pair_figure` overlays the two runs' curves in two colours that are easy to tell apart.

Pure Python and Plotly; no Streamlit, no TensorFlow.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import plotly.graph_objects as go

from cnnviz.core.records import RunRecord
from cnnviz.train.figures import TRAIN_COLOR, VALIDATION_COLOR, runs_overlay_figure
from cnnviz.train.loop import TrainConfig
from cnnviz.train.repeats import Spread, spread
from cnnviz.train.spec import ModelSpec

#: Readable names of the design's settings (a conv block's settings are prefixed "block <n>").
SPEC_LABELS: dict[str, str] = {
    "batch_norm": "batch norm", "dropout": "dropout", "dense_units": "dense units",
    "dense_activation": "dense activation",
}
BLOCK_LABELS: dict[str, str] = {
    "filters": "filters", "kernel_size": "kernel size", "stride": "stride", "padding": "padding",
    "activation": "activation", "pooling": "pooling", "pool_size": "pool size",
}
#: Readable names of the training settings, the data lab's included.
CONFIG_LABELS: dict[str, str] = {
    "optimizer": "optimizer", "learning_rate": "learning rate", "lr_schedule": "learning-rate schedule",
    "batch_size": "batch size", "epochs": "epochs",
    "train_size": "training images", "validation_split": "validation split", "early_stopping": "early stopping",
    "patience": "patience", "restore_best_weights": "restore best weights", "seed": "seed",
    "label_noise": "label noise", "imbalance_classes": "thinned-out classes",
    "imbalance_keep": "share kept of thinned-out classes",
}
#: Differences named in the reading before it says "and N more".
NAMED_CHANGES = 3
MISSING = "—"


@dataclass(frozen=True)
class SettingRow:
    """One setting of two runs: its readable name and each run's value as text."""

    setting: str
    first: str
    second: str

    @property
    def differs(self) -> bool:
        """Whether the two runs have different values."""
        return self.first != self.second


def _text(value: Any) -> str:
    """A setting's value as a learner reads it: on/off, 0.001, "128, 64", "none"."""
    if value is None:
        return MISSING
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(_text(item) for item in value) or "none"
    return str(value)


def _normalised(data: Mapping[str, Any], kind: type[ModelSpec] | type[TrainConfig]) -> dict[str, Any]:
    """``data`` with the defaults of the settings it lacks (an older run, before a setting existed, used them)."""
    try:
        return {**kind.from_dict(dict(data)).to_dict(), **data}
    except (TypeError, ValueError, AttributeError):
        return dict(data)


def _label(key: str, labels: Mapping[str, str]) -> str:
    return labels.get(key, key.replace("_", " "))


def settings_rows(first: RunRecord, second: RunRecord, *, changes_first: bool = False) -> list[SettingRow]:
    """Every setting of two runs, in the Train page's order: dataset, design (block by block), training.

    ``changes_first``: the settings that differ come first (still in that order), then the shared ones.

    A setting only one run has (a fourth conv block, a setting added to the studio later) shows "—" for the
    other run; a training or design setting a run's record lacks takes its default, which that run used.
    """
    rows = [SettingRow("dataset", _text(first.dataset), _text(second.dataset))]
    specs = [_normalised(run.spec, ModelSpec) for run in (first, second)]
    blocks = [list(spec.get("conv_blocks") or []) for spec in specs]
    rows.append(SettingRow("conv blocks", str(len(blocks[0])), str(len(blocks[1]))))
    for index in range(max(len(blocks[0]), len(blocks[1]))):
        pair = [found[index] if index < len(found) and isinstance(found[index], Mapping) else {} for found in blocks]
        keys = list(dict.fromkeys([*BLOCK_LABELS, *pair[0], *pair[1]]))
        rows += [SettingRow(f"block {index + 1} {_label(key, BLOCK_LABELS)}", _text(pair[0].get(key)),
                            _text(pair[1].get(key))) for key in keys if key in pair[0] or key in pair[1]]
    for (first_data, second_data), labels in (
        (specs, SPEC_LABELS),
        ([_normalised(run.config, TrainConfig) for run in (first, second)], CONFIG_LABELS),
    ):
        keys = [key for key in dict.fromkeys([*labels, *first_data, *second_data]) if key != "conv_blocks"]
        rows += [SettingRow(_label(key, labels), _text(first_data.get(key)), _text(second_data.get(key)))
                 for key in keys if key in first_data or key in second_data]
    if changes_first:
        rows = [row for row in rows if row.differs] + [row for row in rows if not row.differs]
    return rows


def pair_figure(first: RunRecord, second: RunRecord, metric: str) -> go.Figure:
    """Both runs' ``metric`` curves on one chart: the first run solid in blue, the second dashed in orange."""
    fig = runs_overlay_figure([first, second], metric, height=320)
    styles = {first.label: (TRAIN_COLOR, "solid"), second.label: (VALIDATION_COLOR, "dash")}
    for trace in fig.data:
        color, dash = styles.get(trace.name, (None, None))
        if color is not None:
            trace.update(line={"color": color, "dash": dash}, marker={"color": color})
    return fig


def _last(run: RunRecord, metric: str) -> float | None:
    values = run.history.get(metric) or []
    return float(values[-1]) if values else None


def repeat_spread(run: RunRecord, groups: Sequence[Sequence[RunRecord]], metric: str = "val_accuracy") -> Spread | None:
    """The spread of ``metric``'s last value over the repeat group ``run`` belongs to, or ``None`` if it has none.

    Args:
        groups: the session's repeats of one design with several seeds
            (:meth:`cnnviz.train.session.TrainSession.repeat_groups`).
    """
    for group in groups:
        if any(member.run_id == run.run_id for member in group):
            summary = spread([value for member in group if (value := _last(member, metric)) is not None])
            return summary if summary is not None and summary.count >= 2 else None
    return None


def _points(delta: float) -> str:
    return f"{delta * 100:+.1f} points"


def describe_changes(rows: Sequence[SettingRow]) -> str:
    """``"dropout 0.3 -> 0.5, learning rate 0.001 -> 0.01 and 2 more settings"``, or ``"the same settings"``."""
    changed = [row for row in rows if row.differs]
    if not changed:
        return "the same settings"
    named = [f"{row.setting} {row.first} -> {row.second}" for row in changed[:NAMED_CHANGES]]
    more = len(changed) - len(named)
    if more:
        return ", ".join(named) + f" and {more} more setting{'s' if more != 1 else ''}"
    return ", ".join(named[:-1]) + (" and " if len(named) > 1 else "") + named[-1]


def reading(first: RunRecord, second: RunRecord, *, groups: Sequence[Sequence[RunRecord]] = ()) -> str:
    """One sentence: what changed from ``first`` to ``second`` and how their results moved (second minus first).

    The results are the last epoch's validation accuracy and its train-validation gap (training accuracy minus
    validation accuracy: how much more the network gets right on the images it learns from), and the test
    accuracy when both runs were measured; without validation, the training accuracy. When either run was
    repeated with several seeds (``groups``), the change in validation accuracy is set against the larger
    standard deviation of those repeats: a smaller difference may be luck.

    Example: ``"dropout 0.3 -> 0.5: validation accuracy +0.4 points, train-validation gap -1.2 points."``
    """
    changes = describe_changes(settings_rows(first, second))
    if not first.epochs_done or not second.epochs_done:
        empty = first if not first.epochs_done else second
        return f"{changes[0].upper()}{changes[1:]}; {empty.label} finished no epoch, so there is nothing to compare."
    parts = []
    validation = [_last(run, "val_accuracy") for run in (first, second)]
    training = [_last(run, "accuracy") for run in (first, second)]
    noise: Spread | None = None
    if None not in validation:
        delta = validation[1] - validation[0]  # type: ignore[operator]
        parts.append(f"validation accuracy {_points(delta)}")
        if None not in training:
            gaps = [train - val for train, val in zip(training, validation, strict=True)]  # type: ignore[operator]
            parts.append(f"train-validation gap {_points(gaps[1] - gaps[0])}")
        spreads = [found for run in (first, second) if (found := repeat_spread(run, groups)) is not None]
        noise = max(spreads, key=lambda found: found.std, default=None)
    elif None not in training:
        delta = training[1] - training[0]  # type: ignore[operator]
        parts.append(f"training accuracy {_points(delta)} (no validation split to compare)")
    tests = [run.test_metrics.get("accuracy") for run in (first, second)]
    if None not in tests:
        parts.append(f"test accuracy {_points(float(tests[1]) - float(tests[0]))}")  # type: ignore[arg-type]
    sentence = f"{changes}: {', '.join(parts) if parts else 'no accuracy to compare'}"
    if noise is not None and None not in validation:
        size = f"±{noise.std * 100:.1f}-point spread between repeated seeds"
        change = abs(validation[1] - validation[0]) * 100  # type: ignore[operator]
        sentence += (f"; the {change:.1f}-point change in validation accuracy is within the {size}, so it may be luck"
                     if change <= noise.std * 100 else f"; larger than the {size}")
    return sentence + "."
