"""The FHIR R4 Bundle: every resource validates (fhir.resources.R4B, identical to R4 for
these resources) and carries the codes and statuses the issue names."""

from __future__ import annotations

import importlib
import json

from typer.testing import CliRunner

from medtrack.cli import app

NOW = "2026-11-23T14:30:00+01:00"
runner = CliRunner()


def ok(*args: str):
    result = runner.invoke(app, list(args), env={"MEDTRACK_NOW": NOW})
    assert result.exit_code == 0, (args, result.output, result.stderr)
    return result


def record() -> None:
    ok("config", "set", "name", "Ada Example")
    ok("med", "add", "sertraline", "--dose", "50mg", "--schedule", "daily 08:00",
       "--for", "depression", "--prescriber", "Dr Okafor", "--start", "2026-11-01")  # fmt: skip
    ok("med", "change", "sertraline", "--dose", "100mg", "--from", "2026-11-15",
       "--reason", "step 2")  # fmt: skip
    ok("med", "add", "lorazepam", "--dose", "0.5mg", "--schedule", "as needed",
       "--max-per-day", "2", "--start", "2026-11-01")  # fmt: skip
    ok("med", "add", "lithium", "--dose", "400mg", "--schedule", "mon,wed,fri 21:00",
       "--start", "2026-11-01")  # fmt: skip
    ok("med", "add", "paliperidone", "--dose", "156mg", "--schedule", "every 4 weeks mon 10:00",
       "--start", "2026-11-02")  # fmt: skip
    ok("med", "stop", "lorazepam", "--reason", "no longer needed", "--at", "2026-11-20")
    ok("take", "sertraline", "--at", "2026-11-22 08:05")
    ok("skip", "sertraline", "--at", "2026-11-23 08:00", "--reason", "side-effects")
    ok("symptom", "record", "mood", "6", "--at", "2026-11-22 20:00")
    ok("symptom", "record", "sleep", "7.5", "--unit", "h", "--at", "2026-11-22 07:00")
    ok("measure", "record", "weight", "72.4kg", "--at", "2026-11-22 07:30")
    ok("measure", "record", "bp", "128/82", "--at", "2026-11-22 07:31")
    ok("measure", "record", "lithium", "0.8", "mmol/L", "--at", "2026-11-22 07:32")
    ok("measure", "record", "tsh", "2.1", "mIU/L", "--at", "2026-11-22 07:33")
    ok("checkin", "take", "phq9", "--answers", "1,1,2,0,1,0,1,0,1", "--at", "2026-11-22 10:00")
    ok("checkin", "take", "gad7", "--answers", "1,1,1,1,1,1,1", "--at", "2026-11-22 10:05")
    ok("side-effect", "add", "nausea", "--med", "sertraline", "--severity", "moderate",
       "--at", "2026-11-20 09:00")  # fmt: skip
    ok("side-effect", "resolve", "1", "--action", "took it with food", "--at", "2026-11-22 09:00")


def export_bundle() -> dict:
    return json.loads(ok("export", "--format", "fhir").stdout)


def by_type(bundle: dict, kind: str) -> list[dict]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def test_every_resource_validates_as_r4():
    record()
    bundle = export_bundle()
    from fhir.resources.R4B.bundle import Bundle

    Bundle.model_validate(bundle)
    for entry in bundle["entry"]:
        resource = entry["resource"]
        kind = resource["resourceType"]
        module = importlib.import_module(f"fhir.resources.R4B.{kind.lower()}")
        getattr(module, kind).model_validate(resource)
        assert entry["fullUrl"] == f"urn:uuid:{resource['id']}"
    counts = {}
    for entry in bundle["entry"]:
        kind = entry["resource"]["resourceType"]
        counts[kind] = counts.get(kind, 0) + 1
    # 4 medications, 2 dose records, 2 symptoms + 4 measurements + 2 check-ins, 1 side effect.
    assert counts == {
        "Patient": 1,
        "MedicationStatement": 4,
        "MedicationAdministration": 2,
        "Observation": 8,
        "AdverseEvent": 1,
    }
    assert bundle["type"] == "collection" and bundle["timestamp"] == "2026-11-23T13:30:00Z"


