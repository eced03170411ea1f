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

    __slots__ = ("db", "profile")

    def __init__(self) -> None:
        self.db: str | None = None
        self.profile: str | None = None


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
        return ZoneTimeline(system_zone())
    return ZoneTimeline(changes[0].zone, changes)


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

    from medtrack.render.escaping import json_text

    typer.echo(json_text(json.dumps(value, indent=2, ensure_ascii=False, default=str)))


def is_terminal() -> bool:
    return sys.stdout.isatty()


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
