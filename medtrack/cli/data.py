"""`medtrack export / import / backup / restore / check / history`: the record as files.

Each export format is one entry in EXPORTERS: a function that reads through `store`
and returns the file's content from a `render` module. Adding a format is adding an
entry; the command itself only picks one and writes its bytes, privately (0600).
CSV is the exception: one file per table, into a folder.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from medtrack.cli import common
from medtrack.errors import DatabaseRefused, UsageError

app = typer.Typer(
    help="Your record as files: export, import, backup, restore, check, history.",
    no_args_is_help=True,
)

# conn, zone timeline, now -> file content (str is written as UTF-8).
Exporter = Callable[[sqlite3.Connection, Any, datetime], "str | bytes"]


def _export_ics(conn: sqlite3.Connection, zones: Any, now: datetime) -> bytes:
    from medtrack.cli.reminders import global_options
    from medtrack.render.ical import calendar_ics
    from medtrack.store import repo

    medications = repo.load_medications(conn)
    return calendar_ics(medications, zones, now, global_options=global_options())


def _export_json(conn: sqlite3.Connection, zones: Any, now: datetime) -> str:
    # Issue 8 (trustworthy data): every table, versioned; `medtrack import` reads it back.
    from medtrack import __version__
    from medtrack.core.timeparse import to_utc_text
    from medtrack.core.transfer import document
    from medtrack.render.csvjson import json_text
    from medtrack.store.migrations import SCHEMA_VERSION
    from medtrack.store.transfer import dump_tables

    doc = document(
        dump_tables(conn),
        medtrack_version=__version__,
        schema_version=SCHEMA_VERSION,
        exported_at=to_utc_text(now),
    )
    return json_text(doc)


def _export_fhir(conn: sqlite3.Connection, zones: Any, now: datetime) -> str:
    # Issue 8: a FHIR R4 Bundle (collection) built as plain dicts in render/fhir.py.
    from medtrack import __version__
    from medtrack.render.csvjson import json_text
    from medtrack.render.fhir import bundle
    from medtrack.store.transfer import dump_tables

    return json_text(bundle(dump_tables(conn), exported_at=now, medtrack_version=__version__))


EXPORTERS: dict[str, Exporter] = {
    "ics": _export_ics,
    "json": _export_json,
    "fhir": _export_fhir,
}


def write_private(path: Path, content: bytes) -> None:
    """Write `content` to `path` readable by its owner only (0600, health data), whole or
    not at all: a temporary file in the same folder is renamed over the target."""
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise DatabaseRefused(f"can't write {path}: folder {folder} does not exist")
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=folder)  # mkstemp: 0600
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


@app.command("export")
def export(
    format_: Annotated[
        str,
        typer.Option("--format", "-f", help=f"File format: {', '.join([*EXPORTERS, 'csv'])}."),
    ],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="File (0600; a folder for csv); stdout when left out."),
    ] = None,
) -> None:
    """Export your record: json (everything, reads back with import), csv (one file per
    table), fhir (FHIR R4 Bundle), ics (the plan as calendar events with alarms).

    Example: medtrack export --format json -o all.json
    """
    if format_.lower() == "csv":
        _export_csv(output)
        return
    exporter = EXPORTERS.get(format_.lower())
    if exporter is None:
        known = ", ".join([*EXPORTERS, "csv"])
        raise UsageError(f"--format '{format_}' is not known; use one of {known}")
    with common.unit_of_work() as conn:
        content = exporter(conn, common.zones(conn), common.now())
    data = content.encode("utf-8") if isinstance(content, str) else content
    if output is None or str(output) == "-":
        typer.echo(data.decode("utf-8"), nl=False)
        return
    write_private(output, data)
    common.say(f"Wrote {output} ({format_.lower()}).")


# --- issue 8, trustworthy data: csv export, import, backup, restore, check, history ------


def _export_csv(output: Path | None) -> None:
    from medtrack.render.csvjson import csv_files
    from medtrack.store.transfer import dump_tables, layout, private_folder

    if output is None or str(output) == "-":
        raise UsageError("--format csv writes one file per table: name a folder with -o DIR")
    with common.unit_of_work() as conn:
        tables = dump_tables(conn)
        columns = {name: [c.name for c in cols] for name, cols in layout(conn).items()}
    private_folder(output)
    files = csv_files(tables, columns)
    for name, text in files.items():
        write_private(output / name, text.encode("utf-8"))
    common.warn(f"Wrote {len(files)} CSV files to {output}.")


def _read_text(path: Path) -> str:
    from medtrack.errors import BadValue, NotFound

    if not path.exists():
        raise NotFound(f"no file at {path}")
    if path.is_dir():
        raise BadValue(f"{path} is a folder; name a file")
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise BadValue(f"{path} is not UTF-8 text") from None
    except OSError as exc:
        raise BadValue(f"can't read {path}: {exc.strerror}") from None


@app.command("import")
def data_import(
    file: Annotated[Path, typer.Argument(help="An export (json) or a dose CSV.")],
    format_: Annotated[
        str | None,
        typer.Option("--format", "-f", help="json or csv (default: from the file name)."),
    ] = None,
    merge: Annotated[
        bool,
        typer.Option("--merge", help="JSON into a profile that has data: add what is missing."),
    ] = False,
) -> None:
    """Import a JSON export (whole record) or a dose CSV (medication,taken_at,status,reason,note).

    Example: medtrack import all.json
    """
    import json

    from medtrack.core.transfer import parse_dose_csv, validate_document
    from medtrack.errors import BadValue
    from medtrack.store import transfer
    from medtrack.store.migrations import SCHEMA_VERSION

    fmt = (format_ or ("csv" if file.suffix.lower() == ".csv" else "json")).lower()
    if fmt not in ("json", "csv"):
        raise UsageError(f"--format takes json or csv; got '{format_}'")
    if fmt == "csv" and merge:
        raise UsageError("--merge applies to a JSON export; a dose CSV always adds")
    text = _read_text(file)
    if fmt == "csv":
        with common.unit_of_work(write=True) as conn:
            zones = common.zones(conn)
            now = common.now()
            lines = parse_dose_csv(text, localize=zones.localize, now=now)
            result = transfer.add_imported_doses(
                conn, lines, zone_of=lambda at: zones.zone_at(at).key, now=now
            )
        common.say(
            f"Imported {result.added} dose records from {file}"
            + (f"; {result.duplicates} already recorded, skipped." if result.duplicates else ".")
        )
        return

    def _no_constants(name: str) -> Any:
        raise BadValue(f"{file}: {name} is not a number JSON allows")

    try:
        doc = json.loads(text, parse_constant=_no_constants)
    except json.JSONDecodeError as exc:
        raise BadValue(f"{file} is not JSON ({exc.msg}, line {exc.lineno})") from None
    except RecursionError:
        raise BadValue(f"{file} is nested too deeply to be a medtrack export") from None
    with common.unit_of_work(write=True) as conn:
        tables = validate_document(
            doc,
            transfer.layout(conn),
            transfer.references(conn),
            schema_version=SCHEMA_VERSION,
        )
        if not merge:
            count = transfer.load_into_empty(conn, tables)
        else:
            counts = transfer.merge(conn, tables, now=common.now())
    if not merge:
        common.say(f"Imported {count} records from {file}.")
        return
    added = sum(counts.added.values())
    details = ", ".join(f"{n} {t}" for t, n in counts.added.items())
    common.say(
        f"Merged {file}: added {added} records"
        + (f" ({details})" if details else "")
        + f", completed {sum(counts.completed.values())}"
        + f", {sum(counts.present.values())} already here"
        + (
            f"; kept this profile's own plan over {sum(counts.conflicts.values())} "
            "overlapping regimens from the file."
            if counts.conflicts
            else "."
        )
    )


@app.command("backup")
def backup(
    target: Annotated[
        Path | None,
        typer.Argument(help="File to write; default: the backups folder beside the database."),
    ] = None,
) -> None:
    """Back up the database (a consistent copy, even while another medtrack writes).

    Without a file name the copy goes to the `backups` folder beside the database, and
    only the newest 10 automatic backups are kept.

    Example: medtrack backup ~/safe/medtrack-2026-11-22.db
    """
    from medtrack.errors import NotFound
    from medtrack.store import transfer

    path = common.db_path()
    if not path.exists():
        raise NotFound(f"no database at {path}; nothing to back up")
    with common.unit_of_work() as conn:
        now = common.now()
        destination = target.expanduser() if target else transfer.automatic_backup_path(path, now)
        transfer.backup(conn, destination)
    pruned = [] if target else transfer.prune_backups(path)
    common.say(
        f"Backed up {path} to {destination}."
        + (f" Removed {len(pruned)} older automatic backups." if pruned else "")
    )


@app.command("restore")
def restore(
    backup_file: Annotated[Path, typer.Argument(help="A backup made by 'medtrack backup'.")],
) -> None:
    """Replace the database with a backup, after checking it; the current file is kept.

    Example: medtrack restore ~/safe/medtrack-2026-11-22.db
    """
    from medtrack.store import transfer

    path = common.db_path()
    kept = transfer.restore(backup_file.expanduser(), path, now=common.now())
    common.say(
        f"Restored {path} from {backup_file}."
        + (f" The replaced file is kept as {kept}." if kept else "")
    )


@app.command("check")
def check(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Check the database: integrity, schema version, orphan rows; exit 1 on any problem.

    Example: medtrack check
    """
    from medtrack.errors import MedtrackError, NotFound
    from medtrack.store import transfer
    from medtrack.store.migrations import SCHEMA_VERSION

    path = common.db_path()
    if not path.exists():
        raise NotFound(f"no database at {path}")
    with common.unit_of_work() as conn:
        report = transfer.check(conn, path, SCHEMA_VERSION)
    if as_json:
        common.emit_json(
            {
                "path": report.path,
                "ok": report.ok,
                "integrity": report.integrity or ["ok"],
                "schema_version": report.schema_version,
                "known_schema_version": report.known_schema_version,
                "orphans": report.orphans,
                "problems": report.problems,
            }
        )
    else:
        common.say(f"{path}")
        common.say(f"  integrity:   {'ok' if not report.integrity else report.integrity[0]}")
        common.say(f"  schema:      version {report.schema_version} of {SCHEMA_VERSION}")
        common.say(f"  orphan rows: {len(report.orphans) or 'none'}")
        for line in report.problems:
            common.say(f"  problem: {line}")
    if not report.ok:
        raise MedtrackError(f"{len(report.problems)} problem(s) found in {path}")


