"""Figures for the Inside page: feature maps, filters, saliency, confusion matrix and PCA.

Every function takes arrays computed by :mod:`cnnviz.inside.activations`, :mod:`cnnviz.inside.saliency`
or :mod:`cnnviz.inside.evaluation` and returns a ``go.Figure``; nothing here runs a model.
Images are heatmaps (see :mod:`cnnviz.core.figures`) so every value shows on hover.

Class, layer and caption texts can come from a file anyone can write (a sidecar, a model file), so
each function escapes them for Plotly (:func:`cnnviz.core.text.plotly_escape`: ``<b>`` and
``<a href>`` are shown as typed). A ``title`` argument, as in :mod:`cnnviz.core.figures`, is
already escaped by the caller.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from cnnviz.core.figures import DIVERGING, GRAY, heatmap_trace, image_grid_figure, keep_margins, symmetric_range
from cnnviz.core.text import plotly_escape
from cnnviz.inside.activations import LayerActivation
from cnnviz.inside.backprop import BackpropStep, GradientBuild

#: One colour per class, colour-blind friendly enough for ten classes (Plotly's "D3").
CLASS_COLOURS = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
)  # fmt: skip
#: Colour scale for saliency maps: dark = no influence, bright yellow = most influence ("Inferno").
#: Spelled out as rgb() stops: Streamlit's chart theme replaced the named scale (and its hex
#: form) with its own pink scale in the browser, which made zero look like "some influence".
_INFERNO = (
    "rgb(0,0,4)", "rgb(27,12,65)", "rgb(74,12,107)", "rgb(120,28,109)", "rgb(165,44,96)",
    "rgb(207,68,70)", "rgb(237,105,37)", "rgb(251,155,6)", "rgb(247,209,61)", "rgb(252,255,164)",
)  # fmt: skip
SALIENCY_SCALE = [[index / (len(_INFERNO) - 1), colour] for index, colour in enumerate(_INFERNO)]
#: Colour of a dense layer's bars.
HIGHLIGHT = "#4C6EF5"


def layer_title(activation: LayerActivation) -> str:
    """Return e.g. ``"conv_1 (conv) · output 26×26×32"``: the layer name (escaped for Plotly), kind and output shape."""
    shape = "×".join(str(n) for n in activation.shape)
    return f"{plotly_escape(activation.name)} ({activation.kind}) · output {shape}"


#: Screen pixels kept between two feature maps of a mosaic, room for a map's number above it.
MOSAIC_GAP_PX = 16


def _mosaic_figure(
    maps: np.ndarray,
    *,
    label: str,
    value_name: str,
    value_format: str,
    zrange: tuple[float, float],
    diverging: bool,
    title: str,
    name: str,
    cols: int,
    cell_height: int,
) -> go.Figure:
    """Return small maps (N, H, W) as one heatmap, side by side in rows of ``cols``, each labelled above it.

    One heatmap, not one subplot per map: each subplot is a pair of axes for the browser to lay out and
    draw (the 32 filters as subplots took ~0.11 s per drawing; the Inside page's switch to its Filters view
    went from 0.21-0.37 s to 0.13-0.15 s with the mosaic; issue 11). Hovering a pixel names its map
    (``label`` and number), row, column and value (``value_name``, ``value_format``).
    """
    count, height, width = maps.shape
    cols = max(1, min(cols, count))
    rows = -(-count // cols)
    # Gaps in map pixels: wide enough on screen (a row of maps is cell_height pixels) for the map numbers.
    gap = max(1, int(np.ceil(MOSAIC_GAP_PX * height / max(cell_height - MOSAIC_GAP_PX, 1))))
    mosaic = np.full((rows * (height + gap), cols * (width + gap) - gap), np.nan, dtype=np.float32)
    # The map, row and column of every mosaic pixel, for the hover; one byte each keeps the figure small.
    small = max(count, height, width) < 256
    where = np.zeros((*mosaic.shape, 3), dtype=np.uint8 if small else np.int32)
    pixel_rows, pixel_cols = np.indices((height, width))
    annotations = []
    for index in range(count):
        row, col = divmod(index, cols)
        top, left = row * (height + gap) + gap, col * (width + gap)
        mosaic[top : top + height, left : left + width] = maps[index]
        where[top : top + height, left : left + width] = np.stack(
            [np.full((height, width), index), pixel_rows, pixel_cols], axis=-1
        )
        annotations.append(
            dict(text=f"{label} {index}", x=left + (width - 1) / 2, y=top - 0.5, xref="x", yref="y",
                 xanchor="center", yanchor="bottom", showarrow=False, font=dict(size=11))
        )  # fmt: skip
    zmin, zmax = zrange
    heatmap = dict(
        type="heatmap",
        z=mosaic,
        customdata=where,
        colorscale=DIVERGING if diverging else GRAY,
        zmin=zmin,
        zmax=zmax,
        zmid=0.0 if diverging else None,
        showscale=False,
        hoverongaps=False,
        name=name,
        hovertemplate=f"{label} %{{customdata[0]}} · row %{{customdata[1]}}, col %{{customdata[2]}}<br>"
        f"{value_name} %{{z:{value_format}}}<extra></extra>",
    )
    axis = dict(showticklabels=False, showgrid=False, zeroline=False, constrain="domain")
    # Built in one go: validated once, not once per update.
    return keep_margins(go.Figure(
        data=[heatmap],
        layout=dict(
            title=title or None,
            height=max(160, cell_height * rows + 40),
            margin=dict(l=5, r=5, t=50, b=5),
            xaxis=axis,
            yaxis=dict(axis, autorange="reversed", scaleanchor="x"),
            annotations=annotations,
            showlegend=False,
            plot_bgcolor="rgba(0,0,0,0)",
        ),
    ))


def feature_maps_figure(
    activation: LayerActivation, *, max_maps: int = 32, cols: int = 8, cell_height: int = 105
) -> go.Figure:
    """Return one layer's feature maps as a mosaic: one heatmap, the maps side by side, values on hover.

    Args:
        activation: a spatial activation, values (H, W, channels).
        max_maps: draw at most this many channels (the first ones); the title says how many.
        cols: maps per row.
        cell_height: screen pixels per row of maps.

    All maps share one colour range so a dim map really is weakly activated; a layer with negative
    values (e.g. batch normalisation) gets a diverging scale centred on 0. Each map is numbered above
    it, and hovering a pixel names its map, row, column and value.
    """
    if not activation.is_spatial:
        raise ValueError(
            f"Expected feature maps (H, W, channels) for {activation.name}, got shape {activation.shape}; "
            "draw vector layers with dense_activation_figure."
        )
    values = np.asarray(activation.values, dtype=np.float64)
    channels = values.shape[2]
    shown = min(channels, max(1, max_maps))
    shown_values = values[:, :, :shown]
    finite = shown_values[np.isfinite(shown_values)]
    diverging = bool(np.min(values) < 0)
    if diverging:
        zrange = symmetric_range(shown_values)
    else:
        zrange = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    title = layer_title(activation)
    if shown < channels:
        title += f" · first {shown} of {channels} maps"
    return _mosaic_figure(np.moveaxis(shown_values, -1, 0), label="map", value_name="value", value_format=".3g",
                          zrange=zrange, diverging=diverging, title=title, name=plotly_escape(activation.name),
                          cols=cols, cell_height=cell_height)


def dense_activation_figure(activation: LayerActivation, *, height: int = 220) -> go.Figure:
    """Return a Dense layer's unit activations (units,) as bars, one per unit."""
    values = np.asarray(activation.values, dtype=np.float64).ravel()
    fig = go.Figure(
        go.Bar(
            x=np.arange(values.size),
            y=values,
            marker_color=HIGHLIGHT,
            hovertemplate="unit %{x}<br>activation %{y:.3g}<extra></extra>",
        )
    )
    fig.update_layout(
        title=layer_title(activation),
        height=height,
        margin=dict(l=10, r=10, t=40, b=10),
        xaxis_title="unit",
        yaxis_title="activation",
        bargap=0.1,
    )
    return fig


