"""FHIR R4 resources: a Bundle, or the resources of a folder (Apple Health's export keeps
one resource per file under ``clinical-records/``).

- MedicationStatement and MedicationRequest (and DSTU2's MedicationOrder, which Apple
  Health keeps for some providers) become medications; each Dosage
  (``dosage`` / ``dosageInstruction``) whose Timing is structured becomes a regimen: times
  of day with a daily, weekly (days of the week) or monthly period, every N hours, or as
  needed; the dose from ``doseAndRate.doseQuantity``. A Dosage without times of day is
  recorded as needed, and the dry run says so. Several resources for the same medication
  (a request per refill) are one medication with a plan step per distinct start.
- MedicationAdministration becomes a dose: ``completed`` taken, ``not-done`` skipped (the
  statusReason as the skip reason when it is one of medtrack's, else kept in the note).
- Observation with the LOINC codes medtrack knows becomes a measurement (body weight
  29463-7, blood pressure 85354-9 or 55284-4 with systolic 8480-6 and diastolic 8462-4,
  heart rate 8867-4, lithium 14334-7) or a check-in (PHQ-9 total 44261-6, GAD-7 total
  70274-6, with the item answers as components, scored again by medtrack); an uncoded
  survey Observation with a quantity (as medtrack writes symptoms) becomes a symptom, an
  uncoded laboratory one a lab measurement.
- AdverseEvent becomes a side effect (event, severity mild/moderate/severe, date, the
  suspected medication); the resolution date, action and note medtrack writes in the
  narrative (R4 has no element for them) are read back from it.
- Everything else is reported as not imported, with the reason.

medtrack's own FHIR export reads back to the same plan and records.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time
from typing import Any

from medtrack.core.health import (
    SEVERITIES,
    check_symptom_value,
    normalize_symptom_name,
    parse_measurement,
)
from medtrack.core.importers import (
    ImportedCheckin,
    ImportedDose,
    ImportedMeasurement,
    ImportedMedication,
    ImportedSideEffect,
    ImportedSymptom,
    ImportPlan,
    Localize,
    PlanStep,
    clean_note,
)
from medtrack.core.meds import parse_dose
from medtrack.core.models import SKIP_REASONS, Dose, Schedule
from medtrack.core.questionnaires import QUESTIONNAIRES, score
from medtrack.core.schedule import parse_schedule
from medtrack.errors import BadDose, BadSchedule, BadValue, MedtrackError

LOINC = "http://loinc.org"
_WEIGHT, _HEART_RATE, _LITHIUM = "29463-7", "8867-4", "14334-7"
_BP_PANELS = ("85354-9", "55284-4")
_SYSTOLIC, _DIASTOLIC = "8480-6", "8462-4"
_TOTALS = {q.loinc_total: q for q in QUESTIONNAIRES.values()}
_PANELS = {q.loinc_panel: q for q in QUESTIONNAIRES.values()}
_DAY_CODES = {"mon": "MO", "tue": "TU", "wed": "WE", "thu": "TH", "fri": "FR", "sat": "SA"}
_DAY_CODES["sun"] = "SU"
_FREQ_OF_UNIT = {"d": "DAILY", "wk": "WEEKLY", "mo": "MONTHLY", "a": "YEARLY"}
_UCUM_UNITS = {"ug": "mcg", "[iU]": "IU", "mL": "ml", "[lb_av]": "lb", "/min": "bpm"}
_DEFAULT_DOSE = Dose(1.0, "dose")
_ADMIN_STATUS = {"completed": "taken", "not-done": "skipped"}
# MedicationOrder is DSTU2's MedicationRequest: Apple Health keeps some providers'
# records in that older version.
_PLAN_RESOURCES = ("MedicationStatement", "MedicationRequest", "MedicationOrder")
_NO_REASON = "no reason recorded"  # what medtrack's export writes for a skip without one


class _Context:
    """What the mapping needs besides the resource: wall times read in the person's zones,
    and Medication resources referred to by id."""

    def __init__(self, localize: Localize, local: Callable[[datetime], datetime]) -> None:
        self.localize = localize
        self.local = local
        self.medications: dict[str, str] = {}


def resources_of(doc: Any, where: str) -> list[tuple[str, dict[str, Any]]]:
    """(where, resource) for a Bundle's entries, or the resource itself."""
    if not isinstance(doc, dict) or not isinstance(doc.get("resourceType"), str):
        raise BadValue(f"{where}: not a FHIR resource (no resourceType)")
    if doc["resourceType"] != "Bundle":
        return [(where, doc)]
    entries = doc.get("entry", [])
    if not isinstance(entries, list):
        raise BadValue(f"{where}: Bundle.entry must be a list")
    found = []
    for number, entry in enumerate(entries, start=1):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
            raise BadValue(f"{where} entry {number}: no resource with a resourceType")
        found.append((f"{where} entry {number}", resource))
    return found


