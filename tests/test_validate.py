"""One validation of record values (issue 16 item 3, issue 17 item 1): what the CLI
refuses, import (JSON and CSV), restore and check refuse, in the same words, naming the
row; documents missing a table, naming one twice or naming an unknown one are refused
whole; every refusal is one line with the value shown escaped."""

from __future__ import annotations

import json
import sqlite3
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from helpers import dump
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_transfer import export_doc, ok, populate, run

from medtrack.core import validate
from medtrack.errors import BadValue


def _import(tmp_path: Path, text: str, name: str = "bad.json"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    other = tmp_path / "other.db"
    ok("config", "get", db=other)  # creates the empty profile
    before = dump(other)
    result = run("import", str(path), db=other)
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert dump(other) == before, "a refused import changed the database"
    return result


def _first(doc: dict, table: str, **values) -> None:
    doc["tables"][table][0].update(values)


def _overlap(doc: dict) -> None:
    # sertraline's first regimen (1 Nov - 15 Nov) made open-ended: it overlaps the second
    # (row 3; row 2 is lorazepam's).
    assert doc["tables"]["regimens"][2]["medication_id"] == 1
    doc["tables"]["regimens"][0]["ends_at"] = None


def _foreign_regimen(doc: dict) -> None:
    lorazepam = next(r for r in doc["tables"]["regimens"] if r["medication_id"] == 2)
    dose = doc["tables"]["doses"][0]
    assert dose["medication_id"] == 1
    dose["regimen_id"] = lorazepam["id"]


def _as_needed(doc: dict) -> dict:
    regimen = doc["tables"]["regimens"][1]
    assert regimen["as_needed"] == 1 and regimen["max_per_day"] == 2
    return regimen


def _measurement(doc: dict, kind: str, **values) -> None:
    row = next(m for m in doc["tables"]["measurements"] if m["kind"] == kind)
    row.update(values)


# (mutation, the row named, words of the refusal)
INVALID = [
    (lambda d: _first(d, "doses", amount=0), "doses row 1", "dose '0 mg' must be more than zero"),
    (lambda d: _first(d, "doses", amount=-5), "doses row 1", "must be more than zero"),
    (lambda d: _first(d, "regimens", dose_amount=0), "regimens row 1", "must be more than zero"),
    (
        lambda d: _as_needed(d).update(max_per_day=0),
        "regimens row 2",
        "--max-per-day must be at least 1",
    ),
    (
        lambda d: _first(d, "symptoms", value=999),
        "symptoms row 1",
        "ratings are 0-10; give --unit for other values (got 999)",
    ),
    (
        lambda d: _first(d, "side_effects", severity="unbearable"),
        "side_effects row 1",
        "severity 'unbearable' is not one of: mild, moderate, severe",
    ),
    (_overlap, "regimens row 3", "overlaps the one before it"),
    (
        lambda d: _first(d, "doses", taken_at="2026-11-24T08:00:00Z"),
        "doses row 1",
        "taken_at 2026-11-24T08:00:00Z is in the future",
    ),
    (_foreign_regimen, "doses row 1", "regimen of another medication"),
    (
        lambda d: _measurement(d, "lithium", value=1e308),
        "measurements row",
        "at most 1,000,000",
    ),
    (lambda d: _measurement(d, "bp", value=400), "measurements row", "blood pressure"),
    (
        lambda d: _first(d, "doses", zone="A" * 300),
        "doses row 1",
        "(300 characters) is not an IANA time zone",
    ),
    (
        lambda d: _first(d, "doses", note="\x1b]8;;http://x\x07click"),
        "doses row 1",
        "contains the control character '\\x1b'",
    ),
    (
        lambda d: _first(d, "medications", name="sertraline\nrm"),
        "medications row 1",
        "control character '\\n'",
    ),
    (
        lambda d: _first(d, "doses", taken_at="9999-12-31T00:00:00Z"),
        "doses row 1",
        "outside the dates medtrack keeps (1900-2199)",
    ),
    (
        lambda d: _first(d, "checkins", total=27),
        "checkins row 1",
        "total 27 does not match the answers (6)",
    ),
    (
        lambda d: _first(d, "doses", skip_reason="because"),
        "doses row 1",
        "a reason belongs to a skipped dose",
    ),
    (
        lambda d: d["tables"]["settings"].append(
            {"key": "on_time_window", "value": "²", "updated_at": "2026-11-22T08:00:00Z"}
        ),
        "settings row",
        "on_time_window takes a whole number from 1 to 1440; got '²'",
    ),
    (
        lambda d: _first(d, "medications", kind="prescription"),
        "medications row 1",
        "kind 'prescription' is not one of: rx, otc, supplement",
    ),
]


@pytest.mark.parametrize(("mutate", "row", "words"), INVALID, ids=[w for _, _, w in INVALID])
def test_import_refuses_each_invalid_value_naming_the_row(tmp_path, mutate, row, words):
    populate()
    doc = export_doc()
    mutate(doc)
    result = _import(tmp_path, json.dumps(doc))
    assert result.exit_code == 1, result.stdout
    line = result.stderr.strip()
    assert line.count("\n") == 0 and "\x1b" not in line
    assert line.startswith("medtrack: not a valid medtrack export: ")
    assert row in line and words in line, line


def test_the_same_value_is_refused_by_the_cli_in_the_same_words(tmp_path):
    populate()
    cli = run("symptom", "record", "mood", "999")
    assert cli.exit_code == 1
    words = "ratings are 0-10; give --unit for other values (got 999)"
    assert cli.stderr.strip() == f"medtrack: {words}"
    doc = export_doc()
    _first(doc, "symptoms", value=999)
    assert words in _import(tmp_path, json.dumps(doc)).stderr

    cli = run("side-effect", "add", "nausea", "--severity", "unbearable")
    assert cli.stderr.strip() == (
        "medtrack: severity 'unbearable' is not one of: mild, moderate, severe"
    )


def test_a_missing_table_is_refused_whole(tmp_path):
    populate()
    doc = export_doc()
    assert len(doc["tables"]["doses"]) == 2
    del doc["tables"]["doses"]
    result = _import(tmp_path, json.dumps(doc))
    assert result.exit_code == 1
    assert "'doses' missing" in result.stderr and "nothing imported" in result.stderr


def test_a_table_named_twice_is_refused_even_with_the_second_copy_empty(tmp_path):
    populate()
    text = json.dumps(export_doc())
    # The document as a person might have pasted it: "doses" again, empty, at the end.
    assert text.endswith("]}}")
    twice = text[:-2] + ', "doses": []}}'
    result = _import(tmp_path, twice)
    assert result.exit_code == 1
    assert "key 'doses': appears twice in one object" in result.stderr


def test_a_key_named_twice_inside_a_row_is_refused(tmp_path):
    populate()
    text = json.dumps(export_doc())
    twice = text.replace('"status": "taken"', '"status": "taken", "status": "skipped"', 1)
    assert twice != text
    result = _import(tmp_path, twice)
    assert result.exit_code == 1 and "'status': appears twice" in result.stderr


def test_an_unknown_table_is_refused(tmp_path):
    populate()
    doc = export_doc()
    doc["tables"]["pets"] = []
    result = _import(tmp_path, json.dumps(doc))
    assert result.exit_code == 1 and "table 'pets': not a medtrack table" in result.stderr


def test_a_5000_digit_integer_is_refused_in_one_line(tmp_path):
    populate()
    text = json.dumps(export_doc()).replace('"id": 1,', '"id": ' + "9" * 5000 + ",", 1)
    result = _import(tmp_path, text)
    assert result.exit_code == 1
    assert "a whole number of 5000 digits is out of range" in result.stderr
    assert len(result.stderr) < 300


def test_a_lone_surrogate_in_json_text_is_refused(tmp_path):
    populate()
    doc = export_doc()
    _first(doc, "doses", note="bad \udcff byte")
    result = _import(tmp_path, json.dumps(doc))  # json writes it as the escape \udcff
    assert result.exit_code == 1
    assert "doses row 1" in result.stderr and "not valid UTF-8 text" in result.stderr


def test_an_infinite_refill_is_refused(tmp_path):
    populate()
    doc = export_doc()
    doc["tables"]["refills"] = [
        {"id": 1, "medication_id": 1, "quantity": 1, "at": "2026-11-01T00:00:00Z",
         "note": None, "recorded_at": "2026-11-01T00:00:00Z"}
    ]  # fmt: skip
    text = json.dumps(doc).replace('"quantity": 1,', '"quantity": 1e400,')
    result = _import(tmp_path, text)
    assert result.exit_code == 1
    assert "refills row 1" in result.stderr and "finite number" in result.stderr


def test_a_valid_export_still_imports_and_merges(tmp_path):
    populate()
    path = tmp_path / "all.json"
    ok("export", "--format", "json", "-o", str(path))
    other = tmp_path / "other.db"
    result = ok("import", str(path), db=other)
    assert "Imported" in result.stdout
    merged = ok("import", str(path), "--merge", db=other)
    assert "added 0 records" in merged.stdout


# --- the dose CSV -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("sertraline,2026-11-20 08:00,taken,,\x1b[2J", "contains the control character"),
        ("sertraline,9999-12-31 08:00,taken,,", "outside the dates medtrack keeps"),
        ("sertraline,2026-11-20 08:00,maybe,,", "status must be taken or skipped, got 'maybe'"),
        ("sertraline,2026-11-20 08:00,skipped,because,", "reason 'because' is not one of"),
        ("sertraline,2026-11-30 08:00,taken,,", "is in the future"),
    ],
)
def test_csv_import_refuses_a_value_naming_the_line(tmp_path, line, words):
    populate()
    before = dump()
    path = tmp_path / "doses.csv"
    path.write_text(f"medication,taken_at,status,reason,note\n{line}\n")
    result = run("import", str(path))
    assert result.exit_code == 1
    assert result.stderr.startswith("medtrack: line 2: ") and words in result.stderr
    assert result.stderr.count("\n") == 1 and "\x1b" not in result.stderr
    assert dump() == before