def filter_grid_figure(
    filters: np.ndarray,
    *,
    title: str = "",
    max_filters: int = 64,
    cols: int = 8,
    value_range: tuple[float, float] | None = None,
    cell_height: int = 95,
) -> go.Figure:
    """Return conv filters (filters, kh, kw) as a mosaic of diverging heatmaps, weights on hover.

    Red is a positive weight (this pixel pushes the output up), blue a negative one,
    white zero. All filters share one colour range: ``value_range`` fixes it (e.g. across training
    epochs); by default it is symmetric around the largest absolute weight shown.
    """
    array = np.asarray(filters, dtype=np.float64)
    if array.ndim != 3:
        raise ValueError(f"Expected filters as (filters, kh, kw), got shape {array.shape}.")
    shown = min(array.shape[0], max(1, max_filters))
    if shown < array.shape[0]:
        title = f"{title} · first {shown} of {array.shape[0]} filters".lstrip(" ·")
    zrange = value_range if value_range is not None else symmetric_range(array[:shown])
    return _mosaic_figure(array[:shown], label="filter", value_name="weight", value_format=".3f", zrange=zrange,
                          diverging=True, title=title, name="filters", cols=cols, cell_height=cell_height)


def snapshot_range(snapshots: Sequence[np.ndarray]) -> tuple[float, float]:
    """Return one symmetric colour range covering every snapshot, so epochs compare fairly."""
    if not snapshots:
        return (-1.0, 1.0)
    return symmetric_range(np.concatenate([np.asarray(s, dtype=np.float64).ravel() for s in snapshots]))


