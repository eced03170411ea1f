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


@pytest.fixture
def desktop_session(tmp_path, monkeypatch, fake_crontab) -> Path:
    """A notify-send on PATH and a session bus socket in $XDG_RUNTIME_DIR."""
    import socket

    program = fake_crontab.parent / "bin" / "notify-send"
    program.write_text("#!/bin/sh\nexit 0\n")
    program.chmod(program.stat().st_mode | stat.S_IXUSR)
    runtime = tmp_path / "run"
    runtime.mkdir()
    bus = socket.socket(socket.AF_UNIX)
    bus.bind(str(runtime / "bus"))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    yield runtime / "bus"
    bus.close()


@pytest.fixture
def no_session(tmp_path, monkeypatch):
    """No session bus anywhere: not in the environment, not in any runtime folder."""
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    monkeypatch.setattr("medtrack.notify.USER_RUNTIME_DIR", str(tmp_path / "no-run" / "{uid}"))


def test_install_show_remove_through_crontab(fake_crontab, desktop_session):
    fake_crontab.write_text("MAILTO=me@example.org\n0 3 * * * /usr/bin/backup\n")
    result = run("cron", "install", "--every", "10m", "--notify", "desktop")
    assert result.exit_code == 0, result.output
    lines = fake_crontab.read_text().splitlines()
    assert lines[:2] == ["MAILTO=me@example.org", "0 3 * * * /usr/bin/backup"]
    ours = lines[2]
    assert ours.startswith(f"*/10 * * * * DBUS_SESSION_BUS_ADDRESS=unix:path={desktop_session} ")
    # The absolute path of medtrack and the database in use (MEDTRACK_DB in the tests).
    assert os.path.isabs(ours.split()[6].strip("'"))
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
    data = Path(os.environ["XDG_DATA_HOME"]) / "medtrack"
    result = run("--profile", "mum", "cron", "install")
    assert result.exit_code == 0, result.output
    # Without --notify, the person is told that printing needs cron's mail; and that
    # the database does not exist yet.
    assert "reach you only if cron mails you" in result.stderr
    assert f"no database at {data / 'mum.db'} yet" in result.stderr
    text = fake_crontab.read_text()
    assert text.count("\n") == 1
    assert text.startswith("*/5 * * * * ")
    # cron passes no XDG_DATA_HOME: the line names the file by its absolute path.
    assert f" --db {data / 'mum.db'} --profile mum remind # medtrack-remind [profile=mum]\n" in text
    # The default profile's line is separate and names its own file.
    assert run("cron", "install").exit_code == 0
    default_line = fake_crontab.read_text().splitlines()[1]
    assert "--profile" not in default_line
    assert default_line.endswith(f" --db {data / 'default.db'} remind # medtrack-remind [default]")
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
    assert "Environment" not in result.stdout
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


# --- issue 18: what cron needs; issue 17: nothing can break out ------------------------


def test_desktop_without_a_session_bus_is_refused(fake_crontab, no_session):
    program = fake_crontab.parent / "bin" / "notify-send"
    program.write_text("#!/bin/sh\nexit 0\n")
    program.chmod(program.stat().st_mode | stat.S_IXUSR)
    fake_crontab.write_text("0 3 * * * backup\n")
    result = run("cron", "install", "--notify", "desktop")
    assert result.exit_code == 1
    assert "DBUS_SESSION_BUS_ADDRESS is not set" in result.stderr
    assert "nothing was installed" in result.stderr
    assert fake_crontab.read_text() == "0 3 * * * backup\n"


