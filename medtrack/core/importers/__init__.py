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
    """Non-empty parts joined with ' — ', control characters kept as they are (stored
    text is escaped when shown), NUL refused by the caller's checks."""
    kept = [" ".join(p.split()) if "\n" not in p else p.strip() for p in parts if p and p.strip()]
    return " — ".join(kept) if kept else None


# The limits `med add` and the health commands apply to what a person types.
NAME_LIMIT = 100
TEXT_LIMIT = 2000


def check_texts(plan: ImportPlan) -> None:
    """Refuse (BadValue, naming the entry) text the CLI would refuse: a NUL character, a
    medication name over 100 characters, a note over 2000."""
    named: list[tuple[str, str, str | None, int]] = [
        (f"medication '{m.name[:40]}'", "name", m.name, NAME_LIMIT) for m in plan.medications
    ]
    named += [(m.name, "purpose", m.purpose, TEXT_LIMIT) for m in plan.medications]
    named += [(m.name, "stop reason", m.stop_reason, TEXT_LIMIT) for m in plan.medications]
    for kind in ("doses", "symptoms", "measurements", "checkins", "side_effects"):
        for record in getattr(plan, kind):
            named.append((record.where, "note", record.note, TEXT_LIMIT))
    named += [(s.where, "symptom name", s.name, NAME_LIMIT) for s in plan.symptoms]
    named += [(s.where, "side effect", s.name, NAME_LIMIT) for s in plan.side_effects]
    named += [(s.where, "action", s.action, TEXT_LIMIT) for s in plan.side_effects]
    for where, what, text, limit in named:
        if text is None:
            continue
        if "\x00" in text:
            raise BadValue(f"{where}: the {what} contains a NUL character")
        if len(text) > limit:
            raise BadValue(f"{where}: the {what} is longer than {limit} characters")
