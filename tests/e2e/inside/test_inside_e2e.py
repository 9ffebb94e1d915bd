"""The Inside page in Chromium: feature maps for a test image, a clicked confusion-matrix cell shows its images,
one of them opens in the Saliency section and back.

The test saves its own small digits model into the server's models folder (and removes it
afterwards), so it does not depend on which shipped models exist; the expected counts come
from scikit-learn on the same model's predictions.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import Page, expect
from sklearn.metrics import confusion_matrix

from tests.support.models import tiny_cnn
from tools.browser import assert_no_exception, choose_option, open_page, wait_for_idle

MODEL_NAME = "inside-e2e-tiny"


@pytest.fixture(scope="module")
def saved_model(e2e_models_dir: Path) -> Iterator[np.ndarray]:
    """Train a tiny CNN on the built-in digits for a few epochs, save it; yield its test confusion matrix."""
    from cnnviz.core.datasets import load_dataset
    from cnnviz.core.store import save_model

    digits = load_dataset("digits")
    model = tiny_cnn(num_classes=10, seed=0)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(digits.x_train[..., None] / 255.0, digits.y_train, epochs=4, batch_size=64, verbose=0)
    predictions = model.predict(digits.x_test[..., None] / 255.0, verbose=0).argmax(axis=1)
    metadata = {"dataset": "digits", "class_names": list(digits.class_names), "test_metrics": {}}
    save_model(model, MODEL_NAME, metadata, models_dir=e2e_models_dir, overwrite=True)
    yield confusion_matrix(digits.y_test, predictions, labels=range(10))
    for suffix in (".keras", ".json"):
        (e2e_models_dir / f"{MODEL_NAME}{suffix}").unlink(missing_ok=True)


def _choose_model(page: Page) -> None:
    choose_option(page, "inside_model", re.compile(re.escape(MODEL_NAME)))


def _click_cell(page: Page, true_class: int, predicted_class: int) -> None:
    """Click the centre of a confusion-matrix cell, located through Plotly's own axes."""
    plot = page.locator(".st-key-inside_confusion .js-plotly-plot")
    plot.scroll_into_view_if_needed()
    expect(plot.locator(".heatmaplayer image")).to_be_visible()
    position = plot.evaluate(
        """(gd, cell) => ({
            x: gd._fullLayout.xaxis._offset + gd._fullLayout.xaxis.l2p(cell[1]),
            y: gd._fullLayout.yaxis._offset + gd._fullLayout.yaxis.l2p(cell[0]),
        })""",
        [true_class, predicted_class],
    )
    plot.hover(position=position)
    page.wait_for_timeout(300)
    plot.click(position=position)
    wait_for_idle(page, 120_000)


def test_feature_maps_then_a_clicked_confusion_cell_shows_its_images(
    page: Page, app_server: str, saved_model: np.ndarray
) -> None:
    open_page(page, app_server, "inside")
    assert_no_exception(page)
    expect(page.get_by_role("heading", name="Inside the network")).to_be_visible()
    _choose_model(page)
    assert_no_exception(page)

    # Feature maps of test image #0: every conv/pool layer with its name and shape, its maps in one numbered mosaic.
    expect(page.get_by_text(re.compile(r"The model says \S+ \(\d+%\) for test image #0"))).to_be_visible()
    conv_1 = page.locator(".st-key-inside_fm_conv_1")
    conv_1.scroll_into_view_if_needed()
    expect(conv_1.get_by_text("conv_1 (conv) · output 26×26×4")).to_be_attached()
    expect(conv_1.locator(".heatmaplayer image")).to_have_count(1)
    for index in range(4):
        expect(conv_1.get_by_text(f"map {index}", exact=True)).to_be_attached()
    expect(page.locator(".st-key-inside_fm_pool_2").get_by_text("pool_2 (pool) · output 5×5×6")).to_be_attached()

    # Evaluation: click a diagonal cell (the page starts on the most common mistake), see its images.
    page.get_by_role("radio", name="Evaluation").click()
    wait_for_idle(page, 120_000)
    assert_no_exception(page)
    true_class = predicted_class = int(np.argmax(np.diag(saved_model)))
    count = int(saved_model[true_class, predicted_class])
    cell_text = f"{count} test images of {true_class} predicted as {predicted_class} (correct)"
    expect(page.get_by_text(re.compile(r"test images of .* \(mistakes\)"))).to_be_visible()
    expect(page.get_by_text(cell_text)).to_have_count(0)
    _click_cell(page, true_class, predicted_class)
    assert_no_exception(page)
    expect(page.get_by_text(cell_text)).to_be_visible()
    gallery = page.locator(".st-key-inside_cell_images")
    gallery.scroll_into_view_if_needed()
    expect(gallery.locator(".heatmaplayer image")).to_have_count(min(16, count))
    expect(gallery.get_by_text(re.compile(rf"^#\d+: {predicted_class} \d+%$")).first).to_be_attached()

    # One of the cell's images opens in the Saliency section, and back: the section is a fragment, so this
    # checks that the button's callback reruns the whole page (section control included), not just the section.
    opener = page.locator(".st-key-inside_cell_saliency_open").get_by_role("button", name=re.compile("Open its"))
    opener.first.click()
    wait_for_idle(page, 120_000)
    assert_no_exception(page)
    expect(page.get_by_text("Also explain class")).to_be_visible()
    page.get_by_role("button", name=re.compile("Back to the evaluation")).first.click()
    wait_for_idle(page, 120_000)
    assert_no_exception(page)
    expect(page.get_by_text(cell_text)).to_be_visible()  # the same cell as before
