"""Numbered, append-only schema migrations.

Each function takes a `sqlite_utils.Database` and moves the schema one step; its
number is the `PRAGMA user_version` it leaves behind. Never edit or reorder a
migration that has shipped: a person's file may be at any version. Add a new one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# "MEDT" in ASCII: lets us tell our own files from any other SQLite database.
APPLICATION_ID = 0x4D454454

MIGRATIONS: list[Callable[[Any], None]] = []


def migration(fn: Callable[[Any], None]) -> Callable[[Any], None]:
    MIGRATIONS.append(fn)
    return fn


@migration
def m001_initial(db: Any) -> None:
    db["medications"].create(
        {
            "id": int,
            "name": str,
            "kind": str,
            "form": str,
            "purpose": str,
            "prescriber": str,
            "controlled": int,
            "notes": str,
            "created_at": str,
            "stopped_at": str,
            "stop_reason": str,
        },
        pk="id",
        not_null={"name", "kind", "created_at"},
        defaults={"kind": "rx", "controlled": 0},
    )
    # Case-insensitive uniqueness: 'Sertraline' and 'sertraline' are one medication.
    db.execute("CREATE UNIQUE INDEX idx_medications_name ON medications(name COLLATE NOCASE)")

    db["regimens"].create(
        {
            "id": int,
            "medication_id": int,
            "starts_at": str,
            "ends_at": str,
            "dose_amount": float,
            "dose_unit": str,
            "schedule_rrule": str,
            "schedule_times": str,
            "as_needed": int,
            "max_per_day": int,
            "min_interval_minutes": int,
            "units_per_dose": float,
            "reason": str,
            "created_at": str,
        },
        pk="id",
        foreign_keys=[("medication_id", "medications", "id")],
        not_null={"medication_id", "starts_at", "dose_amount", "dose_unit", "created_at"},
        defaults={"as_needed": 0},
    )
    db["regimens"].create_index(["medication_id", "starts_at"])

    db["doses"].create(
        {
            "id": int,
            "medication_id": int,
            "regimen_id": int,
            "scheduled_for": str,
            "taken_at": str,
            "status": str,
            "amount": float,
            "unit": str,
            "skip_reason": str,
            "note": str,
            "zone": str,
            "recorded_at": str,
            "source": str,
        },
        pk="id",
        foreign_keys=[("medication_id", "medications", "id"), ("regimen_id", "regimens", "id")],
        not_null={"medication_id", "taken_at", "status", "recorded_at"},
    )
    db["doses"].create_index(["medication_id", "taken_at"])
    db["doses"].create_index(["taken_at"])
    db["doses"].create_index(["medication_id", "scheduled_for"])

    db["symptoms"].create(
        {
            "id": int,
            "name": str,
            "value": float,
            "unit": str,
            "at": str,
            "zone": str,
            "note": str,
            "recorded_at": str,
        },
        pk="id",
        not_null={"name", "value", "at", "recorded_at"},
    )
    db["symptoms"].create_index(["at"])
    db["symptoms"].create_index(["name", "at"])

    db["side_effects"].create(
        {
            "id": int,
            "name": str,
            "medication_id": int,
            "severity": str,
            "started_at": str,
            "resolved_at": str,
            "action": str,
            "note": str,
            "zone": str,
            "recorded_at": str,
            "updated_at": str,
        },
        pk="id",
        foreign_keys=[("medication_id", "medications", "id")],
        not_null={"name", "severity", "started_at", "recorded_at"},
    )
    db["side_effects"].create_index(["started_at"])

    db["measurements"].create(
        {
            "id": int,
            "kind": str,
            "value": float,
            "value2": float,
            "unit": str,
            "at": str,
            "zone": str,
            "note": str,
            "recorded_at": str,
        },
        pk="id",
        not_null={"kind", "value", "unit", "at", "recorded_at"},
    )
    db["measurements"].create_index(["at"])

    db["checkins"].create(
        {
            "id": int,
            "questionnaire": str,
            "answers": str,
            "difficulty": int,
            "total": int,
            "band": str,
            "flagged": int,
            "at": str,
            "zone": str,
            "note": str,
            "recorded_at": str,
        },
        pk="id",
        not_null={"questionnaire", "answers", "total", "band", "at", "recorded_at"},
        defaults={"flagged": 0},
    )
    db["checkins"].create_index(["at"])

    db["notes"].create(
        {
            "id": int,
            "text": str,
            "ask": int,
            "done_at": str,
            "at": str,
            "zone": str,
            "recorded_at": str,
        },
        pk="id",
        not_null={"text", "at", "recorded_at"},
        defaults={"ask": 0},
    )
    db["notes"].create_index(["at"])

    db["visits"].create(
        {
            "id": int,
            "at": str,
            "with_whom": str,
            "kind": str,
            "note": str,
            "zone": str,
            "recorded_at": str,
        },
        pk="id",
        not_null={"at", "kind", "recorded_at"},
    )
    db["visits"].create_index(["at"])

    db["refills"].create(
        {
            "id": int,
            "medication_id": int,
            "quantity": float,
            "at": str,
            "note": str,
            "recorded_at": str,
        },
        pk="id",
        foreign_keys=[("medication_id", "medications", "id")],
        not_null={"medication_id", "quantity", "at", "recorded_at"},
    )
    db["refills"].create_index(["medication_id", "at"])

    db["reminders_sent"].create(
        {
            "id": int,
            "medication_id": int,
            "scheduled_for": str,
            "kind": str,
            "channel": str,
            "sent_at": str,
        },
        pk="id",
        not_null={"kind", "sent_at"},
    )
    db["reminders_sent"].create_index(["medication_id", "scheduled_for"])
    db["reminders_sent"].create_index(["sent_at"])

    db["settings"].create({"key": str, "value": str, "updated_at": str}, pk="key")

    # Travel: the zone schedules are read in changes from a moment on, never backwards.
    db["zone_changes"].create(
        {"id": int, "zone": str, "effective_at": str, "recorded_at": str},
        pk="id",
        not_null={"zone", "effective_at", "recorded_at"},
    )

    db["history"].create(
        {
            "id": int,
            "at": str,
            "action": str,
            "table_name": str,
            "row_id": int,
            "before": str,
            "after": str,
            "command": str,
        },
        pk="id",
        not_null={"at", "action", "table_name"},
    )
    db["history"].create_index(["at"])


@migration
def m002_stock_index(db: Any) -> None:
    # Stock on hand counts taken doses per regimen over the whole history; a covering
    # index lets SQLite count them without reading the dose rows.
    db.execute("CREATE INDEX idx_doses_stock ON doses(medication_id, status, regimen_id, taken_at)")


@migration
def m003_dose_window_index(db: Any) -> None:
    # The summary and the report read a window's doses per medication as the columns of
    # `store.doses.dose_rows`: the slot and the taken time as epoch seconds, the kind
    # digit, the reason of a record not taken. An index holding exactly those expressions
    # (SQLite keeps their values and reads them back instead of recomputing) answers that
    # query from the index alone: no table lookup and no date parsing per row. `id` right
    # after taken_at keeps the walk in (taken_at, id) order, which decides the record that
    # answers a slot. Kept beside idx_doses_medication_id_taken_at, which the narrower
    # reads (take, undo, last dose, exports) walk with less to read per entry.
    # strftime and CASE, not unixepoch (SQLite 3.38) and iif (3.32): an index naming a
    # function the linked SQLite lacks would make every write to doses fail.
    db.execute(
        "CREATE INDEX idx_doses_window ON doses(medication_id, taken_at, id, "
        "CAST(strftime('%s', scheduled_for) AS INTEGER), "
        "CAST(strftime('%s', taken_at) AS INTEGER), "
        "CASE WHEN status = 'taken' THEN 1 ELSE 2 END, "
        "CASE WHEN status = 'taken' THEN NULL ELSE ifnull(skip_reason, '') END)"
    )


@migration
def m004_attachment_derived(db: Any) -> None:
    # Which slot a record answers is derived on every read (core.slots.judge), never read
    # from `doses.scheduled_for`: the indexes that served reads by that column, and the
    # expression index of the summary's old folded read, only cost space and writes now.
    # The column itself stays: it is what earlier versions said when they wrote the row.
    db.execute("DROP INDEX IF EXISTS idx_doses_window")
    db.execute("DROP INDEX IF EXISTS idx_doses_medication_id_scheduled_for")


@migration
def m005_reminder_claims(db: Any) -> None:
    # Issue 18: `remind` runs started at once (cron and a manual run, a slow back end)
    # each claim a reminder before sending it, and SQLite lets only one of them have
    # each (kind, medication, slot, attempt): the UNIQUE index is the lock. `attempt` is
    # the reminder's number for a dose slot (1, 2, 3), the local day as yyyymmdd for the
    # once-a-day notes, 1 for a visit; NULL for rows written before this migration and
    # for failed deliveries, which free their claim so the next run tries again. The
    # NULLs of the other columns are folded with ifnull because a UNIQUE index treats
    # NULLs as all different.
    db.execute("ALTER TABLE reminders_sent ADD COLUMN attempt INTEGER")
    db.execute(
        "CREATE UNIQUE INDEX idx_reminders_sent_claim ON reminders_sent("
        "kind, ifnull(medication_id, 0), ifnull(scheduled_for, ''), attempt)"
    )


@migration
def m006_on_time_window(db: Any) -> None:
    # Issue 14: a plan may carry its own on-time window (a long-acting injection: days,
    # as its label allows), in minutes; NULL takes the default for its schedule.
    db.execute("ALTER TABLE regimens ADD COLUMN on_time_window_minutes INTEGER")


SCHEMA_VERSION = len(MIGRATIONS)
