"""take, skip, today, log and summary through the CLI, on a tmp database."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime

import pytest
from helpers import dump
from typer.testing import CliRunner

from medtrack.cli import app

runner = CliRunner()


def run(*args: str, now: str | None = None):
    env = {"MEDTRACK_NOW": now} if now else {}
    return runner.invoke(app, list(args), env=env)


def ok(*args: str, now: str | None = None):
    result = run(*args, now=now)
    assert result.exit_code == 0, (result.output, result.stderr)
    return result


def doses() -> list[tuple]:
    """(id, status, taken_at, slot answered, reason) of each record, the slot as `log`
    derives it (nothing about it is stored), all instants in UTC."""
    conn = sqlite3.connect(os.environ["MEDTRACK_DB"])
    try:
        rows = conn.execute(
            "SELECT id, status, taken_at, skip_reason FROM doses ORDER BY id"
        ).fetchall()
    finally:
        conn.close()
    if not rows:
        return []
    latest = max(row[2] for row in rows)
    log = json.loads(ok("log", "--days", "60", "--json", now=latest).stdout)
    slots = {item["id"]: item["scheduled_for"] for item in log}

    def utc(text: str | None) -> str | None:
        if text is None:
            return None
        return datetime.fromisoformat(text).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    return [(i, status, at, utc(slots.get(i)), reason) for i, status, at, reason in rows]


SETUP_NOW = "2026-11-01T07:00:00+01:00"
MORNING = "2026-11-23T08:04:00+01:00"


@pytest.fixture
def meds():
    ok("med", "add", "sertraline", "--dose", "50mg", "--schedule", "daily 08:00", now=SETUP_NOW)
    ok(
        "med",
        "add",
        "lamotrigine",
        "--dose",
        "25mg",
        "--schedule",
        "daily 08:00,21:00",
        now=SETUP_NOW,
    )
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
        "--min-interval",
        "6h",
        now=SETUP_NOW,
    )
    ok("med", "add", "quetiapine", "--dose", "25mg", "--schedule", "daily 22:00", now=SETUP_NOW)


def test_take_attaches_to_the_slot_and_says_which(meds):
    result = ok("take", "sertraline", now=MORNING)
    assert result.output.strip() == "sertraline 50 mg, 08:00 dose, taken 08:04, on time"
    assert doses() == [(1, "taken", "2026-11-23T07:04:00Z", "2026-11-23T07:00:00Z", None)]


def test_take_late_dose_for_last_night(meds):
    result = ok("take", "lamotrigine", "--at", "yesterday 22:30", now=MORNING)
    assert result.output.strip() == (
        "lamotrigine 25 mg, 21:00 dose, taken yesterday 22:30, late by 1 h 30 min"
    )
    assert doses()[0][3] == "2026-11-22T20:00:00Z"


def test_take_due_takes_every_dose_due_now(meds):
    result = ok("take", "--due", now=MORNING)
    lines = result.output.strip().splitlines()
    # Last night's quetiapine is still open (its window runs to 19:00): due now, and the
    # line says which day's dose it was.
    assert sorted(lines) == [
        "lamotrigine 25 mg, 08:00 dose, taken 08:04, on time",
        "quetiapine 25 mg, yesterday 22:00 dose, taken 08:04, late by 10 h 4 min",
        "sertraline 50 mg, 08:00 dose, taken 08:04, on time",
    ]
    assert ok("take", "--due", now=MORNING).output.strip() == "Nothing is due now."


def test_second_take_is_an_extra_dose_refused_without_terminal(meds):
    ok("take", "sertraline", now=MORNING)
    before = dump()
    result = run("take", "sertraline", now="2026-11-23T09:00:00+01:00")
    assert result.exit_code == 1
    assert "no open dose" in result.stderr and "last dose 08:04 (56 min ago)" in result.stderr
    assert "--yes" in result.stderr
    assert dump() == before
    result = ok("take", "sertraline", "--yes", now="2026-11-23T09:00:00+01:00")
    assert "extra dose" in result.output
    assert doses()[-1][3] is None


def test_take_several_is_all_or_nothing(meds):
    ok("take", "sertraline", now=MORNING)
    before = dump()
    result = run("take", "lamotrigine", "sertraline", now=MORNING)
    assert result.exit_code == 1
    assert dump() == before


def test_as_needed_limits_refused_unless_yes(meds):
    ok("take", "lorazepam", now="2026-11-23T08:00:00+01:00")
    before = dump()
    result = run("take", "lorazepam", now="2026-11-23T10:00:00+01:00")
    assert result.exit_code == 1
    assert "next dose allowed from 14:00" in result.stderr
    assert dump() == before
    ok("take", "lorazepam", now="2026-11-23T14:30:00+01:00")
    result = run("take", "lorazepam", now="2026-11-23T21:00:00+01:00")
    assert result.exit_code == 1
    assert "2 of at most 2" in result.stderr
    assert "next dose allowed from 2026-11-24 00:00" in result.stderr
    result = ok("take", "lorazepam", "--yes", now="2026-11-23T21:00:00+01:00")
    assert "(3 of at most 2 that day)" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("take", "sertralinx"), "did you mean 'sertraline'"),
        (("take", "sertraline", "--at", "banana"), "can't read time 'banana'"),
        (("take", "sertraline", "--at", "tomorrow 08:00"), "is in the future"),
        (("take", "sertraline", "--at", "20:00"), "is in the future"),
        (("take", "sertraline", "--dose", "-5mg"), "dose"),
        (("skip", "sertraline", "--reason", "lazy"), "forgot, side-effects, ran-out"),
        (("skip", "nothing", "--reason", "forgot"), "no medication called 'nothing'"),
        (("skip", "sertraline", "--reason", "forgot", "--at", "in 2 days"), "can't read time"),
        (("skip", "lorazepam", "--reason", "forgot"), "as needed"),
        (("take", "sertraline", "--at", "2026-10-20 08:00"), "no dose plan"),
    ],
)
def test_bad_input_exits_1_and_changes_nothing(meds, args, message):
    before = dump()
    result = run(*args, now=MORNING)
    assert result.exit_code == 1, result.output
    assert message in result.stderr
    assert result.stderr.count("\n") == 1
    assert dump() == before


def test_stopped_medication_is_refused(meds):
    ok("med", "stop", "quetiapine", now="2026-11-20T12:00:00+01:00")
    before = dump()
    result = run("take", "quetiapine", now=MORNING)
    assert result.exit_code == 1 and "was stopped on 2026-11-20 12:00" in result.stderr
    assert dump() == before
    # A dose from before the stop can still be logged.
    ok("take", "quetiapine", "--yes", "--at", "2026-11-19 22:05", now=MORNING)


def test_usage_errors(meds):
    assert run("take", now=MORNING).exit_code == 2
    assert run("take", "sertraline", "--due", now=MORNING).exit_code == 2
    assert run("take", "sertraline", "sertraline", now=MORNING).exit_code == 2


def test_skip_answers_the_slot(meds):
    result = ok(
        "skip", "quetiapine", "--reason", "side-effects", "--note", "too groggy", now=MORNING
    )
    assert result.output.strip() == "quetiapine: yesterday 22:00 dose skipped (side-effects)"
    assert doses()[0][1:] == (
        "skipped",
        "2026-11-23T07:04:00Z",
        "2026-11-22T21:00:00Z",
        "side-effects",
    )
    before = dump()
    result = run("skip", "quetiapine", "--reason", "forgot", now=MORNING)
    assert result.exit_code == 1 and "no open dose" in result.stderr
    assert dump() == before
    # The skipped slot is answered, so a take now is an extra dose.
    assert run("take", "quetiapine", now=MORNING).exit_code == 1


def test_today_text_and_json(meds):
    ok("take", "sertraline", now=MORNING)
    ok("skip", "quetiapine", "--reason", "forgot", "--at", "2026-11-22 23:00", now=MORNING)
    ok("take", "lorazepam", now="2026-11-23T07:00:00+01:00")
    result = ok("today", now="2026-11-23T09:30:00+01:00")
    text = result.output
    assert "08:00  lamotrigine  25 mg  ! overdue" in text  # 09:30: past its 60 min
    assert "08:00  sertraline   50 mg  ● taken 08:04" in text
    assert "21:00  lamotrigine  25 mg  … later" in text
    assert "22:00  quetiapine   25 mg  … later" in text
    assert "lorazepam" in text and "1 of 2" in text and "13:00" in text

    data = json.loads(ok("today", "--json", now="2026-11-23T11:30:00+01:00").output)
    assert set(data) == {"date", "now", "slots", "as_needed"}
    assert data["date"] == "2026-11-23"
    first = data["slots"][0]
    assert set(first) == {
        "medication",
        "dose",
        "scheduled_for",
        "date",
        "time",
        "zone",
        "place",
        "status",
        "taken_at",
        "taken_place",
        "timing",
        "skip_reason",
        "dose_id",
    }
    statuses = {(s["medication"], s["time"]): s["status"] for s in data["slots"]}
    assert statuses == {
        ("lamotrigine", "08:00"): "overdue",
        ("sertraline", "08:00"): "taken",
        ("lamotrigine", "21:00"): "later",
        ("quetiapine", "22:00"): "later",
    }
    assert data["as_needed"] == [
        {
            "medication": "lorazepam",
            "dose": "0.5 mg",
            "uses_today": 1,
            "max_per_day": 2,
            "last_taken_at": "2026-11-23T07:00:00+01:00",
            "last_taken_place": None,
            "next_allowed_at": "2026-11-23T13:00:00+01:00",
            "next_allowed_place": None,
        }
    ]
    # Once the evening slot opens, the morning one is missed.
    data = json.loads(ok("today", "--json", now="2026-11-23T18:30:00+01:00").output)
    assert data["slots"][0]["status"] == "missed"


def test_log_json(meds):
    ok("take", "sertraline", "--note", "with food", now=MORNING)
    ok("take", "lorazepam", now=MORNING)
    ok("take", "sertraline", "--at", "2026-11-10 08:00", now=MORNING)  # outside 7 days
    items = json.loads(ok("log", "--json", now=MORNING).output)
    assert [i["medication"] for i in items] == ["sertraline", "lorazepam"]
    assert set(items[0]) == {
        "id",
        "medication",
        "status",
        "kind",
        "taken_at",
        "place",
        "scheduled_for",
        "slot_place",
        "amount",
        "unit",
        "skip_reason",
        "note",
        "zone",
        "recorded_at",
    }
    assert items[0]["kind"] == "scheduled" and items[1]["kind"] == "as-needed"
    assert items[0]["note"] == "with food" and items[0]["zone"] == "Europe/Berlin"
    only = json.loads(
        ok("log", "--days", "30", "--med", "sertraline", "--json", now=MORNING).output
    )
    assert [i["taken_at"] for i in only] == [
        "2026-11-10T08:00:00+01:00",
        "2026-11-23T08:04:00+01:00",
    ]
    assert run("log", "--days", "0", now=MORNING).exit_code == 1


def test_summary_figures_and_json(meds):
    # 1-7 Nov: sertraline taken on 1-5 (the 5th late), skipped 6th, missed 7th.
    for day in range(1, 6):
        at = f"2026-11-0{day} 08:10" if day < 5 else "2026-11-05 10:00"
        ok("take", "sertraline", "--at", at, now="2026-11-08T12:00:00+01:00")
    ok(
        "skip",
        "sertraline",
        "--reason",
        "ran-out",
        "--at",
        "2026-11-06 09:00",
        now="2026-11-08T12:00:00+01:00",
    )
    ok("take", "lorazepam", "--at", "2026-11-03 10:00", now="2026-11-08T12:00:00+01:00")
    result = ok(
        "summary",
        "--since",
        "2026-11-01",
        "--until",
        "2026-11-07",
        "--med",
        "sertraline",
        "--json",
        now="2026-11-08T12:00:00+01:00",
    )
    data = json.loads(result.output)
    assert set(data) == {
        "window",
        "on_time_window_minutes",
        "drug_holiday_days",
        "threshold",
        "medications",
        "as_needed",
        "overall",
    }
    assert data["window"]["start"] == "2026-11-01T00:00:00+01:00"
    assert data["window"]["end"] == "2026-11-08T00:00:00+01:00"  # --until includes the 7th
    assert data["threshold"] == {"percent": 80.0, "label": "conventional threshold"}
    (s,) = data["medications"]
    assert (s["due"], s["taken"], s["on_time"], s["late"]) == (7, 5, 4, 1)
    assert (s["skipped"], s["missed"], s["pending"]) == (1, 1, 0)
    assert s["skipped_by_reason"] == {"ran-out": 1}
    assert s["taking_adherence"] == 71.4 and s["timing_adherence"] == 57.1
    assert s["correct_dosing_days"] == {"correct": 5, "days": 7, "percent": 71.4}
    assert (s["current_streak"], s["longest_streak"]) == (0, 5)
    assert [d["cell"] for d in s["daily"]] == ["all"] * 5 + ["skipped", "none"]
    assert data["as_needed"] == []  # --med sertraline
    assert data["overall"]["taking_adherence"] == 71.4

    everything = json.loads(
        ok("summary", "--days", "8", "--json", now="2026-11-08T12:00:00+01:00").output
    )
    names = [m["medication"] for m in everything["medications"]]
    assert names == ["lamotrigine", "quetiapine", "sertraline"]
    (prn,) = everything["as_needed"]
    assert (prn["medication"], prn["uses"], prn["days_above_max"]) == ("lorazepam", 1, 0)

    text = ok("summary", "--days", "8", now="2026-11-08T12:00:00+01:00").output
    assert "conventional adherence threshold" in text
    assert "●●●●●–○…" in text  # the calendar strip of sertraline
    assert "not counted in any percentage" in text


def test_summary_bad_windows(meds):
    before = dump()
    for args in (
        ("summary", "--days", "0"),
        ("summary", "--since", "2026-12-01"),
        ("summary", "--since", "2026-11-10", "--until", "2026-11-01"),
        ("summary", "--since", "nonsense"),
    ):
        result = run(*args, now=MORNING)
        assert result.exit_code == 1, args
    assert run("summary", "--days", "3", "--since", "2026-11-01", now=MORNING).exit_code == 2
    assert dump() == before


def test_fast_commands_do_not_import_rich_or_sqlite_utils(meds):
    code = (
        "import sys\n"
        "from medtrack.cli import app\n"
        "try:\n"
        "    app(sys.argv[1:])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('HEAVY', sorted(m for m in ('rich', 'sqlite_utils') if m in sys.modules))\n"
    )
    env = {**os.environ, "MEDTRACK_NOW": MORNING}
    for args in (["take", "sertraline"], ["skip", "quetiapine", "--reason", "forgot"], ["today"]):
        out = subprocess.run(
            [sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, check=True
        ).stdout
        assert "HEAVY []" in out, (args, out)


def test_extra_dose_on_a_terminal_asks_first(meds, monkeypatch):
    from medtrack.cli import doses as doses_cli

    monkeypatch.setattr(doses_cli, "_stdin_is_terminal", lambda: True)
    ok("take", "sertraline", now=MORNING)
    before = dump()
    result = runner.invoke(app, ["take", "sertraline"], input="n\n", env={"MEDTRACK_NOW": MORNING})
    assert result.exit_code == 1 and "nothing recorded" in result.stderr
    assert "this would be an extra dose. Record it anyway?" in result.output
    assert dump() == before
    result = runner.invoke(app, ["take", "sertraline"], input="y\n", env={"MEDTRACK_NOW": MORNING})
    assert result.exit_code == 0 and "extra dose" in result.output
    assert [d[3] for d in doses()] == ["2026-11-23T07:00:00Z", None]


def test_a_late_dose_across_a_dose_change_keeps_its_slots_dose(meds):
    ok(
        "med",
        "change",
        "sertraline",
        "--dose",
        "100mg",
        "--from",
        "2026-11-23",
        now="2026-11-20T12:00:00+01:00",
    )
    result = ok("take", "sertraline", "--at", "2026-11-23 01:00", now=MORNING)
    assert result.output.strip() == (
        "sertraline 50 mg, yesterday 08:00 dose, taken 01:00, late by 17 h"
    )
    result = ok("take", "sertraline", now=MORNING)
    assert result.output.strip() == "sertraline 100 mg, 08:00 dose, taken 08:04, on time"
    conn = sqlite3.connect(os.environ["MEDTRACK_DB"])
    amounts = conn.execute("SELECT amount FROM doses ORDER BY id").fetchall()
    conn.close()
    assert amounts == [(50.0,), (100.0,)]
