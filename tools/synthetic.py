"""Synthetic hand-drawn digits: strokes drawn with Pillow the way people sketch on a canvas.

Each digit 0-9 is a few strokes (poly-lines and arcs) in a unit box. A sample
picks a template, wobbles its points a little (a shaky hand), rotates, slants
and stretches it, places it at a random size and position on a 280x280 canvas
and draws it with a random brush width in one of the canvas conventions:

- ``"black_on_white"``: (H, W, 3) uint8, white paper, black ink;
- ``"white_on_black"``: (H, W, 3) uint8, black background, white ink (the Sketch page's canvas);
- ``"transparent"``: (H, W, 4) uint8, transparent background, opaque coloured ink.

Everything is driven by ``numpy.random.default_rng(seed)``, so a seed always
gives the same images: the set is an evaluation set, used by the tests and the
benchmark to measure how well a model recognises sketches.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

#: The canvas conventions a sketch can be drawn in.
CONVENTIONS: tuple[str, ...] = ("black_on_white", "white_on_black", "transparent")
#: The Sketch page's canvas side, in pixels.
CANVAS_SIZE = 280

Point = tuple[float, float]
Stroke = list[Point]


def _arc(cx: float, cy: float, rx: float, ry: float, start: float, end: float, steps: int = 24) -> Stroke:
    """Points on an elliptic arc; angles in degrees, 0 = right, 90 = down (image coordinates)."""
    angles = np.radians(np.linspace(start, end, steps))
    return [(cx + rx * math.cos(a), cy + ry * math.sin(a)) for a in angles]


def _templates() -> dict[int, list[list[Stroke]]]:
    """Stroke templates per digit, in a unit box (x right, y down); several writing styles each."""
    return {
        0: [
            [_arc(0.5, 0.5, 0.32, 0.46, -90, 270, 40)],
            [_arc(0.5, 0.5, 0.26, 0.46, -100, 255, 40)],
        ],
        1: [
            [[(0.5, 0.03), (0.5, 0.97)]],
            [[(0.3, 0.22), (0.55, 0.03), (0.55, 0.97)]],
            [[(0.32, 0.2), (0.55, 0.03), (0.55, 0.97)], [(0.3, 0.97), (0.8, 0.97)]],
        ],
        2: [
            [_arc(0.5, 0.3, 0.3, 0.27, 190, 360, 16) + [(0.78, 0.42), (0.18, 0.97), (0.86, 0.97)]],
            [_arc(0.48, 0.28, 0.3, 0.25, 180, 380, 16) + [(0.15, 0.95), (0.85, 0.93)]],
        ],
        3: [
            [_arc(0.45, 0.27, 0.3, 0.24, -160, 90, 20) + _arc(0.45, 0.74, 0.33, 0.23, -90, 160, 20)[1:]],
            [[(0.2, 0.05), (0.8, 0.05), (0.45, 0.45)] + _arc(0.45, 0.7, 0.35, 0.26, -90, 160, 20)[1:]],
        ],
        4: [
            [[(0.68, 0.97), (0.68, 0.03), (0.12, 0.66), (0.9, 0.66)]],
            [[(0.22, 0.03), (0.18, 0.58), (0.88, 0.58)], [(0.7, 0.25), (0.7, 0.97)]],
        ],
        5: [
            [[(0.82, 0.04), (0.28, 0.04), (0.24, 0.44)] + _arc(0.48, 0.68, 0.33, 0.28, -125, 150, 20)[1:]],
            [
                [(0.26, 0.04), (0.22, 0.46)] + _arc(0.48, 0.68, 0.32, 0.27, -130, 150, 20)[1:],
                [(0.26, 0.04), (0.85, 0.04)],
            ],
        ],
        6: [
            [[(0.72, 0.03), (0.4, 0.3)] + _arc(0.5, 0.7, 0.28, 0.26, 195, 555, 30)],
            [_arc(0.75, 0.55, 0.5, 0.52, -105, -180, 10) + _arc(0.5, 0.72, 0.26, 0.24, 180, 540, 30)],
        ],
        7: [
            [[(0.12, 0.05), (0.88, 0.05), (0.4, 0.97)]],
            [[(0.12, 0.05), (0.88, 0.05), (0.45, 0.97)], [(0.35, 0.5), (0.78, 0.5)]],
        ],
        8: [
            [_arc(0.5, 0.26, 0.22, 0.22, 90, 450, 30), _arc(0.5, 0.7, 0.28, 0.26, -90, 270, 30)],
            [
                _arc(0.5, 0.26, 0.24, 0.22, 20, 290, 24)
                + [(0.3, 0.55), (0.45, 0.7)]
                + _arc(0.5, 0.72, 0.28, 0.25, 240, -60, 24)
                + [(0.55, 0.48), (0.7, 0.35)]
            ],
        ],
        9: [
            [_arc(0.48, 0.3, 0.27, 0.26, 0, 360, 30) + [(0.75, 0.3), (0.72, 0.97)]],
            [_arc(0.48, 0.3, 0.27, 0.26, 10, 360, 30) + [(0.75, 0.3), (0.6, 0.97)]],
        ],
    }


_TEMPLATES = _templates()


@dataclass(frozen=True)
class SketchSample:
    """One synthetic sketch.

    Attributes:
        image: uint8 (280, 280, 3) or (280, 280, 4) depending on ``convention``.
        label: the digit drawn, 0-9.
        convention: one of :data:`CONVENTIONS`.
    """

    image: np.ndarray
    label: int
    convention: str


def _smooth_noise(count: int, scale: float, rng: np.random.Generator) -> np.ndarray:
    """(count, 2) offsets that drift slowly along a stroke, like a hand's wobble (not a jagged line)."""
    noise = rng.normal(0.0, scale, size=(count + 8, 2))
    window = np.ones(9) / 3.0  # a moving sum over 9 points, scaled back to about ``scale``
    smooth = np.stack([np.convolve(noise[:, axis], window, mode="valid") for axis in range(2)], axis=1)
    return smooth[:count]


