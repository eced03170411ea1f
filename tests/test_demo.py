"""`medtrack demo`: a fictional patient, deterministic for a seed, never in real data."""

from __future__ import annotations

import os
import sqlite3
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from helpers import dump
from typer.testing import CliRunner

from medtrack.cli import app
from medtrack.core.adherence import summarize
from medtrack.core.demo import generate
from medtrack.core.schedule import ZoneTimeline

runner = CliRunner()
NOW = "2026-11-23T14:30:00+01:00"
NOW_UTC = datetime(2026, 11, 23, 13, 30, tzinfo=UTC)


@pytest.fixture(autouse=True)
def in_tmp(monkeypatch, tmp_path):
    monkeypatch.setenv("MEDTRACK_NOW", NOW)
    monkeypatch.chdir(tmp_path)


def test_demo_is_deterministic_for_a_seed(tmp_path):
    outputs = []
    for name in ("a.db", "b.db", "c.db"):
        seed = "3" if name != "c.db" else "4"
        result = runner.invoke(
            app, ["--db", str(tmp_path / name), "demo", "--days", "30", "--seed", seed]
        )
        assert result.exit_code == 0, (result.output, result.stderr)
        outputs.append(result.stdout.replace(name, "X.db"))
    assert dump(tmp_path / "a.db") == dump(tmp_path / "b.db")
    assert outputs[0] == outputs[1]
    assert dump(tmp_path / "a.db") != dump(tmp_path / "c.db")


def test_generator_is_pure_and_seeded():
    one = generate(seed=5, now=NOW_UTC, zone="Europe/Berlin", days=60)
    two = generate(seed=5, now=NOW_UTC, zone="Europe/Berlin", days=60)
    other = generate(seed=6, now=NOW_UTC, zone="Europe/Berlin", days=60)
    assert one == two
    assert one.doses != other.doses


def test_demo_patient_tells_the_story():
    patient = generate(seed=1, now=NOW_UTC, zone="Europe/Berlin", days=90)
    zones = ZoneTimeline("Europe/Berlin")
    start = NOW_UTC - timedelta(days=90)
    summary = summarize(
        patient.medications, patient.doses, start=start, end=NOW_UTC, now=NOW_UTC, zones=zones
    )
    assert 0.78 <= summary.overall.taken / (summary.overall.due - summary.overall.pending) <= 0.92
    reasons = set()
    for med in summary.medications:
        reasons |= set(med.skipped_by_reason)
    assert {"forgot", "away", "side-effects"} <= reasons
    assert summary.as_needed[0].days_above_max == 1
    kinds = {m.name: m.kind for m in patient.medications}
    assert kinds == {
        "sertraline": "rx",
        "lamotrigine": "rx",
        "lorazepam": "rx",
        "vitamin D": "supplement",
    }
    lamotrigine = next(m for m in patient.medications if m.name == "lamotrigine")
    assert [r.dose.amount for r in lamotrigine.regimens] == [25, 25, 50, 100]
    assert len(lamotrigine.regimens[-1].schedule.times) == 2
    headache = next(s for s in patient.side_effects if s.name == "headache")
    assert headache.resolved_at is not None and headache.resolved_at < NOW_UTC
    phq = [c.total for c in patient.checkins if c.questionnaire == "phq9"]
    gad = [c.total for c in patient.checkins if c.questionnaire == "gad7"]
    assert phq[0] - phq[-1] >= 6 and gad[0] - gad[-1] >= 4
    assert not any(c.flagged for c in patient.checkins)
    past = [v for v in patient.visits if v.at <= NOW_UTC]
    upcoming = [v for v in patient.visits if v.at > NOW_UTC]
    assert len(past) == 1 and len(upcoming) == 1
    assert all(d.taken_at <= NOW_UTC for d in patient.doses)


def test_demo_uses_its_own_profile_and_writes_private_files(tmp_path):
    result = runner.invoke(app, ["demo", "--days", "30"])
    assert result.exit_code == 0, (result.output, result.stderr)
    demo_db = Path(os.environ["XDG_DATA_HOME"]) / "medtrack" / "demo.db"
    assert demo_db.exists()
    # The person's own database (MEDTRACK_DB in these tests) was never created.
    assert not Path(os.environ["MEDTRACK_DB"]).exists()
    out = result.stdout
    assert "Today, Mon 23 Nov 2026" in out
    assert "VISIT REPORT FOR THE PRESCRIBER" in out
    assert "Adherence" in out
    for suffix in ("md", "html", "pdf"):
        path = tmp_path / "medtrack-demo" / f"visit.{suffix}"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, suffix
    assert (tmp_path / "medtrack-demo" / "visit.pdf").read_bytes().startswith(b"%PDF-")
    md = (tmp_path / "medtrack-demo" / "visit.md").read_text()
    assert "Sam Rivera (demo)" in md and "lamotrigine" in md
    # Running it again replaces the demo, not adds to it.
    again = runner.invoke(app, ["demo", "--days", "30"])
    assert again.exit_code == 0
    conn = sqlite3.connect(demo_db)
    try:
        assert conn.execute("SELECT count(*) FROM medications").fetchone()[0] == 4
    finally:
        conn.close()


def test_demo_refuses_real_records_and_the_default_profile(tmp_path):
    real = tmp_path / "real.db"
    added = runner.invoke(
        app,
        [
            "--db",
            str(real),
            "med",
            "add",
            "sertraline",
            "--dose",
            "50mg",
            "--schedule",
            "daily 08:00",
        ],
    )
    assert added.exit_code == 0
    before = dump(real)
    result = runner.invoke(app, ["--db", str(real), "demo"])
    assert result.exit_code == 1
    assert "not a medtrack demo" in result.stderr
    assert dump(real) == before
    refused = runner.invoke(app, ["--profile", "default", "demo"])
    assert refused.exit_code == 2
    bad_days = runner.invoke(app, ["demo", "--days", "3"])
    assert bad_days.exit_code == 1
    assert not (Path(os.environ["XDG_DATA_HOME"]) / "medtrack" / "default.db").exists()
