"""Unit tests for tools.benchstats: the median/p95/max of a benchmark row, against the standard library."""

from __future__ import annotations

import statistics

import pytest

from tools.benchstats import summarise, verdict


def test_summary_matches_the_standard_library() -> None:
    timings = [0.41, 0.29, 0.35, 1.2, 0.33, 0.38, 0.3]
    summary = summarise(timings)
    assert summary is not None and summary.count == 7
    assert summary.median == pytest.approx(statistics.median(timings))
    # statistics' "inclusive" quantiles interpolate linearly between order statistics, as NumPy's default does.
    assert summary.p95 == pytest.approx(statistics.quantiles(timings, n=20, method="inclusive")[18])
    assert summary.max == 1.2
    assert summary.as_dict() == {"count": 7, "median": 0.35, "p95": round(summary.p95, 3), "max": 1.2}


def test_nothing_measured_and_bad_values() -> None:
    assert summarise([]) is None
    assert verdict(None, 1.0) == "-"
    with pytest.raises(ValueError, match="finite"):
        summarise([0.3, float("nan")])


def test_verdict_against_a_target() -> None:
    summary = summarise([0.2, 0.25, 0.3, 0.35, 0.9])
    assert verdict(summary, 0.5, statistic="median") == "OK"
    assert verdict(summary, 0.5) == "OVER"  # p95 is near the slow try
    assert verdict(summary, 0.9, statistic="max") == "OK"
    assert verdict(summary, None) == "-"
    with pytest.raises(ValueError, match="statistic"):
        verdict(summary, 1.0, statistic="mean")
