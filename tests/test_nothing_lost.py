"""Issue 16, nothing lost: restore through SQLite and by rename, the database named on
the command line, no file made by a failing or reading command, a full disk."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from helpers import dump
from typer.testing import CliRunner

from medtrack.cli import app
from medtrack.store import db as store_db
from medtrack.store.migrations import SCHEMA_VERSION

NOW = "2026-11-23T14:30:00+01:00"
runner = CliRunner()


def run(*args: str, env: dict[str, str] | None = None):
    return runner.invoke(app, list(args), env={"MEDTRACK_NOW": NOW, **(env or {})})


def ok(*args: str, env: dict[str, str] | None = None):
    result = run(*args, env=env)
    assert result.exit_code == 0, (args, result.output, result.stderr)
    return result


def db() -> Path:
    return Path(os.environ["MEDTRACK_DB"])


def add_med(name: str, *options: str) -> None:
    ok(*options, "med", "add", name, "--dose", "50mg", "--schedule", "daily 08:00")


def names(path: Path) -> list[str]:
    conn = sqlite3.connect(f"file:{path}?immutable=1", uri=True)
    try:
        return [row[0] for row in conn.execute("SELECT name FROM medications ORDER BY name")]
    finally:
        conn.close()


def medtrack_exe() -> str:
    exe = Path(sys.executable).parent / "medtrack"
    found = str(exe) if exe.exists() else shutil.which("medtrack")
    assert found, "the medtrack console script is not installed"
    return found


def temporaries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob(".*") if ".tmp-" in p.name or ".restore-" in p.name)


# --- restore -------------------------------------------------------------------------------


def _wal_only_copy(source: Path, target: Path) -> None:
    """Copy `source` and its -wal while a commit lives only in that WAL (as a copy taken
    of a database in use would be, or a before-restore file of one)."""
    conn = sqlite3.connect(source, isolation_level=None)
    try:
        conn.execute("PRAGMA wal_autocheckpoint = 0")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute(
            "INSERT INTO symptoms (name, value, at, recorded_at) VALUES "
            "('mood', 7, '2026-11-22T08:00:00Z', '2026-11-22T08:00:00Z')"
        )
        shutil.copyfile(source, target)
        shutil.copyfile(f"{source}-wal", f"{target}-wal")
    finally:
        conn.close()


def test_a_commit_that_lives_only_in_the_backups_wal_is_restored(tmp_path):
    source = tmp_path / "source.db"
    add_med("sertraline", "--db", str(source))
    candidate = tmp_path / "copy.db"
    _wal_only_copy(source, candidate)
    main_file_alone = sqlite3.connect(f"file:{candidate}?immutable=1", uri=True)
    assert main_file_alone.execute("SELECT count(*) FROM symptoms").fetchone()[0] == 0
    main_file_alone.close()
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("copy")}

    add_med("lithium")
    result = ok("restore", str(candidate))
    assert "kept as" in result.stdout
    symptoms = json.loads(ok("symptom", "list", "--json").stdout)
    assert [(s["name"], s["value"]) for s in symptoms] == [("mood", 7)]
    assert names(db()) == ["sertraline"]
    # The candidate and its WAL were only read: no file changed or added beside them.
    after = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("copy")}
    assert after == before
    # The new database is one file in WAL mode; nothing temporary is left.
    assert not Path(f"{db()}-wal").exists() or Path(f"{db()}-wal").stat().st_size == 0
    assert temporaries(tmp_path) == []


def test_a_restored_before_restore_file_keeps_its_wal_commits(tmp_path):
    """Restore over a damaged file keeps it with its -wal beside it; restoring that kept
    file later brings back the commits of its WAL too."""
    add_med("sertraline")
    good = tmp_path / "good.db"
    ok("backup", str(good))
    _wal_only_copy(db(), tmp_path / "live.db")
    # The live file's header scribbled over: medtrack refuses it, its WAL intact beside it.
    for suffix in ("", "-wal"):
        shutil.copyfile(f"{tmp_path / 'live.db'}{suffix}", f"{db()}{suffix}")
    Path(f"{db()}-shm").unlink(missing_ok=True)
    damaged = bytearray(db().read_bytes())
    damaged[:16] = b"garbage garbage!"
    db().write_bytes(bytes(damaged))
    assert run("today").exit_code == 1
    ok("restore", str(good))
    kept = tmp_path / "medtrack.before-restore-20261123T133000Z.db"
    assert kept.read_bytes() == bytes(damaged)
    assert Path(f"{kept}-wal").exists()
    # Repaired by hand (the header back), the kept file restores with its WAL commit.
    repaired = bytearray(kept.read_bytes())
    repaired[:16] = b"SQLite format 3\x00"
    kept.write_bytes(bytes(repaired))
    ok("restore", str(kept))
    symptoms = json.loads(ok("symptom", "list", "--json").stdout)
    assert [(s["name"], s["value"]) for s in symptoms] == [("mood", 7)]


def test_restore_refuses_a_backup_that_check_would_fail(tmp_path):
    add_med("sertraline")
    bad = tmp_path / "orphans.db"
    ok("backup", str(bad))
    conn = sqlite3.connect(bad)
    conn.execute(
        "INSERT INTO doses (id, medication_id, taken_at, status, recorded_at) "
        "VALUES (7, 42, '2026-11-22T08:00:00Z', 'taken', '2026-11-22T08:00:00Z')"
    )
    conn.commit()
    conn.close()
    add_med("lithium")
    before = dump()
    result = run("restore", str(bad))
    assert result.exit_code == 1
    assert "doses row 7 refers to a missing medications row" in result.stderr
    assert "nothing restored" in result.stderr
    assert dump() == before
    assert temporaries(tmp_path) == []
    assert not [p for p in tmp_path.iterdir() if "before-restore" in p.name]


def test_restore_of_an_older_schema_brings_it_up_to_date(tmp_path):
    add_med("sertraline")
    old = tmp_path / "old.db"
    ok("backup", str(old))
    conn = sqlite3.connect(old)
    # Back to version 4: what migrations 5 (reminder claims) and 6 (a plan's own on-time
    # window) add, taken away.
    conn.execute("DROP INDEX idx_reminders_sent_claim")
    conn.execute("ALTER TABLE reminders_sent DROP COLUMN attempt")
    conn.execute("ALTER TABLE regimens DROP COLUMN on_time_window_minutes")
    conn.execute("PRAGMA user_version = 4")
    conn.commit()
    conn.close()
    ok("restore", str(old))
    conn = sqlite3.connect(db())
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 6
    name = "idx_reminders_sent_claim"
    assert conn.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (name,)).fetchone()
    conn.close()
    assert json.loads(ok("check", "--json").stdout)["ok"] is True


def test_restore_refuses_while_another_connection_has_the_file_open(tmp_path, monkeypatch):
    """The old file must leave WAL mode before it is renamed away (a commit could land
    in a -wal beside the new file otherwise): with a reader open, restore says so."""
    add_med("sertraline")
    backup = tmp_path / "b.db"
    ok("backup", str(backup))
    monkeypatch.setattr(store_db, "BUSY_TIMEOUT_MS", 200)
    holder = sqlite3.connect(db(), isolation_level=None)
    holder.execute("BEGIN")
    holder.execute("SELECT count(*) FROM medications").fetchone()
    try:
        before = dump()
        result = run("restore", str(backup))
        assert result.exit_code == 1
        assert "busy" in result.stderr or "in use" in result.stderr, result.stderr
        assert dump() == before
    finally:
        holder.close()
    assert temporaries(tmp_path) == []
    ok("restore", str(backup))


@pytest.mark.slow
def test_a_restore_killed_at_random_moments_never_leaves_the_path_without_a_database(tmp_path):
    """SIGKILL at random moments of `medtrack restore` (installed, a real process), over
    a healthy file and over a damaged one: the path always holds the old database or
    the new one, whole; the next restore cleans what the killed ones left."""
    exe = medtrack_exe()
    env = dict(os.environ, MEDTRACK_NOW="2026-11-23T14:30:00Z")
    ok("med", "add", "sertraline", "--dose", "50mg", "--schedule", "daily 08:00")
    conn = sqlite3.connect(db())
    # Some bulk, so that the copying and checking take a while worth hitting.
    conn.executemany(
        "INSERT INTO symptoms (name, value, at, recorded_at, note) VALUES "
        "('mood', 5, '2026-11-22T08:00:00Z', '2026-11-22T08:00:00Z', ?)",
        [("x" * 200,) for _ in range(15000)],
    )
    conn.commit()
    conn.close()
    first, second = tmp_path / "first.db", tmp_path / "second.db"
    ok("backup", str(first))
    ok("med", "add", "lithium", "--dose", "400mg", "--schedule", "daily 20:00")
    ok("backup", str(second))
    contents = {("sertraline",): "first", ("lithium", "sertraline"): "second"}

    started = time.monotonic()
    done = subprocess.run([exe, "restore", str(first)], env=env, capture_output=True)
    whole = time.monotonic() - started
    assert done.returncode == 0, done.stderr

    rng = random.Random(16)
    damaged = os.urandom(65536)
    outcomes = {"first": 0, "second": 0, "damaged": 0}
    for round_ in range(40):
        if round_ % 4 == 3:
            for suffix in ("-wal", "-shm"):
                Path(f"{db()}{suffix}").unlink(missing_ok=True)
            db().write_bytes(damaged)
        candidate = first if round_ % 2 else second
        child = subprocess.Popen(
            [exe, "restore", str(candidate)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        # Up to twice the time a whole restore took: a restore of the other backup, or
        # over a damaged file, need not take as long, and some kills must land after it.
        time.sleep(rng.uniform(0.3, 2.0) * whole)
        child.send_signal(signal.SIGKILL)
        child.wait()
        assert db().exists(), f"round {round_}: no database at the path"
        if db().read_bytes()[:16] != b"SQLite format 3\x00":
            assert db().read_bytes() == damaged, round_
            outcomes["damaged"] += 1
            continue
        check = sqlite3.connect(db())
        try:
            assert check.execute("PRAGMA integrity_check").fetchone()[0] == "ok", round_
            held = tuple(r[0] for r in check.execute("SELECT name FROM medications ORDER BY 1"))
            assert check.execute("SELECT count(*) FROM symptoms").fetchone()[0] == 15000
        finally:
            check.close()
        outcomes[contents[held]] += 1
    # Both outcomes happened: the kills did land before and after the swap.
    assert outcomes["first"] and outcomes["second"], outcomes

    leftovers = temporaries(tmp_path)
    final = subprocess.run([exe, "restore", str(second)], env=env, capture_output=True)
    assert final.returncode == 0, final.stderr
    assert names(db()) == ["lithium", "sertraline"]
    # Whatever the killed restores left behind (if anything) is gone now.
    assert temporaries(tmp_path) == [], leftovers


@pytest.mark.slow
def test_killed_backups_leave_nothing_after_the_next_one(tmp_path):
    exe = medtrack_exe()
    env = dict(os.environ, MEDTRACK_NOW="2026-11-23T14:30:00Z")
    ok("med", "add", "sertraline", "--dose", "50mg", "--schedule", "daily 08:00")
    conn = sqlite3.connect(db())
    conn.executemany(
        "INSERT INTO notes (text, at, recorded_at) VALUES (?, '2026-11-22T08:00:00Z', "
        "'2026-11-22T08:00:00Z')",
        [("x" * 300,) for _ in range(15000)],
    )
    conn.commit()
    conn.close()
    started = time.monotonic()
    assert subprocess.run([exe, "backup"], env=env, capture_output=True).returncode == 0
    whole = time.monotonic() - started
    rng = random.Random(7)
    for _ in range(15):
        child = subprocess.Popen([exe, "backup"], env=env, stdout=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.4, 1.0) * whole)
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert subprocess.run([exe, "backup"], env=env, capture_output=True).returncode == 0
    assert temporaries(tmp_path) == []
    made = sorted((tmp_path / "backups").iterdir())
    for path in made:  # every backup under its final name is whole
        check = sqlite3.connect(path)
        assert check.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        check.close()


# --- which database: explicit beats implicit -------------------------------------------------


@pytest.fixture
def data_folder(isolated_home: Path) -> Path:
    return isolated_home / ".local" / "share" / "medtrack"


def test_profile_and_db_on_the_command_line_win_over_the_environment(tmp_path, data_folder):
    env_db = db()
    add_med("from-env-db")
    add_med("mums", "--profile", "mum")
    assert names(data_folder / "mum.db") == ["mums"]
    assert names(env_db) == ["from-env-db"]
    # --profile beats MEDTRACK_DB and MEDTRACK_PROFILE; --db beats everything.
    listed = ok("--profile", "mum", "med", "list", "--json", env={"MEDTRACK_PROFILE": "dad"})
    assert [m["name"] for m in json.loads(listed.stdout)] == ["mums"]
    other = tmp_path / "other.db"
    add_med("explicit", "--db", str(other))
    ok("--db", str(other), "--profile", "mum", "med", "list", env={"MEDTRACK_PROFILE": "dad"})
    assert names(other) == ["explicit"]
    # Between the two variables, MEDTRACK_DB (a file) is the more explicit.
    listed = ok("med", "list", "--json", env={"MEDTRACK_PROFILE": "mum"})
    assert [m["name"] for m in json.loads(listed.stdout)] == ["from-env-db"]
    assert sorted(p.name for p in data_folder.glob("*.db")) == ["mum.db"]


def test_the_profile_variable_applies_when_no_db_variable_is_set(monkeypatch, data_folder):
    monkeypatch.delenv("MEDTRACK_DB")
    add_med("mums", "--profile", "mum")
    listed = ok("med", "list", "--json", env={"MEDTRACK_PROFILE": "mum"})
    assert [m["name"] for m in json.loads(listed.stdout)] == ["mums"]
    # An empty variable is unset: the default profile.
    assert json.loads(ok("med", "list", "--json", env={"MEDTRACK_PROFILE": ""}).stdout) == []


@pytest.mark.parametrize(
    ("words", "message"),
    [
        (["--profile", ""], "--profile needs a name"),
        (["--profile", " "], "is not a simple name"),
        (["--profile", "../etc"], "is not a simple name"),
        (["--profile", "mum/dad"], "is not a simple name"),
        (["--profile", ".hidden"], "is not a simple name"),
        (["--profile", "mum\n"], "is not a simple name"),
        (["--profile", "mum\x1b[31m"], "contains the control character"),
        (["--profile", "m" * 65], "is not a simple name"),
        (["--db", ""], "--db needs a file name"),
    ],
)
def test_an_empty_or_unsafe_profile_is_refused_in_one_line(words, message, tmp_path):
    for command in (["med", "list"], ["med", "add", "x", "--dose", "1mg", "--schedule", "daily"]):
        result = run(*words, *command)
        # A control character in any argument is refused before the command runs (exit 1).
        assert result.exit_code == (1 if "control" in message else 2), result.output
        assert message in result.stderr
        assert len(result.stderr.splitlines()) == 1
        assert "\x1b" not in result.stderr
    # Refused even by a command that would open nothing.
    assert run(*words, "cron", "show").exit_code in (1, 2)
    assert sorted(p.name for p in tmp_path.rglob("*.db")) == []


def test_a_failing_or_reading_command_creates_no_database(tmp_path, data_folder):
    mum = data_folder / "mum.db"
    for args, code in (
        (["--profile", "mum", "med", "stop", "x"], 1),
        (["--profile", "mum", "take", "sertraline", "--yes"], 1),
        (["--profile", "mum", "symptom", "mood", "99"], 1),
        (["--profile", "mum", "today"], 0),
        (["--profile", "mum", "med", "list"], 0),
        (["--profile", "mum", "summary", "--days", "30"], 0),
        (["--profile", "mum", "export", "--format", "json"], 0),
        (["--profile", "mum", "check"], 1),
        (["--profile", "mum", "backup"], 1),
    ):
        result = run(*args)
        assert result.exit_code == code, (args, result.output)
        assert not mum.exists(), args
        assert list(data_folder.iterdir()) == [], args
    # The first write that works creates the file, private, with nothing temporary left.
    add_med("lithium", "--profile", "mum")
    assert names(mum) == ["lithium"]
    assert oct(mum.stat().st_mode & 0o777) == "0o600"
    assert sorted(p.name for p in data_folder.iterdir()) == ["mum.db"]


def test_a_first_write_never_replaces_a_database_made_meanwhile(tmp_path, monkeypatch):
    """Two first writes at once: the second to finish finds the file the first made;
    its work is refused (nothing recorded, try again), the first's is kept."""
    path = tmp_path / "new.db"
    real_link = os.link

    def other_process_first(source, target):
        if Path(target) == path and not path.exists():
            made = store_db.connect(path)
            made.execute("INSERT INTO settings (key, value) VALUES ('timezone', 'Europe/Berlin')")
            made.close()
        return real_link(source, target)

    monkeypatch.setattr(os, "link", other_process_first)
    result = run("--db", str(path), "med", "add", "x", "--dose", "1mg", "--schedule", "daily 08:00")
    assert result.exit_code == 1
    assert "created by another medtrack meanwhile; nothing was recorded" in result.stderr
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT value FROM settings WHERE key = 'timezone'").fetchone()
    assert conn.execute("SELECT count(*) FROM medications").fetchone()[0] == 0
    conn.close()
    assert temporaries(tmp_path) == []


