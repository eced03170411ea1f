"""SQL for supply: refills in, doses taken out. Stock itself is never stored."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from datetime import datetime

from medtrack.core.supply import Refill, TakenDose
from medtrack.core.timeparse import from_utc_text, to_utc_text


def add_refill(
    conn: sqlite3.Connection,
    medication_id: int,
    quantity: float,
    *,
    at: datetime,
    note: str | None,
    now: datetime,
) -> int:
    from medtrack.store import repo

    values = {
        "medication_id": medication_id,
        "quantity": quantity,
        "at": to_utc_text(at),
        "note": note,
        "recorded_at": to_utc_text(now),
    }
    return repo.insert_row(conn, "refills", values, now=now)[0]


def _in(ids: list[int]) -> str:
    return ",".join("?" * len(ids))


def refills_by_medication(
    conn: sqlite3.Connection, medication_ids: Iterable[int]
) -> dict[int, list[Refill]]:
    ids = list(medication_ids)
    result: dict[int, list[Refill]] = {med_id: [] for med_id in ids}
    if not ids:
        return result
    for row in conn.execute(
        f"SELECT medication_id, at, quantity FROM refills WHERE medication_id IN ({_in(ids)}) "
        "ORDER BY at, id",
        ids,
    ):
        result[row[0]].append(Refill(at=from_utc_text(row[1]), quantity=float(row[2])))
    return result


def taken_by_medication(
    conn: sqlite3.Connection, medication_ids: Iterable[int], *, until: datetime | None = None
) -> dict[int, list[TakenDose]]:
    """Doses recorded as taken (skips use no stock), per medication: counted per regimen
    in SQL (one value per regimen, dated by its last dose); doses that name no regimen come
    one by one, so core can find the regimen in force when each was taken."""
    ids = list(medication_ids)
    result: dict[int, list[TakenDose]] = {med_id: [] for med_id in ids}
    if not ids:
        return result
    limit = to_utc_text(until) if until is not None else "9999"
    for med_id, regimen_id, last, count in conn.execute(
        "SELECT medication_id, regimen_id, max(taken_at), count(*) FROM doses "
        f"WHERE status = 'taken' AND regimen_id IS NOT NULL AND medication_id IN ({_in(ids)}) "
        "AND taken_at <= ? GROUP BY medication_id, regimen_id",
        [*ids, limit],
    ):
        result[med_id].append(
            TakenDose(taken_at=from_utc_text(last), regimen_id=regimen_id, count=count)
        )
    for med_id, taken_at in conn.execute(
        "SELECT medication_id, taken_at FROM doses "
        f"WHERE status = 'taken' AND regimen_id IS NULL AND medication_id IN ({_in(ids)}) "
        "AND taken_at <= ? ORDER BY taken_at, id",
        [*ids, limit],
    ):
        result[med_id].append(TakenDose(taken_at=from_utc_text(taken_at)))
    return result
