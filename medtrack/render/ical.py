"""The medication plan as an iCalendar file: each regimen a recurring event with an alarm.

One VEVENT per regimen, dose time and stretch of one time zone: a schedule of
``08:00,20:30`` as BYHOUR x BYMINUTE would make a cross product (08:30, 20:00 too), so
each wall time gets its own event and stays exact; and a move to another zone (a zone
change in the person's timeline) ends the events of the old zone and starts new ones in
the new zone, so the alarms follow the person (issue 18). DTSTART is the first slot of
the stretch at that time, as a wall time in the stretch's zone, so calendar programs
expand it across DST the way medtrack does: a wall time that does not exist moves
forward by the gap (RFC 5545 3.3.5, like `dateutil.tz.resolve_imaginary`) and an
ambiguous one takes its first occurrence. UNTIL is the stretch's end, in UTC as RFC
5545 requires with a zoned DTSTART. As-needed medications have no slots and are left
out.

Each zone gets a VTIMEZONE written here, not icalendar's: that one lists every change
as one comma-separated RDATE line, which vobject (dateutil's tzical) and Mozilla's
ical.js read as its first date only, and gives the onset after the change. Here each
observance's onset is the local time before the change (RFC 5545 3.6.5: 02:00 for
Berlin's spring change), past changes come one RDATE per line, and the rule the zone
follows now is an RRULE (last Sunday of March...) that runs on without end.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from medtrack.core.models import Medication, Regimen, Schedule
from medtrack.core.schedule import ZoneTimeline, describe, expand
from medtrack.render.escaping import visible

# Search for a regimen's first slot in growing windows: a daily rule needs a day, a
# raw yearly rule may need years.
_FIRST_SLOT_WINDOWS = (timedelta(days=8), timedelta(days=400), timedelta(days=8 * 366))


# A slot of the new zone can fall up to a day before the change instant (a move east:
# a wall time read in the new zone lands before the moment of the move).
_MOVE_MARGIN = timedelta(days=1)


def _first_slot(
    schedule: Schedule,
    anchor: date,
    start: datetime,
    end: datetime | None,
    zones: ZoneTimeline,
    keep: Callable[[datetime], bool] = lambda _slot: True,
) -> datetime | None:
    """The first slot in [start, end) that `keep` accepts."""
    for length in _FIRST_SLOT_WINDOWS:
        hi = start + length if end is None else min(start + length, end)
        slots = expand(schedule, anchor=anchor, start=start, end=hi, zones=zones)
        kept = [slot for slot in slots if keep(slot)]
        if kept:
            return kept[0]
        if end is not None and hi == end:
            return None
    return None


def _walls(schedule: Schedule) -> set[time]:
    """The wall times of one event's slots: its one time, or an hourly rule's day."""
    first = schedule.times[0]
    if not (schedule.rrule or "").startswith("FREQ=HOURLY"):
        return {first}
    step = int(dict(p.split("=") for p in (schedule.rrule or "").split(";")).get("INTERVAL", 1))
    minutes = first.hour * 60 + first.minute
    return {time((minutes // 60 + k * step) % 24, first.minute) for k in range(24)}


class _Stretch(NamedTuple):
    """The part of a regimen read in one zone: its first slot (at one wall time) and the
    instant from which the next stretch's slots begin (None: to the regimen's end)."""

    zone: ZoneInfo
    first: datetime
    until: datetime | None


def _stretches(
    single: Schedule, regimen: Regimen, anchor: date, zones: ZoneTimeline
) -> list[_Stretch]:
    """Split the regimen's slots at each change of zone within it. A slot belongs to the
    new zone from the change on, or earlier when its wall time is the new zone's and
    not the old one's (a move east). `anchor` is the local day its rhythm counts from."""
    walls = _walls(single)
    changes = [
        at
        for at, _zone in zones.changes
        if regimen.starts_at < at and (regimen.ends_at is None or at < regimen.ends_at)
    ]
    bounds: list[tuple[datetime, ZoneInfo]] = [
        (regimen.starts_at, zones.zone_at(regimen.starts_at))
    ]
    bounds += [(at, zones.zone_at(at)) for at in changes]
    stretches: list[_Stretch] = []
    previous_zone: ZoneInfo | None = None
    for at, zone in bounds:
        old = previous_zone

        # Moving east skips wall times: those of the old zone's slots move on by the jump
        # (core.schedule.ZoneTimeline.instant), so until the new zone's clock at the change
        # comes round on the old zone's clock, a slot is still the old zone's.
        skipped_to = at
        if old is not None:
            wall = at.astimezone(zone).replace(tzinfo=None)
            skipped_to = max(at, wall.replace(tzinfo=old, fold=0).astimezone(UTC))

        def keep(slot: datetime, zone: ZoneInfo = zone, old=old, to: datetime = skipped_to) -> bool:
            if slot >= to or old is None:
                return True
            return (
                slot.astimezone(zone).time().replace(second=0) in walls
                and slot.astimezone(old).time().replace(second=0) not in walls
            )

        lo = at if old is None else max(regimen.starts_at, at - _MOVE_MARGIN)
        first = _first_slot(single, anchor, lo, regimen.ends_at, zones, keep)
        if first is not None:
            if stretches:
                stretches[-1] = stretches[-1]._replace(until=min(first, skipped_to))
            stretches.append(_Stretch(zone, first, regimen.ends_at))
        previous_zone = zone
    # A stretch whose next one starts before its own first slot has no slot of its own.
    return [s for s in stretches if s.until is None or s.first < s.until]


