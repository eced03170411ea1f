"""Whole-database work: every table out and back in, merges, integrity checks and the
audit trail (backups and restore: store/backups.py).

Table names here come from `sqlite_master` or from literals, never from the person.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from medtrack.core.timeparse import to_utc_text
from medtrack.core.transfer import Column, DoseLine
from medtrack.errors import BadValue, Conflict, MedtrackError, NotFound
from medtrack.store import repo

# Parents before children, so rows can be inserted in this order with foreign keys on.
TABLE_ORDER = (
    "settings",
    "zone_changes",
    "medications",
    "regimens",
    "doses",
    "symptoms",
    "side_effects",
    "measurements",
    "checkins",
    "notes",
    "visits",
    "refills",
    "reminders_sent",
    "history",
)

# reminders_sent.medication_id names a medication but m001 declares no foreign key.
_EXTRA_REFERENCES = {"reminders_sent": {"medication_id": "medications"}}

# What makes two rows "the same record" when merging an export into a profile that
# already holds data; references are compared after mapping to this profile's ids.
_NATURAL_KEYS: Mapping[str, tuple[str, ...]] = {
    "settings": ("key",),
    "zone_changes": ("zone", "effective_at"),
    "medications": ("name",),
    "regimens": ("medication_id", "starts_at"),
    "doses": ("medication_id", "taken_at", "status"),
    "symptoms": ("name", "at"),
    "side_effects": ("name", "medication_id", "started_at"),
    "measurements": ("kind", "at"),
    "checkins": ("questionnaire", "at"),
    "notes": ("text", "at"),
    "visits": ("at", "kind"),
    "refills": ("medication_id", "at"),
    "reminders_sent": ("medication_id", "scheduled_for", "kind", "channel"),
    "history": ("at", "action", "table_name", "row_id", "before", "after"),
}

# The zone the record started in is written automatically on the first write (epoch);
# an import into an otherwise empty profile replaces it with the exported timeline.
_AUTOMATIC_ZONE_START = "1970-01-01T00:00:00Z"

# A merge fills empty fields of a record already here, except those that change the
# state of the plan (stopping a medication, ending a regimen): those need med stop/change.
_NO_GAP_FILL = frozenset({"stopped_at", "stop_reason", "ends_at"})


# --- layout --------------------------------------------------------------------------------


def table_names(conn: sqlite3.Connection) -> list[str]:
    """Every medtrack table, parents first (tables a later migration adds come last)."""
    present = {
        row[0]
        for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    }
    ordered = [name for name in TABLE_ORDER if name in present]
    return ordered + sorted(present - set(ordered))


def layout(conn: sqlite3.Connection) -> dict[str, tuple[Column, ...]]:
    """Each table's columns as declared."""
    return {table: layout_of(conn, table) for table in table_names(conn)}


def references(conn: sqlite3.Connection) -> dict[str, dict[str, str]]:
    """table -> {column: referenced table}, declared or known."""
    result: dict[str, dict[str, str]] = {}
    for table in table_names(conn):
        refs = {
            row["from"]: row["table"] for row in _rows(conn, f"PRAGMA foreign_key_list([{table}])")
        }
        refs.update(_EXTRA_REFERENCES.get(table, {}))
        if refs:
            result[table] = refs
    return result


