"""The Train page in Chromium: train 2 epochs, see 2 points per chart, start again, look at another page while it
trains and come back to it, Stop, save, find it."""

from __future__ import annotations

import re
import time

from playwright.sync_api import Page, expect

from tools.browser import (
    assert_no_exception,
    choose_option,
    open_page,
    set_slider,
    sidebar_link,
    wait_for_idle,
)

TRAINING_TIMEOUT_MS = 240_000


def chart_titled(page: Page, title: str):
    return page.locator('[data-testid="stPlotlyChart"]').filter(
        has=page.locator("text.gtitle", has_text=re.compile(f"^{re.escape(title)}$"))
    )


def test_train_stop_save_and_find_the_model(page: Page, app_server: str) -> None:
    open_page(page, app_server, "train", timeout_ms=TRAINING_TIMEOUT_MS)
    assert_no_exception(page)
    expect(page.get_by_text("Parameters").first).to_be_visible()

    # A small configuration: the built-in digits, one conv block of 4 filters, no dense layer,
    # 2 epochs on 100 images.
    choose_option(page, "train_dataset", "scikit-learn digits (built in)", timeout_ms=TRAINING_TIMEOUT_MS)
    set_slider(page, "train_blocks", presses=["Home"])
    set_slider(page, "train_b1_filters", presses=["Home"])
    set_slider(page, "train_dense", presses=["Home"])
    set_slider(page, "train_epochs", presses=["Home", "ArrowRight"])
    set_slider(page, "train_train_size", presses=["Home"])
    expect(page.locator(".st-key-train_epochs")).to_contain_text("2")
    assert_no_exception(page)

    page.get_by_role("button", name="Train", exact=True).click()
    # The training is a job of the session: the page is idle while a fragment redraws its progress.
    expect(page.get_by_text(re.compile(r"Run 1 finished 2 epochs"))).to_be_visible(timeout=TRAINING_TIMEOUT_MS)
    wait_for_idle(page, TRAINING_TIMEOUT_MS)
    assert_no_exception(page)
    expect(page.get_by_text("Test accuracy").first).to_be_visible()
    for title in ("Loss (cross-entropy)", "Accuracy"):
        chart = chart_titled(page, title).first
        expect(chart).to_be_visible()
        traces = chart.locator("g.trace.scatter")
        expect(traces).to_have_count(2)  # training and validation
        for index in range(2):
            expect(traces.nth(index).locator("path.point")).to_have_count(2)

    # Start again with many epochs on all images, and press Stop once an epoch has finished.
    if page.locator(".st-key-train_early input[type='checkbox']").is_checked():
        page.locator(".st-key-train_early label").click()  # early stopping must not end it before Stop
        wait_for_idle(page, TRAINING_TIMEOUT_MS)
    set_slider(page, "train_epochs", presses=["End"])
    set_slider(page, "train_train_size", presses=["End"])
    page.get_by_role("button", name="Train", exact=True).click()
    expect(page.get_by_text(re.compile(r"Epoch [2-9]/30"))).to_be_visible(timeout=TRAINING_TIMEOUT_MS)

    # Another page does not stop it: the sidebar shows its progress, and the Train page shows it again.
    sidebar_link(page, "Data").click()
    expect(page.locator('[data-testid="stSidebar"]').get_by_text(re.compile(r"Your training: epoch \d+/30"))
           ).to_be_visible(timeout=TRAINING_TIMEOUT_MS)
    assert_no_exception(page)
    sidebar_link(page, "Train").click()
    expect(page.get_by_text(re.compile(r"Training Run 2 on .*\(local backend\)"))).to_be_visible(
        timeout=TRAINING_TIMEOUT_MS)
    expect(page.get_by_text(re.compile(r"Epoch ([3-9]|[12]\d)/30"))).to_be_visible(timeout=TRAINING_TIMEOUT_MS)
    # The page's own Stop, in the page: while a script runs, Streamlit's header shows a "Stop" button too, which
    # stops that script run, not the training.
    stop = page.locator('[data-testid="stMain"]').get_by_role("button", name="Stop", exact=True)
    expect(stop).to_be_visible()
    stop.click()
    stopped = page.get_by_text(re.compile(r"Run 2 stopped after \d+ of 30 epochs"))
    expect(stopped).to_be_visible(timeout=TRAINING_TIMEOUT_MS)
    wait_for_idle(page, TRAINING_TIMEOUT_MS)
    assert_no_exception(page)
    done = int(re.search(r"after (\d+) of", stopped.inner_text()).group(1))
    assert 2 <= done < 30
    # Both runs are overlaid in the comparison chart.
    overlay = chart_titled(page, "Validation accuracy by run").first
    expect(overlay.locator("g.trace.scatter")).to_have_count(2)

    # Save it, then find it in another page's model picker.
    name = f"e2e_train_{int(time.time())}"
    name_box = page.get_by_role("textbox", name="Model name")
    name_box.fill(name)
    name_box.press("Enter")
    wait_for_idle(page, TRAINING_TIMEOUT_MS)
    page.get_by_role("button", name="Save model", exact=True).click()
    wait_for_idle(page, TRAINING_TIMEOUT_MS)
    assert_no_exception(page)
    expect(page.get_by_text(f"'Saved: {name}'")).to_be_visible()

    sidebar_link(page, "Sketch").click()
    wait_for_idle(page, TRAINING_TIMEOUT_MS)
    assert_no_exception(page)
    page.locator(".st-key-sketch_model").get_by_role("button", name="Open").click()
    expect(page.get_by_role("option", name=re.compile(f"Saved: {name}"))).to_be_visible()
