"""Chart geometry shared by the report formats: sparklines, line charts, calendar strips.

The HTML (SVG) and PDF renderers draw the same shapes from the same coordinates, and
the text formats use the same scaling for their block-character sparklines.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import date
from typing import NamedTuple

from medtrack.render.symbols import DAY_SYMBOLS

SPARK_BLOCKS = "▁▂▃▄▅▆▇█"

# Calendar strip: one character per cell in text, one colour per cell in HTML and PDF.
STRIP_CHARS = DAY_SYMBOLS  # the one vocabulary (render/symbols.py)
# Colours from the Okabe-Ito palette (told apart with the common colour-vision
# deficiencies), each at least 3:1 against white; and each state has its own shape as well,
# so a grayscale print or a red-green colour-blind reader still tells them apart: all taken
# is a full bar, some taken the lower half of a framed cell, skipped a short dash across the
# middle, missed an empty frame, none due a small dot.
STRIP_COLORS = {
    "all": (0, 114, 178),  # blue #0072b2, 5.0:1
    "some": (160, 100, 0),  # dark orange #a06400, 4.4:1
    "skipped": (90, 90, 90),  # grey #5a5a5a, 6.9:1
    "missed": (213, 94, 0),  # vermillion #d55e00, 3.8:1
    "not-due": (118, 118, 118),  # grey #767676, 4.5:1
    "pending": (255, 255, 255),
}
# Each state's marks in a cell of width w and height h: (kind, x, y, width, height) with
# kind "fill" (a filled rectangle) or "frame" (its outline only), as fractions of the cell.
STRIP_SHAPES: dict[str, tuple[tuple[str, float, float, float, float], ...]] = {
    "all": (("fill", 0, 0, 1, 1),),
    "some": (("frame", 0, 0, 1, 1), ("fill", 0, 0.5, 1, 0.5)),
    "skipped": (("fill", 0, 0.38, 1, 0.24),),
    "missed": (("frame", 0, 0, 1, 1),),
    "not-due": (("fill", 0.3, 0.42, 0.4, 0.16),),
    "pending": (),
}


def strip_marks(
    state: str, x: float, y: float, w: float, h: float, stroke: float
) -> list[tuple[str, float, float, float, float]]:
    """The marks of one strip cell at (x, y), w by h; a frame is drawn inside the cell by
    half the stroke, so its outer edge is the cell's."""
    marks = []
    for kind, fx, fy, fw, fh in STRIP_SHAPES[state]:
        mx, my, mw, mh = x + fx * w, y + fy * h, fw * w, fh * h
        if kind == "frame":
            half = stroke / 2
            mx, my, mw, mh = mx + half, my + half, max(mw - stroke, 0.01), max(mh - stroke, 0.01)
        marks.append((kind, mx, my, mw, mh))
    return marks


def relative_luminance(rgb: tuple[int, int, int]) -> float:
    """WCAG 2 relative luminance."""

    def channel(c: int) -> float:
        v = c / 255
        return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: tuple[int, int, int], b: tuple[int, int, int] = (255, 255, 255)) -> float:
    """WCAG 2 contrast ratio of two colours (1 to 21)."""
    la, lb = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


BAND_COLORS = {
    "minimal": (232, 245, 233),
    "mild": (241, 248, 225),
    "moderate": (255, 248, 225),
    "moderately severe": (255, 236, 210),
    "severe": (255, 224, 224),
}
LINE_COLOR = (21, 101, 192)