# --- check and restore ------------------------------------------------------------------


def _corrupt(db: Path) -> None:
    """Values no command would store, written behind medtrack's back."""
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("UPDATE symptoms SET value = 999 WHERE name = 'mood'")
        conn.execute("UPDATE doses SET amount = 0 WHERE status = 'taken'")
    conn.close()


def test_check_reports_values_an_import_would_refuse(tmp_path):
    populate()
    db = tmp_path / "medtrack.db"
    assert ok("check", "--json")
    _corrupt(db)
    result = run("check", "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["ok"] is False
    assert report["values"] == [
        "doses row 1: dose '0 mg' must be more than zero",
        "symptoms row 1: ratings are 0-10; give --unit for other values (got 999)",
    ]
    assert "value: doses row 1: dose '0 mg' must be more than zero" in report["problems"]
    text = run("check")
    assert "bad values:  2" in text.stdout


def test_restore_refuses_a_backup_holding_invalid_values(tmp_path):
    populate()
    backup = tmp_path / "copy.db"
    ok("backup", str(backup))
    _corrupt(backup)
    before = dump()
    result = run("restore", str(backup))
    assert result.exit_code == 1
    assert (
        "fails medtrack's checks (value: doses row 1: dose '0 mg' must be more than zero"
        in result.stderr
    )
    assert "nothing restored" in result.stderr
    assert dump() == before


def test_a_record_built_through_the_cli_passes_check():
    populate()
    result = ok("check", "--json")
    assert json.loads(result.stdout)["values"] == []


# --- values at the command line ---------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["med", "add", "x", "--dose", "5mg", "--schedule", "daily 08:00", "--supply", "inf"],
         "'inf' is not a finite number"),
        (["med", "add", "x", "--dose", "5mg", "--schedule", "daily 08:00", "--supply", "1e9"],
         "--supply must be at most 1,000,000"),
        (["measure", "lithium", "1e308", "mmol/L"], "at most 1,000,000"),
        (["med", "add", "x", "--dose", "5mg", "--schedule", "daily 08:00",
          "--start", "9999-12-31"], "medtrack keeps dates from 1900 to 2199"),
        (["undo", "--id", "99999999999999999999"], "99999999999999999999 is out of range"),
        (["note", "done", "٣"], "'٣' is not a number written in ASCII digits"),
        (["config", "set", "on_time_window", "²"], "takes a whole number from 1 to 1440"),
        (["config", "set", "timezone", "A" * 300], "(300 characters) is not an IANA time zone"),
        (["note", "add", "bad \udcff byte"], "is not valid UTF-8 text"),
        (["note", "add", "\x1b]8;;http://x\x07click"], "contains the control character '\\x1b'"),
        (["export", "-f", "json", "-o", ""], "-o '.' is a folder; name a file"),
        (["symptom", "record", "x" * 300, "5"], "a name is at most 100 characters"),
        (["measure", "lithium", "0.8", "mmol/\nL"], "the unit contains the control character"),
    ],
)  # fmt: skip
def test_the_cli_refuses_in_one_escaped_line_and_changes_nothing(args, words):
    populate()
    before = dump()
    result = run(*args)
    assert result.exit_code in (1, 2), result.stdout
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert words in result.stderr, result.stderr
    assert "\x1b" not in result.stderr and "\udcff" not in result.stderr
    if result.exit_code == 1:
        assert result.stderr.count("\n") == 1
    assert dump() == before


