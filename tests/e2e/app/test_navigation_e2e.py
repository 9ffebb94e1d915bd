"""The app opens in Chromium and every page in the navigation renders without an exception."""

from __future__ import annotations

from urllib.parse import urlsplit

from playwright.sync_api import expect

from cnnviz.ui.pages import PAGES
from tools.browser import assert_no_exception, choose_option, open_page, sidebar_link, wait_for_idle
from tools.streamlit_server import running_server


def test_every_page_in_the_navigation_renders(page, app_server):
    """Every page renders, and none asks another host for anything (a classroom may be offline)."""
    elsewhere: list[str] = []
    page.on("request", lambda request: elsewhere.append(request.url)
            if urlsplit(request.url).hostname not in (urlsplit(app_server).hostname, None) else None)
    open_page(page, app_server)
    expect(page.get_by_role("heading", name="cnnviz: see a convolutional neural network learn")).to_be_visible()
    for info in PAGES:
        link = sidebar_link(page, info.title)
        expect(link).to_have_count(1)
        link.click()
        wait_for_idle(page, 120_000)
        assert_no_exception(page)
        expect(page.locator("h1").first).to_be_visible()
    assert not elsewhere, f"pages asked other hosts: {sorted(set(elsewhere))[:5]}"


def test_data_page_shows_mnist_samples_with_class_names(page, app_server):
    open_page(page, app_server, "data")
    assert_no_exception(page)
    # What the caption says about the source depends on the data this machine has; AppTest checks it
    # against a folder holding only the official test split (tests/app/ui/test_foundation_pages.py).
    expect(page.get_by_text("Data source:")).to_be_visible()
    chart = page.locator('[data-testid="stPlotlyChart"]').first
    expect(chart).to_be_visible()
    # The sample grid labels each row with its class name.
    for digit in ("0", "5", "9"):
        expect(chart.locator("g.ytick text").filter(has_text=digit).first).to_be_attached()


def test_data_page_switches_dataset(page, app_server):
    # Switching and each dataset's class names are AppTest's (tests/app/ui/test_foundation_pages.py); the browser
    # checks what only it can: the picker works and Plotly draws non-Latin labels (Kuzushiji's hiragana).
    title, class_name = "Kuzushiji-MNIST", "お (o)"
    open_page(page, app_server, "data")
    choose_option(page, "data_dataset", title)
    assert_no_exception(page)
    samples = page.locator('[data-testid="stPlotlyChart"]').first
    expect(samples.locator("g.ytick text").filter(has_text=class_name).first).to_be_attached()
    counts = page.locator('[data-testid="stPlotlyChart"]').nth(1)
    expect(counts.locator("g.xtick text").filter(has_text=class_name).first).to_be_attached()


def test_a_deep_link_on_a_fresh_server_goes_through_the_router(page, e2e_models_dir, tmp_path):
    # A bookmark to /kernels right after the server starts must still get app.py's navigation and sidebar.
    # Streamlit would run pages/kernels.py alone (its legacy pages/ mode): cnnviz.ui.layout.require_router
    # is what sends it through app.py, so this test fails when Streamlit changes what that relies on.
    with running_server(e2e_models_dir, tmp_path / "fresh.log") as url:
        open_page(page, url, "kernels")
        assert_no_exception(page)
        expect(sidebar_link(page, "Kernels")).to_have_count(1)
        expect(sidebar_link(page, "Home")).to_have_count(1)
        expect(page.locator('[data-testid="stSidebarNav"] a').filter(has_text="app")).to_have_count(0)
        expect(page.get_by_text("is a studio for learning convolutional neural networks")).to_be_visible()
