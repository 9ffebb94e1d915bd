"""The Train page's run bookkeeping in one session: Streamlit-free, over a session-state mapping.

A run is started (:meth:`TrainSession.start`), updated after every finished epoch
(:meth:`TrainSession.epoch_finished`: the run record and this session's model then hold that
epoch), and ended by :meth:`TrainSession.finish` with the training's result. Trainings run as jobs of
the server (:mod:`cnnviz.train.jobs`), outside any page script; whenever a page of the session runs it
calls :meth:`TrainSession.follow_job`, which replays what the job did since (runs started, epochs
finished, runs ended) through those same methods. A run left marked active without a job (the server
lost it) is wrapped up by :meth:`TrainSession.wrap_up_interrupted`, which marks it stopped and
measures the kept model. Every ending leaves one message for the learner (:meth:`TrainSession.outcome`).

The widgets pass ``st.session_state``; tests pass a dict.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from dataclasses import replace
from typing import Any

from cnnviz.core.records import RunRecord, TrainedModel, new_version
from cnnviz.train.loop import BatchProgress, EpochProgress, TrainConfig, TrainResult
from cnnviz.train.spec import ModelSpec

#: State key: the id of the run being trained; present after a rerun means that run was interrupted.
ACTIVE_RUN_KEY = "train_active_run"
#: State key: ``(kind, message)`` to show once after a run ends (kind "success", "warning" or "error").
OUTCOME_KEY = "train_outcome"
#: State key: the run id whose model is this session's model.
MODEL_RUN_KEY = "train_model_run"
#: State keys of the run comparison: how many runs it has seen, and the chosen run labels (a widget's key).
COMPARE_SEEN_KEY = "train_compare_seen"
COMPARE_KEY = "train_compare_runs"
#: State key: the repeats of one design with several seeds, each a list of run ids.
REPEATS_KEY = "train_repeat_groups"
#: State key: how far this session has recorded its training job (:meth:`TrainSession.follow_job`).
JOB_KEY = "train_job"


#: Batches of an epoch before its speed and time left are shown: the first batches include tracing and warm-up,
#: and the first progress line said "32 images/s · 222 s left" (issue 15).
MEASURED_STEPS = 5


def progress_text(progress: BatchProgress) -> str:
    """The progress bar's line: epoch, batch and running loss; speed and time left once a few batches are timed."""
    text = (f"Epoch {progress.epoch + 1}/{progress.epochs} · batch {progress.step}/{progress.steps} · "
            f"running loss {progress.loss:.4f}")
    if progress.step < min(MEASURED_STEPS, progress.steps):
        return text + " · measuring speed…"
    known = progress.seconds_left == progress.seconds_left  # not NaN
    left = f" · {progress.seconds_left:.0f} s left in this epoch" if known else ""
    return text + f" · {progress.samples_per_s:,.0f} images/s{left}"


#: A finished run whose accuracy is within this share of the way from guessing to perfect learned nothing.
NEAR_CHANCE = 0.1


def failure_note(run: RunRecord, num_classes: int | None) -> str:
    """Say why a run that ended without a NaN still failed, or ``""`` if it did not (issue 15).

    A run failed when its training loss exploded (:func:`cnnviz.train.figures.loss_exploded`) or its accuracy
    (test, else the last validation, else the last training accuracy) is at or near chance: below
    ``1/num_classes + NEAR_CHANCE * (1 - 1/num_classes)`` (19% for 10 classes). ``num_classes`` ``None`` or
    below 2 skips the chance check.
    """
    from cnnviz.train.figures import EXPLODED_LOSS, loss_exploded

    losses = [float(value) for value in run.history.get("loss", [])]
    if loss_exploded(losses):
        return (f" But its training loss exploded (up to {max(losses):.3g}; above {EXPLODED_LOSS:g} means the steps "
                "overshoot). This usually means the learning rate is too high: try 10 times smaller (0.001 for "
                "Adam, 0.01 for SGD).")
    accuracy = run.test_metrics.get("accuracy")
    for key in ("val_accuracy", "accuracy"):
        if accuracy is None and run.history.get(key):
            accuracy = float(run.history[key][-1])
    if accuracy is None or num_classes is None or num_classes < 2:
        return ""
    chance = 1 / num_classes
    if accuracy < chance + NEAR_CHANCE * (1 - chance):
        return (f" But its accuracy {accuracy:.2%} is at chance level (guessing among {num_classes} classes gives "
                f"{chance:.0%}): the network learned nothing. This usually means the learning rate is too high (the "
                "steps overshoot) or far too low, or that sigmoid/tanh layers saturate in a deep network; try Adam "
                "at 0.001 first.")
    return ""