def parse_resources(
    resources: Sequence[tuple[str, dict[str, Any]]],
    *,
    localize: Localize,
    local: Callable[[datetime], datetime],
) -> ImportPlan:
    """The plan of FHIR resources, each named by where it was found."""
    plan = ImportPlan(source="fhir")
    context = _Context(localize, local)
    for _where, resource in resources:
        if resource["resourceType"] == "Medication":
            name = _concept_text(resource.get("code"))
            if name and isinstance(resource.get("id"), str):
                context.medications[f"Medication/{resource['id']}"] = name
                context.medications[f"urn:uuid:{resource['id']}"] = name
    for _where, resource in resources:
        # A side effect names its suspected medication by the statement's reference, as
        # medtrack's own export does.
        if resource["resourceType"] in _PLAN_RESOURCES:
            name = _medication_name(resource, context)
            if name and isinstance(resource.get("id"), str):
                context.medications[f"{resource['resourceType']}/{resource['id']}"] = name
                context.medications[f"urn:uuid:{resource['id']}"] = name
    statements: dict[str, list[tuple[str, dict[str, Any], str]]] = {}
    for where, resource in resources:
        kind = resource["resourceType"]
        try:
            if kind in _PLAN_RESOURCES:
                name = _medication_name(resource, context)
                if name is None:
                    plan.skip(where, kind, "names no medication")
                else:
                    statements.setdefault(name.casefold(), []).append((where, resource, name))
            elif kind == "MedicationAdministration":
                _administration(plan, where, resource, context)
            elif kind == "Observation":
                _observation(plan, where, resource, context)
            elif kind == "AdverseEvent":
                _adverse_event(plan, where, resource, context)
            elif kind not in ("Medication", "Patient"):
                plan.skip(where, kind, f"{kind} is not imported")
        except MedtrackError as exc:
            raise BadValue(f"{where} ({kind}): {exc.message}") from None
    for group in statements.values():
        plan.medications.append(_medication(group, context))
    named = {m.name.casefold() for m in plan.medications}
    for name in dict.fromkeys(d.medication for d in plan.doses):
        if name.casefold() not in named:
            named.add(name.casefold())
            first = min(d.at for d in plan.doses if d.medication.casefold() == name.casefold())
            plan.medications.append(
                ImportedMedication(
                    name=name,
                    steps=(
                        PlanStep(
                            _DEFAULT_DOSE,
                            Schedule(None, (), True),
                            _local_midnight(first, context),
                        ),
                    ),
                    plan_words="as needed (only administrations in the file, no statement)",
                )
            )
    return plan


# --- medications -------------------------------------------------------------------------


def _obj(value: Any) -> Mapping[str, Any]:
    """A FHIR element that should be an object; anything else reads as empty."""
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    """A FHIR element that should be a list; anything else reads as empty."""
    return value if isinstance(value, list) else []


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _concept_text(concept: Any) -> str | None:
    if not isinstance(concept, dict):
        return None
    text = concept.get("text")
    if isinstance(text, str) and text.strip():
        return " ".join(text.split())
    for coding in _list(concept.get("coding")):
        display = coding.get("display") if isinstance(coding, dict) else None
        if isinstance(display, str) and display.strip():
            return " ".join(coding["display"].split())
    return None


