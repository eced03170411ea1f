"""The adherence definitions of issue 14, each on a scenario worked out by hand.

Europe/Berlin (CET, UTC+1) throughout; `summary --json` as a person would read it.
"""

from __future__ import annotations

import json

from typer.testing import CliRunner

from medtrack.cli import app
from medtrack.core.percent import percent

runner = CliRunner()
SETUP = "2026-10-01T12:00:00Z"


def ok(*args: str, now: str) -> str:
    result = runner.invoke(app, list(args), env={"MEDTRACK_NOW": now})
    assert result.exit_code == 0, (args, result.output, result.stderr)
    return result.stdout


def add(name: str, schedule: str, start: str, *extra: str) -> None:
    ok("config", "set", "timezone", "Europe/Berlin", now=SETUP)
    ok("med", "add", name, "--dose", "50mg", "--schedule", schedule, "--start", start, *extra,
       now=SETUP)  # fmt: skip


def summary(now: str, *args: str) -> dict:
    data = json.loads(ok("summary", "--json", *args, now=now))
    return {m["medication"]: m for m in data["medications"]}


def take_daily(name: str, first: int, last: int, month: int = 11, hour_utc: int = 7) -> None:
    for day in range(first, last + 1):
        ok("take", name, now=f"2026-{month:02d}-{day:02d}T{hour_utc:02d}:05:00Z")


def test_a_new_medication_taken_every_day_has_a_pdc_of_100():
    # Started on 17 Nov with 30 tablets, one a day, every dose taken. The default summary
    # on 23 Nov spans 25 Oct to 23 Nov, but PDC counts from the first fill: 7 of 7 days.
    add("sertraline", "daily 08:00", "2026-11-17", "--supply", "30")
    take_daily("sertraline", 17, 23)
    s = summary("2026-11-23T12:00:00Z")["sertraline"]
    assert s["pdc"] == {"percent": 100.0, "covered_days": 7, "days": 7, "since": "2026-11-17"}
    assert (s["due"], s["taken"], s["taking_adherence"]) == (7, 7, 100.0)
    # Initiation: first planned dose 17 Nov 08:00, first taken 17 Nov: 0 days.
    # Persistence: 17 to 23 Nov, 7 days, ongoing.
    assert s["initiation_days"] == 0
    assert s["persistence"] == {"days": 7, "ongoing": True}


def test_an_injection_eleven_days_late_is_overdue_not_100_percent():
    # Every 4 weeks on Monday 10:00 from 5 Oct: 5 Oct (given), 2 Nov (not yet, on 13 Nov).
    add("paliperidone", "every 4 weeks mon 10:00", "2026-10-05", "--form", "injection")
    ok("take", "paliperidone", now="2026-10-05T09:00:00Z")
    now = "2026-11-13T12:00:00Z"  # 11 days after 2 Nov, beyond its 7-day on-time window
    s = summary(now, "--since", "2026-10-01")["paliperidone"]
    assert (s["due"], s["taken"], s["overdue"], s["pending"]) == (2, 1, 1, 0)
    assert s["taking_adherence"] == 50.0  # 1 / 2: the overdue dose counts as not taken
    assert s["late_or_missed"] == [{"date": "2026-11-02", "status": "overdue"}]
    today = json.loads(ok("today", "--json", now=now))
    assert [(x["date"], x["status"]) for x in today["slots"]] == [("2026-11-02", "overdue")]
    # Given now, 11 days late: the slot is answered, late (beyond 7 days).
    ok("take", "paliperidone", now=now)
    s = summary(now, "--since", "2026-10-01")["paliperidone"]
    assert (s["taken"], s["late"], s["overdue"], s["taking_adherence"]) == (2, 1, 0, 100.0)


def test_a_plan_can_carry_its_own_on_time_window():
    # Weekly on Sunday: on time within a day by default; 3 days late is late...
    add("vitamin d", "weekly sun 10:00", "2026-11-01")
    ok("take", "vitamin d", now="2026-11-04T09:00:00Z")  # Wednesday, 3 days after 1 Nov
    s = summary("2026-11-05T12:00:00Z", "--since", "2026-11-01")["vitamin d"]
    assert (s["taken"], s["on_time"], s["late"]) == (1, 0, 1)
    # ...unless the plan says a week either side is on time.
    ok("med", "change", "vitamin d", "--on-time-window", "7d", "--from", "2026-11-01",
       now="2026-11-05T12:00:00Z")  # fmt: skip
    s = summary("2026-11-05T12:00:00Z", "--since", "2026-11-01")["vitamin d"]
    assert (s["taken"], s["on_time"], s["late"]) == (1, 1, 0)


