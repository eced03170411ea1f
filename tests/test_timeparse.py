"""Time expressions: hand-checked examples, DST edges, and properties over many zones.

`now` is fixed at Monday 2026-11-23 14:30 in Berlin (CET, +01:00) unless a test says
otherwise. Instants are compared in UTC: two aware datetimes sharing a ZoneInfo compare
as wall times, which would hide exactly the fold/DST mistakes these tests look for.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from medtrack.core.timeparse import (
    from_utc_text,
    is_date_only,
    parse_day_bound,
    parse_duration,
    parse_when,
    to_utc_text,
)
from medtrack.errors import BadTime

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")
ZONES = [NEW_YORK, BERLIN, LORD_HOWE, ZoneInfo("UTC")]

NOW = datetime(2026, 11, 23, 14, 30, tzinfo=BERLIN)  # a Monday


def berlin(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


def utc(dt: datetime) -> datetime:
    return dt.astimezone(UTC)


def same_instant(a: datetime, b: datetime) -> bool:
    return utc(a) == utc(b)


def test_now_is_monday() -> None:
    assert NOW.weekday() == 0


# --- parse_when: every accepted form ----------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("now", berlin(2026, 11, 23, 14, 30)),
        ("today", berlin(2026, 11, 23, 14, 30)),
        ("yesterday", berlin(2026, 11, 22, 14, 30)),
        ("yesterday 21:00", berlin(2026, 11, 22, 21, 0)),
        ("yesterday at 9am", berlin(2026, 11, 22, 9, 0)),
        ("today 8am", berlin(2026, 11, 23, 8, 0)),
        ("8am", berlin(2026, 11, 23, 8, 0)),
        ("8 am", berlin(2026, 11, 23, 8, 0)),
        ("12am", berlin(2026, 11, 23, 0, 0)),
        ("12pm", berlin(2026, 11, 23, 12, 0)),
        ("1:15pm", berlin(2026, 11, 23, 13, 15)),
        ("yesterday 8:30pm", berlin(2026, 11, 22, 20, 30)),
        ("14:29", berlin(2026, 11, 23, 14, 29)),
        ("08:00:15", berlin(2026, 11, 23, 8, 0, 15)),
        ("2h ago", berlin(2026, 11, 23, 12, 30)),
        ("30m ago", berlin(2026, 11, 23, 14, 0)),
        ("90 min ago", berlin(2026, 11, 23, 13, 0)),
        ("1h30m ago", berlin(2026, 11, 23, 13, 0)),
        ("1 hour 30 minutes ago", berlin(2026, 11, 23, 13, 0)),
        ("45s ago", berlin(2026, 11, 23, 14, 29, 15)),
        ("2 days ago", berlin(2026, 11, 21, 14, 30)),
        ("1 week ago", berlin(2026, 11, 16, 14, 30)),
        ("monday 09:00", berlin(2026, 11, 23, 9, 0)),  # today, time has passed
        ("mon 9am", berlin(2026, 11, 23, 9, 0)),
        ("monday 15:00", berlin(2026, 11, 16, 15, 0)),  # still ahead today: last week
        ("sunday 21:00", berlin(2026, 11, 22, 21, 0)),
        ("tue 08:00", berlin(2026, 11, 17, 8, 0)),
        ("friday", berlin(2026, 11, 20, 14, 30)),  # no clock: now's clock time
        ("2026-11-22", berlin(2026, 11, 22, 0, 0)),
        ("2026-11-22T08:00", berlin(2026, 11, 22, 8, 0)),
        ("2026-11-22 08:00", berlin(2026, 11, 22, 8, 0)),
        ("2026-11-22T08:00:30.5", berlin(2026, 11, 22, 8, 0, 30, 500000)),
        ("2026-11-22 8am", berlin(2026, 11, 22, 8, 0)),
        ("2026-11-22T08:00Z", berlin(2026, 11, 22, 9, 0)),
        ("2026-11-22T08:00+00:00", berlin(2026, 11, 22, 9, 0)),
        ("2026-11-22T08:00-05:00", berlin(2026, 11, 22, 14, 0)),
        ("  YESTERDAY   21:00 ", berlin(2026, 11, 22, 21, 0)),
        ("Mon 9AM", berlin(2026, 11, 23, 9, 0)),
        ("2026-11-22t08:00z", berlin(2026, 11, 22, 9, 0)),
    ],
)
def test_parse_when_examples(text: str, expected: datetime) -> None:
    result = parse_when(text, NOW)
    assert same_instant(result, expected)
    assert result.tzinfo is BERLIN
    assert result.utcoffset() == expected.utcoffset()


def test_iso_with_offset_is_converted_to_now_zone() -> None:
    result = parse_when("2026-11-22T08:00Z", NOW)
    assert (result.hour, result.tzinfo) == (9, BERLIN)


def test_small_clock_skew_is_not_the_future() -> None:
    assert same_instant(parse_when("14:31", NOW), berlin(2026, 11, 23, 14, 31))
    assert same_instant(parse_when("mon 14:31", NOW), berlin(2026, 11, 23, 14, 31))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("monday 15:00", berlin(2026, 11, 23, 15, 0)),  # today, still ahead
        ("monday 14:00", berlin(2026, 11, 30, 14, 0)),  # today but passed: next week
        ("wed 9am", berlin(2026, 11, 25, 9, 0)),
        ("sunday", berlin(2026, 11, 29, 14, 30)),
        ("tomorrow 8am", berlin(2026, 11, 24, 8, 0)),
        ("20:30", berlin(2026, 11, 23, 20, 30)),
        ("2026-12-01T08:00", berlin(2026, 12, 1, 8, 0)),
    ],
)
def test_allow_future(text: str, expected: datetime) -> None:
    assert same_instant(parse_when(text, NOW, allow_future=True), expected)


@pytest.mark.parametrize(
    "text", ["20:30", "8:30pm", "tomorrow", "2026-11-24", "2026-11-23T14:32", "tomorrow 8am"]
)
def test_future_is_refused(text: str) -> None:
    with pytest.raises(BadTime) as caught:
        parse_when(text, NOW)
    message = caught.value.message
    assert message.startswith(f"'{text}' is in the future (")
    assert "give a past time, e.g. 'yesterday 21:00'" in message
    assert "\n" not in message


def test_future_message_shows_local_iso() -> None:
    with pytest.raises(BadTime, match=r"\(2026-11-23T20:30\+01:00\)"):
        parse_when("20:30", NOW)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "banana",
        "yestrday",
        "8",
        "25:00",
        "13pm",
        "0am",
        "12:60",
        "2026-02-30",
        "2026-13-01",
        "2026-11-22T08:00 banana",
        "banana 5",
        "march",
        "next monday",
        "yesterday at",
        "2h",
        "ago",
        "2x ago",
        "h ago",
        "1h1h ago",
        "20261122",
        "2026-W47",
        "22/11/2026",
        "in 2h",
        "-2h ago",
        "١٢:٠٠",
        "9" * 500,
    ],
)
def test_garbage_is_refused(text: str) -> None:
    with pytest.raises(BadTime) as caught:
        parse_when(text, NOW, allow_future=True)
    message = caught.value.message
    assert message.startswith("can't read time '")
    assert "use e.g. now, 8am, 20:30, 0930, noon, 9pm yesterday" in message
    assert "\n" not in message


def test_refusal_quotes_text_on_one_line() -> None:
    with pytest.raises(BadTime) as caught:
        parse_when("yest\nrday", NOW)
    assert caught.value.message.startswith("can't read time 'yest rday': use e.g.")


def test_out_of_range_years_are_refused_not_crashed() -> None:
    with pytest.raises(BadTime, match="out of range"):
        parse_when("0001-01-01", NOW)
    with pytest.raises(BadTime, match="out of range"):
        parse_when("9999-12-31T23:00-05:00", NOW, allow_future=True)


def test_naive_now_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="aware"):
        parse_when("now", datetime(2026, 11, 23, 14, 30))


# --- DST ---------------------------------------------------------------------------------


def test_spring_forward_gap_moves_forward_berlin() -> None:
    result = parse_when("2026-03-29 02:30", NOW)
    assert (result.hour, result.minute) == (3, 30)
    assert result.utcoffset() == timedelta(hours=2)
    assert utc(result) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)


def test_spring_forward_gap_relative_day_berlin() -> None:
    now = berlin(2026, 3, 30, 10, 0)
    result = parse_when("yesterday 02:30", now)
    assert utc(result) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)


def test_fall_back_ambiguous_takes_first_berlin() -> None:
    result = parse_when("2026-10-25 02:30", NOW)
    assert result.utcoffset() == timedelta(hours=2)
    assert utc(result) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)


def test_spring_forward_gap_new_york() -> None:
    now = datetime(2026, 11, 23, 9, 0, tzinfo=NEW_YORK)
    result = parse_when("2026-03-08 02:30", now)
    assert (result.hour, result.minute) == (3, 30)
    assert result.utcoffset() == timedelta(hours=-4)


def test_fall_back_ambiguous_takes_first_new_york() -> None:
    now = datetime(2026, 11, 2, 9, 0, tzinfo=NEW_YORK)
    result = parse_when("yesterday 1:30am", now)
    assert result.utcoffset() == timedelta(hours=-4)
    assert utc(result) == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)


def test_hours_ago_is_elapsed_time_across_fall_back() -> None:
    # 03:30 CET is 02:30 UTC; three real hours earlier is 23:30 UTC = 01:30 CEST.
    now = berlin(2026, 10, 25, 3, 30)
    result = parse_when("3h ago", now)
    assert utc(result) == datetime(2026, 10, 24, 23, 30, tzinfo=UTC)
    assert (result.hour, result.utcoffset()) == (1, timedelta(hours=2))


def test_days_ago_keeps_clock_time_across_spring_forward() -> None:
    now = berlin(2026, 3, 29, 9, 0)  # CEST; the same clock time yesterday was CET
    assert parse_when("1 day ago", now) == parse_when("yesterday", now)
    assert parse_when("1 day ago", now).hour == 9
    assert utc(now) - utc(parse_when("1 day ago", now)) == timedelta(hours=23)


def test_future_check_uses_instants_during_fall_back() -> None:
    # now is the second 02:10 (CET); the first 02:40 (CEST) is 30 min before it, not after.
    now = datetime(2026, 10, 25, 2, 10, fold=1, tzinfo=BERLIN)
    assert now.utcoffset() == timedelta(hours=1)
    result = parse_when("2026-10-25 02:40", now)
    assert utc(result) == datetime(2026, 10, 25, 0, 40, tzinfo=UTC)


# --- parse_duration --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("6h", timedelta(hours=6)),
        ("30m", timedelta(minutes=30)),
        ("30min", timedelta(minutes=30)),
        ("90 minutes", timedelta(minutes=90)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("1h 30m", timedelta(hours=1, minutes=30)),
        ("2d", timedelta(days=2)),
        ("1 day", timedelta(days=1)),
        ("45s", timedelta(seconds=45)),
        ("2 weeks", timedelta(weeks=2)),
        (" 8 HRS ", timedelta(hours=8)),
        ("366d", timedelta(days=366)),
    ],
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("0m", "zero"),
        ("0h0m", "zero"),
        ("-2h", "negative"),
        ("", "can't read duration"),
        ("banana", "can't read duration"),
        ("6", "can't read duration"),
        ("h", "can't read duration"),
        ("1.5h", "can't read duration"),
        ("2 months", "can't read duration"),
        ("1h1h", "can't read duration"),
        ("9" * 30 + "d", "too long"),
        ("9999999w", "at most 366 days"),
        ("367d", "at most 366 days"),
    ],
)
def test_parse_duration_refuses(text: str, why: str) -> None:
    with pytest.raises(BadTime, match=why):
        parse_duration(text)


# --- parse_day_bound / is_date_only ---------------------------------------------------


@pytest.mark.parametrize(
    ("text", "end", "expected"),
    [
        ("2026-10-31", False, berlin(2026, 10, 31, 0, 0)),
        ("2026-10-31", True, berlin(2026, 11, 1, 0, 0)),
        ("today", False, berlin(2026, 11, 23, 0, 0)),
        ("today", True, berlin(2026, 11, 24, 0, 0)),
        ("yesterday", True, berlin(2026, 11, 23, 0, 0)),
        ("tomorrow", True, berlin(2026, 11, 25, 0, 0)),
        ("monday", False, berlin(2026, 11, 23, 0, 0)),  # today counts
        ("sun", False, berlin(2026, 11, 22, 0, 0)),
        ("friday", True, berlin(2026, 11, 21, 0, 0)),
        ("2026-10-31T08:00", True, berlin(2026, 10, 31, 8, 0)),
        ("2h ago", False, berlin(2026, 11, 23, 12, 30)),
        ("20:30", True, berlin(2026, 11, 23, 20, 30)),  # future allowed
    ],
)
def test_parse_day_bound(text: str, end: bool, expected: datetime) -> None:
    result = parse_day_bound(text, NOW, end=end)
    assert same_instant(result, expected)
    assert result.tzinfo is BERLIN


@pytest.mark.parametrize(
    ("zone", "day", "hours"),
    [
        (BERLIN, "2026-03-29", 23),
        (BERLIN, "2026-10-25", 25),
        (NEW_YORK, "2026-03-08", 23),
        (NEW_YORK, "2026-11-01", 25),
        (LORD_HOWE, "2026-04-05", 24.5),
        (BERLIN, "2026-03-28", 24),
    ],
)
def test_day_bound_spans_dst_days(zone: ZoneInfo, day: str, hours: float) -> None:
    now = datetime(2026, 11, 23, 12, 0, tzinfo=zone)
    start = parse_day_bound(day, now, end=False)
    end = parse_day_bound(day, now, end=True)
    assert (start.hour, start.minute, end.hour, end.minute) == (0, 0, 0, 0)
    assert utc(end) - utc(start) == timedelta(hours=hours)


def test_day_bound_end_on_the_day_before_a_change_is_local_midnight() -> None:
    end = parse_day_bound("2026-03-28", NOW, end=True)  # Berlin springs forward on the 29th
    assert end.isoformat() == "2026-03-29T00:00:00+01:00"
    end = parse_day_bound("2026-10-24", NOW, end=True)  # and falls back on the 25th
    assert end.isoformat() == "2026-10-25T00:00:00+02:00"


def test_day_bound_refuses_impossible_date() -> None:
    with pytest.raises(BadTime, match="day is out of range"):
        parse_day_bound("2026-02-30", NOW, end=True)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-10-31", True),
        (" Today ", True),
        ("yesterday", True),
        ("tomorrow", True),
        ("monday", True),
        ("Fri", True),
        ("now", False),
        ("2026-10-31T08:00", False),
        ("yesterday 21:00", False),
        ("8am", False),
        ("2h ago", False),
        ("banana", False),
    ],
)
def test_is_date_only(text: str, expected: bool) -> None:
    assert is_date_only(text) is expected


# --- UTC text ---------------------------------------------------------------------------


def test_to_utc_text() -> None:
    assert to_utc_text(berlin(2026, 11, 22, 9, 5, 0, 999_999)) == "2026-11-22T08:05:00Z"
    assert to_utc_text(datetime(2026, 7, 1, 8, 0, tzinfo=NEW_YORK)) == "2026-07-01T12:00:00Z"


def test_to_utc_text_refuses_naive() -> None:
    with pytest.raises(ValueError, match="naive"):
        to_utc_text(datetime(2026, 11, 22, 8, 5))


def test_from_utc_text() -> None:
    assert from_utc_text("2026-11-22T08:05:00Z") == datetime(2026, 11, 22, 8, 5, tzinfo=UTC)
    assert from_utc_text("2026-11-22T08:05:00Z").utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "text",
    ["2026-11-22T08:05:00", "2026-11-22 08:05:00Z", "2026-11-22T08:05Z", "2026-02-30T00:00:00Z"],
)
def test_from_utc_text_refuses_other_forms(text: str) -> None:
    with pytest.raises(ValueError):
        from_utc_text(text)


# --- properties -----------------------------------------------------------------------

zones = st.sampled_from(ZONES)
# Offsets before 1970 include LMT seconds (-04:56:02) that are not ISO 8601 offsets.
past_instants = st.datetimes(
    min_value=datetime(1970, 1, 2), max_value=datetime(2026, 11, 1), timezones=zones
)
nows = st.datetimes(
    min_value=datetime(2000, 1, 1),
    max_value=datetime(2040, 1, 1),
    timezones=zones,
    allow_imaginary=False,
)
NOW_IN = {zone.key: datetime(2026, 11, 23, 14, 30, tzinfo=zone) for zone in ZONES}


@given(past_instants)
def test_iso_round_trip(dt: datetime) -> None:
    for now in NOW_IN.values():
        assert same_instant(parse_when(dt.isoformat(), now), dt)


@given(nows, st.integers(0, 10_000), st.sampled_from(["h", "m", "min", " hours", " minutes"]))
def test_hours_and_minutes_ago_are_elapsed_time(now: datetime, amount: int, unit: str) -> None:
    result = parse_when(f"{amount}{unit} ago", now)
    length = timedelta(hours=amount) if unit.strip()[0] == "h" else timedelta(minutes=amount)
    assert utc(result) == utc(now) - length
    assert result.tzinfo is now.tzinfo


clocks = st.builds(
    lambda h, m: f"{h:02d}:{m:02d}", st.integers(0, 23), st.integers(0, 59)
) | st.builds(lambda h, ap: f"{h}{ap}", st.integers(1, 12), st.sampled_from(["am", "pm"]))
day_words = st.sampled_from(
    ["today", "yesterday", "tomorrow", "monday", "wed", "sun", "saturday", "2026-03-29"]
)
phrases = st.one_of(
    clocks,
    st.builds(lambda d, c: f"{d} {c}", day_words, clocks),
    day_words,
    st.builds(lambda n, u: f"{n}{u} ago", st.integers(0, 500), st.sampled_from(["h", "m", "d"])),
    st.builds(
        lambda dt: dt.replace(tzinfo=None).isoformat(timespec="minutes"),
        st.datetimes(min_value=datetime(1999, 12, 1), max_value=datetime(2040, 2, 1)),
    ),
    st.text(max_size=20),
)


@given(phrases, nows)
def test_never_later_than_now_unless_allowed(text: str, now: datetime) -> None:
    try:
        result = parse_when(text, now)
    except BadTime:
        return
    assert utc(result) <= utc(now) + timedelta(minutes=1)
    assert result.tzinfo is now.tzinfo


@given(phrases, nows)
def test_parse_day_bound_end_is_after_start_for_days(text: str, now: datetime) -> None:
    if not is_date_only(text):
        return
    try:
        start = parse_day_bound(text, now, end=False)
    except BadTime:
        return
    end = parse_day_bound(text, now, end=True)
    assert timedelta(hours=22) <= utc(end) - utc(start) <= timedelta(hours=26)


@given(st.text(max_size=30), nows, st.booleans())
def test_any_text_reads_or_is_refused(text: str, now: datetime, allow_future: bool) -> None:
    try:
        parse_when(text, now, allow_future=allow_future)
    except BadTime as error:
        assert "\n" not in error.message


aware = st.datetimes(
    min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1), timezones=zones
)


@given(aware)
def test_utc_text_round_trip(dt: datetime) -> None:
    back = from_utc_text(to_utc_text(dt))
    assert back == utc(dt).replace(microsecond=0)
    assert to_utc_text(back) == to_utc_text(dt)


@given(aware, aware)
def test_utc_text_sorts_like_instants(a: datetime, b: datetime) -> None:
    if utc(a) <= utc(b):
        assert to_utc_text(a) <= to_utc_text(b)
    else:
        assert to_utc_text(a) >= to_utc_text(b)


# The stored shape, as the regex that defined it: from_utc_text checks it by hand.
STORED_UTC = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", re.ASCII)


STORED_TEXTS = st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1)).map(
    lambda d: d.replace(microsecond=0).isoformat() + "Z"
)
ODD_CHARS = "0123456789-T:Z +.a\u0663"


@given(st.one_of(STORED_TEXTS, st.text(alphabet=ODD_CHARS, min_size=18, max_size=22)))
def test_from_utc_text_reads_exactly_the_stored_shape(text):
    """The hand-checked read gives the instant of a text of the stored shape (ASCII digits
    only) and refuses everything else, as the regex it replaced did."""
    read_as_the_regex_did(text)


@given(STORED_TEXTS)
def test_from_utc_text_refuses_every_near_miss(text):
    """Every one-character change of a stored text (a space for the T, an Arabic-Indic
    digit, a sign: what the C parser alone would let through) is read as the regex did."""
    for at in range(len(text)):
        for char in ODD_CHARS:
            read_as_the_regex_did(text[:at] + char + text[at + 1 :])


def read_as_the_regex_did(text: str) -> None:
    """from_utc_text(text) is the instant the regex-checked read gave, or a ValueError."""
    if STORED_UTC.fullmatch(text):
        try:
            expected = datetime.fromisoformat(text[:-1]).replace(tzinfo=UTC)
        except ValueError:  # the shape, but no such date or time (e.g. month 13)
            with pytest.raises(ValueError):
                from_utc_text(text)
            return
        got = from_utc_text(text)
        assert got == expected and got.tzinfo is UTC
    else:
        with pytest.raises(ValueError):
            from_utc_text(text)
