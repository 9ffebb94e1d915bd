"""The Train page's share link: every design and training control as a URL parameter, and ``python -m cnnviz link``.

:data:`TRAIN_TABLE` maps each control of :func:`cnnviz.train.widgets.spec_controls` and
:func:`cnnviz.train.widgets.config_controls` (and the dataset picker) to a short URL name:

====================  =================================================================
``data``              dataset (``mnist``, ``fashion_mnist``, ``kmnist``, ``digits``)
``blocks``            conv blocks, 1-4
``b1f`` .. ``b4f``    filters of block 1-4; ``b1k`` kernel size, ``b1s`` stride, ``b1p`` padding,
                      ``b1a`` activation, ``b1pool`` pooling (``max``, ``average``, ``none``)
``bn``, ``drop``      batch normalisation (1/0), dropout before the dense layers
``dense``             dense layers, 0-3; ``u1`` .. ``u3`` their units; ``dact`` their activation
``opt``, ``lr``       optimizer (``adam``, ``sgd``, ``rmsprop``, ``adadelta``), learning rate
``sched``             learning-rate schedule (``constant``, ``cosine``)
``batch``, ``epochs`` batch size, epochs
``n``, ``val``        training images, validation split
``early``, ``patience``, ``restore``   early stopping and its settings
``seed``              random seed; ``watch`` watch the first layer learn (1/0)
``noise``             data lab: label noise, 0-0.9; ``rare`` rare classes (``1_7``); ``keep`` their share kept
====================  =================================================================

A link can only hold a value a control offers: the option lists below are the controls' (the Train page's
AppTest, ``tests/app/train/test_share_links.py``, checks every control's options against them).
:func:`design_link` writes the link of a saved design (a model sidecar's ``spec`` and ``train_config``),
and :func:`run_cli` is ``python -m cnnviz link DESIGN.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cnnviz.core.datasets import DATASETS
from cnnviz.core.share import Param, ParamTable, choice, flag, integer, number, query_string
from cnnviz.train.loop import LR_SCHEDULES, OPTIMIZERS, TrainConfig
from cnnviz.train.spec import ACTIVATIONS, MAX_CONV_BLOCKS, MAX_DENSE_LAYERS, ModelSpec, SpecError

#: The options of the Train page's controls (its widgets import these, so links and widgets agree).
FILTER_CHOICES: tuple[int, ...] = (4, 8, 16, 32, 64, 128)
UNIT_CHOICES: tuple[int, ...] = (16, 32, 64, 128, 256, 512)
LEARNING_RATES: tuple[float, ...] = (0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 10.0)
BATCH_SIZES: tuple[int, ...] = (16, 32, 64, 128, 256)
KERNEL_SIZES: tuple[int, ...] = (3, 5)
STRIDES: tuple[int, ...] = (1, 2)
BLOCK_PADDINGS: tuple[str, ...] = ("same", "valid")
BLOCK_POOLINGS: tuple[str, ...] = ("max", "average", "none")
MAX_EPOCHS = 30
MAX_DROPOUT = 0.7
MAX_VALIDATION_SPLIT = 0.3
MAX_PATIENCE = 10
MAX_LABEL_NOISE = 0.9
#: The data lab's "share of their images kept" slider starts at 10% (it only matters once a class is rare).
DEFAULT_KEEP = 0.1
#: Filters of each block on first view: the default spec's, then 64 for a fourth block.
DEFAULT_FILTERS: tuple[int, ...] = tuple(block.filters for block in ModelSpec().conv_blocks) + (64,) * 4
#: Units of each dense layer on first view: the default spec's, then 64.
DEFAULT_UNITS: tuple[int, ...] = (*ModelSpec().dense_units, 64, 64, 64)
#: The most training images any dataset has (MNIST's 60,000); the slider itself stops at the dataset's size.
MAX_TRAIN_SIZE = 60_000
#: Where ``python -m cnnviz link`` points by default: the studio as ``make run`` starts it.
DEFAULT_BASE_URL = "http://localhost:8501"
#: The Train page's path in the studio's URLs.
TRAIN_PATH = "train"


def _train_params(key: str = "train") -> tuple[Param, ...]:
    spec, config = ModelSpec(), TrainConfig()
    params = [
        choice("data", f"{key}_dataset", tuple(DATASETS), "mnist"),
        integer("blocks", f"{key}_blocks", 1, MAX_CONV_BLOCKS, len(spec.conv_blocks)),
    ]
    for index in range(1, MAX_CONV_BLOCKS + 1):
        prefix = f"{key}_b{index}"
        params += [
            choice(f"b{index}f", f"{prefix}_filters", FILTER_CHOICES, DEFAULT_FILTERS[index - 1]),
            choice(f"b{index}k", f"{prefix}_kernel", KERNEL_SIZES),
            choice(f"b{index}s", f"{prefix}_stride", STRIDES),
            choice(f"b{index}p", f"{prefix}_padding", BLOCK_PADDINGS),
            choice(f"b{index}a", f"{prefix}_activation", ACTIVATIONS),
            choice(f"b{index}pool", f"{prefix}_pooling", BLOCK_POOLINGS),
        ]
    params += [
        flag("bn", f"{key}_bn", spec.batch_norm),
        number("drop", f"{key}_dropout", 0.0, MAX_DROPOUT, spec.dropout, step=0.05),
        integer("dense", f"{key}_dense", 0, MAX_DENSE_LAYERS, len(spec.dense_units)),
        *(choice(f"u{index}", f"{key}_units{index}", UNIT_CHOICES, DEFAULT_UNITS[index - 1])
          for index in range(1, MAX_DENSE_LAYERS + 1)),
        choice("dact", f"{key}_dense_activation", ACTIVATIONS),
        choice("opt", f"{key}_optimizer", OPTIMIZERS),
        choice("lr", f"{key}_lr", LEARNING_RATES, config.learning_rate, codes={v: f"{v:g}" for v in LEARNING_RATES}),
        choice("sched", f"{key}_lr_schedule", LR_SCHEDULES, config.lr_schedule),
        choice("batch", f"{key}_batch", BATCH_SIZES, config.batch_size),
        integer("epochs", f"{key}_epochs", 1, MAX_EPOCHS, config.epochs),
        integer("n", f"{key}_train_size", 1, MAX_TRAIN_SIZE, config.train_size),
        number("val", f"{key}_val_split", 0.0, MAX_VALIDATION_SPLIT, config.validation_split, step=0.05),
        flag("early", f"{key}_early", config.early_stopping),
        integer("patience", f"{key}_patience", 1, MAX_PATIENCE, config.patience),
        flag("restore", f"{key}_restore", config.restore_best_weights),
        integer("seed", f"{key}_seed", 0, 2**31 - 1, config.seed),
        flag("watch", f"{key}_watch", False),
        # The data lab (cnnviz.train.datalab_widgets): label noise, rare classes and the share of them kept.
        number("noise", f"{key}_label_noise", 0.0, MAX_LABEL_NOISE, config.label_noise, step=0.05),
        Param("rare", f"{key}_imbalance_classes", [], _parse_classes, _format_classes),
        number("keep", f"{key}_imbalance_keep", 0.0, 1.0, DEFAULT_KEEP, step=0.05),
    ]
    return tuple(params)


def _parse_classes(text: str) -> list[int]:
    """``"1_7"`` -> ``[1, 7]``: distinct classes 0-9, at most 9 of them (one class must keep all its images)."""
    parts = [part for part in text.replace(",", "_").split("_") if part.strip()]
    classes = sorted({int(part, 10) for part in parts})
    if len(classes) != len(parts) or len(classes) > 9 or any(not 0 <= index <= 9 for index in classes):
        raise ValueError(f"{text!r} is not a list of distinct classes 0-9.")
    return classes


def _format_classes(value: Any) -> str:
    if not isinstance(value, (list, tuple)) or any(isinstance(i, bool) or not isinstance(i, int) for i in value):
        raise TypeError(f"Expected a list of classes, got {value!r}.")
    return "_".join(str(index) for index in sorted(value))


#: The Train page's share-link table (its widgets use the key prefix ``"train"``).
TRAIN_TABLE = ParamTable(_train_params("train"))


class DesignLinkError(ValueError):
    """A design the Train page's controls cannot show (a 7x7 kernel, 10 filters...): the message names each."""


