"""Streamlit pieces of the Data page: the cached whole-dataset summaries."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st

from cnnviz.data.stats import class_counts, mean_images, pixel_histogram
from cnnviz.ui.datasets import get_dataset


@dataclass(frozen=True)
class DatasetStats:
    """Whole-dataset summaries for the Data page (computed once per dataset)."""

    train_counts: np.ndarray
    test_counts: np.ndarray
    histogram_counts: np.ndarray
    histogram_edges: np.ndarray
    mean_images: np.ndarray


@st.cache_resource(show_spinner="Summarising the dataset…")
def get_dataset_stats(name: str) -> DatasetStats:
    """Class counts, pixel histogram and class means of a dataset's training split, cached per name."""
    dataset = get_dataset(name)
    histogram_counts, histogram_edges = pixel_histogram(dataset.x_train)
    return DatasetStats(
        train_counts=class_counts(dataset.y_train, dataset.num_classes),
        test_counts=class_counts(dataset.y_test, dataset.num_classes),
        histogram_counts=histogram_counts,
        histogram_edges=histogram_edges,
        mean_images=mean_images(dataset.x_train, dataset.y_train, dataset.num_classes),
    )
