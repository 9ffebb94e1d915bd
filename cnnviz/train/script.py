"""The "equivalent Keras script": the Train page's model, data and training as one standalone Python file.

:func:`keras_code` writes the layers of :func:`cnnviz.train.spec.layer_plan` as Functional Keras code,
and a data loader that reproduces the studio's own, so the learner's copy trains on the same images
with the same split:

* ``"digits"``: scikit-learn's 8x8 digits framed MNIST-style (crop to the ink, scale into a 20x20
  box with Pillow's bilinear filter, centre of mass at (14, 14) in 28x28), as
  :func:`cnnviz.core.framing.normalise_digit` does, then the stratified split of
  :func:`cnnviz.core.datasets.stratified_split` (20% test, seed 0);
* MNIST, Fashion-MNIST, KMNIST: the official files (downloaded, or read from a folder given as
  ``DATA_DIR``); when the studio only had the official test split, the script splits that split
  the same way (``SPLIT_OF_TEST``);
* then the seeded training subset and validation part of :func:`cnnviz.train.loop.prepare_data`.

:func:`script_parts` gives the same code section by section (:class:`ScriptParts`): :func:`keras_code`
joins it into one file, :mod:`cnnviz.train.notebook` into notebook cells.

The script needs NumPy and Keras (and TensorFlow), plus scikit-learn and Pillow for the digits;
it never imports cnnviz. ``tests/unit/train/test_script.py`` runs its loader against
:func:`cnnviz.core.datasets.load_dataset` byte for byte. Importing this module does not import
TensorFlow.
"""

from __future__ import annotations

import inspect
import json
import textwrap
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cnnviz.train import datalab
from cnnviz.train.loop import optimizer_call
from cnnviz.train.spec import SpecError, layer_plan, validate_spec

if TYPE_CHECKING:  # pragma: no cover - typing only
    from cnnviz.train.loop import TrainConfig

#: Datasets the script can load, with the Keras loader of those Keras ships.
SCRIPT_DATASETS: tuple[str, ...] = ("mnist", "fashion_mnist", "kmnist", "digits")

_STRATIFIED_SPLIT = '''

def stratified_split(labels, test_fraction=0.2, seed=0):
    """Indices (train, test), each sorted: per class, a seeded shuffle puts round(20%) into test.

    The studio's own split (cnnviz.core.datasets.stratified_split), copied so the split is the same.
    """
    rng = np.random.default_rng(seed)
    train_parts, test_parts = [], []
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        n_test = int(round(len(members) * test_fraction))
        test_parts.append(members[:n_test])
        train_parts.append(members[n_test:])
    return np.sort(np.concatenate(train_parts)), np.sort(np.concatenate(test_parts))
'''

_FRAME_DIGIT = '''

def frame_like_mnist(ink):
    """(28, 28) float32 in [0, 1]: the ink cropped, scaled into a 20x20 box, centre of mass at (14, 14).

    This is how MNIST's digits were made, and how the studio frames the 8x8 digits
    (cnnviz.core.framing.normalise_digit).
    """
    ink = np.clip(np.asarray(ink, dtype=np.float64), 0.0, None)
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    ink = ink[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    # Scale the longer side to 20 pixels (anti-aliased), brightest pixel 1.
    height, width = ink.shape
    factor = 20 / max(height, width)
    new_height = max(1, min(20, round(height * factor)))
    new_width = max(1, min(20, round(width * factor)))
    picture = Image.fromarray((ink / ink.max()).astype(np.float32), mode="F")
    scaled = np.asarray(picture.resize((new_width, new_height), Image.Resampling.BILINEAR), dtype=np.float32)
    scaled = np.clip(scaled, 0.0, None)
    scaled = (scaled / float(scaled.max())).astype(np.float32)
    # Paste into 28x28, shifted by whole pixels so the centre of mass lands on (14, 14).
    mass = scaled.astype(np.float64)
    total = float(mass.sum())
    row = float((mass.sum(axis=1) * np.arange(new_height, dtype=np.float64)).sum() / total)
    col = float((mass.sum(axis=0) * np.arange(new_width, dtype=np.float64)).sum() / total)
    top = int(np.clip(round(14.0 - row), 0, 28 - new_height))
    left = int(np.clip(round(14.0 - col), 0, 28 - new_width))
    field = np.zeros((28, 28), dtype=np.float32)
    field[top:top + new_height, left:left + new_width] = mass
    return field
'''

