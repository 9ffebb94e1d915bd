"""Notebook export: the Train page's run as a Jupyter notebook that reproduces it outside the studio.

:func:`design_notebook` builds the notebook from the sections of the generated Keras script
(:func:`cnnviz.train.script.script_parts`), so the notebook loads and splits the data exactly as the
studio does (the official test split divided when that is all the studio had), builds the same
Functional model, compiles it with the same optimizer, seeds it the same way and trains it with the same
callbacks; then it prints the test accuracy and draws the loss and accuracy curves. Every code cell
follows a markdown cell that explains the step in the studio's words.

``python -m cnnviz notebook DESIGN.json -o run.ipynb [--dataset NAME]`` writes one from a design file
(the ``spec`` and ``train_config`` of a model sidecar in ``models/``); :func:`add_cli_arguments` and
:func:`run_cli` are that command.

Importing this module imports neither TensorFlow nor Streamlit.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from cnnviz.core.datasets import DATASETS
from cnnviz.core.records import describe_datalab
from cnnviz.train.script import SCRIPT_DATASETS, script_parts
from cnnviz.train.spec import ModelSpec, SpecError, layer_table

if TYPE_CHECKING:  # pragma: no cover - typing only
    from cnnviz.train.loop import TrainConfig

#: The ids of the code cells, in order (nbformat 4.5 cell ids): a reader or a test finds a step by its id.
CODE_CELL_IDS: tuple[str, ...] = (
    "imports", "settings", "load-data", "prepare", "model", "compile", "fit", "evaluate", "curves",
)

#: The curves cell: matplotlib when the kernel has it (most Jupyter installs), else Plotly (the studio's own).
_CURVES = '''\
metrics = history.history
epochs = list(range(1, len(metrics["loss"]) + 1))
try:
    import matplotlib.pyplot as plt
except ImportError:  # no matplotlib in this kernel: draw the same two charts with Plotly
    plt = None

if plt is not None:
    figure, (loss_axis, accuracy_axis) = plt.subplots(1, 2, figsize=(11, 4))
    for axis, metric in ((loss_axis, "loss"), (accuracy_axis, "accuracy")):
        axis.plot(epochs, metrics[metric], "o-", label="training")
        if f"val_{metric}" in metrics:
            axis.plot(epochs, metrics[f"val_{metric}"], "o--", label="validation")
        axis.set_xlabel("epoch")
        axis.set_ylabel(metric)
        axis.legend()
    plt.show()
else:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    figure = make_subplots(rows=1, cols=2, subplot_titles=("loss", "accuracy"))
    for column, metric in ((1, "loss"), (2, "accuracy")):
        figure.add_trace(go.Scatter(x=epochs, y=metrics[metric], name=f"training {metric}"), row=1, col=column)
        if f"val_{metric}" in metrics:
            figure.add_trace(go.Scatter(x=epochs, y=metrics[f"val_{metric}"], name=f"validation {metric}",
                                        line={"dash": "dash"}), row=1, col=column)
    figure.update_xaxes(title_text="epoch")
    figure.update_layout(height=380)
    figure.show()
'''


#: The official files each dataset's loader reads, in words.
_OFFICIAL_FILES = {
    "mnist": "Keras's `mnist.npz`, or the four IDX files `train-images-idx3-ubyte.gz` ... `t10k-labels-idx1-ubyte.gz`",
    "fashion_mnist": "the four IDX files `train-images-idx3-ubyte.gz` ... `t10k-labels-idx1-ubyte.gz`",
    "kmnist": "`kmnist-train-imgs.npz`, `kmnist-train-labels.npz`, `kmnist-test-imgs.npz`, `kmnist-test-labels.npz` "
              "from CODH",
}
#: How the Train page names the optimizers, and what each does, in a sentence.
_OPTIMIZERS = {
    "adam": ("Adam", "it adapts a step size per weight and usually works out of the box"),
    "sgd": ("SGD with momentum 0.9", "the classic method, each step following the gradient smoothed over the "
            "last steps"),
    "rmsprop": ("RMSprop", "it scales each weight's step by its recent gradients"),
    "adadelta": ("Adadelta", "it adapts each weight's step from a running average of its updates"),
}


def _data_markdown(dataset: str, split_of_test: bool, data_dir: str | None) -> str:
    info = DATASETS[dataset]
    where = (
        "scikit-learn ships these digits, so nothing is downloaded. The studio frames each 8x8 digit like MNIST "
        "(the ink cropped, scaled into a 20x20 box, its centre of mass moved to the middle of 28x28) and keeps "
        "20% of every class for testing (a seeded, stratified split: seed 0)."
        if dataset == "digits" else
        f"`load_data()` reads the official files ({_OFFICIAL_FILES.get(dataset, 'the official files')}) from "
        "`DATA_DIR`, as the studio reads them, or, when `DATA_DIR` is `None`, downloads them."
    )
    if split_of_test:
        where += (
            "\n\nThe studio found only the dataset's official **test** split, so it divided that split by class "
            "into 80% training and 20% test images (seed 0); `SPLIT_OF_TEST = True` makes this notebook do the "
            "same. Accuracies are then measured on 20% of that split, not on the official test set."
        )
    folder = f" The settings below read the files from `{data_dir}`." if data_dir else ""
    return (
        f"## 1. The data: {info.title}\n\n{info.description}\n\n{where}{folder}\n\n"
        "Every image is a 28x28 grid of grey levels, 0 (background) to 255 (ink), with one label per image. "
        f"*{info.citation}*"
    )


def _datalab_markdown(config: TrainConfig) -> str:
    """A paragraph on the data lab's damage to the training part, or ``""`` for clean data."""
    damage = describe_datalab(config)
    if damage == "clean":
        return ""
    return (f"\n\n**The data lab is on**: the training part is damaged on purpose ({damage}), with the studio's "
            "own functions. The validation and test images keep their true labels and their class balance, so "
            "they measure how well the network learned the true task despite the damage.")


