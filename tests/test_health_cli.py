"""The health record through the CLI: symptoms, side effects, measurements, check-ins, notes.

Now is pinned at 2026-11-23 14:30 in Berlin (UTC+1), so "now" in local ISO is
2026-11-23T14:30:00+01:00 and UTC text is 2026-11-23T13:30:00Z.
"""

from __future__ import annotations

import json
import os
import sqlite3

import pytest
from helpers import dump
from typer.testing import CliRunner

from medtrack.cli import app
from medtrack.core.questionnaires import safety_message

# The tests run in Berlin (conftest), so the message names the German line.
SAFETY_MESSAGE = safety_message(None, "Europe/Berlin")

runner = CliRunner()
NOW = "2026-11-23T14:30:00+01:00"
LOCAL_NOW = "2026-11-23T14:30:00+01:00"


@pytest.fixture(autouse=True)
def pinned_now(monkeypatch):
    monkeypatch.setenv("MEDTRACK_NOW", NOW)


def run(*args: str, input: str | None = None):
    return runner.invoke(app, list(args), input=input)


def ok(*args: str, input: str | None = None):
    result = run(*args, input=input)
    assert result.exit_code == 0, (args, result.output, result.stderr)
    return result


def listed(*args: str):
    return json.loads(ok(*args, "--json").stdout)


def query(sql: str, params: tuple = ()) -> list[tuple]:
    conn = sqlite3.connect(os.environ["MEDTRACK_DB"])
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


@pytest.fixture
def meds():
    ok("med", "add", "sertraline", "--dose", "50mg", "--schedule", "daily 08:00")
    ok("med", "add", "quetiapine", "--dose", "25mg", "--schedule", "daily 21:00")


# --- the issue's command lines, exactly as written ------------------------------------------


def test_issue_command_lines(meds):
    ok("symptom", "mood", "4", "--note", "flat all day")
    ok("symptom", "sleep", "6.5", "--unit", "h")
    symptoms = listed("symptom", "list", "--days", "14")
    assert [(s["name"], s["value"], s["unit"]) for s in symptoms] == [
        ("mood", 4.0, None),
        ("sleep", 6.5, "h"),
    ]

    ok("side-effect", "nausea", "--med", "sertraline", "--severity", "mild")
    ok(
        "side-effect", "weight gain", "--med", "quetiapine", "--severity", "moderate",
        "--at", "2026-11-02",
    )  # fmt: skip
    resolved = ok("side-effect", "resolve", "2", "--action", "took it with food")
    assert "Resolved side effect #2 weight gain" in resolved.stdout
    open_list = ok("side-effect", "list", "--open").stdout
    assert "nausea" in open_list and "weight gain" not in open_list

    assert "72.4 kg" in ok("measure", "weight", "72.4kg").stdout
    assert "128/82 mmHg" in ok("measure", "bp", "128/82").stdout
    assert "0.8 mmol/L" in ok("measure", "lithium", "0.8", "mmol/L").stdout

    gad = ok("checkin", "gad7", "--answers", "1,1,2,0,1,0,1")
    # 1+1+2+0+1+0+1 = 6, GAD-7 5-9 is mild.
    assert "GAD-7 total 6 of 21: mild" in gad.stdout
    assert [c["total"] for c in listed("checkin", "list")] == [6]

    ok("note", "Can I take the sertraline at night instead?", "--ask")
    ok("note", "slept badly after the late dose")
    assert "Can I take the sertraline" in ok("note", "list", "--open").stdout
    assert "Marked note #1 as answered" in ok("note", "done", "1").stdout
    # Note 2 is not a question, so after answering note 1 nothing is open.
    assert listed("note", "list", "--open") == []