_DIGITS_LOADER = '''

def load_data(data_dir=DATA_DIR):
    """Return (x_train, y_train), (x_test, y_test): uint8 (N, 28, 28) images, int64 labels.

    scikit-learn's 1,797 bundled 8x8 digits, framed like MNIST, split 80/20 by class.
    """
    digits = load_digits()
    images = np.stack([frame_like_mnist(image.astype(np.float32) / 16.0) for image in digits.images])
    images = np.clip(np.rint(images * 255.0), 0, 255).astype(np.uint8)
    labels = digits.target.astype(np.int64)
    train, test = stratified_split(labels)
    return (images[train], labels[train]), (images[test], labels[test])
'''

_READ_IDX = '''

def read_idx(path):
    """The uint8 array in an IDX file (.gz or not), the format of the official files."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as handle:
        raw = handle.read()
    ndim = raw[3]
    shape = struct.unpack(f">{ndim}I", raw[4:4 + 4 * ndim])
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def first_file(folder, name):
    """``folder/name`` or ``folder/name.gz``, whichever exists."""
    for candidate in (Path(folder) / f"{name}.gz", Path(folder) / name):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"No {name}(.gz) in {folder}")
'''

_OFFICIAL_SPLIT = {
    "mnist": '''

def read_split(data_dir, part):
    """(images, labels) of the official "train" or "test" split: downloaded, or read from data_dir."""
    if data_dir is None:
        (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
        images, labels = (x_train, y_train) if part == "train" else (x_test, y_test)
    elif (Path(data_dir) / "mnist.npz").is_file():
        with np.load(Path(data_dir) / "mnist.npz") as data:
            images, labels = data[f"x_{part}"], data[f"y_{part}"]
    else:
        prefix = "train" if part == "train" else "t10k"
        images = read_idx(first_file(data_dir, f"{prefix}-images-idx3-ubyte"))
        labels = read_idx(first_file(data_dir, f"{prefix}-labels-idx1-ubyte"))
    return np.asarray(images), np.asarray(labels).astype(np.int64)
''',
    "fashion_mnist": '''

def read_split(data_dir, part):
    """(images, labels) of the official "train" or "test" split: downloaded, or read from data_dir."""
    if data_dir is None:
        (x_train, y_train), (x_test, y_test) = keras.datasets.fashion_mnist.load_data()
        images, labels = (x_train, y_train) if part == "train" else (x_test, y_test)
    else:
        prefix = "train" if part == "train" else "t10k"
        images = read_idx(first_file(data_dir, f"{prefix}-images-idx3-ubyte"))
        labels = read_idx(first_file(data_dir, f"{prefix}-labels-idx1-ubyte"))
    return np.asarray(images), np.asarray(labels).astype(np.int64)
''',
    "kmnist": '''
KMNIST_URL = "http://codh.rois.ac.jp/kmnist/dataset/kmnist/"


def read_split(data_dir, part):
    """(images, labels) of the official "train" or "test" split: downloaded, or read from data_dir."""
    arrays = []
    for kind in ("imgs", "labels"):
        name = f"kmnist-{part}-{kind}.npz"
        path = Path(data_dir) / name if data_dir is not None else keras.utils.get_file(name, KMNIST_URL + name)
        with np.load(path) as data:
            arrays.append(data["arr_0"])
    return np.asarray(arrays[0]), np.asarray(arrays[1]).astype(np.int64)
''',
}

_OFFICIAL_LOADER = '''

def load_data(data_dir=DATA_DIR):
    """Return (x_train, y_train), (x_test, y_test): uint8 (N, 28, 28) images, int64 labels."""
    if SPLIT_OF_TEST:
        images, labels = read_split(data_dir, "test")
        train, test = stratified_split(labels)
        return (images[train], labels[train]), (images[test], labels[test])
    return read_split(data_dir, "train"), read_split(data_dir, "test")
'''


def _value(value: Any) -> str:
    """Python source for a layer argument: strings in double quotes, the rest as ``repr``."""
    return json.dumps(value) if isinstance(value, str) else repr(value)


def _call(kind: str, kwargs: dict[str, Any], name: str) -> str:
    arguments = [f"{key}={_value(value)}" for key, value in kwargs.items()] + [f'name="{name}"']
    return f"layers.{kind}({', '.join(arguments)})"


