"""medtrack runs on the SQLite a Python 3.11 is often linked against, not only the newest.

Ubuntu 22.04's Python 3.11 has SQLite 3.37, without `unixepoch` (3.38); older ones lack
`iif` (3.32). An index or query naming such a function makes every write to its table
fail there. These tests run the commands on connections where those functions raise, as
on such an SQLite, and expect the same output as on this one.
"""

from __future__ import annotations

import sqlite3

import pytest
from typer.testing import CliRunner

from medtrack.cli import app

# Functions newer than SQLite 3.31 (the oldest this project expects to meet), with the
# version that added each.
NEWER_FUNCTIONS = {"unixepoch": (-1, "3.38"), "iif": (3, "3.32")}

runner = CliRunner()


class OlderSQLite(sqlite3.Connection):
    """A connection on which the newer functions do not exist (calling one raises)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for name, (arity, version) in NEWER_FUNCTIONS.items():
            self.create_function(name, arity, _missing(name, version), deterministic=True)


def _missing(name: str, version: str):
    def call(*_args):
        raise sqlite3.OperationalError(f"no such function: {name} (SQLite {version})")

    return call


SESSION = [
    [
        "med",
        "add",
        "sertraline",
        "--dose",
        "50mg",
        "--schedule",
        "daily 08:00",
        "--start",
        "2026-11-01",
    ],
    [
        "med",
        "add",
        "lorazepam",
        "--dose",
        "0.5mg",
        "--schedule",
        "as needed",
        "--start",
        "2026-11-01",
    ],
    ["take", "sertraline", "--at", "2026-11-20T08:10:00+01:00", "--yes"],
    ["skip", "sertraline", "--at", "2026-11-21T08:00:00+01:00", "--reason", "forgot"],
    ["take", "lorazepam", "--at", "2026-11-21T13:00:00+01:00", "--yes"],
    ["symptom", "mood", "6"],
    ["summary", "--days", "10", "--json"],
    ["summary", "--days", "10"],
    ["today", "--json"],
    ["remind"],
    ["report", "--format", "md"],
]


def run_session() -> list[str]:
    """Each command's output, the database's path (remind names it) left out."""
    import os

    path = os.environ["MEDTRACK_DB"]
    outputs = []
    for args in SESSION:
        result = runner.invoke(app, args, env={"MEDTRACK_NOW": "2026-11-23T09:00:00Z"})
        assert result.exit_code == 0, (args, result.output, result.stderr)
        outputs.append(result.output.replace(path, "DB"))
    return outputs


def test_every_command_works_without_the_newer_functions(monkeypatch, tmp_path):
    expected = run_session()
    connect = sqlite3.connect

    def older(*args, **kwargs):
        kwargs.setdefault("factory", OlderSQLite)
        return connect(*args, **kwargs)

    monkeypatch.setattr(sqlite3, "connect", older)
    monkeypatch.setenv("MEDTRACK_DB", str(tmp_path / "older.db"))
    # A new file: its migrations run on the older functions too.
    assert run_session() == expected


def test_the_older_connection_really_lacks_them():
    conn = sqlite3.connect(":memory:", factory=OlderSQLite)
    for sql in ("SELECT unixepoch('2026-11-23T09:00:00Z')", "SELECT iif(1, 2, 3)"):
        # SQLite reports the function's own error in general words.
        with pytest.raises(sqlite3.OperationalError, match="user-defined function raised"):
            conn.execute(sql)
    conn.close()
