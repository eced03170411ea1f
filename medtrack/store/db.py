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

from medtrack.errors import (
    DatabaseRefused,
    MedtrackError,
    NotFound,
    UsageError,
    disk_full_message,
)
from medtrack.store.migrations import APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION

BUSY_TIMEOUT_MS = 10_000
_SQLITE_MAGIC = b"SQLite format 3\x00"
# fullmatch, not "$": "$" would let a trailing newline through.
_PROFILE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "medtrack"


def resolve_path(db: str | None = None, profile: str | None = None) -> Path:
    """Explicit beats implicit: `--db`, then `--profile` (given on the command line, even
    empty), then MEDTRACK_DB, then MEDTRACK_PROFILE, then the default profile. An empty
    environment variable counts as unset; an empty option is refused."""
    if db is not None:
        if not db.strip():
            raise UsageError("--db needs a file name (e.g. --db ~/mum.db)")
        return Path(db).expanduser()
    if profile is not None:
        return profile_path(profile)
    from_environment = os.environ.get("MEDTRACK_DB")
    if from_environment:
        return Path(from_environment).expanduser()
    return profile_path(os.environ.get("MEDTRACK_PROFILE") or "default")


def profile_path(profile: str) -> Path:
    """The profile's file in the data folder; only simple names (no path, no dot first)."""
    if not profile:
        raise UsageError("--profile needs a name (e.g. --profile mum)")
    if not _PROFILE_RE.fullmatch(profile):
        # repr: a name with a newline or escape codes is shown, on one line, not obeyed.
        raise UsageError(
            f"profile name {profile!r} is not a simple name: use letters, digits, '.', '_' "
            "or '-', starting with a letter or digit (e.g. mum)"
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


# Below this much free space an I/O error while writing is taken for a full disk: SQLite
# names ENOSPC only where a write comes up short, not when it grows the -shm or syncs.
_FULL_BELOW_BYTES = 1 << 20


def disk_is_full(folder: Path) -> bool:
    """Whether the file system holding `folder` has (almost) no space left for us."""
    try:
        stats = os.statvfs(folder)
    except OSError:
        return False
    return stats.f_bavail * stats.f_frsize < _FULL_BELOW_BYTES


def translate_sqlite_error(exc: sqlite3.Error, path: Path) -> MedtrackError:
    """Name what went wrong in words a person can act on; nothing was written."""
    text = str(exc).lower()
    name = getattr(exc, "sqlite_errorname", "") or ""
    if "locked" in text or "busy" in text:
        return MedtrackError(f"{path} is busy (another medtrack is writing); try again")
    if (
        name == "SQLITE_FULL"
        or "full" in text
        or (name.startswith("SQLITE_IOERR") and disk_is_full(path.parent))
    ):
        return DatabaseRefused(disk_full_message(path))
    if name == "SQLITE_READONLY_DBMOVED":
        # The file this command opened was renamed away (a restore) before it wrote.
        return MedtrackError(
            f"{path} was replaced while this command ran; nothing was recorded, try again"
        )
    if "readonly" in text or "read-only" in text:
        return DatabaseRefused(f"{path} is read-only; nothing was recorded")
    if "malformed" in text or "not a database" in text or "corrupt" in text:
        return DatabaseRefused(
            f"{path} is damaged ({exc}); left unchanged. Restore a backup with 'medtrack restore'"
        )
    if "unable to open" in text:
        return DatabaseRefused(f"can't open {path}: {exc}")
    return DatabaseRefused(f"{path}: {exc}")


def _check_target(path: Path) -> bool:
    """Whether a database file is at `path`; a folder there, or no folder for a new file
    outside the data folder, is refused."""
    if path.is_dir():
        raise DatabaseRefused(f"{path} is a folder, not a database file")
    if path.exists():
        return True
    if path.parent == data_dir():
        _ensure_folder(path.parent)
    elif not path.parent.exists():
        raise DatabaseRefused(f"can't create {path}: folder {path.parent} does not exist")
    return False


def connect(path: Path) -> sqlite3.Connection:
    """Open (creating if needed) and migrate the database at `path`, for writing."""
    existed = _check_target(path)
    if existed:
        _check_header(path)
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
            # FULL: each commit's WAL frames reach the disk before `take` says "Recorded",
            # so an acknowledged dose survives a power cut (NORMAL may roll the last
            # commits back). Cost measured in BENCHMARKS.md.
            conn.execute("PRAGMA synchronous = FULL")
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


def _file_uri(path: Path, **query: str) -> str:
    from urllib.parse import quote, urlencode

    # Quoted: a '?' or '#' in a folder name would otherwise end the file name.
    return f"file:{quote(str(path.absolute()))}?{urlencode(query)}"


def _space_or_io(exc: sqlite3.Error) -> bool:
    name = getattr(exc, "sqlite_errorname", "") or ""
    return name == "SQLITE_FULL" or name.startswith(("SQLITE_IOERR", "SQLITE_CANTOPEN"))


def connect_read_only(path: Path) -> sqlite3.Connection:
    """A connection that cannot write (`query_only`), for commands that only read.

    No file is created: a database that does not exist yet reads as an empty record (a
    migrated in-memory database). The file is opened as writers open it, not with
    SQLite's `mode=ro`: a read-only connection leaves the -wal and -shm files behind when
    it closes, where the last ordinary one removes them (and a -wal beside a file is what
    tells a truncated file from one being checkpointed, see _check_header). On a full
    disk SQLite cannot size the shared-memory index a WAL reader needs; the reader then
    falls back to exclusive locking mode, where that index lives in the process's memory
    and no file grows.
    """
    if not _check_target(path):
        conn = sqlite3.connect(":memory:", isolation_level=None)
        conn.row_factory = sqlite3.Row
        _migrate(conn, 0)
        conn.execute("PRAGMA query_only = ON")
        return conn
    _check_header(path)
    if path.stat().st_size == 0:
        return connect(path)  # an empty file made for the database: it becomes one
    try:
        conn = _open_read_only(path)
    except sqlite3.OperationalError as exc:
        if not _space_or_io(exc):
            raise translate_sqlite_error(exc, path) from exc
        try:
            conn = _open_read_only(path, exclusive=True)
        except sqlite3.Error:
            raise translate_sqlite_error(exc, path) from exc
    except sqlite3.Error as exc:
        raise translate_sqlite_error(exc, path) from exc
    if conn.execute("PRAGMA user_version").fetchone()[0] < SCHEMA_VERSION:
        conn.close()
        return connect(path)  # an older file is migrated once, by whichever command comes
    return conn


def _open_read_only(path: Path, *, exclusive: bool = False) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
    try:
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        if exclusive:
            conn.execute("PRAGMA locking_mode = EXCLUSIVE")
        conn.execute("PRAGMA query_only = ON")
        _check_identity(conn, path)
    except BaseException:
        conn.close()
        raise
    return conn


@contextmanager
def unit_of_work(
    path: Path, *, write: bool = False, create: bool = True
) -> Iterator[sqlite3.Connection]:
    """One command's work: a single transaction, committed on success, else rolled back.

    Writers take the lock up front (BEGIN IMMEDIATE) so that a read that turns into
    a write can never fail half-way with SQLITE_BUSY under concurrency. Readers open
    the file read-only. A first write builds the database beside its path and puts it
    there only when the work succeeded: a command that fails creates no file. With
    `create=False` (housekeeping such as remind's log) a missing file is NotFound.
    """
    if write and not _check_target(path):
        if not create:
            raise NotFound(f"no database at {path}; nothing was recorded")
        with _first_write(path) as conn:
            yield conn
        return
    conn = connect(path) if write else connect_read_only(path)
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


# Temporary files medtrack writes beside a database or a backup carry the writer's pid:
# `.NAME.new-PID` (a first write), `.NAME.restore-PID` (a restore being staged),
# `.NAME.tmp-PID` (a backup being written), each perhaps with SQLite's side files.
_TEMPORARY_NAME = re.compile(
    r"\.(?P<name>.+)\.(?P<kind>new|restore|tmp)-(?P<pid>[0-9]+)(?P<side>-wal|-shm|-journal)?"
)


def temporary_path(path: Path, kind: str) -> Path:
    return path.with_name(f".{path.name}.{kind}-{os.getpid()}")


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def remove_stale_temporaries(folder: Path) -> list[Path]:
    """Delete the temporary files left in `folder` by medtrack processes that died (a kill
    in the middle of a backup, restore or first write); returns what was deleted."""
    removed = []
    try:
        names = [entry.name for entry in os.scandir(folder) if entry.is_file()]
    except OSError:
        return []
    for name in names:
        match = _TEMPORARY_NAME.fullmatch(name)
        if match and not _process_alive(int(match["pid"])):
            try:
                (folder / name).unlink()
            except FileNotFoundError:
                continue
            removed.append(folder / name)
    return removed


def fsync_path(path: Path) -> None:
    """Flush a file's (or a folder's: its entries') data to the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def unlink_with_side_files(path: Path) -> None:
    for suffix in ("", "-journal", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


@contextmanager
def _first_write(path: Path) -> Iterator[sqlite3.Connection]:
    """The first write to a profile: the database is made and written beside `path`, and
    linked into place only after the work committed. A link never replaces a file, so a
    database another process created meanwhile is never overwritten."""
    remove_stale_temporaries(path.parent)
    temporary = temporary_path(path, "new")
    unlink_with_side_files(temporary)
    try:
        try:
            conn = connect(temporary)
        except MedtrackError as exc:
            # Name the file the person asked for, not the temporary one.
            exc.message = exc.message.replace(str(temporary), str(path))
            raise
        try:
            conn.execute("BEGIN IMMEDIATE")
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        finally:
            conn.close()  # the last connection: the WAL is checkpointed into the file
        fsync_path(temporary)
        try:
            os.link(temporary, path)
        except FileExistsError:
            raise MedtrackError(
                f"{path} was created by another medtrack meanwhile; nothing was recorded, try again"
            ) from None
        except OSError:
            # A file system without hard links: the same check, a moment apart.
            if path.exists():
                raise MedtrackError(
                    f"{path} was created by another medtrack meanwhile; nothing was "
                    "recorded, try again"
                ) from None
            os.replace(temporary, path)
        fsync_path(path.parent)
    except sqlite3.Error as exc:
        raise translate_sqlite_error(exc, path) from exc
    finally:
        unlink_with_side_files(temporary)


def active_names_read_only(path: Path) -> list[str]:
    """Names of active medications, for shell completion: read-only, no migration, and
    nothing created when the file does not exist yet."""
    return _names_read_only(
        path, "SELECT name FROM medications WHERE stopped_at IS NULL ORDER BY name COLLATE NOCASE"
    )


def symptom_names_read_only(path: Path) -> list[str]:
    """Symptom names already recorded, for shell completion (read-only, as above)."""
    return _names_read_only(path, "SELECT DISTINCT name FROM symptoms ORDER BY name")


def _names_read_only(path: Path, sql: str) -> list[str]:
    if not path.exists():
        return []
    conn = sqlite3.connect(_file_uri(path, mode="ro"), uri=True, timeout=1)
    try:
        rows = conn.execute(sql).fetchall()
    finally:
        conn.close()
    return [row[0] for row in rows]


def discard_writes(conn: sqlite3.Connection) -> None:
    """Drop everything this unit of work wrote so far and go on in a fresh transaction
    (`take` asks its questions first and then records all or nothing)."""
    conn.execute("ROLLBACK")
    conn.execute("BEGIN")
