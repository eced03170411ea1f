"""Writing the demo patient into a database, and telling a demo database from a real one.

The records go through the same store functions the commands use (`repo`, `doses`,
`health`), in the one transaction of the demo command.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path

from medtrack.core.demo import DemoPatient
from medtrack.store import doses, health, repo

DEMO_MARKER = "demo_seed"


def is_replaceable(path: Path) -> bool:
    """Whether the file at `path` may be replaced by a fresh demo: it is a demo database
    written by `medtrack demo`, or a database with no medication in it. Read-only."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        if not tables:
            return True
        if "settings" in tables:
            marker = conn.execute("SELECT 1 FROM settings WHERE key = ?", (DEMO_MARKER,)).fetchone()
            if marker:
                return True
        if "medications" in tables:
            return conn.execute("SELECT count(*) FROM medications").fetchone()[0] == 0
        return False
    except sqlite3.DatabaseError:
        return False
    finally:
        conn.close()


def write_patient(
    conn: sqlite3.Connection, patient: DemoPatient, *, seed: int, zone: str, now: datetime
) -> None:
    """Insert every record of `patient`; each keeps its own time as its recording time."""
    repo.set_setting(conn, "name", patient.name, now=now)
    repo.set_setting(conn, DEMO_MARKER, str(seed), now=now)
    for med in patient.medications:
        first, *later = med.regimens
        med_id = repo.add_medication(conn, med, first, now=now)
        for regimen in later:
            repo._insert(conn, "regimens", repo._regimen_values(regimen, med_id, now))
    stored = {m.name: m for m in repo.load_medications(conn)}

    for record in patient.doses:
        med = stored[record.medication]
        assert med.id is not None
        regimen = med.regimen_at(record.taken_at)
        doses.add_dose(
            conn,
            medication_id=med.id,
            regimen_id=regimen.id if regimen else None,
            taken_at=record.taken_at,
            status=record.status,
            amount=record.amount,
            unit=record.unit,
            skip_reason=record.skip_reason,
            note=record.note,
            zone=record.zone or zone,
            now=record.recorded_at or record.taken_at,
            source="demo",
        )
    for symptom in patient.symptoms:
        health.add_symptom(conn, symptom, zone=zone, now=symptom.at)
    for effect in patient.side_effects:
        med_id = stored[effect.medication].id if effect.medication else None
        health.add_side_effect(conn, effect, medication_id=med_id, zone=zone, now=effect.started_at)
    for measurement in patient.measurements:
        health.add_measurement(conn, measurement, zone=zone, now=measurement.at)
    for checkin in patient.checkins:
        health.add_checkin(conn, checkin, zone=zone, now=checkin.at)
    for note in patient.notes:
        note_id = health.add_note(conn, note, zone=zone, now=note.at)
        if note.done_at is not None:
            health.mark_note_done(conn, note_id, at=note.done_at, now=note.done_at)
    for visit in patient.visits:
        health.add_visit(conn, visit, zone=zone, now=min(visit.at, now))