def test_the_store_creates_no_file_for_reads_or_when_asked_not_to(tmp_path):
    from medtrack.errors import NotFound

    folder = tmp_path / "store"
    folder.mkdir()
    path = folder / "none.db"
    with store_db.unit_of_work(path) as conn:
        # An empty record to read; writing through a reading unit is refused.
        assert conn.execute("SELECT count(*) FROM medications").fetchone()[0] == 0
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            conn.execute("INSERT INTO settings (key, value) VALUES ('a', 'b')")
    with (
        pytest.raises(NotFound, match="no database at"),
        store_db.unit_of_work(path, write=True, create=False),
    ):
        raise AssertionError("never reached")
    assert list(folder.iterdir()) == []
    with store_db.unit_of_work(path, write=True) as conn:
        conn.execute("INSERT INTO settings (key, value) VALUES ('a', 'b')")
    with store_db.unit_of_work(path) as conn:
        assert conn.execute("SELECT value FROM settings WHERE key = 'a'").fetchone()[0] == "b"
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            conn.execute("DELETE FROM settings")
    assert sorted(p.name for p in folder.iterdir()) == ["none.db"]


# --- a full disk ----------------------------------------------------------------------------


def test_a_write_on_a_full_disk_says_so_and_changes_nothing(monkeypatch):
    add_med("sertraline")
    real_connect = store_db.connect

    def full_connect(path: Path) -> sqlite3.Connection:
        conn = real_connect(path)
        # No page beyond those the file has now: SQLite answers SQLITE_FULL at the first
        # page a write needs, as on a full disk.
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {pages}")
        return conn

    monkeypatch.setattr(store_db, "connect", full_connect)
    before = dump()
    result = run("med", "add", "lamotrigine", "--dose", "25mg", "--schedule", "daily 08:00",
                 "--notes", "n" * 50_000)  # fmt: skip
    assert result.exit_code == 1
    assert result.stderr == (
        f"medtrack: the disk holding {db()} is full; nothing was recorded. "
        "Free some space and try again\n"
    )
    assert dump() == before


