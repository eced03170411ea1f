"""Hostile input against every command (issues 16 and 17).

The command tree is walked from the Typer app, so a command added later is fuzzed with
no change here. Hypothesis fills each command's arguments and options with hostile
values (rich markup, ANSI and OSC escapes, newlines, huge, infinite and NaN numbers,
unicode digits, bytes that were not UTF-8, long strings, paths) mixed with plausible
ones (so that a command gets past its first check and reaches the store). Every run:

- exits 0, 1 or 2, with no traceback and no "internal error";
- when it fails, leaves the database byte for byte as it was (its SQL dump);
- when it succeeds, what it stored is readable: `check` (the one validation of record
  values, core.validate) finds nothing the CLI should have refused, and the readers
  (today, summary, report, the JSON export) run without a crash.

Everything happens in a fresh temporary folder per example: the database, HOME, the
XDG folders, the working directory (relative paths and `demo`'s folder land there),
every output path, and fake `crontab`, `systemctl` and `notify-send` programs first on
PATH. `--notify` never names an `exec:` or `apprise:` target, and the root options
(`--db`, `--profile`) take values from short lists that stay inside the folder.

Examples per command: a few in the default run, more with HYPOTHESIS_PROFILE=ci.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import stat
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.main import get_command
from typer.testing import CliRunner

from medtrack.cli import app

# --- the command tree ------------------------------------------------------------------


def command_tree() -> list[tuple[tuple[str, ...], Any]]:
    """(path, command) for every leaf command, walked from the root group."""
    root = get_command(app)
    ctx = root.context_class(root)
    found: list[tuple[tuple[str, ...], Any]] = []

    def walk(command: Any, path: tuple[str, ...]) -> None:
        if hasattr(command, "list_commands"):
            for name in command.list_commands(ctx):
                walk(command.get_command(ctx, name), (*path, name))
        else:
            found.append((path, command))

    walk(root, ())
    return found


COMMANDS = command_tree()

# --- values ----------------------------------------------------------------------------

HOSTILE_TEXT = [
    "[red]x[/]",
    "[bold]sertraline[/bold]",
    "[link=http://example.invalid]click[/link]",
    "[/]",
    "[",
    "\x1b[31mred\x1b[0m",
    "\x1b]8;;http://example.invalid\x07link\x1b]8;;\x07",
    "\x1b]0;title\x07",
    "a\nb",
    "line\r\nnext",
    "\ttab",
    "\x07bell",
    "\x9bcsi",
    "",
    " ",
    "x" * 5000,
    "é" * 300,
    "😀",
    "\u202eevil",
    "\udcff\udcfe",
    "ab\udc80",
    "'; DROP TABLE doses; --",
    "%s%n{0}",
    "$(touch pwned)",
    "=1+1",
    "-",
    "--",
    "-x",
    "A" * 300,
    "Europe/Berlin",
    "../../x",
]
HOSTILE_NUMBERS = [
    "0",
    "-1",
    "-0",
    "1e308",
    "-1e308",
    "1e-320",
    "inf",
    "-inf",
    "nan",
    "NaN",
    "99999999999999999999",
    "-99999999999999999999",
    "9" * 5000,
    "٣",
    "²",
    "１２",
    "3.",
    "1_000",
    "0x10",
]

# Plausible values by parameter name, so commands reach the store and the renderers.
PLAUSIBLE: dict[str, list[str]] = {
    "name": ["sertraline", "Lorazepam", "mood", "nausea", "nothing"],
    "names": ["sertraline", "lorazepam"],
    "med": ["sertraline", "lorazepam"],
    "dose": ["50mg", "0mg", "1e308mg", "2 puffs", "99999999999999999999 mg"],
    "schedule": ["daily 08:00", "as needed", "every 4 weeks mon 10:00", "RRULE:FREQ=DAILY"],
    "at": ["yesterday 21:00", "2h ago", "now", "9999-12-31", "0001-01-01", "tomorrow"],
    "start": ["today", "2026-11-01", "9999-12-31", "1899-12-31", "2199-12-31"],
    "since": ["2026-11-01", "monday", "9999-12-31", "0001-01-01"],
    "until": ["today", "9999-12-31", "0001-01-01"],
    "when": ["tomorrow 10:00", "9999-12-31", "2026-12-24"],
    "days": ["7", "1", "36600", "36601"],
    "seed": ["1", "0", "18446744073709551616"],
    "value": ["5", "999", "72kg", "128/82", "0.8", "60", "Europe/Paris"],
    "unit": ["mmol/L", "kg", "h"],
    "kind": ["weight", "bp", "lithium", "rx", "dose", "prescriber"],
    "severity": ["mild", "severe", "unknown"],
    "reason": ["forgot", "side-effects", "because"],
    "format_": ["json", "csv", "fhir", "ics", "xml"],
    "fmt": ["md", "html", "pdf", "terminal"],
    "audience": ["prescriber", "therapist"],
    "questionnaire": ["phq9", "gad7", "bdi"],
    "answers": ["0,1,2,3,0,1,2,3,0", "3,3,3,3,3,3,3", "0,1", "٣,0,0,0,0,0,0"],
    "key": ["timezone", "on_time_window", "name", "nothing"],
    "every": ["5m", "1h", "0m", "99999999999999999999m", "9999999w", "366d"],
    "notify": ["stdout", "desktop"],
    "lookback": ["6h", "0m", "99999999999999999999d", "9999999w", "366d"],
    "lead": ["0m", "15m", "9999999w", "366d"],
    "interval": ["30m", "99999999999999999999w", "366d"],
    "limit": ["1", "100", "101"],
    "qty": ["30", "0.5"],
    "max_per_day": ["3", "100", "101"],
    "min_interval": ["6h", "0m", "366d", "9999999w"],
    "per_dose": ["1", "0.5"],
    "supply": ["30", "100000"],
    "effect_id": ["1", "2"],
    "note_id": ["1", "2"],
    "record_id": ["1", "2"],
    "with_whom": ["Dr. Who"],
}
PATH_PARAMS = {"output", "file", "target", "backup_file"}

# Root options, drawn apart: a hostile --db or --profile must stay inside the example's
# folder (no absolute path, no "..").
ROOT_OPTIONS = st.one_of(
    st.just([]),
    st.just([]),
    st.tuples(
        st.just("--profile"),
        st.sampled_from(["mum", "[/]", "x" * 300, "٣", "a b", "-", "\x1b", "é"]),
    ).map(list),
    st.tuples(
        st.just("--db"),
        st.sampled_from(["medtrack.db", "other.db", "folder", "valid.json", "link", "x" * 300]),
    ).map(list),
)


def _safe(text: str) -> bool:
    # Never let a hostile value name a program to run or a remote notification target.
    cleaned = text.strip().lower()
    return not cleaned.startswith(("exec:", "apprise:"))


def value_for(param: Any) -> st.SearchStrategy[str]:
    if param.name in PATH_PARAMS:
        return st.sampled_from(PATH_VALUES)
    plausible = st.sampled_from(PLAUSIBLE.get(param.name, ["x"]))
    # Mostly plausible values, so that one hostile value meets a command that got past
    # its other checks (a command refusing its first bad value tests little else).
    return st.one_of(
        plausible,
        plausible,
        plausible,
        st.sampled_from(HOSTILE_TEXT),
        st.sampled_from(HOSTILE_NUMBERS),
        st.text(max_size=40),
    ).filter(_safe)


# Relative to the example's own folder (the working directory during the run).
PATH_VALUES = [
    "out.json",
    "out.csv",
    "backup.db",
    "valid.json",
    "doses.csv",
    "bad.json",
    "folder",
    "folder/",
    ".",
    "",
    "-",
    "missing/out.json",
    "link",
    "medtrack.db",
    "x\ny.json",
    "\x1b[31m.json",
    "\udcff.db",
    "[/].md",
    "a" * 300,
]


@st.composite
def invocation(draw: Any, command: Any) -> list[str]:
    args: list[str] = []
    positional: list[str] = []
    for param in command.params:
        if param.name == "help":
            continue
        if getattr(param, "param_type_name", "") == "argument":
            if param.nargs == -1:
                positional.extend(draw(st.lists(value_for(param), max_size=2)))
            elif param.required or draw(st.booleans()):
                positional.append(draw(value_for(param)))
            continue
        if getattr(param, "is_flag", False):
            if draw(st.booleans()):
                args.append(param.opts[0])
            continue
        if param.required or draw(st.booleans()):
            args.extend([param.opts[0], draw(value_for(param))])
    # Options first, then "--" is not used: a positional that starts with "-" is
    # meant to be read as an option, as a shell would pass it.
    return args + positional


# --- the record every example starts from ---------------------------------------------

FAKE_PROGRAM = '#!/bin/sh\ncase "$1" in -l) exit 0 ;; esac\ncat > /dev/null\nexit 0\n'


def _env(folder: Path) -> dict[str, str]:
    home = folder / "home"
    return {
        "HOME": str(home),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "MEDTRACK_DB": str(folder / "medtrack.db"),
        "MEDTRACK_NOW": "2026-11-23T13:30:00Z",
        "PATH": f"{folder / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        "TZ": "Europe/Berlin",
        "NO_COLOR": "1",
    }


def _prepare(folder: Path) -> None:
    (folder / "home").mkdir(mode=0o700)
    (folder / "bin").mkdir()
    for program in ("crontab", "systemctl", "notify-send"):
        path = folder / "bin" / program
        path.write_text(FAKE_PROGRAM)
        path.chmod(stat.S_IRWXU)
    (folder / "folder").mkdir()
    (folder / "link").symlink_to(Path("folder") / "target.txt")


SETUP = [
    ["med", "add", "sertraline", "--dose", "50mg", "--schedule", "daily 08:00",
     "--start", "2026-11-01", "--supply", "60"],
    ["med", "add", "lorazepam", "--dose", "1mg", "--schedule", "as needed",
     "--max-per-day", "3", "--start", "2026-11-01"],
    ["take", "sertraline", "--at", "2026-11-22 08:05"],
    ["skip", "sertraline", "--reason", "forgot", "--at", "2026-11-21 08:00"],
    ["take", "lorazepam", "--at", "2026-11-22 12:00"],
    ["symptom", "mood", "6"],
    ["side-effect", "nausea", "--med", "sertraline", "--severity", "mild"],
    ["measure", "weight", "72kg"],
    ["note", "ask about sleep", "--ask"],
    ["visit", "add", "2026-12-01 10:00", "--kind", "prescriber"],
    ["checkin", "gad7", "--answers", "1,1,1,1,1,1,1"],
]  # fmt: skip


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A populated database, its valid JSON export and dose CSV, built once."""
    folder = tmp_path_factory.mktemp("fuzz-template")
    _prepare(folder)
    runner = CliRunner()
    env = _env(folder)
    with contextlib.chdir(folder):
        for args in SETUP:
            result = runner.invoke(app, args, env=env)
            assert result.exit_code == 0, (args, result.output, result.stderr)
        for args in (["export", "-f", "json", "-o", "valid.json"], ["backup", "backup.db"]):
            result = runner.invoke(app, args, env=env)
            assert result.exit_code == 0, (args, result.stderr)
    (folder / "doses.csv").write_text(
        "medication,taken_at,status,reason,note\nsertraline,2026-11-20 08:00,taken,,\x1b[31m\n"
    )
    (folder / "bad.json").write_text('{"format": "medtrack-export", "tables": {"doses": []')
    return folder


