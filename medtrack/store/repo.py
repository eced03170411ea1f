"""Small typed reads and writes for medications, regimens, settings, zones and history.

Every instant is stored as UTC ISO text (`2026-11-22T08:05:00Z`), which sorts like time.
Updates and deletes write the row's before/after image to `history`, so nothing a
person recorded is silently lost.
"""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from medtrack.core.models import Dose, Medication, Regimen, Schedule, ZoneChange
from medtrack.core.schedule import parse_times_text, times_text
from medtrack.core.timeparse import from_utc_text, to_utc_text
from medtrack.errors import Conflict, UnknownMedication


def _ts(value: datetime | None) -> str | None:
    return None if value is None else to_utc_text(value)


def _dt(value: str | None) -> datetime | None:
    return None if value is None else from_utc_text(value)


# --- history -------------------------------------------------------------------------


def _row_dict(row: sqlite3.Row | None) -> dict[str, Any] | None:
    return None if row is None else dict(row)


def record_history(
    conn: sqlite3.Connection,
    *,
    now: datetime,
    action: str,
    table: str,
    row_id: int | None,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> int:
    """Keep the before/after image of a change in the audit trail; returns its id."""
    import json

    cursor = conn.execute(
        "INSERT INTO history (at, action, table_name, row_id, before, after, command) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            to_utc_text(now),
            action,
            table,
            row_id,
            None if before is None else json.dumps(before, sort_keys=True),
            None if after is None else json.dumps(after, sort_keys=True),
            " ".join(["medtrack", *sys.argv[1:]])[:500],
        ),
    )
    assert cursor.lastrowid is not None
    return cursor.lastrowid


def fetch_row(conn: sqlite3.Connection, table: str, row_id: int) -> dict[str, Any] | None:
    # `table` never comes from the person: callers pass a literal table name.
    row = conn.execute(f"SELECT * FROM {table} WHERE id = ?", (row_id,)).fetchone()
    return _row_dict(row)


def update_row(
    conn: sqlite3.Connection, table: str, row_id: int, changes: dict[str, Any], *, now: datetime
) -> int:
    """Update one row and keep its before/after image in history; returns the history id."""
    before = fetch_row(conn, table, row_id)
    if before is None:
        raise LookupError(f"{table} row {row_id} does not exist")
    assignments = ", ".join(f"{column} = ?" for column in changes)
    conn.execute(f"UPDATE {table} SET {assignments} WHERE id = ?", (*changes.values(), row_id))
    after = fetch_row(conn, table, row_id)
    assert after is not None
    return record_history(
        conn, now=now, action="update", table=table, row_id=row_id, before=before, after=after
    )


def insert_row(
    conn: sqlite3.Connection, table: str, values: dict[str, Any], *, now: datetime
) -> tuple[int, int]:
    """Insert one row and keep it in history; returns (row id, history id)."""
    row_id = _insert(conn, table, values)
    after = fetch_row(conn, table, row_id)
    entry = record_history(
        conn, now=now, action="insert", table=table, row_id=row_id, before=None, after=after
    )
    return row_id, entry


# A plan change (med change, stop, resume, refill) is one history entry of this action
# naming the entries it is made of, so `undo` can take the whole change back.
PLAN_CHANGE = "plan change"
PLAN_UNDONE = "plan change undone"


def record_plan_change(
    conn: sqlite3.Connection, medication_id: int, text: str, entries: list[int], *, now: datetime
) -> int:
    """Keep one plan change (its words, and the history entries it wrote) in history."""
    return record_history(
        conn,
        now=now,
        action=PLAN_CHANGE,
        table="medications",
        row_id=medication_id,
        before=None,
        after={"text": text, "entries": entries},
    )


def delete_row(conn: sqlite3.Connection, table: str, row_id: int, *, now: datetime) -> dict:
    """Delete one row, keeping what it held in history (this is what undo does)."""
    before = fetch_row(conn, table, row_id)
    if before is None:
        raise LookupError(f"{table} row {row_id} does not exist")
    conn.execute(f"DELETE FROM {table} WHERE id = ?", (row_id,))
    record_history(
        conn, now=now, action="delete", table=table, row_id=row_id, before=before, after=None
    )
    return before


