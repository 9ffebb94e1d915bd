"""The Data page's figures (cnnviz.data.figures) carry the class names and the numbers they are given."""

from __future__ import annotations

import numpy as np

from cnnviz.data.figures import class_counts_figure, mean_images_figure, pixel_histogram_figure, sample_grid_figure
from cnnviz.data.stats import class_counts, class_montage, mean_images, pixel_histogram

RNG = np.random.default_rng(0)
IMAGES = RNG.integers(0, 256, size=(60, 28, 28), dtype=np.uint8)
LABELS = np.arange(60) % 3


def test_figures_carry_the_class_names():
    names = ["zero", "one", "two"]
    grid = sample_grid_figure(class_montage(IMAGES, LABELS, 3, 4), names, 4)
    assert list(grid.layout.yaxis.ticktext) == names
    bars = class_counts_figure(class_counts(LABELS, 3), class_counts(LABELS[:30], 3), names)
    assert [trace.name for trace in bars.data] == ["training", "test"]
    assert bars.layout.xaxis.type == "category" and list(bars.data[0].x) == names
    assert len(mean_images_figure(mean_images(IMAGES, LABELS, 3), names).data) == 3
    hist = pixel_histogram_figure(*pixel_histogram(IMAGES))
    assert hist.layout.yaxis.type == "log" and sum(hist.data[0].y) == IMAGES.size


def test_sample_rows_sit_beside_their_class_names():
    # The montage is narrower than the chart: the plot area shrinks to it and stays at the left, next to the
    # names, instead of floating in the middle with the names at the far edge.
    grid = sample_grid_figure(class_montage(IMAGES, LABELS, 3, 4), ["zero", "one", "two"], 4)
    assert grid.layout.xaxis.constrain == grid.layout.yaxis.constrain == "domain"
    assert grid.layout.xaxis.constraintoward == "left"
