"""Small Playwright helpers for driving a Streamlit app like a person would."""

from __future__ import annotations

import os
import re
from pathlib import Path

from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

APP = '[data-testid="stApp"]'
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
# Headless, and no background traffic: test machines have no network beyond loopback.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",
]

# Two shared CPU cores render Plotly slowly: give every expectation time.
expect.set_options(timeout=30_000)


# True once the app has been connected, finished with its script and free of stale (faded) elements
# for ``quietMs`` in a row. A rerun can start a while after the interaction that caused it (a slider
# sends its value after a debounce, and two busy cores add more), and while it runs Streamlit keeps
# the stale copy of a moved widget beside the new one; one quiet look is not enough to call it idle.
IDLE_JS = """(quietMs) => {
  const app = document.querySelector('[data-testid="stApp"]');
  const idle = app !== null
    && app.getAttribute('data-test-connection-state') === 'CONNECTED'
    && app.getAttribute('data-test-script-state') === 'notRunning'
    && document.querySelector('[data-testid="stElementContainer"][data-stale="true"]') === null;
  const now = performance.now();
  if (!idle) { window.__cnnvizIdleSince = null; return false; }
  if (window.__cnnvizIdleSince == null) { window.__cnnvizIdleSince = now; }
  return now - window.__cnnvizIdleSince >= quietMs;
}"""
RESET_IDLE_JS = "() => { window.__cnnvizIdleSince = null; }"
QUIET_MS = 800


def chromium_path() -> str | None:
    """The Chromium executable: ``$CHROMIUM_PATH`` or a standard Debian location; None when there is none."""
    explicit = os.environ.get("CHROMIUM_PATH")
    if explicit:
        return explicit if Path(explicit).exists() else None
    return next((path for path in CHROMIUM_CANDIDATES if Path(path).exists()), None)


def wait_for_idle(page: Page, timeout_ms: int = 60_000) -> None:
    """Wait until the app is connected, its script has finished, and it has stayed so for a moment."""
    page.wait_for_selector(f'{APP}[data-test-connection-state="CONNECTED"]', timeout=timeout_ms)
    page.evaluate(RESET_IDLE_JS)
    page.wait_for_function(IDLE_JS, arg=QUIET_MS, timeout=timeout_ms, polling=100)


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
    still be settling) closes the list again, so opening is retried a few times. An option given
    as text is typed into the box first, as a person searching a long list would: the list then
    holds only the matches (clicking an option far down a long list scrolled the list, which
    re-rendered it and detached the option, again and again for 30 s in one CI run). If the
    option never shows, the failure message carries what the list did offer and the page's text.
    """
    widget = page.locator(f".st-key-{widget_key} [data-testid='stSelectbox']")
    choice = page.get_by_role("option", name=option, exact=exact)
    for _ in range(4):
        wait_for_idle(page, timeout_ms)
        widget.get_by_role("button", name="Open").click()
        if isinstance(option, str):
            page.keyboard.press("Control+A")  # a retry replaces what an earlier try typed
            page.keyboard.type(option)  # the open box has the focus; typing filters its list
        try:
            choice.wait_for(state="visible", timeout=10_000)
        except PlaywrightTimeoutError:
            page.keyboard.press("Escape")
            continue
        try:
            choice.click(timeout=5_000)
        except PlaywrightTimeoutError:
            # In one CI run the page itself took the click for 30 s ("<html> intercepts pointer events") and the
            # option re-rendered again and again. The typed text has focused the first match: take it with
            # Enter, as a keyboard user would; else close the list and open it again.
            try:
                focused = choice.count() == 1 and choice.get_attribute("data-focused", timeout=2_000) == "true"
            except PlaywrightTimeoutError:
                focused = False
            if focused:
                page.keyboard.press("Enter")
            else:
                page.keyboard.press("Escape")
                continue
        wait_for_idle(page, timeout_ms)
        return
    offered = page.get_by_role("option").all_inner_texts()
    raise AssertionError(
        f"selectbox {widget_key!r} never offered {option!r}; it offered {offered}. "
        f"Page text: {page.locator(APP).inner_text()[:2000]}"
    )


def set_slider(page: Page, key: str, *, presses: list[str], timeout_ms: int = 240_000) -> None:
    """Drive the keyed slider (or select slider) with the keyboard, as a person using the keyboard would."""
    wait_for_idle(page, timeout_ms)
    thumb = page.locator(f".st-key-{key} input[type='range']")
    expect(thumb).to_have_count(1, timeout=timeout_ms)
    thumb.focus()
    for press in presses:
        thumb.press(press)
    # Streamlit sends the value after keyboard input settles; wait for the rerun it causes.
    wait_for_idle(page, timeout_ms)