def test_references_resolve_inside_the_bundle():
    record()
    bundle = export_bundle()
    urls = {e["fullUrl"] for e in bundle["entry"]}
    text = json.dumps(bundle)
    import re

    references = set(re.findall(r'"reference": "([^"]+)"', text))
    assert references and references <= urls
    # Exporting again gives the same ids.
    assert export_bundle()["entry"] == bundle["entry"]


def test_medication_statements_carry_dosage_text_and_timing():
    record()
    statements = {
        s["medicationCodeableConcept"]["text"]: s
        for s in by_type(export_bundle(), "MedicationStatement")
    }
    sertraline = statements["sertraline"]
    assert sertraline["status"] == "active"
    assert sertraline["reasonCode"] == [{"text": "depression"}]
    first, second = sertraline["dosage"]
    assert first["text"] == "50 mg, every day at 08:00"
    assert second["text"] == "100 mg, every day at 08:00 (step 2)"
    assert first["timing"]["repeat"] == {
        "boundsPeriod": {"start": "2026-10-31T23:00:00Z", "end": "2026-11-14T23:00:00Z"},
        "frequency": 1,
        "period": 1,
        "periodUnit": "d",
        "timeOfDay": ["08:00:00"],
    }
    assert second["doseAndRate"][0]["doseQuantity"] == {
        "value": 100.0, "unit": "mg", "system": "http://unitsofmeasure.org", "code": "mg"
    }  # fmt: skip
    lithium = statements["lithium"]["dosage"][0]["timing"]["repeat"]
    assert lithium["dayOfWeek"] == ["mon", "wed", "fri"] and lithium["timeOfDay"] == ["21:00:00"]
    injection = statements["paliperidone"]["dosage"][0]["timing"]["repeat"]
    assert (injection["period"], injection["periodUnit"], injection["dayOfWeek"]) == (
        4, "wk", ["mon"]
    )  # fmt: skip
    lorazepam = statements["lorazepam"]
    assert lorazepam["status"] == "stopped"
    assert lorazepam["statusReason"] == [{"text": "no longer needed"}]
    assert lorazepam["dosage"][0]["asNeededBoolean"] is True
    assert lorazepam["dosage"][0]["maxDosePerPeriod"]["numerator"]["value"] == 1.0


def test_dose_records_become_administrations_completed_or_not_done():
    record()
    taken, skipped = by_type(export_bundle(), "MedicationAdministration")
    assert taken["status"] == "completed"
    assert taken["effectiveDateTime"] == "2026-11-22T08:05:00+01:00"
    assert taken["dosage"]["dose"]["value"] == 100.0
    assert skipped["status"] == "not-done"
    assert skipped["statusReason"] == [{"text": "side-effects"}]
    assert "dosage" not in skipped


def codes(resource: dict) -> list[str]:
    return [c["code"] for c in resource["code"].get("coding", [])]


def test_observations_use_the_loinc_codes():
    record()
    observations = by_type(export_bundle(), "Observation")
    found = {tuple(codes(o)) or (o["code"]["text"],): o for o in observations}
    assert found[("29463-7",)]["valueQuantity"]["code"] == "kg"
    bp = found[("85354-9",)]
    assert [c["code"]["coding"][0]["code"] for c in bp["component"]] == ["8480-6", "8462-4"]
    assert [c["valueQuantity"]["value"] for c in bp["component"]] == [128.0, 82.0]
    assert found[("14334-7",)]["valueQuantity"] == {
        "value": 0.8, "unit": "mmol/L", "system": "http://unitsofmeasure.org", "code": "mmol/L"
    }  # fmt: skip
    assert found[("tsh",)]["category"][0]["coding"][0]["code"] == "laboratory"
    phq9 = found[("44261-6",)]
    assert phq9["valueInteger"] == 7 and phq9["interpretation"] == [{"text": "mild"}]
    item9 = phq9["component"][8]
    assert item9["code"]["coding"][0]["code"] == "44260-8" and item9["valueInteger"] == 1
    assert len(phq9["component"]) == 9
    assert found[("70274-6",)]["valueInteger"] == 7
    assert found[("mood",)]["valueQuantity"]["value"] == 6.0
    assert found[("sleep",)]["valueQuantity"]["unit"] == "h"


