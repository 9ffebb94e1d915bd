"""Train-page figures and the run records they draw from (no TensorFlow needed)."""

from __future__ import annotations

from cnnviz.core.records import RunRecord, describe_spec, runs_table
from cnnviz.train.figures import history_figure, layer_stack_figure, runs_overlay_figure
from cnnviz.train.spec import ConvBlockSpec, ModelSpec, layer_table

HISTORY = {"loss": [0.9, 0.4], "accuracy": [0.7, 0.9], "val_loss": [0.5, 0.3], "val_accuracy": [0.85, 0.92]}


def test_history_figure_has_one_point_per_epoch_for_training_and_validation() -> None:
    fig = history_figure(HISTORY, "accuracy", epochs=10)
    assert [trace.name for trace in fig.data] == ["training", "validation"]
    assert [list(trace.x) for trace in fig.data] == [[1, 2], [1, 2]]
    assert list(fig.data[1].y) == [0.85, 0.92]
    # The x axis spans the planned epochs so it does not jump while training.
    assert tuple(fig.layout.xaxis.range) == (0.5, 10.5)


def test_history_figure_without_validation_or_epochs() -> None:
    fig = history_figure({"loss": [1.0]}, "loss")
    assert [trace.name for trace in fig.data] == ["training"]
    assert history_figure({}, "loss").data == ()


def test_runs_overlay_draws_one_line_per_run_with_the_metric() -> None:
    runs = [
        RunRecord(run_id=1, dataset="digits", spec={}, config={}, history=HISTORY),
        RunRecord(run_id=2, dataset="digits", spec={}, config={}, history={"loss": [1.0]}),  # no validation
        RunRecord(run_id=3, dataset="digits", spec={}, config={}, history={"val_accuracy": [0.5, 0.6, 0.7]}),
    ]
    fig = runs_overlay_figure(runs, "val_accuracy")
    assert [trace.name for trace in fig.data] == ["Run 1", "Run 3"]
    assert tuple(fig.layout.xaxis.range) == (0.5, 3.5)


def test_layer_stack_figure_labels_every_layer_with_its_shape() -> None:
    spec = ModelSpec(conv_blocks=(ConvBlockSpec(filters=8), ConvBlockSpec(filters=16, padding="valid")),
                     batch_norm=True, dense_units=(32,))
    rows = layer_table(spec)
    fig = layer_stack_figure(rows)
    texts = [annotation.text for annotation in fig.layout.annotations]
    for row in rows:
        assert f"<b>{row.name}</b>" in texts
        assert "×".join(map(str, row.output_shape)) in texts
    assert len(fig.layout.shapes) == len(rows)
    hover = fig.data[0].hovertext
    assert len(hover) == len(rows) and f"{rows[3].params:,} parameters" in hover[3]


def test_runs_table_summarises_settings_and_results() -> None:
    spec = ModelSpec(batch_norm=True).to_dict()
    run = RunRecord(run_id=4, dataset="mnist", spec=spec, config={"optimizer": "adam", "epochs": 5, "train_size": 800},
                    history=HISTORY, test_metrics={"accuracy": 0.97, "loss": 0.1}, status="stopped",
                    duration_s=12.34, samples_per_s=1234.5, data_source="local files")
    (row,) = runs_table([run])
    assert row["Run"] == "Run 4" and row["Status"] == "stopped" and row["Epochs"] == "2/5"
    assert row["Best val acc"] == "92.00%" and row["Test acc"] == "97.00%" and row["Time (s)"] == 12.3
    assert row["Test loss"] == "0.1"
    assert row["Model"] == describe_spec(spec) == "conv 16-32-64, dense 64, dropout 0.3, batch norm"
    assert run.epochs_done == 2


def test_runs_table_says_what_a_run_lacks_instead_of_none() -> None:
    run = RunRecord(run_id=1, dataset="digits", spec=ModelSpec().to_dict(), config={"epochs": 1},
                    history={"loss": [0.5], "accuracy": [0.8]}, test_metrics={}, status="stopped")
    (row,) = runs_table([run])
    assert row["Best val acc"] == row["Test acc"] == row["Test loss"] == "—"


