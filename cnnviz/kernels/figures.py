"""Figures for the Kernel playground: kernels, pipeline stages and the arithmetic of one output value.

Every picture is a Plotly heatmap with the value on hover. Maps that can hold
negative values use a diverging blue/white/red scale centred on zero; maps that
cannot (an image in [0, 1], a sigmoid or a threshold) use grey.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from cnnviz.core.figures import heatmap_trace, image_figure, image_grid_figure, symmetric_range
from cnnviz.kernels.explain import ConvExplanation, PoolExplanation
from cnnviz.kernels.ops import PipelineResult

#: Outline colour of highlighted windows (receptive field, pooling window, chosen pixel).
HIGHLIGHT = "#FFB000"


def _stage_is_signed(result: PipelineResult, stage: str) -> bool:
    if stage in ("conv", "biased"):
        return True
    return result.config.activation in ("none", "relu")


def stage_range(values: np.ndarray, signed: bool) -> tuple[float, float]:
    """Return the colour range (zmin, zmax) of one map, the same wherever the map is drawn.

    Args:
        values: (H, W) map; non-finite values are ignored.
        signed: the stage can hold negative values (convolution, bias, no activation or ReLU).

    Returns:
        ``(-m, m)`` with ``m`` the largest finite |value| (1 for an all-zero map) when ``signed``,
        so zero is white; else ``(0, 1)``, the range of a sigmoid or threshold, so zero is black.
    """
    return symmetric_range(values) if signed else (0.0, 1.0)


def displayable(values: np.ndarray, zmin: float, zmax: float) -> np.ndarray:
    """Return ``values`` for a heatmap: +inf drawn as ``zmax``, -inf as ``zmin``, NaN kept (a blank pixel).

    Plotly draws infinities as blanks; an overflowed output (see
    :func:`cnnviz.kernels.explain.magnitude_warnings`) is then at least visible at the end of its scale.
    """
    array = np.asarray(values, dtype=np.float64)
    return np.where(np.isposinf(array), zmax, np.where(np.isneginf(array), zmin, array))


def _clean_axes(fig: go.Figure) -> go.Figure:
    """Hide grid lines and zero lines, which would cross the pixels of a heatmap."""
    fig.update_xaxes(showgrid=False, zeroline=False)
    fig.update_yaxes(showgrid=False, zeroline=False)
    return fig


def _cell_text(values: np.ndarray, digits: int = 2) -> list[list[str]]:
    return [[f"{value:.{digits}g}" if abs(value) >= 1e-12 else "0" for value in row] for row in values]


def bank_figure(kernels: np.ndarray, titles: Sequence[str] | None = None, *, cols: int = 8) -> go.Figure:
    """Return a row (or grid) of kernels with their weights written in the cells.

    Args:
        kernels: (N, kh, kw) float.
        titles: one caption per kernel.
    """
    bank = np.asarray(kernels, dtype=np.float64)
    fig = image_grid_figure(list(bank), titles=titles, cols=cols, diverging=True, cell_height=130)
    for index, trace in enumerate(fig.data):
        trace.text = _cell_text(bank[index], digits=2)
        # Numbers stay readable for a bank the size of the editor's; a 32-filter layer shows colours only.
        trace.texttemplate = "%{text}" if len(bank) <= 8 and bank.shape[1] <= 5 else None
        trace.textfont = {"size": 10}
    return _clean_axes(fig)


def pipeline_figure(
    result: PipelineResult,
    labels: Sequence[str] | None = None,
    *,
    cell_height: int = 210,
) -> go.Figure:
    """Return every stage of the pipeline for every kernel: one row per kernel, one column per stage.

    Columns: convolution, + bias, activation, and pooling when it is on. Column titles give each
    stage's shape; row titles name the kernel.

    Args:
        result: the pipeline's output (N kernels).
        labels: one name per kernel (defaults to "kernel 1", "kernel 2", ...).
    """
    stages: list[tuple[str, str, np.ndarray]] = [
        ("conv", "convolution", result.conv),
        ("biased", f"+ bias {result.config.bias:g}", result.biased),
        ("activated", f"activation: {result.config.activation}", result.activated),
    ]
    if result.pooled is not None:
        stages.append(("pooled", f"{result.config.pool_mode} pooling", result.pooled))
    count = result.conv.shape[0]
    names = list(labels) if labels is not None else [f"kernel {index + 1}" for index in range(count)]
    # Stage names and shapes head the columns (every kernel's maps have the same shape); kernels name the rows.
    titles = [f"{title} ({array.shape[1]}×{array.shape[2]})" for _, title, array in stages]
    titles += [""] * (len(stages) * (count - 1))
    traces = []
    for row in range(count):
        for stage, title, array in stages:
            signed = _stage_is_signed(result, stage)
            zmin, zmax = stage_range(array[row], signed)
            # Four decimals are plenty on hover and halve what the browser has to download.
            shown = displayable(array[row], zmin, zmax)
            with np.errstate(over="ignore", invalid="ignore"):  # rounding 1e305 overflows: such values stay as they are
                values = np.where(np.abs(shown) < 1e12, np.round(shown, 4), shown)
            traces.append(heatmap_trace(values, diverging=signed, zmin=zmin, zmax=zmax, showscale=True, name=title))
    fig = _grid(traces, titles, rows=count, cols=len(stages), row_titles=names, colorbars=True)
    fig.update_layout(height=max(200, cell_height * count + 30))
    return fig


def _grid(
    traces: Sequence[go.Heatmap],
    titles: Sequence[str],
    *,
    rows: int,
    cols: int,
    row_titles: Sequence[str] | None = None,
    gap_x: float = 0.03,
    gap_y: float = 0.06,
    colorbars: bool = False,
) -> go.Figure:
    """Lay heatmaps out in a grid with square pixels, writing the layout in one go.

    With ``colorbars``, each heatmap gets a thin colour scale just right of its cell (the gaps widen to fit).

    Plotly's ``make_subplots`` takes about a second for a 8x4 grid on a slow machine; computing the
    axis domains directly takes milliseconds and draws the same figure.
    """
    gap_y = min(gap_y, 0.25 / rows) if rows > 1 else 0.0
    if colorbars:
        gap_x = max(gap_x, 0.1)
    width = (1.0 - gap_x * (cols - 1)) / cols
    height = (1.0 - gap_y * (rows - 1)) / rows
    layout: dict[str, object] = {}
    annotations = []
    data = []
    for index, trace in enumerate(traces):
        row, col = divmod(index, cols)
        suffix = "" if index == 0 else str(index + 1)
        x0 = col * (width + gap_x)
        y1 = 1.0 - row * (height + gap_y)
        # Rounding keeps domains inside [0, 1], which Plotly checks strictly (-5e-17 is refused).
        x_domain = [max(0.0, round(x0, 6)), min(1.0, round(x0 + width, 6))]
        y_domain = [max(0.0, round(y1 - height, 6)), min(1.0, round(y1, 6))]
        layout[f"xaxis{suffix}"] = dict(domain=x_domain, anchor=f"y{suffix}", showticklabels=False,
                                        showgrid=False, zeroline=False, constrain="domain")
        layout[f"yaxis{suffix}"] = dict(domain=y_domain, anchor=f"x{suffix}", showticklabels=False,
                                        showgrid=False, zeroline=False, autorange="reversed",
                                        scaleanchor=f"x{suffix}", constrain="domain")
        trace.update(xaxis=f"x{suffix}", yaxis=f"y{suffix}")
        if colorbars:
            trace.update(colorbar=dict(x=x_domain[1] + 0.005, xanchor="left", y=(y_domain[0] + y_domain[1]) / 2,
                                       yanchor="middle", len=y_domain[1] - y_domain[0], thickness=8,
                                       tickfont=dict(size=9), nticks=4, outlinewidth=0))
        if col == 0 and row_titles is not None:
            layout[f"yaxis{suffix}"]["title"] = dict(text=row_titles[row], font=dict(size=11))
        data.append(trace)
        if not titles[index]:
            continue
        annotations.append(dict(text=titles[index], x=x0 + width / 2, y=y1, xref="paper", yref="paper",
                                xanchor="center", yanchor="bottom", showarrow=False, font=dict(size=11)))
    left_margin = 25 if row_titles is not None else 5
    return go.Figure(data=data, layout=dict(layout, annotations=annotations, showlegend=False,
                                             margin=dict(l=left_margin, r=5, t=30, b=5)))


def _outline(fig: go.Figure, top: float, left: float, height: float, width: float, *, dash: str = "solid") -> None:
    fig.add_shape(
        type="rect",
        x0=left - 0.5,
        x1=left + width - 0.5,
        y0=top - 0.5,
        y1=top + height - 0.5,
        line=dict(color=HIGHLIGHT, width=3, dash=dash),
    )


def input_figure(
    image: np.ndarray,
    *,
    receptive_field: tuple[int, int, int, int] | None = None,
    padding: tuple[int, int, int, int] = (0, 0, 0, 0),
    title: str = "",
    height: int = 360,
) -> go.Figure:
    """Return the input image with the padding frame and, optionally, one receptive field outlined.

    Args:
        image: (H, W) float, usually in [0, 1].
        receptive_field: (top, left, height, width) in input coordinates; ``top``/``left`` may be
            negative when the window lies partly on padding.
        padding: zeros added (top, bottom, left, right); the view is widened to show them.
    """
    array = np.asarray(image, dtype=np.float64)
    fig = image_figure(array, title=title, height=height, showscale=False)
    top, bottom, left, right = padding
    if any(padding):
        # A dashed frame around the zero padding the kernel also slides over.
        fig.add_shape(
            type="rect",
            x0=-left - 0.5,
            x1=array.shape[1] + right - 0.5,
            y0=-top - 0.5,
            y1=array.shape[0] + bottom - 0.5,
            line=dict(color="#888", width=1, dash="dot"),
        )
    fig.update_xaxes(range=[-left - 0.5, array.shape[1] + right - 0.5], autorange=False)
    fig.update_yaxes(range=[array.shape[0] + bottom - 0.5, -top - 0.5], autorange=False)
    if receptive_field is not None:
        _outline(fig, *receptive_field)
    return _clean_axes(fig)


def clickable_map_figure(
    values: np.ndarray,
    *,
    diverging: bool = True,
    outline: tuple[int, int, int, int] | None = None,
    title: str = "",
    height: int = 360,
    showscale: bool = True,
    zrange: tuple[float, float] | None = None,
) -> go.Figure:
    """Return a map whose pixels can be clicked with ``st.plotly_chart(on_select="rerun")``.

    Plotly does not report clicks on heatmaps, so an invisible marker sits on every pixel centre:
    clicking a pixel selects its marker, whose ``x`` is the column and ``y`` the row (read them with
    ``cnnviz.core.figures.last_selected_ints(event, 2, fields=("y", "x"))``).

    Args:
        values: (H, W) float.
        diverging: blue/white/red centred on 0 (else grey).
        outline: (top, left, height, width) of a window to outline, e.g. (row, col, 1, 1) for one pixel.
        zrange: the colour range (use :func:`stage_range` so a map looks the same as in the pipeline);
            ``None``: symmetric around 0 when ``diverging``, else the data's range.
    """
    array = np.asarray(values, dtype=np.float64)
    zmin, zmax = zrange if zrange is not None else (None, None)
    shown = displayable(array, zmin, zmax) if zrange is not None else array
    fig = image_figure(shown, title=title, diverging=diverging, height=height, showscale=showscale, zmin=zmin,
                       zmax=zmax)
    fig.update_traces(hoverinfo="skip", hovertemplate=None, selector=dict(type="heatmap"))
    rows, cols = np.indices(array.shape)
    fig.add_trace(
        go.Scatter(
            x=cols.ravel(),
            y=rows.ravel(),
            mode="markers",
            marker=dict(size=max(4, min(18, 300 // max(array.shape))), symbol="square", opacity=0.0, color="#000"),
            selected=dict(marker=dict(opacity=0.0)),
            unselected=dict(marker=dict(opacity=0.0)),
            customdata=array.ravel(),
            hovertemplate="row %{y}, col %{x}<br>value %{customdata:.4g}<br>click to explain<extra></extra>",
            showlegend=False,
            name="pixels",
        )
    )
    fig.update_layout(clickmode="event+select", dragmode=False, hovermode="closest")
    if outline is not None:
        _outline(fig, *outline)
    return _clean_axes(fig)


def arithmetic_figure(explanation: ConvExplanation, *, height: int = 260) -> go.Figure:
    """Return input patch, kernel and their element-wise products side by side, numbers in the cells.

    Padding cells of the patch are written "pad" (their value is 0).
    """
    patch_text = _cell_text(explanation.patch, digits=2)
    for row, col in np.argwhere(explanation.in_padding):
        patch_text[row][col] = "pad"
    panels = [
        ("input patch", explanation.patch, False, patch_text),
        ("× kernel weights", explanation.kernel, True, _cell_text(explanation.kernel)),
        (f"= products (sum {explanation.total:.4g})", explanation.products, True, _cell_text(explanation.products)),
    ]
    fig = make_subplots(rows=1, cols=3, subplot_titles=[title for title, *_ in panels], horizontal_spacing=0.06)
    for index, (title, values, signed, text) in enumerate(panels):
        trace = heatmap_trace(values, diverging=signed, showscale=False, name=title, zmin=None if signed else 0.0,
                              zmax=None if signed else max(1.0, float(np.max(values))))
        trace.text = text
        trace.texttemplate = "%{text}"
        trace.textfont = {"size": 12}
        fig.add_trace(trace, row=1, col=index + 1)
        suffix = "" if index == 0 else str(index + 1)
        fig.layout[f"yaxis{suffix}"].scaleanchor = f"x{suffix}"
    fig.update_yaxes(autorange="reversed", showticklabels=False)
    fig.update_xaxes(showticklabels=False)
    fig.update_annotations(font_size=12)
    fig.update_layout(height=height, margin=dict(l=5, r=5, t=35, b=5), showlegend=False)
    return _clean_axes(fig)


def pool_window_figure(
    explanation: PoolExplanation,
    *,
    signed: bool = True,
    height: int = 240,
    zrange: tuple[float, float] | None = None,
) -> go.Figure:
    """Return the pooling window with its values written in, the kept value outlined (max/min).

    ``zrange``: the colour range of the map the window comes from (:func:`stage_range`), so its
    pixels have the same colours as there; ``None``: the window's own range.
    """
    zmin, zmax = zrange if zrange is not None else (None, None)
    fig = image_figure(explanation.window, diverging=signed, height=height, showscale=False, zmin=zmin, zmax=zmax,
                       title=f"{explanation.mode} of this window = {explanation.value:.4g}")
    fig.update_traces(text=_cell_text(explanation.window, digits=3), texttemplate="%{text}")
    if explanation.chosen is not None:
        _outline(fig, explanation.chosen[0], explanation.chosen[1], 1, 1)
    return _clean_axes(fig)
