"""The training coach on the Train page: a line after every epoch, a panel with Apply buttons after a run.

The diagnoses come from :func:`cnnviz.train.coach.diagnose_training` (Streamlit-free); this module only
draws them and turns a suggestion (``{"learning_rate": 0.001}``) into the Train page's controls.

Apply works although the controls already exist: Streamlit forbids writing a widget's session-state
key after the widget was created in the same run, so the button's ``on_click`` callback writes the keys,
and callbacks run before the script reruns and re-creates the widgets with the new values.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import streamlit as st

from cnnviz.core.records import RunRecord
from cnnviz.train.coach import CoachError, Diagnosis, Probes, diagnose_training, probe_model
from cnnviz.train.session import ACTIVE_RUN_KEY, MODEL_RUN_KEY
from cnnviz.ui.state import RUNS_KEY, SESSION_MODEL_KEY

#: Badge colour and label of each kind.
KIND_BADGES = {
    "diverging": ("red", "diverging"),
    "overfitting": ("orange", "overfitting"),
    "underfitting": ("violet", "underfitting"),
    "too_slow": ("blue", "too slow"),
    "plateau": ("gray", "plateau"),
    "dead_units": ("orange", "dead units"),
    "saturated": ("orange", "saturated"),
    "healthy": ("green", "healthy"),
}

#: How each setting of a suggestion is named to the learner.
SETTING_LABELS = {
    "learning_rate": "learning rate", "epochs": "epochs", "dropout": "dropout", "optimizer": "optimizer",
    "batch_norm": "batch normalisation", "early_stopping": "early stopping", "validation_split": "validation split",
    "train_size": "training images", "batch_size": "batch size", "activation": "conv activation",
    "dense_activation": "dense activation", "label_noise": "label noise",
    "imbalance_keep": "share of rare classes kept",
}
#: Settings that are shares, said as percentages.
PERCENT_SETTINGS = ("label_noise", "imbalance_keep")
#: The most conv blocks the Train page offers (their activation keys are ``<prefix>_b<i>_activation``).
MAX_BLOCKS = 4


def _nearest(value: float, options: Sequence[float]) -> float:
    """The option nearest to ``value`` on a log scale (learning rates, batch sizes)."""
    return min(options, key=lambda option: abs(math.log(option) - math.log(value)))


def control_values(suggestion: Mapping[str, Any], *, prefix: str = "train",
                   max_train_size: int | None = None) -> dict[str, Any]:
    """Turn a suggestion into the Train page's widget keys and values those widgets accept.

    Args:
        suggestion: setting name (``TrainConfig``/``ModelSpec`` field, or ``"activation"``) -> value.
        prefix: the ``key`` given to ``spec_controls`` and ``config_controls``.
        max_train_size: the training-image slider's maximum (the dataset's size); ``None``: no cap.

    Returns:
        widget key -> value, e.g. ``{"train_lr": 0.01}``; a value is snapped to the widget's options (the
        nearest learning rate on the page's ladder) and clamped to its range. Unknown settings are left out.
    """
    from cnnviz.train.loop import OPTIMIZERS
    from cnnviz.train.spec import ACTIVATIONS
    from cnnviz.train.widgets import BATCH_SIZES, LEARNING_RATES

    values: dict[str, Any] = {}
    for name, value in suggestion.items():
        if name == "learning_rate" and value and value > 0:
            values[f"{prefix}_lr"] = _nearest(float(value), LEARNING_RATES)
        elif name == "epochs":
            values[f"{prefix}_epochs"] = int(min(max(int(value), 1), 30))
        elif name == "dropout":
            values[f"{prefix}_dropout"] = round(min(max(round(float(value) / 0.05) * 0.05, 0.0), 0.7), 2)
        elif name == "optimizer" and value in OPTIMIZERS:
            values[f"{prefix}_optimizer"] = value
        elif name == "batch_norm":
            values[f"{prefix}_bn"] = bool(value)
        elif name == "early_stopping":
            values[f"{prefix}_early"] = bool(value)
            if value and not st.session_state.get(f"{prefix}_val_split", 0.1):
                values[f"{prefix}_val_split"] = 0.1  # early stopping watches the validation loss
        elif name == "validation_split":
            values[f"{prefix}_val_split"] = round(min(max(float(value), 0.0), 0.3), 2)
        elif name == "train_size":
            size = max(100, int(round(int(value) / 100) * 100))
            values[f"{prefix}_train_size"] = min(size, max_train_size) if max_train_size else size
        elif name == "batch_size" and value and value > 0:
            values[f"{prefix}_batch"] = int(_nearest(float(value), BATCH_SIZES))
        elif name == "activation" and value in ACTIVATIONS:
            values.update({f"{prefix}_b{index}_activation": value for index in range(1, MAX_BLOCKS + 1)})
        elif name == "dense_activation" and value in ACTIVATIONS:
            values[f"{prefix}_dense_activation"] = value
        elif name in ("label_noise", "imbalance_keep"):  # the data lab's sliders (datalab_widgets)
            high = 0.9 if name == "label_noise" else 1.0
            values[f"{prefix}_{name}"] = round(min(max(round(float(value) / 0.05) * 0.05, 0.0), high), 2)
    return values


def describe_change(suggestion: Mapping[str, Any]) -> str:
    """The suggestion in words, e.g. ``"learning rate 0.01, early stopping on"``."""
    parts = []
    for name, value in suggestion.items():
        label = SETTING_LABELS.get(name, name.replace("_", " "))
        if isinstance(value, bool):
            parts.append(f"{label} {'on' if value else 'off'}")
        elif name in PERCENT_SETTINGS:
            parts.append(f"{label} {float(value):.0%}")
        elif isinstance(value, float):
            parts.append(f"{label} {value:g}")
        else:
            parts.append(f"{label} {value}")
    return ", ".join(parts)


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _apply(key: str, suggestion: Mapping[str, Any], prefix: str, max_train_size: int | None) -> None:
    """The Apply button's callback: runs before the rerun, so writing the widgets' keys is allowed."""
    was: dict[str, str] = {}
    for name, value in suggestion.items():
        for widget, new in control_values({name: value}, prefix=prefix, max_train_size=max_train_size).items():
            old = st.session_state.get(widget)
            st.session_state[widget] = new
            if old is not None and old != new:  # one "was" per setting (the activation has a key per block)
                was.setdefault(name, f"{SETTING_LABELS.get(name, name)} was {_shown(old)}")
    detail = f" ({'; '.join(was.values())})" if was else ""
    st.session_state[f"{key}_applied"] = (f"Applied the coach's suggestion: {describe_change(suggestion)}{detail}. "
                                          "Press **Train** to try it and compare the runs below.")


def coach_panel(diagnoses: Sequence[Diagnosis], key: str = "train_coach", *, prefix: str = "train",
                max_train_size: int | None = None) -> None:
    """Show each diagnosis (its kind as a coloured label, the evidence, the explanation) with an Apply button.

    Args:
        diagnoses: from :func:`cnnviz.train.coach.diagnose_training`.
        key: prefix of this panel's widget and state keys (buttons ``<key>_apply_<i>``).
        prefix: the key of the Train page's controls, whose values Apply sets (``<prefix>_lr``, ...).
        max_train_size: the training-image slider's maximum, so a suggested size fits it.
    """
    applied = st.session_state.get(f"{key}_applied")
    if not diagnoses:
        st.caption("The coach needs at least one finished epoch to read.")
    for index, diagnosis in enumerate(diagnoses):
        color, label = KIND_BADGES.get(diagnosis.kind, ("gray", diagnosis.kind))
        with st.container(border=True, key=f"{key}_item_{index}"):
            st.badge(label, color=color)  # type: ignore[arg-type]
            st.markdown(f"**{diagnosis.title}.** {diagnosis.evidence}")
            st.caption(diagnosis.explanation)
            if diagnosis.suggestion:
                st.button(
                    f"Apply: {describe_change(diagnosis.suggestion)}", key=f"{key}_apply_{index}",
                    icon=":material/tune:", on_click=_apply,
                    args=(key, dict(diagnosis.suggestion), prefix, max_train_size),
                    help="Set the training controls above to this suggestion (nothing is trained yet); then press "
                    "Train to see whether it helps.",
                )
    if applied:
        st.caption(applied)


def coach_line(history: Mapping[str, Sequence[float]]) -> None:
    """During training: one line saying what the coach sees in the finished epochs so far (nothing before one).

    Called from the live view, which is redrawn while the job runs, so the line follows every epoch. Settings are
    not known there, so the line has no Apply button; the panel after the run has.
    """
    try:
        diagnoses = diagnose_training(history)
    except CoachError:
        return
    if not diagnoses:
        return
    first = diagnoses[0]
    _, label = KIND_BADGES.get(first.kind, ("gray", first.kind))
    more = f" (and {len(diagnoses) - 1} more)" if len(diagnoses) > 1 else ""
    epochs = len(history.get("loss", []))
    st.caption(f":material/psychology: Coach after epoch {epochs}: **{label}**{more}. {first.evidence}")


def _probes(trained: Any, dataset: Any, key: str) -> Probes | None:
    """Probes of this session's model, computed once per model version and kept in the session."""
    cached = st.session_state.get(f"{key}_probes")
    if isinstance(cached, tuple) and len(cached) == 2 and cached[0] == trained.version:
        return cached[1]
    try:
        probes = probe_model(trained.model, dataset.x_test, dataset.y_test)
    except (CoachError, ValueError):
        probes = None
    st.session_state[f"{key}_probes"] = (trained.version, probes)
    return probes


