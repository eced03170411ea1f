"""A FHIR R4 Bundle (type collection) of the record, as plain dicts.

- one MedicationStatement per medication, with one Dosage per regimen (text, Timing
  with its bounds, dose quantity), so the whole dose history travels;
- one MedicationAdministration per dose record: `completed`, or `not-done` with the
  skip reason as statusReason;
- one Observation per symptom rating, measurement (body weight 29463-7, blood pressure
  panel 85354-9 with systolic 8480-6 / diastolic 8462-4, heart rate 8867-4, lithium
  14334-7 where the unit is mmol/L or mEq/L) and check-in (PHQ-9 total 44261-6, GAD-7
  total 70274-6, items as components, PHQ-9 item 9 coded 44260-8);
- one AdverseEvent per side effect (severity, outcome, suspected medication).

The input is the export's tables (rows as stored); nothing here reads the database.
Resource ids are UUIDs derived from the profile and the row, so exporting twice gives
the same Bundle and references resolve inside it.
"""

from __future__ import annotations

import html
import json
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

LOINC_SYSTEM = "http://loinc.org"
UCUM_SYSTEM = "http://unitsofmeasure.org"
_OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
_AE_SEVERITY = "http://terminology.hl7.org/CodeSystem/adverse-event-severity"
_AE_OUTCOME = "http://terminology.hl7.org/CodeSystem/adverse-event-outcome"
_MS_CATEGORY = "http://terminology.hl7.org/CodeSystem/medication-statement-category"

# UCUM spellings of the units people type; a unit not listed travels as text only.
_UCUM = {
    "mg": "mg",
    "g": "g",
    "mcg": "ug",
    "µg": "ug",
    "ug": "ug",
    "ml": "mL",
    "l": "L",
    "iu": "[iU]",
    "kg": "kg",
    "lb": "[lb_av]",
    "mmhg": "mm[Hg]",
    "bpm": "/min",
    "mmol/l": "mmol/L",
    "meq/l": "meq/L",
    "ng/ml": "ng/mL",
    "mg/l": "mg/L",
    "%": "%",
}
_DAY_CODES = {"MO": "mon", "TU": "tue", "WE": "wed", "TH": "thu", "FR": "fri", "SA": "sat"}
_DAY_CODES["SU"] = "sun"
_PERIOD_UNITS = {"HOURLY": "h", "DAILY": "d", "WEEKLY": "wk", "MONTHLY": "mo", "YEARLY": "a"}

# LOINC's own display names (its long common names, and for questionnaire items the
# names LOINC's PHQ and GAD forms give), never medtrack's wording.
LOINC_DISPLAY = {
    "29463-7": "Body weight",
    "85354-9": "Blood pressure panel with all children optional",
    "8480-6": "Systolic blood pressure",
    "8462-4": "Diastolic blood pressure",
    "8867-4": "Heart rate",
    "14334-7": "Lithium [Moles/volume] in Serum or Plasma",
    "44261-6": "Patient Health Questionnaire 9 item (PHQ-9) total score [Reported]",
    "70274-6": "Generalized anxiety disorder 7 item (GAD-7) total score [Reported.PHQ]",
    "44260-8": "Thoughts that you would be better off dead, or of hurting yourself in some way",
    "69722-7": (
        "How difficult have these problems made it for you to do your work, take care of "
        "things at home, or get along with other people?"
    ),
}
PHQ9_DIFFICULTY_LOINC = "69722-7"


def bundle(
    tables: Mapping[str, Iterable[Mapping[str, Any]]],
    *,
    exported_at: datetime,
    medtrack_version: str,
) -> dict[str, Any]:
    """The whole record as a FHIR R4 Bundle of type collection."""
    head, entries = _bundle_parts(tables, exported_at, medtrack_version)
    return {**head, "entry": list(entries)}