@dataclass(frozen=True)
class ScriptParts:
    """The generated code, section by section, in the order a reader needs it.

    :func:`keras_code` joins the parts into one script (the statements become the body of ``main()``);
    :func:`cnnviz.train.notebook.design_notebook` gives each part a cell with a markdown explanation. One
    source for both, so the notebook and the script cannot drift apart.

    Attributes:
        dataset: the dataset name; ``data_note`` where the script's data comes from, in words.
        imports: the import lines.
        settings: the constants (``DATA_DIR``, ``SPLIT_OF_TEST`` for the official datasets, ``TRAIN_SIZE``,
            ``VALIDATION_SPLIT``, ``BATCH_SIZE``, ``EPOCHS``, ``SEED``).
        loader: helper functions and ``load_data(data_dir=DATA_DIR)``.
        prepare: ``prepare(x_train, y_train, x_test, y_test)``: the subset, validation part and scaling.
        model: ``build_model()``.
        schedule: ``cosine_learning_rate(epoch, current_rate)`` when the learning rate follows the cosine
            schedule (``LEARNING_RATE`` is then a setting too), else empty.
        load, split, build, compile, fit, evaluate: the statements of one run, unindented, in order; they
            use ``data_dir`` and leave ``model``, ``history``, ``test_loss`` and ``test_accuracy`` defined.
    """

    dataset: str
    data_note: str
    imports: str
    settings: str
    loader: str
    prepare: str
    model: str
    schedule: str
    load: str
    split: str
    build: str
    compile: str
    fit: str
    evaluate: str

    @property
    def statements(self) -> tuple[str, ...]:
        """The statements of one run, in order: load, split, build, compile, fit, evaluate."""
        return (self.load, self.split, self.build, self.compile, self.fit, self.evaluate)


_PREPARE = '''
def prepare(x_train, y_train, x_test, y_test):
    """The seeded training subset, its last VALIDATION_SPLIT as validation, pixels scaled to [0, 1].

    Returns (x_train, y_train), (x_val, y_val), (x_test, y_test) with float32 (N, 28, 28, 1) images.
    """
    count = min(TRAIN_SIZE, len(x_train))
    subset = np.random.default_rng(SEED).permutation(len(x_train))[:count]
    x = (x_train[subset].astype(np.float32) / np.float32(255.0))[..., np.newaxis]
    y = y_train[subset].astype(np.int64)
    val_count = int(round(VALIDATION_SPLIT * count))
    if VALIDATION_SPLIT > 0:
        val_count = min(max(val_count, 1), count - 1)
    split = count - val_count
    x_test = (x_test.astype(np.float32) / np.float32(255.0))[..., np.newaxis]
    return (x[:split], y[:split]), (x[split:], y[split:]), (x_test, y_test.astype(np.int64))
'''

# The cosine learning-rate schedule, epoch by epoch (Keras's LearningRateScheduler calls it before each epoch).
_COSINE_SCHEDULE = '''def cosine_learning_rate(epoch, current_rate):
    """The learning rate of epoch 0, 1, ...: the full rate first, then down half a cosine wave towards 0."""
    return float(LEARNING_RATE * (1 + np.cos(np.pi * epoch / EPOCHS)) / 2)
'''

# With the data lab on, prepare() ends by damaging the training part (validation and test keep the truth).
_DAMAGED_RETURN = '''    x_train, y_train = damage_training_data(
        x[:split], y[:split], label_noise=LABEL_NOISE, imbalance_classes=IMBALANCE_CLASSES,
        imbalance_keep=IMBALANCE_KEEP, num_classes=NUM_CLASSES, seed=SEED,
    )
    return (x_train, y_train), (x[split:], y[split:]), (x_test, y_test.astype(np.int64))
'''


