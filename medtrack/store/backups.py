"""Backups through SQLite's backup API, their rotation, and restore by rename.

Every file written here appears under its final name whole or not at all: it is
written beside that name under a temporary one carrying the writer's pid
(`store.db.temporary_path`), flushed to the disk, and then linked or renamed into
place. A kill in between leaves only that temporary file, which the next backup
or restore deletes once its process is gone.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import datetime
from pathlib import Path

from medtrack.errors import Conflict, DatabaseRefused, MedtrackError, NotFound, disk_full_message
from medtrack.store import db as store_db

# The new backup and the nine made before it.
BACKUP_KEEP = 10
# `<profile>-<UTC time>-<number>.db`; the number counts up for each backup of the profile
# and orders them, whatever the clock said (several in one second, a clock set back).
# Names from before the number (`<profile>-<time>.db`, `-2` within one second) count as
# number 1 (or their suffix), older than any numbered one.
_BACKUP_NAME = re.compile(r"(?P<stem>.+)-(?P<stamp>[0-9]{8}T[0-9]{6}Z)(?:-(?P<n>[0-9]+))?\.db")


@contextmanager
def _open_plain(path: Path) -> Iterator[sqlite3.Connection]:
    """A connection without medtrack's migrations, for copies and candidates."""
    old = os.umask(0o077)
    try:
        conn = sqlite3.connect(path, isolation_level=None, timeout=10)
    finally:
        os.umask(old)
    conn.row_factory = sqlite3.Row
    with closing(conn):
        conn.execute("PRAGMA busy_timeout = 10000")
        yield conn


def _write_failed(exc: Exception, target: Path, outcome: str) -> MedtrackError:
    full = getattr(exc, "errno", None) == errno.ENOSPC or (
        isinstance(exc, sqlite3.Error) and "full" in str(exc).lower()
    )
    if full or store_db.disk_is_full(target.parent):
        return MedtrackError(disk_full_message(target, outcome))
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return MedtrackError(f"can't write {target}: {reason}; {outcome}")


def _link_no_clobber(source: Path, target: Path) -> None:
    """Give `source` the name `target` unless a file has it (FileExistsError)."""
    try:
        os.link(source, target)
    except FileExistsError:
        raise
    except OSError:
        # A file system without hard links: the same check, a moment apart.
        if target.exists():
            raise FileExistsError(errno.EEXIST, "exists", str(target)) from None
        os.replace(source, target)


def _copy_database(source: sqlite3.Connection, target: Path) -> None:
    """A consistent copy through SQLite's online backup API (readers never block the
    writers of a WAL database, and the copy is one snapshot), as a single 0600 file that
    appears at `target` only when whole and on the disk; an existing file is never
    replaced (FileExistsError)."""
    from medtrack.store.transfer import integrity_problems

    temporary = store_db.temporary_path(target, "tmp")
    store_db.unlink_with_side_files(temporary)
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
        with _open_plain(temporary) as dest:
            source.backup(dest)
            # A backup must be one self-contained file: no -wal beside it.
            dest.execute("PRAGMA journal_mode = DELETE")
            problems = integrity_problems(dest)
        if problems:
            raise DatabaseRefused(f"the copy failed its integrity check: {problems[0]}")
        store_db.fsync_path(temporary)
        _link_no_clobber(temporary, target)
        store_db.fsync_path(target.parent)
    except (sqlite3.Error, OSError) as exc:
        if isinstance(exc, FileExistsError):
            raise
        raise _write_failed(exc, target, "no backup was written") from None
    finally:
        store_db.unlink_with_side_files(temporary)


def backup(conn: sqlite3.Connection, target: Path) -> Path:
    """Copy the open database to `target` (a new file; an existing one is never replaced)."""
    if target.is_dir():
        raise Conflict(f"{target} is a folder; name a new file")
    if not target.parent.is_dir():
        raise NotFound(f"can't write {target}: folder {target.parent} does not exist")
    store_db.remove_stale_temporaries(target.parent)
    if os.path.lexists(target):  # a link (even dangling) or a device counts: never written
        raise Conflict(f"{target} already exists; name a new file")
    try:
        _copy_database(conn, target)
    except FileExistsError:
        raise Conflict(f"{target} already exists; name a new file") from None
    return target


def backup_folder(db_path: Path) -> Path:
    """Automatic backups live beside the database, in `backups/` (0700)."""
    folder = db_path.parent / "backups"
    if not folder.exists():
        folder.mkdir(mode=0o700)
        folder.chmod(0o700)
    return folder


