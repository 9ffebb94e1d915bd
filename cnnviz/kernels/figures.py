"""Figures for the Kernel playground: kernels, pipeline stages and the arithmetic of one output value.

Every picture is a Plotly heatmap with the value on hover. Maps that can hold
negative values use a diverging blue/white/red scale centred on zero; maps that
cannot (an image in [0, 1], a sigmoid or a threshold) use grey.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from cnnviz.core.figures import heatmap_trace, image_figure, image_grid_figure, keep_margins, symmetric_range
from cnnviz.kernels.animation import Animation, Step
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
    stage_titles: bool = True,
) -> go.Figure:
    """Return every stage of the pipeline for every kernel: one row per kernel, one column per stage.

    Columns: convolution, + bias, activation, and pooling when it is on. Column titles give each
    stage's shape; row titles name the kernel.

    Args:
        result: the pipeline's output (N kernels).
        labels: one name per kernel (defaults to "kernel 1", "kernel 2", ...).
        stage_titles: head the columns with the stages' names and shapes; without them (a figure drawn under
            another one that has them, as the Kernels page draws one figure per kernel) the top margin is narrow.
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
    titles = [f"{title} ({array.shape[1]}×{array.shape[2]})" if stage_titles else "" for _, title, array in stages]
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
    top = 30 if stage_titles else 8
    fig.update_layout(height=max(200, cell_height * count + top), margin_t=top)
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
    title_size: int = 11,
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
        # A plain dict, validated once by the figure below (updating the trace object validated it again).
        spec = dict(trace.to_plotly_json(), xaxis=f"x{suffix}", yaxis=f"y{suffix}")
        if colorbars:
            spec["colorbar"] = dict(spec.get("colorbar", {}), x=x_domain[1] + 0.005, xanchor="left",
                                    y=(y_domain[0] + y_domain[1]) / 2, yanchor="middle",
                                    len=y_domain[1] - y_domain[0], thickness=8, tickfont=dict(size=9), nticks=4,
                                    outlinewidth=0)
        if col == 0 and row_titles is not None:
            layout[f"yaxis{suffix}"]["title"] = dict(text=row_titles[row], font=dict(size=11))
        data.append(spec)
        if not titles[index]:
            continue
        annotations.append(dict(text=titles[index], x=x0 + width / 2, y=y1, xref="paper", yref="paper",
                                xanchor="center", yanchor="bottom", showarrow=False, font=dict(size=title_size)))
    left_margin = 25 if row_titles is not None else 5
    # The last column's colour bars need ~50 px: reserved, or Plotly grows the margin and draws it all twice.
    right_margin = 56 if colorbars else 5
    return keep_margins(go.Figure(data=data, layout=dict(layout, annotations=annotations, showlegend=False,
                                                          margin=dict(l=left_margin, r=right_margin, t=30, b=5))))


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
    traces = []
    for title, values, signed, text in panels:
        trace = heatmap_trace(values, diverging=signed, showscale=False, name=title, zmin=None if signed else 0.0,
                              zmax=None if signed else max(1.0, float(np.max(values))))
        trace.update(text=text, texttemplate="%{text}", textfont={"size": 12})
        traces.append(trace)
    # One go (see _grid): make_subplots took four times longer, on every kernel edit.
    fig = _grid(traces, [title for title, *_ in panels], rows=1, cols=3, gap_x=0.06, title_size=12)
    fig.update_layout(height=height, margin=dict(t=35))
    return fig


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


#: Frame durations (ms) of the animation's three play buttons: slow, normal and fast.
ANIMATION_SPEEDS = {"▶ Slow": 700, "▶ Play": 250, "▶▶ Fast": 60}
#: Colour of the not-yet-computed part of an animated output map.
NOT_YET = "#D5D9E0"
#: The animation's traces that change from step to step (indices into ``fig.data``): the window's
#: numbers, the window's outline, the not-yet-computed cover, the output pointer and (pooling) the kept value.
ANIMATED_TRACES = [1, 3, 4, 5, 6]


def _step_title(animation: Animation, step: Step) -> str:
    count = animation.window_size**2
    if animation.kind == "convolution":
        how = f"the sum of the {count} products"
    elif animation.mode == "avg":
        how = f"the mean of the {count} values"
    else:
        how = f"the {animation.mode} of the {count} values"
    where = f"output row {step.row}, column {step.col}"
    return f"Step {step.index + 1} of {len(animation.steps)}: {where} = {how} = {step.value:.4g}"