def _medication_name(resource: Mapping[str, Any], context: _Context) -> str | None:
    name = _concept_text(resource.get("medicationCodeableConcept"))
    if name:
        return name
    reference = resource.get("medicationReference")
    if isinstance(reference, dict):
        target = reference.get("reference")
        if isinstance(target, str) and target in context.medications:
            return context.medications[target]
        display = reference.get("display")
        if isinstance(display, str) and display.strip():
            return " ".join(display.split())
    return None


def _medication(
    group: list[tuple[str, dict[str, Any], str]], context: _Context
) -> ImportedMedication:
    name = group[0][2]
    steps: list[PlanStep] = []
    words: list[str] = []
    kind, purpose, stopped_at, stop_reason = "rx", None, None, None
    for _where, resource, _ in group:
        dosages = _list(resource.get("dosage") or resource.get("dosageInstruction"))
        start = _resource_start(resource, context)
        if not dosages:
            if start is not None:
                steps.append(PlanStep(_DEFAULT_DOSE, Schedule(None, (), True), start))
                words.append("no dosage in the file")
            continue
        for dosage in dosages:
            step, said = _dosage_step(dosage, start, context)
            if step is not None:
                steps.append(step)
            if said:
                words.append(said)
        category = _concept_text(resource.get("category"))
        if category in ("over the counter", "otc"):
            kind = "otc"
        elif category == "supplement":
            kind = "supplement"
        purpose = purpose or _first_text(resource.get("reasonCode"))
        if resource.get("status") in ("stopped", "completed"):
            period = resource.get("effectivePeriod")
            end = period.get("end") if isinstance(period, dict) else None
            if isinstance(end, str):
                stopped_at = _instant(end, context)
                stop_reason = _first_text(resource.get("statusReason"))
    if not steps:
        raise BadValue(f"{name}: no start date in the file for its plan")
    steps = _ordered_steps(steps)
    if stopped_at is not None and steps[-1].ends_at is None:
        steps[-1] = _replace_end(steps[-1], max(stopped_at, steps[-1].starts_at))
    plan_words = _plan_words(steps[-1]) + (f" ({'; '.join(dict.fromkeys(words))})" if words else "")
    return ImportedMedication(
        name=name,
        steps=tuple(steps),
        plan_words=plan_words,
        kind=kind,
        purpose=purpose,
        stopped_at=stopped_at,
        stop_reason=stop_reason,
    )


def _replace_end(step: PlanStep, end: datetime | None) -> PlanStep:
    return PlanStep(step.dose, step.schedule, step.starts_at, end, step.max_per_day)


def _ordered_steps(steps: list[PlanStep]) -> list[PlanStep]:
    """Steps by start, one per start; a step runs until its own end or the next start."""
    by_start: dict[datetime, PlanStep] = {}
    for step in sorted(steps, key=lambda s: s.starts_at):
        by_start.setdefault(step.starts_at, step)
    ordered = list(by_start.values())
    for index, step in enumerate(ordered[:-1]):
        following = ordered[index + 1].starts_at
        if step.ends_at is None or step.ends_at > following:
            ordered[index] = _replace_end(step, following)
    return ordered


def _plan_words(step: PlanStep) -> str:
    from medtrack.core.schedule import describe

    return f"{step.dose}, {describe(step.schedule, max_per_day=step.max_per_day)}"


def _first_text(concepts: Any) -> str | None:
    if isinstance(concepts, list):
        for concept in concepts:
            text = _concept_text(concept)
            if text:
                return text
    return None


def _resource_start(resource: Mapping[str, Any], context: _Context) -> datetime | None:
    period = resource.get("effectivePeriod")
    candidates = [
        period.get("start") if isinstance(period, dict) else None,
        resource.get("effectiveDateTime"),
        resource.get("authoredOn"),
        resource.get("dateWritten"),  # DSTU2
        resource.get("dateAsserted"),
    ]
    for value in candidates:
        if isinstance(value, str):
            return _instant(value, context)
    return None


