"""Adherence figures checked against months worked out by hand, plus properties."""

from __future__ import annotations

import itertools
import operator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from adherence_reference import summarize_as_needed, summarize_medication
from hypothesis import given
from hypothesis import strategies as st

from medtrack.core.adherence import DayStat, DayStats, DoseRows, Holiday, summarize
from medtrack.core.models import Dose, Medication, Regimen, ZoneChange
from medtrack.core.schedule import ZoneTimeline, expand, parse_schedule
from medtrack.core.slots import (
    DoseRecord,
    check_as_needed,
    choose_slot,
    has_schedule_in,
    judge,
    medication_slots,
    slot_for,
)

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
ZONES = ZoneTimeline("Europe/Berlin")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def berlin(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN).astimezone(UTC)


def regimen(name, schedule, start, *, dose="50 mg", ends=None, **kw) -> Regimen:
    amount, unit = dose.split()
    return Regimen(
        name, Dose(float(amount), unit), parse_schedule(schedule), start, ends_at=ends, **kw
    )


def med(name, schedule, start=None, **kw) -> Medication:
    start = start or berlin(2026, 11, 1)
    return Medication(name=name, regimens=(regimen(name, schedule, start, **kw),))


class Log:
    """Records doses the way `take`/`skip` do: attached when recorded, never re-matched."""

    def __init__(self, zones: ZoneTimeline = ZONES) -> None:
        self.records: list[DoseRecord] = []
        self.zones = zones

    def add(self, m: Medication, at: datetime, status: str = "taken", reason=None) -> None:
        answered = {r.scheduled_for for r in self.records if r.medication == m.name}
        slot = slot_for(m, at, self.zones)
        scheduled = slot.at if slot is not None and slot.at not in answered else None
        if status == "skipped":
            assert scheduled is not None, "a skip answers a slot"
        self.records.append(
            DoseRecord(
                m.name,
                at,
                status,
                scheduled_for=scheduled,
                skip_reason=reason,
                recorded_at=at,
                id=len(self.records) + 1,
            )
        )


NOVEMBER = (berlin(2026, 11, 1), berlin(2026, 12, 1))
AFTER_NOVEMBER = berlin(2026, 12, 1, 12)


def november_month():
    """Five medications over November 2026 with takes, skips and misses chosen by hand."""
    log = Log()
    sertraline = med("sertraline", "daily 08:00")
    lamotrigine = med("lamotrigine", "daily 08:00,20:00")
    lithium = med("lithium", "every 2 days 09:00")
    injection = med("paliperidone", "weekly sun 10:00")  # 1 Nov 2026 is a Sunday
    lorazepam = med("lorazepam", "as needed", max_per_day=2, min_interval=timedelta(hours=6))

    for day in range(1, 31):
        if day <= 10:
            log.add(sertraline, berlin(2026, 11, day, 8, 10))  # on time
        elif day <= 15:
            log.add(sertraline, berlin(2026, 11, day, 10, 30))  # 2.5 h late
        elif day == 16:
            log.add(sertraline, berlin(2026, 11, day, 8, 0), "skipped", "side-effects")
        elif day == 17:
            log.add(sertraline, berlin(2026, 11, day, 20, 0), "skipped", "forgot")
        elif day >= 21:
            log.add(sertraline, berlin(2026, 11, day, 7, 30))  # 30 min early: on time
        # 18, 19, 20: nothing -> missed
    log.add(sertraline, berlin(2026, 11, 25, 14, 0))  # extra: the 25th's slot is answered

    for day in range(1, 31):
        log.add(lamotrigine, berlin(2026, 11, day, 8, 0))
        if day <= 20:
            log.add(lamotrigine, berlin(2026, 11, day, 20, 30))
        elif day <= 25:
            log.add(lamotrigine, berlin(2026, 11, day, 22, 0))  # 2 h late
        elif day <= 28:
            log.add(lamotrigine, berlin(2026, 11, day, 20, 0), "skipped", "away")
        # 29, 30 evening: missed

    for day in range(1, 30, 2):
        if day == 7:
            continue  # missed
        if day == 13:
            log.add(lithium, berlin(2026, 11, 14, 8, 0))  # 23 h late, still its window
        elif day == 21:
            log.add(lithium, berlin(2026, 11, day, 9, 0), "skipped", "cost")
        else:
            log.add(lithium, berlin(2026, 11, day, 9, 15))

    log.add(injection, berlin(2026, 11, 1, 10, 0))
    # 8 Nov missed; 15 Nov taken on Wednesday the 18th; 22 Nov skipped; 29 Nov still open
    log.add(injection, berlin(2026, 11, 18, 12, 0))
    log.add(injection, berlin(2026, 11, 22, 10, 0), "skipped", "felt-better")

    log.add(lorazepam, berlin(2026, 11, 3, 22, 0))
    for hour in (8, 14, 21):
        log.add(lorazepam, berlin(2026, 11, 10, hour, 0))  # three: one above the max of 2
    log.add(lorazepam, berlin(2026, 11, 20, 9, 0))
    log.add(lorazepam, berlin(2026, 11, 20, 18, 0))

    meds = [sertraline, lamotrigine, lithium, injection, lorazepam]
    return meds, log.records


