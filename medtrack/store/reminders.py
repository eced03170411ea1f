"""SQL for `medtrack remind`: what was sent, upcoming visits."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from medtrack.core.reminders import SentReminder, Visit
from medtrack.core.timeparse import from_utc_text, to_utc_text


def sent_since(conn: sqlite3.Connection, since: datetime) -> list[SentReminder]:
    rows = conn.execute(
        "SELECT kind, medication_id, scheduled_for, sent_at FROM reminders_sent "
        "WHERE sent_at >= ? ORDER BY sent_at, id",
        (to_utc_text(since),),
    )
    return [
        SentReminder(
            kind=row[0],
            medication_id=row[1],
            scheduled_for=None if row[2] is None else from_utc_text(row[2]),
            sent_at=from_utc_text(row[3]),
        )
        for row in rows
    ]


def record_sent(
    conn: sqlite3.Connection,
    *,
    kind: str,
    medication_id: int | None,
    scheduled_for: datetime | None,
    channel: str,
    sent_at: datetime,
) -> None:
    conn.execute(
        "INSERT INTO reminders_sent (kind, medication_id, scheduled_for, channel, sent_at) "
        "VALUES (?, ?, ?, ?, ?)",
        (
            kind,
            medication_id,
            None if scheduled_for is None else to_utc_text(scheduled_for),
            channel,
            to_utc_text(sent_at),
        ),
    )


def visits_between(conn: sqlite3.Connection, start: datetime, end: datetime) -> list[Visit]:
    rows = conn.execute(
        "SELECT at, with_whom, kind FROM visits WHERE at >= ? AND at < ? ORDER BY at",
        (to_utc_text(start), to_utc_text(end)),
    )
    return [Visit(at=from_utc_text(r[0]), with_whom=r[1], kind=r[2]) for r in rows]