def hex_color(rgb: tuple[int, int, int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def value_range(values: Sequence[float], scale_max: float | None) -> tuple[float, float]:
    """The vertical range to draw values in: 0 to scale_max for ratings, else the data's
    own range with a margin, so a flat line sits in the middle."""
    if scale_max is not None:
        return 0.0, scale_max
    low, high = min(values), max(values)
    if high == low:
        return low - 1, high + 1
    margin = (high - low) * 0.1
    return low - margin, high + margin


def sparkline(values: Sequence[float], scale_max: float | None = None, width: int = 24) -> str:
    """Block characters for the values (the last `width` of them, by averaging groups)."""
    if not values:
        return ""
    values = list(values)
    if len(values) > width:
        size = len(values) / width
        values = [
            sum(chunk) / len(chunk)
            for chunk in (
                values[int(i * size) : max(int((i + 1) * size), int(i * size) + 1)]
                for i in range(width)
            )
        ]
    low, high = value_range(values, scale_max)
    top = len(SPARK_BLOCKS) - 1
    out = []
    for value in values:
        share = (value - low) / (high - low)
        out.append(SPARK_BLOCKS[max(0, min(top, int(share * top + 0.5)))])
    return "".join(out)


def strip_text(states: Sequence[str]) -> str:
    return "".join(STRIP_CHARS.get(s, "?") for s in states)


def line_points(
    points: Sequence[tuple[date, float]],
    first: date,
    last: date,
    box: tuple[float, float, float, float],
    value_low: float,
    value_high: float,
) -> list[tuple[float, float]]:
    """Place dated values in a box (x, y, width, height), y growing downwards as in SVG
    and in fpdf; days from `first` to `last` span the width."""
    x0, y0, width, height = box
    span = max((last - first).days, 1)
    extent = (value_high - value_low) or 1.0
    placed = []
    for day, value in points:
        x = x0 + width * (day - first).days / span
        share = (value - value_low) / extent
        y = y0 + height * (1 - max(0.0, min(1.0, share)))
        placed.append((round(x, 2), round(y, 2)))
    return placed


def band_rects(
    bands: Sequence[tuple[int, int, str]], max_total: int, box: tuple[float, float, float, float]
) -> list[tuple[float, float, float, float, str]]:
    """Horizontal severity bands behind a score chart: (x, y, width, height, label)."""
    x0, y0, width, height = box
    rects = []
    for low, high, label in bands:
        # Band low..high covers scores [low, high + 1) on a 0..max_total + 1 axis.
        top = y0 + height * (1 - (high + 1) / (max_total + 1))
        bottom = y0 + height * (1 - low / (max_total + 1))
        rects.append((x0, round(top, 2), width, round(bottom - top, 2), label))
    return rects


def score_y(total: int, max_total: int, box: tuple[float, float, float, float]) -> float:
    """The y of a score's centre on the band axis of `band_rects`."""
    _, y0, _, height = box
    return round(y0 + height * (1 - (total + 0.5) / (max_total + 1)), 2)


# --- the timeline ----------------------------------------------------------------------------

# Symptom lines on the timeline: colour, dash pattern (in units of the line width) and marker,
# so each is told apart without colour.
TIMELINE_LINES = (
    ((0, 114, 178), (), "circle"),  # blue, solid
    ((213, 94, 0), (3.0, 1.5), "square"),  # vermillion, dashed
    ((0, 120, 90), (0.8, 1.2), "triangle"),  # dark bluish green #00785a, dotted
)
TEXT_GREY = (85, 85, 85)


def day_x(day: date, first: date, last: date, x: float, width: float) -> float:
    """Where a day's middle is on an axis from `first` to `last` (inclusive) across width."""
    days = (last - first).days + 1
    return x + width * ((day - first).days + 0.5) / days


class ChangeMark(NamedTuple):
    """The plan and zone changes of one day: the chart marks the number, the key says what."""

    number: str
    on: date
    text: str


# Past this many days with changes the timeline marks them without numbers, and the key
# points to the changes table instead of listing them all again.
CHANGE_MARKS_LISTED = 12


def change_labels(events: Sequence) -> list[ChangeMark]:
    """One numbered mark per day with plan or zone changes (eight medications changed the
    same day make one mark, not eight printed over each other)."""
    days: dict[date, list[str]] = {}
    for e in events:
        if e.kind in ("change", "zone"):
            days.setdefault(e.on, []).append(e.text)
    return [
        ChangeMark(str(i + 1), day, "; ".join(texts))
        for i, (day, texts) in enumerate(sorted(days.items()))
    ]


def too_close(xs: Sequence[float], gap: float) -> bool:
    """True when two neighbouring x positions are nearer than `gap`: printed totals would
    overlap there, so the timeline draws the scores as a line instead."""
    ordered = sorted(xs)
    return any(b - a < gap for a, b in itertools.pairwise(ordered))
