"""Issue 17, item 4: files medtrack writes never go through a link or over a device, keep
the permissions of a file that was already there, and new folders are 0700 whatever the
umask, parents included; `demo` writes only into a folder that is yours alone.

Every case is run through the CLI as a person would, and checks that what was at the path
(a link, the file it points to, a pipe) is exactly as it was.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from helpers import dump
from typer.testing import CliRunner

import medtrack.files
from medtrack.cli import app

runner = CliRunner()
NOW = "2026-11-23T14:30:00+01:00"


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


@contextmanager
def umask(value: int) -> Iterator[None]:
    old = os.umask(value)
    try:
        yield
    finally:
        os.umask(old)


@pytest.fixture
def record(monkeypatch):
    monkeypatch.setenv("MEDTRACK_NOW", NOW)
    result = runner.invoke(
        app, ["med", "add", "sertraline", "--dose", "50mg", "--schedule", "daily 08:00"]
    )
    assert result.exit_code == 0, result.stderr
    runner.invoke(app, ["take", "sertraline", "--at", "08:05"])


@pytest.fixture
def victim(tmp_path) -> Path:
    """A file of the person's that a link at the output path points to."""
    path = tmp_path / "bashrc"
    path.write_text("keep me\n")
    path.chmod(0o644)
    return path


WRITERS = [
    ["report", "--format", "md", "-o"],
    ["report", "--format", "html", "-o"],
    ["report", "--format", "pdf", "-o"],
    ["export", "--format", "json", "-o"],
    ["export", "--format", "fhir", "-o"],
    ["export", "--format", "ics", "-o"],
]


@pytest.mark.parametrize("command", WRITERS, ids=lambda c: f"{c[0]} {c[2]}")
def test_a_link_at_the_target_is_refused_and_its_file_untouched(record, tmp_path, victim, command):
    link = tmp_path / "out"
    link.symlink_to(victim)
    result = runner.invoke(app, [*command, str(link)])
    assert result.exit_code == 1
    assert "symbolic link" in result.stderr and result.stderr.count("\n") == 1
    assert link.is_symlink() and os.readlink(link) == str(victim)
    assert victim.read_text() == "keep me\n" and mode(victim) == 0o644
    dangling = tmp_path / "dangling"
    dangling.symlink_to(tmp_path / "nowhere")
    result = runner.invoke(app, [*command, str(dangling)])
    assert result.exit_code == 1 and "symbolic link" in result.stderr
    assert not (tmp_path / "nowhere").exists() and dangling.is_symlink()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


@pytest.mark.parametrize("command", WRITERS[:1] + WRITERS[3:4], ids=["report", "export"])
def test_devices_pipes_and_folders_are_refused_and_dash_is_stdout(record, tmp_path, command):
    # As root, `export -o /dev/stdout` replaced the device link with a regular file
    # holding the export. /dev/stdout is a link; the same link is made here, and a pipe
    # (which would block an open for writing) stands in for any device.
    stdout_link = tmp_path / "stdout"
    stdout_link.symlink_to("/proc/self/fd/1")
    result = runner.invoke(app, [*command, str(stdout_link)])
    assert result.exit_code == 1 and "symbolic link" in result.stderr
    assert "-o -" in result.stderr
    assert stdout_link.is_symlink()
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    result = runner.invoke(app, [*command, str(fifo)])
    assert result.exit_code == 1 and "not a regular file" in result.stderr
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    for folder in (str(tmp_path), ""):
        result = runner.invoke(app, [*command, folder])
        assert result.exit_code == 1 and "is a folder" in result.stderr
    missing = runner.invoke(app, [*command, str(tmp_path / "no" / "such.md")])
    assert missing.exit_code == 1 and "does not exist" in missing.stderr
    assert not (tmp_path / "no").exists()
    dash = runner.invoke(app, [*command, "-"])
    assert dash.exit_code == 0 and "sertraline" in dash.stdout
    assert not (tmp_path / "-").exists()


