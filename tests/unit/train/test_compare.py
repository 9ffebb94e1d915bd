"""cnnviz.train.compare: the settings diff of two runs and the one-line reading of what changed."""

from __future__ import annotations

from typing import Any

from cnnviz.core.records import RunRecord
from cnnviz.train.compare import describe_changes, pair_figure, reading, repeat_spread, settings_rows
from cnnviz.train.loop import TrainConfig
from cnnviz.train.spec import ConvBlockSpec, ModelSpec


def run(run_id: int, *, spec: ModelSpec | None = None, config: TrainConfig | None = None,
        history: dict[str, list[float]] | None = None, test: float | None = None, **raw: Any) -> RunRecord:
    return RunRecord(
        run_id=run_id, dataset=raw.get("dataset", "mnist"),
        spec=raw.get("spec_dict", (spec or ModelSpec()).to_dict()),
        config=raw.get("config_dict", (config or TrainConfig()).to_dict()),
        history=history if history is not None else {"loss": [0.5], "accuracy": [0.95], "val_loss": [0.4],
                                                      "val_accuracy": [0.93]},
        test_metrics={"accuracy": test, "loss": 0.3} if test is not None else {},
        status="finished",
    )


def curves(train: float, val: float) -> dict[str, list[float]]:
    return {"loss": [1.0, 0.5], "accuracy": [0.8, train], "val_loss": [1.0, 0.6], "val_accuracy": [0.8, val]}


def test_the_issues_example_reads_as_the_issue_wrote_it() -> None:
    before = run(1, spec=ModelSpec(dropout=0.3), history=curves(0.950, 0.930))
    after = run(2, spec=ModelSpec(dropout=0.5), history=curves(0.942, 0.934))
    assert reading(before, after) == "dropout 0.3 -> 0.5: validation accuracy +0.4 points, train-validation gap " \
        "-1.2 points."


def test_only_the_changed_settings_differ_and_every_setting_is_listed() -> None:
    config = TrainConfig(learning_rate=0.01, lr_schedule="constant", batch_size=128)
    rows = settings_rows(run(1), run(2, config=config))
    assert [(row.setting, row.first, row.second) for row in rows if row.differs] == [
        ("learning rate", "0.003", "0.01"), ("learning-rate schedule", "cosine", "constant"),
        ("batch size", "64", "128")]
    names = {row.setting for row in rows}
    assert {"dataset", "conv blocks", "block 1 filters", "dropout", "dense units", "optimizer", "seed",
            "early stopping"} <= names


def test_an_extra_conv_block_shows_a_dash_for_the_run_without_it() -> None:
    two = ModelSpec(conv_blocks=(ConvBlockSpec(filters=8), ConvBlockSpec(filters=16)))
    one = ModelSpec(conv_blocks=(ConvBlockSpec(filters=8),))
    rows = {row.setting: row for row in settings_rows(run(1, spec=one), run(2, spec=two))}
    assert (rows["conv blocks"].first, rows["conv blocks"].second) == ("1", "2")
    assert (rows["block 2 filters"].first, rows["block 2 filters"].second) == ("—", "16")
    assert not rows["block 1 filters"].differs


def test_data_lab_settings_are_compared_and_an_old_record_takes_the_defaults() -> None:
    old = run(1, config_dict={key: value for key, value in TrainConfig().to_dict().items()
                              if key not in ("label_noise", "imbalance_classes", "imbalance_keep")})
    damaged = run(2, config_dict={**TrainConfig().to_dict(), "label_noise": 0.2, "imbalance_classes": [3, 5]})
    changed = [(row.setting, row.first, row.second) for row in settings_rows(old, damaged) if row.differs]
    assert changed == [("label noise", "0", "0.2"), ("thinned-out classes", "none", "3, 5")]


