"""Dose slots, their acceptance windows, and which record answers each.

Pure: no database, no clock (``now`` is a parameter), no I/O. The definitions, as README
("How the figures are computed") and DESIGN.md ("Dose slots and adherence") state them:

- A **slot** is one expected dose: an instant of the schedule of the regimen in force
  (`core.schedule.expand`), clipped to the regimen's ``[starts_at, ends_at)`` and to the
  medication's ``stopped_at``. The regimen travels with the slot, so every slot is judged
  by the plan of its day.
- A schedule's **rhythm** (which days "every 2 days" or "every 4 weeks" fall on) counts
  from the start of the run of regimens with that same schedule, each starting where the
  one before ends: a change of dose alone keeps the days; a new schedule, or a restart
  after a stop, sets a new rhythm.
- A slot **accepts** records in its window ``[opens, closes)``: it opens ``ACCEPT_BEFORE``
  (3 h) before the slot, or half-way to the slot before when that is nearer, and closes
  when the next slot opens. The last slot of a plan (the medication stops, or the next
  plan does not follow on) closes after its own gap from the slot before it (24 h when
  it has none). Windows are disjoint: an instant lies in at most one.
- **Attachment** is derived, the same way on every read, from the slots and all the
  records: the first record (by time, then by id) whose time lies in a slot's window
  answers that slot. A dose answering no slot is an **extra** dose, or **as-needed** use
  when an as-needed plan was in force at its time. Nothing about attachment is stored,
  so an undo, a backfilled dose or a plan changed in the past re-judge consistently.
- A slot's **on-time window** fits its schedule (`on_time_window`): the person's setting
  (default 60 min either side) for doses a day or less apart; for longer intervals a
  share of the interval (README's table); a plan's own when it has one.
- A slot answered by a taken record is **taken** (on time, late or early against the
  on-time window), by a skip **skipped**, even before its time (a dose taken early counts
  at once). An unanswered slot is **missed** once its window closes, **overdue** once its
  on-time window has passed (still open: a dose may yet answer it), **pending** (due now)
  while it is at or before now and within its on-time window, and **later** before its
  time.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import NamedTuple

from medtrack.core.models import Medication, Regimen
from medtrack.core.schedule import ZoneTimeline, expand

ACCEPT_BEFORE = timedelta(hours=3)
DEFAULT_ON_TIME_WINDOW = timedelta(minutes=60)
_LAST_SLOT_FALLBACK = timedelta(hours=24)
# How far to look for a neighbouring slot: enough for daily, monthly and quarterly rules.
_NEIGHBOUR_MARGINS = (timedelta(days=2), timedelta(days=35), timedelta(days=400))
_TINY = timedelta(microseconds=1)


class Slot(NamedTuple):
    """One expected dose of `medication` at `at` (UTC) under `regimen`, accepting records
    in ``[opens, closes)``; `day` is its local date in the zone in force then."""

    medication: str
    at: datetime
    regimen: Regimen
    opens: datetime
    closes: datetime
    day: date


class DoseRecord(NamedTuple):
    """One recorded intake or skip, as stored (instants aware, UTC). Which slot it answers
    is not part of it: `judge` derives that."""

    medication: str
    taken_at: datetime
    status: str  # "taken" or "skipped"
    regimen_id: int | None = None
    amount: float | None = None
    unit: str | None = None
    skip_reason: str | None = None
    note: str | None = None
    zone: str | None = None
    recorded_at: datetime | None = None
    medication_id: int | None = None
    id: int | None = None


class JudgedSlot(NamedTuple):
    """A slot with its status: taken, skipped, missed, overdue, pending (due now) or later."""

    slot: Slot
    status: str
    record: DoseRecord | None = None
    timing: str | None = None  # for taken: "on-time", "late" or "early"


class Judgement(NamedTuple):
    """One medication's slots judged against its records."""

    slots: list[JudgedSlot]  # every slot given, in order, with its status
    extra: list[DoseRecord]  # taken, answering no slot, no as-needed plan at its time
    as_needed: list[DoseRecord]  # taken under an as-needed plan, answering no slot
    answer_of: dict[int, datetime]  # record id -> the slot (instant) it answers


# --- slots ------------------------------------------------------------------------------


def local_day(instant: datetime, zones: ZoneTimeline) -> date:
    """The date on the person's calendar at `instant`, in the zone in force then."""
    return instant.astimezone(zones.zone_at(instant)).date()


