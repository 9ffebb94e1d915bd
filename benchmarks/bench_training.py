"""Benchmark the cost of cnnviz's live training against a bare ``model.fit`` (target ratio >= 0.95).

Run with ``python benchmarks/bench_training.py`` (options: ``--dataset``, ``--train-size``, ``--epochs``,
``--rounds``). The same model (the Train page's default architecture, same seed) is trained on the same
data in the same process, alternately:

* **bare**: ``compile`` + ``model.fit(verbose=0)`` + ``evaluate`` on the test split;
* **cnnviz**: :func:`cnnviz.train.loop.train_model`, which does the same with its callbacks, fed
  by the live-chart callables the Train page uses: after every epoch both Plotly history figures are
  rebuilt and serialised, and a few times a second the progress text is formatted.

Each round times the whole call (compile, fit, test evaluation) twice: by the wall clock and by this
process's CPU time (all its threads). The medians over rounds give training images per second for both
paths and their ratios. On a quiet machine the wall-clock ratio is the one that matters; on a shared
machine other processes make wall-clock rounds vary by 2x or more, while CPU time still counts only the
work this process did, so the exit status (0 = target met) follows the CPU-time ratio.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from cnnviz.core.datasets import load_dataset
from cnnviz.train.figures import history_figure
from cnnviz.train.loop import (
    BatchProgress,
    EpochProgress,
    TrainConfig,
    compile_model,
    prepare_data,
    train_model,
)
from cnnviz.train.spec import ModelSpec, build_model
from cnnviz.train.worker import train_model_isolated

TARGET_RATIO = 0.95


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="mnist", help="mnist, fashion_mnist, kmnist or digits")
    parser.add_argument("--train-size", type=int, default=4000, help="training images per epoch (before validation)")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=4, help="alternating bare/cnnviz rounds")
    parser.add_argument("--determinism-rounds", type=int, default=2,
                        help="alternating child-process trainings with and without TensorFlow's op determinism")
    parser.add_argument("--warm-rounds", type=int, default=2,
                        help="alternating page-path trainings on a fresh child and on the warm worker's ready child")
    parser.add_argument("--warm-wait", type=float, default=30.0,
                        help="seconds the ready child gets to warm up before the click (a server has minutes)")
    parser.add_argument("--warm-only", action="store_true", help="only the warm-worker comparison")
    args = parser.parse_args()
    if args.warm_only:
        return warm_worker_comparison(args)

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

    def bare() -> None:
        model = build_model(spec, num_classes, seed=config.seed)
        keras.utils.set_random_seed(config.seed)
        compile_model(model, config)
        model.fit(data.x_train, data.y_train, batch_size=config.batch_size, epochs=config.epochs,
                  validation_data=(data.x_val, data.y_val), shuffle=True, verbose=0)
        model.evaluate(data.x_test, data.y_test, batch_size=256, verbose=0, return_dict=True)

    def live() -> None:
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

        result = train_model(model, data, config, on_batch=on_batch, on_epoch=on_epoch)
        assert result.epochs_done == config.epochs and len(figures) == 2 * config.epochs and texts

    # Warm up once, untimed: TensorFlow's runtime and Plotly's figure machinery cost seconds on first use,
    # once per process (in the app, long before anyone trains), not once per training.
    warm_config = TrainConfig(train_size=256, epochs=1, validation_split=0.25)
    warm_data = prepare_data(dataset, warm_config)
    train_model(build_model(spec, num_classes, seed=0), warm_data, warm_config,
                on_epoch=lambda progress: history_figure(progress.history, "loss").to_json())
    warm_model = build_model(spec, num_classes, seed=0)
    compile_model(warm_model, warm_config)
    warm_model.fit(warm_data.x_train, warm_data.y_train, epochs=1, verbose=0)

    wall: dict[str, list[float]] = {"bare": [], "cnnviz": []}
    cpu: dict[str, list[float]] = {"bare": [], "cnnviz": []}
    for round_index in range(args.rounds):
        # Alternate which goes first so that a warm cache or a noisy neighbour favours neither.
        order = [("bare", bare), ("cnnviz", live)]
        if round_index % 2:
            order.reverse()
        for name, function in order:
            wall_start, cpu_start = time.perf_counter(), time.process_time()
            function()
            wall[name].append(time.perf_counter() - wall_start)
            cpu[name].append(time.process_time() - cpu_start)
            print(f"round {round_index + 1}: {name:6s} wall {wall[name][-1]:6.2f} s ({images / wall[name][-1]:6.0f} "
                  f"images/s)   cpu {cpu[name][-1]:6.2f} s ({images / cpu[name][-1]:6.0f} images/cpu-s)")

    results = {}
    for clock, times in (("wall", wall), ("cpu", cpu)):
        bare_rate = images / statistics.median(times["bare"])
        live_rate = images / statistics.median(times["cnnviz"])
        results[clock] = live_rate / bare_rate
        unit = "images/s" if clock == "wall" else "images per CPU-second"
        print(f"{clock:4s} bare model.fit          : {bare_rate:8.0f} {unit} (median of {args.rounds})")
        print(f"{clock:4s} cnnviz train_model+live : {live_rate:8.0f} {unit} (median of {args.rounds})")
        print(f"{clock:4s} ratio cnnviz/bare       : {results[clock]:.3f} (target >= {TARGET_RATIO})")
    # The Train page runs this same training in a child process (cnnviz.train.worker, so that TensorFlow's
    # per-fit memory is returned); that adds a fixed start-up cost per training, reported here, no target.
    wall_start = time.perf_counter()
    isolated = train_model_isolated(build_model(spec, num_classes, seed=config.seed), data, config)
    isolated_wall = time.perf_counter() - wall_start
    assert isolated.epochs_done == config.epochs
    print(f"wall child process (page path): {isolated_wall:6.2f} s in all, {isolated.samples_per_s:8.0f} images/s "
          f"inside batches; {isolated_wall - statistics.median(wall['cnnviz']):+.2f} s against cnnviz in-process "
          "(start-up, a TensorFlow import and first tracing)")
    # The cost of exact repeatability (issue 15): the page's child trains with TensorFlow's op determinism.
    # Compared inside batches (the child's own measurement), alternating, so start-up and load matter less.
    rates: dict[bool, list[float]] = {True: [], False: []}
    for round_index in range(args.determinism_rounds):
        for deterministic in ((True, False) if round_index % 2 == 0 else (False, True)):
            run = train_model_isolated(build_model(spec, num_classes, seed=config.seed), data, config,
                                       deterministic=deterministic)
            rates[deterministic].append(run.samples_per_s)
            print(f"determinism round {round_index + 1}: op determinism {'on ' if deterministic else 'off'} "
                  f"{run.samples_per_s:8.0f} images/s inside batches")
    if args.determinism_rounds:
        on, off = statistics.median(rates[True]), statistics.median(rates[False])
        print(f"op determinism costs {1 - on / off:+.1%} of the training speed ({on:.0f} against {off:.0f} images/s, "
              f"medians of {args.determinism_rounds}; above 20% it should become an option)")
    if args.warm_rounds:
        warm_worker_comparison(args)
    met = results["cpu"] >= TARGET_RATIO
    print(f"target (CPU-time ratio >= {TARGET_RATIO}): {'met' if met else 'MISSED'}; load average now "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (wall-clock figures are only meaningful when "
          "the load is below the core count)")
    return 0 if met else 1

def _rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def warm_worker_comparison(args: argparse.Namespace) -> int:
    """Click -> first batch progress and click -> first epoch point through the page path (issue 11 item 1),
    on a fresh child (as before the warm worker) and on the warm worker's ready child, alternating; and the idle
    ready child's memory (RSS). "Click" is the call of train_model_isolated, the model already built, as on the
    page. The ready child is given ``--warm-wait`` seconds to finish warming up, as a server has before a click.
    """
    from cnnviz.train import worker

    dataset = load_dataset(args.dataset)
    spec = ModelSpec()
    config = TrainConfig(train_size=args.train_size, epochs=args.epochs)
    data = prepare_data(dataset, config)
    num_classes = len(dataset.class_names)
    build_model(spec, num_classes)  # the parent's own Keras start, outside the timings
    times: dict[str, list[tuple[float, float, float]]] = {"fresh child": [], "warm child": []}
    for round_index in range(args.warm_rounds):
        for warm in ((False, True) if round_index % 2 == 0 else (True, False)):
            if warm:
                worker.start_warm_worker()
                time.sleep(args.warm_wait)  # the ready child imports TensorFlow and runs its tiny fit meanwhile
                pid = worker.warm_worker_pid()
                print(f"idle ready child: RSS {_rss_mb(pid):.0f} MB (pid {pid})" if pid else "no ready child!")
            model = build_model(spec, num_classes, seed=config.seed)
            marks: dict[str, float] = {}
            start = time.perf_counter()
            train_model_isolated(
                model, data, config,
                on_batch=lambda progress, marks=marks, start=start: marks.setdefault("batch",
                                                                                    time.perf_counter() - start),
                on_epoch=lambda progress, marks=marks, start=start: marks.setdefault("epoch",
                                                                                    time.perf_counter() - start),
            )
            total = time.perf_counter() - start
            worker.stop_warm_worker()  # also ends the replacement, so the next fresh round trains alone
            name = "warm child" if warm else "fresh child"
            times[name].append((marks["batch"], marks["epoch"], total))
            print(f"warm round {round_index + 1}: {name:11s} first progress {marks['batch']:5.2f} s, first epoch "
                  f"point {marks['epoch']:5.2f} s, done {total:5.2f} s")
    for name, rows in times.items():
        medians = [statistics.median(column) for column in zip(*rows, strict=True)]
        print(f"{name:11s} medians of {len(rows)}: first progress {medians[0]:5.2f} s, first epoch point "
              f"{medians[1]:5.2f} s, done {medians[2]:5.2f} s")
    print(f"load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
