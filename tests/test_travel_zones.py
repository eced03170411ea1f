"""Issue 15, the core: the zone history reads every typed wall time in the zone one was
in, and prints every instant in the zone of that moment. Figures worked by hand from the
offsets: Berlin is UTC+1 in winter and UTC+2 in summer (CET/CEST, changes on the last
Sundays of March and October at 01:00 UTC); New York is UTC-5/UTC-4 (EST/EDT, changes on
the second Sunday of March and the first of November at 02:00 local)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from medtrack.core.models import ZoneChange
from medtrack.core.schedule import ZoneTimeline, reread, zone_place
from medtrack.core.timeparse import parse_day_bound, parse_when
from medtrack.render import terminal

BERLIN, NEW_YORK = "Europe/Berlin", "America/New_York"


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def trip(now: str) -> ZoneTimeline:
    """Berlin; New York from 2026-06-09 16:30 UTC (12:30 EDT, landing); Berlin again
    from 2026-06-12 05:55 UTC (07:55 CEST, landing after a night flight east)."""
    changes = [
        ZoneChange(datetime(1970, 1, 1, tzinfo=UTC), BERLIN),
        ZoneChange(utc("2026-06-09T16:30"), NEW_YORK),
        ZoneChange(utc("2026-06-12T05:55"), BERLIN),
    ]
    return ZoneTimeline(BERLIN, changes, now=utc(now))


def wall(text: str) -> datetime:
    return datetime.fromisoformat(text)


# --- reading wall times by the zone history ---------------------------------------------


@pytest.mark.parametrize(
    ("typed", "instant", "zone"),
    [
        # Before the trip: Berlin summer time, UTC+2.
        ("2026-06-08T08:00", "2026-06-08T06:00", BERLIN),
        ("2026-06-08T22:00", "2026-06-08T20:00", BERLIN),
        # Departure day: 08:00 still in Berlin; 22:00 Berlin would be 20:00 UTC, after
        # landing, so it is 22:00 in New York (02:00 UTC next day). Exactly one each.
        ("2026-06-09T08:00", "2026-06-09T06:00", BERLIN),
        ("2026-06-09T22:00", "2026-06-10T02:00", NEW_YORK),
        # 14:00 happened twice that day (Berlin 12:00 UTC, New York 18:00 UTC): the first.
        ("2026-06-09T14:00", "2026-06-09T12:00", BERLIN),
        # 18:30 Berlin is 16:30 UTC, the landing itself: New York from there.
        ("2026-06-09T18:30", "2026-06-09T22:30", NEW_YORK),
        # A day abroad: New York daylight time, UTC-4.
        ("2026-06-10T08:00", "2026-06-10T12:00", NEW_YORK),
        ("2026-06-11T22:30", "2026-06-12T02:30", NEW_YORK),
        # Return day: the clock jumped from 01:55 (New York) to 07:55 (Berlin); 08:00 is
        # after landing, in Berlin; 03:00 never happened and moves on by the 6 h jump.
        ("2026-06-12T08:00", "2026-06-12T06:00", BERLIN),
        ("2026-06-12T03:00", "2026-06-12T07:00", BERLIN),
        ("2026-06-12T01:00", "2026-06-12T05:00", NEW_YORK),
    ],
)
def test_wall_time_is_read_in_the_zone_one_was_in(typed: str, instant: str, zone: str) -> None:
    zones = trip("2026-06-20T10:00")
    at = zones.localize(wall(typed))
    assert at.astimezone(UTC) == utc(instant)
    assert zones.zone_at(at).key == zone
    assert zones.instant(wall(typed)) == utc(instant)


@pytest.mark.parametrize(
    ("typed", "now", "instant"),
    [
        # Typed before the trip, during it and after it: the same rule each time.
        ("08:00", "2026-06-08T09:00", "2026-06-08T06:00"),
        ("yesterday 22:00", "2026-06-10T13:00", "2026-06-10T02:00"),
        ("2026-06-10T08:00", "2026-06-13T09:00", "2026-06-10T12:00"),
        ("2026-06-10 at 8am", "2026-06-13T09:00", "2026-06-10T12:00"),
        ("10pm 2026-06-11", "2026-06-13T09:00", "2026-06-12T02:00"),
        ("yesterday 22:30", "2026-06-12T06:32", "2026-06-12T02:30"),
        ("wed 08:00", "2026-06-13T09:00", "2026-06-10T12:00"),
        ("1 day ago", "2026-06-11T12:00", "2026-06-10T12:00"),
    ],
)
def test_typed_times_before_during_and_after_the_trip(typed: str, now: str, instant: str) -> None:
    zones = trip(now)
    here = utc(now).astimezone(zones.zone_at(utc(now)))
    assert parse_when(typed, here, zones=zones).astimezone(UTC) == utc(instant)


def test_after_coming_home_a_new_york_morning_is_not_read_in_berlin() -> None:
    # Issue 15's first symptom: read in today's zone this was 02:00 in New York.
    zones = trip("2026-06-13T09:00")
    here = utc("2026-06-13T09:00").astimezone(ZoneInfo(BERLIN))
    at = parse_when("2026-06-10T08:00", here, zones=zones)
    assert terminal.when_text(at, zones, utc("2026-06-13T09:00")) == "2026-06-10 08:00 New York"
    without_history = parse_when("2026-06-10T08:00", here)
    assert without_history.astimezone(ZoneInfo(NEW_YORK)).hour == 2


def test_day_bounds_are_local_midnights_by_the_history() -> None:
    zones = trip("2026-06-13T09:00")
    here = utc("2026-06-13T09:00").astimezone(ZoneInfo(BERLIN))
    # The day spent in New York runs from 04:00 UTC to 04:00 UTC.
    assert parse_day_bound("2026-06-10", here, end=False, zones=zones) == utc("2026-06-10T04:00")
    assert parse_day_bound("2026-06-10", here, end=True, zones=zones) == utc("2026-06-11T04:00")
    # The departure day: Berlin midnight to New York midnight, 30 hours.
    start = parse_day_bound("2026-06-09", here, end=False, zones=zones)
    end = parse_day_bound("2026-06-09", here, end=True, zones=zones)
    assert (start, end - start) == (utc("2026-06-08T22:00"), timedelta(hours=30))


# --- printing -------------------------------------------------------------------------------


def test_times_print_in_their_zone_and_say_so_when_not_now() -> None:
    in_new_york = trip("2026-06-10T13:00")
    morning = utc("2026-06-09T06:00")  # 08:00 in Berlin, before the flight
    assert terminal.clock(morning, in_new_york) == "08:00 Berlin"
    assert terminal.clock(utc("2026-06-10T12:00"), in_new_york) == "08:00"
    assert terminal.when_text(morning, in_new_york, utc("2026-06-10T13:00")) == (
        "yesterday 08:00 Berlin"
    )
    back_home = trip("2026-06-12T07:00")
    assert terminal.clock(morning, back_home) == "08:00"
    assert terminal.clock(utc("2026-06-12T02:30"), back_home) == "22:30 New York"
    assert terminal.iso(utc("2026-06-12T02:30"), back_home) == "2026-06-11T22:30:00-04:00"
    assert terminal.place(utc("2026-06-12T02:30"), back_home) == "New York"
    assert terminal.place(morning, back_home) is None


def test_zone_place_names() -> None:
    assert zone_place("America/New_York") == "New York"
    assert zone_place("America/Argentina/Buenos_Aires") == "Buenos Aires"
    assert zone_place("UTC") == "UTC"


# --- flights across midnight ------------------------------------------------------------------


def test_westward_flight_across_midnight() -> None:
    """Berlin 2026-01-15 23:30 CET (22:30 UTC) to New York, landing 02:00 EST on the 16th
    (07:00 UTC). Local dates: midnight starting the 16th came in Berlin (23:00 UTC, before
    landing), so the 15th is an ordinary Berlin day and the 16th runs from there to New
    York's midnight (05:00 UTC on the 17th), 30 hours; 23:00 on the 15th is 22:00 UTC
    in Berlin (before the change); 01:00 on the 16th is 00:00 UTC in Berlin, before
    landing, so still Berlin; so is 03:00 (02:00 UTC: in Berlin the clock showed 08:00 at
    landing, and wall times up to then are its first occurrence); 09:00 on the 16th read
    in Berlin would be after landing, so it is 09:00 in New York, 14:00 UTC."""
    zones = ZoneTimeline(
        BERLIN,
        [
            ZoneChange(datetime(1970, 1, 1, tzinfo=UTC), BERLIN),
            ZoneChange(utc("2026-01-16T07:00"), NEW_YORK),
        ],
        now=utc("2026-01-16T12:00"),
    )
    assert zones.instant(wall("2026-01-15T23:00")) == utc("2026-01-15T22:00")
    assert zones.instant(wall("2026-01-16T01:00")) == utc("2026-01-16T00:00")
    assert zones.instant(wall("2026-01-16T03:00")) == utc("2026-01-16T02:00")
    assert zones.instant(wall("2026-01-16T09:00")) == utc("2026-01-16T14:00")
    here = utc("2026-01-16T12:00").astimezone(ZoneInfo(NEW_YORK))
    assert parse_day_bound("2026-01-15", here, end=False, zones=zones) == utc("2026-01-14T23:00")
    assert parse_day_bound("2026-01-15", here, end=True, zones=zones) == utc("2026-01-15T23:00")
    assert parse_day_bound("today", here, end=True, zones=zones) == utc("2026-01-17T05:00")
    assert parse_when("yesterday 23:00", here, zones=zones) == utc("2026-01-15T22:00")


def test_eastward_flight_across_midnight() -> None:
    """New York 2026-01-20 18:00 EST (23:00 UTC) to Berlin, landing 08:00 CET on the 21st
    (07:00 UTC). At landing the clock jumps from 02:00 (New York) to 08:00 (Berlin): wall
    times between never happened and move on by six hours; 01:00 on the 21st was in New
    York (06:00 UTC); 09:00 is in Berlin (08:00 UTC)."""
    zones = ZoneTimeline(
        NEW_YORK,
        [
            ZoneChange(datetime(1970, 1, 1, tzinfo=UTC), NEW_YORK),
            ZoneChange(utc("2026-01-21T07:00"), BERLIN),
        ],
        now=utc("2026-01-21T10:00"),
    )
    assert zones.instant(wall("2026-01-20T22:00")) == utc("2026-01-21T03:00")
    assert zones.instant(wall("2026-01-21T01:00")) == utc("2026-01-21T06:00")
    assert zones.instant(wall("2026-01-21T05:00")) == utc("2026-01-21T10:00")  # moved on
    assert zones.instant(wall("2026-01-21T09:00")) == utc("2026-01-21T08:00")
    here = utc("2026-01-21T10:00").astimezone(ZoneInfo(BERLIN))
    # The 21st starts at New York midnight (05:00 UTC) and ends at Berlin's (23:00 UTC).
    assert parse_day_bound("today", here, end=False, zones=zones) == utc("2026-01-21T05:00")
    assert parse_day_bound("today", here, end=True, zones=zones) == utc("2026-01-21T23:00")
    assert terminal.clock(utc("2026-01-21T03:00"), zones) == "22:00 New York"


# --- daylight saving --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "typed", "instant"),
    [
        # Berlin springs forward 2026-03-29 at 02:00 -> 03:00: 02:30 moves on to 03:30.
        (BERLIN, "2026-03-29T02:30", "2026-03-29T01:30"),
        (BERLIN, "2026-03-29T01:30", "2026-03-29T00:30"),
        # Berlin falls back 2026-10-25 at 03:00 -> 02:00: 02:30 happens twice, first taken.
        (BERLIN, "2026-10-25T02:30", "2026-10-25T00:30"),
        (BERLIN, "2026-10-25T03:30", "2026-10-25T02:30"),
        # New York springs forward 2026-03-08 at 02:00 -> 03:00.
        (NEW_YORK, "2026-03-08T02:30", "2026-03-08T07:30"),
        # New York falls back 2026-11-01 at 02:00 -> 01:00: 01:30 is first the EDT one.
        (NEW_YORK, "2026-11-01T01:30", "2026-11-01T05:30"),
        (NEW_YORK, "2026-11-01T02:30", "2026-11-01T07:30"),
    ],
)
def test_both_daylight_saving_changes_of_both_zones(zone: str, typed: str, instant: str) -> None:
    zones = ZoneTimeline(zone, now=utc("2026-12-01T12:00"))
    at = zones.localize(wall(typed))
    assert at.astimezone(UTC) == utc(instant)
    here = utc("2026-12-01T12:00").astimezone(ZoneInfo(zone))
    assert parse_when(typed, here, zones=zones).astimezone(UTC) == utc(instant)


def test_nonexistent_time_moves_forward_by_the_gap_as_readme_says() -> None:
    zones = ZoneTimeline(BERLIN, now=utc("2026-12-01T12:00"))
    assert zones.localize(wall("2026-03-29T02:30")).strftime("%H:%M %Z") == "03:30 CEST"


# --- planned dates ------------------------------------------------------------------------------


def test_a_step_planned_at_home_for_a_day_abroad_starts_at_midnight_abroad() -> None:
    at_home = ZoneTimeline(BERLIN, [ZoneChange(datetime(1970, 1, 1, tzinfo=UTC), BERLIN)])
    planned = at_home.localize(wall("2026-06-10T00:00"))
    assert planned == utc("2026-06-09T22:00")  # 18:00 on the 9th in New York
    moved = reread(planned, at_home, trip("2026-06-09T17:00"))
    assert moved.astimezone(UTC) == utc("2026-06-10T04:00")
    assert moved.strftime("%Y-%m-%d %H:%M") == "2026-06-10 00:00"


# --- the round trip, for any history ----------------------------------------------------------

ZONE_NAMES = st.sampled_from(
    [BERLIN, NEW_YORK, "Asia/Tokyo", "Australia/Lord_Howe", "Asia/Kolkata", "UTC", "Pacific/Apia"]
)
MOMENTS = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1)).map(
    lambda d: d.replace(second=0, microsecond=0, tzinfo=UTC)
)


@given(
    first=ZONE_NAMES,
    changes=st.lists(st.tuples(MOMENTS, ZONE_NAMES), max_size=4),
    lived=MOMENTS,
)
def test_any_wall_time_read_and_printed_back_is_the_same(
    first: str, changes: list[tuple[datetime, str]], lived: datetime
) -> None:
    """A wall time that happened (on the clock of the zone in force then) reads back to
    the same wall time in the same zone; where it happened twice, the first time, whose
    wall time is the same."""
    history = [ZoneChange(datetime(1970, 1, 1, tzinfo=UTC), first)]
    history += [ZoneChange(at, zone) for at, zone in changes]
    zones = ZoneTimeline(first, history, now=datetime(2030, 6, 1, tzinfo=UTC))
    seen = lived.astimezone(zones.zone_at(lived))
    typed = seen.replace(tzinfo=None)
    here = zones.now.astimezone(zones.zone_at(zones.now))
    read = parse_when(typed.isoformat(timespec="minutes"), here, zones=zones)
    assert read.replace(tzinfo=None) == typed
    assert read.astimezone(UTC) <= lived
    printed = terminal.local(read.astimezone(UTC), zones)
    assert printed.replace(tzinfo=None) == typed
    assert printed.utcoffset() == read.utcoffset()
    if read.astimezone(UTC) == lived:
        assert zones.zone_at(read).key == zones.zone_at(lived).key
    label = zones.label(read)
    assert label == ("" if zones.zone_at(read).key == zones.here.key else " " + label.strip())
    shown = terminal.when_text(read.astimezone(UTC), zones, zones.now)
    assert shown.endswith(typed.strftime("%H:%M") + label)
