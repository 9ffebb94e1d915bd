"""Benchmark the Inside page: its computations on a default-sized CNN, and the page's reruns (issue 11).

Run with ``python benchmarks/bench_inside.py`` (``--no-page`` for the computations alone). Uses
``models/default_mnist.keras`` when it exists (``--models-dir`` to point elsewhere), else an untrained model
of the default spec (:class:`cnnviz.train.spec.ModelSpec`), which costs the same to run. Each step is timed as the page
runs it the first time for a given model version and image; reruns are served from the
per-version caches (``cnnviz.inside.widgets``) and cost nothing here. Figures are timed too,
because a figure of new data is built on its first view (``cnnviz.ui.charts.cached_figure`` keeps it).

The page rows run ``pages/inside.py`` under AppTest (:mod:`tools.page_timing`): the whole script, where a browser
reruns only the section's fragment, so they are an upper bound of the server's part. Each row prints its
median, p95 and issue 11's target; the load average is printed with them (targets are for an idle server).
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
from tools.page_timing import PageTimer, Row, load_average

#: Issue 11's targets, in seconds.
EVALUATION_TARGET_S, EVALUATION_LOADED_TARGET_S = 3.0, 10.0
CLICK_TARGET_S = 0.5
PAGE_SWITCH_TARGET_S = 1.5
#: The sections a learner flips between (the others start long computations on their first view).
VIEWS = ("Feature maps", "Filters", "Saliency", "Evaluation")
#: Confusion-matrix cells clicked: (true, predicted), off the diagonal, then back to one already seen.
CELLS = ((4, 9), (7, 2), (3, 5), (9, 4), (2, 7), (5, 3), (8, 3), (4, 9))


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
    parser.add_argument("--no-page", action="store_true", help="Skip the page rows (AppTest runs of pages/inside.py).")
    args = parser.parse_args(argv)
    print(f"load average at start: {load_average()}")

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

    start, cpu_start = time.perf_counter(), time.process_time()
    test_results()  # the first time traces the feature extractor, as the page's first evaluation does
    first, first_cpu = time.perf_counter() - start, time.process_time() - cpu_start
    loaded = float(load_average().split()[0]) if load_average() != "n/a" else 0.0
    limit = EVALUATION_TARGET_S if loaded < 1.5 else EVALUATION_LOADED_TARGET_S
    print(
        f"{'evaluation + PCA, first time (' + format(len(dataset.y_test), ',') + ' images)':<48} "
        f"{first * 1000:8.1f} ms (CPU {first_cpu:.1f} s, all threads)   target <= {limit:g} s "
        f"({'idle' if loaded < 1.5 else 'under load'}, "
        f"load {load_average()}): {'met' if first <= limit else 'MISSED'}"
    )
    evaluation, projection = timed(
        f"evaluation + PCA, again ({len(dataset.y_test):,} images)", test_results, max(1, args.repeats // 2)
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
    if args.no_page:
        return 0
    return page_rows(args.repeats)


def page_rows(repeats: int) -> int:
    """Time the Inside page's reruns: first loads, view changes, a new image and confusion-cell clicks."""
    print(f"\npages/inside.py under AppTest (whole-script reruns), load average {load_average()}")
    cold = PageTimer("pages/inside.py")
    wall, cpu = cold.run()
    first_load = Row("first load (loads the model, first traces; no target)")
    first_load.add(wall, cpu)
    first_views = Row("first view of a section (computes, no target)")
    for view in VIEWS[1:]:
        cold.app.segmented_control(key="inside_section").set_value(view)
        first_views.add(*cold.run())
    cold.close()

    switch = Row("page switch -> interactive (TensorFlow warm)", PAGE_SWITCH_TARGET_S, "p95 <= 1.5 s")
    views = Row("view change (Look at), section seen before", CLICK_TARGET_S)
    images = Row("another test image, feature maps (new figures)")
    cells = Row("confusion-cell click", CLICK_TARGET_S)
    for _ in range(max(1, repeats // 2)):  # a new session each time: another learner opens the page
        timer = PageTimer("pages/inside.py")
        switch.add(*timer.run())
        timer.close()
    timer = PageTimer("pages/inside.py")
    timer.run()
    for _ in range(max(1, repeats // 2)):
        for view in (*VIEWS[1:], VIEWS[0]):
            timer.app.segmented_control(key="inside_section").set_value(view)
            views.add(*timer.run())
    for number in range(1, repeats + 1):
        timer.app.number_input(key="inside_image_index").set_value(number * 7)
        images.add(*timer.run())
    timer.app.segmented_control(key="inside_section").set_value("Evaluation")
    timer.run()
    for true_class, predicted in CELLS:
        timer.app.selectbox(key="inside_cell_true").set_value(true_class)
        timer.app.selectbox(key="inside_cell_predicted").set_value(predicted)
        cells.add(*timer.run())
    timer.close()
    rows = (first_load, first_views, switch, views, images, cells)
    for row in rows:
        print(row.line())
    print(f"load average at the end: {load_average()}")
    return 0 if all(row.met for row in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
