"""Challenges in real Chromium: nicknames that try HTML, Markdown or a javascript: link show as typed text,
and the leaderboard shows a classmate's new submission by itself (its fragment reruns every few seconds).

The server gets its own SQLite leaderboard in a temporary folder, seeded directly through the store
(the grading that precedes a real submission is tested in the AppTest layer).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from cnnviz.challenges.db import LeaderboardStore
from cnnviz.challenges.grading import Grade
from cnnviz.challenges.rules import Measured
from tools.browser import assert_no_exception, open_page, wait_for_idle
from tools.streamlit_server import running_server

ATTEMPTS = (
    "<img src=x onerror=alert(1)>",
    "**bold**",
    "[x](javascript:alert(1))",
    "<script>alert(2)</script>",
    ":red[red] $x^2$",
)
CELLS = '[data-testid="stDataFrame"] [role="gridcell"]'


def _grade(accuracy: float) -> Grade:
    return Grade("mnist-5k", Measured(accuracy, 4000, 3), True, ("goal met",), None, 10_000)


@pytest.fixture(scope="module")
def leaderboard_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("leaderboard") / "cnnviz.db"
    store = LeaderboardStore(f"sqlite:///{path}")
    for index, nickname in enumerate(ATTEMPTS):
        store.submit(class_code="XSS1", nickname=nickname, grade=_grade(0.99 - index / 100), session_key=f"s{index}")
    store.dispose()
    return path


@pytest.fixture(scope="module")
def challenges_server(
    chromium_executable: str, e2e_models_dir: Path, leaderboard_db: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    log = tmp_path_factory.mktemp("challenges-server") / "streamlit.log"
    with running_server(e2e_models_dir, log, env={"CNNVIZ_DB_PATH": str(leaderboard_db)}) as url:
        yield url


def _open_class(page: Page, url: str, code: str) -> None:
    open_page(page, url, "challenges")
    page.get_by_role("textbox", name="Class code").fill(code)
    page.keyboard.press("Enter")
    wait_for_idle(page)


def test_injection_attempts_in_nicknames_render_as_plain_text(page: Page, challenges_server: str) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    _open_class(page, challenges_server, "xss1")
    assert_no_exception(page)
    expect(page.get_by_role("heading", name="Leaderboard of class XSS1")).to_be_visible()
    # The grid draws on a canvas; its accessible copy (hidden <td role="gridcell">) holds each cell's text.
    page.locator(CELLS).first.wait_for(state="attached")
    cells = page.locator(CELLS).all_text_contents()
    for attempt in ATTEMPTS:
        assert attempt in cells, f"{attempt!r} is not shown as typed; cells: {cells}"
    app = page.locator('[data-testid="stApp"]')
    expect(app.locator('img[src="x"]')).to_have_count(0)
    expect(app.locator('a[href^="javascript"]')).to_have_count(0)
    expect(app.locator("strong", has_text="bold")).to_have_count(0)
    expect(app.locator(".katex")).to_have_count(0)
    assert not page.evaluate("() => [...document.scripts].some(script => script.textContent.includes('alert(2)'))")
    assert dialogs == []


def test_the_leaderboard_shows_a_new_submission_without_a_click(
    page: Page, challenges_server: str, leaderboard_db: Path
) -> None:
    _open_class(page, challenges_server, "LIVE7")
    expect(page.get_by_text("No submissions yet")).to_be_visible()
    store = LeaderboardStore(f"sqlite:///{leaderboard_db}")
    store.submit(class_code="LIVE7", nickname="classmate", grade=_grade(0.985), session_key="another browser")
    store.dispose()
    # The fragment reruns every 5 s: the row arrives with no interaction in this tab.
    expect(page.locator(CELLS, has_text="classmate")).to_have_count(1, timeout=30_000)
    expect(page.locator(CELLS, has_text="98.50%")).to_have_count(1)
    assert_no_exception(page)
