"""Widgets and the live-training runner of the Train page.

The page script stays thin: it calls :func:`spec_controls`, :func:`config_controls`,
:func:`show_design`, :func:`train_live`, :func:`show_result` and :func:`show_runs`. The run
bookkeeping behind them (which run is active, what to say when one ends) is Streamlit-free, in
:mod:`cnnviz.train.session`.

How training works: a click on Train submits a job of this session to the server's job manager
(:mod:`cnnviz.train.jobs`), which queues it fairly and trains it in a child process (or on a Ray cluster)
from a thread of its own. The page script never waits for it: :func:`live_training` redraws the job's place
in the queue or its live charts from a fragment every half second, and :func:`finish_interrupted_run`
records its finished epochs and its end in the session (:meth:`cnnviz.train.session.TrainSession.follow_job`).
So opening another page or changing a control stops nothing; only Stop (or closing the tab) does, and the
finished epochs are kept.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import streamlit as st

from cnnviz.core.preload import preload_keras
from cnnviz.core.records import TrainedModel, runs_table
from cnnviz.core.text import md_escape
from cnnviz.train.coach_widgets import coach_line
from cnnviz.train.compare_widgets import compare_two_runs
from cnnviz.train.datalab_widgets import datalab_controls, datalab_result_note
from cnnviz.train.estimate import (
    Measured,
    describe_duration,
    estimate_training_s,
    max_training_s,
    multiply_adds,
    warn_training_s,
)
from cnnviz.train.figures import history_figure, layer_stack_figure, runs_overlay_figure
from cnnviz.train.job_widgets import follow_session_job, session_job, session_owner
from cnnviz.train.jobs import BACKEND_LABELS, QUEUED, JobRefused, JobRequest, job_manager
from cnnviz.train.live_maps import live_maps_figure
from cnnviz.train.loop import (
    LR_SCHEDULES,
    OPTIMIZERS,
    TrainConfig,
    TrainingConfigError,
    evaluate_model,
    validate_config,
)
from cnnviz.train.notebook import notebook_text
from cnnviz.train.repeats import REPEATS, final_accuracy, spread
from cnnviz.train.script import keras_code
from cnnviz.train.session import COMPARE_KEY, MODEL_RUN_KEY, TrainSession, progress_text
from cnnviz.train.spec import ACTIVATIONS, ConvBlockSpec, LayerRow, ModelSpec, SpecError, layer_table
from cnnviz.train.worker import start_warm_worker
from cnnviz.ui.links import link_button
from cnnviz.ui.state import RUNS_KEY, SESSION_MODEL_KEY

FILTER_CHOICES = (4, 8, 16, 32, 64, 128)
UNIT_CHOICES = (16, 32, 64, 128, 256, 512)
LEARNING_RATES = (0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 10.0)
BATCH_SIZES = (16, 32, 64, 128, 256)
#: Filters of each block on first view: the default spec's, then 64 for a fourth block.
DEFAULT_FILTERS = tuple(block.filters for block in ModelSpec().conv_blocks) + (64,) * 4

SCHEDULE_LABELS = {"constant": "constant", "cosine": "cosine decay"}
OPTIMIZER_LABELS = {"adam": "Adam", "sgd": "SGD with momentum", "rmsprop": "RMSprop", "adadelta": "Adadelta"}
ACTIVATION_LABELS = {"relu": "ReLU", "sigmoid": "sigmoid", "tanh": "tanh"}

HELP = {
    "blocks": "A conv block is a convolution layer (optionally followed by pooling). The first blocks find "
    "edges and strokes; later blocks combine them into larger shapes.",
    "filters": "How many different 3x3 or 5x5 patterns (filters) this layer learns. Each filter produces one "
    "feature map, so this is the number of output channels.",
    "kernel": "The side of each filter in pixels. 3x3 sees a small neighbourhood; 5x5 sees more at once but has "
    "almost 3 times as many weights.",
    "stride": "How many pixels the filter moves between positions. Stride 2 halves the width and height, like "
    "pooling, but with learned weights.",
    "padding": "'same' adds a border of zeros so the output keeps the input's size (at stride 1); 'valid' adds "
    "none, so each convolution shrinks the image by kernel size - 1 pixels.",
    "activation": "The non-linearity after the convolution. ReLU (max(0, x)) is preferred: it is cheap and its "
    "gradient does not vanish for positive inputs, while sigmoid and tanh saturate and make deep nets learn slowly.",
    "pooling": "Pooling summarises each 2x2 window by its maximum (max) or mean (average), halving width and "
    "height: fewer numbers to process and a little tolerance to small shifts.",
    "batch_norm": "Batch normalisation rescales each channel to mean 0 and variance 1 over the batch, then learns "
    "a scale and shift. It often makes training faster and less sensitive to the learning rate.",
    "dropout": "During training, randomly zero this fraction of the flattened features so the network cannot rely "
    "on any single one; this reduces overfitting. It is switched off when predicting.",
    "dense_layers": "Fully connected (Dense) layers between the flattened features and the output. 0 connects the "
    "features straight to the softmax output.",
    "units": "How many neurons this dense layer has; more units can represent more combinations of features.",
    "dense_activation": "The non-linearity of the hidden dense layers (ReLU is the usual choice).",
    "optimizer": "How the weights are updated from the gradients. Adam adapts a step size per weight and usually "
    "works out of the box; SGD with momentum is the classic method; RMSprop and Adadelta also adapt step sizes.",
    "learning_rate": "How big each update step is. Too small: learning crawls. Too large: the loss jumps around or "
    "becomes NaN. 0.001 is a good start for Adam, 0.01 to 0.1 for SGD. With a schedule this is the first epoch's "
    "rate, the largest.",
    "lr_schedule": "A schedule changes the learning rate while training. 'cosine decay' starts at the full rate and "
    "lowers it along half a cosine wave, epoch by epoch, to a few percent of it in the last epoch: big steps to get "
    "close quickly, small ones to settle in the minimum. 'constant' keeps the same rate throughout.",
    "batch_size": "How many images are averaged for one gradient step. Small batches give noisy but frequent "
    "updates; large batches give smoother steps and more images per second.",
    "epochs": "One epoch is one pass over all training images. More epochs learn more, until the network starts "
    "to memorise the training images (overfitting: validation loss goes up).",
    "train_size": "How many training images to use (a random subset). Fewer images train faster but generalise "
    "worse; the default (8,000) keeps a run under half a minute on 2 CPU cores.",
    "validation_split": "The fraction of the training images held out to check the network after every epoch. "
    "They are never trained on, so their loss shows whether the network generalises.",
    "early_stopping": "Stop when the validation loss has not improved for 'patience' epochs, instead of running "
    "all epochs and overfitting.",
    "patience": "How many epochs without a better validation loss early stopping waits before stopping.",
    "restore_best": "When early stopping is on, end with the weights of the epoch with the best validation loss "
    "rather than those of the last epoch.",
    "seed": "Seeds the random initial weights, the choice of training images and their shuffling. The same seed "
    "and settings give exactly the same run on this server, so you can compare one change at a time.",
}


def spec_controls(key: str = "train") -> ModelSpec:
    """Show the architecture controls and return the chosen :class:`ModelSpec` (not yet validated)."""
    defaults = ModelSpec()
    count = st.slider("Conv blocks", 1, 4, len(defaults.conv_blocks), key=f"{key}_blocks", help=HELP["blocks"])
    blocks = []
    tabs = st.tabs([f"Block {index}" for index in range(1, count + 1)])
    for index, tab in enumerate(tabs, start=1):
        prefix = f"{key}_b{index}"
        with tab:
            left, right = st.columns(2)
            filters = left.select_slider(
                "Filters", FILTER_CHOICES, DEFAULT_FILTERS[index - 1], key=f"{prefix}_filters", help=HELP["filters"]
            )
            kernel = right.radio(
                "Kernel size", (3, 5), key=f"{prefix}_kernel", horizontal=True,
                format_func=lambda k: f"{k}x{k}", help=HELP["kernel"],
            )
            stride = left.radio("Stride", (1, 2), key=f"{prefix}_stride", horizontal=True, help=HELP["stride"])
            padding = right.radio(
                "Padding", ("same", "valid"), key=f"{prefix}_padding", horizontal=True, help=HELP["padding"]
            )
            activation = left.selectbox(
                "Activation", ACTIVATIONS, key=f"{prefix}_activation",
                format_func=ACTIVATION_LABELS.__getitem__, help=HELP["activation"],
            )
            pooling = right.selectbox(
                "Pooling (2x2)", ("max", "average", "none"), key=f"{prefix}_pooling", help=HELP["pooling"]
            )
            blocks.append(
                ConvBlockSpec(
                    filters=int(filters), kernel_size=int(kernel), stride=int(stride), padding=str(padding),
                    activation=str(activation), pooling=str(pooling), pool_size=2,
                )
            )
    batch_norm = st.checkbox("Batch normalisation after each conv", defaults.batch_norm, key=f"{key}_bn",
                             help=HELP["batch_norm"])
    dropout = st.slider("Dropout before the dense layers", 0.0, 0.7, defaults.dropout, 0.05, key=f"{key}_dropout",
                        help=HELP["dropout"])
    dense_count = st.slider("Dense layers", 0, 3, len(defaults.dense_units), key=f"{key}_dense",
                            help=HELP["dense_layers"])
    units = []
    if dense_count:
        columns = st.columns(dense_count)
        first_units = (*defaults.dense_units, 64, 64, 64)
        for index, column in enumerate(columns, start=1):
            units.append(
                int(column.select_slider(f"Dense {index} units", UNIT_CHOICES, first_units[index - 1],
                                         key=f"{key}_units{index}", help=HELP["units"]))
            )
        dense_activation = st.selectbox(
            "Dense activation", ACTIVATIONS, key=f"{key}_dense_activation",
            format_func=ACTIVATION_LABELS.__getitem__, help=HELP["dense_activation"],
        )
    else:
        dense_activation = "relu"
    return ModelSpec(
        conv_blocks=tuple(blocks), batch_norm=bool(batch_norm), dropout=round(float(dropout), 2),
        dense_units=tuple(units), dense_activation=str(dense_activation),
    )


def config_controls(key: str = "train", *, max_train_size: int, class_names: Sequence[str] = ()) -> TrainConfig:
    """Show the training controls and return the chosen :class:`TrainConfig`.

    Args:
        max_train_size: how many training images the dataset has (the subset slider's maximum).
        class_names: the dataset's classes; when given, the data lab's controls follow
            (:func:`cnnviz.train.datalab_widgets.datalab_controls`).
    """
    defaults = TrainConfig()
    left, right = st.columns(2)
    optimizer = left.selectbox("Optimizer", OPTIMIZERS, key=f"{key}_optimizer",
                               format_func=OPTIMIZER_LABELS.__getitem__, help=HELP["optimizer"])
    learning_rate = right.select_slider("Learning rate", LEARNING_RATES, defaults.learning_rate,
                                        key=f"{key}_lr", format_func=lambda v: f"{v:g}", help=HELP["learning_rate"])
    lr_schedule = left.selectbox("Learning-rate schedule", LR_SCHEDULES, LR_SCHEDULES.index(defaults.lr_schedule),
                                 key=f"{key}_lr_schedule", format_func=SCHEDULE_LABELS.__getitem__,
                                 help=HELP["lr_schedule"])
    batch_size = right.select_slider("Batch size", BATCH_SIZES, defaults.batch_size, key=f"{key}_batch",
                                    help=HELP["batch_size"])
    epochs = left.slider("Epochs", 1, 30, defaults.epochs, key=f"{key}_epochs", help=HELP["epochs"])
    low = min(100, max_train_size)
    size_key = f"{key}_train_size"
    if isinstance(st.session_state.get(size_key), int):
        # A share link may ask for more images than this dataset has (50,000 of the 1,438 digits): use them all.
        st.session_state[size_key] = min(max(st.session_state[size_key], low), max_train_size)
    train_size = left.slider(
        "Training images", low, max_train_size, min(defaults.train_size, max_train_size),
        step=100 if max_train_size - low >= 100 else 1, key=f"{key}_train_size", help=HELP["train_size"],
    )
    validation_split = right.slider("Validation split", 0.0, 0.3, defaults.validation_split, 0.05,
                                    key=f"{key}_val_split", help=HELP["validation_split"])
    # Early stopping watches the validation loss: with no validation images it has nothing to watch (issue 15).
    no_validation = float(validation_split) == 0
    early = left.checkbox("Early stopping", defaults.early_stopping, key=f"{key}_early", disabled=no_validation,
                          help=HELP["early_stopping"])
    if no_validation:
        left.caption("Early stopping is off: it watches the validation loss, and a validation split of 0 leaves "
                     "no validation images to watch.")
        early = False
    patience = right.slider("Patience", 1, 10, defaults.patience, key=f"{key}_patience", disabled=not early,
                            help=HELP["patience"])
    restore = left.checkbox("Restore best weights", defaults.restore_best_weights, key=f"{key}_restore",
                            disabled=not early, help=HELP["restore_best"])
    seed = right.number_input("Random seed", 0, 2**31 - 1, defaults.seed, key=f"{key}_seed", help=HELP["seed"])
    return TrainConfig(
        optimizer=str(optimizer), learning_rate=float(learning_rate), lr_schedule=str(lr_schedule),
        batch_size=int(batch_size),
        epochs=int(epochs), train_size=int(train_size), validation_split=round(float(validation_split), 2),
        early_stopping=bool(early), patience=int(patience), restore_best_weights=bool(restore), seed=int(seed),
        **(datalab_controls(key, class_names) if class_names else {}),
    )


def show_preview(rows: list[LayerRow], spec: ModelSpec, config: TrainConfig, *, dataset: str,
                 num_classes: int, split_of_test: bool = False) -> None:
    """Show the model before training: summary table, total parameters, layer diagram and Keras script.

    ``split_of_test``: the dataset is its official test split, divided (the script then divides it too).
    """
    total = sum(row.params for row in rows)
    st.metric("Parameters", f"{total:,}", help="Every weight and bias the optimizer adjusts (plus batch-norm "
              "running statistics). Most of them usually sit in the first dense layer.")
    summary, diagram, code = st.tabs(["Summary", "Diagram", "Keras code"])
    with summary:
        # A static table, not st.dataframe: it wraps the settings ("128 filters 5x5, stride 1, same, relu") within
        # the half-page column, where the grid cut them off or scrolled sideways (issue 15). The cells are
        # cnnviz's own words (layer names and settings), never user text, so st.table's Markdown is harmless.
        st.table(
            [
                {"Layer": row.name, "Type": row.kind, "Output shape": " x ".join(map(str, row.output_shape)),
                 "Parameters": f"{row.params:,}", "Settings": row.detail}
                for row in rows
            ],
            hide_index=True,
        )
        st.caption(
            "Computed by cnnviz's own shape arithmetic: a conv layer with k x k kernels on C input channels and "
            "F filters has k·k·C·F weights + F biases; a Dense layer with n inputs and m units has n·m + m. "
            "Output size of a 'valid' convolution: out = floor((in - k) / stride) + 1; 'same': ceil(in / stride)."
        )
    with diagram:
        st.plotly_chart(layer_stack_figure(rows), key="train_layer_stack", config={"displayModeBar": False})
        st.caption("The tensor after each layer, left to right: box height is the image size, box width the "
                   "number of channels. Hover a box for its settings and parameter count.")
    with code:
        script = keras_code(spec, config, dataset=dataset, num_classes=num_classes, split_of_test=split_of_test)
        st.download_button("Download train_cnn.py", script, file_name="train_cnn.py", mime="text/x-python",
                           on_click="ignore", key="train_download_script",
                           help="The same model and settings as a plain Keras script you can run on your own "
                           "computer (it downloads the dataset).")
        notebook = notebook_text(spec, config, dataset, num_classes=num_classes, split_of_test=split_of_test)
        st.download_button("Download train_cnn.ipynb", notebook, file_name="train_cnn.ipynb",
                           mime="application/x-ipynb+json", on_click="ignore", key="train_download_notebook",
                           help="The same run as a Jupyter notebook: a short explanation before every step (the "
                           "data and its split, the network, optimizer, seed and callbacks, the training), then "
                           "the test accuracy and the loss and accuracy curves. Run all its cells to reproduce "
                           "this run outside the studio.")
        st.code(script, language="python")


def show_estimate(rows: list[LayerRow], config: TrainConfig, available_images: int, num_classes: int) -> None:
    """Say how long this run will take, before it starts; warn above the server's limit (issue 16, finding 7).

    The speed is this session's last measured run when there is one, else a conservative fixed speed
    (:mod:`cnnviz.train.estimate`). ``available_images``: the dataset's training images.
    """
    count = min(config.train_size, available_images)
    validation = int(round(config.validation_split * count))
    measured = None
    for run in reversed(_session().runs):
        if run.samples_per_s > 0:
            try:
                measured = Measured(run.samples_per_s,
                                    multiply_adds(layer_table(ModelSpec.from_dict(run.spec), num_classes)))
            except (SpecError, TypeError, ValueError):
                measured = None
            break
    seconds = estimate_training_s(multiply_adds(rows), train_images=count - validation,
                                  validation_images=validation, epochs=config.epochs, measured=measured)
    basis = "this session's last run" if measured is not None else "a cautious speed for 2 CPU cores"
    text = (f"Estimated training time: **{describe_duration(seconds)}** for {config.epochs} epochs of "
            f"{count:,} images (from the network's multiply-adds per image and {basis}).")
    limit = max_training_s()
    if seconds > warn_training_s() or (limit is not None and seconds > limit):
        stop_note = (f" This server stops a training after {limit:.0f} s, keeping its finished "
                     "epochs." if limit is not None else "")
        st.warning(f"{text} That is long: only one training runs at a time, so others wait for it. Fewer "
                   f"epochs, fewer images or fewer filters make it quicker.{stop_note}")
    else:
        st.caption(text)


def show_design(spec: ModelSpec, config: TrainConfig, dataset: Any) -> bool:
    """Show the network before training (:func:`show_preview`), or why it cannot be built; return if it can.

    Also makes sure the server keeps a training process ready (:func:`cnnviz.train.worker.start_warm_worker`) and
    has Keras imported, or on its way (:func:`cnnviz.core.preload.preload_keras`: the server builds each training's
    model), so that a click on Train waits for neither an interpreter nor a TensorFlow import (issue 11).

    Args:
        dataset: the chosen :class:`cnnviz.core.datasets.Dataset` (its name, classes and whether it is a
            divided official test split).
    """
    start_warm_worker()
    preload_keras()
    try:
        validate_config(config)
        rows = layer_table(spec, dataset.num_classes)
    except (SpecError, TrainingConfigError) as error:
        st.error(f"**This network cannot be built.** {error}")
        return False
    show_estimate(rows, config, len(dataset.x_train), dataset.num_classes)
    show_preview(rows, spec, config, dataset=dataset.name, num_classes=dataset.num_classes,
                 split_of_test=dataset.split_from_test)
    return True


def _session() -> TrainSession:
    return TrainSession(st.session_state, model_key=SESSION_MODEL_KEY, runs_key=RUNS_KEY)


def live_maps_controls(dataset: Any, key: str = "train") -> int | None:
    """Ask whether to watch one test image's first-layer feature maps while training; return its index or ``None``."""
    left, right = st.columns([2, 1])
    watch = left.checkbox(
        "Watch the first layer learn", False, key=f"{key}_watch",
        help="After every epoch, show the first convolution layer's filters and the feature maps they make of one "
        "test image: you see the filters turn from random noise into stroke and edge detectors as the loss falls.",
    )
    count = len(dataset.x_test)
    index = right.number_input(
        "Test image", 0, max(count - 1, 0), 0, key=f"{key}_watch_image", disabled=not watch or count == 0,
        help="Which test image to follow (its number in the test split).",
    )
    return int(index) if watch and count else None


def train_live(dataset: Any, spec: ModelSpec, config: TrainConfig, *, repeat: bool = False,
               watch_image: int | None = None) -> None:
    """Start training a new model on ``dataset``: submit it as this session's job (:mod:`cnnviz.train.jobs`).

    The job runs on the server, outside this script: :func:`live_training` shows it (its place in the queue,
    then its live charts) and :func:`finish_interrupted_run` records its epochs and its end in the session.
    A refused submit (this session already trains, the queue is full) is an error message, not an exception.

    Args:
        repeat: train the same design :data:`~cnnviz.train.repeats.REPEATS` times with seeds ``config.seed, +1,
            ...`` (:func:`cnnviz.train.repeats.repeat_seeds`) and say how far their final accuracies spread.
        watch_image: a test image's index: after every epoch, show the first layer's filters and its feature maps
            of that image (:mod:`cnnviz.train.live_maps`).
    """
    request = JobRequest(dataset=dataset, spec=spec, config=config, repeats=REPEATS if repeat else 1,
                         watch_image=watch_image)
    try:
        job_manager().submit(session_owner(), request)
    except JobRefused as error:
        st.error(f"**Training did not start.** {error}")
        return
    st.rerun()  # once more from the top: the sidebar (drawn before this click was read) follows the job too


def live_training() -> None:
    """While this session's training job is queued or running: its place in the queue, or its live progress and
    charts, redrawn every :data:`LIVE_REFRESH_S` seconds; and a Stop button. Nothing when it has no active job."""
    job = session_job()
    if job is not None and job.active:
        _live_training_fragment()


#: Seconds between two redraws of the live charts while a training runs (the child reports batches 4 times a second).
LIVE_REFRESH_S = 0.5
#: Until a run's first epoch point, a redraw waits up to this long for the next milestone it has not drawn (the first
#: batch, then the first epoch: :meth:`~cnnviz.train.jobs.Job.wait_for_first_points`), so that each shows as soon as
#: it is there instead of up to :data:`LIVE_REFRESH_S` later (issue 11: click -> first progress 1.40 -> 0.98 s median
#: in Chromium). While a redraw runs, Streamlit marks the live charts stale and starts fading them after 0.5 s: the
#: wait and the redraw stay well under that, so the charts never fade. A Stop click waits at most this long.
FIRST_POINTS_WAIT_S = 0.3
#: Session-state key: what the live view's last redraw showed (job id, its number of runs, whether it drew a batch).
LIVE_SHOWN_KEY = "train_live_shown"


@st.fragment(run_every=LIVE_REFRESH_S)
def _live_training_fragment() -> None:
    manager = job_manager()
    job = follow_session_job()
    if job is None or not job.active:
        st.rerun()  # it ended and is recorded: the whole page runs again and shows the result
    session = _session()
    dataset = job.request.dataset
    title = dataset.title if hasattr(dataset, "title") else dataset.name
    if job.state == QUEUED:
        place = manager.place(job)
        st.info(f"Your training on {title} waits in the queue: {place.describe() if place else 'starting'}. It "
                "starts by itself; meanwhile you can look at other pages (the sidebar shows where it stands).",
                icon=":material/hourglass_top:")
        st.button("Leave the queue", key="train_stop", icon=":material/stop:", on_click=manager.stop, args=(job,),
                  help="Take your training out of the queue; you can start another one at once.")
        return
    # What the last redraw showed: (job, runs, whether it drew a batch), so that a first batch that came just
    # before this redraw is drawn at once, not after waiting for the first epoch.
    shown = st.session_state.get(LIVE_SHOWN_KEY)
    job.wait_for_first_points(FIRST_POINTS_WAIT_S, shown_batch=shown == (job.job_id, len(job.runs), True))
    backend = BACKEND_LABELS.get(job.backend, job.backend or "the server")
    label = session.runs[-1].label if session.runs else "Your run"
    st.info(f"Training {label} on {title}, on {backend}.", icon=":material/model_training:")
    if not job.runs:
        st.progress(0.0, text="Preparing…")
    else:
        run = job.runs[-1]
        progress = run.batch
        fraction, text = 0.0, "Starting the training process…"
        if progress is not None:
            fraction = min((progress.epoch * progress.steps + progress.step)
                           / max(progress.epochs * progress.steps, 1), 1.0)
            text = progress_text(progress)
        st.session_state[LIVE_SHOWN_KEY] = (job.job_id, len(job.runs), progress is not None)
        if run.silent_s >= 5:
            text += f" · no sign from the training process for {run.silent_s:.0f} s"
        st.progress(fraction, text=text)
    st.button("Stop", key="train_stop", type="primary", icon=":material/stop:", on_click=manager.stop, args=(job,),
              help="End training after the current batch. The finished epochs and their weights are kept.")
    st.caption("Your training runs on the server: you can change the controls or open other pages meanwhile (the "
               "sidebar shows its progress), and this page shows it again when you come back. Only Stop, or "
               "closing the tab, stops it.")
    if not job.runs:
        return
    run = job.runs[-1]
    epochs = list(run.epochs)
    history = epochs[-1].history if epochs else {}
    loss_slot, accuracy_slot = st.columns(2)
    # The loss chart moves from the first batches (issue 11): the running training loss within each epoch, as
    # (epoch + step / steps, loss), a thin line under the epoch points.
    loss_slot.plotly_chart(history_figure(history, "loss", epochs=run.config.epochs, batches=list(run.batch_losses)),
                           key=f"train_live_loss_{job.job_id}_{len(job.runs)}")
    if epochs:
        accuracy_slot.plotly_chart(history_figure(history, "accuracy", epochs=run.config.epochs),
                                   key=f"train_live_accuracy_{job.job_id}_{len(job.runs)}")
        coach_line(history)  # the training coach's reading of the finished epochs so far (coach_widgets)
    if run.maps is not None:
        epoch, image, feature_maps, kernel = run.maps
        st.plotly_chart(live_maps_figure(image, feature_maps, kernel, epoch=epoch),
                        key=f"train_live_maps_{job.job_id}_{len(job.runs)}")


def finish_interrupted_run(dataset_loader: Callable[[str], Any]) -> None:
    """Record what this session's training job did since the page last ran: new epochs, and its end.

    A run still marked active without any job (the server lost it) is wrapped up as stopped: its kept model
    (the last finished epoch) is measured on the test split.

    Args:
        dataset_loader: ``name -> Dataset`` (the cached loader), to evaluate on the run's test split.
    """
    if follow_session_job() is None:
        _session().wrap_up_interrupted(lambda model, name: evaluate_model(model, dataset_loader(name)))


def show_outcome() -> None:
    """Show the message about the last run once (success, warning or error)."""
    outcome = _session().outcome
    if outcome:
        kind, message = outcome
        {"success": st.success, "warning": st.warning, "error": st.error}[kind](message)


def repeat_button(disabled: bool) -> bool:
    """The "Repeat with 3 seeds" button; return whether it was clicked."""
    return st.button(
        f"Repeat with {REPEATS} seeds", key="train_repeat", icon=":material/stacked_line_chart:", disabled=disabled,
        help=f"Train this same design {REPEATS} times, with the seed and the next {REPEATS - 1} seeds, to see how far "
        "the results spread by luck alone (initial weights, image order, dropout). A difference between two "
        "designs is only meaningful if it is larger than that spread. Takes three times as long.",
    )


def save_blocker() -> str:
    """Why this session's model must not be saved now (:meth:`TrainSession.save_blocker`), or ``""``."""
    return _session().save_blocker()


TRAIN_PAGE = "pages/train.py"
#: The pages a saved run opens its model on (issue 15 item 6), with what the learner finds there.
SAVED_MODEL_TARGETS = (
    ("pages/sketch.py", "Sketch", "Draw a digit and see what this model reads, with its probabilities."),
    ("pages/inside.py", "Inside", "Look inside this model: its feature maps, filters, saliency and its evaluation "
     "on the test images."),
)


def saved_model_name(save_key: str) -> str:
    """The name this session last saved through ``save_model_form(key=save_key)`` successfully, or ``""``.

    :func:`cnnviz.ui.models.save_model_form` keeps its last result in the session as
    ``("success" | "error", name, message)`` under ``cnnviz_<key>_result``; it has no public accessor yet.
    """
    result = st.session_state.get(f"cnnviz_{save_key}_result")
    if isinstance(result, tuple) and len(result) == 3 and result[0] == "success" and isinstance(result[1], str):
        return result[1]
    return ""


def saved_model_links(save_key: str = "train_save") -> None:
    """After a successful save, buttons that open the saved model on Sketch and on Inside (issue 15 item 6).

    The payload is ``{"model": "<name>.keras"}``, the file name the store lists it under; the targets' model
    pickers start on it. Nothing is shown before a save: this session's model is already the first choice of
    every picker.
    """
    name = saved_model_name(save_key)
    if not name:
        return
    columns = st.columns(len(SAVED_MODEL_TARGETS))
    for column, (page, title, help_text) in zip(columns, SAVED_MODEL_TARGETS, strict=True):
        with column:
            link_button(f"Open '{md_escape(name)}' on {title}", page, {"model": f"{name}.keras"}, origin=TRAIN_PAGE,
                        key=f"train_open_{title.lower()}", help=help_text)


def show_result(trained: TrainedModel) -> None:
    """Show this session's model: test metrics and its loss and accuracy curves."""
    columns = st.columns(3)
    metrics = trained.test_metrics
    columns[0].metric("Test accuracy", f"{metrics['accuracy']:.2%}" if "accuracy" in metrics else "—",
                      help="The share of held-out test images the model classifies correctly. It never saw "
                      "them while training, so this is the honest score.")
    columns[1].metric("Test loss", f"{metrics['loss']:.4f}" if "loss" in metrics else "—",
                      help="The average cross-entropy on the test images: lower means more confident and correct.")
    columns[2].metric("Epochs trained", len(trained.history.get("loss", [])))
    left, right = st.columns(2)
    left.plotly_chart(history_figure(trained.history, "loss"), key="train_result_loss")
    right.plotly_chart(history_figure(trained.history, "accuracy"), key="train_result_accuracy")
    with st.expander("What am I looking at?"):
        st.markdown(
            "One point per finished epoch. **Training** (solid) is measured on the images the network learns "
            "from, while they are being learned; **validation** (dashed) on held-out images after the epoch. "
            "If training keeps improving while validation gets worse, the network is memorising its training "
            "images (overfitting): fewer epochs, more dropout or more data help."
        )
    run = next((run for run in _session().runs if run.run_id == st.session_state.get(MODEL_RUN_KEY)), None)
    datalab_result_note(run.config if run is not None else None, trained.class_names)


def show_runs() -> None:
    """Show this session's runs as a table and overlay the curves of chosen runs."""
    session = _session()
    runs = session.runs
    if not runs:
        st.caption("Every training you start is listed here, so you can compare settings.")
        return
    st.dataframe(runs_table(runs), hide_index=True, key="train_runs_table")
    labels = session.compare_labels()  # a new run joined: compare the latest three (else the user's choice)
    left, right = st.columns([3, 1])
    chosen = left.multiselect("Runs to compare", labels, key=COMPARE_KEY,
                              help="Overlay the curves of these runs on one chart.")
    metric = right.selectbox("Curve", ("val_accuracy", "val_loss", "accuracy", "loss"), key="train_compare_metric",
                             help="Validation curves show how well each run generalises; training curves how "
                             "fast it learns.")
    groups = session.repeat_groups()
    for group in groups:
        summary = spread([value for run in group if (value := final_accuracy(run.history, run.test_metrics))
                          is not None])
        if summary is not None:
            st.caption(f"{group[0].label} to {group[-1].label}, one design with {len(group)} seeds: final accuracy "
                       f"{summary.describe_percent()}. Differences smaller than this spread may be luck.")
    selected = [run for run in runs if run.label in chosen]
    if selected:
        st.plotly_chart(runs_overlay_figure(selected, metric, groups=groups), key="train_runs_overlay")
        st.caption("Each line is one run; a band is one design repeated with several seeds (its mean, and its "
                   "lowest to highest run). Change one setting at a time between runs to see its effect.")
    compare_two_runs()
