"""Benchmark the Inside page's computations on a default-sized CNN (what one uncached view costs).

Run with ``python benchmarks/bench_inside.py``. Uses ``models/default_mnist.keras`` when it
exists (``--models-dir`` to point elsewhere), else an untrained model of the default spec
(:class:`cnnviz.train.spec.ModelSpec`), which costs the same to run. Each step is timed as the page
runs it the first time for a given model version and image; reruns are served from the
per-version caches (``cnnviz.inside.widgets``) and cost nothing here. Figures are timed too,
because they are rebuilt on every rerun.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

from cnnviz import MODELS_DIR


def timed(label: str, function: Callable[[], object], repeats: int) -> object:
    """Run ``function`` once to warm up, then ``repeats`` times; print the median and max in ms."""
    result = function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        times.append((time.perf_counter() - start) * 1000)
    print(f"{label:<48} median {np.median(times):8.1f} ms   max {max(times):8.1f} ms   (n={repeats})")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Time the Inside page's computations.")
    parser.add_argument("--models-dir", type=Path, default=MODELS_DIR)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)

    from cnnviz.core.datasets import load_dataset
    from cnnviz.inside.activations import compute_activations
    from cnnviz.inside.evaluation import pca_2d, sample_indices
    from cnnviz.inside.figures import confusion_matrix_figure, feature_maps_figure, pca_figure, saliency_figure
    from cnnviz.inside.saliency import grad_cam, gradient_saliency

    shipped = args.models_dir / "default_mnist.keras"
    if shipped.exists():
        from cnnviz.core.store import load_model

        model, origin = load_model(shipped), str(shipped)
    else:
        from cnnviz.train.spec import ModelSpec, build_model

        model, origin = build_model(ModelSpec(), 10, seed=0), "untrained default ModelSpec()"
    dataset = load_dataset("mnist")
    print(f"model: {origin}, {model.count_params():,} parameters; test split: {len(dataset.y_test):,} images")
    image = dataset.x_test[0]

    activations = timed(
        "activations of every layer (one image)", lambda: compute_activations(model, image), args.repeats
    )
    timed("gradient saliency (one image, one class)", lambda: gradient_saliency(model, image), args.repeats)
    timed("Grad-CAM (one image, one class)", lambda: grad_cam(model, image), args.repeats)
    from cnnviz.inside.evaluation import evaluate_predictions, predict_with_features

    indices = sample_indices(dataset.y_test, 2000)

    def test_results() -> tuple[object, object]:
        probabilities, features = predict_with_features(model, dataset.x_test, feature_rows=indices)
        return evaluate_predictions(dataset.y_test, probabilities, dataset.class_names), pca_2d(features)

    evaluation, projection = timed(
        f"evaluation + PCA, one pass ({len(dataset.y_test):,} images)", test_results, max(1, args.repeats // 2)
    )
    conv = next(a for a in activations if a.is_spatial)
    timed(
        f"figure: {conv.name} feature maps (16 of {conv.shape[-1]})",
        lambda: feature_maps_figure(conv, max_maps=16),
        args.repeats,
    )
    timed(
        "figure: saliency (input + 2 maps + overlays)",
        lambda: saliency_figure(image, {"a": np.zeros((28, 28)), "b": np.zeros((28, 28))}),
        args.repeats,
    )
    timed(
        "figure: confusion matrix",
        lambda: confusion_matrix_figure(evaluation.confusion, dataset.class_names),
        args.repeats,
    )
    timed(
        "figure: PCA scatter",
        lambda: pca_figure(
            projection.points, evaluation.y_true[indices], evaluation.y_pred[indices], dataset.class_names, indices
        ),
        args.repeats,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
