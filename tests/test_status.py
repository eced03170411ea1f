"""`medtrack status`: the status-bar line, its JSON and its exit code (issue 20 item 7)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from medtrack.cli import app

runner = CliRunner()
SETUP = "2026-12-01T07:00:00+01:00"


def run(*args: str, now: str):
    return runner.invoke(app, list(args), env={"MEDTRACK_NOW": now})


@pytest.fixture
def plan():
    for args in (
        ["med", "add", "sertraline", "--dose", "50mg", "--schedule", "daily 08:00"],
        ["med", "add", "seroquel", "--dose", "25mg", "--schedule", "daily 21:00"],
        ["med", "add", "lorazepam", "--dose", "0.5mg", "--schedule", "as needed"],
        ["med", "add", "depot", "--dose", "150mg", "--schedule", "monthly 20 10:00"],
    ):
        result = run(*args, now=SETUP)
        assert result.exit_code == 0, result.output


def test_nothing_due_shows_the_next_dose_and_exits_0(plan):
    # 2026-12-05 08:30 Berlin: last night's seroquel and the 08:00 sertraline were taken
    # (last night's slot stays open until 18:00); seroquel at 21:00 is next.
    late = "2026-12-04T21:05:00+01:00"
    assert run("take", "seroquel", "--at", late, now="2026-12-05T08:30:00+01:00").exit_code == 0
    assert (
        run("take", "sertraline", "--at", "08:05", now="2026-12-05T08:30:00+01:00").exit_code == 0
    )
    result = run("status", now="2026-12-05T08:30:00+01:00")
    assert result.exit_code == 0
    assert result.stdout == "next: seroquel 21:00 (in 12h 30m)\n"


def test_a_dose_due_now_is_named_and_exits_1(plan):
    # 21:10: seroquel's slot is at or before now and unanswered; the next sertraline is
    # tomorrow and not due; lorazepam (as needed) never is.
    assert (
        run("take", "sertraline", "--at", "08:05", now="2026-12-05T21:10:00+01:00").exit_code == 0
    )
    result = run("status", now="2026-12-05T21:10:00+01:00")
    assert result.exit_code == 1
    assert result.stdout == "due: seroquel 21:00\n"
    data = json.loads(run("status", "--json", now="2026-12-05T21:10:00+01:00").stdout)
    assert data == {
        "line": "due: seroquel 21:00",
        "due": [
            {
                "medication": "seroquel",
                "dose": "25 mg",
                "scheduled_for": "2026-12-05T21:00:00+01:00",
                "status": "pending",
            }
        ],
        "next": {
            "medication": "sertraline",
            "dose": "50 mg",
            "scheduled_for": "2026-12-06T08:00:00+01:00",
            "status": "later",
        },
    }


def test_last_nights_open_dose_is_still_due_in_the_morning(plan):
    # 07:00 on the 6th: seroquel's 21:00 slot stays open until the next one opens (18:00);
    # sertraline's 08:00 slot is not yet at its time.
    result = run("status", now="2026-12-06T07:00:00+01:00")
    assert result.exit_code == 1
    due = result.stdout.removeprefix("due: ").strip().split(", ")
    # 10 h past its slot, beyond its 60-minute on-time window: overdue, and said so.
    assert due[-1] == "seroquel yesterday 21:00 overdue"


def test_after_answering_everything_the_monthly_dose_can_be_next(plan):
    run("skip", "seroquel", "--reason", "forgot", "--at", "21:30", now="2026-12-05T21:45:00+01:00")
    run("med", "stop", "sertraline", now="2026-12-05T21:45:00+01:00")
    run("med", "stop", "seroquel", now="2026-12-05T21:46:00+01:00")
    result = run("status", now="2026-12-05T22:00:00+01:00")
    # The 20 Dec 10:00 injection, 14 days and 12 hours away.
    assert (result.exit_code, result.stdout) == (0, "next: depot Sun 20 Dec 10:00 (in 14d)\n")


def test_an_empty_record_is_quiet_and_creates_nothing(tmp_path):
    result = run("status", now=SETUP)
    assert (result.exit_code, result.stdout) == (0, "no doses scheduled\n")
    assert not Path(os.environ["MEDTRACK_DB"]).exists()


def test_the_installed_command_exits_with_the_status(plan):
    exe = Path(sys.executable).parent / "medtrack"
    env = dict(os.environ, MEDTRACK_NOW="2026-12-05T21:10:00+01:00")
    result = subprocess.run(
        [str(exe), "status"], capture_output=True, text=True, env=env, timeout=60
    )
    assert result.returncode == 1
    assert result.stdout.startswith("due: ")
    assert result.stderr == ""