def test_interactive_checkin_asks_each_item_with_stem_and_options(monkeypatch):
    import medtrack.cli.health as health_cli

    monkeypatch.setattr(health_cli, "_interactive", lambda: True)
    # Nine answers, a wrong one retried ("5" is not a choice), then the difficulty question.
    typed = "\n".join(["2", "5", "2", "1", "1", "0", "3", "2", "1", "0", "1"]) + "\n"
    result = ok("checkin", "phq9", input=typed)
    out = result.stdout
    assert "Over the last 2 weeks, how often have you been bothered" in out
    assert "0 = Not at all" in out and "3 = Nearly every day" in out
    assert "1/9. Little interest or pleasure in doing things" in out
    assert "9/9. Thoughts that you would be better off dead" in out
    assert "[0/1/2/3]" in out
    assert "how difficult have these problems made it" in out
    # 2+2+1+1+0+3+2+1+0 = 12: PHQ-9 10-14 is moderate; item 9 is 0, so no safety message.
    assert "PHQ-9 total 12 of 27: moderate" in out
    assert SAFETY_MESSAGE not in out
    [stored] = listed("checkin", "list")
    assert stored["answers"] == [2, 2, 1, 1, 0, 3, 2, 1, 0]
    assert stored["difficulty"] == 1
    assert stored["flagged"] is False


def test_interactive_checkin_cancelled_by_end_of_input_records_nothing(monkeypatch, meds):
    import medtrack.cli.health as health_cli

    monkeypatch.setattr(health_cli, "_interactive", lambda: True)
    before = dump()
    result = run("checkin", "gad7", input="1\n2\n")
    assert result.exit_code == 1
    assert "GAD-7 check-in cancelled; nothing was recorded" in result.stderr
    assert dump() == before


def test_checkin_without_terminal_or_answers_is_refused_not_hung(meds):
    before = dump()
    result = run("checkin", "phq9")
    assert result.exit_code == 2
    assert "--answers" in result.stderr
    assert result.stdout == ""
    assert dump() == before


# --- PHQ-9 item 9 end to end ---------------------------------------------------------------


def test_item9_flag_end_to_end():
    result = ok("checkin", "phq9", "--answers", "1,1,1,1,1,1,1,1,2")
    out = result.stdout
    # 8 x 1 + 2 = 10: moderate. The score comes first, then the calm safety message.
    assert "PHQ-9 total 10 of 27: moderate" in out
    assert SAFETY_MESSAGE in out
    assert out.index("PHQ-9 total") < out.index(SAFETY_MESSAGE)
    assert result.stderr == ""
    assert query("SELECT questionnaire, total, band, flagged FROM checkins") == [
        ("phq9", 10, "moderate", 1)
    ]

    ok("checkin", "phq9", "--answers", "0,0,0,0,0,0,0,0,0", "--at", "2h ago")
    [first, second] = listed("checkin", "list")  # time order: the 2h ago one first
    assert (first["total"], first["flagged"]) == (0, False)
    assert (second["total"], second["flagged"]) == (10, True)

    table = ok("checkin", "list").stdout
    flag_line = table.splitlines()[0]
    assert flag_line.startswith("FLAGGED: PHQ-9 #1 on 2026-11-23")
    assert "item 9" in table


def test_crisis_line_setting_replaces_the_table_entry():
    ok("config", "set", "crisis_line", "Krisendienst 0800 655 3000")
    out = ok("checkin", "phq9", "--answers", "0,0,0,0,0,0,0,0,1").stdout
    assert "Krisendienst 0800 655 3000" in out
    assert "TelefonSeelsorge" not in out and "988" not in out
    assert "your local emergency number (112)" in out


def test_gad7_and_zero_item9_never_flag():
    out = ok("checkin", "gad7", "--answers", "3,3,3,3,3,3,3").stdout
    assert "GAD-7 total 21 of 21: severe" in out
    assert SAFETY_MESSAGE not in out
    out = ok("checkin", "phq9", "--answers", "3,3,3,3,3,3,3,3,0").stdout
    assert "PHQ-9 total 24 of 27: severe" in out
    assert SAFETY_MESSAGE not in out
    assert query("SELECT flagged FROM checkins ORDER BY id") == [(0,), (0,)]


# --- round trips through --json ---------------------------------------------------------------


def test_symptom_round_trip():
    ok("symptom", "  Sleep   Quality ", "7", "--at", "2026-11-22T08:00", "--note", "woke once")
    ok("symptom", "sleep", "6.5", "--unit", "h", "--at", "yesterday 07:15")
    assert listed("symptom", "list") == [
        {
            "id": 2,
            "name": "sleep",
            "value": 6.5,
            "unit": "h",
            "at": "2026-11-22T07:15:00+01:00",
            "note": None,
        },
        {
            "id": 1,
            "name": "sleep quality",
            "value": 7.0,
            "unit": None,
            "at": "2026-11-22T08:00:00+01:00",
            "note": "woke once",
        },
    ]
    assert query("SELECT at, zone FROM symptoms WHERE id = 1") == [
        ("2026-11-22T07:00:00Z", "Europe/Berlin")
    ]


