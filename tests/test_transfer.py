"""JSON/CSV export, import (empty profile, --merge, dose CSV) and the history command."""

from __future__ import annotations

import csv
import json
import os
import sqlite3
from pathlib import Path

import pytest
from helpers import dump
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from medtrack.cli import app
from medtrack.core.transfer import FORMAT_NAME, row_changes, validate_document
from medtrack.errors import BadValue
from medtrack.store.migrations import SCHEMA_VERSION

NOW = "2026-11-23T14:30:00+01:00"
runner = CliRunner()


def run(*args: str, db: Path | None = None):
    env = {"MEDTRACK_NOW": NOW}
    if db is not None:
        env["MEDTRACK_DB"] = str(db)
    return runner.invoke(app, list(args), env=env)


def ok(*args: str, db: Path | None = None):
    result = run(*args, db=db)
    assert result.exit_code == 0, (args, result.output, result.stderr)
    return result


_TEMPLATE: dict[str, bytes] = {}


def populate(db: Path | None = None) -> None:
    """A record touching every table a person writes, including an undo (history).
    Built through the CLI once per session, then copied (the time is pinned)."""
    target = db or Path(os.environ["MEDTRACK_DB"])
    if "record" in _TEMPLATE:
        target.write_bytes(_TEMPLATE["record"])
        return
    _populate(db)
    assert not Path(f"{target}-wal").exists()
    _TEMPLATE["record"] = target.read_bytes()


def _populate(db: Path | None) -> None:
    ok("med", "add", "sertraline", "--dose", "50mg", "--schedule", "daily 08:00",
       "--for", "depression", "--start", "2026-11-01", db=db)  # fmt: skip
    ok("med", "add", "lorazepam", "--dose", "0.5mg", "--schedule", "as needed",
       "--max-per-day", "2", "--min-interval", "6h", "--start", "2026-11-01", db=db)  # fmt: skip
    ok("med", "change", "sertraline", "--dose", "100mg", "--from", "2026-11-15", db=db)
    ok("take", "sertraline", "--at", "2026-11-22 08:05", db=db)
    ok("skip", "sertraline", "--at", "2026-11-23 08:00", "--reason", "side-effects", db=db)
    ok("symptom", "record", "mood", "6", "--at", "2026-11-22 20:00", db=db)
    ok("measure", "record", "bp", "128/82", "--at", "2026-11-22 09:00", db=db)
    ok("measure", "record", "lithium", "0.8", "mmol/L", "--at", "2026-11-22 09:00", db=db)
    ok("checkin", "take", "phq9", "--answers", "1,1,2,0,1,0,1,0,0", db=db)
    ok("side-effect", "add", "nausea", "--med", "sertraline", "--severity", "mild", db=db)
    ok("symptom", "record", "anxiety", "3", db=db)
    ok("undo", "--kind", "symptom", "--id", "2", "--yes", db=db)


def export_doc(db: Path | None = None) -> dict:
    result = ok("export", "--format", "json", db=db)
    return json.loads(result.stdout)


def test_json_round_trip_into_an_empty_profile(tmp_path):
    populate()
    first = export_doc()
    assert first["format"] == FORMAT_NAME and first["format_version"] == 1
    assert first["schema_version"] == SCHEMA_VERSION
    assert first["exported_at"] == "2026-11-23T13:30:00Z"
    assert len(first["tables"]["doses"]) == 2 and len(first["tables"]["history"]) >= 2
    path = tmp_path / "all.json"
    ok("export", "--format", "json", "-o", str(path))
    assert oct(path.stat().st_mode & 0o777) == "0o600"

    other = tmp_path / "other.db"
    result = ok("import", str(path), db=other)
    total = sum(len(rows) for rows in first["tables"].values())
    assert f"Imported {total} records" in result.stdout
    second = export_doc(db=other)
    assert second == first  # the time is pinned, so even exported_at agrees
    assert dump(other).count("INSERT INTO") == total


def test_import_into_a_profile_with_data_is_refused_without_merge(tmp_path):
    populate()
    path = tmp_path / "all.json"
    ok("export", "--format", "json", "-o", str(path))
    other = tmp_path / "other.db"
    ok("med", "add", "aspirin", "--dose", "100mg", "--schedule", "daily 09:00", db=other)
    before = dump(other)
    result = run("import", str(path), db=other)
    assert result.exit_code == 1
    assert "--merge" in result.stderr
    assert dump(other) == before


