"""The issue-19 case, end to end through the CLI on a temporary database (Berlin):

- prescriber visit Nov 10, therapist visit Nov 26; report made Dec 6 12:00.
- PHQ-9 on Nov 14 with item 9 = 2 (total 8+2 = 10), then on Nov 28 with item 9 = 0.
- lorazepam 0.5 mg as needed, at most 2 a day: 3 doses on Nov 20 (one day over).
- akathisia reported severe on Nov 12, updated to mild on Nov 29 with a note.
- a question asked Dec 6 11:00 (after a --until period's end).

The prescriber report must cover Nov 10 to Dec 6 and name all three flags; the
therapist report covers Nov 26 to Dec 6 yet still names them (safety looks back to the
last prescriber visit); an explicit --until Nov 30 still lists the Dec 6 question.
"""

from __future__ import annotations

from datetime import date

import pytest
from typer.testing import CliRunner

from medtrack.cli import app
from medtrack.cli.report_cmd import load_report

runner = CliRunner()
REPORT_NOW = "2026-12-06T12:00:00+01:00"


def ok(*args: str, now: str = REPORT_NOW):
    result = runner.invoke(app, list(args), env={"MEDTRACK_NOW": now})
    assert result.exit_code == 0, (args, result.output, result.stderr)
    return result


@pytest.fixture
def patient(monkeypatch):
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
        "--controlled",
        "--start",
        "2026-10-01",
        now="2026-10-01T09:00:00+02:00",
    )
    ok(
        "visit",
        "add",
        "2026-11-10T10:00",
        "--kind",
        "prescriber",
        "--with",
        "Dr Okafor",
        now="2026-11-10T12:00:00+01:00",
    )
    ok(
        "visit",
        "add",
        "2026-11-26T15:00",
        "--kind",
        "therapist",
        "--with",
        "J. Berg",
        now="2026-11-26T17:00:00+01:00",
    )
    ok("checkin", "phq9", "--answers", "1,1,1,1,1,1,1,1,2", now="2026-11-14T20:00:00+01:00")
    ok("checkin", "phq9", "--answers", "1,1,1,0,0,0,0,0,0", now="2026-11-28T20:00:00+01:00")
    for hour in ("08:00", "14:00", "21:00"):
        ok(
            "take",
            "lorazepam",
            "--at",
            f"2026-11-20 {hour}",
            "--yes",
            now="2026-11-20T22:00:00+01:00",
        )
    ok("side-effect", "add", "akathisia", "--severity", "severe", now="2026-11-12T09:00:00+01:00")
    ok(
        "side-effect",
        "add",
        "akathisia",
        "--severity",
        "mild",
        "--note",
        "restless legs at night only",
        now="2026-11-29T09:00:00+01:00",
    )
    ok("note", "add", "Can the lorazepam limit go to 3?", "--ask", now="2026-12-06T11:00:00+01:00")
    monkeypatch.setenv("MEDTRACK_NOW", REPORT_NOW)


def kinds(report) -> list[str]:
    return [flag.kind for flag in report.safety]


def test_prescriber_period_starts_at_the_last_prescriber_visit(patient):
    report = load_report()
    h = report.header
    assert (h.period_start, h.period_end) == (date(2026, 11, 10), date(2026, 12, 6))
    assert h.basis == "since the last prescriber visit on 2026-11-10"
    assert kinds(report) == ["item9", "severe_side_effect", "as_needed_over_max"]
    item9, side, prn = report.safety
    assert item9.on == date(2026, 11, 14)
    assert "scored 2 of 3 on 2026-11-14 (PHQ-9 total 10, moderate)" in item9.text
    assert "next PHQ-9 (2026-11-28) item 9: 0" in item9.text
    # Reached severe, now mild: kept, with its note and its current state.
    assert side.text.startswith("Side effect reached severe: akathisia, since 2026-11-12;")
    assert "now mild, ongoing" in side.text and "restless legs at night only" in side.text
    assert prn.text == ("lorazepam: 3 doses on 2026-11-20, above the as-needed maximum of 2 a day.")


def test_therapist_report_is_shorter_and_keeps_every_flag(patient):
    report = load_report(audience="therapist")
    h = report.header
    assert (h.period_start, h.period_end) == (date(2026, 11, 26), date(2026, 12, 6))
    assert h.basis == "since the last therapist visit on 2026-11-26"
    # All three happened before Nov 26, after the last prescriber visit.
    assert kinds(report) == ["item9", "severe_side_effect", "as_needed_over_max"]
    assert h.safety_since == date(2026, 11, 10)


def test_a_therapist_visit_does_not_start_the_prescriber_report():
    ok("visit", "add", "2026-11-26T15:00", "--kind", "therapist")
    ok("symptom", "mood", "5")
    text = " ".join(ok("report").stdout.split())
    # Not Nov 26: no prescriber visit, so the last 30 days.
    assert (
        "2026-11-07 to 2026-12-06 (30 days), the last 30 days (no past prescriber "
        "visit recorded)" in text
    )
    therapist = " ".join(ok("report", "--for", "therapist").stdout.split())
    assert "2026-11-26 to 2026-12-06 (11 days), since the last therapist visit" in therapist


def test_no_visit_at_all_says_30_days(monkeypatch):
    ok("symptom", "mood", "5")
    text = ok("report").stdout
    assert (
        "2026-11-07 to 2026-12-06 (30 days), the last 30 days (no past prescriber visit "
        "recorded)" in " ".join(text.split())
    )


def test_every_open_question_even_after_the_period(patient):
    report = load_report(since="2026-11-10", until="2026-11-30")
    assert [q.text for q in report.questions] == ["Can the lorazepam limit go to 3?"]
    assert report.header.basis == "as asked"


def test_the_flags_print_in_every_format(patient, tmp_path):
    for fmt in ("terminal", "md", "html"):
        out = " ".join(ok("report", "--format", fmt).stdout.split())
        assert "scored 2 of 3 on 2026-11-14" in out, fmt
        assert "Side effect reached severe: akathisia" in out, fmt
        assert "3 doses on 2026-11-20" in out, fmt
        assert "None in this period" not in out, fmt