def _number(path: Path) -> tuple[int, str]:
    match = _BACKUP_NAME.fullmatch(path.name)
    assert match is not None
    return int(match["n"] or 1), match["stamp"]


def automatic_backups(db_path: Path) -> list[Path]:
    """This profile's automatic backups, oldest first (by number, then time)."""
    folder = db_path.parent / "backups"
    if not folder.is_dir():
        return []
    found = []
    for path in folder.iterdir():
        match = _BACKUP_NAME.fullmatch(path.name)
        if match and match["stem"] == db_path.stem:
            found.append(path)
    return sorted(found, key=_number)


def automatic_backup(conn: sqlite3.Connection, db_path: Path, now: datetime) -> Path:
    """Back up into the backups folder under the next number; returns the new file."""
    folder = backup_folder(db_path)
    store_db.remove_stale_temporaries(folder)
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    existing = automatic_backups(db_path)
    number = _number(existing[-1])[0] + 1 if existing else 1
    while True:
        target = folder / f"{db_path.stem}-{stamp}-{number}.db"
        try:
            _copy_database(conn, target)
        except FileExistsError:
            number += 1  # another medtrack took this number a moment ago
            continue
        return target


def prune_backups(db_path: Path, new: Path, keep: int = BACKUP_KEEP) -> list[Path]:
    """Delete this profile's automatic backups but `new` and the `keep - 1` newest others;
    returns what was deleted. The backup just made is never among them."""
    others = [path for path in automatic_backups(db_path) if path != new]
    old = others[: max(len(others) - (keep - 1), 0)]
    for path in old:
        path.unlink(missing_ok=True)
    return old


# --- restore ---------------------------------------------------------------------------------


def restore(candidate: Path, db_path: Path, *, now: datetime) -> Path | None:
    """Replace the database at `db_path` with the backup `candidate`, after checking it.

    The candidate (with a -wal or -journal beside it) is copied into a private file
    beside the database and opened there through SQLite, so that commits living only in
    its WAL are included and the candidate itself is never touched. That copy is checked
    like `medtrack check` checks a database, migrated, flushed to the disk, and only then
    renamed over `db_path`: at every instant the path holds either the old database or
    the new one. The replaced file is kept as `<name>.before-restore-<time>.db`, which
    is returned (None when there was nothing to keep).
    """
    if not candidate.is_file():
        raise NotFound(f"no backup file at {candidate}")
    if db_path.exists() and candidate.resolve() == db_path.resolve():
        raise Conflict(f"{candidate} is the database in use; name a backup file")
    if candidate.stat().st_size == 0:
        raise DatabaseRefused(f"{candidate} is empty, not a medtrack backup; nothing restored")
    store_db._check_header(candidate)
    if not db_path.parent.is_dir():
        raise NotFound(f"folder {db_path.parent} does not exist")
    store_db.remove_stale_temporaries(db_path.parent)
    staged = store_db.temporary_path(db_path, "restore")
    store_db.unlink_with_side_files(staged)
    try:
        try:
            _stage(candidate, staged)
        except OSError as exc:
            raise _write_failed(exc, db_path, "nothing restored") from None
        _check_staged(staged, candidate, now)
        return _swap(staged, db_path, now)
    finally:
        store_db.unlink_with_side_files(staged)


def _signature(path: Path) -> tuple[int, int, int] | None:
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return stat.st_ino, stat.st_size, stat.st_mtime_ns


def _stage(candidate: Path, staged: Path) -> None:
    """Copy the candidate and its side files (0600); refuse one that changes meanwhile."""
    sides = ("", "-wal", "-journal")
    for _attempt in range(3):
        before = [_signature(Path(f"{candidate}{side}")) for side in sides]
        for side, signature in zip(sides, before, strict=True):
            target = Path(f"{staged}{side}")
            target.unlink(missing_ok=True)
            if signature is None:
                continue
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with open(f"{candidate}{side}", "rb") as source, os.fdopen(fd, "wb") as copy:
                shutil.copyfileobj(source, copy, 1 << 20)
        if [_signature(Path(f"{candidate}{side}")) for side in sides] == before:
            return
    raise Conflict(f"{candidate} kept changing while it was read (in use?); nothing restored")


