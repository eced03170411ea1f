"""Dose slots and attaching doses to them: what `take`, `skip`, `today` and `remind` need.

Kept apart from the adherence figures (`core.adherence`) so the commands people type
many times a day load only this. Pure: no database, no clock (``now`` is a parameter),
no I/O. Definitions (DESIGN.md "Dose slots and adherence"):

- A **slot** is one expected dose: an instant from ``core.schedule.expand`` of the
  regimen in force, clipped to the regimen's ``[starts_at, ends_at)`` and to the
  medication's ``stopped_at``. The regimen travels with the slot, so every slot is
  judged by the plan of its day (a dose change mid-window counts correctly).
- A slot **accepts** a dose from ``ACCEPT_BEFORE`` (3 h) before it until the next slot
  of that medication opens: its window is ``[opens, closes)`` with
  ``opens = at - min(3 h, half the gap to the previous slot)`` (so close slots such
  as ``every 2h`` never open before the one before them) and ``closes`` = the next
  slot's ``opens``. Windows are therefore disjoint and each instant belongs to at
  most one slot. The **last slot of a regimen** (the medication stops, or the next
  regimen does not start where this one ends) closes at the slot plus its gap from
  the slot before it (24 h when it has none): for regular schedules that is the
  median gap.
- A dose is **attached when it is recorded** to the slot whose window holds it, if
  that slot has no record yet; the dose row keeps the slot instant
  (``scheduled_for``) and figures are read from it, never re-matched. A slot has at
  most one record: a second dose in the same window is an **extra** dose.
- A slot with no record is **missed** once it closes (now >= closes), **pending**
  ("due now") if it is at or before now but still open, and **later** if it is
  after now (not due yet: not counted in any figure).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from typing import NamedTuple

from medtrack.core.models import Medication, Regimen
from medtrack.core.schedule import ZoneTimeline, expand_columns

ACCEPT_BEFORE = timedelta(hours=3)
DEFAULT_ON_TIME_WINDOW = timedelta(minutes=60)

# How far to look for a neighbouring slot: enough for daily, monthly and quarterly rules.
_NEIGHBOUR_MARGINS = (timedelta(days=2), timedelta(days=35), timedelta(days=400))
_LAST_SLOT_FALLBACK = timedelta(hours=24)
# The furthest a window's slots look outside it (for their neighbours): a caller judging a
# window needs only the regimens in force from this long before it on.
NEIGHBOUR_REACH = _NEIGHBOUR_MARGINS[-1]


class Slot(NamedTuple):
    """One expected dose of `medication` at `at` (UTC) under `regimen`, accepting doses
    in ``[opens, closes)``; `day` is its local date in the zone in force then."""

    medication: str
    at: datetime
    regimen: Regimen
    opens: datetime
    closes: datetime
    day: date


class DoseRecord(NamedTuple):
    """One recorded intake or skip, as stored (instants aware, UTC)."""

    medication: str
    taken_at: datetime
    status: str  # "taken" or "skipped"
    scheduled_for: datetime | None = None
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
    """A slot with its status: taken, skipped, missed, pending (due now) or later."""

    slot: Slot
    status: str
    record: DoseRecord | None = None
    timing: str | None = None  # for taken: "on-time", "late" or "early"


# --- slots ------------------------------------------------------------------------------


def _local_day(instant: datetime, zones: ZoneTimeline) -> date:
    return instant.astimezone(zones.zone_at(instant)).date()


def _local_days(instants: Sequence[datetime], zones: ZoneTimeline) -> list[date]:
    """`_local_day` of each of `instants` (in order), walking the zone changes once."""
    changes = zones.changes
    zone, index, days = zones.default, 0, []
    for instant in instants:
        while index < len(changes) and changes[index][0] <= instant:
            zone = changes[index][1]
            index += 1
        days.append(instant.astimezone(zone).date())
    return days


def _anchor(regimen: Regimen, zones: ZoneTimeline) -> date:
    """The local day a regimen's rule counts its rhythm from (its start day)."""
    return _local_day(regimen.starts_at, zones)


# Days that keep a rule's rhythm; one period of margin covers a partial first week or month.
_PERIOD_MONTHS = {"MONTHLY": 1}