def test_new_files_are_private_whatever_the_umask_and_old_ones_keep_their_mode(record, tmp_path):
    with umask(0):
        for name, command in (("r.md", WRITERS[0]), ("all.json", WRITERS[3])):
            result = runner.invoke(app, [*command, str(tmp_path / name)])
            assert result.exit_code == 0, result.stderr
            assert mode(tmp_path / name) == 0o600
        shared = tmp_path / "shared.html"
        shared.write_text("old")
        shared.chmod(0o640)
        result = runner.invoke(app, ["report", "--format", "html", "-o", str(shared)])
        assert result.exit_code == 0, result.stderr
    # Replaced whole (a new file renamed over it), its permissions kept: not medtrack's.
    assert mode(shared) == 0o640 and "sertraline" in shared.read_text()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary left


def test_a_file_you_cannot_write_is_refused(record, tmp_path, monkeypatch):
    # (root may write anything, so the refusal is driven by os.access, as it reports it.)
    kept = tmp_path / "kept.md"
    kept.write_text("read only")
    kept.chmod(0o444)
    real_access = os.access
    monkeypatch.setattr(
        medtrack.files.os,
        "access",
        lambda p, m: False if Path(p) == kept else real_access(p, m),
    )
    result = runner.invoke(app, ["report", "--format", "md", "-o", str(kept)])
    assert result.exit_code == 1 and "permission denied" in result.stderr
    assert kept.read_text() == "read only" and mode(kept) == 0o444


def test_csv_export_refuses_a_linked_folder_and_linked_files(record, tmp_path, victim):
    linked_folder = tmp_path / "csvlink"
    (tmp_path / "real").mkdir(mode=0o700)
    linked_folder.symlink_to(tmp_path / "real")
    result = runner.invoke(app, ["export", "--format", "csv", "-o", str(linked_folder)])
    assert result.exit_code == 1 and "symbolic link" in result.stderr
    assert list((tmp_path / "real").iterdir()) == []
    folder = tmp_path / "csv"
    folder.mkdir(mode=0o700)
    (folder / "doses.csv").symlink_to(victim)
    result = runner.invoke(app, ["export", "--format", "csv", "-o", str(folder)])
    assert result.exit_code == 1 and "symbolic link" in result.stderr
    assert victim.read_text() == "keep me\n" and mode(victim) == 0o644
    open_folder = tmp_path / "open"
    open_folder.mkdir()
    open_folder.chmod(0o777)
    result = runner.invoke(app, ["export", "--format", "csv", "-o", str(open_folder)])
    assert result.exit_code == 1 and "others can write" in result.stderr
    assert list(open_folder.iterdir()) == []
    with umask(0):
        result = runner.invoke(app, ["export", "--format", "csv", "-o", str(tmp_path / "new")])
    assert result.exit_code == 0, result.stderr
    assert mode(tmp_path / "new") == 0o700
    assert {mode(p) for p in (tmp_path / "new").iterdir()} == {0o600}


def test_backup_refuses_a_link_even_a_dangling_one(record, tmp_path, victim):
    for target in (tmp_path / "to-victim", tmp_path / "dangling"):
        target.symlink_to(victim if target.name == "to-victim" else tmp_path / "nowhere")
        result = runner.invoke(app, ["backup", str(target)])
        assert result.exit_code == 1 and "already exists" in result.stderr
        assert target.is_symlink()
    assert victim.read_text() == "keep me\n" and not (tmp_path / "nowhere").exists()


# --- folders ------------------------------------------------------------------------------


def test_data_folder_and_its_parents_are_made_0700_whatever_the_umask(tmp_path, monkeypatch):
    base = tmp_path / "xdg" / "deep" / "share"
    monkeypatch.setenv("XDG_DATA_HOME", str(base))
    monkeypatch.delenv("MEDTRACK_DB")
    monkeypatch.setenv("MEDTRACK_NOW", NOW)
    tmp_path.chmod(0o755)
    with umask(0):
        result = runner.invoke(
            app, ["med", "add", "sertraline", "--dose", "50mg", "--schedule", "daily 08:00"]
        )
    assert result.exit_code == 0, result.stderr
    for folder in (tmp_path / "xdg", tmp_path / "xdg" / "deep", base, base / "medtrack"):
        assert mode(folder) == 0o700, folder
    assert mode(base / "medtrack" / "default.db") == 0o600
    assert mode(tmp_path) == 0o755  # a folder that was there is not medtrack's to change


