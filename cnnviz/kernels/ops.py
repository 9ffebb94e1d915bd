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

The editor's kernels (presets, parsing typed cells) live in :mod:`cnnviz.kernels.presets`; the
Markdown and arithmetic that explain a value live in :mod:`cnnviz.kernels.explain`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from cnnviz.core import shapes
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
# Validation
# --------------------------------------------------------------------------------------------


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


def validate_image(image: Any, *, finite: bool = True) -> np.ndarray:
    """Return an input image as (H, W) float64, checking shape and values.

    Args:
        image: (H, W) or (H, W, 1) numbers (uint8 images are *not* rescaled: use :func:`to_unit_image`).
        finite: refuse NaN and infinities (``False`` for a map computed here, which may have overflowed:
            pooling it keeps the infinities, and the page says it overflowed).

    Raises:
        KernelError: for a wrong shape, an empty image or (with ``finite``) non-finite values.
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
    if finite and not np.all(np.isfinite(array)):
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
            return shapes.same_padding(size, kernel_size, stride)
        raise KernelError(f"Unknown padding {padding!r}; use 'valid', 'same' or a whole number of zeros.")
    if isinstance(padding, bool) or not isinstance(padding, (int, np.integer)) or padding < 0:
        raise KernelError(f"Expected padding 'valid', 'same' or a whole number >= 0, got {padding!r}.")
    return int(padding), int(padding)


def conv_output_size(size: int, kernel_size: int, stride: int = 1, padding: PaddingArg = "valid") -> int:
    """Return the output length along one axis: ``floor((size + before + after - kernel) / stride) + 1``.

    The formula is :func:`cnnviz.core.shapes.conv_output_size` (the one the Train page's layer table
    uses); this adds the playground's own check that the kernel fits.

    Raises:
        KernelError: for a bad stride or padding, or when the kernel does not fit in the (padded) input.
    """
    before, after = padding_amounts(size, kernel_size, stride, padding)  # checks stride and padding first
    out = shapes.conv_output_size(size, kernel_size, stride, padding)
    if out < 1:
        padded = size + before + after
        raise KernelError(
            f"The {kernel_size}-wide kernel is larger than the input ({size} pixels"
            f"{f', {padded} with padding' if padded != size else ''}). "
            "Use a smaller kernel, 'same' padding or a bigger image."
        )
    return out


def resolve_pool_stride(size: int, stride: int | None) -> int:
    """The pooling step: ``size`` when ``stride`` is ``None`` (windows side by side), else a checked ``stride``."""
    return size if stride is None else _check_stride(stride, "pooling stride")


def pool_output_size(size: int, window: int, stride: int | None = None) -> int:
    """Return the pooled length along one axis (valid padding): ``floor((size - window) / stride) + 1``."""
    window = _check_stride(window, "pooling size")
    stride = resolve_pool_stride(window, stride)
    out = shapes.conv_output_size(size, window, stride, "valid")  # a pooling window slides like a kernel
    if out < 1:
        raise KernelError(
            f"The {window}x{window} pooling window is larger than the {size}-pixel map it pools. "
            "Use a smaller pooling size, a smaller stride or padding in the convolution."
        )
    return out


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
    # Huge weights (1e308) may overflow to inf (or inf - inf = NaN): kept, and reported by the page
    # (cnnviz.kernels.explain.magnitude_warnings) rather than as NumPy warnings.
    with np.errstate(over="ignore", invalid="ignore"):
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
    array = validate_image(array, finite=False)
    size = _check_stride(size, "pooling size")
    stride_value = resolve_pool_stride(size, stride)
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
    """

    image: np.ndarray
    kernels: np.ndarray
    conv: np.ndarray
    biased: np.ndarray
    activated: np.ndarray
    pooled: np.ndarray | None
    config: PipelineConfig

    @property
    def output(self) -> np.ndarray:
        """The final stage: ``pooled`` when pooling is on, else ``activated``."""
        return self.pooled if self.pooled is not None else self.activated

    def only(self, index: int) -> PipelineResult:
        """The result of kernel ``index`` alone, as if the bank held only that kernel.

        The Kernels page draws each kernel's stages as a figure of its own, built from this: an edit of one
        kernel leaves the others' results equal, so their figures come from the cache and the browser keeps
        them on screen instead of drawing them again (issue 11).
        """
        keep = slice(index, index + 1)
        pooled = self.pooled[keep] if self.pooled is not None else None
        return PipelineResult(self.image, self.kernels[keep], self.conv[keep], self.biased[keep], self.activated[keep],
                              pooled, self.config)


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
    conv = convolve_bank(array, bank, stride=config.stride, padding=config.padding)
    biased = conv + float(config.bias)
    with np.errstate(over="ignore", invalid="ignore"):
        activated = apply_activation(biased, config.activation, threshold=config.threshold)
    pooled = None
    if config.pool_mode != "none":
        pooled = pool2d(activated, size=config.pool_size, stride=config.pool_stride, mode=config.pool_mode)  # type: ignore[arg-type]
    return PipelineResult(array, bank, conv, biased, activated, pooled, config)