def test_symptom_list_days_is_calendar_days_in_local_time():
    # --days 14 ending Mon 23 Nov is 10 Nov 00:00 local (= 9 Nov 23:00 UTC) onwards.
    ok("symptom", "mood", "3", "--at", "2026-11-09T23:59")
    ok("symptom", "mood", "5", "--at", "2026-11-10T00:00")
    ok("symptom", "anxiety", "2", "--at", "2026-11-23T00:00")
    assert [s["id"] for s in listed("symptom", "list", "--days", "14")] == [2, 3]
    assert [s["id"] for s in listed("symptom", "list", "--days", "1")] == [3]
    assert [s["id"] for s in listed("symptom", "list")] == [1, 2, 3]
    assert [s["id"] for s in listed("symptom", "list", "--name", "MOOD")] == [1, 2]


def test_side_effect_round_trip_open_first(meds):
    ok("side-effect", "dizziness", "--med", "Sertraline", "--severity", "Severe", "--at", "09:00")
    ok(
        "side-effect", "weight gain", "--med", "quetiapine", "--severity", "moderate",
        "--at", "2026-11-02", "--note", "2 kg in a month",
    )  # fmt: skip
    ok("side-effect", "dry mouth", "--severity", "mild", "--at", "2026-11-20T10:00")
    ok("side-effect", "resolve", "2", "--action", "smaller dinner", "--at", "2026-11-20T12:00")
    assert listed("side-effect", "list") == [
        {
            "id": 1,
            "name": "dizziness",
            "medication": "sertraline",
            "severity": "severe",
            "started_at": "2026-11-23T09:00:00+01:00",
            "resolved_at": None,
            "action": None,
            "note": None,
            "open": True,
        },
        {
            "id": 3,
            "name": "dry mouth",
            "medication": None,
            "severity": "mild",
            "started_at": "2026-11-20T10:00:00+01:00",
            "resolved_at": None,
            "action": None,
            "note": None,
            "open": True,
        },
        {
            "id": 2,
            "name": "weight gain",
            "medication": "quetiapine",
            "severity": "moderate",
            "started_at": "2026-11-02T00:00:00+01:00",
            "resolved_at": "2026-11-20T12:00:00+01:00",
            "action": "smaller dinner",
            "note": "2 kg in a month",
            "open": False,
        },
    ]
    assert [e["id"] for e in listed("side-effect", "list", "--open")] == [1, 3]


def test_same_open_side_effect_is_updated_with_history(meds):
    ok("side-effect", "nausea", "--med", "sertraline", "--severity", "mild", "--at", "08:30")
    out = ok("side-effect", "Nausea", "--med", "sertraline", "--severity", "moderate").stdout
    assert "Updated open side effect #1 nausea (sertraline): severity mild -> moderate" in out
    # Without --med, the only open nausea is the same one.
    ok("side-effect", "nausea", "--note", "worse after breakfast")
    [effect] = listed("side-effect", "list")
    assert (effect["id"], effect["severity"], effect["note"]) == (
        1,
        "moderate",
        "worse after breakfast",
    )
    assert effect["started_at"] == "2026-11-23T08:30:00+01:00"
    history = query(
        "SELECT action, before, after FROM history WHERE table_name = 'side_effects' ORDER BY id"
    )
    assert [h[0] for h in history] == ["update", "update"]
    before, after = json.loads(history[0][1]), json.loads(history[0][2])
    assert (before["severity"], after["severity"]) == ("mild", "moderate")
    assert after["updated_at"] == "2026-11-23T13:30:00Z"

    # Once resolved, the same name is a new episode.
    ok("side-effect", "resolve", "1")
    ok("side-effect", "nausea", "--med", "sertraline", "--severity", "mild")
    assert [e["id"] for e in listed("side-effect", "list")] == [2, 1]


def test_same_name_for_another_medication_is_a_new_effect(meds):
    ok("side-effect", "nausea", "--med", "sertraline", "--severity", "mild")
    ok("side-effect", "nausea", "--med", "quetiapine", "--severity", "mild")
    assert len(listed("side-effect", "list", "--open")) == 2
    before = dump()
    result = run("side-effect", "nausea", "--severity", "severe")
    assert result.exit_code == 1
    assert "--med" in result.stderr
    assert dump() == before


