"""Convolution, activation and pooling on single-channel images, in plain NumPy.

This is the maths behind the Kernel playground. Everything here works on
2-D float arrays and is vectorised: a convolution loops over the *kernel's*
cells (9 for a 3x3 kernel) and does each step on the whole image at once,
never over output pixels.

As in every deep-learning library, "convolution" here is a
**cross-correlation**: the kernel is slid over the image *without* being
flipped. ``convolve2d`` matches ``tf.nn.conv2d`` exactly (including how
TensorFlow splits "same" padding between the two sides) and ``pool2d``
matches Keras's ``MaxPooling2D`` / ``AveragePooling2D`` with "valid" padding.

Shapes: an image is (H, W); a kernel is (kh, kw); a bank of kernels is
(N, kh, kw); a stage of the pipeline for a bank is (N, H', W'). All outputs
are float64.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from cnnviz.core.images import to_unit

PaddingArg = Literal["valid", "same"] | int
PoolMode = Literal["max", "avg", "min"]
ActivationName = Literal["none", "relu", "sigmoid", "threshold"]

#: Activations offered by the playground, with a one-line explanation each.
ACTIVATIONS: dict[str, str] = {
    "none": "keep the value as it is (a linear layer)",
    "relu": "ReLU: negative values become 0, positive ones pass unchanged",
    "sigmoid": "sigmoid: squashes any value into (0, 1); 0 maps to 0.5",
    "threshold": "threshold: 1 where the value is above the threshold, else 0 (as in the line-filter tutorial)",
}
#: Pooling modes offered by the playground ("none" skips the stage).
POOL_MODES: dict[str, str] = {
    "none": "no pooling",
    "max": "max pooling: keep the largest value in each window",
    "avg": "average pooling: keep the mean of each window",
    "min": "min pooling: keep the smallest value in each window",
}
#: The largest number of kernels applied at once, like the filters of a small conv layer.
MAX_BANK = 8


class KernelError(ValueError):
    """A kernel, image or pipeline setting the playground cannot use; the message says how to fix it."""


# --------------------------------------------------------------------------------------------
# Presets
# --------------------------------------------------------------------------------------------


def _k(rows: Sequence[Sequence[float]]) -> np.ndarray:
    return np.asarray(rows, dtype=np.float64)


_GAUSS_5 = np.outer([1, 4, 6, 4, 1], [1, 4, 6, 4, 1]).astype(np.float64) / 256.0

#: Named kernels. Each value maps a size (3 or 5) to a (size, size) float64 kernel.
#: 3x3 kernels without a 5x5 version are centred in a 5x5 grid of zeros (same effect).
PRESETS: dict[str, dict[int, np.ndarray]] = {
    "Identity": {3: _k([[0, 0, 0], [0, 1, 0], [0, 0, 0]])},
    # The four line filters of the classic tutorial: 2 along the line, -1 elsewhere, summing to 0.
    "Line: diagonal (\\)": {3: _k([[2, -1, -1], [-1, 2, -1], [-1, -1, 2]])},
    "Line: anti-diagonal (/)": {3: _k([[-1, -1, 2], [-1, 2, -1], [2, -1, -1]])},
    "Line: horizontal (-)": {3: _k([[-1, -1, -1], [2, 2, 2], [-1, -1, -1]])},
    "Line: vertical (|)": {3: _k([[-1, 2, -1], [-1, 2, -1], [-1, 2, -1]])},
    "Sobel x (vertical edges)": {3: _k([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]])},
    "Sobel y (horizontal edges)": {3: _k([[-1, -2, -1], [0, 0, 0], [1, 2, 1]])},
    "Prewitt x": {3: _k([[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]])},
    "Prewitt y": {3: _k([[-1, -1, -1], [0, 0, 0], [1, 1, 1]])},
    "Laplacian": {
        3: _k([[0, 1, 0], [1, -4, 1], [0, 1, 0]]),
    },
    "Sharpen": {3: _k([[0, -1, 0], [-1, 5, -1], [0, -1, 0]])},
    "Box blur": {3: np.full((3, 3), 1.0 / 9.0), 5: np.full((5, 5), 1.0 / 25.0)},
    "Gaussian blur": {3: _k([[1, 2, 1], [2, 4, 2], [1, 2, 1]]) / 16.0, 5: _GAUSS_5},
    "Emboss": {3: _k([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]])},
    "Outline": {3: _k([[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]])},
}

#: The tutorial's four line filters, the default bank of the playground.
TUTORIAL_PRESETS: tuple[str, ...] = (
    "Line: diagonal (\\)",
    "Line: anti-diagonal (/)",
    "Line: horizontal (-)",
    "Line: vertical (|)",
)


def resize_kernel(kernel: np.ndarray, size: int) -> np.ndarray:
    """Return ``kernel`` as a (size, size) kernel: centred in zeros when growing, centre crop when shrinking.

    Args:
        kernel: (k, k) numbers with k odd.
        size: the wanted odd size (3 or 5 in the playground).
    """
    array = validate_kernel(kernel)
    if size < 1 or size % 2 == 0:
        raise KernelError(f"Expected an odd kernel size such as 3 or 5, got {size}.")
    kh, kw = array.shape
    out = np.zeros((size, size), dtype=np.float64)
    # Copy the overlapping centred region in either direction.
    h, w = min(kh, size), min(kw, size)
    src_top, src_left = (kh - h) // 2, (kw - w) // 2
    dst_top, dst_left = (size - h) // 2, (size - w) // 2
    out[dst_top : dst_top + h, dst_left : dst_left + w] = array[src_top : src_top + h, src_left : src_left + w]
    return out


def preset_kernel(name: str, size: int = 3) -> np.ndarray:
    """Return a copy of the preset ``name`` as a (size, size) float64 kernel.

    Raises:
        KernelError: for an unknown name or size.
    """
    if name not in PRESETS:
        raise KernelError(f"Unknown preset {name!r}; choose one of: {', '.join(PRESETS)}.")
    versions = PRESETS[name]
    if size in versions:
        return versions[size].copy()
    return resize_kernel(versions[3], size)


# --------------------------------------------------------------------------------------------
# Validation and parsing
# --------------------------------------------------------------------------------------------


def parse_cell(value: Any, row: int, col: int) -> float:
    """Return one kernel cell as a finite float, or raise a :class:`KernelError` naming the cell.

    Accepts numbers and text such as ``"-1"``, ``"0.5"``, ``"1/9"`` (a simple fraction) or ``"1e-3"``.
    ``row`` and ``col`` are 0-based; the message counts from 1 as people do.
    """
    where = f"Kernel cell at row {row + 1}, column {col + 1}"
    if value is None or (isinstance(value, str) and not value.strip()):
        raise KernelError(f"{where} is empty. Type a number such as -1, 0.5 or 2 (0 for no weight).")
    if isinstance(value, bool):
        raise KernelError(f"{where} holds {value!r}, which is not a number. Type a number such as -1, 0.5 or 2.")
    if isinstance(value, (int, float, np.integer, np.floating)):
        number = float(value)
    else:
        text = str(value).strip().replace("\u2212", "-")
        try:
            if "/" in text:
                numerator, denominator = text.split("/", 1)
                number = float(numerator) / float(denominator)
            else:
                number = float(text)
        except (ValueError, ZeroDivisionError):
            raise KernelError(
                f"{where} holds {str(value)!r}, which is not a number. "
                "Type a number such as -1, 0.5, 2 or a fraction like 1/9."
            ) from None
    if math.isnan(number):
        raise KernelError(f"{where} is NaN (not a number). Type a finite number such as -1, 0.5 or 2.")
    if math.isinf(number):
        raise KernelError(f"{where} is infinite ({value!r}). Type a finite number such as -1, 0.5 or 2.")
    return number


def parse_kernel_cells(cells: Sequence[Sequence[Any]]) -> np.ndarray:
    """Parse a grid of cells (numbers or text, as a table editor returns them) into a kernel.

    Args:
        cells: rows of cell values; every row must have the same length.

    Returns:
        (rows, cols) float64 kernel.

    Raises:
        KernelError: for an empty grid, ragged rows, or a cell that is empty, text, NaN or infinite.
    """
    rows = [list(row) for row in cells]
    if not rows or not any(rows):
        raise KernelError("The kernel grid is empty. Choose a preset or type numbers into a 3x3 grid.")
    width = len(rows[0])
    if any(len(row) != width for row in rows):
        raise KernelError(
            f"The kernel rows have different lengths {[len(r) for r in rows]}; every row needs {width} numbers."
        )
    return np.array(
        [[parse_cell(value, r, c) for c, value in enumerate(row)] for r, row in enumerate(rows)],
        dtype=np.float64,
    )


def validate_kernel(kernel: Any) -> np.ndarray:
    """Return ``kernel`` as a (kh, kw) float64 array, checking it is 2-D, non-empty and finite.

    Raises:
        KernelError: saying what was received and what is expected.
    """
    try:
        array = np.asarray(kernel, dtype=np.float64)
    except (TypeError, ValueError):
        raise KernelError(
            "The kernel holds values that are not numbers. Use a grid of numbers such as [[0, -1, 0], ...]."
        ) from None
    if array.ndim != 2:
        raise KernelError(f"Expected a 2-D kernel (rows x columns), got an array of shape {array.shape}.")
    if array.size == 0:
        raise KernelError(f"The kernel is empty (shape {array.shape}). Use at least a 1x1 grid of numbers.")
    if not np.all(np.isfinite(array)):
        bad = np.argwhere(~np.isfinite(array))[0]
        raise KernelError(
            f"Kernel cell at row {bad[0] + 1}, column {bad[1] + 1} is {array[tuple(bad)]}, not a finite number. "
            "Replace it with a number such as -1, 0.5 or 2."
        )
    return array


def validate_bank(kernels: Any) -> np.ndarray:
    """Return a bank of kernels as (N, kh, kw) float64; a single (kh, kw) kernel becomes N = 1.

    Raises:
        KernelError: for an empty bank, more than :data:`MAX_BANK` kernels, or bad values.
    """
    if isinstance(kernels, np.ndarray) and kernels.ndim == 2:
        return validate_kernel(kernels)[None]
    if isinstance(kernels, np.ndarray) and kernels.ndim != 3:
        raise KernelError(
            f"Expected one kernel (kh, kw) or a bank of kernels (N, kh, kw), got shape {kernels.shape}."
        )
    try:
        items = list(kernels)
    except TypeError as error:
        raise KernelError(f"Expected a list of kernels, got {type(kernels).__name__}.") from error
    if not items:
        raise KernelError("The kernel bank is empty. Add at least one kernel.")
    if len(items) > MAX_BANK:
        raise KernelError(f"Got {len(items)} kernels; the playground applies at most {MAX_BANK} at once.")
    arrays = [validate_kernel(item) for item in items]
    if len({a.shape for a in arrays}) != 1:
        raise KernelError(
            f"All kernels in a bank must have the same size, got {[a.shape for a in arrays]}. Pick one size."
        )
    return np.stack(arrays)


def validate_image(image: Any) -> np.ndarray:
    """Return an input image as (H, W) float64, checking shape and values.

    Args:
        image: (H, W) or (H, W, 1) numbers (uint8 images are *not* rescaled: use :func:`to_unit_image`).

    Raises:
        KernelError: for a wrong shape, an empty image or non-finite values.
    """
    try:
        array = np.asarray(image, dtype=np.float64)
    except (TypeError, ValueError):
        raise KernelError("The image holds values that are not numbers.") from None
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim != 2:
        raise KernelError(f"Expected a grayscale image (H, W) or (H, W, 1), got shape {array.shape}.")
    if array.size == 0:
        raise KernelError(f"The image is empty (shape {array.shape}). Pick a sample or upload a picture.")
    if not np.all(np.isfinite(array)):
        raise KernelError("The image contains NaN or infinite values; use an image of finite numbers.")
    return array


def to_unit_image(image: np.ndarray) -> np.ndarray:
    """Return ``image`` as (H, W) float64 in [0, 1]: uint8 is divided by 255, floats are kept.

    Args:
        image: (H, W) uint8 in [0, 255], or (H, W) float already in [0, 1] (e.g. a sketch).
    """
    array = np.asarray(image)
    if array.dtype == np.uint8:
        array = to_unit(array)  # the model-input contract's scaling, so both pages show the same pixels
    return validate_image(array)


def normalise_kernel(kernel: np.ndarray) -> np.ndarray:
    """Scale a kernel so its response stays in the input's range.

    Divides by the sum of the weights when it is not (close to) zero, so the weights add up to 1
    and a blur keeps the image's brightness; otherwise (edge and line filters sum to 0) divides
    by the sum of absolute values. An all-zero kernel is returned unchanged.

    Args:
        kernel: (kh, kw) numbers.

    Returns:
        (kh, kw) float64.
    """
    array = validate_kernel(kernel)
    total = float(array.sum())
    if abs(total) > 1e-12:
        return array / total
    magnitude = float(np.abs(array).sum())
    return array / magnitude if magnitude > 0 else array.copy()


# --------------------------------------------------------------------------------------------
# Sizes and padding
# --------------------------------------------------------------------------------------------


def _check_stride(stride: int, what: str = "stride") -> int:
    if isinstance(stride, bool) or not isinstance(stride, (int, np.integer)) or stride < 1:
        raise KernelError(f"Expected a whole-number {what} of at least 1, got {stride!r}.")
    return int(stride)


def padding_amounts(size: int, kernel_size: int, stride: int, padding: PaddingArg) -> tuple[int, int]:
    """Return the zero rows (or columns) added before and after one axis.

    ``"valid"`` adds none; an int ``p`` adds ``p`` on both sides; ``"same"`` follows TensorFlow:
    enough to make the output ``ceil(size / stride)`` long, the odd one going after.
    """
    stride = _check_stride(stride)
    if isinstance(padding, str):
        if padding == "valid":
            return 0, 0
        if padding == "same":
            out = -(-size // stride)
            total = max((out - 1) * stride + kernel_size - size, 0)
            return total // 2, total - total // 2
        raise KernelError(f"Unknown padding {padding!r}; use 'valid', 'same' or a whole number of zeros.")
    if isinstance(padding, bool) or not isinstance(padding, (int, np.integer)) or padding < 0:
        raise KernelError(f"Expected padding 'valid', 'same' or a whole number >= 0, got {padding!r}.")
    return int(padding), int(padding)


def conv_output_size(size: int, kernel_size: int, stride: int = 1, padding: PaddingArg = "valid") -> int:
    """Return the output length along one axis: ``floor((size + before + after - kernel) / stride) + 1``.

    Raises:
        KernelError: when the kernel does not fit in the (padded) input.
    """
    before, after = padding_amounts(size, kernel_size, stride, padding)
    padded = size + before + after
    if kernel_size > padded:
        raise KernelError(
            f"The {kernel_size}-wide kernel is larger than the input ({size} pixels"
            f"{f', {padded} with padding' if padded != size else ''}). "
            "Use a smaller kernel, 'same' padding or a bigger image."
        )
    return (padded - kernel_size) // stride + 1


def _resolve_pool_stride(size: int, stride: int | None) -> int:
    return size if stride is None else _check_stride(stride, "pooling stride")


def pool_output_size(size: int, window: int, stride: int | None = None) -> int:
    """Return the pooled length along one axis (valid padding): ``floor((size - window) / stride) + 1``."""
    window = _check_stride(window, "pooling size")
    stride = _resolve_pool_stride(window, stride)
    if window > size:
        raise KernelError(
            f"The {window}x{window} pooling window is larger than the {size}-pixel map it pools. "
            "Use a smaller pooling size, a smaller stride or padding in the convolution."
        )
    return (size - window) // stride + 1


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
    stride_value = _resolve_pool_stride(window, stride)
    out = pool_output_size(size, window, stride_value)
    return f"pooled {axis} = ⌊({size} − {window}) / {stride_value}⌋ + 1 = **{out}**"


# --------------------------------------------------------------------------------------------
# Convolution and pooling
# --------------------------------------------------------------------------------------------


def pad_image(image: np.ndarray, kernel_shape: tuple[int, int], stride: int, padding: PaddingArg) -> np.ndarray:
    """Return the (H + top + bottom, W + left + right) zero-padded image used by :func:`convolve2d`."""
    array = validate_image(image)
    top, bottom = padding_amounts(array.shape[0], kernel_shape[0], stride, padding)
    left, right = padding_amounts(array.shape[1], kernel_shape[1], stride, padding)
    if top == bottom == left == right == 0:
        return array
    return np.pad(array, ((top, bottom), (left, right)))


def convolve2d(
    image: np.ndarray,
    kernel: np.ndarray,
    *,
    stride: int = 1,
    padding: PaddingArg = "valid",
) -> np.ndarray:
    """Slide ``kernel`` over ``image`` (a cross-correlation, as in deep learning) and return the map.

    ``out[i, j] = sum_{u, v} padded[i * stride + u, j * stride + v] * kernel[u, v]``.

    Vectorised: one whole-image multiply-add per kernel cell (9 for 3x3), no loop over pixels.

    Args:
        image: (H, W) or (H, W, 1) numbers, e.g. float in [0, 1].
        kernel: (kh, kw) finite numbers.
        stride: step between windows, >= 1, the same along both axes.
        padding: "valid" (no zeros), "same" (TensorFlow's rule) or an int number of zeros on every side.

    Returns:
        (H', W') float64 with ``H' = conv_output_size(H, kh, stride, padding)`` (likewise W').

    Raises:
        KernelError: for bad values, a bad stride or padding, or a kernel larger than the padded image.
    """
    array = validate_image(image)
    weights = validate_kernel(kernel)
    stride = _check_stride(stride)
    kh, kw = weights.shape
    out_h = conv_output_size(array.shape[0], kh, stride, padding)
    out_w = conv_output_size(array.shape[1], kw, stride, padding)
    padded = pad_image(array, (kh, kw), stride, padding)
    span_h, span_w = (out_h - 1) * stride + 1, (out_w - 1) * stride + 1
    out = np.zeros((out_h, out_w), dtype=np.float64)
    for u in range(kh):
        for v in range(kw):
            weight = weights[u, v]
            if weight != 0.0:
                out += weight * padded[u : u + span_h : stride, v : v + span_w : stride]
    return out


def convolve_bank(
    image: np.ndarray,
    kernels: np.ndarray,
    *,
    stride: int = 1,
    padding: PaddingArg = "valid",
) -> np.ndarray:
    """Apply each kernel of a bank to ``image``, like the filters of one conv layer.

    Args:
        image: (H, W) numbers.
        kernels: (N, kh, kw) or (kh, kw).

    Returns:
        (N, H', W') float64.
    """
    bank = validate_bank(kernels)
    return np.stack([convolve2d(image, kernel, stride=stride, padding=padding) for kernel in bank])


def pool2d(x: np.ndarray, *, size: int = 2, stride: int | None = None, mode: PoolMode = "max") -> np.ndarray:
    """Pool a map with a ``size`` x ``size`` window ("valid": windows that fit entirely).

    Args:
        x: (H, W) numbers, or (N, H, W) to pool every map of a bank.
        size: window side, >= 1.
        stride: step between windows; ``None`` means ``size`` (non-overlapping windows, Keras's default).
        mode: "max", "avg" (mean) or "min".

    Returns:
        (H', W') or (N, H', W') float64 with ``H' = floor((H - size) / stride) + 1``.

    Raises:
        KernelError: for an unknown mode, a bad size or stride, or a window larger than the map.
    """
    if mode not in ("max", "avg", "min"):
        raise KernelError(f"Unknown pooling mode {mode!r}; use 'max', 'avg' or 'min'.")
    array = np.asarray(x, dtype=np.float64)
    if array.ndim == 3:
        return np.stack([pool2d(item, size=size, stride=stride, mode=mode) for item in array])
    array = validate_image(array)
    size = _check_stride(size, "pooling size")
    stride_value = _resolve_pool_stride(size, stride)
    out_h = pool_output_size(array.shape[0], size, stride_value)
    out_w = pool_output_size(array.shape[1], size, stride_value)
    span_h, span_w = (out_h - 1) * stride_value + 1, (out_w - 1) * stride_value + 1
    shifted = [
        array[u : u + span_h : stride_value, v : v + span_w : stride_value] for u in range(size) for v in range(size)
    ]
    if mode == "max":
        return np.maximum.reduce(shifted)
    if mode == "min":
        return np.minimum.reduce(shifted)
    return np.add.reduce(shifted) / float(size * size)


def apply_activation(x: np.ndarray, activation: ActivationName = "none", *, threshold: float = 0.0) -> np.ndarray:
    """Apply an activation element-wise.

    Args:
        x: any shape of numbers.
        activation: "none", "relu", "sigmoid" or "threshold" (1.0 where ``x > threshold``, else 0.0;
            strictly above, so a lone pixel under a kernel's 2 does not pass a threshold of 2).
        threshold: used by "threshold" only.

    Returns:
        float64 array of the same shape.
    """
    array = np.asarray(x, dtype=np.float64)
    if activation == "none":
        return array.copy()
    if activation == "relu":
        return np.maximum(array, 0.0)
    if activation == "sigmoid":
        # Written with exp of a non-positive number only, so it never overflows.
        positive = array >= 0
        exp = np.exp(-np.abs(array))
        return np.where(positive, 1.0 / (1.0 + exp), exp / (1.0 + exp))
    if activation == "threshold":
        if not math.isfinite(float(threshold)):
            raise KernelError(f"Expected a finite threshold, got {threshold!r}.")
        return (array > float(threshold)).astype(np.float64)
    raise KernelError(f"Unknown activation {activation!r}; use one of: {', '.join(ACTIVATIONS)}.")


# --------------------------------------------------------------------------------------------
# The whole pipeline
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PipelineConfig:
    """Settings of the playground's conv -> bias -> activation -> pooling pipeline.

    Attributes:
        stride: convolution stride (1-3 in the UI).
        padding: "valid", "same" or an int number of zeros on every side.
        bias: added to every output of every kernel.
        activation: one of :data:`ACTIVATIONS`.
        threshold: the threshold of the "threshold" activation.
        pool_mode: "none" or one of "max", "avg", "min".
        pool_size: pooling window side (2-4 in the UI).
        pool_stride: pooling step; ``None`` = ``pool_size``.
    """

    stride: int = 1
    padding: PaddingArg = "valid"
    bias: float = 0.0
    activation: ActivationName = "none"
    threshold: float = 0.0
    pool_mode: str = "none"
    pool_size: int = 2
    pool_stride: int | None = None


@dataclass
class PipelineResult:
    """Every stage of the pipeline for a bank of N kernels (all float64).

    Attributes:
        image: (H, W) input.
        kernels: (N, kh, kw).
        conv: (N, H', W') raw convolution.
        biased: (N, H', W') conv + bias.
        activated: (N, H', W') after the activation.
        pooled: (N, H'', W'') after pooling, or ``None`` when pooling is off.
        config: the settings used.
        formulas: Markdown lines with the output-size arithmetic.
    """

    image: np.ndarray
    kernels: np.ndarray
    conv: np.ndarray
    biased: np.ndarray
    activated: np.ndarray
    pooled: np.ndarray | None
    config: PipelineConfig
    formulas: list[str] = field(default_factory=list)

    @property
    def output(self) -> np.ndarray:
        """The final stage: ``pooled`` when pooling is on, else ``activated``."""
        return self.pooled if self.pooled is not None else self.activated


def run_pipeline(image: np.ndarray, kernels: np.ndarray, config: PipelineConfig) -> PipelineResult:
    """Run convolution, bias, activation and pooling for every kernel of a bank.

    Args:
        image: (H, W) numbers (e.g. float in [0, 1]).
        kernels: (N, kh, kw) or (kh, kw).
        config: the settings.

    Raises:
        KernelError: for any bad input or setting; nothing is half-computed.
    """
    array = validate_image(image)
    bank = validate_bank(kernels)
    if not math.isfinite(float(config.bias)):
        raise KernelError(f"Expected a finite bias, got {config.bias!r}.")
    kh, kw = bank.shape[1:]
    formulas = [
        conv_size_formula(array.shape[0], kh, config.stride, config.padding, "height"),
        conv_size_formula(array.shape[1], kw, config.stride, config.padding, "width"),
    ]
    conv = convolve_bank(array, bank, stride=config.stride, padding=config.padding)
    biased = conv + float(config.bias)
    activated = apply_activation(biased, config.activation, threshold=config.threshold)
    pooled = None
    if config.pool_mode != "none":
        formulas += [
            pool_size_formula(activated.shape[1], config.pool_size, config.pool_stride, "height"),
            pool_size_formula(activated.shape[2], config.pool_size, config.pool_stride, "width"),
        ]
        pooled = pool2d(activated, size=config.pool_size, stride=config.pool_stride, mode=config.pool_mode)  # type: ignore[arg-type]
    return PipelineResult(array, bank, conv, biased, activated, pooled, config, formulas)


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
    array = validate_image(x)
    if mode not in ("max", "avg", "min"):
        raise KernelError(f"Unknown pooling mode {mode!r}; use 'max', 'avg' or 'min'.")
    stride_value = _resolve_pool_stride(size, stride)
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


# --------------------------------------------------------------------------------------------
# Learned kernels
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LearnedKernels:
    """The first convolution layer of a trained model.

    Attributes:
        layer_name: the Keras layer's name, e.g. "conv_1".
        kernels: (N, kh, kw) float64, one per filter.
        biases: (N,) float64 (zeros when the layer has no bias).
    """

    layer_name: str
    kernels: np.ndarray
    biases: np.ndarray


def first_layer_kernels(model: Any) -> LearnedKernels:
    """Return the kernels of the first 2-D convolution layer of a Keras model (no TensorFlow import).

    Args:
        model: a built ``keras.Model`` whose first conv layer reads one channel.

    Raises:
        KernelError: when the model has no conv layer or its first one reads several channels.
    """
    for layer in getattr(model, "layers", []):
        weights = layer.get_weights()
        if weights and np.ndim(weights[0]) == 4:
            kernel = np.asarray(weights[0], dtype=np.float64)  # (kh, kw, in_channels, filters)
            if kernel.shape[2] != 1:
                raise KernelError(
                    f"Layer {layer.name!r} reads {kernel.shape[2]} channels; the playground shows "
                    "single-channel (grayscale) kernels only."
                )
            filters = np.moveaxis(kernel[:, :, 0, :], -1, 0)
            has_bias = len(weights) > 1 and np.ndim(weights[1]) == 1
            biases = np.asarray(weights[1], dtype=np.float64) if has_bias else np.zeros(filters.shape[0])
            return LearnedKernels(layer.name, filters, biases)
    raise KernelError("This model has no 2-D convolution layer, so there are no learned kernels to show.")


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
