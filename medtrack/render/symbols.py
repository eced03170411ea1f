"""The one vocabulary for what became of a dose: the words and symbols `today`, `summary`
and every report format use, so a skipped dose looks the same wherever it is shown.

Two levels share one set of symbols:
- a **slot** (one expected dose) is taken, skipped, missed, pending (due now), overdue or
  later (not yet), as `core.slots.judge` says;
- a **day** of a calendar strip is all taken, some taken, skipped, missed, not yet
  (pending) or not scheduled, as `core.adherence.day_cell` says.
A day whose doses were all skipped wears the skipped slot's symbol, and so on.
"""

from __future__ import annotations

from medtrack.core.models import DAY_CELL_STATE

# A slot's status -> (symbol, words).
SLOT: dict[str, tuple[str, str]] = {
    "taken": ("●", "taken"),
    "skipped": ("–", "skipped"),
    "missed": ("○", "missed"),
    "pending": ("…", "due now"),
    "overdue": ("!", "overdue"),
    "later": ("…", "later"),
}

# A day of a calendar strip (the report's state names) -> (symbol, words).
DAY: dict[str, tuple[str, str]] = {
    "all": (SLOT["taken"][0], "all taken"),
    "some": ("◐", "some taken"),
    "skipped": SLOT["skipped"],
    "missed": SLOT["missed"],
    "pending": (SLOT["later"][0], "not yet"),
    "not-due": ("·", "not scheduled"),
}
DAY_SYMBOLS = {state: symbol for state, (symbol, _) in DAY.items()}
# The legend, in the order it is printed.
DAY_LEGEND: tuple[tuple[str, str], ...] = tuple((state, words) for state, (_, words) in DAY.items())

# `core.adherence.DayStat.cell` -> the strip state above (core.models holds the mapping).
CELL_STATE = DAY_CELL_STATE


def legend_text() -> str:
    """`● all taken  ◐ some taken  – skipped  ○ missed  … not yet  · not scheduled`."""
    return "  ".join(f"{DAY_SYMBOLS[state]} {words}" for state, words in DAY_LEGEND)


def slot_text(status: str, detail: str = "") -> str:
    """A slot's status as `today` prints it: its symbol and words, then any detail
    ('● taken 08:04', '– skipped (forgot)')."""
    symbol, words = SLOT[status]
    return f"{symbol} {words}" + (f" {detail}" if detail else "")


def plural(count: float, singular: str, plural_form: str | None = None) -> str:
    """'1 use', '2 uses', '1 day', '0 days': the count and its noun in agreement."""
    word = singular if count == 1 else (plural_form or singular + "s")
    return f"{count:g} {word}"