def _dosage_step(
    dosage: Any, start: datetime | None, context: _Context
) -> tuple[PlanStep | None, str | None]:
    if not isinstance(dosage, dict):
        raise BadValue("a dosage must be an object")
    dose = _dose_of(dosage)
    said = None
    if dose is None:
        dose, said = _DEFAULT_DOSE, "no structured dose: 1 dose"
    repeat = _obj(_obj(dosage.get("timing")).get("repeat"))
    bounds = repeat.get("boundsPeriod")
    step_start, step_end = start, None
    if isinstance(bounds, dict):
        if isinstance(bounds.get("start"), str):
            step_start = _instant(bounds["start"], context)
        if isinstance(bounds.get("end"), str):
            step_end = _instant(bounds["end"], context)
    if step_start is None:
        return None, "a dosage without a start date is left out"
    schedule, why = _schedule(dosage, repeat, step_start, context)
    if why:
        said = why if said is None else f"{said}; {why}"
    max_per_day = None
    if schedule.as_needed:
        max_per_day = _max_per_day(dosage.get("maxDosePerPeriod"), dose)
    return PlanStep(dose, schedule, step_start, step_end, max_per_day), said


def _dose_of(dosage: Mapping[str, Any]) -> Dose | None:
    for rate in _list(dosage.get("doseAndRate")):
        if isinstance(rate, dict) and isinstance(rate.get("doseQuantity"), dict):
            return _quantity_dose(rate["doseQuantity"])
    if isinstance(dosage.get("doseQuantity"), dict):  # DSTU2 and STU3 keep it here
        return _quantity_dose(dosage["doseQuantity"])
    return None


def _quantity_dose(quantity: Mapping[str, Any]) -> Dose | None:
    value = quantity.get("value")
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    if value <= 0:
        raise BadValue(f"a dose of {value} is not more than zero")
    unit = _unit(quantity)
    if unit is None:
        return Dose(float(value), "dose")
    try:
        return parse_dose(f"{value:g} {unit}")._replace(amount=float(value))
    except BadDose:
        return Dose(float(value), " ".join(unit.split()))


def _max_per_day(ratio: Any, dose: Dose) -> int | None:
    if not isinstance(ratio, dict):
        return None
    numerator, denominator = _obj(ratio.get("numerator")), _obj(ratio.get("denominator"))
    amount = numerator.get("value")
    per = denominator.get("value", 1)
    unit = denominator.get("code") or denominator.get("unit")
    if not _number(amount) or per != 1 or unit not in ("d", "day") or not dose.amount:
        return None
    count = amount / dose.amount
    return round(count) if count >= 1 and abs(count - round(count)) < 1e-9 else None


def _schedule(
    dosage: Mapping[str, Any], repeat: Mapping[str, Any], start: datetime, context: _Context
) -> tuple[Schedule, str | None]:
    if dosage.get("asNeededBoolean") or dosage.get("asNeededCodeableConcept"):
        return Schedule(None, (), True), None
    times = tuple(_clock(t) for t in _list(repeat.get("timeOfDay")))
    unit = repeat.get("periodUnit")
    unit = unit if isinstance(unit, str) else None
    period = repeat.get("period", 1)
    if not _number(period) or period <= 0 or period > 10000:
        return Schedule(None, (), True), f"period {period!r} is not one medtrack repeats"
    interval = max(int(period), 1)
    if unit == "h":
        if repeat.get("frequency", 1) != 1 or not float(period).is_integer():
            return Schedule(None, (), True), "an hourly timing medtrack cannot repeat"
        anchor = times[:1] or _hourly_anchor(dosage, start, context)
        return Schedule(f"FREQ=HOURLY;INTERVAL={interval}", anchor), None
    if not times:
        return Schedule(None, (), True), "no times of day in the file"
    days = [_DAY_CODES[d] for d in _list(repeat.get("dayOfWeek")) if d in _DAY_CODES]
    freq = "WEEKLY" if days else _FREQ_OF_UNIT.get(unit or "d")
    if freq is None:
        return Schedule(None, (), True), f"period unit {unit!r} is not one medtrack repeats"
    rule = f"FREQ={freq}" + (f";INTERVAL={interval}" if interval > 1 else "")
    if days:
        rule += ";BYDAY=" + ",".join(sorted(set(days), key=list(_DAY_CODES.values()).index))
    elif freq == "MONTHLY":
        written = _text_schedule(dosage, "MONTHLY")
        day = (written.rrule or "").partition("BYMONTHDAY=")[2] if written else ""
        rule += f";BYMONTHDAY={day or context.local(start).day}"
    return Schedule(rule, tuple(sorted(set(times)))), None


