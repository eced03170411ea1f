"""Reading what a person types about a medication: dose texts and kinds."""

from __future__ import annotations

import math
import re

from medtrack.core.models import KINDS, Dose
from medtrack.errors import BadDose, BadValue

_DOSE_RE = re.compile(r"^\s*(\d+(?:[.,]\d+)?|\.\d+)\s*([^\d\s].*?)?\s*$")
_UNIT_ALIASES = {
    "mgs": "mg",
    "milligram": "mg",
    "milligrams": "mg",
    "mcg": "mcg",
    "µg": "mcg",
    "ug": "mcg",
    "g": "g",
    "iu": "IU",
    "ml": "ml",
    "mL": "ml",
    "tab": "tablet",
    "tabs": "tablet",
    "tablets": "tablet",
    "caps": "capsule",
    "capsules": "capsule",
    "puff": "puff",
    "puffs": "puff",
    "drop": "drop",
    "drops": "drop",
}


def parse_dose(text: str) -> Dose:
    """`50mg`, `0.5 mg`, `1000IU`, `2 puffs`, `1 tablet`, `5 ml` -> Dose(amount, unit)."""
    match = _DOSE_RE.match(text or "")
    if not match or not match.group(2):
        raise BadDose(
            f"can't read dose '{text}': give an amount and a unit, e.g. 50mg, 0.5 mg, "
            "1000IU, 2 puffs, 1 tablet, 5 ml"
        )
    amount = float(match.group(1).replace(",", "."))
    if not math.isfinite(amount) or amount <= 0:
        raise BadDose(f"dose '{text}' must be more than zero")
    unit = " ".join(match.group(2).split())
    unit = _UNIT_ALIASES.get(unit.lower(), _UNIT_ALIASES.get(unit, unit))
    if unit.lower() in ("mg", "mcg", "g", "ml", "l"):
        unit = unit.lower()
    return Dose(amount, unit)


def parse_kind(text: str) -> str:
    kind = text.strip().lower()
    aliases = {"prescription": "rx", "over-the-counter": "otc", "supp": "supplement"}
    kind = aliases.get(kind, kind)
    if kind not in KINDS:
        raise BadValue(f"kind '{text}' is not one of: {', '.join(KINDS)}")
    return kind


def positive_count(value: int | None, what: str) -> int | None:
    if value is not None and value < 1:
        raise BadValue(f"{what} must be at least 1")
    return value


def dose_difference(planned: Dose, amount: float | None, unit: str | None) -> str | None:
    """Words for a dose taken at another amount than the plan's ("5 mg instead of the
    planned 0.5 mg"), else None: `take` asks before recording one, the report lists them."""
    if amount is None:
        return None
    if unit not in (None, planned.unit) or not math.isclose(amount, planned.amount):
        return f"{amount:g} {unit or planned.unit} instead of the planned {planned}"
    return None