# What must still work after any command that changed the record.
READERS = [
    ["check"],
    ["today"],
    ["summary", "--days", "30"],
    ["report", "--since", "2026-01-01"],
    ["export", "-f", "json", "-o", "after.json"],
    ["med", "list", "--json"],
]


def dump(path: Path) -> str:
    if not path.exists():
        return "<no database>"
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return "\n".join(conn.iterdump())
    finally:
        conn.close()


def examples() -> int:
    # A few per command by default (42 commands), about a sixth of the profile in CI;
    # MEDTRACK_FUZZ_EXAMPLES sets it for a longer hunt by hand.
    wanted = os.environ.get("MEDTRACK_FUZZ_EXAMPLES", "")
    return int(wanted) if wanted.isdigit() else max(4, settings.default.max_examples // 6)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("path", "command"), COMMANDS, ids=[" ".join(path) for path, _ in COMMANDS]
)
def test_hostile_values_never_crash_and_failures_change_nothing(
    path: tuple[str, ...], command: Any, template: Path, tmp_path: Path
) -> None:
    runner = CliRunner()

    @settings(
        max_examples=examples(),
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        database=None,
    )
    @given(
        root=ROOT_OPTIONS,
        args=invocation(command),
        stdin=st.sampled_from(["", "y\n", "n\n", "\x1b[31m\n"]),
    )
    def run(root: list[str], args: list[str], stdin: str) -> None:
        folder = Path(tempfile.mkdtemp(dir=tmp_path))
        shutil.copytree(template, folder, dirs_exist_ok=True, symlinks=True)
        env = _env(folder)
        database = folder / "medtrack.db"
        before = dump(database)
        with contextlib.chdir(folder):
            result = runner.invoke(app, [*root, *path, *args], input=stdin, env=env)
        shown = (root, path, args, result.exit_code, result.stdout[-500:], result.stderr[-500:])
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise AssertionError(shown) from result.exception
        assert result.exit_code in (0, 1, 2), shown
        assert "Traceback" not in result.stdout + result.stderr, shown
        assert "internal error" not in result.stderr, shown
        if result.exit_code != 0:
            assert dump(database) == before, shown
            # An error is one line (Typer's own usage errors draw a box: exit 2).
            if result.exit_code == 1:
                assert result.stderr.strip().count("\n") == 0, shown
        elif dump(database) != before:
            for reader in READERS:
                with contextlib.chdir(folder):
                    read = runner.invoke(app, reader, env=env)
                seen = (path, args, reader, read.exit_code, read.stdout[-500:], read.stderr)
                if read.exception is not None and not isinstance(read.exception, SystemExit):
                    raise AssertionError(seen) from read.exception
                assert read.exit_code == 0, seen
        shutil.rmtree(folder)

    run()