def _regimen_end(med: Medication, regimen: Regimen) -> datetime | None:
    ends = [t for t in (regimen.ends_at, med.stopped_at) if t is not None]
    return min(ends) if ends else None


def rhythm_start(regimens: Sequence[Regimen], index: int) -> datetime:
    """Where the rhythm of `regimens[index]` counts from: the start of the run of regimens
    with its schedule, each starting where the one before ends (a dose change), so the
    change keeps the days of the schedule. `regimens` are in order of start, as a
    Medication holds them."""
    while (
        index > 0
        and regimens[index - 1].ends_at == regimens[index].starts_at
        and regimens[index - 1].schedule == regimens[index].schedule
    ):
        index -= 1
    return regimens[index].starts_at


def raw_slots(
    med: Medication, start: datetime, end: datetime, zones: ZoneTimeline
) -> list[tuple[datetime, Regimen]]:
    """Slot instants in [start, end) with the regimen each falls under, in order."""
    found: dict[datetime, Regimen] = {}
    for index, regimen in enumerate(med.regimens):
        if regimen.starts_at >= end:
            break  # in order of start: none after this one reaches the window
        if regimen.schedule.as_needed or (regimen.ends_at and regimen.ends_at <= start):
            continue
        stop = _regimen_end(med, regimen)
        lo = max(start, regimen.starts_at)
        hi = end if stop is None else min(end, stop)
        if lo >= hi:
            continue
        anchor = local_day(rhythm_start(med.regimens, index), zones)
        for at in expand(regimen.schedule, anchor=anchor, start=lo, end=hi, zones=zones):
            # Regimens do not overlap; should two ever claim one instant, the first wins.
            found.setdefault(at, regimen)
    return sorted(found.items(), key=lambda item: item[0])


def _first_start(med: Medication) -> datetime | None:
    starts = [r.starts_at for r in med.regimens if not r.schedule.as_needed]
    return min(starts) if starts else None


def _last_end(med: Medication) -> datetime | None:
    """When the last scheduled regimen ends; None when one is still open."""
    ends = []
    for regimen in med.regimens:
        if regimen.schedule.as_needed:
            continue
        stop = _regimen_end(med, regimen)
        if stop is None:
            return None
        ends.append(stop)
    return max(ends) if ends else None


def _slots_before(
    med: Medication, instant: datetime, zones: ZoneTimeline, count: int
) -> list[tuple[datetime, Regimen]]:
    """The last `count` raw slots before `instant` (fewer where the plan begins)."""
    first = _first_start(med)
    found: list[tuple[datetime, Regimen]] = []
    if first is None or first >= instant:
        return found
    for margin in _NEIGHBOUR_MARGINS:
        found = raw_slots(med, instant - margin, instant, zones)
        if len(found) >= count or instant - margin <= first:
            break
    return found[-count:]


def _slots_after(
    med: Medication, instant: datetime, zones: ZoneTimeline, count: int
) -> list[tuple[datetime, Regimen]]:
    """The first `count` raw slots at or after `instant` (fewer where the plan ends)."""
    last = _last_end(med)
    found: list[tuple[datetime, Regimen]] = []
    if last is not None and last <= instant:
        return found
    for margin in _NEIGHBOUR_MARGINS:
        found = raw_slots(med, instant, instant + margin, zones)
        if len(found) >= count or (last is not None and instant + margin >= last):
            break
    return found[:count]


def next_slot(med: Medication, instant: datetime, zones: ZoneTimeline) -> datetime | None:
    """The first slot instant at or after `instant`, if the plan has one."""
    found = _slots_after(med, instant, zones, 1)
    return found[0][0] if found else None


def _continues(current: Regimen, following: Regimen) -> bool:
    """Whether `following` takes over from `current` with no gap (a change, not a restart)."""
    return current is following or current.ends_at == following.starts_at


def _windowed(
    med: Medication, chain: Sequence[tuple[datetime, Regimen]], zones: ZoneTimeline
) -> list[Slot]:
    """Each slot of `chain` (consecutive slots, in order) with its acceptance window."""
    opens = []
    for index, (at, _regimen) in enumerate(chain):
        lead = ACCEPT_BEFORE
        if index > 0:
            lead = min(lead, (at - chain[index - 1][0]) / 2)
        opens.append(at - lead)
    slots = []
    for index, (at, regimen) in enumerate(chain):
        following = chain[index + 1] if index + 1 < len(chain) else None
        if following is not None and _continues(regimen, following[1]):
            closes = opens[index + 1]
        else:
            gap = at - chain[index - 1][0] if index > 0 else _LAST_SLOT_FALLBACK
            closes = at + gap
        slots.append(Slot(med.name, at, regimen, opens[index], closes, local_day(at, zones)))
    return slots