def _phase_anchor(regimen: Regimen, lo: datetime, zones: ZoneTimeline) -> date:
    """The regimen's anchor moved forward by whole periods to shortly before `lo`.

    dateutil's rrule walks every occurrence from its start, so a ten-year-old regimen
    costs ten years of steps for one day's slots. Moving the anchor by whole periods
    (days for DAILY, weeks for WEEKLY, months for MONTHLY, whole days that are a multiple
    of the interval for HOURLY) keeps every slot where it was. Rules with other parts
    (raw RRULEs with BYSETPOS and the like) keep their own anchor.
    """
    from math import gcd

    anchor = _anchor(regimen, zones)
    rule = regimen.schedule.rrule or ""
    parts = dict(part.split("=", 1) for part in rule.split(";") if "=" in part)
    freq = parts.pop("FREQ", "")
    interval = int(parts.pop("INTERVAL", "1"))
    allowed: dict[str, set[str]] = {
        "DAILY": set(),
        "WEEKLY": {"BYDAY"},
        "MONTHLY": {"BYMONTHDAY"},
        "HOURLY": set(),
    }
    # Without BYDAY/BYMONTHDAY the day comes from the anchor (and may clamp): leave it be.
    if freq not in allowed or set(parts) != allowed[freq]:
        return anchor
    target = (lo - timedelta(days=2)).date()
    if freq in _PERIOD_MONTHS:
        from dateutil.relativedelta import relativedelta

        months = interval * _PERIOD_MONTHS[freq]
        whole = ((target.year - anchor.year) * 12 + target.month - anchor.month) // months - 1
        return anchor + relativedelta(months=months * whole) if whole > 0 else anchor
    if freq == "HOURLY":
        period = interval // gcd(interval, 24)  # days after which the hours line up again
    else:
        period = interval * (7 if freq == "WEEKLY" else 1)
    whole = (target - anchor).days // period - 1
    return anchor + timedelta(days=period * whole) if whole > 0 else anchor


def _regimen_end(med: Medication, regimen: Regimen) -> datetime | None:
    ends = [t for t in (regimen.ends_at, med.stopped_at) if t is not None]
    return min(ends) if ends else None


def _same_rhythm(first: Regimen, later: Regimen, zones: ZoneTimeline) -> bool:
    """Whether `later`, starting where a regimen with `first`'s rule ends, has exactly the
    slots `first`'s rule (from `first`'s anchor) gives from its start on, so that one
    expansion serves both: a decade's dose changes seldom change the times, and each
    expansion has a fixed cost (~0.1 ms, hundreds of regimens).

    So only for the plain rules in the same phase (every N days or N weeks counted from
    either anchor alike; for every N hours, `later` starting no earlier in its day than the
    first dose, since its own first day has only the doses from then on), with no DST
    change or trip within three days of `later`'s first day: walls there map to instants
    by one offset, so no day before it reaches past its start and no shifted wall moves.
    """
    from medtrack.core.schedule import _rule_parts, day_offset

    schedule = first.schedule
    if later.schedule != schedule or schedule.rrule is None or not schedule.times:
        return False
    anchor, later_anchor = _anchor(first, zones), _anchor(later, zones)
    # `day_offset`'s own cache read first (by then the expansions have mostly filled it):
    # hundreds of regimens ask this.
    cache = zones.__dict__.get("_day_offsets", {})
    around = range(later_anchor.toordinal() - 3, later_anchor.toordinal() + 2)
    offsets = [
        cache[day] if day in cache else day_offset(zones, date.fromordinal(day)) for day in around
    ]
    if None in offsets:
        return False
    parts = _rule_parts(schedule.rrule)
    freq = parts.pop("FREQ", "")
    interval = int(parts.pop("INTERVAL", "1"))
    if freq == "DAILY" and not parts:
        return (later_anchor - anchor).days % interval == 0
    if freq == "WEEKLY" and set(parts) == {"BYDAY"}:
        from medtrack.core.schedule import WEEKDAYS

        if not all(code in WEEKDAYS for code in parts["BYDAY"].split(",")):
            return False
        # rrule counts weeks from the anchor's Monday-started week (WKST=MO).
        mondays = [day.toordinal() - day.weekday() for day in (anchor, later_anchor)]
        return (mondays[1] - mondays[0]) // 7 % interval == 0
    if freq == "HOURLY" and not parts and 24 % interval == 0:
        wall = schedule.times[0]
        since_midnight = (later.starts_at.timestamp() + offsets[3]) % 86400
        return since_midnight >= wall.hour * 3600 + wall.minute * 60 + wall.second
    return False


# One past the index of a regimen's last slot in the slot columns, and the regimen.
_Span = tuple[int, Regimen]