def _design_markdown(spec: ModelSpec, num_classes: int) -> str:
    rows = layer_table(spec, num_classes)
    table = ["| layer | type | output shape | parameters | settings |", "|---|---|---|---:|---|"]
    table += [f"| {row.name} | {row.kind} | {' x '.join(map(str, row.output_shape))} | {row.params:,} | "
              f"{row.detail} |" for row in rows]
    total = sum(row.params for row in rows)
    return (
        "## 3. The design\n\nThe network you designed on the Train page, layer by layer, as a Functional Keras "
        "model with every layer named as in the studio. Convolutions find small patterns (edges and strokes "
        "first, larger shapes in later blocks); pooling summarises each 2x2 window; flatten turns the feature "
        "maps into one long vector; dropout switches off a random share of it while training, so the network "
        "cannot rely on any single feature; dense layers combine the features; the softmax output gives one "
        "probability per class.\n\n" + "\n".join(table) + f"\n\n**{total:,} parameters**: every weight and bias "
        "the optimizer adjusts (plus batch-norm running statistics)."
    )


def _compile_markdown(config: TrainConfig) -> str:
    name, what = _OPTIMIZERS.get(config.optimizer, (config.optimizer, "the chosen optimizer"))
    return (
        f"## 4. How it learns: optimizer and loss\n\nThe optimizer is **{name}** with learning rate "
        f"**{config.learning_rate:g}**: {what}. The learning rate is the size of each update step: too small and "
        "learning crawls, too large and the loss jumps around or becomes NaN. The loss is the cross-entropy of "
        "integer labels (`sparse_categorical_crossentropy`); accuracy is the share of images classified correctly."
        + (f"\n\nThe learning rate follows a **cosine decay** schedule: `cosine_learning_rate` gives each epoch's "
           f"rate, the full {config.learning_rate:g} in the first epoch, then down half a cosine wave to a few percent "
           "of it in the last, so the big early steps get close to a good minimum and the small late ones settle "
           "in it. Keras's `LearningRateScheduler` callback applies it before every epoch."
           if config.lr_schedule == "cosine" else "")
        + f"\n\nThe seed (**{config.seed}**) fixes the initial weights, the choice of training images and their "
        "shuffling: the same seed and settings give the same run, so you can change one thing at a time."
    )


