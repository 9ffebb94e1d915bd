"""Small Playwright helpers for driving a Streamlit app like a person would."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

APP = '[data-testid="stApp"]'

# Two shared CPU cores render Plotly slowly: give every expectation time.
expect.set_options(timeout=30_000)


def wait_for_idle(page: Page, timeout_ms: int = 60_000) -> None:
    """Wait until the app is connected and its script has finished running."""
    page.wait_for_selector(f'{APP}[data-test-connection-state="CONNECTED"]', timeout=timeout_ms)
    # A script run may start a moment after an interaction; give it that moment, then wait it out.
    page.wait_for_timeout(300)
    page.wait_for_selector(f'{APP}[data-test-script-state="notRunning"]', timeout=timeout_ms)


def open_page(page: Page, base_url: str, url_path: str = "", timeout_ms: int = 90_000) -> None:
    """Open a page of the app by its URL path ('' for Home, 'data', 'train', ...) and wait for it."""
    page.goto(f"{base_url}/{url_path}")
    wait_for_idle(page, timeout_ms)


def assert_no_exception(page: Page) -> None:
    """Fail if Streamlit shows an exception box or an error traceback anywhere on the page."""
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)


def sidebar_link(page: Page, title: str):
    """The sidebar navigation link with this title."""
    return page.locator('[data-testid="stSidebarNav"] a').filter(has_text=title)


def choose_option(page: Page, widget_key: str, option: str | re.Pattern[str], *, exact: bool = False,
                  timeout_ms: int = 120_000) -> None:
    """Open the keyed selectbox with its arrow button and pick ``option``, as a person would.

    A rerun that lands just as the list opens (the first run of a page on a fresh server can
    still be settling) closes the list again, so opening is retried a few times. If the option
    never shows, the failure message carries what the list did offer and the page's text.
    """
    widget = page.locator(f".st-key-{widget_key} [data-testid='stSelectbox']")
    choice = page.get_by_role("option", name=option, exact=exact)
    for _ in range(4):
        wait_for_idle(page, timeout_ms)
        widget.get_by_role("button", name="Open").click()
        try:
            choice.wait_for(state="visible", timeout=10_000)
        except PlaywrightTimeoutError:
            page.keyboard.press("Escape")
            continue
        choice.click()
        wait_for_idle(page, timeout_ms)
        return
    offered = page.get_by_role("option").all_inner_texts()
    raise AssertionError(
        f"selectbox {widget_key!r} never offered {option!r}; it offered {offered}. "
        f"Page text: {page.locator(APP).inner_text()[:2000]}"
    )
