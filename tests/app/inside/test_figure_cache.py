"""The figure cache the Inside and Kernels sections draw through (cnnviz.ui.charts.cached_figure).

A rerun must not build an unchanged figure again (issue 11), and a figure of changed data must never be
served stale.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from cnnviz.ui.charts import cached_figure

BUILDS: list[str] = []


def _counting_figure(values: np.ndarray, *, title: str = "") -> go.Figure:
    BUILDS.append(title)
    return go.Figure(go.Heatmap(z=values), layout=dict(title=title))


def test_a_figure_is_built_once_per_data_and_anew_when_any_argument_changes() -> None:
    values = np.random.default_rng(7).random((3, 3))
    first = cached_figure(_counting_figure, values, title="cache test")
    assert cached_figure(_counting_figure, values.copy(), title="cache test") is first  # equal data: no build
    assert len(BUILDS) == 1

    changed = values.copy()
    changed[1, 1] += 1.0
    other = cached_figure(_counting_figure, changed, title="cache test")
    np.testing.assert_array_equal(np.asarray(other.data[0].z), changed)
    renamed = cached_figure(_counting_figure, values, title="cache test, renamed")
    assert renamed.layout.title.text == "cache test, renamed"
    assert len(BUILDS) == 3
