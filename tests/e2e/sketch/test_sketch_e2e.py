"""Sketch page in real Chromium: draw digits with the mouse and read the shipped MNIST model's answer."""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tools.browser import assert_no_exception, open_page, wait_for_idle

CANVAS = "canvas.upper-canvas"  # Fabric.js's top canvas receives the pointer events


def _stroke(page: Page, points: list[tuple[float, float]]) -> None:
    """Draw one stroke through ``points`` (canvas pixels), as a person drags the mouse."""
    canvas = page.locator(CANVAS).first
    canvas.wait_for(state="visible", timeout=90_000)  # a fresh server on a busy machine mounts it late
    box = canvas.bounding_box()
    assert box is not None, "the drawing canvas is not on the page"
    x0, y0 = box["x"], box["y"]
    page.mouse.move(x0 + points[0][0], y0 + points[0][1])
    page.mouse.down()
    for x, y in points[1:]:
        page.mouse.move(x0 + x, y0 + y, steps=2)
    page.mouse.up()


def _one() -> list[tuple[float, float]]:
    return [(140, 40 + 10 * k) for k in range(21)]


def _zero() -> list[tuple[float, float]]:
    angles = [-math.pi / 2 + 2 * math.pi * k / 48 for k in range(49)]
    return [(140 + 65 * math.cos(a), 140 + 100 * math.sin(a)) for a in angles]


def _prediction(page: Page):
    return page.get_by_role("heading", name="Prediction:")


def test_draw_a_one_and_a_zero_then_undo_and_clear(page: Page, app_server: str) -> None:
    open_page(page, app_server, "sketch")
    assert_no_exception(page)
    expect(page.get_by_role("combobox", name="Model")).to_have_value(re.compile("^Shipped: default_mnist"))
    expect(page.get_by_text("Draw a digit on the canvas")).to_be_visible()

    _stroke(page, _one())
    expect(_prediction(page)).to_have_text("Prediction: 1", timeout=60_000)
    wait_for_idle(page)
    assert_no_exception(page)
    expect(page.get_by_role("heading", name="How your drawing was prepared")).to_be_visible()

    # The canvas toolbar's Undo removes the stroke: the page says the canvas is empty.
    page.get_by_role("button", name="Undo", exact=True).click()
    expect(page.get_by_text("The canvas looks empty")).to_be_visible(timeout=60_000)
    expect(_prediction(page)).to_have_count(0)

    _stroke(page, _zero())
    expect(_prediction(page)).to_have_text("Prediction: 0", timeout=60_000)
    wait_for_idle(page)

    # "Clear the canvas" starts again with a fresh, empty canvas.
    page.get_by_role("button", name="Clear the canvas", exact=True).first.click()
    expect(page.get_by_text("Draw a digit on the canvas")).to_be_visible(timeout=60_000)
    expect(_prediction(page)).to_have_count(0)
    wait_for_idle(page)
    assert_no_exception(page)


#: Clear-then-draw rounds (issue 15 asks for 30).
CLEAR_THEN_DRAW_ROUNDS = 30
#: Ink on the canvas (sum of the red channel / 255) of one whole stroke drawn by :func:`_one` and :func:`_zero`
#: with the default brush; a canvas holding both (Clear did not clear) has about their sum.
ONE_INK, ZERO_INK = (4_200, 4_400), (10_250, 10_700)  # whole: 4,304 and 10,472; cut ones seen: 3,104-4,104, 5,121
INK_JS = """canvas => {
  const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let ink = 0;
  for (let i = 0; i < pixels.length; i += 4) ink += pixels[i];
  return ink / 255;
}"""


def _ink(page: Page) -> float:
    """How much white ink the drawing canvas holds (the Fabric canvas with the finished strokes)."""
    return page.locator("canvas.dc-canvas").first.evaluate(INK_JS)


