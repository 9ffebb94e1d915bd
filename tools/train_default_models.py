"""Train the models shipped in ``models/``: ``default_{mnist,fashion_mnist,kmnist}.keras`` + ``.json``.

Uses the project's own code, so the shipped models are exactly what a student
could train on the Train page: the architecture is a :class:`cnnviz.train.spec.ModelSpec`
built by :func:`cnnviz.train.spec.build_model`, trained as a job of the studio's job manager by
:func:`cnnviz.train.command.train_design` (the code behind ``python -m cnnviz train``; ``--backend ray``
trains on a Ray cluster) and saved (atomically, with a checksummed sidecar) by
:func:`cnnviz.core.store.save_model`.

The MNIST model is also trained on sketch-like copies of its training digits
(rotated, slanted, stretched, thinner and thicker strokes, re-framed exactly as
the Sketch page frames a drawing; see :mod:`tools.augment`), because its main
job is reading digits people draw on the canvas. Its accuracy on the synthetic
sketch set (:mod:`tools.synthetic`) is measured and stored too.

Usage (from the repository root; a few minutes per dataset on 2 CPU cores)::

    CNNVIZ_DATA_DIR=/path/to/data python -m tools.train_default_models
    python -m tools.train_default_models --backend ray      # on the cluster of CNNVIZ_RAY_ADDRESS
    python -m tools.train_default_models --datasets mnist --models-dir /tmp/models

Everything is seeded; on the same machine and library versions a rerun gives
the same weights (TensorFlow on CPU is deterministic for these layers).
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

from cnnviz import MODELS_DIR
from cnnviz.core.datasets import load_dataset
from cnnviz.train.loop import PreparedData, TrainConfig, prepare_data
from cnnviz.train.spec import ConvBlockSpec, ModelSpec
from tools.augment import augment_dataset

#: One small architecture for every dataset: three conv blocks (28 -> 14 -> 7 -> 3) keep the
#: flattened vector at 3x3x64 = 576, so the whole model has ~130k weights (about 0.6 MB on disk).
SPEC = ModelSpec(
    conv_blocks=(ConvBlockSpec(filters=32), ConvBlockSpec(filters=64), ConvBlockSpec(filters=64)),
    dropout=0.3,
    dense_units=(128,),
)
#: Sketch set used to report the MNIST model's accuracy on drawn digits.
SKETCH_COUNT = 600
SKETCH_SEED = 2024


@dataclass(frozen=True)
class Recipe:
    """How one shipped model is trained.

    Attributes:
        config: the training settings (subset size, epochs, seed...).
        augment_copies: sketch-like augmented copies of each training image (0: none).
    """

    config: TrainConfig
    augment_copies: int = 0


RECIPES: dict[str, Recipe] = {
    "mnist": Recipe(TrainConfig(epochs=5, batch_size=64, train_size=8000, validation_split=0.1, seed=1), 2),
    "fashion_mnist": Recipe(TrainConfig(epochs=5, batch_size=64, train_size=60000, validation_split=0.1, seed=1)),
    "kmnist": Recipe(TrainConfig(epochs=10, batch_size=64, train_size=8000, validation_split=0.1, seed=1)),
}


def with_augmentation(prepared: PreparedData, copies: int, seed: int) -> PreparedData:
    """Return ``prepared`` with ``copies`` sketch-like copies of every training image appended (then shuffled)."""
    if copies <= 0:
        return prepared
    images = np.clip(prepared.x_train[..., 0] * 255.0, 0, 255).round().astype(np.uint8)
    images, labels = augment_dataset(images, prepared.y_train, copies=copies, seed=seed)
    order = np.random.default_rng(seed).permutation(len(images))
    return PreparedData(
        x_train=(images[order].astype(np.float32) / 255.0)[..., np.newaxis],
        y_train=labels[order],
        x_val=prepared.x_val,
        y_val=prepared.y_val,
        x_test=prepared.x_test,
        y_test=prepared.y_test,
    )


def sketch_accuracy(model: Any, count: int = SKETCH_COUNT, seed: int = SKETCH_SEED) -> float:
    """Accuracy of ``model`` on ``count`` synthetic canvas sketches preprocessed by the Sketch page's pipeline."""
    from cnnviz.sketch.preprocess import sketch_to_input
    from tools.synthetic import sketch_set

    samples = sketch_set(count, seed=seed)
    inputs = np.stack([sketch_to_input(sample.image) for sample in samples])[..., np.newaxis]
    labels = np.array([sample.label for sample in samples])
    predicted = model.predict(inputs, batch_size=256, verbose=0).argmax(axis=1)
    return float((predicted == labels).mean())