@pytest.fixture(scope="module")
def month():
    meds, records = november_month()
    start, end = NOVEMBER
    return summarize(meds, records, start=start, end=end, now=AFTER_NOVEMBER, zones=ZONES)


def by_name(summary, name):
    return next(m for m in summary.medications if m.medication == name)


def test_once_daily_month_figure_by_figure(month):
    s = by_name(month, "sertraline")
    assert (s.due, s.taken, s.on_time, s.late, s.early) == (30, 25, 20, 5, 0)
    assert (s.skipped, s.missed, s.pending, s.extra) == (2, 3, 0, 1)
    assert s.skipped_by_reason == {"forgot": 1, "side-effects": 1}
    assert s.taking_adherence == 83.3  # 25 / 30
    assert s.timing_adherence == 66.7  # 20 / 30
    # 25 days taken, but the 25th also had an extra dose: 24 of 30 days correct.
    assert (s.correct_days, s.judged_days, s.correct_dosing) == (24, 30, 80.0)
    # 16-17 skipped, 18-20 missed: five scheduled days with no dose.
    assert s.holidays == (Holiday(date(2026, 11, 16), date(2026, 11, 20), 5),)
    assert (s.current_streak, s.longest_streak) == (10, 15)


def test_twice_daily_month(month):
    s = by_name(month, "lamotrigine")
    assert (s.due, s.taken, s.on_time, s.late) == (60, 55, 50, 5)
    assert (s.skipped, s.missed, s.pending, s.extra) == (3, 2, 0, 0)
    assert s.skipped_by_reason == {"away": 3}
    assert s.taking_adherence == 91.7  # 55 / 60
    assert s.timing_adherence == 83.3  # 50 / 60
    assert (s.correct_days, s.judged_days, s.correct_dosing) == (25, 30, 83.3)
    assert s.holidays == ()  # every day had its morning dose
    assert (s.current_streak, s.longest_streak) == (0, 25)
    assert s.days[0].due == 2 and s.days[28].cell == "partly"


def test_every_two_days_month(month):
    s = by_name(month, "lithium")
    assert (s.due, s.taken, s.on_time, s.late) == (15, 13, 12, 1)
    assert (s.skipped, s.missed, s.pending) == (1, 1, 0)
    assert s.taking_adherence == 86.7  # 13 / 15
    assert s.timing_adherence == 80.0  # 12 / 15
    assert (s.correct_days, s.judged_days) == (13, 15)
    # Runs of taken scheduled days: 1,3,5 | 9..19 (six) | 23..29 (four).
    assert (s.current_streak, s.longest_streak) == (4, 6)
    # The late dose of the 13th counts on the 13th, its slot's day; the 14th is unscheduled.
    assert s.days[12].taken == 1 and s.days[13].cell == "unscheduled"
    assert s.days[6].cell == "none" and s.days[20].cell == "skipped"


def test_weekly_month_with_open_last_slot(month):
    s = by_name(month, "paliperidone")
    assert (s.due, s.taken, s.on_time, s.late) == (5, 2, 1, 1)
    assert (s.skipped, s.missed, s.pending) == (1, 1, 1)
    # 29 Nov accepts a dose until the next Sunday's slot opens: pending, not missed.
    assert s.taking_adherence == 50.0  # 2 / (5 - 1)
    assert s.timing_adherence == 25.0
    assert (s.correct_days, s.judged_days) == (2, 4)
    assert (s.current_streak, s.longest_streak) == (0, 1)


def test_as_needed_month_kept_out_of_percentages(month):
    (a,) = month.as_needed
    assert (a.medication, a.uses, a.days_above_max, a.max_per_day) == ("lorazepam", 6, 1, 2)
    assert a.per_week == 1.4  # 6 uses over 30/7 weeks
    assert "lorazepam" not in [m.medication for m in month.medications]


def test_overall_weighted_by_doses_due(month):
    o = month.overall
    assert (o.due, o.taken, o.on_time, o.pending) == (110, 95, 83, 1)
    assert o.taking_adherence == 87.2  # 95 / 109
    assert o.timing_adherence == 76.1  # 83 / 109
    assert (o.correct_days, o.judged_days, o.correct_dosing) == (64, 79, 81.0)
    assert month.threshold == 80.0


