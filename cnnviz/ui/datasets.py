"""Cached dataset access and the dataset picker every page shares."""

from __future__ import annotations

import streamlit as st

from cnnviz.core.datasets import DATASETS, Dataset, DatasetError, load_dataset
from cnnviz.core.text import md_escape
from cnnviz.ui.state import remember

DATASET_HELP = (
    "The images the network learns from. MNIST holds handwritten digits, Fashion-MNIST small photos "
    "of clothes, Kuzushiji-MNIST cursive Japanese characters; all are 28x28 grey images in 10 classes. "
    "'digits' is a small built-in set that works without any download."
)


@st.cache_resource(show_spinner="Loading the dataset…")
def get_dataset(name: str) -> Dataset:
    """Load ``name`` once per server process and share it read-only between all users.

    Raises:
        cnnviz.core.datasets.DatasetError: when it cannot be loaded (not cached, so a later call retries).
    """
    return load_dataset(name)


#: Datasets the learner replaced by the built-in digits after they failed to load: a list of names, for the session.
DIGITS_INSTEAD_KEY = "cnnviz_digits_instead"


def _use_digits(key: str, name: str) -> None:
    st.session_state[key] = "digits"
    replaced = st.session_state.setdefault(DIGITS_INSTEAD_KEY, [])
    if name not in replaced:
        replaced.append(name)


def _picked(key: str) -> None:
    """A dataset picked by hand is tried again, here and on every other page (it may load now)."""
    replaced = st.session_state.get(DIGITS_INSTEAD_KEY)
    if replaced and st.session_state.get(key) in replaced:
        replaced.remove(st.session_state[key])


def show_dataset_source(dataset: Dataset) -> None:
    """Say plainly where the data came from and how it was split."""
    sizes = dataset.split_sizes()
    st.caption(
        # The source names this machine's data folder, which anyone who sets CNNVIZ_DATA_DIR may name.
        f"**Data source:** {md_escape(dataset.source)} Training images: {sizes['train']:,}; "
        f"test images: {sizes['test']:,}."
    )
    if dataset.note:
        st.info(dataset.note, icon=":material/info:")


def dataset_picker(
    key: str = "dataset",
    *,
    label: str = "Dataset",
    default: str = "mnist",
    show_source: bool = True,
    help: str = DATASET_HELP,
) -> Dataset | None:
    """A selectbox of datasets that loads the choice and explains failures.

    When the chosen dataset cannot be loaded, the error (every place tried and how
    to fix it) is shown with a button that switches to the built-in digits. That choice
    holds for the session: every picker that would show the failed dataset (on this or
    another page, whatever its default or remembered value) shows the digits instead,
    until the learner picks that dataset again by hand, which retries it everywhere.
    The choice survives page switches (:func:`cnnviz.ui.state.remember`).

    Args:
        key: the widget key; the choice is kept in ``st.session_state[key]``.
        label, help: the widget's label and tooltip.
        default: the dataset chosen on first view.
        show_source: show where the data came from under the picker.

    Returns:
        The loaded dataset, or ``None`` when it could not be loaded.
    """
    names = list(DATASETS)
    start = default if default in names else names[0]
    remember(key, start, valid=names)
    if st.session_state[key] not in names:
        st.session_state[key] = start
    if st.session_state[key] in st.session_state.get(DIGITS_INSTEAD_KEY, ()):
        # The learner already chose the digits over this dataset (it could not be loaded): keep that choice.
        st.session_state[key] = "digits"
    name = st.selectbox(
        label, names, key=key, format_func=lambda n: DATASETS[n].title, help=help, on_change=_picked, args=(key,)
    )
    try:
        dataset = get_dataset(name)
    except DatasetError as error:
        st.error(f"**{DATASETS[name].title} could not be loaded.**")
        st.code(str(error), language=None, wrap_lines=True)
        if name != "digits":
            st.button(
                "Use the built-in digits instead",
                key=f"{key}_use_digits",
                on_click=_use_digits,
                args=(key, name),
                help="scikit-learn's handwritten digits ship with the studio, so they always load.",
            )
        return None
    if show_source:
        show_dataset_source(dataset)
    return dataset