def test_an_error_quoting_a_newline_stays_one_line():
    populate()
    result = run("med", "show", "no\nsuch")
    assert result.exit_code == 1
    assert (
        result.stderr
        == "medtrack: no medication called 'no\\nsuch' (see 'medtrack med list --all')\n"
    )


@pytest.mark.parametrize("target", ["medtrack.db", "medtrack.db-wal", "./medtrack.db"])
def test_export_and_report_never_write_over_the_database(tmp_path, target):
    populate()
    db = tmp_path / "medtrack.db"
    before = db.read_bytes()
    for args in (["export", "-f", "json", "-o"], ["report", "-o"]):
        result = run(*args, str(tmp_path / target))
        assert result.exit_code == 1, (args, result.stdout)
        assert "is the database itself" in result.stderr
    assert db.read_bytes() == before
    assert not (tmp_path / "medtrack.db-wal").exists()


# --- the validators themselves ------------------------------------------------------------


def test_shown_escapes_and_bounds_what_it_quotes():
    assert validate.shown("a\nb\x1b[31m") == "'a\\nb\\x1b[31m'"
    assert validate.shown("\udcff") == "'\\udcff'"
    assert validate.shown(10**5000) == "a 5001-digit number"
    long = validate.shown("x" * 300)
    assert long.endswith("…' (300 characters)") and len(long) < 90


