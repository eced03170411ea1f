"""Adherence figures checked against months worked out by hand, plus properties."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from medtrack.core.adherence import Holiday, summarize
from medtrack.core.models import Dose, Medication, Regimen, ZoneChange
from medtrack.core.schedule import ZoneTimeline, parse_schedule
from medtrack.core.slots import (
    DoseRecord,
    check_as_needed,
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
    """Records doses and skips as `take` and `skip` store them: what happened, nothing
    about which slot each answers (judged on every read)."""

    def __init__(self, zones: ZoneTimeline = ZONES) -> None:
        self.records: list[DoseRecord] = []
        self.zones = zones

    def add(self, m: Medication, at: datetime, status: str = "taken", reason=None) -> None:
        self.records.append(
            DoseRecord(
                m.name, at, status, skip_reason=reason, recorded_at=at, id=len(self.records) + 1
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
    # Correct dosing counts every day with the plan in force: 13 of the 15 scheduled days
    # (the 7th missed, the 21st skipped) and all 15 off-days (no dose on any of them; the
    # 14th's dose answers the 13th's slot, late), so 28 of 30.
    assert (s.correct_days, s.judged_days) == (28, 30)
    # Every 2 days: on time within a quarter of the interval, 12 h. The 13th's dose, 23 h
    # late, is late; no drug holiday is counted (doses more than a day apart), the
    # missed and late doses are listed with their dates instead.
    assert s.holidays == ()
    assert s.late_or_missed == ((date(2026, 11, 7), "missed"), (date(2026, 11, 13), "late"))
    # Runs of taken scheduled days: 1,3,5 | 9..19 (six) | 23..29 (four).
    assert (s.current_streak, s.longest_streak) == (4, 6)
    # The late dose of the 13th counts on the 13th, its slot's day; the 14th is unscheduled.
    assert s.days[12].taken == 1 and s.days[13].cell == "unscheduled"
    assert s.days[6].cell == "none" and s.days[20].cell == "skipped"


def test_weekly_month_with_open_last_slot(month):
    s = by_name(month, "paliperidone")
    assert (s.due, s.taken, s.on_time, s.late) == (5, 2, 1, 1)
    # 29 Nov accepts a dose until the next Sunday's slot opens, but on 1 Dec at noon it is
    # past its on-time window (a day, for weekly): overdue, counted as not taken.
    assert (s.skipped, s.missed, s.overdue, s.pending) == (1, 1, 1, 0)
    assert s.taking_adherence == 40.0  # 2 / 5
    assert s.timing_adherence == 20.0  # 1 / 5: the 18th's dose for the 15th is 3 days late
    # Settled days with the plan in force: 29 (the 29th is still open). Correct: the 1st
    # and the 15th (taken, late) and the 25 off-days with no dose; not the 8th or 22nd.
    assert (s.correct_days, s.judged_days) == (27, 29)
    assert (s.current_streak, s.longest_streak) == (0, 1)
    assert s.late_or_missed == (
        (date(2026, 11, 8), "missed"),
        (date(2026, 11, 15), "late"),
        (date(2026, 11, 29), "overdue"),
    )


def test_as_needed_month_kept_out_of_percentages(month):
    (a,) = month.as_needed
    assert (a.medication, a.uses, a.days_above_max, a.max_per_day) == ("lorazepam", 6, 1, 2)
    assert a.per_week == 1.4  # 6 uses over 30/7 weeks
    assert "lorazepam" not in [m.medication for m in month.medications]


def test_overall_weighted_by_doses_due(month):
    o = month.overall
    assert (o.due, o.taken, o.on_time, o.pending, o.overdue) == (110, 95, 83, 0, 1)
    assert o.taking_adherence == 86.4  # 95 / 110 = 86.36
    assert o.timing_adherence == 75.5  # 83 / 110 = 75.45
    # 24 + 25 + 28 + 27 correct of 30 + 30 + 30 + 29 settled plan days: 104 / 119 = 87.39
    assert (o.correct_days, o.judged_days, o.correct_dosing) == (104, 119, 87.4)
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
    judged = judge(m, slots, [], berlin(2026, 11, 5, 20, 30)).slots
    assert [j.status for j in judged] == ["missed", "pending"]
    # Within the on-time window (60 min) a slot is pending; past it, overdue until a dose
    # answers it or the window closes.
    judged = judge(m, slots, [], berlin(2026, 11, 5, 9, 0)).slots
    assert [j.status for j in judged] == ["pending", "later"]
    judged = judge(m, slots, [], berlin(2026, 11, 5, 9, 1)).slots
    assert [j.status for j in judged] == ["overdue", "later"]
    judged = judge(m, slots, [], berlin(2026, 11, 5, 16, 59)).slots
    assert [j.status for j in judged] == ["overdue", "later"]


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
    "every 4 weeks mon 10:00",
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
        log.add(m, WINDOW_START + timedelta(minutes=minutes), status, "forgot")
    return log


def _summary(m: Medication, records, now_minutes: int):
    now = WINDOW_START + timedelta(minutes=now_minutes)
    end = WINDOW_START + timedelta(days=WINDOW_DAYS)
    return summarize([m], records, start=WINDOW_START, end=end, now=now, zones=ZONES)


def _answers(m: Medication, records, now: datetime) -> dict[datetime, int | None]:
    """Slot -> id of the record answering it, over the whole test window and around it."""
    slots = medication_slots(
        m, WINDOW_START - timedelta(days=40), WINDOW_START + timedelta(days=120), ZONES
    )
    judged = judge(m, slots, records, now).slots
    return {j.slot.at: j.record.id for j in judged if j.record is not None}


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
        assert s.taken + s.skipped + s.missed + s.overdue + s.pending == s.due
        assert s.on_time + s.late + s.early == s.taken
        assert sum(s.skipped_by_reason.values()) == s.skipped
        assert sum(d.due for d in s.days) == s.due
        assert sum(d.extra for d in s.days) == s.extra
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
    if slot is None or any(slot.opens <= r.taken_at < slot.closes for r in log.records):
        return  # not an open slot: the dose would be an extra one
    log.add(m, at)
    after = _summary(m, log.records, now_minutes).medications[0].taking_adherence
    assert after is not None
    assert before is None or after >= before


@given(schedule=st.sampled_from(SCHEDULES), doses=doses_strategy, seed=st.randoms())
def test_attachment_is_deterministic_first_in_window_and_one_record_per_slot(schedule, doses, seed):
    m = med("x", schedule)
    records = _logged(m, doses).records
    now = WINDOW_START + timedelta(days=WINDOW_DAYS + 30)
    answers = _answers(m, records, now)
    shuffled = list(records)
    seed.shuffle(shuffled)
    assert _answers(m, shuffled, now) == answers  # the order given does not matter
    assert len(set(answers.values())) == len(answers)  # no record answers two slots
    by_id = {r.id: r for r in records}
    for at, record_id in answers.items():
        slot = slot_for(m, by_id[record_id].taken_at, ZONES)
        assert slot is not None and slot.at == at  # it lies in that slot's window
        in_window = [r for r in records if slot.opens <= r.taken_at < slot.closes]
        assert min(in_window, key=lambda r: (r.taken_at, r.id)).id == record_id  # the first


@given(schedule=st.sampled_from(SCHEDULES), doses=doses_strategy, which=st.integers(0, 29))
def test_undo_then_redo_gives_the_same_figures(schedule, doses, which):
    m = med("x", schedule)
    records = _logged(m, doses).records
    if not records:
        return
    now_minutes = (WINDOW_DAYS + 3) * 24 * 60
    gone = records[which % len(records)]
    if sum(r.taken_at == gone.taken_at for r in records) > 1:
        return  # a tie in time goes to the record made first, which a redo is not
    undone = [r for r in records if r is not gone]
    redone = [*undone, gone._replace(id=len(records) + 1)]
    before = _summary(m, records, now_minutes)
    assert _summary(m, redone, now_minutes) == before
    # Undoing the record that answers a slot lets the next record in its window answer.
    slot = slot_for(m, gone.taken_at, ZONES)
    if slot is not None:
        now = WINDOW_START + timedelta(minutes=now_minutes)
        after = _answers(m, undone, now)
        rest = sorted(
            (r for r in undone if slot.opens <= r.taken_at < slot.closes),
            key=lambda r: (r.taken_at, r.id),
        )
        assert after.get(slot.at) == (rest[0].id if rest else None)


@given(schedule=st.sampled_from(SCHEDULES), minutes=st.integers(0, WINDOW_DAYS * 24 * 60))
def test_windows_tile_time_and_slot_for_agrees_with_them(schedule, minutes):
    m = med("x", schedule)
    at = WINDOW_START + timedelta(minutes=minutes)
    slots = medication_slots(m, WINDOW_START - timedelta(days=40), at + timedelta(days=40), ZONES)
    holding = [s for s in slots if s.opens <= at < s.closes]
    found = slot_for(m, at, ZONES)
    assert (found,) == tuple(holding) if holding else found is None
    for earlier, later in itertools.pairwise(slots):
        assert earlier.closes == later.opens and earlier.opens <= earlier.at < earlier.closes


@given(schedule=st.sampled_from(SCHEDULES), index=st.integers(0, 40))
def test_a_dose_one_second_either_side_of_a_window_edge(schedule, index):
    m = med("x", schedule)
    slots = medication_slots(m, WINDOW_START, WINDOW_START + timedelta(days=60), ZONES)
    if index + 1 >= len(slots):
        return
    slot, following = slots[index], slots[index + 1]
    second = timedelta(seconds=1)
    assert slot_for(m, slot.opens, ZONES) == slot
    assert slot_for(m, slot.closes - second, ZONES) == slot
    assert slot_for(m, slot.closes, ZONES) == following
    before = slot_for(m, slot.opens - second, ZONES)
    assert before is None or before.at < slot.at
    now = following.closes
    edge = [DoseRecord("x", slot.closes - second, "taken", id=1)]
    assert _answers(m, edge, now) == {slot.at: 1}
    edge = [DoseRecord("x", slot.closes, "taken", id=1)]
    assert _answers(m, edge, now) == {following.at: 1}


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
    start_days=st.integers(min_value=0, max_value=1500),
    offset_days=st.integers(min_value=0, max_value=1500),
)
def test_a_window_of_slots_is_the_same_cut_from_a_long_expansion(schedule, start_days, offset_days):
    """`expand` moves a rule's start by whole periods before asking rrule; the slots of a
    short window are those of the whole expansion from the start, cut to the window."""
    from medtrack.core.schedule import expand

    started = berlin(2014, 1, 31) + timedelta(days=start_days)
    s = parse_schedule(schedule)
    anchor = started.astimezone(BERLIN).date()
    lo = started + timedelta(days=offset_days)
    hi = lo + timedelta(days=70)
    whole = expand(s, anchor=anchor, start=started, end=hi, zones=ZONES)
    assert expand(s, anchor=anchor, start=lo, end=hi, zones=ZONES) == [t for t in whole if t >= lo]


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