def _rows(conn: sqlite3.Connection, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
    cursor = conn.execute(sql, params)
    cursor.row_factory = sqlite3.Row  # type: ignore[assignment]
    return cursor.fetchall()


def _key_column(columns: Sequence[Column]) -> str | None:
    return next((c.name for c in columns if c.pk), None)


# --- whole-table export and import -------------------------------------------------------


def dump_tables(conn: sqlite3.Connection) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table, as stored, in primary-key order."""
    return {table: list(table_rows(conn, table)) for table in table_names(conn)}


def table_rows(
    conn: sqlite3.Connection, table: str, batch_size: int = 1000
) -> Iterator[dict[str, Any]]:
    """One table's rows as stored, in primary-key order, read lazily from the cursor."""
    for batch in table_batches(conn, table, batch_size):
        yield from batch


def table_batches(
    conn: sqlite3.Connection, table: str, batch_size: int = 1000
) -> Iterator[list[dict[str, Any]]]:
    """One table's rows in primary-key order, `batch_size` at a time, so a decade of
    doses is never all in memory at once (the caller's transaction keeps them consistent)."""
    columns = layout_of(conn, table)
    order = _key_column(columns) or "rowid"
    names = tuple(c.name for c in columns)
    cursor = conn.execute(f"SELECT * FROM [{table}] ORDER BY [{order}]")
    cursor.row_factory = None
    while batch := cursor.fetchmany(batch_size):
        yield [dict(zip(names, row, strict=True)) for row in batch]


def layout_of(conn: sqlite3.Connection, table: str) -> tuple[Column, ...]:
    """One table's columns as declared."""
    return tuple(
        Column(
            name=row["name"],
            type=(row["type"] or "TEXT").upper(),
            notnull=bool(row["notnull"]),
            has_default=row["dflt_value"] is not None,
            pk=bool(row["pk"]),
        )
        for row in _rows(conn, f"PRAGMA table_info([{table}])")
    )


def is_empty(conn: sqlite3.Connection) -> bool:
    """True when nothing has been recorded (the automatic starting zone does not count)."""
    for table in table_names(conn):
        if table == "zone_changes":
            sql = "SELECT count(*) FROM zone_changes WHERE effective_at != ?"
            count = conn.execute(sql, (_AUTOMATIC_ZONE_START,)).fetchone()[0]
        else:
            count = conn.execute(f"SELECT count(*) FROM [{table}]").fetchone()[0]
        if count:
            return False
    return True


def _insert(conn: sqlite3.Connection, table: str, values: Mapping[str, Any]) -> int:
    columns = ", ".join(f"[{c}]" for c in values)
    marks = ", ".join("?" * len(values))
    cursor = conn.execute(
        f"INSERT INTO [{table}] ({columns}) VALUES ({marks})", list(values.values())
    )
    return int(cursor.lastrowid or 0)


def load_into_empty(conn: sqlite3.Connection, tables: Mapping[str, list[dict[str, Any]]]) -> int:
    """Insert every row with its own id into an empty profile; returns the row count.

    Ids are kept, so references and the history trail stay exactly as exported.
    """
    names = table_names(conn)
    return load_rows_into_empty(conn, ((t, row) for t in names for row in tables.get(t, [])))


def load_rows_into_empty(
    conn: sqlite3.Connection, rows: Iterable[tuple[str, Mapping[str, Any]]]
) -> int:
    """`load_into_empty` for (table, row) pairs coming one at a time, parents' tables
    first (issue 9: a decade's export is inserted as it is read, never held whole)."""
    if not is_empty(conn):
        raise Conflict(
            "this profile already holds records; add the file's missing records with "
            "'medtrack import FILE --merge', or import into a new profile (--profile NAME)"
        )
    conn.execute("DELETE FROM zone_changes")
    count = 0
    batch: list[Mapping[str, Any]] = []
    table, first = "", 1  # the batch's table and the number of its first row there
    for name, row in rows:
        if batch and (
            name != table or len(batch) == _INSERT_BATCH or row.keys() != batch[0].keys()
        ):
            _insert_batch(conn, table, batch, first)
            first = first + len(batch) if name == table else 1
            batch = []
        table = name
        batch.append(row)
        count += 1
    if batch:
        _insert_batch(conn, table, batch, first)
    return count


_INSERT_BATCH = 500


def _insert_batch(
    conn: sqlite3.Connection, table: str, rows: Sequence[Mapping[str, Any]], first: int
) -> None:
    """Rows with the same columns in one executemany; on a refusal the batch is undone
    and redone row by row, to name the row at fault."""
    columns = ", ".join(f"[{c}]" for c in rows[0])
    marks = ", ".join("?" * len(rows[0]))
    sql = f"INSERT INTO [{table}] ({columns}) VALUES ({marks})"
    conn.execute("SAVEPOINT import_batch")
    try:
        conn.executemany(sql, [tuple(row.values()) for row in rows])
    except sqlite3.IntegrityError:
        conn.execute("ROLLBACK TO import_batch")
        conn.execute("RELEASE import_batch")
        for index, row in enumerate(rows, start=first):
            _insert_checked(conn, table, row, index)
        last = first + len(rows) - 1
        raise BadValue(f"not a valid medtrack export: {table} rows {first}-{last}") from None
    conn.execute("RELEASE import_batch")


def _insert_checked(
    conn: sqlite3.Connection, table: str, row: Mapping[str, Any], index: int
) -> int:
    try:
        return _insert(conn, table, row)
    except sqlite3.IntegrityError as exc:
        raise BadValue(f"not a valid medtrack export: {table} row {index}: {exc}") from None


@dataclass
class MergeCounts:
    added: dict[str, int] = field(default_factory=dict)
    completed: dict[str, int] = field(default_factory=dict)
    present: dict[str, int] = field(default_factory=dict)
    conflicts: dict[str, int] = field(default_factory=dict)


def merge(
    conn: sqlite3.Connection, tables: Mapping[str, list[dict[str, Any]]], *, now: datetime
) -> MergeCounts:
    """Add the document's records that this profile lacks; never overwrite a value.

    A record already here (same natural key, e.g. a dose of the same medication at the
    same instant with the same status) gets only its empty fields filled from the file
    (a stop date, a resolution), through repo.update_row so history keeps before/after.
    New records get new ids, with their references mapped to this profile's ids.
    """
    counts = MergeCounts()
    refs = references(conn)
    cols = layout(conn)
    id_map: dict[str, dict[Any, Any]] = {}
    for table in table_names(conn):
        key_column = _key_column(cols[table])
        id_map[table] = {}
        natural = _NATURAL_KEYS.get(table) or tuple(c.name for c in cols[table] if not c.pk)
        for index, row in enumerate(tables.get(table, []), start=1):
            values = dict(row)
            for column, target in refs.get(table, {}).items():
                if values.get(column) is not None:
                    values[column] = id_map[target][values[column]]
            if (
                table == "doses"
                and row.get("regimen_id") is not None
                and values["regimen_id"] is None
            ):
                values["regimen_id"] = _regimen_in_force(
                    conn, values["medication_id"], row["taken_at"]
                )
            existing = _find_same(conn, table, natural, values)
            if existing is None and table == "regimens" and _overlaps(conn, values):
                # This profile already has its own plan for that time: keep it, never
                # two regimens in force at once; doses are attached by time instead.
                id_map[table][row["id"]] = None
                counts.conflicts[table] = counts.conflicts.get(table, 0) + 1
                continue
            if existing is not None:
                if key_column is not None:
                    id_map[table][row[key_column]] = existing[key_column]
                gaps = {
                    c: v
                    for c, v in values.items()
                    if c != key_column
                    and c not in _NO_GAP_FILL
                    and v is not None
                    and existing.get(c) is None
                }
                if gaps and key_column == "id":
                    repo.update_row(conn, table, existing["id"], gaps, now=now)
                    counts.completed[table] = counts.completed.get(table, 0) + 1
                else:
                    counts.present[table] = counts.present.get(table, 0) + 1
                continue
            if key_column == "id":
                values.pop("id", None)
            new_id = _insert_checked(conn, table, values, index)
            if key_column is not None:
                id_map[table][row[key_column]] = new_id if key_column == "id" else row[key_column]
            counts.added[table] = counts.added.get(table, 0) + 1
    return counts


def _regimen_in_force(conn: sqlite3.Connection, medication_id: int, at: str) -> int | None:
    row = conn.execute(
        "SELECT id FROM regimens WHERE medication_id = ? AND starts_at <= ? "
        "AND (ends_at IS NULL OR ends_at > ?) ORDER BY starts_at DESC LIMIT 1",
        (medication_id, at, at),
    ).fetchone()
    return None if row is None else int(row[0])


def _overlaps(conn: sqlite3.Connection, regimen: Mapping[str, Any]) -> bool:
    end = regimen.get("ends_at")
    row = conn.execute(
        "SELECT 1 FROM regimens WHERE medication_id = ? AND (ends_at IS NULL OR ends_at > ?) "
        "AND (? IS NULL OR starts_at < ?) LIMIT 1",
        (regimen["medication_id"], regimen["starts_at"], end, end),
    ).fetchone()
    return row is not None


def _find_same(
    conn: sqlite3.Connection, table: str, natural: Sequence[str], values: Mapping[str, Any]
) -> dict[str, Any] | None:
    # Medication names are unique in any case, as in repo.add_medication.
    clauses = [
        f"[{c}] = ? COLLATE NOCASE" if (table, c) == ("medications", "name") else f"[{c}] IS ?"
        for c in natural
    ]
    rows = _rows(
        conn,
        f"SELECT * FROM [{table}] WHERE {' AND '.join(clauses)} LIMIT 1",
        [values.get(c) for c in natural],
    )
    return dict(rows[0]) if rows else None


# --- dose CSV ------------------------------------------------------------------------------


def _ts_or_none(value: datetime | None) -> str | None:
    return None if value is None else to_utc_text(value)


@dataclass(frozen=True)
class DoseImport:
    added: int
    duplicates: int


def add_imported_doses(
    conn: sqlite3.Connection,
    lines: Sequence[DoseLine],
    *,
    zone_of: Callable[[datetime], str],
    now: datetime,
) -> DoseImport:
    """Record each CSV line as a dose of a known medication; a line already recorded
    (same medication, instant and status) is skipped, so importing twice adds nothing.

    The amount comes from the regimen in force at that instant. Which slot each dose
    answers is derived on read, as for every record (core.slots.judge).
    """
    added = duplicates = 0
    for line in lines:
        row = conn.execute(
            "SELECT id, name FROM medications WHERE name = ? COLLATE NOCASE", (line.medication,)
        ).fetchone()
        if row is None:
            try:
                repo.find_medication(conn, line.medication, prefix=False)
            except MedtrackError as exc:
                raise BadValue(f"line {line.line}: {exc.message}") from None
        med_id = row[0]
        at = to_utc_text(line.taken_at)
        if conn.execute(
            "SELECT 1 FROM doses WHERE medication_id = ? AND taken_at = ? AND status = ?",
            (med_id, at, line.status),
        ).fetchone():
            duplicates += 1
            continue
        regimen = conn.execute(
            "SELECT id, dose_amount, dose_unit FROM regimens WHERE medication_id = ? "
            "AND starts_at <= ? AND (ends_at IS NULL OR ends_at > ?) ORDER BY starts_at DESC",
            (med_id, at, at),
        ).fetchone()
        if regimen is None and line.status == "taken":
            # As `take` does: a dose outside every plan of that medication is a mistake.
            raise BadValue(f"line {line.line}: {row[1]} has no dose plan at {at}")
        _insert(
            conn,
            "doses",
            {
                "medication_id": med_id,
                "regimen_id": None if regimen is None else regimen[0],
                "taken_at": at,
                "status": line.status,
                "amount": None if regimen is None or line.status != "taken" else regimen[1],
                "unit": None if regimen is None or line.status != "taken" else regimen[2],
                "skip_reason": line.reason,
                "note": line.note,
                "zone": zone_of(line.taken_at),
                "recorded_at": to_utc_text(now),
                "source": "import",
            },
        )
        added += 1
    return DoseImport(added=added, duplicates=duplicates)


# --- files ---------------------------------------------------------------------------------


def write_private_file(path: Path, data: str | bytes) -> None:
    """Write health data readable by its owner only (0600, whatever the umask), atomically:
    a failure leaves any earlier file as it was."""
    if path.is_dir():
        raise BadValue(f"{path} is a folder; name a file")
    if not path.parent.exists():
        raise NotFound(f"can't write {path}: folder {path.parent} does not exist")
    temp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    raw = data.encode("utf-8") if isinstance(data, str) else data
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(raw)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, 0o600)
        os.replace(temp, path)
    except OSError as exc:
        temp.unlink(missing_ok=True)
        raise MedtrackError(f"can't write {path}: {exc.strerror or exc}") from None


