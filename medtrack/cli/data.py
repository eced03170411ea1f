"""`medtrack export / import / backup / restore / check / history`: the record as files.

Each export format is one entry in EXPORTERS: a function that reads through `store`
and returns the file's content from a `render` module. Adding a format is adding an
entry; the command itself only picks one and writes its bytes, privately (0600).
CSV is the exception: one file per table, into a folder.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from medtrack.cli import common
from medtrack.errors import UsageError

app = typer.Typer(
    help="Your record as files: export, import, backup, restore, check, history.",
    no_args_is_help=True,
)

# conn, zone timeline, now -> file content (str is written as UTF-8), whole or as pieces
# of text produced while the transaction is open (so a decade is never all in memory).
Exporter = Callable[[sqlite3.Connection, Any, datetime], "str | bytes | Iterable[str]"]


def _export_ics(conn: sqlite3.Connection, zones: Any, now: datetime) -> bytes:
    from medtrack.cli.reminders import global_options
    from medtrack.render.ical import calendar_ics
    from medtrack.store import repo

    medications = repo.load_medications(conn)
    return calendar_ics(medications, zones, now, global_options=global_options())


def _export_json(conn: sqlite3.Connection, zones: Any, now: datetime) -> Iterator[str]:
    # Issue 8 (trustworthy data): every table, versioned; `medtrack import` reads it back.
    # Issue 9: streamed table by table, the same bytes as json_text of the whole document.
    from medtrack import __version__
    from medtrack.core.timeparse import to_utc_text
    from medtrack.core.transfer import document_header
    from medtrack.render.csvjson import json_document_chunks
    from medtrack.store.migrations import SCHEMA_VERSION
    from medtrack.store.transfer import table_batches, table_names

    header = document_header(
        medtrack_version=__version__,
        schema_version=SCHEMA_VERSION,
        exported_at=to_utc_text(now),
    )
    tables = ((name, table_batches(conn, name)) for name in table_names(conn))
    return json_document_chunks(header, tables)


# Tables the FHIR Bundle looks up by id; the others become one resource per row, streamed.
_FHIR_LOOKUP_TABLES = ("settings", "zone_changes", "medications", "regimens")


def _export_fhir(conn: sqlite3.Connection, zones: Any, now: datetime) -> Iterator[str]:
    # Issue 8: a FHIR R4 Bundle (collection) built as plain dicts in render/fhir.py.
    # Issue 9: one entry at a time, the rows read lazily from their cursors.
    from medtrack import __version__
    from medtrack.render.fhir import bundle_json_chunks
    from medtrack.store.transfer import table_names, table_rows

    tables: dict[str, Iterable[dict[str, Any]]] = {}
    for name in table_names(conn):
        rows = table_rows(conn, name)
        tables[name] = list(rows) if name in _FHIR_LOOKUP_TABLES else rows
    return bundle_json_chunks(tables, exported_at=now, medtrack_version=__version__)


EXPORTERS: dict[str, Exporter] = {
    "ics": _export_ics,
    "json": _export_json,
    "fhir": _export_fhir,
}


def write_private(path: Path, content: bytes | Iterable[str]) -> None:
    """Write `content` (bytes, or pieces of text written as UTF-8 as they come) to `path`,
    whole or not at all, a new file 0600, never through a link or over a device: see
    medtrack.files (issue 17)."""
    from medtrack.files import write_private as write_file

    write_file(path, content)


@app.command("export")
def export(
    format_: Annotated[
        str,
        typer.Option(
            "--format",
            "-f",
            help=f"File format: {', '.join([*EXPORTERS, 'csv'])}.",
            autocompletion=common.complete_export_format,
        ),
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
    if output is not None and str(output) != "-":
        common.check_output_file(output)
    with common.unit_of_work() as conn:
        content = exporter(conn, common.zones(conn), common.now())
        pieces = [content] if isinstance(content, str | bytes) else content
        if output is None or str(output) == "-":
            for text in _joined(pieces):
                typer.echo(text, nl=False)
            return
        write_private(output, content if isinstance(content, bytes) else pieces)
    common.say(f"Wrote {output} ({format_.lower()}).")


def _joined(pieces: Iterable[str | bytes], size: int = 1 << 20) -> Iterator[str]:
    """Pieces of text gathered into about `size` characters: one echo per entry of a
    FHIR Bundle would cost more than making it."""
    gathered: list[str] = []
    length = 0
    for piece in pieces:
        text = piece.decode("utf-8") if isinstance(piece, bytes) else piece
        gathered.append(text)
        length += len(text)
        if length >= size:
            yield "".join(gathered)
            gathered, length = [], 0
    if gathered:
        yield "".join(gathered)


# --- issue 8, trustworthy data: csv export, import, backup, restore, check, history ------


def _export_csv(output: Path | None) -> None:
    from medtrack.files import output_folder
    from medtrack.render.csvjson import csv_chunks
    from medtrack.store.transfer import layout, table_batches

    if output is None or str(output) == "-":
        raise UsageError("--format csv writes one file per table: name a folder with -o DIR")
    with common.unit_of_work() as conn:
        columns = {name: [c.name for c in cols] for name, cols in layout(conn).items()}
        output_folder(output)
        # Issue 9: each table is written as its rows are read, a batch at a time.
        for name, names in columns.items():
            write_private(output / f"{name}.csv", csv_chunks(names, table_batches(conn, name)))
    common.warn(f"Wrote {len(columns)} CSV files to {output}.")


def _check_readable(path: Path) -> None:
    from medtrack.errors import BadValue, NotFound

    if not path.exists():
        raise NotFound(f"no file at {path}")
    if path.is_dir():
        raise BadValue(f"{path} is a folder; name a file")


def _read_text(path: Path) -> str:
    from medtrack.errors import BadValue

    _check_readable(path)
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise BadValue(f"{path} is not UTF-8 text") from None
    except OSError as exc:
        raise BadValue(f"can't read {path}: {exc.strerror}") from None


def _json_decoder(file: Path) -> Any:
    import json

    from medtrack.core.transfer import json_int, no_duplicate_keys
    from medtrack.errors import BadValue

    def _no_constants(name: str) -> Any:
        raise BadValue(f"{file}: {name} is not a number JSON allows")

    # A key named twice (a second, empty "doses") is refused, never read as its last
    # value; a 5000-digit integer is refused before int() chokes on it.
    return json.JSONDecoder(
        parse_constant=_no_constants, object_pairs_hook=no_duplicate_keys, parse_int=json_int
    )


def _read_json(file: Path) -> Any:
    """The parsed document; the file's text is let go as soon as it is parsed (a decade of
    history is ~60 MB of text, several times that as objects: never hold both longer)."""
    import json

    from medtrack.errors import BadValue

    try:
        return _json_decoder(file).decode(_read_text(file))
    except json.JSONDecodeError as exc:
        raise BadValue(f"{file} is not JSON ({exc.msg}, line {exc.lineno})") from None
    except RecursionError:
        raise BadValue(f"{file} is nested too deeply to be a medtrack export") from None


def _text_pieces(file: Path) -> Iterator[str]:
    """The file's text a megabyte at a time; anything unreadable is left to _read_text."""
    from medtrack.core.transfer import Unstreamable

    try:
        with open(file, encoding="utf-8", newline="") as handle:
            while piece := handle.read(1 << 20):
                yield piece
    except (UnicodeDecodeError, OSError):
        raise Unstreamable from None


