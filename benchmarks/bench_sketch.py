"""Benchmark the Sketch page's hot path: canvas image -> probabilities, with the model already loaded.

Target: p95 <= 50 ms on 2 CPU cores. Run with ``python benchmarks/bench_sketch.py``
(uses ``models/default_mnist.keras``; ``--models-dir`` to point elsewhere). Each
timed call is what the page does after a stroke: preprocess a 280x280 RGBA canvas
image (``preprocess_steps``, which also keeps every step for display) and call the
model on the 28x28 result. Inputs are the synthetic sketches of :mod:`tools.synthetic`
in every canvas convention. Preprocessing and the model call are also timed apart, and so
is a 4000x4000 photo, which must be shrunk first (target: under 2 s).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

from cnnviz import MODELS_DIR
from cnnviz.core.predict import predict_probabilities
from cnnviz.sketch.preprocess import preprocess_steps
from tools.synthetic import sketch_set

TARGET_P95_MS = 50.0
#: A 16-megapixel photo (4000x4000) must be prepared in under this many seconds.
TARGET_HUGE_S = 2.0


def percentiles(times_ms: list[float]) -> tuple[float, float, float]:
    """Return (p50, p95, max) of a list of milliseconds."""
    values = np.asarray(times_ms)
    return float(np.percentile(values, 50)), float(np.percentile(values, 95)), float(values.max())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Time canvas image -> probabilities.")
    parser.add_argument("--models-dir", type=Path, default=MODELS_DIR)
    parser.add_argument("--count", type=int, default=200, help="timed sketches (after 10 warm-up calls)")
    args = parser.parse_args(argv)

    from cnnviz.core.store import load_default_model

    started = time.perf_counter()
    model = load_default_model("mnist", models_dir=args.models_dir)
    load_s = time.perf_counter() - started
    samples = sketch_set(args.count + 10, seed=7)
    for sample in samples[:10]:  # warm-up: the first calls build TensorFlow's graph
        predict_probabilities(model, preprocess_steps(sample.image).output)

    total, prepare, predict = [], [], []
    correct = 0
    for sample in samples[10:]:
        start = time.perf_counter()
        result = preprocess_steps(sample.image)
        middle = time.perf_counter()
        probabilities = predict_probabilities(model, result.output)
        end = time.perf_counter()
        total.append((end - start) * 1000)
        prepare.append((middle - start) * 1000)
        predict.append((end - middle) * 1000)
        correct += int(np.argmax(probabilities)) == sample.label

    print(f"model load (once, includes importing TensorFlow): {load_s:.1f} s")
    print(f"{'stage':<28}{'p50 ms':>10}{'p95 ms':>10}{'max ms':>10}")
    for name, times in (("canvas -> probabilities", total), ("  preprocessing", prepare), ("  model call", predict)):
        p50, p95, worst = percentiles(times)
        print(f"{name:<28}{p50:>10.1f}{p95:>10.1f}{worst:>10.1f}")
    p95 = percentiles(total)[1]
    verdict = "OK" if p95 <= TARGET_P95_MS else "OVER TARGET"
    print(f"p95 {p95:.1f} ms vs target {TARGET_P95_MS:.0f} ms: {verdict}  "
          f"({args.count} sketches, {os.cpu_count()} CPUs)")
    print(f"(accuracy on these {args.count} sketches: {correct / args.count:.1%})")

    huge = np.full((4000, 4000), 255, dtype=np.uint8)  # white paper with a dark stroke, as a phone photo
    huge[600:3400, 1800:2200] = 0
    start = time.perf_counter()
    preprocess_steps(huge, photo=True)
    huge_s = time.perf_counter() - start
    verdict = "OK" if huge_s <= TARGET_HUGE_S else "OVER TARGET"
    print(f"4000x4000 photo -> 28x28: {huge_s:.2f} s vs target {TARGET_HUGE_S:.0f} s: {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
