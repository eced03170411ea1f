"""Daily use from a terminal (issue 20): names by their beginning, several at once."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest
from helpers import dump
from typer.testing import CliRunner

from medtrack.cli import app
from medtrack.core.meds import match_medication_name
from medtrack.errors import AmbiguousMedication

runner = CliRunner()

SETUP = "2026-12-01T07:00:00+01:00"
EVENING = "2026-12-05T21:30:00+01:00"


def run(*args: str, now: str = EVENING):
    return runner.invoke(app, list(args), env={"MEDTRACK_NOW": now})


def ok(*args: str, now: str = EVENING):
    result = run(*args, now=now)
    assert result.exit_code == 0, (result.output, result.stderr)
    return result


@pytest.fixture
def meds():
    ok("med", "add", "sertraline", "--dose", "50mg", "--schedule", "daily 21:00", now=SETUP)
    ok("med", "add", "Seroquel", "--dose", "25mg", "--schedule", "daily 21:00", now=SETUP)
    ok("med", "add", "vitamin D", "--dose", "1000IU", "--schedule", "daily 21:00", now=SETUP)


def statuses() -> list[tuple[str, str, str | None]]:
    conn = sqlite3.connect(os.environ["MEDTRACK_DB"])
    try:
        return conn.execute(
            "SELECT m.name, d.status, d.skip_reason FROM doses d "
            "JOIN medications m ON m.id = d.medication_id ORDER BY d.id"
        ).fetchall()
    finally:
        conn.close()


# --- names ---------------------------------------------------------------------------------


def test_a_name_is_its_exact_self_first_then_the_only_name_it_begins():
    names = ["sertraline", "Seroquel", "vitamin D", "vitamin D3"]
    assert match_medication_name("SERT", names) == "sertraline"
    assert match_medication_name("seroquel", names) == "Seroquel"
    # "vitamin d" is a name itself, even though it also begins "vitamin D3".
    assert match_medication_name("Vitamin d", names) == "vitamin D"
    assert match_medication_name("lith", names) is None
    assert match_medication_name("", names) is None
    with pytest.raises(AmbiguousMedication) as refused:
        match_medication_name("se", names)
    assert refused.value.message == "'se' could be 'sertraline', 'Seroquel': type more of the name"


def test_take_by_a_unique_beginning_echoes_the_full_name(meds):
    result = ok("take", "VIT")
    assert result.stdout.startswith("vitamin D 1000 IU, 21:00 dose, taken 21:30")
    assert statuses() == [("vitamin D", "taken", None)]


@pytest.mark.parametrize(
    "args",
    [
        ["take", "se"],
        ["skip", "SE", "--reason", "forgot"],
        ["med", "show", "se"],
        ["summary", "--med", "se"],
        ["side-effect", "nausea", "--med", "se", "--severity", "mild"],
    ],
)
def test_an_ambiguous_beginning_names_the_candidates_and_changes_nothing(meds, args):
    before = dump()
    result = run(*args)
    assert result.exit_code == 1
    typed = next(a for a in args if a.lower() == "se")
    assert result.stderr == (
        f"medtrack: '{typed}' could be 'Seroquel', 'sertraline': type more of the name\n"
    )
    assert dump() == before


def test_med_show_and_change_take_a_beginning(meds):
    shown = json.loads(ok("med", "show", "serO", "--json").stdout)
    assert shown["name"] == "Seroquel"
    assert "Seroquel" in ok("med", "change", "sero", "--dose", "50mg").stdout


def test_an_import_names_a_medication_in_full(meds, tmp_path):
    source = tmp_path / "doses.csv"
    source.write_text("medication,taken_at,status\nsert,2026-12-04T21:00:00+01:00,taken\n")
    before = dump()
    result = run("import", str(source))
    assert result.exit_code == 1
    assert "no medication called 'sert'" in result.stderr
    assert dump() == before


# --- several at once -------------------------------------------------------------------


def test_skip_several_names_with_one_reason(meds):
    result = ok("skip", "sert", "vitamin d", "--reason", "ran-out")
    assert result.stdout.count("skipped") == 2
    assert statuses() == [("sertraline", "skipped", "ran-out"), ("vitamin D", "skipped", "ran-out")]


def test_skip_several_is_all_or_nothing(meds):
    ok("take", "vitamin D")
    before = dump()
    result = run("skip", "sertraline", "vit", "--reason", "forgot")
    assert result.exit_code == 1
    assert "vitamin D: no open dose" in result.stderr
    assert dump() == before
    repeated = run("skip", "sertraline", "SERTRALINE", "--reason", "forgot")
    assert repeated.exit_code == 2
    assert dump() == before


def symptom_rows() -> list[tuple]:
    conn = sqlite3.connect(os.environ["MEDTRACK_DB"])
    try:
        return conn.execute("SELECT name, value, unit, at, recorded_at FROM symptoms").fetchall()
    finally:
        conn.close()


def test_three_symptoms_in_one_command_one_instant():
    result = ok("symptom", "mood", "6", "Anxiety", "3", "sleep", "7.5h", "--at", "21:00")
    assert result.stdout.splitlines() == [
        "Recorded mood 6/10 at 2026-12-05 21:00 (#1).",
        "Recorded anxiety 3/10 at 2026-12-05 21:00 (#2).",
        "Recorded sleep 7.5 h at 2026-12-05 21:00 (#3).",
    ]
    rows = symptom_rows()
    assert [r[:3] for r in rows] == [
        ("mood", 6.0, None),
        ("anxiety", 3.0, None),
        ("sleep", 7.5, "h"),
    ]
    assert {r[3] for r in rows} == {"2026-12-05T20:00:00Z"}


def test_the_single_symptom_forms_keep_working():
    ok("symptom", "mood", "4")
    ok("symptom", "sleep", "6.5", "--unit", "h")
    ok("symptom", "record", "list", "2")
    assert [r[:3] for r in symptom_rows()] == [
        ("mood", 4.0, None),
        ("sleep", 6.5, "h"),
        ("list", 2.0, None),
    ]


@pytest.mark.parametrize(
    "args, message",
    [
        (["mood", "6", "anxiety"], "give NAME VALUE pairs"),
        (["mood", "6", "anxiety", "11"], "ratings are 0-10"),
        (["mood", "6", "sleep", "1e3h"], "got '1e3h'"),
        (["mood", "6", "mood", "7"], "mood is named twice"),
        (["mood", "6", "sleep", "7", "--unit", "h"], "--unit goes with one symptom"),
    ],
)
def test_a_bad_pair_records_none_of_them(args, message):
    result = run("symptom", *args)
    assert result.exit_code == 1
    assert message in result.stderr
    assert dump() == ""  # not even the database file was created


# --- units -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, amount, unit",
    [
        ("50mg", 50.0, "mg"),
        ("0,5 mg", 0.5, "mg"),
        ("10 mg/ml", 10.0, "mg/ml"),
        ("25µg", 25.0, "mcg"),
    ],
)
def test_doses_people_write_are_read(text, amount, unit):
    from medtrack.core.meds import parse_dose

    dose = parse_dose(text)
    assert (dose.amount, dose.unit) == (amount, unit)


@pytest.mark.parametrize(
    "text, message",
    [
        ("1e3mg", "plain digits"),
        ("1E3 mg", "plain digits"),
        ("1,000mg", "thousands separator"),
        ("2 mg 3", "give an amount and a unit"),
        ("5 m3g", "give an amount and a unit"),
    ],
)
def test_a_dose_is_never_half_read(text, message):
    before = dump()
    result = run("med", "add", "x", "--dose", text, "--schedule", "daily 08:00")
    assert result.exit_code == 1
    assert message in result.stderr
    assert dump() == before


def test_weight_in_pounds_and_kilograms_is_one_series_in_the_persons_unit():
    from medtrack.core.health import Measurement, in_unit

    assert in_unit(Measurement("weight", 160.0, None, "lb"), "kg").value == 72.6  # 72.5747...
    assert in_unit(Measurement("weight", 72.4, None, "kg"), "lb").value == 159.6  # 159.6147...
    assert in_unit(Measurement("bp", 120.0, 80.0, "mmHg"), "kg").unit == "mmHg"
    ok("measure", "weight", "72.4kg", "--at", "2026-12-01T08:00:00+01:00")
    ok("measure", "weight", "160", "lb")
    # Unset, the latest unit is the one shown.
    table = ok("measure", "list").stdout
    assert "159.6 lb" in table and "160 lb" in table and "kg" not in table
    ok("config", "set", "weight_unit", "KG")
    table = ok("measure", "list").stdout
    assert "72.4 kg" in table and "72.6 kg" in table and "lb" not in table
    # Scripts get what was recorded.
    records = json.loads(ok("measure", "list", "--json").stdout)
    assert [(r["value"], r["unit"]) for r in records] == [(72.4, "kg"), (160.0, "lb")]
    report = ok("report", "--since", "10 days ago").stdout
    weight = next(line.split() for line in report.splitlines() if "Weight" in line)
    # One series in kg: the latest, its change from the first in the period, low, high.
    assert weight == [
        "Weight", "2", "72.6", "kg", "(2026-12-05)",
        "+0.2", "kg", "from", "2026-12-01", "72.4", "kg", "72.6", "kg",
    ]  # fmt: skip
    refused = run("config", "set", "weight_unit", "stone")
    assert refused.exit_code == 1 and "kg or lb" in refused.stderr


# --- before the start, and planned steps ---------------------------------------------------

BEFORE_START = "2026-12-05T20:00:00+01:00"


def test_the_evening_before_the_start_shows_the_plan_and_its_stock():
    ok(
        "med",
        "add",
        "lithium",
        "--dose",
        "300mg",
        "--schedule",
        "daily 08:00",
        "--start",
        "2026-12-06",
        "--supply",
        "60",
        now=BEFORE_START,
    )
    ok(
        "med",
        "change",
        "lith",
        "--dose",
        "450mg",
        "--from",
        "2026-12-13",
        "--reason",
        "step 2",
        now=BEFORE_START,
    )
    listed = json.loads(ok("med", "list", "--json", now=BEFORE_START).stdout)[0]
    assert listed["current"]["dose_text"] == "300 mg"
    assert [(p["dose_text"], p["starts_at"]) for p in listed["planned"]] == [
        ("450 mg", "2026-12-13T00:00:00+01:00")
    ]
    # 60 tablets, one a day from the 6th: the 60th is taken on 3 Feb, none left for the 4th.
    assert listed["supply"] == {"stock": 60, "days_left": 60.0, "runs_out": "2027-02-04"}
    table = ok("med", "list", now=BEFORE_START).stdout
    row = next(line for line in table.splitlines() if line.startswith("lithium"))
    assert row.split()[:5] == ["lithium", "300", "mg", "every", "day"]
    assert "starts 2026-12-06" in row and "450 mg from 2026-12-13" in row
    shown = ok("med", "show", "lithium", now=BEFORE_START).stdout
    assert "  dose:       300 mg (planned)\n" in shown
    assert "  starts:     2026-12-06 (planned)\n" in shown
    assert "  planned:    450 mg from 2026-12-13, every day at 08:00 (step 2)\n" in shown
    assert ok("remind", now=BEFORE_START).stdout == ""


def test_a_planned_step_is_not_the_current_dose():
    ok("med", "add", "sertraline", "--dose", "50mg", "--schedule", "daily 08:00", now=SETUP)
    ok("med", "change", "sertraline", "--dose", "100mg", "--from", "2026-12-10", now=EVENING)
    listed = json.loads(ok("med", "list", "--json").stdout)[0]
    assert listed["current"]["dose_text"] == "50 mg"
    assert [p["dose_text"] for p in listed["planned"]] == ["100 mg"]
    shown = ok("med", "show", "sert").stdout
    assert "  dose:       50 mg\n" in shown and "  since:      2026-12-01\n" in shown
    after = json.loads(ok("med", "list", "--json", now="2026-12-10T09:00:00+01:00").stdout)[0]
    assert (after["current"]["dose_text"], after["planned"]) == ("100 mg", [])


# --- words and symbols ---------------------------------------------------------------------

MORNING_6 = "2026-12-06T06:00:00+01:00"  # before the 08:00 dose of the 6th


@pytest.fixture
def week():
    """sertraline daily 08:00 from 1 Dec: taken on the 4th, skipped on the 5th, the rest
    missed; lorazepam as needed (max 1 a day), used once, on the 3rd."""
    ok("med", "add", "sertraline", "--dose", "50mg", "--schedule", "daily 08:00", now=SETUP)
    ok(
        "med",
        "add",
        "lorazepam",
        "--dose",
        "0.5mg",
        "--schedule",
        "as needed",
        "--max-per-day",
        "1",
        now=SETUP,
    )
    ok("take", "lorazepam", "--yes", now="2026-12-03T09:00:00+01:00")
    ok("take", "sertraline", now="2026-12-04T08:05:00+01:00")
    ok("skip", "sertraline", "--reason", "forgot", now="2026-12-05T08:30:00+01:00")


def test_one_of_a_thing_is_singular(week):
    text = ok("summary", "--days", "7", now=MORNING_6).stdout
    assert "lorazepam (as needed): 1 use, " in text
    assert ", 0 days above the max of 1;" in text
    assert "Doses, last 1 day\n" in ok("log", "--days", "1", now="2026-12-05T09:00:00+01:00").stdout
    assert "No doses recorded in the last 1 day." in ok("log", "--days", "1", now=MORNING_6).stdout


def test_the_strip_heading_says_the_window_and_today_to_come_is_not_yet(week):
    text = ok("summary", "--days", "3", now=MORNING_6).stdout
    # 4th taken, 5th skipped, 6th: the 08:00 dose is still to come.
    assert (
        "Last 3 days (● all taken  ◐ some taken  – skipped  ○ missed  … not yet  · not scheduled):"
        in text
    )
    assert "  sertraline  ●–…\n" in text


def test_every_format_draws_a_day_with_the_same_symbols_and_words(week):
    legend = "● all taken  ◐ some taken  – skipped  ○ missed  … not yet  · not scheduled"
    summary = ok("summary", "--days", "6", now=MORNING_6).stdout
    text = ok("report", "--since", "2026-12-01", now=MORNING_6).stdout
    ok("report", "--since", "2026-12-01", "-f", "md", "-o", "r.md", now=MORNING_6)
    ok("report", "--since", "2026-12-01", "-f", "html", "-o", "r.html", now=MORNING_6)
    markdown = Path("r.md").read_text(encoding="utf-8")
    html = Path("r.html").read_text(encoding="utf-8")
    # 1st-3rd missed, 4th taken, 5th skipped, 6th not yet.
    assert "  sertraline  ○○○●–…" in summary
    assert "    sertraline  ○○○●–…" in text
    assert "`○○○●–…`" in markdown
    for shown in (summary, text, markdown):
        assert legend in shown
    for words in ("all taken", "some taken", "skipped", "missed", "not yet", "not scheduled"):
        assert f"</span>{words}" in html


def test_today_marks_each_slot_with_the_same_symbols(week):
    ok("med", "add", "quetiapine", "--dose", "25mg", "--schedule", "daily 08:00,21:00", now=SETUP)
    ok("take", "quetiapine", "--at", "08:10", now="2026-12-06T09:00:00+01:00")
    ok("skip", "sertraline", "--reason", "away", now="2026-12-06T09:00:00+01:00")
    rows = ok("today", now="2026-12-06T09:00:00+01:00").stdout.splitlines()
    assert "08:00  quetiapine  25 mg  ● taken 08:10" in rows
    assert "08:00  sertraline  50 mg  – skipped (away)" in rows
    assert "21:00  quetiapine  25 mg  … later" in rows


def test_an_as_needed_summary_has_no_adherence_title_or_threshold(week):
    text = ok("summary", "--med", "loraz", "--days", "7", now=MORNING_6).stdout
    assert text.splitlines()[0] == "As-needed use 2026-11-30 to 2026-12-06 06:00"
    assert "Adherence" not in text and "80%" not in text
    assert "lorazepam (as needed): 1 use" in text


def test_wide_characters_keep_plain_columns_aligned():
    from medtrack.render.width import display_width, pad

    assert display_width("舍曲林") == 6 and display_width("e\u0301") == 1
    assert pad("舍曲林", 8) == "舍曲林  "
    ok("med", "add", "舍曲林", "--dose", "50mg", "--schedule", "daily 08:00", now=SETUP)
    ok("med", "add", "vitamin D", "--dose", "1000IU", "--schedule", "daily 09:00", now=SETUP)
    lines = ok("med", "list").stdout.splitlines()[1:]
    starts = {
        display_width(line[: line.index(word)])
        for line, word in zip(lines, ("Dose", "1000 IU", "50 mg"), strict=True)
    }
    assert starts == {11}  # "vitamin D" (9 columns) and two spaces