# --- settings and zones --------------------------------------------------------------


def get_setting(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
    return None if row is None else row[0]


def all_settings(conn: sqlite3.Connection) -> dict[str, str]:
    return {row[0]: row[1] for row in conn.execute("SELECT key, value FROM settings ORDER BY key")}


def set_setting(conn: sqlite3.Connection, key: str, value: str, *, now: datetime) -> None:
    before = conn.execute("SELECT * FROM settings WHERE key = ?", (key,)).fetchone()
    conn.execute(
        "INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        (key, value, to_utc_text(now)),
    )
    after = conn.execute("SELECT * FROM settings WHERE key = ?", (key,)).fetchone()
    record_history(
        conn,
        now=now,
        action="update" if before else "insert",
        table="settings",
        row_id=None,
        before=_row_dict(before),
        after=_row_dict(after),
    )


def zone_changes(conn: sqlite3.Connection) -> list[ZoneChange]:
    rows = conn.execute("SELECT zone, effective_at FROM zone_changes ORDER BY effective_at, id")
    return [ZoneChange(effective_at=from_utc_text(r[1]), zone=r[0]) for r in rows]


def add_zone_change(
    conn: sqlite3.Connection, zone: str, *, effective_at: datetime, now: datetime
) -> None:
    conn.execute(
        "INSERT INTO zone_changes (zone, effective_at, recorded_at) VALUES (?, ?, ?)",
        (zone, to_utc_text(effective_at), to_utc_text(now)),
    )


def drop_last_zone_change(conn: sqlite3.Connection) -> None:
    """Remove the latest change of zone (config set timezone --since corrects it)."""
    conn.execute(
        "DELETE FROM zone_changes WHERE id = "
        "(SELECT id FROM zone_changes ORDER BY effective_at DESC, id DESC LIMIT 1)"
    )


# Planned instants (typed as wall times) that a new zone rereads: table, column.
_PLANNED = (
    ("regimens", "starts_at"),
    ("regimens", "ends_at"),
    ("medications", "stopped_at"),
    ("visits", "at"),
)


def reread_planned(
    conn: sqlite3.Connection, after: datetime, move: Callable[[datetime], datetime]
) -> int:
    """Move every planned instant later than `after` to `move(instant)`, so that a
    planned date keeps its wall time in the zone in force when it arrives; a visit's
    zone follows. Returns how many values moved."""
    moved = 0
    for table, column in _PLANNED:
        rows = conn.execute(
            f"SELECT id, {column} FROM {table} WHERE {column} > ?", (to_utc_text(after),)
        ).fetchall()
        for row_id, text in rows:
            new = move(from_utc_text(text))
            if to_utc_text(new) == text:
                continue
            conn.execute(
                f"UPDATE {table} SET {column} = ? WHERE id = ?", (to_utc_text(new), row_id)
            )
            if table == "visits":
                zone = getattr(new.tzinfo, "key", None)
                conn.execute("UPDATE visits SET zone = ? WHERE id = ?", (zone, row_id))
            moved += 1
    return moved


# --- medications and regimens --------------------------------------------------------


@lru_cache(maxsize=256)
def _schedule(rrule: str | None, times: str | None, as_needed: bool) -> Schedule:
    """One Schedule per stored schedule: a decade of dose changes repeats a handful."""
    return Schedule(rrule=rrule, times=parse_times_text(times), as_needed=as_needed)


def _regimen_from_row(row: sqlite3.Row, medication: str) -> Regimen:
    interval = row["min_interval_minutes"]
    window = row["on_time_window_minutes"]
    return Regimen(
        id=row["id"],
        medication=medication,
        dose=Dose(row["dose_amount"], row["dose_unit"]),
        schedule=_schedule(row["schedule_rrule"], row["schedule_times"], bool(row["as_needed"])),
        starts_at=from_utc_text(row["starts_at"]),
        ends_at=_dt(row["ends_at"]),
        max_per_day=row["max_per_day"],
        min_interval=None if interval is None else timedelta(minutes=interval),
        units_per_dose=row["units_per_dose"],
        reason=row["reason"],
        on_time_window=None if window is None else timedelta(minutes=window),
    )


def _medication_from_row(row: sqlite3.Row, regimens: Sequence[Regimen]) -> Medication:
    return Medication(
        id=row["id"],
        name=row["name"],
        kind=row["kind"],
        form=row["form"],
        purpose=row["purpose"],
        prescriber=row["prescriber"],
        controlled=bool(row["controlled"]),
        notes=row["notes"],
        created_at=_dt(row["created_at"]),
        stopped_at=_dt(row["stopped_at"]),
        stop_reason=row["stop_reason"],
        regimens=tuple(regimens),
    )


def medication_names(conn: sqlite3.Connection, *, include_stopped: bool = True) -> list[str]:
    sql = "SELECT name FROM medications"
    if not include_stopped:
        sql += " WHERE stopped_at IS NULL"
    return [row[0] for row in conn.execute(sql + " ORDER BY name COLLATE NOCASE")]


def load_medications(
    conn: sqlite3.Connection,
    *,
    include_stopped: bool = True,
    ids: Iterable[int] | None = None,
) -> list[Medication]:
    """Medications with their whole regimen history (a schedule's rhythm counts from the
    first of a run of plans), in two queries."""
    sql = "SELECT * FROM medications"
    clauses, params = [], []
    if not include_stopped:
        clauses.append("stopped_at IS NULL")
    if ids is not None:
        ids = list(ids)
        clauses.append(f"id IN ({','.join('?' * len(ids))})")
        params.extend(ids)
    if clauses:
        sql += " WHERE " + " AND ".join(clauses)
    med_rows = conn.execute(sql + " ORDER BY name COLLATE NOCASE", params).fetchall()
    if not med_rows:
        return []
    names = {row["id"]: row["name"] for row in med_rows}
    by_med: dict[int, list[Regimen]] = {med_id: [] for med_id in names}
    placeholders = ",".join("?" * len(names))
    sql = f"SELECT * FROM regimens WHERE medication_id IN ({placeholders})"
    params: list[Any] = list(names)
    for row in conn.execute(sql + " ORDER BY starts_at, id", params):
        by_med[row["medication_id"]].append(_regimen_from_row(row, names[row["medication_id"]]))
    return [_medication_from_row(row, by_med[row["id"]]) for row in med_rows]


def find_medication(conn: sqlite3.Connection, name: str, *, prefix: bool = True) -> Medication:
    """The medication called `name` (any case), or the one whose name it begins (any case)
    when `prefix` and only one does; an ambiguous beginning names the candidates, an
    unknown name gets UnknownMedication with a suggestion. Imports pass prefix=False: a
    file names a medication in full."""
    from medtrack.core.meds import match_medication_name

    wanted = " ".join(name.split())
    names = medication_names(conn)
    found = match_medication_name(wanted, names if prefix else [])
    if found is None:
        row = conn.execute(
            "SELECT id FROM medications WHERE name = ? COLLATE NOCASE", (wanted,)
        ).fetchone()
    else:
        row = conn.execute("SELECT id FROM medications WHERE name = ?", (found,)).fetchone()
    if row is None:
        raise UnknownMedication(name, names)
    return load_medications(conn, ids=[row[0]])[0]


def _regimen_values(regimen: Regimen, medication_id: int, now: datetime) -> dict[str, Any]:
    return {
        "medication_id": medication_id,
        "starts_at": to_utc_text(regimen.starts_at),
        "ends_at": _ts(regimen.ends_at),
        "dose_amount": regimen.dose.amount,
        "dose_unit": regimen.dose.unit,
        "schedule_rrule": regimen.schedule.rrule,
        "schedule_times": times_text(regimen.schedule.times) or None,
        "as_needed": int(regimen.schedule.as_needed),
        "max_per_day": regimen.max_per_day,
        "min_interval_minutes": None
        if regimen.min_interval is None
        else int(regimen.min_interval.total_seconds() // 60),
        "units_per_dose": regimen.units_per_dose,
        "on_time_window_minutes": None
        if regimen.on_time_window is None
        else int(regimen.on_time_window.total_seconds() // 60),
        "reason": regimen.reason,
        "created_at": to_utc_text(now),
    }


def _insert(conn: sqlite3.Connection, table: str, values: dict[str, Any]) -> int:
    columns = ", ".join(values)
    marks = ", ".join("?" * len(values))
    cursor = conn.execute(
        f"INSERT INTO {table} ({columns}) VALUES ({marks})", list(values.values())
    )
    assert cursor.lastrowid is not None
    return cursor.lastrowid


def add_medication(
    conn: sqlite3.Connection, medication: Medication, regimen: Regimen, *, now: datetime
) -> int:
    """Insert a medication and its first regimen; names are unique in any case."""
    existing = conn.execute(
        "SELECT name FROM medications WHERE name = ? COLLATE NOCASE", (medication.name,)
    ).fetchone()
    if existing:
        raise Conflict(
            f"'{existing[0]}' is already recorded; use 'medtrack med change {existing[0]}' "
            "for a new dose or schedule"
        )
    med_id = _insert(
        conn,
        "medications",
        {
            "name": medication.name,
            "kind": medication.kind,
            "form": medication.form,
            "purpose": medication.purpose,
            "prescriber": medication.prescriber,
            "controlled": int(medication.controlled),
            "notes": medication.notes,
            "created_at": to_utc_text(now),
        },
    )
    _insert(conn, "regimens", _regimen_values(regimen, med_id, now))
    return med_id


def change_regimen(
    conn: sqlite3.Connection, medication: Medication, new: Regimen, *, now: datetime
) -> list[int]:
    """Close the regimen in force at `new.starts_at` and open `new` from then.

    A plan already made for later (the next titration step) stays: the new regimen
    runs until that one starts. Nothing is overwritten; closing is an update kept
    in history.
    """
    assert medication.id is not None
    at = new.starts_at
    later = [r for r in medication.regimens if r.starts_at > at]
    entries = []
    for regimen in medication.regimens:
        if regimen.starts_at <= at and (regimen.ends_at is None or regimen.ends_at > at):
            assert regimen.id is not None
            changes = {"ends_at": to_utc_text(at)}
            entries.append(update_row(conn, "regimens", regimen.id, changes, now=now))
    ends_at = min((r.starts_at for r in later), default=None)
    values = _regimen_values(new._replace(ends_at=ends_at), medication.id, now)
    entries.append(insert_row(conn, "regimens", values, now=now)[1])
    return entries


def stop_medication(
    conn: sqlite3.Connection,
    medication: Medication,
    *,
    at: datetime,
    reason: str | None,
    now: datetime,
) -> list[int]:
    assert medication.id is not None
    entries = []
    for regimen in medication.regimens:
        if regimen.ends_at is None or regimen.ends_at > at:
            assert regimen.id is not None
            end = max(at, regimen.starts_at)
            changes = {"ends_at": to_utc_text(end)}
            entries.append(update_row(conn, "regimens", regimen.id, changes, now=now))
    changes = {"stopped_at": to_utc_text(at), "stop_reason": reason}
    entries.append(update_row(conn, "medications", medication.id, changes, now=now))
    return entries


def resume_medication(
    conn: sqlite3.Connection, medication: Medication, regimen: Regimen, *, now: datetime
) -> list[int]:
    assert medication.id is not None
    changes = {"stopped_at": None, "stop_reason": None}
    entries = [update_row(conn, "medications", medication.id, changes, now=now)]
    entries.append(
        insert_row(conn, "regimens", _regimen_values(regimen, medication.id, now), now=now)[1]
    )
    return entries