def _text_schedule(dosage: Mapping[str, Any], freq: str) -> Schedule | None:
    """The schedule in the dosage's text ("100 mg, every 8 hours from 06:00"), as medtrack
    writes it, when it repeats at `freq`: the Timing has no place for the anchor of an
    hourly rule nor for the day of a monthly one."""
    text = dosage.get("text")
    if not isinstance(text, str) or ", " not in text:
        return None
    try:
        schedule = parse_schedule(text.split(", ", 1)[1].split(" (")[0])
    except BadSchedule:
        return None
    rule = schedule.rrule or ""
    return schedule if rule.startswith(f"FREQ={freq}") else None


def _hourly_anchor(
    dosage: Mapping[str, Any], start: datetime, context: _Context
) -> tuple[time, ...]:
    written = _text_schedule(dosage, "HOURLY")
    if written is not None:
        return written.times
    wall = context.local(start)
    return (time(wall.hour, wall.minute),)


def _clock(text: Any) -> time:
    try:
        return time.fromisoformat(text).replace(second=0, microsecond=0)
    except (TypeError, ValueError):
        raise BadValue(f"timeOfDay {text!r} is not a time like 08:00:00") from None


# --- doses ---------------------------------------------------------------------------------


def _administration(
    plan: ImportPlan, where: str, resource: Mapping[str, Any], context: _Context
) -> None:
    name = _medication_name(resource, context)
    status = _ADMIN_STATUS.get(str(resource.get("status")))
    if name is None:
        plan.skip(where, "MedicationAdministration", "names no medication")
        return
    if status is None:
        plan.skip(where, "MedicationAdministration", f"status {resource.get('status')!r}")
        return
    at = _effective(resource, context)
    if at is None:
        plan.skip(where, "MedicationAdministration", "no time of administration")
        return
    reason_text = _first_text(resource.get("statusReason")) if status == "skipped" else None
    reason = None
    if reason_text is not None and reason_text.casefold() in SKIP_REASONS:
        reason = reason_text.casefold()
    elif reason_text == _NO_REASON:
        reason_text = None
    dosage = resource.get("dosage")
    amount = None
    if status == "taken" and isinstance(dosage, dict) and isinstance(dosage.get("dose"), dict):
        amount = _quantity_dose(dosage["dose"])
    plan.doses.append(
        ImportedDose(
            where=where,
            medication=name,
            at=at,
            status=status,
            amount=amount,
            reason=reason,
            note=clean_note(
                None if reason is not None or reason_text is None else f"reason: {reason_text}",
                *_notes(resource),
            ),
        )
    )


def _notes(resource: Mapping[str, Any]) -> list[str]:
    return [
        n["text"]
        for n in _list(resource.get("note"))
        if isinstance(n, dict) and isinstance(n.get("text"), str)
    ]


def _effective(resource: Mapping[str, Any], context: _Context) -> datetime | None:
    for key in ("effectiveDateTime", "effectiveInstant"):
        if isinstance(resource.get(key), str):
            return _instant(resource[key], context)
    period = resource.get("effectivePeriod")
    if isinstance(period, dict) and isinstance(period.get("start"), str):
        return _instant(period["start"], context)
    return None


def _instant(text: str, context: _Context) -> datetime:
    """A FHIR dateTime as an instant: with an offset as written; a date alone or a time
    without an offset is read in the person's zone of that day."""
    cleaned = text.strip()
    try:
        if len(cleaned) == 10:
            return context.localize(datetime.combine(date.fromisoformat(cleaned), time()))
        value = datetime.fromisoformat(cleaned.replace("Z", "+00:00"))
    except ValueError:
        raise BadValue(
            f"'{text}' is not a FHIR dateTime (e.g. 2026-11-02T08:00:00+01:00)"
        ) from None
    if value.tzinfo is None:
        value = context.localize(value)
    return value.astimezone(UTC).replace(microsecond=0)


