"""Writing an ImportPlan (core.importers) through the usual store functions, in the
caller's transaction: a medication the profile lacks is added with its plan, each record
already here (same natural key as `import --merge` uses: a dose by medication, time and
status; a symptom by name and time; a measurement by kind and time; a check-in by
questionnaire and time) is counted, never written twice, so importing a file twice adds
nothing. Which slot a dose answers is derived on read, as for every record.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from medtrack.core.health import CheckinEntry, MeasurementEntry, SideEffect, SymptomEntry
from medtrack.core.importers import ImportedDose, ImportedMedication, ImportPlan, Skipped
from medtrack.core.models import Medication, Regimen
from medtrack.core.timeparse import to_utc_text
from medtrack.store import doses, health, repo

KINDS = ("medications", "doses", "symptoms", "measurements", "checkins", "side_effects")


@dataclass
class ImportResult:
    """Per kind: what was added (the records, for the dry run's first lines) and how many
    were already here; medications created with the words of their plan; entries the
    profile could not take (e.g. a dose before the plan of a medication it already has)."""

    added: dict[str, list[object]] = field(default_factory=lambda: {k: [] for k in KINDS})
    present: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    skipped: list[Skipped] = field(default_factory=list)


def apply_plan(
    conn: sqlite3.Connection,
    plan: ImportPlan,
    *,
    zone_of: Callable[[datetime], str],
    now: datetime,
) -> ImportResult:
    """Add the plan's records this profile lacks; returns what was added and found."""
    result = ImportResult()
    for medication in plan.medications:
        if _medication_id(conn, medication.name) is not None:
            result.present["medications"] += 1
            continue
        _add_medication(conn, medication, now)
        result.added["medications"].append(medication)
    for dose in plan.doses:
        _add_dose(conn, dose, result, zone_of, now)
    for symptom in plan.symptoms:
        if _exists(conn, "symptoms", ("name", "at"), (symptom.name, to_utc_text(symptom.at))):
            result.present["symptoms"] += 1
            continue
        entry = SymptomEntry(symptom.name, symptom.value, symptom.unit, symptom.at, symptom.note)
        health.add_symptom(conn, entry, zone=zone_of(symptom.at), now=now)
        result.added["symptoms"].append(symptom)
    for reading in plan.measurements:
        key = (reading.measurement.kind, to_utc_text(reading.at))
        if _exists(conn, "measurements", ("kind", "at"), key):
            result.present["measurements"] += 1
            continue
        entry = MeasurementEntry(reading.measurement, reading.at, reading.note)
        health.add_measurement(conn, entry, zone=zone_of(reading.at), now=now)
        result.added["measurements"].append(reading)
    for checkin in plan.checkins:
        key = (checkin.questionnaire, to_utc_text(checkin.at))
        if _exists(conn, "checkins", ("questionnaire", "at"), key):
            result.present["checkins"] += 1
            continue
        entry = CheckinEntry(
            checkin.questionnaire,
            checkin.answers,
            None,
            checkin.total,
            checkin.band,
            checkin.flagged,
            checkin.at,
            checkin.note,
        )
        health.add_checkin(conn, entry, zone=zone_of(checkin.at), now=now)
        result.added["checkins"].append(checkin)
    for effect in plan.side_effects:
        medication_id = (
            None if effect.medication is None else _medication_id(conn, effect.medication)
        )
        started = to_utc_text(effect.at)
        key = (effect.name, medication_id, started)
        if _exists(conn, "side_effects", ("name", "medication_id", "started_at"), key):
            result.present["side_effects"] += 1
            continue
        value = SideEffect(
            effect.name,
            effect.medication,
            effect.severity,
            effect.at,
            effect.resolved_at,
            effect.action,
            effect.note,
        )
        health.add_side_effect(
            conn, value, medication_id=medication_id, zone=zone_of(effect.at), now=now
        )
        result.added["side_effects"].append(effect)
    return result


def _medication_id(conn: sqlite3.Connection, name: str) -> int | None:
    row = conn.execute(
        "SELECT id FROM medications WHERE name = ? COLLATE NOCASE", (name,)
    ).fetchone()
    return None if row is None else int(row[0])


def _regimen(medication: ImportedMedication, index: int) -> Regimen:
    step = medication.steps[index]
    return Regimen(
        medication=medication.name,
        dose=step.dose,
        schedule=step.schedule,
        starts_at=step.starts_at,
        ends_at=step.ends_at,
        max_per_day=step.max_per_day,
        reason="imported",
    )


def _add_medication(
    conn: sqlite3.Connection, medication: ImportedMedication, now: datetime
) -> None:
    value = Medication(
        name=medication.name,
        kind=medication.kind,
        purpose=medication.purpose,
    )
    repo.add_medication(conn, value, _regimen(medication, 0), now=now)
    for index in range(1, len(medication.steps)):
        loaded = repo.find_medication(conn, medication.name)
        regimen = _regimen(medication, index)
        repo.change_regimen(conn, loaded, regimen, now=now)
        if regimen.ends_at is not None:
            # change_regimen leaves the new step open until a later one: the file's own
            # end (a gap before the next step, or the last step's end) is kept.
            row = conn.execute(
                "SELECT id FROM regimens WHERE medication_id = ? AND starts_at = ?",
                (loaded.id, to_utc_text(regimen.starts_at)),
            ).fetchone()
            repo.update_row(
                conn, "regimens", row[0], {"ends_at": to_utc_text(regimen.ends_at)}, now=now
            )
    if medication.stopped_at is not None:
        loaded = repo.find_medication(conn, medication.name)
        repo.stop_medication(
            conn, loaded, at=medication.stopped_at, reason=medication.stop_reason, now=now
        )


def _add_dose(
    conn: sqlite3.Connection,
    dose: ImportedDose,
    result: ImportResult,
    zone_of: Callable[[datetime], str],
    now: datetime,
) -> None:
    medication_id = _medication_id(conn, dose.medication)
    assert medication_id is not None  # every dose's medication is in the plan
    at = to_utc_text(dose.at)
    if _exists(
        conn, "doses", ("medication_id", "taken_at", "status"), (medication_id, at, dose.status)
    ):
        result.present["doses"] += 1
        return
    regimen = conn.execute(
        "SELECT id, dose_amount, dose_unit FROM regimens WHERE medication_id = ? "
        "AND starts_at <= ? AND (ends_at IS NULL OR ends_at > ?) ORDER BY starts_at DESC",
        (medication_id, at, at),
    ).fetchone()
    if regimen is None and dose.status == "taken":
        # As `take` refuses it: a dose outside every plan of a medication already here.
        result.skipped.append(Skipped(dose.where, "dose", f"{dose.medication} has no plan then"))
        return
    amount = dose.amount
    taken = dose.status == "taken"
    doses.add_dose(
        conn,
        medication_id=medication_id,
        regimen_id=None if regimen is None else regimen[0],
        taken_at=dose.at,
        status=dose.status,
        amount=None if not taken else (amount.amount if amount else regimen[1]),
        unit=None if not taken else (amount.unit if amount else regimen[2]),
        skip_reason=dose.reason,
        note=dose.note,
        zone=zone_of(dose.at),
        now=now,
        source="import",
    )
    result.added["doses"].append(dose)


def _exists(
    conn: sqlite3.Connection, table: str, columns: tuple[str, ...], values: tuple[object, ...]
) -> bool:
    # Table and column names are literals of this module, never the person's text.
    clause = " AND ".join(f"{c} IS ?" for c in columns)
    return (
        conn.execute(f"SELECT 1 FROM {table} WHERE {clause} LIMIT 1", values).fetchone() is not None
    )
