"""Chart geometry shared by the report formats: sparklines, line charts, calendar strips.

The HTML (SVG) and PDF renderers draw the same shapes from the same coordinates, and
the text formats use the same scaling for their block-character sparklines.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from medtrack.render.symbols import DAY_SYMBOLS

SPARK_BLOCKS = "▁▂▃▄▅▆▇█"

# Calendar strip: one character per cell in text, one colour per cell in HTML and PDF.
STRIP_CHARS = DAY_SYMBOLS  # the one vocabulary (render/symbols.py)
STRIP_COLORS = {
    "all": (46, 125, 50),
    "some": (249, 168, 37),
    "skipped": (120, 144, 156),
    "missed": (198, 40, 40),
    "not-due": (230, 230, 230),
    "pending": (255, 255, 255),
}
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
