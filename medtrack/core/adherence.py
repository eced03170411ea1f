"""The adherence figures, each computed in one function named after its definition.

Pure: no database, no clock (``now`` is a parameter), no I/O. Slots, their windows and
which record answers each are `core.slots`; this module counts. Definitions (README "How
the figures are computed"; DESIGN.md "Dose slots and adherence"):

- **Due** = the slots of the window at or before now, plus any later slot already
  answered (a dose taken early counts at once). So
  ``taken + skipped + missed + overdue + pending = due``.
- **Taking adherence** = taken / (due - pending): a slot still within its on-time window
  is not judged yet; an overdue one counts as not taken until a dose answers it.
- **Timing adherence** = taken on time / (due - pending); on time is within the slot's
  on-time window (`core.slots.on_time_window`: fits the schedule).
- **Correct-dosing days** (electronic-monitoring implementation measure): of the days
  with a scheduled plan in force, settled (nothing pending or overdue), the share with
  the planned number of doses taken: every slot taken and no extra dose; a day with no
  slot (an off-day) is correct with no dose and incorrect with one.
- **Drug holiday**: at least ``holiday_days`` (setting, default 3) consecutive calendar
  days with a plan of a dose a day or more in force and no dose taken, counted inside
  the window (a holiday begun before it counts when its part inside is long enough).
  Plans with doses further apart list their late and missed doses with dates instead.
- **Streaks**: consecutive scheduled days on which every slot was taken; the current
  streak is the run that ends on the latest settled day.
- **Initiation** (ABC taxonomy, Vrijens 2012): days from the first planned dose to the
  first dose taken. **Persistence**: days from the first plan's start to the stop (or to
  now), and whether the medication is ongoing.
- **PDC** (Pharmacy Quality Alliance): `core.supply.proportion_of_days_covered`.
- **As-needed** doses are counted apart (total, per week, days above the plan's maximum
  per local day) and never enter a percentage. The overall line adds the scheduled
  medications' counts, which weights each medication by its doses due.
- Percentages are rounded half up to one decimal (13/16 = 81.25 gives 81.3).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import NamedTuple

from medtrack.core.models import Medication
from medtrack.core.percent import percent
from medtrack.core.schedule import ZoneTimeline, a_dose_a_day_or_more
from medtrack.core.slots import (
    DEFAULT_ON_TIME_WINDOW,
    DoseRecord,
    Judgement,
    Slot,
    has_schedule_in,
    judge,
    local_day,
    next_slot,
    slots_touching,
)
from medtrack.core.supply import Pdc, Refill, proportion_of_days_covered

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
    overdue: int = 0
    planned: bool = True  # a scheduled plan is in force that day
    later: int = 0  # slots still to come that day (not due yet, so not counted in `due`)

    @property
    def settled(self) -> bool:
        """A day with a plan whose due slots are all settled (none pending or overdue)."""
        return self.planned and self.pending == 0 and self.overdue == 0

    @property
    def judged(self) -> bool:
        """A scheduled day (slots due) whose every due slot is settled."""
        return self.due > 0 and self.settled

    @property
    def correct(self) -> bool:
        """The planned number of doses taken: every slot, no extra (none on an off-day)."""
        return self.taken == self.due and self.extra == 0

    @property
    def cell(self) -> str:
        """For the calendar strip: all, partly, none, skipped, pending or unscheduled."""
        return day_cell(
            self.due,
            self.taken,
            self.skipped,
            self.missed,
            self.pending + self.overdue,
            later=self.later,
        )

    @property
    def adherence(self) -> float | None:
        settled = self.due - self.pending
        return None if settled <= 0 else 100.0 * self.taken / settled


def day_cell(
    due: int, taken: int, skipped: int, missed: int, pending: int, *, later: int = 0
) -> str:
    """`DayStat.cell` from the counts alone (a week of the report's strip is judged so).
    A day whose doses are all still to come is pending, not unscheduled."""
    if due == 0:
        return "pending" if later else "unscheduled"
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
    overdue: int = 0
    # Plans with doses further apart than a day: their late and missed doses, by date.
    late_or_missed: tuple[tuple[date, str], ...] = ()
    pdc: Pdc | None = None
    initiation_days: int | None = None  # None: no dose taken yet
    persistence_days: int = 0
    ongoing: bool = True


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
    overdue: int = 0


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


def _daterange(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _runs(days: Sequence[DayStat], ok) -> list[list[DayStat]]:
    """Runs of consecutive days for which `ok(day)` holds; a day for which it is None is
    skipped over without breaking a run."""
    runs: list[list[DayStat]] = []
    current: list[DayStat] = []
    for stat in days:
        verdict = ok(stat)
        if verdict is None:
            continue
        if verdict:
            current.append(stat)
        elif current:
            runs.append(current)
            current = []
    if current:
        runs.append(current)
    return runs


_COUNTED = {"taken": 1, "skipped": 2, "missed": 3, "pending": 4, "overdue": 5}


def _plan_days(med: Medication, first: date, last: date, zones: ZoneTimeline) -> dict[date, bool]:
    """Each local day in [first, last] with a scheduled plan in force at some moment of
    it, and whether that plan gives a dose a day or more (what a drug holiday needs)."""
    days: dict[date, bool] = {}
    for regimen in med.regimens:
        if regimen.schedule.as_needed:
            continue
        ends = [t for t in (regimen.ends_at, med.stopped_at) if t is not None]
        lo = max(local_day(regimen.starts_at, zones), first)
        hi = min(local_day(min(ends) - timedelta(microseconds=1), zones), last) if ends else last
        daily = a_dose_a_day_or_more(regimen.schedule)
        for day in _daterange(lo, hi) if lo <= hi else []:
            days[day] = days.get(day, False) or daily
    return days


def _day_stats(
    judged: Sequence,
    extra: Sequence[DoseRecord],
    plan_days: Mapping[date, bool],
    first: date,
    last: date,
    zones: ZoneTimeline,
    later: Sequence = (),
) -> tuple[DayStat, ...]:
    """One DayStat for each local day from `first` to `last` (and any day a due slot has):
    its due slots by status, the extra doses taken that day, whether a plan is in force,
    and its slots still to come (`later`: instants)."""
    counts: dict[date, list[int]] = {}
    for item in judged:
        day = counts.setdefault(item.slot.day, [0, 0, 0, 0, 0, 0])
        day[0] += 1
        day[_COUNTED[item.status]] += 1
    extras = Counter(local_day(record.taken_at, zones) for record in extra)
    to_come = Counter(local_day(at, zones) for at in later)
    last = max([last, *counts])
    stats = []
    for day in _daterange(first, last):
        due, taken, skipped, missed, pending, overdue = counts.get(day, (0, 0, 0, 0, 0, 0))
        planned = day in plan_days or due > 0
        stats.append(
            DayStat(
                day,
                due,
                taken,
                skipped,
                missed,
                pending,
                extras[day],
                overdue,
                planned,
                to_come[day],
            )
        )
    return tuple(stats)


def drug_holidays(
    days: Sequence[DayStat], daily_plan: Mapping[date, bool], holiday_days: int
) -> tuple[Holiday, ...]:
    """Runs of at least `holiday_days` consecutive calendar days with a plan of a dose a
    day or more in force and no dose taken (a day still open neither counts nor breaks)."""

    def no_dose(d: DayStat) -> bool | None:
        if not daily_plan.get(d.day, False):
            return False
        if not d.settled:
            return None
        return d.taken == 0 and d.extra == 0

    return tuple(
        Holiday(run[0].day, run[-1].day, len(run))
        for run in _runs(days, no_dose)
        if len(run) >= holiday_days
    )


def initiation_days(
    med: Medication, first_taken: datetime | None, zones: ZoneTimeline
) -> int | None:
    """Days from the first planned dose to the first dose taken (None: none taken yet)."""
    scheduled = [r for r in med.regimens if not r.schedule.as_needed]
    if first_taken is None or not scheduled:
        return None
    start = scheduled[0].starts_at
    first = next_slot(med, start, zones)
    planned = first if first is not None else start
    return max((local_day(first_taken, zones) - local_day(planned, zones)).days, 0)


def persistence(med: Medication, now: datetime, zones: ZoneTimeline) -> tuple[int, bool]:
    """Days on the medication from its first plan's start to its stop (or to now), and
    whether it is ongoing."""
    if not med.regimens:
        return 0, False
    start = min(r.starts_at for r in med.regimens)
    ongoing = med.stopped_at is None or med.stopped_at > now
    end = now if ongoing else med.stopped_at
    assert end is not None
    return max((local_day(end, zones) - local_day(start, zones)).days + 1, 0), ongoing


def _later_today(med: Medication, end: datetime, now: datetime, zones: ZoneTimeline) -> list:
    """The instants of today's slots still to come (after now, to local midnight) when the
    window reaches now: today's strip cell is "not yet", not "not scheduled", while any
    are left."""
    from medtrack.core.slots import raw_slots

    if end <= now:
        return []
    midnight = zones.localize(datetime.combine(local_day(now, zones) + timedelta(days=1), time()))
    return [at for at, _regimen in raw_slots(med, now, midnight, zones)]


def medication_summary(
    med: Medication,
    judgement: Judgement,
    *,
    start: datetime,
    end: datetime,
    now: datetime,
    zones: ZoneTimeline,
    holiday_days: int = DEFAULT_HOLIDAY_DAYS,
    refills: Sequence[Refill] = (),
    first_taken: datetime | None = None,
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
    due, pending, taken = len(judged), statuses["pending"], statuses["taken"]
    on_time = timings["on-time"]
    reasons = Counter(
        (j.record.skip_reason or "other") for j in judged if j.status == "skipped" and j.record
    )
    first_day = local_day(start, zones)
    last_day = max(local_day(min(end, now) - timedelta(microseconds=1), zones), first_day)
    plan_days = _plan_days(med, first_day, last_day, zones)
    counted = {j.slot.at for j in judged}
    later = [at for at in _later_today(med, end, now, zones) if at not in counted]
    days = _day_stats(judged, extra, plan_days, first_day, last_day, zones, later)
    # Correct dosing over every settled day with a plan in force, off-days included.
    settled_days = [d for d in days if d.settled]
    correct = sum(1 for d in settled_days if d.correct)
    streaks = _runs(days, lambda d: (d.taken == d.due) if d.judged else None)
    judged_days = [d for d in days if d.judged]
    last_judged = judged_days[-1].day if judged_days else None
    current = len(streaks[-1]) if streaks and streaks[-1][-1].day == last_judged else 0
    # Plans with doses more than a day apart: the late and missed doses, dated.
    late_or_missed = tuple(
        (j.slot.day, j.timing if j.status == "taken" else j.status)
        for j in judged
        if not a_dose_a_day_or_more(j.slot.regimen.schedule)
        and (j.status in ("missed", "overdue") or j.timing == "late")
    )
    persistence_days, ongoing = persistence(med, now, zones)
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
        judged_days=len(settled_days),
        correct_dosing=percent(correct, len(settled_days)),
        holidays=drug_holidays(days, plan_days, holiday_days),
        current_streak=current,
        longest_streak=max((len(run) for run in streaks), default=0),
        days=days,
        overdue=statuses["overdue"],
        late_or_missed=late_or_missed,
        pdc=proportion_of_days_covered(refills, med.regimens, start, min(end, now), zones),
        initiation_days=initiation_days(med, first_taken, zones),
        persistence_days=persistence_days,
        ongoing=ongoing,
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
    refills: Mapping[str, Sequence[Refill]] | None = None,
    first_taken: Mapping[str, datetime | None] | None = None,
) -> Summary:
    """Per medication and overall figures over [start, end), as seen at `now`.

    `records` must hold every record in `core.slots.record_span` of the slots (the
    store's `doses_between` over it); `slots` are `window_slots`, when already computed;
    `refills` (per medication) give the PDC, `first_taken` (the first dose ever taken,
    per medication) the initiation.
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
                    refills=(refills or {}).get(med.name, ()),
                    first_taken=_first_taken(med, first_taken),
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


def _first_taken(
    med: Medication, first_taken: Mapping[str, datetime | None] | None
) -> datetime | None:
    """The first dose of `med` ever taken, as the store gives it (None when not given:
    the window's records need not reach back to the medication's start)."""
    return None if first_taken is None else first_taken.get(med.name)


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
        overdue=sum(m.overdue for m in meds),
    )
