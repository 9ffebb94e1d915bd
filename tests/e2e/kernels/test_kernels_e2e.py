"""The Kernel playground in Chromium: pick a preset, see the stages, click an output pixel and read its arithmetic.

Only what needs a browser: the Plotly click. A typo in a kernel cell is checked through AppTest
(tests/app/kernels), which edits the same data_editor state the browser sends.
"""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tools.browser import assert_no_exception, choose_option, open_page, wait_for_idle


def _choose(page: Page, widget_key: str, option: str) -> None:
    choose_option(page, widget_key, option, exact=True)


def _click_pixel(page: Page, chart_key: str, row: int, col: int, shape: tuple[int, int]) -> None:
    """Click the centre of pixel (row, col) of the heatmap in chart ``chart_key``."""
    chart = page.locator(f".st-key-{chart_key}")
    chart.scroll_into_view_if_needed()
    image = chart.locator(".heatmaplayer image").first
    expect(image).to_be_visible()
    box = image.bounding_box()
    assert box is not None
    x = box["x"] + box["width"] * (col + 0.5) / shape[1]
    y = box["y"] + box["height"] * (row + 0.5) / shape[0]
    page.mouse.move(x, y)
    page.wait_for_timeout(300)
    page.mouse.click(x, y)
    wait_for_idle(page, 120_000)


def test_preset_stages_and_the_arithmetic_of_a_clicked_pixel(page: Page, app_server: str) -> None:
    open_page(page, app_server, "kernels")
    assert_no_exception(page)
    expect(page.get_by_role("heading", name="Kernel playground")).to_be_visible()
    expect(page.get_by_text("cross-correlation").first).to_be_visible()

    # Pick a preset for kernel 1: the pipeline's first row is now Sobel x, with every stage and its shape.
    _choose(page, "kernel_preset_0", "Sobel x (vertical edges)")
    assert_no_exception(page)
    pipeline = page.locator(".st-key-kernels_pipeline_plot")
    pipeline.scroll_into_view_if_needed()
    expect(pipeline.get_by_text("1: Sobel x (vertical edges)")).to_be_attached()
    for stage in ("convolution (26×26)", "+ bias 0 (26×26)", "activation: none (26×26)"):
        expect(pipeline.get_by_text(stage)).to_be_attached()
    expect(page.get_by_text("output height = ⌊(28 + 2×0 − 3) / 1⌋ + 1 =")).to_be_visible()

    # Explain kernel 1's output: click a pixel of the output map; the sliders follow and the sum is shown.
    expect(page.get_by_text("Explaining kernel 1: Sobel x (vertical edges).")).to_be_visible()
    _click_pixel(page, "kernels_conv_chart", 9, 12, (26, 26))
    assert_no_exception(page)
    paragraphs = page.locator('[data-testid="stMarkdownContainer"] p')
    line = paragraphs.filter(has_text="Output at row 9, column 12:")
    expect(line).to_be_visible()
    arithmetic = line.inner_text()
    assert "bias 0 =" in arithmetic and "×" in arithmetic, arithmetic
    final = re.search(r"bias 0 = (\S+)$", arithmetic.strip())
    map_line = paragraphs.filter(has_text="The map above shows").inner_text()
    shown = re.search(r"The map above shows (\S+) at this pixel", map_line)
    assert final and shown and final.group(1) == shown.group(1)
    expect(page.locator(".st-key-kernels_arithmetic_plot").get_by_text("input patch")).to_be_attached()


def _animation_step(page: Page) -> str:
    """The animation's current step, as its slider writes it ("Step 5 of 676: output row 0, ...")."""
    return page.locator(".st-key-kernels_animation_plot text.slider-label").first.text_content() or ""


def test_the_animation_plays_pauses_and_steps(page: Page, app_server: str) -> None:
    open_page(page, app_server, "kernels")
    page.get_by_text("Animate the convolution").click()
    wait_for_idle(page, 120_000)
    assert_no_exception(page)
    chart = page.locator(".st-key-kernels_animation_plot")
    chart.scroll_into_view_if_needed()
    expect(chart.locator("text.slider-label").first).to_have_text(re.compile(r"^Step 1 of 676: output row 0, column 0"))
    # Play in the browser (no rerun): the window moves on; pause: it stays.
    chart.get_by_text("▶▶ Fast").click()
    page.wait_for_timeout(1500)
    chart.get_by_text("Pause").click()
    page.wait_for_timeout(300)
    paused = _animation_step(page)
    assert not paused.startswith("Step 1 of"), paused
    page.wait_for_timeout(700)
    assert _animation_step(page) == paused
    # Step with the page's buttons: the figure starts at the next step.
    page.get_by_role("button", name="Step ▶").click()
    wait_for_idle(page, 120_000)
    expect(chart.locator("text.slider-label").first).to_have_text(re.compile(r"^Step 2 of 676: output row 0, column 1"))
