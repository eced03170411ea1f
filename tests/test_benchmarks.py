"""The benchmark tools: the synthetic history is what it says, the runner runs everything.

These check behaviour only (volumes, determinism, exit codes); no test here judges a
timing, which is the runner's to report.
"""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import dump

ROOT = Path(__file__).resolve().parent.parent
NOW = "2026-11-23T14:00:00Z"


def generate(db: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "generate.py"),
            "--db",
            str(db),
            "--now",
            NOW,
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def year(tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("bench") / "year.db"
    result = generate(db, "--years", "1", "--seed", "1")
    assert result.returncode == 0, result.stderr
    return db


def test_a_generated_year_has_the_documented_mix(year):
    conn = sqlite3.connect(year)
    try:
        (meds,) = conn.execute("SELECT count(*) FROM medications").fetchone()
        status = dict(conn.execute("SELECT status, count(*) FROM doses GROUP BY status"))
        reasons = {r for (r,) in conn.execute("SELECT DISTINCT skip_reason FROM doses")}
        schedules = set(
            conn.execute("SELECT DISTINCT schedule_rrule, schedule_times FROM regimens")
        )
        checkins = dict(
            conn.execute("SELECT questionnaire, count(*) FROM checkins GROUP BY questionnaire")
        )
        (visits,) = conn.execute("SELECT count(*) FROM visits").fetchone()
        (refills,) = conn.execute("SELECT count(*) FROM refills").fetchone()
    finally:
        conn.close()
    assert meds == 12
    # A tenth of the decade's ~150,000 dose records, most of them taken.
    assert 10_000 <= sum(status.values()) <= 20_000
    assert set(status) == {"taken", "skipped"}
    assert {"forgot", "side-effects"} <= reasons
    assert len(schedules) >= 10
    assert checkins and all(50 <= n <= 54 for n in checkins.values())  # weekly
    assert 11 <= visits <= 13 and refills > 0


def test_the_generator_is_deterministic_for_a_seed(tmp_path, year):
    again = tmp_path / "again.db"
    other = tmp_path / "other.db"
    assert generate(again, "--years", "1", "--seed", "1").returncode == 0
    assert generate(other, "--years", "1", "--seed", "2").returncode == 0
    assert dump(again) == dump(year)
    assert dump(other) != dump(year)


@pytest.mark.slow
def test_the_runner_times_every_command_and_the_comparison(year):
    before = dump(year)
    run = [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--runs", "1", "--now", NOW]
    table = subprocess.run([*run, "--db", str(year)], capture_output=True, text=True, timeout=600)
    assert table.returncode == 0, table.stderr
    # label, median, paired baseline, ratio, [target], peak, exit code, [ok | OVER]
    row = re.compile(r"^(?P<label>.+?)\s+[\d.]+\s+[\d.]+\s+[\d.]+x\s.*\s(?P<code>\d+) ?(ok|OVER)?$")
    rows = {m["label"].strip(): m["code"] for m in map(row.match, table.stdout.splitlines()) if m}
    expected = (
        "baseline",
        "--version",
        "take sertraline",
        "today",
        "remind",
        "completion",
        "summary --days 30",
        "summary --days 3650",
        "report html 90 days",
        "report html 10 years",
        "report pdf 90 days",
        "export json",
    )
    for label in expected:
        codes = [code for name, code in rows.items() if label in name]
        assert codes == ["0"], (label, table.stdout)
    side = subprocess.run(
        [*run, "--db", str(year), "--compare", str(year)], capture_output=True, text=True
    )
    assert side.returncode == 0, side.stderr
    assert side.stdout.count(str(year)) == 2 and "summary --days 365" in side.stdout
    # The runner works on copies: `take` never writes to the database given.
    assert dump(year) == before