def test_titration_mid_window_judges_each_slot_by_its_regimen():
    first = regimen("lamotrigine", "daily 20:00", berlin(2026, 11, 1), dose="25 mg")
    first = first._replace(ends_at=berlin(2026, 11, 15))
    second = regimen("lamotrigine", "daily 08:00,20:00", berlin(2026, 11, 15), dose="50 mg")
    lam = Medication(name="lamotrigine", regimens=(first, second))
    slots = medication_slots(lam, *NOVEMBER, ZONES)
    assert len(slots) == 14 + 2 * 16
    assert {s.regimen.dose.amount for s in slots if s.at < berlin(2026, 11, 15)} == {25.0}
    assert {s.regimen.dose.amount for s in slots if s.at >= berlin(2026, 11, 15)} == {50.0}
    # The old regimen's last slot closes when the new regimen's first slot opens.
    last_old = next(s for s in slots if s.at == berlin(2026, 11, 14, 20))
    assert last_old.closes == berlin(2026, 11, 15, 5)

    log = Log()
    for s in slots:
        if s.at != berlin(2026, 11, 15, 8):
            log.add(lam, s.at + timedelta(minutes=5))
    result = summarize(
        [lam], log.records, start=NOVEMBER[0], end=NOVEMBER[1], now=AFTER_NOVEMBER, zones=ZONES
    )
    s = result.medications[0]
    assert (s.due, s.taken, s.missed) == (46, 45, 1)
    assert s.taking_adherence == 97.8  # 45 / 46
    assert (s.correct_days, s.judged_days) == (29, 30)
    assert (s.days[13].due, s.days[14].due) == (1, 2)


def test_dst_days_in_berlin():
    # Spring forward 29 Mar 2026: 02:30 does not exist and moves to 03:30 CEST (01:30 UTC).
    m = med("nightly", "daily 02:30", start=berlin(2026, 3, 1))
    slots = medication_slots(m, berlin(2026, 3, 28), berlin(2026, 3, 31), ZONES)
    assert [s.at for s in slots] == [
        datetime(2026, 3, 28, 1, 30, tzinfo=UTC),
        datetime(2026, 3, 29, 1, 30, tzinfo=UTC),
        datetime(2026, 3, 30, 0, 30, tzinfo=UTC),
    ]
    assert [s.day for s in slots] == [date(2026, 3, 28), date(2026, 3, 29), date(2026, 3, 30)]
    log = Log()
    log.add(m, berlin(2026, 3, 29, 3, 40))  # ten minutes after the moved slot
    window = (berlin(2026, 3, 29), berlin(2026, 3, 30))
    result = summarize(
        [m], log.records, start=window[0], end=window[1], now=berlin(2026, 4, 1), zones=ZONES
    )
    s = result.medications[0]
    assert (s.due, s.taken, s.on_time) == (1, 1, 1)

    # Fall back 25 Oct 2026: a 25-hour day still has exactly two slots of a twice-daily plan.
    m = med("twice", "daily 08:00,20:00", start=berlin(2026, 10, 1))
    day = (berlin(2026, 10, 25), berlin(2026, 10, 26))
    assert day[1] - day[0] == timedelta(hours=25)
    slots = medication_slots(m, *day, ZONES)
    assert [s.at.hour for s in slots] == [7, 19]  # 08:00 and 20:00 CET
    log = Log()
    log.add(m, berlin(2026, 10, 25, 8, 10))
    log.add(m, berlin(2026, 10, 25, 21, 10))  # 70 min: late
    result = summarize(
        [m], log.records, start=day[0], end=day[1], now=berlin(2026, 10, 27), zones=ZONES
    )
    s = result.medications[0]
    assert (s.due, s.taken, s.on_time, s.late, s.correct_days) == (2, 2, 1, 1, 1)


def test_flying_from_berlin_to_new_york_mid_month():
    flight = datetime(2026, 11, 15, 15, 0, tzinfo=UTC)
    zones = ZoneTimeline(
        "Europe/Berlin",
        [ZoneChange(EPOCH, "Europe/Berlin"), ZoneChange(flight, "America/New_York")],
    )
    m = med("sertraline", "daily 08:00")
    start = berlin(2026, 11, 1)
    end = datetime(2026, 12, 1, tzinfo=NEW_YORK).astimezone(UTC)
    slots = medication_slots(m, start, end, zones)
    assert len(slots) == 30
    assert slots[14].at == datetime(2026, 11, 15, 7, 0, tzinfo=UTC)  # 08:00 in Berlin
    assert slots[15].at == datetime(2026, 11, 16, 13, 0, tzinfo=UTC)  # 08:00 in New York
    assert [s.day for s in slots] == [date(2026, 11, d) for d in range(1, 31)]

    log = Log(zones)
    for s in slots:
        if s.day != date(2026, 11, 16):
            log.add(m, s.at + timedelta(minutes=5))
    # Jet-lagged, 03:00 in New York on the 16th: still the 15th's window, already answered.
    log.add(m, datetime(2026, 11, 16, 3, 0, tzinfo=NEW_YORK).astimezone(UTC))
    assert log.records[-1].scheduled_for is None
    result = summarize(
        [m], log.records, start=start, end=end, now=datetime(2026, 12, 2, tzinfo=UTC), zones=zones
    )
    s = result.medications[0]
    assert (s.due, s.taken, s.missed, s.extra) == (30, 29, 1, 1)
    assert s.taking_adherence == 96.7
    assert s.days[15].cell == "none" and s.days[15].extra == 1  # counted on its own day
    assert len(s.days) == 30