def test_merge_adds_missing_fills_gaps_with_history_and_is_idempotent(tmp_path):
    populate()
    path = tmp_path / "all.json"
    ok("export", "--format", "json", "-o", str(path))
    other = tmp_path / "other.db"
    # sertraline is already here, without purpose, on its own later plan.
    ok("med", "add", "Sertraline", "--dose", "25mg", "--schedule", "daily 09:00",
       "--start", "2026-11-20", db=other)  # fmt: skip
    result = ok("import", str(path), "--merge", db=other)
    assert "completed 1" in result.stdout
    conn = sqlite3.connect(other)
    meds = conn.execute("SELECT name, purpose FROM medications ORDER BY id").fetchall()
    assert meds == [("Sertraline", "depression"), ("lorazepam", None)]
    # The purpose was filled through update_row: before/after are in history.
    row = conn.execute(
        "SELECT before, after FROM history WHERE table_name='medications' AND action='update'"
    ).fetchone()
    assert json.loads(row[0])["purpose"] is None and json.loads(row[1])["purpose"] == "depression"
    # Sertraline's own regimen stays the only one from 2026-11-20 on; the file's first
    # regimen (2026-11-01 .. 11-15) does not overlap and is added.
    regimens = conn.execute(
        "SELECT starts_at, ends_at, dose_amount FROM regimens WHERE medication_id = 1 "
        "ORDER BY starts_at"
    ).fetchall()
    assert regimens == [
        ("2026-10-31T23:00:00Z", "2026-11-14T23:00:00Z", 50.0),
        ("2026-11-19T23:00:00Z", None, 25.0),
    ]
    # Doses whose regimen was not merged are attached to the regimen in force here.
    doses = conn.execute("SELECT medication_id, regimen_id, status FROM doses ORDER BY id")
    assert doses.fetchall() == [(1, 1, "taken"), (1, 1, "skipped")]
    conn.close()
    ok("check", db=other)
    before = dump(other)
    again = ok("import", str(path), "--merge", db=other)
    assert "added 0 records" in again.stdout
    # Only the counts differ; no row was added or changed the second time.
    assert dump(other) == before


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.update(format="something-else"), "format"),
        (lambda d: d.update(format_version=2), "format version 2"),
        (lambda d: d.update(schema_version=99), "newer medtrack"),
        (lambda d: d["tables"].update(pets=[]), "'pets'"),
        (lambda d: d["tables"]["doses"][0].update(taken_at="yesterday"), "UTC time"),
        (lambda d: d["tables"]["doses"][0].update(status="maybe"), "status"),
        (lambda d: d["tables"]["doses"][0].update(medication_id=999), "medication_id 999"),
        (lambda d: d["tables"]["doses"][0].update(amount="lots"), "finite number"),
        (lambda d: d["tables"]["doses"][0].update(zone="Mars/Olympus"), "IANA"),
        (lambda d: d["tables"]["doses"][0].pop("status"), "'status' is required"),
        (lambda d: d["tables"]["doses"][0].update(extra=1), "unknown column"),
        (lambda d: d["tables"]["doses"].append(dict(d["tables"]["doses"][0])), "twice"),
        (lambda d: d["tables"]["regimens"][0].update(schedule_rrule="FREQ=SOMETIMES"), "RRULE"),
    ],
)
def test_a_damaged_export_is_refused_and_nothing_is_written(tmp_path, mutate, message):
    populate()
    doc = export_doc()
    mutate(doc)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc))
    other = tmp_path / "other.db"
    ok("config", "get", db=other)  # creates the empty database
    before = dump(other)
    result = run("import", str(path), db=other)
    assert result.exit_code == 1, result.output
    assert message in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert dump(other) == before


def test_not_json_and_nan_are_refused(tmp_path):
    for text in ("{not json", '{"format": NaN}', "[]", "\xff"):
        path = tmp_path / "x.json"
        path.write_bytes(text.encode("latin-1"))
        result = run("import", str(path))
        assert result.exit_code == 1, text
        assert result.stderr.startswith("medtrack: ")


