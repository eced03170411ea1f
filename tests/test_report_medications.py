"""What a prescriber asks first (issue 19, items 3 and 4), end to end on a temporary
database in Berlin, report made 2026-12-06 12:00 over Nov 7 - Dec 6 (no visit: 30 days):

- lamotrigine 50 mg daily 08:00,20:00 tablet from Oct 1, 100 mg from Nov 16:
  100 mg x 2 = 200 mg a day, on this dose since 2026-11-16.
- aripiprazole long-acting injection 400 mg every 4 weeks on Mondays 10:00 from Mon Nov 2:
  due Nov 2, Nov 30, Dec 28; given Nov 30 -> last given 2026-11-30, next due 2026-12-28,
  400 mg every 4 weeks.
- lorazepam 0.5 mg as needed, at most 2 a day, controlled: taken Nov 20 (0.5 mg) and
  Nov 21 with --dose 1mg --yes -> 2 doses, 1.5 mg; the 1 mg dose is listed as taken at
  another amount.
- vitamin D 1000 IU supplement daily 09:00: in its own table.
"""

from __future__ import annotations

from datetime import date

import pytest
from typer.testing import CliRunner

from medtrack.cli import app
from medtrack.cli.report_cmd import load_report
from medtrack.core.meds import dose_difference
from medtrack.core.models import Dose, Regimen, Schedule
from medtrack.core.report import amount_per_day, route_of

runner = CliRunner()
REPORT_NOW = "2026-12-06T12:00:00+01:00"


def run(*args: str, now: str = REPORT_NOW, input: str | None = None):
    return runner.invoke(app, list(args), env={"MEDTRACK_NOW": now}, input=input)


def ok(*args: str, now: str = REPORT_NOW):
    result = run(*args, now=now)
    assert result.exit_code == 0, (args, result.output, result.stderr)
    return result


@pytest.fixture
def patient(monkeypatch):
    early = "2026-10-01T07:00:00+02:00"
    ok(
        "med",
        "add",
        "lamotrigine",
        "--dose",
        "50mg",
        "--schedule",
        "daily 08:00,20:00",
        "--form",
        "tablet",
        "--start",
        "2026-10-01",
        now=early,
    )
    ok(
        "med",
        "change",
        "lamotrigine",
        "--dose",
        "100mg",
        "--from",
        "2026-11-16",
        now="2026-11-16T07:00:00+01:00",
    )
    ok(
        "med",
        "add",
        "aripiprazole",
        "--dose",
        "400mg",
        "--schedule",
        "every 4 weeks mon 10:00",
        "--form",
        "long-acting injection",
        "--start",
        "2026-11-02",
        now="2026-11-01T09:00:00+01:00",
    )
    ok("take", "aripiprazole", "--at", "2026-11-30 10:20", now="2026-11-30T11:00:00+01:00")
    ok(
        "med",
        "add",
        "lorazepam",
        "--dose",
        "0.5mg",
        "--schedule",
        "as needed",
        "--max-per-day",
        "2",
        "--controlled",
        "--start",
        "2026-10-01",
        now=early,
    )
    ok("take", "lorazepam", "--at", "2026-11-20 09:00", now="2026-11-20T10:00:00+01:00")
    ok(
        "take",
        "lorazepam",
        "--dose",
        "1mg",
        "--yes",
        "--at",
        "2026-11-21 09:00",
        now="2026-11-21T10:00:00+01:00",
    )
    ok(
        "med",
        "add",
        "vitamin D",
        "--dose",
        "1000IU",
        "--schedule",
        "daily 09:00",
        "--kind",
        "supplement",
        "--start",
        "2026-10-01",
        now=early,
    )
    monkeypatch.setenv("MEDTRACK_NOW", REPORT_NOW)


