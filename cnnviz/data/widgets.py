"""Streamlit pieces of the Data page: the cached whole-dataset summaries and the page's sections."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st

from cnnviz.core.datasets import Dataset
from cnnviz.data.figures import class_counts_figure, mean_images_figure, pixel_histogram_figure, sample_grid_figure
from cnnviz.data.stats import class_counts, class_montage, intensity_summary, mean_images, pixel_histogram
from cnnviz.ui.charts import cached_figure
from cnnviz.ui.datasets import get_dataset
from cnnviz.ui.layout import explain


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


def overview_section(dataset: Dataset) -> None:
    """Where the dataset comes from, its split sizes, classes and image size."""
    st.markdown(f"**{dataset.title}.** {dataset.info.description} *{dataset.info.citation}*")
    sizes = dataset.split_sizes()
    cols = st.columns(4)
    cols[0].metric("Training images", f"{sizes['train']:,}", help="The images the network learns from.")
    cols[1].metric("Test images", f"{sizes['test']:,}",
                   help="Held back to measure how well the trained network generalises.")
    cols[2].metric("Classes", dataset.num_classes, help="How many different labels the network must tell apart.")
    cols[3].metric("Image size", "28 x 28",
                   help="Every image is 28x28 grey pixels, 0 (background) to 255 (full ink).")


def samples_section(dataset: Dataset) -> None:
    """A grid of random training images per class, with the controls that choose them."""
    st.subheader("Samples of each class")
    per_class = st.slider(
        "Samples per class", 4, 16, 8, key="data_per_class",
        help="How many random training images to show in each row.",
    )
    seed = st.number_input(
        "Random seed", 0, 10_000, 0, key="data_seed",
        help="Which random samples are shown: the same seed always draws the same images; change the number "
        "to draw others.",
    )
    montage = class_montage(dataset.x_train, dataset.y_train, dataset.num_classes, per_class, seed=int(seed))
    st.plotly_chart(cached_figure(sample_grid_figure, montage, dataset.class_names, per_class), key="data_samples")
    explain(
        "What am I looking at?",
        "Each row holds random training images of one class, labelled on the left. Hover a pixel to see its "
        "value: 0 is background, 255 is full ink. Notice how differently people write the same class; the "
        "network must learn what they have in common.",
    )


def summaries_section(dataset: Dataset) -> None:
    """Class counts, the pixel-intensity histogram and each class's mean image."""
    stats = get_dataset_stats(dataset.name)
    left, right = st.columns(2)
    with left:
        st.subheader("Images per class")
        st.plotly_chart(
            cached_figure(class_counts_figure, stats.train_counts, stats.test_counts, dataset.class_names),
            key="data_counts",
        )
        st.caption(
            "A balanced dataset has about as many images of each class. If one class were rare, a network could "
            "score well while mostly ignoring it."
        )
    with right:
        st.subheader("Pixel intensities")
        st.plotly_chart(
            cached_figure(pixel_histogram_figure, stats.histogram_counts, stats.histogram_edges), key="data_histogram"
        )
        st.caption(
            intensity_summary(stats.histogram_counts, stats.histogram_edges)
            + " Before training, pixels are divided by 255 so the network sees values between 0 and 1."
        )
    st.subheader("The average image of each class")
    st.plotly_chart(cached_figure(mean_images_figure, stats.mean_images, dataset.class_names), key="data_means")
    st.caption(
        "Each picture is the pixel-by-pixel mean of all training images of that class: the blurry 'typical' shape. "
        "Where classes' averages look alike (a 4 and a 9, a shirt and a pullover), expect the network to confuse "
        "them."
    )
