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
from zoneinfo import ZoneInfo

from medtrack.core.models import Schedule, ZoneChange
from medtrack.core.timeparse import localize
from medtrack.errors import BadSchedule

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
    and the past keeps the zone it was lived in."""

    def __init__(self, default: str, changes: Sequence[ZoneChange] = ()) -> None:
        self.default = ZoneInfo(default)
        self.changes = [
            (change.effective_at, ZoneInfo(change.zone))
            for change in sorted(changes, key=lambda c: c.effective_at)
        ]

    def zone_at(self, instant: datetime) -> ZoneInfo:
        zone = self.default
        for effective_at, changed in self.changes:
            if effective_at <= instant:
                zone = changed
        return zone

    def localize(self, naive: datetime) -> datetime:
        """The instant of a wall time: read in the zone one was in, and if that moment is
        after a change of zone, in the new zone. Each wall time gives exactly one instant,
        so a travel day never doubles a dose."""
        zone = self.default
        for effective_at, changed in self.changes:
            if localize(naive, zone) >= effective_at:
                zone = changed
        return localize(naive, zone)


_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
# A zone change this close (days) to a day makes that day's wall times go one by one.
_CHANGE_MARGIN = 2
# Days either side of an irregular day (DST change, travel) whose slots are checked for
# collisions: a skipped day (Samoa, 2011) moves its walls a whole day forward.
_GUARD_DAYS = 3
_UNKNOWN = object()  # a day not in the offset cache yet


def expand(
    schedule: Schedule,
    *,
    anchor: date,
    start: datetime,
    end: datetime,
    zones: ZoneTimeline,
) -> list[datetime]:
    """Every slot of `schedule` in [start, end), as aware UTC datetimes, in order.

    `anchor` is the local date the rule's phase counts from (the regimen's start day),
    so ``every 2 days`` and ``every 4 weeks`` keep their rhythm.
    """
    ats, _days = expand_columns(schedule, anchor=anchor, start=start, end=end, zones=zones)
    return [datetime.fromtimestamp(epoch, UTC) for epoch in ats]


def expand_columns(
    schedule: Schedule,
    *,
    anchor: date,
    start: datetime,
    end: datetime,
    zones: ZoneTimeline,
) -> tuple[list[int], list[int]]:
    """`expand` as two parallel lists: UTC epoch seconds and the ordinal of each slot's
    local date (in the zone in force then), in order.

    The same slots as `expand_with_rrule`, without a datetime per slot: plain daily,
    every-N-days, weekly and hourly rules get their wall times by arithmetic (rrule only
    for the rest), and a run of days whose zone and UTC offset hold from midnight to
    midnight (no DST change, no travel near them) converts every wall time with one offset.
    """
    if schedule.as_needed or schedule.rrule is None or start >= end:
        return [], []
    # Wall-clock bounds with two days of margin either side: UTC offsets stay within 14 h.
    lo_day = start.astimezone(UTC).date() - timedelta(days=2)
    hi_day = end.astimezone(UTC).date() + timedelta(days=2)
    lo_day = max(lo_day, anchor)
    if lo_day > hi_day:
        return [], []
    runs = _wall_runs(schedule, anchor, lo_day, hi_day)
    if runs is None:
        groups = _wall_groups(schedule, anchor, lo_day, hi_day)
        return _localize_groups(groups, start.timestamp(), end.timestamp(), zones)
    return _localize_runs(runs, start.timestamp(), end.timestamp(), zones)


# A run of days with the same walls: (first day's ordinal, step in days, days, walls).
_Run = tuple[int, int, int, tuple[time, ...]]


def _wall_runs(schedule: Schedule, anchor: date, lo_day: date, hi_day: date) -> list[_Run] | None:
    """`_wall_groups` as runs of evenly spaced days for the plain rules (daily, every N
    days, weekly, every N hours dividing a day), so a decade is a few runs, not a tuple
    per day; None for the other rules, or for walls not in strictly increasing order."""
    from itertools import pairwise

    assert schedule.rrule is not None
    times = schedule.times
    if not times or any(a >= b for a, b in pairwise(times)):
        return None
    parts = _rule_parts(schedule.rrule)
    freq = parts.pop("FREQ", "")
    interval = int(parts.pop("INTERVAL", "1"))
    lo, hi = lo_day.toordinal(), hi_day.toordinal()
    if freq == "DAILY" and not parts:
        first = lo + (interval - (lo - anchor.toordinal()) % interval) % interval
        return [(first, interval, max((hi - first) // interval + 1, 0), times)]
    if freq == "WEEKLY" and set(parts) == {"BYDAY"}:
        codes = parts["BYDAY"].split(",")
        if not all(code in WEEKDAYS for code in codes):
            return None
        # rrule counts weeks from the anchor's Monday-started week (WKST=MO).
        monday = anchor.toordinal() - anchor.weekday()
        step = 7 * interval
        runs = []
        for weekday in sorted({WEEKDAYS.index(code) for code in codes}):
            first = lo + (weekday - lo_day.weekday()) % 7
            behind = ((first - monday) // 7) % interval
            if behind:
                first += 7 * (interval - behind)
            if first <= hi:
                runs.append((first, step, (hi - first) // step + 1, times))
        return runs
    if freq == "HOURLY" and not parts and 24 % interval == 0:
        # As `_hourly_groups`: the walls repeat daily; the first dose's day starts at it,
        # and hi_day holds only a dose at midnight (rrule's `between` ends there).
        first = times[0]
        daily = tuple(
            sorted(
                time((first.hour + k * interval) % 24, first.minute, first.second)
                for k in range(24 // interval)
            )
        )
        start_day = anchor.toordinal()
        day = max(lo, start_day)
        runs = []
        if day < hi:
            if day == start_day:
                runs.append((day, 1, 1, tuple(t for t in daily if t >= first)))
                day += 1
            if day < hi:
                runs.append((day, 1, hi - day, daily))
            day = hi
        if day == hi and daily[0] == time() and (day != start_day or first == time()):
            runs.append((hi, 1, 1, (time(),)))
        return runs
    return None


def _fill_offsets(zones: ZoneTimeline, lo: int, hi: int) -> dict[int, int | None]:
    """The `day_offset` cache (by ordinal) filled for every day in [lo, hi] at once: each
    midnight's offset, both folds, computed once and shared by the two days it bounds."""
    from itertools import repeat

    cache: dict[int, int | None] = zones.__dict__.setdefault("_day_offsets", {})
    if lo in cache and hi in cache and all(map(cache.__contains__, range(lo, hi + 1))):
        return cache
    midnight, second = time(), time(fold=1)
    # The zone of each day: the one in force at its UTC midnight (days near a change of
    # zone are irregular anyway, below).
    zone_of = [(lo, zones.default)]
    for effective_at, zone in zones.changes:
        utc = effective_at.astimezone(UTC)
        ordinal = utc.date().toordinal() + (utc.time() != midnight)
        zone_of.append((max(ordinal, lo), zone))
    m0: list[timedelta | None] = []
    m1: list[timedelta | None] = []
    for index, (first, zone) in enumerate(zone_of):
        last = zone_of[index + 1][0] if index + 1 < len(zone_of) else hi + 2
        if last <= first:
            continue
        days = list(map(date.fromordinal, range(first, last)))
        m0 += map(datetime.utcoffset, map(datetime.combine, days, repeat(midnight), repeat(zone)))
        # The second fold straight from a midnight that carries it (no replace() per day).
        m1 += map(datetime.utcoffset, map(datetime.combine, days, repeat(second), repeat(zone)))
    for k, ordinal in enumerate(range(lo, hi + 1)):
        first_offset = m0[k]
        if first_offset is not None and first_offset == m1[k] == m0[k + 1] == m1[k + 1]:
            cache[ordinal] = int(first_offset.total_seconds())
        else:
            cache[ordinal] = None
    # Days close to a change of zone go wall by wall whatever their offsets say.
    for effective_at, _zone in zones.changes:
        around = effective_at.date().toordinal()
        near = range(max(lo, around - _CHANGE_MARGIN - 2), min(hi, around + _CHANGE_MARGIN + 2) + 1)
        for ordinal in near:
            if _near_change(zones, date.fromordinal(ordinal)):
                cache[ordinal] = None
    return cache


