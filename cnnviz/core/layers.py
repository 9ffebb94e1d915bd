"""Reading a trained Keras model's layers: the one conv-kernel reader.

Both the Inside page (the learned filters of any conv layer) and the Kernels page (the first
layer's kernels, applied to an image) read weights through :func:`conv_weights`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


class LayerReadError(ValueError):
    """The model has no such convolution layer."""


@dataclass(frozen=True)
class ConvWeights:
    """One Conv2D layer's learned weights.

    Attributes:
        layer_name: the Keras layer's name, e.g. ``"conv_1"``.
        kernel: (kh, kw, in_channels, filters) float32: ``kernel[:, :, c, f]`` is the 2-D filter
            that filter ``f`` slides over input channel ``c``.
        bias: (filters,) float32, zeros when the layer has no bias.
    """

    layer_name: str
    kernel: np.ndarray
    bias: np.ndarray


def conv_layer_names(model: Any) -> list[str]:
    """Return the names of the model's 2-D convolution layers in forward order (may be empty)."""
    layers = getattr(model, "layers", None) or []
    if not layers:
        return []
    import keras  # already imported by whoever built or loaded ``model``, so this costs nothing

    return [layer.name for layer in layers if isinstance(layer, keras.layers.Conv2D)]


def conv_weights(model: Any, layer_name: str | None = None) -> ConvWeights:
    """Return a Conv2D layer's kernel and bias (default: the first conv layer).

    Raises:
        LayerReadError: the model has no conv layer, or none called ``layer_name``.
    """
    names = conv_layer_names(model)
    if not names:
        raise LayerReadError("This model has no 2-D convolution layer, so it has no learned filters to show.")
    name = names[0] if layer_name is None else layer_name
    if name not in names:
        raise LayerReadError(f"Expected one of the conv layers {names}, got {name!r}.")
    weights = model.get_layer(name).get_weights()
    kernel = np.asarray(weights[0], dtype=np.float32)
    has_bias = len(weights) > 1 and np.ndim(weights[1]) == 1
    bias = np.asarray(weights[1], dtype=np.float32) if has_bias else np.zeros(kernel.shape[-1], np.float32)
    return ConvWeights(name, kernel, bias)
