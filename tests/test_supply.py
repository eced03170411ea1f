"""Supply: stock derived from refills and doses, days left, run-out date, refill-based PDC."""

from __future__ import annotations

import json
import os
import sqlite3
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from helpers import dump
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from medtrack.cli import app
from medtrack.core.models import Dose, Medication, Regimen
from medtrack.core.schedule import ZoneTimeline, parse_schedule
from medtrack.core.supply import (
    Refill,
    SupplyStatus,
    TakenDose,
    doses_per_day,
    needs_refill_warning,
    proportion_of_days_covered,
    stock_on_hand,
    supply_status,
)

runner = CliRunner()
BERLIN = ZoneTimeline("Europe/Berlin")


def med_of(*regimens: Regimen) -> Medication:
    return Medication(name="x", regimens=tuple(regimens))


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def regimen(schedule: str, start: datetime, end: datetime | None = None, **kw) -> Regimen:
    return Regimen(
        medication="x",
        dose=Dose(50, "mg"),
        schedule=parse_schedule(schedule),
        starts_at=start,
        ends_at=end,
        **kw,
    )


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        ("daily 08:00", 1.0),
        ("daily 08:00,20:00", 2.0),
        ("every 2 days 09:00", 0.5),
        ("mon,wed,fri 21:00", 3 / 7),
        ("weekly sun 10:00", 1 / 7),
        ("every 4 weeks mon 10:00", 1 / 28),
        ("every 8h from 06:00", 3.0),
        ("as needed", 0.0),
    ],
)
def test_doses_per_day(schedule, expected):
    assert doses_per_day(parse_schedule(schedule)) == pytest.approx(expected)


def test_doses_per_day_monthly_is_twelve_a_year():
    # 48 months in 4 x 364 days: 12 a year within a fraction of a percent.
    assert doses_per_day(parse_schedule("monthly 1 09:00")) * 365.25 == pytest.approx(12, rel=4e-3)


def test_stock_uses_each_doses_own_regimen_size():
    # 2 tablets a dose until 10 Nov, then 1: a dose change never rereads past doses.
    first = regimen("daily 08:00", utc(2026, 11, 1), utc(2026, 11, 10), units_per_dose=2, id=1)
    second = regimen("daily 08:00", utc(2026, 11, 10), id=2)
    refills = [Refill(utc(2026, 11, 1), 30), Refill(utc(2026, 11, 20), 28)]
    taken = [TakenDose(utc(2026, 11, d, 8), regimen_id=1) for d in range(1, 11)]  # 10 x 2
    taken += [TakenDose(utc(2026, 11, d, 8)) for d in range(15, 20)]  # 5 x 1, by time
    at = utc(2026, 11, 23, 12)
    assert stock_on_hand(refills, taken, [first, second], at) == 58 - 20 - 5
    # Before the second refill and before the later doses.
    assert stock_on_hand(refills, taken, [first, second], utc(2026, 11, 12)) == 30 - 20


def test_stock_can_go_negative_and_is_shown_so():
    reg = regimen("daily 08:00", utc(2026, 11, 1))
    taken = [TakenDose(utc(2026, 11, d, 8)) for d in range(1, 6)]
    assert stock_on_hand([Refill(utc(2026, 11, 1), 3)], taken, [reg], utc(2026, 11, 6)) == -2


def test_supply_status_days_left_and_run_out():
    # 33 tablets, one at 08:00 and 20:00 Berlin: 16.5 days of supply. At 13:00 on 23 Nov
    # one covers tonight, 32 cover 24 Nov to 9 Dec; 10 Dec 08:00 is the first without.
    reg = regimen("daily 08:00,20:00", utc(2026, 11, 1), id=1)
    status = supply_status(
        [Refill(utc(2026, 11, 1), 33)], [], med_of(reg), utc(2026, 11, 23, 12), BERLIN
    )
    assert status == SupplyStatus(stock=33, days_left=16.5, runs_out=date(2026, 12, 10))


def test_run_out_counts_todays_dose_whether_taken_or_not():
    reg = regimen("daily 08:00", utc(2026, 10, 1), id=1)
    refills = [Refill(utc(2026, 11, 1), 32)]
    before = [TakenDose(utc(2026, 11, d, 7)) for d in range(1, 23)]  # 22 taken, 10 left
    at_7 = supply_status(refills, before, med_of(reg), utc(2026, 11, 23, 6), BERLIN)
    # 10 cover 23 Nov to 2 Dec; taken this morning, 9 cover 24 Nov to 2 Dec: both 3 Dec.
    after = [*before, TakenDose(utc(2026, 11, 23, 7))]
    at_9 = supply_status(refills, after, med_of(reg), utc(2026, 11, 23, 8), BERLIN)
    assert (at_7.stock, at_7.runs_out) == (10, date(2026, 12, 3))
    assert (at_9.stock, at_9.runs_out) == (9, date(2026, 12, 3))


