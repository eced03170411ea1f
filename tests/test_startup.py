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
try:
    from medtrack.cli import main
    main()
except SystemExit:
    pass
heavy = sorted({{m.split('.')[0] for m in sys.modules}} & set({heavy!r}))
print("LOADED:" + ",".join(heavy), file=sys.stderr)
"""


def loaded_heavy(args: list[str]) -> list[str]:
    code = PROBE.format(args=args, heavy=HEAVY)
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=os.environ
    )
    line = [x for x in result.stderr.splitlines() if x.startswith("LOADED:")][-1]
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
