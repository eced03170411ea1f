"""The installed command, run as a person runs it, and what it loads on the way."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("rich", "sqlite_utils", "fpdf", "icalendar", "apprise", "fhir")


def medtrack_exe() -> list[str]:
    exe = Path(sys.executable).parent / "medtrack"
    if exe.exists():
        return [str(exe)]
    found = shutil.which("medtrack")
    assert found, "the medtrack console script is not installed"
    return [found]


def run(args: list[str], env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.update(env_extra or {})
    return subprocess.run(
        medtrack_exe() + args, capture_output=True, text=True, env=env, timeout=60
    )


def test_installed_command_records_and_lists():
    add = run(["med", "add", "sertraline", "--dose", "50mg", "--schedule", "daily 08:00"])
    assert add.returncode == 0, add.stderr
    listed = run(["med", "list", "--json"])
    assert listed.returncode == 0
    assert [m["name"] for m in json.loads(listed.stdout)] == ["sertraline"]
    assert oct(Path(os.environ["MEDTRACK_DB"]).stat().st_mode & 0o777) == "0o600"


def test_installed_command_error_is_one_line_no_traceback():
    result = run(["med", "show", "nothing"])
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0
    assert "Traceback" not in result.stderr


def test_python_dash_m_works():
    result = subprocess.run(
        [sys.executable, "-m", "medtrack", "--version"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0
    assert result.stdout.startswith("medtrack ")


PROBE = """
import sys, runpy
sys.argv = ["medtrack"] + {args!r}
code = 0
try:
    from medtrack.cli import main
    main()
except SystemExit as exc:
    code = exc.code or 0
heavy = sorted({{m.split('.')[0] for m in sys.modules}} & set({heavy!r}))
own = sorted(set(sys.modules) & set({own!r}))
print(f"EXIT:{{code}}", file=sys.stderr)
print("LOADED:" + ",".join(heavy + own), file=sys.stderr)
"""

# What the commands typed many times a day (and cron, and completion) must not load: the
# summary's figures, the report, supply (remind checks it once a day) and exports.
NOT_ON_HOT_PATH = (
    "medtrack.core.adherence",
    "medtrack.core.report",
    "medtrack.core.supply",
    "medtrack.core.health",
    "medtrack.core.transfer",
    "medtrack.store.transfer",
    "dateutil.relativedelta",
    "dateutil.parser",
    "dateutil.tz",
)


def loaded_heavy(
    args: list[str],
    env_extra: dict[str, str] | None = None,
    own: tuple[str, ...] = (),
    exit_code: int = 0,
) -> list[str]:
    """The heavy libraries, and those of `own` modules, that running `args` loaded."""
    code = PROBE.format(args=args, heavy=HEAVY, own=own)
    env = dict(os.environ, **(env_extra or {}))
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env
    )
    lines = result.stderr.splitlines()
    # A command that failed early would load little: only a run that worked proves anything.
    assert f"EXIT:{exit_code}" in lines, result.stderr
    line = [x for x in lines if x.startswith("LOADED:")][-1]
    return [m for m in line[len("LOADED:") :].split(",") if m]


def test_import_of_cli_loads_nothing_heavy():
    code = (
        "import sys, medtrack.cli; "
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r})))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize(
    "args",
    [
        ["med", "list", "--json"],
        ["med", "show", "sertraline", "--json"],
        ["--version"],
    ],
)
def test_fast_paths_load_nothing_heavy(args):
    # Create and migrate the database first: migrations may use sqlite_utils, once.
    assert (
        run(["med", "add", "sertraline", "--dose", "50mg", "--schedule", "daily 08:00"]).returncode
        == 0
    )
    assert loaded_heavy(args) == []


@pytest.fixture
def recorded_plan():
    """Two daily medications (one answered, one due now in Berlin), an as-needed one, a
    refill and a dose."""
    steps = [
        ["med", "add", "sertraline", "--dose", "50mg", "--schedule", "daily 08:00"],
        ["med", "add", "vitamin d", "--dose", "1000IU", "--schedule", "daily 10:00"],
        ["med", "add", "lorazepam", "--dose", "0.5mg", "--schedule", "as needed"],
        ["med", "refill", "sertraline", "--qty", "30"],
        ["take", "sertraline", "--at", "2026-11-23T08:05:00+00:00", "--yes"],
    ]
    env = {"MEDTRACK_NOW": "2026-11-23T09:00:00Z"}
    for args in steps:
        result = run(args, env)
        assert result.returncode == 0, (args, result.stderr)
    return env


@pytest.mark.parametrize(
    "args",
    [
        ["take", "lorazepam", "--yes"],
        ["skip", "vitamin d", "--reason", "forgot"],
        ["today"],
        ["today", "--json"],
        ["undo", "--yes"],
    ],
)
def test_commands_typed_daily_load_only_what_they_need(recorded_plan, args):
    assert loaded_heavy(args, recorded_plan, NOT_ON_HOT_PATH) == []


@pytest.mark.parametrize("args", [["status"], ["status", "--json"]])
def test_status_for_a_status_bar_loads_only_what_take_loads(recorded_plan, args):
    # vitamin d's 10:00 (Berlin) dose is due at 09:00 UTC: status says so with exit 1.
    assert loaded_heavy(args, recorded_plan, NOT_ON_HOT_PATH, exit_code=1) == []
    result = run(args, recorded_plan)
    assert result.returncode == 1
    assert "vitamin d" in result.stdout


def test_remind_after_the_days_supply_check_loads_only_what_it_needs(recorded_plan):
    first = run(["remind"], recorded_plan)
    assert first.returncode == 0, first.stderr
    assert "vitamin d" in first.stdout
    assert loaded_heavy(["remind"], recorded_plan, NOT_ON_HOT_PATH) == []


def test_completion_of_a_name_loads_only_what_it_needs(recorded_plan):
    completion = {"_MEDTRACK_COMPLETE": "complete_bash", "COMP_WORDS": "medtrack take ser"}
    completion["COMP_CWORD"] = "2"
    result = run([], completion)
    assert result.stdout.split() == ["sertraline"]
    assert loaded_heavy([], completion, NOT_ON_HOT_PATH) == []
