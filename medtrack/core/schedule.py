"""Schedules: the text a person types, its RRULE form, its words, and its slots.

A schedule is stored as a day-level RRULE body (no DTSTART, no BYHOUR) plus the
wall-clock times of the doses on each matching day. Keeping the times apart from
the rule lets ``daily 08:00,20:30`` be expressed exactly (BYHOUR x BYMINUTE would
make a cross product) and keeps the words read back to the person simple.

Expansion follows DESIGN.md: slots are wall-clock times in the zone in force on
that day; a wall time that does not exist (spring forward) moves forward, an
ambiguous one (fall back) takes its first occurrence.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from medtrack.core.models import Schedule, ZoneChange
from medtrack.core.timeparse import localize as localize  # re-exported for callers
from medtrack.errors import BadSchedule

if TYPE_CHECKING:
    from dateutil.rrule import rrule as rrule_type

ACCEPTED_FORMS = (
    "daily 08:00 | daily 08:00,20:00 | every 2 days 09:00 | mon,wed,fri 21:00 | "
    "weekly sun 10:00 | every 4 weeks mon 10:00 | monthly 1 09:00 | every 8h from 06:00 | "
    "as needed | RRULE:FREQ=...;BYHOUR=..;BYMINUTE=.."
)

WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_WEEKDAY_WORDS = {name.lower(): code for name, code in zip(WEEKDAY_NAMES, WEEKDAYS, strict=True)}
_WEEKDAY_WORDS.update(
    {name.lower()[:3]: code for name, code in zip(WEEKDAY_NAMES, WEEKDAYS, strict=True)}
)
_WEEKDAY_WORDS.update({"tues": "TU", "thur": "TH", "thurs": "TH", "weds": "WE"})

_TIME_RE = re.compile(r"\b(\d{1,2}):(\d{2})\s*(am|pm)?\b|\b(\d{1,2})\s*(am|pm)\b")
_FILLERS = {"at", "on", "and", "the", "from", "of", "starting"}
_DAY_LEVEL = {"DAILY", "WEEKLY", "MONTHLY", "YEARLY"}


def _bad(text: str, why: str = "") -> BadSchedule:
    detail = f" ({why})" if why else ""
    return BadSchedule(f"can't read schedule '{text}'{detail}: use {ACCEPTED_FORMS}")


def _parse_clock(hour: int, minute: int, meridiem: str | None, text: str) -> time:
    if meridiem:
        if not 1 <= hour <= 12:
            raise _bad(text, f"{hour}{meridiem} is not a time")
        hour = hour % 12 + (12 if meridiem == "pm" else 0)
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise _bad(text, f"{hour:02d}:{minute:02d} is not a time")
    return time(hour, minute)


def _take_times(text: str, lowered: str) -> tuple[tuple[time, ...], str]:
    """Pull the clock times out of `lowered`; return them and what is left."""
    found: list[time] = []

    def grab(match: re.Match[str]) -> str:
        if match.group(1) is not None:
            found.append(
                _parse_clock(int(match.group(1)), int(match.group(2)), match.group(3), text)
            )
        else:
            found.append(_parse_clock(int(match.group(4)), 0, match.group(5), text))
        return " "

    rest = _TIME_RE.sub(grab, lowered)
    if len(set(found)) != len(found):
        raise _bad(text, "a time is given twice")
    return tuple(sorted(found)), rest


def _interval(token: str, text: str) -> int:
    value = int(token)
    if value < 1:
        raise _bad(text, "the interval must be at least 1")
    return value


def parse_schedule(text: str) -> Schedule:
    """Read a schedule in any accepted form (including the words `describe` gives back)."""
    original = text
    lowered = " ".join(text.strip().lower().split())
    if not lowered:
        raise _bad(original, "it is empty")
    if lowered.startswith("rrule:"):
        return _parse_raw_rrule(original, text.strip()[6:])
    if re.match(r"^(as[ -]needed|prn)\b", lowered):
        return Schedule(rrule=None, times=(), as_needed=True)

    times, rest = _take_times(original, lowered)
    rest = re.sub(r"(\d+)\s*(h|hr|hrs|hours?)\b", r"\1 hours", rest)
    rest = re.sub(r"(\d+)\s*(d)\b", r"\1 days", rest)
    rest = re.sub(r"(\d+)\s*(w|wk|wks)\b", r"\1 weeks", rest)
    tokens = [t for t in re.split(r"[\s,;]+", rest) if t and t not in _FILLERS]
    if not times:
        raise _bad(original, "give the time of each dose, e.g. 08:00")

    rule = _rule_from_tokens(tokens, original, len(times))
    return Schedule(rrule=rule, times=times, as_needed=False)


def _rule_from_tokens(tokens: list[str], text: str, n_times: int) -> str:
    interval = 1
    if tokens and tokens[0] == "every":
        tokens = tokens[1:]
        if tokens and tokens[0].isdigit():
            interval = _interval(tokens[0], text)
            tokens = tokens[1:]
    if not tokens:
        raise _bad(text)
    head, tail = tokens[0], tokens[1:]

    if head in ("hour", "hours", "hourly"):
        if tail or n_times != 1:
            raise _bad(text, "an hourly schedule takes one start time: every 8h from 06:00")
        if interval > 24 * 7:
            raise _bad(text, "use a weekly schedule for intervals over a week")
        return f"FREQ=HOURLY;INTERVAL={interval}"
    if head in ("daily", "day", "days") and not tail:
        return _with_interval("FREQ=DAILY", interval)
    if head in ("weekly", "week", "weeks") or head in _WEEKDAY_WORDS:
        day_tokens = tail if head in ("weekly", "week", "weeks") else tokens
        codes = []
        for token in day_tokens:
            if token not in _WEEKDAY_WORDS:
                raise _bad(text, f"'{token}' is not a weekday")
            codes.append(_WEEKDAY_WORDS[token])
        if not codes:
            raise _bad(text, "name the weekday, e.g. weekly sun 10:00")
        ordered = sorted(set(codes), key=WEEKDAYS.index)
        return _with_interval("FREQ=WEEKLY", interval) + ";BYDAY=" + ",".join(ordered)
    if head in ("monthly", "month", "months"):
        day_tokens = [t for t in tail if t not in ("day", "days")]
        if not day_tokens or not all(t.isdigit() for t in day_tokens):
            raise _bad(text, "name the day of the month, e.g. monthly 1 09:00")
        days = sorted({int(t) for t in day_tokens})
        if not all(1 <= d <= 31 for d in days):
            raise _bad(text, "days of the month run from 1 to 31")
        return _with_interval("FREQ=MONTHLY", interval) + ";BYMONTHDAY=" + ",".join(map(str, days))
    raise _bad(text)


def _with_interval(freq: str, interval: int) -> str:
    return freq if interval == 1 else f"{freq};INTERVAL={interval}"


def _parse_raw_rrule(text: str, body: str) -> Schedule:
    from dateutil.rrule import rrulestr

    parts: dict[str, str] = {}
    for part in body.strip().strip(";").split(";"):
        key, sep, value = part.partition("=")
        if not sep or not key or not value:
            raise _bad(text, f"'{part}' is not KEY=VALUE")
        parts[key.strip().upper()] = value.strip().upper()
    if "DTSTART" in parts or "UNTIL" in parts or "COUNT" in parts:
        raise _bad(text, "leave DTSTART, UNTIL and COUNT out; use --start and 'med stop'")
    freq = parts.get("FREQ")
    if freq not in _DAY_LEVEL:
        raise _bad(text, "a raw RRULE needs FREQ=DAILY, WEEKLY, MONTHLY or YEARLY")
    try:
        hours = [int(h) for h in parts.pop("BYHOUR", "").split(",") if h]
        minutes = [int(m) for m in parts.pop("BYMINUTE", "0").split(",") if m]
    except ValueError as exc:
        raise _bad(text, "BYHOUR and BYMINUTE take numbers") from exc
    parts.pop("BYSECOND", None)
    if not hours:
        raise _bad(text, "a raw RRULE needs BYHOUR (and BYMINUTE) for the dose times")
    times = tuple(sorted({_parse_clock(h, m, None, text) for h in hours for m in minutes}))
    rule = ";".join(f"{k}={v}" for k, v in parts.items())
    try:
        rrulestr(rule, dtstart=datetime(2000, 1, 1))
    except (ValueError, TypeError) as exc:
        raise _bad(text, str(exc)) from exc
    return Schedule(rrule=rule, times=times, as_needed=False)


def _rule_parts(rule: str) -> dict[str, str]:
    return dict(part.split("=", 1) for part in rule.split(";"))


@lru_cache(maxsize=256)
def a_dose_a_day_or_more(schedule: Schedule) -> bool:
    """Whether the schedule gives a dose every day (every day or every N hours), as a drug
    holiday needs; every 2 days, weekdays only, weekly and monthly do not."""
    if schedule.as_needed or schedule.rrule is None or not schedule.times:
        return False
    parts = _rule_parts(schedule.rrule)
    freq, interval = parts.pop("FREQ", ""), int(parts.pop("INTERVAL", "1"))
    if freq == "HOURLY":
        return interval <= 24
    return freq == "DAILY" and interval == 1 and not parts


def _join_words(words: Sequence[str]) -> str:
    if len(words) == 1:
        return words[0]
    return ", ".join(words[:-1]) + " and " + words[-1]


def _fmt_time(value: time) -> str:
    return value.strftime("%H:%M")


def _canonical_words(rule: str, times: tuple[time, ...]) -> str | None:
    parts = _rule_parts(rule)
    freq = parts.pop("FREQ")
    interval = int(parts.pop("INTERVAL", "1"))
    at = "at " + _join_words([_fmt_time(t) for t in times])
    if freq == "HOURLY" and not parts:
        unit = "hour" if interval == 1 else f"{interval} hours"
        return f"every {unit} from {_fmt_time(times[0])}"
    if freq == "DAILY" and not parts:
        return f"every day {at}" if interval == 1 else f"every {interval} days {at}"
    if freq == "WEEKLY" and set(parts) == {"BYDAY"}:
        codes = parts["BYDAY"].split(",")
        if not all(code in WEEKDAYS for code in codes):
            return None
        names = _join_words([WEEKDAY_NAMES[WEEKDAYS.index(code)] for code in codes])
        if interval == 1:
            return f"every {names} {at}"
        return f"every {interval} weeks on {names} {at}"
    if freq == "MONTHLY" and set(parts) == {"BYMONTHDAY"}:
        days = parts["BYMONTHDAY"].split(",")
        if not all(d.isdigit() for d in days):
            return None
        label = "day" if len(days) == 1 else "days"
        every = "every month" if interval == 1 else f"every {interval} months"
        return f"{every} on {label} {_join_words(days)} {at}"
    return None


def describe(
    schedule: Schedule,
    *,
    max_per_day: int | None = None,
    min_interval: timedelta | None = None,
) -> str:
    """The schedule in words, as shown to the person; `parse_schedule` reads it back."""
    if schedule.as_needed:
        words = "as needed"
        if max_per_day:
            words += f", at most {max_per_day} a day"
        if min_interval:
            words += f", {format_interval(min_interval)} apart"
        return words
    assert schedule.rrule is not None
    words = _canonical_words(schedule.rrule, schedule.times)
    if words is not None:
        return words
    hours = ",".join(sorted({str(t.hour) for t in schedule.times}, key=int))
    minutes = ",".join(sorted({str(t.minute) for t in schedule.times}, key=int))
    return f"RRULE:{schedule.rrule};BYHOUR={hours};BYMINUTE={minutes}"


def format_interval(value: timedelta) -> str:
    """`6 h`, `90 min`, `1 h 30 min`: how an interval reads in schedules and messages."""
    minutes = int(value.total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    if hours and minutes:
        return f"{hours} h {minutes} min"
    if hours:
        return f"{hours} h"
    return f"{minutes} min"


def times_text(times: Sequence[time]) -> str:
    """How times are stored: ``08:00,20:00``."""
    return ",".join(_fmt_time(t) for t in times)


def parse_times_text(text: str | None) -> tuple[time, ...]:
    if not text:
        return ()
    return tuple(time.fromisoformat(part) for part in text.split(","))


class ZoneTimeline:
    """Which IANA zone is in force when: travel changes the zone from a moment on,
    and the past keeps the zone it was lived in.

    `now`, when given, is the moment the person reads from: `here` is the zone in force
    then, and `label` names another zone where a time printed in it could be misread."""

    def __init__(
        self, default: str, changes: Sequence[ZoneChange] = (), *, now: datetime | None = None
    ) -> None:
        self.default = ZoneInfo(default)
        # A change to the zone already in force changes nothing (the first zone is kept as
        # a change at 1970): left out, every wall time is read once, not once a change.
        self.changes = []
        zone = self.default
        for change in sorted(changes, key=lambda c: c.effective_at):
            if change.zone != zone.key:
                zone = ZoneInfo(change.zone)
                self.changes.append((change.effective_at, zone))
        self.now = now

    def zone_at(self, instant: datetime) -> ZoneInfo:
        zone = self.default
        for effective_at, changed in self.changes:
            if effective_at <= instant:
                zone = changed
        return zone

    @property
    def here(self) -> ZoneInfo:
        """The zone in force now (the latest change when no `now` was given)."""
        if self.now is not None:
            return self.zone_at(self.now)
        return self.changes[-1][1] if self.changes else self.default

    def label(self, instant: datetime) -> str:
        """`""` when `instant` is in the zone in force now, else its place (`" Berlin"`)."""
        zone = self.zone_at(instant)
        return "" if zone.key == self.here.key else " " + zone_place(zone.key)

    def localize(self, naive: datetime) -> datetime:
        """The instant of a wall time, in the zone in force then (see `instant`)."""
        moment = self.instant(naive)
        return moment.astimezone(self.zone_at(moment))

    def instant(self, naive: datetime) -> datetime:
        """The UTC instant of a wall time read in the zone one was in at that moment.

        Each wall time gives exactly one instant, so a travel day never doubles a dose:
        where a westward change makes wall times happen twice, the first (before the
        change) is taken; where an eastward change skips them, the wall time moves
        forward by the jump, read with the zone from before it, as a daylight-saving gap
        does (with fold=0 a wall time in a gap reads with the offset from before it,
        PEP 495, which is the instant of the wall time moved forward by the gap)."""
        moment = naive.replace(tzinfo=self.default, fold=0).astimezone(UTC)
        for effective_at, changed in self.changes:
            if moment >= effective_at:
                there = naive.replace(tzinfo=changed, fold=0).astimezone(UTC)
                # Before the change in the new zone: a wall time the jump skipped.
                moment = there if there >= effective_at else moment
        return moment


def reread(instant: datetime, before: ZoneTimeline, after: ZoneTimeline) -> datetime:
    """A planned instant moved so its wall time, read in `before`'s zone at that moment,
    is read in `after`'s instead: a date planned at home for a day abroad starts at
    midnight abroad once the trip is on the zone history. Returned in its new zone."""
    wall = instant.astimezone(before.zone_at(instant)).replace(tzinfo=None)
    return after.localize(wall)


def zone_place(key: str) -> str:
    """The place an IANA zone is named after: `America/New_York` -> `New York`."""
    return key.rsplit("/", 1)[-1].replace("_", " ")


# Days of margin either side of a window when asking rrule for wall-clock days: a UTC
# offset is at most 14 h, so a slot in the window lies on a wall day within one of it.
_WALL_MARGIN = timedelta(days=1)


def expand(
    schedule: Schedule,
    *,
    anchor: date,
    start: datetime,
    end: datetime,
    zones: ZoneTimeline,
) -> list[datetime]:
    """Every slot of `schedule` in [start, end), as aware UTC datetimes, in order.

    dateutil's rrule gives the wall-clock days (or, for ``every N hours``, the wall-clock
    times) from `anchor`, the local date the rule's rhythm counts from; each dose's wall
    time is read in the zone in force then (`ZoneTimeline.localize`: a time that does
    not exist moves forward by the length of the gap, an ambiguous one takes its first
    occurrence). Should two wall times land on one instant (a spring-forward night
    moves 02:00 onto 03:00), the later keeps its own slot one minute on, so no intended
    dose is lost.
    """
    if schedule.as_needed or schedule.rrule is None or start >= end:
        return []
    lo = datetime.combine(start.astimezone(UTC).date(), time()) - _WALL_MARGIN
    hi = datetime.combine(end.astimezone(UTC).date(), time()) + _WALL_MARGIN
    anchor = _anchor_near(schedule, anchor, lo.date())
    lo = max(lo, datetime.combine(anchor, time()))
    if lo > hi:
        return []
    if schedule.rrule.startswith("FREQ=HOURLY"):
        rule = _rule(schedule.rrule, datetime.combine(anchor, schedule.times[0]))
        walls = rule.between(lo, hi, inc=True)
    else:
        rule = _rule(schedule.rrule, datetime.combine(anchor, time()))
        days = rule.between(lo, hi, inc=True)
        walls = [datetime.combine(day.date(), wall) for day in days for wall in schedule.times]

    slots: list[datetime] = []
    seen: set[datetime] = set()
    for wall in walls:
        instant = zones.instant(wall)
        while instant in seen:
            instant += timedelta(minutes=1)
        seen.add(instant)
        if start <= instant < end:
            slots.append(instant)
    slots.sort()
    return slots


@lru_cache(maxsize=512)
def _rule(rrule: str, dtstart: datetime) -> rrule_type:
    """The parsed rule from `dtstart`: a window's slots ask for the same rule and start
    many times (each neighbour search), and parsing is the costly part of a short one."""
    from dateutil.rrule import rrulestr

    return rrulestr(rrule, dtstart=dtstart, cache=False)


def _anchor_near(schedule: Schedule, anchor: date, lo: date) -> date:
    """`anchor` moved forward by whole periods of the rule to at most `lo`.

    rrule walks every occurrence from its start, so a rhythm begun ten years ago would
    cost ten years of steps for one day's slots. Moving the start by whole periods (N
    days for every N days; N weeks for every N weeks, which keeps the weekday and rrule's
    Monday-based week count; for every N hours, the days after which the hours repeat)
    gives the same occurrences from there on. Other rules keep their own anchor.
    """
    from math import gcd

    assert schedule.rrule is not None
    parts = _rule_parts(schedule.rrule)
    freq = parts.pop("FREQ", "")
    interval = int(parts.pop("INTERVAL", "1"))
    if freq == "DAILY" and not parts:
        period = interval
    elif freq == "WEEKLY" and set(parts) <= {"BYDAY"}:
        period = 7 * interval
    elif freq == "HOURLY" and not parts:
        period = interval // gcd(interval, 24)
    else:
        return anchor
    # One period short of `lo`, so the day before the window keeps its occurrences too.
    whole = (lo - anchor).days // period - 1
    return anchor + timedelta(days=period * whole) if whole > 0 else anchor
