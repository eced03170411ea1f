"""Plain values the core computes with. No database ids are needed to compute anything;
ids travel along only so the CLI can name records back to the person.

The values `take`, `skip`, `today`, `remind` and `summary` load (here, in core.slots,
core.reminders and core.adherence) are NamedTuples rather than frozen dataclasses: just
as immutable and typed, but defining one costs a fifth as much, and these modules load
on every run of the commands people type many times a day (a frozen dataclass costs
~0.5 ms to create, and there were twenty-eight on those paths). Change one with
`value._replace(field=...)`. A NamedTuple is a tuple: `json` writes it as a list, so
JSON views are built field by field (render/terminal.py), never dumped whole.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import NamedTuple

KINDS = ("rx", "otc", "supplement")

# A day's cell (`core.adherence.DayStat.cell`) -> its state on a calendar strip, the
# vocabulary every strip (terminal, report) draws from.
DAY_CELL_STATE = {
    "all": "all",
    "partly": "some",
    "skipped": "skipped",
    "none": "missed",
    "pending": "pending",
    "unscheduled": "not-due",
}

SKIP_REASONS = (
    "forgot",
    "side-effects",
    "ran-out",
    "cost",
    "felt-better",
    "felt-worse",
    "away",
    "asleep",
    "intentional",
    "other",
)


class Dose(NamedTuple):
    """An amount with its unit, e.g. 50 mg or 2 puffs."""

    amount: float
    unit: str

    def __str__(self) -> str:
        amount = f"{self.amount:g}"
        return f"{amount} {self.unit}"


class Schedule(NamedTuple):
    """When doses are due, as a day-level RRULE plus wall-clock times.

    `rrule` is an RRULE body without DTSTART (e.g. ``FREQ=WEEKLY;BYDAY=MO,WE,FR``);
    `times` are the wall-clock times on each matching day. For an hourly rule
    (``every 8h from 06:00``) the single time is the anchor of the first dose.
    An as-needed schedule has no rule and no times.
    """

    rrule: str | None
    times: tuple[time, ...] = ()
    as_needed: bool = False


class Regimen(NamedTuple):
    """The plan in force for one medication from `starts_at` until `ends_at` (exclusive)."""

    medication: str
    dose: Dose
    schedule: Schedule
    starts_at: datetime
    ends_at: datetime | None = None
    max_per_day: int | None = None
    min_interval: timedelta | None = None
    units_per_dose: float | None = None
    reason: str | None = None
    id: int | None = None
    on_time_window: timedelta | None = None  # this plan's own, else by the schedule


class Medication(NamedTuple):
    name: str
    kind: str = "rx"
    form: str | None = None
    purpose: str | None = None
    prescriber: str | None = None
    controlled: bool = False
    notes: str | None = None
    created_at: datetime | None = None
    stopped_at: datetime | None = None
    stop_reason: str | None = None
    regimens: tuple[Regimen, ...] = ()  # in order of start, as the store loads them
    id: int | None = None

    def regimen_at(self, instant: datetime) -> Regimen | None:
        """The regimen in force at `instant`, if any (the latest first: most questions are
        about the recent past, and a decade holds hundreds of plans)."""
        for regimen in reversed(self.regimens):
            if regimen.starts_at <= instant and (
                regimen.ends_at is None or instant < regimen.ends_at
            ):
                return regimen
        return None

    @property
    def current_regimen(self) -> Regimen | None:
        """The latest regimen that has not ended (it may start in the future)."""
        open_ones = [r for r in self.regimens if r.ends_at is None]
        return open_ones[-1] if open_ones else (self.regimens[-1] if self.regimens else None)


class ZoneChange(NamedTuple):
    """From `effective_at` (an instant) on, schedules are read in `zone`."""

    effective_at: datetime
    zone: str
