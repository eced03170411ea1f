"""backup (SQLite's backup API, rotation), restore (checked, current file kept) and check."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

from helpers import dump
from typer.testing import CliRunner

from medtrack.cli import app
from medtrack.store import backups
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
    last = ok("backup", now="2026-11-23T14:11:00+01:00")  # the same second again
    names = [p.name for p in backups.automatic_backups(db())]
    # Thirteen backups, numbered 1..13; the new one and the nine before it are kept.
    assert names == [
        *(f"medtrack-20261123T13{m:02d}00Z-{m + 1}.db" for m in range(3, 12)),
        "medtrack-20261123T131100Z-13.db",
    ]
    assert sorted(p.name for p in folder.iterdir()) == sorted(names)
    assert f"to {folder / 'medtrack-20261123T131100Z-13.db'}." in last.stdout
    assert "Removed 1 older automatic backups." in last.stdout
    assert oct(folder.stat().st_mode & 0o777) == "0o700"


def _medications(path: Path) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return [row[0] for row in conn.execute("SELECT name FROM medications ORDER BY id")]
    finally:
        conn.close()


def test_many_backups_in_one_pinned_second_each_keep_the_newest(tmp_path):
    """The clock pinned: every backup is in the same second. Each new one is kept, holds
    what was recorded just before it, and the nine before it survive."""
    folder = db().parent / "backups"
    for n in range(1, 16):
        add_med(f"med{n}")
        result = ok("backup")
        made = folder / f"medtrack-20261123T133000Z-{n}.db"
        assert f"to {made}." in result.stdout
        assert made.exists(), n
        assert _medications(made)[-1] == f"med{n}"
        kept = backups.automatic_backups(db())
        assert kept[-1] == made
        assert [p.name for p in kept] == [
            f"medtrack-20261123T133000Z-{i}.db" for i in range(max(1, n - 9), n + 1)
        ]
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]


def test_a_clock_set_back_never_removes_the_new_backup():
    """Backups ordered by their number, not by the time in their name: after the clock
    goes back a year, the new backups are kept and the older ones (with later times)
    go first."""
    add_med("before")
    for hour in range(10):
        ok("backup", now=f"2026-11-23T{10 + hour:02d}:00:00Z")
    add_med("after")
    for n in range(11, 15):
        result = ok("backup", now="2025-11-23T09:00:00Z")  # a year back, pinned
        made = db().parent / "backups" / f"medtrack-20251123T090000Z-{n}.db"
        assert f"to {made}." in result.stdout and "Removed 1 older" in result.stdout
        assert _medications(made) == ["before", "after"]
    names = [p.name for p in backups.automatic_backups(db())]
    assert names == [
        *(f"medtrack-20261123T{h:02d}0000Z-{h - 9}.db" for h in range(14, 20)),
        *(f"medtrack-20251123T090000Z-{n}.db" for n in range(11, 15)),
    ]


def test_backups_of_another_profile_and_older_names_are_ordered_and_left_alone():
    """Names from before the numbers (`-<time>.db`, `-<time>-2.db`) are older than any
    numbered backup; another profile's backups (mum-…) are never counted or removed."""
    add_med()
    folder = db().parent / "backups"
    folder.mkdir(mode=0o700)
    legacy = ["medtrack-20261101T080000Z.db", "medtrack-20261101T080000Z-2.db"]
    others = [f"mum-20261101T0800{s:02d}Z-{s + 1}.db" for s in range(12)]
    for name in legacy + others:
        (folder / name).write_bytes(b"")
    for _ in range(8):
        ok("backup")
    names = [p.name for p in backups.automatic_backups(db())]
    assert names[:2] == legacy and len(names) == 10
    assert names[2:] == [f"medtrack-20261123T133000Z-{n}.db" for n in range(3, 11)]
    ok("backup")
    assert backups.automatic_backups(db())[0].name == legacy[1]
    assert sorted(p.name for p in folder.glob("mum-*")) == sorted(others)


def test_stale_temporary_files_of_dead_processes_are_removed_by_the_next_backup(tmp_path):
    add_med()
    folder = db().parent / "backups"
    folder.mkdir(mode=0o700)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = [
        folder / f".medtrack-20261123T133000Z-1.db.tmp-{dead.pid}",
        folder / f".medtrack-20261123T133000Z-1.db.tmp-{dead.pid}-journal",
        db().parent / f".medtrack.db.restore-{dead.pid}",
        db().parent / f".medtrack.db.restore-{dead.pid}-wal",
        tmp_path / f".safe.db.tmp-{dead.pid}",
    ]
    alive = db().parent / f".medtrack.db.restore-{os.getppid()}"  # a live process
    for path in [*stale, alive]:
        path.write_bytes(b"x" * 4096)
    ok("backup")
    assert [p.exists() for p in stale[:2]] == [False, False]
    ok("backup", str(tmp_path / "safe.db"))
    assert not stale[4].exists()
    backup = tmp_path / "safe.db"
    ok("restore", str(backup))
    assert not any(p.exists() for p in stale)
    assert alive.exists()
    alive.unlink()


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
