"""Proofs that the record survives what happens to real files: a process killed mid-write,
writers racing each other, any argument list, hostile database files, a read-only file
and a full disk."""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest
from helpers import dump
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from medtrack.cli import app
from medtrack.store.migrations import APPLICATION_ID, SCHEMA_VERSION

NOW = "2026-11-23T14:30:00+01:00"
runner = CliRunner()
REPO = Path(__file__).resolve().parents[1]


def run(*args: str, db: Path | None = None):
    env = {"MEDTRACK_NOW": NOW}
    if db is not None:
        env["MEDTRACK_DB"] = str(db)
    return runner.invoke(app, list(args), env=env)


def ok(*args: str, db: Path | None = None):
    result = run(*args, db=db)
    assert result.exit_code == 0, (args, result.output, result.stderr)
    return result


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def no_traceback(result) -> None:
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert "Traceback" not in result.output + result.stderr


def child_env(db: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(MEDTRACK_DB=str(db), MEDTRACK_NOW=NOW, PYTHONPATH=str(REPO))
    return env


# --- crash consistency ------------------------------------------------------------------------

CRASH_CHILD = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from medtrack.store.db import unit_of_work

    path = Path(sys.argv[1])
    print("ready", flush=True)
    while True:
        # The same store path every command takes: one BEGIN IMMEDIATE ... COMMIT.
        with unit_of_work(path, write=True) as conn:
            new_id = conn.execute(
                "INSERT INTO doses (medication_id, taken_at, status, recorded_at, source) "
                "VALUES (1, '2026-11-22T07:00:00Z', 'taken', '2026-11-22T07:00:00Z', 'crash')"
            ).lastrowid
        # Acknowledged only after COMMIT returned.
        print(new_id, flush=True)
    """
)


@pytest.mark.slow
def test_sigkill_at_random_moments_never_loses_an_acknowledged_dose(tmp_path):
    db = tmp_path / "crash.db"
    ok("med", "add", "sertraline", "--dose", "50mg", "--schedule", "daily 08:00", db=db)
    script = tmp_path / "child.py"
    script.write_text(CRASH_CHILD)
    rng = random.Random(8)
    acknowledged: set[int] = set()
    kills = 0
    while kills < 100:
        child = subprocess.Popen(
            [sys.executable, str(script), str(db)],
            stdout=subprocess.PIPE,
            env=child_env(db),
        )
        assert child.stdout is not None
        assert child.stdout.readline() == b"ready\n"
        # Each commit waits for the disk (synchronous=FULL): a window of some commits.
        time.sleep(rng.uniform(0, 0.1))
        child.send_signal(signal.SIGKILL)
        out = child.stdout.read()
        child.wait()
        kills += 1
        # A line cut off by the kill was never acknowledged; complete lines were.
        lines = out.split(b"\n")[:-1]
        acknowledged.update(int(line) for line in lines)
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    stored = {row[0] for row in conn.execute("SELECT id FROM doses WHERE source = 'crash'")}
    conn.close()
    assert len(acknowledged) > 100, len(acknowledged)
    assert acknowledged <= stored
    # At most one commit per kill can land without being acknowledged.
    assert len(stored - acknowledged) <= kills
    check = run("check", db=db)
    assert check.exit_code == 0, check.output


# --- concurrency ------------------------------------------------------------------------------

WRITER = textwrap.dedent(
    """
    import sys
    from typer.testing import CliRunner
    from medtrack.cli import app

    name, count = sys.argv[1], int(sys.argv[2])
    runner = CliRunner()
    failures = 0
    for _ in range(count):
        result = runner.invoke(app, ["take", name, "--yes"])
        if result.exit_code != 0 or result.exception is not None:
            failures += 1
            print("FAIL", result.exit_code, result.stderr.strip(), repr(result.exception))
    print("done", failures, flush=True)
    """
)

READER = textwrap.dedent(
    """
    import os, sys
    from typer.testing import CliRunner
    from medtrack.cli import app

    stop = sys.argv[1]
    runner = CliRunner()
    runs = 0
    while not os.path.exists(stop):
        result = runner.invoke(app, ["remind"])
        runs += 1
        if result.exit_code != 0 or result.exception is not None:
            print("FAIL", result.exit_code, result.stderr.strip(), repr(result.exception))
    print("done", runs, flush=True)
    """
)


@pytest.mark.slow
def test_two_writers_and_remind_in_a_loop_lose_nothing_and_never_say_locked(tmp_path):
    db = tmp_path / "busy.db"
    for name in ("alpha", "beta"):
        ok("med", "add", name, "--dose", "1mg", "--schedule", "daily 08:00", db=db)
    (tmp_path / "writer.py").write_text(WRITER)
    (tmp_path / "reader.py").write_text(READER)
    stop = tmp_path / "stop"
    env = child_env(db)
    reader = subprocess.Popen(
        [sys.executable, str(tmp_path / "reader.py"), str(stop)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    writers = [
        subprocess.Popen(
            [sys.executable, str(tmp_path / "writer.py"), name, "300"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for name in ("alpha", "beta")
    ]
    outputs = [w.communicate(timeout=120) for w in writers]
    stop.write_text("")
    reader_out, reader_err = reader.communicate(timeout=60)
    for out, err in [*outputs, (reader_out, reader_err)]:
        assert "locked" not in out + err and "busy" not in out + err, out + err
        assert "FAIL" not in out, out
        assert "Traceback" not in err, err
    assert [o.strip().splitlines()[-1] for o, _ in outputs] == ["done 0", "done 0"]
    assert int(reader_out.split()[-1]) > 0
    conn = sqlite3.connect(db)
    counts = dict(
        conn.execute(
            "SELECT m.name, count(*) FROM doses d JOIN medications m ON m.id = d.medication_id "
            "GROUP BY m.name"
        ).fetchall()
    )
    conn.close()
    assert counts == {"alpha": 300, "beta": 300}


# --- bad input ----------------------------------------------------------------------------------

VALUES = [
    "sertraline", "SERTRALINE", "nobody", "now", "yesterday 21:00", "2h ago", "tomorrow",
    "2026-13-45", "1969-01-01", "2026-11-20", "forgot", "bored", "50mg", "-5mg", "0mg",
    "1e309mg", "daily 08:00", "as needed", "RRULE:FREQ=DAILY", "every 0 days 08:00", "0", "3",
    "6h", "h", "mood", "11", "-1", "nan", "inf", "128/82", "400/20", "weight", "72kg", "bp",
    "lithium", "0.8", "mmol/L", "", " ", "99", "moderate", "severe", "1,1,1,1,1,1,1,1,1",
    "9,9", "phq9", "gad7", "csv", "json", "rx", "pill", "--yes",
]  # fmt: skip
value = st.one_of(
    st.sampled_from(VALUES),
    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12),
)
# command words, how many positional values it takes (at most), and its options.
COMMANDS = {
    ("take",): (2, ["--at", "--dose", "--note", "--yes", "--due"]),
    ("skip",): (1, ["--at", "--reason", "--note"]),
    ("med", "add"): (1, ["--dose", "--schedule", "--for", "--max-per-day", "--min-interval",
                         "--start", "--per-dose", "--kind", "--controlled", "--notes"]),
    ("med", "change"): (1, ["--dose", "--schedule", "--from", "--reason", "--per-dose"]),
    ("symptom", "record"): (2, ["--unit", "--at", "--note"]),
    ("measure", "record"): (3, ["--at", "--note"]),
    ("side-effect", "add"): (1, ["--med", "--severity", "--at", "--note"]),
    ("checkin", "take"): (1, ["--answers", "--at", "--note"]),
    ("import",): (1, ["--format", "--merge"]),
}  # fmt: skip
_FLAGS = {"--yes", "--due", "--controlled", "--merge"}
REQUIRED = {
    ("med", "add"): ["--dose", "--schedule"],
    ("skip",): ["--reason"],
    ("side-effect", "add"): ["--severity"],
    ("checkin", "take"): ["--answers"],
    ("take",): ["--yes"],
}


@st.composite
def argument_lists(draw):
    words = draw(st.sampled_from(sorted(COMMANDS)))
    most, options = COMMANDS[words]
    args = list(words) + draw(st.lists(value, min_size=min(most, 1), max_size=most))
    # Mostly give what the command requires, so the values, not the usage, are tested.
    required = REQUIRED.get(words, []) if draw(st.integers(0, 4)) else []
    for option in [*required, *draw(st.lists(st.sampled_from(options), max_size=3))]:
        args.append(option)
        if option not in _FLAGS:
            args.append(draw(value))
    # Now and then an order or a word a person would not type.
    if draw(st.booleans()) and len(args) > 2:
        args = args[: len(words)] + draw(st.permutations(args[len(words) :]))
    return args


def _base_db() -> Path:
    path = Path(os.environ["MEDTRACK_DB"])
    if not path.exists():
        ok("med", "add", "sertraline", "--dose", "50mg", "--schedule", "daily 08:00",
           "--start", "2026-11-01")  # fmt: skip
        ok("take", "sertraline", "--at", "2026-11-22 08:00")
    return path


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(argument_lists())
def test_any_argument_list_exits_0_1_or_2_and_a_failure_changes_nothing(args):
    db = _base_db()
    before = dump(db)
    result = run(*args)
    no_traceback(result)
    assert result.exit_code in (0, 1, 2), (args, result.output, result.stderr)
    if result.exit_code != 0:
        assert dump(db) == before, (args, result.stderr)


def _mutations():
    value = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**70), 2**70),
        st.floats(allow_nan=False),
        st.text(max_size=20),
        st.lists(st.integers(), max_size=3),
        st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    )
    return st.lists(
        st.tuples(st.sampled_from(["", "format", "format_version", "schema_version", "tables"]),
                  st.text(max_size=12), value),
        max_size=3,
    )  # fmt: skip


@settings(
    max_examples=40,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(_mutations(), st.booleans(), st.integers(0, 5), st.binary(max_size=64))
def test_import_of_a_mutated_or_random_file_never_crashes(mutations, merge, row_pick, noise):
    db = _base_db()
    doc = json.loads(ok("export", "--format", "json").stdout)
    tables = doc["tables"]
    for where, column, value in mutations:
        if where == "tables":
            rows = [r for rows in tables.values() for r in rows]
            if rows:
                target = rows[row_pick % len(rows)]
                target[column if column else next(iter(target))] = value
        elif where:
            doc[where] = value
        else:
            doc[column] = value
    path = Path(tempfile.mkdtemp()) / "mutated.json"
    text = json.dumps(doc)
    path.write_bytes(noise + text.encode() if noise and row_pick == 0 else text.encode())
    before = dump(db)
    result = run("import", str(path), *(["--merge"] if merge else []))
    no_traceback(result)
    assert result.exit_code in (0, 1, 2), result.stderr
    if result.exit_code != 0:
        assert dump(db) == before
    else:
        assert run("check").exit_code == 0
    shutil.rmtree(path.parent)


# --- hostile files ------------------------------------------------------------------------------


def _populated(path: Path) -> None:
    ok("med", "add", "sertraline", "--dose", "50mg", "--schedule", "daily 08:00",
       "--start", "2026-11-01", db=path)  # fmt: skip
    for day in range(10, 22):
        ok("take", "sertraline", "--at", f"2026-11-{day} 08:00", "--note", "x" * 400, db=path)


def _make_hostile(tmp_path: Path, kind: str) -> Path:
    path = tmp_path / f"{kind}.db"
    if kind == "random":
        path.write_bytes(random.Random(1).randbytes(20000))
    elif kind == "truncated":
        good = tmp_path / "good.db"
        _populated(good)
        raw = good.read_bytes()
        path.write_bytes(raw[: len(raw) // 2])
    elif kind == "newer":
        _populated(path)
        conn = sqlite3.connect(path)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
        conn.commit()
        conn.close()
    elif kind == "foreign":
        conn = sqlite3.connect(path)
        conn.execute("CREATE TABLE photos (id INTEGER PRIMARY KEY, data BLOB)")
        conn.commit()
        conn.close()
    return path


HOSTILE = {
    "random": "not a medtrack database",
    "truncated": "truncated",
    "newer": "newer medtrack",
    "foreign": "not a medtrack database",
}


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_hostile_database_files_are_refused_and_left_byte_for_byte(tmp_path, kind):
    path = _make_hostile(tmp_path, kind)
    doses = tmp_path / "doses.csv"
    doses.write_text("medication,taken_at,status\nsertraline,2026-11-22 08:00,taken\n")
    before = digest(path)
    for args in (
        ["med", "add", "aspirin", "--dose", "100mg", "--schedule", "daily 09:00"],
        ["take", "sertraline", "--yes"],
        ["med", "list"],
        ["import", str(doses)],
        ["export", "--format", "json"],
        ["backup", str(tmp_path / "copy.db")],
        ["history"],
        ["check"],
    ):
        result = run(*args, db=path)
        no_traceback(result)
        assert result.exit_code == 1, (kind, args, result.output)
        assert HOSTILE[kind] in result.stderr, (kind, args, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1
        assert digest(path) == before, (kind, args)
    assert not (tmp_path / "copy.db").exists()


def test_a_full_disk_is_a_clear_message_and_changes_nothing(tmp_path, monkeypatch):
    db = tmp_path / "full.db"
    ok("med", "add", "sertraline", "--dose", "50mg", "--schedule", "daily 08:00", db=db)
    export = tmp_path / "all.json"
    ok("export", "--format", "json", "-o", str(export), db=db)
    doc = json.loads(export.read_text())
    doc["tables"]["medications"][0]["name"] = "lamotrigine"
    doc["tables"]["medications"][0]["notes"] = "n" * 50_000
    export.write_text(json.dumps(doc))
    from medtrack.store import db as store_db

    real_connect = store_db.connect

    def full_connect(path: Path) -> sqlite3.Connection:
        conn = real_connect(path)
        # No page beyond those the file has now: SQLite answers SQLITE_FULL, as on a
        # full disk, at the first page a write needs.
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {pages}")
        return conn

    monkeypatch.setattr(store_db, "connect", full_connect)
    before_bytes, before_dump = digest(db), dump(db)
    for args in (
        ["med", "add", "lamotrigine", "--dose", "25mg", "--schedule", "daily 08:00",
         "--notes", "n" * 50_000],
        ["import", str(export), "--merge"],
    ):  # fmt: skip
        result = run(*args, db=db)
        no_traceback(result)
        assert result.exit_code == 1, result.output
        assert "full" in result.stderr and "nothing was recorded" in result.stderr
        assert digest(db) == before_bytes and dump(db) == before_dump


def test_a_read_only_file_is_a_clear_message_and_changes_nothing():
    """Tests run as root, which ignores permission bits. A forked child drops its
    effective uid to nobody (which also drops root's capabilities), so the kernel refuses
    to open the file for writing and SQLite reports a read-only database for real."""
    if os.geteuid() != 0:
        pytest.fail("this test drops root privileges in a child; run the suite as root or adapt")
    folder = Path(tempfile.mkdtemp(dir="/tmp"))
    try:
        folder.chmod(0o777)
        db = folder / "ro.db"
        ok("med", "add", "sertraline", "--dose", "50mg", "--schedule", "daily 08:00", db=db)
        db.chmod(0o644)  # owned by root: readable by nobody, not writable
        before_bytes, before_dump = digest(db), dump(db)
        # Warm the imports the command needs while still root (the interpreter lives
        # under /root, which nobody cannot read).
        warm = folder / "warm.db"
        ok("med", "add", "aspirin", "--dose", "1mg", "--schedule", "daily 08:00", db=warm)
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: never returns into pytest
            try:
                os.close(read_end)
                os.seteuid(65534)
                result = run(
                    "med", "add", "aspirin", "--dose", "1mg", "--schedule", "daily 08:00", db=db
                )
                listing = run("med", "list", "--json", db=db)
                report = {
                    "code": result.exit_code,
                    "stderr": result.stderr,
                    "exception": repr(result.exception),
                    "list_code": listing.exit_code,
                    "list": listing.stdout,
                }
                os.write(write_end, json.dumps(report).encode())
            finally:
                os._exit(0)
        os.close(write_end)
        with os.fdopen(read_end, "rb") as pipe:
            report = json.loads(pipe.read() or b"{}")
        os.waitpid(pid, 0)
        assert report["code"] == 1, report
        assert "read-only" in report["stderr"] and "nothing was recorded" in report["stderr"]
        assert "Traceback" not in report["stderr"]
        # Reading still works.
        assert report["list_code"] == 0
        assert [m["name"] for m in json.loads(report["list"])] == ["sertraline"]
        assert digest(db) == before_bytes and dump(db) == before_dump
    finally:
        shutil.rmtree(folder)


def test_the_application_id_marks_medtrack_files(tmp_path):
    db = tmp_path / "mine.db"
    ok("med", "add", "sertraline", "--dose", "50mg", "--schedule", "daily 08:00", db=db)
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    conn.close()


def test_a_checkpoint_half_way_is_not_mistaken_for_a_truncated_file(tmp_path):
    """Another process's checkpoint writes page 1 (with the new page count) before the
    pages that grow the file. Seen at that moment the file looks truncated; with the
    frames still in the -wal it is not, and medtrack must not refuse it."""
    db = tmp_path / "live.db"
    ok("med", "add", "sertraline", "--dose", "50mg", "--schedule", "daily 08:00",
       "--start", "2026-11-01", db=db)  # fmt: skip
    writer = sqlite3.connect(db, isolation_level=None)
    try:
        writer.execute("PRAGMA wal_autocheckpoint = 0")
        writer.execute("BEGIN")
        for _ in range(200):
            writer.execute(
                "INSERT INTO symptoms (name, value, at, recorded_at, note) VALUES "
                "('mood', 5, '2026-11-22T08:00:00Z', '2026-11-22T08:00:00Z', ?)",
                ("x" * 300,),
            )
        writer.execute("COMMIT")
        wal = Path(f"{db}-wal").read_bytes()
        page_size = int.from_bytes(wal[8:12], "big")
        frames = range(32, len(wal), 24 + page_size)
        page_one = [f for f in frames if int.from_bytes(wal[f : f + 4], "big") == 1][-1]
        image = wal[page_one + 24 : page_one + 24 + page_size]
        header_pages = int.from_bytes(image[28:32], "big")
        assert header_pages * page_size > db.stat().st_size  # the file has not grown yet
        with db.open("r+b") as handle:  # what the checkpoint has written so far
            handle.write(image)
        result = run("med", "list", "--json", db=db)
        assert result.exit_code == 0, result.stderr
        assert [m["name"] for m in json.loads(result.stdout)] == ["sertraline"]
    finally:
        writer.close()
    assert run("check", db=db).exit_code == 0
