"""undo: the latest record of any kind, or one by id; what it held stays in history."""

from __future__ import annotations

import json
import os
import sqlite3

import pytest
from helpers import dump
from typer.testing import CliRunner

from medtrack.cli import app
from medtrack.store import undo as store_undo
from medtrack.store.db import connect

runner = CliRunner()
NOW = "2026-11-23T12:00:00+01:00"


def run(*args: str, now: str = NOW):
    return runner.invoke(app, list(args), env={"MEDTRACK_NOW": now})


def ok(*args: str, now: str = NOW):
    result = run(*args, now=now)
    assert result.exit_code == 0, (result.output, result.stderr)
    return result


def db() -> sqlite3.Connection:
    return sqlite3.connect(os.environ["MEDTRACK_DB"], isolation_level=None)


def count(table: str) -> int:
    conn = db()
    try:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    finally:
        conn.close()


def insert(sql: str, *params) -> None:
    """Rows other commands write (symptoms, notes, ...), made here without those commands."""
    conn = db()
    try:
        conn.execute(sql, params)
    finally:
        conn.close()


@pytest.fixture
def record():
    ok(
        "med",
        "add",
        "sertraline",
        "--dose",
        "50mg",
        "--schedule",
        "daily 08:00",
        now="2026-11-01T07:00:00+01:00",
    )
    ok("take", "sertraline", "--at", "2026-11-22 08:05", now="2026-11-22T09:00:00+01:00")
    ok("take", "sertraline", "--at", "08:10", now="2026-11-23T09:00:00+01:00")
    insert(
        "INSERT INTO symptoms (name, value, at, zone, recorded_at) VALUES (?, ?, ?, ?, ?)",
        "mood",
        6,
        "2026-11-23T07:30:00Z",
        "Europe/Berlin",
        "2026-11-23T09:30:00Z",
    )
    insert(
        "INSERT INTO notes (text, ask, at, zone, recorded_at) VALUES (?, ?, ?, ?, ?)",
        "ask about sleep",
        1,
        "2026-11-22T18:00:00Z",
        "Europe/Berlin",
        "2026-11-22T18:00:00Z",
    )


def test_plain_undo_takes_back_the_latest_record_of_any_kind(record):
    result = ok("undo")
    assert result.output.strip() == (
        "Undid symptom 1: mood 6 at 2026-11-23 08:30. It is kept in the history."
    )
    assert count("symptoms") == 0
    # Next latest: today's dose (recorded 08:00 UTC), not the note recorded yesterday.
    result = ok("undo")
    assert result.output.strip() == (
        "Undid dose 2: sertraline 50 mg taken 2026-11-23 08:10. It is kept in the history."
    )
    assert count("doses") == 1
    conn = db()
    rows = conn.execute(
        "SELECT action, table_name, row_id, before, after FROM history "
        "WHERE action = 'delete' ORDER BY id"
    ).fetchall()
    conn.close()
    assert [(r[0], r[1], r[2]) for r in rows] == [("delete", "symptoms", 1), ("delete", "doses", 2)]
    assert json.loads(rows[1][3])["taken_at"] == "2026-11-23T07:10:00Z" and rows[1][4] is None
    # The slot is open again: take attaches to it once more.
    assert "08:00 dose" in ok("take", "sertraline", "--at", "08:10").output


def test_undo_by_id_and_kind(record):
    result = ok("undo", "--id", "1")
    assert "dose 1: sertraline 50 mg taken 2026-11-22 08:05" in result.output
    result = ok("undo", "--kind", "note", "--id", "1")
    assert 'note 1: "ask about sleep" at 2026-11-22 19:00' in result.output
    assert (count("doses"), count("notes"), count("symptoms")) == (1, 0, 1)


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("undo", "--id", "99"), 1, "there is no dose with id 99"),
        (("undo", "--kind", "symptom", "--id", "7"), 1, "there is no symptom with id 7"),
        (("undo", "--kind", "pill", "--id", "1"), 1, "unknown kind 'pill'"),
        (("undo", "--kind", "dose"), 2, "--kind needs --id"),
    ],
)
def test_bad_undo_changes_nothing(record, args, code, message):
    before = dump()
    result = run(*args)
    assert result.exit_code == code
    assert message in result.stderr
    assert dump() == before


def test_nothing_to_undo():
    ok("med", "add", "sertraline", "--dose", "50mg", "--schedule", "daily 08:00")
    before = dump()
    result = run("undo")
    assert result.exit_code == 1 and "nothing to undo" in result.stderr
    assert dump() == before


VISIT = "INSERT INTO visits (at, kind, recorded_at) VALUES ('2026-01-01T00:00:00Z', 'gp', ?)"
MEASUREMENT = (
    "INSERT INTO measurements (kind, value, unit, at, recorded_at) "
    "VALUES ('weight', 70, 'kg', '2026-01-01T00:00:00Z', ?)"
)
CHECKIN = (
    "INSERT INTO checkins (questionnaire, answers, total, band, at, recorded_at) "
    "VALUES ('phq9', '[1,1,1,1,1,1,1,1,0]', 8, 'mild', '2026-01-01T00:00:00Z', ?)"
)


def test_latest_orders_by_recorded_at_then_id(tmp_path):
    conn = connect(tmp_path / "x.db")
    try:
        same = "2026-01-02T00:00:00Z"
        conn.execute(VISIT, (same,))
        conn.execute(VISIT, (same,))
        conn.execute(MEASUREMENT, (same,))
        target = store_undo.latest(conn)
        assert (target.kind, target.row["id"]) == ("visit", 2)  # same moment: higher id
        conn.execute(CHECKIN, ("2026-01-03T00:00:00Z",))
        target = store_undo.latest(conn)
        assert (target.kind, target.row["total"]) == ("checkin", 8)
    finally:
        conn.close()


def test_undo_on_a_terminal_asks_first(record, monkeypatch):
    from medtrack.cli import doses as doses_cli

    monkeypatch.setattr(doses_cli, "_stdin_is_terminal", lambda: True)
    before = dump()
    result = runner.invoke(app, ["undo"], input="n\n", env={"MEDTRACK_NOW": NOW})
    assert result.exit_code == 1 and "nothing undone" in result.stderr
    assert "Undo symptom 1: mood 6 at 2026-11-23 08:30?" in result.output
    assert dump() == before
    result = runner.invoke(app, ["undo", "--yes"], env={"MEDTRACK_NOW": NOW})
    assert result.exit_code == 0 and count("symptoms") == 0