def train_one(name: str, models_dir: Path, recipe: Recipe, backend: str | None = None) -> dict[str, Any]:
    """Train, evaluate and save ``default_<name>``; return a summary for the console."""
    from dataclasses import replace

    from cnnviz.core.store import metadata_from_trained, save_model
    from cnnviz.train.command import train_design
    from cnnviz.train.spec import build_model

    dataset = load_dataset(name)
    config = recipe.config

    def prepare(data: Any, settings: TrainConfig) -> PreparedData:
        return with_augmentation(prepare_data(data, settings), recipe.augment_copies, seed=settings.seed)

    started = time.perf_counter()
    design = {"spec": SPEC.to_dict(), "train_config": config.to_dict()}
    session, job = train_design(design, dataset, backend=backend, prepare=prepare,
                                say=lambda line: print(f"  {name} {line}", flush=True))
    seconds = time.perf_counter() - started
    run = job.runs[-1] if job.runs else None
    if session.model is None or run is None or run.result is None:
        raise RuntimeError(f"default_{name} did not train: {session.outcome or job.message}")
    result = run.result
    trained = replace(session.model, name=f"default_{name}")
    model = trained.model
    split = {
        "train": result.train_size,
        "validation": result.val_size,
        "test": result.test_size,
        "dataset_train": int(len(dataset.x_train)),
        "dataset_test": int(len(dataset.x_test)),
        "augmented_copies_per_image": recipe.augment_copies,
    }
    meta = metadata_from_trained(trained, data_note=dataset.note, split=split, default=True)
    meta["train_config"] = config.to_dict()
    meta["training_seconds"] = round(seconds, 1)
    meta["made_by"] = f"python -m tools.train_default_models ({job.backend} backend)"
    if recipe.augment_copies:
        meta["augmentation"] = (
            f"{recipe.augment_copies} sketch-like copies per training image (tools.augment: rotation, slant, "
            "aspect, stroke width; re-framed as the Sketch page frames drawings)"
        )
    if name == "mnist":
        meta["sketch_accuracy"] = {"accuracy": sketch_accuracy(model), "count": SKETCH_COUNT, "seed": SKETCH_SEED}
    # Save an uncompiled copy: the optimizer's state (twice the weights, for Adam) is of no use to
    # someone who only predicts with the model, and would triple the file's size.
    export = build_model(SPEC, dataset.num_classes)
    export.set_weights(model.get_weights())
    path = save_model(export, f"default_{name}", meta, models_dir=models_dir, overwrite=True)
    return {
        "dataset": name,
        "test_accuracy": result.test_metrics.get("accuracy"),
        "sketch_accuracy": meta.get("sketch_accuracy", {}).get("accuracy"),
        "seconds": round(seconds, 1),
        "file": str(path),
        "kilobytes": round(path.stat().st_size / 1024, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", choices=sorted(RECIPES), default=list(RECIPES))
    parser.add_argument("--models-dir", type=Path, default=MODELS_DIR, help="where to write (default: models/)")
    parser.add_argument("--epochs", type=int, default=None, help="override every recipe's epochs (quick checks)")
    parser.add_argument("--backend", choices=("local", "ray"), default=None,
                        help="where to train (default: ray when CNNVIZ_RAY_ADDRESS is set, else local)")
    args = parser.parse_args(argv)
    for name in args.datasets:
        recipe = RECIPES[name]
        if args.epochs is not None:
            config = TrainConfig.from_dict({**recipe.config.to_dict(), "epochs": args.epochs})
            recipe = Recipe(config, recipe.augment_copies)
        print(f"Training default_{name} ...", flush=True)
        summary = train_one(name, args.models_dir, recipe, backend=args.backend)
        print("  " + ", ".join(f"{key}={value}" for key, value in summary.items()), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
