from __future__ import annotations

import json
import os
import sqlite3

import pytest
from helpers import dump
from typer.testing import CliRunner

from medtrack.cli import app

runner = CliRunner()
NOW = "2026-11-23T14:30:00+01:00"


@pytest.fixture(autouse=True)
def pinned_now(monkeypatch):
    monkeypatch.setenv("MEDTRACK_NOW", NOW)


def run(*args: str):
    return runner.invoke(app, list(args))


def add_issue_examples():
    commands = [
        [
            "med",
            "add",
            "sertraline",
            "--dose",
            "50mg",
            "--schedule",
            "daily 08:00",
            "--for",
            "depression",
            "--prescriber",
            "Dr Okafor",
        ],
        [
            "med",
            "add",
            "lamotrigine",
            "--dose",
            "25mg",
            "--schedule",
            "daily 08:00,20:00",
            "--start",
            "2026-11-01",
        ],
        [
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
            "--controlled",
        ],
        [
            "med",
            "add",
            "vitamin d",
            "--dose",
            "1000IU",
            "--schedule",
            "daily 09:00",
            "--kind",
            "supplement",
        ],
        [
            "med",
            "add",
            "paliperidone",
            "--dose",
            "156mg",
            "--form",
            "injection",
            "--schedule",
            "every 4 weeks mon 10:00",
        ],
        [
            "med",
            "change",
            "lamotrigine",
            "--dose",
            "50mg",
            "--from",
            "2026-11-15",
            "--reason",
            "titration step 2",
        ],
        ["med", "stop", "lorazepam", "--reason", "no longer needed"],
    ]
    for command in commands:
        result = run(*command)
        assert result.exit_code == 0, (command, result.output, result.stderr)


def test_issue_walkthrough_lists_current_medications():
    add_issue_examples()
    result = run("med", "list")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0] == "Medications"
    names = [line.split("  ")[0] for line in lines[2:]]
    assert names == ["lamotrigine", "paliperidone", "sertraline", "vitamin d"]
    sertraline = next(line for line in lines if line.startswith("sertraline"))
    assert "every day at 08:00" in sertraline
    assert "depression" in sertraline and "Dr Okafor" in sertraline
    assert "2026-11-23" in sertraline


def test_list_all_json_keys_and_values():
    add_issue_examples()
    result = run("med", "list", "--all", "--json")
    assert result.exit_code == 0
    records = json.loads(result.output)
    assert [r["name"] for r in records] == [
        "lamotrigine",
        "lorazepam",
        "paliperidone",
        "sertraline",
        "vitamin d",
    ]
    lorazepam = records[1]
    assert set(lorazepam) == {
        "name",
        "kind",
        "form",
        "purpose",
        "prescriber",
        "controlled",
        "notes",
        "since",
        "stopped_at",
        "stop_reason",
        "active",
        "current",
        "planned",
        "supply",
    }
    assert lorazepam["supply"] is None  # no refills recorded, so no stock is tracked
    assert lorazepam["controlled"] is True
    assert lorazepam["active"] is False
    assert lorazepam["stop_reason"] == "no longer needed"
    assert lorazepam["stopped_at"] == "2026-11-23T14:30:00+01:00"
    assert lorazepam["current"]["schedule"] == "as needed, at most 2 a day, 6 h apart"
    assert lorazepam["current"]["min_interval_minutes"] == 360
    vitamin = records[4]
    assert vitamin["kind"] == "supplement"
    assert vitamin["current"]["dose"] == {"amount": 1000.0, "unit": "IU"}
    paliperidone = records[2]
    assert paliperidone["form"] == "injection"
    assert paliperidone["current"]["schedule"] == "every 4 weeks on Monday at 10:00"
    assert paliperidone["current"]["rrule"] == "FREQ=WEEKLY;INTERVAL=4;BYDAY=MO"