def outcome(run: RunRecord, nan_message: str = "", best_epoch: int | None = None,
            num_classes: int | None = None) -> tuple[str, str]:
    """Return ``(kind, message)`` saying how ``run`` ended: kind ``"success"``, ``"warning"`` or ``"error"``.

    Args:
        run: the ended run (its ``status``, ``history``, ``test_metrics`` and ``config["epochs"]`` are read).
        nan_message: the explanation of a NaN (:attr:`TrainResult.nan_message`).
        best_epoch: 0-based epoch whose weights early stopping restored, or ``None``.
        num_classes: the dataset's classes, for the chance-level check of :func:`failure_note` (``None``: skip).

    A run that finished (or stopped early) but failed (:func:`failure_note`) is a warning, never a success.
    """
    planned = run.config.get("epochs", "?")
    accuracy = run.test_metrics.get("accuracy")
    tested = f" Test accuracy {accuracy:.2%}, test loss {run.test_metrics['loss']:.4f}." if accuracy is not None else ""
    if run.status == "NaN":
        return "error", f"{run.label} stopped: {nan_message}{tested}"
    if run.status == "stopped":
        if run.epochs_done == 0:
            return "warning", f"{run.label} ended before its first epoch finished, so nothing was kept."
        return "warning", (f"{run.label} stopped after {run.epochs_done} of {planned} epochs; the finished epochs "
                           f"and their weights are kept.{tested}")
    best = ""
    if best_epoch is not None and best_epoch + 1 != run.epochs_done:
        best = f" The weights of epoch {best_epoch + 1} (best validation loss) were restored."
    failed = failure_note(run, num_classes)
    kind = "warning" if failed else "success"
    if run.status == "early-stopped":
        return kind, f"{run.label} stopped early after {run.epochs_done} epochs.{best}{tested}{failed}"
    return kind, f"{run.label} finished {run.epochs_done} epochs in {run.duration_s:.0f} s.{best}{tested}{failed}"


