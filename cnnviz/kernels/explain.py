"""The arithmetic behind the playground's numbers, as data and as Markdown for learners.

Output-size formulas with the user's numbers, the patch/products/sum behind one convolution
output value, and the window behind one pooled value. Each explanation reproduces exactly the
value :mod:`cnnviz.kernels.ops` computed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cnnviz.kernels.ops import (
    KernelError,
    PaddingArg,
    PipelineResult,
    PoolMode,
    conv_output_size,
    padding_amounts,
    pool2d,
    pool_output_size,
    resolve_pool_stride,
    validate_image,
    validate_kernel,
)

# --------------------------------------------------------------------------------------------
# Output sizes
# --------------------------------------------------------------------------------------------


def conv_size_formula(size: int, kernel_size: int, stride: int, padding: PaddingArg, axis: str = "height") -> str:
    """Return the output-size formula for one axis with the user's numbers, as Markdown text.

    Example: ``"output height = ⌊(28 + 1 + 1 − 3) / 1⌋ + 1 = 28"``.
    """
    before, after = padding_amounts(size, kernel_size, stride, padding)
    out = conv_output_size(size, kernel_size, stride, padding)
    if before == after:
        pad_text = f"2×{before}"
    else:
        pad_text = f"{before} + {after}"
    text = f"output {axis} = ⌊({size} + {pad_text} − {kernel_size}) / {stride}⌋ + 1 = **{out}**"
    if padding == "same":
        text += f"  ('same' padding chooses the zeros so that the output is ⌈{size} / {stride}⌉ = {out})"
    return text


def pool_size_formula(size: int, window: int, stride: int | None, axis: str = "height") -> str:
    """Return the pooling output-size formula for one axis with the user's numbers, as Markdown text."""
    stride_value = resolve_pool_stride(window, stride)
    out = pool_output_size(size, window, stride_value)
    return f"pooled {axis} = ⌊({size} − {window}) / {stride_value}⌋ + 1 = **{out}**"


def pipeline_formulas(result: PipelineResult) -> list[str]:
    """Return the output-size arithmetic of every stage of ``result`` as Markdown lines.

    Two lines (height, width) for the convolution, and two more for pooling when it is on.
    """
    config = result.config
    kh, kw = result.kernels.shape[1:]
    lines = [
        conv_size_formula(result.image.shape[0], kh, config.stride, config.padding, "height"),
        conv_size_formula(result.image.shape[1], kw, config.stride, config.padding, "width"),
    ]
    if result.pooled is not None:
        lines += [
            pool_size_formula(result.activated.shape[1], config.pool_size, config.pool_stride, "height"),
            pool_size_formula(result.activated.shape[2], config.pool_size, config.pool_stride, "width"),
        ]
    return lines


# --------------------------------------------------------------------------------------------
# Explaining one output value
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConvExplanation:
    """The arithmetic behind one convolution output value.

    Attributes:
        row, col: the output position.
        top, left: the input position of the patch's top-left cell (negative inside padding).
        patch: (kh, kw) input values under the kernel (0 where the kernel lies on padding).
        in_padding: (kh, kw) bool, True where the patch cell is a padding zero.
        kernel: (kh, kw) weights.
        products: (kh, kw) ``patch * kernel``.
        total: the sum of ``products``.
        bias: the bias added.
        value: ``total + bias``, equal to the pipeline's ``biased[row, col]``.
    """

    row: int
    col: int
    top: int
    left: int
    patch: np.ndarray
    in_padding: np.ndarray
    kernel: np.ndarray
    products: np.ndarray
    total: float
    bias: float
    value: float


def _check_position(row: int, col: int, shape: tuple[int, int], what: str) -> None:
    if not (0 <= row < shape[0] and 0 <= col < shape[1]):
        raise KernelError(
            f"Position (row {row}, col {col}) is outside the {shape[0]}x{shape[1]} {what}; "
            f"pick a row in 0-{shape[0] - 1} and a column in 0-{shape[1] - 1}."
        )


