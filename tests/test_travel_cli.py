"""Issue 15 end to end: a trip Berlin -> New York -> Berlin lived through the CLI.

Sertraline 50 mg at 08:00 and 22:00 from 1 June 2026; before leaving, a step to 75 mg is
planned "from 2026-06-10", a day to be spent in New York. Flight out on 9 June, 10:00
CEST -> 12:30 EDT; flight back on 11 June, 18:00 EDT -> 07:55 CEST on the 12th. Berlin
is UTC+2 and New York UTC-4 in June."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from medtrack.cli import app, common

runner = CliRunner()
BERLIN, NEW_YORK = "Europe/Berlin", "America/New_York"


def run(now: str, tz: str, *args: str):
    return runner.invoke(app, list(args), env={"MEDTRACK_NOW": now, "TZ": tz})


def ok(now: str, tz: str, *args: str):
    result = run(now, tz, *args)
    assert result.exit_code == 0, (result.output, result.stderr)
    return result


def taken_utc() -> list[str]:
    conn = sqlite3.connect(os.environ["MEDTRACK_DB"])
    try:
        return [r[0] for r in conn.execute("SELECT taken_at FROM doses ORDER BY taken_at")]
    finally:
        conn.close()


@pytest.fixture
def before_the_trip(monkeypatch):
    # The zone note is for a person at a terminal (stderr); CliRunner's is not one.
    monkeypatch.setattr(common, "stderr_is_terminal", lambda: True)
    ok("2026-06-01T09:00:00+02:00", BERLIN, "med", "add", "sertraline", "--dose", "50mg",
       "--schedule", "daily 08:00,22:00", "--start", "2026-06-01")  # fmt: skip
    ok("2026-06-08T08:05:00+02:00", BERLIN, "take", "sertraline")
    ok("2026-06-08T09:00:00+02:00", BERLIN, "med", "change", "sertraline", "--dose", "75mg",
       "--from", "2026-06-10")  # fmt: skip
    ok("2026-06-08T22:05:00+02:00", BERLIN, "take", "sertraline")
    ok("2026-06-09T08:05:00+02:00", BERLIN, "take", "sertraline")


def test_the_trip(before_the_trip):
    # Landed; the laptop is on New York, medtrack still on Berlin: one note on stderr.
    landed = run("2026-06-09T12:40:00-04:00", NEW_YORK, "today")
    assert landed.exit_code == 0
    assert landed.stderr.count("\n") == 1
    assert (
        "this computer is on America/New_York, medtrack on Europe/Berlin; if you are now "
        "in America/New_York, run: medtrack config set timezone America/New_York"
    ) in landed.stderr
    assert "note:" not in landed.stdout
    again = run("2026-06-09T12:45:00-04:00", NEW_YORK, "today")
    assert "note:" not in again.stderr  # at most once a day

    said = ok("2026-06-09T13:00:00-04:00", NEW_YORK, "config", "set", "timezone", NEW_YORK,
              "--since", "12:30")  # fmt: skip
    assert said.stdout == "timezone = America/New_York (from 2026-06-09 12:30)\n"

    # The morning was lived in Berlin and says so; the evening is New York's 22:00.
    today = ok("2026-06-09T13:01:00-04:00", NEW_YORK, "today").stdout
    assert "08:00 Berlin  sertraline  50 mg  ● taken 08:05 Berlin" in today
    assert "22:00         sertraline  50 mg  … later" in today
    assert today.count("22:00") == 1
    assert "note:" not in ok("2026-06-09T13:02:00-04:00", NEW_YORK, "today").stderr

    line = ok("2026-06-09T22:10:00-04:00", NEW_YORK, "take", "sertraline").stdout
    assert line == "sertraline 50 mg, 22:00 dose, taken 22:10, on time\n"
    # The step planned at home "from 2026-06-10" starts at midnight in New York.
    line = ok("2026-06-10T08:15:00-04:00", NEW_YORK, "take", "sertraline").stdout
    assert line == "sertraline 75 mg, 08:00 dose, taken 08:15, on time\n"
    ok("2026-06-10T22:00:00-04:00", NEW_YORK, "take", "sertraline")
    ok("2026-06-11T08:00:00-04:00", NEW_YORK, "take", "sertraline")

    # Back in Berlin after a night flight east; the dose on the plane is recorded after.
    said = ok("2026-06-12T08:31:00+02:00", BERLIN, "config", "set", "timezone", BERLIN,
              "--since", "07:55")  # fmt: skip
    assert said.stdout == "timezone = Europe/Berlin (from 2026-06-12 07:55)\n"
    line = ok("2026-06-12T08:32:00+02:00", BERLIN, "take", "sertraline", "--at",
              "yesterday 22:30").stdout  # fmt: skip
    assert line == (
        "sertraline 75 mg, 22:00 New York dose, taken yesterday 22:30 New York, on time\n"
    )
    line = ok("2026-06-12T08:40:00+02:00", BERLIN, "take", "sertraline").stdout
    assert line == "sertraline 75 mg, 08:00 dose, taken 08:40, on time\n"

    # A time typed at home for a day in New York is that day's New York time.
    refused = run("2026-06-12T08:42:00+02:00", BERLIN, "take", "sertraline", "--at",
                  "2026-06-10T08:00")  # fmt: skip
    assert refused.exit_code != 0
    assert "no open dose at 2026-06-10 08:00 New York" in refused.stderr

    log = ok("2026-06-12T08:43:00+02:00", BERLIN, "log", "--days", "5").stdout
    assert "2026-06-09 08:05           sertraline  50 mg   taken   08:00" in log
    assert "2026-06-09 22:10 New York  sertraline  50 mg   taken   22:00 New York" in log
    assert "2026-06-11 22:30 New York  sertraline  75 mg   taken   22:00 New York" in log
    assert "2026-06-12 08:40           sertraline  75 mg   taken   08:00" in log

    # Hand-worked instants (UTC): Berlin = local - 2 h, New York = local + 4 h.
    assert taken_utc() == [
        "2026-06-08T06:05:00Z",
        "2026-06-08T20:05:00Z",
        "2026-06-09T06:05:00Z",
        "2026-06-10T02:10:00Z",
        "2026-06-10T12:15:00Z",
        "2026-06-11T02:00:00Z",
        "2026-06-11T12:00:00Z",
        "2026-06-12T02:30:00Z",
        "2026-06-12T06:40:00Z",
    ]

    # Seven local days are seven cells and 13 slots: 6-11 June twice, 12 June 08:00;
    # 9 taken (8-12 June), the 4 of 6 and 7 June missed (nothing recorded then).
    summary = ok("2026-06-12T12:00:00+02:00", BERLIN, "summary", "--days", "7").stdout
    assert "sertraline  13   9      9        0     0        4       0        69.2%" in summary
    assert "  sertraline  ○○●●●●●\n" in summary
    data = json.loads(ok("2026-06-12T12:00:00+02:00", BERLIN, "summary", "--json").stdout)
    assert data["window"]["start"] == "2026-05-14T00:00:00+02:00"
    # And seen from New York on the 11th, seven days are seven cells too.
    summary = ok("2026-06-11T12:00:00-04:00", NEW_YORK, "summary", "--days", "7").stdout
    assert "Adherence 2026-06-05 to 2026-06-11 12:00" in summary
    assert "  sertraline  ○○○●●●●\n" in summary


def test_a_zone_set_late_can_be_corrected_with_since(before_the_trip):
    ok("2026-06-09T13:00:00-04:00", NEW_YORK, "config", "set", "timezone", NEW_YORK)
    ok("2026-06-11T08:00:00-04:00", NEW_YORK, "take", "sertraline")
    said = ok("2026-06-12T08:31:00+02:00", BERLIN, "config", "set", "timezone", BERLIN).stdout
    # 08:31 in Berlin is 02:31 in New York: the six hours between never happened here.
    assert "Clocks here skipped 02:31 to 08:31: a dose planned in those hours moves later" in said
    assert "medtrack config set timezone Europe/Berlin --since HH:MM" in said
    today = ok("2026-06-12T08:32:00+02:00", BERLIN, "today").stdout
    assert "\n14:00                     sertraline" in today
    # Last night's New York dose is still open (its window runs to the next slot): listed
    # with its day and place, overdue.
    assert "yesterday 22:00 New York  sertraline  75 mg  ! overdue" in today
    ok("2026-06-12T08:33:00+02:00", BERLIN, "config", "set", "timezone", BERLIN,
       "--since", "07:55")  # fmt: skip
    today = ok("2026-06-12T08:40:00+02:00", BERLIN, "today").stdout
    assert "08:00  sertraline  75 mg" in today
    line = ok("2026-06-12T08:41:00+02:00", BERLIN, "take", "sertraline").stdout
    assert line == "sertraline 75 mg, 08:00 dose, taken 08:41, on time\n"


def test_since_before_the_last_change_is_refused(before_the_trip):
    ok("2026-06-09T13:00:00-04:00", NEW_YORK, "config", "set", "timezone", NEW_YORK)
    result = run("2026-06-09T13:05:00-04:00", NEW_YORK, "config", "set", "timezone", BERLIN,
                 "--since", "2026-06-01 08:00")  # fmt: skip
    assert result.exit_code != 0
    assert "before the last change of zone" in result.stderr
    assert run("2026-06-09T13:05:00-04:00", NEW_YORK, "config", "set", "name", "A",
               "--since", "08:00").exit_code != 0  # fmt: skip


def test_the_zone_note_is_never_with_json_and_comes_back_the_next_day(before_the_trip, monkeypatch):
    result = run("2026-06-09T12:40:00-04:00", NEW_YORK, "today", "--json")
    assert result.exit_code == 0 and result.stderr == ""
    json.loads(result.stdout)
    assert "note:" in run("2026-06-09T12:41:00-04:00", NEW_YORK, "today").stderr
    assert "note:" not in run("2026-06-09T12:42:00-04:00", NEW_YORK, "remind").stderr
    assert "note:" in run("2026-06-10T07:00:00-04:00", NEW_YORK, "remind").stderr
    marker = Path(os.environ["MEDTRACK_DB"]).with_name(".medtrack.db.zone-notice")
    assert oct(marker.stat().st_mode & 0o777) == "0o600"
    # Nothing is said where the zones agree, nor where no person reads stderr (cron).
    assert run("2026-06-10T08:00:00+02:00", BERLIN, "take", "sertraline").stderr == ""
    marker.unlink()
    monkeypatch.setattr(common, "stderr_is_terminal", lambda: False)
    assert run("2026-06-10T09:00:00-04:00", NEW_YORK, "today").stderr == ""