def bundle_json_chunks(
    tables: Mapping[str, Iterable[Mapping[str, Any]]],
    *,
    exported_at: datetime,
    medtrack_version: str,
) -> Iterator[str]:
    """The Bundle as indented JSON text (the bytes of `json.dumps(bundle(...), indent=2,
    ensure_ascii=False) + "\\n"`), one entry at a time: the dose, symptom, measurement,
    check-in and side-effect tables may be lazy iterables, read once, never held whole."""
    from medtrack.render.csvjson import indented_json

    head, entries = _bundle_parts(tables, exported_at, medtrack_version)
    text = json.dumps(head, indent=2, ensure_ascii=False, allow_nan=False)
    yield text[:-2] + ',\n  "entry": ['
    count = 0
    for entry in entries:
        # An entry sits two levels deep: its lines after the first gain four spaces.
        piece = indented_json(entry, level=2)
        yield ("\n    " if count == 0 else ",\n    ") + piece
        count += 1
    yield "\n  ]\n}\n" if count else "]\n}\n"


def _bundle_parts(
    tables: Mapping[str, Iterable[Mapping[str, Any]]],
    exported_at: datetime,
    medtrack_version: str,
) -> tuple[dict[str, Any], Iterator[dict[str, Any]]]:
    settings = {row["key"]: row["value"] for row in tables.get("settings", [])}
    zones = list(tables.get("zone_changes", []))
    ids = _Ids(_profile_seed(zones, settings))
    head = {
        "resourceType": "Bundle",
        "id": ids.resource_id("bundle", exported_at.isoformat()),
        "meta": {"tag": [{"display": f"exported by medtrack {medtrack_version}"}]},
        "type": "collection",
        "timestamp": exported_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
    }
    meds = {row["id"]: row for row in tables.get("medications", [])}
    regimens: dict[int, list[Mapping[str, Any]]] = {}
    for row in tables.get("regimens", []):
        regimens.setdefault(row["medication_id"], []).append(row)

    def resources() -> Iterator[dict[str, Any]]:
        yield _patient(ids, settings.get("name"))
        exported = head["timestamp"]
        for med in meds.values():
            yield _medication_statement(ids, med, regimens.get(med["id"], []), exported)
        for dose in tables.get("doses", []):
            yield _administration(ids, dose, meds.get(dose["medication_id"]))
        for row in tables.get("symptoms", []):
            yield _symptom(ids, row)
        for row in tables.get("measurements", []):
            yield _measurement(ids, row)
        for row in tables.get("checkins", []):
            yield _checkin(ids, row)
        for row in tables.get("side_effects", []):
            yield _adverse_event(ids, row, meds.get(row.get("medication_id")))

    entries = ({"fullUrl": ids.url_of(r), "resource": r} for r in resources())
    return head, entries


class _Ids:
    """Stable UUIDs per profile and row; the Bundle refers by `urn:uuid:` fullUrl."""

    def __init__(self, seed: str) -> None:
        self.namespace = uuid.uuid5(uuid.NAMESPACE_URL, f"medtrack:{seed}")
        # The patient and each medication are referred to from every dose: hash them once.
        self._shared: dict[tuple[str, Any], str] = {}

    def make(self, kind: str, key: Any) -> str:
        return f"urn:uuid:{uuid.uuid5(self.namespace, f'{kind}/{key}')}"

    def shared(self, kind: str, key: Any) -> str:
        """`make` for an id referred to many times."""
        found = self._shared.get((kind, key))
        if found is None:
            found = self._shared[kind, key] = self.make(kind, key)
        return found

    def resource_id(self, kind: str, key: Any) -> str:
        return self.make(kind, key).removeprefix("urn:uuid:")

    @staticmethod
    def url_of(resource: Mapping[str, Any]) -> str:
        return f"urn:uuid:{resource['id']}"


def _profile_seed(zones: Sequence[Mapping[str, Any]], settings: Mapping) -> str:
    started = zones[0]["recorded_at"] if zones else ""
    return f"{settings.get('name') or ''}|{started}"


def _ref(ids: _Ids, kind: str, key: Any) -> dict[str, str]:
    return {"reference": ids.shared(kind, key)}


