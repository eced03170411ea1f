"""Issue 18: the line `cron install` writes reminds from cron's own environment.

cron runs a job with HOME, LOGNAME, SHELL and PATH=/usr/bin:/bin and nothing else: no
XDG_DATA_HOME, MEDTRACK_DB or MEDTRACK_PROFILE. These tests run the installed line that
way (`env -i`), and, where Debian's cron is installed, under the real daemon once.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

MEDTRACK = Path(sys.executable).parent / "medtrack"
ADDED_AT = "2026-11-01T07:00:00+01:00"
AT_0805 = "2026-11-23T08:05:00+01:00"

FAKE_CRONTAB = """#!/bin/sh
case "$1" in
  -l) if [ -f "$FAKE_CRONTAB_FILE" ]; then cat "$FAKE_CRONTAB_FILE";
      else echo "no crontab for tester" >&2; exit 1; fi ;;
  -) cat > "$FAKE_CRONTAB_FILE" ;;
  *) exit 2 ;;
esac
"""


def executable(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def medtrack(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(MEDTRACK), *args], env=env, capture_output=True, text=True, timeout=60
    )


def cron_command(line: str) -> str:
    """What cron hands /bin/sh for a crontab line: the five time fields dropped and its
    `\\%` turned back into `%` (the marker stays: a shell comment)."""
    return line.split(" ", 5)[5].replace("\\%", "%")


def as_cron_runs(command: str, home: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """`command` through /bin/sh under cron's environment and nothing else (the clock
    pinned, which cron lines can set too)."""
    env = ["/usr/bin/env", "-i", f"HOME={home}", "PATH=/usr/bin:/bin", *extra]
    return subprocess.run(
        [*env, "/bin/sh", "-c", command], capture_output=True, text=True, timeout=60
    )


@pytest.fixture
def person(tmp_path, isolated_home) -> dict[str, str]:
    """A person's shell: a data folder of their own (XDG_DATA_HOME), a fake crontab, and
    mum's profile with sertraline at 08:00. Returns the environment."""
    assert MEDTRACK.exists(), "the test needs the installed medtrack script"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    executable(bin_dir / "crontab", FAKE_CRONTAB)
    env = {
        "HOME": str(isolated_home),
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "XDG_DATA_HOME": str(tmp_path / "my-data"),
        "FAKE_CRONTAB_FILE": str(tmp_path / "crontab.txt"),
        "TZ": "Europe/Berlin",
        "NO_COLOR": "1",
        "MEDTRACK_NOW": ADDED_AT,
    }
    args = ("--profile", "mum", "med", "add", "sertraline", "--dose", "50mg")
    added = medtrack(*args, "--schedule", "daily 08:00", env=env)
    assert added.returncode == 0, added.stderr
    return env


def test_installed_line_reminds_under_cron_environment(person, tmp_path, isolated_home):
    installed = medtrack("--profile", "mum", "cron", "install", env=person)
    assert installed.returncode == 0, installed.stderr
    (line,) = Path(person["FAKE_CRONTAB_FILE"]).read_text().splitlines()
    mum_db = tmp_path / "my-data" / "medtrack" / "mum.db"
    assert f" --db {mum_db} --profile mum remind " in line

    result = as_cron_runs(cron_command(line), isolated_home, f"MEDTRACK_NOW={AT_0805}")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout == (
        "sertraline 50 mg overdue since 08:00 (5 min ago); when taken: "
        f"medtrack --db {mum_db} take sertraline\n"
    )
    # cron's HOME has no data folder of medtrack's: nothing was created there.
    assert not (isolated_home / ".local" / "share" / "medtrack").exists()

    # The line as it was before issue 18 (no --db) finds nothing under cron, and now
    # says so instead of creating an empty database and reminding of nothing.
    old = f"{MEDTRACK} --profile mum remind"
    before = as_cron_runs(old, isolated_home, f"MEDTRACK_NOW={AT_0805}")
    assert before.returncode == 1 and before.stdout == ""
    missing = isolated_home / ".local" / "share" / "medtrack" / "mum.db"
    assert before.stderr.startswith(f"medtrack: no database at {missing}; remind never creates")
    assert not missing.parent.exists()


