"""Benchmark the cost of cnnviz's live training against a bare ``model.fit`` (target ratio >= 0.95).

Run with ``python benchmarks/bench_training.py`` (options: ``--dataset``, ``--train-size``, ``--epochs``,
``--rounds``). The same model (the Train page's default architecture, same seed) is trained on the same
data in the same process, alternately:

* **bare**: ``compile`` + ``model.fit(verbose=0)`` + ``evaluate`` on the test split;
* **cnnviz**: :func:`cnnviz.training.train_model`, which does the same with its progress callback, fed
  by the live-chart callables the Train page uses: after every epoch both Plotly history figures are
  rebuilt and serialised, and a few times a second the progress text is formatted.

Each round times the whole call (compile, fit, test evaluation); the medians over rounds give
training images per second for both and their ratio. Run it on a quiet machine: other processes on
the same cores make single rounds noisy (the medians and alternation dampen that).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from cnnviz.charts.training import history_figure  # noqa: E402
from cnnviz.data import load_dataset  # noqa: E402
from cnnviz.spec import ModelSpec, build_model  # noqa: E402
from cnnviz.training import (  # noqa: E402
    BatchProgress,
    EpochProgress,
    TrainConfig,
    compile_model,
    prepare_data,
    train_model,
)

TARGET_RATIO = 0.95


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="mnist", help="mnist, fashion_mnist, kmnist or digits")
    parser.add_argument("--train-size", type=int, default=4000, help="training images per epoch (before validation)")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3, help="alternating bare/cnnviz rounds")
    args = parser.parse_args()

    import keras

    dataset = load_dataset(args.dataset)
    spec = ModelSpec()
    config = TrainConfig(train_size=args.train_size, epochs=args.epochs)
    data = prepare_data(dataset, config)
    images = len(data.x_train) * config.epochs
    num_classes = len(dataset.class_names)
    print(f"dataset {args.dataset} ({dataset.source})")
    print(f"model: default Train-page spec, {build_model(spec, num_classes).count_params():,} parameters; "
          f"{len(data.x_train)} training images x {config.epochs} epochs, batch {config.batch_size}, "
          f"{len(data.x_val)} validation, {len(data.x_test)} test")

    def bare() -> float:
        model = build_model(spec, num_classes, seed=config.seed)
        start = time.perf_counter()
        keras.utils.set_random_seed(config.seed)
        compile_model(model, config)
        model.fit(data.x_train, data.y_train, batch_size=config.batch_size, epochs=config.epochs,
                  validation_data=(data.x_val, data.y_val), shuffle=True, verbose=0)
        model.evaluate(data.x_test, data.y_test, batch_size=256, verbose=0, return_dict=True)
        return time.perf_counter() - start

    def live() -> float:
        model = build_model(spec, num_classes, seed=config.seed)
        texts: list[str] = []
        figures: list[str] = []

        def on_batch(progress: BatchProgress) -> None:
            texts.append(f"Epoch {progress.epoch + 1}/{progress.epochs} · batch {progress.step}/{progress.steps} · "
                         f"loss {progress.loss:.4f} · {progress.samples_per_s:,.0f} images/s · "
                         f"{progress.seconds_left:.0f} s left")

        def on_epoch(progress: EpochProgress) -> None:
            for metric in ("loss", "accuracy"):
                figures.append(history_figure(progress.history, metric, epochs=progress.epochs).to_json())

        start = time.perf_counter()
        result = train_model(model, dataset, config, on_batch=on_batch, on_epoch=on_epoch, data=data)
        elapsed = time.perf_counter() - start
        assert result.epochs_done == config.epochs and len(figures) == 2 * config.epochs and texts
        return elapsed

    bare_times: list[float] = []
    live_times: list[float] = []
    for round_index in range(args.rounds):
        # Alternate which goes first so that a warm cache or a noisy neighbour favours neither.
        order = (("bare", bare, bare_times), ("cnnviz", live, live_times))
        if round_index % 2:
            order = order[::-1]
        for name, function, times in order:
            seconds = function()
            times.append(seconds)
            print(f"round {round_index + 1}: {name:6s} {seconds:6.2f} s  {images / seconds:8.0f} images/s")

    bare_rate = images / statistics.median(bare_times)
    live_rate = images / statistics.median(live_times)
    ratio = live_rate / bare_rate
    print(f"bare model.fit          : {bare_rate:8.0f} images/s (median of {args.rounds})")
    print(f"cnnviz train_model+live : {live_rate:8.0f} images/s (median of {args.rounds})")
    print(f"ratio cnnviz/bare       : {ratio:.3f} (target >= {TARGET_RATIO}) -> "
          f"{'met' if ratio >= TARGET_RATIO else 'MISSED'}")
    return 0 if ratio >= TARGET_RATIO else 1


if __name__ == "__main__":
    raise SystemExit(main())
