"""The crontab text transformation behind `medtrack cron install|show|remove`.

Pure string functions: the CLI reads the text with `crontab -l` and writes it back with
`crontab -`. Our line is recognised by a marker comment at its end, keyed by the
database it reminds about, so one person's profile and a parent's can each have a line
and neither install nor remove ever touches a line that is not ours (including other
lines that merely mention medtrack).

A crontab line ends with a newline (cron may ignore a last line without one), so a text
without a final newline gets one when we write it; otherwise every other byte is kept.

The systemd user units are built here too. Both formats are built only from words that
cannot break out of them (issue 17): a word holding a newline or another control
character is refused (`check_words`), since no quoting keeps a newline from ending a
crontab line or a unit file directive; every other character is quoted as each format
requires (sh plus cron's `%` for crontab, systemd's own rules for ExecStart).
"""

from __future__ import annotations

import re
import shlex
import unicodedata
from collections.abc import Mapping, Sequence

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


_ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _visible(text: str) -> str:
    return "".join(c if c.isprintable() or c == " " else repr(c)[1:-1] for c in text)


def check_words(words: Sequence[str], what: str = "a word of the command") -> None:
    """Refuse any word a crontab line or a unit file cannot carry: a control character
    (newline, carriage return, tab, escape...), a line or paragraph separator, or an
    undecodable byte of a non-UTF-8 path (a lone surrogate)."""
    for word in words:
        if any(unicodedata.category(c) in ("Cc", "Zl", "Zp", "Cs") for c in word):
            raise BadValue(
                f"{what} '{_visible(word)}' holds a newline or control character, which a "
                "crontab line or systemd unit can't carry; use a path without one"
            )


def _check_env(env: Mapping[str, str]) -> None:
    for name, value in env.items():
        if not _ENV_NAME_RE.match(name):
            raise ValueError(f"environment variable name {name!r} is not a shell name")
        check_words([value], f"{name}")


def cron_command(argv: Sequence[str], env: Mapping[str, str] | None = None) -> str:
    """The command part of a crontab line: `NAME=value` assignments then `argv`.

    Words are shell-quoted (cron runs the command with /bin/sh) and `%` is escaped,
    because cron turns an unescaped `%` into a newline (and what follows into stdin).
    """
    check_words(argv)
    env = env or {}
    _check_env(env)
    assignments = [f"{name}={shlex.quote(value)}" for name, value in env.items()]
    words = [*assignments, *(shlex.quote(word) for word in argv)]
    return " ".join(words).replace("%", "\\%")


def cron_line(
    every_minutes: int, argv: Sequence[str], key: str, env: Mapping[str, str] | None = None
) -> str:
    """One crontab line running `argv` every N minutes (with `env` set for it), ending
    with our marker, a shell comment."""
    return f"{schedule_field(every_minutes)} {cron_command(argv, env)} {marker(key)}"


def systemd_word(word: str) -> str:
    """One word in systemd's quoting (it is not a shell): `%` and `$` doubled (specifiers
    and variables), quoted with backslashes escaped where a space, quote or backslash
    would otherwise split or escape it."""
    escaped = word.replace("%", "%%").replace("$", "$$")
    if not escaped or any(c in escaped for c in " \t\"\\';"):
        escaped = '"' + escaped.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return escaped


def systemd_service(
    argv: Sequence[str], env: Mapping[str, str] | None = None, *, specifiers: bool = False
) -> str:
    """The oneshot service that runs `argv`, with `env` as Environment= lines.

    With `specifiers`, env values are written as systemd reads them (e.g. ``%t`` for the
    runtime folder) instead of being escaped; they come from medtrack, never from a
    person."""
    check_words(argv)
    env = env or {}
    _check_env(env)
    lines = ["[Unit]", "Description=medtrack reminders", "", "[Service]", "Type=oneshot"]
    for name, value in env.items():
        text = value if specifiers else value.replace("%", "%%").replace("$", "$$")
        lines.append(f'Environment="{name}={text.replace(chr(92), chr(92) * 2)}"')
    lines.append("ExecStart=" + " ".join(systemd_word(w) for w in argv))
    return "\n".join(lines) + "\n"


def systemd_timer(every_minutes: int) -> str:
    """The timer that starts the service every N minutes (N divides an hour)."""
    schedule_field(every_minutes)  # refuses what can't run evenly
    calendar = "hourly" if every_minutes == 60 else f"*:0/{every_minutes}"
    return (
        "[Unit]\n"
        f"Description=Run medtrack remind every {every_minutes} min\n\n"
        "[Timer]\n"
        f"OnCalendar={calendar}\n"
        "AccuracySec=30s\n\n"
        "[Install]\n"
        "WantedBy=timers.target\n"
    )


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
