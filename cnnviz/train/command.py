"""``python -m cnnviz train DESIGN.json``: train a design from the terminal, as the Train page does (issue 12 item 4).

DESIGN.json holds a ``spec`` and a ``train_config`` exactly as the model sidecars store them (any
``models/*.json`` is a design), and optionally the ``dataset``. The training is a job of the same job manager
and backends as the page (:mod:`cnnviz.train.jobs`: ``local`` by default, ``ray`` with ``--backend ray`` or
``CNNVIZ_RAY_ADDRESS``), recorded by the same :class:`~cnnviz.train.session.TrainSession`, so it ends with the
same message. It prints one line per finished epoch and a final line with the test accuracy; Ctrl+C stops it
after the current batch and keeps the finished epochs. ``--save NAME`` saves like the Train page
(:func:`cnnviz.core.store.save_model`), with the ``train_config`` in the sidecar so that the saved model is a
design again::

    python -m cnnviz train models/default_mnist.json --dataset digits --save my_digits
    python -m cnnviz train design.json --backend ray --ray-address 127.0.0.1:6379

:func:`train_design` is the same run for Python callers (``tools/train_default_models.py``, ``make models``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from cnnviz.train.jobs import BACKEND_LABELS, JobManager, JobRequest, select_backend
from cnnviz.train.loop import EpochProgress, PreparedData, TrainConfig
from cnnviz.train.session import OUTCOME_KEY, TrainSession
from cnnviz.train.spec import ModelSpec

#: The dataset of a design that names none.
DEFAULT_DATASET = "mnist"


class DesignError(ValueError):
    """A design file the command cannot train; the message says what is wrong and what is expected."""


def read_design(path: Path | str) -> dict[str, Any]:
    """Read DESIGN.json: an object with ``spec`` and ``train_config`` objects (and optionally ``dataset``).

    Raises:
        DesignError: the file cannot be read, is not JSON, or lacks ``spec`` or ``train_config``.
    """
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise DesignError(f"Cannot read the design file: {error}.") from error
    except json.JSONDecodeError as error:
        raise DesignError(f"The design file is not JSON ({error}).") from error
    if not isinstance(data, dict) or not isinstance(data.get("spec"), dict) \
            or not isinstance(data.get("train_config"), dict):
        raise DesignError("Expected a JSON object with 'spec' and 'train_config' objects, as the models/*.json "
                          "sidecars store them.")
    return data


def epoch_line(progress: EpochProgress, seconds: float) -> str:
    """``"epoch 2/5: loss 0.1234, accuracy 96.10%, val_loss 0.0987, val_accuracy 97.00% (12.3 s)"``."""
    parts = []
    for name, value in progress.logs.items():
        if isinstance(value, (int, float)) and math.isfinite(value):
            parts.append(f"{name} {value:.2%}" if name.endswith("accuracy") else f"{name} {value:.4f}")
        else:
            parts.append(f"{name} {value}")
    return f"epoch {progress.epoch + 1}/{progress.epochs}: {', '.join(parts)} ({seconds:.1f} s)"


def train_design(design: Mapping[str, Any], dataset: Any, *, backend: str | None = None,
                 prepare: Callable[[Any, TrainConfig], PreparedData] | None = None,
                 say: Callable[[str], None] = print, poll_s: float = 0.1) -> tuple[TrainSession, Any]:
    """Train ``design`` on ``dataset`` as a job, saying one line per finished epoch; return ``(session, job)``.

    ``session.model`` is the trained :class:`~cnnviz.core.records.TrainedModel` (``None`` if no epoch finished),
    ``session.runs[-1]`` its run record and ``session.outcome`` the page's closing message. A KeyboardInterrupt
    stops the job after its current batch; the finished epochs are kept.

    Args:
        design: ``{"spec": {...}, "train_config": {...}}`` (:func:`read_design`).
        dataset: a :class:`cnnviz.core.datasets.Dataset`.
        backend: ``"local"``, ``"ray"`` or ``None`` (:func:`cnnviz.train.jobs.select_backend`).
        prepare: how to prepare the arrays (``None``: :func:`cnnviz.train.loop.prepare_data`).

    Raises:
        DesignError: the spec or the settings are not a design the studio can build.
        ValueError: ``backend`` is unknown.
    """
    try:
        spec = ModelSpec.from_dict(design["spec"])
        config = TrainConfig.from_dict(design["train_config"])
    except (KeyError, TypeError, ValueError) as error:
        raise DesignError(f"This is not a design the studio can train: {error}") from error
    jobs = JobManager(workers=1, limit=1, orphan_after_s=math.inf, backend=select_backend(backend))
    job = jobs.submit("command-line", JobRequest(dataset=dataset, spec=spec, config=config, prepare=prepare))
    session = TrainSession({}, model_key="model", runs_key="runs")
    said = 0
    while True:
        try:
            ended = not job.active
            session.follow_job(job)
            run = job.runs[-1] if job.runs else None
            if run is not None:
                for index in range(said, len(run.epochs)):
                    say(epoch_line(run.epochs[index], run.epoch_seconds[index]))
                said = len(run.epochs)
            if ended:
                return session, job
            time.sleep(poll_s)
        except KeyboardInterrupt:
            say("Stopping after the current batch; the finished epochs are kept…")
            jobs.stop(job)


def add_cli_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``python -m cnnviz train``."""
    parser.add_argument("design", type=Path, help="a JSON file with 'spec' and 'train_config' (a models/*.json "
                        "sidecar is one), and optionally 'dataset'")
    parser.add_argument("--dataset", help="mnist, fashion_mnist, kmnist or digits (default: the design's dataset, "
                        f"else {DEFAULT_DATASET})")
    parser.add_argument("--backend", choices=("local", "ray"), help="where to train (default: ray when "
                        "CNNVIZ_RAY_ADDRESS or --ray-address is set, else local: a child process on this machine)")
    parser.add_argument("--ray-address", help="the Ray cluster: auto, host:6379 or ray://host:10001 (sets "
                        "CNNVIZ_RAY_ADDRESS)")
    parser.add_argument("--save", metavar="NAME", help="save the trained model as models/NAME.keras with its "
                        "sidecar, as the Train page does")
    parser.add_argument("--models-dir", type=Path, help="where --save writes (default: CNNVIZ_MODELS_DIR, else "
                        "models/)")
    parser.add_argument("--overwrite", action="store_true", help="replace a saved model of the same name")


