"""`medtrack remind`: once per slot, again every interval up to a limit, silenced by a dose
or skip, refill warnings once a day, a note the day before a visit, and a fast start."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from helpers import dump
from typer.testing import CliRunner

from medtrack.cli import app
from medtrack.core.models import Dose, Medication, Regimen
from medtrack.core.reminders import (
    DOSE,
    DueSlot,
    ReminderPolicy,
    SentReminder,
    dose_reminders,
    slots_between,
)
from medtrack.core.schedule import ZoneTimeline, parse_schedule
from medtrack.core.slots import DoseRecord

runner = CliRunner()
BERLIN = ZoneTimeline("Europe/Berlin")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def run(*args: str, at: str, env: dict[str, str] | None = None):
    """`medtrack ARGS` with the clock pinned at `at` (ISO with offset)."""
    return runner.invoke(app, list(args), env={"MEDTRACK_NOW": at, **(env or {})})


def remind(at: str, *args: str):
    result = run("remind", *args, at=at)
    assert result.exit_code == 0, (result.output, result.stderr)
    return result


def lines(result) -> list[str]:
    return [x for x in result.stdout.splitlines() if x]


def db() -> sqlite3.Connection:
    return sqlite3.connect(os.environ["MEDTRACK_DB"])


def record(name: str, slot_utc: str, status: str = "taken") -> None:
    """A dose or skip answering a slot, as `take`/`skip` store it."""
    conn = db()
    with conn:
        (med_id,) = conn.execute("SELECT id FROM medications WHERE name = ?", (name,)).fetchone()
        conn.execute(
            "INSERT INTO doses (medication_id, scheduled_for, taken_at, status, recorded_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (med_id, slot_utc, slot_utc, status, slot_utc),
        )
    conn.close()


def add(name: str, schedule: str, *extra: str, at: str = "2026-11-01T07:00:00+01:00") -> None:
    result = run("med", "add", name, "--dose", "50mg", "--schedule", schedule, *extra, at=at)
    assert result.exit_code == 0, result.output


# --- the pure rules --------------------------------------------------------------------


def sertraline_slot() -> DueSlot:
    return DueSlot(1, "sertraline", "50 mg", utc(2026, 11, 23, 7))


def sent(*minutes_after_slot: int) -> list[SentReminder]:
    slot = sertraline_slot().slot
    return [SentReminder(DOSE, 1, slot, slot + timedelta(minutes=m)) for m in minutes_after_slot]


@pytest.mark.parametrize(
    ("now_minutes", "previous", "expected"),
    [
        (0, [], 1),  # due now
        (5, [0], 0),  # within the interval
        (29, [0], 0),
        (30, [0], 1),  # interval reached: reminder 2
        (61, [0, 31], 1),  # reminder 3
        (95, [0, 31, 62], 0),  # limit of 3 reached
        (121, [], 0),  # outside the lookback (2 h), not in the slots given
    ],
)
def test_interval_and_limit(now_minutes, previous, expected):
    slot = sertraline_slot()
    now = slot.slot + timedelta(minutes=now_minutes)
    slots = [slot] if now_minutes <= 120 else []
    got = dose_reminders(slots, sent(*previous), now, ReminderPolicy(), BERLIN)
    assert len(got) == expected
    if got and previous:
        assert f"[reminder {len(previous) + 1} of 3]" in got[0].text


def test_answered_slot_is_never_listed_due_an_early_dose_included():
    # daily 08:00 in Berlin (07:00Z); a dose at 06:40Z (07:40) answers it, early.
    med = medication("daily 08:00", utc(2026, 11, 1))
    lo, hi = utc(2026, 11, 23, 5), utc(2026, 11, 23, 9)
    assert [s.slot for s in slots_between([med], lo, hi, BERLIN)] == [utc(2026, 11, 23, 7)]
    early = DoseRecord("m", utc(2026, 11, 23, 6, 40), "taken", id=1)
    assert slots_between([med], lo, hi, BERLIN, [early]) == []
    # A record of another medication answers nothing here.
    other = DoseRecord("x", utc(2026, 11, 23, 6, 40), "taken", id=2)
    assert len(slots_between([med], lo, hi, BERLIN, [other])) == 1


def test_message_names_the_dose_and_the_exact_command():
    slot = sertraline_slot()
    now = slot.slot + timedelta(minutes=45)
    (reminder,) = dose_reminders([slot], [], now, ReminderPolicy(), BERLIN, ["--profile", "mum"])
    assert reminder.text == (
        "sertraline 50 mg overdue since 08:00 (45 min ago); when taken: "
        "medtrack --profile mum take sertraline"
    )


def medication(schedule: str, start: datetime, **kw) -> Medication:
    regimen = Regimen("m", Dose(1, "mg"), parse_schedule(schedule), start, **kw)
    return Medication("m", regimens=(regimen,), id=7)


def test_as_needed_has_no_slots():
    med = medication("as needed", utc(2026, 11, 1))
    assert slots_between([med], utc(2026, 11, 23), utc(2026, 11, 24), BERLIN) == []


def test_dst_nights_give_one_slot_each():
    # Spring forward (29 Mar 2026): 02:30 does not exist and moves to 03:30 CEST = 01:30Z.
    med = medication("daily 02:30", utc(2026, 3, 1))
    spring = slots_between([med], utc(2026, 3, 28, 22), utc(2026, 3, 29, 6), BERLIN)
    assert [s.slot for s in spring] == [utc(2026, 3, 29, 1, 30)]
    # Fall back (25 Oct 2026): 02:30 happens twice; the first (CEST, 00:30Z) only.
    autumn = slots_between([med], utc(2026, 10, 24, 22), utc(2026, 10, 25, 6), BERLIN)
    assert [s.slot for s in autumn] == [utc(2026, 10, 25, 0, 30)]


def test_regimen_change_clips_slots():
    before = Regimen(
        "m", Dose(1, "mg"), parse_schedule("daily 08:00"), utc(2026, 11, 1), utc(2026, 11, 23, 10)
    )
    after = Regimen("m", Dose(2, "mg"), parse_schedule("daily 20:00"), utc(2026, 11, 23, 10))
    med = Medication("m", regimens=(before, after), id=7)
    slots = slots_between([med], utc(2026, 11, 23), utc(2026, 11, 24), BERLIN)
    assert [(s.slot, s.dose_text) for s in slots] == [
        (utc(2026, 11, 23, 7), "1 mg"),
        (utc(2026, 11, 23, 19), "2 mg"),
    ]


# --- through the CLI -------------------------------------------------------------------

AT_0805 = "2026-11-23T08:05:00+01:00"


def test_quiet_when_nothing_is_due():
    add("sertraline", "daily 08:00")
    result = remind("2026-11-23T07:55:00+01:00")
    assert result.stdout == "" and result.stderr == ""


def test_twice_within_a_minute_sends_once():
    add("sertraline", "daily 08:00")
    first = remind(AT_0805)
    assert lines(first) == [
        "sertraline 50 mg overdue since 08:00 (5 min ago); when taken: "
        f"medtrack --db {os.environ['MEDTRACK_DB']} take sertraline"
    ]
    assert remind("2026-11-23T08:05:40+01:00").stdout == ""
    conn = db()
    rows = conn.execute(
        "SELECT kind, scheduled_for, channel, sent_at FROM reminders_sent "
        "WHERE kind != 'refill-check'"
    ).fetchall()
    conn.close()
    assert rows == [("dose", "2026-11-23T07:00:00Z", "stdout", "2026-11-23T07:05:00Z")]


def test_re_remind_interval_and_limit():
    add("sertraline", "daily 08:00")
    assert len(lines(remind(AT_0805))) == 1
    assert remind("2026-11-23T08:34:00+01:00").stdout == ""  # 29 min later
    second = lines(remind("2026-11-23T08:35:00+01:00"))
    assert len(second) == 1 and "[reminder 2 of 3]" in second[0]
    third = lines(remind("2026-11-23T09:05:00+01:00"))
    assert len(third) == 1 and "[reminder 3 of 3]" in third[0]
    assert remind("2026-11-23T09:40:00+01:00").stdout == ""  # limit reached
    # Options change the rhythm: a limit of 5 allows one more now.
    assert len(lines(remind("2026-11-23T09:40:00+01:00", "--limit", "5"))) == 1
    # Past the 2 h lookback the slot is left to the adherence record.
    assert remind("2026-11-23T10:01:00+01:00", "--limit", "10").stdout == ""


def test_dose_or_skip_between_runs_silences_the_next():
    add("sertraline", "daily 08:00")
    add("lithium", "daily 08:00")
    assert len(lines(remind(AT_0805))) == 2
    record("sertraline", "2026-11-23T07:00:00Z", "taken")
    record("lithium", "2026-11-23T07:00:00Z", "skipped")
    assert remind("2026-11-23T08:40:00+01:00").stdout == ""


def test_as_needed_never_and_lead_reminds_ahead():
    add("lorazepam", "as needed")
    add("sertraline", "daily 08:00")
    assert remind("2026-11-23T07:50:00+01:00").stdout == ""
    ahead = lines(remind("2026-11-23T07:50:00+01:00", "--lead", "15m"))
    assert len(ahead) == 1 and ahead[0].startswith("sertraline 50 mg due at 08:00;")


def test_dst_night_spring_forward_and_fall_back():
    add("clonidine", "daily 02:30", at="2026-03-01T12:00:00+01:00")
    # 29 Mar: 02:30 does not exist; the slot is 03:30 CEST.
    result = lines(remind("2026-03-29T03:40:00+02:00"))
    assert result[0].startswith("clonidine 50 mg overdue since 03:30 (10 min ago)")
    # 25 Oct: 02:30 happens twice; one slot (the first), so the second 02:30 brings a
    # re-reminder of the same slot, not a new one.
    assert len(lines(remind("2026-10-25T02:35:00+02:00"))) == 1
    again = lines(remind("2026-10-25T02:35:00+01:00"))
    assert len(again) == 1 and "[reminder 2 of 3]" in again[0]


def test_refill_warning_when_supply_crosses_the_threshold():
    add("sertraline", "daily 08:00", "--supply", "10", at="2026-11-20T07:00:00+01:00")
    # 10 days left (threshold 7): no warning. Supply is checked once a local day, so the
    # doses of 20-22 Nov recorded later that day (7 left) warn on the next day's check.
    assert remind("2026-11-22T07:00:00+01:00").stdout == ""
    for day in (20, 21, 22):
        record("sertraline", f"2026-11-{day}T07:00:00Z")
    assert remind("2026-11-22T09:00:00+01:00").stdout == ""
    warned = lines(remind("2026-11-23T07:00:00+01:00"))
    assert warned == [
        "sertraline: supply runs out on 2026-11-30 (7 left, about 7 days); after a refill: "
        f"medtrack --db {os.environ['MEDTRACK_DB']} med refill sertraline --qty N"
    ]
    # Once a day: not again today, again tomorrow.
    assert remind("2026-11-23T07:30:00+01:00").stdout == ""
    record("sertraline", "2026-11-23T07:00:00Z")
    assert remind("2026-11-23T22:00:00+01:00").stdout == ""
    assert "runs out on 2026-11-30" in remind("2026-11-24T06:00:00+01:00").stdout
    # A refill lifts it above the threshold.
    assert (
        run("med", "refill", "sertraline", "--qty", "30", at="2026-11-25T06:00:00+01:00").exit_code
        == 0
    )
    assert remind("2026-11-25T06:30:00+01:00").stdout == ""


def test_refill_threshold_is_the_setting():
    add("sertraline", "daily 08:00", "--supply", "5", at="2026-11-23T00:00:00+01:00")
    assert "supply runs out" in remind("2026-11-23T07:00:00+01:00").stdout
    assert (
        run("config", "set", "refill_warning_days", "3", at="2026-11-23T07:01:00+01:00").exit_code
        == 0
    )
    assert remind("2026-11-24T07:00:00+01:00").stdout == ""


def test_visit_note_on_the_day_before_once():
    add("sertraline", "as needed")
    conn = db()
    with conn:
        conn.execute(
            "INSERT INTO visits (at, with_whom, kind, recorded_at) VALUES (?, ?, ?, ?)",
            ("2026-11-25T09:30:00Z", "Dr Okafor", "psychiatry", "2026-11-01T00:00:00Z"),
        )
    conn.close()
    assert remind("2026-11-23T20:00:00+01:00").stdout == ""  # two days before
    assert lines(remind("2026-11-24T08:00:00+01:00")) == [
        "Tomorrow at 10:30: psychiatry visit with Dr Okafor."
    ]
    assert remind("2026-11-24T12:00:00+01:00").stdout == ""
    assert remind("2026-11-25T08:00:00+01:00").stdout == ""


def test_default_profile_command_has_no_options_and_profile_has_one(monkeypatch):
    monkeypatch.delenv("MEDTRACK_DB")
    add("sertraline", "daily 08:00")
    assert lines(remind(AT_0805))[0].endswith("when taken: medtrack take sertraline")
    result = run(
        "--profile",
        "mum",
        "med",
        "add",
        "vitamin d",
        "--dose",
        "1000IU",
        "--schedule",
        "daily 08:00",
        at="2026-11-01T07:00:00+01:00",
    )
    assert result.exit_code == 0
    mum = run("--profile", "mum", "remind", at=AT_0805)
    assert lines(mum)[0].endswith("when taken: medtrack --profile mum take 'vitamin d'")


def test_back_end_failure_falls_back_to_stdout_and_is_not_counted(tmp_path, monkeypatch):
    add("sertraline", "daily 08:00")
    monkeypatch.setenv("PATH", str(tmp_path))  # no notify-send anywhere
    result = remind(AT_0805, "--notify", "desktop")
    assert lines(result)[0].startswith("sertraline 50 mg overdue")
    assert result.stderr.strip() == (
        "medtrack: desktop notification failed (notify-send is not installed); "
        "printing reminders instead"
    )
    # Printed is not delivered: the row says so and the reminder is not used up, so the
    # next run (even within the interval) tries the back end again.
    assert dose_rows() == [("failed", None)]
    again = remind("2026-11-23T08:10:00+01:00", "--notify", "desktop")
    assert lines(again)[0].startswith("sertraline 50 mg overdue since 08:00 (10 min ago)")
    assert "[reminder" not in again.stdout
    # Once a back end delivers, that is reminder 1 of 3.
    notifier = tmp_path / "notify-send"
    notifier.write_text("#!/bin/sh\nexit 0\n")
    notifier.chmod(0o700)
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent")
    delivered = remind("2026-11-23T08:15:00+01:00", "--notify", "desktop")
    assert delivered.stdout == "" and delivered.stderr == ""
    assert dose_rows() == [("failed", None), ("failed", None), ("desktop", 1)]
    second = remind("2026-11-23T08:45:00+01:00")
    assert "[reminder 2 of 3]" in second.stdout


def dose_rows() -> list[tuple[str, int | None]]:
    conn = db()
    rows = conn.execute(
        "SELECT channel, attempt FROM reminders_sent WHERE kind = 'dose' ORDER BY id"
    ).fetchall()
    conn.close()
    return rows


def test_exec_back_end_gets_the_message_as_one_argument(tmp_path):
    add("vitamin d", "daily 08:00")
    out = tmp_path / "got.txt"
    program = tmp_path / "notifier"
    program.write_text(f'#!/bin/sh\nprintf "%s|%s" "$#" "$1" > {out}\n')
    program.chmod(program.stat().st_mode | stat.S_IXUSR)
    result = remind(AT_0805, "--notify", f"exec:{program}")
    assert result.stdout == "" and result.stderr == ""
    count, message = out.read_text().split("|", 1)
    assert count == "1"
    assert message.startswith("vitamin d 50 mg overdue since 08:00") and "'vitamin d'" in message


def test_errors_exit_1_on_stderr_usage_2(tmp_path, monkeypatch):
    bad = tmp_path / "not-a-db.db"
    bad.write_text("hello, this is not SQLite at all" * 10)
    monkeypatch.setenv("MEDTRACK_DB", str(bad))
    result = run("remind", at=AT_0805)
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.startswith("medtrack: ") and "not a medtrack database" in result.stderr
    assert run("remind", "--interval", "soon", at=AT_0805).exit_code == 1
    monkeypatch.setenv("MEDTRACK_DB", str(tmp_path / "good.db"))
    add("sertraline", "daily 08:00")
    assert run("remind", "--notify", "carrier-pigeon", at=AT_0805).exit_code == 2


def test_remind_starts_light():
    add("sertraline", "daily 08:00", "--supply", "30")
    code = (
        "import sys\nsys.argv=['medtrack','remind']\nfrom medtrack.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "heavy={'rich','sqlite_utils','apprise','icalendar','fpdf','fhir'}\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & heavy), file=sys.stderr)\n"
    )
    env = {**os.environ, "MEDTRACK_NOW": AT_0805}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60
    )
    assert "sertraline 50 mg overdue" in result.stdout
    assert result.stderr.strip().splitlines()[-1] == "[]"


# --- issue 18: never a new database, never lost, never twice ---------------------------


def test_missing_or_empty_database_is_an_error_and_nothing_is_created(tmp_path, monkeypatch):
    missing = tmp_path / "nowhere" / "med.db"
    for path in (missing, tmp_path / "med.db"):
        monkeypatch.setenv("MEDTRACK_DB", str(path))
        result = run("remind", at=AT_0805)
        assert result.exit_code == 1 and result.stdout == ""
        assert result.stderr == (
            f"medtrack: no database at {path}; remind never creates one (add a medication "
            "first, or give the --db or --profile that holds your record)\n"
        )
        assert not path.exists() and not path.parent.joinpath("med.db-wal").exists()
    empty = tmp_path / "empty.db"
    empty.touch()
    monkeypatch.setenv("MEDTRACK_DB", str(empty))
    result = run("remind", "--test", at=AT_0805)
    assert result.exit_code == 1 and "is empty, not a medtrack database yet" in result.stderr
    assert empty.stat().st_size == 0
    # Without MEDTRACK_DB, the default profile's file is not created either.
    monkeypatch.delenv("MEDTRACK_DB")
    assert run("remind", at=AT_0805).exit_code == 1
    assert not (Path(os.environ["XDG_DATA_HOME"]) / "medtrack").exists()


@pytest.mark.parametrize("target", ["pager", "exec:/bin/true\n* * * * * evil"])
def test_bad_target_in_remind_prints_what_is_due_and_records_nothing(target):
    add("sertraline", "daily 08:00")
    add("lithium", "daily 08:00")
    before = dump()
    result = run("remind", "--notify", target, at=AT_0805)
    assert result.exit_code == 2
    assert [x.split(" overdue")[0] for x in lines(result)] == ["lithium 50 mg", "sertraline 50 mg"]
    (why,) = result.stderr.splitlines()
    assert why.startswith("medtrack: --notify '") and why.endswith(
        "; the reminders above were printed instead"
    )
    assert dump() == before  # not delivered: not counted, nothing written


def test_remind_test_says_whether_it_was_delivered(tmp_path):
    add("sertraline", "daily 08:00")
    before = dump()
    got = tmp_path / "got.txt"
    good = tmp_path / "notifier"
    good.write_text(f'#!/bin/sh\nprintf "%s" "$1" > {got}\n')
    good.chmod(0o700)
    result = run("remind", "--test", "--notify", f"exec:{good}", at=AT_0805)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == (
        f"Test notification delivered through program {good} "
        f"(database {os.environ['MEDTRACK_DB']}).\n"
    )
    assert got.read_text() == "medtrack test: if you read this, your reminders reach you."
    bad = tmp_path / "broken"
    bad.write_text("#!/bin/sh\necho no network >&2\nexit 7\n")
    bad.chmod(0o700)
    failed = run("remind", "--test", "--notify", f"exec:{bad}", at=AT_0805)
    assert failed.exit_code == 1 and failed.stdout == ""
    assert failed.stderr == (
        f"medtrack: test notification NOT delivered through program {bad}: "
        f"{bad} exited with status 7: no network\n"
    )
    printed = run("remind", "--test", at=AT_0805)
    assert printed.exit_code == 0
    assert printed.stdout.startswith("medtrack test:") and "MAILTO" in printed.stderr
    # A test sends no reminder and records nothing, though sertraline is due.
    assert dump() == before


def test_two_runs_claim_each_attempt_once():
    """The claim itself, deterministically: two runs that both read "not sent yet"."""
    from medtrack.store import reminders as store
    from medtrack.store.db import connect

    add("sertraline", "daily 08:00")
    now = utc(2026, 11, 23, 7, 5)
    slot = utc(2026, 11, 23, 7)
    first, second = (
        connect(Path(os.environ["MEDTRACK_DB"])),
        connect(Path(os.environ["MEDTRACK_DB"])),
    )
    try:
        mine = dict(kind="dose", medication_id=1, scheduled_for=slot, attempt=1, now=now)
        assert store.claim(first, **mine) is not None
        assert store.claim(second, **mine) is None  # lost: the other run sends it
        # A pending claim is not "sent"; a delivered one is.
        assert store.sent_since(second, slot) == []
        store.settle(first, 1, "desktop", now)
        assert [r.medication_id for r in store.sent_since(second, slot)] == [1]
        assert store.claim(second, **{**mine, "attempt": 2}) is not None
        # A run that died holding a claim frees it after STALE_CLAIM.
        store.free_stale_claims(first, now + store.STALE_CLAIM + timedelta(seconds=1))
        assert store.claim(first, **{**mine, "attempt": 2}) is not None
    finally:
        first.close()
        second.close()


@pytest.mark.slow
def test_concurrent_remind_processes_notify_each_slot_once(tmp_path):
    """Six installed `medtrack remind` processes started together, each delivering
    through a program that takes a moment: every slot is notified once, one row each."""
    for name in ("sertraline", "lithium", "vitamin d"):
        add(name, "daily 08:00")
    log = tmp_path / "notified.txt"
    notifier = tmp_path / "notifier"
    # Appends with O_APPEND (one write per line), and takes a moment, so that runs
    # overlap while one of them is still sending.
    notifier.write_text(f'#!/bin/sh\nprintf "%s\\n" "$1" >> {log}\nsleep 0.3\n')
    notifier.chmod(0o700)
    medtrack = Path(sys.executable).parent / "medtrack"
    env = {**os.environ, "MEDTRACK_NOW": AT_0805}
    runs = [
        subprocess.Popen(
            [str(medtrack), "remind", "--notify", f"exec:{notifier}"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(6)
    ]
    outputs = [run.communicate(timeout=120) for run in runs]
    assert [run.returncode for run in runs] == [0] * 6, outputs
    assert all(out == ("", "") for out in outputs)
    notified = sorted(x.split(" overdue")[0] for x in log.read_text().splitlines())
    assert notified == ["lithium 50 mg", "sertraline 50 mg", "vitamin d 50 mg"]
    assert sorted(dose_rows()) == [("exec", 1)] * 3
