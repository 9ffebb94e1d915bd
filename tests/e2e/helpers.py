"""Small Playwright helpers for driving a Streamlit app like a person would."""

from __future__ import annotations

from playwright.sync_api import Page, expect

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
