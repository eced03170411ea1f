"""Reads and writes for the health record: symptoms, side effects, measurements, check-ins,
notes and visits.

Instants are stored as UTC text with the IANA zone the person was in. Changing a recorded
row (updating a side effect, resolving it, answering a question) goes through
`repo.update_row`, so history keeps the before/after image.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta
from typing import Any

from medtrack.core.health import (
    CheckinEntry,
    CheckinScore,
    Measurement,
    MeasurementEntry,
    NoteEntry,
    SideEffect,
    SymptomEntry,
    SymptomSeries,
    Visit,
)
from medtrack.core.health import symptom_series as series_of_entries
from medtrack.core.slots import DoseRecord
from medtrack.core.timeparse import from_utc_text, to_utc_text
from medtrack.errors import NotFound
from medtrack.store import repo


def _dt(value: str | None) -> datetime | None:
    return None if value is None else from_utc_text(value)


def _since_clause(column: str, since: datetime | None) -> tuple[list[str], list[Any]]:
    if since is None:
        return [], []
    return [f"{column} >= ?"], [to_utc_text(since)]


def _where(clauses: list[str]) -> str:
    return (" WHERE " + " AND ".join(clauses)) if clauses else ""


# --- symptoms --------------------------------------------------------------------------


def add_symptom(conn: sqlite3.Connection, entry: SymptomEntry, *, zone: str, now: datetime) -> int:
    return repo._insert(
        conn,
        "symptoms",
        {
            "name": entry.name,
            "value": entry.value,
            "unit": entry.unit,
            "at": to_utc_text(entry.at),
            "zone": zone,
            "note": entry.note,
            "recorded_at": to_utc_text(now),
        },
    )


def _symptom(row: sqlite3.Row) -> SymptomEntry:
    return SymptomEntry(
        name=row["name"],
        value=row["value"],
        unit=row["unit"],
        at=from_utc_text(row["at"]),
        note=row["note"],
        id=row["id"],
    )


def symptoms(
    conn: sqlite3.Connection, *, since: datetime | None = None, name: str | None = None
) -> list[SymptomEntry]:
    """Symptoms in time order, from `since` on, optionally of one (normalised) name."""
    clauses, params = _since_clause("at", since)
    if name is not None:
        clauses.append("name = ?")
        params.append(name)
    sql = f"SELECT * FROM symptoms{_where(clauses)} ORDER BY at, id"
    return [_symptom(row) for row in conn.execute(sql, params)]


# The one shape to_utc_text writes; SQLite reads it to epoch seconds as from_utc_text does.
_STORED_INSTANT = "[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]Z"


def _bound_text(instant: datetime) -> str:
    """The stored text a second-precision `at` compares against as it would against
    `instant`: at >= instant and at < instant hold exactly when they hold for this text
    (a bound between two seconds rounds up to the next)."""
    return to_utc_text(instant + timedelta(microseconds=999_999))


def symptom_series(
    conn: sqlite3.Connection, *, start: datetime, end: datetime
) -> list[SymptomSeries]:
    """The symptoms recorded in [start, end) as `core.health.symptom_series` gives them:
    one series per name and unit, each two columns (epoch seconds, values) in time order.

    SQLite orders, groups and converts the instants, so a decade of daily ratings costs
    no object per reading. A row in another shape than the stored one (none is written
    so) sends the whole window through `symptoms`, which reads every shape.
    """
    bounds = (_bound_text(start), _bound_text(end))
    cursor = conn.cursor()
    cursor.row_factory = None  # plain tuples, transposed below
    names = sorted(name for (name,) in cursor.execute("SELECT DISTINCT name FROM symptoms"))
    series: list[SymptomSeries] = []
    for name in names:
        # idx_symptoms_name_at gives each name's rows in (at, id) order without a sort.
        rows = cursor.execute(
            "SELECT NULLIF(unit, ''), CAST(strftime('%s', at) AS INTEGER), value, "
            "at GLOB ? FROM symptoms WHERE name = ? AND at >= ? AND at < ? ORDER BY at, id",
            (_STORED_INSTANT, name, *bounds),
        ).fetchall()
        if not rows:
            continue
        units, epochs, values, stored = zip(*rows, strict=True)
        if not all(stored):
            return series_of_entries(s for s in symptoms(conn, since=start) if start <= s.at < end)
        if len(set(units)) == 1:
            series.append(SymptomSeries(name, units[0], epochs, values))
            continue
        # One name under several units: a series per unit, each in time order.
        for unit in sorted(set(units), key=lambda u: u or ""):
            picked = [(e, v) for u, e, v in zip(units, epochs, values, strict=True) if u == unit]
            unit_epochs, unit_values = zip(*picked, strict=True)
            series.append(SymptomSeries(name, unit, unit_epochs, unit_values))
    return series


# --- side effects ----------------------------------------------------------------------

_SIDE_EFFECT_SELECT = (
    "SELECT s.*, m.name AS medication FROM side_effects s "
    "LEFT JOIN medications m ON m.id = s.medication_id"
)


def _side_effect(row: sqlite3.Row) -> SideEffect:
    return SideEffect(
        name=row["name"],
        medication=row["medication"],
        severity=row["severity"],
        started_at=from_utc_text(row["started_at"]),
        resolved_at=_dt(row["resolved_at"]),
        action=row["action"],
        note=row["note"],
        updated_at=_dt(row["updated_at"]),
        id=row["id"],
    )


def add_side_effect(
    conn: sqlite3.Connection,
    effect: SideEffect,
    *,
    medication_id: int | None,
    zone: str,
    now: datetime,
) -> int:
    return repo._insert(
        conn,
        "side_effects",
        {
            "name": effect.name,
            "medication_id": medication_id,
            "severity": effect.severity,
            "started_at": to_utc_text(effect.started_at),
            "resolved_at": None if effect.resolved_at is None else to_utc_text(effect.resolved_at),
            "action": effect.action,
            "note": effect.note,
            "zone": zone,
            "recorded_at": to_utc_text(now),
        },
    )


def side_effects(conn: sqlite3.Connection, *, open_only: bool = False) -> list[SideEffect]:
    """Open side effects first, then resolved ones; most recently started first in each."""
    where = " WHERE s.resolved_at IS NULL" if open_only else ""
    sql = (
        f"{_SIDE_EFFECT_SELECT}{where} "
        "ORDER BY s.resolved_at IS NOT NULL, s.started_at DESC, s.id DESC"
    )
    return [_side_effect(row) for row in conn.execute(sql)]


def side_effect_peaks(conn: sqlite3.Connection) -> dict[int, str]:
    """The worst severity each side effect ever had, by id, from the before/after images
    history keeps of every change (a severe one later updated to mild stays severe here)."""
    rank = {"mild": 1, "moderate": 2, "severe": 3}
    peaks: dict[int, str] = {}
    rows = conn.execute(
        "SELECT row_id, before, after FROM history WHERE table_name = 'side_effects'"
    )
    for row_id, before, after in rows:
        for image in (before, after):
            if not image or row_id is None:
                continue
            severity = json.loads(image).get("severity")
            if rank.get(severity, 0) > rank.get(peaks.get(row_id, ""), 0):
                peaks[row_id] = severity
    return peaks


def get_side_effect(conn: sqlite3.Connection, effect_id: int) -> SideEffect:
    row = conn.execute(f"{_SIDE_EFFECT_SELECT} WHERE s.id = ?", (effect_id,)).fetchone()
    if row is None:
        raise NotFound(f"no side effect #{effect_id} (see 'medtrack side-effect list')")
    return _side_effect(row)


def update_side_effect(
    conn: sqlite3.Connection, effect_id: int, changes: dict[str, Any], *, now: datetime
) -> SideEffect:
    """Change a side effect (severity, note, resolution); history keeps before/after.

    `changes` maps column names to values; datetimes are stored as UTC text.
    """
    values = {k: to_utc_text(v) if isinstance(v, datetime) else v for k, v in changes.items()}
    values["updated_at"] = to_utc_text(now)
    repo.update_row(conn, "side_effects", effect_id, values, now=now)
    return get_side_effect(conn, effect_id)


# --- measurements ----------------------------------------------------------------------


def add_measurement(
    conn: sqlite3.Connection, entry: MeasurementEntry, *, zone: str, now: datetime
) -> int:
    m = entry.measurement
    return repo._insert(
        conn,
        "measurements",
        {
            "kind": m.kind,
            "value": m.value,
            "value2": m.value2,
            "unit": m.unit,
            "at": to_utc_text(entry.at),
            "zone": zone,
            "note": entry.note,
            "recorded_at": to_utc_text(now),
        },
    )


def measurements(
    conn: sqlite3.Connection, *, since: datetime | None = None, kind: str | None = None
) -> list[MeasurementEntry]:
    """Measurements in time order, from `since` on, optionally of one canonical kind."""
    clauses, params = _since_clause("at", since)
    if kind is not None:
        clauses.append("kind = ?")
        params.append(kind)
    sql = f"SELECT * FROM measurements{_where(clauses)} ORDER BY at, id"
    return [
        MeasurementEntry(
            measurement=Measurement(row["kind"], row["value"], row["value2"], row["unit"]),
            at=from_utc_text(row["at"]),
            note=row["note"],
            id=row["id"],
        )
        for row in conn.execute(sql, params)
    ]


# --- check-ins -------------------------------------------------------------------------


def add_checkin(conn: sqlite3.Connection, entry: CheckinEntry, *, zone: str, now: datetime) -> int:
    return repo._insert(
        conn,
        "checkins",
        {
            "questionnaire": entry.questionnaire,
            "answers": json.dumps(list(entry.answers)),
            "difficulty": entry.difficulty,
            "total": entry.total,
            "band": entry.band,
            "flagged": int(entry.flagged),
            "at": to_utc_text(entry.at),
            "zone": zone,
            "note": entry.note,
            "recorded_at": to_utc_text(now),
        },
    )


def checkins(
    conn: sqlite3.Connection, *, since: datetime | None = None, questionnaire: str | None = None
) -> list[CheckinEntry]:
    """Check-ins in time order, from `since` on, optionally of one questionnaire key."""
    clauses, params = _since_clause("at", since)
    if questionnaire is not None:
        clauses.append("questionnaire = ?")
        params.append(questionnaire)
    sql = f"SELECT * FROM checkins{_where(clauses)} ORDER BY at, id"
    return [
        CheckinEntry(
            questionnaire=row["questionnaire"],
            answers=tuple(json.loads(row["answers"])),
            difficulty=row["difficulty"],
            total=row["total"],
            band=row["band"],
            flagged=bool(row["flagged"]),
            at=from_utc_text(row["at"]),
            note=row["note"],
            id=row["id"],
        )
        for row in conn.execute(sql, params)
    ]


def checkin_scores(conn: sqlite3.Connection, *, since: datetime) -> list[CheckinScore]:
    """Check-ins from `since` on, in time order, as `checkins` reads them but without
    their answers (the report shows scores and flags only)."""
    cursor = conn.cursor()
    cursor.row_factory = None  # plain tuples: five columns a row, read by position
    rows = cursor.execute(
        "SELECT questionnaire, total, band, flagged, at FROM checkins WHERE at >= ? "
        "ORDER BY at, id",
        (to_utc_text(since),),
    )
    return [
        CheckinScore(questionnaire, total, band, bool(flagged), from_utc_text(at))
        for questionnaire, total, band, flagged, at in rows
    ]


# --- notes -----------------------------------------------------------------------------


def _note(row: sqlite3.Row) -> NoteEntry:
    return NoteEntry(
        text=row["text"],
        ask=bool(row["ask"]),
        at=from_utc_text(row["at"]),
        done_at=_dt(row["done_at"]),
        id=row["id"],
    )


def add_note(conn: sqlite3.Connection, entry: NoteEntry, *, zone: str, now: datetime) -> int:
    return repo._insert(
        conn,
        "notes",
        {
            "text": entry.text,
            "ask": int(entry.ask),
            "at": to_utc_text(entry.at),
            "zone": zone,
            "recorded_at": to_utc_text(now),
        },
    )


def notes(conn: sqlite3.Connection, *, open_only: bool = False) -> list[NoteEntry]:
    """Notes in time order; `open_only` keeps the questions not yet answered."""
    where = " WHERE ask = 1 AND done_at IS NULL" if open_only else ""
    return [_note(row) for row in conn.execute(f"SELECT * FROM notes{where} ORDER BY at, id")]


def get_note(conn: sqlite3.Connection, note_id: int) -> NoteEntry:
    row = conn.execute("SELECT * FROM notes WHERE id = ?", (note_id,)).fetchone()
    if row is None:
        raise NotFound(f"no note #{note_id} (see 'medtrack note list')")
    return _note(row)


def mark_note_done(
    conn: sqlite3.Connection, note_id: int, *, at: datetime, now: datetime
) -> NoteEntry:
    repo.update_row(conn, "notes", note_id, {"done_at": to_utc_text(at)}, now=now)
    return get_note(conn, note_id)


# --- visits ----------------------------------------------------------------------------


def _visit(row: sqlite3.Row) -> Visit:
    return Visit(
        at=from_utc_text(row["at"]),
        with_whom=row["with_whom"],
        kind=row["kind"],
        note=row["note"],
        id=row["id"],
    )


def add_visit(conn: sqlite3.Connection, visit: Visit, *, zone: str, now: datetime) -> int:
    return repo._insert(
        conn,
        "visits",
        {
            "at": to_utc_text(visit.at),
            "with_whom": visit.with_whom,
            "kind": visit.kind,
            "note": visit.note,
            "zone": zone,
            "recorded_at": to_utc_text(now),
        },
    )


def visits(conn: sqlite3.Connection) -> list[Visit]:
    """Every visit, past and planned, in time order."""
    return [_visit(row) for row in conn.execute("SELECT * FROM visits ORDER BY at, id")]


def next_visit(conn: sqlite3.Connection, now: datetime) -> Visit | None:
    """The first visit after `now` (one starting this very second is already under way)."""
    row = conn.execute(
        "SELECT * FROM visits WHERE at > ? ORDER BY at, id LIMIT 1", (to_utc_text(now),)
    ).fetchone()
    return None if row is None else _visit(row)


def last_past_visit(
    conn: sqlite3.Connection, now: datetime, kind: str | None = None
) -> Visit | None:
    """The latest visit at or before `now` (of `kind` when given): the default start of a
    report period."""
    where, params = "at <= ?", [to_utc_text(now)]
    if kind is not None:
        where += " AND kind = ?"
        params.append(kind)
    row = conn.execute(
        f"SELECT * FROM visits WHERE {where} ORDER BY at DESC, id DESC LIMIT 1", params
    ).fetchone()
    return None if row is None else _visit(row)


# --- the visit report's dose reads ---------------------------------------------------------


def report_dose_records(
    conn: sqlite3.Connection,
    start: datetime,
    end: datetime,
    controlled_ids: list[int],
) -> list[DoseRecord]:
    """The records of [start, end) the visit report reads beyond the adherence figures:
    every skip (its reason), every dose of a controlled medication (the total taken), and
    every dose recorded at an amount other than its regimen's. A decade holds some
    150,000 records; these are a few hundred of them."""
    from medtrack.store.doses import _COLUMNS, _record, _rows

    controlled = ",".join("?" * len(controlled_ids)) or "NULL"
    sql = (
        f"SELECT {_COLUMNS} FROM doses d JOIN medications m ON m.id = d.medication_id "
        "LEFT JOIN regimens r ON r.id = d.regimen_id "
        "WHERE d.taken_at >= ? AND d.taken_at < ? AND ("
        "d.status = 'skipped' "
        f"OR d.medication_id IN ({controlled}) "
        "OR (d.amount IS NOT NULL AND (r.id IS NULL OR d.amount != r.dose_amount "
        "OR COALESCE(d.unit, r.dose_unit) != r.dose_unit))"
        ") ORDER BY d.taken_at, d.id"
    )
    params = [to_utc_text(start), to_utc_text(end), *controlled_ids]
    return [_record(row) for row in _rows(conn, sql, params)]
