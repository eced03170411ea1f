"""SQL for the `doses` table: one row per recorded intake or skip.

Reads take a window and use the indexes ``doses(medication_id, taken_at)`` and
``doses(medication_id, scheduled_for)`` (and, for the summary's compact read, the
expression index ``idx_doses_window``): a window's rows come in one or two queries,
never one query per slot or per row.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from medtrack.core.slots import DEFAULT_ON_TIME_WINDOW, DoseRecord
from medtrack.core.timeparse import to_utc_text

if TYPE_CHECKING:
    from medtrack.core.adherence import DoseRows

# The expressions idx_doses_window (migration 3) holds, written exactly as there so that
# SQLite reads their values from the index. strftime and CASE rather than unixepoch (3.38)
# and iif (3.32): Python 3.11 is often linked against an older SQLite (Ubuntu 22.04: 3.37),
# where an index naming a missing function would make every write to doses fail.
_SLOT_EPOCH = "CAST(strftime('%s', scheduled_for) AS INTEGER)"
_TAKEN_EPOCH = "CAST(strftime('%s', taken_at) AS INTEGER)"
_KIND = "CASE WHEN status = 'taken' THEN 1 ELSE 2 END"
_REASON = "CASE WHEN status = 'taken' THEN NULL ELSE ifnull(skip_reason, '') END"

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


# Separates values inside one aggregated column (ASCII unit separator: in no stored text).
_SEP = "\x1f"
# The kind digits group_concat gives ("1" taken, "2" not) as the bytes DoseColumns keeps.
_KIND_DIGITS = bytes.maketrans(b"1234", b"\x01\x02\x03\x04")


_SLOT_IN = "scheduled_for >= ? AND scheduled_for < ?"
# Above this length a column of integers is parsed by json (imported only then: a month's
# summary does not pay for the import).
_JSON_FROM = 20_000


def _integers(text: str) -> list[int]:
    """The integers of a comma-separated column from group_concat."""
    if len(text) < _JSON_FROM:
        return list(map(int, text.split(",")))
    import json

    return json.loads(f"[{text}]")


class _LazyIntegers(Sequence[int]):
    """A column of comma-separated integers from group_concat, parsed on first read.

    The taken times: the summary reads a record's only for an extra or an as-needed dose
    (or to take delays at another on-time window), so most medications' are never
    parsed. Equal to any sequence of the same integers (a list, as `from_records` makes).
    """

    __slots__ = ("_parts", "_values")

    def __init__(self, parts: list[str]) -> None:
        self._parts: list[str] | None = parts
        self._values: list[int] | None = None

    def _list(self) -> list[int]:
        if self._values is None:
            assert self._parts is not None
            self._values = _integers(",".join(self._parts)) if self._parts else []
            self._parts = None
        return self._values

    def __getitem__(self, index):  # type: ignore[override]
        return self._list()[index]

    def __len__(self) -> int:
        return len(self._list())

    def __iter__(self) -> Iterator[int]:
        return iter(self._list())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence):
            return self._list() == list(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self._list()))

    def __repr__(self) -> str:
        return repr(self._list())


def _smaller_range(conn: sqlite3.Connection, first: tuple, second: tuple) -> int:
    """0 or 1: which of two (sql, params) index ranges holds fewer entries, counting each
    only up to a growing limit, so the cost stays near that of the smaller range."""
    limit = 256
    while True:
        counts = [
            conn.execute(f"SELECT count(*) FROM ({sql} LIMIT ?)", (*params, limit)).fetchone()[0]
            for sql, params in (first, second)
        ]
        if min(counts) < limit:
            return 0 if counts[0] <= counts[1] else 1
        limit *= 16


def dose_rows(
    conn: sqlite3.Connection,
    start: datetime,
    end: datetime,
    medications: Iterable[tuple[int, str]],
    *,
    on_time_window: timedelta = DEFAULT_ON_TIME_WINDOW,
) -> DoseRows:
    """`doses_between` in the compact form the summary reads (see core.adherence.DoseRows).

    Only the four columns the figures need, instants turned into epoch seconds by SQLite
    (the stored text is ``...Z``, which strftime('%s') reads). Per medication, three range
    scans on the indexes, each in (taken_at, id) order (taken before the window for a slot
    in it, taken in it, taken after it for a slot in it), each column folded by
    group_concat into one string: a decade is a few strings to split in C, not 100k row
    tuples to build.

    A taken record's kind is classified against its scheduled_for at `on_time_window`
    (1 on time, 3 late, 4 early; see DoseRows.on_time_window): the summary then counts
    late and early doses from bytes instead of taking a delay per slot in Python.
    """
    from medtrack.core.adherence import DoseColumns, DoseRows

    lo, hi = to_utc_text(start), to_utc_text(end)
    window = on_time_window.total_seconds()
    # The kind is one digit a record with no separator (2 not taken; taken 1, 3 late or 4
    # early: the delay against the window, bound as the first two parameters). It is
    # written over the index's own expressions (the kind and the two epochs) so SQLite
    # still reads no table row; a record with no slot has a NULL delay,
    # which compares false: 1. Reasons come only from records not taken (group_concat
    # leaves out the NULLs of taken ones): of a decade's 100k records, 10k reasons to
    # split rather than 100k mostly empty strings.
    # The epochs come comma-separated, which a JSON array of integers is once bracketed:
    # json parses it in C in about half the time of split and int(). Every separator is a
    # literal in the SQL text: char(31) (or a bound parameter) is evaluated, or copied,
    # once per row, which cost as much as a third of each column.
    # The reasons are aggregated under FILTER: group_concat is then not even called for
    # a taken record (its NULL reason was still a call per row, ~2/3 of the column).
    columns_sql = (
        f"SELECT group_concat(ifnull({_SLOT_EPOCH}, -1), ','), "
        f"group_concat({_TAKEN_EPOCH}, ','), "
        # The kinds as text literals: group_concat then converts no integer to text.
        f"group_concat(CASE WHEN ({_KIND}) = 2 THEN '2' "
        f"WHEN {_TAKEN_EPOCH} - {_SLOT_EPOCH} > ? THEN '3' "
        f"WHEN {_TAKEN_EPOCH} - {_SLOT_EPOCH} < -? THEN '4' ELSE '1' END, ''), "
        f"group_concat({_REASON}, '{_SEP}') FILTER (WHERE ({_KIND}) = 2), "
        # Whether any record has no slot is read from the -1 marks in Python (a scan in C):
        # count() of the slot's expression cost as much as a seventh of the query.
        "count(*) FROM "
    )
    # The window itself: group_concat takes the rows in the order of the index it walks,
    # (medication_id, taken_at, id); INDEXED BY pins that walk (a missing index is an
    # error, never another order), and no sorting subquery is needed (a third of the
    # query's time). idx_doses_window (migration 3) holds every expression selected, so
    # SQLite reads them from the index: no table row, no date parsed, per record.
    in_window = (
        columns_sql + "doses INDEXED BY idx_doses_window "
        "WHERE medication_id = ? AND taken_at >= ? AND taken_at < ?"
    )
    # Records taken outside the window for a slot in it: few, but each index bounds only
    # one of the two conditions. Walk whichever range holds fewer entries (counted from the
    # index alone, which is cheap): the slot index over the window, or the taken_at index
    # over the history before (or after) it. Either way the rows are sorted explicitly.
    around = (
        columns_sql + "(SELECT scheduled_for, taken_at, status, skip_reason FROM doses "
        "INDEXED BY {index} "
        "WHERE medication_id = ? AND scheduled_for >= ? AND scheduled_for < ? AND {when} "
        "ORDER BY taken_at, id)"
    )
    range_sql = "SELECT 1 FROM doses INDEXED BY {index} WHERE medication_id = ? AND {when}"
    by_slot, by_taken = "idx_doses_medication_id_scheduled_for", "idx_doses_medication_id_taken_at"
    grouped: dict[str, DoseColumns] = {}
    for medication_id, name in medications:
        in_slots = (range_sql.format(index=by_slot, when=_SLOT_IN), (medication_id, lo, hi))
        parts = []
        for when, bound in (("taken_at < ?", lo), ("taken_at >= ?", hi)):
            outside = (range_sql.format(index=by_taken, when=when), (medication_id, bound))
            index = (by_taken, by_slot)[_smaller_range(conn, outside, in_slots)]
            parts.append((around.format(index=index, when=when), (lo, hi, bound)))
        parts.insert(1, (in_window, (lo, hi)))
        scheduled: list[float | None] = []
        taken: list[str] = []
        kinds: list[bytes] = []
        reasons: list[str] = []
        for sql, params in parts:
            scheds, takens, kind, why, count = conn.execute(
                sql, (window, window, medication_id, *params)
            ).fetchone()
            if not count:
                continue
            # Only a part with unscheduled doses needs a pass in Python to turn its -1
            # marks back into None (-1 is no slot's epoch: 1969-12-31T23:59:59Z).
            slots: list[float | None] = _integers(scheds)
            if -1 in slots:
                slots = [None if x == -1 else x for x in slots]
            scheduled += slots
            taken.append(takens)
            kinds.append(kind.encode("ascii").translate(_KIND_DIGITS))
            if why is not None:
                reasons += why.split(_SEP)
        kind_bytes = b"".join(kinds)
        reason: list[str | None] = [None] * len(kind_bytes)
        position = -1
        for text in reasons:  # the records not taken, in order: one reason each
            position = kind_bytes.index(2, position + 1)
            reason[position] = text or None
        grouped[name] = DoseColumns(scheduled, _LazyIntegers(taken), kind_bytes, reason)
    return DoseRows(grouped, window)


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