def test_reading_falls_back_when_the_shared_memory_index_cannot_grow(monkeypatch, tmp_path):
    """The first read of a WAL file sizes its -shm; on a full disk that fails with an
    I/O error. The reader then uses exclusive locking mode and reads all the same."""
    add_med("sertraline")
    ok("take", "sertraline", "--at", "2026-11-23 08:05", "--yes")
    real_open = store_db._open_read_only
    attempts = []

    def shm_cannot_grow(path, *, exclusive=False):
        attempts.append(exclusive)
        if not exclusive:
            error = sqlite3.OperationalError("disk I/O error")
            error.sqlite_errorname = "SQLITE_IOERR_SHMSIZE"
            raise error
        return real_open(path, exclusive=exclusive)

    monkeypatch.setattr(store_db, "_open_read_only", shm_cannot_grow)
    listed = json.loads(ok("log", "--json").stdout)
    assert [d["status"] for d in listed] == ["taken"]
    assert attempts == [False, True]
    copy = tmp_path / "elsewhere.db"
    ok("backup", str(copy))
    assert names(copy) == ["sertraline"]
    assert ok("check").exit_code == 0


SMALL_DISK = textwrap.dedent(
    """
    import json, os, subprocess, sys
    exe, disk, elsewhere = sys.argv[1:]
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", disk], check=True)
    env = dict(os.environ, MEDTRACK_DB=os.path.join(disk, "me.db"),
               MEDTRACK_NOW="2026-11-23T14:30:00Z")
    def medtrack(*args):
        done = subprocess.run([exe, *args], env=env, capture_output=True, text=True)
        return {"code": done.returncode, "out": done.stdout, "err": done.stderr}
    results = {}
    results["add"] = medtrack("med", "add", "sertraline", "--dose", "50mg",
                              "--schedule", "daily 08:00", "--start", "2026-11-01")
    results["take"] = medtrack("take", "sertraline", "--at", "2026-11-23 08:05", "--yes")
    try:
        with open(os.path.join(disk, "filler"), "wb") as filler:
            while True:
                filler.write(b"x" * 4096)
                filler.flush()
    except OSError:
        pass
    stats = os.statvfs(disk)
    results["free"] = stats.f_bavail * stats.f_frsize
    for name, args in {
        "today": ["today", "--json"],
        "log": ["log", "--json"],
        "check": ["check"],
        "export": ["export", "--format", "json", "-o", os.path.join(elsewhere, "all.json")],
        "backup": ["backup", os.path.join(elsewhere, "safe.db")],
        "take_full": ["take", "sertraline", "--at", "2026-11-22 08:05", "--yes"],
        "auto_backup": ["backup"],
        "export_full": ["export", "--format", "json", "-o", os.path.join(disk, "all.json")],
    }.items():
        results[name] = medtrack(*args)
    os.unlink(os.path.join(disk, "filler"))
    results["log_after"] = medtrack("log", "--json")
    results["files"] = sorted(os.listdir(disk))
    print(json.dumps(results))
    """
)


