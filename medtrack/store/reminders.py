"""SQL for `medtrack remind`: what was sent, upcoming visits, and the claims that let
only one of several concurrent runs send each reminder.

A reminder's row goes through three states in `reminders_sent.channel`: ``pending``
while one run holds its claim and is sending it, then the back end that delivered it
(``stdout``, ``desktop``, ``apprise``, ``exec``), or ``failed`` when it was only
printed as a fallback. Only delivered rows count as sent (issue 18).
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

from medtrack.core.reminders import SentReminder, Visit
from medtrack.core.timeparse import from_utc_text, to_utc_text
from medtrack.errors import DatabaseRefused

PENDING, FAILED, ABANDONED = "pending", "failed", "abandoned"
# Rows in these states were never delivered: they don't count as sent.
_NOT_SENT = (PENDING, FAILED, ABANDONED)
# A claim held longer than this belongs to a run that died mid-send (every back end
# gives up within seconds): it is freed so the reminder is tried again.
STALE_CLAIM = timedelta(minutes=10)


def require_database(path: Path) -> None:
    """`remind` reads the person's file and never creates one: under cron a wrong or
    missing path would otherwise make an empty database and remind of nothing."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise DatabaseRefused(
            f"no database at {path}; remind never creates one (add a medication first, "
            "or give the --db or --profile that holds your record)"
        ) from None
    except OSError as exc:
        raise DatabaseRefused(f"can't read {path}: {exc.strerror or exc}") from None
    if path.is_dir():
        raise DatabaseRefused(f"{path} is a folder, not a database file")
    if size == 0:
        raise DatabaseRefused(
            f"{path} is empty, not a medtrack database yet; remind never creates one "
            "(add a medication first)"
        )


def sent_since(conn: sqlite3.Connection, since: datetime) -> list[SentReminder]:
    rows = conn.execute(
        "SELECT kind, medication_id, scheduled_for, sent_at FROM reminders_sent "
        "WHERE sent_at >= ? AND ifnull(channel, '') NOT IN (?, ?, ?) ORDER BY sent_at, id",
        (to_utc_text(since), *_NOT_SENT),
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


def free_stale_claims(conn: sqlite3.Connection, now: datetime) -> None:
    """Free the claims of runs that died while sending (see STALE_CLAIM)."""
    conn.execute(
        "UPDATE reminders_sent SET channel = ?, attempt = NULL WHERE channel = ? AND sent_at < ?",
        (ABANDONED, PENDING, to_utc_text(now - STALE_CLAIM)),
    )


def claim(
    conn: sqlite3.Connection,
    *,
    kind: str,
    medication_id: int | None,
    scheduled_for: datetime | None,
    attempt: int,
    now: datetime,
    channel: str = PENDING,
) -> int | None:
    """Claim one attempt of one reminder for this run; its row id, or None when another
    run holds it already. The UNIQUE index of m005 decides, atomically."""
    cursor = conn.execute(
        "INSERT OR IGNORE INTO reminders_sent "
        "(kind, medication_id, scheduled_for, channel, sent_at, attempt) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (
            kind,
            medication_id,
            None if scheduled_for is None else to_utc_text(scheduled_for),
            channel,
            to_utc_text(now),
            attempt,
        ),
    )
    return cursor.lastrowid if cursor.rowcount == 1 else None


def settle(conn: sqlite3.Connection, row_id: int, channel: str | None, sent_at: datetime) -> None:
    """After sending: the back end that delivered it, or (None) a failure, which frees
    the claim so a later run tries this attempt again."""
    if channel is None:
        conn.execute(
            "UPDATE reminders_sent SET channel = ?, attempt = NULL WHERE id = ?",
            (FAILED, row_id),
        )
    else:
        conn.execute(
            "UPDATE reminders_sent SET channel = ?, sent_at = ? WHERE id = ?",
            (channel, to_utc_text(sent_at), row_id),
        )


def visits_between(conn: sqlite3.Connection, start: datetime, end: datetime) -> list[Visit]:
    rows = conn.execute(
        "SELECT at, with_whom, kind FROM visits WHERE at >= ? AND at < ? ORDER BY at",
        (to_utc_text(start), to_utc_text(end)),
    )
    return [Visit(at=from_utc_text(r[0]), with_whom=r[1], kind=r[2]) for r in rows]