def test_medication_list_answers_the_first_questions(patient):
    report = load_report()
    meds = {m.name: m for m in report.medications}
    lam = meds["lamotrigine"]
    assert (lam.dose, lam.per_day, lam.dose_since) == ("100 mg", "200 mg a day", date(2026, 11, 16))
    assert lam.form_route == "tablet, oral"
    ari = meds["aripiprazole"]
    assert ari.per_day == "400 mg every 4 weeks"
    assert ari.form_route == "long-acting injection"  # the form names its route
    (inj,) = report.injections
    assert (inj.medication, inj.last_given, inj.next_due) == (
        "aripiprazole",
        date(2026, 11, 30),
        date(2026, 12, 28),
    )
    assert inj.window == "± 7 days"  # every 4 weeks: on time within 7 days (core.slots)
    (ctl,) = report.controlled
    assert (ctl.medication, ctl.doses, ctl.total) == ("lorazepam", 2, "1.5 mg")
    events = [(e.on, e.medication, e.what) for e in report.dose_events]
    assert (date(2026, 11, 21), "lorazepam", "taken: 1 mg instead of the planned 0.5 mg") in events


def test_supplements_are_listed_apart(patient):
    md = ok("report", "--format", "md").stdout
    current = md.split("## Current medications")[1].split("**Over the counter")[0]
    assert "vitamin D" not in current and "lamotrigine" in current
    otc = md.split("**Over the counter and supplements**")[1].split("**")[0]
    assert "| vitamin D | supplement | 1000 IU | 1000 IU a day |" in otc
    assert "| aripiprazole | 2026-11-30 | 2026-12-28 | ± 7 days |" in md
    assert "| lorazepam | 2 | 1.5 mg |" in md


def test_take_at_another_dose_asks_first(patient):
    before = len(ok("log", "--json").stdout)
    refused = run("take", "lorazepam", "--dose", "5mg")
    assert refused.exit_code != 0
    assert "5 mg instead of the planned 0.5 mg" in refused.stderr
    assert "--yes" in refused.stderr
    assert len(ok("log", "--json").stdout) == before  # nothing recorded
    # The planned amount typed out is no question.
    ok("take", "lorazepam", "--dose", "0.5mg")


def test_amount_a_day_and_route_by_hand():
    def reg(rrule: str | None, times: int, mg: float = 10, **kw) -> Regimen:
        from datetime import UTC, datetime, time

        return Regimen(
            medication="x",
            dose=Dose(mg, "mg"),
            schedule=Schedule(rrule, tuple(time(8 + i) for i in range(times)), rrule is None),
            starts_at=datetime(2026, 1, 1, tzinfo=UTC),
            **kw,
        )

    assert amount_per_day(reg("FREQ=DAILY", 3)) == "30 mg a day"
    assert amount_per_day(reg("FREQ=HOURLY;INTERVAL=8", 1)) == "30 mg a day"
    assert amount_per_day(reg("FREQ=DAILY;INTERVAL=2", 1)) == "5 mg a day"
    assert amount_per_day(reg("FREQ=WEEKLY;BYDAY=MO,WE,FR", 1, mg=7)) == "3 mg a day"
    assert amount_per_day(reg("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO", 1, mg=50)) == "50 mg every 2 weeks"
    assert amount_per_day(reg(None, 0, mg=0.5, max_per_day=3)) == "up to 1.5 mg a day"
    assert route_of("Depot injection") == "injection"
    assert route_of("patch") == "transdermal"
    assert route_of(None) is None
    assert dose_difference(Dose(0.5, "mg"), 5, "mg") == "5 mg instead of the planned 0.5 mg"
    assert dose_difference(Dose(0.5, "mg"), 0.5, "mg") is None
    assert dose_difference(Dose(0.5, "mg"), None, None) is None


def test_take_at_another_dose_on_a_terminal_asks_and_records_on_yes(patient, monkeypatch):
    from medtrack.cli import doses as doses_cli

    monkeypatch.setattr(doses_cli, "_stdin_is_terminal", lambda: True)
    count = len(ok("log", "--json").stdout)
    refused = run("take", "lorazepam", "--dose", "5mg", input="n\n")
    assert refused.exit_code == 1
    assert "lorazepam: 5 mg instead of the planned 0.5 mg. Record it anyway?" in refused.output
    assert len(ok("log", "--json").stdout) == count
    taken = run("take", "lorazepam", "--dose", "5mg", input="y\n")
    assert taken.exit_code == 0, taken.output
    report = load_report()
    events = [e.what for e in report.dose_events if e.medication == "lorazepam"]
    assert "taken: 5 mg instead of the planned 0.5 mg" in events