#: The saliency colour bar: what the colours mean, in words.
SALIENCY_COLORBAR = dict(
    title=dict(text="influence on<br>the class score", side="right"),
    tickvals=[0.0, 0.5, 1.0],
    ticktext=["0: none", "0.5", "1: the most"],
    len=0.9,
    thickness=12,
)


def _saliency_trace(
    values: np.ndarray, *, opacity: float = 1.0, name: str = "", showscale: bool = False
) -> go.Heatmap:
    return go.Heatmap(
        z=np.asarray(values, dtype=np.float64),
        colorscale=SALIENCY_SCALE,
        zmin=0.0,
        zmax=1.0,
        opacity=opacity,
        showscale=showscale,
        colorbar=SALIENCY_COLORBAR if showscale else None,
        name=name,
        hovertemplate=f"row %{{y}}, col %{{x}}<br>influence %{{z:.2f}}<extra>{name}</extra>",
    )


def saliency_figure(
    image: np.ndarray, heatmaps: Mapping[str, np.ndarray], *, title: str = "", height: int = 300
) -> go.Figure:
    """Return the input image next to each saliency map and its overlay on the image.

    Every map is drawn on the same 0-1 scale, so one colour bar (beside the last map) says what the
    colours mean for all of them: black no influence on the class's score, bright yellow the most.

    Args:
        image: (28, 28) input, uint8 or float in [0, 1].
        heatmaps: titled (28, 28) maps in [0, 1], e.g. ``{"Gradient saliency": ..., "Grad-CAM": ...}``.
    """
    picture = np.asarray(image, dtype=np.float64)
    if picture.max() > 1.0:
        picture = picture / 255.0
    names = ["Input"]
    for name in heatmaps:
        names += [name, f"{name} over the input"]
    fig = make_subplots(rows=1, cols=len(names), subplot_titles=names, horizontal_spacing=0.02)
    fig.add_trace(heatmap_trace(picture, zmin=0.0, zmax=1.0, showscale=False, name="input"), row=1, col=1)
    column = 2
    for number, (name, heatmap) in enumerate(heatmaps.items()):
        last = number == len(heatmaps) - 1
        fig.add_trace(_saliency_trace(heatmap, name=name, showscale=last), row=1, col=column)
        fig.add_trace(heatmap_trace(picture, zmin=0.0, zmax=1.0, showscale=False, name="input"), row=1, col=column + 1)
        fig.add_trace(_saliency_trace(heatmap, opacity=0.55, name=name), row=1, col=column + 1)
        column += 2
    fig.update_yaxes(autorange="reversed", showticklabels=False)
    fig.update_xaxes(showticklabels=False)
    for index in range(len(names)):
        suffix = "" if index == 0 else str(index + 1)
        fig.layout[f"yaxis{suffix}"].scaleanchor = f"x{suffix}"
    fig.update_annotations(font_size=12)
    fig.update_layout(title=title or None, height=height, margin=dict(l=5, r=5, t=60 if title else 30, b=5))
    return keep_margins(fig)


