"""SQL for the `doses` table: one row per recorded intake or skip.

What is stored is what happened (medication, when, status, amount, reason, note, zone).
Which slot a record answers is derived on every read (`core.slots.judge`), so reads
take a window of time: the records taken in it, through the index
``doses(medication_id, taken_at)``. The column `scheduled_for` is kept for files and
exports of earlier versions (what was said when the record was written) and is no
longer written or read.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from datetime import datetime

from medtrack.core.slots import DoseRecord
from medtrack.core.timeparse import to_utc_text

_COLUMNS = (
    "d.id, d.medication_id, m.name, d.regimen_id, d.taken_at, d.status, "
    "d.amount, d.unit, d.skip_reason, d.note, d.zone, d.recorded_at"
)


def _rows(conn: sqlite3.Connection, sql: str, params: Iterable[object]) -> list[tuple]:
    """Plain tuples (no sqlite3.Row): a long window reads many rows at once."""
    cursor = conn.cursor()
    cursor.row_factory = None
    return cursor.execute(sql, list(params)).fetchall()


def _record(row: tuple) -> DoseRecord:
    (
        dose_id,
        medication_id,
        name,
        regimen_id,
        taken_at,
        status,
        amount,
        unit,
        skip_reason,
        note,
        zone,
        recorded_at,
    ) = row
    # Our own stored form (`...Z`, checked on write by to_utc_text): fromisoformat reads it.
    # Positional, in DoseRecord's field order: a decade is 133k records.
    return DoseRecord(
        name,
        datetime.fromisoformat(taken_at),
        status,
        regimen_id,
        amount,
        unit,
        skip_reason,
        note,
        zone,
        datetime.fromisoformat(recorded_at),
        medication_id,
        dose_id,
    )


def add_dose(
    conn: sqlite3.Connection,
    *,
    medication_id: int,
    regimen_id: int | None,
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
        "INSERT INTO doses (medication_id, regimen_id, taken_at, status, amount, "
        "unit, skip_reason, note, zone, recorded_at, source) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            medication_id,
            regimen_id,
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
    """Records taken in [start, end), ordered by time taken, then id."""
    sql = (
        f"SELECT {_COLUMNS} FROM doses d JOIN medications m ON m.id = d.medication_id "
        "WHERE d.taken_at >= ? AND d.taken_at < ?"
    )
    params: list[object] = [to_utc_text(start), to_utc_text(end)]
    if medication_ids is not None:
        ids = list(medication_ids)
        if not ids:
            return []
        sql += f" AND d.medication_id IN ({','.join('?' * len(ids))})"
        params += ids
    rows = _rows(conn, sql + " ORDER BY d.taken_at, d.id", params)
    return [_record(row) for row in rows]


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


def first_taken(conn: sqlite3.Connection, medication_ids: Iterable[int]) -> dict[int, datetime]:
    """When each medication's first dose was taken (initiation), where one was: one
    short walk of the (medication_id, taken_at) index per medication."""
    found = {}
    for medication_id in medication_ids:
        row = conn.execute(
            "SELECT taken_at FROM doses WHERE medication_id = ? AND status = 'taken' "
            "ORDER BY taken_at LIMIT 1",
            (medication_id,),
        ).fetchone()
        if row is not None:
            found[medication_id] = datetime.fromisoformat(row[0])
    return found
