"""Figures for the Data page."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from cnnviz.core.figures import image_grid_figure, keep_margins


def sample_grid_figure(
    montage_image: np.ndarray, class_names: Sequence[str], per_class: int, *, pad: int = 2
) -> go.Figure:
    """Show a class montage (one row of samples per class) with the class names down the side.

    Args:
        montage_image: from :func:`cnnviz.data.stats.class_montage`, pixel values 0..255 (NaN = gap).
        class_names: one name per row.
        per_class: samples per row (for the hover text).
    """
    rows = len(class_names)
    cell = (montage_image.shape[0] + pad) / rows
    fig = go.Figure(
        go.Heatmap(
            z=montage_image,
            colorscale="gray",
            zmin=0,
            zmax=255,
            showscale=False,
            hovertemplate="pixel value %{z:.0f}<extra></extra>",
        )
    )
    fig.update_yaxes(
        autorange="reversed",
        scaleanchor="x",
        tickmode="array",
        tickvals=[row * cell + (cell - pad) / 2 for row in range(rows)],
        ticktext=list(class_names),
        showgrid=False,
        zeroline=False,
        constrain="domain",
    )
    # The montage is narrower than the chart: shrink the plot area to it and keep it at the left, beside the
    # class names (left to Plotly, the names stay at the chart's edge and the images float in the middle).
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False, constrain="domain",
                     constraintoward="left")
    fig.update_layout(
        height=max(320, 64 * rows),
        margin=dict(l=10, r=10, t=10, b=10),
        plot_bgcolor="white",
    )
    return keep_margins(fig)


def class_counts_figure(train_counts: np.ndarray, test_counts: np.ndarray, class_names: Sequence[str]) -> go.Figure:
    """Grouped bars: images per class in the training and test splits."""
    fig = go.Figure(
        [
            go.Bar(name="training", x=list(class_names), y=np.asarray(train_counts).tolist(),
                   hovertemplate="%{x}: %{y:,} training images<extra></extra>"),
            go.Bar(name="test", x=list(class_names), y=np.asarray(test_counts).tolist(),
                   hovertemplate="%{x}: %{y:,} test images<extra></extra>"),
        ]
    )
    fig.update_layout(
        barmode="group",
        height=340,
        xaxis_type="category",  # Digit names "0".."9" must stay labels, not numbers.
        margin=dict(l=10, r=10, t=30, b=10),
        yaxis_title="images",
        legend=dict(orientation="h", y=1.1),
    )
    return fig


def mean_images_figure(means: np.ndarray, class_names: Sequence[str]) -> go.Figure:
    """The average image of each class, on one shared grey scale."""
    return image_grid_figure(means, titles=list(class_names), cols=min(10, len(class_names)),
                             shared_scale=True, cell_height=120)


def pixel_histogram_figure(counts: np.ndarray, edges: np.ndarray) -> go.Figure:
    """Bars of how many pixels have each intensity (log scale: most pixels are background 0)."""
    centres = (np.asarray(edges[:-1]) + np.asarray(edges[1:])) / 2
    fig = go.Figure(
        go.Bar(
            x=centres.tolist(),
            y=np.asarray(counts).tolist(),
            width=float(edges[1] - edges[0]),
            hovertemplate="intensity %{x:.0f}: %{y:,} pixels<extra></extra>",
        )
    )
    fig.update_layout(
        height=300,
        margin=dict(l=10, r=10, t=10, b=10),
        xaxis_title="pixel intensity (0 = black background, 255 = full ink)",
        yaxis_title="pixels (log scale)",
        yaxis_type="log",
    )
    return fig
