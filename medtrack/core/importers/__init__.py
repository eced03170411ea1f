"""Other apps' files read into plain values medtrack can record (issue 22).

Each importer (medtimer, daylio, fhir) is a pure function from the file's text (or parsed
JSON) to an `ImportPlan`: the medications, doses, symptoms, measurements and check-ins the
file holds, each already checked with medtrack's own validators, and every entry of the
file that is not imported with the reason why. Nothing here reads the database or the
clock; times without an offset are read by a `localize` function given by the caller
(the person's zone history). `store.importers` writes a plan in one transaction.

A value that cannot be read (a date that is not a date, a rating out of range) raises
BadValue naming the row, so nothing is half-imported; an entry that is well-formed but
has no place in medtrack (a reminder never answered, an unknown LOINC code) is skipped
and counted in `skipped`.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from medtrack.core.health import Measurement
from medtrack.core.models import Dose, Schedule
from medtrack.errors import BadValue

Localize = Callable[[datetime], datetime]

SOURCES = ("medtimer", "daylio", "fhir")


@dataclass(frozen=True)
class PlanStep:
    """One regimen of an imported medication: from `starts_at` until `ends_at`."""

    dose: Dose
    schedule: Schedule
    starts_at: datetime
    ends_at: datetime | None = None
    max_per_day: int | None = None


@dataclass(frozen=True)
class ImportedMedication:
    """A medication the file names, created when the profile lacks it. `plan_words` says
    where its plan came from (inferred from reminder times, or as needed and why)."""

    name: str
    steps: tuple[PlanStep, ...]
    plan_words: str
    kind: str = "rx"
    purpose: str | None = None
    stopped_at: datetime | None = None
    stop_reason: str | None = None


@dataclass(frozen=True)
class ImportedDose:
    where: str  # "event 3", "line 12", "entry 7": named back in messages
    medication: str
    at: datetime
    status: str  # taken or skipped
    amount: Dose | None = None  # None: the amount of the plan in force
    reason: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class ImportedSymptom:
    where: str
    name: str
    value: float
    unit: str | None
    at: datetime
    note: str | None = None


@dataclass(frozen=True)
class ImportedMeasurement:
    where: str
    measurement: Measurement
    at: datetime
    note: str | None = None


@dataclass(frozen=True)
class ImportedCheckin:
    where: str
    questionnaire: str  # key: phq9, gad7
    answers: tuple[int, ...]
    total: int
    band: str
    flagged: bool
    at: datetime
    note: str | None = None


@dataclass(frozen=True)
class ImportedSideEffect:
    where: str
    name: str
    medication: str | None
    severity: str
    at: datetime  # started
    resolved_at: datetime | None = None
    action: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class Skipped:
    """An entry of the file that is not imported, and why (said once per reason)."""

    where: str
    kind: str
    why: str


@dataclass
class ImportPlan:
    """What a file holds, as medtrack would record it."""

    source: str
    medications: list[ImportedMedication] = field(default_factory=list)
    doses: list[ImportedDose] = field(default_factory=list)
    symptoms: list[ImportedSymptom] = field(default_factory=list)
    measurements: list[ImportedMeasurement] = field(default_factory=list)
    checkins: list[ImportedCheckin] = field(default_factory=list)
    side_effects: list[ImportedSideEffect] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)

    def skip(self, where: str, kind: str, why: str) -> None:
        self.skipped.append(Skipped(where, kind, why))

    def skipped_by_reason(self) -> list[tuple[str, str, int]]:
        """(kind, why, count) in the order each reason first appears."""
        counts = Counter((s.kind, s.why) for s in self.skipped)
        return [(kind, why, n) for (kind, why), n in counts.items()]


def clean_note(*parts: str | None) -> str | None:
    """Non-empty parts joined with ' — '; a part on one line has its spaces collapsed, one
    on several lines is kept as written (check_plan refuses control characters)."""
    # Line breaks as written on any system become \n (a lone \r is a control character).
    lines = [p.replace("\r\n", "\n").replace("\r", "\n") for p in parts if p and p.strip()]
    kept = [" ".join(p.split()) if "\n" not in p else p.strip() for p in lines]
    return " — ".join(kept) if kept else None


# The rules every way in applies to a record's values (DESIGN, "one validation"): the
# shared validator module (core/validate.py) was not on main when the importers were
# written; these are its rules, to be replaced by calls to it once it is.
NAME_LIMIT = 100
TEXT_LIMIT = 2000
MAX_AMOUNT = 1_000_000.0
MAX_PER_DAY = 100
EARLIEST = datetime(1899, 12, 31, tzinfo=UTC)  # 1900-2199 local, a day of margin in UTC
LATEST = datetime(2200, 1, 3, tzinfo=UTC)
FUTURE_TOLERANCE = timedelta(minutes=1)
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\ud800-\udfff]")  # all but tab
_CONTROL_IN_NOTE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")  # tab, newline kept


def check_plan(plan: ImportPlan, now: datetime) -> None:
    """Refuse (BadValue, naming the entry) what the CLI would refuse: a control character
    in a name (a note may hold tabs and newlines), a name over 100 characters or a note
    over 2000, a time outside 1900-2199 or in the future, an amount above 1,000,000, an
    as-needed maximum above 100 a day."""
    for medication in plan.medications:
        where = f"medication '{medication.name[:40]}'"
        _text(where, "name", medication.name, NAME_LIMIT, _CONTROL)
        _text(where, "purpose", medication.purpose, TEXT_LIMIT, _CONTROL_IN_NOTE)
        _text(where, "stop reason", medication.stop_reason, TEXT_LIMIT, _CONTROL_IN_NOTE)
        for step in medication.steps:
            _text(where, "unit", step.dose.unit, NAME_LIMIT, _CONTROL)
            _amount(where, step.dose.amount)
            _instant(where, "plan start", step.starts_at, None)
            if step.ends_at is not None:
                _instant(where, "plan end", step.ends_at, None)
            if step.max_per_day is not None and not 1 <= step.max_per_day <= MAX_PER_DAY:
                raise BadValue(f"{where}: at most {step.max_per_day} a day is over {MAX_PER_DAY}")
    for kind in ("doses", "symptoms", "measurements", "checkins", "side_effects"):
        for record in getattr(plan, kind):
            _text(record.where, "note", record.note, TEXT_LIMIT, _CONTROL_IN_NOTE)
            _instant(record.where, "time", record.at, now)
    for dose in plan.doses:
        if dose.amount is not None:
            _text(dose.where, "unit", dose.amount.unit, NAME_LIMIT, _CONTROL)
            _amount(dose.where, dose.amount.amount)
    for symptom in plan.symptoms:
        _text(symptom.where, "symptom name", symptom.name, NAME_LIMIT, _CONTROL)
        _text(symptom.where, "unit", symptom.unit, NAME_LIMIT, _CONTROL)
    for reading in plan.measurements:
        _text(reading.where, "measurement", reading.measurement.kind, NAME_LIMIT, _CONTROL)
        _text(reading.where, "unit", reading.measurement.unit, NAME_LIMIT, _CONTROL)
    for effect in plan.side_effects:
        _text(effect.where, "side effect", effect.name, NAME_LIMIT, _CONTROL)
        _text(effect.where, "action", effect.action, TEXT_LIMIT, _CONTROL_IN_NOTE)
        if effect.resolved_at is not None:
            _instant(effect.where, "resolution", effect.resolved_at, now)


def _text(where: str, what: str, text: str | None, limit: int, refused: re.Pattern) -> None:
    if text is None:
        return
    found = refused.search(text)
    if found:
        raise BadValue(f"{where}: the {what} contains the control character {found.group()!r}")
    if len(text) > limit:
        raise BadValue(f"{where}: the {what} is longer than {limit} characters")


def _amount(where: str, amount: float) -> None:
    if not 0 < amount <= MAX_AMOUNT:
        raise BadValue(f"{where}: the amount {amount:g} is not from above 0 to 1,000,000")


def _instant(where: str, what: str, at: datetime, now: datetime | None) -> None:
    if not EARLIEST <= at < LATEST:
        raise BadValue(f"{where}: the {what} {at.date()} is outside the years 1900-2199")
    if now is not None and at > now + FUTURE_TOLERANCE:
        raise BadValue(f"{where}: the {what} {at.isoformat()} is in the future")