def test_slot_windows_and_statuses():
    m = med("lamotrigine", "daily 08:00,20:00")
    morning = slot_for(m, berlin(2026, 11, 5, 5, 0), ZONES)
    assert morning is not None and morning.at == berlin(2026, 11, 5, 8)
    assert (morning.opens, morning.closes) == (berlin(2026, 11, 5, 5), berlin(2026, 11, 5, 17))
    assert slot_for(m, berlin(2026, 11, 1, 4, 59), ZONES) is None  # before the first slot opens
    slots = medication_slots(m, berlin(2026, 11, 5), berlin(2026, 11, 6), ZONES)
    judged = judge(slots, [], berlin(2026, 11, 5, 20, 30))
    assert [j.status for j in judged] == ["missed", "pending"]
    judged = judge(slots, [], berlin(2026, 11, 5, 16, 59))
    assert [j.status for j in judged] == ["pending", "later"]


def test_stopped_medication_last_slot_closes_after_its_gap():
    m = med("quetiapine", "daily 22:00")
    m = Medication(name=m.name, regimens=m.regimens, stopped_at=berlin(2026, 11, 10, 12))
    slots = medication_slots(m, *NOVEMBER, ZONES)
    assert len(slots) == 9 and slots[-1].closes == berlin(2026, 11, 10, 22)


def test_as_needed_limits():
    r = regimen(
        "lorazepam",
        "as needed",
        berlin(2026, 11, 1),
        max_per_day=2,
        min_interval=timedelta(hours=6),
    )
    taken = [berlin(2026, 11, 10, 8), berlin(2026, 11, 10, 15)]
    check = check_as_needed(r, taken, berlin(2026, 11, 10, 18), ZONES)
    assert check.too_many and check.too_soon
    assert check.next_allowed == berlin(2026, 11, 11)  # the later of 21:00 and midnight
    check = check_as_needed(r, taken[:1], berlin(2026, 11, 10, 12), ZONES)
    assert not check.too_many and check.too_soon and check.next_allowed == berlin(2026, 11, 10, 14)
    check = check_as_needed(r, taken[:1], berlin(2026, 11, 10, 14), ZONES)
    assert not check.too_many and not check.too_soon and check.next_allowed is None


# --- properties -----------------------------------------------------------------------------

SCHEDULES = (
    "daily 08:00",
    "daily 08:00,20:00",
    "every 2 days 09:00",
    "weekly sun 10:00",
    "every 8h from 06:00",
    "mon,wed,fri 21:00",
)
WINDOW_START = berlin(2026, 11, 1)
WINDOW_DAYS = 14

doses_strategy = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=WINDOW_DAYS * 24 * 60),
        st.sampled_from(["taken", "taken", "skipped"]),
    ),
    max_size=30,
)


def _logged(m: Medication, doses) -> Log:
    log = Log()
    for minutes, status in doses:
        at = WINDOW_START + timedelta(minutes=minutes)
        if status == "skipped":
            slot = slot_for(m, at, ZONES)
            answered = {r.scheduled_for for r in log.records}
            if slot is None or slot.at in answered:
                continue
        log.add(m, at, status, "forgot" if status == "skipped" else None)
    return log


def _summary(m: Medication, records, now_minutes: int):
    now = WINDOW_START + timedelta(minutes=now_minutes)
    end = WINDOW_START + timedelta(days=WINDOW_DAYS)
    return summarize([m], records, start=WINDOW_START, end=end, now=now, zones=ZONES)


@given(
    schedule=st.sampled_from(SCHEDULES),
    doses=doses_strategy,
    now_minutes=st.integers(min_value=0, max_value=(WINDOW_DAYS + 10) * 24 * 60),
)
def test_counts_add_up_and_percentages_stay_in_range(schedule, doses, now_minutes):
    m = med("x", schedule)
    log = _logged(m, [d for d in doses if d[0] <= now_minutes])
    summary = _summary(m, log.records, now_minutes)
    for s in summary.medications:
        assert s.taken + s.skipped + s.missed + s.pending == s.due
        assert s.on_time + s.late + s.early == s.taken
        assert sum(s.skipped_by_reason.values()) == s.skipped
        for value in (s.taking_adherence, s.timing_adherence, s.correct_dosing):
            assert value is None or 0 <= value <= 100
        assert 0 <= s.current_streak <= s.longest_streak <= s.judged_days
    o = summary.overall
    for value in (o.taking_adherence, o.timing_adherence, o.correct_dosing):
        assert value is None or 0 <= value <= 100