def _datalab_parts(config: TrainConfig, num_classes: int) -> tuple[str, str]:
    """The settings lines and the ``prepare`` code of a script whose training data the data lab damages.

    The damage functions are :mod:`cnnviz.train.datalab`'s own source (NumPy only), so the script damages the
    data exactly as :func:`cnnviz.train.loop.prepare_data` does.
    """
    settings = (
        "# The data lab: damage the training part on purpose (validation and test keep their true labels).\n"
        f"LABEL_NOISE = {config.label_noise!r}  # share of training labels replaced with a different class\n"
        f"IMBALANCE_CLASSES = {tuple(config.imbalance_classes)!r}  # these classes keep only IMBALANCE_KEEP of "
        "their images\n"
        f"IMBALANCE_KEEP = {config.imbalance_keep!r}\n"
        f"NUM_CLASSES = {num_classes}\n"
    )
    functions = (datalab.noisy_labels, datalab.imbalanced_indices, datalab.damage_training_data)
    damage = "\n\n".join(inspect.getsource(function) for function in functions)
    body, _, _ = _PREPARE.rpartition("    return ")
    return settings, damage + "\n" + body + _DAMAGED_RETURN


def script_parts(
    spec: Any,
    config: TrainConfig | None = None,
    *,
    dataset: str = "mnist",
    num_classes: int = 10,
    split_of_test: bool = False,
) -> ScriptParts:
    """Return the sections of the generated code (:class:`ScriptParts`); the arguments are :func:`keras_code`'s.

    Raises:
        SpecError: the spec cannot be built, or the dataset is unknown.
    """
    validate_spec(spec, num_classes)
    if dataset not in SCRIPT_DATASETS:
        raise SpecError(f"No download recipe for dataset {dataset!r}; expected one of {sorted(SCRIPT_DATASETS)}.")
    if config is None:
        from cnnviz.train.loop import TrainConfig

        config = TrainConfig()

    first, *rest = layer_plan(spec, num_classes)
    model_lines = [f'    inputs = keras.Input(shape={first.kwargs["shape"]!r}, name="{first.name}")', "    x = inputs"]
    model_lines += [f"    x = {_call(call.kind, dict(call.kwargs), call.name)}(x)" for call in rest]
    model_lines.append('    return keras.Model(inputs=inputs, outputs=x, name="cnnviz_cnn")')
    model = (
        "\ndef build_model():\n"
        f'    """Return the Functional model: (batch, 28, 28, 1) float32 in [0, 1] -> (batch, {num_classes}) '
        'probabilities."""\n' + "\n".join(model_lines) + "\n"
    )

    kind, arguments = optimizer_call(config.optimizer, config.learning_rate)
    optimizer = f"keras.optimizers.{kind}({', '.join(f'{key}={value!r}' for key, value in arguments.items())})"
    callback_calls = []
    if config.early_stopping:
        callback_calls.append(
            "keras.callbacks.EarlyStopping(\n"
            f'            monitor="{"val_loss" if config.validation_split > 0 else "loss"}", '
            f"patience={config.patience}, restore_best_weights={config.restore_best_weights}\n"
            "        )"
        )
    schedule = ""
    if config.lr_schedule == "cosine":
        # The studio's schedule (cnnviz.train.loop.scheduled_learning_rate), the same operations in the same order.
        schedule = _COSINE_SCHEDULE
        callback_calls.append("keras.callbacks.LearningRateScheduler(cosine_learning_rate)")
    callbacks = ("[\n" + "".join(f"        {call},\n" for call in callback_calls) + "    ]") if callback_calls else "[]"

    if dataset == "digits":
        imports = "import keras\nimport numpy as np\nfrom keras import layers\nfrom PIL import Image\n" \
            "from sklearn.datasets import load_digits\n"
        loader = _STRATIFIED_SPLIT + _FRAME_DIGIT + _DIGITS_LOADER
        data_note = "scikit-learn's bundled digits (needs scikit-learn and pillow)"
        split_line = ""
    else:
        imports = "import gzip\nimport struct\nfrom pathlib import Path\n\nimport keras\nimport numpy as np\n" \
            "from keras import layers\n"
        loader = _STRATIFIED_SPLIT + _READ_IDX + _OFFICIAL_SPLIT[dataset] + _OFFICIAL_LOADER
        data_note = "downloads the dataset on first use, or reads the official files from DATA_DIR"
        split_line = (
            "# True: like the studio, which found only the official test split, divide that split 80/20 by class.\n"
            f"SPLIT_OF_TEST = {bool(split_of_test)}\n"
        )
    prepare = _PREPARE
    if datalab.datalab_active(config):
        # The damage functions are annotated with Sequence, evaluated when the script defines them.
        sequence = "from collections.abc import Sequence\n"
        imports = (sequence + "\n" + imports if dataset == "digits"
                   else imports.replace("from pathlib", sequence + "from pathlib"))
        datalab_settings, prepare = _datalab_parts(config, num_classes)
    else:
        datalab_settings = ""
    settings = (
        "# A folder with the dataset's official files (as the studio reads them); None downloads them.\n"
        "DATA_DIR = None\n"
        f"{split_line}TRAIN_SIZE = {config.train_size}  # a random subset keeps training short\n"
        f"VALIDATION_SPLIT = {config.validation_split!r}\n"
        + (f"LEARNING_RATE = {config.learning_rate!r}  # the first epoch's; cosine decay lowers it epoch by epoch\n"
           if schedule else "")
        + f"BATCH_SIZE = {config.batch_size}\n"
        f"EPOCHS = {config.epochs}\n"
        f"SEED = {config.seed}\n"
        f"{datalab_settings}"
    )
    return ScriptParts(
        dataset=dataset,
        data_note=data_note,
        imports=imports,
        settings=settings,
        loader=loader.lstrip("\n"),
        prepare=prepare.lstrip("\n"),
        model=model.lstrip("\n"),
        load="(x_train, y_train), (x_test, y_test) = load_data(data_dir)\n",
        split="(x_train, y_train), (x_val, y_val), (x_test, y_test) = prepare(x_train, y_train, x_test, y_test)\n",
        build="keras.utils.set_random_seed(SEED)\nmodel = build_model()\nmodel.summary()\n",
        schedule=schedule,
        compile=(
            "keras.utils.set_random_seed(SEED)\n"
            "model.compile(\n"
            f"    optimizer={optimizer},\n"
            '    loss="sparse_categorical_crossentropy",\n'
            '    metrics=["accuracy"],\n'
            ")\n"
        ),
        fit=(
            "history = model.fit(\n"
            "    x_train,\n"
            "    y_train,\n"
            "    batch_size=BATCH_SIZE,\n"
            "    epochs=EPOCHS,\n"
            "    validation_data=(x_val, y_val) if len(x_val) else None,\n"
            "    shuffle=True,\n"
            f"    callbacks={callbacks},\n"
            ")\n"
        ),
        evaluate=(
            "test_loss, test_accuracy = model.evaluate(x_test, y_test, verbose=0)\n"
            'print(f"Test loss {test_loss:.4f}, test accuracy {test_accuracy:.2%}")\n'
        ),
    )


