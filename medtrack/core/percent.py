"""Percentages as every figure shows them (terminal, JSON, every report format)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal


def percent(part: float, whole: float) -> float | None:
    """`part` of `whole` in percent, rounded half up to one decimal (13 of 16 is 81.3,
    where Python's round would give 81.2); None when there is nothing to divide."""
    if whole <= 0:
        return None
    exact = Decimal(repr(part)) * 100 / Decimal(repr(whole))
    return float(exact.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))
