"""SQL for `medtrack remind`: what was sent, upcoming visits, and the claims that let
only one of several concurrent runs send each reminder.

A reminder's row goes through three states in `reminders_sent.channel`: ``pending``
while one run holds its claim and is sending it, then the back end that delivered it
(``stdout``, ``desktop``, ``apprise``, ``exec``), or ``failed`` when it was only
printed as a fallback. Only delivered rows count as sent (issue 18).

A snooze (issue 21) is a row of kind ``snooze`` too: `sent_at` is when it was given,
`scheduled_for` the slot it holds back, and `attempt` the end of the snooze in Unix
seconds, so the same snooze given twice (a reply read twice) is one row.

Replies read from ntfy are kept in `history` (action ``ntfy reply``, one entry per
message, whatever it did); the id of the last message read is the ``ntfy_since``
setting, and the reply topic the ``ntfy_reply_topic`` setting.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

from medtrack.core.reminders import SNOOZE, SentReminder, Snooze, Visit
from medtrack.core.timeparse import from_utc_text, to_utc_text
from medtrack.errors import DatabaseRefused

PENDING, FAILED, ABANDONED = "pending", "failed", "abandoned"
REPLY_ACTION = "ntfy reply"
REPLY_TOPIC, REPLY_CURSOR = "ntfy_reply_topic", "ntfy_since"
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


# --- snoozes and ntfy replies (issue 21) -----------------------------------------------


def add_snooze(
    conn: sqlite3.Connection, medication_id: int, slot: datetime, until: datetime, now: datetime
) -> bool:
    """Hold back the reminders of one slot until `until`; False when this very snooze
    was given already."""
    return (
        claim(
            conn,
            kind=SNOOZE,
            medication_id=medication_id,
            scheduled_for=slot,
            attempt=int(until.timestamp()),
            now=now,
            channel=SNOOZE,
        )
        is not None
    )


def snoozes_since(conn: sqlite3.Connection, since: datetime) -> list[Snooze]:
    """Snoozes of slots at or after `since`."""
    from datetime import UTC

    rows = conn.execute(
        "SELECT medication_id, scheduled_for, sent_at, attempt FROM reminders_sent "
        "WHERE kind = ? AND scheduled_for >= ? ORDER BY sent_at, id",
        (SNOOZE, to_utc_text(since)),
    )
    return [
        Snooze(
            medication_id=row[0],
            slot=from_utc_text(row[1]),
            created=from_utc_text(row[2]),
            until=datetime.fromtimestamp(row[3], UTC),
        )
        for row in rows
    ]


def earliest_snoozed_slot(conn: sqlite3.Connection, ending_after: datetime) -> datetime | None:
    """The oldest slot whose snooze ends after `ending_after` (it may be reminded again
    although it is older than the look-back)."""
    row = conn.execute(
        "SELECT min(scheduled_for) FROM reminders_sent WHERE kind = ? AND attempt > ?",
        (SNOOZE, int(ending_after.timestamp())),
    ).fetchone()
    return None if row[0] is None else from_utc_text(row[0])


def replies_seen(conn: sqlite3.Connection, message_ids: list[str]) -> set[str]:
    """Which of these ntfy message ids a run has read and kept in history already."""
    import json

    if not message_ids:
        return set()
    # Matched as the text `keep_reply` wrote (json.dumps, sort_keys): no JSON1 functions,
    # which an SQLite built without them would lack.
    seen = set()
    for message_id in message_ids:
        needle = f'"message_id": {json.dumps(message_id)}'
        row = conn.execute(
            "SELECT 1 FROM history WHERE action = ? AND instr(after, ?) > 0 LIMIT 1",
            (REPLY_ACTION, needle),
        ).fetchone()
        if row is not None:
            seen.add(message_id)
    return seen


def keep_reply(conn: sqlite3.Connection, details: dict, dose_id: int | None, now: datetime) -> int:
    """Keep one reply in history, with its source and what it did."""
    from medtrack.store import repo

    return repo.record_history(
        conn,
        now=now,
        action=REPLY_ACTION,
        table="doses",
        row_id=dose_id,
        before=None,
        after={"source": "ntfy", **details},
    )


def set_internal(conn: sqlite3.Connection, key: str, value: str, now: datetime) -> None:
    """A setting medtrack keeps for itself (the reply cursor): not the person's data, so
    no history entry for each poll."""
    conn.execute(
        "INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        (key, value, to_utc_text(now)),
    )


def last_row_id(conn: sqlite3.Connection) -> int | None:
    """The id of the row this connection inserted last (the dose a reply recorded)."""
    row = conn.execute("SELECT last_insert_rowid()").fetchone()
    return row[0] or None


def keep_snooze(
    conn: sqlite3.Connection, medication_id: int, slot: datetime, until: datetime, now: datetime
) -> int:
    """Keep a `medtrack snooze` in history, as a reply's is kept."""
    from medtrack.store import repo

    return repo.record_history(
        conn,
        now=now,
        action=SNOOZE,
        table="reminders_sent",
        row_id=None,
        before=None,
        after={
            "source": "cli",
            "medication_id": medication_id,
            "slot": to_utc_text(slot),
            "until": to_utc_text(until),
        },
    )
