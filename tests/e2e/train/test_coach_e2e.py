"""The training coach in Chromium: a diverging run is named, Apply fixes the learning rate, the next run is better."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tools.browser import assert_no_exception, choose_option, open_page, set_slider, wait_for_idle

TRAINING_TIMEOUT_MS = 240_000
#: Slider key, the keys pressed to reach the value, and the value the slider then shows.
SETTINGS = (
    ("train_blocks", ["Home"], "1"), ("train_b1_filters", ["Home"], "4"), ("train_dense", ["Home"], "0"),
    ("train_epochs", ["Home", "ArrowRight"], "2"), ("train_train_size", ["Home", *["ArrowRight"] * 4], "500"),
)


def _slider_shows(page: Page, key: str, presses: list[str], shown: str) -> None:
    """Set a slider with the keyboard until it shows ``shown``: a rerun can land between two quick key presses and
    put back the value it started from, so a lost press is pressed again (up to 3 times)."""
    value = page.locator(f".st-key-{key} [data-testid='stSliderThumbValue']")  # not the min/max tick labels
    for _ in range(3):
        wait_for_idle(page, TRAINING_TIMEOUT_MS)
        if value.inner_text().strip() == shown:
            return
        set_slider(page, key, presses=presses)
    expect(value).to_have_text(shown)


def _settings_hold(page: Page) -> None:
    if "digits" not in page.locator(".st-key-train_dataset").inner_text():
        choose_option(page, "train_dataset", "scikit-learn digits (built in)", timeout_ms=TRAINING_TIMEOUT_MS)
    for key, presses, shown in SETTINGS:
        _slider_shows(page, key, presses, shown)
    if "SGD" not in page.locator(".st-key-train_optimizer").inner_text():
        choose_option(page, "train_optimizer", "SGD with momentum", timeout_ms=TRAINING_TIMEOUT_MS)


def test_train_diverging_apply_the_coach_and_train_better(page: Page, app_server: str) -> None:
    open_page(page, app_server, "train", timeout_ms=TRAINING_TIMEOUT_MS)
    assert_no_exception(page)

    # The built-in digits, one conv block of 4 filters, no dense layer, 2 epochs on 500 images, SGD at rate 10.
    _settings_hold(page)
    _slider_shows(page, "train_lr", ["End"], "10")
    _settings_hold(page)
    assert_no_exception(page)

    page.get_by_role("button", name="Train", exact=True).click()
    first = page.get_by_text(re.compile(r"Run 1 (finished|stopped)"))
    expect(first).to_be_visible(timeout=TRAINING_TIMEOUT_MS)
    wait_for_idle(page, TRAINING_TIMEOUT_MS)
    assert_no_exception(page)
    first_accuracy = re.search(r"Test accuracy ([\d.]+)%", first.inner_text())

    # The coach names it, with the numbers, and offers the usual SGD rate.
    diagnosis = page.locator(".st-key-train_coach_run1_item_0")
    expect(diagnosis).to_contain_text("diverging")
    expect(diagnosis).to_contain_text("learning rate 10")
    apply = diagnosis.get_by_role("button", name="Apply: learning rate 0.01")
    apply.click()
    wait_for_idle(page, TRAINING_TIMEOUT_MS)
    assert_no_exception(page)
    expect(page.locator(".st-key-train_lr [data-testid='stSliderThumbValue']")).to_have_text("0.01")
    expect(page.get_by_text("Applied the coach's suggestion: learning rate 0.01")).to_be_visible()

    _settings_hold(page)
    expect(page.locator(".st-key-train_lr [data-testid='stSliderThumbValue']")).to_have_text("0.01")
    page.get_by_role("button", name="Train", exact=True).click()
    second = page.get_by_text(re.compile(r"Run 2 finished 2 epochs"))
    expect(second).to_be_visible(timeout=TRAINING_TIMEOUT_MS)
    wait_for_idle(page, TRAINING_TIMEOUT_MS)
    assert_no_exception(page)
    # A better result: no longer diverging, and a higher test accuracy than the diverged run.
    expect(page.locator(".st-key-train_coach_run2_item_0")).to_be_visible()
    expect(page.locator("[class*='st-key-train_coach_run2_item_']").filter(has_text="diverging")).to_have_count(0)
    second_accuracy = re.search(r"Test accuracy ([\d.]+)%", second.inner_text())
    assert second_accuracy is not None
    before = float(first_accuracy.group(1)) if first_accuracy else 0.0  # a NaN in epoch 1 keeps no model
    assert float(second_accuracy.group(1)) > before + 10
