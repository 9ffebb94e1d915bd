"""Live feature maps while training (issue 15 item 7): one image through the first conv layer, after every epoch.

The training child sends its weights after every finished epoch; the Train page's model takes them over,
so the parent can show what the first layer now does to a chosen image without TensorFlow:
:func:`first_layer_maps` is the layer's own computation (cross-correlation as in Keras, zero padding as
TensorFlow's ``"same"``, bias, activation) in NumPy, checked against Keras in the tests. A learner sees the
filters turn from noise into strokes and edges while the loss falls.

Pure NumPy and Plotly; no Streamlit, no TensorFlow.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from cnnviz.core.images import to_unit
from cnnviz.core.shapes import same_padding

#: NumPy versions of the activations a conv block offers (:data:`cnnviz.train.spec.ACTIVATIONS`).
ACTIVATION_FUNCTIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "relu": lambda z: np.maximum(z, 0.0),
    "sigmoid": lambda z: 1.0 / (1.0 + np.exp(-z)),
    "tanh": np.tanh,
}
#: At most this many filters are drawn (the first ones), so that 128 filters stay readable.
MAX_SHOWN = 16


def first_layer_maps(image: np.ndarray, kernel: np.ndarray, bias: np.ndarray, *, stride: int = 1,
                     padding: str = "same", activation: str = "relu") -> np.ndarray:
    """The first conv layer's output for one greyscale image, as Keras's ``Conv2D`` computes it.

    Args:
        image: (H, W) float in [0, 1] (the model's input scale).
        kernel: (kh, kw, 1, F) float, the layer's kernel; ``bias``: (F,).
        stride: the layer's stride, >= 1; ``padding``: ``"same"`` or ``"valid"``; ``activation``: a key of
            :data:`ACTIVATION_FUNCTIONS`.

    Returns:
        float32 (H', W', F) feature maps.

    Raises:
        ValueError: shapes that do not fit (not 2-D, not one input channel, bias of another length), an
            unknown padding or activation, or a stride below 1.
    """
    image = np.asarray(image, dtype=np.float32)
    kernel = np.asarray(kernel, dtype=np.float32)
    bias = np.asarray(bias, dtype=np.float32)
    if image.ndim != 2 or kernel.ndim != 4 or kernel.shape[2] != 1 or bias.shape != (kernel.shape[3],):
        raise ValueError(f"Expected a 2-D image, a (kh, kw, 1, F) kernel and an (F,) bias, got {image.shape}, "
                         f"{kernel.shape} and {bias.shape}.")
    if activation not in ACTIVATION_FUNCTIONS:
        raise ValueError(f"Unknown activation {activation!r}; use one of {sorted(ACTIVATION_FUNCTIONS)}.")
    if not isinstance(stride, (int, np.integer)) or stride < 1:
        raise ValueError(f"The stride must be a whole number of at least 1, got {stride!r}.")
    kh, kw = kernel.shape[:2]
    if padding == "same":
        image = np.pad(image, (same_padding(image.shape[0], kh, stride), same_padding(image.shape[1], kw, stride)))
    elif padding != "valid":
        raise ValueError(f"Unknown padding {padding!r}; use 'same' or 'valid'.")
    windows = np.lib.stride_tricks.sliding_window_view(image, (kh, kw))[::stride, ::stride]  # (H', W', kh, kw)
    maps = np.einsum("ijkl,klf->ijf", windows, kernel[:, :, 0, :]) + bias
    return ACTIVATION_FUNCTIONS[activation](maps).astype(np.float32)


def model_first_layer_maps(model: Any, block: Any, image: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(image in [0, 1], maps, kernel)`` for a Keras model's ``conv_1`` now (built from ``block``'s settings).

    Args:
        model: a model of :func:`cnnviz.train.spec.build_model` (its ``conv_1`` weights are read, no TensorFlow
            call is made); ``block``: its first :class:`~cnnviz.train.spec.ConvBlockSpec`.
        image: (28, 28) uint8 in [0, 255] or float in [0, 1].
    """
    kernel, bias = model.get_layer("conv_1").get_weights()[:2]
    scaled = to_unit(np.asarray(image))
    maps = first_layer_maps(scaled, kernel, bias, stride=block.stride, padding=block.padding,
                            activation=block.activation)
    return scaled, maps, kernel


def live_maps_figure(image: np.ndarray, maps: np.ndarray, kernel: np.ndarray, *, epoch: int) -> go.Figure:
    """The chosen image, then per filter (the first :data:`MAX_SHOWN`) its 2-D weights above its feature map.

    Args:
        image: (H, W) the input; ``maps``: (H', W', F) from :func:`first_layer_maps`; ``kernel``: (kh, kw, 1, F).
        epoch: 1-based epoch the weights come from (in the title).

    Filters share one blue-white-red scale centred on zero, maps one grey scale from 0 to their maximum, so
    that cells compare across filters and across epochs' redraws of the same scale kind.
    """
    shown = min(maps.shape[2], MAX_SHOWN)
    columns = shown + 1
    fig = make_subplots(rows=2, cols=columns, horizontal_spacing=0.01, vertical_spacing=0.06,
                        subplot_titles=["image", *[f"filter {index + 1}" for index in range(shown)], "", *[""] * shown])
    weights = kernel[:, :, 0, :shown]
    limit = float(np.max(np.abs(weights))) or 1.0
    top = float(np.max(maps[:, :, :shown])) if maps.size else 1.0
    fig.add_trace(go.Heatmap(z=np.asarray(image)[::-1], colorscale="gray_r", showscale=False,
                             hovertemplate="input %{z:.2f}<extra></extra>"), row=1, col=1)
    for index in range(shown):
        fig.add_trace(go.Heatmap(z=weights[::-1, :, index], colorscale="RdBu", zmin=-limit, zmax=limit,
                                 showscale=False, hovertemplate="weight %{z:.3f}<extra></extra>"),
                      row=1, col=index + 2)
        fig.add_trace(go.Heatmap(z=maps[::-1, :, index], colorscale="gray_r", zmin=0.0, zmax=top or 1.0,
                                 showscale=False, hovertemplate="activation %{z:.3f}<extra></extra>"),
                      row=2, col=index + 2)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, scaleanchor="x")
    fig.update_layout(title=f"First layer after epoch {epoch}: filters (top) and what they find in the image "
                      "(bottom)", height=260, margin=dict(l=5, r=5, t=60, b=5))
    return fig