def _uid(medication: str, regimen: Regimen, at: time, stretch_start: datetime | None) -> str:
    # Stable across exports, so re-importing updates events instead of doubling them.
    seed = f"{medication.lower()}|{regimen.starts_at.isoformat()}|{at.isoformat()}"
    if stretch_start is not None:
        seed += f"|{stretch_start.astimezone(UTC).isoformat()}"
    return hashlib.sha256(seed.encode()).hexdigest()[:24] + "@medtrack"


def regimen_events(
    medication: Medication,
    regimen: Regimen,
    zones: ZoneTimeline,
    now: datetime,
    record_command: str,
) -> list[object]:
    """The VEVENTs of one regimen: one per dose time (one for an hourly rule)."""
    from icalendar import Alarm, Event, vRecur

    schedule = regimen.schedule
    if schedule.as_needed or schedule.rrule is None or not schedule.times:
        return []
    hourly = schedule.rrule.startswith("FREQ=HOURLY")
    per_time = [schedule] if hourly else [Schedule(schedule.rrule, (t,)) for t in schedule.times]
    words = describe(schedule)
    # A dose change keeps the rhythm of the schedule (core.slots.rhythm_start): the events
    # start on the days medtrack's own slots fall on.
    from medtrack.core.slots import local_day, rhythm_start

    anchor = local_day(rhythm_start(medication.regimens, medication.regimens.index(regimen)), zones)
    events = []
    for single in per_time:
        for index, stretch in enumerate(_stretches(single, regimen, anchor, zones)):
            local = stretch.first.astimezone(stretch.zone)
            # The nominal wall time, not the instant: on a spring-forward day the first
            # slot may have moved past the gap, and DTSTART must keep the time the rule
            # repeats.
            wall = local.replace(tzinfo=None)
            if not hourly:
                wall = datetime.combine(local.date(), single.times[0])
            # RFC 5545 TEXT holds no control characters: stored ones are written visibly.
            summary = visible(f"{medication.name} {regimen.dose}")
            event = Event()
            later = stretch.first if index else None
            event.add("uid", _uid(medication.name, regimen, wall.time(), later))
            event.add("dtstamp", now.astimezone(UTC))
            event.add("summary", summary)
            event.add("dtstart", wall.replace(tzinfo=stretch.zone))
            event.add("duration", timedelta(minutes=5))
            rule = vRecur.from_ical(schedule.rrule)
            if stretch.until is not None:
                # UNTIL is inclusive, the end exclusive: the last second before it.
                rule["UNTIL"] = [(stretch.until - timedelta(seconds=1)).astimezone(UTC)]
            event.add("rrule", rule)
            event.add(
                "description",
                f"{summary}, {words}. When taken, record it: {visible(record_command)}\n"
                "(from medtrack; not medical advice)",
            )
            event.add("categories", ["medication"])
            alarm = Alarm()
            alarm.add("action", "DISPLAY")
            alarm.add("trigger", timedelta(0))
            alarm.add("description", f"Time for {summary}")
            event.add_component(alarm)
            events.append(event)
    return events


def calendar_ics(
    medications: Iterable[Medication],
    zones: ZoneTimeline,
    now: datetime,
    *,
    global_options: Sequence[str] = (),
) -> bytes:
    """The whole plan as iCalendar bytes: every regimen of every medication (ended ones
    with their UNTIL), as-needed ones left out."""
    from icalendar import Calendar

    from medtrack.core.reminders import record_command

    calendar = Calendar()
    calendar.add("prodid", "-//medtrack//medication plan//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", "medtrack medications")
    events = []
    for medication in medications:
        command = record_command(medication.name, global_options)
        for regimen in medication.regimens:
            events += regimen_events(medication, regimen, zones, now, command)
    # Each zone's VTIMEZONE from its earliest event on, before the events (RFC 5545
    # puts no order, some clients want the zone first).
    earliest: dict[str, datetime] = {}
    for event in events:
        start = event.decoded("dtstart")
        key = start.tzinfo.key
        earliest[key] = min(earliest.get(key, start), start)
    for key in sorted(earliest):
        calendar.add_component(vtimezone(ZoneInfo(key), earliest[key], now))
    for event in events:
        calendar.add_component(event)
    return calendar.to_ical()


# --- VTIMEZONE -------------------------------------------------------------------------