class TrainSession:
    """One session's training runs and trained model, kept in its state mapping.

    Args:
        state: the session's state (``st.session_state``, or a dict in tests).
        model_key: the key of this session's :class:`TrainedModel` (shared with the other pages).
        runs_key: the key of this session's list of :class:`RunRecord`, newest last.
    """

    def __init__(self, state: MutableMapping[str, Any], *, model_key: str, runs_key: str) -> None:
        self.state = state
        self.model_key = model_key
        self.runs_key = runs_key

    @property
    def runs(self) -> list[RunRecord]:
        """This session's runs, newest last (the list kept in the state, created if needed)."""
        runs = self.state.setdefault(self.runs_key, [])
        return [run for run in runs if isinstance(run, RunRecord)]

    @property
    def model(self) -> TrainedModel | None:
        """This session's trained model, or ``None``."""
        value = self.state.get(self.model_key)
        return value if isinstance(value, TrainedModel) else None

    @property
    def outcome(self) -> tuple[str, str] | None:
        """``(kind, message)`` about the last run that ended, or ``None``."""
        return self.state.get(OUTCOME_KEY)

    def _find(self, run_id: Any) -> RunRecord | None:
        return next((run for run in self.runs if run.run_id == run_id), None)

    def start(self, dataset: Any, spec: ModelSpec, config: TrainConfig, *, total_params: int) -> RunRecord:
        """Add a new active run of ``spec`` and ``config`` on ``dataset`` (its ``name`` and ``source``)."""
        run = RunRecord(
            run_id=1 + max((run.run_id for run in self.runs), default=0),
            dataset=dataset.name, spec=spec.to_dict(), config=config.to_dict(), data_source=dataset.portable_source,
            total_params=total_params,
        )
        self.state.setdefault(self.runs_key, []).append(run)
        self.state[ACTIVE_RUN_KEY] = run.run_id
        return run

    def epoch_finished(self, run: RunRecord, model: Any, dataset: Any, progress: EpochProgress,
                       filter_snapshots: list[Any], seconds: float) -> None:
        """Record a finished epoch: ``run`` and this session's model (``model`` holds that epoch) now have it.

        Args:
            dataset: the training data's ``name``, ``class_names`` and ``source`` are kept with the model.
            filter_snapshots: the first conv layer's kernels after each epoch so far.
            seconds: time since the run started.
        """
        run.history = progress.history
        run.duration_s = seconds
        self.state[self.model_key] = TrainedModel(
            model=model, dataset=dataset.name, class_names=tuple(dataset.class_names), spec=run.spec,
            history=progress.history, data_source=dataset.portable_source, filter_snapshots=list(filter_snapshots),
            train_config=dict(run.config),
            name=f"This session's model ({run.label}, {progress.epoch + 1} epochs)",
        )
        self.state[MODEL_RUN_KEY] = run.run_id

    def finish(self, run: RunRecord, result: TrainResult, *, waited_s: float = 0.0,
               time_limit_s: float | None = None) -> None:
        """End ``run`` with ``result``: its status and metrics, the session model's final state, the message.

        Args:
            waited_s: seconds the run first waited for the training slot (said in the message when > 0).
            time_limit_s: the server's limit on one training, when it is what stopped this run (said in the
                message, which is then a warning).
        """
        run.status = result.status
        run.history = result.history
        run.test_metrics = result.test_metrics
        run.duration_s = result.duration_s
        run.samples_per_s = result.samples_per_s
        trained = self.model
        if result.epochs_done and trained is not None and self.state.get(MODEL_RUN_KEY) == run.run_id:
            self.state[self.model_key] = replace(
                trained, history=result.history, test_metrics=result.test_metrics,
                filter_snapshots=result.filter_snapshots, version=new_version(),
                name=f"This session's model ({run.label})",
            )
        self.state.pop(ACTIVE_RUN_KEY, None)
        trained = self.model if self.state.get(MODEL_RUN_KEY) == run.run_id else None
        num_classes = len(trained.class_names) if trained is not None and trained.class_names else None
        kind, message = outcome(run, result.nan_message, result.best_epoch, num_classes)
        if time_limit_s is not None:
            kind = "warning" if kind == "success" else kind
            message += (f" It reached this server's limit of {time_limit_s:.0f} s for one training (a teacher's "
                        "setting, CNNVIZ_MAX_TRAINING_S): fewer epochs, fewer images or a smaller network fit in it.")
        if waited_s:
            message += f" It first waited {waited_s:.0f} s for another training to finish."
        self.state[OUTCOME_KEY] = (kind, message)

    def wrap_up_interrupted(self, evaluate: Callable[[Any, str], dict[str, float]]) -> None:
        """If a run is still marked active, it was interrupted: mark it stopped and keep its finished epochs.

        Args:
            evaluate: ``(keras model, dataset name) -> {"loss", "accuracy"}`` on that dataset's test split;
                called for the kept model when an epoch finished.
        """
        run = self._find(self.state.pop(ACTIVE_RUN_KEY, None))
        if run is None:
            return
        run.status = "stopped"
        trained = self.model
        if run.epochs_done and trained is not None and self.state.get(MODEL_RUN_KEY) == run.run_id:
            run.test_metrics = evaluate(trained.model, run.dataset)
            self.state[self.model_key] = replace(trained, test_metrics=run.test_metrics, version=new_version(),
                                                 name=f"This session's model ({run.label})")
        self.state[OUTCOME_KEY] = outcome(run)

    def fail(self, failure: str, evaluate: Callable[[Any, str], dict[str, float]]) -> None:
        """The training process died: wrap the run up as interrupted, and say so first in the message."""
        self.wrap_up_interrupted(evaluate)
        _, kept = self.state.get(OUTCOME_KEY, ("", ""))
        self.state[OUTCOME_KEY] = ("error", f"{failure} {kept}".strip())

    def follow_job(self, job: Any) -> bool:
        """Record what ``job`` (a :class:`cnnviz.train.jobs.Job`) did since the last call; return whether it ended
        and its end was recorded by this call.

        Each of its runs becomes a run record (:meth:`start`), each finished epoch is recorded
        (:meth:`epoch_finished`: this session's model holds it), and each ended run is finished (:meth:`finish`)
        or failed (:meth:`fail`, with the kept model's test metrics the job measured). A job of several runs is
        one repeat group. A job that ended without any run (left the queue) leaves a message too. The message
        names the backend that ran it.
        """
        tracked = self.state.get(JOB_KEY)
        if not isinstance(tracked, dict) or tracked.get("job_id") != job.job_id:
            tracked = {"job_id": job.job_id, "runs": [], "epochs": [], "ended": [], "group": None, "closed": False}
            self.state[JOB_KEY] = tracked
        if tracked["closed"]:
            return False
        request = job.request
        for index, progress in enumerate(list(job.runs)):
            if index == len(tracked["runs"]):
                run = self.start(request.dataset, request.spec, progress.config, total_params=progress.total_params)
                tracked["runs"].append(run.run_id)
                tracked["epochs"].append(0)
                tracked["ended"].append(False)
            run = self._find(tracked["runs"][index])
            if run is None or tracked["ended"][index]:
                continue
            ended = progress.ended  # read before the epochs: an ended run has all its epochs
            epochs = list(progress.epochs)
            for done in range(tracked["epochs"][index], len(epochs)):
                self.epoch_finished(run, progress.model, request.dataset, epochs[done], progress.snapshots(done + 1),
                                    progress.epoch_seconds[done])
            tracked["epochs"][index] = len(epochs)
            if ended:
                if progress.result is not None:
                    self.finish(run, progress.result, waited_s=job.waited_s if index == 0 and job.waited_s >= 1
                                else 0.0, time_limit_s=progress.time_limit_s)
                else:
                    kept = dict(progress.kept_metrics)
                    self.fail(progress.failure, lambda model, name, kept=kept: kept)
                tracked["ended"][index] = True
                if request.repeats > 1:
                    tracked["group"] = self.add_to_repeat(tracked["group"], run)
        if job.active or not all(tracked["ended"]):
            return False
        if tracked["group"] is not None:
            self.finish_repeat(tracked["group"])
        if not job.runs:
            kind = "error" if job.state == "failed" else "warning"
            self.state[OUTCOME_KEY] = (kind, job.message or "Your training left the queue before it started.")
        if job.backend and self.outcome is not None:
            from cnnviz.train.jobs import BACKEND_LABELS

            kind, message = self.outcome
            self.state[OUTCOME_KEY] = (kind, f"{message} Trained by {BACKEND_LABELS.get(job.backend, job.backend)}.")
        tracked["closed"] = True
        return True

    def save_blocker(self) -> str:
        """Why this session's model must not be saved now, or ``""``.

        The latest run that is not running decides: if it kept no epoch (stopped in its first epoch, NaN at once,
        the process died), this session's model is still an older run's, and saving it under a new name would
        pass that run off as this one (issue 15).
        """
        ended = [run for run in self.runs if run.run_id != self.state.get(ACTIVE_RUN_KEY)]
        if not ended or self.model is None:
            return ""
        latest = ended[-1]
        if self.state.get(MODEL_RUN_KEY) == latest.run_id:
            return ""
        return (f"{latest.label} kept no finished epoch, so there is nothing of it to save. The model shown is an "
                "earlier run's; train again to save a new one.")

    def add_to_repeat(self, group_index: int | None, run: RunRecord) -> int:
        """Put ``run`` into repeat group ``group_index`` (``None``: a new group); return the group's index."""
        groups = self.state.setdefault(REPEATS_KEY, [])
        if group_index is None:
            groups.append([])
            group_index = len(groups) - 1
        groups[group_index].append(run.run_id)
        return group_index

    def repeat_groups(self) -> list[list[RunRecord]]:
        """The repeats of one design, each as its runs that kept at least one epoch (groups of two or more)."""
        by_id = {run.run_id: run for run in self.runs}
        groups = []
        for ids in self.state.get(REPEATS_KEY, []):
            runs = [by_id[run_id] for run_id in ids if run_id in by_id and by_id[run_id].epochs_done]
            if len(runs) >= 2:
                groups.append(runs)
        return groups

    def finish_repeat(self, group_index: int) -> None:
        """After the last run of a repeat: the outcome message gives the spread of the final accuracy."""
        from cnnviz.train.repeats import final_accuracy, spread

        ids = self.state.get(REPEATS_KEY, [])[group_index]
        runs = [run for run in self.runs if run.run_id in ids]
        summary = spread([value for run in runs if (value := final_accuracy(run.history, run.test_metrics))
                          is not None])
        kind, message = self.outcome or ("success", "")
        if summary is not None and summary.count >= 2:
            seeds = ", ".join(str(run.config.get("seed")) for run in runs)
            message = (f"The same design trained with seeds {seeds}: final accuracy {summary.describe_percent()}. "
                       "A difference between two designs smaller than this spread may be luck. " + message)
        self.state[OUTCOME_KEY] = (kind, message.strip())

    def compare_labels(self) -> list[str]:
        """The labels of every run; when a new run joined, the comparison choice becomes the latest three."""
        labels = [run.label for run in self.runs]
        if self.state.get(COMPARE_SEEN_KEY) != len(labels):
            self.state[COMPARE_SEEN_KEY] = len(labels)
            self.state[COMPARE_KEY] = labels[-3:]
        return labels