def test_plain_validators():
    now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    assert validate.amount(30, "--qty") == 30.0
    for bad in (0, -1, float("inf"), float("nan"), 2e6, True, "3"):
        with pytest.raises(BadValue):
            validate.amount(bad, "--qty")
    with pytest.raises(BadValue, match="within a 64-bit integer"):
        validate.whole_number(2**63, "id")
    assert validate.whole_number(2**63 - 1, "id") == 2**63 - 1
    assert validate.zone_name("Europe/Berlin") == "Europe/Berlin"
    for zone in ("A" * 300, "../../etc/passwd", "/etc/localtime", "Mars/Olympus", ""):
        with pytest.raises(BadValue):
            validate.zone_name(zone)
    assert validate.text("line\nnext\ttab", "note", multiline=True) == "line\nnext\ttab"
    with pytest.raises(BadValue, match="control character"):
        validate.text("line\nnext", "name")
    with pytest.raises(BadValue, match="in the future"):
        validate.not_in_future(datetime(2026, 11, 23, 12, 2, tzinfo=UTC), now, "taken_at")
    assert validate.not_in_future(datetime(2026, 11, 23, 12, 1, tzinfo=UTC), now, "taken_at")
    assert validate.number_problem("٣", 3) is not None
    assert validate.number_problem("3", 3) is None
    assert validate.number_problem("nan", float("nan")) is not None


# --- whatever import accepts, check accepts and the readers read ------------------------

_HOSTILE_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
    st.sampled_from(
        [
            "2026-11-24T08:00:00Z",
            "1899-12-31T23:59:59Z",
            "2199-12-31T23:00:00Z",
            "Europe/Berlin",
            "[red]x[/]",
            "[/]",
            "a\nb",
            "\x1b[31m",
            "skipped",
            "as needed",
            "FREQ=DAILY",
            "08:00,20:00",
            "moderate",
            "[1, 2, 3]",
            "",
        ]
    ),
)


@given(data=st.data())
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
def test_an_import_either_is_refused_whole_or_passes_check(tmp_path, data):
    doc = _template_doc()
    tables = [t for t, rows in doc["tables"].items() if rows]
    table = data.draw(st.sampled_from(tables), label="table")
    row = data.draw(st.sampled_from(doc["tables"][table]), label="row")
    column = data.draw(st.sampled_from(sorted(row)), label="column")
    row[column] = data.draw(_HOSTILE_VALUES, label="value")
    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    path = folder / "doc.json"
    path.write_text(json.dumps(doc), encoding="utf-8", errors="surrogatepass")
    db = folder / "medtrack.db"
    ok("config", "get", db=db)
    before = dump(db)
    result = run("import", str(path), db=db)
    assert result.exception is None or isinstance(result.exception, SystemExit), result
    if result.exit_code != 0:
        assert result.exit_code == 1 and result.stderr.count("\n") == 1, result.stderr
        assert dump(db) == before
        return
    checked = run("check", db=db)
    assert checked.exit_code == 0, (table, column, row[column], checked.stdout)
    for reader in (["today"], ["summary", "--days", "60"], ["export", "-f", "json"]):
        read = run(*reader, db=db)
        assert read.exit_code == 0, (table, column, row[column], reader, read.stderr)


_DOC: dict[str, str] = {}


def _template_doc() -> dict:
    if "doc" not in _DOC:
        populate()
        _DOC["doc"] = json.dumps(export_doc())
    return json.loads(_DOC["doc"])