def _slot_columns(
    med: Medication, start: datetime, end: datetime, zones: ZoneTimeline
) -> tuple[list[int], list[int], list[_Span]]:
    """`raw_slots` as columns: epoch seconds, local day ordinals, and the regimens as
    spans of those columns in order (no list of a regimen per slot: the figures look one
    up only for an unanswered slot)."""
    from bisect import bisect_left

    parts = []
    for order, regimen in enumerate(med.regimens):
        if regimen.schedule.as_needed:
            continue
        lo = max(start, regimen.starts_at)
        stop = _regimen_end(med, regimen)
        hi = end if stop is None else min(end, stop)
        if lo >= hi:
            continue
        parts.append((lo, hi, order, regimen))
    parts.sort(key=lambda part: (part[0], part[2]))
    ats: list[int] = []
    days: list[int] = []
    spans: list[_Span] = []
    if all(later[0] >= earlier[1] for earlier, later in pairwise(parts)):
        # Regimens follow one another (the usual case): their slots come in order. A run
        # of them that carry one rhythm on is expanded at once and cut where each ends.
        k = 0
        while k < len(parts):
            lo, _hi, _order, regimen = parts[k]
            m = k + 1
            while (
                m < len(parts)
                and parts[m][0] == parts[m - 1][1]
                and _same_rhythm(regimen, parts[m][3], zones)
            ):
                m += 1
            found_ats, found_days = expand_columns(
                regimen.schedule,
                anchor=_phase_anchor(regimen, lo, zones),
                start=lo,
                end=parts[m - 1][1],
                zones=zones,
            )
            base = len(ats)
            ats += found_ats
            days += found_days
            for _lo, hi, _order, each in parts[k : m - 1]:
                spans.append((base + bisect_left(found_ats, hi.timestamp()), each))
            spans.append((len(ats), parts[m - 1][3]))
            k = m
        return ats, days, spans
    # Regimens do not overlap; should two ever claim one instant, the first listed wins.
    merged: dict[int, tuple[int, Regimen]] = {}
    for lo, hi, _order, regimen in sorted(parts, key=lambda p: p[2]):
        found_ats, found_days = expand_columns(
            regimen.schedule,
            anchor=_phase_anchor(regimen, lo, zones),
            start=lo,
            end=hi,
            zones=zones,
        )
        for at, day in zip(found_ats, found_days, strict=True):
            merged.setdefault(at, (day, regimen))
    for at in sorted(merged):
        day, regimen = merged[at]
        if spans and spans[-1][1] is regimen:
            spans[-1] = (spans[-1][0] + 1, regimen)
        else:
            spans.append((len(ats) + 1, regimen))
        ats.append(at)
        days.append(day)
    return ats, days, spans


def _span_regimens(spans: Sequence[_Span]) -> list[Regimen]:
    """The regimen of each slot, from its spans."""
    regimens: list[Regimen] = []
    for stop, regimen in spans:
        regimens += [regimen] * (stop - len(regimens))
    return regimens


def raw_slots(
    med: Medication, start: datetime, end: datetime, zones: ZoneTimeline
) -> list[tuple[datetime, Regimen]]:
    """Slot instants in [start, end) with the regimen each falls under, in order."""
    ats, _days, spans = _slot_columns(med, start, end, zones)
    regimens = _span_regimens(spans)
    return [(datetime.fromtimestamp(at, UTC), r) for at, r in zip(ats, regimens, strict=True)]


def _first_start(med: Medication) -> datetime | None:
    starts = [r.starts_at for r in med.regimens if not r.schedule.as_needed]
    return min(starts) if starts else None


def _last_end(med: Medication) -> datetime | None:
    """None when some scheduled regimen is still open."""
    ends = []
    for regimen in med.regimens:
        if regimen.schedule.as_needed:
            continue
        stop = _regimen_end(med, regimen)
        if stop is None:
            return None
        ends.append(stop)
    return max(ends) if ends else None


def _slot_before(
    med: Medication, instant: datetime, zones: ZoneTimeline
) -> tuple[datetime, Regimen] | None:
    first = _first_start(med)
    if first is None or first >= instant:
        return None
    for margin in _NEIGHBOUR_MARGINS:
        found = raw_slots(med, instant - margin, instant, zones)
        if found:
            return found[-1]
        if instant - margin <= first:
            return None
    return None


def _slot_after(
    med: Medication, instant: datetime, zones: ZoneTimeline
) -> tuple[datetime, Regimen] | None:
    last = _last_end(med)
    if last is not None and last <= instant:
        return None
    for margin in _NEIGHBOUR_MARGINS:
        found = raw_slots(med, instant, instant + margin, zones)
        if found:
            return found[0]
        if last is not None and instant + margin >= last:
            return None
    return None


def _continues(current: Regimen, following: Regimen) -> bool:
    """Whether `following` takes over from `current` with no gap (a change, not a restart)."""
    return current is following or current.ends_at == following.starts_at