def _top_level(definition: str) -> str:
    """An optional top-level definition with its two blank lines before and after; empty stays empty."""
    return f"\n{definition}\n" if definition else ""


def keras_code(
    spec: Any,
    config: TrainConfig | None = None,
    *,
    dataset: str = "mnist",
    num_classes: int = 10,
    split_of_test: bool = False,
) -> str:
    """Return a runnable, self-contained Python script that loads the data and trains this model with plain Keras.

    The script defines ``load_data(data_dir=DATA_DIR)``, ``prepare(...)``, ``build_model()`` and
    ``main()`` (which returns the Keras ``History``) and only trains under ``if __name__ == "__main__"``, so it
    can also be imported.

    Args:
        spec: the architecture (a :class:`cnnviz.train.spec.ModelSpec`; validated).
        config: the training settings (:class:`cnnviz.train.loop.TrainConfig`); defaults if ``None``.
        dataset: which dataset ``load_data()`` loads (one of :data:`SCRIPT_DATASETS`).
        num_classes: units of the output layer.
        split_of_test: the studio had only the dataset's official test split and divided it
            (:attr:`cnnviz.core.datasets.Dataset.split_from_test`); the script does the same.

    Raises:
        SpecError: the spec cannot be built, or the dataset is unknown.
    """
    parts = script_parts(spec, config, dataset=dataset, num_classes=num_classes, split_of_test=split_of_test)
    body = textwrap.indent("".join(parts.statements) + 'model.save("cnn.keras")\nreturn history\n', "    ")
    return f'''"""Train a small CNN on {dataset} with plain Keras: the model designed on cnnviz's Train page.

Run with:  python train_cnn.py   (needs numpy, tensorflow and keras)
Data: {parts.data_note}.
The data, the split, the training subset and the model are the ones the studio uses.
"""

{parts.imports}
{parts.settings}

{parts.loader}

{parts.prepare}

{parts.model}
{_top_level(parts.schedule)}
def main(data_dir=DATA_DIR):
{body}

if __name__ == "__main__":
    main()
'''