def test_an_exploded_loss_is_drawn_on_a_log_scale_and_a_normal_one_is_not() -> None:
    """Issue 15: learning rate 10 gave a training loss of 2.9e9, which flattened every other epoch to zero."""
    exploded = history_figure({"loss": [2.3, 2.9e9, 4.1e8], "val_loss": [2.3, 2.31, 2.30]}, "loss")
    assert exploded.layout.yaxis.type == "log" and "exploded" in exploded.layout.yaxis.title.text
    normal = history_figure(HISTORY, "loss")
    assert normal.layout.yaxis.type != "log" and "exploded" not in normal.layout.yaxis.title.text


def _tick_labels(low: float, high: float, axis: dict) -> list[str]:
    """The labels Plotly's d3 format would print (format ".Nf%"): at ``dtick`` steps across the axis's range when
    it sets them, else for ~6 ticks across the data [low, high]."""
    decimals = int(str(axis["tickformat"])[1])
    if "dtick" in axis:
        start, end = axis["range"]
        ticks = [start + axis["dtick"] * index for index in range(int((end - start) / axis["dtick"]) + 1)]
    else:
        ticks = [low + (high - low) / 5 * index for index in range(6)]
    return [f"{tick * 100:.{decimals}f}%" for tick in ticks]


def test_accuracy_ticks_never_repeat_a_label() -> None:
    """Issue 15: a narrow accuracy range read "10%, 10%, 9%, 9%" with whole-percent ticks."""
    from cnnviz.train.figures import percent_axis

    for low, high in ((0.089, 0.101), (0.979, 0.985), (0.5, 0.9), (0.9812, 0.9818), (0.09, 0.09)):
        labels = _tick_labels(low, high, percent_axis([low, high]))
        assert len(set(labels)) == len(labels), (low, high, labels)
    flat = percent_axis([0.09, 0.09, 0.09])
    assert flat["range"][0] < 0.09 < flat["range"][1] and flat["range"][1] - flat["range"][0] >= 0.05


def test_an_overlay_of_runs_without_the_metric_says_so_instead_of_an_empty_axis() -> None:
    """Issue 15: runs with a validation split of 0 gave an empty overlay with a -100%...400% axis."""
    runs = [RunRecord(run_id=1, dataset="digits", spec={}, config={}, history={"loss": [1.0], "accuracy": [0.5]})]
    fig = runs_overlay_figure(runs, "val_accuracy")
    assert fig.data == ()
    assert tuple(fig.layout.yaxis.range) == (0.0, 1.0)
    assert "validation split of 0" in fig.layout.annotations[0].text
    assert runs_overlay_figure(runs, "accuracy").layout.annotations == ()


def test_neighbouring_layer_labels_sit_on_different_rows() -> None:
    """Issue 15: the diagram's labels ran together ("28x28x128x28x16...", "dense_1predictions")."""
    spec = ModelSpec(conv_blocks=tuple(ConvBlockSpec(filters=128, kernel_size=5) for _ in range(4)), batch_norm=True,
                     dense_units=(512, 512, 512))
    rows = layer_table(spec)
    fig = layer_stack_figure(rows)
    names = [a for a in fig.layout.annotations if a.text.startswith("<b>")]
    shapes = [a for a in fig.layout.annotations if a.text and not a.text.startswith("<b>")]
    assert len(names) == len(shapes) == len(rows)
    for labels in (names, shapes):
        assert all(left.y != right.y for left, right in zip(labels, labels[1:]))
        assert all(abs(label.y) < fig.layout.yaxis.range[1] for label in labels)  # inside the visible area


def test_history_figure_draws_the_running_batch_loss_under_the_epoch_points() -> None:
    """Issue 11 item 2: the curve moves from the first batches; epoch points sit on top (drawn after the line)."""
    batches = [(0.25, 2.2), (0.5, 1.6), (1.0, 0.9), (1.5, 0.6)]
    fig = history_figure({"loss": [0.9]}, "loss", epochs=3, batches=batches)
    running, training = fig.data
    assert running.name == "running, batch by batch" and running.mode == "lines" and running.line.width == 1
    assert list(running.x) == [0.25, 0.5, 1.0, 1.5] and list(running.y) == [2.2, 1.6, 0.9, 0.6]
    assert training.name == "training" and list(training.x) == [1] and "markers" in training.mode
    assert tuple(fig.layout.xaxis.range) == (0.0, 3.5)  # the first batches (x < 0.5) are in view
    # Before the first epoch ends there is only the running line.
    assert [trace.name for trace in history_figure({}, "loss", epochs=3, batches=batches[:1]).data] == [
        "running, batch by batch"]