def test_side_effects_become_adverse_events():
    record()
    (event,) = by_type(export_bundle(), "AdverseEvent")
    assert event["event"] == {"text": "nausea"}
    assert event["severity"]["coding"][0]["code"] == "moderate"
    assert event["outcome"]["coding"][0]["code"] == "resolved"
    assert "took it with food" in event["text"]["div"]
    statement = next(
        e["fullUrl"]
        for e in export_bundle()["entry"]
        if e["resource"].get("medicationCodeableConcept", {}).get("text") == "sertraline"
        and e["resource"]["resourceType"] == "MedicationStatement"
    )
    assert event["suspectEntity"] == [{"instance": {"reference": statement}}]


def test_an_empty_record_is_a_valid_bundle_with_the_patient_only():
    bundle = export_bundle()
    from fhir.resources.R4B.bundle import Bundle

    Bundle.model_validate(bundle)
    assert [e["resource"]["resourceType"] for e in bundle["entry"]] == ["Patient"]


def test_streamed_bundle_is_the_whole_bundle_text():
    # Issue 9: the Bundle is written one entry at a time; the bytes are json.dumps(indent=2).
    from datetime import UTC, datetime

    from medtrack.render.fhir import bundle, bundle_json_chunks

    tables = {
        "settings": [{"key": "name", "value": "Ana"}],
        "zone_changes": [{"recorded_at": "2026-01-01T00:00:00Z"}],
        "medications": [{"id": 1, "name": "sertraline", "created_at": "2026-01-01T00:00:00Z"}],
        "doses": [
            {
                "id": n,
                "medication_id": 1,
                "status": s,
                "taken_at": "2026-11-22T07:00:00Z",
                "zone": "Europe/Berlin",
                "amount": 50.0,
                "unit": "mg",
                "note": 'ü "q"\n',
            }
            for n, s in ((1, "taken"), (2, "skipped"))
        ],
    }
    at = datetime(2026, 11, 23, 13, 30, tzinfo=UTC)
    whole = json.dumps(
        bundle(tables, exported_at=at, medtrack_version="0.1.0"), indent=2, ensure_ascii=False
    )
    lazy = {**tables, "doses": iter(tables["doses"])}
    streamed = "".join(bundle_json_chunks(lazy, exported_at=at, medtrack_version="0.1.0"))
    assert streamed == whole + "\n"
    assert len(json.loads(streamed)["entry"]) == 4


def test_loinc_displays_intended_difficulty_and_narratives():
    record()
    ok("med", "add", "clozapine", "--dose", "12.5mg", "--schedule", "daily 21:00",
       "--start", "2026-11-30")  # fmt: skip
    ok("checkin", "take", "phq9", "--answers", "1,1,1,1,1,1,1,1,1,2", "--at", "2026-11-23 09:00")
    bundle = export_bundle()
    statements = {
        s["medicationCodeableConcept"]["text"]: s for s in by_type(bundle, "MedicationStatement")
    }
    # Starts next week: intended, not active; the others keep their status.
    assert statements["clozapine"]["status"] == "intended"
    assert statements["sertraline"]["status"] == "active"
    observations = by_type(bundle, "Observation")
    displays = {
        c["code"]: c["display"]
        for o in observations
        for part in [o["code"], *[x["code"] for x in o.get("component", [])]]
        for c in part.get("coding", [])
    }
    assert displays["44261-6"] == (
        "Patient Health Questionnaire 9 item (PHQ-9) total score [Reported]"
    )
    assert displays["70274-6"] == (
        "Generalized anxiety disorder 7 item (GAD-7) total score [Reported.PHQ]"
    )
    assert displays["29463-7"] == "Body weight"
    # The PHQ-9 difficulty answer (2 = very difficult) travels as its own component.
    phq9 = [
        o for o in observations
        if o["code"].get("coding", [{}])[0].get("code") == "44261-6"
        and len(o["component"]) == 10
    ]  # fmt: skip
    assert len(phq9) == 1
    difficulty = phq9[0]["component"][-1]
    assert difficulty["code"]["coding"][0]["code"] == "69722-7"
    assert difficulty["valueCodeableConcept"] == {"text": "Very difficult"}
    assert (
        "Item 9" in phq9[0]["text"]["div"]
        and "Difficulty: Very difficult" in phq9[0]["text"]["div"]
    )
    for entry in bundle["entry"]:
        text = entry["resource"]["text"]
        assert text["status"] == "generated" and text["div"].startswith("<div xmlns=")
    from fhir.resources.R4B.bundle import Bundle

    Bundle.model_validate(bundle)
