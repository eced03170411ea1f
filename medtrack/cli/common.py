"""What every command shares: where the database is, what time it is, the person's zone,
and how to print. Kept light: no rich, no sqlite_utils at import time."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from medtrack.errors import BadValue, MedtrackError

if TYPE_CHECKING:
    # Imported where used: `--version` and shell completion never open a zone, and
    # completion opens SQLite only through the store.
    import sqlite3


class GlobalOptions:
    """The root options (--db, --profile), set once by the root callback."""

    __slots__ = ("db", "pending_notice", "profile", "zone_notice")

    def __init__(self) -> None:
        self.db: str | None = None
        self.profile: str | None = None
        # Set for the daily commands (today, take, remind) when not printing JSON.
        self.zone_notice = False
        # (zone in force now, now): said when the command ends, unless it printed JSON.
        self.pending_notice: tuple[str, datetime] | None = None


OPTIONS = GlobalOptions()


def db_path() -> Path:
    from medtrack.store.db import resolve_path

    return resolve_path(OPTIONS.db, OPTIONS.profile)


@contextmanager
def unit_of_work(*, write: bool = False, create: bool = True) -> Iterator[sqlite3.Connection]:
    """The command's one transaction on the person's database. Reading never creates the
    file; writing creates it (on success) unless `create=False`, where a missing file is
    NotFound."""
    from medtrack.store.db import unit_of_work as store_unit

    with store_unit(db_path(), write=write, create=create) as conn:
        if write:
            _record_first_zone(conn)
        yield conn


def _record_first_zone(conn: sqlite3.Connection) -> None:
    """Pin the zone the record started in, so a later change of the machine's zone
    never rereads the past in another zone (travel is recorded with config set)."""
    from medtrack.store import repo

    if not repo.zone_changes(conn):
        epoch = datetime(1970, 1, 1, tzinfo=UTC)
        repo.add_zone_change(conn, system_zone(), effective_at=epoch, now=now())


def now() -> datetime:
    """The current instant. MEDTRACK_NOW (ISO 8601 with offset) pins it for tests and demos."""
    pinned = os.environ.get("MEDTRACK_NOW")
    if pinned:
        try:
            value = datetime.fromisoformat(pinned.replace("Z", "+00:00"))
        except ValueError as exc:
            raise MedtrackError(f"MEDTRACK_NOW '{pinned}' is not an ISO date-time") from exc
        if value.tzinfo is None:
            raise MedtrackError(f"MEDTRACK_NOW '{pinned}' needs a UTC offset, e.g. Z")
        return value.astimezone(UTC)
    return datetime.now(UTC).replace(microsecond=0)


def system_zone() -> str:
    """The machine's IANA zone name, or UTC when it cannot be told."""
    tz = os.environ.get("TZ", "").lstrip(":")
    if tz and _valid_zone(tz):
        return tz
    try:
        target = os.path.realpath("/etc/localtime")
        marker = "/zoneinfo/"
        if marker in target:
            name = target.split(marker, 1)[1]
            if _valid_zone(name):
                return name
    except OSError:
        pass
    return "UTC"


def _valid_zone(name: str) -> bool:
    try:
        check_zone(name)
    except BadValue:
        return False
    return True


def check_zone(name: str) -> str:
    from medtrack.core.validate import zone_name

    return zone_name(name)


def zones(conn: sqlite3.Connection) -> Any:
    """The person's zone timeline; the first use records the zone they started in."""
    from medtrack.core.schedule import ZoneTimeline
    from medtrack.store import repo

    changes = repo.zone_changes(conn)
    if not changes:
        return ZoneTimeline(system_zone(), now=now())
    timeline = ZoneTimeline(changes[0].zone, changes, now=now())
    if OPTIONS.zone_notice:
        OPTIONS.zone_notice = False
        OPTIONS.pending_notice = (timeline.here.key, now())
    return timeline


def flush_zone_notice() -> None:
    """At the end of a daily command: the zone note, if one is due (see `_notice_zone`)."""
    pending, OPTIONS.pending_notice = OPTIONS.pending_notice, None
    if pending is not None:
        _notice_zone(*pending)


