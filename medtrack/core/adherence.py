"""The adherence figures, each computed in one function named after its definition.

Pure: no database, no clock (``now`` is a parameter), no I/O. Slots, their windows and
which record answers each are `core.slots`; this module counts. Definitions (README "How
the figures are computed"; DESIGN.md "Dose slots and adherence"):

- **Due** = the slots of the window at or before now, plus any later slot already
  answered (a dose taken early counts at once). So
  ``taken + skipped + missed + pending = due``.
- **Taking adherence** = taken / (due - pending): a slot still open is not judged yet.
- **Timing adherence** = taken on time / (due - pending); on time is within the on-time
  window either side of the slot (setting, default 60 min).
- **Correct-dosing days**: of the local days with due slots and none pending, the share
  on which every slot was taken and no extra dose was taken.
- **Drug holiday**: a run of at least ``holiday_days`` (setting, default 3) consecutive
  scheduled days (due slots, none pending) on which no dose at all was taken.
- **Streaks**: consecutive judged days on which every slot was taken; the current
  streak is the run that ends on the latest judged day.
- **As-needed** doses are counted apart (total, per week, days above the plan's maximum
  per local day) and never enter a percentage. The overall line adds the scheduled
  medications' counts, which weights each medication by its doses due.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import NamedTuple

from medtrack.core.models import Medication
from medtrack.core.schedule import ZoneTimeline
from medtrack.core.slots import (
    DEFAULT_ON_TIME_WINDOW,
    DoseRecord,
    Judgement,
    Slot,
    has_schedule_in,
    judge,
    local_day,
    slots_touching,
)

DEFAULT_HOLIDAY_DAYS = 3
# The conventional threshold (most adherence studies call >= 80% "adherent"); shown, not judged.
CONVENTIONAL_THRESHOLD = 80.0


class DayStat(NamedTuple):
    """One medication on one local day, counting due slots only."""

    day: date
    due: int = 0
    taken: int = 0
    skipped: int = 0
    missed: int = 0
    pending: int = 0
    extra: int = 0

    @property
    def judged(self) -> bool:
        """A scheduled day whose every due slot is settled (none still open)."""
        return self.due > 0 and self.pending == 0

    @property
    def cell(self) -> str:
        """For the calendar strip: all, partly, none, skipped, pending or unscheduled."""
        return day_cell(self.due, self.taken, self.skipped, self.missed, self.pending)

    @property
    def adherence(self) -> float | None:
        settled = self.due - self.pending
        return None if settled <= 0 else 100.0 * self.taken / settled


def day_cell(due: int, taken: int, skipped: int, missed: int, pending: int) -> str:
    """`DayStat.cell` from the counts alone (a week of the report's strip is judged so)."""
    if due == 0:
        return "unscheduled"
    if taken == due:
        return "all"
    if taken > 0:
        return "partly"
    if pending == due:
        return "pending"
    if skipped > 0 and missed == 0:
        return "skipped"
    return "none"


class Holiday(NamedTuple):
    first: date
    last: date
    days: int


class MedicationSummary(NamedTuple):
    """Scheduled doses of one medication over a window."""

    medication: str
    due: int
    taken: int
    on_time: int
    late: int
    early: int
    skipped: int
    skipped_by_reason: dict[str, int]
    missed: int
    pending: int
    extra: int
    taking_adherence: float | None
    timing_adherence: float | None
    correct_days: int
    judged_days: int
    correct_dosing: float | None
    holidays: tuple[Holiday, ...]
    current_streak: int
    longest_streak: int
    days: tuple[DayStat, ...]


class AsNeededSummary(NamedTuple):
    """As-needed use of one medication over a window (never in a percentage)."""

    medication: str
    uses: int
    per_week: float
    days_above_max: int
    max_per_day: int | None
    per_day: tuple[tuple[date, int], ...]
    # Each local day above the maximum in force that day, with its count (the report's
    # safety block names them).
    above_max: tuple[tuple[date, int], ...] = ()


class Overall(NamedTuple):
    due: int
    taken: int
    on_time: int
    late: int
    skipped: int
    missed: int
    pending: int
    taking_adherence: float | None
    timing_adherence: float | None
    correct_days: int
    judged_days: int
    correct_dosing: float | None


class Summary(NamedTuple):
    start: datetime
    end: datetime
    now: datetime
    on_time_window: timedelta
    holiday_days: int
    threshold: float
    medications: tuple[MedicationSummary, ...]
    as_needed: tuple[AsNeededSummary, ...]
    overall: Overall


def percent(part: int, whole: int) -> float | None:
    """`part` of `whole` in percent, to one decimal; None when there is nothing to divide."""
    return None if whole <= 0 else round(100.0 * part / whole, 1)


def _daterange(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _runs(days: Sequence[DayStat], good: str) -> list[list[DayStat]]:
    """Runs of consecutive judged days satisfying `good` ("all" taken or "none" taken)."""
    runs: list[list[DayStat]] = []
    current: list[DayStat] = []
    for stat in days:
        if not stat.judged:
            continue
        ok = stat.taken == stat.due if good == "all" else stat.taken == 0 and stat.extra == 0
        if ok:
            current.append(stat)
        elif current:
            runs.append(current)
            current = []
    if current:
        runs.append(current)
    return runs


_COUNTED = {"taken": 1, "skipped": 2, "missed": 3, "pending": 4}  # positions in a DayStat


def _day_stats(
    judged: Sequence, extra: Sequence[DoseRecord], first: date, last: date, zones: ZoneTimeline
) -> tuple[DayStat, ...]:
    """One DayStat for each local day from `first` to `last` (and any day a due slot has):
    its due slots by status, and the extra doses taken that day."""
    counts: dict[date, list[int]] = {}
    for item in judged:
        day = counts.setdefault(item.slot.day, [0, 0, 0, 0, 0])
        day[0] += 1
        day[_COUNTED[item.status]] += 1
    extras = Counter(local_day(record.taken_at, zones) for record in extra)
    last = max([last, *counts])
    return tuple(
        DayStat(day, *counts.get(day, (0, 0, 0, 0, 0)), extras[day])
        for day in _daterange(first, last)
    )


def medication_summary(
    med: Medication,
    judgement: Judgement,
    *,
    start: datetime,
    end: datetime,
    now: datetime,
    zones: ZoneTimeline,
    holiday_days: int = DEFAULT_HOLIDAY_DAYS,
) -> MedicationSummary:
    """The figures for `med`'s scheduled doses over [start, end), from its judged slots."""
    judged = [j for j in judgement.slots if start <= j.slot.at < end and j.status != "later"]
    if end > now:
        # A window reaching now also holds the later slots already answered: a dose taken
        # early counts at once.
        judged += [
            j for j in judgement.slots if j.slot.at >= end and j.record and j.record.taken_at < end
        ]
    extra = [r for r in judgement.extra if start <= r.taken_at < end]

    statuses = Counter(j.status for j in judged)
    timings = Counter(j.timing for j in judged if j.status == "taken")
    due, pending, taken, on_time = (
        len(judged),
        statuses["pending"],
        statuses["taken"],
        timings["on-time"],
    )
    reasons = Counter(
        (j.record.skip_reason or "other") for j in judged if j.status == "skipped" and j.record
    )
    first_day = local_day(start, zones)
    last_day = max(local_day(min(end, now) - timedelta(microseconds=1), zones), first_day)
    days = _day_stats(judged, extra, first_day, last_day, zones)
    judged_days = [d for d in days if d.judged]
    correct = sum(1 for d in judged_days if d.taken == d.due and d.extra == 0)
    holidays = tuple(
        Holiday(run[0].day, run[-1].day, len(run))
        for run in _runs(days, "none")
        if len(run) >= holiday_days
    )
    streaks = _runs(days, "all")
    last_judged = judged_days[-1].day if judged_days else None
    current = len(streaks[-1]) if streaks and streaks[-1][-1].day == last_judged else 0
    return MedicationSummary(
        medication=med.name,
        due=due,
        taken=taken,
        on_time=on_time,
        late=timings["late"],
        early=timings["early"],
        skipped=statuses["skipped"],
        skipped_by_reason=dict(sorted(reasons.items())),
        missed=statuses["missed"],
        pending=pending,
        extra=len(extra),
        taking_adherence=percent(taken, due - pending),
        timing_adherence=percent(on_time, due - pending),
        correct_days=correct,
        judged_days=len(judged_days),
        correct_dosing=percent(correct, len(judged_days)),
        holidays=holidays,
        current_streak=current,
        longest_streak=max((len(run) for run in streaks), default=0),
        days=days,
    )


def as_needed_summary(
    med: Medication,
    judgement: Judgement,
    *,
    start: datetime,
    end: datetime,
    now: datetime,
    zones: ZoneTimeline,
) -> AsNeededSummary | None:
    """As-needed use over [start, end): None when no as-needed regimen touches the window.

    Days above the maximum count the local days on which more doses were taken than the
    maximum of the plan in force at each dose.
    """
    regimens = [
        r
        for r in med.regimens
        if r.schedule.as_needed and r.starts_at < end and (r.ends_at is None or r.ends_at > start)
    ]
    if not regimens:
        return None
    per_day: Counter[date] = Counter()
    above: set[date] = set()
    for record in sorted(judgement.as_needed, key=lambda r: r.taken_at):
        if not start <= record.taken_at < end:
            continue
        day = local_day(record.taken_at, zones)
        per_day[day] += 1
        regimen = med.regimen_at(record.taken_at)
        limit = None if regimen is None else regimen.max_per_day
        if limit is not None and per_day[day] > limit:
            above.add(day)
    span = max(min(end, now) - start, timedelta(days=1))
    uses = sum(per_day.values())
    current = med.regimen_at(min(end, now) - timedelta(microseconds=1))
    shown = current if current is not None and current.schedule.as_needed else regimens[-1]
    return AsNeededSummary(
        medication=med.name,
        uses=uses,
        per_week=round(uses / (span / timedelta(days=7)), 1),
        days_above_max=len(above),
        max_per_day=shown.max_per_day,
        per_day=tuple(sorted(per_day.items())),
        above_max=tuple((day, per_day[day]) for day in sorted(above)),
    )


def window_slots(
    meds: Sequence[Medication], start: datetime, end: datetime, zones: ZoneTimeline
) -> dict[str, list[Slot]]:
    """Per medication, every slot whose window meets [start, end) (see `slots_touching`)."""
    return {
        med.name: slots_touching(med, start, end, zones) if has_schedule_in(med, start, end) else []
        for med in meds
    }


def summarize(
    meds: Sequence[Medication],
    records: Sequence[DoseRecord],
    *,
    start: datetime,
    end: datetime,
    now: datetime,
    zones: ZoneTimeline,
    on_time_window: timedelta = DEFAULT_ON_TIME_WINDOW,
    holiday_days: int = DEFAULT_HOLIDAY_DAYS,
    slots: Mapping[str, list[Slot]] | None = None,
) -> Summary:
    """Per medication and overall figures over [start, end), as seen at `now`.

    `records` must hold every record in `core.slots.record_span` of the slots (the
    store's `doses_between` over it); `slots` are `window_slots`, when already computed.
    """
    start, end, now = start.astimezone(UTC), end.astimezone(UTC), now.astimezone(UTC)
    if slots is None:
        slots = window_slots(meds, start, end, zones)
    by_medication: dict[str, list[DoseRecord]] = {}
    for record in records:
        by_medication.setdefault(record.medication, []).append(record)
    scheduled = []
    as_needed = []
    for med in meds:
        judgement = judge(
            med, slots.get(med.name, []), by_medication.get(med.name, []), now, on_time_window
        )
        if has_schedule_in(med, start, end):
            scheduled.append(
                medication_summary(
                    med,
                    judgement,
                    start=start,
                    end=end,
                    now=now,
                    zones=zones,
                    holiday_days=holiday_days,
                )
            )
        prn = as_needed_summary(med, judgement, start=start, end=end, now=now, zones=zones)
        if prn is not None:
            as_needed.append(prn)
    return Summary(
        start=start,
        end=end,
        now=now,
        on_time_window=on_time_window,
        holiday_days=holiday_days,
        threshold=CONVENTIONAL_THRESHOLD,
        medications=tuple(scheduled),
        as_needed=tuple(as_needed),
        overall=overall(scheduled),
    )


def overall(meds: Sequence[MedicationSummary]) -> Overall:
    """Counts added across medications: each weighs as much as its doses due."""
    due = sum(m.due for m in meds)
    taken = sum(m.taken for m in meds)
    on_time = sum(m.on_time for m in meds)
    pending = sum(m.pending for m in meds)
    correct = sum(m.correct_days for m in meds)
    judged_days = sum(m.judged_days for m in meds)
    return Overall(
        due=due,
        taken=taken,
        on_time=on_time,
        late=sum(m.late for m in meds),
        skipped=sum(m.skipped for m in meds),
        missed=sum(m.missed for m in meds),
        pending=pending,
        taking_adherence=percent(taken, due - pending),
        timing_adherence=percent(on_time, due - pending),
        correct_days=correct,
        judged_days=judged_days,
        correct_dosing=percent(correct, judged_days),
    )
