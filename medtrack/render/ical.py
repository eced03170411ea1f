"""The medication plan as an iCalendar file: each regimen a recurring event with an alarm.

One VEVENT per regimen and dose time: a schedule of ``08:00,20:30`` as BYHOUR x
BYMINUTE would make a cross product (08:30, 20:00 too), so each wall time gets its own
event and stays exact. DTSTART is the regimen's first slot at that time, as a wall time
in the zone in force when the regimen starts (a VTIMEZONE is included), so calendar
programs expand it across DST the way medtrack does: a wall time that does not exist
moves forward by the gap (RFC 5545 3.3.5, like `dateutil.tz.resolve_imaginary`) and an
ambiguous one takes its first occurrence. UNTIL is the regimen's end, in UTC as RFC 5545
requires with a zoned DTSTART. As-needed medications have no slots and are left out.

Limitation: a later change of zone (travel) is not split into separate events; the
calendar keeps the zone the regimen started in.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, time, timedelta

from medtrack.core.models import Medication, Regimen, Schedule
from medtrack.core.schedule import ZoneTimeline, describe, expand
from medtrack.render.escaping import visible

# Search for a regimen's first slot in growing windows: a daily rule needs a day, a
# raw yearly rule may need years.
_FIRST_SLOT_WINDOWS = (timedelta(days=8), timedelta(days=400), timedelta(days=8 * 366))


def _first_slot(schedule: Schedule, regimen: Regimen, zones: ZoneTimeline) -> datetime | None:
    anchor = regimen.starts_at.astimezone(zones.zone_at(regimen.starts_at)).date()
    for length in _FIRST_SLOT_WINDOWS:
        end = regimen.starts_at + length
        if regimen.ends_at is not None:
            end = min(end, regimen.ends_at)
        slots = expand(schedule, anchor=anchor, start=regimen.starts_at, end=end, zones=zones)
        if slots:
            return slots[0]
        if regimen.ends_at is not None and end == regimen.ends_at:
            return None
    return None


def _uid(medication: str, regimen: Regimen, at: time) -> str:
    # Stable across exports, so re-importing updates events instead of doubling them.
    seed = f"{medication.lower()}|{regimen.starts_at.isoformat()}|{at.isoformat()}"
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
    zone = zones.zone_at(regimen.starts_at)
    hourly = schedule.rrule.startswith("FREQ=HOURLY")
    per_time = [schedule] if hourly else [Schedule(schedule.rrule, (t,)) for t in schedule.times]
    words = describe(schedule)
    events = []
    for single in per_time:
        first = _first_slot(single, regimen, zones)
        if first is None:
            continue
        local = first.astimezone(zone)
        # The nominal wall time, not the instant: on a spring-forward day the first slot
        # may have moved past the gap, and DTSTART must keep the time the rule repeats.
        wall = local.replace(tzinfo=None)
        if not hourly:
            wall = datetime.combine(local.date(), single.times[0])
        # RFC 5545 TEXT holds no control characters: stored ones are written out visibly.
        summary = visible(f"{medication.name} {regimen.dose}")
        event = Event()
        event.add("uid", _uid(medication.name, regimen, wall.time()))
        event.add("dtstamp", now.astimezone(UTC))
        event.add("summary", summary)
        event.add("dtstart", wall.replace(tzinfo=zone))
        event.add("duration", timedelta(minutes=5))
        rule = vRecur.from_ical(schedule.rrule)
        if regimen.ends_at is not None:
            # UNTIL is inclusive, ends_at exclusive: the last second before the end.
            rule["UNTIL"] = [(regimen.ends_at - timedelta(seconds=1)).astimezone(UTC)]
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
    for medication in medications:
        command = record_command(medication.name, global_options)
        for regimen in medication.regimens:
            for event in regimen_events(medication, regimen, zones, now, command):
                calendar.add_component(event)
    calendar.add_missing_timezones()
    return calendar.to_ical()