def _patient(ids: _Ids, name: str | None) -> dict[str, Any]:
    patient: dict[str, Any] = {
        "resourceType": "Patient",
        "id": ids.resource_id("patient", "self"),
        "active": True,
    }
    if name:
        patient["name"] = [{"text": name}]
    patient["text"] = _narrative(f"Patient: {name or 'name not recorded'}")
    return patient


def _subject(ids: _Ids) -> dict[str, str]:
    return _ref(ids, "patient", "self")


def _when(utc_text: str | None, zone: str | None = None) -> str | None:
    """A stored UTC instant as FHIR dateTime, in the person's zone of the moment."""
    if utc_text is None:
        return None
    instant = datetime.fromisoformat(utc_text.replace("Z", "+00:00"))
    if zone:
        try:
            return instant.astimezone(ZoneInfo(zone)).isoformat()
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return utc_text


def _quantity(value: float, unit: str | None) -> dict[str, Any]:
    quantity: dict[str, Any] = {"value": value}
    if unit:
        quantity["unit"] = unit
        code = _UCUM.get(unit.casefold().replace(" ", ""))
        if code is not None:
            quantity["system"] = UCUM_SYSTEM
            quantity["code"] = code
    return quantity


def _loinc(code: str, text: str) -> dict[str, Any]:
    """A LOINC concept: the coding's display is LOINC's own name where known; `text` is
    how medtrack words it for people."""
    display = LOINC_DISPLAY.get(code, text)
    return {"coding": [{"system": LOINC_SYSTEM, "code": code, "display": display}], "text": text}


def _narrative(*lines: str | None) -> dict[str, str]:
    """A generated narrative (text.div): what a person reading the resource should see."""
    body = "".join(f"<p>{html.escape(line)}</p>" for line in lines if line)
    return {"status": "generated", "div": f'<div xmlns="http://www.w3.org/1999/xhtml">{body}</div>'}


def _category(code: str, display: str) -> list[dict[str, Any]]:
    return [{"coding": [{"system": _OBS_CATEGORY, "code": code, "display": display}]}]


def _notes(*texts: str | None) -> list[dict[str, str]]:
    return [{"text": t} for t in texts if t]


# --- medications and doses -----------------------------------------------------------------


def _medication_statement(
    ids: _Ids,
    med: Mapping[str, Any],
    regimens: Sequence[Mapping[str, Any]],
    exported: str = "",
) -> dict[str, Any]:
    stopped = med.get("stopped_at")
    first = min((r["starts_at"] for r in regimens), default=med.get("created_at"))
    # A plan that starts after the export is intended, not yet active.
    status = "stopped" if stopped else "intended" if first and first > exported else "active"
    period: dict[str, str] = {}
    if first:
        period["start"] = first
    if stopped:
        period["end"] = stopped
    statement: dict[str, Any] = {
        "resourceType": "MedicationStatement",
        "id": ids.resource_id("medication", med["id"]),
        "status": status,
        "category": {
            "coding": [{"system": _MS_CATEGORY, "code": "patientspecified"}],
            "text": {"rx": "prescription", "otc": "over the counter"}.get(
                med.get("kind") or "rx", med.get("kind") or "rx"
            ),
        },
        "medicationCodeableConcept": {"text": med["name"]},
        "subject": _subject(ids),
        "informationSource": _subject(ids),
        "dateAsserted": med.get("created_at"),
        "dosage": [_dosage(r, n) for n, r in enumerate(regimens, start=1)],
    }
    if period:
        statement["effectivePeriod"] = period
    if stopped and med.get("stop_reason"):
        statement["statusReason"] = [{"text": med["stop_reason"]}]
    if med.get("purpose"):
        statement["reasonCode"] = [{"text": med["purpose"]}]
    notes = _notes(
        f"Prescribed by {med['prescriber']}" if med.get("prescriber") else None,
        "Controlled substance" if med.get("controlled") else None,
        med.get("notes"),
    )
    if notes:
        statement["note"] = notes
    current = regimens[-1] if regimens else None
    statement["text"] = _narrative(
        f"{med['name']} ({status})",
        None if current is None else f"Plan: {_dosage(current, len(regimens))['text']}",
        f"From {first}" if first else None,
        f"Stopped {stopped}: {med.get('stop_reason') or 'no reason recorded'}" if stopped else None,
    )
    return {k: v for k, v in statement.items() if v not in (None, [])}