def _check(problems: list[str], what: str, value: Any, options: tuple[Any, ...]) -> None:
    if value not in options:
        problems.append(f"{what} {value!r} (the Train page offers {', '.join(map(str, options))})")


def design_values(spec: ModelSpec, config: TrainConfig, dataset: str | None = None,
                  key: str = "train") -> dict[str, Any]:
    """The Train page's control values (by session-state key) that show ``spec`` and ``config``.

    Raises:
        DesignLinkError: a setting no control offers; every such setting is named.
    """
    problems: list[str] = []
    values: dict[str, Any] = {}
    if dataset is not None:
        _check(problems, "dataset", dataset, tuple(DATASETS))
        values[f"{key}_dataset"] = dataset
    blocks = spec.conv_blocks
    if not 1 <= len(blocks) <= MAX_CONV_BLOCKS:
        problems.append(f"{len(blocks)} conv blocks (the Train page offers 1 to {MAX_CONV_BLOCKS})")
    values[f"{key}_blocks"] = len(blocks)
    for index, block in enumerate(blocks[:MAX_CONV_BLOCKS], start=1):
        prefix, name = f"{key}_b{index}", f"block {index}"
        for field, value, options in (
            ("filters", block.filters, FILTER_CHOICES), ("kernel", block.kernel_size, KERNEL_SIZES),
            ("stride", block.stride, STRIDES), ("padding", block.padding, BLOCK_PADDINGS),
            ("activation", block.activation, ACTIVATIONS), ("pooling", block.pooling, BLOCK_POOLINGS),
        ):
            _check(problems, f"{name} {field}", value, options)
            values[f"{prefix}_{field}"] = value
        if block.pooling != "none" and block.pool_size != 2:
            problems.append(f"{name} pool size {block.pool_size} (the Train page pools 2x2)")
    if not 0 <= spec.dropout <= MAX_DROPOUT:
        problems.append(f"dropout {spec.dropout} (the Train page offers 0 to {MAX_DROPOUT})")
    values[f"{key}_bn"] = bool(spec.batch_norm)
    values[f"{key}_dropout"] = float(spec.dropout)
    values[f"{key}_dense"] = len(spec.dense_units)
    for index, units in enumerate(spec.dense_units[:MAX_DENSE_LAYERS], start=1):
        _check(problems, f"dense layer {index} units", units, UNIT_CHOICES)
        values[f"{key}_units{index}"] = units
    if len(spec.dense_units) > MAX_DENSE_LAYERS:
        problems.append(f"{len(spec.dense_units)} dense layers (the Train page offers 0 to {MAX_DENSE_LAYERS})")
    if spec.dense_units:
        _check(problems, "dense activation", spec.dense_activation, ACTIVATIONS)
        values[f"{key}_dense_activation"] = spec.dense_activation
    _check(problems, "optimizer", config.optimizer, OPTIMIZERS)
    _check(problems, "learning rate", config.learning_rate, LEARNING_RATES)
    _check(problems, "learning-rate schedule", config.lr_schedule, LR_SCHEDULES)
    _check(problems, "batch size", config.batch_size, BATCH_SIZES)
    for what, value, high in (("epochs", config.epochs, MAX_EPOCHS), ("patience", config.patience, MAX_PATIENCE)):
        if not 1 <= value <= high:
            problems.append(f"{what} {value} (the Train page offers 1 to {high})")
    if not 0 <= config.validation_split <= MAX_VALIDATION_SPLIT:
        problems.append(f"validation split {config.validation_split} (the Train page offers 0 to 0.3)")
    values.update({
        f"{key}_optimizer": config.optimizer, f"{key}_lr": config.learning_rate,
        f"{key}_lr_schedule": config.lr_schedule, f"{key}_batch": config.batch_size,
        f"{key}_epochs": config.epochs, f"{key}_train_size": config.train_size,
        f"{key}_val_split": float(config.validation_split), f"{key}_early": bool(config.early_stopping),
        f"{key}_patience": config.patience, f"{key}_restore": bool(config.restore_best_weights),
        f"{key}_seed": config.seed,
    })
    if not 0 <= config.label_noise <= MAX_LABEL_NOISE:
        problems.append(f"label noise {config.label_noise} (the Train page offers 0 to {MAX_LABEL_NOISE})")
    values[f"{key}_label_noise"] = float(config.label_noise)
    if config.imbalance_classes:
        values[f"{key}_imbalance_classes"] = sorted(int(index) for index in config.imbalance_classes)
        values[f"{key}_imbalance_keep"] = float(config.imbalance_keep)
    if problems:
        raise DesignLinkError("The Train page cannot show this design: " + "; ".join(problems) + ".")
    return values


