from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from medtrack.core.models import Schedule, ZoneChange
from medtrack.core.schedule import (
    ZoneTimeline,
    describe,
    expand,
    parse_schedule,
)
from medtrack.errors import BadSchedule

UTC = UTC


@pytest.mark.parametrize(
    ("text", "rrule", "times", "words"),
    [
        ("daily 08:00", "FREQ=DAILY", ("08:00",), "every day at 08:00"),
        ("daily 08:00,20:00", "FREQ=DAILY", ("08:00", "20:00"), "every day at 08:00 and 20:00"),
        ("daily 20:00, 08:00", "FREQ=DAILY", ("08:00", "20:00"), "every day at 08:00 and 20:00"),
        ("every 2 days 09:00", "FREQ=DAILY;INTERVAL=2", ("09:00",), "every 2 days at 09:00"),
        (
            "mon,wed,fri 21:00",
            "FREQ=WEEKLY;BYDAY=MO,WE,FR",
            ("21:00",),
            "every Monday, Wednesday and Friday at 21:00",
        ),
        ("weekly sun 10:00", "FREQ=WEEKLY;BYDAY=SU", ("10:00",), "every Sunday at 10:00"),
        (
            "every 4 weeks mon 10:00",
            "FREQ=WEEKLY;INTERVAL=4;BYDAY=MO",
            ("10:00",),
            "every 4 weeks on Monday at 10:00",
        ),
        (
            "monthly 1 09:00",
            "FREQ=MONTHLY;BYMONTHDAY=1",
            ("09:00",),
            "every month on day 1 at 09:00",
        ),
        ("every 8h from 06:00", "FREQ=HOURLY;INTERVAL=8", ("06:00",), "every 8 hours from 06:00"),
        ("daily 8am, 8:30pm", "FREQ=DAILY", ("08:00", "20:30"), "every day at 08:00 and 20:30"),
        (
            "RRULE:FREQ=DAILY;BYHOUR=8,20;BYMINUTE=0",
            "FREQ=DAILY",
            ("08:00", "20:00"),
            "every day at 08:00 and 20:00",
        ),
    ],
)
def test_forms_parse_to_rrule_and_words(text, rrule, times, words):
    schedule = parse_schedule(text)
    assert schedule.rrule == rrule
    assert tuple(t.strftime("%H:%M") for t in schedule.times) == times
    assert describe(schedule) == words
    assert parse_schedule(words) == schedule


def test_as_needed_words_include_limits():
    schedule = parse_schedule("as needed")
    assert schedule == Schedule(rrule=None, times=(), as_needed=True)
    words = describe(schedule, max_per_day=2, min_interval=timedelta(hours=6))
    assert words == "as needed, at most 2 a day, 6 h apart"
    assert parse_schedule(words) == schedule


def test_unusual_raw_rrule_reads_back_as_rrule():
    schedule = parse_schedule("RRULE:FREQ=YEARLY;BYMONTH=3;BYHOUR=9")
    assert describe(schedule) == "RRULE:FREQ=YEARLY;BYMONTH=3;BYHOUR=9;BYMINUTE=0"
    assert parse_schedule(describe(schedule)) == schedule


@pytest.mark.parametrize(
    "text",
    [
        "",
        "daily",
        "sometimes 8am",
        "daily 25:00",
        "daily 13pm",
        "weekly foo 10:00",
        "monthly 32 09:00",
        "every 0 days 09:00",
        "every 8h from 06:00,07:00",
        "daily 08:00,08:00",
        "RRULE:FREQ=DAILY",
        "RRULE:FREQ=SECONDLY;BYHOUR=1",
        "RRULE:FREQ=DAILY;DTSTART=20260101;BYHOUR=8",
        "RRULE:nonsense",
    ],
)
def test_unreadable_schedules_show_accepted_forms(text):
    with pytest.raises(BadSchedule) as info:
        parse_schedule(text)
    assert "daily 08:00" in info.value.message
    assert "\n" not in info.value.message


def _window(zone: str, first: date, days: int) -> tuple[datetime, datetime]:
    tz = ZoneInfo(zone)
    start = datetime.combine(first, time(), tzinfo=tz).astimezone(UTC)
    end = datetime.combine(first + timedelta(days=days), time(), tzinfo=tz).astimezone(UTC)
    return start, end


def test_daily_slots_across_berlin_spring_forward():
    zones = ZoneTimeline("Europe/Berlin")
    start, end = _window("Europe/Berlin", date(2026, 3, 28), 3)
    slots = expand(
        parse_schedule("daily 02:30,08:00"),
        anchor=date(2026, 1, 1),
        start=start,
        end=end,
        zones=zones,
    )
    local = [s.astimezone(ZoneInfo("Europe/Berlin")).strftime("%m-%d %H:%M") for s in slots]
    # 02:30 does not exist on 29 March: it moves forward to 03:30.
    assert local == [
        "03-28 02:30",
        "03-28 08:00",
        "03-29 03:30",
        "03-29 08:00",
        "03-30 02:30",
        "03-30 08:00",
    ]


