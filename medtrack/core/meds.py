"""Reading what a person types about a medication: dose texts and kinds."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from medtrack.core.models import KINDS, Dose
from medtrack.errors import AmbiguousMedication, BadDose, BadValue

# An amount (a decimal point or a decimal comma, "0,5 mg") and a unit of letters, optionally
# over another ("mg/ml") or with a space ("1 tablet"). A unit holds no digit, so "1e3mg"
# is refused instead of stored as 1 of the unit "e3mg".
_DOSE_RE = re.compile(r"^\s*(\d+(?:[.,]\d+)?|\.\d+)\s*([^\W\d_](?:[^\W\d_]|[ /%])*)?\s*$")
_EXPONENT = re.compile(r"^\s*(?:\d+(?:[.,]\d*)?|\.\d+)[eE][+-]?\d")
# "1,000mg": a thousands separator or a decimal comma? Neither reading is safe to guess.
_THOUSANDS = re.compile(r"^\s*\d{1,3},\d{3}(?!\d)")
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
    if _THOUSANDS.match(text or ""):
        raise BadDose(
            f"can't read dose '{text}': write the amount without a thousands separator "
            "(1000mg) or with a decimal point (1.5mg)"
        )
    if _EXPONENT.match(text or ""):
        raise BadDose(f"can't read dose '{text}': write the amount in plain digits, e.g. 1000mg")
    match = _DOSE_RE.match(text or "")
    if not match or not match.group(2):
        raise BadDose(
            f"can't read dose '{text}': give an amount and a unit, e.g. 50mg, 0.5 mg, "
            "1000IU, 2 puffs, 1 tablet, 5 ml"
        )
    amount = float(match.group(1).replace(",", "."))
    if not math.isfinite(amount) or amount <= 0:
        raise BadDose(f"dose '{text}' must be more than zero")
    from medtrack.core.validate import MAX_AMOUNT  # only a dose typed is checked against it

    if amount > MAX_AMOUNT:
        raise BadDose(f"dose '{text}' is more than {MAX_AMOUNT:,.0f}")
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


def match_medication_name(typed: str, names: Sequence[str]) -> str | None:
    """The one name `typed` stands for: the name itself in any case, else the only name it
    begins (any case). Several names beginning with it is AmbiguousMedication, naming them;
    none is None (the caller says what is known)."""
    folded = typed.casefold()
    if not folded:
        return None
    exact = [n for n in names if n.casefold() == folded]
    if exact:
        return exact[0]
    starting = [n for n in names if n.casefold().startswith(folded)]
    if len(starting) > 1:
        raise AmbiguousMedication(typed, starting)
    return starting[0] if starting else None


def dose_difference(planned: Dose, amount: float | None, unit: str | None) -> str | None:
    """Words for a dose taken at another amount than the plan's ("5 mg instead of the
    planned 0.5 mg"), else None: `take` asks before recording one, the report lists them."""
    if amount is None:
        return None
    if unit not in (None, planned.unit) or not math.isclose(amount, planned.amount):
        return f"{amount:g} {unit or planned.unit} instead of the planned {planned}"
    return None
