"""Look inside a trained CNN: every layer's activations for one image, and the learned filters.

Everything here takes a Functional ``keras.Model`` whose input is (28, 28, 1) float32
in [0, 1] and returns plain NumPy arrays; drawing lives in :mod:`cnnviz.inside.figures`.
Keras is imported inside the functions, because ``import cnnviz.inside.activations`` must stay
cheap for pages that never touch a model.

The activations come from the standard extraction model
``keras.Model(inputs=model.inputs[0], outputs=[layer.output for layer in layers])``,
so one forward pass yields every intermediate result at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from cnnviz.core.images import to_model_batch
from cnnviz.core.layers import conv_layer_names

#: Layer kinds, in words a learner meets on the page.
CONV = "conv"
POOL = "pool"
NORM = "norm"
ACTIVATION = "activation"
DENSE = "dense"
OUTPUT = "output"
OTHER = "other"

#: Kinds whose output is a stack of 2-D feature maps (H, W, channels) worth drawing as a grid.
SPATIAL_KINDS = (CONV, POOL, NORM, ACTIVATION)


class InspectError(ValueError):
    """An image or a model that cannot be looked inside (the message says why and what to do)."""


@dataclass(frozen=True)
class LayerActivation:
    """The output of one layer for one input image.

    Attributes:
        name: the Keras layer name, e.g. ``"conv_1"``.
        kind: one of ``"conv"``, ``"pool"``, ``"norm"``, ``"activation"``, ``"dense"``, ``"output"``.
        values: float32; (H, W, channels) for spatial layers, (units,) for dense layers and the output.
    """

    name: str
    kind: str
    values: np.ndarray

    @property
    def shape(self) -> tuple[int, ...]:
        """The layer's output shape for one image, without the batch axis."""
        return tuple(int(n) for n in self.values.shape)

    @property
    def is_spatial(self) -> bool:
        """True when the values are feature maps (H, W, channels) rather than a vector."""
        return self.values.ndim == 3


def layer_kind(layer: Any, *, is_last: bool = False) -> str:
    """Classify a Keras layer for display (``"conv"``, ``"pool"``, ``"dense"``, ...).

    Args:
        layer: a ``keras.layers.Layer``.
        is_last: True for the model's final layer, which is reported as ``"output"`` if it is Dense.
    """
    import keras

    if isinstance(layer, keras.layers.Conv2D):
        return CONV
    pooling = (
        keras.layers.MaxPooling2D,
        keras.layers.AveragePooling2D,
        keras.layers.GlobalMaxPooling2D,
        keras.layers.GlobalAveragePooling2D,
    )
    if isinstance(layer, pooling):
        return POOL
    if isinstance(layer, keras.layers.BatchNormalization):
        return NORM
    if isinstance(layer, (keras.layers.Activation, keras.layers.ReLU, keras.layers.LeakyReLU)):
        return ACTIVATION
    if isinstance(layer, keras.layers.Dense):
        return OUTPUT if is_last else DENSE
    return OTHER


def check_model(model: Any) -> None:
    """Raise :class:`InspectError` unless ``model`` is a built Keras model with exactly one input."""
    inputs = getattr(model, "inputs", None)
    if not inputs or len(inputs) != 1:
        raise InspectError(
            f"Expected a built Keras model with one (28, 28, 1) input, got {type(model).__name__} "
            f"with inputs {inputs!r}. Train a model on the Train page or pick a saved one."
        )


def conv_layer(model: Any, layer_name: str, *, purpose: str) -> Any:
    """Return the model's Conv2D layer called ``layer_name``.

    Args:
        purpose: what the caller wanted the filters for, for the message when the model has none
            (e.g. "to follow through a backprop step").

    Raises:
        InspectError: not a Keras model, no conv layer at all, or none of that name.
    """
    check_model(model)
    names = conv_layer_names(model)
    if not names:
        raise InspectError(
            f"This model has no convolution layer, so it has no filters {purpose}. Pick a CNN (the Train page "
            "builds one)."
        )
    if layer_name not in names:
        raise InspectError(f"Expected one of the conv layers {names}, got {layer_name!r}.")
    return model.get_layer(layer_name)