def slots_touching(
    med: Medication, start: datetime, end: datetime, zones: ZoneTimeline
) -> list[Slot]:
    """Every slot whose acceptance window meets [start, end), in order: the slots in it,
    and the neighbour either side whose window reaches into it (a record in the window
    may answer one of those)."""
    # One expansion with two days either side finds the neighbours of most schedules; a
    # sparser one (weekly, every 4 weeks) looks further only for what it lacks.
    margin = _NEIGHBOUR_MARGINS[0]
    around = raw_slots(med, start - margin, end + margin, zones)
    before = [item for item in around if item[0] < start][-2:]
    inner = [item for item in around if start <= item[0] < end]
    after = [item for item in around if item[0] >= end][:2]
    if len(before) < 2:
        before = _slots_before(med, start, zones, 2)
    if len(after) < 2:
        after = _slots_after(med, end, zones, 2)
    chain = before + inner + after
    # The outermost of two neighbours only lends its instant to its neighbour's window.
    first = 1 if len(before) == 2 else 0
    last = len(chain) - (1 if len(after) == 2 else 0)
    windowed = _windowed(med, chain, zones)[first:last]
    return [s for s in windowed if s.opens < end and s.closes > start]


def medication_slots(
    med: Medication, start: datetime, end: datetime, zones: ZoneTimeline
) -> list[Slot]:
    """The slots of `med` at instants in [start, end), each with its acceptance window."""
    return [s for s in slots_touching(med, start, end, zones) if start <= s.at < end]


def slot_for(med: Medication, instant: datetime, zones: ZoneTimeline) -> Slot | None:
    """The slot whose acceptance window holds `instant`, if any (windows are disjoint)."""
    for slot in slots_touching(med, instant, instant + _TINY, zones):
        if slot.opens <= instant < slot.closes:
            return slot
    return None


