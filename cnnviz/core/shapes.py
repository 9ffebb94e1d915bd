"""Output-size arithmetic of convolution and pooling: the one formula both the Train page's layer
table and the Kernels playground use.
"""

from __future__ import annotations

import math

import numpy as np


def _whole_at_least_one(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer, float)):
        raise ValueError(f"The {what} must be a whole number of at least 1, got {value!r}.")
    if isinstance(value, float) and (not math.isfinite(value) or not value.is_integer()):
        raise ValueError(f"The {what} must be a whole number of at least 1, got {value!r}.")
    if value < 1:
        raise ValueError(f"The {what} must be a whole number of at least 1, got {value!r}.")
    return int(value)


def same_padding(size: int, kernel_size: int, stride: int) -> tuple[int, int]:
    """Zeros added before and after one axis by TensorFlow's ``"same"`` padding (the odd one after)."""
    stride = _whole_at_least_one(stride, "stride")
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel_size - size, 0)
    return total // 2, total - total // 2


def conv_output_size(size: int, kernel_size: int, stride: int = 1, padding: str | int = "valid") -> int:
    """Return the output length of a convolution (or a pooling window) along one axis.

    ``floor((size + before + after - kernel_size) / stride) + 1`` where ``"valid"`` adds no zeros,
    an int ``p`` adds ``p`` on each side and ``"same"`` adds what TensorFlow adds, which makes the
    output ``ceil(size / stride)``. The result is < 1 when the kernel does not fit; callers decide
    whether that is an error (the Kernels page) or a design to flag (the Train page's layer table).

    Raises:
        ValueError: a stride below 1 or not whole, or an unknown padding.
    """
    stride = _whole_at_least_one(stride, "stride")
    if padding == "same":
        return math.ceil(size / stride)
    if padding == "valid":
        before = after = 0
    elif isinstance(padding, (int, np.integer)) and not isinstance(padding, bool) and padding >= 0:
        before = after = int(padding)
    else:
        raise ValueError(f"Unknown padding {padding!r}; use 'valid', 'same' or a whole number of zeros.")
    return (size + before + after - kernel_size) // stride + 1
