"""Opening the person's SQLite file: where it lives, permissions, pragmas, migrations,
and refusing any file we must not touch.

Plain `sqlite3` does the everyday work so that `take` and `remind` start fast;
`sqlite_utils` is imported only when a migration has to run.
"""

from __future__ import annotations

import os
import re
import sqlite3
import struct
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from medtrack.errors import DatabaseRefused, MedtrackError, UsageError
from medtrack.store.migrations import APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION

BUSY_TIMEOUT_MS = 10_000
_SQLITE_MAGIC = b"SQLite format 3\x00"
_PROFILE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "medtrack"


def resolve_path(db: str | None = None, profile: str | None = None) -> Path:
    """`--db` / MEDTRACK_DB win; otherwise the profile's file in the data folder."""
    db = db or os.environ.get("MEDTRACK_DB") or None
    if db:
        return Path(db).expanduser()
    profile = profile or os.environ.get("MEDTRACK_PROFILE") or "default"
    if not _PROFILE_RE.match(profile):
        raise UsageError(
            f"profile name '{profile}' must be letters, digits, '.', '_' or '-' (e.g. mum)"
        )
    return data_dir() / f"{profile}.db"


def _ensure_folder(folder: Path) -> None:
    from medtrack.files import make_private_folders

    # The folder and every parent medtrack makes on the way (~/.local/share, say) are
    # 0700 whatever the umask: another user must not be able to swap what is inside.
    make_private_folders(folder)


def _read_header(path: Path) -> tuple[int, bytes]:
    size = path.stat().st_size
    with path.open("rb") as handle:
        return size, handle.read(100)


def _short_by(size: int, header: bytes) -> int | None:
    """The bytes the header says the file should have, when the file is shorter."""
    page_size = struct.unpack(">H", header[16:18])[0]
    page_size = 65536 if page_size == 1 else page_size
    change_counter, pages = struct.unpack(">II", header[24:32])
    valid_for = struct.unpack(">I", header[92:96])[0]
    # The in-header page count is trustworthy only when valid_for matches the counter.
    if valid_for == change_counter and pages and size < pages * page_size:
        return pages * page_size
    return None


def _check_header(path: Path) -> None:
    """Refuse files that are not SQLite, or are visibly truncated, before SQLite opens them."""
    size, header = _read_header(path)
    if size == 0:
        return
    if len(header) < 100 or not header.startswith(_SQLITE_MAGIC):
        raise DatabaseRefused(f"{path} is not a medtrack database (not SQLite); left unchanged")
    # A checkpoint in another process writes page 1 (with the new page count) before the
    # pages that grow the file, and may finish and remove its -wal a moment later: a short
    # file is damage only when it stays short, with no other connection's -wal or -shm.
    for attempt in range(4):
        expected = _short_by(size, header)
        if expected is None:
            return
        for suffix in ("-wal", "-shm"):
            if path.with_name(path.name + suffix).exists():
                return
        if attempt < 3:
            time.sleep(0.05)
            size, header = _read_header(path)
    raise DatabaseRefused(
        f"{path} is damaged (truncated: {size} of {expected} bytes); left unchanged. "
        "Restore a backup with 'medtrack restore'"
    )


def _pragma(conn: sqlite3.Connection, name: str) -> int:
    return int(conn.execute(f"PRAGMA {name}").fetchone()[0])


def _check_identity(conn: sqlite3.Connection, path: Path) -> int:
    """Return the schema version of a file we may use; refuse anything else."""
    version = _pragma(conn, "user_version")
    app_id = _pragma(conn, "application_id")
    tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
    if app_id not in (0, APPLICATION_ID) or (app_id == 0 and tables):
        raise DatabaseRefused(
            f"{path} is a SQLite file but not a medtrack database; left unchanged"
        )
    if version > SCHEMA_VERSION:
        raise DatabaseRefused(
            f"{path} was written by a newer medtrack (schema {version}, this one knows "
            f"{SCHEMA_VERSION}); upgrade medtrack. The file was left unchanged"
        )
    return version


def _migrate(conn: sqlite3.Connection, current: int) -> None:
    import sqlite_utils

    db = sqlite_utils.Database(conn)
    for number, step in enumerate(MIGRATIONS[current:], start=current + 1):
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Re-read inside the write lock: another process may have migrated meanwhile.
            if _pragma(conn, "user_version") >= number:
                conn.execute("COMMIT")
                continue
            step(db)
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            conn.execute(f"PRAGMA user_version = {number}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise


def translate_sqlite_error(exc: sqlite3.Error, path: Path) -> MedtrackError:
    """Name what went wrong in words a person can act on; nothing was written."""
    text = str(exc).lower()
    if "locked" in text or "busy" in text:
        return MedtrackError(f"{path} is busy (another medtrack is writing); try again")
    if "readonly" in text or "read-only" in text:
        return DatabaseRefused(f"{path} is read-only; nothing was recorded")
    if "full" in text:
        return DatabaseRefused(f"{path}: the disk or database is full; nothing was recorded")
    if "malformed" in text or "not a database" in text or "corrupt" in text:
        return DatabaseRefused(
            f"{path} is damaged ({exc}); left unchanged. Restore a backup with 'medtrack restore'"
        )
    if "unable to open" in text:
        return DatabaseRefused(f"can't open {path}: {exc}")
    return DatabaseRefused(f"{path}: {exc}")


def connect(path: Path) -> sqlite3.Connection:
    """Open (creating if needed) and migrate the database at `path`."""
    existed = path.exists()
    if existed and path.is_dir():
        raise DatabaseRefused(f"{path} is a folder, not a database file")
    if existed:
        _check_header(path)
    else:
        if path.parent == data_dir():
            _ensure_folder(path.parent)
        elif not path.parent.exists():
            raise DatabaseRefused(f"can't create {path}: folder {path.parent} does not exist")
    old_umask = os.umask(0o077)
    try:
        conn = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
        try:
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            version = _check_identity(conn, path)
            if version < SCHEMA_VERSION:
                conn.execute("PRAGMA journal_mode = WAL")
                _migrate(conn, version)
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA synchronous = NORMAL")
        except BaseException:
            conn.close()
            raise
    except sqlite3.Error as exc:
        raise translate_sqlite_error(exc, path) from exc
    finally:
        os.umask(old_umask)
    if not existed or version == 0:
        # A new database, or an empty file made for it (e.g. by touch): health data, 0600.
        path.chmod(0o600)
    return conn


@contextmanager
def unit_of_work(path: Path, *, write: bool = False) -> Iterator[sqlite3.Connection]:
    """One command's work: a single transaction, committed on success, else rolled back.

    Writers take the lock up front (BEGIN IMMEDIATE) so that a read that turns into
    a write can never fail half-way with SQLITE_BUSY under concurrency.
    """
    conn = connect(path)
    try:
        try:
            conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    except sqlite3.Error as exc:
        raise translate_sqlite_error(exc, path) from exc
    finally:
        conn.close()


def active_names_read_only(path: Path) -> list[str]:
    """Names of active medications, for shell completion: read-only, no migration, and
    nothing created when the file does not exist yet."""
    if not path.exists():
        return []
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1)
    try:
        rows = conn.execute(
            "SELECT name FROM medications WHERE stopped_at IS NULL ORDER BY name COLLATE NOCASE"
        ).fetchall()
    finally:
        conn.close()
    return [row[0] for row in rows]


def discard_writes(conn: sqlite3.Connection) -> None:
    """Drop everything this unit of work wrote so far and go on in a fresh transaction
    (`take` asks its questions first and then records all or nothing)."""
    conn.execute("ROLLBACK")
    conn.execute("BEGIN")
