"""Benchmark the Kernel playground's maths: one 3x3 kernel on a 512x512 image (target well under 50 ms).

Run with ``python benchmarks/bench_kernels.py``. Prints the median and best of
several repetitions for the convolution alone, a 5x5 kernel, max pooling, and
the playground's full pipeline with a bank of 8 kernels on a 28x28 image, and the
animated convolution of a 28x28 image (784 steps: the frames and the Plotly figure; no target,
it is built only when a learner turns the animation on).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import numpy as np

from cnnviz.kernels.animation import animate_convolution
from cnnviz.kernels.figures import animation_figure
from cnnviz.kernels.ops import PipelineConfig, convolve2d, pool2d, run_pipeline
from cnnviz.kernels.presets import preset_kernel

TARGET_MS = 50.0


def time_ms(function: Callable[[], object], repeats: int = 30) -> tuple[float, float]:
    """Return (median, best) wall time of ``function`` in milliseconds, after one warm-up call."""
    function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append((time.perf_counter() - start) * 1000.0)
    return statistics.median(times), min(times)


def main() -> int:
    rng = np.random.default_rng(0)
    image = rng.random((512, 512))
    sobel = preset_kernel("Sobel x (vertical edges)")
    blur5 = preset_kernel("Gaussian blur", 5)
    small = rng.random((28, 28))
    bank = np.stack([preset_kernel("Line: diagonal (\\)")] * 8)
    config = PipelineConfig(padding="same", bias=0.1, activation="relu", pool_mode="max", pool_size=2)

    rows = [
        ("3x3 kernel, 512x512, valid", lambda: convolve2d(image, sobel)),
        ("3x3 kernel, 512x512, same, stride 2", lambda: convolve2d(image, sobel, stride=2, padding="same")),
        ("5x5 kernel, 512x512, same", lambda: convolve2d(image, blur5, padding="same")),
        ("max pool 2x2, 512x512", lambda: pool2d(image, size=2, mode="max")),
        ("pipeline, 8 kernels, 28x28", lambda: run_pipeline(small, bank, config)),
        ("animation steps, 28x28 same (784)", lambda: animate_convolution(small, sobel, padding="same")),
        ("animation figure, 28x28 same (784)",
         lambda: animation_figure(animate_convolution(small, sobel, padding="same"))),
    ]
    print(f"{'case':40s} {'median ms':>10s} {'best ms':>9s}")
    ok = True
    for label, function in rows:
        median, best = time_ms(function, repeats=3 if label.startswith("animation") else 30)
        print(f"{label:40s} {median:10.2f} {best:9.2f}")
        if label.startswith("3x3 kernel, 512x512, valid"):
            ok = median < TARGET_MS
    print(f"target: one 3x3 kernel on 512x512 under {TARGET_MS:.0f} ms -> {'met' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