# --- check -----------------------------------------------------------------


@dataclass(frozen=True)
class CheckReport:
    path: str
    integrity: list[str]
    application_id: int
    schema_version: int
    known_schema_version: int
    orphans: list[str]
    # Values import and the CLI would refuse (core.validate), one line per row.
    values: list[str] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        found = [f"integrity: {line}" for line in self.integrity]
        if self.schema_version != self.known_schema_version:
            found.append(
                f"schema version {self.schema_version}, expected {self.known_schema_version}"
            )
        found.extend(f"orphan: {line}" for line in self.orphans)
        found.extend(f"value: {line}" for line in self.values)
        return found

    @property
    def ok(self) -> bool:
        return not self.problems


def integrity_problems(conn: sqlite3.Connection) -> list[str]:
    """Lines of `PRAGMA integrity_check` other than 'ok'."""
    lines = [row[0] for row in conn.execute("PRAGMA integrity_check")]
    return [] if lines == ["ok"] else lines


def orphan_rows(conn: sqlite3.Connection) -> list[str]:
    """Rows that point at a row that is not there (or at another medication's regimen)."""
    found = [
        f"{row[0]} row {row[1]} refers to a missing {row[2]} row"
        for row in conn.execute("PRAGMA foreign_key_check")
    ]
    for table, refs in _EXTRA_REFERENCES.items():
        for column, target in refs.items():
            for (row_id,) in conn.execute(
                f"SELECT id FROM [{table}] WHERE [{column}] IS NOT NULL "
                f"AND [{column}] NOT IN (SELECT id FROM [{target}])"
            ):
                found.append(f"{table} row {row_id} refers to a missing {target} row")
    for (dose_id,) in conn.execute(
        "SELECT d.id FROM doses d JOIN regimens r ON r.id = d.regimen_id "
        "WHERE r.medication_id != d.medication_id"
    ):
        found.append(f"doses row {dose_id} refers to a regimen of another medication")
    return found