@given(
    schedule=st.sampled_from(SCHEDULES),
    doses=doses_strategy,
    now_minutes=st.integers(min_value=0, max_value=(WINDOW_DAYS + 2) * 24 * 60),
    extra_minutes=st.integers(min_value=0, max_value=(WINDOW_DAYS + 2) * 24 * 60),
)
def test_one_more_taken_dose_for_an_open_slot_never_lowers_taking_adherence(
    schedule, doses, now_minutes, extra_minutes
):
    m = med("x", schedule)
    log = _logged(m, [d for d in doses if d[0] <= now_minutes])
    before = _summary(m, log.records, now_minutes).medications[0].taking_adherence
    at = WINDOW_START + timedelta(minutes=min(extra_minutes, now_minutes))
    slot = slot_for(m, at, ZONES)
    answered = {r.scheduled_for for r in log.records}
    if slot is None or slot.at in answered:
        return  # not an open slot: nothing to compare
    log.add(m, at)
    after = _summary(m, log.records, now_minutes).medications[0].taking_adherence
    assert after is not None
    assert before is None or after >= before


@given(schedule=st.sampled_from(SCHEDULES), doses=doses_strategy)
def test_attachment_is_deterministic_and_one_record_per_slot(schedule, doses):
    m = med("x", schedule)
    first = _logged(m, doses).records
    again = _logged(m, doses).records
    assert [r.scheduled_for for r in first] == [r.scheduled_for for r in again]
    attached = [r.scheduled_for for r in first if r.scheduled_for is not None]
    assert len(attached) == len(set(attached))
    for record in first:
        if record.scheduled_for is not None:
            slot = slot_for(m, record.taken_at, ZONES)
            assert slot is not None and slot.at == record.scheduled_for
            assert slot.opens <= record.taken_at < slot.closes


@given(schedule=st.sampled_from(SCHEDULES), minutes=st.integers(0, WINDOW_DAYS * 24 * 60))
def test_slot_for_agrees_with_the_windows_of_a_long_expansion(schedule, minutes):
    m = med("x", schedule)
    at = WINDOW_START + timedelta(minutes=minutes)
    slots = medication_slots(m, WINDOW_START - timedelta(days=10), at + timedelta(days=10), ZONES)
    expected = choose_slot(slots, at, answered=())
    assert slot_for(m, at, ZONES) == expected
    for earlier, later in itertools.pairwise(slots):
        assert earlier.closes == later.opens and earlier.opens <= earlier.at < earlier.closes


@given(
    schedule=st.sampled_from(
        (
            *SCHEDULES,
            "every 5h from 06:00",
            "every 3 weeks tue,sat 10:00",
            "every 2 months 31 09:00",
            "every 3 days 07:30",
            "RRULE:FREQ=MONTHLY;BYDAY=1MO;BYHOUR=9",
        )
    ),
    start_days=st.integers(min_value=0, max_value=4000),
    offset_days=st.integers(min_value=0, max_value=4000),
)
def test_moving_the_anchor_by_whole_periods_keeps_every_slot(schedule, start_days, offset_days):
    from medtrack.core.slots import _anchor, _phase_anchor

    started = berlin(2014, 1, 31) + timedelta(days=start_days)
    r = regimen("x", schedule, started)
    lo = started + timedelta(days=offset_days)
    hi = lo + timedelta(days=70)
    s = r.schedule
    slow = expand(s, anchor=_anchor(r, ZONES), start=lo, end=hi, zones=ZONES)
    fast = expand(s, anchor=_phase_anchor(r, lo, ZONES), start=lo, end=hi, zones=ZONES)
    assert fast == slow