def test_installed_line_delivers_through_a_program_under_cron_environment(
    person, tmp_path, isolated_home
):
    got = tmp_path / "got.txt"
    bin_dir = Path(person["PATH"].split(os.pathsep)[0])
    executable(bin_dir / "phone-notifier", f'#!/bin/sh\nprintf "%s" "$1" > {got}\n')
    args = ("--profile", "mum", "cron", "install", "--notify", "exec:phone-notifier")
    assert medtrack(*args, env=person).returncode == 0
    (line,) = Path(person["FAKE_CRONTAB_FILE"]).read_text().splitlines()
    # cron's PATH would not find the program by name: the line holds its path.
    assert f"--notify exec:{bin_dir / 'phone-notifier'} " in line

    result = as_cron_runs(cron_command(line), isolated_home, f"MEDTRACK_NOW={AT_0805}")
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    assert got.read_text().startswith("sertraline 50 mg overdue since 08:00 (5 min ago)")
    conn = sqlite3.connect(tmp_path / "my-data" / "medtrack" / "mum.db")
    rows = conn.execute("SELECT channel, attempt FROM reminders_sent WHERE kind = 'dose'")
    assert rows.fetchall() == [("exec", 1)]
    conn.close()


def _cron_daemon_usable() -> str | None:
    """Why the real-daemon test cannot run here, or None."""
    if shutil.which("cron", path="/usr/sbin:/usr/bin:/sbin:/bin") is None:
        return "Debian's cron is not installed (CI installs it with apt-get when it can)"
    if os.geteuid() != 0:
        return "the cron daemon runs as root"
    return None


@pytest.mark.slow
@pytest.mark.skipif(_cron_daemon_usable() is not None, reason=str(_cron_daemon_usable()))
def test_real_cron_daemon_runs_the_installed_line(tmp_path, isolated_home):
    """Debian's cron, in a mount namespace of its own whose spool, /run, /etc/crontab and
    /etc/cron.d are folders of this test (so no real crontab is read or written), runs
    the line `cron install` wrote; the reminder reaches a program. The database lives
    in a folder whose name needs quoting and holds cron's `%`."""
    spool, run, cron_d = tmp_path / "spool", tmp_path / "run", tmp_path / "cron.d"
    for folder in (spool, run, cron_d):
        folder.mkdir()
    (tmp_path / "crontab").write_text("")
    data = tmp_path / "my 100% data"
    data.mkdir()
    db = data / "med.db"
    got = tmp_path / "got.txt"
    notifier = executable(tmp_path / "notifier", f'#!/bin/sh\nprintf "%s" "$1" > "{got}"\n')
    env = {
        "HOME": str(isolated_home),
        "PATH": "/usr/bin:/bin:/usr/sbin:/sbin",
        "TZ": "Europe/Berlin",
        "MEDTRACK_NOW": ADDED_AT,
    }
    args = ("--db", str(db), "med", "add", "sertraline", "--dose", "50mg")
    assert medtrack(*args, "--schedule", "daily 08:00", env=env).returncode == 0
    real_spool = sorted(os.listdir("/var/spool/cron/crontabs"))

    script = (
        "set -e\n"
        'mount --bind "$T/spool" /var/spool/cron/crontabs\n'
        'mount --bind "$T/run" /run\n'
        'mount --bind "$T/cron.d" /etc/cron.d\n'
        'mount --bind "$T/crontab" /etc/crontab\n'
        # The clock for the job, as a crontab variable; `cron install` keeps the line.
        f'printf "MEDTRACK_NOW={AT_0805}\\n" | crontab -\n'
        '"$MEDTRACK" --db "$DB" cron install --every 1m --notify "exec:$NOTIFIER"\n'
        "crontab -l\n"
        "exec cron -f\n"
    )
    daemon = subprocess.Popen(
        ["unshare", "--mount", "--propagation", "private", "/bin/sh", "-c", script],
        env={**env, "T": str(tmp_path), "MEDTRACK": str(MEDTRACK), "DB": str(db)}
        | {"NOTIFIER": str(notifier)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        # cron starts jobs at the top of each minute: wait for at most two of them.
        for _ in range(260):
            if (got.exists() and got.stat().st_size) or daemon.poll() is not None:
                break
            time.sleep(0.5)
    finally:
        os.killpg(daemon.pid, 15)
        output = daemon.communicate(timeout=30)[0]
    assert got.exists(), output
    assert got.read_text().startswith("sertraline 50 mg overdue since 08:00 (5 min ago)")
    # cron's `%` escaped as `\%` inside the shell quotes: the daemon found the file.
    quoted = str(db).replace("%", "\\%")
    assert f"--db '{quoted}' remind --notify exec:{notifier} # medtrack-remind [db=" in output
    assert output.splitlines()[1] == f"MEDTRACK_NOW={AT_0805}"
    conn = sqlite3.connect(db)
    rows = conn.execute("SELECT channel, attempt FROM reminders_sent WHERE kind = 'dose'")
    assert rows.fetchall() == [("exec", 1)]
    conn.close()
    assert sorted(os.listdir("/var/spool/cron/crontabs")) == real_spool