def test_a_setting_the_studio_does_not_know_yet_is_still_compared() -> None:
    rows = settings_rows(run(1, config_dict={"mixup": 0.0}), run(2, config_dict={"mixup": 0.4}))
    assert [(row.setting, row.first, row.second) for row in rows if row.differs] == [("mixup", "0", "0.4")]


def test_many_changes_are_summarised_and_none_says_so() -> None:
    rows = settings_rows(run(1), run(2, config=TrainConfig(optimizer="sgd", learning_rate=0.1, batch_size=128,
                                                           epochs=3, seed=1)))
    assert describe_changes(rows) == ("optimizer adam -> sgd, learning rate 0.003 -> 0.1, batch size 64 -> 128 "
                                      "and 2 more settings")
    assert describe_changes(settings_rows(run(1), run(2))) == "the same settings"
    assert describe_changes(settings_rows(run(1), run(2, config=TrainConfig(seed=1, epochs=3)))) == \
        "epochs 6 -> 3 and seed 42 -> 1"


def test_test_accuracy_joins_when_both_runs_were_measured() -> None:
    text = reading(run(1, test=0.91, history=curves(0.95, 0.92)), run(2, test=0.935, history=curves(0.95, 0.94)))
    assert text.endswith("validation accuracy +2.0 points, train-validation gap -2.0 points, test accuracy "
                         "+2.5 points.")


def test_without_validation_the_training_accuracy_is_compared() -> None:
    no_validation = {"loss": [0.5], "accuracy": [0.90]}
    text = reading(run(1, history=no_validation), run(2, config=TrainConfig(epochs=5),
                                                         history={"loss": [0.4], "accuracy": [0.93]}))
    assert text == "epochs 6 -> 5: training accuracy +3.0 points (no validation split to compare)."


def test_a_run_without_a_finished_epoch_is_named() -> None:
    text = reading(run(1), run(2, config=TrainConfig(seed=3), history={}))
    assert text == "Seed 42 -> 3; Run 2 finished no epoch, so there is nothing to compare."


def test_a_repeat_spread_larger_than_the_change_says_it_may_be_luck() -> None:
    repeats = [run(1, history=curves(0.95, 0.930)), run(2, history=curves(0.95, 0.940)),
               run(3, history=curves(0.95, 0.920))]
    other = run(4, spec=ModelSpec(dropout=0.5), history=curves(0.95, 0.935))
    spread = repeat_spread(repeats[0], [repeats])
    assert spread is not None and spread.count == 3 and abs(spread.std - 0.01) < 1e-9
    assert repeat_spread(other, [repeats]) is None
    assert reading(repeats[0], other, groups=[repeats]).endswith(
        "validation accuracy +0.5 points, train-validation gap -0.5 points; the 0.5-point change in validation "
        "accuracy is within the ±1.0-point spread between repeated seeds, so it may be luck.")
    far = run(5, spec=ModelSpec(dropout=0.5), history=curves(0.99, 0.98))
    assert reading(repeats[0], far, groups=[repeats]).endswith("; larger than the ±1.0-point spread between "
                                                               "repeated seeds.")


def test_changes_can_come_first_in_the_pages_order() -> None:
    rows = settings_rows(run(1), run(2, spec=ModelSpec(dropout=0.5), config=TrainConfig(seed=1)), changes_first=True)
    assert [row.setting for row in rows[:3]] == ["dropout", "seed", "dataset"]
    assert [row.differs for row in rows[:3]] == [True, True, False]


def test_the_two_runs_curves_are_told_apart_by_colour_and_dash() -> None:
    fig = pair_figure(run(1, history=curves(0.95, 0.93)), run(2, history=curves(0.94, 0.934)), "val_accuracy")
    lines = {trace.name: (trace.line.color, trace.line.dash, list(trace.y)) for trace in fig.data}
    assert lines["Run 1"][2] == [0.8, 0.93] and lines["Run 2"][2] == [0.8, 0.934]
    assert lines["Run 1"][:2] != lines["Run 2"][:2] and lines["Run 1"][0] != lines["Run 2"][0]