def _rect_path(rects: Sequence[tuple[float, float, float, float]]) -> tuple[list[float | None], list[float | None]]:
    """Closed outlines of (top, left, height, width) pixel rectangles, as one scatter path (None between)."""
    xs: list[float | None] = []
    ys: list[float | None] = []
    for top, left, height, width in rects:
        x0, x1, y0, y1 = left - 0.5, left + width - 0.5, top - 0.5, top + height - 0.5
        xs += [x0, x1, x1, x0, x0, None]
        ys += [y0, y0, y1, y1, y0, None]
    return xs, ys


def _step_data(animation: Animation, step: Step, signed: bool) -> list[dict]:
    """The changing traces of one step, as plain dicts (Plotly validates them once, in the figure)."""
    if step.products is not None and step.weights is not None:
        values = step.products
        # "+ 0.0" turns -0.0 (a black pixel times a negative weight) into 0.
        cells = zip(step.window.ravel(), step.weights.ravel(), step.products.ravel(), strict=True)
        flat = [f"{pixel + 0.0:.2g}×{weight + 0.0:.2g}<br>= {product + 0.0:.2g}" for pixel, weight, product in cells]
        text = [flat[row * values.shape[1] : (row + 1) * values.shape[1]] for row in range(values.shape[0])]
        zmin, zmax = symmetric_range(values)
    else:
        values = step.window
        text = _cell_text(values, digits=3)
        zmin, zmax = stage_range(animation.source, signed)
    size, (height, width) = animation.window_size, animation.output.shape
    covers = []
    if step.col < width - 1:
        covers.append((step.row, step.col + 1, 1, width - step.col - 1))
    if step.row < height - 1:
        covers.append((step.row + 1, 0, height - step.row - 1, width))
    window_x, window_y = _rect_path([(step.top, step.left, size, size)])
    cover_x, cover_y = _rect_path(covers)
    pointer_x, pointer_y = _rect_path([(step.row, step.col, 1, 1)])
    data = [
        dict(type="heatmap", z=np.round(displayable(values, zmin, zmax), 6).tolist(), zmin=zmin, zmax=zmax, text=text),
        dict(type="scatter", x=window_x, y=window_y),
        dict(type="scatter", x=cover_x or [None], y=cover_y or [None]),
        dict(type="scatter", x=pointer_x, y=pointer_y),
    ]
    if step.chosen is not None:
        chosen_x, chosen_y = _rect_path([(*step.chosen, 1, 1)])
        data.append(dict(type="scatter", x=chosen_x, y=chosen_y))
    return data


