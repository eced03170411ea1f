"""Generic undo: find the record or plan change to take back, keeping it in `history`.

Any table a person writes one row at a time can be undone, and so can a change of plan
(`med change`, `stop`, `resume`: one "plan change" entry in history naming the entries
it wrote). The latest is the one made last: records by ``recorded_at`` (then ``id``),
plan changes by their history time; a plan change made in the same second as a record
counts as the later (it is the command that also moves how records are judged).
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
    """The most recent record of any kind or plan change, or NotFound when there is none."""
    parts = [
        f"SELECT '{kind}' AS kind, id, recorded_at FROM {table}" for kind, table in KINDS.items()
    ]
    sql = " UNION ALL ".join(parts) + " ORDER BY recorded_at DESC, id DESC LIMIT 1"
    found = conn.execute(sql).fetchone()
    plan = conn.execute(
        "SELECT id, at FROM history WHERE action = ? AND id NOT IN "
        "(SELECT row_id FROM history WHERE action = ?) ORDER BY id DESC LIMIT 1",
        (repo.PLAN_CHANGE, repo.PLAN_UNDONE),
    ).fetchone()
    if plan is not None and (found is None or plan[1] >= found[2]):
        return _plan_target(conn, plan[0])
    if found is None:
        raise NotFound("nothing to undo: no record has been made yet")
    return find(conn, found[0], found[1])


def _plan_target(conn: sqlite3.Connection, entry_id: int) -> UndoTarget:
    import json

    row = repo.fetch_row(conn, "history", entry_id)
    assert row is not None
    after = json.loads(row["after"])
    plan = {"id": entry_id, "text": after["text"], "entries": after["entries"]}
    return UndoTarget(kind="plan", row=plan, medication=_medication_name(conn, row))


def find(conn: sqlite3.Connection, kind: str, record_id: int) -> UndoTarget:
    if kind == "plan":
        return _plan_target(conn, record_id)
    kind = check_kind(kind)
    row = repo.fetch_row(conn, KINDS[kind], record_id)
    if row is None:
        raise NotFound(f"there is no {kind} with id {record_id}")
    return UndoTarget(kind=kind, row=row, medication=_medication_name(conn, row))


def remove(conn: sqlite3.Connection, target: UndoTarget, *, now: datetime) -> None:
    """Delete the record, or take a plan change back entry by entry, newest first (an
    update gets its row's earlier values back, an inserted row is deleted); whatever is
    removed or rewritten stays in `history`."""
    if target.kind != "plan":
        repo.delete_row(conn, KINDS[target.kind], target.row["id"], now=now)
        return
    import json

    for entry_id in reversed(target.row["entries"]):
        entry = repo.fetch_row(conn, "history", entry_id)
        assert entry is not None
        table, row_id = entry["table_name"], entry["row_id"]
        if entry["action"] == "insert":
            repo.delete_row(conn, table, row_id, now=now)
        elif entry["action"] == "update":
            before = json.loads(entry["before"])
            after = json.loads(entry["after"])
            changed = {k: before[k] for k in before if before[k] != after.get(k)}
            if changed:
                repo.update_row(conn, table, row_id, changed, now=now)
    repo.record_history(
        conn,
        now=now,
        action=repo.PLAN_UNDONE,
        table="history",
        row_id=target.row["id"],
        before=None,
        after=None,
    )