def confusion_matrix_figure(
    confusion: np.ndarray,
    class_names: Sequence[str],
    *,
    selected: tuple[int, int] | None = None,
    height: int = 520,
) -> go.Figure:
    """Return the confusion matrix as a clickable heatmap: rows true class, columns predicted class.

    The colour is each cell's share of its row (so small classes are as visible as big
    ones) and the text is the count. An invisible marker sits on every cell so that a
    click selects it through ``st.plotly_chart(on_select="rerun")``; its ``customdata`` is
    ``[true, predicted, count]``, so ``cnnviz.core.figures.last_selected_ints(event, 2)`` reads the
    clicked cell back. ``selected`` outlines a cell.
    """
    matrix = np.asarray(confusion, dtype=np.int64)
    classes = len(class_names)
    if matrix.shape != (classes, classes):
        raise ValueError(f"Expected a ({classes}, {classes}) confusion matrix, got shape {matrix.shape}.")
    totals = matrix.sum(axis=1, keepdims=True)
    share = np.divide(matrix, totals, out=np.zeros(matrix.shape, dtype=np.float64), where=totals > 0)
    names = [plotly_escape(name) for name in class_names]  # ticks and hover render Plotly's HTML subset
    true_index, predicted_index = np.meshgrid(np.arange(classes), np.arange(classes), indexing="ij")
    fig = go.Figure(
        go.Heatmap(
            z=share,
            x=list(range(classes)),
            y=list(range(classes)),
            text=matrix,
            texttemplate="%{text}",
            colorscale="Blues",
            zmin=0.0,
            zmax=1.0,
            colorbar=dict(title="share of row", tickformat=".0%"),
            # The invisible markers below carry the hover text and the clicks.
            hoverinfo="skip",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=predicted_index.ravel(),
            y=true_index.ravel(),
            mode="markers",
            marker=dict(symbol="square", size=max(12, int(360 / max(classes, 1))), opacity=0.0, color="black"),
            customdata=np.column_stack([true_index.ravel(), predicted_index.ravel(), matrix.ravel()]),
            text=[
                f"true {names[t]}, predicted {names[p]}<br>{matrix[t, p]} images "
                f"({share[t, p]:.1%} of this true class)<br>click to see them"
                for t, p in zip(true_index.ravel(), predicted_index.ravel(), strict=True)
            ],
            hovertemplate="%{text}<extra></extra>",
            showlegend=False,
            name="cells",
        )
    )
    if selected is not None:
        true_class, predicted_class = selected
        fig.add_shape(
            type="rect",
            x0=predicted_class - 0.5,
            x1=predicted_class + 0.5,
            y0=true_class - 0.5,
            y1=true_class + 0.5,
            line=dict(color="#e8590c", width=3),
        )
    ticks = dict(tickmode="array", tickvals=list(range(classes)), ticktext=names)
    plain = dict(showgrid=False, zeroline=False, constrain="domain")
    fig.update_xaxes(title="predicted class", side="top", range=[-0.5, classes - 0.5], **ticks, **plain)
    fig.update_yaxes(
        title="true class", autorange=False, range=[classes - 0.5, -0.5], scaleanchor="x", **ticks, **plain
    )
    # Room for the class names, the axis titles and the colour bar from the start: a margin Plotly has to grow
    # costs a second drawing of the whole matrix on every cell click (see keep_margins).
    longest = max((len(name) for name in class_names), default=1)
    margin = dict(l=64 + 7 * longest, r=130, t=64, b=10)
    fig.update_layout(height=height, margin=margin, clickmode="event+select", dragmode=False)
    return fig