def test_csv_export_writes_one_file_per_table_with_a_header(tmp_path):
    populate()
    out = tmp_path / "out"
    ok("export", "--format", "csv", "-o", str(out))
    conn = sqlite3.connect(os.environ["MEDTRACK_DB"])
    tables = [
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
        )
    ]
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{t}.csv" for t in tables)
    with (out / "doses.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [r["status"] for r in rows] == ["taken", "skipped"]
    assert rows[0]["taken_at"] == "2026-11-22T07:05:00Z" and rows[0]["amount"] == "100.0"
    assert rows[1]["skip_reason"] == "side-effects" and rows[1]["amount"] == ""
    assert oct(out.stat().st_mode & 0o777) == "0o700"
    assert {oct(p.stat().st_mode & 0o777) for p in out.iterdir()} == {"0o600"}
    result = run("export", "--format", "csv")
    assert result.exit_code == 2


def test_dose_csv_import_adds_doses_with_regimen_amount_and_skips_duplicates(tmp_path):
    ok("med", "add", "sertraline", "--dose", "50mg", "--schedule", "daily 08:00",
       "--start", "2026-11-01")  # fmt: skip
    path = tmp_path / "doses.csv"
    path.write_text(
        "medication,taken_at,status,reason,note\n"
        "Sertraline,2026-11-20 08:10,taken,,with breakfast\n"
        "sertraline,2026-11-21T07:00:00Z,skipped,forgot,\n"
    )
    result = ok("import", str(path), "--format", "csv")
    assert "Imported 2 dose records" in result.stdout
    conn = sqlite3.connect(os.environ["MEDTRACK_DB"])
    rows = conn.execute(
        "SELECT taken_at, status, amount, unit, skip_reason, note, zone, source FROM doses"
    ).fetchall()
    # 08:10 in Berlin in November (UTC+1) is 07:10 UTC.
    assert rows == [
        ("2026-11-20T07:10:00Z", "taken", 50.0, "mg", None, "with breakfast",
         "Europe/Berlin", "import"),
        ("2026-11-21T07:00:00Z", "skipped", None, None, "forgot", None,
         "Europe/Berlin", "import"),
    ]  # fmt: skip
    again = ok("import", str(path))
    assert "Imported 0 dose records" in again.stdout and "2 already recorded" in again.stdout


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("med,taken_at,status\nx,2026-11-20 08:00,taken\n", "first line"),
        ("medication,taken_at,status\nnobody,2026-11-20 08:00,taken\n", "line 3: no medication"),
        ("medication,taken_at,status\nsertraline,2026-11-20,taken\n", "ISO date and time"),
        ("medication,taken_at,status\nsertraline,2027-01-01 08:00,taken\n", "future"),
        ("medication,taken_at,status\nsertraline,2026-11-20 08:00,eaten\n", "status"),
        ("medication,taken_at,status,reason\nsertraline,2026-11-20 08:00,skipped,bored\n", "bored"),
        ("", "empty"),
        ("medication,taken_at,status\nsertraline,2026-10-20 08:00,taken\n", "no dose plan"),
    ],
)
def test_a_bad_dose_csv_changes_nothing(tmp_path, body, message):
    ok("med", "add", "sertraline", "--dose", "50mg", "--schedule", "daily 08:00",
       "--start", "2026-11-01")  # fmt: skip
    good = "sertraline,2026-11-19 08:00,taken\n"
    path = tmp_path / "doses.csv"
    lines = body.splitlines(keepends=True)
    # A valid line before the bad one proves the whole file is one transaction.
    path.write_text("".join(lines[:1] + ([good] if "medication," in body else []) + lines[1:]))
    before = dump(Path(os.environ["MEDTRACK_DB"]))
    result = run("import", str(path), "--format", "csv")
    assert result.exit_code == 1, result.output
    assert message in result.stderr
    assert dump(Path(os.environ["MEDTRACK_DB"])) == before


