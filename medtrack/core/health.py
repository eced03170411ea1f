"""Values the health record accepts: symptom names and ratings, severities, measurements.

Each function either returns the canonical value to store or raises `BadValue` with one
line saying what was wrong and what is accepted. Pure: no I/O, no clock.

Plausibility ranges are wide on purpose: they catch typing slips (400/20, 7240 kg), not
unusual readings, which belong in the record exactly as the person measured them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, time, timedelta
from decimal import Decimal
from types import MappingProxyType
from typing import NamedTuple

from medtrack.core import validate
from medtrack.core.schedule import ZoneTimeline
from medtrack.errors import BadValue, Conflict

SEVERITIES = ("mild", "moderate", "severe")
VISIT_KINDS = ("prescriber", "therapist", "other")

# Ratings without a unit are the 0-10 numeric rating scale people already know from pain
# and mood scoring; anything else needs its unit stated.
RATING_MIN = 0.0
RATING_MAX = 10.0
# A value with a unit (a symptom such as hours slept, a lab value) above this is a typing
# slip, and every chart and trend of it stays computable (a lone 1e20 has no drawable
# range: 1e20 - 1 == 1e20 + 1 in floating point).
VALUE_MAX = 1_000_000.0
# Symptom and side-effect names, as medication names: a label, not a note.
NAME_MAX = 100

WEIGHT_RANGES: Mapping[str, tuple[float, float]] = MappingProxyType(
    {"kg": (2.0, 400.0), "lb": (4.0, 900.0)}
)
SYSTOLIC_RANGE = (50, 260)
DIASTOLIC_RANGE = (20, 160)
HEART_RATE_RANGE = (20.0, 250.0)

# LOINC codes for the canonical kinds (FHIR Observation.code). Lab kinds other than these
# are stored without a code. The blood pressure panel carries two components, below.
LOINC: Mapping[str, str] = MappingProxyType(
    {
        "weight": "29463-7",  # Body weight
        "bp": "85354-9",  # Blood pressure panel with all children optional
        "heart_rate": "8867-4",  # Heart rate
        "lithium": "14334-7",  # Lithium [Moles/volume] in Serum or Plasma
    }
)
LOINC_BP_COMPONENTS: Mapping[str, str] = MappingProxyType(
    {"systolic": "8480-6", "diastolic": "8462-4"}
)

# Spellings people type for the three built-in kinds; any other name is a lab value.
_KIND_ALIASES: Mapping[str, str] = MappingProxyType(
    {
        "weight": "weight",
        "body weight": "weight",
        "bp": "bp",
        "blood pressure": "bp",
        "hr": "heart_rate",
        "heart rate": "heart_rate",
        "pulse": "heart_rate",
    }
)

_WEIGHT_UNITS: Mapping[str, str] = MappingProxyType(
    {
        "kg": "kg",
        "kgs": "kg",
        "kilogram": "kg",
        "kilograms": "kg",
        "lb": "lb",
        "lbs": "lb",
        "pound": "lb",
        "pounds": "lb",
    }
)

# A decimal number (sign allowed so that "-3" is refused as negative, not as unreadable;
# an exponent allowed so that "1e-5 mIU/L" is not read as 1 of the unit "e-5 mIU/L"),
# then an optional unit written with or without a space.
_NUMBER_THEN_UNIT = re.compile(
    r"(?P<number>[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)\s*(?P<unit>.*)",
    re.DOTALL,
)
_BLOOD_PRESSURE = re.compile(
    r"(?P<systolic>[0-9]{1,3})\s*/\s*(?P<diastolic>[0-9]{1,3})\s*(?P<unit>mm\s*hg)?",
    re.IGNORECASE,
)

_BP_FORM = (
    "blood pressure is systolic/diastolic in mmHg, e.g. 128/82 "
    f"(systolic {SYSTOLIC_RANGE[0]}-{SYSTOLIC_RANGE[1]}, "
    f"diastolic {DIASTOLIC_RANGE[0]}-{DIASTOLIC_RANGE[1]}, systolic above diastolic)"
)
_WEIGHT_FORM = "weight is a number with kg or lb, e.g. 72.4kg or 160 lb (2-400 kg, 4-900 lb)"
_HEART_RATE_FORM = "heart rate is beats per minute, e.g. 64 or 64bpm (20-250)"


class Measurement(NamedTuple):
    """One reading. `value2` is the diastolic for blood pressure and None otherwise."""

    kind: str
    value: float
    value2: float | None
    unit: str

    def __str__(self) -> str:
        # Shortest exact text, so str() parses back to the same Measurement.
        if self.value2 is not None:
            return f"{_number_text(self.value)}/{_number_text(self.value2)} {self.unit}"
        return f"{_number_text(self.value)} {self.unit}"


# Units one kind can be written in, and the factor to each from the other. Body weight:
# the international avoirdupois pound is exactly 0.45359237 kg. Lithium: one mEq/L of the
# monovalent lithium ion is one mmol/L.
CONVERTIBLE: Mapping[str, Mapping[tuple[str, str], Decimal]] = MappingProxyType(
    {
        "weight": {("lb", "kg"): Decimal("0.45359237"), ("kg", "lb"): 1 / Decimal("0.45359237")},
        "lithium": {("meq/l", "mmol/l"): Decimal(1), ("mmol/l", "meq/l"): Decimal(1)},
    }
)
WEIGHT_UNITS = ("kg", "lb")


def check_weight_unit(text: str) -> str:
    """The `weight_unit` setting: kg or lb (any case, 'lbs' and 'kgs' too)."""
    unit = _WEIGHT_UNITS.get(text.strip().casefold())
    if unit is None:
        raise BadValue(f"weight_unit is kg or lb; got '{text.strip()}'")
    return unit


def in_unit(measurement: Measurement, unit: str) -> Measurement:
    """`measurement` in `unit` when its kind converts between the two (rounded half up to
    0.1 kg or lb, 0.01 mmol/L); otherwise as it is."""
    factor = CONVERTIBLE.get(measurement.kind, {}).get(
        (measurement.unit.casefold(), unit.casefold())
    )
    if factor is None or measurement.value2 is not None:
        return measurement
    places = Decimal("0.1") if measurement.kind == "weight" else Decimal("0.01")
    value = (Decimal(repr(measurement.value)) * factor).quantize(places, rounding="ROUND_HALF_UP")
    return measurement._replace(value=float(value), unit=unit)


def one_series_per_kind(
    entries: Sequence[MeasurementEntry], preferred: Mapping[str, str] | None = None
) -> list[MeasurementEntry]:
    """Entries with each convertible kind in one unit, so a chart or a table shows one
    series: the person's unit for the kind when set (`preferred`, e.g. {"weight": "lb"}),
    else the unit of the latest entry of that kind. Stored values are never changed."""
    chosen = dict(preferred or {})
    for entry in entries:
        kind = entry.measurement.kind
        if kind in CONVERTIBLE and kind not in (preferred or {}):
            chosen[kind] = entry.measurement.unit  # the latest wins: entries are in time order
    return [
        e._replace(measurement=in_unit(e.measurement, chosen.get(e.measurement.kind, "")))
        for e in entries
    ]


def normalize_symptom_name(text: str) -> str:
    """Case-fold, trim and collapse inner whitespace: '  Sleep   Quality ' -> 'sleep quality'."""
    name = " ".join(text.casefold().split())
    if not name:
        raise BadValue("a symptom needs a name, e.g. 'mood' or 'sleep quality'")
    if len(name) > NAME_MAX:
        raise BadValue(f"a name is at most {NAME_MAX} characters; got {len(name)}")
    return name


def check_symptom_value(value: float, unit: str | None) -> float:
    """The value to store for a symptom: a 0-10 rating, or any finite number >= 0 with a unit."""
    has_unit = unit is not None and unit.strip() != ""
    number = float(value)
    if not math.isfinite(number):
        raise BadValue(f"a symptom value must be a finite number; got {value}")
    if not has_unit:
        if not RATING_MIN <= number <= RATING_MAX:
            raise BadValue(f"ratings are 0-10; give --unit for other values (got {value:g})")
    elif number < 0:
        raise BadValue(f"a symptom value cannot be negative; got {value:g} {unit}")
    elif number > VALUE_MAX:
        raise BadValue(f"a symptom value is at most {VALUE_MAX:,.0f}; got {value:g} {unit}")
    return number


def parse_severity(text: str) -> str:
    """'Moderate' -> 'moderate'; one of SEVERITIES."""
    severity = text.strip().casefold()
    if severity not in SEVERITIES:
        raise BadValue(f"severity '{text.strip()}' is not one of: {', '.join(SEVERITIES)}")
    return severity


def normalize_kind(kind: str) -> str:
    """The canonical kind: 'weight', 'bp', 'heart_rate', or a lab name such as 'lithium'.

    'HR', 'heart-rate', 'Heart Rate' and 'pulse' are all 'heart_rate'; 'Blood Pressure' is
    'bp'. Lab names are case-folded with whitespace collapsed; their hyphens are kept
    ('25-oh vitamin d').
    """
    name = " ".join(kind.casefold().split())
    if not name:
        raise BadValue("a measurement needs a kind, e.g. weight, bp, heart-rate or lithium")
    alias = " ".join(name.replace("-", " ").replace("_", " ").split())
    return _KIND_ALIASES.get(alias, name)


def parse_measurement(kind: str, value_text: str, unit: str | None = None) -> Measurement:
    """Read one measurement of `kind` from the text a person typed.

    - weight: "72.4kg", "72.4 kg", "160lb", "160 lbs", or "72.4" with unit="kg"
    - bp / blood pressure: "128/82" (mmHg)
    - hr / heart-rate / pulse: "64" or "64bpm"
    - anything else is a lab value and needs a unit: ("lithium", "0.8", "mmol/L") or
      ("lithium", "0.8mmol/L")
    """
    canonical = normalize_kind(kind)
    given_unit = unit.strip() if unit is not None and unit.strip() else None
    if canonical == "bp":
        return _parse_blood_pressure(value_text, given_unit)
    if canonical == "weight":
        return _parse_weight(value_text, given_unit)
    if canonical == "heart_rate":
        return _parse_heart_rate(value_text, given_unit)
    return _parse_lab(canonical, value_text, given_unit)


def loinc_for(measurement: Measurement) -> str | None:
    """The LOINC code for a measurement, or None where medtrack knows no exact code.

    14334-7 is lithium in moles per volume, so it applies only to mmol/L or mEq/L readings
    (one and the same for the monovalent lithium ion), not to mass units such as mg/L.
    """
    if measurement.kind == "lithium" and measurement.unit.casefold() not in ("mmol/l", "meq/l"):
        return None
    return LOINC.get(measurement.kind)


def _parse_blood_pressure(text: str, unit: str | None) -> Measurement:
    if unit is not None and unit.replace(" ", "").casefold() != "mmhg":
        raise BadValue(f"{_BP_FORM}; got unit '{unit}'")
    match = _BLOOD_PRESSURE.fullmatch(text.strip())
    if match is None:
        raise BadValue(f"{_BP_FORM}; got '{text.strip()}'")
    systolic, diastolic = int(match["systolic"]), int(match["diastolic"])
    plausible = (
        SYSTOLIC_RANGE[0] <= systolic <= SYSTOLIC_RANGE[1]
        and DIASTOLIC_RANGE[0] <= diastolic <= DIASTOLIC_RANGE[1]
        and systolic > diastolic
    )
    if not plausible:
        raise BadValue(f"{_BP_FORM}; got {systolic}/{diastolic}")
    return Measurement("bp", float(systolic), float(diastolic), "mmHg")


def _parse_weight(text: str, unit: str | None) -> Measurement:
    number, text_unit = _number_and_unit(text, _WEIGHT_FORM)
    written = _one_unit(text_unit, unit, _WEIGHT_FORM)
    if written is None:
        raise BadValue(f"{_WEIGHT_FORM}; got '{text.strip()}' without a unit")
    canonical_unit = _WEIGHT_UNITS.get(written.casefold())
    if canonical_unit is None:
        raise BadValue(f"{_WEIGHT_FORM}; got unit '{written}'")
    low, high = WEIGHT_RANGES[canonical_unit]
    if not low <= number <= high:
        raise BadValue(f"{_WEIGHT_FORM}; got {_number_text(number)} {canonical_unit}")
    return Measurement("weight", number, None, canonical_unit)


def _parse_heart_rate(text: str, unit: str | None) -> Measurement:
    number, text_unit = _number_and_unit(text, _HEART_RATE_FORM)
    written = _one_unit(text_unit, unit, _HEART_RATE_FORM)
    if written is not None and written.casefold() not in ("bpm", "/min"):
        raise BadValue(f"{_HEART_RATE_FORM}; got unit '{written}'")
    if not HEART_RATE_RANGE[0] <= number <= HEART_RATE_RANGE[1]:
        raise BadValue(f"{_HEART_RATE_FORM}; got {_number_text(number)}")
    return Measurement("heart_rate", number, None, "bpm")


def _parse_lab(kind: str, text: str, unit: str | None) -> Measurement:
    form = f"{kind} is a lab value: a number and its unit, e.g. 0.8 mmol/L"
    number, text_unit = _number_and_unit(text, form)
    written = _one_unit(text_unit, unit, form)
    if written is None:
        raise BadValue(f"{form}; got '{text.strip()}' without a unit")
    # A unit names what was measured, so it has a letter (mmol/L, ng/mL, x10^9/L) or is %.
    if not any(ch.isalpha() for ch in written) and written != "%":
        raise BadValue(f"{form}; got unit '{written}'")
    if number < 0:
        raise BadValue(f"{form}, not negative; got {_number_text(number)} {written}")
    if number > VALUE_MAX:
        raise BadValue(f"{form}, at most {VALUE_MAX:,.0f}; got {number:g} {written}")
    return Measurement(kind, number, None, written)


def _number_and_unit(text: str, form: str) -> tuple[float, str | None]:
    """Split "72.4 kg" into (72.4, 'kg'); a bare number gives (number, None)."""
    match = _NUMBER_THEN_UNIT.fullmatch(text.strip())
    if match is None:
        raise BadValue(f"{form}; got '{text.strip()}'")
    if re.match(r",[0-9]", match["unit"]):
        raise BadValue(f"{form}; write decimals with a point, not a comma: got '{text.strip()}'")
    # Adding 0.0 turns "-0" into 0.0, so nothing is stored or shown as negative zero.
    number = float(match["number"]) + 0.0
    # The pattern admits only plain decimals, but a long enough one still overflows.
    if not math.isfinite(number):
        raise BadValue(f"{form}; got '{text.strip()}'")
    return number, (match["unit"].strip() or None)


def _one_unit(in_text: str | None, given: str | None, form: str) -> str | None:
    """The unit written after the number or passed separately; both only if they agree."""
    if in_text is not None and given is not None and in_text.casefold() != given.casefold():
        raise BadValue(f"{form}; got two units, '{in_text}' and '{given}'")
    unit = in_text if in_text is not None else given
    # A unit is one line, as the record stores it (core.validate): no newline in it.
    return validate.text(unit, "unit")


def _number_text(number: float) -> str:
    """72.0 -> '72', 72.4 -> '72.4', 1e-05 -> '0.00001': the shortest plain decimal that
    reads back as the same float (repr is shortest; Decimal spells out its exponent)."""
    text = format(Decimal(repr(number)), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


# --- records ---------------------------------------------------------------------------
# Plain values for what the person recorded. Instants are aware (UTC from the store); `id`
# travels along only so the CLI can name a record back to the person.
#
# NamedTuples, as in core.models: the visit report and the health commands load this
# module, and its eight frozen dataclasses cost ~2.5 ms to define. Unlike the dataclasses
# they replace, `id` takes part in equality (nothing compares records); change one with
# `value._replace(...)`, and build JSON field by field (a NamedTuple dumps as a list).


class SymptomEntry(NamedTuple):
    """A symptom at a moment: a 0-10 rating (unit None) or a value with its unit."""

    name: str
    value: float
    unit: str | None
    at: datetime
    note: str | None = None
    id: int | None = None


class SymptomSeries(NamedTuple):
    """One symptom's readings (name and unit, a blank unit being none) in time order, as
    two columns: UTC epoch seconds (instants are recorded to the second) and values.

    What the visit report reads: a decade of daily ratings is thousands of readings, and
    columns cost no object per reading.
    """

    name: str
    unit: str | None
    epochs: Sequence[int]
    values: Sequence[float]


def symptom_series(entries: Iterable[SymptomEntry]) -> list[SymptomSeries]:
    """Entries as series: one per (name, unit), ordered by name then unit, each reading in
    time order (entries at one instant keep their order)."""
    groups: dict[tuple[str, str | None], list[SymptomEntry]] = {}
    for entry in entries:
        groups.setdefault((entry.name, entry.unit or None), []).append(entry)
    series = []
    for (name, unit), items in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")):
        items.sort(key=lambda e: e.at)
        epochs = [math.floor(e.at.timestamp()) for e in items]
        series.append(SymptomSeries(name, unit, epochs, [e.value for e in items]))
    return series


class SideEffect(NamedTuple):
    """A side effect from `started_at`, open until `resolved_at`, with what was done."""

    name: str
    medication: str | None
    severity: str
    started_at: datetime
    resolved_at: datetime | None = None
    action: str | None = None
    note: str | None = None
    updated_at: datetime | None = None
    id: int | None = None

    @property
    def open(self) -> bool:
        return self.resolved_at is None


class MeasurementEntry(NamedTuple):
    """A measurement taken at a moment."""

    measurement: Measurement
    at: datetime
    note: str | None = None
    id: int | None = None


class CheckinEntry(NamedTuple):
    """A stored questionnaire check-in; `flagged` is the safety flag (PHQ-9 item 9 > 0)."""

    questionnaire: str
    answers: tuple[int, ...]
    difficulty: int | None
    total: int
    band: str
    flagged: bool
    at: datetime
    note: str | None = None
    id: int | None = None


class CheckinScore(NamedTuple):
    """A check-in's score without its answers: what the visit report shows of it (a
    decade is a thousand check-ins, whose answers it never reads)."""

    questionnaire: str
    total: int
    band: str
    flagged: bool
    at: datetime


class NoteEntry(NamedTuple):
    """A note; `ask` marks a question for the prescriber, answered once `done_at` is set."""

    text: str
    ask: bool
    at: datetime
    done_at: datetime | None = None
    id: int | None = None

    @property
    def open_question(self) -> bool:
        return self.ask and self.done_at is None


class Visit(NamedTuple):
    """An appointment, past or planned."""

    at: datetime
    with_whom: str | None
    kind: str
    note: str | None = None
    id: int | None = None


_PLAIN_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")


def parse_symptom_value(text: str, unit: str | None) -> float:
    """The value a person typed for a symptom ('4', '6.5'), checked by check_symptom_value."""
    cleaned = text.strip()
    if not _PLAIN_NUMBER.fullmatch(cleaned):
        form = "a number with --unit" if unit and unit.strip() else "a rating from 0 to 10"
        raise BadValue(f"a symptom value is {form}; got '{cleaned}'")
    return check_symptom_value(float(cleaned) + 0.0, unit)


# A symptom value with its unit written on it: "7.5h", "20min", "3 cups". The unit is
# letters (and / or %), so "1e3h" is refused rather than read as 1 of the unit "e3h".
_VALUE_WITH_UNIT = re.compile(
    r"(?P<number>[0-9]+(?:\.[0-9]+)?|\.[0-9]+)\s*(?P<unit>%|[A-Za-zµ]+(?:/[A-Za-zµ]+)?)"
)
_PAIRS_FORM = "give NAME VALUE pairs, e.g. 'symptom mood 6 anxiety 3 sleep 7.5h'"


def parse_symptom_entries(
    words: Sequence[str], unit: str | None = None
) -> list[tuple[str, float, str | None]]:
    """(name, value, unit) for each NAME VALUE pair typed in one command.

    A bare number is a 0-10 rating (or a value in `unit`, which may go with one pair
    only); a number with its unit written on it ("7.5h") is a value in that unit."""
    if not words or len(words) % 2:
        raise BadValue(f"{_PAIRS_FORM}; got {len(words)} word(s): {' '.join(words)}")
    given_unit = clean_unit(unit)
    if given_unit is not None and len(words) > 2:
        raise BadValue(
            "--unit goes with one symptom; with several, write each unit on its value, "
            "e.g. sleep 7.5h"
        )
    entries: list[tuple[str, float, str | None]] = []
    for name_text, value_text in zip(words[::2], words[1::2], strict=True):
        name = normalize_symptom_name(name_text)
        if any(name == seen for seen, _, _ in entries):
            raise BadValue(f"{name} is named twice; record one value for it")
        written = _VALUE_WITH_UNIT.fullmatch(value_text.strip())
        if given_unit is None and written is not None:
            number = float(written["number"])
            entries.append((name, check_symptom_value(number, written["unit"]), written["unit"]))
        else:
            entries.append((name, parse_symptom_value(value_text, given_unit), given_unit))
    return entries


def clean_unit(unit: str | None) -> str | None:
    """A unit as given, trimmed; blank means none (a 0-10 rating)."""
    if unit is None or not unit.strip():
        return None
    return " ".join(unit.split())


def clean_text(text: str | None, what: str, *, required: bool = False) -> str | None:
    """Free text (a note, an action, a name) trimmed; blank is None, or refused if required."""
    cleaned = None if text is None else text.strip() or None
    if cleaned is None and required:
        raise BadValue(f"the {what} is empty")
    if cleaned is not None and len(cleaned) > 2000:
        raise BadValue(f"the {what} is longer than 2000 characters")
    return cleaned


def parse_visit_kind(text: str) -> str:
    """'Prescriber' -> 'prescriber'; one of VISIT_KINDS."""
    kind = text.strip().casefold()
    if kind not in VISIT_KINDS:
        raise BadValue(f"visit kind '{text.strip()}' is not one of: {', '.join(VISIT_KINDS)}")
    return kind


def match_open_side_effect(
    open_effects: Sequence[SideEffect], name: str, medication: str | None
) -> SideEffect | None:
    """The open side effect a new report of `name` continues, or None for a new one.

    With a medication, the same name for the same medication. Without one, the same name
    recorded without a medication, else the only open one of that name: reporting
    "nausea" again is the same nausea. Several candidates and no --med is ambiguous.
    """
    same_name = [e for e in open_effects if e.open and e.name == name]
    if medication is not None:
        key = medication.casefold()
        return next((e for e in same_name if e.medication and e.medication.casefold() == key), None)
    unattributed = [e for e in same_name if e.medication is None]
    if unattributed:
        return unattributed[0]
    if len(same_name) == 1:
        return same_name[0]
    if len(same_name) > 1:
        meds = ", ".join(sorted(e.medication or "" for e in same_name))
        raise Conflict(f"'{name}' is open for several medications ({meds}); say which with --med")
    return None


def window_start(days: int, now: datetime, zones: ZoneTimeline) -> datetime:
    """Start of a window of `days` calendar days ending today: local midnight of the first.

    `--days 1` is today, `--days 14` is today and the 13 days before, in the zone in force.
    """
    if days < 1:
        raise BadValue(f"--days must be at least 1; got {days}")
    today = now.astimezone(zones.zone_at(now)).date()
    try:
        first = today - timedelta(days=days - 1)
    except OverflowError:
        raise BadValue(f"--days {days} is too many") from None
    return zones.localize(datetime.combine(first, time()))


def days_until(at: datetime, now: datetime, zones: ZoneTimeline) -> int:
    """Calendar days from today to the day of `at`, each read in the zone in force then
    (a visit tomorrow at 08:00 is 1 day away even if it is only 10 hours away)."""
    visit_day = at.astimezone(zones.zone_at(at)).date()
    today = now.astimezone(zones.zone_at(now)).date()
    return (visit_day - today).days