def test_two_doses_meeting_in_the_gap_keep_two_slots():
    zones = ZoneTimeline("America/New_York")
    start, end = _window("America/New_York", date(2025, 3, 9), 1)
    slots = expand(
        parse_schedule("daily 02:00,03:00"),
        anchor=date(2025, 1, 1),
        start=start,
        end=end,
        zones=zones,
    )
    assert slots == [
        datetime(2025, 3, 9, 7, 0, tzinfo=UTC),
        datetime(2025, 3, 9, 7, 1, tzinfo=UTC),
    ]


def test_ambiguous_time_takes_first_occurrence():
    zones = ZoneTimeline("America/New_York")
    start, end = _window("America/New_York", date(2026, 11, 1), 1)
    slots = expand(
        parse_schedule("daily 01:30"), anchor=date(2026, 1, 1), start=start, end=end, zones=zones
    )
    assert len(slots) == 1
    # First 01:30 on 1 Nov 2026 is still EDT (UTC-4).
    assert slots[0] == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)


def test_every_two_days_keeps_phase_from_anchor():
    zones = ZoneTimeline("UTC")
    start, end = _window("UTC", date(2026, 11, 1), 6)
    slots = expand(
        parse_schedule("every 2 days 09:00"),
        anchor=date(2026, 11, 2),
        start=start,
        end=end,
        zones=zones,
    )
    assert [s.day for s in slots] == [2, 4, 6]


def test_every_four_weeks_on_monday():
    zones = ZoneTimeline("UTC")
    start, end = _window("UTC", date(2026, 11, 1), 70)
    slots = expand(
        parse_schedule("every 4 weeks mon 10:00"),
        anchor=date(2026, 11, 2),
        start=start,
        end=end,
        zones=zones,
    )
    assert [s.date() for s in slots] == [date(2026, 11, 2), date(2026, 11, 30), date(2026, 12, 28)]


def test_zone_change_reads_later_days_in_new_zone():
    change = ZoneChange(
        effective_at=datetime(2026, 11, 10, 12, tzinfo=UTC), zone="America/New_York"
    )
    zones = ZoneTimeline("Europe/Berlin", [change])
    start = datetime(2026, 11, 9, tzinfo=UTC)
    end = datetime(2026, 11, 13, tzinfo=UTC)
    slots = expand(
        parse_schedule("daily 08:00"), anchor=date(2026, 1, 1), start=start, end=end, zones=zones
    )
    assert slots == [
        datetime(2026, 11, 9, 7, tzinfo=UTC),  # 08:00 Berlin
        datetime(2026, 11, 10, 7, tzinfo=UTC),  # 08:00 Berlin, before the flight
        datetime(2026, 11, 11, 13, tzinfo=UTC),  # 08:00 New York
        datetime(2026, 11, 12, 13, tzinfo=UTC),
    ]


# --- properties ---------------------------------------------------------------------------

ZONES = ["America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "UTC"]
clock = st.builds(time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45]))
weekday = st.sampled_from(["mon", "tue", "wed", "thu", "fri", "sat", "sun"])


@st.composite
def schedule_texts(draw):
    times = sorted(set(draw(st.lists(clock, min_size=1, max_size=4))))
    at = ",".join(t.strftime("%H:%M") for t in times)
    form = draw(
        st.sampled_from(["daily", "every_n_days", "weekdays", "every_n_weeks", "monthly", "hourly"])
    )
    n = draw(st.integers(2, 9))
    if form == "daily":
        return f"daily {at}"
    if form == "every_n_days":
        return f"every {n} days {at}"
    days = ",".join(sorted(set(draw(st.lists(weekday, min_size=1, max_size=3)))))
    if form == "weekdays":
        return f"{days} {at}"
    if form == "every_n_weeks":
        return f"every {n} weeks {days} {at}"
    if form == "monthly":
        mdays = ",".join(
            str(d) for d in sorted(set(draw(st.lists(st.integers(1, 28), min_size=1, max_size=3))))
        )
        return f"monthly {mdays} {at}"
    return f"every {n}h from {times[0].strftime('%H:%M')}"


@given(schedule_texts())
def test_text_to_rrule_to_words_to_rrule_round_trip(text):
    schedule = parse_schedule(text)
    words = describe(schedule)
    again = parse_schedule(words)
    assert again == schedule
    assert describe(again) == words