def test_run_out_follows_a_planned_dose_change_and_is_today_when_empty():
    # 10 tablets; from 26 Nov two a dose: 23, 24, 25 Nov use 3, 7 left cover 3 days.
    first = regimen("daily 08:00", utc(2026, 11, 1), utc(2026, 11, 26), id=1)
    second = regimen("daily 08:00", utc(2026, 11, 26), units_per_dose=2, id=2)
    status = supply_status(
        [Refill(utc(2026, 11, 1), 10)], [], med_of(first, second), utc(2026, 11, 23, 6), BERLIN
    )
    assert status is not None and status.runs_out == date(2026, 11, 29)
    empty = supply_status(
        [Refill(utc(2026, 11, 1), 1)],
        [TakenDose(utc(2026, 11, 1, 7))],
        med_of(first),
        utc(2026, 11, 23, 6),
        BERLIN,
    )
    assert empty == SupplyStatus(0, 0.0, date(2026, 11, 23))


def test_supply_status_as_needed_has_stock_only_and_untracked_is_none():
    reg = regimen("as needed", utc(2026, 11, 1))
    now = utc(2026, 11, 23)
    assert supply_status(
        [Refill(utc(2026, 11, 1), 20)], [], med_of(reg), now, BERLIN
    ) == SupplyStatus(20, None, None)
    assert supply_status([], [], med_of(reg), now, BERLIN) is None


def test_supply_status_uses_the_regimen_in_force_now():
    old = regimen("daily 08:00", utc(2026, 11, 1), utc(2026, 11, 20), id=1)
    new = regimen("daily 08:00", utc(2026, 11, 20), units_per_dose=2, id=2)
    status = supply_status(
        [Refill(utc(2026, 11, 1), 40)], [], med_of(old, new), utc(2026, 11, 23), BERLIN
    )
    assert status is not None and status.days_left == 20


def test_refill_warning_threshold():
    assert needs_refill_warning(SupplyStatus(7, 7.0, date(2026, 11, 30)), 7)
    assert not needs_refill_warning(SupplyStatus(8, 7.5, date(2026, 11, 30)), 7)
    assert not needs_refill_warning(SupplyStatus(8, None, None), 7)
    assert not needs_refill_warning(None, 7)


# --- PDC (Pharmacy Quality Alliance) ---------------------------------------------------

NOV1, NOV30 = date(2026, 11, 1), date(2026, 11, 30)
PER_DAY = {
    0.5: "every 2 days 09:00",
    1: "daily 08:00",
    2: "daily 08:00,20:00",
    3: "daily 08:00,14:00,20:00",
}


def noon(day: date) -> datetime:
    return datetime.combine(day, time(12), tzinfo=ZoneInfo("Europe/Berlin")).astimezone(UTC)


def midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=ZoneInfo("Europe/Berlin")).astimezone(UTC)


def pdc(fills, per_day, first, last, *, regimens=None, units=None):
    """PDC in percent over the local days first..last, fills (day, units) at noon."""
    if regimens is None:
        regimens = [
            regimen(PER_DAY[per_day], midnight(date(2026, 1, 1)), units_per_dose=units, id=1)
        ]
    refills = [Refill(noon(day), quantity) for day, quantity in fills]
    found = proportion_of_days_covered(
        refills, regimens, midnight(first), midnight(last + timedelta(days=1)), BERLIN
    )
    return None if found is None else found.percent


def test_pdc_full_and_gap():
    assert pdc([(NOV1, 30)], 1, NOV1, NOV30) == 100.0
    # 10 days, a gap of 10, 10 days: 20 of 30.
    assert pdc([(NOV1, 10), (date(2026, 11, 21), 10)], 1, NOV1, NOV30) == 66.7


def test_pdc_counts_from_the_first_fill_a_new_medication_taken_daily_is_100():
    # Started (first fill) on 17 Nov with 30 tablets; the default 30-day summary on 23 Nov
    # covers 24 Oct to 23 Nov, but the period is 17 to 23 Nov: 7 of 7 days.
    found = proportion_of_days_covered(
        [Refill(noon(date(2026, 11, 17)), 30)],
        [regimen("daily 08:00", midnight(date(2026, 11, 17)), id=1)],
        midnight(date(2026, 10, 25)),
        midnight(date(2026, 11, 24)),
        BERLIN,
    )
    assert found is not None
    assert (found.covered, found.days, found.percent) == (7, 7, 100.0)
    assert found.since == date(2026, 11, 17)