def _dosage(regimen: Mapping[str, Any], sequence: int) -> dict[str, Any]:
    from datetime import timedelta

    from medtrack.core.models import Dose, Schedule
    from medtrack.core.schedule import describe, parse_times_text

    dose = Dose(regimen["dose_amount"], regimen["dose_unit"])
    as_needed = bool(regimen.get("as_needed"))
    interval = regimen.get("min_interval_minutes")
    schedule = Schedule(
        rrule=regimen.get("schedule_rrule"),
        times=parse_times_text(regimen.get("schedule_times")),
        as_needed=as_needed,
    )
    words = describe(
        schedule,
        max_per_day=regimen.get("max_per_day"),
        min_interval=None if interval is None else timedelta(minutes=interval),
    )
    text = f"{dose}, {words}"
    if regimen.get("reason"):
        text += f" ({regimen['reason']})"
    dosage: dict[str, Any] = {
        "sequence": sequence,
        "text": text,
        "timing": {"repeat": _repeat(regimen, schedule)},
        "asNeededBoolean": as_needed,
        "doseAndRate": [{"doseQuantity": _quantity(dose.amount, dose.unit)}],
    }
    if regimen.get("max_per_day"):
        dosage["maxDosePerPeriod"] = {
            "numerator": _quantity(regimen["max_per_day"] * dose.amount, dose.unit),
            "denominator": {"value": 1, "unit": "d", "system": UCUM_SYSTEM, "code": "d"},
        }
    return dosage


def _repeat(regimen: Mapping[str, Any], schedule: Any) -> dict[str, Any]:
    bounds = {"start": regimen["starts_at"]}
    if regimen.get("ends_at"):
        bounds["end"] = regimen["ends_at"]
    repeat: dict[str, Any] = {"boundsPeriod": bounds}
    if schedule.as_needed or not schedule.rrule:
        return repeat
    parts = dict(part.split("=", 1) for part in schedule.rrule.split(";"))
    freq = parts.get("FREQ", "")
    interval = int(parts.get("INTERVAL", "1"))
    times = [t.strftime("%H:%M:%S") for t in schedule.times]
    unit = _PERIOD_UNITS.get(freq)
    if freq == "HOURLY":
        # "every 8h from 06:00": one dose per 8 hours; the anchor time says where it starts.
        repeat.update(frequency=1, period=interval, periodUnit="h")
        return repeat
    if unit is not None:
        days = [_DAY_CODES[d] for d in parts.get("BYDAY", "").split(",") if d in _DAY_CODES]
        if days:
            repeat["dayOfWeek"] = days
            if interval > 1:
                repeat.update(frequency=len(days) * len(times), period=interval, periodUnit=unit)
        else:
            repeat.update(frequency=len(times) or 1, period=interval, periodUnit=unit)
    if times:
        repeat["timeOfDay"] = times
    return repeat