def test_show_has_regimen_history_with_dates_and_reasons():
    add_issue_examples()
    result = run("med", "show", "LAMOTRIGINE", "--json")
    assert result.exit_code == 0
    record = json.loads(result.output)
    regimens = record["regimens"]
    assert [(r["starts_at"], r["ends_at"], r["dose_text"], r["reason"]) for r in regimens] == [
        ("2026-11-01T00:00:00+01:00", "2026-11-15T00:00:00+01:00", "25 mg", None),
        ("2026-11-15T00:00:00+01:00", None, "50 mg", "titration step 2"),
    ]
    assert record["current"]["dose_text"] == "50 mg"
    text = run("med", "show", "lamotrigine").output
    assert "Regimen history" in text
    assert "titration step 2" in text
    assert "2026-11-01 00:00  2026-11-15 00:00  25 mg" in text


def test_future_change_keeps_later_planned_step():
    add_issue_examples()
    assert (
        run(
            "med",
            "change",
            "lamotrigine",
            "--dose",
            "100mg",
            "--from",
            "2026-12-01",
            "--reason",
            "step 3",
        ).exit_code
        == 0
    )
    # A correction between the two planned steps keeps step 3 in place.
    assert (
        run(
            "med",
            "change",
            "lamotrigine",
            "--dose",
            "75mg",
            "--from",
            "2026-11-25",
            "--reason",
            "step 2b",
        ).exit_code
        == 0
    )
    regimens = json.loads(run("med", "show", "lamotrigine", "--json").output)["regimens"]
    doses = sorted((r["starts_at"], r["ends_at"], r["dose_text"]) for r in regimens)
    assert doses == [
        ("2026-11-01T00:00:00+01:00", "2026-11-15T00:00:00+01:00", "25 mg"),
        ("2026-11-15T00:00:00+01:00", "2026-11-25T00:00:00+01:00", "50 mg"),
        ("2026-11-25T00:00:00+01:00", "2026-12-01T00:00:00+01:00", "75 mg"),
        ("2026-12-01T00:00:00+01:00", None, "100 mg"),
    ]


def test_change_is_kept_in_history_table():
    add_issue_examples()
    conn = sqlite3.connect(os.environ["MEDTRACK_DB"])
    rows = conn.execute(
        "SELECT action, table_name, before, after FROM history WHERE table_name = 'regimens'"
    ).fetchall()
    conn.close()
    assert rows, "closing a regimen must be recorded in history"
    action, _, before, after = rows[0]
    assert action == "update"
    assert json.loads(before)["ends_at"] is None
    assert json.loads(after)["ends_at"] == "2026-11-14T23:00:00Z"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["med", "add", "x", "--dose", "0mg", "--schedule", "daily 08:00"], "more than zero"),
        (["med", "add", "x", "--dose", "-5mg", "--schedule", "daily 08:00"], "can't read dose"),
        (["med", "add", "x", "--dose", "lots", "--schedule", "daily 08:00"], "can't read dose"),
        (["med", "add", "x", "--dose", "5mg", "--schedule", "whenever"], "daily 08:00"),
        (
            ["med", "add", "x", "--dose", "5mg", "--schedule", "daily 08:00", "--kind", "herb"],
            "rx, otc, supplement",
        ),
        (
            ["med", "add", "x", "--dose", "5mg", "--schedule", "daily 08:00", "--start", "soon"],
            "can't read",
        ),
        (
            ["med", "add", "SERTRALINE", "--dose", "5mg", "--schedule", "daily 08:00"],
            "already recorded",
        ),
        (["med", "add", "   ", "--dose", "5mg", "--schedule", "daily 08:00"], "empty"),
        (["med", "show", "sertralinx"], "did you mean 'sertraline'"),
        (["med", "change", "sertraline", "--dose", "0mg"], "more than zero"),
        (["med", "stop", "nothing"], "no medication called 'nothing'"),
        (
            ["med", "add", "y", "--dose", "5mg", "--schedule", "as needed", "--max-per-day", "0"],
            "at least 1",
        ),
        (
            ["med", "add", "y", "--dose", "5mg", "--schedule", "as needed", "--min-interval", "x"],
            "can't read",
        ),
    ],
)
def test_bad_input_one_line_exit_1_nothing_written(args, message):
    assert (
        run("med", "add", "sertraline", "--dose", "50mg", "--schedule", "daily 08:00").exit_code
        == 0
    )
    before = dump()
    result = run(*args)
    assert result.exit_code == 1, result.output
    assert message in result.stderr
    assert result.stderr.startswith("medtrack: ")
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr + result.output
    assert dump() == before


