"""`medtrack cron`: the pure crontab transformation, and the commands through a fake crontab."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from medtrack.cli import app
from medtrack.core import crontab
from medtrack.errors import BadValue

runner = CliRunner()
KEY = "default"
LINE = crontab.cron_line(5, ["/opt/bin/medtrack", "remind"], KEY)

CRONTABS = [
    "",
    "\n",
    "# just a comment\n",
    "MAILTO=me@example.org\nPATH=/usr/bin:/bin\n",
    "0 3 * * * /usr/bin/backup --all\n*/10 * * * * /usr/bin/mail-check\n",
    "0 3 * * * /usr/bin/backup  # no trailing newline",
    "# m h dom mon dow command\n\n\n@reboot /usr/bin/start-thing\n",
    # Lines that look like ours but are not: other medtrack commands, another marker text.
    "*/5 * * * * /usr/bin/medtrack remind\n0 9 * * * medtrack summary | mail me\n",
    "*/5 * * * * medtrack remind # medtrack reminder (mine)\n",
    # Our line for another profile must survive an install or remove for the default one.
    "*/5 * * * * /opt/bin/medtrack --profile mum remind # medtrack-remind [profile=mum]\n",
    # The person commented our old line out: theirs now, kept as it is.
    "# */5 * * * * /opt/bin/medtrack remind # medtrack-remind [default]\n",
    "0 1 * * * echo 100% done\n",
]


def test_line_shape():
    assert LINE == "*/5 * * * * /opt/bin/medtrack remind # medtrack-remind [default]"
    line = crontab.cron_line(
        60, ["/home/a b/bin/medtrack", "--db", "/d/50%.db", "remind"], "profile=mum"
    )
    assert line == (
        "0 * * * * '/home/a b/bin/medtrack' --db /d/50\\%.db remind # medtrack-remind [profile=mum]"
    )
    assert crontab.schedule_field(1) == "* * * * *"
    assert crontab.schedule_field(15) == "*/15 * * * *"


@pytest.mark.parametrize("minutes", [0, 7, 45, 61, 90])
def test_every_must_divide_an_hour(minutes):
    with pytest.raises(BadValue):
        crontab.schedule_field(minutes)


def test_target_keys():
    assert crontab.target_key(None, None) == "default"
    assert crontab.target_key("default", None) == "default"
    assert crontab.target_key("mum", None) == "profile=mum"
    key = crontab.target_key(None, "/home/x/my data/med.db")
    assert key.startswith("db=") and len(key) == 15
    assert crontab.marker(key)  # the key is accepted as a marker


@pytest.mark.parametrize("text", CRONTABS)
def test_install_appends_once_and_keeps_every_other_line(text):
    once = crontab.install(text, LINE, KEY)
    assert once.endswith(LINE + "\n")
    assert crontab.install(once, LINE, KEY) == once
    assert crontab.find(once, KEY) == [LINE]
    # Every line that was there is still there, in order, unchanged.
    assert once.splitlines()[:-1] == text.splitlines()


@pytest.mark.parametrize("text", CRONTABS)
def test_remove_of_install_gives_back_the_crontab(text):
    expected = text if text == "" or text.endswith("\n") else text + "\n"
    assert crontab.remove(crontab.install(text, LINE, KEY), KEY) == expected


def test_install_replaces_our_line_in_place_and_drops_duplicates():
    old = crontab.cron_line(10, ["/old/medtrack", "remind"], KEY)
    text = f"MAILTO=x\n{old}\n0 3 * * * backup\n{old}\n"
    result = crontab.install(text, LINE, KEY)
    assert result == f"MAILTO=x\n{LINE}\n0 3 * * * backup\n"


def test_find_and_remove_only_touch_the_given_key():
    mum = crontab.cron_line(5, ["/opt/bin/medtrack", "--profile", "mum", "remind"], "profile=mum")
    text = crontab.install(crontab.install("MAILTO=x\n", LINE, KEY), mum, "profile=mum")
    assert crontab.find(text) == [LINE, mum]
    assert crontab.find(text, "profile=mum") == [mum]
    assert crontab.remove(text, KEY) == f"MAILTO=x\n{mum}\n"
    assert crontab.remove(text, "profile=other") == text


# Crontab-like text: lines of printable text (no marker), any mix of blank lines and
# comments, with or without a final newline.
line_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc")) | st.sampled_from(" #*%/\t"),
    max_size=60,
).filter(lambda s: crontab.MARKER not in s)
crontab_text = st.builds(
    lambda lines, final: "\n".join(lines) + ("\n" if final and lines else ""),
    st.lists(line_text, max_size=8),
    st.booleans(),
)


@given(crontab_text)
def test_install_is_idempotent(text):
    once = crontab.install(text, LINE, KEY)
    assert crontab.install(once, LINE, KEY) == once


@given(crontab_text)
def test_remove_install_round_trip(text):
    normalised = text if text == "" or text.endswith("\n") else text + "\n"
    assert crontab.remove(crontab.install(text, LINE, KEY), KEY) == normalised


@given(crontab_text, st.sampled_from(["default", "profile=mum", "db=0123456789ab"]))
def test_other_lines_always_kept(text, key):
    line = crontab.cron_line(5, ["/x/medtrack", "remind"], key)
    installed = crontab.install(text, line, key)
    assert [x for x in installed.splitlines() if x != line] == text.splitlines()
    assert crontab.remove(installed, key).splitlines() == text.splitlines()


# --- the commands, with a fake crontab program ---------------------------------------

FAKE_CRONTAB = """#!/bin/sh
# A stand-in for crontab(1): -l prints the table, - replaces it from stdin.
case "$1" in
  -l) if [ -f "$FAKE_CRONTAB_FILE" ]; then cat "$FAKE_CRONTAB_FILE";
      else echo "no crontab for tester" >&2; exit 1; fi ;;
  -) cat > "$FAKE_CRONTAB_FILE" ;;
  *) echo "usage" >&2; exit 2 ;;