def _fit_markdown(config: TrainConfig) -> str:
    if config.early_stopping:
        watched = "validation loss" if config.validation_split > 0 else "training loss (there is no validation part)"
        restore = (" and then ends with the weights of the best epoch" if config.restore_best_weights else "")
        callbacks = (f"**Early stopping** watches the {watched}: it stops when it has not improved for "
                     f"{config.patience} epoch{'s' if config.patience != 1 else ''}{restore}.")
    else:
        callbacks = "Early stopping is off: all epochs run."
    return (
        f"## 5. Training\n\n**{config.epochs}** epoch{'s' if config.epochs != 1 else ''} (passes over the training "
        f"images) in batches of **{config.batch_size}** images: each batch's average gradient makes one update. "
        f"After every epoch the held-out validation images measure how well the network generalises. {callbacks}\n\n"
        "On a laptop's CPU this takes about as long as in the studio; a GPU is faster."
    )


def design_notebook(
    spec: ModelSpec,
    config: TrainConfig | None = None,
    dataset_name: str = "mnist",
    *,
    num_classes: int = 10,
    split_of_test: bool = False,
    data_dir: str | None = None,
) -> nbformat.NotebookNode:
    """Return a Jupyter notebook (nbformat 4) that reproduces the Train page's run of ``spec`` and ``config``.

    Code cells, each after a markdown cell that explains it (ids in :data:`CODE_CELL_IDS`): imports, settings,
    data loading and the studio's split, the seeded subset and validation part, the model, compile (optimizer
    and seed), fit (the same callbacks), the test accuracy, and the loss and accuracy curves. After it runs,
    the kernel holds ``x_train``, ``y_train``, ``x_val``, ``y_val``, ``x_test``, ``y_test`` (float32
    (N, 28, 28, 1) in [0, 1] and int64 labels, as :func:`cnnviz.train.loop.prepare_data` returns them),
    ``model``, ``history``, ``test_loss`` and ``test_accuracy``.

    Args:
        spec: the architecture (validated).
        config: the training settings; defaults if ``None``.
        dataset_name: one of :data:`cnnviz.train.script.SCRIPT_DATASETS`.
        num_classes: units of the output layer.
        split_of_test: the studio had only the official test split and divided it; the notebook does the same.
        data_dir: a folder with the dataset's official files, written into the ``DATA_DIR`` setting (``None``:
            download them).

    Raises:
        SpecError: the spec cannot be built, or the dataset is unknown.
    """
    parts = script_parts(spec, config, dataset=dataset_name, num_classes=num_classes, split_of_test=split_of_test)
    if config is None:
        from cnnviz.train.loop import TrainConfig

        config = TrainConfig()
    settings = parts.settings
    if data_dir is not None:
        settings = settings.replace("DATA_DIR = None\n", f"DATA_DIR = {json.dumps(str(data_dir))}\n", 1)
    title = DATASETS[dataset_name].title
    validation = (f"the last {config.validation_split:.0%} of them validate after every epoch"
                  if config.validation_split > 0 else "none are held out for validation (validation split 0)")
    steps: list[tuple[str, str, str]] = [
        ("imports", (
            f"# A CNN on {title}, exported from cnnviz\n\n"
            "This notebook reproduces a run of cnnviz's **Train** page with plain Keras: the same images, the same "
            "split, the same network, optimizer, seed and callbacks. It never imports cnnviz. Run the cells from "
            "top to bottom (*Run All*). It needs NumPy, TensorFlow and Keras"
            + (", scikit-learn and Pillow" if dataset_name == "digits" else "") + "."
        ), parts.imports),
        ("settings", (
            "The settings of the run, as chosen on the Train page. Change one, run all cells again, and compare: "
            "that is how the studio is meant to be used."
        ), settings),
        ("load-data", _data_markdown(dataset_name, split_of_test, data_dir),
         parts.loader + "\n\ndata_dir = DATA_DIR\n" + parts.load
         + 'print(f"{len(x_train):,} training and {len(x_test):,} test images of shape {x_train.shape[1:]}")\n'),
        ("prepare", (
            f"## 2. The split\n\nA seeded random subset of at most **{config.train_size:,}** training images keeps "
            f"training short; {validation}: the network never learns from them, so their loss shows whether it "
            "generalises instead of memorising. The test images are kept apart until the end. Pixels are scaled "
            "from 0-255 to 0-1 and get a channel axis: (N, 28, 28, 1) float32, what the model takes."
            + _datalab_markdown(config)
        ), parts.prepare + "\n\n" + parts.split
         + 'print(f"train {len(x_train):,} · validation {len(x_val):,} · test {len(x_test):,}")\n'),
        ("model", _design_markdown(spec, num_classes), parts.model + "\n\n" + parts.build),
        ("compile", _compile_markdown(config), parts.schedule + ("\n\n" if parts.schedule else "") + parts.compile),
        ("fit", _fit_markdown(config), parts.fit),
        ("evaluate", (
            "## 6. Test accuracy\n\nThe share of held-out test images the trained network classifies correctly. "
            "It never saw them while training, so this is the honest score; it should be close to the studio's."
        ), parts.evaluate),
        ("curves", (
            "## 7. Loss and accuracy per epoch\n\nOne point per finished epoch. **Training** (solid) is measured on "
            "the images the network learns from, while they are being learned; **validation** (dashed) on held-out "
            "images after the epoch. If training keeps improving while validation gets worse, the network is "
            "memorising its training images (overfitting): fewer epochs, more dropout or more data help."
        ), _CURVES),
    ]
    cells = []
    for cell_id, markdown, code in steps:
        cells.append(new_markdown_cell(markdown, id=f"{cell_id}-text"))
        cells.append(new_code_cell(code.strip("\n"), id=cell_id))
    return new_notebook(cells=cells, metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"},
    })


