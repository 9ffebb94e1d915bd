"""Cached dataset access and the dataset picker every page shares."""

from __future__ import annotations

import streamlit as st

from cnnviz.core.datasets import DATASETS, Dataset, DatasetError, load_dataset

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


def _use_digits(key: str) -> None:
    st.session_state[key] = "digits"


def show_dataset_source(dataset: Dataset) -> None:
    """Say plainly where the data came from and how it was split."""
    sizes = dataset.split_sizes()
    st.caption(
        f"**Data source:** {dataset.source} Training images: {sizes['train']:,}; test images: {sizes['test']:,}."
    )
    if dataset.note:
        st.info(dataset.note, icon="ℹ️")


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
    to fix it) is shown with a button that switches to the built-in digits.

    Args:
        key: the widget key; the choice is kept in ``st.session_state[key]``.
        label, help: the widget's label and tooltip.
        default: the dataset chosen on first view.
        show_source: show where the data came from under the picker.

    Returns:
        The loaded dataset, or ``None`` when it could not be loaded.
    """
    names = list(DATASETS)
    if st.session_state.get(key) not in names:
        st.session_state[key] = default if default in names else names[0]
    name = st.selectbox(label, names, key=key, format_func=lambda n: DATASETS[n].title, help=help)
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
                args=(key,),
                help="scikit-learn's handwritten digits ship with the studio, so they always load.",
            )
        return None
    if show_source:
        show_dataset_source(dataset)
    return dataset
