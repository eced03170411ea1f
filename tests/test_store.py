from __future__ import annotations

import hashlib
import os
import sqlite3
from pathlib import Path

import pytest
import sqlite_utils
from typer.testing import CliRunner

from medtrack.cli import app
from medtrack.errors import DatabaseRefused
from medtrack.store import db
from medtrack.store.migrations import APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION

runner = CliRunner()


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_new_database_is_migrated_with_pragmas(tmp_path):
    path = tmp_path / "new.db"
    conn = db.connect(path)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    finally:
        conn.close()
    assert {"medications", "regimens", "doses", "history", "settings"} <= tables
    assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_reopening_runs_no_migration_again(tmp_path, monkeypatch):
    path = tmp_path / "x.db"
    db.connect(path).close()
    calls = []
    monkeypatch.setattr(db, "_migrate", lambda conn, current: calls.append(current))
    db.connect(path).close()
    assert calls == []


def test_unit_of_work_rolls_back_on_error(tmp_path):
    path = tmp_path / "x.db"
    with pytest.raises(RuntimeError), db.unit_of_work(path, write=True) as conn:
        conn.execute("INSERT INTO settings (key, value, updated_at) VALUES ('a', 'b', 'c')")
        raise RuntimeError("boom")
    with db.unit_of_work(path) as conn:
        assert conn.execute("SELECT count(*) FROM settings").fetchone()[0] == 0


def _refused(path: Path, expected: str):
    before = digest(path)
    with pytest.raises(DatabaseRefused) as info:
        db.connect(path)
    assert expected in info.value.message
    assert digest(path) == before
    result = runner.invoke(app, ["--db", str(path), "med", "list"])
    assert result.exit_code == 1
    assert expected in result.stderr
    assert result.stderr.count("\n") == 1
    assert digest(path) == before
    assert not Path(str(path) + "-wal").exists() or Path(str(path) + "-wal").stat().st_size == 0


def test_random_bytes_file_is_refused_unchanged(tmp_path):
    path = tmp_path / "random.db"
    path.write_bytes(os.urandom(8192))
    _refused(path, "not a medtrack database")


def test_foreign_sqlite_database_is_refused_unchanged(tmp_path):
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE songs (title TEXT)")
    conn.commit()
    conn.close()
    _refused(path, "not a medtrack database")


def test_newer_schema_is_refused_unchanged(tmp_path):
    path = tmp_path / "future.db"
    db.connect(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.commit()
    conn.close()
    _refused(path, "newer medtrack")


def test_truncated_database_is_refused_unchanged(tmp_path):
    path = tmp_path / "cut.db"
    conn = db.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    data = path.read_bytes()
    assert len(data) > 8192
    path.write_bytes(data[: len(data) // 2])
    _refused(path, "damaged")


def test_missing_folder_for_explicit_db_is_a_clear_error(tmp_path):
    result = runner.invoke(app, ["--db", str(tmp_path / "nope" / "x.db"), "med", "list"])
    assert result.exit_code == 1
    assert "does not exist" in result.stderr


def test_default_path_uses_xdg_and_profile(monkeypatch, tmp_path):
    monkeypatch.delenv("MEDTRACK_DB")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert db.resolve_path() == tmp_path / "xdg" / "medtrack" / "default.db"
    assert db.resolve_path(profile="mum") == tmp_path / "xdg" / "medtrack" / "mum.db"
    monkeypatch.delenv("XDG_DATA_HOME")
    assert db.resolve_path() == Path.home() / ".local" / "share" / "medtrack" / "default.db"
    assert db.resolve_path(db="/tmp/a.db", profile="mum") == Path("/tmp/a.db")


def test_version_3_file_migrates_once_and_keeps_every_dose(tmp_path, monkeypatch):
    """Migration 4 drops the indexes of the old stored attachment; the rows, and the
    `scheduled_for` an earlier version wrote, stay."""
    path = tmp_path / "v3.db"
    conn = sqlite3.connect(path, isolation_level=None)
    for step in MIGRATIONS[:3]:
        step(sqlite_utils.Database(conn))
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.execute("PRAGMA user_version = 3")
    conn.execute("INSERT INTO medications (name, created_at) VALUES ('sertraline', 'x')")
    conn.execute(
        "INSERT INTO doses (medication_id, scheduled_for, taken_at, status, recorded_at) "
        "VALUES (1, '2026-11-22T08:00:00Z', '2026-11-22T08:05:00Z', 'taken', 'x')"
    )
    conn.close()

    conn = db.connect(path)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION >= 4
        row = conn.execute("SELECT scheduled_for, taken_at FROM doses").fetchone()
        assert tuple(row) == ("2026-11-22T08:00:00Z", "2026-11-22T08:05:00Z")
        indexes = {r[1] for r in conn.execute("PRAGMA index_list(doses)")}
        assert "idx_doses_window" not in indexes
        assert "idx_doses_medication_id_scheduled_for" not in indexes
        assert "idx_doses_medication_id_taken_at" in indexes
    finally:
        conn.close()
    calls = []
    monkeypatch.setattr(db, "_migrate", lambda conn, current: calls.append(current))
    db.connect(path).close()
    assert calls == []
