"""The kernel editor widget: a bank of up to 8 editable 3x3 or 5x5 kernels with presets.

The bank lives in one non-widget session-state entry (``st.session_state[f"{key}_bank"]``, a
:class:`cnnviz.kernels.bank.BankState`) so it survives page switches; the widgets only change it,
through the bank's own (Streamlit-free) rules. Each kernel is an ``st.data_editor`` grid of text
cells, so a learner can type "1/9" and a typo gets a clear message (row and column named) while
the last good kernel is kept.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import streamlit as st

from cnnviz.core.text import md_escape
from cnnviz.kernels.bank import CUSTOM, SIZES, BankState
from cnnviz.kernels.ops import MAX_BANK, KernelError
from cnnviz.kernels.presets import PRESETS, parse_kernel_cells

SIZE_HELP = (
    "How many pixels each kernel looks at. A 3x3 kernel sees a pixel and its 8 neighbours; a 5x5 kernel "
    "sees further but has 25 weights to learn. Small 3x3 kernels are the usual choice in CNNs."
)
COUNT_HELP = (
    "A conv layer applies several kernels (filters) to the same image, each producing its own feature map. "
    "Here you can apply up to 8 at once and compare what each one finds."
)
NORMALISE_HELP = (
    "Scale each kernel so its weights add up to 1 (blurs keep the brightness), or, when they add up to 0 "
    "as for edge and line filters, so their absolute values add up to 1. The output then stays in the "
    "input's range."
)
PRESET_HELP = (
    "Start from a well-known kernel. The four 'Line' filters are the tutorial's: 2 along a line, -1 elsewhere, "
    "so they respond strongly where the image has a line in that direction. Edit any cell afterwards."
)
GRID_HELP = (
    "The kernel's weights. Each output pixel is the sum of the input pixels under the kernel multiplied by "
    "these weights. Type numbers such as -1, 0.5 or fractions like 1/9."
)


def _state(key: str) -> BankState:
    state = st.session_state.get(f"{key}_bank")
    if not isinstance(state, BankState):
        state = BankState.tutorial()
        st.session_state[f"{key}_bank"] = state
    return state


def grid_key(key: str, index: int) -> str:
    """Return the widget key of kernel ``index``'s grid (it changes whenever the kernel is replaced)."""
    return f"{key}_grid_{index}_{_state(key).revisions[index]}"


def _preset_key(key: str, index: int) -> str:
    return f"{key}_preset_{index}"


def _change(key: str, rule: Callable[[BankState], None]) -> None:
    """Apply a bank rule, then restart the widgets of every slot whose kernel it replaced."""
    state = _state(key)
    before = list(state.revisions)
    rule(state)
    for index, old in enumerate(before):
        if state.revisions[index] != old:
            st.session_state.pop(f"{key}_grid_{index}_{old}", None)
            st.session_state.pop(f"{key}_base_{index}", None)
            st.session_state[_preset_key(key, index)] = state.presets[index]


def _on_preset(key: str, index: int) -> None:
    _change(key, lambda state: state.choose_preset(index, st.session_state[_preset_key(key, index)]))


def _on_size(key: str) -> None:
    _change(key, lambda state: state.resize(int(st.session_state[f"{key}_size"])))


def _on_count(key: str) -> None:
    _state(key).count = int(st.session_state[f"{key}_count"])


def _on_normalise(key: str) -> None:
    _state(key).normalise = bool(st.session_state[f"{key}_normalise"])


def load_kernel(key: str, index: int, kernel: np.ndarray, label: str = CUSTOM) -> None:
    """Put ``kernel`` into slot ``index`` of the editor ``key`` (for "load into editor" buttons).

    Call it from a button's ``on_click`` so the editor shows the new kernel in the same run.
    A kernel of another odd size switches the whole bank to that size (3 or 5).

    Raises:
        KernelError: for a kernel that is not 3x3 or 5x5, or an index outside the bank.
    """
    _change(key, lambda state: state.load(index, kernel, label))
    state = _state(key)
    st.session_state[f"{key}_size"] = state.size
    st.session_state[f"{key}_count"] = state.count