def pca_figure(
    points: np.ndarray,
    labels: np.ndarray,
    predictions: np.ndarray,
    class_names: Sequence[str],
    indices: np.ndarray,
    *,
    explained: Sequence[float] = (),
    height: int = 520,
) -> go.Figure:
    """Return a 2-D scatter of the penultimate layer's PCA, one colour (and legend entry) per true class.

    Args:
        points: (N, 2) coordinates; labels/predictions: (N,) ints; indices: (N,) the images'
            positions in the test split, carried as ``customdata`` ``[index, predicted name]`` so a
            selected point can be shown (``cnnviz.core.figures.last_selected_ints(event, 1)``).
        explained: the variance ratio of each axis, written on the axis titles.
    """
    coords = np.asarray(points, dtype=np.float64)
    labels = np.asarray(labels)
    predictions = np.asarray(predictions)
    fig = go.Figure()
    names = np.array([plotly_escape(name) for name in class_names], dtype=object)  # legend and hover
    for class_index, name in enumerate(names):
        colour = CLASS_COLOURS[class_index % len(CLASS_COLOURS)]
        # Correct predictions as dots, mistakes as crosses in the same colour and legend entry.
        for wrong in (False, True):
            mask = (labels == class_index) & ((predictions != class_index) == wrong)
            if not np.any(mask):
                continue
            fig.add_trace(
                go.Scattergl(
                    x=coords[mask, 0],
                    y=coords[mask, 1],
                    mode="markers",
                    name=str(name),
                    legendgroup=str(name),
                    showlegend=not wrong or not np.any((labels == class_index) & (predictions == class_index)),
                    marker=dict(size=9 if wrong else 6, color=colour, symbol="x" if wrong else "circle", opacity=0.8),
                    customdata=np.column_stack([np.asarray(indices)[mask], names[predictions[mask]]]),
                    hovertemplate=(
                        f"true {name}, predicted %{{customdata[1]}}<br>test image #%{{customdata[0]}}<extra></extra>"
                    ),
                )
            )
    ratios = list(explained) + [0.0, 0.0]
    fig.update_layout(
        height=height,
        margin=dict(l=10, r=10, t=30, b=10),
        xaxis_title=f"principal component 1 ({ratios[0]:.0%} of variance)",
        yaxis_title=f"principal component 2 ({ratios[1]:.0%} of variance)",
        legend_title="true class",
        clickmode="event+select",
        dragmode="pan",
    )
    return fig


def image_gallery_figure(
    images: np.ndarray, captions: Sequence[str], *, cols: int = 6, cell_height: int = 130, title: str = ""
) -> go.Figure:
    """Return test images (N, 28, 28) uint8 as a captioned grid on one 0-255 grey scale.

    ``captions`` are plain text (they hold class names), escaped here; a ``"\n"`` in one starts a new line.
    ``title`` is escaped by the caller.
    """
    titles = [plotly_escape(caption).replace("\n", "<br>") for caption in captions]
    fig = image_grid_figure(list(images), titles=titles, cols=cols, cell_height=cell_height, title=title)
    fig.update_traces(zmin=0, zmax=255 if np.asarray(images).dtype == np.uint8 else 1.0)
    return fig


def _channel(values: np.ndarray, channel: int) -> np.ndarray:
    """A filter-shaped array (k, k) or (k, k, C) as the (k, k) slice for ``channel``."""
    array = np.asarray(values, dtype=np.float64)
    return array if array.ndim == 2 else array[:, :, channel]