def test_measurement_round_trip():
    ok("measure", "weight", "160 lb", "--at", "2026-11-20T07:00")
    ok("measure", "blood pressure", "128/82", "--at", "2026-11-21T07:00", "--note", "seated")
    ok("measure", "lithium", "0.8mmol/L", "--at", "2026-11-22T07:00")
    ok("measure", "hr", "64")
    ok("measure", "tsh", "2.1", "mIU/L", "--at", "2026-11-22T07:05")
    records = listed("measure", "list")
    assert records[:2] == [
        {
            "id": 1,
            "kind": "weight",
            "value": 160.0,
            "value2": None,
            "unit": "lb",
            "text": "160 lb",
            "loinc": "29463-7",
            "at": "2026-11-20T07:00:00+01:00",
            "note": None,
        },
        {
            "id": 2,
            "kind": "bp",
            "value": 128.0,
            "value2": 82.0,
            "unit": "mmHg",
            "text": "128/82 mmHg",
            "loinc": "85354-9",
            "at": "2026-11-21T07:00:00+01:00",
            "note": "seated",
        },
    ]
    assert [(r["kind"], r["text"], r["loinc"]) for r in records[2:]] == [
        ("lithium", "0.8 mmol/L", "14334-7"),
        ("tsh", "2.1 mIU/L", None),
        ("heart_rate", "64 bpm", "8867-4"),
    ]
    assert [r["id"] for r in listed("measure", "list", "--kind", "BP")] == [2]
    assert [r["id"] for r in listed("measure", "list", "--days", "2")] == [3, 5, 4]


def test_checkin_round_trip():
    ok("checkin", "PHQ-9", "--answers", "1, 2,0,0,1,0,0,1,0,2", "--at", "yesterday 20:00")
    assert listed("checkin", "list") == [
        {
            "id": 1,
            "questionnaire": "phq9",
            "name": "PHQ-9",
            "at": "2026-11-22T20:00:00+01:00",
            "answers": [1, 2, 0, 0, 1, 0, 0, 1, 0],
            "difficulty": 2,
            "total": 5,
            "max_total": 27,
            "band": "mild",
            "flagged": False,
            "note": None,
        }
    ]
    ok("checkin", "gad7", "--answers", "0,0,0,0,0,0,0")
    assert [c["id"] for c in listed("checkin", "list", "-q", "gad7")] == [2]


def test_note_round_trip_and_done_keeps_history():
    ok("note", "Can I take the sertraline at night instead?", "--ask", "--at", "09:00")
    ok("note", "flat week", "--at", "2026-11-20T21:00")
    assert listed("note", "list") == [
        {
            "id": 2,
            "text": "flat week",
            "ask": False,
            "at": "2026-11-20T21:00:00+01:00",
            "done_at": None,
        },
        {
            "id": 1,
            "text": "Can I take the sertraline at night instead?",
            "ask": True,
            "at": "2026-11-23T09:00:00+01:00",
            "done_at": None,
        },
    ]
    assert [n["id"] for n in listed("note", "list", "--open")] == [1]
    ok("note", "done", "1", "--at", "12:00")
    assert listed("note", "list", "--open") == []
    assert listed("note", "list")[1]["done_at"] == "2026-11-23T12:00:00+01:00"
    [(before, after)] = query("SELECT before, after FROM history WHERE table_name = 'notes'")
    assert json.loads(before)["done_at"] is None
    assert json.loads(after)["done_at"] == "2026-11-23T11:00:00Z"


# --- refused input: exit 1, database unchanged ----------------------------------------------