@app.command("history")
def history(
    days: Annotated[
        int | None, typer.Option("--days", min=1, help="Only the last N days (default: all).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show the audit trail: every change, undo and merge, with the values before and after.

    Example: medtrack history --days 7
    """
    from datetime import timedelta

    from medtrack.core.transfer import change_text, row_changes
    from medtrack.render.records import iso_local, local_text
    from medtrack.store import transfer

    with common.unit_of_work() as conn:
        zones = common.zones(conn)
        now = common.now()
        entries = transfer.history_since(conn, now - timedelta(days=days) if days else None)
    from medtrack.core.timeparse import from_utc_text

    records = []
    for entry in entries:
        at = from_utc_text(entry["at"])
        records.append(
            {
                "id": entry["id"],
                "at": iso_local(at, zones),
                "action": entry["action"],
                "table": entry["table_name"],
                "row_id": entry["row_id"],
                "before": entry["before"],
                "after": entry["after"],
                "changes": row_changes(entry["before"], entry["after"]),
                "command": entry["command"],
                "_local": local_text(at, zones),
            }
        )
    if as_json:
        common.emit_json([{k: v for k, v in r.items() if k != "_local"} for r in records])
        return
    if not records:
        common.say("No changes recorded" + (f" in the last {days} days." if days else "."))
        return
    rows = [
        [
            r["_local"],
            r["action"],
            r["table"],
            r["row_id"],
            change_text(r["action"], r["changes"]),
            r["command"],
        ]
        for r in records
    ]
    common.print_table("History", ["When", "Action", "Table", "Row", "Change", "Command"], rows)
