"""SQL for the `doses` table: one row per recorded intake or skip.

Reads take a window and use the indexes ``doses(medication_id, taken_at)`` and
``doses(medication_id, scheduled_for)``: a window's rows come in one or two queries,
never one query per slot or per row.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from datetime import datetime

from medtrack.core.adherence import DoseRecord
from medtrack.core.timeparse import to_utc_text

_COLUMNS = (
    "d.id, d.medication_id, m.name, d.regimen_id, d.scheduled_for, d.taken_at, d.status, "
    "d.amount, d.unit, d.skip_reason, d.note, d.zone, d.recorded_at"
)


def _instant(text: str) -> datetime:
    # Our own stored form (`...Z`, checked on write by to_utc_text): fromisoformat reads it
    # directly, several times faster than the validating from_utc_text over 100k rows.
    return datetime.fromisoformat(text)


def _rows(conn: sqlite3.Connection, sql: str, params: Iterable[object]) -> list[tuple]:
    """Plain tuples (no sqlite3.Row): the summary reads a decade of rows at once."""
    cursor = conn.cursor()
    cursor.row_factory = None
    return cursor.execute(sql, list(params)).fetchall()


def _record(row: tuple) -> DoseRecord:
    (
        dose_id,
        medication_id,
        name,
        regimen_id,
        scheduled_for,
        taken_at,
        status,
        amount,
        unit,
        skip_reason,
        note,
        zone,
        recorded_at,
    ) = tuple(row)
    return DoseRecord(
        id=dose_id,
        medication_id=medication_id,
        medication=name,
        regimen_id=regimen_id,
        scheduled_for=None if scheduled_for is None else _instant(scheduled_for),
        taken_at=_instant(taken_at),
        status=status,
        amount=amount,
        unit=unit,
        skip_reason=skip_reason,
        note=note,
        zone=zone,
        recorded_at=_instant(recorded_at),
    )


def add_dose(
    conn: sqlite3.Connection,
    *,
    medication_id: int,
    regimen_id: int | None,
    scheduled_for: datetime | None,
    taken_at: datetime,
    status: str,
    amount: float | None,
    unit: str | None,
    skip_reason: str | None = None,
    note: str | None = None,
    zone: str,
    now: datetime,
    source: str = "cli",
) -> int:
    """Insert one dose record and return its id."""
    cursor = conn.execute(
        "INSERT INTO doses (medication_id, regimen_id, scheduled_for, taken_at, status, amount, "
        "unit, skip_reason, note, zone, recorded_at, source) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            medication_id,
            regimen_id,
            None if scheduled_for is None else to_utc_text(scheduled_for),
            to_utc_text(taken_at),
            status,
            amount,
            unit,
            skip_reason,
            note,
            zone,
            to_utc_text(now),
            source,
        ),
    )
    assert cursor.lastrowid is not None
    return cursor.lastrowid


def doses_between(
    conn: sqlite3.Connection,
    start: datetime,
    end: datetime,
    medication_ids: Iterable[int] | None = None,
) -> list[DoseRecord]:
    """Records taken in [start, end) or answering a slot in [start, end), by taken_at, id.

    Two range scans on the (medication_id, taken_at) and (medication_id, scheduled_for)
    indexes joined by UNION ALL (the second half skips rows the first already has, so no
    sort-and-dedupe over a decade of rows); medication names come from one small query.
    """
    lo, hi = to_utc_text(start), to_utc_text(end)
    names = dict(_rows(conn, "SELECT id, name FROM medications", ()))
    ids = list(names) if medication_ids is None else [i for i in medication_ids if i in names]
    if not ids:
        return []
    marks = ",".join("?" * len(ids))
    columns = _COLUMNS.replace("m.name", "NULL")
    sql = (
        f"SELECT {columns} FROM doses d "
        f"WHERE d.medication_id IN ({marks}) AND d.taken_at >= ? AND d.taken_at < ? "
        "UNION ALL "
        f"SELECT {columns} FROM doses d "
        f"WHERE d.medication_id IN ({marks}) AND d.scheduled_for >= ? AND d.scheduled_for < ? "
        "AND NOT (d.taken_at >= ? AND d.taken_at < ?)"
    )
    rows = _rows(conn, sql, [*ids, lo, hi, *ids, lo, hi, lo, hi])
    rows.sort(key=lambda row: (row[5], row[0]))
    return [_record((row[0], row[1], names[row[1]], *row[3:])) for row in rows]


def slot_answered(conn: sqlite3.Connection, medication_id: int, scheduled_for: datetime) -> bool:
    """Whether a record already answers this slot (a slot has at most one)."""
    row = conn.execute(
        "SELECT 1 FROM doses WHERE medication_id = ? AND scheduled_for = ? LIMIT 1",
        (medication_id, to_utc_text(scheduled_for)),
    ).fetchone()
    return row is not None


def last_taken(
    conn: sqlite3.Connection, medication_id: int, *, before: datetime | None = None
) -> DoseRecord | None:
    """The latest dose of this medication actually taken (at or before `before`)."""
    sql = (
        f"SELECT {_COLUMNS} FROM doses d JOIN medications m ON m.id = d.medication_id "
        "WHERE d.medication_id = ? AND d.status = 'taken'"
    )
    params: list[object] = [medication_id]
    if before is not None:
        sql += " AND d.taken_at <= ?"
        params.append(to_utc_text(before))
    rows = _rows(conn, sql + " ORDER BY d.taken_at DESC, d.id DESC LIMIT 1", params)
    return _record(rows[0]) if rows else None


def get_dose(conn: sqlite3.Connection, dose_id: int) -> DoseRecord | None:
    rows = _rows(
        conn,
        f"SELECT {_COLUMNS} FROM doses d JOIN medications m ON m.id = d.medication_id "
        "WHERE d.id = ?",
        (dose_id,),
    )
    return _record(rows[0]) if rows else None
