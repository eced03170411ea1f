"""Health data stays private: 0700 folders and 0600 files whatever the umask, and no
command opens a network socket unless a notification back end is configured."""

from __future__ import annotations

import os
import socket
import stat
from pathlib import Path

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from medtrack.cli import app

NOW = "2026-11-23T14:30:00+01:00"
runner = CliRunner()


def invocations(tmp: Path) -> list[list[str]]:
    """One real run of every command (the order builds up a record to work on)."""
    return [
        ["med", "add", "sertraline", "--dose", "50mg", "--schedule", "daily 08:00",
         "--start", "2026-11-01"],
        ["med", "add", "lorazepam", "--dose", "0.5mg", "--schedule", "as needed"],
        ["med", "list"],
        ["med", "show", "sertraline"],
        ["med", "change", "sertraline", "--dose", "100mg", "--from", "2026-11-15"],
        ["med", "refill", "sertraline", "--qty", "30"],
        ["med", "stop", "lorazepam"],
        ["med", "resume", "lorazepam"],
        ["config", "set", "name", "Ada"],
        ["config", "get"],
        ["take", "sertraline", "--at", "2026-11-22 08:05"],
        ["skip", "sertraline", "--reason", "forgot"],
        ["today"],
        ["status"],
        ["log"],
        ["summary"],
        ["symptom", "record", "mood", "6"],
        ["symptom", "list"],
        ["measure", "record", "weight", "72kg"],
        ["measure", "list"],
        ["checkin", "take", "gad7", "--answers", "1,1,1,1,1,1,1"],
        ["checkin", "list"],
        ["side-effect", "add", "nausea", "--severity", "mild"],
        ["side-effect", "resolve", "1"],
        ["side-effect", "list"],
        ["note", "add", "ask about sleep", "--help"],
        ["note", "add", "ask about sleep"],
        ["note", "list"],
        ["note", "done", "1"],
        ["visit", "add", "2026-12-03T10:30", "--with", "Dr Okafor"],
        ["visit", "list"],
        ["visit", "next"],
        ["undo", "--yes"],
        ["remind"],
        ["snooze", "sertraline", "--help"],
        ["cron", "install"],
        ["cron", "show"],
        ["cron", "remove"],
        ["report", "--format", "md", "-o", str(tmp / "report.md")],
        ["report", "--format", "html", "-o", str(tmp / "report.html")],
        ["report", "--format", "pdf", "-o", str(tmp / "report.pdf")],
        ["export", "--format", "json", "-o", str(tmp / "all.json")],
        ["export", "--format", "fhir", "-o", str(tmp / "bundle.json")],
        ["export", "--format", "ics", "-o", str(tmp / "meds.ics")],
        ["export", "--format", "csv", "-o", str(tmp / "csv")],
        ["backup"],
        ["backup", str(tmp / "safe.db")],
        ["restore", str(tmp / "safe.db")],
        ["check"],
        ["history"],
        ["import", str(tmp / "all.json"), "--merge"],
        ["--db", str(tmp / "demo.db"), "demo"],
    ]  # fmt: skip


def leaf_commands() -> set[str]:
    import typer._click as click

    root = get_command(app)
    found = set()

    def walk(command, path):
        if hasattr(command, "list_commands"):
            ctx = click.Context(command)
            for name in command.list_commands(ctx):
                walk(command.get_command(ctx, name), [*path, name])
        else:
            found.add(" ".join(path))

    walk(root, [])
    return found


class NetworkUsed(AssertionError):
    pass


@pytest.fixture
def no_network(monkeypatch):
    attempts: list[str] = []

    def refuse(name):
        def handler(*args, **kwargs):
            attempts.append(f"{name}{args!r}")
            raise NetworkUsed(f"medtrack tried to use the network: {name}")

        return handler

    class RefusingSocket(socket.socket):
        def __init__(self, *args, **kwargs):
            attempts.append(f"socket{args!r}")
            raise NetworkUsed("medtrack tried to open a socket")

    monkeypatch.setattr(socket, "socket", RefusingSocket)
    for name in ("create_connection", "getaddrinfo", "socketpair", "gethostbyname"):
        monkeypatch.setattr(socket, name, refuse(name))
    return attempts


@pytest.fixture
def fake_crontab(tmp_path, monkeypatch):
    """`cron install` edits the user's crontab through the crontab program: a stand-in."""
    folder = tmp_path / "bin"
    folder.mkdir()
    program = folder / "crontab"
    program.write_text(
        "#!/bin/sh\n"
        f'store="{tmp_path}/crontab.txt"\n'
        'if [ "$1" = "-l" ]; then cat "$store" 2>/dev/null; exit 0; fi\n'
        'if [ "$1" = "-" ]; then cat > "$store"; exit 0; fi\n'
        'if [ "$1" = "-r" ]; then rm -f "$store"; exit 0; fi\n'
        'cat "$1" > "$store"\n'
    )
    program.chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}:{os.environ['PATH']}")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_every_command_runs_without_the_network_and_writes_privately(
    tmp_path, monkeypatch, no_network, fake_crontab
):
    # The default profile in the data folder, which does not exist yet.
    monkeypatch.delenv("MEDTRACK_DB")
    data = Path(os.environ["XDG_DATA_HOME"]) / "medtrack"
    out = tmp_path / "out"
    out.mkdir()
    runs = invocations(out)
    covered = {" ".join(w for w in run if not w.startswith("-") and "/" not in w) for run in runs}
    missing = {c for c in leaf_commands() if not any(x.startswith(c) for x in covered)}
    assert not missing, f"add a run of {sorted(missing)} to invocations() in this test"
    old_umask = os.umask(0o000)
    try:
        for args in runs:
            result = runner.invoke(app, args, env={"MEDTRACK_NOW": NOW})
            assert not no_network, (args, no_network)
            assert result.exception is None or isinstance(result.exception, SystemExit), (
                args,
                repr(result.exception),
            )
            assert result.exit_code == 0, (args, result.output, result.stderr)
    finally:
        os.umask(old_umask)

    assert mode(data) == 0o700
    db = data / "default.db"
    assert mode(db) == 0o600
    for side in (Path(f"{db}-wal"), Path(f"{db}-shm")):
        if side.exists():
            assert mode(side) == 0o600, side
    assert mode(data / "backups") == 0o700
    backups = list((data / "backups").iterdir())
    assert backups and {mode(p) for p in backups} == {0o600}
    kept = [p for p in data.iterdir() if "before-restore" in p.name]
    assert kept and {mode(p) for p in kept} == {0o600}
    for name in ("report.md", "report.html", "report.pdf", "all.json", "bundle.json",
                 "meds.ics", "safe.db", "demo.db"):  # fmt: skip
        assert mode(out / name) == 0o600, name
    assert mode(out / "csv") == 0o700
    assert {mode(p) for p in (out / "csv").iterdir()} == {0o600}


def test_an_empty_file_made_for_the_database_becomes_private(tmp_path):
    path = Path(os.environ["MEDTRACK_DB"])
    path.write_bytes(b"")
    path.chmod(0o644)
    result = runner.invoke(app, ["med", "list"], env={"MEDTRACK_NOW": NOW})
    assert result.exit_code == 0, result.output
    assert mode(path) == 0o600