def _check_staged(staged: Path, candidate: Path, now: datetime) -> None:
    """Refuse a candidate that is not a whole medtrack database that `check` accepts (its
    values by the one validation of import and the CLI included); bring an older one to
    this schema. The staged copy is left in WAL mode, closed."""
    from medtrack.store.migrations import APPLICATION_ID, SCHEMA_VERSION
    from medtrack.store.transfer import check, integrity_problems

    refused = "nothing restored"
    with _open_plain(staged) as source:
        try:
            app_id = int(source.execute("PRAGMA application_id").fetchone()[0])
            version = int(source.execute("PRAGMA user_version").fetchone()[0])
            problems = integrity_problems(source)
        except sqlite3.DatabaseError as exc:
            raise DatabaseRefused(f"{candidate} is damaged ({exc}); {refused}") from None
    if app_id != APPLICATION_ID:
        raise DatabaseRefused(f"{candidate} is not a medtrack database; {refused}")
    if version > SCHEMA_VERSION:
        raise DatabaseRefused(
            f"{candidate} was written by a newer medtrack (schema {version}, this one "
            f"knows {SCHEMA_VERSION}); {refused}"
        )
    if problems:
        raise DatabaseRefused(f"{candidate} fails its integrity check ({problems[0]}); {refused}")
    try:
        conn = store_db.connect(staged)  # migrates an older backup
    except MedtrackError as exc:
        raise DatabaseRefused(
            f"{candidate} can't be brought up to date ({exc}); {refused}"
        ) from None
    with closing(conn):
        try:
            report = check(conn, staged, SCHEMA_VERSION, now=now)
            conn.execute("PRAGMA journal_mode = WAL")
        except sqlite3.Error as exc:
            raise store_db.translate_sqlite_error(exc, staged) from exc
    # Closing the last connection checkpointed the WAL into the file: one whole file.
    if not report.ok:
        raise DatabaseRefused(
            f"{candidate} fails medtrack's checks ({report.problems[0]}); {refused}"
        )
    store_db.fsync_path(staged)


def _kept_name(db_path: Path, now: datetime) -> Path:
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    kept = db_path.with_name(f"{db_path.stem}.before-restore-{stamp}.db")
    n = 1
    while kept.exists():
        n += 1
        kept = db_path.with_name(f"{db_path.stem}.before-restore-{stamp}-{n}.db")
    return kept


def _swap(staged: Path, db_path: Path, now: datetime) -> Path | None:
    """Rename the checked copy over `db_path`, keeping the file it replaces."""
    if not db_path.exists() or db_path.stat().st_size == 0:
        for side in ("-wal", "-journal"):
            if Path(f"{db_path}{side}").exists():
                # Side files with no database: kept, in case they matter to someone.
                os.replace(f"{db_path}{side}", f"{_kept_name(db_path, now)}{side}")
        Path(f"{db_path}-shm").unlink(missing_ok=True)
        os.replace(staged, db_path)
        store_db.fsync_path(db_path.parent)
        return None
    kept = _kept_name(db_path, now)
    try:
        current = store_db.connect(db_path)
    except DatabaseRefused:
        current = None
    if current is None:
        # A file medtrack refuses (damaged, not ours) is kept as it is, bytes intact: a
        # second name first, its side files beside that name, then the new file's rename.
        _link_or_copy(db_path, kept)
        for side in ("-wal", "-shm", "-journal"):
            if Path(f"{db_path}{side}").exists():
                os.replace(f"{db_path}{side}", f"{kept}{side}")
        os.replace(staged, db_path)
        store_db.fsync_path(db_path.parent)
        return kept
    with closing(current):
        try:
            # A single file with no WAL (this needs every other connection closed), then
            # locked against every other connection until the new file has the name: no
            # commit can land in the old file's WAL, which would sit beside the new one.
            mode = current.execute("PRAGMA journal_mode = DELETE").fetchone()[0]
            if mode != "delete":
                raise Conflict(f"{db_path} is in use by another medtrack; try again")
            current.execute("BEGIN EXCLUSIVE")
            current.execute("SELECT count(*) FROM sqlite_master").fetchone()
            _link_or_copy(db_path, kept)
            os.replace(staged, db_path)
            store_db.fsync_path(db_path.parent)
            current.execute("ROLLBACK")
        except sqlite3.Error as exc:
            raise store_db.translate_sqlite_error(exc, db_path) from exc
    return kept


def _link_or_copy(db_path: Path, kept: Path) -> None:
    """A second name for the file at `db_path` (the same bytes; a copy where the file
    system has no hard links)."""
    try:
        os.link(db_path, kept)
    except FileExistsError:
        raise
    except OSError:
        fd = os.open(kept, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with open(db_path, "rb") as source, os.fdopen(fd, "wb") as copy:
            shutil.copyfileobj(source, copy, 1 << 20)
            copy.flush()
            os.fsync(copy.fileno())
