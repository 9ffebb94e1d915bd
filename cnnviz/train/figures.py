"""Figures for the Train page: live training curves, an overlay of runs, and the layer-stack diagram."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import plotly.graph_objects as go

from cnnviz.core.records import RunRecord
from cnnviz.train.repeats import Band, curve_band
from cnnviz.train.spec import LayerRow

#: Colours: training solid blue, validation orange (Plotly's first two defaults, colour-blind friendly pair).
TRAIN_COLOR = "#1f77b4"
VALIDATION_COLOR = "#ff7f0e"

METRIC_LABELS: dict[str, str] = {
    "loss": "Loss (cross-entropy)",
    "accuracy": "Accuracy",
    "val_loss": "Validation loss",
    "val_accuracy": "Validation accuracy",
}


#: A training loss above this (cross-entropy; guessing among 10 classes gives 2.3) means training exploded.
EXPLODED_LOSS = 100.0


def loss_exploded(values: Sequence[float]) -> bool:
    """Whether a loss curve exploded: a finite value above :data:`EXPLODED_LOSS` (NaN is reported apart)."""
    return any(math.isfinite(value) and value > EXPLODED_LOSS for value in values)


def percent_axis(values: Sequence[float]) -> dict[str, object]:
    """Y-axis settings for accuracies so that no two tick labels read the same.

    ``.0%`` ticks on a span of a few percent read "10%, 10%, 9%, 9%": the decimals follow the span (0 for 5%
    or more, 1 from 0.5%, else 2), and a flat curve (one value, or all equal) gets a range of +-5% around it.
    """
    finite = [value for value in values if math.isfinite(value)]
    if not finite:
        return {"tickformat": ".0%", "range": [0.0, 1.0]}
    low, high = min(finite), max(finite)
    span = high - low
    if span < 1e-3:
        return {"tickformat": ".0%", "range": [low - 0.05, high + 0.05], "dtick": 0.02}
    decimals = 0 if span >= 0.05 else 1 if span >= 0.005 else 2
    return {"tickformat": f".{decimals}%"}


def history_figure(
    history: Mapping[str, Sequence[float]],
    metric: str = "loss",
    *,
    epochs: int | None = None,
    height: int = 300,
    batches: Sequence[tuple[float, float]] = (),
) -> go.Figure:
    """Return the curve of ``metric`` (training) and ``val_<metric>`` (validation) per finished epoch.

    Args:
        history: ``{"loss": [...], "val_loss": [...], ...}``, one float per finished epoch.
        metric: ``"loss"`` or ``"accuracy"``.
        epochs: planned number of epochs; fixes the x axis so it does not jump while training.
        batches: while training, ``(x, value)`` of the running training ``metric`` within each epoch, ``x`` in
            epochs (epoch ``e``'s batch ``s`` of ``n``, 0-based ``e``: ``e + s / n``; its end meets epoch point
            ``e + 1``). Drawn as a thin line (trace "running, batch by batch") under the epoch points, so the
            curve moves from the first batches on (issue 11); the x axis then starts at 0.

    Returns:
        A figure with one trace per available series (names "training", "validation"), a marker per epoch.
        A loss that exploded (:func:`loss_exploded`) is drawn on a log scale, so the other epochs do not
        flatten to zero; its title says so.
    """
    fig = go.Figure()
    if batches:
        fig.add_trace(
            go.Scatter(
                x=[float(x) for x, _ in batches],
                y=[float(value) for _, value in batches],
                mode="lines",
                name="running, batch by batch",
                line=dict(color=TRAIN_COLOR, width=1),
                opacity=0.5,
                hovertemplate=f"epoch %{{x:.2f}}<br>running training {metric} %{{y:.4f}}<extra></extra>",
            )
        )
    for key, name, color in ((metric, "training", TRAIN_COLOR), (f"val_{metric}", "validation", VALIDATION_COLOR)):
        values = [float(value) for value in history.get(key, [])]
        if not values:
            continue
        fig.add_trace(
            go.Scatter(
                x=list(range(1, len(values) + 1)),
                y=values,
                mode="lines+markers",
                name=name,
                line=dict(color=color, dash="solid" if name == "training" else "dash"),
                hovertemplate=f"epoch %{{x}}<br>{name} {metric} %{{y:.4f}}<extra></extra>",
            )
        )
    done = max((len(history.get(key, [])) for key in (metric, f"val_{metric}")), default=0)
    last = max(epochs or 0, done, 1)
    fig.update_xaxes(title="epoch", range=[0.0 if batches else 0.5, last + 0.5], dtick=1 if last <= 15 else None)
    title = METRIC_LABELS.get(metric, metric)
    plotted = [float(value) for key in (metric, f"val_{metric}") for value in history.get(key, [])]
    if metric == "accuracy":
        fig.update_yaxes(**percent_axis(plotted))
    if metric == "loss" and loss_exploded(plotted):
        fig.update_yaxes(type="log")
        title += " · log scale: the loss exploded"
    fig.update_yaxes(title=title)
    fig.update_layout(
        title=title,
        height=height,
        margin=dict(l=10, r=10, t=40, b=10),
        legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1.0),
        hovermode="x unified",
    )
    return fig


def band_traces(band: Band, name: str, color: str) -> list[go.Scatter]:
    """Traces of a :class:`~cnnviz.train.repeats.Band`: its max, its min filled up to the max, and the mean line."""
    fill = color if color.startswith("rgba") else _rgba(color, 0.2)
    return [
        go.Scatter(x=band.epochs, y=band.high, mode="lines", line=dict(width=0, color=color), showlegend=False,
                   hoverinfo="skip", name=f"{name} (highest)"),
        go.Scatter(x=band.epochs, y=band.low, mode="lines", line=dict(width=0, color=color), fill="tonexty",
                   fillcolor=fill, showlegend=False, hoverinfo="skip", name=f"{name} (lowest)"),
        go.Scatter(x=band.epochs, y=band.mean, mode="lines+markers", line=dict(color=color), name=name,
                   hovertemplate=f"{name}<br>epoch %{{x}}<br>mean %{{y:.4f}}<extra></extra>"),
    ]


def _rgba(hex_color: str, alpha: float) -> str:
    red, green, blue = (int(hex_color[index:index + 2], 16) for index in (1, 3, 5))
    return f"rgba({red}, {green}, {blue}, {alpha})"


#: Colours of repeat bands in the run comparison (Plotly's defaults after the first two).
BAND_COLORS = ("#2ca02c", "#d62728", "#9467bd", "#8c564b")


def runs_overlay_figure(runs: Sequence[RunRecord], metric: str = "val_accuracy", *, height: int = 360,
                        groups: Sequence[Sequence[RunRecord]] = ()) -> go.Figure:
    """Return one curve of ``metric`` per run, to compare runs on one chart.

    Args:
        runs: the chosen runs (a run lacking the metric, e.g. with no validation split, is skipped).
        metric: any history key: ``"loss"``, ``"accuracy"``, ``"val_loss"``, ``"val_accuracy"``.
        groups: repeats of one design with different seeds; a group whose runs are all in ``runs`` is drawn as
            one band (mean line, min-to-max fill, named "Runs 2-4: mean of 3 seeds") instead of its lines.
    """
    fig = go.Figure()
    longest = 1
    chosen = {run.run_id for run in runs}
    banded: set[int] = set()
    for index, group in enumerate(groups):
        ids = [run.run_id for run in group]
        band = curve_band([run.history for run in group], metric)
        if band is None or not set(ids) <= chosen:
            continue
        banded.update(ids)
        longest = max(longest, len(band.mean))
        name = f"Runs {min(ids)}-{max(ids)}: mean of {len(ids)} seeds"
        fig.add_traces(band_traces(band, name, BAND_COLORS[index % len(BAND_COLORS)]))
    for run in runs:
        if run.run_id in banded:
            continue
        values = [float(value) for value in run.history.get(metric, [])]
        if not values:
            continue
        longest = max(longest, len(values))
        fig.add_trace(
            go.Scatter(
                x=list(range(1, len(values) + 1)),
                y=values,
                mode="lines+markers",
                name=run.label,
                hovertemplate=f"{run.label}<br>epoch %{{x}}<br>{metric} %{{y:.4f}}<extra></extra>",
            )
        )
    label = METRIC_LABELS.get(metric, metric)
    fig.update_xaxes(title="epoch", range=[0.5, longest + 0.5], dtick=1 if longest <= 15 else None)
    plotted = [value for trace in fig.data for value in trace.y]
    if metric.endswith("accuracy"):
        fig.update_yaxes(**percent_axis(plotted))
    elif metric.endswith("loss") and loss_exploded(plotted):
        fig.update_yaxes(type="log")
    if not fig.data:
        # Runs trained without a validation split have no validation curves: say so instead of an empty chart.
        fig.update_yaxes(range=[0.0, 1.0], showticklabels=False)
        fig.add_annotation(text=f"None of the chosen runs has a {label.lower()} curve"
                           + (" (they were trained with a validation split of 0)" if metric.startswith("val_") else ""),
                           x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False)
    fig.update_yaxes(title=label)
    fig.update_layout(title=f"{label} by run", height=height, margin=dict(l=10, r=10, t=40, b=10))
    return fig


#: Fill colour of each layer kind in the diagram.
_KIND_COLORS: dict[str, str] = {
    "InputLayer": "#bdbdbd",
    "Conv2D": "#6baed6",
    "BatchNormalization": "#c6dbef",
    "MaxPooling2D": "#fdae6b",
    "AveragePooling2D": "#fdd0a2",
    "Flatten": "#d9d9d9",
    "Dropout": "#e7e7e7",
    "Dense": "#74c476",
}


def _shape_text(shape: tuple[int, ...]) -> str:
    return "×".join(str(size) for size in shape)


def layer_stack_figure(rows: Sequence[LayerRow], *, height: int = 320) -> go.Figure:
    """Return a left-to-right diagram of the layers, each box labelled with its name and output shape.

    Box height grows with the spatial size (or the vector length, on a log scale, after flatten) and box
    width with the number of channels, so the learner sees the image shrink while the channels grow.
    Hovering a box shows the layer type, its settings, its output shape and its parameter count. The labels of
    neighbouring layers sit on alternate rows, so they do not run into each other.

    Args:
        rows: from :func:`cnnviz.train.spec.layer_table`.
    """
    # Shapes and annotations are collected as plain dicts and set once: Plotly's add_shape/add_annotation
    # re-validate every earlier one on each call, which made a 12-layer diagram cost ~0.5 s per page rerun
    # (holding an arrow key on a Train slider queued half a minute of reruns, issue 15).
    fig = go.Figure()
    spacing = 1.6
    xs, ys, hover = [], [], []
    shapes: list[dict[str, object]] = []
    annotations: list[dict[str, object]] = []
    for index, row in enumerate(rows):
        shape = row.output_shape
        if len(shape) == 3:
            box_height = 0.6 + 2.4 * math.sqrt(shape[0] / 28.0)
            box_width = 0.25 + 0.9 * min(1.0, math.log2(shape[2] + 1) / 8.0)
        else:
            box_height = 0.6 + 2.4 * min(1.0, math.log10(max(shape[0], 1) + 1) / 4.0)
            box_width = 0.2
        x0 = index * spacing
        shapes.append(dict(
            type="rect",
            x0=x0 - box_width / 2,
            x1=x0 + box_width / 2,
            y0=-box_height / 2,
            y1=box_height / 2,
            fillcolor=_KIND_COLORS.get(row.kind, "#dddddd"),
            line=dict(color="#555555", width=1),
            layer="below",
        ))
        # Neighbouring labels alternate between two rows: in a half-page column, a dozen layers leave each label
        # about its box's width, and "28×28×128" beside "28×28×16" ran together (issue 15).
        offset = 0.55 * (index % 2)
        annotations.append(dict(x=x0, y=1.75 + offset, text=f"<b>{row.name}</b>", showarrow=False,
                                font=dict(size=10)))
        annotations.append(dict(x=x0, y=-1.75 - offset, text=_shape_text(shape), showarrow=False,
                                font=dict(size=10)))
        xs.append(x0)
        ys.append(0.0)
        hover.append(
            f"<b>{row.name}</b> ({row.kind})<br>{row.detail}<br>output {_shape_text(shape)}"
            f"<br>{row.params:,} parameters"
        )
        if index > 0:
            annotations.append(dict(
                x=x0 - spacing * 0.62, y=0, ax=x0 - spacing * 0.98, ay=0, xref="x", yref="y",
                axref="x", ayref="y", showarrow=True, arrowhead=2, arrowsize=1, arrowwidth=1,
                arrowcolor="#888888", text="",
            ))
    fig.add_trace(
        go.Scatter(
            x=xs, y=ys, mode="markers", marker=dict(size=28, opacity=0), hovertext=hover,
            hovertemplate="%{hovertext}<extra></extra>", showlegend=False,
        )
    )
    fig.update_xaxes(visible=False, range=[-spacing * 0.6, (len(rows) - 1) * spacing + spacing * 0.6])
    fig.update_yaxes(visible=False, range=[-2.6, 2.6])
    fig.update_layout(height=height, margin=dict(l=5, r=5, t=10, b=10), plot_bgcolor="white",
                      shapes=shapes, annotations=annotations)
    return fig