def test_a_drug_holiday_straddling_the_window_start_is_kept_when_long_enough():
    add("lamotrigine", "daily 08:00", "2026-10-20")
    # Taken every day but 29 Oct to 3 Nov (six days with no dose).
    take_daily("lamotrigine", 20, 28, month=10)
    take_daily("lamotrigine", 4, 10)
    now = "2026-11-10T12:00:00Z"
    s = summary(now, "--since", "2026-11-01")["lamotrigine"]
    # Inside the window: 1, 2, 3 Nov, three days: kept, clipped to the window.
    assert s["drug_holidays"] == [{"first": "2026-11-01", "last": "2026-11-03", "days": 3}]
    # From 2 Nov only two days of it are inside: too short to count.
    assert summary(now, "--since", "2026-11-02")["lamotrigine"]["drug_holidays"] == []
    # Over the whole stretch: 29 Oct to 3 Nov, six calendar days.
    whole = summary(now, "--since", "2026-10-20")["lamotrigine"]["drug_holidays"]
    assert whole == [{"first": "2026-10-29", "last": "2026-11-03", "days": 6}]


def test_an_extra_dose_on_an_off_day_makes_that_day_incorrect():
    # Every 2 days from 1 Nov: 1, 3, 5 Nov due; 2 and 4 Nov are off-days.
    add("lithium", "every 2 days 09:00", "2026-11-01")
    for day in (1, 3, 5):
        ok("take", "lithium", now=f"2026-11-0{day}T08:05:00Z")
    ok("take", "lithium", "--yes", now="2026-11-04T08:05:00Z")  # an extra dose, off-day
    s = summary("2026-11-05T20:00:00Z", "--since", "2026-11-01")["lithium"]
    # Five plan days: 1, 3, 5 correct; 2 correct (no dose); 4 incorrect (a dose): 4 of 5.
    assert s["correct_dosing_days"] == {"correct": 4, "days": 5, "percent": 80.0}
    assert (s["due"], s["taken"], s["extra"], s["taking_adherence"]) == (3, 3, 1, 100.0)


def test_percentages_round_half_up():
    assert percent(13, 16) == 81.3  # 81.25: round() would give 81.2
    assert percent(1, 8) == 12.5 and percent(1, 16) == 6.3 and percent(2, 3) == 66.7
    # 13 of 16 doses through the CLI: 16 days of one daily dose, 3 not taken.
    add("sertraline", "daily 08:00", "2026-11-01")
    for day in range(1, 17):
        if day not in (4, 9, 13):
            ok("take", "sertraline", now=f"2026-11-{day:02d}T07:05:00Z")
    s = summary("2026-11-17T06:00:00Z", "--since", "2026-11-01", "--until", "2026-11-16")
    assert s["sertraline"]["taking_adherence"] == 81.3


def test_initiation_and_persistence_of_a_medication_stopped():
    add("quetiapine", "daily 22:00", "2026-11-01")
    ok("take", "quetiapine", now="2026-11-03T21:00:00Z")  # first dose on the 3rd
    ok("med", "stop", "quetiapine", now="2026-11-10T12:00:00Z")
    s = summary("2026-11-12T12:00:00Z", "--since", "2026-11-01")["quetiapine"]
    # First planned dose 1 Nov 22:00, first taken 3 Nov: 2 days. On it 1 to 10 Nov.
    assert s["initiation_days"] == 2
    assert s["persistence"] == {"days": 10, "ongoing": False}


def test_the_report_shows_overdue_pdc_and_initiation_in_every_format():
    add("sertraline", "daily 08:00", "2026-11-17", "--supply", "30")
    take_daily("sertraline", 18, 23)  # started the 17th, first dose the 18th
    add("paliperidone", "every 4 weeks mon 10:00", "2026-10-05", "--form", "injection")
    ok("take", "paliperidone", now="2026-10-05T09:00:00Z")
    now = "2026-11-23T12:00:00Z"  # 2 Nov's injection 21 days late: overdue
    since = ("--since", "2026-11-01")
    md = ok("report", "--format", "md", *since, now=now)
    # sertraline: the fill on the 17th covers 30 days: 7 of the 7 days since it, 100%;
    # first dose a day after the first planned one; on it 17 to 23 Nov. The injection:
    # dated, overdue (also in the Missed column).
    assert "| sertraline | - | 100% (7 of 7 days) | 1 d | 7 d, ongoing |" in md
    assert "| paliperidone | overdue 2026-11-02 | - | - | 50 d, ongoing |" in md
    assert "| paliperidone | 0% (0/1) | 0% | 0 +1! | 0 | - |" in md
    # The injections table: due since 2 Nov (overdue), on time within 7 days.
    assert "| paliperidone | 2026-10-05 | 2026-11-02 | ± 7 days |" in md
    html = ok("report", "--format", "html", *since, now=now)
    assert "100% (7 of 7 days)" in html and "+1!" in html
    text = ok("report", *since, now=now)
    assert "100% (7 of 7 days)" in text and "+1!" in text
