"""Visits: `visit add|list|next` through the CLI, and the store's next/last-past visit.

Now is pinned at Monday 2026-11-23 14:30 in Berlin (UTC+1) unless a test says otherwise.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from helpers import dump
from typer.testing import CliRunner

from medtrack.cli import app
from medtrack.core.health import Visit
from medtrack.store import db, health

runner = CliRunner()
NOW = "2026-11-23T14:30:00+01:00"


@pytest.fixture(autouse=True)
def pinned_now(monkeypatch):
    monkeypatch.setenv("MEDTRACK_NOW", NOW)


def ok(*args: str):
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, (args, result.output, result.stderr)
    return result


def listed(*args: str):
    return json.loads(ok(*args, "--json").stdout)


def test_issue_command_lines():
    out = ok("visit", "add", "2026-12-03T10:30", "--with", "Dr Okafor", "--kind", "prescriber")
    assert "Recorded prescriber visit #1 with Dr Okafor on 2026-12-03 10:30" in out.stdout
    table = ok("visit", "list").stdout
    assert "Dr Okafor" in table and "upcoming" in table
    # 23 Nov to 3 Dec is 10 calendar days.
    assert "on 2026-12-03 10:30 (in 10 days)" in ok("visit", "next").stdout


def test_round_trip_past_and_future():
    ok("visit", "add", "2026-12-03T10:30", "--with", "Dr Okafor", "--kind", "prescriber")
    ok("visit", "add", "2026-11-02T16:00", "--with", "Sam", "--kind", "Therapist", "--note", "CBT")
    ok("visit", "add", "tomorrow 08:00")
    assert listed("visit", "list") == [
        {
            "id": 2,
            "at": "2026-11-02T16:00:00+01:00",
            "with": "Sam",
            "kind": "therapist",
            "note": "CBT",
        },
        {"id": 3, "at": "2026-11-24T08:00:00+01:00", "with": None, "kind": "other", "note": None},
        {
            "id": 1,
            "at": "2026-12-03T10:30:00+01:00",
            "with": "Dr Okafor",
            "kind": "prescriber",
            "note": None,
        },
    ]
    # Tomorrow 08:00 is under 18 hours away but one calendar day.
    assert listed("visit", "next") == {
        "id": 3,
        "at": "2026-11-24T08:00:00+01:00",
        "with": None,
        "kind": "other",
        "note": None,
        "days_away": 1,
    }
    assert "(tomorrow, 1 day away)" in ok("visit", "next").stdout


def test_next_visit_later_today_is_0_days_away():
    ok("visit", "add", "23:30", "--kind", "therapist")
    assert listed("visit", "next")["days_away"] == 0
    assert "(today)" in ok("visit", "next").stdout


def test_days_away_across_the_spring_forward(monkeypatch):
    # Berlin moves to summer time on Sun 29 Mar 2026: Sat 12:00 to Mon 09:00 is 2 days.
    monkeypatch.setenv("MEDTRACK_NOW", "2026-03-28T12:00:00+01:00")
    ok("visit", "add", "2026-03-30T09:00", "--kind", "prescriber")
    [visit] = listed("visit", "list")
    assert visit["at"] == "2026-03-30T09:00:00+02:00"
    assert listed("visit", "next")["days_away"] == 2


def test_no_upcoming_visit():
    ok("visit", "add", "2026-11-01T09:00")
    assert "No upcoming visit recorded." in ok("visit", "next").stdout
    assert ok("visit", "next", "--json").stdout.strip() == "null"
    assert "past" in ok("visit", "list").stdout


@pytest.mark.parametrize(
    "args",
    [
        ("visit", "add", "2026-12-03T10:30", "--kind", "dentist"),
        ("visit", "add", "someday"),
        ("visit", "add", "2026-13-03T10:30"),
        ("visit", "add", "2026-12-03T10:30", "--with", "   x" * 600),
    ],
)
def test_refused_visit_changes_nothing(args):
    ok("visit", "add", "2026-12-01T09:00")
    before = dump()
    result = runner.invoke(app, list(args))
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("medtrack: ")
    assert dump() == before


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def test_store_next_and_last_past_visit(tmp_path: Path):
    now = _at("2026-11-23T14:30:00+01:00")
    conn = db.connect(tmp_path / "visits.db")
    try:
        assert health.next_visit(conn, now) is None
        assert health.last_past_visit(conn, now) is None
        for when, who in [
            ("2026-10-01T09:00:00+02:00", "a"),
            ("2026-11-23T14:30:00+01:00", "exactly now"),
            ("2026-11-23T14:31:00+01:00", "in a minute"),
            ("2026-11-20T09:00:00+01:00", "b"),
            ("2027-01-05T09:00:00+01:00", "c"),
        ]:
            health.add_visit(conn, Visit(_at(when), who, "other"), zone="Europe/Berlin", now=now)
        last = health.last_past_visit(conn, now)
        upcoming = health.next_visit(conn, now)
        assert last is not None and upcoming is not None
        # A visit at this very second has begun: it is the last past one, not the next.
        assert (last.with_whom, last.at) == ("exactly now", now)
        assert upcoming.with_whom == "in a minute"
        later = _at("2026-12-01T00:00:00+01:00")
        assert health.last_past_visit(conn, later).with_whom == "in a minute"  # type: ignore[union-attr]
        assert health.next_visit(conn, later).with_whom == "c"  # type: ignore[union-attr]
    finally:
        conn.close()