def value_problems(conn: sqlite3.Connection, now: datetime) -> list[str]:
    """Every stored value the CLI or an import would refuse, by the one validation
    (core.validate), naming table and row id; read a batch at a time."""
    from medtrack.core.validate import rows_problems

    names = table_names(conn)
    return rows_problems(((name, table_rows(conn, name)) for name in names), now)


def check(
    conn: sqlite3.Connection,
    path: Path,
    known_schema_version: int,
    *,
    now: datetime | None = None,
) -> CheckReport:
    """Integrity, schema version, orphans and, with `now`, the values themselves."""
    integrity = integrity_problems(conn)
    return CheckReport(
        path=str(path),
        integrity=integrity,
        application_id=int(conn.execute("PRAGMA application_id").fetchone()[0]),
        schema_version=int(conn.execute("PRAGMA user_version").fetchone()[0]),
        known_schema_version=known_schema_version,
        orphans=orphan_rows(conn),
        values=value_problems(conn, now) if now is not None and not integrity else [],
    )


# --- history -------------------------------------------------------------------------------


def history_since(conn: sqlite3.Connection, since: datetime | None) -> list[dict[str, Any]]:
    """Audit-trail entries from `since` on (all when None), oldest first, with before and
    after decoded."""
    sql = "SELECT * FROM history"
    params: list[Any] = []
    if since is not None:
        sql += " WHERE at >= ?"
        params.append(to_utc_text(since))
    entries = []
    for row in _rows(conn, sql + " ORDER BY at, id", params):
        entry = dict(row)
        for side in ("before", "after"):
            entry[side] = _decode(entry[side])
        entries.append(entry)
    return entries


def _decode(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text