def _notice_zone(zone: str, instant: datetime) -> None:
    """One line on stderr, at most once a day, when the machine's zone is not the zone
    medtrack reads times in: otherwise "taken 02:05, late by 6 h" is the first sign.
    The day is remembered in a small file beside the database."""
    # For the person at a terminal: cron's and systemd's environment has no TZ of its
    # own, and a daily mail about it would teach nothing.
    if not stderr_is_terminal():
        return
    machine = system_zone()
    if machine == zone:
        return
    from zoneinfo import ZoneInfo

    day = instant.astimezone(ZoneInfo(zone)).date().isoformat()
    mark = f"{day} {machine} {zone}"
    path = db_path()
    marker = path.with_name(f".{path.name}.zone-notice")
    try:
        if marker.read_text(encoding="utf-8").strip() == mark:
            return
    except OSError:
        pass
    warn(
        f"note: this computer is on {machine}, medtrack on {zone}; if you are now in "
        f"{machine}, run: medtrack config set timezone {machine} --since HH:MM "
        "(the local time you arrived)"
    )
    try:
        fd = os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(mark + "\n")
    except OSError:
        pass  # the note shows again next time; nothing else depends on it


def read_time(text: str, zones: Any, now: datetime, *, allow_future: bool = False) -> datetime:
    """A typed time as a UTC instant: a wall time without an offset is read in the zone
    the person was in at that moment (the zone history). An hour without am/pm that
    could be either is asked about on a terminal, else refused showing both readings."""
    from medtrack.core.timeparse import AmbiguousTime, parse_when

    local = now.astimezone(zones.zone_at(now))
    try:
        return parse_when(text, local, allow_future=allow_future, zones=zones).astimezone(UTC)
    except AmbiguousTime as ambiguous:
        if not (stdin_is_terminal() and is_terminal()):
            raise
        first, second = ambiguous.readings
        shown = [w.strftime("%Y-%m-%d %H:%M") + zones.label(w) for w in (first, second)]
        answer = typer.prompt(
            f"'{text}': 1) {shown[0]} or 2) {shown[1]}? [1/2]", err=True, default=""
        ).strip()
        if answer not in ("1", "2"):
            raise
        return (first if answer == "1" else second).astimezone(UTC)


def day_bound(text: str, zones: Any, now: datetime, *, end: bool) -> datetime:
    """`--since`/`--until`/`--from` text as a UTC instant: a day is its local midnight in
    the zone in force on that day (or the next day's, with `end`)."""
    from medtrack.core.timeparse import parse_day_bound

    local = now.astimezone(zones.zone_at(now))
    return parse_day_bound(text, local, end=end, zones=zones).astimezone(UTC)


def local_date(instant: datetime, zones: Any) -> str:
    """The local calendar day of `instant` in the zone in force then, as ISO text."""
    return instant.astimezone(zones.zone_at(instant)).date().isoformat()


def local_now(conn: sqlite3.Connection) -> datetime:
    """Now, in the zone in force now."""
    instant = now()
    return instant.astimezone(zones(conn).zone_at(instant))


# --- output ------------------------------------------------------------------------------


def emit_json(value: Any) -> None:
    import json

    OPTIONS.pending_notice = None  # a script reads this: no note, not even on stderr
    from medtrack.render.escaping import json_text

    typer.echo(json_text(json.dumps(value, indent=2, ensure_ascii=False, default=str)))


def is_terminal() -> bool:
    return sys.stdout.isatty()


def stdin_is_terminal() -> bool:
    return sys.stdin.isatty()


def stderr_is_terminal() -> bool:
    return sys.stderr.isatty()


def console() -> Any:
    from rich.console import Console

    return Console()