def test_desktop_with_only_an_address_in_the_environment(fake_crontab, no_session, monkeypatch):
    program = fake_crontab.parent / "bin" / "notify-send"
    program.write_text("#!/bin/sh\nexit 0\n")
    program.chmod(program.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", "unix:abstract=/tmp/dbus-x;guid=1")
    assert run("cron", "install", "--notify", "desktop").exit_code == 0
    line = fake_crontab.read_text()
    assert line.startswith(
        "*/5 * * * * DBUS_SESSION_BUS_ADDRESS='unix:abstract=/tmp/dbus-x;guid=1' "
    )


def test_systemd_desktop_unit_reads_the_bus_of_the_runtime_folder(desktop_session, isolated_home):
    assert run("cron", "install", "--systemd", "--notify", "desktop").exit_code == 0
    folder = isolated_home / ".config" / "systemd" / "user"
    (service,) = folder.glob("*.service")
    assert 'Environment="DBUS_SESSION_BUS_ADDRESS=unix:path=%t/bus"\n' in service.read_text()


@pytest.mark.parametrize(
    ("notify", "code", "says"),
    [
        ("pager", 2, "is not a target"),
        ("exec:/nonexistent/notifier", 1, "is not an executable program"),
        ("apprise:nosuchscheme://x", 1, "Apprise does not recognise the URL"),
        ("exec:/bin/true\n* * * * * touch /tmp/pwned", 2, "newline or control character"),
        # Refused with every other argument holding a control character, before any
        # command runs (core.validate.argument).
        ("desktop\r", 1, "contains the control character"),
    ],
)
def test_bad_notification_target_refused_at_install(fake_crontab, notify, code, says):
    fake_crontab.write_text("0 3 * * * backup\n")
    for systemd in ([], ["--systemd"]):
        result = run("cron", "install", *systemd, "--notify", notify)
        assert result.exit_code == code, result.output
        assert says in result.stderr and result.stderr.count("\n") == 1
        assert "\n* * * * *" not in result.stderr  # the value is shown escaped
    assert fake_crontab.read_text() == "0 3 * * * backup\n"
    assert not (Path(os.environ["HOME"]) / ".config" / "systemd").exists()


def test_exec_program_is_written_by_its_absolute_path(fake_crontab):
    program = fake_crontab.parent / "bin" / "my-notifier"
    program.write_text("#!/bin/sh\nexit 0\n")
    program.chmod(program.stat().st_mode | stat.S_IXUSR)
    assert run("cron", "install", "--notify", "exec:my-notifier").exit_code == 0
    assert f" remind --notify exec:{program} # medtrack-remind" in fake_crontab.read_text()


INJECTIONS = [
    "/tmp/x.db\n* * * * * touch /tmp/pwned",
    "/tmp/x.db\r* * * * * touch /tmp/pwned",
    "/tmp/x.db\nExecStartPre=/bin/sh -c 'touch /tmp/pwned'",
    "/tmp/x\x1b]8;;http://evil\x07.db",
    "/tmp/x\u2028.db",
]


@pytest.mark.parametrize("path", INJECTIONS)
def test_database_path_with_a_newline_cannot_inject(fake_crontab, isolated_home, path):
    fake_crontab.write_text("0 3 * * * backup\n")
    for systemd in ([], ["--systemd"]):
        result = run("--db", path, "cron", "install", *systemd)
        assert result.exit_code == 1, result.output
        assert "control character" in result.stderr
        assert result.stderr.count("\n") == 1
    assert fake_crontab.read_text() == "0 3 * * * backup\n"
    assert not (isolated_home / ".config" / "systemd").exists()


def test_odd_but_printable_path_round_trips_through_sh_and_systemd(fake_crontab, tmp_path):
    folder = tmp_path / 'it\'s 100% "mine" $HOME `id` ;'
    folder.mkdir()
    path = folder / "med.db"
    assert run("--db", str(path), "cron", "install").exit_code == 0
    (line,) = fake_crontab.read_text().splitlines()
    assert split_cron_command(line)[-3:] == ["--db", str(path), "remind"]
    assert run("--db", str(path), "cron", "install", "--systemd").exit_code == 0
    (service,) = (Path(os.environ["HOME"]) / ".config/systemd/user").glob("*.service")
    exec_start = next(x for x in service.read_text().splitlines() if x.startswith("ExecStart="))
    assert split_systemd(exec_start.removeprefix("ExecStart="))[-3:] == [
        "--db",
        str(path),
        "remind",
    ]


def split_cron_command(line: str) -> list[str]:
    """The words /bin/sh runs for a crontab line: the five fields dropped, cron's `\\%`
    turned back into `%`, the shell's quoting undone, the trailing comment dropped."""
    import shlex

    command = line.split(" ", 5)[5].replace("\\%", "%")
    return shlex.split(command, comments=True)


def split_systemd(text: str) -> list[str]:
    """ExecStart words as systemd reads them, for the forms `systemd_word` writes: bare
    words and double-quoted ones with \\\\ and \\" escapes; %% and $$ undoubled."""
    words, i = [], 0
    while i < len(text):
        if text[i] == " ":
            i += 1
            continue
        if text[i] == '"':
            i += 1
            word = ""
            while text[i] != '"':
                if text[i] == "\\":
                    i += 1
                word += text[i]
                i += 1
            i += 1
        else:
            end = text.find(" ", i)
            end = len(text) if end < 0 else end
            word, i = text[i:end], end
        words.append(word.replace("%%", "%").replace("$$", "$"))
    return words


printable_words = st.text(
    st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), min_size=1, max_size=30
)


@given(st.lists(printable_words, min_size=1, max_size=5))
def test_any_printable_words_stay_one_line_and_read_back(words):
    argv = ["/opt/bin/medtrack", *words]
    line = crontab.cron_line(5, argv, KEY, {"DBUS_SESSION_BUS_ADDRESS": "unix:path=/run/1/bus"})
    assert "\n" not in line and "\r" not in line
    assert crontab.find(line + "\n", KEY) == [line]
    assert split_cron_command(line)[1:] == argv
    service = crontab.systemd_service(argv).splitlines()
    assert [x.split("=", 1)[0] for x in service] == [
        "[Unit]",
        "Description",
        "",
        "[Service]",
        "Type",
        "ExecStart",
    ]
    assert split_systemd(service[-1].removeprefix("ExecStart=")) == argv


@given(
    st.lists(printable_words, max_size=3),
    st.sampled_from(["\n", "\r", "\x00", "\x1b", "\x85", "\u2028", "\udcff", "\t"]),
    printable_words,
)
def test_a_control_character_anywhere_is_refused(before, control, word):
    argv = ["/opt/bin/medtrack", *before, word + control]
    with pytest.raises(BadValue, match="control character"):
        crontab.cron_line(5, argv, KEY)
    with pytest.raises(BadValue, match="control character"):
        crontab.systemd_service(argv)
