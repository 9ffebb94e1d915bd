"""Compare two runs of this session on the Train page (issue 13 item 5): settings, curves, one line of reading.

:func:`compare_two_runs` lets the learner pick two runs, says in one sentence what changed and what it did
(:func:`cnnviz.train.compare.reading`), shows every setting side by side with the differences highlighted
(:func:`cnnviz.train.compare.settings_rows`, the changed ones first) and overlays both runs' curves
(:func:`cnnviz.train.compare.pair_figure`).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from cnnviz.core.records import RunRecord
from cnnviz.core.text import md_escape
from cnnviz.train.compare import pair_figure, reading, settings_rows
from cnnviz.train.session import TrainSession
from cnnviz.ui.state import RUNS_KEY, SESSION_MODEL_KEY

#: Background of a setting that differs between the two runs (a light amber, readable in both themes' text).
CHANGED_BACKGROUND = "background-color: rgba(255, 193, 7, 0.30)"


def _metric(runs: list[RunRecord], name: str) -> str:
    """``val_<name>`` when both runs have validation curves, else the training curve ``name``."""
    return f"val_{name}" if all(run.history.get(f"val_{name}") for run in runs) else name


def settings_frame(first: RunRecord, second: RunRecord, *, only_changes: bool = False) -> pd.DataFrame:
    """The settings of two runs as a table: setting, each run's value, and whether it changed (changes first)."""
    rows = [row for row in settings_rows(first, second, changes_first=True) if row.differs or not only_changes]
    second_label = second.label if second.label != first.label else f"{second.label} (second)"
    return pd.DataFrame({
        "Setting": [row.setting[:1].upper() + row.setting[1:] for row in rows],
        first.label: [row.first for row in rows],
        second_label: [row.second for row in rows],
        "Changed": [row.differs for row in rows],
    })


def compare_two_runs(key: str = "train_compare_two") -> None:
    """Pick two of this session's runs and compare them: what changed, every setting side by side, both curves."""
    session = TrainSession(st.session_state, model_key=SESSION_MODEL_KEY, runs_key=RUNS_KEY)
    runs = session.runs
    st.markdown("**Compare two runs**")
    if len(runs) < 2:
        st.caption("Train a second run, changing one setting, to compare two runs here side by side.")
        return
    by_id = {run.run_id: run for run in runs}
    ids = list(by_id)
    left, right = st.columns(2)
    first_id = left.selectbox("First run", ids, index=len(ids) - 2, key=f"{key}_first",
                              format_func=lambda run_id: by_id[run_id].label,
                              help="The run to start from, usually the earlier one.")
    second_id = right.selectbox("Second run", ids, index=len(ids) - 1, key=f"{key}_second",
                                format_func=lambda run_id: by_id[run_id].label,
                                help="The run with the change; the reading says how it differs from the first.")
    if first_id == second_id:
        st.info("Pick two different runs to compare.")
        return
    first, second = by_id[first_id], by_id[second_id]
    st.markdown(f"**What changed:** {md_escape(reading(first, second, groups=session.repeat_groups()))}")
    st.caption("Points are percentage points of accuracy, second run minus first, at each run's last epoch. The "
               "train-validation gap is training accuracy minus validation accuracy: when it grows, the network "
               "memorises its training images more (overfitting). Change one setting at a time, and repeat with "
               "several seeds to see how much of a difference luck alone makes.")
    only_changes = st.toggle("Only the settings that differ", key=f"{key}_only_changes",
                             help="Hide the settings both runs share.")
    frame = settings_frame(first, second, only_changes=only_changes)
    styled = frame.style.apply(lambda row: [CHANGED_BACKGROUND if row["Changed"] else ""] * len(row), axis=1)
    st.dataframe(styled, hide_index=True, key=f"{key}_settings",
                 column_config={"Changed": st.column_config.CheckboxColumn(
                     "Changed", help="Highlighted: this setting differs between the two runs.")})
    chosen = [first, second]
    columns = st.columns(2)
    for column, name in zip(columns, ("accuracy", "loss"), strict=True):
        column.plotly_chart(pair_figure(first, second, _metric(chosen, name)), key=f"{key}_{name}_chart")
    st.caption(f"Both runs' curves on one chart, one point per finished epoch ({first.label} solid, {second.label} "
               "dashed): validation curves when both runs held images out for validation, else training curves.")
