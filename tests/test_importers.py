"""Issue 22: import from MedTimer, Daylio and FHIR.

The samples under tests/data/imports were written by hand from the formats' public
definitions (MedTimer's ReminderEventBackup, JSONBackup, BackupManager and CSVEventExport;
daylio-csv-parser's docs/csv-format.md; FHIR R4). Every expected figure below is worked
out from the sample by hand; the profile's zone is Europe/Berlin (UTC+1 in November).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from helpers import dump
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from medtrack.cli import app
from medtrack.core.importers import daylio, fhir, medtimer
from medtrack.core.models import Dose
from medtrack.errors import BadValue, MedtrackError

SAMPLES = Path(__file__).parent / "data" / "imports"
NOW = "2026-11-10T20:00:00Z"  # 21:00 in Berlin
BERLIN = ZoneInfo("Europe/Berlin")
MEDTRACK = Path(sys.executable).parent / "medtrack"
runner = CliRunner()


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def local(instant: datetime) -> datetime:
    return instant.astimezone(BERLIN)


def localize(naive: datetime) -> datetime:
    return naive.replace(tzinfo=BERLIN)


def run(*args: str, db: Path | None = None):
    env = {"MEDTRACK_NOW": NOW}
    if db is not None:
        env["MEDTRACK_DB"] = str(db)
    return runner.invoke(app, list(args), env=env)


def ok(*args: str, db: Path | None = None):
    result = run(*args, db=db)
    assert result.exit_code == 0, (args, result.output, result.stderr)
    return result


def summary_of(name: str, db: Path | None = None) -> dict:
    data = json.loads(ok("summary", "--json", db=db).stdout)
    return next(m for m in data["medications"] if m["medication"] == name)


# --- MedTimer ----------------------------------------------------------------------------


def test_medtimer_backup_maps_taken_and_skipped_events_and_infers_the_plan():
    doc = json.loads((SAMPLES / "medtimer-backup.json").read_text())
    plan = medtimer.parse_backup(doc, local=local)

    meds = {m.name: m for m in plan.medications}
    assert list(meds) == ["Sertraline", "Melatonin"]
    sertraline = meds["Sertraline"].steps[0]
    # Seven dose reminders at 07:00Z = 08:00 in Berlin, one a day from 1 to 7 November.
    assert sertraline.schedule.rrule == "FREQ=DAILY"
    assert sertraline.schedule.times == (time(8, 0),)
    assert sertraline.dose == Dose(50.0, "mg")
    assert sertraline.starts_at == utc("2026-10-31T23:00:00Z")  # 1 Nov 00:00 in Berlin
    assert (
        "inferred from the reminder times (7 reminders on 7 days)" in meds["Sertraline"].plan_words
    )
    # Two reminders on two days cannot tell a plan: as needed, and said so.
    melatonin = meds["Melatonin"].steps[0]
    assert melatonin.schedule.as_needed
    assert melatonin.dose == Dose(1.0, "dose")
    assert "as needed (reminders on only 2 days" in meds["Melatonin"].plan_words

    doses = [(d.medication, d.status, d.at, d.amount, d.note) for d in plan.doses]
    assert doses == [
        # TAKEN at the time it was marked taken (processedTimestamp) ...
        ("Sertraline", "taken", utc("2026-11-01T07:05:00Z"), Dose(50.0, "mg"), None),
        ("Sertraline", "taken", utc("2026-11-02T07:10:00Z"), Dose(50.0, "mg"), None),
        # ... SKIPPED at the time of the reminder, not when it was dismissed (07:40).
        ("Sertraline", "skipped", utc("2026-11-03T07:00:00Z"), None, None),
        ("Melatonin", "taken", utc("2026-11-03T21:15:00Z"), Dose(1.0, "dose"), None),
        ("Sertraline", "taken", utc("2026-11-04T07:02:00Z"), Dose(50.0, "mg"), None),
        ("Sertraline", "taken", utc("2026-11-06T07:30:00Z"), Dose(50.0, "mg"), "with breakfast"),
    ]
    assert plan.skipped_by_reason() == [
        ("event", "reminder never answered", 1),
        ("event", "acknowledged, neither taken nor skipped", 1),
        ("event", "deleted in MedTimer", 1),
        ("event", "out_of_stock reminder, not a dose", 1),
    ]


def test_medtimer_csv_reads_columns_by_position_whatever_the_language():
    text = (SAMPLES / "medtimer-events.csv").read_text()
    plan = medtimer.parse_csv(text, local=local)

    assert [(d.medication, d.status, d.at) for d in plan.doses] == [
        ("Sertraline", "taken", utc("2026-11-01T07:05:00Z")),
        ("Sertraline", "taken", utc("2026-11-02T07:10:00Z")),
        ("Melatonin", "taken", utc("2026-11-03T21:15:00Z")),
        ("Sertraline", "taken", utc("2026-11-04T07:02:00Z")),
    ]
    # MedTimer writes cells unquoted: a ';' in a note stays in the note.
    assert plan.doses[3].note == "late; felt fine"
    assert [(s.where, s.why) for s in plan.skipped] == [
        ("line 4", "no taken time: skipped or never answered, the CSV does not say which")
    ]


def test_medtimer_csv_with_a_bad_time_names_its_line():
    text = (
        (SAMPLES / "medtimer-events.csv").read_text().replace("2026-11-02T07:10:00Z", "yesterday")
    )
    with pytest.raises(BadValue, match="line 3: taken time 'yesterday' is not ISO 8601"):
        medtimer.parse_csv(text, local=local)


def test_regular_times_need_three_days_and_a_time_on_most_of_them():
    walls = [datetime(2026, 11, day, 8, 0, tzinfo=BERLIN) for day in range(1, 6)]
    walls += [datetime(2026, 11, day, 20, 0, tzinfo=BERLIN) for day in (1, 2)]
    # 08:00 on 5 of 5 days is regular; 20:00 on 2 of 5 (40% < 60%) is not.
    assert medtimer.regular_times(walls) == ((time(8, 0),), 5)
    assert medtimer.regular_times(walls[:2]) == ((), 2)


# --- Daylio ------------------------------------------------------------------------------


def test_daylio_moods_map_linearly_onto_zero_to_ten_with_activities_in_the_note():
    plan = daylio.parse_csv((SAMPLES / "daylio.csv").read_text(), localize=localize)

    assert [(s.name, s.value, s.unit) for s in plan.symptoms] == [
        ("mood", 10.0, None),  # rad
        ("mood", 0.0, None),  # awful
        ("mood", 5.0, None),  # meh
        ("mood", 7.5, None),  # good
    ]
    # 9:15 PM is 21:15 in Berlin, 20:15 UTC.
    assert plan.symptoms[2].at == utc("2026-11-02T20:15:00Z")
    assert plan.symptoms[3].note == (
        "Daylio mood: good — activities: friends, walk — Nice day — Saw Anna, long walk"
    )
    assert [(s.where, s.why) for s in plan.skipped] == [
        ("line 6", "mood 'sleepy' is not one of Daylio's five default moods")
    ]


def test_daylio_reads_the_older_seven_column_form():
    plan = daylio.parse_csv((SAMPLES / "daylio-old.csv").read_text(), localize=localize)
    assert [(s.value, s.at, s.note) for s in plan.symptoms] == [
        (2.5, utc("2026-10-30T07:00:00Z"), "Daylio mood: bad — activities: work, tired — headache"),
        (7.5, utc("2026-10-31T18:00:00Z"), "Daylio mood: good — activities: family"),
    ]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("2026-13-01,x,y,21:00,good,,,", "line 3: full_date must be a date"),
        ("2026-11-01,x,y,25:00,good,,,", "line 3: time must be a clock time"),
        ("2026-11-01,x,y,21:00,good,,", "line 3: 7 values for 8 columns"),
    ],
)
def test_daylio_bad_rows_are_named(line, message):
    text = "full_date,date,weekday,time,mood,activities,note_title,note\n"
    text += "2026-11-01,x,y,20:00,good,,,\n" + line + "\n"
    with pytest.raises(BadValue, match=message):
        daylio.parse_csv(text, localize=localize)


# --- FHIR --------------------------------------------------------------------------------


def _sample_bundle_plan():
    doc = json.loads((SAMPLES / "fhir-bundle.json").read_text())
    resources = fhir.resources_of(doc, "fhir-bundle.json")
    return fhir.parse_resources(resources, localize=localize, local=local)


def test_fhir_bundle_maps_statements_administrations_and_known_observations():
    plan = _sample_bundle_plan()

    meds = {m.name: m for m in plan.medications}
    assert list(meds) == ["lamotrigine", "lorazepam", "vitamin D"]
    lamotrigine = meds["lamotrigine"]
    assert lamotrigine.purpose == "mood stabiliser"
    step = lamotrigine.steps[0]
    assert (step.dose, step.schedule.rrule, step.schedule.times) == (
        Dose(100.0, "mg"),
        "FREQ=DAILY",
        (time(8, 0), time(20, 0)),
    )
    assert step.starts_at == utc("2026-10-31T23:00:00Z")
    # 1 mg a day at 0.5 mg a dose is at most 2 doses a day.
    lorazepam = meds["lorazepam"].steps[0]
    assert lorazepam.schedule.as_needed and lorazepam.max_per_day == 2
    # A frequency without times of day cannot be repeated: as needed, and said so.
    assert meds["vitamin D"].steps[0].schedule.as_needed
    assert "no times of day in the file" in meds["vitamin D"].plan_words

    assert [(d.medication, d.status, d.reason, d.at) for d in plan.doses] == [
        ("lamotrigine", "taken", None, utc("2026-11-02T07:05:00Z")),
        ("lamotrigine", "skipped", "forgot", utc("2026-11-02T19:00:00Z")),
        ("lorazepam", "taken", None, utc("2026-11-03T22:10:00Z")),
    ]
    assert plan.doses[2].note == "panic before exam"
    assert [(str(m.measurement), m.measurement.kind) for m in plan.measurements] == [
        ("72.4 kg", "weight"),
        ("128/82 mmHg", "bp"),
        ("64 bpm", "heart_rate"),
        ("0.8 mmol/L", "lithium"),
    ]
    [checkin] = plan.checkins
    # Answers 1,1,2,0,1,0,1,1,0 sum to 7: PHQ-9 5-9 is mild; item 9 is 0, no flag.
    assert (checkin.questionnaire, checkin.total, checkin.band, checkin.flagged) == (
        "phq9",
        7,
        "mild",
        False,
    )
    # A clinic's AdverseEvent: the suspected medication by the request's reference.
    assert [(e.name, e.medication, e.severity, e.at) for e in plan.side_effects] == [
        ("tremor", "lamotrigine", "moderate", utc("2026-11-03T09:00:00Z"))
    ]
    assert [(s.kind, s.why) for s in plan.skipped] == [
        ("MedicationAdministration", "status 'in-progress'"),
        ("Observation", "LOINC 2339-0 is not a code medtrack records"),
        ("Condition", "Condition is not imported"),
    ]


def test_fhir_checkin_whose_total_is_not_the_sum_is_refused_with_its_entry():
    doc = json.loads((SAMPLES / "fhir-bundle.json").read_text())
    for entry in doc["entry"]:
        if entry["resource"].get("id") == "o5":
            entry["resource"]["valueInteger"] = 9
    resources = fhir.resources_of(doc, "b.json")
    with pytest.raises(BadValue, match=r"b.json entry 14 \(Observation\): PHQ-9 total 9"):
        fhir.parse_resources(resources, localize=localize, local=local)


def test_fhir_observation_out_of_range_is_refused_with_its_entry():
    doc = json.loads((SAMPLES / "fhir-bundle.json").read_text())
    for entry in doc["entry"]:
        if entry["resource"].get("id") == "o1":
            entry["resource"]["valueQuantity"]["value"] = 7240
    with pytest.raises(BadValue, match=r"b.json entry 10 \(Observation\): weight"):
        fhir.parse_resources(fhir.resources_of(doc, "b.json"), localize=localize, local=local)


# --- the command -------------------------------------------------------------------------


def test_dry_run_reports_and_writes_nothing_not_even_a_new_file(tmp_path):
    db = Path(os.environ["MEDTRACK_DB"])
    result = ok("import", str(SAMPLES / "medtimer-backup.json"), "--from", "medtimer")
    assert not db.exists()
    assert not [p.name for p in db.parent.iterdir() if p.name.startswith(f".{db.name}")]
    out = result.stdout
    assert "nothing is written; add --apply to import" in out
    assert "2 medications to add" in out
    assert "Sertraline: 50 mg, daily 08:00, inferred from the reminder times" in out
    assert "6 doses to add" in out
    assert "2026-11-01 08:05  Sertraline  taken  50 mg" in out
    assert "… and 1 more" in out  # the first five lines, then a count
    assert "4 not imported:" in out
    assert "1 × event: reminder never answered (e.g. event 6)" in out

    ok("symptom", "mood", "5")  # a profile with data: the dry run leaves it as it is
    before = dump()
    ok("import", str(SAMPLES / "daylio.csv"), "--from", "daylio")
    assert dump() == before


def test_medtimer_apply_gives_the_hand_checked_figures_and_twice_adds_nothing():
    ok("import", str(SAMPLES / "medtimer-backup.json"), "--from", "medtimer", "--apply")
    sertraline = summary_of("Sertraline")
    # Slots 1-10 November at 08:00 (now is 10 Nov 21:00): taken 1, 2, 4, 6; skipped 3;
    # missed 5, 7, 8, 9; 10 November's 08:00 is still open at 21:00 but past its on-time
    # window: overdue.
    assert (sertraline["due"], sertraline["taken"], sertraline["skipped"]) == (10, 4, 1)
    assert (sertraline["missed"], sertraline["overdue"], sertraline["pending"]) == (4, 1, 0)
    meds = {m["name"]: m for m in json.loads(ok("med", "list", "--json").stdout)}
    assert set(meds) == {"Sertraline", "Melatonin"}

    before = dump()
    again = ok("import", str(SAMPLES / "medtimer-backup.json"), "--from", "medtimer", "--apply")
    assert "0 doses added, 6 already here" in again.stdout
    assert "0 medications added, 2 already here" in again.stdout
    assert dump() == before
    # The CSV export of the same history adds nothing either.
    csv_run = ok("import", str(SAMPLES / "medtimer-events.csv"), "--from", "medtimer", "--apply")
    assert "0 doses added, 4 already here" in csv_run.stdout
    assert dump() == before


def test_daylio_apply_then_symptom_list_shows_the_moods():
    ok("import", str(SAMPLES / "daylio.csv"), "--from", "daylio", "--apply")
    ok("import", str(SAMPLES / "daylio-old.csv"), "--from", "daylio", "--apply")
    rows = json.loads(ok("symptom", "list", "--json").stdout)
    assert [(r["name"], r["value"], r["unit"], r["at"]) for r in rows] == [
        ("mood", 2.5, None, "2026-10-30T08:00:00+01:00"),
        ("mood", 7.5, None, "2026-10-31T19:00:00+01:00"),
        ("mood", 7.5, None, "2026-11-01T21:30:00+01:00"),
        ("mood", 5.0, None, "2026-11-02T21:15:00+01:00"),
        ("mood", 0.0, None, "2026-11-03T22:00:00+01:00"),
        ("mood", 10.0, None, "2026-11-04T20:45:00+01:00"),
    ]
    before = dump()
    again = ok("import", str(SAMPLES / "daylio.csv"), "--from", "daylio", "--apply")
    assert "0 symptoms added, 4 already here" in again.stdout
    assert dump() == before


def test_fhir_apply_then_the_apple_health_folder_adds_only_what_is_new():
    ok("import", str(SAMPLES / "fhir-bundle.json"), "--from", "fhir", "--apply")
    lamotrigine = summary_of("lamotrigine")
    # 1-10 Nov, 08:00 and 20:00: 20 slots; taken 2 Nov 08:05, skipped 2 Nov 20:00 (forgot).
    assert (lamotrigine["due"], lamotrigine["taken"], lamotrigine["skipped"]) == (20, 1, 1)
    assert lamotrigine["skipped_by_reason"] == {"forgot": 1}
    kinds = [m["kind"] for m in json.loads(ok("measure", "list", "--json").stdout)]
    assert kinds == ["weight", "bp", "heart_rate", "lithium"]
    [checkin] = json.loads(ok("checkin", "list", "--json").stdout)
    assert checkin["total"] == 7

    # The folder holds the same records one per file, and a DSTU2 MedicationOrder (Apple
    # Health keeps some providers' records in that version) whose Timing has no times.
    folder = ok("import", str(SAMPLES / "clinical-records"), "--from", "fhir", "--apply")
    assert "1 medication added, 2 already here" in folder.stdout
    assert "quetiapine: 25 mg, as needed (no times of day in the file)" in folder.stdout
    assert "0 measurements added, 4 already here" in folder.stdout
    assert "1 × Observation: LOINC 2339-0 is not a code medtrack records" in folder.stdout
    before = dump()
    ok("import", str(SAMPLES / "clinical-records"), "--from", "fhir", "--apply")
    assert dump() == before


def test_a_bad_row_is_named_and_nothing_is_imported(tmp_path):
    ok("symptom", "mood", "5")
    before = dump()
    bad = tmp_path / "daylio.csv"
    text = (SAMPLES / "daylio.csv").read_text().replace("9:15 PM", "quarter past nine")
    bad.write_text(text)
    result = run("import", str(bad), "--from", "daylio", "--apply")
    assert result.exit_code == 1
    assert "line 4: time must be a clock time like 21:30 or 9:30 PM" in result.stderr
    assert "Traceback" not in result.output
    assert dump() == before


def test_text_and_times_the_cli_would_refuse_are_refused_with_their_entry(tmp_path):
    hostile = tmp_path / "daylio.csv"
    hostile.write_text(
        "full_date,date,weekday,time,mood,activities,note_title,note\n"
        '2026-11-01,x,y,21:00,good,walk,,"fine\r\nreally"\n'
        "2026-11-02,x,y,21:00,good,\x1b[31mred,,\n"
    )
    result = run("import", str(hostile), "--from", "daylio", "--apply")
    assert result.exit_code == 1
    # A Windows line break in a note is a line break (row 1 takes lines 2-3); an escape
    # sequence is refused, and the message shows it escaped.
    assert "line 4: the note contains the control character '\\x1b'" in result.stderr
    assert dump() == ""
    ancient = json.loads((SAMPLES / "fhir-bundle.json").read_text())
    ancient["entry"][6]["resource"]["effectiveDateTime"] = "1850-11-02T08:05:00+01:00"
    bundle = tmp_path / "ancient.json"
    bundle.write_text(json.dumps(ancient))
    result = run("import", str(bundle), "--from", "fhir", "--apply")
    assert result.exit_code == 1
    said = "ancient.json entry 7: the time 1850-11-02 is outside the dates medtrack keeps"
    assert said + " (1900-2199)" in result.stderr


def test_a_windows_line_break_in_a_note_is_kept_as_a_line_break():
    plan = daylio.parse_csv(
        "full_date,date,weekday,time,mood,activities,note_title,note\r\n"
        '2026-11-01,x,y,21:00,good,,,"fine\r\nreally"\r\n',
        localize=localize,
    )
    assert plan.symptoms[0].note == "Daylio mood: good — fine\nreally"


def test_a_record_in_the_future_is_refused(tmp_path):
    future = tmp_path / "future.csv"
    future.write_text(
        "full_date,date,weekday,time,mood,activities,note_title,note\n"
        "2026-12-24,x,y,20:00,good,,,\n"
    )
    result = run("import", str(future), "--from", "daylio", "--apply")
    assert result.exit_code == 1
    assert "line 2:" in result.stderr and "in the future" in result.stderr


def test_a_dose_before_the_plan_of_a_medication_already_here_is_reported_not_written():
    # Sertraline here starts on 3 November: the backup's doses of 1 and 2 November have
    # no plan in this profile, as `take` would refuse them.
    ok(
        "med",
        "add",
        "sertraline",
        "--dose",
        "50mg",
        "--schedule",
        "daily 08:00",
        "--start",
        "2026-11-03",
    )
    result = ok("import", str(SAMPLES / "medtimer-backup.json"), "--from", "medtimer", "--apply")
    assert "1 medication added, 1 already here" in result.stdout
    assert "2 × dose: Sertraline has no plan then (e.g. event 1, event 2)" in result.stdout
    assert summary_of("sertraline")["taken"] == 2  # 4 and 6 November


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--apply"], "--apply and --json go with --from"),
        (["--from", "mona"], "--from takes one of medtimer, daylio, fhir"),
        (["--from", "fhir", "--merge"], "--from takes no --format or --merge"),
    ],
)
def test_usage_errors(args, message):
    result = run("import", str(SAMPLES / "fhir-bundle.json"), *args)
    assert result.exit_code == 2
    assert message in result.stderr


def test_a_file_of_another_app_is_refused_plainly(tmp_path):
    result = run("import", str(SAMPLES / "daylio.csv"), "--from", "medtimer")
    assert result.exit_code == 1
    assert "not a MedTimer event export" in result.stderr
    result = run("import", str(SAMPLES / "medtimer-backup.json"), "--from", "fhir")
    assert result.exit_code == 1
    assert "not a FHIR resource" in result.stderr


# --- medtrack's own FHIR export reads back to the same figures --------------------------


def _build_profile() -> None:
    """Daily twice, every other week, every 8 hours, monthly, as needed; a dose change in
    the past and a stopped medication."""
    ok(
        "med",
        "add",
        "lamotrigine",
        "--dose",
        "50mg",
        "--schedule",
        "daily 08:00,20:00",
        "--start",
        "2026-10-01",
    )
    ok("med", "change", "lamotrigine", "--dose", "100mg", "--from", "2026-10-20")
    ok(
        "med",
        "add",
        "aripiprazole",
        "--dose",
        "400mg",
        "--schedule",
        "every 2 weeks mon 10:00",
        "--start",
        "2026-10-05",
    )
    ok(
        "med",
        "add",
        "lorazepam",
        "--dose",
        "0.5mg",
        "--schedule",
        "as needed",
        "--max-per-day",
        "2",
        "--start",
        "2026-10-01",
    )
    ok(
        "med",
        "add",
        "quetiapine",
        "--dose",
        "25mg",
        "--schedule",
        "daily 22:00",
        "--start",
        "2026-10-01",
    )
    ok("med", "stop", "quetiapine", "--at", "2026-10-25 12:00", "--reason", "too groggy")
    for day in range(1, 41):
        when = datetime(2026, 10, 1).toordinal() + day - 1
        date_text = datetime.fromordinal(when).strftime("%Y-%m-%d")
        if date_text > "2026-11-10":
            break
        if day % 5 != 0:
            ok("take", "lamotrigine", "--at", f"{date_text} 08:1{day % 10}", "--yes")
        if day % 3 == 0:
            ok("skip", "lamotrigine", "--at", f"{date_text} 20:00", "--reason", "forgot")
        elif day % 7 != 0:
            ok("take", "lamotrigine", "--at", f"{date_text} 20:40", "--yes")
        if day < 25 and day % 4 != 1:
            ok("take", "quetiapine", "--at", f"{date_text} 22:05", "--yes")
    ok("take", "aripiprazole", "--at", "2026-10-05 10:30", "--yes")
    ok("take", "aripiprazole", "--at", "2026-10-19 11:30", "--yes")
    ok("skip", "aripiprazole", "--at", "2026-11-02 10:00", "--reason", "away")
    # FHIR's Timing keeps neither an hourly rule's anchor nor a monthly rule's days: the
    # dosage text medtrack writes does.
    ok(
        "med",
        "add",
        "ibuprofen",
        "--dose",
        "200mg",
        "--schedule",
        "every 8h from 06:00",
        "--start",
        "2026-11-01",
    )
    ok(
        "med",
        "add",
        "b12",
        "--dose",
        "1000mcg",
        "--schedule",
        "monthly 1,15 09:00",
        "--start",
        "2026-10-05",
    )
    ok("take", "ibuprofen", "--at", "2026-11-09 14:05", "--yes")
    ok("take", "b12", "--at", "2026-10-15 09:10", "--yes")
    ok(
        "side-effect",
        "nausea",
        "--med",
        "lamotrigine",
        "--severity",
        "mild",
        "--at",
        "2026-10-03 09:00",
        "--note",
        "after breakfast",
    )
    ok("side-effect", "resolve", "1", "--action", "took it with food", "--at", "2026-10-09 12:00")
    ok("side-effect", "dizziness", "--severity", "moderate", "--at", "2026-10-21 10:00")
    ok("take", "lorazepam", "--at", "2026-10-12 23:00", "--yes")
    ok("take", "lorazepam", "--at", "2026-10-12 23:50", "--yes")


@pytest.mark.slow
def test_own_fhir_export_imports_back_to_the_same_summary(tmp_path):
    _build_profile()
    bundle = tmp_path / "bundle.json"
    ok("export", "--format", "fhir", "-o", str(bundle))
    fresh = tmp_path / "fresh.db"
    result = ok("import", str(bundle), "--from", "fhir", "--apply", db=fresh)
    assert "6 medications added" in result.stdout
    for args in (
        ["--days", "30"],
        ["--since", "2026-10-01"],
        ["--since", "2026-10-15", "--until", "2026-10-31"],
    ):
        original = json.loads(ok("summary", "--json", *args).stdout)
        imported = json.loads(ok("summary", "--json", *args, db=fresh).stdout)
        assert imported == original, args
    # Not two empty summaries: every other Monday from 5 October is 5 and 19 October and
    # 2 November, taken, taken, skipped (away).
    since = json.loads(ok("summary", "--json", "--since", "2026-10-01", db=fresh).stdout)
    aripiprazole = next(m for m in since["medications"] if m["medication"] == "aripiprazole")
    assert (aripiprazole["due"], aripiprazole["taken"], aripiprazole["skipped"]) == (3, 2, 1)
    assert aripiprazole["skipped_by_reason"] == {"away": 1}
    # The plan history came across too: two lamotrigine regimens, quetiapine stopped.
    meds = {m["name"]: m for m in json.loads(ok("med", "list", "--all", "--json", db=fresh).stdout)}
    assert meds["quetiapine"]["stopped_at"] is not None

    # Side effects come back whole: the resolution, action and note ride in the narrative.
    def effects(db: Path | None = None) -> list[dict]:
        rows = json.loads(ok("side-effect", "list", "--json", db=db).stdout)
        return [{k: v for k, v in r.items() if k not in ("id", "updated_at")} for r in rows]

    assert effects(fresh) == effects()
    assert [e["name"] for e in effects()] == ["dizziness", "nausea"]
    again = ok("import", str(bundle), "--from", "fhir", "--apply", db=fresh)
    assert "0 doses added" in again.stdout


def test_installed_medtrack_imports_a_sample(tmp_path):
    if not MEDTRACK.exists():  # pragma: no cover - the venv always has it
        pytest.skip("the medtrack script is not installed in this environment")
    env = {**os.environ, "MEDTRACK_NOW": NOW, "MEDTRACK_DB": str(tmp_path / "sub.db")}
    done = subprocess.run(
        [str(MEDTRACK), "import", str(SAMPLES / "daylio.csv"), "--from", "daylio", "--apply"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "4 symptoms added" in done.stdout
    listed = subprocess.run(
        [str(MEDTRACK), "symptom", "list", "--json"], env=env, capture_output=True, text=True
    )
    assert [r["value"] for r in json.loads(listed.stdout)] == [7.5, 5.0, 0.0, 10.0]


# --- any input: a clear error or a plan, never a crash ----------------------------------

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
_event = st.fixed_dictionaries(
    {
        "medicineName": st.text(max_size=6) | st.none(),
        "amount": st.text(max_size=6) | st.integers(),
        "status": st.sampled_from([*medtimer.STATUSES, "taken", 3]),
        "remindedTimestamp": st.integers(-(2**40), 2**45) | st.floats() | st.text(max_size=3),
        "processedTimestamp": st.integers(0, 2**42),
    }
)


@given(
    st.one_of(
        _json,
        st.fixed_dictionaries(
            {
                "events": st.fixed_dictionaries(
                    {"version": st.integers(), "list": st.lists(_event, max_size=5)}
                )
            }
        ),
    )
)
def test_any_medtimer_document_gives_a_plan_or_a_clear_error(doc):
    try:
        medtimer.parse_backup(doc, local=local)
    except MedtrackError as exc:
        assert exc.message and "\n" not in exc.message


@given(st.text(max_size=300))
def test_any_text_as_daylio_or_medtimer_csv_gives_a_plan_or_a_clear_error(text):
    for parse in (
        lambda t: daylio.parse_csv(
            "full_date,date,weekday,time,mood,activities,note\n" + t, localize=localize
        ),
        lambda t: medtimer.parse_csv("a;b;c;d;e;f;g;h (ISO 8601);i (ISO 8601)\n" + t, local=local),
    ):
        with contextlib.suppress(MedtrackError):
            parse(text)


# A value of the wrong type where FHIR says an object or a list goes.
_wrong = st.lists(st.integers(), min_size=1, max_size=2) | st.integers() | st.text(max_size=2)
_quantity = st.fixed_dictionaries(
    {},
    optional={
        "value": st.integers(-5, 300) | st.floats() | st.text(max_size=3),
        "unit": st.sampled_from(["mg", "kg", "mmHg", "/10", "", "x"]) | _wrong,
        "code": st.sampled_from(["ug", "/min", "[lb_av]"]) | _wrong,
    },
)
_repeat = st.fixed_dictionaries(
    {},
    optional={
        "boundsPeriod": st.fixed_dictionaries(
            {}, optional={"start": st.sampled_from(["2026-11-01", "0001-01-01", "bad"]) | _wrong}
        )
        | _wrong,
        "frequency": st.integers(0, 3) | _wrong,
        "period": st.integers(-1, 30) | st.floats() | _wrong,
        "periodUnit": st.sampled_from(["h", "d", "wk", "mo", "a", "s"]) | _wrong,
        "dayOfWeek": st.lists(st.sampled_from(["mon", "sun", "xyz"]) | _wrong, max_size=3) | _wrong,
        "timeOfDay": st.lists(st.sampled_from(["08:00:00", "25:00", "x"]), max_size=2) | _wrong,
    },
)
_dosage = st.fixed_dictionaries(
    {},
    optional={
        "timing": st.fixed_dictionaries({"repeat": _repeat}) | _wrong,
        "doseAndRate": st.lists(st.fixed_dictionaries({"doseQuantity": _quantity}), max_size=2)
        | _wrong,
        "asNeededBoolean": st.booleans(),
        "maxDosePerPeriod": st.fixed_dictionaries(
            {"numerator": _quantity, "denominator": _quantity}
        )
        | _wrong,
        "text": st.sampled_from(["1 mg, every 8 hours from 06:00", "x, monthly 1 09:00"]) | _wrong,
    },
)
_coding = st.fixed_dictionaries(
    {
        "system": st.just("http://loinc.org"),
        "code": st.sampled_from(["29463-7", "85354-9", "8867-4", "44261-6", "1-1", "8480-6"]),
    }
)
_resource = st.fixed_dictionaries(
    {
        "resourceType": st.sampled_from(
            [
                "MedicationStatement",
                "MedicationRequest",
                "MedicationAdministration",
                "Observation",
                "AdverseEvent",
            ]
        ),
        # Named, so that the dosage and the administration are read, not skipped.
        "medicationCodeableConcept": st.fixed_dictionaries({"text": st.sampled_from("ab")})
        | _wrong,
    },
    optional={
        "status": st.sampled_from(["completed", "not-done", "final", "stopped"]) | _wrong,
        "effectiveDateTime": st.sampled_from(["2026-11-01", "2026-11-01T08:00:00+01:00"]),
        "effectivePeriod": st.fixed_dictionaries({}, optional={"start": _wrong, "end": _wrong})
        | _wrong,
        "dosage": st.lists(_dosage, max_size=2) | _dosage | _wrong,
        "dosageInstruction": st.lists(_dosage, max_size=2),
        "code": st.fixed_dictionaries({"coding": st.lists(_coding, max_size=2)})
        | st.fixed_dictionaries({"text": st.text(max_size=4)})
        | _wrong,
        "category": _wrong,
        "valueQuantity": _quantity | _wrong,
        "valueInteger": st.integers(-1, 30) | _wrong,
        "component": st.lists(
            st.fixed_dictionaries(
                {},
                optional={
                    "code": st.fixed_dictionaries({"coding": st.lists(_coding, max_size=1)}),
                    "valueQuantity": _quantity | _wrong,
                    "valueInteger": st.integers(0, 3) | _wrong,
                },
            ),
            max_size=9,
        )
        | _wrong,
        "statusReason": _wrong,
        "event": st.fixed_dictionaries({"text": st.sampled_from(["nausea", " "])}) | _wrong,
        "severity": st.fixed_dictionaries(
            {"coding": st.lists(st.fixed_dictionaries({"code": st.sampled_from(["mild", "x"])}))}
        )
        | _wrong,
        "date": st.sampled_from(["2026-11-01T08:00:00+01:00", "nope"]) | _wrong,
        "suspectEntity": st.lists(
            st.fixed_dictionaries({"instance": st.fixed_dictionaries({"reference": _wrong})})
        )
        | _wrong,
        "outcome": _wrong,
        "text": st.fixed_dictionaries(
            {"div": st.sampled_from(["<p>Resolved: x</p>", "<p>Action: a</p>", "<p>"])}
        )
        | _wrong,
        "note": _wrong,
    },
)


@settings(max_examples=400)
@given(st.lists(_resource, min_size=1, max_size=2))
def test_any_fhir_resources_give_a_plan_or_a_clear_error(resources):
    bundle = {"resourceType": "Bundle", "entry": [{"resource": r} for r in resources]}
    with contextlib.suppress(MedtrackError):
        fhir.parse_resources(fhir.resources_of(bundle, "b"), localize=localize, local=local)


def test_the_dry_run_has_a_json_twin_with_the_same_counts():
    before = dump()
    data = json.loads(
        ok("import", str(SAMPLES / "medtimer-backup.json"), "--from", "medtimer", "--json").stdout
    )
    assert dump() == before  # still a dry run
    assert (data["source"], data["applied"]) == ("medtimer", False)
    # As the text says: 2 medications and 6 doses to add; 4 events not imported.
    assert data["kinds"]["medications"]["added"] == 2
    assert data["kinds"]["doses"]["added"] == 6
    assert len(data["kinds"]["doses"]["lines"]) == 6
    assert sum(item["count"] for item in data["not_imported"]) == 4
    applied = json.loads(
        ok(
            "import",
            str(SAMPLES / "medtimer-backup.json"),
            "--from",
            "medtimer",
            "--apply",
            "--json",
        ).stdout
    )
    assert applied["applied"] is True and applied["kinds"]["doses"]["added"] == 6
