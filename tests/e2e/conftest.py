"""Browser tests: a real ``streamlit run`` server driven by Playwright in Debian's Chromium.

One server is started per test session on a free port, with its own temporary
models folder (holding copies of the shipped models) so that tests never write
into the repository. An e2e test may skip only where Chromium is missing and
the run is not CI; under CI a missing browser is a failure.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.paths import ARTIFACTS, REPO_ROOT
from tools.browser import CHROMIUM_ARGS, chromium_path
from tools.streamlit_server import LIVE_SERVERS, running_server, server_stacks

CONNECTION_LOG = re.compile(r"websocket|State: \w+; Event:", re.IGNORECASE)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark everything under tests/e2e as ``e2e`` and ``slow``."""
    for item in items:
        if "tests/e2e/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.e2e)
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def chromium_executable() -> str:
    """Path of Chromium; skips (outside CI) or fails (under CI) when it is missing."""
    path = chromium_path()
    if path is None:
        message = "Chromium is not installed (apt-get install -y chromium)"
        if os.environ.get("CI"):
            pytest.fail(f"{message}; CI must run the browser tests.")
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def e2e_models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A temporary models folder seeded with the shipped models."""
    folder = tmp_path_factory.mktemp("models")
    for shipped in (REPO_ROOT / "models").glob("*"):
        if shipped.is_file() and shipped.suffix in {".keras", ".json"}:
            shutil.copy2(shipped, folder / shipped.name)
    return folder


@pytest.fixture(scope="session")
def app_server(
    chromium_executable: str, e2e_models_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """One server for the whole session; yields its base URL."""
    log_path = tmp_path_factory.mktemp("server") / "streamlit.log"
    with running_server(e2e_models_dir, log_path) as url:
        yield url


@pytest.fixture(scope="session")
def browser(chromium_executable: str):
    """One headless Chromium for the whole session."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=chromium_executable,
            headless=True,
            args=CHROMIUM_ARGS,
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, request: pytest.FixtureRequest):
    """A fresh browser tab (its own Streamlit session); a screenshot is saved when the test fails."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    tab = context.new_page()
    tab.set_default_timeout(30_000)
    # What the page's JavaScript reported: a blank page (React's tree unmounted by an uncaught error) says why.
    browser_errors: list[str] = []
    tab.on("pageerror", lambda error: browser_errors.append(f"uncaught: {error}"))
    # Streamlit's own log lines about its connection ("State: CONNECTED; Event: CONNECTION_CLOSED") say when
    # and why its widgets were greyed out (they are disabled while it is not connected).
    tab.on("console", lambda message: browser_errors.append(f"console.{message.type}: {message.text}")
           if message.type in ("error", "warning") or CONNECTION_LOG.search(message.text) else None)
    tab.on("crash", lambda _: browser_errors.append("the page crashed (renderer process)"))
    request.node.browser_errors = browser_errors  # reported by pytest_runtest_makereport, before the stacks
    yield tab
    ARTIFACTS.mkdir(exist_ok=True)
    with open(ARTIFACTS / "browser-console.log", "a", encoding="utf-8") as console_log:  # every test's, for CI
        console_log.write(f"== {request.node.nodeid}\n" + "".join(f"{line}\n" for line in browser_errors))
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed:
        try:
            tab.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
        except Exception:  # noqa: BLE001 - a screenshot is a bonus, never the failure.
            pass
    context.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call):
    """Remember each phase's report on the item so the ``page`` fixture knows whether the test failed."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)
    if report.when == "call" and report.failed:
        # A wait that timed out says what the page showed; the page's own errors say why it stopped (CI keeps
        # only the end of a long report, so they come first); the servers' busy threads say where they were stuck.
        errors = getattr(item, "browser_errors", None)
        if errors is not None:
            report.sections.append(("browser errors", "\n".join(errors[-60:]) or "(none)"))
        for process, log_path in list(LIVE_SERVERS.items()):
            report.sections.append((f"server {process.pid}: thread stacks", server_stacks(process, log_path)))
