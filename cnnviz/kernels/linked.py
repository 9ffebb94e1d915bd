"""Reading the link that opens a learned kernel on the Kernels page (Inside's "Open this kernel on Kernels").

The payload comes from another page (see :mod:`cnnviz.ui.links`), so it is checked here, without
Streamlit: :func:`read_kernel_link` turns it into a :class:`KernelLink` or says, in one sentence,
why it cannot be used. The sections module then loads it into the editor and the controls.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from cnnviz.kernels.bank import SIZES
from cnnviz.kernels.ops import ACTIVATIONS, KernelError, to_unit_image

#: The bias range the playground's bias box accepts; a learned bias outside it is clipped (and said so).
BIAS_LIMIT = 10.0
#: The strides the playground's stride slider offers.
STRIDES = (1, 2, 3)
#: Keras activation names -> the playground's (``"linear"`` is the playground's ``"none"``).
KERAS_ACTIVATIONS = {"linear": "none", "relu": "relu", "sigmoid": "sigmoid"}
#: Largest side of a linked image (Inside sends 28x28 dataset images).
MAX_SIDE = 256


@dataclass(frozen=True)
class KernelLink:
    """A learned kernel to show, and the image and layer settings it was applied with on Inside.

    Attributes:
        kernel: (k, k) float64, k in :data:`cnnviz.kernels.bank.SIZES` (3 or 5).
        bias: the filter's bias, clipped to +-:data:`BIAS_LIMIT`.
        bias_clipped: whether the bias was clipped.
        image: (H, W) float64 in [0, 1], the image the feature map was computed from.
        title: what the kernel is, e.g. "conv_1, filter 3" (plain text, from the payload).
        image_label: where the image came from, e.g. "from Inside: test image 12".
        stride: the layer's stride when it is one the playground offers, else ``None`` (left as it is).
        padding: ``"valid"`` or ``"same"`` when the layer said so, else ``None``.
        activation: the playground's name for the layer's activation when it has one, else ``None``.
    """

    kernel: np.ndarray
    bias: float
    bias_clipped: bool
    image: np.ndarray
    title: str
    image_label: str
    stride: int | None = None
    padding: str | None = None
    activation: str | None = None


def _short(value: Any, limit: int = 60) -> str:
    return str(value).strip()[:limit]


def _title(payload: Mapping[str, Any]) -> str:
    title = payload.get("title")
    if isinstance(title, str) and title.strip():
        return _short(title)
    layer, index = payload.get("layer"), payload.get("filter")
    if isinstance(layer, str) and layer.strip() and isinstance(index, int):
        return f"{_short(layer, 40)}, filter {index}"
    return "learned kernel"


def _image_label(payload: Mapping[str, Any]) -> str:
    index = payload.get("test_index")
    if isinstance(index, int) and not isinstance(index, bool):
        return f"from Inside: test image {index}"
    return "from Inside"


def read_kernel_link(payload: Mapping[str, Any]) -> KernelLink:
    """Check a link's payload and return what the Kernels page loads.

    Args:
        payload: ``{"kernel": (k, k) numbers, k = 3 or 5; "bias": a number (optional, 0);
            "image": (H, W) numbers in [0, 1] (uint8 is scaled by 1/255), each side 1 to 256 and
            at least k; "title": str (optional)}``. Also read when present: ``"layer"``, ``"filter"``,
            ``"test_index"`` (for the labels), ``"stride"``, ``"padding"``, ``"activation"`` (Keras names);
            settings the playground does not offer are left out (``None``).

    Returns:
        The checked :class:`KernelLink`.

    Raises:
        KernelError: for a missing or malformed kernel, bias or image (the message names which).
    """
    if not isinstance(payload, Mapping):
        raise KernelError("The link carried no kernel.")
    try:
        kernel = np.asarray(payload.get("kernel"), dtype=np.float64)
    except (TypeError, ValueError):
        raise KernelError("The link's kernel holds values that are not numbers.") from None
    if kernel.ndim != 2 or kernel.shape[0] != kernel.shape[1] or kernel.shape[0] not in SIZES:
        raise KernelError(f"The link's kernel is {kernel.shape}; the playground holds 3x3 or 5x5 kernels.")
    if not np.all(np.isfinite(kernel)):
        raise KernelError("The link's kernel holds NaN or infinite values.")
    raw_bias = payload.get("bias", 0.0)
    if isinstance(raw_bias, bool) or not isinstance(raw_bias, (int, float, np.number)) or not np.isfinite(raw_bias):
        raise KernelError("The link's bias is not a finite number.")
    bias = float(np.clip(float(raw_bias), -BIAS_LIMIT, BIAS_LIMIT))
    if "image" not in payload:
        raise KernelError("The link carried no image.")
    image = to_unit_image(np.asarray(payload["image"]))  # KernelError for a wrong shape or non-finite values
    if image.min() < 0.0 or image.max() > 1.0:
        raise KernelError("The link's image is not in the range 0 to 1.")
    if max(image.shape) > MAX_SIDE or min(image.shape) < kernel.shape[0]:
        raise KernelError(f"The link's image is {image.shape[0]}x{image.shape[1]}; it must be between "
                          f"{kernel.shape[0]} and {MAX_SIDE} pixels a side.")
    stride = payload.get("stride")
    padding = payload.get("padding")
    activation = KERAS_ACTIVATIONS.get(str(payload.get("activation", "")).lower())
    return KernelLink(
        kernel=kernel,
        bias=bias,
        bias_clipped=bias != float(raw_bias),
        image=image,
        title=_title(payload),
        image_label=_image_label(payload),
        stride=stride if stride in STRIDES and not isinstance(stride, bool) else None,
        padding=padding if padding in ("valid", "same") else None,
        activation=activation if activation in ACTIVATIONS else None,
    )