REFUSED = [
    ("symptom", "mood", "11"),
    ("symptom", "mood", "-1"),
    ("symptom", "mood", "four"),
    ("symptom", "mood", "nan"),
    ("symptom", "   ", "4"),
    ("symptom", "sleep", "-2", "--unit", "h"),
    ("symptom", "mood", "4", "--at", "tomorrow 09:00"),
    ("symptom", "mood", "4", "--at", "banana"),
    ("side-effect", "nausea", "--med", "sertralinx", "--severity", "mild"),
    ("side-effect", "nausea", "--severity", "awful"),
    ("side-effect", "headache"),
    ("side-effect", "resolve", "99"),
    ("side-effect", "resolve", "1", "--at", "2026-11-01"),
    ("side-effect", "resolve", "2"),
    ("measure", "weight", "-3kg"),
    ("measure", "weight", "72.4"),
    ("measure", "weight", "7240kg"),
    ("measure", "bp", "400/20"),
    ("measure", "bp", "82/128"),
    ("measure", "bp", "high"),
    ("measure", "hr", "500"),
    ("measure", "lithium", "0.8"),
    ("measure", "lithium", "-0.8", "mmol/L"),
    ("measure", "weight", "abc"),
    ("checkin", "gad7", "--answers", "1,1,2,0,1,0"),
    ("checkin", "gad7", "--answers", "1,1,2,0,1,0,1,1"),
    ("checkin", "gad7", "--answers", "1,1,2,0,4,0,1"),
    ("checkin", "phq9", "--answers", "1,1,1,1,1,1,1,1,-1"),
    ("checkin", "phq8", "--answers", "1,1,1,1,1,1,1,1"),
    ("checkin", "gad7", "--answers", "0,0,0,0,0,0,0", "--at", "next week"),
    ("note", "  "),
    ("note", "done", "99"),
    ("note", "done", "1"),
    ("note", "done", "2", "--at", "08:00"),
]


_SEEDED: dict[str, bytes] = {}


@pytest.fixture
def seeded():
    """Something in every table: side effect #1 open since 10:00 and #2 resolved; note 1 an
    answered question, note 2 an open one written now (14:30). Built once, then copied, to
    keep the refusal cases fast."""
    path = os.environ["MEDTRACK_DB"]
    if "db" not in _SEEDED:
        _seed()
        _SEEDED["db"] = _file_image(path)
    with open(path, "wb") as handle:
        handle.write(_SEEDED["db"])
    return dump()


def _file_image(path: str) -> bytes:
    """The database as one file (the backup API folds in anything left in the WAL)."""
    image = path + ".image"
    source, target = sqlite3.connect(path), sqlite3.connect(image)
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()
    with open(image, "rb") as handle:
        return handle.read()


def _seed() -> None:
    ok("med", "add", "sertraline", "--dose", "50mg", "--schedule", "daily 08:00")
    ok("symptom", "mood", "4")
    ok("side-effect", "nausea", "--med", "sertraline", "--severity", "mild", "--at", "10:00")
    ok("side-effect", "tremor", "--severity", "mild", "--at", "2026-11-10")
    ok("side-effect", "resolve", "2")
    ok("measure", "weight", "72.4kg")
    ok("checkin", "gad7", "--answers", "1,1,2,0,1,0,1")
    ok("note", "q", "--ask", "--at", "09:00")
    ok("note", "done", "1")
    ok("note", "later question", "--ask")


@pytest.mark.parametrize("args", REFUSED, ids=[" ".join(a) for a in REFUSED])
def test_refused_input_exits_1_and_changes_nothing(seeded, args):
    result = run(*args)
    assert result.exit_code == 1, (result.output, result.stderr)
    assert result.stderr.startswith("medtrack: ")
    assert result.stderr.strip().count("\n") == 0
    assert result.stdout == ""
    assert dump() == seeded


# --- command layout ---------------------------------------------------------------------------


def test_symptom_called_list_needs_the_explicit_form():
    ok("symptom", "record", "list", "4")
    assert [s["name"] for s in listed("symptom", "list")] == ["list"]


def test_group_help_lists_subcommands():
    for group, names in {
        "symptom": ("record", "list"),
        "side-effect": ("add", "resolve", "list"),
        "measure": ("record", "list"),
        "checkin": ("take", "list"),
        "note": ("add", "list", "done"),
    }.items():
        result = run(group, "--help")
        assert result.exit_code == 0
        for name in names:
            assert name in result.stdout


def test_empty_lists_say_so():
    assert "No symptoms recorded" in ok("symptom", "list").stdout
    assert "No open side effects" in ok("side-effect", "list", "--open").stdout
    assert "No measurements recorded" in ok("measure", "list").stdout
    assert "No check-ins recorded" in ok("checkin", "list").stdout
    assert "No open questions" in ok("note", "list", "--open").stdout
    for noun in ("symptom", "side-effect", "measure", "checkin", "note"):
        assert listed(noun, "list") == []