def _administration(
    ids: _Ids, dose: Mapping[str, Any], med: Mapping[str, Any] | None
) -> dict[str, Any]:
    skipped = dose["status"] == "skipped"
    resource: dict[str, Any] = {
        "resourceType": "MedicationAdministration",
        "id": ids.resource_id("dose", dose["id"]),
        "status": "not-done" if skipped else "completed",
        "medicationCodeableConcept": {"text": med["name"] if med else "unknown medication"},
        "subject": _subject(ids),
        "effectiveDateTime": _when(dose["taken_at"], dose.get("zone")),
    }
    if skipped:
        resource["statusReason"] = [{"text": dose.get("skip_reason") or "no reason recorded"}]
    if med is not None:
        resource["supportingInformation"] = [_ref(ids, "medication", med["id"])]
    if dose.get("amount") is not None and not skipped:
        resource["dosage"] = {"dose": _quantity(dose["amount"], dose.get("unit"))}
    if dose.get("note"):
        resource["note"] = _notes(dose["note"])
    name = med["name"] if med else "unknown medication"
    when = resource["effectiveDateTime"]
    resource["text"] = _narrative(
        f"{name} skipped at {when}: {resource['statusReason'][0]['text']}"
        if skipped
        else f"{name} taken at {when}"
        + (f", {dose['amount']:g} {dose.get('unit') or ''}".rstrip() if dose.get("amount") else "")
    )
    return resource


# --- observations ----------------------------------------------------------------------------


def _observation(ids: _Ids, kind: str, row: Mapping[str, Any]) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": ids.resource_id(kind, row["id"]),
        "status": "final",
        "subject": _subject(ids),
        "effectiveDateTime": _when(row["at"], row.get("zone")),
        "issued": row["recorded_at"],
    }
    if row.get("note"):
        resource["note"] = _notes(row["note"])
    return resource


def _symptom(ids: _Ids, row: Mapping[str, Any]) -> dict[str, Any]:
    resource = _observation(ids, "symptom", row)
    resource["category"] = _category("survey", "Survey")
    resource["code"] = {"text": row["name"]}
    unit = row.get("unit") or "/10"
    resource["valueQuantity"] = _quantity(row["value"], unit)
    resource["text"] = _narrative(
        f"{row['name']}: {row['value']:g}{' ' + unit if row.get('unit') else ' of 10'} "
        f"at {resource['effectiveDateTime']}",
        row.get("note"),
    )
    return resource


def _measurement(ids: _Ids, row: Mapping[str, Any]) -> dict[str, Any]:
    from medtrack.core.health import LOINC_BP_COMPONENTS, Measurement, loinc_for

    resource = _observation(ids, "measurement", row)
    kind = row["kind"]
    code = loinc_for(Measurement(kind, row["value"], row.get("value2"), row["unit"]))
    names = {
        "weight": "Body weight",
        "bp": "Blood pressure panel with all children optional",
        "heart_rate": "Heart rate",
        "lithium": "Lithium [Moles/volume] in Serum or Plasma",
    }
    vital = kind in ("weight", "bp", "heart_rate")
    resource["category"] = (
        _category("vital-signs", "Vital Signs") if vital else _category("laboratory", "Laboratory")
    )
    resource["code"] = _loinc(code, names.get(kind, kind)) if code else {"text": kind}
    if kind == "bp":
        resource["component"] = [
            {
                "code": _loinc(LOINC_BP_COMPONENTS["systolic"], "Systolic blood pressure"),
                "valueQuantity": _quantity(row["value"], "mmHg"),
            },
            {
                "code": _loinc(LOINC_BP_COMPONENTS["diastolic"], "Diastolic blood pressure"),
                "valueQuantity": _quantity(row["value2"], "mmHg"),
            },
        ]
    else:
        resource["valueQuantity"] = _quantity(row["value"], row["unit"])
    value = f"{row['value']:g}" + (f"/{row['value2']:g}" if row.get("value2") is not None else "")
    resource["text"] = _narrative(
        f"{names.get(kind, kind)}: {value} {row['unit']} at {resource['effectiveDateTime']}",
        row.get("note"),
    )
    return resource


def _answers(text: Any) -> list[int]:
    """Item answers as stored by `checkin` (a JSON list, or comma-separated text)."""
    if text is None:
        return []
    try:
        value = json.loads(text) if isinstance(text, str) else text
    except ValueError:
        value = [part.strip() for part in str(text).split(",")]
    if isinstance(value, dict):
        value = value.get("answers", [])
    if not isinstance(value, list):
        return []
    try:
        return [int(v) for v in value]
    except (TypeError, ValueError):
        return []