@given(
    first=st.sampled_from((*SCHEDULES, "as needed")),
    second=st.sampled_from((*SCHEDULES, "as needed")),
    start_hours=st.integers(-5 * 24, 10 * 24),
    change_hours=st.one_of(st.none(), st.integers(1, 10 * 24)),
    stop_hours=st.one_of(st.none(), st.integers(1, 16 * 24)),
    doses=doses_strategy,
    loose=st.lists(st.tuples(st.integers(0, WINDOW_DAYS * 24 * 60), st.booleans()), max_size=6),
    window=st.tuples(st.integers(-3 * 24, 10 * 24), st.integers(1, 20 * 24)),
    now_hours=st.integers(0, (WINDOW_DAYS + 10) * 24),
    on_time=st.sampled_from([0, 15, 60, 150]),
    classified_at=st.sampled_from([None, 15, 60]),
    claims=st.lists(
        st.tuples(
            st.integers(0, 10_000),
            st.sampled_from(["taken", "skipped"]),
            st.sampled_from([None, "", "away", "cost"]),
            st.integers(-200, 200),
        ),
        max_size=4,
    ),
)
def test_summarize_equals_the_slot_by_slot_figures(
    first,
    second,
    start_hours,
    change_hours,
    stop_hours,
    doses,
    loose,
    window,
    now_hours,
    on_time,
    classified_at,
    claims,
):
    """`summarize` works on epoch seconds without a Slot per dose; `summarize_medication`
    and `summarize_as_needed` judge Slot by Slot: they agree on any plan, change of plan,
    stop, records (including extra doses, records for no slot, and several records
    claiming one slot, taken or skipped, of which the first answers it), window and
    on-time window, whether the rows come as records, classified at that on-time window,
    or classified at another (or not at all) so that the delays are taken again."""
    start = WINDOW_START + timedelta(hours=start_hours)
    regimens = [regimen("x", first, start)]
    if change_hours is not None:
        change = start + timedelta(hours=change_hours)
        regimens = [
            regimen("x", first, start, ends=change),
            regimen("x", second, change, dose="100 mg"),
        ]
    stopped = None if stop_hours is None else start + timedelta(hours=stop_hours)
    m = Medication(name="x", regimens=tuple(regimens), stopped_at=stopped)
    log = _logged(m, doses)
    for minutes, stray in loose:
        at = WINDOW_START + timedelta(minutes=minutes)
        # An extra dose, or one that names an instant no slot has.
        log.records.append(
            DoseRecord("x", at, "taken", scheduled_for=at if stray else None, id=999 + minutes)
        )
    lo = WINDOW_START + timedelta(hours=window[0])
    hi = lo + timedelta(hours=window[1])
    claimed = medication_slots(m, lo, hi, ZONES)
    for n, (pick, status, reason, minutes) in enumerate(claims if claimed else ()):
        # A record for a slot of the window, whether or not another already answers it.
        at = claimed[pick % len(claimed)].at
        log.records.append(
            DoseRecord(
                "x",
                at + timedelta(minutes=minutes),
                status,
                scheduled_for=at,
                skip_reason=reason if status == "skipped" else None,
                id=20_000 + n,
            )
        )
    log.records.sort(key=lambda r: (r.taken_at, r.id))
    now = WINDOW_START + timedelta(hours=now_hours)
    on_time_window = timedelta(minutes=on_time)
    rows = DoseRows.from_records(
        log.records, None if classified_at is None else timedelta(minutes=classified_at)
    )
    common = dict(start=lo, end=hi, now=now, zones=ZONES, on_time_window=on_time_window)
    result = summarize([m], log.records, **common)
    assert summarize([m], rows, **common) == result
    slots = medication_slots(m, lo, hi, ZONES)
    scheduled = [
        summarize_medication(m, slots, log.records, **common)
        for _ in range(has_schedule_in(m, lo, hi))
    ]
    assert list(result.medications) == scheduled
    prn = summarize_as_needed(m, log.records, start=lo, end=hi, now=now, zones=ZONES)
    assert list(result.as_needed) == ([prn] if prn is not None else [])


@given(
    counts=st.lists(st.tuples(*[st.integers(0, 3)] * 6), max_size=40),
    lo=st.integers(-45, 45),
    hi=st.integers(-45, 45),
)
def test_day_columns_read_as_the_daystats_they_hold(counts, lo, hi):
    """`DayStats` keeps a window's days as columns; read any way, it is the tuple of
    DayStats it stands for, and the sparkline and JSON drawn from its columns agree."""
    from medtrack.render.terminal import _daily, sparkline

    first = date(2026, 3, 1)
    stats = tuple(DayStat(first + timedelta(days=i), *c) for i, c in enumerate(counts))
    lists = [[c[k] for c in counts] for k in range(6)]
    columns = DayStats(first, *lists)
    assert columns == stats and list(columns) == list(stats) and len(columns) == len(stats)
    assert columns[lo:hi] == stats[lo:hi] and tuple(columns[lo:hi]) == stats[lo:hi]
    assert columns[::2] == stats[::2]
    if stats:
        assert columns[lo % len(stats)] == stats[lo % len(stats)] and columns[-1] == stats[-1]
    with pytest.raises(IndexError):
        columns[len(stats)]
    assert sparkline(columns, 7) == sparkline(stats, 7)
    assert _daily(columns) == _daily(stats)


_ANY_SUMMARY = summarize(
    [med("x", "daily 08:00")],
    [],
    start=WINDOW_START,
    end=WINDOW_START + timedelta(days=2),
    now=WINDOW_START + timedelta(days=2),
    zones=ZONES,
).medications[0]


