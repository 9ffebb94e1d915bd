"""The frames of the animated convolution and pooling: where the window is at each step and what it computes.

An animation slides a kernel (or a pooling window) over a map, one output position per step, in
reading order (row by row, left to right). Step ``n`` knows the window's place, the values under it,
the products (or the kept value) and the output value, which is exactly what :func:`ops.convolve2d`
(or :func:`ops.pool2d`) computes at that position: each step is built from
:func:`cnnviz.kernels.explain.explain_output` / :func:`~cnnviz.kernels.explain.explain_pool`.

An input larger than :data:`MAX_ANIMATED_SIDE` is first scaled down (box average) so the animation
keeps to at most ``28 x 28`` steps; the animation says so (``scaled_from``). Pure NumPy; the figure
is :func:`cnnviz.kernels.figures.animation_figure`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cnnviz.kernels.explain import explain_output, explain_pool
from cnnviz.kernels.ops import (
    PaddingArg,
    PoolMode,
    convolve2d,
    padding_amounts,
    pool2d,
    validate_image,
    validate_kernel,
)

#: The longest input side that is animated as it is; a bigger image is scaled down to it first,
#: so an animation has at most about 28 x 28 = 784 steps (an MNIST image at stride 1, 'same').
MAX_ANIMATED_SIDE = 28


@dataclass(frozen=True)
class Step:
    """One step of an animation: the window at one output position.

    Attributes:
        index: the step number, 0-based, in reading order.
        row, col: the output position computed at this step.
        top, left: the window's top-left cell in the (unpadded) input; negative on padding.
        window: (k, k) values under the window (padding cells are 0).
        weights: (k, k) kernel weights, or ``None`` for pooling.
        products: (k, k) ``window * weights``, or ``None`` for pooling.
        chosen: (row, col) in ``window`` of the value max/min pooling keeps; ``None`` otherwise.
        value: the output value at (row, col): the sum of the products, or the pooled value.
    """

    index: int
    row: int
    col: int
    top: int
    left: int
    window: np.ndarray
    weights: np.ndarray | None
    products: np.ndarray | None
    chosen: tuple[int, int] | None
    value: float


@dataclass(frozen=True)
class Animation:
    """A whole animation: the map the window slides over, the finished output and every step.

    Attributes:
        kind: "convolution" or "pooling" (``mode`` says which pooling).
        source: (H, W) map the window slides over (the scaled-down image when ``scaled_from`` is set).
        output: (H', W') the finished output, equal to ``convolve2d`` / ``pool2d`` of ``source``.
        steps: one :class:`Step` per output position, in reading order (H' * W' steps).
        window_size: the window's side (kernel size or pooling size).
        stride: the step between windows.
        padding: zeros added (top, bottom, left, right); all 0 for pooling.
        mode: "max", "avg" or "min" for pooling; "" for convolution.
        scaled_from: the original (H, W) when the input was scaled down to fit; ``None`` otherwise.
    """

    kind: str
    source: np.ndarray
    output: np.ndarray
    steps: list[Step]
    window_size: int
    stride: int
    padding: tuple[int, int, int, int]
    mode: str = ""
    scaled_from: tuple[int, int] | None = None


def fit_for_animation(
    image: np.ndarray, max_side: int = MAX_ANIMATED_SIDE
) -> tuple[np.ndarray, tuple[int, int] | None]:
    """Return ``image`` scaled down (box average) so its longest side is at most ``max_side``.

    Args:
        image: (H, W) finite numbers.
        max_side: the longest side kept, >= 1.

    Returns:
        ``(image, None)`` when it already fits, else ``(smaller float64 image, original (H, W))``.

    Raises:
        KernelError: for an image that is not (H, W) finite numbers.
    """
    from PIL import Image  # Pillow's box filter: an area average, the honest way to shrink a map

    array = validate_image(image)
    height, width = array.shape
    if max(height, width) <= max_side:
        return array, None
    scale = max_side / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    small = Image.fromarray(array.astype(np.float32), mode="F").resize(size, Image.Resampling.BOX)
    return np.asarray(small, dtype=np.float64), (height, width)


def animate_convolution(
    image: np.ndarray,
    kernel: np.ndarray,
    *,
    stride: int = 1,
    padding: PaddingArg = "valid",
    max_side: int = MAX_ANIMATED_SIDE,
) -> Animation:
    """Return every step of sliding ``kernel`` over ``image``: one per output position, reading order.

    Args:
        image: (H, W) numbers; scaled down first when a side exceeds ``max_side``.
        kernel: (kh, kw) finite weights (square in the playground).
        stride, padding: as in :func:`cnnviz.kernels.ops.convolve2d`.

    Returns:
        An :class:`Animation` whose step ``n`` has ``value == convolve2d(source, kernel, ...)[row, col]``.

    Raises:
        KernelError: for bad inputs or settings, or a kernel larger than the (padded) input.
    """
    source, scaled_from = fit_for_animation(image, max_side)
    weights = validate_kernel(kernel)
    output = convolve2d(source, weights, stride=stride, padding=padding)
    top_bottom = padding_amounts(source.shape[0], weights.shape[0], stride, padding)
    left_right = padding_amounts(source.shape[1], weights.shape[1], stride, padding)
    steps = []
    for index, (row, col) in enumerate(np.ndindex(*output.shape)):
        explained = explain_output(source, weights, row, col, stride=stride, padding=padding)
        steps.append(Step(index, row, col, explained.top, explained.left, explained.patch, weights,
                          explained.products, None, explained.total))
    return Animation("convolution", source, output, steps, weights.shape[0], int(stride),
                     (*top_bottom, *left_right), scaled_from=scaled_from)


def animate_pooling(
    values: np.ndarray,
    *,
    size: int = 2,
    stride: int | None = None,
    mode: PoolMode = "max",
    max_side: int = MAX_ANIMATED_SIDE,
) -> Animation:
    """Return every step of pooling ``values``: one per pooled position, reading order.

    Args:
        values: (H, W) map (e.g. an activated map); scaled down first when a side exceeds ``max_side``.
        size, stride, mode: as in :func:`cnnviz.kernels.ops.pool2d`.

    Returns:
        An :class:`Animation` whose step ``n`` has ``value == pool2d(source, ...)[row, col]``.

    Raises:
        KernelError: for bad inputs or settings, or a window larger than the map.
    """
    source, scaled_from = fit_for_animation(values, max_side)
    output = pool2d(source, size=size, stride=stride, mode=mode)
    steps = []
    for index, (row, col) in enumerate(np.ndindex(*output.shape)):
        explained = explain_pool(source, row, col, size=size, stride=stride, mode=mode)
        # The value pool2d computed (an average summed window by window can differ in the last bit).
        steps.append(Step(index, row, col, explained.top, explained.left, explained.window, None, None,
                          explained.chosen, float(output[row, col])))
    step = size if stride is None else int(stride)
    return Animation("pooling", source, output, steps, int(size), step, (0, 0, 0, 0), mode=mode,
                     scaled_from=scaled_from)


__all__ = ["MAX_ANIMATED_SIDE", "Animation", "Step", "animate_convolution", "animate_pooling", "fit_for_animation"]
