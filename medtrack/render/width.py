"""Columns a text takes on a terminal, so plain-text tables stay aligned with wide (CJK)
characters and combining marks in stored names."""

from __future__ import annotations

import unicodedata


def display_width(text: str) -> int:
    """Terminal columns of `text`: East Asian wide and fullwidth characters take two,
    combining marks and zero-width characters none, everything else one (as wcwidth
    reckons it, without the dependency)."""
    width = 0
    for char in text:
        if unicodedata.combining(char) or unicodedata.category(char) in ("Mn", "Me", "Cf"):
            continue
        width += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return width


def pad(text: str, width: int) -> str:
    """`text` left-aligned in `width` columns (str.ljust counts characters, not columns)."""
    return text + " " * max(0, width - display_width(text))
