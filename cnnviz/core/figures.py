"""Building blocks shared by every chart: images as heatmaps and grids of images.

Images are shown as Plotly heatmaps rather than raster pictures so that the
value of every pixel appears on hover, which is what a learner needs to connect
a picture with the numbers behind it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

#: Grey scale for plain images (0 black, max white), as MNIST is usually drawn.
GRAY = "gray"
#: Diverging scale for values that can be negative: blue < 0 < red, white at 0.
DIVERGING = "RdBu_r"


def _as_2d(image: np.ndarray) -> np.ndarray:
    array = np.asarray(image, dtype=np.float64)
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim != 2 or array.size == 0:
        raise ValueError(f"Expected a non-empty 2-D image (H, W) or (H, W, 1), got shape {np.shape(image)}.")
    return array


def symmetric_range(values: np.ndarray) -> tuple[float, float]:
    """Return ``(-m, m)`` with ``m`` the largest absolute finite value (1.0 when all are zero)."""
    finite = np.asarray(values, dtype=np.float64)
    finite = finite[np.isfinite(finite)]
    bound = float(np.max(np.abs(finite))) if finite.size else 0.0
    bound = bound if bound > 0 else 1.0
    return -bound, bound


def heatmap_trace(
    image: np.ndarray,
    *,
    diverging: bool = False,
    zmin: float | None = None,
    zmax: float | None = None,
    showscale: bool = True,
    name: str = "",
    value_format: str = ".3g",
) -> go.Heatmap:
    """Return one heatmap trace for a 2-D image, row 0 at the top, value on hover.

    Args:
        image: (H, W) or (H, W, 1) numbers.
        diverging: centre a blue/white/red scale on zero (for values that can be negative).
        zmin, zmax: colour range; defaults to the data range (symmetric when ``diverging``).
    """
    array = _as_2d(image)
    if diverging and (zmin is None or zmax is None):
        zmin, zmax = symmetric_range(array)
    return go.Heatmap(
        z=array,
        colorscale=DIVERGING if diverging else GRAY,
        zmin=zmin,
        zmax=zmax,
        zmid=0.0 if diverging else None,
        showscale=showscale,
        name=name,
        hovertemplate=f"row %{{y}}, col %{{x}}<br>value %{{z:{value_format}}}<extra>{name}</extra>",
    )


def image_figure(
    image: np.ndarray,
    *,
    title: str = "",
    diverging: bool = False,
    zmin: float | None = None,
    zmax: float | None = None,
    height: int = 320,
    showscale: bool = True,
) -> go.Figure:
    """Return a figure showing one image as a square-pixel heatmap with values on hover."""
    fig = go.Figure(heatmap_trace(image, diverging=diverging, zmin=zmin, zmax=zmax, showscale=showscale))
    fig.update_yaxes(autorange="reversed", scaleanchor="x", constrain="domain", showticklabels=False)
    fig.update_xaxes(constrain="domain", showticklabels=False)
    fig.update_layout(title=title or None, height=height, margin=dict(l=10, r=10, t=40 if title else 10, b=10))
    return fig


def image_grid_figure(
    images: Sequence[np.ndarray] | np.ndarray,
    *,
    titles: Sequence[str] | None = None,
    cols: int = 8,
    diverging: bool = False,
    shared_scale: bool = False,
    cell_height: int = 110,
    title: str = "",
) -> go.Figure:
    """Return a grid of small heatmaps, one per image, values on hover.

    Args:
        images: a sequence of 2-D arrays, or an array (N, H, W).
        titles: one caption per image (optional).
        cols: images per row.
        diverging: centre a blue/white/red scale on zero for each image (or all, with ``shared_scale``).
        shared_scale: use one colour range for every image, so brightness compares across cells.
    """
    arrays = [_as_2d(image) for image in images]
    if not arrays:
        raise ValueError("Expected at least one image for the grid, got none.")
    cols = max(1, min(cols, len(arrays)))
    rows = math.ceil(len(arrays) / cols)
    names = list(titles) if titles is not None else [""] * len(arrays)
    fig = make_subplots(
        rows=rows,
        cols=cols,
        subplot_titles=names,
        horizontal_spacing=0.02,
        vertical_spacing=min(0.3 / rows, 0.08) if rows > 1 else 0.0,
    )
    zmin = zmax = None
    if shared_scale:
        stacked = np.concatenate([a.ravel() for a in arrays])
        if diverging:
            zmin, zmax = symmetric_range(stacked)
        else:
            finite = stacked[np.isfinite(stacked)]
            zmin, zmax = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    for index, array in enumerate(arrays):
        row, col = divmod(index, cols)
        fig.add_trace(
            heatmap_trace(array, diverging=diverging, zmin=zmin, zmax=zmax, showscale=False, name=names[index]),
            row=row + 1,
            col=col + 1,
        )
    fig.update_yaxes(autorange="reversed", showticklabels=False)
    fig.update_xaxes(showticklabels=False)
    # Square pixels: each subplot's y axis is tied to its own x axis.
    for index in range(len(arrays)):
        suffix = "" if index == 0 else str(index + 1)
        fig.layout[f"yaxis{suffix}"].scaleanchor = f"x{suffix}"
    fig.update_annotations(font_size=11)
    fig.update_layout(
        title=title or None,
        height=max(160, cell_height * rows + (40 if title else 20)),
        margin=dict(l=5, r=5, t=50 if title else 25, b=5),
        showlegend=False,
    )
    return fig