def design_query(spec: Mapping[str, Any], train_config: Mapping[str, Any],
                 dataset: str | None = None) -> dict[str, str]:
    """The Train link's query parameters for a design given as dicts (a sidecar's ``spec`` and ``train_config``).

    Raises:
        DesignLinkError: the dicts do not describe a design, or the Train page cannot show a setting of it.
    """
    try:
        model_spec = ModelSpec.from_dict(spec)
        if not isinstance(train_config, Mapping):
            raise TypeError(f"Expected 'train_config' as a dict, got {type(train_config).__name__}.")
        config = TrainConfig.from_dict(dict(train_config))
    except (SpecError, TypeError, ValueError) as error:
        raise DesignLinkError(f"This is not a design the studio can read: {error}") from error
    return TRAIN_TABLE.encode(design_values(model_spec, config, dataset))


def design_link(spec: Mapping[str, Any], train_config: Mapping[str, Any], *, dataset: str | None = None,
                base_url: str = DEFAULT_BASE_URL) -> str:
    """The URL that opens the Train page set to this design, e.g. ``http://localhost:8501/train?blocks=2&...``.

    Args:
        spec: a :class:`ModelSpec` as a dict (:meth:`ModelSpec.to_dict`, a sidecar's ``"spec"``).
        train_config: a :class:`TrainConfig` as a dict (a sidecar's ``"train_config"``).
        dataset: the dataset to choose (a sidecar's ``"dataset"``); ``None`` leaves the page's default.
        base_url: where the studio runs.

    Raises:
        DesignLinkError: the Train page cannot show a setting of the design (each one is named).
    """
    query = query_string(design_query(spec, train_config, dataset))
    url = f"{base_url.rstrip('/')}/{TRAIN_PATH}"
    return f"{url}?{query}" if query else url


def add_cli_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``python -m cnnviz link``."""
    parser.add_argument("design", type=Path, help="a JSON file with 'spec' and 'train_config' (a models/*.json "
                        "sidecar is one), and optionally 'dataset'")
    parser.add_argument("--base-url", default=DEFAULT_BASE_URL,
                        help=f"where the studio runs (default: {DEFAULT_BASE_URL})")


def run_cli(args: argparse.Namespace) -> int:
    """Print the Train link of ``args.design``; return 0, or 2 with a message on stderr when it cannot."""
    try:
        data = json.loads(Path(args.design).read_text(encoding="utf-8"))
        if not isinstance(data, dict) or "spec" not in data or "train_config" not in data:
            raise DesignLinkError("Expected a JSON object with 'spec' and 'train_config', as models/*.json has.")
        dataset = data.get("dataset")
        print(design_link(data["spec"], data["train_config"], dataset=dataset if isinstance(dataset, str) else None,
                          base_url=args.base_url))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, DesignLinkError) as error:
        print(f"python -m cnnviz link: {args.design}: {error}", file=sys.stderr)
        return 2
    return 0
