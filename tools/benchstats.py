"""The summary a benchmark prints for a row of timings: count, median, p95 and worst, and whether a target is met.

Pure and tiny on purpose (NumPy does the percentile); shared by the benchmarks that time several tries of one thing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Summary:
    """``count`` timings (seconds): their median, 95th percentile (linear interpolation, NumPy's default) and max."""

    count: int
    median: float
    p95: float
    max: float

    def as_dict(self) -> dict[str, float | int]:
        """The summary as plain numbers (for JSON), rounded to milliseconds."""
        return {"count": self.count, "median": round(self.median, 3), "p95": round(self.p95, 3),
                "max": round(self.max, 3)}


def summarise(seconds: Sequence[float]) -> Summary | None:
    """Summarise timings; ``None`` when there are none.

    Args:
        seconds: the measured durations; NaN or infinite values are refused.

    Raises:
        ValueError: a value is not finite.
    """
    values = np.asarray(list(seconds), dtype=np.float64)
    if values.size == 0:
        return None
    if not np.all(np.isfinite(values)):
        raise ValueError(f"Expected finite timings, got {values.tolist()}.")
    return Summary(count=int(values.size), median=float(np.median(values)),
                   p95=float(np.percentile(values, 95)), max=float(values.max()))


def verdict(summary: Summary | None, target_s: float | None, *, statistic: str = "p95") -> str:
    """``"OK"`` when the summary's ``statistic`` (``"median"``, ``"p95"`` or ``"max"``) is at most ``target_s``.

    ``"OVER"`` when it is above, ``"-"`` when there is no target or nothing was measured.
    """
    if summary is None or target_s is None:
        return "-"
    if statistic not in ("median", "p95", "max"):
        raise ValueError(f"Expected statistic 'median', 'p95' or 'max', got {statistic!r}.")
    value = getattr(summary, statistic)
    return "OK" if value <= target_s or math.isclose(value, target_s) else "OVER"