def animation_figure(animation: Animation, *, start: int = 0, signed: bool = False, height: int = 440) -> go.Figure:
    """Return the animated sliding window: the map with the window, what it computes, the output filling in.

    Three panels: the map the window slides over (zero padding dotted), the window's arithmetic (for a
    convolution each cell reads ``pixel×weight = product``; for pooling its values, the kept one
    outlined) and the output map, its not-yet-computed part greyed out. One Plotly frame per step
    (named ``"0"``, ``"1"``...); the play buttons (three speeds), the pause button and the step slider
    run in the browser, so playing costs no Streamlit rerun. The slider's label says the step and its
    value ("Step 5 of 784: output row 0, column 4 = the sum of the 9 products = 1.2") and follows
    the animation. The window, cover and pointer are traces, not layout shapes, and frames are plain
    dicts: 784 steps then take about a second to build instead of fifteen.

    Args:
        animation: from :func:`cnnviz.kernels.animation.animate_convolution` or ``animate_pooling``.
        start: the step shown first (and where the slider starts), clipped into the steps.
        signed: for pooling, the map can be negative (no activation or ReLU): a blue/white/red scale.
        height: figure height in pixels.

    Returns:
        A figure with ``len(animation.steps)`` frames; ``fig.data`` indices :data:`ANIMATED_TRACES` change.
    """
    steps = animation.steps
    start = min(max(int(start), 0), len(steps) - 1)
    is_conv = animation.kind == "convolution"
    source_range = (0.0, 1.0) if is_conv else stage_range(animation.source, signed)
    output_signed = is_conv or signed
    output_range = stage_range(animation.output, output_signed)
    first = _step_data(animation, steps[start], signed)
    line = dict(color=HIGHLIGHT, width=3)
    source = heatmap_trace(displayable(animation.source, *source_range), diverging=not is_conv and signed,
                           zmin=source_range[0], zmax=source_range[1], showscale=False,
                           name="input" if is_conv else "map")
    window = heatmap_trace(np.asarray(first[0]["z"]), diverging=is_conv or signed, zmin=first[0]["zmin"],
                           zmax=first[0]["zmax"], showscale=False, name="window")
    window.update(text=first[0]["text"], texttemplate="%{text}", textfont={"size": 11}, hoverinfo="skip",
                  hovertemplate=None, xaxis="x2", yaxis="y2")
    output = heatmap_trace(np.round(displayable(animation.output, *output_range), 4), diverging=output_signed,
                           zmin=output_range[0], zmax=output_range[1], showscale=False, name="output")
    output.update(xaxis="x3", yaxis="y3")
    plain = dict(mode="lines", hoverinfo="skip", showlegend=False)
    data = [
        source,
        window,
        output,
        go.Scatter(first[1], line=line, xaxis="x", yaxis="y", **plain),
        go.Scatter(first[2], fill="toself", fillcolor=NOT_YET, line=dict(width=0), xaxis="x3", yaxis="y3", **plain),
        go.Scatter(first[3], line=line, xaxis="x3", yaxis="y3", **plain),
        go.Scatter(first[4] if len(first) > 4 else dict(x=[None], y=[None]), line=line, xaxis="x2", yaxis="y2",
                   **plain),
    ]
    frames = []
    for step in steps:
        changed = _step_data(animation, step, signed)
        frames.append(dict(name=str(step.index), data=changed, traces=ANIMATED_TRACES[: len(changed)]))
    top, bottom, left, right = animation.padding
    source_h, source_w = animation.source.shape
    out_h, out_w = animation.output.shape
    panels = [
        ("input (zero padding dotted)" if is_conv else "map being pooled", 0.0, 0.36,
         [-left - 0.5, source_w + right - 0.5], [source_h + bottom - 0.5, -top - 0.5]),
        ("× kernel: pixel×weight" if is_conv else "the window", 0.41, 0.59,
         [-0.5, animation.window_size - 0.5], [animation.window_size - 0.5, -0.5]),
        (f"output {out_h}×{out_w}, filling in", 0.64, 1.0, [-0.5, out_w - 0.5], [out_h - 0.5, -0.5]),
    ]
    layout: dict[str, object] = {}
    annotations = []
    for index, (title, x0, x1, x_range, y_range) in enumerate(panels):
        suffix = "" if index == 0 else str(index + 1)
        layout[f"xaxis{suffix}"] = dict(domain=[x0, x1], anchor=f"y{suffix}", range=x_range, autorange=False,
                                        showticklabels=False, showgrid=False, zeroline=False, constrain="domain")
        layout[f"yaxis{suffix}"] = dict(domain=[0.0, 0.9], anchor=f"x{suffix}", range=y_range, autorange=False,
                                        scaleanchor=f"x{suffix}", showticklabels=False, showgrid=False,
                                        zeroline=False, constrain="domain")
        annotations.append(dict(text=title, x=(x0 + x1) / 2, y=0.91, xref="paper", yref="paper", showarrow=False,
                                xanchor="center", yanchor="bottom", font=dict(size=12)))
    shapes = []
    if any(animation.padding):
        shapes.append(dict(type="rect", xref="x", yref="y", x0=-left - 0.5, x1=source_w + right - 0.5,
                           y0=-top - 0.5, y1=source_h + bottom - 0.5, line=dict(color="#888", width=1, dash="dot")))
    still = {"duration": 0, "redraw": True}
    buttons = [dict(label=label, method="animate",
                    args=[None, {"frame": {"duration": ms, "redraw": True}, "fromcurrent": True, "mode": "immediate",
                                 "transition": {"duration": 0}}])
               for label, ms in ANIMATION_SPEEDS.items()]
    buttons.append(dict(label="❚❚ Pause", method="animate",
                        args=[[None], {"frame": {"duration": 0, "redraw": False}, "mode": "immediate",
                                       "transition": {"duration": 0}}]))
    slider = dict(
        active=start, x=0.0, len=1.0, y=0.0, yanchor="top", pad=dict(t=50, b=0), ticklen=0, minorticklen=0,
        font=dict(color="rgba(0,0,0,0)"),  # hundreds of tick labels would be unreadable: the step is written above
        currentvalue=dict(font=dict(size=13, color="#31333F")),
        steps=[dict(label=_step_title(animation, step), method="animate",
                    args=[[str(step.index)], {"frame": still, "mode": "immediate", "transition": {"duration": 0}}])
               for step in steps],
    )
    layout.update(
        height=height, margin=dict(l=5, r=5, t=5, b=100), showlegend=False, annotations=annotations, shapes=shapes,
        updatemenus=[dict(type="buttons", direction="right", showactive=False, x=0.0, xanchor="left", y=0.0,
                          yanchor="top", pad=dict(t=5), buttons=buttons)],
        sliders=[slider], hovermode="closest",
    )
    return keep_margins(go.Figure(data=data, layout=layout, frames=frames))
