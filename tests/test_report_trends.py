"""Symptoms as a change, not a mean (issue 19, item 5), worked out by hand.

Period Nov 1-30 2026 in Berlin (30 days: the first and last 14 days are compared).
- mood on Nov 1, 3, 5, 7, 9 = 2, 3, 2, 3, 3 -> first 14 days 13/5 = 2.6;
  on Nov 20, 22, 24, 26, 28, 30 = 7, 8, 7, 7, 8, 7 -> last 14 days (Nov 17-30) 44/6 = 7.33.
  Mood: higher is better -> +4.7, better. Days with data: 11 of 30.
- anxiety 6 on Nov 2, 8 on Nov 29 -> +2, worse (lower is better).
- "sleep" in hours, 7 then 5: no default direction -> "changed"; with the setting
  sleep=higher it is worse.
- weight 72 kg on Nov 3, then 160 lb on Nov 20 (72.57 kg), then 73 kg on Nov 28: one row in
  kg, +1 kg since 2026-11-03.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from typer.testing import CliRunner

from medtrack.cli import app
from medtrack.core.adherence import summarize
from medtrack.core.health import Measurement, MeasurementEntry, SymptomEntry
from medtrack.core.report import build_report, parse_better
from medtrack.core.schedule import ZoneTimeline
from medtrack.render.report_md import render_markdown

ZONES = ZoneTimeline("Europe/Berlin")
START = datetime(2026, 10, 31, 23, tzinfo=UTC)  # Nov 1 00:00 in Berlin
END = datetime(2026, 11, 30, 23, tzinfo=UTC)
NOW = datetime(2026, 12, 2, 9, tzinfo=UTC)


def at(day: int) -> datetime:
    return datetime(2026, 11, day, 19, tzinfo=UTC)


def report(better=None):
    symptoms = [
        SymptomEntry("mood", float(v), None, at(d))
        for d, v in zip((1, 3, 5, 7, 9), (2, 3, 2, 3, 3), strict=True)
    ]
    symptoms += [
        SymptomEntry("mood", float(v), None, at(d))
        for d, v in zip((20, 22, 24, 26, 28, 30), (7, 8, 7, 7, 8, 7), strict=True)
    ]
    symptoms += [
        SymptomEntry("anxiety", 6.0, None, at(2)),
        SymptomEntry("anxiety", 8.0, None, at(29)),
    ]
    symptoms += [SymptomEntry("sleep", 7.0, "h", at(2)), SymptomEntry("sleep", 5.0, "h", at(29))]
    weights = [
        MeasurementEntry(Measurement("weight", 72.0, None, "kg"), at(3)),
        MeasurementEntry(Measurement("weight", 160.0, None, "lb"), at(20)),
        MeasurementEntry(Measurement("weight", 73.0, None, "kg"), at(28)),
    ]
    summary = summarize([], [], start=START, end=END, now=NOW, zones=ZONES)
    return build_report(
        medications=[],
        summary=summary,
        symptoms=symptoms,
        measurements=weights,
        start=START,
        end=END,
        now=NOW,
        zones=ZONES,
        symptom_better=better,
    )


def test_first_and_last_two_weeks_with_the_better_direction():
    trends = {t.name: t for t in report().symptoms}
    mood = trends["mood"]
    assert mood.days_with_data == 11
    assert mood.first_mean == pytest.approx(2.6)
    assert mood.last_mean == pytest.approx(44 / 6)
    assert (mood.better, mood.verdict) == ("higher", "better")
    anxiety = trends["anxiety"]
    assert (anxiety.first_mean, anxiety.last_mean, anxiety.verdict) == (6, 8, "worse")
    assert (trends["sleep"].better, trends["sleep"].verdict) == (None, "changed")
    md = render_markdown(report())
    assert "| mood (0-10) | 11 of 30 | 2.6 | 7.3 | +4.7, better | higher | 2-8 |" in md
    assert "| anxiety (0-10) | 2 of 30 | 6 | 8 | +2, worse | lower | 6-8 |" in md


def test_the_setting_gives_a_direction():
    trends = {t.name: t for t in report(parse_better("Sleep = higher")).symptoms}
    assert (trends["sleep"].better, trends["sleep"].verdict) == ("higher", "worse")
    with pytest.raises(ValueError, match="sleep=better"):
        parse_better("sleep=better")


def test_weight_in_one_unit_with_its_change():
    (weight,) = report().measurements
    assert (weight.unit, weight.count, weight.latest) == ("kg", 3, "73 kg")
    assert weight.high == "73 kg" and weight.low == "72 kg"
    assert weight.change == "+1 kg from 2026-11-03"
    # 160 lb is 72.57 kg, drawn as such.
    assert weight.points[1][1] == pytest.approx(160 * 0.45359237)


def test_config_refuses_a_bad_direction(monkeypatch):
    runner = CliRunner()
    result = runner.invoke(app, ["config", "set", "symptom_better", "sleep=up"])
    assert result.exit_code != 0 and "symptom_better" in result.stderr
    assert runner.invoke(app, ["config", "set", "symptom_better", "sleep=higher"]).exit_code == 0


def test_bmi_beside_the_latest_weight_when_a_height_is_set():
    from medtrack.core.report import bmi_text

    # 73 kg at 172 cm: 73 / 1.72^2 = 24.68 -> 24.7; 160 lb = 72.57 kg -> 24.5.
    assert bmi_text(Measurement("weight", 73.0, None, "kg"), 172) == "BMI 24.7"
    assert bmi_text(Measurement("weight", 160.0, None, "lb"), 172) == "BMI 24.5"
    assert bmi_text(Measurement("weight", 73.0, None, "kg"), None) is None
    runner = CliRunner()
    env = {"MEDTRACK_NOW": "2026-12-01T10:00:00+01:00"}
    assert runner.invoke(app, ["config", "set", "height", "tall"], env=env).exit_code != 0
    assert runner.invoke(app, ["config", "set", "height", "172"], env=env).exit_code == 0
    runner.invoke(app, ["measure", "record", "weight", "73kg", "--at", "2026-11-30 07:00"], env=env)
    out = runner.invoke(app, ["report", "--format", "md"], env=env).stdout
    assert "| Weight | 1 | 73 kg (2026-11-30), BMI 24.7 |" in out