def test_the_stroke_right_after_clear_is_never_lost(
    page: Page, app_server: str, request: pytest.FixtureRequest
) -> None:
    """Clear, then draw at once (no wait after the click), 30 times: every stroke is on the canvas and read.

    Two causes were found. (1) Clear used to give the canvas a new key; now and then the new canvas never
    finished mounting (no toolbar, strokes ignored). (2) Then Clear told the same canvas to load an empty
    drawing, which reached the browser a server round trip after the click. A stroke drawn in that moment
    was wiped by the load, whole (the page said "Draw a digit" over an empty canvas: 2 of 21 strokes drawn
    straight after the click on a busy machine) or in part (the load also gave the canvas a new brush
    mid-stroke: 5 of 21, a 0 cut in half read as 6). Our code did not drop such a stroke (its "still the
    drawing from before Clear" check never matched one): the stroke never reached the server. Now the
    companion script clears the canvas in the browser, at the click, with the canvas's own reset tool.
    Every third round waits for the page to show the cleared state first, as a slower hand would. Rounds
    alternate 0 and 1, so the expected answer always differs from the one before: the heading showing it
    is the exact signal that this stroke was read, and the canvas must hold exactly that one stroke.

    A third cause, seen in CI: the reading while drawing was a fragment nested in the drawing's fragment. On
    release the companion script sent a "released" frame in the same Streamlit batch as the canvas's stroke,
    which reran one fragment only (the browser warned "Multiple different fragmentIds detected in a single
    batch", about once a round); and a frame's rerun of the nested fragment racing the drawing's rerun made
    Streamlit's browser side fail ("Cannot set a node at a delta path", "Bad delta path index 6"): the page
    went blank or the stroke went unread, about once in 30 rounds. The page's console must show none of it.
    """
    open_page(page, app_server, "sketch")
    _stroke(page, _one())
    expect(_prediction(page)).to_have_text("Prediction: 1", timeout=60_000)
    for round_number in range(CLEAR_THEN_DRAW_ROUNDS):
        digit, points, ink = (0, _zero(), ZERO_INK) if round_number % 2 == 0 else (1, _one(), ONE_INK)
        waits = round_number % 3 == 2
        page.get_by_role("button", name="Clear the canvas", exact=True).first.click()
        if waits:
            expect(page.get_by_text("Draw a digit on the canvas")).to_be_visible(timeout=60_000)
        _stroke(page, points)
        where = f"round {round_number + 1} ({'after the cleared page' if waits else 'no wait after the click'})"
        expect(_prediction(page), f"{where}: the stroke after Clear was not read").to_have_text(
            re.compile(rf"^Prediction: (unsure \(best guess )?{digit}"), timeout=60_000
        )
        assert ink[0] <= _ink(page) <= ink[1], f"{where}: the canvas does not hold exactly the new stroke"
    assert_no_exception(page)
    console = request.node.browser_errors  # recorded by the page fixture
    assert not [line for line in console if "fragmentIds" in line or "delta path" in line or "uncaught" in line]


def _keep_drawing(page: Page, points: list[tuple[float, float]], *, until: Callable[[], bool],
                  timeout_s: float = 60) -> None:
    """With the mouse held down, go back and forth over ``points`` (page pixels) until ``until()`` or the timeout.

    The reading while drawing is sent only while the pen moves, so a test that waits with the pen still can wait
    for ever; the caller's ``expect`` then says what did not happen.
    """
    deadline = time.monotonic() + timeout_s
    while not until() and time.monotonic() < deadline:
        for x, y in points:
            page.mouse.move(x, y, steps=2)
            page.wait_for_timeout(150)


def test_the_reading_follows_the_stroke_before_the_mouse_is_released(page: Page, app_server: str) -> None:
    """While the mouse is down, the page shows the model's reading of the stroke so far, and it updates."""
    open_page(page, app_server, "sketch")
    page.locator(CANVAS).first.wait_for(state="visible", timeout=90_000)
    box = page.locator(CANVAS).first.bounding_box()
    assert box is not None, "the drawing canvas is not on the page"
    x0, y0 = box["x"], box["y"]
    reading = page.locator(".st-key-sketch_live_reading p").first
    page.mouse.move(x0 + 140, y0 + 40)
    page.mouse.down()
    for step in range(1, 22):  # the "1", drawn slowly
        page.mouse.move(x0 + 140, y0 + 40 + 10 * step, steps=2)
        page.wait_for_timeout(100)
    # The page's script may have found the canvas only after the press (it looks a few times a second once the
    # page is up; in one CI run all of the stroke above came first): keep going over the stroke, as a person would.
    _keep_drawing(page, [(x0 + 140, y0 + 220), (x0 + 140, y0 + 250)], until=lambda: reading.count() > 0)
    expect(reading).to_contain_text("While drawing:", timeout=5_000)
    first = reading.inner_text()
    for step in range(1, 16):  # still down: a foot to the right turns it into something else
        page.mouse.move(x0 + 140 + 6 * step, y0 + 250, steps=2)
        page.wait_for_timeout(100)
    # A busy server may still be answering the frame before the foot: the pen stays on it until the page reads on.
    _keep_drawing(page, [(x0 + 220, y0 + 250), (x0 + 230, y0 + 250)],
                  until=lambda: reading.count() != 1 or reading.inner_text() != first)
    expect(reading, "the reading did not update while the mouse was down").not_to_have_text(first, timeout=5_000)
    expect(_prediction(page)).to_have_count(0)  # nothing released yet: no authoritative prediction
    page.mouse.up()
    expect(_prediction(page)).to_be_visible(timeout=60_000)
    expect(reading).to_have_count(0)  # released: the reading while drawing gives way to the prediction
    assert_no_exception(page)
