"""backup (SQLite's backup API, rotation), restore (checked, current file kept) and check."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
from pathlib import Path

from helpers import dump
from typer.testing import CliRunner

from medtrack.cli import app
from medtrack.store import transfer
from medtrack.store.migrations import SCHEMA_VERSION

NOW = "2026-11-23T14:30:00+01:00"
runner = CliRunner()


def run(*args: str, now: str = NOW):
    return runner.invoke(app, list(args), env={"MEDTRACK_NOW": now})


def ok(*args: str, now: str = NOW):
    result = run(*args, now=now)
    assert result.exit_code == 0, (args, result.output, result.stderr)
    return result


def db() -> Path:
    return Path(os.environ["MEDTRACK_DB"])


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def add_med(name: str = "sertraline") -> None:
    ok("med", "add", name, "--dose", "50mg", "--schedule", "daily 08:00", "--start", "2026-11-01")


def test_backup_to_a_file_is_a_private_consistent_copy(tmp_path):
    add_med()
    target = tmp_path / "safe" / "medtrack-2026-11-22.db"
    target.parent.mkdir()
    result = ok("backup", str(target))
    assert str(target) in result.stdout
    assert oct(target.stat().st_mode & 0o777) == "0o600"
    assert dump(target) == dump(db())
    # A single self-contained file: rollback journal mode, no -wal beside it.
    conn = sqlite3.connect(target)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    conn.close()
    assert not Path(f"{target}-wal").exists()
    # An existing file is never overwritten.
    before = digest(target)
    again = run("backup", str(target))
    assert again.exit_code == 1 and "already exists" in again.stderr
    assert digest(target) == before


def test_automatic_backups_go_beside_the_database_and_keep_the_newest_ten():
    add_med()
    folder = db().parent / "backups"
    for minute in range(12):
        ok("backup", now=f"2026-11-23T14:{minute:02d}:00+01:00")
    ok("backup", now="2026-11-23T14:11:00+01:00")  # same second: a -2 suffix, kept in order
    names = sorted(p.name for p in folder.iterdir())
    assert len(names) == 10
    assert names[0] == "medtrack-20261123T130300Z.db"
    assert "medtrack-20261123T131100Z-2.db" in names
    assert [p.name for p in transfer.automatic_backups(db())][-1] == (
        "medtrack-20261123T131100Z-2.db"
    )
    assert oct(folder.stat().st_mode & 0o777) == "0o700"


def test_backup_without_a_database_says_so():
    result = run("backup")
    assert result.exit_code == 1 and "nothing to back up" in result.stderr
    assert not db().exists()


def test_backup_is_consistent_while_another_connection_writes(tmp_path):
    add_med()
    stop = threading.Event()

    def writer() -> None:
        conn = sqlite3.connect(db(), timeout=10, isolation_level=None)
        n = 0
        while not stop.is_set():
            # Two rows per transaction: a torn copy would hold an odd count.
            conn.execute("BEGIN IMMEDIATE")
            for _ in range(2):
                conn.execute(
                    "INSERT INTO symptoms (name, value, at, recorded_at) VALUES "
                    "('mood', 5, '2026-11-22T08:00:00Z', '2026-11-22T08:00:00Z')"
                )
            conn.execute("COMMIT")
            n += 1
        conn.close()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        for i in range(5):
            target = tmp_path / f"copy{i}.db"
            ok("backup", str(target))
            conn = sqlite3.connect(target)
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            assert conn.execute("SELECT count(*) FROM symptoms").fetchone()[0] % 2 == 0
            conn.close()
    finally:
        stop.set()
        thread.join()


def test_restore_replaces_the_database_and_keeps_the_replaced_file(tmp_path):
    add_med("sertraline")
    backup = tmp_path / "b.db"
    ok("backup", str(backup))
    add_med("lamotrigine")
    current = dump(db())
    result = ok("restore", str(backup))
    kept = db().parent / "medtrack.before-restore-20261123T133000Z.db"
    assert str(kept) in result.stdout
    assert dump(kept) == current
    assert oct(kept.stat().st_mode & 0o777) == "0o600"
    names = json.loads(ok("med", "list", "--json").stdout)
    assert [m["name"] for m in names] == ["sertraline"]
    conn = sqlite3.connect(db())
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()
    # The backup itself was only read.
    assert dump(backup).count("INSERT INTO") == dump(db()).count("INSERT INTO")


def test_restore_into_a_damaged_database_moves_the_damaged_file_aside(tmp_path):
    add_med()
    backup = tmp_path / "b.db"
    ok("backup", str(backup))
    damaged = os.urandom(8192)
    for suffix in ("-wal", "-shm"):
        Path(f"{db()}{suffix}").unlink(missing_ok=True)
    db().write_bytes(damaged)
    assert run("med", "list").exit_code == 1
    ok("restore", str(backup))
    kept = db().parent / "medtrack.before-restore-20261123T133000Z.db"
    assert kept.read_bytes() == damaged
    ok("med", "show", "sertraline")


def _hostile(tmp_path: Path, kind: str) -> Path:
    path = tmp_path / f"{kind}.db"
    if kind == "random":
        path.write_bytes(os.urandom(4096))
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "truncated":
        source = tmp_path / "full.db"
        conn = sqlite3.connect(source)
        conn.execute(f"PRAGMA application_id = {0x4D454454}")
        conn.execute("CREATE TABLE t (x)")
        conn.executemany("INSERT INTO t VALUES (?)", [("x" * 500,)] * 200)
        conn.commit()
        conn.close()
        path.write_bytes(source.read_bytes()[:20000])
    elif kind == "newer":
        conn = sqlite3.connect(path)
        conn.execute(f"PRAGMA application_id = {0x4D454454}")
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
        conn.execute("CREATE TABLE future (x)")
        conn.commit()
        conn.close()
    elif kind == "foreign":
        conn = sqlite3.connect(path)
        conn.execute("CREATE TABLE photos (x)")
        conn.commit()
        conn.close()
    elif kind == "corrupt":
        source = tmp_path / "good.db"
        conn = sqlite3.connect(source)
        conn.execute(f"PRAGMA application_id = {0x4D454454}")
        conn.execute("PRAGMA user_version = 1")
        conn.execute("CREATE TABLE t (x)")
        conn.execute("CREATE INDEX t_x ON t (x)")
        conn.executemany("INSERT INTO t VALUES (?)", [(f"{i:0500d}",) for i in range(300)])
        conn.commit()
        conn.close()
        raw = bytearray(source.read_bytes())
        # Scribble over a page in the middle (an index page): integrity_check catches it.
        raw[4096 * 30 + 200 : 4096 * 30 + 600] = os.urandom(400)
        path.write_bytes(bytes(raw))
    return path


def test_restore_refuses_hostile_files_and_changes_nothing(tmp_path):
    add_med()
    before_db = digest(db())
    before_dump = dump(db())
    messages = {
        "random": "not a medtrack database",
        "empty": "empty",
        "truncated": "truncated",
        "newer": "newer medtrack",
        "foreign": "not a medtrack database",
        "corrupt": "nothing restored",
    }
    for kind, message in messages.items():
        path = _hostile(tmp_path, kind)
        candidate = digest(path)
        result = run("restore", str(path))
        assert result.exit_code == 1, (kind, result.output)
        assert message in result.stderr, (kind, result.stderr)
        assert digest(path) == candidate, kind
        assert digest(db()) == before_db and dump(db()) == before_dump, kind
    assert sorted(p.name for p in db().parent.iterdir() if "restore" in p.name) == []
    missing = run("restore", str(tmp_path / "nope.db"))
    assert missing.exit_code == 1 and "no backup file" in missing.stderr


def test_check_reports_ok_and_exits_zero():
    add_med()
    result = ok("check", "--json")
    report = json.loads(result.stdout)
    assert report == {
        "path": str(db()),
        "ok": True,
        "integrity": ["ok"],
        "schema_version": SCHEMA_VERSION,
        "known_schema_version": SCHEMA_VERSION,
        "orphans": [],
        "values": [],
        "problems": [],
    }


def test_check_finds_orphan_rows_and_exits_one():
    add_med()
    conn = sqlite3.connect(db())
    conn.execute("PRAGMA foreign_keys = OFF")
    conn.execute(
        "INSERT INTO doses (id, medication_id, taken_at, status, recorded_at) "
        "VALUES (7, 42, '2026-11-22T08:00:00Z', 'taken', '2026-11-22T08:00:00Z')"
    )
    conn.execute(
        "INSERT INTO reminders_sent (id, medication_id, kind, sent_at) "
        "VALUES (3, 99, 'due', '2026-11-22T08:00:00Z')"
    )
    conn.commit()
    conn.close()
    result = run("check")
    assert result.exit_code == 1
    assert "orphan: doses row 7 refers to a missing medications row" in result.stdout
    assert "orphan: reminders_sent row 3 refers to a missing medications row" in result.stdout
    assert "2 problem(s)" in result.stderr


def test_check_finds_a_damaged_file_and_exits_one(tmp_path):
    add_med()
    path = _hostile(tmp_path, "corrupt")
    result = runner.invoke(app, ["--db", str(path), "check"], env={"MEDTRACK_NOW": NOW})
    assert result.exit_code == 1
    assert result.stderr.startswith("medtrack: ")
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_check_without_a_database_does_not_create_one():
    result = run("check")
    assert result.exit_code == 1 and "no database" in result.stderr
    assert not db().exists()


def test_check_reports_what_integrity_check_finds():
    add_med()
    ok("take", "sertraline", "--at", "2026-11-22 08:05")
    conn = sqlite3.connect(db())
    name = "idx_doses_taken_at"
    # An index whose entries no longer match its table: the file opens, but is damaged.
    conn.execute("PRAGMA writable_schema = ON")
    conn.execute(
        "UPDATE sqlite_master SET sql = replace(sql, '\"taken_at\"', '\"status\"') WHERE name = ?",
        (name,),
    )
    conn.commit()
    conn.close()
    result = run("check", "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["ok"] is False
    assert any(name in line for line in report["integrity"]), report
    assert report["orphans"] == []