def test_usage_errors_exit_2():
    run("med", "add", "sertraline", "--dose", "50mg", "--schedule", "daily 08:00")
    before = dump()
    assert run("med", "change", "sertraline").exit_code == 2
    assert (
        run(
            "med", "add", "x", "--dose", "5mg", "--schedule", "daily 08:00", "--max-per-day", "2"
        ).exit_code
        == 2
    )
    assert run("med", "frobnicate").exit_code == 2
    assert dump() == before


def test_stop_twice_and_resume():
    add_issue_examples()
    result = run("med", "stop", "lorazepam")
    assert result.exit_code == 1 and "already stopped" in result.stderr
    assert run("med", "resume", "lorazepam").exit_code == 0
    record = json.loads(run("med", "show", "lorazepam", "--json").output)
    assert record["active"] is True
    assert record["current"]["schedule"] == "as needed, at most 2 a day, 6 h apart"
    assert len(record["regimens"]) == 2


def test_version():
    result = run("--version")
    assert result.exit_code == 0
    from medtrack import __version__

    assert result.output.strip() == f"medtrack {__version__}"


def test_config_timezone_applies_from_now_on():
    run("med", "add", "sertraline", "--dose", "50mg", "--schedule", "daily 08:00")
    assert run("config", "get", "timezone").output.strip() == "Europe/Berlin"
    assert run("config", "set", "timezone", "America/New_York").exit_code == 0
    assert run("config", "get", "timezone").output.strip() == "America/New_York"
    # The medication added before the flight still started at Berlin midnight.
    record = json.loads(run("med", "show", "sertraline", "--json").output)
    assert record["since"] == "2026-11-23T00:00:00+01:00"
    bad = run("config", "set", "timezone", "Mars/Olympus")
    assert bad.exit_code == 1 and "IANA" in bad.stderr
    bad = run("config", "set", "colour", "blue")
    assert bad.exit_code == 1 and "unknown setting" in bad.stderr


def test_profiles_keep_separate_files(monkeypatch, isolated_home):
    monkeypatch.delenv("MEDTRACK_DB")
    assert (
        run(
            "--profile",
            "mum",
            "med",
            "add",
            "lithium",
            "--dose",
            "400mg",
            "--schedule",
            "daily 20:00",
        ).exit_code
        == 0
    )
    assert json.loads(run("med", "list", "--json").output) == []
    names = [m["name"] for m in json.loads(run("--profile", "mum", "med", "list", "--json").output)]
    assert names == ["lithium"]
    folder = isolated_home / ".local" / "share" / "medtrack"
    # Listing the default profile only read it: no default.db was created.
    assert sorted(p.name for p in folder.glob("*.db")) == ["mum.db"]
    assert oct(folder.stat().st_mode & 0o777) == "0o700"
    assert oct((folder / "mum.db").stat().st_mode & 0o777) == "0o600"
    monkeypatch.setenv("MEDTRACK_PROFILE", "mum")
    names = [m["name"] for m in json.loads(run("med", "list", "--json").output)]
    assert names == ["lithium"]
    bad = run("--profile", "../etc", "med", "list")
    assert bad.exit_code == 2 and "profile name" in bad.stderr


def test_completion_lists_active_medication_names():
    add_issue_examples()
    from medtrack.cli.common import complete_medication

    assert complete_medication(None, "") == [
        "lamotrigine",
        "paliperidone",
        "sertraline",
        "vitamin d",
    ]
    assert complete_medication(None, "LA") == ["lamotrigine"]


def test_every_command_has_help_with_summary_and_example():
    import typer.main

    group = typer.main.get_command(app)
    missing = []

    def walk(command, path):
        if hasattr(command, "list_commands"):
            if not (command.help or "").strip():
                missing.append(" ".join(path) + " (group)")
            # list/get_command, not .commands: the root builds its commands lazily.
            for name in command.list_commands(None):
                walk(command.get_command(None, name), [*path, name])
            return
        text = command.help or ""
        if not text.strip() or "Example:" not in text:
            missing.append(" ".join(path))

    walk(group, ["medtrack"])
    assert not missing, f"commands without a summary and an example: {missing}"
