"""A small CNN described as data: the spec, its shape arithmetic, and the Keras model it builds.

The Train page turns sliders into a :class:`ModelSpec`. :func:`layer_plan` turns
a spec into the list of Keras layers to call, the one description of the
architecture: :func:`build_model` instantiates it, the generated script
(:mod:`cnnviz.train.script`) writes it out, and :func:`layer_table` folds the
output-size arithmetic of :mod:`cnnviz.core.shapes` over it. Everything a learner
sees before training (the summary table, the layer diagram, the parameter
count) is so computed by plain arithmetic, not by asking Keras, so that the
numbers can be explained and are cross-checked against Keras in the tests.

The architecture follows the Keras MNIST tutorials::

    input (28, 28, 1)
    -> [conv_i -> (bn_i) -> (pool_i)] x 1..4      # feature extractor
    -> flatten -> (dropout) -> dense_1..dense_3  # classifier head
    -> predictions (softmax)

Importing this module does not import TensorFlow; :func:`build_model` does.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import TYPE_CHECKING, Any

from cnnviz.core.shapes import conv_output_size

if TYPE_CHECKING:  # pragma: no cover - typing only
    import keras

#: Every model takes one 28x28 greyscale image, float32 in [0, 1].
INPUT_SHAPE: tuple[int, int, int] = (28, 28, 1)

PADDINGS: tuple[str, ...] = ("valid", "same")
ACTIVATIONS: tuple[str, ...] = ("relu", "sigmoid", "tanh")
POOLINGS: tuple[str, ...] = ("none", "max", "average")

MAX_CONV_BLOCKS = 4
MAX_DENSE_LAYERS = 3
MAX_FILTERS = 256
MAX_UNITS = 1024
MAX_KERNEL_SIZE = 7
MAX_STRIDE = 3
MAX_POOL_SIZE = 3
MAX_DROPOUT = 0.9


class SpecError(ValueError):
    """A model specification that cannot be built; the message says what, why and how to fix it."""


@dataclass(frozen=True)
class ConvBlockSpec:
    """One convolution block: a Conv2D layer, then optional batch normalisation and pooling.

    Attributes:
        filters: number of output channels (feature maps), 1..256.
        kernel_size: side of the square kernel in pixels (the UI offers 3 or 5).
        stride: step of the kernel in pixels, 1..3.
        padding: ``"valid"`` (no padding, the image shrinks) or ``"same"`` (zero padding keeps the size at stride 1).
        activation: ``"relu"``, ``"sigmoid"`` or ``"tanh"``, applied by the conv layer.
        pooling: ``"none"``, ``"max"`` or ``"average"``.
        pool_size: side of the pooling window, also its stride (2 halves the image).
    """

    filters: int = 32
    kernel_size: int = 3
    stride: int = 1
    padding: str = "same"
    activation: str = "relu"
    pooling: str = "max"
    pool_size: int = 2


def _default_blocks() -> tuple[ConvBlockSpec, ...]:
    # Three small blocks (28 -> 14 -> 7 -> 3 pixels) reach 98.3-98.9% on MNIST's 8,000/2,000 split with the default
    # training (seeds 0-4) in under half a minute on 2 CPU cores; fewer blocks would leave most of the parameters
    # in the first dense layer.
    return (ConvBlockSpec(filters=16), ConvBlockSpec(filters=32), ConvBlockSpec(filters=64))


@dataclass(frozen=True)
class ModelSpec:
    """A whole CNN: conv blocks, then flatten, optional dropout, dense layers and a softmax output.

    Attributes:
        conv_blocks: 1..4 :class:`ConvBlockSpec`, applied in order.
        batch_norm: add a BatchNormalization layer (``bn_i``) after every conv layer.
        dropout: fraction of the flattened features dropped during training (0 = no dropout layer).
        dense_units: units of each hidden Dense layer (0..3 layers) before the output layer.
        dense_activation: activation of the hidden Dense layers.
    """

    conv_blocks: tuple[ConvBlockSpec, ...] = field(default_factory=_default_blocks)
    batch_norm: bool = False
    dropout: float = 0.3
    dense_units: tuple[int, ...] = (64,)
    dense_activation: str = "relu"

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable dict (lists instead of tuples) that :meth:`from_dict` reads back."""
        data = asdict(self)
        data["conv_blocks"] = [dict(block) for block in data["conv_blocks"]]
        data["dense_units"] = list(self.dense_units)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModelSpec:
        """Build a spec from :meth:`to_dict` output; missing keys take defaults.

        Raises:
            SpecError: ``data`` is not a mapping, or has keys a spec does not know.
        """
        if not isinstance(data, Mapping):
            raise SpecError(f"Expected a dict describing a model, got {type(data).__name__}.")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise SpecError(f"Unknown model spec keys {unknown}; expected some of {sorted(known)}.")
        values: dict[str, Any] = dict(data)
        try:
            if "conv_blocks" in values:
                values["conv_blocks"] = tuple(_block_from_dict(block) for block in values["conv_blocks"])
            if "dense_units" in values:
                values["dense_units"] = tuple(int(units) for units in values["dense_units"])
        except (TypeError, ValueError) as error:
            if isinstance(error, SpecError):
                raise
            raise SpecError(
                f"Expected 'conv_blocks' as a list of block dicts and 'dense_units' as a list of whole numbers, "
                f"got conv_blocks={values.get('conv_blocks')!r}, dense_units={values.get('dense_units')!r}."
            ) from error
        return cls(**values)