def explain_output(
    image: np.ndarray,
    kernel: np.ndarray,
    row: int,
    col: int,
    *,
    stride: int = 1,
    padding: PaddingArg = "valid",
    bias: float = 0.0,
) -> ConvExplanation:
    """Return the patch, products, sum and bias behind output ``(row, col)`` of :func:`convolve2d`.

    Args:
        image: (H, W) numbers.
        kernel: (kh, kw) numbers.
        row, col: an output position, 0-based.

    Raises:
        KernelError: for bad inputs or a position outside the output.
    """
    array = validate_image(image)
    weights = validate_kernel(kernel)
    kh, kw = weights.shape
    out_shape = (
        conv_output_size(array.shape[0], kh, stride, padding),
        conv_output_size(array.shape[1], kw, stride, padding),
    )
    _check_position(row, col, out_shape, "convolution output")
    top_pad, _ = padding_amounts(array.shape[0], kh, stride, padding)
    left_pad, _ = padding_amounts(array.shape[1], kw, stride, padding)
    top, left = row * stride - top_pad, col * stride - left_pad
    rows = np.arange(top, top + kh)[:, None]
    cols = np.arange(left, left + kw)[None, :]
    inside = (rows >= 0) & (rows < array.shape[0]) & (cols >= 0) & (cols < array.shape[1])
    patch = np.where(inside, array[np.clip(rows, 0, array.shape[0] - 1), np.clip(cols, 0, array.shape[1] - 1)], 0.0)
    products = patch * weights
    # Sum in the same order as convolve2d so the displayed value matches to the last bit.
    total = 0.0
    for u in range(kh):
        for v in range(kw):
            if weights[u, v] != 0.0:
                total += float(products[u, v])
    return ConvExplanation(
        row=row,
        col=col,
        top=top,
        left=left,
        patch=patch,
        in_padding=~inside,
        kernel=weights,
        products=products,
        total=total,
        bias=float(bias),
        value=total + float(bias),
    )


@dataclass(frozen=True)
class PoolExplanation:
    """The window behind one pooled value.

    Attributes:
        row, col: the pooled position.
        top, left: the window's top-left position in the map that was pooled.
        window: (size, size) values.
        mode: "max", "avg" or "min".
        value: the pooled value.
        chosen: (row, col) inside ``window`` of the kept value for max/min; ``None`` for avg.
    """

    row: int
    col: int
    top: int
    left: int
    window: np.ndarray
    mode: str
    value: float
    chosen: tuple[int, int] | None