@given(
    counts=st.lists(st.tuples(*[st.integers(0, 3)] * 6), min_size=1, max_size=80),
    shift=st.integers(-10, 10),
    cell_days=st.sampled_from([1, 7]),
)
def test_report_strip_from_day_columns_equals_the_daystats(counts, shift, cell_days):
    """The report sums each strip cell from the day columns; a tuple of the same DayStats
    gives the same cells."""
    from medtrack.core.report import _adherence_row

    first = date(2026, 3, 1)
    columns = DayStats(first, *[[c[k] for c in counts] for k in range(6)])
    strip_days = [first + timedelta(days=shift + i) for i in range(0, len(counts), cell_days)]
    fast = _adherence_row("x", _ANY_SUMMARY, columns, strip_days, cell_days)
    plain = _adherence_row("x", _ANY_SUMMARY, tuple(columns), strip_days, cell_days)
    assert fast.strip == plain.strip


def _slots_regimen_by_regimen(m: Medication, start, end, zones):
    """The slot columns the plain way: each regimen expanded on its own from its anchor."""
    from medtrack.core.schedule import expand_columns
    from medtrack.core.slots import _phase_anchor, _regimen_end

    ats, days, regimens = [], [], []
    for r in m.regimens:
        lo = max(start, r.starts_at)
        stop = _regimen_end(m, r)
        hi = end if stop is None else min(end, stop)
        if r.schedule.as_needed or lo >= hi:
            continue
        found_ats, found_days = expand_columns(
            r.schedule, anchor=_phase_anchor(r, lo, zones), start=lo, end=hi, zones=zones
        )
        ats += found_ats
        days += found_days
        regimens += [r] * len(found_ats)
    return ats, days, regimens


RHYTHMS = st.sampled_from(
    (
        "daily 08:00",
        "daily 07:00,13:00,19:30",
        "every 2 days 09:00",
        "every 3 days 07:30",
        "weekly sun 10:00",
        "every 4 weeks mon 10:00",
        "mon,wed,fri 21:00",
        "every 2h from 07:00",
        "every 8h from 06:00",
        "every 5h from 06:00",
        "monthly 1 09:00",
    )
)


@given(
    first=RHYTHMS,
    changes=st.lists(st.one_of(st.none(), RHYTHMS), min_size=1, max_size=3),
    first_hour=st.integers(0, 400 * 24),
    lengths=st.lists(st.integers(1, 60 * 24), min_size=4, max_size=4),
    window=st.tuples(st.integers(-3 * 24, 30 * 24), st.integers(1, 200 * 24)),
    zone=st.sampled_from(["Europe/Berlin", "America/New_York", "Pacific/Apia", "UTC"]),
    trip=st.one_of(st.none(), st.integers(0, 500 * 24)),
)
def test_contiguous_regimens_of_one_rhythm_expand_as_each_alone(
    first, changes, first_hour, lengths, window, zone, trip
):
    """`_slot_columns` expands a run of regimens that carry one rule on at once: the same
    slots, days and regimens as expanding each regimen alone, over dose changes at any
    hour, DST changes, the day Samoa skipped (2011-12-30) and a trip."""
    from medtrack.core.slots import _slot_columns, _span_regimens

    origin = datetime(2011, 6, 1, tzinfo=UTC)
    moves = ()
    if trip is not None:
        moves = (ZoneChange(origin + timedelta(hours=trip), "Asia/Tokyo"),)
    zones = ZoneTimeline(zone, moves)
    # A rule carried on (None: as a decade of dose changes mostly are), or another.
    schedules = [first]
    for change in changes:
        schedules.append(schedules[-1] if change is None else change)
    bounds = [origin + timedelta(hours=first_hour)]
    for hours in lengths[: len(schedules)]:
        bounds.append(bounds[-1] + timedelta(hours=hours))
    regimens = tuple(
        regimen("x", schedule, lo, dose=f"{10 * (k + 1)} mg", ends=hi)
        for k, (schedule, lo, hi) in enumerate(zip(schedules, bounds, bounds[1:], strict=False))
    )
    m = Medication(name="x", regimens=regimens)
    lo = bounds[1] - timedelta(hours=window[0])  # mostly from before the first change on
    hi = lo + timedelta(hours=window[1])
    ats, days, spans = _slot_columns(m, lo, hi, zones)
    plain_ats, plain_days, plain_regimens = _slots_regimen_by_regimen(m, lo, hi, zones)
    assert ats == plain_ats and days == plain_days
    together = _span_regimens(spans)
    assert len(together) == len(plain_regimens)
    assert all(map(operator.is_, together, plain_regimens))


# Days since 2011-06-01 of the DST changes of 2011-2012 in Berlin (151, 298), New York
# (158, 284) and Apia (115, 305), and of Samoa's skipped day (212), each with its neighbours.
_CHANGE_DAYS = [d + k for d in (115, 151, 158, 212, 284, 298, 305) for k in (-1, 0, 1)]