def _checkin(ids: _Ids, row: Mapping[str, Any]) -> dict[str, Any]:
    from medtrack.core.questionnaires import QUESTIONNAIRES

    resource = _observation(ids, "checkin", row)
    resource["category"] = _category("survey", "Survey")
    questionnaire = QUESTIONNAIRES.get(str(row["questionnaire"]).casefold().replace("-", ""))
    if questionnaire is None:
        resource["code"] = {"text": str(row["questionnaire"])}
        resource["valueInteger"] = row["total"]
        return resource
    resource["code"] = _loinc(questionnaire.loinc_total, f"{questionnaire.name} total score")
    resource["valueInteger"] = row["total"]
    resource["interpretation"] = [{"text": row["band"]}]
    answers = _answers(row.get("answers"))
    if len(answers) == len(questionnaire.items):
        components = []
        for number, (item, answer) in enumerate(
            zip(questionnaire.items, answers, strict=True), start=1
        ):
            label = f"{questionnaire.name} item {number}: {item.text}"
            code = _loinc(item.loinc, label) if item.loinc else {"text": label}
            components.append({"code": code, "valueInteger": answer})
        difficulty = row.get("difficulty")
        if questionnaire.difficulty is not None and difficulty is not None:
            options = questionnaire.difficulty.options
            words = options[difficulty] if 0 <= difficulty < len(options) else str(difficulty)
            components.append(
                {
                    "code": _loinc(PHQ9_DIFFICULTY_LOINC, questionnaire.difficulty.text),
                    "valueCodeableConcept": {"text": words},
                }
            )
        resource["component"] = components
    resource["text"] = _narrative(
        f"{questionnaire.name} total {row['total']} of {questionnaire.max_total} "
        f"({row['band']}) at {resource['effectiveDateTime']}",
        f"Difficulty: {questionnaire.difficulty.options[row['difficulty']]}"
        if questionnaire.difficulty is not None
        and isinstance(row.get("difficulty"), int)
        and 0 <= row["difficulty"] < len(questionnaire.difficulty.options)
        else None,
        "Item 9 (thoughts of being better off dead or of self-harm) answered above 0"
        if row.get("flagged")
        else None,
        row.get("note"),
    )
    return resource


def _adverse_event(
    ids: _Ids, row: Mapping[str, Any], med: Mapping[str, Any] | None
) -> dict[str, Any]:
    resolved = row.get("resolved_at")
    resource: dict[str, Any] = {
        "resourceType": "AdverseEvent",
        "id": ids.resource_id("side_effect", row["id"]),
        "actuality": "actual",
        "event": {"text": row["name"]},
        "subject": _subject(ids),
        "date": _when(row["started_at"], row.get("zone")),
        "recordedDate": row["recorded_at"],
        "severity": {
            "coding": [{"system": _AE_SEVERITY, "code": row["severity"]}],
            "text": row["severity"],
        },
        "outcome": {
            "coding": [{"system": _AE_OUTCOME, "code": "resolved" if resolved else "ongoing"}]
        },
    }
    if med is not None:
        resource["suspectEntity"] = [{"instance": _ref(ids, "medication", med["id"])}]
    # AdverseEvent has no note element: the action taken, the resolution date and the
    # person's words travel in the narrative.
    lines = [f"Side effect: {row['name']} ({row['severity']})"]
    if med is not None:
        lines.append(f"Suspected medication: {med['name']}")
    if resolved:
        lines.append(f"Resolved: {_when(resolved, row.get('zone'))}")
    if row.get("action"):
        lines.append(f"Action: {row['action']}")
    if row.get("note"):
        lines.append(f"Note: {row['note']}")
    body = "".join(f"<p>{html.escape(line)}</p>" for line in lines)
    resource["text"] = {
        "status": "generated",
        "div": f'<div xmlns="http://www.w3.org/1999/xhtml">{body}</div>',
    }
    return resource
