"""AppTest runs of the Data page: what its sections say about the dataset it shows."""

from __future__ import annotations

from cnnviz.core.datasets import load_dataset
from cnnviz.data.stats import intensity_summary, pixel_histogram
from tests.support.apptest import app_test


def test_the_seed_box_says_what_it_is_and_the_histogram_caption_fits_the_data() -> None:
    at = app_test("pages/data.py").run()
    assert not at.exception, [e.value for e in at.exception]
    seed = at.number_input(key="data_seed")
    assert seed.label == "Random seed" and "same seed" in seed.help
    dataset = load_dataset(at.selectbox(key="data_dataset").value)
    expected = intensity_summary(*pixel_histogram(dataset.x_train))
    assert any(str(caption.value).startswith(expected) for caption in at.caption)