def _local_midnight(instant: datetime, context: _Context) -> datetime:
    wall = context.local(instant).replace(tzinfo=None)
    return context.localize(datetime.combine(wall.date(), time()))


# --- observations --------------------------------------------------------------------------


def _codes(concept: Any) -> list[str]:
    if not isinstance(concept, dict):
        return []
    return [
        c["code"]
        for c in _list(concept.get("coding"))
        if isinstance(c, dict) and c.get("system") == LOINC and isinstance(c.get("code"), str)
    ]


def _categories(resource: Mapping[str, Any]) -> set[str]:
    found = set()
    for concept in _list(resource.get("category")):
        if isinstance(concept, dict):
            for coding in _list(concept.get("coding")):
                if isinstance(coding, dict) and isinstance(coding.get("code"), str):
                    found.add(coding["code"])
    return found


def _observation(
    plan: ImportPlan, where: str, resource: Mapping[str, Any], context: _Context
) -> None:
    if resource.get("status") in ("entered-in-error", "cancelled", "registered"):
        plan.skip(where, "Observation", f"status {resource['status']}")
        return
    at = _effective(resource, context)
    if at is None:
        plan.skip(where, "Observation", "no effective time")
        return
    note = clean_note(*_notes(resource))
    codes = _codes(resource.get("code"))
    quantity = resource.get("valueQuantity")
    value = quantity.get("value") if isinstance(quantity, dict) else None
    unit = _unit(quantity) if isinstance(quantity, dict) else None
    known = [
        c for c in codes if c in (_WEIGHT, _HEART_RATE, _LITHIUM, *_BP_PANELS, *_TOTALS, *_PANELS)
    ]
    if known:
        code = known[0]
        if code in _BP_PANELS:
            parts = {
                c: _obj(comp.get("valueQuantity")).get("value")
                for comp in _list(resource.get("component"))
                if isinstance(comp, dict)
                for c in _codes(comp.get("code"))
            }
            if not _number(parts.get(_SYSTOLIC)) or not _number(parts.get(_DIASTOLIC)):
                plan.skip(where, "Observation", "blood pressure without systolic and diastolic")
                return
            reading = parse_measurement("bp", f"{parts[_SYSTOLIC]:g}/{parts[_DIASTOLIC]:g}")
        elif code in _TOTALS or code in _PANELS:
            _checkin(plan, where, resource, code, at, note)
            return
        elif not _number(value):
            plan.skip(where, "Observation", f"LOINC {code} without a numeric valueQuantity")
            return
        else:
            kind = {_WEIGHT: "weight", _HEART_RATE: "heart_rate", _LITHIUM: "lithium"}[code]
            given = None if kind == "heart_rate" else unit
            reading = parse_measurement(kind, f"{value:g}", given)
        plan.measurements.append(ImportedMeasurement(where, reading, at, note))
        return
    if codes:
        plan.skip(where, "Observation", f"LOINC {codes[0]} is not a code medtrack records")
        return
    text = _concept_text(resource.get("code"))
    if text is None or not _number(value):
        plan.skip(where, "Observation", "neither a LOINC code medtrack knows nor a named value")
        return
    categories = _categories(resource)
    if "survey" in categories:
        symptom_unit = None if unit in (None, "/10") else unit
        plan.symptoms.append(
            ImportedSymptom(
                where,
                normalize_symptom_name(text),
                check_symptom_value(float(value), symptom_unit),
                symptom_unit,
                at,
                note,
            )
        )
    elif categories & {"laboratory", "vital-signs"} and unit:
        plan.measurements.append(
            ImportedMeasurement(where, parse_measurement(text, f"{value:g}", unit), at, note)
        )
    else:
        plan.skip(where, "Observation", f"'{text}' is neither a survey nor a lab value")


def _unit(quantity: Mapping[str, Any]) -> str | None:
    unit = quantity.get("unit")
    if isinstance(unit, str) and unit.strip():
        return unit.strip()
    code = quantity.get("code")
    if not isinstance(code, str) or not code.strip():
        return None
    return _UCUM_UNITS.get(code, code)