def test_systemd_folders_are_0700_and_units_never_written_through_a_link(
    tmp_path, monkeypatch, victim
):
    config = tmp_path / "config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    with umask(0):
        result = runner.invoke(app, ["cron", "install", "--systemd"])
    assert result.exit_code == 0, result.stderr
    user = config / "systemd" / "user"
    for folder in (config, config / "systemd", user):
        assert mode(folder) == 0o700, folder
    units = sorted(user.iterdir())
    assert [p.suffix for p in units] == [".service", ".timer"]
    assert {mode(p) for p in units} == {0o600}
    units[0].unlink()
    units[0].symlink_to(victim)
    result = runner.invoke(app, ["cron", "install", "--systemd"])
    assert result.exit_code == 1 and "symbolic link" in result.stderr
    assert victim.read_text() == "keep me\n"


def test_make_private_folders_leaves_existing_folders_alone(tmp_path):
    existing = tmp_path / "mine"
    existing.mkdir()
    existing.chmod(0o755)
    with umask(0o022):
        medtrack.files.make_private_folders(existing / "a" / "b")
    assert mode(existing) == 0o755
    assert mode(existing / "a") == 0o700 and mode(existing / "a" / "b") == 0o700


# --- demo ---------------------------------------------------------------------------------


@pytest.fixture
def demo_env(monkeypatch, tmp_path):
    monkeypatch.setenv("MEDTRACK_NOW", NOW)
    monkeypatch.chdir(tmp_path)
    return tmp_path / "home" / ".local" / "share" / "medtrack" / "demo.db"


def run_demo():
    return runner.invoke(app, ["demo", "--days", "14"])


def test_demo_refuses_a_linked_output_folder(demo_env, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    (tmp_path / "medtrack-demo").symlink_to(elsewhere)
    result = run_demo()
    assert result.exit_code == 1 and "symbolic link" in result.stderr
    assert list(elsewhere.iterdir()) == [] and not demo_env.exists()


def test_demo_refuses_a_folder_others_can_write(demo_env, tmp_path):
    folder = tmp_path / "medtrack-demo"
    folder.mkdir()
    folder.chmod(0o777)
    result = run_demo()
    assert result.exit_code == 1 and "others can write" in result.stderr
    assert list(folder.iterdir()) == [] and not demo_env.exists()


def test_demo_refuses_a_folder_of_another_user(demo_env, tmp_path, monkeypatch):
    folder = tmp_path / "medtrack-demo"
    folder.mkdir(mode=0o700)
    # The folder seen by a different user: the tests cannot own a folder as someone else.
    monkeypatch.setattr(medtrack.files.os, "geteuid", lambda: folder.stat().st_uid + 1)
    result = run_demo()
    assert result.exit_code == 1 and "belongs to another user" in result.stderr
    assert list(folder.iterdir()) == [] and not demo_env.exists()


def test_demo_refuses_a_link_at_a_report_file_before_writing_anything(demo_env, tmp_path, victim):
    folder = tmp_path / "medtrack-demo"
    folder.mkdir(mode=0o700)
    (folder / "visit.html").symlink_to(victim)
    result = run_demo()
    assert result.exit_code == 1 and "symbolic link" in result.stderr
    assert victim.read_text() == "keep me\n" and not demo_env.exists()
    assert dump(demo_env) == ""


def test_demo_makes_its_folder_0700_whatever_the_umask(demo_env, tmp_path):
    with umask(0):
        result = run_demo()
    assert result.exit_code == 0, result.stderr
    folder = tmp_path / "medtrack-demo"
    assert mode(folder) == 0o700
    assert {p.name: mode(p) for p in folder.iterdir()} == {
        "visit.md": 0o600,
        "visit.html": 0o600,
        "visit.pdf": 0o600,
    }
    again = run_demo()  # its own folder, its own files: replaced
    assert again.exit_code == 0, again.stderr
