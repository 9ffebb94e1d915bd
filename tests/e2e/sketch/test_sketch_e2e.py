"""Sketch page in real Chromium: draw digits with the mouse and read the shipped MNIST model's answer."""

from __future__ import annotations

import math
import re

from playwright.sync_api import Page, expect

from tools.browser import assert_no_exception, open_page, wait_for_idle

CANVAS = "canvas.upper-canvas"  # Fabric.js's top canvas receives the pointer events


def _stroke(page: Page, points: list[tuple[float, float]]) -> None:
    """Draw one stroke through ``points`` (canvas pixels), as a person drags the mouse."""
    box = page.locator(CANVAS).first.bounding_box()
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


#: Clear-then-draw rounds. A stroke right after "Clear the canvas" was lost about one time in 10-33 (a fresh
#: canvas that never finished mounting); a round takes about 6 s on a loaded 2-core machine, so 10 rounds keep
#: the test near a minute (15 took 97 s, 30 would take three minutes).
CLEAR_THEN_DRAW_ROUNDS = 10


def test_the_stroke_right_after_clear_is_never_lost(page: Page, app_server: str) -> None:
    """Clear, then draw as soon as the page has settled, again and again: every stroke is read.

    Clear used to give the canvas a new key; now and then the new canvas never finished mounting (no
    toolbar, strokes ignored: round 10 or 11 of 15 in two runs). Clear now empties the same canvas in place.
    """
    open_page(page, app_server, "sketch")
    _stroke(page, _one())
    expect(_prediction(page)).to_have_text("Prediction: 1", timeout=60_000)
    for round_number in range(CLEAR_THEN_DRAW_ROUNDS):
        page.get_by_role("button", name="Clear the canvas", exact=True).first.click()
        expect(page.get_by_text("Draw a digit on the canvas")).to_be_visible(timeout=60_000)
        expect(_prediction(page)).to_have_count(0)
        wait_for_idle(page)
        _stroke(page, _zero() if round_number % 2 else _one())
        # Any answer shows the stroke arrived (the model's reading of it is the first test's business).
        expect(_prediction(page), f"round {round_number + 1}: the stroke after Clear was lost").to_be_visible(
            timeout=60_000
        )
    assert_no_exception(page)
