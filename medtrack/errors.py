"""Every failure a person can cause or meet, each with its message and exit code.

The CLI converts a `MedtrackError` into one line on stderr in exactly one place
(`medtrack.cli.MedtrackGroup`, through `medtrack.cli.error_line`); nothing else catches
these. A message may quote what was typed or stored as it is: `error_line` shows its
control characters and newlines as escapes (`\x1b`, `\n`), so it stays one harmless line.
"""

from __future__ import annotations

from collections.abc import Iterable

EXIT_ERROR = 1
EXIT_USAGE = 2


class MedtrackError(Exception):
    """A problem the person can act on: one line of text and an exit code."""

    exit_code: int = EXIT_ERROR

    def __init__(self, message: str, exit_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if exit_code is not None:
            self.exit_code = exit_code


class UsageError(MedtrackError):
    """The words of the command are wrong (exit 2, like Typer's own usage errors)."""

    exit_code = EXIT_USAGE


class BadTime(MedtrackError):
    """A time expression that cannot be read, or a future time where a past one is meant."""


class BadSchedule(MedtrackError):
    """A schedule text that is not one of the accepted forms."""


class BadDose(MedtrackError):
    """A dose text that is not a positive amount with a unit."""


class BadValue(MedtrackError):
    """A value that is unreadable or clinically implausible."""


class NotFound(MedtrackError):
    """A record (dose, side effect, note, visit) that does not exist."""


class Conflict(MedtrackError):
    """The request contradicts what is already recorded."""


class UnknownMedication(MedtrackError):
    """A medication name that is not in this profile, with a suggestion when one is close."""

    def __init__(self, name: str, known: Iterable[str] = ()) -> None:
        import difflib

        known = list(known)
        close = difflib.get_close_matches(name.lower(), [k.lower() for k in known], n=1, cutoff=0.6)
        message = f"no medication called '{name}'"
        if close:
            original = next(k for k in known if k.lower() == close[0])
            message += f"; did you mean '{original}'?"
        elif known:
            message += " (see 'medtrack med list --all')"
        else:
            message += "; add it first with 'medtrack med add'"
        super().__init__(message)
        self.name = name


class AmbiguousMedication(MedtrackError):
    """The beginning of a name that several medications share: it names them all."""

    def __init__(self, typed: str, candidates: Iterable[str]) -> None:
        names = ", ".join(f"'{c}'" for c in candidates)
        super().__init__(f"'{typed}' could be {names}: type more of the name")
        self.name = typed


class DatabaseRefused(MedtrackError):
    """A database file medtrack will not open: newer schema, not ours, or damaged."""


def disk_full_message(path: object, outcome: str = "nothing was recorded") -> str:
    """The one wording of a full disk, for every write that fails for space."""
    return f"the disk holding {path} is full; {outcome}. Free some space and try again"