def _transform(strokes: Sequence[Stroke], rng: np.random.Generator, canvas: int) -> tuple[list[Stroke], float]:
    """Wobble, rotate, slant, stretch, scale and place strokes; return canvas points and the digit's height."""
    wobble = 0.03
    angle = math.radians(rng.uniform(-15, 15))
    slant = rng.uniform(-0.3, 0.3)
    aspect = rng.uniform(0.75, 1.2)
    height = rng.uniform(0.3, 0.85) * canvas
    cos, sin = math.cos(angle), math.sin(angle)
    moved: list[Stroke] = []
    for stroke in strokes:
        points = []
        for (x, y), (dx, dy) in zip(stroke, _smooth_noise(len(stroke), wobble, rng), strict=True):
            x, y = x + dx, y + dy
            x, y = (x - 0.5) * 0.7 * aspect, y - 0.5  # digits are taller than wide
            x += slant * -y  # slant: the top leans right for positive slant
            x, y = x * cos - y * sin, x * sin + y * cos
            points.append((x * height, y * height))
        moved.append(points)
    xs = [p[0] for s in moved for p in s]
    ys = [p[1] for s in moved for p in s]
    margin = 0.04 * canvas
    low_x, high_x = min(xs), max(xs)
    low_y, high_y = min(ys), max(ys)
    # Random position that keeps the whole digit on the canvas (the digit fits: height <= 0.85 canvas).
    span_x = max(0.0, canvas - 2 * margin - (high_x - low_x))
    span_y = max(0.0, canvas - 2 * margin - (high_y - low_y))
    shift_x = margin - low_x + rng.uniform(0, span_x)
    shift_y = margin - low_y + rng.uniform(0, span_y)
    return [[(x + shift_x, y + shift_y) for x, y in s] for s in moved], height


def draw_sketch(
    label: int, rng: np.random.Generator, *, convention: str = "white_on_black", canvas: int = CANVAS_SIZE
) -> np.ndarray:
    """Draw one random sketch of ``label``.

    Args:
        label: the digit, 0-9.
        rng: the source of randomness (use a seeded ``np.random.default_rng``).
        convention: one of :data:`CONVENTIONS`.
        canvas: the side of the square canvas in pixels.

    Returns:
        uint8 (canvas, canvas, 3) for the opaque conventions, (canvas, canvas, 4) for ``"transparent"``.
    """
    if label not in _TEMPLATES:
        raise ValueError(f"Expected a digit label 0-9, got {label!r}.")
    if convention not in CONVENTIONS:
        raise ValueError(f"Expected a convention in {CONVENTIONS}, got {convention!r}.")
    styles = _TEMPLATES[label]
    strokes, height = _transform(styles[int(rng.integers(len(styles)))], rng, canvas)
    # Brush width: a canvas brush of 6-30 px, never fatter than about a sixth of the digit.
    width = int(round(min(rng.uniform(6, 30), height / 6)))
    width = max(3, width)
    if convention == "transparent":
        colour = tuple(int(v) for v in rng.integers(0, 256, size=3)) + (255,)
        picture = Image.new("RGBA", (canvas, canvas), (0, 0, 0, 0))
    elif convention == "white_on_black":
        colour = (255, 255, 255)
        picture = Image.new("RGB", (canvas, canvas), (0, 0, 0))
    else:
        colour = (0, 0, 0)
        picture = Image.new("RGB", (canvas, canvas), (255, 255, 255))
    pen = ImageDraw.Draw(picture)
    radius = width / 2
    for stroke in strokes:
        pen.line(stroke, fill=colour, width=width, joint="curve")
        for x, y in stroke:  # Round caps and joints, as a canvas brush draws them.
            pen.ellipse((x - radius, y - radius, x + radius, y + radius), fill=colour)
    return np.asarray(picture, dtype=np.uint8)


def sketch_set(count: int, *, seed: int = 0, canvas: int = CANVAS_SIZE) -> list[SketchSample]:
    """Return ``count`` deterministic synthetic sketches, labels and conventions cycling evenly.

    Args:
        count: how many sketches.
        seed: the random seed; the same seed always gives the same sketches.
        canvas: the side of the square canvas in pixels.
    """
    rng = np.random.default_rng(seed)
    samples = []
    for index in range(count):
        label = index % 10
        convention = CONVENTIONS[(index // 10) % len(CONVENTIONS)]
        samples.append(SketchSample(draw_sketch(label, rng, convention=convention, canvas=canvas), label, convention))
    return samples
