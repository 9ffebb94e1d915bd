"""Building blocks shared by every chart: images as heatmaps and grids of images.

Images are shown as Plotly heatmaps rather than raster pictures so that the
value of every pixel appears on hover, which is what a learner needs to connect
a picture with the numbers behind it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from cnnviz.core.text import plotly_escape

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


def keep_margins(fig: go.Figure) -> go.Figure:
    """Stop the axes that show nothing from growing the figure's margins; return ``fig``, changed in place.

    Plotly draws a figure, then grows its margins wherever an axis asks for room (``automargin``, which the
    default template turns on for every axis) and draws the whole figure a second time. An axis without tick
    labels or a title needs no room but still asks for a few pixels, so every image heatmap was drawn twice:
    about half of the browser's work after a kernel edit or an Inside view change (issue 11). Axes that show
    labels keep asking: a label is never cut off, a margin too small only costs that second drawing.
    """

    def settle(axis: Any) -> None:
        titled = axis.title is not None and bool(axis.title.text)
        if axis.visible is False or (axis.showticklabels is False and not titled):
            axis.automargin = False

    fig.for_each_xaxis(settle)
    fig.for_each_yaxis(settle)
    return fig


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
    return keep_margins(fig)


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
    return keep_margins(fig)


# --------------------------------------------------------------------------------------------
# Clicks on figures: the one parser of ``st.plotly_chart(..., on_select=...)`` selections
# --------------------------------------------------------------------------------------------


def selection_points(selection: Any) -> list[Mapping[str, Any]]:
    """Return the selected points of a Plotly chart, last click last.

    Args:
        selection: what ``st.plotly_chart(..., on_select=...)`` returned (``{"selection": {"points": [...]}}``),
            or its ``selection`` mapping alone, or ``None``. Anything malformed gives ``[]``.
    """
    if not isinstance(selection, Mapping):
        try:  # Streamlit's event object is attribute- and key-accessible but not always a Mapping
            selection = dict(selection)  # type: ignore[call-overload]
        except (TypeError, ValueError):
            return []
    inner = selection.get("selection", selection)
    if not isinstance(inner, Mapping):
        return []
    points = inner.get("points") or []
    return [point for point in points if isinstance(point, Mapping)] if isinstance(points, (list, tuple)) else []


def point_customdata(point: Mapping[str, Any]) -> list[Any]:
    """A selected point's customdata as a list (the browser may send a list or a ``{"0": ..}`` object)."""
    data = point.get("customdata")
    if isinstance(data, Mapping):
        keys = sorted((key for key in data if str(key).isdigit()), key=lambda key: int(key))
        return [data[key] for key in keys]
    if isinstance(data, (list, tuple)):
        return list(data)
    return [] if data is None else [data]


def last_selected_ints(selection: Any, count: int, *, fields: Sequence[str] = ()) -> tuple[int, ...] | None:
    """Return the first ``count`` values of the most recent selected point as ints, or ``None``.

    The values come from the point's customdata, or, when ``fields`` is given (e.g. ``("y", "x")``),
    from those keys of the point. Points whose values are missing or not numbers are skipped.
    """
    for point in reversed(selection_points(selection)):
        values = [point.get(name) for name in fields] if fields else point_customdata(point)
        if len(values) < count:
            continue
        try:
            return tuple(int(round(float(value))) for value in values[:count])
        except (TypeError, ValueError, OverflowError):
            continue
    return None


# --------------------------------------------------------------------------------------------
# Class probabilities: the one bar chart (Sketch and Inside)
# --------------------------------------------------------------------------------------------

#: The most probable class's bar.
TOP_COLOUR = "#d62728"
#: Every other bar.
OTHER_COLOUR = "#1f77b4"


def probability_figure(
    probabilities: np.ndarray,
    class_names: Sequence[str],
    *,
    title: str = "",
    true_class: int | None = None,
    unsure_below: float | None = None,
    height: int = 300,
) -> go.Figure:
    """Return every class's probability as a bar, the most probable bar highlighted.

    Args:
        probabilities: (classes,) numbers in [0, 1].
        class_names: one display name per class, as typed (escaped here for Plotly).
        title: the chart title (none by default), already escaped by the caller if it holds user text.
        true_class: if known, that class's label gets a check mark.
        unsure_below: if given, a dashed line at this probability (below it the model counts as unsure).

    Raises:
        ValueError: not one probability per class name.
    """
    values = np.asarray(probabilities, dtype=np.float64)
    if values.ndim != 1 or values.shape[0] != len(class_names) or values.size == 0:
        raise ValueError(f"Expected one probability per class name ({len(class_names)}), got shape {values.shape}.")
    # Class names come from sidecars a user can write: escaped, '<a href=...>' is shown as typed.
    labels = [plotly_escape(name) for name in class_names]
    names = [f"{label} ✓" if index == true_class else label for index, label in enumerate(labels)]
    top = int(np.argmax(values))
    fig = go.Figure(
        go.Bar(
            x=names,
            y=values,
            marker_color=[TOP_COLOUR if index == top else OTHER_COLOUR for index in range(len(names))],
            text=[f"{value:.0%}" if value >= 0.01 else "" for value in values],
            textposition="outside",
            cliponaxis=False,
            hovertemplate="%{x}: %{y:.1%}<extra></extra>",
        )
    )
    axis_title = "probability"
    if unsure_below is not None:
        # No text on the line itself: any position would sit on some bar. The axis title says what it is.
        fig.add_hline(y=unsure_below, line_dash="dash", line_color="gray")
        axis_title = f"probability (dashed: unsure below {unsure_below:.0%})"
    fig.update_yaxes(range=[0, 1.1], tickformat=".0%", title=axis_title)
    fig.update_xaxes(type="category", title="class")
    top_margin = 40 if title else 30
    # Room for the tick labels and axis titles from the start, so Plotly need not grow the margins and draw the
    # chart twice (see keep_margins): the Sketch page redraws it after every stroke.
    margin = dict(l=90, r=10, t=top_margin, b=66)
    fig.update_layout(title=title or None, height=height, margin=margin, showlegend=False)
    return fig