def _import_into_empty(conn: sqlite3.Connection, file: Path) -> int:
    """Issue 9: rows are checked and inserted as the file is read, so a decade of history
    is never all in memory. Anything unexpected (a refused row, a file laid out otherwise
    than medtrack writes it) undoes those inserts and reads the file whole instead, for
    json's and the checks' own messages, exactly as before."""
    from medtrack.core.transfer import (
        Unstreamable,
        checked_rows,
        document_events,
        validate_document,
    )
    from medtrack.errors import MedtrackError
    from medtrack.store import transfer
    from medtrack.store.migrations import SCHEMA_VERSION

    layout, references = transfer.layout(conn), transfer.references(conn)
    now = common.now()
    rows = checked_rows(
        document_events(_text_pieces(file), _json_decoder(file)),
        layout,
        references,
        schema_version=SCHEMA_VERSION,
        table_order=transfer.table_names(conn),
        now=now,
    )
    conn.execute("SAVEPOINT streamed_import")
    try:
        count = transfer.load_rows_into_empty(conn, rows)
    except (Unstreamable, MedtrackError):
        conn.execute("ROLLBACK TO streamed_import")
        conn.execute("RELEASE streamed_import")
        tables = validate_document(
            _read_json(file), layout, references, schema_version=SCHEMA_VERSION, now=now
        )
        return transfer.load_into_empty(conn, tables)
    conn.execute("RELEASE streamed_import")
    return count