@given(
    instants=st.lists(
        st.tuples(
            # Any day, or one at or next to a DST change of a zone below (and Samoa's).
            st.one_of(st.integers(0, 500), st.sampled_from(_CHANGE_DAYS)),
            st.integers(0, 23),
            st.sampled_from([-1.0, -0.5, -1e-6, 0.0, 1e-6, 0.5, 1799.5]),
        ),
        max_size=300,
    ),
    zone=st.sampled_from(["Europe/Berlin", "America/New_York", "Pacific/Apia", "UTC"]),
    trips=st.lists(
        st.tuples(st.integers(0, 500 * 24), st.sampled_from(["Asia/Tokyo", "America/Los_Angeles"])),
        max_size=2,
    ),
)
def test_local_days_in_bulk_are_each_instants_own(instants, zone, trips):
    """`_local_ordinals` (the as-needed doses' local days, by stretches of one UTC offset)
    gives each instant the local day `_local_day` does: across DST changes, the day Samoa
    skipped (2011-12-30), trips east and west, and instants at or a hair either side of
    a whole hour (so of local midnights, where stretches and days begin)."""
    from medtrack.core.adherence import _local_ordinals
    from medtrack.core.slots import _local_day

    origin = datetime(2011, 6, 1, tzinfo=UTC).timestamp()
    moves = tuple(
        ZoneChange(datetime(2011, 6, 1, tzinfo=UTC) + timedelta(hours=hours), name)
        for hours, name in sorted(trips)
    )
    zones = ZoneTimeline(zone, moves)
    epochs = sorted(origin + day * 86400 + hour * 3600 + delta for day, hour, delta in instants)
    expected = [_local_day(datetime.fromtimestamp(e, UTC), zones).toordinal() for e in epochs]
    assert _local_ordinals(epochs, zones) == expected


@given(
    plans=st.lists(
        st.tuples(
            st.sampled_from(["as needed", "daily 08:00"]),
            st.one_of(st.none(), st.integers(1, 4)),
            st.integers(1, 3 * 24),
        ),
        min_size=1,
        max_size=4,
    ),
    gap=st.sampled_from([0, 0, 5]),
    records=st.lists(
        st.tuples(
            st.integers(-1 * 24 * 60, 8 * 24 * 60),
            st.sampled_from([0, -1, 1]),
            st.sampled_from(["taken", "taken", "skipped"]),
        ),
        max_size=60,
    ),
    window=st.tuples(st.integers(-1 * 24, 5 * 24), st.integers(1, 10 * 24)),
)
def test_as_needed_figures_equal_the_dose_by_dose_ones(plans, gap, records, window):
    """`summarize`'s as-needed figures (doses picked per regimen as slices of the records,
    local days in bulk) equal `summarize_as_needed`'s dose by dose: over plans changing
    between as needed (several maxima, or none) and scheduled, with or without a gap
    between them, and records taken or skipped, some a second either side of a change."""
    bounds = [WINDOW_START]
    regimens = []
    for n, (schedule, most, hours) in enumerate(plans):
        starts = bounds[-1] + timedelta(minutes=gap)
        bounds.append(starts + timedelta(hours=hours))
        last = n == len(plans) - 1
        regimens.append(
            regimen("x", schedule, starts, ends=None if last else bounds[-1], max_per_day=most)
        )
    m = Medication(name="x", regimens=tuple(regimens))
    log = []
    for n, (minutes, second, status) in enumerate(records):
        # Near a change of plan for some: a second either side of a bound.
        base = bounds[minutes % len(bounds)] if second else WINDOW_START
        at = base + timedelta(minutes=0 if second else minutes, seconds=second)
        log.append(DoseRecord("x", at, status, id=n + 1))
    log.sort(key=lambda r: (r.taken_at, r.id))
    lo = WINDOW_START + timedelta(hours=window[0])
    hi = lo + timedelta(hours=window[1])
    now = hi + timedelta(hours=1)
    for rows in (log, DoseRows.from_records(log, None)):
        result = summarize([m], rows, start=lo, end=hi, now=now, zones=ZONES)
        prn = summarize_as_needed(m, log, start=lo, end=hi, now=now, zones=ZONES)
        assert list(result.as_needed) == ([prn] if prn is not None else [])


def test_each_as_needed_dose_is_held_to_its_own_regimens_maximum():
    """A day whose doses fall under two as-needed regimens is above the maximum only where
    a dose exceeds the maximum of the regimen it was taken under (here: never)."""
    change = WINDOW_START + timedelta(hours=10)
    m = Medication(
        name="x",
        regimens=(
            regimen("x", "as needed", WINDOW_START, ends=change, max_per_day=1),
            regimen("x", "as needed", change, max_per_day=4),
        ),
    )
    log = [
        DoseRecord("x", WINDOW_START + timedelta(hours=h), "taken", id=h) for h in (1, 11, 12, 13)
    ]
    hi = WINDOW_START + timedelta(days=2)
    (prn,) = summarize([m], log, start=WINDOW_START, end=hi, now=hi, zones=ZONES).as_needed
    assert (prn.uses, prn.days_above_max) == (4, 0)
