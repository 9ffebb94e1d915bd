"""Repeat a design with several seeds to see the spread (issue 15): statistics over the repeated runs.

Eight runs of the same design with different luck end a few tenths of a percent apart; a difference
between two designs smaller than that spread says nothing. The Train page's "Repeat with 3 seeds" trains
the same design with seeds ``seed, seed + 1, seed + 2``; :func:`spread` summarises their final accuracy and
:func:`curve_band` their curves epoch by epoch (drawn as a band by
:func:`cnnviz.train.figures.band_traces`).

Pure NumPy; no Streamlit, no TensorFlow.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

#: How many seeds "Repeat" trains.
REPEATS = 3


def repeat_seeds(seed: int, count: int = REPEATS) -> list[int]:
    """The seeds of a repeat: ``seed, seed + 1, ...`` (``count`` of them), wrapping below 2**31."""
    return [(seed + index) % 2**31 for index in range(count)]


@dataclass(frozen=True)
class Spread:
    """Mean and spread of one number over repeated runs.

    Attributes:
        mean: the average; ``std`` the sample standard deviation (0 for one value); ``low``/``high`` the extremes.
        count: how many values.
    """

    mean: float
    std: float
    low: float
    high: float
    count: int

    def describe_percent(self) -> str:
        """``"97.90% ± 0.25% (97.60% to 98.10%, 3 runs)"``."""
        return (f"{self.mean:.2%} ± {self.std:.2%} ({self.low:.2%} to {self.high:.2%}, "
                f"{self.count} run{'s' if self.count != 1 else ''})")


def spread(values: Sequence[float]) -> Spread | None:
    """The :class:`Spread` of the finite ``values``, or ``None`` when there are none."""
    finite = np.asarray([float(value) for value in values], dtype=np.float64)
    finite = finite[np.isfinite(finite)]
    if finite.size == 0:
        return None
    std = float(finite.std(ddof=1)) if finite.size > 1 else 0.0
    return Spread(float(finite.mean()), std, float(finite.min()), float(finite.max()), int(finite.size))


def final_accuracy(history: Mapping[str, Sequence[float]], test_metrics: Mapping[str, float]) -> float | None:
    """A run's final accuracy: on the test split when measured, else its last validation accuracy, else ``None``."""
    if "accuracy" in test_metrics:
        return float(test_metrics["accuracy"])
    values = history.get("val_accuracy") or []
    return float(values[-1]) if values else None


@dataclass(frozen=True)
class Band:
    """Mean and extremes of a curve over runs, per epoch (epochs 1..len(mean) that every run reached)."""

    mean: list[float]
    low: list[float]
    high: list[float]

    @property
    def epochs(self) -> list[int]:
        """1-based epoch numbers of the band's points."""
        return list(range(1, len(self.mean) + 1))


def curve_band(histories: Sequence[Mapping[str, Sequence[float]]], metric: str) -> Band | None:
    """The band of ``metric`` over ``histories``: per epoch that every history reached, the mean, min and max.

    Returns ``None`` with fewer than two histories having the metric (no spread to show).
    """
    curves = [[float(value) for value in history.get(metric, [])] for history in histories]
    curves = [curve for curve in curves if curve]
    if len(curves) < 2:
        return None
    length = min(len(curve) for curve in curves)
    table = np.asarray([curve[:length] for curve in curves], dtype=np.float64)
    return Band(mean=table.mean(axis=0).tolist(), low=table.min(axis=0).tolist(), high=table.max(axis=0).tolist())