def test_a_real_full_disk_reads_backs_up_elsewhere_and_refuses_writes(tmp_path):
    """A 2 MiB tmpfs filled to the last block, mounted in a user and mount namespace of
    our own (no change to the machine's mounts)."""
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("util-linux's unshare is not installed (the injected tests above run)")
    probe = subprocess.run([unshare, "-rm", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"no user namespaces here: {probe.stderr.decode().strip()}")
    disk, elsewhere = tmp_path / "small", tmp_path / "elsewhere"
    disk.mkdir()
    elsewhere.mkdir()
    done = subprocess.run(
        [
            unshare,
            "-rm",
            sys.executable,
            "-c",
            SMALL_DISK,
            medtrack_exe(),
            str(disk),
            str(elsewhere),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)
    assert results["add"]["code"] == 0 and results["take"]["code"] == 0
    assert results["free"] < 64 * 1024
    for name in ("today", "log", "check", "export", "backup"):
        assert results[name]["code"] == 0, (name, results[name])
    assert [d["status"] for d in json.loads(results["log"]["out"])] == ["taken"]
    assert json.loads((elsewhere / "all.json").read_text())["tables"]["doses"]
    assert names(elsewhere / "safe.db") == ["sertraline"]
    full = f"the disk holding {disk / 'me.db'} is full; nothing was recorded"
    assert results["take_full"]["code"] == 1 and full in results["take_full"]["err"]
    assert results["auto_backup"]["code"] == 1
    assert "is full; no backup was written" in results["auto_backup"]["err"]
    assert results["export_full"]["code"] == 1 and "is full" in results["export_full"]["err"]
    for name in ("take_full", "auto_backup", "export_full"):
        assert (
            len(results[name]["err"].splitlines()) == 1 and "Traceback" not in results[name]["err"]
        )
    # Nothing changed: the one dose, and no temporary or half-written file.
    assert [d["status"] for d in json.loads(results["log_after"]["out"])] == ["taken"]
    assert not [f for f in results["files"] if f.startswith(".") or f.endswith(".json")]