def test_pdc_each_fill_at_the_daily_use_of_its_own_plan():
    # 1 a day in October, 2 a day from 1 Nov. 31 tablets on 1 Oct cover October (31
    # days); 60 on 1 Nov cover 30 days at 2 a day: 61 of 61 days, 100%. Read at the dose
    # in force at the window's end (2 a day), the October fill would cover 15 days only.
    october = regimen("daily 08:00", midnight(date(2026, 10, 1)), midnight(NOV1), id=1)
    november = regimen("daily 08:00,20:00", midnight(NOV1), id=2)
    fills = [(date(2026, 10, 1), 31), (NOV1, 60)]
    assert pdc(fills, 1, date(2026, 10, 1), NOV30, regimens=[october, november]) == 100.0


def test_pdc_carries_overlapping_supply_forward():
    fills = [(NOV1, 20), (date(2026, 11, 11), 20)]
    # The early refill starts on 21 Nov, so 40 days are covered: 1 Nov to 10 Dec.
    assert pdc(fills, 1, NOV1, date(2026, 12, 10)) == 100.0
    assert pdc(fills, 1, NOV1, date(2026, 12, 20)) == 80.0  # 40 / 50


def test_pdc_caps_at_100_and_counts_supply_from_before_the_period():
    assert pdc([(NOV1, 100)], 1, NOV1, NOV30) == 100.0
    # 27 Oct + 10 days covers 27 Oct to 5 Nov: 5 of the 10 days of 1-10 Nov.
    assert pdc([(date(2026, 10, 27), 10)], 1, NOV1, date(2026, 11, 10)) == 50.0


def test_pdc_units_per_dose_whole_days_and_no_meaning():
    # 60 units, 2 doses of 2 units a day: 15 days of 30.
    assert pdc([(NOV1, 60)], 2, NOV1, NOV30, units=2) == 50.0
    # 7 units at 2 a day: 3 whole days (a day half covered is not covered): 3 of 30.
    assert pdc([(NOV1, 7)], 2, NOV1, NOV30) == 10.0
    assert pdc([], 1, NOV1, NOV30) is None  # supply not tracked
    as_needed = [regimen("as needed", midnight(date(2026, 1, 1)), id=1)]
    assert pdc([(NOV1, 60)], 1, NOV1, NOV30, regimens=as_needed) == 0.0


fills_strategy = st.lists(
    st.tuples(
        st.dates(min_value=date(2026, 9, 1), max_value=date(2026, 11, 30)),
        st.integers(min_value=1, max_value=120),
    ),
    min_size=1,
    max_size=8,
)


@given(fills=fills_strategy, per_day=st.sampled_from([0.5, 1, 2, 3]))
def test_pdc_is_a_capped_proportion_independent_of_order(fills, per_day):
    value = pdc(fills, per_day, NOV1, NOV30)
    assert value is not None and 0.0 <= value <= 100.0
    assert pdc(list(reversed(fills)), per_day, NOV1, NOV30) == value


@given(fills=fills_strategy, extra=fills_strategy)
def test_pdc_more_refills_never_lower_it_on_the_same_period(fills, extra):
    # Extra fills no earlier than the first keep the period: coverage can only grow.
    first = min(day for day, _ in fills)
    later = [(max(day, first), q) for day, q in extra]
    assert pdc(fills + later, 1, NOV1, NOV30) >= pdc(fills, 1, NOV1, NOV30)


@given(fills=fills_strategy)
def test_pdc_never_exceeds_supply_over_period_length(fills):
    total = sum(q for _, q in fills)
    since = max(NOV1, min(day for day, _ in fills))
    days = (NOV30 - since).days + 1
    assert pdc(fills, 1, NOV1, NOV30) <= min(100.0, 100 * total / days) + 0.05


# --- through the CLI -----------------------------------------------------------------

NOW = "2026-11-23T14:30:00+01:00"


@pytest.fixture(autouse=True)
def pinned_now(monkeypatch):
    monkeypatch.setenv("MEDTRACK_NOW", NOW)


def run(*args: str):
    return runner.invoke(app, list(args))


def add_dose(name: str, local_day: int, status: str = "taken") -> None:
    """A dose row as `take`/`skip` writes it, for the 08:00 Berlin slot of 2026-11-<day>."""
    slot = datetime.combine(date(2026, 11, local_day), time(7)).replace(tzinfo=UTC)
    text = slot.strftime("%Y-%m-%dT%H:%M:%SZ")
    conn = sqlite3.connect(os.environ["MEDTRACK_DB"])
    with conn:
        (med_id,) = conn.execute("SELECT id FROM medications WHERE name = ?", (name,)).fetchone()
        conn.execute(
            "INSERT INTO doses (medication_id, scheduled_for, taken_at, status, recorded_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (med_id, text, text, status, text),
        )
    conn.close()


