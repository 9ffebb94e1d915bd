"""A small CNN described as data: the spec, its shape arithmetic, and the Keras model it builds.

The Train page turns sliders into a :class:`ModelSpec`. Everything a learner
sees before training (the summary table, the layer diagram, the parameter
count) is computed here by plain arithmetic, not by asking Keras, so that the
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
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - typing only
    import keras

    from cnnviz.train.loop import TrainConfig

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
    # Three small blocks (28 -> 14 -> 7 -> 3 pixels) reach about 98% on 8,000 MNIST images in about a minute
    # on 2 CPU cores; most of a CNN's parameters would otherwise sit in the first dense layer.
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


def conv_output_size(size: int, kernel_size: int, stride: int, padding: str) -> int:
    """Return the output side of a convolution (or pooling) along one axis.

    ``valid``: ``floor((size - kernel_size) / stride) + 1``, which can be < 1;
    ``same`` (TensorFlow's rule): ``ceil(size / stride)``.

    Raises:
        SpecError: a stride below 1 (the formula divides by it).
    """
    try:
        whole = int(stride) == stride and stride >= 1
    except (TypeError, ValueError, OverflowError):
        whole = False
    if not whole:
        raise SpecError(f"The stride must be a whole number of at least 1, got {stride!r}.")
    if padding == "same":
        return math.ceil(size / stride)
    return (size - kernel_size) // stride + 1


def _formula(size: int, kernel_size: int, stride: int, padding: str) -> str:
    out = conv_output_size(size, kernel_size, stride, padding)
    if padding == "same":
        return f"out = ceil(in / stride) = ceil({size} / {stride}) = {out}"
    return (
        f"out = floor((in + 2*pad - k) / stride) + 1 = floor(({size} + 2*0 - {kernel_size}) / {stride}) + 1 = {out}"
    )


def _check_int(value: Any, name: str, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise SpecError(f"{name} must be a whole number from {low} to {high}, got {value!r}.")


def _check_choice(value: Any, name: str, choices: Sequence[str]) -> None:
    if value not in choices:
        raise SpecError(f"{name} must be one of {list(choices)}, got {value!r}.")


def validate_spec(spec: ModelSpec, num_classes: int = 10) -> None:
    """Check that ``spec`` describes a model that can be built; return ``None`` if it does.

    Raises:
        SpecError: a setting is out of range, or the image shrinks below 1x1 pixel. In that case the
            message shows the output-size formula with the numbers and suggests a fix.
    """
    layer_table(spec, num_classes)


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


def layer_table(spec: ModelSpec, num_classes: int = 10) -> list[LayerRow]:
    """Return the model summary (one row per layer, input first) computed by shape arithmetic.

    Args:
        spec: the architecture.
        num_classes: units of the softmax output layer.

    Returns:
        Rows in model order, starting with the ``"input"`` row of shape (28, 28, 1) and ending with
        ``"predictions"`` of shape ``(num_classes,)``. Names and shapes match :func:`build_model`.

    Raises:
        SpecError: see :func:`validate_spec`.
    """
    _check_settings(spec, num_classes)
    height, width, channels = INPUT_SHAPE
    rows = [LayerRow("input", "InputLayer", INPUT_SHAPE, 0, "28x28 greyscale image, values in [0, 1]")]
    for index, block in enumerate(spec.conv_blocks, start=1):
        k, stride = block.kernel_size, block.stride
        new_height = conv_output_size(height, k, stride, block.padding)
        if new_height < 1:
            raise SpecError(
                f"conv_{index} ({k}x{k}, stride {stride}, {block.padding} padding) gets a {height}x{width} input, "
                f"so its output would be {new_height}x{new_height} pixels: {_formula(height, k, stride, block.padding)}. "
                "Use 'same' padding, a smaller kernel or stride, less pooling, or fewer conv blocks."
            )
        params = k * k * channels * block.filters + block.filters
        height = width = new_height
        channels = block.filters
        rows.append(
            LayerRow(
                f"conv_{index}",
                "Conv2D",
                (height, width, channels),
                params,
                f"{block.filters} filters {k}x{k}, stride {stride}, {block.padding}, {block.activation}",
            )
        )
        if spec.batch_norm:
            rows.append(
                LayerRow(f"bn_{index}", "BatchNormalization", (height, width, channels), 4 * channels,
                         "normalise each channel (2 learned + 2 running statistics per channel)")
            )
        if block.pooling != "none":
            size = block.pool_size
            new_height = conv_output_size(height, size, size, "valid")
            if new_height < 1:
                raise SpecError(
                    f"pool_{index} ({size}x{size} {block.pooling} pooling, stride {size}) gets a {height}x{width} "
                    f"input, so its output would be {new_height}x{new_height} pixels: "
                    f"{_formula(height, size, size, 'valid')}. "
                    "Remove this pooling, use 'same' padding or a stride of 1 earlier, or fewer conv blocks."
                )
            height = width = new_height
            kind = "MaxPooling2D" if block.pooling == "max" else "AveragePooling2D"
            rows.append(
                LayerRow(f"pool_{index}", kind, (height, width, channels), 0,
                         f"{size}x{size} {block.pooling} pooling, stride {size}")
            )
    features = height * width * channels
    rows.append(LayerRow("flatten", "Flatten", (features,), 0, f"{height}x{width}x{channels} maps -> one vector"))
    if spec.dropout > 0:
        rows.append(LayerRow("dropout", "Dropout", (features,), 0, f"drop {spec.dropout:.0%} while training"))
    inputs = features
    for index, units in enumerate(spec.dense_units, start=1):
        rows.append(
            LayerRow(f"dense_{index}", "Dense", (units,), inputs * units + units, f"{units} units, {spec.dense_activation}")
        )
        inputs = units
    rows.append(
        LayerRow("predictions", "Dense", (num_classes,), inputs * num_classes + num_classes,
                 f"{num_classes} classes, softmax")
    )
    return rows


def total_params(spec: ModelSpec, num_classes: int = 10) -> int:
    """Return the total number of parameters of the model (as Keras's ``count_params()``)."""
    return sum(row.params for row in layer_table(spec, num_classes))


def build_model(spec: ModelSpec, num_classes: int = 10, *, seed: int | None = None) -> keras.Model:
    """Build the (uncompiled) Functional Keras model described by ``spec``.

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
    inputs = keras.Input(shape=INPUT_SHAPE, dtype="float32", name="input")
    x = inputs
    for index, block in enumerate(spec.conv_blocks, start=1):
        x = keras.layers.Conv2D(
            block.filters,
            block.kernel_size,
            strides=block.stride,
            padding=block.padding,
            activation=block.activation,
            name=f"conv_{index}",
        )(x)
        if spec.batch_norm:
            x = keras.layers.BatchNormalization(name=f"bn_{index}")(x)
        if block.pooling == "max":
            x = keras.layers.MaxPooling2D(block.pool_size, name=f"pool_{index}")(x)
        elif block.pooling == "average":
            x = keras.layers.AveragePooling2D(block.pool_size, name=f"pool_{index}")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    if spec.dropout > 0:
        x = keras.layers.Dropout(spec.dropout, name="dropout")(x)
    for index, units in enumerate(spec.dense_units, start=1):
        x = keras.layers.Dense(units, activation=spec.dense_activation, name=f"dense_{index}")(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="predictions")(x)
    return keras.Model(inputs=inputs, outputs=outputs, name="cnnviz_cnn")


#: How the generated script loads each dataset, given the data-layer name.
_DATA_LOADERS: dict[str, str] = {
    "mnist": '''def load_data():
    """Return (x_train, y_train), (x_test, y_test): uint8 (N, 28, 28) images and int labels."""
    return keras.datasets.mnist.load_data()
''',
    "fashion_mnist": '''def load_data():
    """Return (x_train, y_train), (x_test, y_test): uint8 (N, 28, 28) images and int labels."""
    return keras.datasets.fashion_mnist.load_data()
''',
    "kmnist": '''KMNIST_URL = "http://codh.rois.ac.jp/kmnist/dataset/kmnist/"


def load_data():
    """Return (x_train, y_train), (x_test, y_test): uint8 (N, 28, 28) images and int labels."""
    arrays = []
    for part in ("train-imgs", "train-labels", "test-imgs", "test-labels"):
        path = keras.utils.get_file(f"kmnist-{part}.npz", KMNIST_URL + f"kmnist-{part}.npz")
        with np.load(path) as data:
            arrays.append(data["arr_0"])
    return (arrays[0], arrays[1]), (arrays[2], arrays[3])
''',
    "digits": '''def load_data():
    """Return (x_train, y_train), (x_test, y_test): scikit-learn's 8x8 digits scaled up to uint8 28x28."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    images = np.kron(digits.images / 16.0, np.ones((3, 3)))  # 8x8 -> 24x24
    images = np.pad(images, ((0, 0), (2, 2), (2, 2)))  # centred in 28x28
    images = (images * 255).round().astype("uint8")
    x_train, x_test, y_train, y_test = train_test_split(
        images, digits.target, test_size=0.2, random_state=0, stratify=digits.target
    )
    return (x_train, y_train), (x_test, y_test)
''',
}


def keras_code(
    spec: ModelSpec,
    config: TrainConfig | None = None,
    *,
    dataset: str = "mnist",
    num_classes: int = 10,
) -> str:
    """Return a runnable, self-contained Python script that builds and trains this model with plain Keras.

    The script defines ``load_data()``, ``build_model()`` and ``main()`` and only trains under
    ``if __name__ == "__main__"``, so it can also be imported.

    Args:
        spec: the architecture (validated).
        config: the training settings (:class:`cnnviz.train.loop.TrainConfig`); defaults if ``None``.
        dataset: which dataset ``load_data()`` downloads (``"mnist"``, ``"fashion_mnist"``, ``"kmnist"``,
            ``"digits"``).
        num_classes: units of the output layer.

    Raises:
        SpecError: the spec cannot be built, or the dataset is unknown.
    """
    validate_spec(spec, num_classes)
    if dataset not in _DATA_LOADERS:
        raise SpecError(f"No download recipe for dataset {dataset!r}; expected one of {sorted(_DATA_LOADERS)}.")
    if config is None:
        from cnnviz.train.loop import TrainConfig

        config = TrainConfig()

    model_lines = ['    inputs = keras.Input(shape=(28, 28, 1), name="input")', "    x = inputs"]
    for index, block in enumerate(spec.conv_blocks, start=1):
        model_lines.append(
            f"    x = layers.Conv2D({block.filters}, {block.kernel_size}, strides={block.stride}, "
            f'padding="{block.padding}", activation="{block.activation}", name="conv_{index}")(x)'
        )
        if spec.batch_norm:
            model_lines.append(f'    x = layers.BatchNormalization(name="bn_{index}")(x)')
        if block.pooling != "none":
            kind = "MaxPooling2D" if block.pooling == "max" else "AveragePooling2D"
            model_lines.append(f'    x = layers.{kind}({block.pool_size}, name="pool_{index}")(x)')
    model_lines.append('    x = layers.Flatten(name="flatten")(x)')
    if spec.dropout > 0:
        model_lines.append(f'    x = layers.Dropout({spec.dropout!r}, name="dropout")(x)')
    for index, units in enumerate(spec.dense_units, start=1):
        model_lines.append(
            f'    x = layers.Dense({units}, activation="{spec.dense_activation}", name="dense_{index}")(x)'
        )
    model_lines.append(
        '    outputs = layers.Dense(NUM_CLASSES, activation="softmax", name="predictions")(x)'
    )
    model_lines.append('    return keras.Model(inputs=inputs, outputs=outputs, name="cnnviz_cnn")')

    optimizer = {
        "adam": f"keras.optimizers.Adam(learning_rate={config.learning_rate!r})",
        "sgd": f"keras.optimizers.SGD(learning_rate={config.learning_rate!r}, momentum=0.9)",
        "rmsprop": f"keras.optimizers.RMSprop(learning_rate={config.learning_rate!r})",
        "adadelta": f"keras.optimizers.Adadelta(learning_rate={config.learning_rate!r})",
    }[config.optimizer]
    if config.early_stopping:
        callbacks = (
            "[\n        keras.callbacks.EarlyStopping(\n"
            f'            monitor="{"val_loss" if config.validation_split > 0 else "loss"}", '
            f"patience={config.patience}, restore_best_weights={config.restore_best_weights}\n"
            "        )\n    ]"
        )
    else:
        callbacks = "[]"
    validation = (
        "validation_split=VALIDATION_SPLIT," if config.validation_split > 0 else "# no validation split"
    )

    return f'''"""Train a small CNN on {dataset} with plain Keras: the model designed on cnnviz's Train page.

Run with:  python train_cnn.py   (needs tensorflow and keras; downloads the dataset on first use)
"""

import numpy as np
import keras
from keras import layers

NUM_CLASSES = {num_classes}
TRAIN_SIZE = {config.train_size}  # a random subset keeps training short
VALIDATION_SPLIT = {config.validation_split!r}
BATCH_SIZE = {config.batch_size}
EPOCHS = {config.epochs}
SEED = {config.seed}


{_DATA_LOADERS[dataset]}

def build_model():
    """Return the Functional model: (batch, 28, 28, 1) float32 in [0, 1] -> (batch, NUM_CLASSES) probabilities."""
{chr(10).join(model_lines)}


def main():
    keras.utils.set_random_seed(SEED)
    (x_train, y_train), (x_test, y_test) = load_data()
    # Scale pixels to [0, 1] and add the channel axis: (N, 28, 28) uint8 -> (N, 28, 28, 1) float32.
    x_train = (x_train.astype("float32") / 255.0)[..., np.newaxis]
    x_test = (x_test.astype("float32") / 255.0)[..., np.newaxis]
    # Train on a random subset so that one run takes about a minute on a laptop.
    subset = np.random.default_rng(SEED).permutation(len(x_train))[:TRAIN_SIZE]
    x_train, y_train = x_train[subset], y_train[subset]

    model = build_model()
    model.summary()
    model.compile(
        optimizer={optimizer},
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    model.fit(
        x_train,
        y_train,
        batch_size=BATCH_SIZE,
        epochs=EPOCHS,
        {validation}
        callbacks={callbacks},
    )
    test_loss, test_accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"Test loss {{test_loss:.4f}}, test accuracy {{test_accuracy:.2%}}")
    model.save("cnn.keras")


if __name__ == "__main__":
    main()
'''