def notebook_text(spec: ModelSpec, config: TrainConfig | None = None, dataset_name: str = "mnist",
                  **options: Any) -> str:
    """:func:`design_notebook` as the JSON text of an ``.ipynb`` file (the Train page's download)."""
    return nbformat.writes(design_notebook(spec, config, dataset_name, **options))


def add_cli_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``python -m cnnviz notebook``."""
    parser.add_argument("design", type=Path, help="a design file: JSON with 'spec' and 'train_config', like the "
                        "models/<name>.json sidecar of a saved model")
    parser.add_argument("-o", "--output", type=Path, default=Path("run.ipynb"),
                        help="the notebook to write (default: run.ipynb)")
    parser.add_argument("--dataset", choices=SCRIPT_DATASETS, default=None,
                        help="the dataset to train on (default: the design file's 'dataset', else mnist)")
    parser.add_argument("--data-dir", default=None, help="a folder with the dataset's official files, written into "
                        "the notebook's DATA_DIR (default: the notebook downloads them)")
    parser.add_argument("--split-of-test", action=argparse.BooleanOptionalAction, default=None,
                        help="divide the official test split like the studio does when that is all it has "
                        "(default: as the studio on this machine loads the dataset)")


def _studio_splits_test(dataset: str) -> bool:
    """Whether the studio on this machine has only ``dataset``'s official test split (False if it loads none)."""
    from cnnviz.core.datasets import DatasetError, load_dataset

    try:
        return bool(load_dataset(dataset, allow_download=False).split_from_test)
    except DatasetError:
        return False


def run_cli(args: argparse.Namespace) -> int:
    """Write the notebook of ``args.design`` to ``args.output``; return 0, or 2 with a message on stderr."""
    from cnnviz.train.loop import TrainConfig, TrainingConfigError, validate_config

    try:
        design = json.loads(Path(args.design).read_text(encoding="utf-8"))
        if not isinstance(design, dict) or not isinstance(design.get("spec"), dict):
            raise ValueError("expected a JSON object with a 'spec' object (and optionally 'train_config')")
        dataset = args.dataset or design.get("dataset") or "mnist"
        if dataset not in SCRIPT_DATASETS:
            raise ValueError(f"unknown dataset {dataset!r}; use --dataset with one of {list(SCRIPT_DATASETS)}")
        config_data = design.get("train_config") or {}
        if not isinstance(config_data, dict):
            raise ValueError("'train_config' must be a JSON object")
        spec = ModelSpec.from_dict(design["spec"])
        config = TrainConfig.from_dict(config_data)
        validate_config(config)
        split = args.split_of_test if args.split_of_test is not None else (
            dataset != "digits" and _studio_splits_test(dataset))
        text = notebook_text(spec, config, dataset, num_classes=len(DATASETS[dataset].class_names),
                             split_of_test=split, data_dir=args.data_dir)
        args.output.write_text(text, encoding="utf-8")
    except (OSError, ValueError, TypeError, SpecError, TrainingConfigError) as error:
        print(f"Could not write the notebook from {args.design}: {error}", file=sys.stderr)
        return 2
    print(f"Wrote {args.output}: {dataset}, {config.epochs} epochs, seed {config.seed}"
          + (", the official test split divided as the studio does" if split else "") + ".")
    return 0