def _windowed(
    med: Medication,
    chain: Sequence[tuple[datetime, Regimen]],
    zones: ZoneTimeline,
) -> list[Slot]:
    """Slots for `chain` (consecutive slots in order); the first and last are neighbours
    that only lend their instants to the windows of the slots between them."""
    slots = []
    opens: list[datetime] = []
    for index, (at, _regimen) in enumerate(chain):
        lead = ACCEPT_BEFORE
        if index > 0:
            lead = min(lead, (at - chain[index - 1][0]) / 2)
        opens.append(at - lead)
    days = _local_days([at for at, _regimen in chain], zones)
    for index, (at, regimen) in enumerate(chain):
        following = chain[index + 1] if index + 1 < len(chain) else None
        if following is not None and _continues(regimen, following[1]):
            closes = opens[index + 1]
        else:
            gap = at - chain[index - 1][0] if index > 0 else _LAST_SLOT_FALLBACK
            closes = at + gap
        slots.append(
            Slot(
                medication=med.name,
                at=at,
                regimen=regimen,
                opens=opens[index],
                closes=closes,
                day=days[index],
            )
        )
    return slots


def medication_slots(
    med: Medication, start: datetime, end: datetime, zones: ZoneTimeline
) -> list[Slot]:
    """The slots of `med` at instants in [start, end), each with its acceptance window."""
    inner = raw_slots(med, start, end, zones)
    if not inner:
        return []
    before = _slot_before(med, inner[0][0], zones)
    after = _slot_after(med, inner[-1][0] + timedelta(seconds=1), zones)
    chain = ([before] if before else []) + inner + ([after] if after else [])
    first = 1 if before else 0
    return _windowed(med, chain, zones)[first : first + len(inner)]


def slot_for(med: Medication, instant: datetime, zones: ZoneTimeline) -> Slot | None:
    """The slot whose acceptance window holds `instant`, if any (windows are disjoint).

    Reads only the slots near `instant` (a day before to a few hours after) plus one
    neighbour either side: a weekly slot may still accept a dose six days on.
    """
    lo, hi = instant - timedelta(days=1), instant + ACCEPT_BEFORE + timedelta(seconds=1)
    near = raw_slots(med, lo, hi, zones)
    before = _slot_before(med, near[0][0] if near else lo, zones)
    after = _slot_after(med, hi, zones)
    chain = ([before] if before else []) + near + ([after] if after else [])
    holding = [s for s in _windowed(med, chain, zones) if s.opens <= instant < s.closes]
    return holding[0] if holding else None


def choose_slot(
    slots: Iterable[Slot], instant: datetime, answered: Collection[datetime]
) -> Slot | None:
    """The open slot (no record yet) whose window holds `instant`, nearest first.

    Deterministic: ties go to the earlier slot. None means the dose is an extra one.
    """
    open_ones = [s for s in slots if s.opens <= instant < s.closes and s.at not in answered]
    if not open_ones:
        return None
    return min(open_ones, key=lambda s: (abs(s.at - instant), s.at))


# --- judging ----------------------------------------------------------------------------


def timing_of(taken_at: datetime, slot_at: datetime, on_time_window: timedelta) -> str:
    delta = taken_at - slot_at
    if abs(delta) <= on_time_window:
        return "on-time"
    return "late" if delta > timedelta(0) else "early"


def judge(
    slots: Sequence[Slot],
    records: Iterable[DoseRecord],
    now: datetime,
    on_time_window: timedelta = DEFAULT_ON_TIME_WINDOW,
) -> list[JudgedSlot]:
    """Each slot with its status, from the records' stored `scheduled_for` (no re-matching)."""
    answers: dict[tuple[str, datetime], DoseRecord] = {}
    # Writes keep one record per slot; should two ever claim one, the first given wins
    # (the store gives records oldest first).
    for record in records:
        if record.scheduled_for is not None:
            answers.setdefault((record.medication, record.scheduled_for), record)
    judged = []
    for slot in slots:
        record = answers.get((slot.medication, slot.at))
        if record is not None and record.status == "taken":
            timing = timing_of(record.taken_at, slot.at, on_time_window)
            judged.append(JudgedSlot(slot, "taken", record, timing))
        elif record is not None:
            judged.append(JudgedSlot(slot, "skipped", record))
        elif now >= slot.closes:
            judged.append(JudgedSlot(slot, "missed"))
        elif slot.at <= now:
            judged.append(JudgedSlot(slot, "pending"))
        else:
            judged.append(JudgedSlot(slot, "later"))
    return judged


def has_schedule_in(med: Medication, start: datetime, end: datetime) -> bool:
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
    day = _local_day(at, zones)
    instants = sorted(taken)
    same_day = [t for t in instants if _local_day(t, zones) == day]
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
