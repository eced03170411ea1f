"""The times and durations a person types, and the one UTC text form instants are stored in.

Everything here is a pure function of its arguments: ``now`` is always passed in (the CLI
reads the clock once; tests pass literals), and the person's zone is ``now.tzinfo``.

Two rules keep the results honest:

- A wall time becomes an instant the same way schedule expansion does it (DESIGN.md): a
  time that does not exist (spring forward) moves forward, an ambiguous one (fall back)
  takes its first occurrence.
- Instant arithmetic ("2h ago", the future check, weekday roll-over) is done on instants,
  never on aware datetimes sharing one ZoneInfo: Python adds and compares those as wall
  clock times, which is an hour off across a DST change and blind to ``fold``.

Parsing is strict on purpose. dateutil's general parser is never used, because it
happily reads "banana 5" or "march" and invents the missing parts; a wrong dose time in a
medical record is worse than a refusal that lists what is accepted. ISO text goes through
``datetime.fromisoformat`` only after a regular expression has confirmed its shape.

Only the standard library is used here: ``take`` and ``remind`` parse times on every run,
and importing dateutil's parser and tz modules costs more start-up time than Typer itself.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Protocol

from medtrack.errors import BadTime

# The dates medtrack keeps (core.validate holds every value to them): a window, calendar or
# report around 9999-12-31 would overflow later.
EARLIEST_DAY = date(1900, 1, 1)
LATEST_DAY = date(2199, 12, 31)

ACCEPTED_TIMES = (
    "now, 8am, 20:30, 0930, noon, 9pm yesterday, yesterday at 21:00, 2h ago, monday 09:00 "
    "or 2026-11-22 at 8:55pm"
)

# Phrases people say that name no time: refused with the precise form to type instead.
_VAGUE: dict[str, str] = {
    "last night": "yesterday 22:00",
    "tonight": "21:00",
    "this morning": "8am",
    "this afternoon": "15:00",
    "this evening": "20:00",
    "morning": "8am",
    "afternoon": "15:00",
    "evening": "20:00",
    "night": "22:00",
    "earlier": "2h ago",
    "just now": "now",
    "a while ago": "2h ago",
    "recently": "30m ago",
    "yesterday morning": "yesterday 8am",
    "yesterday afternoon": "yesterday 15:00",
    "yesterday evening": "yesterday 20:00",
    "yesterday night": "yesterday 22:00",
}
_NAMED_CLOCKS = {"noon": time(12), "midday": time(12), "midnight": time(0)}
ACCEPTED_DURATIONS = "6h, 30m, 90 minutes, 1h30m, 2d or 45s"

# A time a moment ahead of `now` is clock skew or typing "14:31" at 14:30:40, not a claim
# about the future; more than this is refused unless the caller asks for future times.
FUTURE_TOLERANCE = timedelta(minutes=1)

# Nothing a person types for a time is this long; refusing early also keeps int() away from
# thousands of digits.
_MAX_TEXT = 100

_WEEKDAY_WORDS: dict[str, int] = {}
for _index, _name in enumerate(
    ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
):
    _WEEKDAY_WORDS[_name] = _index
    _WEEKDAY_WORDS[_name[:3]] = _index
_WEEKDAY_WORDS.update({"tues": 1, "weds": 2, "thur": 3, "thurs": 3})

_RELATIVE_DAYS = {"today": 0, "yesterday": -1, "tomorrow": 1}

# "m" is minutes, never months: months have no fixed length and nobody logs a dose that way.
_DURATION_UNITS: dict[str, str] = {}
for _unit, _words in {
    "seconds": ("s", "sec", "secs", "second", "seconds"),
    "minutes": ("m", "min", "mins", "minute", "minutes"),
    "hours": ("h", "hr", "hrs", "hour", "hours"),
    "days": ("d", "day", "days"),
    "weeks": ("w", "wk", "wks", "week", "weeks"),
}.items():
    _DURATION_UNITS.update(dict.fromkeys(_words, _unit))

_DURATION_RE = re.compile(r"(?:\d+\s*[a-z]+\s*)+", re.ASCII)
_DURATION_PART_RE = re.compile(r"(\d+)\s*([a-z]+)", re.ASCII)
_ISO_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_ISO_DATETIME_RE = re.compile(
    r"\d{4}-\d{2}-\d{2}[t ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:z|[+-]\d{2}(?::?\d{2})?)?",
    re.ASCII,
)
# A clock needs minutes or am/pm (``20:30``, ``8pm``), or is four digits (``0930``); a bare
# hour (``9``) is read only after a day word or "at", and then checked for ambiguity.
_CLOCK_RE = re.compile(
    r"(?P<hour>\d{1,2})(?::(?P<minute>\d{2})(?::(?P<second>\d{2}))?)?\s*(?P<meridiem>am|pm)?",
    re.ASCII,
)
_HHMM_RE = re.compile(r"(?P<hour>[01]\d|2[0-3])(?P<minute>[0-5]\d)", re.ASCII)
_BARE_HOUR_RE = re.compile(r"\d{1,2}", re.ASCII)


class Zones(Protocol):
    """The zone history (core.schedule.ZoneTimeline): which zone was in force when."""

    def zone_at(self, instant: datetime) -> tzinfo: ...

    def localize(self, naive: datetime) -> datetime: ...


class AmbiguousTime(BadTime):
    """An hour without am/pm where both readings are plausible: the caller may ask."""

    def __init__(self, message: str, readings: tuple[datetime, datetime]) -> None:
        super().__init__(message)
        self.readings = readings


def parse_when(
    text: str, now: datetime, *, allow_future: bool = False, zones: Zones | None = None
) -> datetime:
    """The instant `text` names, seen from `now`, as an aware datetime in the zone of that
    moment.

    A wall time without an offset is read in the zone the person was in at that moment:
    by `zones` (the zone history) when given, else in now's zone. Day words (today,
    yesterday, a weekday) count from today's date in the zone in force now.

    A bare clock time (``8am``) is today's; ``yesterday``/``tomorrow``/a weekday without
    a clock keep now's clock time, the way "yesterday" is said aloud; a bare ISO date is
    its local midnight. A weekday is the most recent such day (today counts once that
    time has come), or with `allow_future` the next one (today counts while still ahead).
    Unless `allow_future`, anything later than now plus a minute is refused, because a
    dose, symptom or measurement being logged has already happened. An hour without
    am/pm (``yesterday at 9``) is taken when only one reading is possible, else refused
    with both (`AmbiguousTime`, which the CLI turns into a question on a terminal).
    """
    reader = _Reader(text, now, allow_future, zones)
    try:
        when = reader.read()
    except OverflowError:
        # Only reachable through years at the edge of what datetime can hold.
        raise BadTime(f"can't use time '{_shown(text)}': it is out of range") from None
    if when is None:
        raise _unreadable_time(text)
    _check_span(when, text, end=False)
    if not allow_future and reader.future(when):
        local = when.isoformat(timespec="minutes")
        raise BadTime(
            f"'{_shown(text)}' is in the future ({local}); give a past time, e.g. 'yesterday 21:00'"
        )
    return when


MAX_DURATION = timedelta(days=366)


def parse_duration(text: str) -> timedelta:
    """A positive length of time such as ``6h``, ``90 minutes`` or ``1h30m``.

    Days are 24 hours here: a duration is an interval (a dosing gap, a reminder window),
    not a calendar step.
    """
    cleaned = _clean(text)
    if cleaned.startswith("-"):
        raise BadTime(
            f"duration '{_shown(text)}' is negative: give a length such as {ACCEPTED_DURATIONS}"
        )
    parts = _duration_parts(cleaned)
    if parts is None:
        raise BadTime(f"can't read duration '{_shown(text)}': use e.g. {ACCEPTED_DURATIONS}")
    try:
        length = timedelta(**parts)
    except OverflowError:
        raise BadTime(f"duration '{_shown(text)}' is too long") from None
    # Every duration medtrack takes (a dosing gap, a reminder window, a cron interval) is
    # well under a year; a longer one is a slip, and now minus it may leave the calendar.
    if length > MAX_DURATION:
        raise BadTime(f"duration '{_shown(text)}' is too long: at most 366 days")
    if length <= timedelta(0):
        raise BadTime(
            f"duration '{_shown(text)}' is zero: give a length such as {ACCEPTED_DURATIONS}"
        )
    return length


def parse_day_bound(text: str, now: datetime, *, end: bool, zones: Zones | None = None) -> datetime:
    """One edge of a report window: whole days for day-only text, else the exact instant.

    A day-only text (ISO date, today, yesterday, tomorrow, weekday) gives that day's local
    midnight, or with `end` the next day's, so ``--until 2026-10-31`` covers all of Oct 31
    and a DST day is 23 or 25 hours long. Midnight is read in the zone in force then (by
    `zones`, the zone history, when given), so a day spent abroad is that day abroad. A
    weekday is the most recent one, today included, because reports look back. Anything
    else is ``parse_when(allow_future=True)``.
    """
    if not is_date_only(text):
        return parse_when(text, now, allow_future=True, zones=zones)
    reader = _Reader(text, now, True, zones)
    try:
        day = _day_of(_clean(text), text, reader.now)
        if end:
            day += timedelta(days=1)
        bound = reader.place(datetime.combine(day, time()))
    except OverflowError:
        raise BadTime(f"can't use day '{_shown(text)}': it is out of range") from None
    return _check_span(bound, text, end=end)


def _check_span(when: datetime, text: str, *, end: bool) -> datetime:
    """Every date a person types lies within the span medtrack keeps (core.validate):
    a window, calendar or report around 9999-12-31 would overflow later. An end bound
    of the last day is the midnight after it."""
    day = when.date()
    if not EARLIEST_DAY <= day <= LATEST_DAY + timedelta(days=1 if end else 0):
        raise BadTime(
            f"can't use time '{_shown(text)}': medtrack keeps dates from "
            f"{EARLIEST_DAY.year} to {LATEST_DAY.year}"
        )
    return when


def local_midnight(day: date, now: datetime, zones: Zones | None = None) -> datetime:
    """The start of local `day`, read in the zone in force then (see `parse_day_bound`)."""
    return _Reader("", now, True, zones).place(datetime.combine(day, time()))


def is_date_only(text: str) -> bool:
    """Whether `text` names a whole day rather than a moment (its form, not its validity)."""
    cleaned = _clean(text)
    return (
        cleaned in _RELATIVE_DAYS
        or cleaned in _WEEKDAY_WORDS
        or _ISO_DATE_RE.fullmatch(cleaned) is not None
    )


def to_utc_text(dt: datetime) -> str:
    """The stored form of an instant: ``2026-11-22T08:05:00Z``.

    Seconds precision and a fixed width make the text sort like the instants, so SQLite
    can order and range-compare the column as plain text.
    """
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"to_utc_text needs an aware datetime, got naive {dt!r}")
    utc = dt.astimezone(UTC).replace(microsecond=0, tzinfo=None)
    return utc.isoformat() + "Z"


def from_utc_text(text: str) -> datetime:
    """The aware UTC instant of a stored ``...Z`` text; anything else is a bug, not input."""
    # The fixed shape checked by hand, the rest left to the C parser (it takes only ASCII
    # digits between those marks): a decade's report reads thousands of these, and a
    # regex per text was most of that time.
    if (
        len(text) == 20
        and text[4] == text[7] == "-"
        and text[10] == "T"
        and text[13] == text[16] == ":"
        and text[19] == "Z"
    ):
        try:
            return datetime.fromisoformat(text)
        except ValueError:
            pass
    raise ValueError(f"not a stored UTC time (YYYY-MM-DDTHH:MM:SSZ): {text!r}")


# --- reading ---------------------------------------------------------------------------


class _Reader:
    """One reading of typed text: now in the zone in force now, and how a wall time
    becomes an instant (by the zone history, or in now's zone)."""

    def __init__(self, text: str, now: datetime, allow_future: bool, zones: Zones | None) -> None:
        self.text = text
        self.allow_future = allow_future
        self.zones = zones
        if zones is None:
            self.zone = _zone_of(now)
            self.place: Callable[[datetime], datetime] = lambda wall: _localize(wall, self.zone)
        else:
            _zone_of(now)
            self.zone = zones.zone_at(now)
            self.place = zones.localize
        self.now = now.astimezone(self.zone)

    def local(self, instant: datetime) -> datetime:
        """An instant in the zone in force at that moment."""
        zone = self.zone if self.zones is None else self.zones.zone_at(instant)
        return instant.astimezone(zone)

    def future(self, when: datetime) -> bool:
        return _instant(when) > _instant(self.now) + FUTURE_TOLERANCE

    def read(self) -> datetime | None:
        """The result of `parse_when` before the future check, or None when unreadable."""
        text = self.text
        cleaned = _clean(text)
        if cleaned in ("now", "today"):
            return self.now
        if len(cleaned) > _MAX_TEXT:
            return None
        if cleaned in _VAGUE:
            raise BadTime(
                f"'{_shown(text)}' is not a time: type the time it was, e.g. '{_VAGUE[cleaned]}'"
            )
        if cleaned.endswith(" ago"):
            parts = _duration_parts(cleaned.removesuffix(" ago"))
            return None if parts is None else self._ago(parts)
        if _ISO_DATETIME_RE.fullmatch(cleaned):
            try:
                parsed = datetime.fromisoformat(cleaned.upper())
            except ValueError as error:
                raise _unreadable_time(text, str(error)) from None
            if parsed.tzinfo is None:
                return self.place(parsed)
            return self.local(parsed)
        return self._day_and_clock(cleaned)

    def _day_and_clock(self, cleaned: str) -> datetime | None:
        """``[day] [at] clock``, ``[at] clock [on] [day]``, a day alone or a clock alone."""
        said_at = cleaned.startswith("at ")
        cleaned = cleaned.removeprefix("at ")
        head, _, rest = cleaned.partition(" ")
        before, _, tail = cleaned.rpartition(" ")
        if _is_day_word(head):
            day_word, clock_text = head, rest.removeprefix("at ")
        elif before and _is_day_word(tail):
            day_word, clock_text = tail, before.removesuffix(" on")
        else:
            day_word, clock_text = None, cleaned
        if clock_text.startswith("at ") or not (clock_text or day_word):
            return None
        bare_ok = said_at or day_word is not None
        clocks = _clocks(clock_text, self.text, bare_ok=bare_ok) if clock_text else ()
        if clocks is None:
            return None
        if not clocks:
            if day_word is not None and _ISO_DATE_RE.fullmatch(day_word):
                clocks = (time(),)  # a bare date is the start of that day
            else:
                clocks = (self.now.time(),)  # "yesterday" is this time yesterday
        readings = [self._at(day_word or "today", clock) for clock in clocks]
        if len(readings) == 1:
            return readings[0]
        return self._one_of(readings[0], readings[1], day_word, clock_text)

    def _one_of(
        self, am: datetime, pm: datetime, day_word: str | None, clock_text: str
    ) -> datetime:
        """An hour without am/pm: the one plausible reading, or a refusal naming both."""
        if not self.allow_future:
            plausible = [w for w in (am, pm) if not self.future(w)]
            if len(plausible) == 1:
                return plausible[0]
            if not plausible:
                return am
        day = f"{day_word} " if day_word else ""
        hour = int(clock_text)
        shown = [w.strftime("%Y-%m-%d %H:%M") + self._place(w) for w in (am, pm)]
        raise AmbiguousTime(
            f"'{_shown(self.text)}' could be {shown[0]} or {shown[1]}: "
            f"type '{day}{hour % 12 or 12}am' or '{day}{hour % 12 or 12}pm'",
            (am, pm),
        )

    def _place(self, when: datetime) -> str:
        """` Berlin` when `when` is in another zone than now's (as the CLI prints it)."""
        key = getattr(when.tzinfo, "key", None)
        if key is None or key == getattr(self.zone, "key", None):
            return ""
        return " " + key.rsplit("/", 1)[-1].replace("_", " ")

    def _at(self, day_word: str, clock: time) -> datetime:
        if day_word in _WEEKDAY_WORDS:
            return self._weekday_at(_WEEKDAY_WORDS[day_word], clock)
        return self.place(datetime.combine(_day_of(day_word, self.text, self.now), clock))

    def _weekday_at(self, weekday: int, clock: time) -> datetime:
        """The latest such weekday at `clock` not in the future, or the next one ahead."""
        today = self.now.date()
        if self.allow_future:
            day = today + timedelta(days=(weekday - today.weekday()) % 7)
            when = self.place(datetime.combine(day, clock))
            if _instant(when) <= _instant(self.now):
                when = self.place(datetime.combine(day + timedelta(days=7), clock))
        else:
            day = _latest_weekday(today, weekday)
            when = self.place(datetime.combine(day, clock))
            # Same threshold as the future check, so "mon 14:31" and "14:31" agree on a Monday.
            if self.future(when):
                when = self.place(datetime.combine(day - timedelta(days=7), clock))
        return when

    def _ago(self, parts: dict[str, int]) -> datetime:
        """`now` minus a duration: days and weeks step the calendar, the rest is elapsed time.

        So "1 day ago" is "yesterday" (same clock time even across DST), while "2h ago" is
        exactly two hours of real time before now.
        """
        calendar_days = parts.get("weeks", 0) * 7 + parts.get("days", 0)
        elapsed = timedelta(
            hours=parts.get("hours", 0),
            minutes=parts.get("minutes", 0),
            seconds=parts.get("seconds", 0),
        )
        start = self.now
        if calendar_days:
            start = self.place(self.now.replace(tzinfo=None) - timedelta(calendar_days))
        return self.local(_instant(start) - elapsed)


def _day_of(day_word: str, text: str, now: datetime) -> date:
    """The local date a day word names; weekdays look back, today included."""
    today = now.date()
    if day_word in _RELATIVE_DAYS:
        return today + timedelta(days=_RELATIVE_DAYS[day_word])
    if day_word in _WEEKDAY_WORDS:
        return _latest_weekday(today, _WEEKDAY_WORDS[day_word])
    try:
        return date.fromisoformat(day_word)
    except ValueError as error:
        raise _unreadable_time(text, str(error)) from None


def _clocks(text: str, original: str, *, bare_ok: bool) -> tuple[time, ...] | None:
    """The clock time(s) `text` can mean: one, or two for an hour without am/pm
    (``9``: 09:00 and 21:00), or None when it is no clock."""
    if text in _NAMED_CLOCKS:
        return (_NAMED_CLOCKS[text],)
    match = _HHMM_RE.fullmatch(text)
    if match is not None:
        return (time(int(match["hour"]), int(match["minute"])),)
    if bare_ok and _BARE_HOUR_RE.fullmatch(text):
        hour = int(text)
        if hour > 23:
            raise _unreadable_time(original, f"{text} is not a clock time")
        if hour == 0 or hour > 12:
            return (time(hour),)
        return (time(hour % 12), time(hour % 12 + 12))
    clock = _clock(text, original)
    return None if clock is None else (clock,)


def _clock(text: str, original: str) -> time | None:
    """A wall clock time (``8am``, ``8:30pm``, ``20:30``, ``08:00:15``), or None."""
    match = _CLOCK_RE.fullmatch(text)
    if match is None or (match["minute"] is None and match["meridiem"] is None):
        return None
    hour, minute = int(match["hour"]), int(match["minute"] or 0)
    second = int(match["second"] or 0)
    if match["meridiem"]:
        if not 1 <= hour <= 12:
            raise _unreadable_time(original, f"{text} is not a clock time")
        hour = hour % 12 + (12 if match["meridiem"] == "pm" else 0)
    if hour > 23 or minute > 59 or second > 59:
        raise _unreadable_time(original, f"{text} is not a clock time")
    return time(hour, minute, second)


def _duration_parts(text: str) -> dict[str, int] | None:
    """``1h30m`` -> {"hours": 1, "minutes": 30}; None when not a duration (or a unit repeats)."""
    if len(text) > _MAX_TEXT or not _DURATION_RE.fullmatch(text):
        return None
    parts: dict[str, int] = {}
    for number, word in _DURATION_PART_RE.findall(text):
        unit = _DURATION_UNITS.get(word)
        if unit is None or unit in parts:
            return None
        parts[unit] = int(number)
    return parts


# --- helpers ---------------------------------------------------------------------------


def _latest_weekday(today: date, weekday: int) -> date:
    """The most recent date with that weekday (0 = Monday), today included."""
    return today - timedelta(days=(today.weekday() - weekday) % 7)


def localize(wall: datetime, zone: tzinfo) -> datetime:
    """Attach `zone` to a wall time: gaps move forward, ambiguous times take the first.

    With fold=0 a wall time in a gap is read with the offset from before the transition
    (PEP 495), so the round trip through UTC lands on the wall time moved forward by the
    gap: what dateutil's resolve_imaginary does, without importing dateutil.tz.
    """
    return wall.replace(tzinfo=zone, fold=0).astimezone(UTC).astimezone(zone)


_localize = localize


def _instant(dt: datetime) -> datetime:
    """The same moment in UTC, where arithmetic and comparison are about real time."""
    return dt.astimezone(UTC)


def _zone_of(now: datetime) -> tzinfo:
    if now.tzinfo is None or now.utcoffset() is None:
        # A programming error, not something the person typed.
        raise ValueError(f"now must be timezone-aware, got naive {now!r}")
    return now.tzinfo


def _is_day_word(word: str) -> bool:
    return (
        word in _RELATIVE_DAYS or word in _WEEKDAY_WORDS or _ISO_DATE_RE.fullmatch(word) is not None
    )


def _clean(text: str) -> str:
    """Case and spacing never matter: ``  Yesterday   9AM `` reads as ``yesterday 9am``."""
    return " ".join(text.split()).lower()


def _shown(text: str) -> str:
    """`text` as quoted back in a one-line message: single spaced, printable, not too long."""
    shown = "".join(c if c.isprintable() else "?" for c in " ".join(text.split()))
    return shown if len(shown) <= 40 else shown[:37] + "..."


def _unreadable_time(text: str, why: str = "") -> BadTime:
    detail = f" ({why})" if why else ""
    return BadTime(f"can't read time '{_shown(text)}'{detail}: use e.g. {ACCEPTED_TIMES}")