def _wall_groups(
    schedule: Schedule, anchor: date, lo_day: date, hi_day: date
) -> list[tuple[date, tuple[time, ...]]]:
    """The local days in [lo_day, hi_day] with the wall times of the doses on each."""
    assert schedule.rrule is not None
    parts = _rule_parts(schedule.rrule)
    freq = parts.pop("FREQ", "")
    interval = int(parts.pop("INTERVAL", "1"))
    times = schedule.times
    if freq == "DAILY" and not parts:
        skip = (lo_day - anchor).days % interval
        first = lo_day + timedelta(days=(interval - skip) % interval)
        count = (hi_day - first).days // interval + 1
        step = timedelta(days=interval)
        return [(first + step * n, times) for n in range(max(count, 0))]
    if freq == "WEEKLY" and set(parts) == {"BYDAY"}:
        codes = parts["BYDAY"].split(",")
        if all(code in WEEKDAYS for code in codes):
            weekdays = {WEEKDAYS.index(code) for code in codes}
            # rrule counts weeks from the anchor's Monday-started week (WKST=MO).
            monday = anchor - timedelta(days=anchor.weekday())
            out = []
            day = lo_day
            one = timedelta(days=1)
            while day <= hi_day:
                if day.weekday() in weekdays and ((day - monday).days // 7) % interval == 0:
                    out.append((day, times))
                day += one
            return out
    if freq == "HOURLY" and not parts:
        return _hourly_groups(datetime.combine(anchor, times[0]), interval, lo_day, hi_day)
    return _rrule_groups(schedule, anchor, lo_day, hi_day)


def _hourly_groups(
    dtstart: datetime, interval: int, lo_day: date, hi_day: date
) -> list[tuple[date, tuple[time, ...]]]:
    """``every N hours``: rrule steps N hours of wall-clock time from the first dose, so the
    walls are dtstart + k * N h; those in [lo_day 00:00, hi_day 00:00], grouped by day."""
    lo, hi = datetime.combine(lo_day, time()), datetime.combine(hi_day, time())
    if 24 % interval == 0:
        # The hours repeat every day: the first day from the first dose on, then every day
        # the same walls (the last day, hi_day, only up to its midnight, as rrule's `between`).
        first = dtstart.time()
        daily = tuple(
            sorted(
                time((first.hour + k * interval) % 24, first.minute, first.second)
                for k in range(24 // interval)
            )
        )
        groups: list[tuple[date, tuple[time, ...]]] = []
        day = max(lo_day, dtstart.date())
        one = timedelta(days=1)
        while day < hi_day:
            walls = daily if day != dtstart.date() else tuple(t for t in daily if t >= first)
            groups.append((day, walls))
            day += one
        midnight_dose = daily[0] == time() and (day != dtstart.date() or first == time())
        if day == hi_day and midnight_dose:
            groups.append((day, (time(),)))
        return groups
    step = interval * 3600
    seconds = (lo - dtstart).total_seconds()
    k = max(0, -int(-seconds // step))  # the first step at or after lo
    wall = dtstart + timedelta(seconds=k * step)
    groups = []
    day: date | None = None
    walls: list[time] = []
    delta = timedelta(seconds=step)
    while wall <= hi:
        if wall.date() != day:
            if day is not None:
                groups.append((day, tuple(walls)))
            day, walls = wall.date(), []
        walls.append(wall.time())
        wall += delta
    if day is not None:
        groups.append((day, tuple(walls)))
    return groups


def _rrule_groups(
    schedule: Schedule, anchor: date, lo_day: date, hi_day: date
) -> list[tuple[date, tuple[time, ...]]]:
    from dateutil.rrule import rrulestr

    assert schedule.rrule is not None
    lo, hi = datetime.combine(lo_day, time()), datetime.combine(hi_day, time())
    if schedule.rrule.startswith("FREQ=HOURLY"):
        dtstart = datetime.combine(anchor, schedule.times[0])
        rule = rrulestr(schedule.rrule, dtstart=dtstart, cache=False)
        groups: dict[date, list[time]] = {}
        for wall in rule.between(lo, hi, inc=True):
            groups.setdefault(wall.date(), []).append(wall.time())
        return [(day, tuple(walls)) for day, walls in groups.items()]
    rule = rrulestr(schedule.rrule, dtstart=datetime.combine(anchor, time()), cache=False)
    return [(day.date(), schedule.times) for day in rule.between(lo, hi, inc=True)]


def day_offset(zones: ZoneTimeline, day: date) -> int | None:
    """The UTC offset (seconds) every wall time of `day` has, or None when they may differ.

    A day is regular when it is not near a change of zone and both of its midnights have
    one offset whichever fold is asked (PEP 495: a gap or fold gives two): no DST change
    starts, ends or sits at its edges. Cached on the timeline: a decade of slots asks
    about each day once per zone timeline.
    """
    cache: dict[int, int | None] = zones.__dict__.setdefault("_day_offsets", {})
    key = day.toordinal()
    if key in cache:
        return cache[key]
    offset: int | None = None
    if not _near_change(zones, day):
        midnight = datetime.combine(day, time(), tzinfo=UTC)
        zone = zones.zone_at(midnight) if zones.changes else zones.default
        here = datetime.combine(day, time(), tzinfo=zone)
        there = here + timedelta(days=1)  # wall-clock arithmetic: the next midnight
        first = here.utcoffset()
        if (
            first is not None
            and here.replace(fold=1).utcoffset() == first
            and there.utcoffset() == first
            and there.replace(fold=1).utcoffset() == first
        ):
            offset = int(first.total_seconds())
    cache[key] = offset
    return offset


def _near_change(zones: ZoneTimeline, day: date) -> bool:
    if not zones.changes:
        return False
    lo = datetime.combine(day - timedelta(days=_CHANGE_MARGIN), time(), tzinfo=UTC)
    hi = datetime.combine(day + timedelta(days=_CHANGE_MARGIN + 1), time(), tzinfo=UTC)
    return any(lo <= effective_at <= hi for effective_at, _zone in zones.changes)


def _wall_by_wall(
    ordinal: int,
    walls: tuple[time, ...],
    offset: int | None,
    zones: ZoneTimeline,
    seen: set[int],
    start: float,
    end: float,
    ats: list[int],
    days: list[int],
) -> None:
    """One irregular (or guarded) day's slots, wall by wall, appended to `ats` and `days`
    where they fall in [start, end); `seen` holds the epochs of the days done so before
    (in day order), whether in the window or not."""
    base = (ordinal - _EPOCH_ORDINAL) * 86400
    day = date.fromordinal(ordinal)
    for wall in walls:
        if offset is not None:
            epoch = base + wall.hour * 3600 + wall.minute * 60 + wall.second - offset
        else:
            instant = zones.localize(datetime.combine(day, wall)).astimezone(UTC)
            epoch = int(instant.timestamp())
        # A wall time in a spring-forward gap can land on another dose's time (02:00 and
        # 03:00 both become 03:00): each intended dose keeps its own slot, a minute apart.
        while epoch in seen:
            epoch += 60
        seen.add(epoch)
        if start <= epoch < end:
            if offset is None:
                at = datetime.fromtimestamp(epoch, UTC)
                local_day = at.astimezone(zones.zone_at(at)).date().toordinal()
            else:
                local_day = ordinal
            ats.append(epoch)
            days.append(local_day)


def _localize_groups(
    groups: Sequence[tuple[date, tuple[time, ...]]],
    start: float,
    end: float,
    zones: ZoneTimeline,
) -> tuple[list[int], list[int]]:
    cache: dict[int, int | None] = zones.__dict__.setdefault("_day_offsets", {})
    offsets = [cache.get(day.toordinal(), _UNKNOWN) for day, _walls in groups]
    if _UNKNOWN in offsets:
        offsets = [
            day_offset(zones, day) if offset is _UNKNOWN else offset
            for (day, _walls), offset in zip(groups, offsets, strict=True)
        ]
    irregular = [
        day.toordinal() for (day, _w), off in zip(groups, offsets, strict=True) if off is None
    ]
    guarded: set[int] = set()
    for ordinal in irregular:
        guarded.update(range(ordinal - _GUARD_DAYS, ordinal + _GUARD_DAYS + 1))
    ats: list[int] = []
    days: list[int] = []
    seen: set[int] = set()
    count = len(groups)
    k = 0
    while k < count:
        day, walls = groups[k]
        offset = offsets[k]
        ordinal = day.toordinal()
        if offset is not None and ordinal not in guarded:
            # A run of regular days with the same walls and offset: one comprehension.
            m = k + 1
            while (
                m < count
                and offsets[m] == offset
                and groups[m][1] == walls
                and groups[m][0].toordinal() not in guarded
            ):
                m += 1
            seconds = [w.hour * 3600 + w.minute * 60 + w.second - offset for w in walls]
            ordinals = [g[0].toordinal() for g in groups[k:m]]
            run = [(o - _EPOCH_ORDINAL) * 86400 + x for o in ordinals for x in seconds]
            run_days = [o for o in ordinals for _x in seconds]
            if run and (run[0] < start or run[-1] >= end):
                kept = [i for i, at in enumerate(run) if start <= at < end]
                run = [run[i] for i in kept]
                run_days = [run_days[i] for i in kept]
            ats += run
            days += run_days
            k = m
            continue
        _wall_by_wall(ordinal, walls, offset, zones, seen, start, end, ats, days)
        k += 1
    # Regular days come out in order (only a DST change or travel can reorder instants,
    # and those days are irregular); sort only when there was one.
    if guarded:
        pairs = sorted(zip(ats, days, strict=True))
        ats = [at for at, _day in pairs]
        days = [day for _at, day in pairs]
    return ats, days


def _localize_runs(
    runs: Sequence[_Run], start: float, end: float, zones: ZoneTimeline
) -> tuple[list[int], list[int]]:
    """`_localize_groups` over runs of days: the same slots in the same order.

    A stretch of regular days (one offset all day) becomes, per wall, one `range` of
    epochs written into every k-th place of the result (k walls a day), all in C. Within
    `_GUARD_DAYS` of an irregular slot day, regular days are taken so too when none of
    their epochs is one an irregular day before them already took (the test the per-wall
    loop makes, as a set operation); irregular days, and the rest, go wall by wall.
    """
    # Imported here: schedule is on the start-up path of the fast commands.
    from bisect import bisect_left
    from itertools import compress, groupby, pairwise, repeat
    from operator import is_

    runs = [run for run in runs if run[2] > 0]
    if not runs:
        return [], []
    lo = min(first for first, _step, _n, _walls in runs)
    hi = max(first + step * (n - 1) for first, step, n, _walls in runs)
    cache = _fill_offsets(zones, lo, max(lo, hi))
    offsets = [
        list(map(cache.__getitem__, range(first, first + step * n, step)))
        for first, step, n, _walls in runs
    ]
    guarded: set[int] = set()
    for (first, step, _n, _walls), column in zip(runs, offsets, strict=True):
        if None in column:
            for index in compress(range(len(column)), map(is_, column, repeat(None))):
                ordinal = first + step * index
                guarded.update(range(ordinal - _GUARD_DAYS, ordinal + _GUARD_DAYS + 1))
    ats: list[int] = []
    days: list[int] = []
    # Runs one after another (daily, hourly) come out in day order; the weekdays of a
    # weekly rule interleave, and their guarded days wait, to be taken in day order.
    sequential = all(a[0] + a[1] * (a[2] - 1) < b[0] for a, b in pairwise(runs))
    slow: list[tuple[int, tuple[time, ...], int | None]] = []
    seen: set[int] = set()
    # Places in `ats` where it may fail to increase: where each stretch starts, and every
    # slot of a day done wall by wall (a stretch increases by construction).
    joins: list[int] = []

    for (first, step, n, walls), column in zip(runs, offsets, strict=True):
        # A day's key: its offset; a guarded regular day's, the offset in a tuple (so
        # that consecutive ones group together, apart from the unguarded); None for an
        # irregular day.
        keys: list[object] = list(column)
        for ordinal in guarded:
            index, off = divmod(ordinal - first, step)
            if off == 0 and 0 <= index < n and column[index] is not None:
                keys[index] = (column[index],)
        seconds = [w.hour * 3600 + w.minute * 60 + w.second for w in walls]
        k = len(seconds)
        index = 0
        for key, group in groupby(keys):
            length = len(list(group))
            if key is None or (not sequential and type(key) is tuple):
                for i in range(index, index + length):
                    if sequential:
                        joins.extend(range(len(ats), len(ats) + k))
                        _wall_by_wall(
                            first + step * i, walls, column[i], zones, seen, start, end, ats, days
                        )
                    else:
                        slow.append((first + step * i, walls, column[i]))
                index += length
                continue
            offset = column[index]
            assert offset is not None
            o_first = first + step * index
            o_stop = o_first + step * length
            base = (o_first - _EPOCH_ORDINAL) * 86400 - offset
            stride = step * 86400
            run_ats = [0] * (length * k)
            run_days = [0] * (length * k)
            for j, wall in enumerate(seconds):
                run_ats[j::k] = range(base + wall, base + wall + stride * length, stride)
                run_days[j::k] = range(o_first, o_stop, step)
            if type(key) is tuple:
                # Guarded days: each wall keeps its instant unless an earlier wall-by-wall
                # day took it; the epochs of these days are distinct (one offset, walls
                # ascending), so the loop would move none if it meets none of `seen`.
                if not seen.isdisjoint(run_ats):
                    for i in range(index, index + length):
                        joins.extend(range(len(ats), len(ats) + k))
                        _wall_by_wall(
                            first + step * i, walls, offset, zones, seen, start, end, ats, days
                        )
                    index += length
                    continue
                seen.update(run_ats)
            if run_ats[0] < start or run_ats[-1] >= end:
                # Strictly increasing (walls ascending, one offset): the window is a slice.
                cut = slice(bisect_left(run_ats, start), bisect_left(run_ats, end))
                run_ats, run_days = run_ats[cut], run_days[cut]
            joins.append(len(ats))
            ats += run_ats
            days += run_days
            index += length
    if slow:
        for ordinal, walls, offset in sorted(slow, key=lambda item: item[0]):
            _wall_by_wall(ordinal, walls, offset, zones, seen, start, end, ats, days)
    # Day order is time order unless an irregular day moved a wall past another (checked
    # where it can fail); interleaved runs are sorted. Either way: what
    # `_localize_groups`' sort gives.
    if not sequential or (
        guarded and not all(ats[j - 1] < ats[j] for j in joins if 0 < j < len(ats))
    ):
        pairs = sorted(zip(ats, days, strict=True))
        ats = [at for at, _day in pairs]
        days = [day for _at, day in pairs]
    return ats, days


def expand_with_rrule(
    schedule: Schedule,
    *,
    anchor: date,
    start: datetime,
    end: datetime,
    zones: ZoneTimeline,
) -> list[datetime]:
    """`expand` the plain way (rrule for every rule, one localize per slot): the reference
    the fast expansion is tested against."""
    from dateutil.rrule import rrulestr

    if schedule.as_needed or schedule.rrule is None or start >= end:
        return []
    lo = datetime.combine(start.astimezone(UTC).date() - timedelta(days=2), time())
    hi = datetime.combine(end.astimezone(UTC).date() + timedelta(days=2), time())
    lo = max(lo, datetime.combine(anchor, time()))
    if lo > hi:
        return []

    hourly = schedule.rrule.startswith("FREQ=HOURLY")
    if hourly:
        dtstart = datetime.combine(anchor, schedule.times[0])
        rule = rrulestr(schedule.rrule, dtstart=dtstart, cache=False)
        walls = rule.between(lo, hi, inc=True)
    else:
        rule = rrulestr(schedule.rrule, dtstart=datetime.combine(anchor, time()), cache=False)
        days = rule.between(lo, hi, inc=True)
        walls = [datetime.combine(day.date(), t) for day in days for t in schedule.times]

    slots: list[datetime] = []
    seen: set[datetime] = set()
    for wall in walls:
        instant = zones.localize(wall).astimezone(UTC)
        while instant in seen:
            instant += timedelta(minutes=1)
        seen.add(instant)
        if start <= instant < end:
            slots.append(instant)
    slots.sort()
    return slots