def _block_from_dict(data: Any) -> ConvBlockSpec:
    if isinstance(data, ConvBlockSpec):
        return data
    if not isinstance(data, Mapping):
        raise SpecError(f"Expected a dict describing a conv block, got {type(data).__name__}.")
    known = {f.name for f in fields(ConvBlockSpec)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise SpecError(f"Unknown conv block keys {unknown}; expected some of {sorted(known)}.")
    return ConvBlockSpec(**dict(data))


@dataclass(frozen=True)
class LayerCall:
    """One layer of the plan: what :func:`build_model` instantiates and :func:`keras_code` writes out.

    Attributes:
        kind: the Keras layer class in ``keras.layers`` (``"Conv2D"``, ``"MaxPooling2D"``...); ``"InputLayer"``
            stands for ``keras.Input``.
        name: the Keras layer name (``"conv_1"``, ``"pool_1"``, ``"predictions"``...).
        kwargs: the constructor's keyword arguments besides ``name``, e.g. ``{"filters": 32, "kernel_size": 3}``.
        detail: what the layer does, in words, for the summary table. ``{0}``, ``{1}``, ``{2}`` stand for the
            height, width and channels the layer receives (Flatten says what it flattens).
    """

    kind: str
    name: str
    kwargs: Mapping[str, Any]
    detail: str = ""


@dataclass(frozen=True)
class LayerRow:
    """One row of the model summary.

    Attributes:
        name: the Keras layer name (``"conv_1"``, ``"pool_1"``, ``"predictions"``...).
        kind: the Keras layer class (``"Conv2D"``, ``"MaxPooling2D"``...).
        output_shape: output shape without the batch axis, e.g. ``(14, 14, 32)`` or ``(128,)``.
        params: number of parameters (weights and biases; for BatchNormalization also its 2 moving statistics).
        detail: the settings in words, e.g. ``"32 filters 3x3, stride 1, same, relu"``.
    """

    name: str
    kind: str
    output_shape: tuple[int, ...]
    params: int
    detail: str = ""


def _check_int(value: Any, name: str, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise SpecError(f"{name} must be a whole number from {low} to {high}, got {value!r}.")


def _check_choice(value: Any, name: str, choices: Sequence[str]) -> None:
    if value not in choices:
        raise SpecError(f"{name} must be one of {list(choices)}, got {value!r}.")


def _check_settings(spec: ModelSpec, num_classes: int) -> None:
    if not isinstance(spec, ModelSpec):
        raise SpecError(f"Expected a ModelSpec, got {type(spec).__name__}.")
    _check_int(num_classes, "num_classes", 2, 10_000)
    blocks = spec.conv_blocks
    if not 1 <= len(blocks) <= MAX_CONV_BLOCKS:
        raise SpecError(f"A model needs 1 to {MAX_CONV_BLOCKS} conv blocks, got {len(blocks)}.")
    for index, block in enumerate(blocks, start=1):
        if not isinstance(block, ConvBlockSpec):
            raise SpecError(f"Conv block {index} must be a ConvBlockSpec, got {type(block).__name__}.")
        _check_int(block.filters, f"Conv block {index} filters", 1, MAX_FILTERS)
        _check_int(block.kernel_size, f"Conv block {index} kernel size", 1, MAX_KERNEL_SIZE)
        _check_int(block.stride, f"Conv block {index} stride", 1, MAX_STRIDE)
        _check_choice(block.padding, f"Conv block {index} padding", PADDINGS)
        _check_choice(block.activation, f"Conv block {index} activation", ACTIVATIONS)
        _check_choice(block.pooling, f"Conv block {index} pooling", POOLINGS)
        _check_int(block.pool_size, f"Conv block {index} pool size", 2, MAX_POOL_SIZE)
    dropout = spec.dropout
    if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0.0 <= dropout <= MAX_DROPOUT:
        raise SpecError(f"Dropout must be a fraction from 0 to {MAX_DROPOUT}, got {dropout!r}.")
    if len(spec.dense_units) > MAX_DENSE_LAYERS:
        raise SpecError(f"A model has 0 to {MAX_DENSE_LAYERS} hidden dense layers, got {len(spec.dense_units)}.")
    for index, units in enumerate(spec.dense_units, start=1):
        _check_int(units, f"Dense layer {index} units", 1, MAX_UNITS)
    _check_choice(spec.dense_activation, "Dense activation", ACTIVATIONS)
    if not isinstance(spec.batch_norm, bool):
        raise SpecError(f"batch_norm must be True or False, got {spec.batch_norm!r}.")


#: The pooling choice of a conv block -> its Keras layer class.
_POOLING_LAYERS = {"max": "MaxPooling2D", "average": "AveragePooling2D"}


def layer_plan(spec: ModelSpec, num_classes: int = 10) -> list[LayerCall]:
    """Return the model as the list of layers to call, input first: the one description of the architecture.

    :func:`build_model` instantiates it, :func:`cnnviz.train.script.keras_code` writes it out and
    :func:`layer_table` folds the shapes over it, so a new layer (or a new setting of one) is added here only.

    Raises:
        SpecError: a setting is out of range (the shapes are checked by :func:`layer_table`).
    """
    _check_settings(spec, num_classes)
    plan = [LayerCall("InputLayer", "input", {"shape": INPUT_SHAPE}, "28x28 greyscale image, values in [0, 1]")]
    for index, block in enumerate(spec.conv_blocks, start=1):
        k = block.kernel_size
        plan.append(LayerCall(
            "Conv2D", f"conv_{index}",
            {"filters": block.filters, "kernel_size": k, "strides": block.stride, "padding": block.padding,
             "activation": block.activation},
            f"{block.filters} filters {k}x{k}, stride {block.stride}, {block.padding}, {block.activation}",
        ))
        if spec.batch_norm:
            plan.append(LayerCall("BatchNormalization", f"bn_{index}", {},
                                  "normalise each channel (2 learned + 2 running statistics per channel)"))
        if block.pooling != "none":
            size = block.pool_size
            plan.append(LayerCall(_POOLING_LAYERS[block.pooling], f"pool_{index}", {"pool_size": size},
                                  f"{size}x{size} {block.pooling} pooling, stride {size}"))
    plan.append(LayerCall("Flatten", "flatten", {}, "{0}x{1}x{2} maps -> one vector"))
    if spec.dropout > 0:
        plan.append(LayerCall("Dropout", "dropout", {"rate": spec.dropout}, f"drop {spec.dropout:.0%} while training"))
    for index, units in enumerate(spec.dense_units, start=1):
        plan.append(LayerCall("Dense", f"dense_{index}", {"units": units, "activation": spec.dense_activation},
                              f"{units} units, {spec.dense_activation}"))
    plan.append(LayerCall("Dense", "predictions", {"units": num_classes, "activation": "softmax"},
                          f"{num_classes} classes, softmax"))
    return plan


def _formula(size: int, kernel_size: int, stride: int, padding: str, out: int) -> str:
    if padding == "same":
        return f"out = ceil(in / stride) = ceil({size} / {stride}) = {out}"
    return (
        f"out = floor((in + 2*pad - k) / stride) + 1 = floor(({size} + 2*0 - {kernel_size}) / {stride}) + 1 = {out}"
    )


def _side(call: LayerCall, size: int, kernel_size: int, stride: int, padding: str) -> int:
    """The output side of a sliding window layer; :class:`SpecError` saying why and what to do when below 1."""
    try:
        out = conv_output_size(size, kernel_size, stride, padding)
    except ValueError as error:
        raise SpecError(f"{call.name}: {error}") from error
    if out >= 1:
        return out
    formula = _formula(size, kernel_size, stride, padding, out)
    if call.kind == "Conv2D":
        raise SpecError(
            f"{call.name} ({kernel_size}x{kernel_size}, stride {stride}, {padding} padding) gets a {size}x{size} "
            f"input, so its output would be {out}x{out} pixels: {formula}. "
            "Use 'same' padding, a smaller kernel or stride, less pooling, or fewer conv blocks."
        )
    raise SpecError(
        f"{call.name} ({call.detail}) gets a {size}x{size} input, so its output would be {out}x{out} pixels: "
        f"{formula}. Remove this pooling, use 'same' padding or a stride of 1 earlier, or fewer conv blocks."
    )


def _conv(call: LayerCall, shape: tuple[int, ...]) -> tuple[tuple[int, ...], int]:
    height, _, channels = shape
    kw = call.kwargs
    side = _side(call, height, kw["kernel_size"], kw["strides"], kw["padding"])
    return (side, side, kw["filters"]), kw["kernel_size"] ** 2 * channels * kw["filters"] + kw["filters"]


def _pool(call: LayerCall, shape: tuple[int, ...]) -> tuple[tuple[int, ...], int]:
    size = call.kwargs["pool_size"]
    side = _side(call, shape[0], size, size, "valid")
    return (side, side, shape[2]), 0


def _dense(call: LayerCall, shape: tuple[int, ...]) -> tuple[tuple[int, ...], int]:
    units = call.kwargs["units"]
    return (units,), shape[0] * units + units


#: Output shape (without the batch axis) and parameter count of each layer class, from its input shape.
_SHAPE_RULES: dict[str, Callable[[LayerCall, tuple[int, ...]], tuple[tuple[int, ...], int]]] = {
    "InputLayer": lambda call, shape: (tuple(call.kwargs["shape"]), 0),
    "Conv2D": _conv,
    "BatchNormalization": lambda call, shape: (shape, 4 * shape[-1]),  # 2 learned + 2 running per channel
    "MaxPooling2D": _pool,
    "AveragePooling2D": _pool,
    "Flatten": lambda call, shape: ((math.prod(shape),), 0),
    "Dropout": lambda call, shape: (shape, 0),
    "Dense": _dense,
}


def validate_spec(spec: ModelSpec, num_classes: int = 10) -> None:
    """Check that ``spec`` describes a model that can be built; return ``None`` if it does.

    Raises:
        SpecError: a setting is out of range, or the image shrinks below 1x1 pixel. In that case the
            message shows the output-size formula with the numbers and suggests a fix.
    """
    layer_table(spec, num_classes)


def layer_table(spec: ModelSpec, num_classes: int = 10) -> list[LayerRow]:
    """Return the model summary (one row per layer, input first) computed by shape arithmetic over the plan.

    Args:
        spec: the architecture.
        num_classes: units of the softmax output layer.

    Returns:
        Rows in model order, starting with the ``"input"`` row of shape (28, 28, 1) and ending with
        ``"predictions"`` of shape ``(num_classes,)``. Names and shapes match :func:`build_model`.

    Raises:
        SpecError: see :func:`validate_spec`.
    """
    rows = []
    shape: tuple[int, ...] = ()
    for call in layer_plan(spec, num_classes):
        detail = call.detail.format(*shape)
        shape, params = _SHAPE_RULES[call.kind](call, shape)
        rows.append(LayerRow(call.name, call.kind, shape, params, detail))
    return rows


def total_params(spec: ModelSpec, num_classes: int = 10) -> int:
    """Return the total number of parameters of the model (as Keras's ``count_params()``)."""
    return sum(row.params for row in layer_table(spec, num_classes))


def build_model(spec: ModelSpec, num_classes: int = 10, *, seed: int | None = None) -> keras.Model:
    """Build the (uncompiled) Functional Keras model described by ``spec``: the layers of :func:`layer_plan`.

    Args:
        spec: the architecture; validated first.
        num_classes: units of the softmax output layer.
        seed: if given, seed Python, NumPy and TensorFlow first so the initial weights are reproducible.

    Returns:
        A ``keras.Model`` named ``"cnnviz_cnn"``: input ``"input"`` (batch, 28, 28, 1) float32 in [0, 1],
        output ``"predictions"`` (batch, num_classes) softmax probabilities. Layer names are those of
        :func:`layer_table`.

    Raises:
        SpecError: the spec cannot be built (see :func:`validate_spec`).
    """
    validate_spec(spec, num_classes)
    import keras

    if seed is not None:
        keras.utils.set_random_seed(seed)
    first, *rest = layer_plan(spec, num_classes)
    inputs = keras.Input(**first.kwargs, dtype="float32", name=first.name)
    x = inputs
    for call in rest:
        x = getattr(keras.layers, call.kind)(**call.kwargs, name=call.name)(x)
    return keras.Model(inputs=inputs, outputs=x, name="cnnviz_cnn")