# Years ahead in which the zone's rule must hold to be written as an RRULE.
_RULE_YEARS = 30


class _Change(NamedTuple):
    """One change of UTC offset: the instant, the offsets either side, whether the new
    one is daylight saving time, and its abbreviation."""

    at: datetime
    before: timedelta
    after: timedelta
    dst: bool
    name: str

    @property
    def onset(self) -> datetime:
        """The local time just before the change, as RFC 5545 writes an onset."""
        return (self.at + self.before).replace(tzinfo=None)

    def rule(self) -> tuple[object, ...]:
        """What makes it one yearly rule: month, weekday, which one of the month (-1 the
        last), the onset's time, offsets and name."""
        onset = self.onset
        days_in_month = (onset.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(
            days=1
        )
        nth = -1 if onset.day > days_in_month.day - 7 else (onset.day - 1) // 7 + 1
        return (
            onset.month,
            onset.weekday(),
            nth,
            onset.time(),
            self.before,
            self.after,
            self.dst,
            self.name,
        )


def _offset_changes(zone: ZoneInfo, start: datetime, end: datetime) -> list[_Change]:
    """Every change of UTC offset in [start, end), found day by day, then to the second
    by bisection."""
    changes = []
    day = timedelta(days=1)
    lo = start.astimezone(UTC)
    offset = lo.astimezone(zone).utcoffset()
    while lo < end:
        hi = lo + day
        next_offset = hi.astimezone(zone).utcoffset()
        if next_offset != offset:
            a, b = lo, hi
            while b - a > timedelta(seconds=1):
                mid = a + (b - a) / 2
                mid = mid.replace(microsecond=0)
                if mid.astimezone(zone).utcoffset() == offset:
                    a = mid
                else:
                    b = mid
            after = b.astimezone(zone)
            assert offset is not None and next_offset is not None
            changes.append(
                _Change(b, offset, next_offset, bool(after.dst()), after.tzname() or zone.key)
            )
            offset = next_offset
        lo = hi
    return changes


def vtimezone(zone: ZoneInfo, since: datetime, now: datetime) -> object:
    """A VTIMEZONE for `zone` valid from `since` on: the observance in force then, each
    change up to the years where the zone keeps one yearly rule, then that rule as an
    RRULE per observance (a zone without changes ahead keeps its last observance)."""
    from icalendar import Timezone, TimezoneDaylight, TimezoneStandard

    begin = (since - timedelta(days=366)).astimezone(UTC).replace(minute=0, second=0)
    last_year = max(since.year, now.year) + _RULE_YEARS
    end = datetime(last_year + 1, 1, 1, tzinfo=UTC)
    changes = _offset_changes(zone, begin, end)
    by_year: dict[int, list[tuple[object, ...]]] = {}
    for change in changes:
        by_year.setdefault(change.onset.year, []).append(change.rule())
    # The years at the end that follow one rule: from the first of them on, an RRULE.
    rules = by_year.get(last_year)
    ruled_from = last_year + 1
    if rules:
        year = last_year
        while year > begin.year and by_year.get(year) == rules:
            year -= 1
        ruled_from = year + 1
        if last_year - ruled_from < 5:  # not a rule: every change listed
            ruled_from = last_year + 1
    listed = [c for c in changes if c.onset.year < ruled_from]
    ruled = [c for c in changes if c.onset.year == ruled_from]

    def observance(change: _Change) -> Any:
        component = TimezoneDaylight() if change.dst else TimezoneStandard()
        component.add("tzname", change.name)
        component.add("tzoffsetfrom", change.before)
        component.add("tzoffsetto", change.after)
        return component

    timezone = Timezone()
    timezone.add("tzid", zone.key)
    # The observance in force at the beginning, so every event has one.
    first = begin.astimezone(zone)
    offset = first.utcoffset()
    assert offset is not None
    start = _Change(begin, offset, offset, bool(first.dst()), first.tzname() or zone.key)
    opening = observance(start)
    opening.add("dtstart", start.onset)
    timezone.add_component(opening)
    # Past changes: one observance per kind, its DTSTART the first, then one RDATE per
    # line (never a comma-separated list: some readers take its first date only).
    groups: dict[tuple[object, ...], list[_Change]] = {}
    for change in listed:
        groups.setdefault((change.before, change.after, change.dst, change.name), []).append(change)
    for group in groups.values():
        component = observance(group[0])
        component.add("dtstart", group[0].onset)
        for change in group[1:]:
            component.add("rdate", change.onset)
        timezone.add_component(component)
    for change in ruled:
        month, weekday, nth, *_rest = change.rule()
        component = observance(change)
        component.add("dtstart", change.onset)
        byday = f"{nth}{('MO', 'TU', 'WE', 'TH', 'FR', 'SA', 'SU')[weekday]}"
        component.add("rrule", {"freq": "yearly", "bymonth": month, "byday": byday})
        timezone.add_component(component)
    return timezone