@given(
    zone=st.sampled_from(ZONES),
    year=st.sampled_from([2025, 2026, 2027]),
    times=st.lists(clock, min_size=1, max_size=3, unique=True),
)
def test_one_slot_per_intended_wall_time_across_dst(zone, year, times):
    """Over a whole year, including both DST changes, each day yields exactly one slot per
    scheduled time, and each slot is at that wall time unless the time did not exist."""
    tz = ZoneInfo(zone)
    schedule = parse_schedule("daily " + ",".join(t.strftime("%H:%M") for t in sorted(times)))
    start, end = _window(zone, date(year, 1, 1), 365)
    slots = expand(
        schedule, anchor=date(year, 1, 1), start=start, end=end, zones=ZoneTimeline(zone)
    )
    by_day: dict[date, list[datetime]] = {}
    for slot in slots:
        by_day.setdefault(slot.astimezone(tz).date(), []).append(slot)
    assert len(slots) == len(set(slots))
    for day, day_slots in by_day.items():
        assert len(day_slots) == len(times), day
    assert len(by_day) == 365
    for slot in slots:
        local = slot.astimezone(tz)
        wall = local.time().replace(tzinfo=None)
        if wall not in schedule.times:
            # Only a nonexistent wall time may move: forward, by at most the gap (plus a
            # minute where two doses met in it).
            moved = [
                t
                for t in schedule.times
                if timedelta(0)
                < datetime.combine(local.date(), wall) - datetime.combine(local.date(), t)
                <= timedelta(hours=2)
            ]
            assert moved, (zone, local)


@given(
    text=schedule_texts(),
    zone=st.sampled_from(ZONES),
    start_offset=st.integers(0, 400),
    length=st.integers(1, 120),
    win_offset=st.integers(-30, 400),
    win_length=st.integers(0, 90),
)
def test_no_slot_outside_regimen_or_window(
    text, zone, start_offset, length, win_offset, win_length
):
    """Slots expanded for a regimen's bounds clipped to a window never fall outside either."""
    schedule = parse_schedule(text)
    tz = ZoneInfo(zone)
    first = date(2026, 1, 1) + timedelta(days=start_offset)
    reg_start = datetime.combine(first, time(), tzinfo=tz).astimezone(UTC)
    reg_end = reg_start + timedelta(days=length)
    win_start = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=win_offset)
    win_end = win_start + timedelta(days=win_length)
    lo, hi = max(reg_start, win_start), min(reg_end, win_end)
    slots = expand(schedule, anchor=first, start=lo, end=hi, zones=ZoneTimeline(zone))
    assert slots == sorted(slots)
    for slot in slots:
        assert reg_start <= slot < reg_end
        assert win_start <= slot < win_end


FAST_ZONES = [*ZONES, "America/Santiago", "Pacific/Apia", "Asia/Kolkata"]


def test_samoas_skipped_day_keeps_every_intended_dose():
    """30 December 2011 did not exist in Apia: its walls move a day forward and meet the
    next day's, which then keep their own slot a minute on: no dose is lost or merged."""
    zones = ZoneTimeline("Pacific/Apia")
    start = datetime(2011, 12, 27, tzinfo=UTC)
    end = datetime(2012, 1, 3, tzinfo=UTC)
    schedule = parse_schedule("daily 08:00,20:00")
    slots = expand(schedule, anchor=date(2011, 1, 1), start=start, end=end, zones=zones)
    assert len(slots) == len(set(slots))
    assert slots == sorted(slots)


@pytest.mark.parametrize("text", ["every 2h from 06:00", "daily 08:00,20:00", "daily 06:00,23:30"])
@pytest.mark.parametrize(
    ("home", "away"),
    [
        ("America/Los_Angeles", "Asia/Tokyo"),
        ("Pacific/Honolulu", "Pacific/Kiritimati"),
        ("Asia/Tokyo", "America/Los_Angeles"),
    ],
)
@pytest.mark.parametrize("hours", [0, 5, 11, 17])
def test_a_long_trip_east_or_west_gives_sorted_distinct_slots(text, home, away, hours):
    """Flying far east, the first walls read in the new zone are instants before the last
    ones read at home (day order is no longer time order): the slots still come sorted,
    each intended wall time once."""
    flight = datetime(2026, 6, 10, hours, tzinfo=UTC)
    schedule = parse_schedule(text)
    start, end = datetime(2026, 6, 1, tzinfo=UTC), datetime(2026, 6, 20, tzinfo=UTC)
    zones = ZoneTimeline(home, [ZoneChange(effective_at=flight, zone=away)])
    slots = expand(schedule, anchor=date(2026, 1, 1), start=start, end=end, zones=zones)
    assert slots == sorted(slots) and len(slots) == len(set(slots))
