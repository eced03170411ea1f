"""Every file and folder medtrack writes outside its database goes through here.

Health data, so: a new file is 0600 and a new folder 0700 whatever the umask (parents
included); a file is written whole or not at all (a temporary file in the same folder,
renamed over the target), never through a symbolic link, and never over anything but a
regular file (a device such as /dev/stdout, a pipe, a socket or a folder is refused; `-o -`
names standard output explicitly); an existing file keeps its permissions, which are not
medtrack's to change. A folder medtrack fills with several files must be yours and closed
to others, or someone else could swap a file in it after it is written.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from collections.abc import Iterable
from pathlib import Path

from medtrack.errors import BadValue, MedtrackError, NotFound

FILE_MODE = 0o600
FOLDER_MODE = 0o700


def make_private_folders(folder: Path) -> None:
    """Create `folder` and every missing parent, each 0700 whatever the umask (mkdir's
    mode is filtered by the umask, and Path.mkdir(parents=True) gives parents the
    default mode); folders that exist are left as they are."""
    missing: list[Path] = []
    current = folder
    while not os.path.lexists(current):
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for path in reversed(missing):
        try:
            os.mkdir(path, FOLDER_MODE)
        except FileExistsError:
            if not path.is_dir():
                raise
            continue  # made by another process meanwhile: not ours to chmod
        except OSError as exc:
            raise MedtrackError(f"can't create folder {path}: {exc.strerror or exc}") from None
        os.chmod(path, FOLDER_MODE)


def output_folder(path: Path) -> Path:
    """A folder to write several files into (CSV export, demo reports): created 0700 when
    absent (its parent must exist); an existing one must be a real folder, not a link,
    owned by you, that no one else can write in."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        parent = path.parent
        if not parent.is_dir():
            raise NotFound(f"can't create {path}: folder {parent} does not exist") from None
        make_private_folders(path)
        return path
    if stat.S_ISLNK(info.st_mode):
        raise BadValue(f"{path} is a symbolic link; name the folder itself")
    if not stat.S_ISDIR(info.st_mode):
        raise BadValue(f"{path} is not a folder; name a folder for the files")
    if info.st_uid != os.geteuid():
        raise BadValue(f"{path} belongs to another user; medtrack writes only in your folders")
    if _others_can_write(info):
        raise BadValue(
            f"others can write in {path} (mode {stat.S_IMODE(info.st_mode):04o}); "
            "use a folder only you can write in"
        )
    return path


def _others_can_write(info: os.stat_result) -> bool:
    mode = info.st_mode
    if mode & stat.S_IWOTH:
        return True
    # Group-writable is fine for a user-private group (the Debian/Ubuntu default), not
    # for a group others belong to.
    return bool(mode & stat.S_IWGRP) and info.st_gid != os.getegid()


def check_target(path: Path) -> os.stat_result | None:
    """What is at `path` now, if medtrack may write a file there: None when nothing is,
    the regular file's status otherwise; a link, folder, device, pipe or socket is
    refused, and so is a missing folder."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        parent = path.parent
        if not parent.is_dir():
            raise NotFound(f"can't write {path}: folder {parent} does not exist") from None
        return None
    except OSError as exc:
        raise MedtrackError(f"can't write {path}: {exc.strerror or exc}") from None
    mode = info.st_mode
    if stat.S_ISLNK(mode):
        raise BadValue(
            f"{path} is a symbolic link; medtrack does not write through links "
            "(name the file itself, or -o - for standard output)"
        )
    if stat.S_ISDIR(mode):
        raise BadValue(f"{path} is a folder; name a file")
    if not stat.S_ISREG(mode):
        raise BadValue(
            f"{path} is not a regular file (a device, pipe or socket); use -o - for standard output"
        )
    return info


def write_private(path: Path, content: str | bytes | Iterable[str]) -> None:
    """Write `content` (bytes, text, or pieces of text written as they come, as UTF-8)
    to `path`, whole or not at all. A new file is 0600; an existing regular file keeps
    its permissions; anything else at `path` is refused (see `check_target`)."""
    existing = check_target(path)
    mode = FILE_MODE if existing is None else stat.S_IMODE(existing.st_mode)
    if existing is not None and not os.access(path, os.W_OK):
        # Renaming over it would succeed; a file someone made read-only stays as it is.
        raise MedtrackError(f"can't write {path}: permission denied")
    folder = path.parent
    try:
        # mkstemp: a new name (O_EXCL, so never a link planted there), mode 0600.
        fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise MedtrackError(f"can't write {path}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            if isinstance(content, bytes):
                handle.write(content)
            elif isinstance(content, str):
                handle.write(content.encode("utf-8"))
            else:
                for piece in content:
                    handle.write(piece.encode("utf-8"))
            handle.flush()
            os.fchmod(handle.fileno(), mode)
            os.fsync(handle.fileno())
        # rename never follows a link at the target: it replaces the name itself.
        os.replace(temporary, path)
    except OSError as exc:
        _discard(temporary)
        if exc.errno == errno.ENOSPC:
            from medtrack.errors import disk_full_message

            raise MedtrackError(disk_full_message(path, f"{path} was not written")) from None
        raise MedtrackError(f"can't write {path}: {exc.strerror or exc}") from None
    except BaseException:
        _discard(temporary)
        raise


def _discard(temporary: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(temporary)