def test_history_shows_changes_with_before_and_after():
    populate()
    result = ok("history", "--json")
    entries = json.loads(result.stdout)
    assert set(entries[0]) == {
        "id", "at", "action", "table", "row_id", "before", "after", "changes", "command"
    }  # fmt: skip
    change = next(e for e in entries if e["table"] == "regimens")
    # med change from 2026-11-15 closed the 50 mg regimen at local midnight.
    assert change["action"] == "update"
    assert change["changes"] == {"ends_at": [None, "2026-11-14T23:00:00Z"]}
    undo = next(e for e in entries if e["action"] == "delete")
    assert undo["table"] == "symptoms" and undo["before"]["name"] == "anxiety"
    assert undo["after"] is None
    text = ok("history", "--days", "7").stdout
    assert "ends_at: - -> 2026-11-14T23:00:00Z" in text
    # MEDTRACK_NOW pins every change to one instant; a later "now" leaves them behind.
    later = runner.invoke(
        app, ["history", "--days", "1"], env={"MEDTRACK_NOW": "2026-11-25T14:30:00+01:00"}
    )
    assert later.exit_code == 0 and "No changes recorded in the last 1 days" in later.stdout


@given(
    st.dictionaries(st.sampled_from(["a", "b", "c"]), st.none() | st.integers(0, 3)),
    st.dictionaries(st.sampled_from(["a", "b", "c"]), st.none() | st.integers(0, 3)),
)
def test_row_changes_names_exactly_the_differing_columns(before, after):
    changes = row_changes(before, after)
    for column in set(before) | set(after):
        differs = before.get(column) != after.get(column)
        assert (column in changes) == differs
        if differs:
            assert changes[column] == [before.get(column), after.get(column)]


def test_validate_document_refuses_a_non_object():
    with pytest.raises(BadValue):
        validate_document([], {}, {}, schema_version=1)


# --- issue 9: the export is streamed, byte for byte the document json_text would write -----