def show_only(key: str, kernel: np.ndarray, label: str = CUSTOM) -> None:
    """Make ``kernel`` the editor's only kernel, applied as it is (normalise off), e.g. for a link.

    Call it before the editor is drawn in a run (a widget's value can only be set before it is drawn).

    Raises:
        KernelError: for a kernel that is not 3x3 or 5x5.
    """
    load_kernel(key, 0, kernel, label=label)
    state = _state(key)
    state.count = 1
    state.normalise = False
    st.session_state[f"{key}_count"] = 1
    st.session_state[f"{key}_normalise"] = False


def _cells(kernel: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(
        [[f"{value:.6g}" for value in row] for row in kernel],
        columns=[str(col + 1) for col in range(kernel.shape[1])],
    )


def _edit_one(key: str, index: int) -> None:
    """Draw kernel ``index``'s grid and preset box; keep a good edit, explain a bad one."""
    state = _state(key)
    widget = grid_key(key, index)
    base_key = f"{key}_base_{index}"
    if widget not in st.session_state or base_key not in st.session_state:
        # A fresh grid (first view, replaced kernel, or back from another page) starts from the last good kernel.
        st.session_state[base_key] = _cells(state.kernels[index])
    edited = st.data_editor(
        st.session_state[base_key],
        key=widget,
        hide_index=True,
        num_rows="fixed",
        width="stretch",
        column_config={
            column: st.column_config.TextColumn(column, help=GRID_HELP, width="small")
            for column in st.session_state[base_key].columns
        },
    )
    try:
        # Every cell is text, so a missing value (None or pandas' NaN) can only be a cleared cell.
        cells = [[None if pd.isna(value) else value for value in row] for row in edited.to_numpy(dtype=object)]
        kernel = parse_kernel_cells(cells)
    except KernelError as error:
        # The message echoes what was typed: escaped, "**x** [y](z)" shows as typed, not as bold text and a link.
        message = f"{error} Kernel {index + 1} keeps its previous values until this is fixed."
        st.error(md_escape(message), icon=":material/warning:")
    else:
        if state.accept_edit(index, kernel):
            st.session_state[_preset_key(key, index)] = CUSTOM
    options = [*PRESETS, CUSTOM]
    if state.presets[index] not in options:
        options.append(state.presets[index])  # e.g. "Learned #3"
    if st.session_state.get(_preset_key(key, index)) not in options:
        st.session_state[_preset_key(key, index)] = state.presets[index]
    st.selectbox(
        "Preset",
        options,
        key=_preset_key(key, index),
        on_change=_on_preset,
        args=(key, index),
        help=PRESET_HELP,
    )


def kernel_editor(key: str = "kernel", *, columns: int = 4) -> np.ndarray:
    """Draw the kernel bank editor and return the kernels to apply.

    Widgets: kernel size (3x3 / 5x5), number of kernels (1-8), normalise, and for each kernel a grid of
    cells and a preset box. Bad cells (text, NaN, inf, empty) show an error naming the cell; the
    kernel keeps its last good values.

    Args:
        key: prefix of every session-state key the editor owns (use different keys for two editors).
        columns: kernels per row.

    Returns:
        (N, size, size) float64, N = the chosen number of kernels, normalised if asked.
    """
    state = _state(key)
    st.session_state.setdefault(f"{key}_size", state.size)
    st.session_state.setdefault(f"{key}_count", state.count)
    st.session_state.setdefault(f"{key}_normalise", state.normalise)
    left, middle, right = st.columns([1, 2, 1])
    with left:
        st.radio(
            "Kernel size",
            SIZES,
            key=f"{key}_size",
            format_func=lambda size: f"{size}x{size}",
            horizontal=True,
            on_change=_on_size,
            args=(key,),
            help=SIZE_HELP,
        )
    with middle:
        st.slider("Kernels in the bank", 1, MAX_BANK, key=f"{key}_count", on_change=_on_count, args=(key,),
                  help=COUNT_HELP)
    with right:
        st.checkbox("Normalise", key=f"{key}_normalise", on_change=_on_normalise, args=(key,), help=NORMALISE_HELP)
    for start in range(0, state.count, columns):
        cells = st.columns(columns)
        for offset, cell in enumerate(cells):
            index = start + offset
            if index >= state.count:
                break
            with cell:
                st.markdown(f"**Kernel {index + 1}**")
                _edit_one(key, index)
    return state.applied()


def kernel_labels(key: str = "kernel") -> list[str]:
    """Return a short label per kernel in use, e.g. "1: Sobel x (vertical edges)"."""
    return _state(key).labels()