@app.command("import")
def data_import(
    file: Annotated[Path, typer.Argument(help="An export (json) or a dose CSV.")],
    format_: Annotated[
        str | None,
        typer.Option(
            "--format",
            "-f",
            help="json or csv (default: from the file name).",
            autocompletion=common.complete_import_format,
        ),
    ] = None,
    merge: Annotated[
        bool,
        typer.Option("--merge", help="JSON into a profile that has data: add what is missing."),
    ] = False,
    from_app: Annotated[
        str | None,
        typer.Option("--from", help="Another app's file: medtimer, daylio or fhir (dry run)."),
    ] = None,
    apply: Annotated[
        bool, typer.Option("--apply", help="With --from: write what the dry run shows.")
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="With --from: print the report as JSON.")
    ] = False,
) -> None:
    """Import a JSON export (whole record) or a dose CSV (medication,taken_at,status,reason,note),
    or another app's history with --from medtimer|daylio|fhir (a dry run until --apply).

    Example: medtrack import all.json
    Example: medtrack import MedTimer_backup.json --from medtimer --apply
    """
    if from_app is not None or apply or as_json:
        # Issue 22: other apps' files live in cli/imports.py.
        from medtrack.cli.imports import import_from

        if from_app is None or format_ is not None or merge:
            raise UsageError(
                "--apply and --json go with --from; --from takes no --format or --merge"
            )
        import_from(file, from_app, apply=apply, as_json=as_json)
        return
    from medtrack.core.transfer import parse_dose_csv, validate_document
    from medtrack.store import transfer
    from medtrack.store.migrations import SCHEMA_VERSION

    fmt = (format_ or ("csv" if file.suffix.lower() == ".csv" else "json")).lower()
    if fmt not in ("json", "csv"):
        raise UsageError(f"--format takes json or csv; got '{format_}'")
    if fmt == "csv" and merge:
        raise UsageError("--merge applies to a JSON export; a dose CSV always adds")
    if fmt == "csv":
        text = _read_text(file)
        with common.unit_of_work(write=True) as conn:
            zones = common.zones(conn)
            now = common.now()
            lines = parse_dose_csv(text, localize=zones.localize, now=now)
            result = transfer.add_imported_doses(
                conn,
                lines,
                zone_of=lambda at: zones.zone_at(at).key,
                now=now,
            )
        common.say(
            f"Imported {result.added} dose records from {file}"
            + (f"; {result.duplicates} already recorded, skipped." if result.duplicates else ".")
        )
        return

    if not merge:
        _check_readable(file)
        with common.unit_of_work(write=True) as conn:
            count = _import_into_empty(conn, file)
        common.say(f"Imported {count} records from {file}.")
        return
    doc = _read_json(file)
    with common.unit_of_work(write=True) as conn:
        tables = validate_document(
            doc,
            transfer.layout(conn),
            transfer.references(conn),
            schema_version=SCHEMA_VERSION,
            now=common.now(),
        )
        counts = transfer.merge(conn, tables, now=common.now())
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

    Without a file name the copy goes to the `backups` folder beside the database,
    numbered; the new backup and the nine before it are kept.

    Example: medtrack backup ~/safe/medtrack-2026-11-22.db
    """
    from medtrack.errors import NotFound
    from medtrack.store import backups

    path = common.db_path()
    if not path.exists():
        raise NotFound(f"no database at {path}; nothing to back up")
    with common.unit_of_work() as conn:
        if target:
            destination = backups.backup(conn, target.expanduser())
        else:
            destination = backups.automatic_backup(conn, path, common.now())
    pruned = [] if target else backups.prune_backups(path, destination)
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
    from medtrack.store import backups

    path = common.db_path()
    kept = backups.restore(backup_file.expanduser(), path, now=common.now())
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
        report = transfer.check(conn, path, SCHEMA_VERSION, now=common.now())
    if as_json:
        common.emit_json(
            {
                "path": report.path,
                "ok": report.ok,
                "integrity": report.integrity or ["ok"],
                "schema_version": report.schema_version,
                "known_schema_version": report.known_schema_version,
                "orphans": report.orphans,
                "values": report.values,
                "problems": report.problems,
            }
        )
    else:
        common.say(f"{path}")
        common.say(f"  integrity:   {'ok' if not report.integrity else report.integrity[0]}")
        common.say(f"  schema:      version {report.schema_version} of {SCHEMA_VERSION}")
        common.say(f"  orphan rows: {len(report.orphans) or 'none'}")
        common.say(f"  bad values:  {len(report.values) or 'none'}")
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
    from medtrack.core.validate import window_days

    if days is not None:
        window_days(days)
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