def explain_pool(
    x: np.ndarray, row: int, col: int, *, size: int = 2, stride: int | None = None, mode: PoolMode = "max"
) -> PoolExplanation:
    """Return the window and the value behind pooled position ``(row, col)`` of :func:`pool2d`.

    Args:
        x: (H, W) map that was pooled.

    Raises:
        KernelError: for bad inputs or a position outside the pooled map.
    """
    array = validate_image(x, finite=False)  # an overflowed map is explained too
    if mode not in ("max", "avg", "min"):
        raise KernelError(f"Unknown pooling mode {mode!r}; use 'max', 'avg' or 'min'.")
    stride_value = resolve_pool_stride(size, stride)
    out_shape = (
        pool_output_size(array.shape[0], size, stride_value),
        pool_output_size(array.shape[1], size, stride_value),
    )
    _check_position(row, col, out_shape, "pooled map")
    top, left = row * stride_value, col * stride_value
    window = array[top : top + size, left : left + size].copy()
    chosen: tuple[int, int] | None = None
    if mode == "max":
        flat = int(np.argmax(window))
    elif mode == "min":
        flat = int(np.argmin(window))
    else:
        flat = -1
    if flat >= 0:
        chosen = (flat // size, flat % size)
        value = float(window[chosen])
    else:
        value = float(pool2d(window, size=size, mode="avg")[0, 0])
    return PoolExplanation(row, col, top, left, window, mode, value, chosen)


def format_sum(explanation: ConvExplanation, *, digits: int = 3) -> str:
    """Return the arithmetic of one output value as Markdown, e.g. ``"1×0.5 + (−1)×0.2 = 0.3; 0.3 + bias 0 = **0.3**"``.

    Products that are exactly 0 (a zero weight or a black pixel) are counted rather than written out.
    """
    terms = []
    zeros = 0
    for pixel, weight, product in zip(
        explanation.patch.ravel(), explanation.kernel.ravel(), explanation.products.ravel(), strict=True
    ):
        if product == 0.0:
            zeros += 1
            continue
        shown_weight = f"({weight:.{digits}g})" if weight < 0 else f"{weight:.{digits}g}"
        terms.append(f"{pixel:.{digits}g}×{shown_weight}")
    total = f"{explanation.total:.{digits + 1}g}"
    if not terms:
        sum_text = f"all {zeros} products are 0, so their sum"
    else:
        sum_text = " + ".join(terms)
        if zeros:
            sum_text += f" (+ {zeros} products that are 0)"
    bias = f"({explanation.bias:.{digits}g})" if explanation.bias < 0 else f"{explanation.bias:.{digits}g}"
    return f"{sum_text} = {total}; then {total} + bias {bias} = **{explanation.value:.{digits + 1}g}**"


# --------------------------------------------------------------------------------------------
# Outputs too large to read
# --------------------------------------------------------------------------------------------

#: Above this largest |output| the playground warns that the output is huge (a 0..1 image under the
#: presets gives values below about 10; a typed 1e9 gives about 1e9).
HUGE_OUTPUT = 1e6


def magnitude_warnings(result: PipelineResult) -> list[str]:
    """Return a warning (Markdown) when the pipeline's numbers overflowed or are huge; ``[]`` when they are fine.

    Float64 holds magnitudes up to about 1.8e308: nine cells of 1e308 over bright pixels add up to
    infinity, which a heatmap would draw as a blank map without a word (issue 16, finding 6).

    Args:
        result: a pipeline result; its ``conv``, ``biased``, ``activated`` and ``pooled`` stages are checked.

    Returns:
        At most one message: the overflow one (how many values of the convolution are not finite, and
        that they are drawn at the end of the colour scale), else the huge-output one (the largest value).
    """
    stages = [result.conv, result.biased, result.activated] + ([result.pooled] if result.pooled is not None else [])
    biggest_weight = float(np.max(np.abs(result.kernels)))
    bad = int(np.count_nonzero(~np.isfinite(result.biased)))
    if bad or any(not np.all(np.isfinite(stage)) for stage in stages):
        return [
            f"**The output overflowed**: {bad} of {result.biased.size} convolution values are larger than the "
            f"largest number a computer float holds (about 1.8e308) and became infinite or undefined. They are "
            f"drawn at the end of the colour scale; the rest of each map is shown as computed. Your largest "
            f"weight is {biggest_weight:.3g}: use weights between about -10 and 10."
        ]
    largest = float(np.max(np.abs(result.biased)))
    if largest > HUGE_OUTPUT:
        return [
            f"**The output is huge**: values reach {largest:.3g} because your largest weight is "
            f"{biggest_weight:.3g} and the pixels are between 0 and 1. The maps show it with the colour scale "
            "stretched to that range; hover a pixel for its value. Weights between about -10 and 10 keep "
            "outputs readable."
        ]
    return []


def moved_position(
    position: tuple[int, int], old_shape: tuple[int, int], new_shape: tuple[int, int]
) -> tuple[int, int]:
    """Return the position in a map of ``new_shape`` at the same relative place as ``position`` in ``old_shape``.

    Switching from a 3x3 to a 5x5 kernel shrinks a 26x26 output to 24x24; the explained pixel
    should stay on the same part of the image (on the digit), not jump to a corner.

    Args:
        position: (row, col) in the old map (clipped into it first).
        old_shape, new_shape: (H, W) of the maps, each side >= 1.

    Returns:
        (row, col) inside ``new_shape``: ``round(p * (new - 1) / (old - 1))`` per axis (the centre of a 1-pixel map
        goes to the centre of the new one).
    """
    moved = []
    for value, old, new in zip(position, old_shape, new_shape, strict=True):
        value = min(max(int(value), 0), old - 1)
        fraction = value / (old - 1) if old > 1 else 0.5
        moved.append(min(max(int(round(fraction * (new - 1))), 0), new - 1))
    return moved[0], moved[1]
