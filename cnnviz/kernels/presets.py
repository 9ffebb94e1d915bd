"""The kernels the playground's editor offers: named presets, typed cells and a trained model's kernels.

Everything returns float64 NumPy arrays: a kernel is (kh, kw), a bank (N, kh, kw). The
maths that applies them is in :mod:`cnnviz.kernels.ops`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from cnnviz.core.layers import ConvWeights
from cnnviz.kernels.ops import KernelError, validate_kernel

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
# Typed cells and scaling
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
# Learned kernels
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LearnedKernels:
    """A trained model's conv layer, as kernels the playground can apply.

    Attributes:
        layer_name: the Keras layer's name, e.g. "conv_1".
        kernels: (N, kh, kw) float64, one per filter.
        biases: (N,) float64 (zeros when the layer has no bias).
    """

    layer_name: str
    kernels: np.ndarray
    biases: np.ndarray


def learned_kernels(weights: ConvWeights) -> LearnedKernels:
    """Return a conv layer's filters as single-channel kernels (read them with ``core.layers.conv_weights``).

    Args:
        weights: the layer's kernel (kh, kw, in_channels, filters) and bias (filters,).

    Raises:
        KernelError: when the layer reads several channels: the playground shows grayscale kernels only.
    """
    kernel = np.asarray(weights.kernel, dtype=np.float64)
    if kernel.ndim != 4 or kernel.shape[2] != 1:
        raise KernelError(
            f"Layer {weights.layer_name!r} reads {kernel.shape[2] if kernel.ndim == 4 else '?'} channels; "
            "the playground shows single-channel (grayscale) kernels only."
        )
    filters = np.moveaxis(kernel[:, :, 0, :], -1, 0)
    return LearnedKernels(weights.layer_name, filters, np.asarray(weights.bias, dtype=np.float64))
