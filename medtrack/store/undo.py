"""Generic undo: find the record to take back and delete it, keeping it in `history`.

Any table a person writes one row at a time can be undone. The latest record is the
one recorded last (``recorded_at``, then ``id``) across all of them.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from medtrack.errors import BadValue, NotFound
from medtrack.store import repo

# kind the person types -> table; every table has id, recorded_at and the instant column.
KINDS: dict[str, str] = {
    "dose": "doses",
    "symptom": "symptoms",
    "side-effect": "side_effects",
    "measurement": "measurements",
    "checkin": "checkins",
    "note": "notes",
    "visit": "visits",
    "refill": "refills",
}


@dataclass(frozen=True)
class UndoTarget:
    """One record that undo would remove: its kind, row, and medication name if any."""

    kind: str
    row: dict[str, Any]
    medication: str | None = None


def check_kind(kind: str) -> str:
    cleaned = kind.strip().lower().replace("_", "-")
    aliases = {"doses": "dose", "side-effects": "side-effect", "sideeffect": "side-effect"}
    cleaned = aliases.get(cleaned, cleaned)
    if cleaned not in KINDS:
        raise BadValue(f"unknown kind '{kind}'; use one of: {', '.join(KINDS)}")
    return cleaned


def _medication_name(conn: sqlite3.Connection, row: dict[str, Any]) -> str | None:
    med_id = row.get("medication_id")
    if med_id is None:
        return None
    found = conn.execute("SELECT name FROM medications WHERE id = ?", (med_id,)).fetchone()
    return None if found is None else found[0]


def latest(conn: sqlite3.Connection) -> UndoTarget:
    """The most recently recorded record of any kind, or NotFound when there is none."""
    parts = [
        f"SELECT '{kind}' AS kind, id, recorded_at FROM {table}" for kind, table in KINDS.items()
    ]
    sql = " UNION ALL ".join(parts) + " ORDER BY recorded_at DESC, id DESC LIMIT 1"
    found = conn.execute(sql).fetchone()
    if found is None:
        raise NotFound("nothing to undo: no record has been made yet")
    return find(conn, found[0], found[1])


def find(conn: sqlite3.Connection, kind: str, record_id: int) -> UndoTarget:
    kind = check_kind(kind)
    row = repo.fetch_row(conn, KINDS[kind], record_id)
    if row is None:
        raise NotFound(f"there is no {kind} with id {record_id}")
    return UndoTarget(kind=kind, row=row, medication=_medication_name(conn, row))


def remove(conn: sqlite3.Connection, target: UndoTarget, *, now: datetime) -> None:
    """Delete the record; its full row stays in `history` (action 'delete')."""
    repo.delete_row(conn, KINDS[target.kind], target.row["id"], now=now)