def print_table(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """A rich table on a terminal; aligned plain text when piped (no colour, no boxes).

    Cells are stored text: each becomes a rich Text (never parsed as markup) or a plain
    line with its control characters shown, here, so no table can forget it."""
    from medtrack.render.escaping import terminal_cell

    cells = [["" if v is None else str(v) for v in row] for row in rows]
    if is_terminal():
        from rich.table import Table

        from medtrack.render.escaping import rich_text

        table = Table(title=rich_text(title) if title else None, title_justify="left")
        for column in columns:
            table.add_column(rich_text(column))
        for row in cells:
            table.add_row(*map(rich_text, row))
        console().print(table)
        return
    from medtrack.render.width import display_width, pad

    columns = [terminal_cell(c) for c in columns]
    cells = [[terminal_cell(v) for v in row] for row in cells]
    widths = [display_width(c) for c in columns]
    for row in cells:
        widths = [max(w, display_width(v)) for w, v in zip(widths, row, strict=True)]
    if title:
        typer.echo(terminal_cell(title))
    lines = [columns, *cells]
    for line in lines:
        typer.echo("  ".join(pad(v, w) for v, w in zip(line, widths, strict=True)).rstrip())


def say(text: str) -> None:
    """A line of output; stored text in it is shown, never obeyed (controls made visible)."""
    from medtrack.render.escaping import terminal_text

    typer.echo(terminal_text(text))


def warn(text: str) -> None:
    from medtrack.render.escaping import terminal_text

    typer.echo(terminal_text(text), err=True)


def check_output_file(path: Path) -> None:
    """`-o` names a file: not empty (which Path reads as the current folder), not a folder."""
    from medtrack.core.validate import shown
    from medtrack.errors import BadValue

    if str(path) in ("", ".") or path.is_dir():
        raise BadValue(f"-o {shown(str(path))} is a folder; name a file (or - for stdout)")
    # Written over the database (or the journal SQLite reads beside it), a report or an
    # export would replace the record it was made from.
    database = db_path().resolve()
    own = {database, *(Path(f"{database}{suffix}") for suffix in ("-wal", "-shm", "-journal"))}
    if path.resolve() in own:
        raise BadValue(f"-o {shown(str(path))} is the database itself; name another file")


# --- completion -------------------------------------------------------------------------


def complete_medication(ctx: typer.Context, incomplete: str) -> list[str]:
    """Medication names for shell completion; silent on any problem (never break a shell).
    The shell's completion class (cli/completion.py) quotes a name with spaces."""
    from medtrack.store.db import active_names_read_only

    return _stored_names(ctx, incomplete, active_names_read_only)


def complete_symptom_name(ctx: typer.Context, incomplete: str) -> list[str]:
    """Symptom names already recorded (and the usual three), for shell completion."""
    from medtrack.store.db import symptom_names_read_only

    recorded = _stored_names(ctx, incomplete, symptom_names_read_only)
    usual = [n for n in ("mood", "anxiety", "sleep") if n.startswith(incomplete.lower())]
    return sorted(set(recorded) | set(usual))


def _stored_names(ctx: typer.Context, incomplete: str, read: Any) -> list[str]:
    import sqlite3

    from medtrack.store.db import resolve_path

    root = ctx.find_root().params if ctx is not None else {}
    try:
        names = read(resolve_path(root.get("db"), root.get("profile")))
    except (sqlite3.Error, MedtrackError, OSError):
        return []
    return _starting_with(names, incomplete)


def _starting_with(words: Sequence[str], incomplete: str) -> list[str]:
    from medtrack.render.escaping import visible

    prefix = incomplete.casefold()
    # The shell would print a name's control characters raw (and a newline would split
    # it in two): such a name is left out of completion, never shown.
    return [w for w in words if w.casefold().startswith(prefix) and visible(w) == w]


# Closed vocabularies: each completer offers the words the command itself accepts, read
# from where the command's validation reads them, so the two cannot drift apart.


def complete_skip_reason(incomplete: str) -> list[str]:
    from medtrack.core.models import SKIP_REASONS

    return _starting_with(SKIP_REASONS, incomplete)


def complete_med_kind(incomplete: str) -> list[str]:
    from medtrack.core.models import KINDS

    return _starting_with(KINDS, incomplete)


def complete_record_kind(incomplete: str) -> list[str]:
    from medtrack.store.undo import KINDS

    return _starting_with(list(KINDS), incomplete)


def complete_severity(incomplete: str) -> list[str]:
    from medtrack.core.health import SEVERITIES

    return _starting_with(SEVERITIES, incomplete)


def complete_visit_kind(incomplete: str) -> list[str]:
    from medtrack.core.health import VISIT_KINDS

    return _starting_with(VISIT_KINDS, incomplete)


def complete_measure_kind(incomplete: str) -> list[str]:
    from medtrack.core.health import LOINC

    return _starting_with([kind.replace("_", "-") for kind in LOINC], incomplete)


def complete_report_format(incomplete: str) -> list[str]:
    from medtrack.cli.report_cmd import FORMATS

    return _starting_with(FORMATS, incomplete)


def complete_audience(incomplete: str) -> list[str]:
    from medtrack.core.report import SECTION_ORDER

    return _starting_with(list(SECTION_ORDER), incomplete)


def complete_export_format(incomplete: str) -> list[str]:
    from medtrack.cli.data import EXPORTERS

    return _starting_with([*EXPORTERS, "csv"], incomplete)


def complete_import_format(incomplete: str) -> list[str]:
    return _starting_with(["json", "csv"], incomplete)


def complete_questionnaire(incomplete: str) -> list[str]:
    from medtrack.core.questionnaires import QUESTIONNAIRES

    return _starting_with(list(QUESTIONNAIRES), incomplete)


def complete_setting(incomplete: str) -> list[str]:
    from medtrack.cli.settings import SETTINGS

    return _starting_with(list(SETTINGS), incomplete)