def run_cli(args: argparse.Namespace) -> int:
    """Train ``args.design``; return 0, 1 when the training failed, or 2 with a message when it could not start."""
    from cnnviz.core.datasets import DatasetError, load_dataset
    from cnnviz.core.store import ModelStoreError, metadata_from_trained, save_model

    def fail(message: str, status: int = 2) -> int:
        print(f"python -m cnnviz train: {args.design}: {message}", file=sys.stderr)
        return status

    if args.ray_address:
        os.environ["CNNVIZ_RAY_ADDRESS"] = args.ray_address
    try:
        design = read_design(args.design)
        name = args.dataset or design.get("dataset") or DEFAULT_DATASET
        dataset = load_dataset(str(name))
        print(f"Training on {dataset.name} ({len(dataset.x_train):,} training images available; "
              f"{dataset.note or dataset.portable_source})", flush=True)
        session, job = train_design(design, dataset, backend=args.backend,
                                    say=lambda line: print(line, flush=True))
    except (DesignError, DatasetError, ValueError) as error:
        return fail(str(error))
    kind, message = session.state.get(OUTCOME_KEY, ("error", job.message or "The training did not run."))
    trained = session.model
    run = session.runs[-1] if session.runs else None
    if trained is None or run is None or not run.test_metrics:
        return fail(message, 1)
    metrics = run.test_metrics
    print(f"test accuracy {metrics['accuracy']:.2%} (test loss {metrics['loss']:.4f}) after {run.epochs_done} "
          f"epochs in {run.duration_s:.1f} s, {run.status}, on {BACKEND_LABELS.get(job.backend, job.backend)}",
          flush=True)
    if kind != "success":
        print(message, file=sys.stderr)
    if args.save:
        meta = metadata_from_trained(trained, data_note=dataset.note, split=dataset.split_sizes())
        meta["made_by"] = f"python -m cnnviz train ({job.backend} backend)"
        try:
            path = save_model(trained.model, args.save, meta, models_dir=args.models_dir, overwrite=args.overwrite)
        except ModelStoreError as error:
            return fail(str(error), 1)
        print(f"saved {path} and {path.with_suffix('.json').name}", flush=True)
    return 0