def backprop_step_figure(step: BackpropStep, *, channel: int = 0, title: str = "") -> go.Figure:
    """The filter before the step, dL/dW, the step the optimizer took and the filter after it, side by side.

    Args:
        step: a :class:`cnnviz.inside.backprop.BackpropStep`.
        channel: which input channel's (k, k) slice to draw when the filter reads several feature maps.

    Weights before and after share one blue/red scale, so a change in colour is a change in weight;
    the gradient and the step each get their own (they are much smaller numbers).
    """
    before, after = _channel(step.weights_before, channel), _channel(step.weights_after, channel)
    low, high = symmetric_range(np.concatenate([before.ravel(), after.ravel()]))
    panels = (
        ("weights W before", before, (low, high)),
        ("gradient dL/dW", _channel(step.gradient, channel), None),
        (f"step ({step.optimizer}, lr {step.learning_rate:g})", _channel(step.update, channel), None),
        ("weights after", after, (low, high)),
    )
    fig = make_subplots(rows=1, cols=4, subplot_titles=[name for name, _, _ in panels], horizontal_spacing=0.04)
    for index, (name, values, bounds) in enumerate(panels):
        zmin, zmax = bounds if bounds else symmetric_range(values)
        trace = heatmap_trace(values, diverging=True, zmin=zmin, zmax=zmax, showscale=False, name=name)
        fig.add_trace(trace, row=1, col=index + 1)
        suffix = "" if index == 0 else str(index + 1)
        fig.layout[f"yaxis{suffix}"].scaleanchor = f"x{suffix}"
    fig.update_yaxes(autorange="reversed", showticklabels=False)
    fig.update_xaxes(showticklabels=False)
    fig.update_annotations(font_size=12)
    fig.update_layout(title=title or None, height=260, margin=dict(l=5, r=5, t=60 if title else 30, b=5))
    return keep_margins(fig)


def gradient_build_figure(build: GradientBuild, *, channel: int = 0, count: int = 6, title: str = "") -> go.Figure:
    """How dL/dW is built: the gradient arriving at every output position, the strongest weighted patches, the sum.

    Args:
        build: a :class:`cnnviz.inside.backprop.GradientBuild`.
        channel: which input channel's patches to draw.
        count: how many of the positions that add most to dL/dW to show as ``g × patch``.
    """
    positions = build.strongest_positions(count)
    images = [build.output_gradient]
    titles = ["dL/dz at each output"]
    for row, col in positions:
        gradient = float(build.output_gradient[row, col])
        images.append(gradient * build.patches[row, col, :, :, channel])
        titles.append(f"({row},{col}): {gradient:.2g} × patch")
    images.append(_channel(build.weighted_sum, channel))
    titles.append(f"sum of all {build.output_gradient.size} = dL/dW")
    return image_grid_figure(images, titles=titles, cols=len(images), diverging=True, cell_height=150, title=title)


def receptive_field_figure(
    images: np.ndarray, windows: Sequence[tuple[int, int, int, int]], captions: Sequence[str], *, title: str = ""
) -> go.Figure:
    """Whole images (N, 28, 28) uint8 with a yellow frame around each one's receptive-field window.

    Args:
        windows: one ``(top, left, bottom, right)`` per image, end exclusive (may reach outside; it is clipped).
    """
    fig = image_gallery_figure(images, captions, cols=len(captions), cell_height=150, title=title)
    side = np.asarray(images).shape[1]
    for index, (top, left, bottom, right) in enumerate(windows):
        suffix = "" if index == 0 else str(index + 1)
        fig.add_shape(
            type="rect",
            xref=f"x{suffix}",
            yref=f"y{suffix}",
            x0=max(left, 0) - 0.5,
            x1=min(right, side) - 0.5,
            y0=max(top, 0) - 0.5,
            y1=min(bottom, side) - 0.5,
            line=dict(color="#FFD43B", width=2),
        )
    return fig
