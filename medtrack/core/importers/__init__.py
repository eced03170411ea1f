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

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from medtrack.core import validate
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


# The rules every way in applies to a record's values are those of core.validate (DESIGN,
# "one validation"): the words and limits the CLI, `import` and `check` use.
NAME_LIMIT = 100
TEXT_LIMIT = 2000


def check_plan(plan: ImportPlan, now: datetime) -> None:
    """Refuse (BadValue, naming the entry) what the CLI would refuse, by core.validate: a
    control character in a name (a note may hold tabs and newlines), a name over 100
    characters or a note over 2000, a time outside the dates medtrack keeps or in the
    future, an amount above 1,000,000, an as-needed maximum above 100 a day."""
    for medication in plan.medications:
        where = f"medication '{medication.name[:40]}'"
        _named(where, _name, medication.name, "name")
        _named(where, _note, medication.purpose, "purpose")
        _named(where, _note, medication.stop_reason, "stop reason")
        for step in medication.steps:
            _named(where, _name, step.dose.unit, "unit")
            _named(where, validate.dose_amount, step.dose.amount, step.dose.unit)
            _named(where, validate.instant_in_span, step.starts_at, "the plan start")
            if step.ends_at is not None:
                _named(where, validate.instant_in_span, step.ends_at, "the plan end")
            if step.max_per_day is not None:
                _named(where, validate.max_per_day, step.max_per_day)
    for kind in ("doses", "symptoms", "measurements", "checkins", "side_effects"):
        for record in getattr(plan, kind):
            _named(record.where, _note, record.note, "note")
            _named(record.where, _past, record.at, now, "the time")
    for dose in plan.doses:
        if dose.amount is not None:
            _named(dose.where, _name, dose.amount.unit, "unit")
            _named(dose.where, validate.dose_amount, dose.amount.amount, dose.amount.unit)
    for symptom in plan.symptoms:
        _named(symptom.where, _name, symptom.name, "symptom name")
        _named(symptom.where, _name, symptom.unit, "unit")
    for reading in plan.measurements:
        _named(reading.where, _name, reading.measurement.kind, "measurement")
        _named(reading.where, _name, reading.measurement.unit, "unit")
    for effect in plan.side_effects:
        _named(effect.where, _name, effect.name, "side effect")
        _named(effect.where, _note, effect.action, "action")
        if effect.resolved_at is not None:
            _named(effect.where, _past, effect.resolved_at, now, "the resolution")


def _named(where: str, check: Callable[..., object], *args: object) -> None:
    """Run one validation on `args`; its refusal names the entry it is about."""
    try:
        check(*args)
    except BadValue as exc:
        raise BadValue(f"{where}: {exc.message}") from None


def _name(value: str | None, what: str) -> None:
    validate.text(value, what, max_length=NAME_LIMIT)


def _note(value: str | None, what: str) -> None:
    validate.text(value, what, multiline=True, max_length=TEXT_LIMIT)


def _past(at: datetime, now: datetime, what: str) -> None:
    validate.not_in_future(validate.instant_in_span(at, what), now, what)