_scalars = st.one_of(
    st.none(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(),
)
_rows = st.lists(st.dictionaries(st.text(min_size=1), _scalars, min_size=1, max_size=5), max_size=7)


@given(
    tables=st.dictionaries(st.text(min_size=1), _rows, max_size=4),
    batch=st.integers(min_value=1, max_value=4),
)
def test_streamed_json_export_is_the_whole_document_text(tables, batch):
    from medtrack.core.transfer import document, document_header
    from medtrack.render.csvjson import json_document_chunks, json_text

    meta = {"medtrack_version": "0.1.0", "schema_version": 1, "exported_at": "2026-11-23T13:30:00Z"}
    whole = json_text(document(tables, **meta))
    batched = [
        (name, [rows[i : i + batch] for i in range(0, len(rows), batch)])
        for name, rows in tables.items()
    ]
    assert "".join(json_document_chunks(document_header(**meta), batched)) == whole


@given(rows=_rows, batch=st.integers(min_value=1, max_value=4))
def test_streamed_csv_is_the_whole_table_text(rows, batch):
    from medtrack.render.csvjson import csv_chunks, csv_text

    columns = sorted({c for row in rows for c in row}) or ["id"]
    batches = [rows[i : i + batch] for i in range(0, len(rows), batch)]
    assert "".join(csv_chunks(columns, batches)) == csv_text(columns, rows)


def test_json_export_to_a_file_equals_stdout_and_reads_back(tmp_path):
    populate()
    target = tmp_path / "all.json"
    ok("export", "--format", "json", "-o", str(target))
    assert target.read_text("utf-8") == ok("export", "--format", "json").stdout
    assert os.stat(target).st_mode & 0o777 == 0o600
    doc = json.loads(target.read_text("utf-8"))
    assert doc["tables"]["doses"] and doc["format"] == FORMAT_NAME


_json_values = st.recursive(
    st.one_of(_scalars, st.booleans()),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=20,
)


@given(value=_json_values, level=st.integers(min_value=0, max_value=3))
def test_indented_json_is_json_dumps_with_indent(value, level):
    from medtrack.render.csvjson import indented_json

    expected = json.dumps(value, indent=2, ensure_ascii=False, allow_nan=False)
    assert indented_json(value, level) == expected.replace("\n", "\n" + "  " * level)


def test_indented_json_leaves_odd_values_to_json():
    from medtrack.render.csvjson import indented_json

    assert indented_json({1: (1.5, None)}) == '{\n  "1": [\n    1.5,\n    null\n  ]\n}'
    with pytest.raises(ValueError):
        indented_json({"x": [float("nan")]})


# --- issue 9: import reads the export as a stream ---------------------------------------------


def test_import_of_a_reordered_export_reads_it_whole_and_gives_the_same_record(tmp_path):
    # Header after the tables and children before parents: not how medtrack writes it,
    # still a valid document; it is read whole and imported just the same.
    populate()
    first = export_doc()
    tables = dict(reversed(first["tables"].items()))
    reordered = {"tables": tables, **{k: v for k, v in first.items() if k != "tables"}}
    path = tmp_path / "reordered.json"
    path.write_text(json.dumps(reordered, indent=1), "utf-8")
    other = tmp_path / "other.db"
    ok("import", str(path), db=other)
    assert export_doc(db=other) == first


def test_a_row_the_database_refuses_after_the_checks_names_it_and_changes_nothing(tmp_path):
    populate()
    doc = export_doc()
    twin = dict(doc["tables"]["medications"][0], id=99, name="SERTRALINE")
    doc["tables"]["medications"].append(twin)  # names are unique in any case
    path = tmp_path / "twin.json"
    path.write_text(json.dumps(doc), "utf-8")
    other = tmp_path / "other.db"
    ok("config", "get", db=other)
    before = dump(other)
    result = run("import", str(path), db=other)
    assert result.exit_code == 1
    assert "medications row 3" in result.stderr and "UNIQUE" in result.stderr
    assert dump(other) == before


@given(
    doc=st.fixed_dictionaries(
        {"format": st.text(max_size=3), "n": st.integers()},
        optional={"tables": st.dictionaries(st.text(max_size=4), _rows, max_size=3)},
    ),
    size=st.integers(min_value=1, max_value=9),
    indent=st.sampled_from([None, 0, 2]),
)
def test_document_events_read_any_chunking_as_json_does(doc, size, indent):
    from medtrack.core.transfer import document_events

    text = json.dumps(doc, indent=indent, ensure_ascii=False)
    pieces = [text[i : i + size] for i in range(0, len(text), size)]
    rebuilt: dict = {}
    for event in document_events(pieces, json.JSONDecoder()):
        if event[0] == "key":
            rebuilt[event[1]] = event[2]
        elif event[0] == "table":
            rebuilt.setdefault("tables", {})[event[1]] = []
        else:
            rebuilt["tables"][event[1]].append(event[2])
    if doc.get("tables") == {}:
        rebuilt.setdefault("tables", {})
    assert rebuilt == doc


@pytest.mark.parametrize("text", ['{"a": 1} x', '{"tables": {"t": [1 2]}}', "[]", '{"a" 1}'])
def test_document_events_refuse_what_is_not_an_object_of_lists(text):
    from medtrack.core.transfer import Unstreamable, document_events

    with pytest.raises(Unstreamable):
        list(document_events([text], json.JSONDecoder()))


def test_dose_csv_import_attaches_doses_to_their_slots_like_take(tmp_path):
    ok("med", "add", "sertraline", "--dose", "50mg", "--schedule", "daily 08:00",
       "--start", "2026-11-20")  # fmt: skip
    path = tmp_path / "doses.csv"
    path.write_text(
        "medication,taken_at,status,reason,note\n"
        "sertraline,2026-11-20 08:10,taken,,\n"  # the 08:00 slot of the 20th
        "sertraline,2026-11-20 08:40,taken,,\n"  # that slot is answered: an extra dose
        "sertraline,2026-11-21 08:00,skipped,forgot,\n"  # answers the 21st
    )
    ok("import", str(path), "--format", "csv")
    log = json.loads(ok("log", "--days", "5", "--json").stdout)
    assert [(d["taken_at"], d["kind"], d["scheduled_for"]) for d in log] == [
        ("2026-11-20T08:10:00+01:00", "scheduled", "2026-11-20T08:00:00+01:00"),
        ("2026-11-20T08:40:00+01:00", "extra", None),
        ("2026-11-21T08:00:00+01:00", "scheduled", "2026-11-21T08:00:00+01:00"),
    ]
    summary = json.loads(
        ok("summary", "--since", "2026-11-20", "--until", "2026-11-21", "--json").stdout
    )
    (sertraline,) = summary["medications"]
    assert (sertraline["due"], sertraline["taken"], sertraline["skipped"]) == (2, 1, 1)
    assert (sertraline["extra"], sertraline["missed"]) == (1, 0)