def record_span(slots: Iterable[Slot], start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """The instants whose records `judge` needs to judge `slots` and [start, end)."""
    lo, hi = start, end
    for slot in slots:
        lo, hi = min(lo, slot.opens), max(hi, slot.closes)
    return lo, hi


# --- attachment and judging -------------------------------------------------------------


# The on-time window for a slot whose schedule repeats less often than daily, by the
# interval between its slots (the length of its acceptance window): every N days (N < 7)
# a quarter of the interval; weekly to every 3 weeks a day per week; every 4 weeks or
# longer 7 days, as long-acting injection labels allow for their maintenance doses (e.g.
# paliperidone palmitate monthly: +/- 7 days; aripiprazole monthly: no sooner than 26
# days after the last). README "Figures" (timing adherence) gives the table and sources.
_DAY = timedelta(days=1)
_WEEK = timedelta(days=7)


def on_time_window(slot: Slot, default: timedelta = DEFAULT_ON_TIME_WINDOW) -> timedelta:
    """How far either side of `slot` a dose is on time: the plan's own window, else the
    person's setting (`default`) for doses a day or less apart, else by the interval."""
    if slot.regimen.on_time_window is not None:
        return slot.regimen.on_time_window
    # The window's length is the interval to the next slot (for a plan's last slot, its
    # gap from the one before plus up to 3 h): a day is 23 to 28 h around DST changes.
    interval = slot.closes - slot.opens
    if interval <= _DAY + timedelta(hours=6):
        return default
    if interval < _WEEK - timedelta(hours=1):
        return interval / 4
    if interval < 4 * _WEEK - timedelta(hours=1):
        return _DAY * round(interval / _WEEK)
    return _WEEK


def timing_of(taken_at: datetime, slot_at: datetime, on_time_window: timedelta) -> str:
    """On time within the window either side of the slot; else late (after) or early."""
    delta = taken_at - slot_at
    if abs(delta) <= on_time_window:
        return "on-time"
    return "late" if delta > timedelta(0) else "early"


def _holding(slots: Sequence[Slot], opens: Sequence[datetime], instant: datetime) -> Slot | None:
    """The slot whose window holds `instant` (`opens` are the slots' opening instants)."""
    index = bisect_right(opens, instant) - 1
    if index >= 0 and instant < slots[index].closes:
        return slots[index]
    return None


def judge(
    med: Medication,
    slots: Sequence[Slot],
    records: Iterable[DoseRecord],
    now: datetime,
    default_window: timedelta = DEFAULT_ON_TIME_WINDOW,
) -> Judgement:
    """Attach `med`'s records to `slots` (consecutive, in order) and give each its status;
    `default_window` is the person's on-time setting (see `on_time_window`).

    The first record, by time taken and then by id, whose time lies in a slot's window
    answers that slot; the records after it in that window answer nothing.
    """
    opens = [slot.opens for slot in slots]
    mine = sorted(
        (r for r in records if r.medication == med.name),
        key=lambda r: (r.taken_at, r.id if r.id is not None else 0),
    )
    answers: dict[datetime, DoseRecord] = {}
    extra: list[DoseRecord] = []
    as_needed: list[DoseRecord] = []
    for record in mine:
        slot = _holding(slots, opens, record.taken_at)
        if slot is not None and slot.at not in answers:
            answers[slot.at] = record
        elif record.status == "taken":
            regimen = med.regimen_at(record.taken_at)
            if regimen is not None and regimen.schedule.as_needed:
                as_needed.append(record)
            else:
                extra.append(record)
    judged = []
    for slot in slots:
        record = answers.get(slot.at)
        window = on_time_window(slot, default_window)
        if record is not None and record.status == "taken":
            timing = timing_of(record.taken_at, slot.at, window)
            judged.append(JudgedSlot(slot, "taken", record, timing))
        elif record is not None:
            judged.append(JudgedSlot(slot, "skipped", record))
        elif now >= slot.closes:
            judged.append(JudgedSlot(slot, "missed"))
        elif now > slot.at + window:
            judged.append(JudgedSlot(slot, "overdue"))
        elif slot.at <= now:
            judged.append(JudgedSlot(slot, "pending"))
        else:
            judged.append(JudgedSlot(slot, "later"))
    answer_of = {r.id: at for at, r in answers.items() if r.id is not None}
    return Judgement(judged, extra, as_needed, answer_of)


def has_schedule_in(med: Medication, start: datetime, end: datetime) -> bool:
    """Whether a scheduled (not as-needed) plan is in force at some time in [start, end)."""
    for regimen in med.regimens:
        stop = _regimen_end(med, regimen)
        if regimen.schedule.as_needed or regimen.starts_at >= end:
            continue
        if stop is None or stop > start:
            return True
    return False


# --- as-needed limits ---------------------------------------------------------------------


class AsNeededCheck(NamedTuple):
    """Whether one more as-needed dose at `at` stays within the regimen's limits."""

    uses_that_day: int
    max_per_day: int | None
    too_many: bool
    too_soon: bool
    last_taken: datetime | None
    next_allowed: datetime | None


def check_as_needed(
    regimen: Regimen,
    taken: Iterable[datetime],
    at: datetime,
    zones: ZoneTimeline,
) -> AsNeededCheck:
    """Count `taken` (this medication's as-needed doses) against the limits at `at`.

    Max per day counts the local calendar day of `at` (the same day the summary's "days
    above max" uses). The minimum interval is checked both ways, since `--at` may log a
    dose between two recorded ones. `next_allowed` is the earliest instant both limits
    allow (None when nothing limits).
    """
    day = local_day(at, zones)
    instants = sorted(taken)
    same_day = [t for t in instants if local_day(t, zones) == day]
    too_many = regimen.max_per_day is not None and len(same_day) >= regimen.max_per_day
    gap = regimen.min_interval
    too_soon = gap is not None and any(abs(at - t) < gap for t in instants)
    before = [t for t in instants if t <= at]
    last = before[-1] if before else None
    next_allowed: datetime | None = None
    if too_soon and gap is not None:
        later = max(t for t in instants if abs(at - t) < gap)
        next_allowed = later + gap
    if too_many:
        next_day = zones.localize(
            datetime.combine(day + timedelta(days=1), datetime.min.time())
        ).astimezone(UTC)
        next_allowed = max(next_allowed or next_day, next_day)
    return AsNeededCheck(
        uses_that_day=len(same_day),
        max_per_day=regimen.max_per_day,
        too_many=too_many,
        too_soon=too_soon,
        last_taken=last,
        next_allowed=next_allowed,
    )