def show_coach(dataset_loader: Callable[[str], Any], key: str = "train_coach") -> None:
    """After a run: the coach's reading of the latest run that ended, with Apply buttons.

    Reads the run's history, settings and status (a NaN counts as diverging), and, when this session's model is
    that run's, probes it on held-out images of its dataset (dead and saturated units, gradient norms).

    Args:
        dataset_loader: ``name -> Dataset`` (the cached loader): the run's dataset, for the probes and its size.
    """
    runs = [run for run in st.session_state.get(RUNS_KEY, []) if isinstance(run, RunRecord)]
    if not runs or ACTIVE_RUN_KEY in st.session_state:
        return  # nothing ended yet, or a run is training: the live view has the coach's line
    run = runs[-1]
    try:
        dataset = dataset_loader(run.dataset)
    except ValueError:  # the run's dataset cannot be loaded now (DatasetError): read the curves alone
        dataset = None
    trained = st.session_state.get(SESSION_MODEL_KEY)
    probes = None
    if (dataset is not None and trained is not None and st.session_state.get(MODEL_RUN_KEY) == run.run_id
            and run.epochs_done):
        probes = _probes(trained, dataset, key)
    num_classes = len(dataset.class_names) if dataset is not None else 10
    try:
        diagnoses = diagnose_training(run.history, probes=probes, config=run.config, spec=run.spec,
                                      nan_detected=run.status == "NaN", num_classes=num_classes)
    except CoachError as error:
        st.warning(f"The coach could not read {run.label}: {error}")
        return
    st.markdown(f"**Coach: what {run.label} shows**")
    units = f" and how the model's units behave on {probes.images} held-out images" if probes else ""
    st.caption(f"The coach reads the loss and accuracy curves{units}, and names the most common training problems, "
               "each with the numbers that show it and one change to try.")
    # One panel key per run: the "Applied ..." line belongs to the run it was applied from.
    size = len(dataset.x_train) if dataset is not None else None
    coach_panel(diagnoses, f"{key}_run{run.run_id}", max_train_size=size)
