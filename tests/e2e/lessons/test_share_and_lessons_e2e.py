"""Share links and a lesson in Chromium: a link opened in a fresh browser context restores Train and Kernels,
and one lesson walked through from its page to the Kernels page and back.

The settings' round trips are checked control by control in AppTest (tests/app/*/test_share_links.py); here only
what needs a browser: the URL in the address bar follows the controls, and a new context (a new session,
nothing remembered) opens exactly what the link says.
"""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from cnnviz.train.share import design_link
from tools.browser import assert_no_exception, choose_option, open_page, set_slider, sidebar_link, wait_for_idle

TIMEOUT_MS = 240_000


def _slider_value(page: Page, key: str) -> str:
    return page.locator(f".st-key-{key} input[type='range']").input_value()


def test_a_train_link_restores_the_controls_in_a_fresh_context(page: Page, app_server: str, browser) -> None:
    open_page(page, app_server, "train", timeout_ms=TIMEOUT_MS)
    assert_no_exception(page)
    set_slider(page, "train_epochs", presses=["End"], timeout_ms=TIMEOUT_MS)
    expect(page).to_have_url(re.compile(r"/train\?epochs=30$"), timeout=30_000)
    # The Copy link box holds the same link.
    page.locator(".st-key-train_share").get_by_role("button", name="Copy link").first.click()
    expect(page.get_by_text(re.compile(r"/train\?epochs=30$")).first).to_be_visible()

    link = design_link({"conv_blocks": [{"filters": 32, "pooling": "none"}, {"filters": 64}], "dropout": 0.25,
                        "dense_units": [128]}, {"optimizer": "adadelta", "learning_rate": 1.0, "epochs": 12},
                       dataset="kmnist", base_url=app_server)
    fresh = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    try:
        fresh.set_default_timeout(30_000)
        fresh.goto(link)
        wait_for_idle(fresh, TIMEOUT_MS)
        assert_no_exception(fresh)
        assert _slider_value(fresh, "train_blocks") == "2"
        assert _slider_value(fresh, "train_epochs") == "12"
        expect(fresh.locator(".st-key-train_optimizer input")).to_have_value("Adadelta")
        expect(fresh.locator(".st-key-train_dataset input")).to_have_value(re.compile("Kuzushiji"))
        expect(fresh.get_by_role("tab", name=re.compile(r"^Block \d$"))).to_have_count(2)
        assert fresh.url == link  # the page writes back the link it was opened with
    finally:
        fresh.context.close()


def test_a_kernels_link_restores_the_bank_and_pipeline_in_a_fresh_context(page: Page, app_server: str) -> None:
    page.goto(f"{app_server}/kernels?kcount=1&k1=2_-1_-1_-1_2_-1_-1_-1_2&act=threshold&pool=max")
    wait_for_idle(page, TIMEOUT_MS)
    assert_no_exception(page)
    assert _slider_value(page, "kernel_count") == "1"
    expect(page.locator(".st-key-kernels_pipe_activation input")).to_have_value(re.compile("^threshold"))
    expect(page.locator(".st-key-kernels_pipe_pool input")).to_have_value(re.compile("^max"))
    pipeline = page.locator(".st-key-kernels_pipeline_plot")
    pipeline.scroll_into_view_if_needed()
    expect(pipeline.get_by_text(re.compile(r"13×13"))).not_to_have_count(0)  # 26x26 pooled 2x2
    # The page writes back the link it was opened with.
    expect(page).to_have_url(re.compile(r"/kernels\?kcount=1&k1=2_-1_-1_-1_2_-1_-1_-1_2&act=threshold&pool=max$"))


def test_a_lesson_walked_through(page: Page, app_server: str) -> None:
    open_page(page, app_server, "lessons", timeout_ms=TIMEOUT_MS)
    assert_no_exception(page)
    choose_option(page, "lessons_pick", re.compile(r"^Edges by hand"), timeout_ms=TIMEOUT_MS)
    opener = page.locator(".st-key-lessons_open_edges-by-hand_1").get_by_role(
        "button", name="Open Kernels with the threshold").first
    expect(opener).to_be_disabled()  # predict first
    page.locator(".st-key-lessons_answer_edges-by-hand_1").get_by_text("A few lines").click()
    wait_for_idle(page, TIMEOUT_MS)
    expect(opener).to_be_enabled()
    opener.click()
    wait_for_idle(page, TIMEOUT_MS)
    expect(page.get_by_role("heading", name="Kernel playground")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/kernels\?act=threshold$"), timeout=30_000)
    expect(page.locator(".st-key-kernels_pipe_activation input")).to_have_value(re.compile("^threshold"))

    sidebar_link(page, "Lessons").click()
    wait_for_idle(page, TIMEOUT_MS)
    expect(page).to_have_url(re.compile(r"/lessons$"))  # another page's settings stay out of this page's URL
    expect(page.locator(".st-key-lessons_pick input")).to_have_value(re.compile("1 of 4 steps done"))
    page.locator(".st-key-lessons_reveal_edges-by-hand_1").get_by_role("button", name="Reveal").first.click()
    wait_for_idle(page, TIMEOUT_MS)
    expect(page.get_by_text(re.compile(r"You said: A few lines\. Only a few pixels survive"))).to_be_visible()
    assert_no_exception(page)
