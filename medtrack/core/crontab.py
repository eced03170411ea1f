"""The crontab text transformation behind `medtrack cron install|show|remove`.

Pure string functions: the CLI reads the text with `crontab -l` and writes it back with
`crontab -`. Our line is recognised by a marker comment at its end, keyed by the
database it reminds about, so one person's profile and a parent's can each have a line
and neither install nor remove ever touches a line that is not ours (including other
lines that merely mention medtrack).

A crontab line ends with a newline (cron may ignore a last line without one), so a text
without a final newline gets one when we write it; otherwise every other byte is kept.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence

from medtrack.errors import BadValue

MARKER = "# medtrack-remind"
EVERY_MINUTES = (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60)
_KEY_RE = re.compile(r"^[A-Za-z0-9_.:/=+-]+$")


def target_key(profile: str | None, db_path: str | None) -> str:
    """Which database a line reminds about: ``default``, ``profile=mum``, or ``db=`` and a
    short hash of the absolute path (a path may hold characters a marker can't)."""
    import hashlib

    if db_path is not None:
        return "db=" + hashlib.sha256(db_path.encode()).hexdigest()[:12]
    if profile and profile != "default":
        return f"profile={profile}"
    return "default"


def marker(key: str) -> str:
    """The comment that ends our line for `key` (see `target_key`)."""
    if not _KEY_RE.match(key):
        raise ValueError(f"crontab marker key {key!r} has characters cron lines can't carry")
    return f"{MARKER} [{key}]"


def schedule_field(every_minutes: int) -> str:
    """The five time fields for every N minutes; N divides 60 so the rhythm never jumps
    at the top of the hour (``*/7`` would run at :56 and again at :00)."""
    if every_minutes not in EVERY_MINUTES:
        allowed = ", ".join(f"{m}m" for m in EVERY_MINUTES[:-1]) + " or 1h"
        raise BadValue(f"--every takes a whole number of minutes that divides an hour: {allowed}")
    if every_minutes == 1:
        return "* * * * *"
    if every_minutes == 60:
        return "0 * * * *"
    return f"*/{every_minutes} * * * *"


def cron_line(every_minutes: int, argv: Sequence[str], key: str) -> str:
    """One crontab line running `argv` every N minutes, ending with our marker.

    Words are shell-quoted (cron runs the command with /bin/sh) and `%` is escaped,
    because cron turns an unescaped `%` into a newline. The marker is a shell comment.
    """
    command = " ".join(shlex.quote(word) for word in argv).replace("%", "\\%")
    return f"{schedule_field(every_minutes)} {command} {marker(key)}"


def _is_ours(line: str, key: str | None) -> bool:
    stripped = line.rstrip()
    # A line the person commented out is theirs now: never rewritten, never removed.
    if stripped.lstrip().startswith("#"):
        return False
    if key is None:
        return re.search(" " + re.escape(MARKER) + r" \[[^\]]+\]$", stripped) is not None
    return stripped.endswith(" " + marker(key))


def _lines(text: str) -> list[str]:
    """The lines of `text`, each with its own newline (a missing final one added)."""
    if text and not text.endswith("\n"):
        text += "\n"
    return text.splitlines(keepends=True)


def find(text: str, key: str | None = None) -> list[str]:
    """Our lines in `text` (for `key`, or for any key), without their newline."""
    return [line.rstrip("\n") for line in _lines(text) if _is_ours(line, key)]


def install(text: str, line: str, key: str) -> str:
    """`text` with `line` as our one line for `key`: it replaces our earlier line where
    that was (so the order of the file is kept), or is appended at the end."""
    lines = _lines(text)
    out: list[str] = []
    placed = False
    for existing in lines:
        if _is_ours(existing, key):
            if not placed:
                out.append(line + "\n")
                placed = True
            continue
        out.append(existing)
    if not placed:
        out.append(line + "\n")
    return "".join(out)


def remove(text: str, key: str) -> str:
    """`text` without our line(s) for `key`; every other line kept as it was."""
    return "".join(line for line in _lines(text) if not _is_ours(line, key))