def inspectable_layers(model: Any) -> list[tuple[str, str]]:
    """Return ``(layer name, kind)`` for every layer worth showing, in forward order.

    Conv, pooling, normalisation, activation and Dense layers are kept; Input, Flatten,
    Dropout and other bookkeeping layers are skipped (they do not change what is shown).
    """
    check_model(model)
    layers = list(model.layers)
    result: list[tuple[str, str]] = []
    for index, layer in enumerate(layers):
        kind = layer_kind(layer, is_last=index == len(layers) - 1)
        if kind != OTHER:
            result.append((layer.name, kind))
    return result


def last_conv_layer_name(model: Any) -> str:
    """Return the name of the last Conv2D layer (the one Grad-CAM looks at).

    Raises:
        InspectError: the model has no convolution layer.
    """
    names = conv_layer_names(model)
    if not names:
        raise InspectError(
            "Expected a model with at least one Conv2D layer, found none. "
            "Grad-CAM and filter pictures need a convolutional model: add a conv block on the Train page."
        )
    return names[-1]


def one_image_batch(image: np.ndarray) -> np.ndarray:
    """Return one image as the models' input, a (1, 28, 28, 1) float32 batch in [0, 1].

    Raises:
        cnnviz.core.images.ModelInputError: not a 28x28 image (see :func:`cnnviz.core.images.to_model_batch`).
        InspectError: a batch of several images.
    """
    batch = to_model_batch(image)
    if batch.shape[0] != 1:
        raise InspectError(f"Expected one image, got a batch of {batch.shape[0]}. Pass a single (28, 28) image.")
    return batch


def _to_numpy(value: Any) -> np.ndarray:
    import keras

    return np.asarray(keras.ops.convert_to_numpy(value), dtype=np.float32)


def compute_activations(
    model: Any, image: np.ndarray, layer_names: Sequence[str] | None = None
) -> list[LayerActivation]:
    """Run one image through the model and return the output of every inspectable layer.

    Args:
        model: a Functional ``keras.Model`` (named layers; input (28, 28, 1) float32 in [0, 1]).
        image: one image, (28, 28) uint8 or float32 in [0, 1] (see :func:`one_image_batch`).
        layer_names: which layers to return (default: all of :func:`inspectable_layers`).

    Returns:
        One :class:`LayerActivation` per layer in forward order; values are float32,
        (H, W, C) for conv/pool layers and (units,) for Dense layers; the last Dense
        layer's values are the model's output probabilities.

    Raises:
        cnnviz.core.images.ModelInputError: the image is not a 28x28 image.
        InspectError: a batch of images, or a named layer does not exist.
    """
    import keras

    batch = one_image_batch(image)
    available = inspectable_layers(model)
    kinds = dict(available)
    names = [name for name, _ in available] if layer_names is None else list(layer_names)
    missing = [name for name in names if name not in kinds]
    if missing:
        raise InspectError(
            f"Expected layer names from {sorted(kinds)}, got unknown {missing}. "
            "Pick layers of the model you are inspecting."
        )
    if not names:
        return []
    extractor = keras.Model(
        inputs=model.inputs[0],
        outputs=[model.get_layer(name).output for name in names],
        name="activation_extractor",
    )
    outputs = extractor(batch, training=False)
    if not isinstance(outputs, (list, tuple)):
        outputs = [outputs]
    return [
        LayerActivation(name=name, kind=kinds[name], values=_to_numpy(output)[0])
        for name, output in zip(names, outputs, strict=True)
    ]


def filter_images(kernel: np.ndarray, input_channel: int = 0) -> np.ndarray:
    """Return the 2-D filters applied to one input channel, as a stack of small images.

    Args:
        kernel: (kh, kw, in_channels, filters), e.g. :func:`cnnviz.core.layers.conv_weights`'s ``kernel``.
        input_channel: which input channel's slice to take (0 for a first layer on grey images).

    Returns:
        (filters, kh, kw) float32.

    Raises:
        InspectError: wrong kernel rank or an input channel out of range.
    """
    array = np.asarray(kernel, dtype=np.float32)
    if array.ndim != 4:
        raise InspectError(f"Expected a conv kernel (kh, kw, in_channels, filters), got shape {array.shape}.")
    if not 0 <= input_channel < array.shape[2]:
        raise InspectError(
            f"Expected an input channel from 0 to {array.shape[2] - 1}, got {input_channel}."
        )
    return np.transpose(array[:, :, input_channel, :], (2, 0, 1)).copy()