def supply_of(name: str) -> dict | None:
    result = run("med", "list", "--json")
    assert result.exit_code == 0, result.output
    return next(m for m in json.loads(result.stdout) if m["name"] == name)["supply"]


def test_supply_on_add_doses_and_refill_through_the_cli():
    result = run(
        "med",
        "add",
        "sertraline",
        "--dose",
        "50mg",
        "--schedule",
        "daily 08:00",
        "--start",
        "2026-11-20",
        "--supply",
        "28",
        "--per-dose",
        "1",
    )
    assert result.exit_code == 0, result.output
    assert (
        run("med", "add", "melatonin", "--dose", "2mg", "--schedule", "daily 22:00").exit_code == 0
    )
    for day in (20, 21, 22):
        add_dose("sertraline", day)
    add_dose("sertraline", 23, status="skipped")  # a skip uses no stock
    # 28 - 3 = 25 tablets at one a day: 25 days. Today's slot has passed (skipped), so
    # they cover 24 Nov to 18 Dec and 19 Dec is the first day without.
    assert supply_of("sertraline") == {"stock": 25, "days_left": 25, "runs_out": "2026-12-19"}
    assert supply_of("melatonin") is None

    result = run("med", "refill", "sertraline", "--qty", "30", "--at", "9am")
    assert result.exit_code == 0, result.output
    assert "55 on hand" in result.stdout
    assert supply_of("sertraline") == {"stock": 55, "days_left": 55, "runs_out": "2027-01-18"}

    table = run("med", "list")
    assert "Runs out" in table.stdout and "2027-01-18" in table.stdout


def test_refill_refuses_bad_input_and_changes_nothing():
    assert (
        run("med", "add", "sertraline", "--dose", "50mg", "--schedule", "daily 08:00").exit_code
        == 0
    )
    before = dump()
    for args, code in [
        (["--qty", "0"], 1),
        (["--qty", "-3"], 1),
        (["--qty", "30", "--at", "tomorrow 9am"], 1),
        (["--qty", "many"], 2),
    ]:
        result = run("med", "refill", "sertraline", *args)
        assert result.exit_code == code, (args, result.output)
    assert run("med", "refill", "sertalin", "--qty", "3").exit_code == 1
    assert "did you mean 'sertraline'" in run("med", "refill", "sertalin", "--qty", "3").stderr
    assert dump() == before
    bad_supply = run(
        "med", "add", "x", "--dose", "1mg", "--schedule", "daily 08:00", "--supply", "0"
    )
    assert bad_supply.exit_code == 1
    assert dump() == before


def test_summary_json_has_refill_based_pdc_computed_by_hand(monkeypatch):
    """Daily sertraline, 10 tablets on 1 Nov and 10 more on 8 Nov (early: carried forward
    to 11 Nov): 1-20 Nov covered, 20 of 30 days = 66.7%. Lorazepam (as needed) and a
    medication with no refill recorded have no PDC."""
    from typer.testing import CliRunner

    from medtrack.cli import app

    runner = CliRunner()

    def ok(*args: str, now: str = "2026-11-01T07:00:00+01:00") -> str:
        monkeypatch.setenv("MEDTRACK_NOW", now)
        result = runner.invoke(app, list(args))
        assert result.exit_code == 0, (args, result.output, result.stderr)
        return result.stdout

    ok("med", "add", "sertraline", "--dose", "50mg", "--schedule", "daily 08:00",
       "--start", "2026-11-01", "--supply", "10")  # fmt: skip
    ok("med", "add", "lorazepam", "--dose", "0.5mg", "--schedule", "as needed",
       "--start", "2026-11-01", "--supply", "10")  # fmt: skip
    ok("med", "add", "vitamin d", "--dose", "1000IU", "--schedule", "daily 09:00",
       "--start", "2026-11-01")  # fmt: skip
    ok("med", "refill", "sertraline", "--qty", "10", now="2026-11-08T12:00:00+01:00")
    out = ok(
        "summary", "--since", "2026-11-01", "--until", "2026-11-30", "--json",
        now="2026-12-01T12:00:00+01:00",
    )  # fmt: skip
    by_name = {m["medication"]: m for m in json.loads(out)["medications"]}
    # 10 tablets on 1 Nov (1-10 Nov) and 10 early on 8 Nov, carried forward (11-20 Nov):
    # 20 of the 30 days from the first fill.
    assert by_name["sertraline"]["pdc"] == {
        "percent": 66.7,
        "covered_days": 20,
        "days": 30,
        "since": "2026-11-01",
    }
    assert by_name["vitamin d"]["pdc"] is None
    assert "lorazepam" not in by_name  # as needed: reported apart, never in a percentage