esac
"""


@pytest.fixture
def fake_crontab(tmp_path, monkeypatch) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    program = bin_dir / "crontab"
    program.write_text(FAKE_CRONTAB)
    program.chmod(program.stat().st_mode | stat.S_IXUSR)
    table = tmp_path / "crontab.txt"
    monkeypatch.setenv("FAKE_CRONTAB_FILE", str(table))
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return table


def run(*args: str):
    return runner.invoke(app, list(args))


def test_install_show_remove_through_crontab(fake_crontab):
    fake_crontab.write_text("MAILTO=me@example.org\n0 3 * * * /usr/bin/backup\n")
    result = run("cron", "install", "--every", "10m", "--notify", "desktop")
    assert result.exit_code == 0, result.output
    lines = fake_crontab.read_text().splitlines()
    assert lines[:2] == ["MAILTO=me@example.org", "0 3 * * * /usr/bin/backup"]
    ours = lines[2]
    assert ours.startswith("*/10 * * * * ")
    # The absolute path of medtrack and the database in use (MEDTRACK_DB in the tests).
    assert os.path.isabs(ours.split()[5].strip("'"))
    assert f"--db {os.environ['MEDTRACK_DB']} remind --notify desktop" in ours
    assert ours.endswith("]") and crontab.MARKER in ours

    again = run("cron", "install", "--every", "10m", "--notify", "desktop")
    assert again.exit_code == 0 and "Already installed" in again.stdout
    assert fake_crontab.read_text().splitlines() == lines

    shown = run("cron", "show")
    assert shown.exit_code == 0 and shown.stdout.strip() == ours

    removed = run("cron", "remove")
    assert removed.exit_code == 0
    assert fake_crontab.read_text() == "MAILTO=me@example.org\n0 3 * * * /usr/bin/backup\n"
    assert "nothing removed" in run("cron", "remove").stdout


def test_install_into_no_crontab_and_profile_in_line(fake_crontab, monkeypatch):
    monkeypatch.delenv("MEDTRACK_DB")
    result = run("--profile", "mum", "cron", "install")
    assert result.exit_code == 0, result.output
    text = fake_crontab.read_text()
    assert text.count("\n") == 1
    assert text.startswith("*/5 * * * * ")
    assert " --profile mum remind # medtrack-remind [profile=mum]\n" in text
    # The default profile's line is separate and needs no option.
    assert run("cron", "install").exit_code == 0
    default_line = fake_crontab.read_text().splitlines()[1]
    assert "--profile" not in default_line and "--db" not in default_line
    assert run("--profile", "mum", "cron", "remove").exit_code == 0
    assert fake_crontab.read_text().splitlines() == [default_line]


def test_bad_every_and_bad_notify_change_nothing(fake_crontab):
    fake_crontab.write_text("0 3 * * * backup\n")
    for args, code in [
        (["--every", "7m"], 1),
        (["--every", "soon"], 1),
        (["--notify", "pager"], 2),
    ]:
        result = run("cron", "install", *args)
        assert result.exit_code == code, result.output
        assert result.stderr.startswith("medtrack: ")
    assert fake_crontab.read_text() == "0 3 * * * backup\n"


def test_missing_crontab_is_a_clear_error(tmp_path, monkeypatch):
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    for args in (["cron", "install"], ["cron", "show"], ["cron", "remove"]):
        result = run(*args)
        assert result.exit_code == 1
        assert "'crontab' was not found" in result.stderr
        assert "--systemd" in result.stderr


def test_systemd_timer_written_not_enabled(fake_crontab, isolated_home):
    result = run("cron", "install", "--systemd", "--every", "15m")
    assert result.exit_code == 0, result.output
    folder = isolated_home / ".config" / "systemd" / "user"
    names = sorted(p.name for p in folder.iterdir())
    base = names[0].rsplit(".", 1)[0]
    assert names == [f"{base}.service", f"{base}.timer"]
    service = (folder / f"{base}.service").read_text()
    timer = (folder / f"{base}.timer").read_text()
    assert "Type=oneshot" in service
    assert f"--db {os.environ['MEDTRACK_DB']} remind" in service
    assert "OnCalendar=*:0/15" in timer and "WantedBy=timers.target" in timer
    assert oct((folder / f"{base}.service").stat().st_mode & 0o777) == "0o600"
    assert f"systemctl --user enable --now {base}.timer" in result.stdout
    assert not fake_crontab.exists()  # crontab untouched
    assert f"{base}.timer" in run("cron", "show").stdout
    removed = run("cron", "remove", "--systemd")
    assert removed.exit_code == 0 and "disable --now" in removed.stdout
    assert list(folder.iterdir()) == []
