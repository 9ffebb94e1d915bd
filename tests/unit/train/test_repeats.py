"""cnnviz.train.repeats and the band figure: the spread of one design over several seeds (issue 15)."""

from __future__ import annotations

import math

import pytest

from cnnviz.core.records import RunRecord
from cnnviz.train.figures import runs_overlay_figure
from cnnviz.train.repeats import curve_band, final_accuracy, repeat_seeds, spread


def test_spread_gives_mean_sample_deviation_and_extremes() -> None:
    summary = spread([0.97, 0.98, 0.99, math.nan])
    assert summary is not None and summary.count == 3
    assert summary.mean == pytest.approx(0.98)
    assert summary.std == pytest.approx(0.01)  # sample standard deviation (n - 1)
    assert (summary.low, summary.high) == (0.97, 0.99)
    assert summary.describe_percent() == "98.00% ± 1.00% (97.00% to 99.00%, 3 runs)"
    assert spread([0.5]).std == 0.0
    assert spread([]) is None and spread([math.nan]) is None


def test_final_accuracy_prefers_the_test_split_then_validation() -> None:
    assert final_accuracy({"val_accuracy": [0.5, 0.6]}, {"accuracy": 0.9}) == 0.9
    assert final_accuracy({"val_accuracy": [0.5, 0.6]}, {}) == 0.6
    assert final_accuracy({"accuracy": [0.7]}, {}) is None


def test_repeat_seeds_follow_the_chosen_seed() -> None:
    assert repeat_seeds(42) == [42, 43, 44]
    assert repeat_seeds(2**31 - 1, 2) == [2**31 - 1, 0]


def test_curve_band_is_the_mean_and_range_per_epoch_all_runs_reached() -> None:
    band = curve_band([{"loss": [1.0, 0.5, 0.2]}, {"loss": [3.0, 1.5]}, {"accuracy": [0.5]}], "loss")
    assert band is not None and band.epochs == [1, 2]
    assert band.mean == [2.0, 1.0] and band.low == [1.0, 0.5] and band.high == [3.0, 1.5]
    assert curve_band([{"loss": [1.0]}], "loss") is None  # one run has no spread


def test_the_run_comparison_draws_a_repeat_as_a_band_instead_of_its_lines() -> None:
    group = [RunRecord(run_id=index, dataset="digits", spec={}, config={"seed": 40 + index},
                       history={"val_accuracy": [0.5 + 0.01 * index, 0.8 + 0.01 * index]}) for index in (2, 3, 4)]
    lone = RunRecord(run_id=1, dataset="digits", spec={}, config={}, history={"val_accuracy": [0.4, 0.6]})
    fig = runs_overlay_figure([lone, *group], "val_accuracy", groups=[group])
    names = [trace.name for trace in fig.data]
    assert "Run 1" in names and not {"Run 2", "Run 3", "Run 4"} & set(names)
    mean = next(trace for trace in fig.data if trace.name == "Runs 2-4: mean of 3 seeds")
    assert list(mean.y) == pytest.approx([0.53, 0.83])
    low = next(trace for trace in fig.data if trace.name.endswith("(lowest)"))
    high = next(trace for trace in fig.data if trace.name.endswith("(highest)"))
    assert list(low.y) == pytest.approx([0.52, 0.82]) and list(high.y) == pytest.approx([0.54, 0.84])
    assert low.fill == "tonexty"
    # A repeat only partly chosen is drawn as its chosen runs' lines.
    partial = runs_overlay_figure([lone, group[0]], "val_accuracy", groups=[group])
    assert [trace.name for trace in partial.data] == ["Run 1", "Run 2"]
