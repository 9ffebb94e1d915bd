"""Figures for the Sketch page: the preprocessing steps, the 28x28 image the model sees, and the robustness sweeps.

The class probabilities are :func:`cnnviz.core.figures.probability_figure`, the chart the Inside page uses too.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.colors
import plotly.graph_objects as go
from PIL import Image

from cnnviz.core.figures import TOP_COLOUR, image_figure, image_grid_figure, keep_margins
from cnnviz.core.text import plotly_escape
from cnnviz.sketch.preprocess import Step
from cnnviz.sketch.robustness import Sweep

#: Pictures larger than this (e.g. the 280x280 canvas) are shrunk for display, so the figure stays light.
THUMBNAIL_SIDE = 84


def thumbnail(image: np.ndarray, max_side: int = THUMBNAIL_SIDE) -> np.ndarray:
    """Shrink a 2-D picture (anti-aliased) so its longer side is at most ``max_side``; small ones are unchanged.

    Args:
        image: (H, W) float in [0, 1].

    Returns:
        (h, w) float32 with the aspect ratio kept.
    """
    array = np.asarray(image, dtype=np.float32)
    if array.ndim != 2:
        raise ValueError(f"Expected a 2-D picture (H, W), got shape {array.shape}.")
    height, width = array.shape
    if max(height, width) <= max_side:
        return array
    factor = max_side / max(height, width)
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    return np.asarray(Image.fromarray(array, mode="F").resize(size, Image.Resampling.BOX), dtype=np.float32)


def steps_figure(steps: Sequence[Step], *, cell_height: int = 170) -> go.Figure:
    """Return one row of pictures, one per preprocessing step, each with its pixel values on hover.

    Args:
        steps: the steps of :func:`cnnviz.sketch.preprocess.preprocess_steps`, in order.
    """
    if not steps:
        raise ValueError("Expected at least one preprocessing step to draw, got none.")
    return image_grid_figure(
        [thumbnail(step.image) for step in steps],
        titles=[step.title for step in steps],
        cols=len(steps),
        cell_height=cell_height,
    )


def model_input_figure(image: np.ndarray, *, height: int = 300) -> go.Figure:
    """Return the 28x28 image the model sees, values 0-1 on hover, on a fixed 0-1 grey scale."""
    array = np.asarray(image, dtype=np.float32)
    if array.shape != (28, 28):
        raise ValueError(f"Expected the (28, 28) model input, got shape {array.shape}.")
    return image_figure(array, zmin=0.0, zmax=1.0, height=height, showscale=False)


#: Colours of the other classes' lines: Plotly's D3 palette without its red, which marks the answer.
OTHER_CLASS_COLOURS = tuple(colour for colour in plotly.colors.qualitative.D3 if colour.lower() != TOP_COLOUR)


def sweep_figure(result: Sweep, class_names: Sequence[str], *, height: int = 360) -> go.Figure:
    """Return every class's probability along a sweep: one line per class, the drawing's answer in bold red.

    A dashed vertical line marks the unchanged drawing (the page's own prediction).

    Args:
        result: a :func:`cnnviz.sketch.robustness.sweep`.
        class_names: one display name per class, as typed (escaped here for Plotly).

    Raises:
        ValueError: not one class name per probability column.
    """
    probabilities = np.asarray(result.probabilities, dtype=np.float64)
    if probabilities.ndim != 2 or probabilities.shape[1] != len(class_names):
        raise ValueError(
            f"Expected one class name per probability column ({probabilities.shape[-1]}), got {len(class_names)}."
        )
    kind = result.kind
    answer = result.plain_answer
    labels = [kind.label(float(value)) for value in result.values]
    fig = go.Figure()
    others = 0
    for index, name in enumerate(class_names):
        shown = plotly_escape(name)
        is_answer = index == answer
        colour = TOP_COLOUR if is_answer else OTHER_CLASS_COLOURS[others % len(OTHER_CLASS_COLOURS)]
        others += not is_answer
        fig.add_trace(
            go.Scatter(
                x=result.values,
                y=probabilities[:, index],
                customdata=labels,
                mode="lines+markers" if is_answer else "lines",
                name=f"{shown} (your drawing's answer)" if is_answer else shown,
                line=dict(color=colour, width=4 if is_answer else 1.5),
                opacity=1.0 if is_answer else 0.75,
                hovertemplate=f"{shown}: %{{y:.1%}} at %{{customdata}}<extra></extra>",
            )
        )
    neutral = float(result.values[result.neutral_index])
    fig.add_vline(x=neutral, line_dash="dash", line_color="gray", annotation_text="your drawing",
                  annotation_position="top")
    fig.update_xaxes(title=kind.axis)
    fig.update_yaxes(range=[0, 1.05], tickformat=".0%", title="probability")
    fig.update_layout(
        height=height,
        margin=dict(l=10, r=10, t=30, b=10),
        legend=dict(title="class"),
        hovermode="x unified",
    )
    return fig


#: Blank columns between two pictures of the sweep strip.
STRIP_GAP = 2


def sweep_images_figure(result: Sweep, class_names: Sequence[str], *, count: int = 9, height: int = 190) -> go.Figure:
    """Return ``count`` of the sweep's changed drawings side by side, evenly spread, the unchanged one included.

    Each is labelled with its setting and the model's answer there ("+4 px → 5"). One heatmap strip (the
    pictures with blank columns between them) rather than a grid of subplots: a Plotly subplot grid of nine
    took ~100 ms to build, too slow for a chart that follows every stroke.
    """
    total = len(result.values)
    picks = sorted({int(round(n)) for n in np.linspace(0, total - 1, max(2, min(count, total)))})
    if result.neutral_index not in picks:
        picks[int(np.argmin([abs(p - result.neutral_index) for p in picks]))] = result.neutral_index
    kind = result.kind
    side = result.images.shape[-1]
    strip = np.full((side, len(picks) * (side + STRIP_GAP) - STRIP_GAP), np.nan)
    for slot, row in enumerate(picks):
        left = slot * (side + STRIP_GAP)
        strip[:, left : left + side] = result.images[row]
    fig = go.Figure(
        go.Heatmap(z=strip, colorscale="gray", zmin=0.0, zmax=1.0, showscale=False,
                   hovertemplate="ink %{z:.2f}<extra></extra>")
    )
    labels = [
        f"{kind.label(float(result.values[row]))} → {plotly_escape(class_names[int(result.answers[row])])}"
        for row in picks
    ]
    centres = [slot * (side + STRIP_GAP) + (side - 1) / 2 for slot in range(len(picks))]
    fig.update_xaxes(tickvals=centres, ticktext=labels, side="top", showgrid=False, zeroline=False,
                     constrain="domain")
    fig.update_yaxes(autorange="reversed", scaleanchor="x", showticklabels=False, showgrid=False, zeroline=False,
                     constrain="domain")
    fig.update_layout(height=height, margin=dict(l=5, r=5, t=30, b=5), plot_bgcolor="rgba(0,0,0,0)")
    return keep_margins(fig)