def _checkin(
    plan: ImportPlan,
    where: str,
    resource: Mapping[str, Any],
    code: str,
    at: datetime,
    note: str | None,
) -> None:
    questionnaire = _TOTALS.get(code) or _PANELS[code]
    answers = [
        comp.get("valueInteger")
        for comp in _list(resource.get("component"))
        if isinstance(comp, dict) and "valueInteger" in comp
    ]
    if len(answers) != len(questionnaire.items):
        plan.skip(
            where,
            "Observation",
            f"{questionnaire.name} without its {len(questionnaire.items)} item answers",
        )
        return
    result = score(questionnaire, tuple(answers))
    total = resource.get("valueInteger")
    if total is not None and total != result.total:
        raise BadValue(
            f"{questionnaire.name} total {total} is not the sum of its answers ({result.total})"
        )
    plan.checkins.append(
        ImportedCheckin(
            where=where,
            questionnaire=questionnaire.key,
            answers=result.answers,
            total=result.total,
            band=result.band,
            flagged=result.safety_flag,
            at=at,
            note=note,
        )
    )


def read_folder_entries(files: Iterable[tuple[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """Resources of several parsed files (a folder), each named by its file."""
    found: list[tuple[str, dict[str, Any]]] = []
    for name, doc in files:
        found.extend(resources_of(doc, name))
    return found


# --- side effects --------------------------------------------------------------------------

_NARRATIVE_LINE = re.compile(r"<p>(.*?)</p>", re.DOTALL)


def _narrative(resource: Mapping[str, Any]) -> dict[str, str]:
    """'Label: value' lines of the narrative medtrack writes for a side effect."""
    div = _obj(resource.get("text")).get("div")
    found: dict[str, str] = {}
    if isinstance(div, str):
        for line in _NARRATIVE_LINE.findall(div):
            label, sep, value = html.unescape(line).partition(": ")
            if sep and label in ("Resolved", "Action", "Note"):
                found.setdefault(label, value.strip())
    return found


def _adverse_event(
    plan: ImportPlan, where: str, resource: Mapping[str, Any], context: _Context
) -> None:
    name = _concept_text(resource.get("event"))
    if name is None:
        plan.skip(where, "AdverseEvent", "names no event")
        return
    if resource.get("actuality") == "potential":
        plan.skip(where, "AdverseEvent", "a potential event, not one that happened")
        return
    severity_concept = _obj(resource.get("severity"))
    codes = [c.get("code") for c in _list(severity_concept.get("coding")) if isinstance(c, dict)]
    severity = next((c for c in codes if c in SEVERITIES), None)
    if severity is None:
        text = _concept_text(severity_concept)
        severity = text.casefold() if text and text.casefold() in SEVERITIES else None
    if severity is None:
        plan.skip(where, "AdverseEvent", "no severity (mild, moderate or severe)")
        return
    when = resource.get("date") or resource.get("detected")
    if not isinstance(when, str):
        plan.skip(where, "AdverseEvent", "no date")
        return
    medication = None
    for entity in _list(resource.get("suspectEntity")):
        instance = _obj(_obj(entity).get("instance"))
        reference = instance.get("reference")
        if isinstance(reference, str) and reference in context.medications:
            medication = context.medications[reference]
        elif isinstance(instance.get("display"), str) and instance["display"].strip():
            medication = " ".join(instance["display"].split())
        if medication:
            break
    lines = _narrative(resource)
    outcome = [
        c.get("code")
        for c in _list(_obj(resource.get("outcome")).get("coding"))
        if isinstance(c, dict)
    ]
    resolved = None
    if "resolved" in outcome and "Resolved" in lines:
        resolved = _instant(lines["Resolved"], context)
    plan.side_effects.append(
        ImportedSideEffect(
            where=where,
            name=normalize_symptom_name(name),
            medication=medication,
            severity=severity,
            at=_instant(when, context),
            resolved_at=resolved,
            action=lines.get("Action"),
            note=lines.get("Note"),
        )
    )
