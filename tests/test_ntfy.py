"""Two-way reminders over ntfy (issue 21): each dose reminder is published with the
Taken / Skipped / Snooze 30 min buttons, a tap publishes a reply to a secret reply topic,
and the next `remind` records it through the code of take, skip and snooze, exactly once.

The server is tests/fake_ntfy.py on 127.0.0.1: the documented publish and poll endpoints,
message ids, `since`, the 12-hour cache, a token, and being down.
"""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
import sys
import urllib.request
from datetime import datetime
from pathlib import Path

import pytest
from fake_ntfy import CACHE_SECONDS, FakeNtfy
from helpers import dump
from typer.testing import CliRunner

from medtrack.cli import app
from medtrack.core.replies import (
    FORMAT,
    SNOOZE,
    TAKEN,
    NotAReply,
    Reply,
    dose_actions,
    parse_reply,
    reply_body,
)
from medtrack.notify import parse_target
from medtrack.ntfy import parse_url

runner = CliRunner()
DAY = "2026-11-23"


def at(clock: str, day: str = DAY) -> str:
    """A Berlin wall time of the test day (CET, +01:00) as MEDTRACK_NOW takes it."""
    return f"{day}T{clock}:00+01:00"


def unix(clock: str, day: str = DAY) -> int:
    return int(datetime.fromisoformat(at(clock, day)).timestamp())


def run(*args: str, now: str, ok: bool = True):
    result = runner.invoke(app, list(args), env={"MEDTRACK_NOW": now})
    if ok:
        assert result.exit_code == 0, (result.output, result.stderr)
    return result


def db() -> sqlite3.Connection:
    return sqlite3.connect(os.environ["MEDTRACK_DB"])


def doses() -> list[tuple]:
    conn = db()
    rows = conn.execute(
        "SELECT taken_at, status, skip_reason, source FROM doses ORDER BY id"
    ).fetchall()
    conn.close()
    return rows


def replies_in_history() -> list[dict]:
    conn = db()
    rows = conn.execute(
        "SELECT after FROM history WHERE action = 'ntfy reply' ORDER BY id"
    ).fetchall()
    conn.close()
    return [json.loads(r[0]) for r in rows]


def setting(key: str) -> str | None:
    conn = db()
    row = conn.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
    conn.close()
    return None if row is None else row[0]


def tap(fake: FakeNtfy, message: dict, label: str, clock: str, day: str = DAY) -> None:
    """What the phone does when a button is tapped: the action's own request (url,
    method, headers, body), sent at `clock` on the server's clock."""
    fake.clock = unix(clock, day)
    [action] = [a for a in message["actions"] if a["label"] == label]
    assert action["action"] == "http"
    request = urllib.request.Request(
        action["url"],
        data=action["body"].encode(),
        headers=action.get("headers", {}),
        method=action["method"],
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200


@pytest.fixture
def fake():
    with FakeNtfy(clock=unix("07:00")) as server:
        yield server


@pytest.fixture
def configured(fake):
    """sertraline daily 08:00, and ntfy configured once in the `notify` setting."""
    run("med", "add", "sertraline", "--dose", "50mg", "--schedule", "daily 08:00", now=at("07:00"))
    run("config", "set", "notify", f"ntfy:{fake.base}/meds", now=at("07:00"))
    return fake


def remind(fake: FakeNtfy, clock: str, *args: str, day: str = DAY, ok: bool = True):
    fake.clock = unix(clock, day)
    return run("remind", *args, now=at(clock, day), ok=ok)


# --- the documented formats ------------------------------------------------------------


def test_reply_round_trip_and_what_is_not_a_reply():
    slot = datetime.fromisoformat("2026-11-23T07:00:00+00:00")
    body = reply_body(TAKEN, 4, slot)
    assert json.loads(body) == {
        "format": FORMAT,
        "action": "taken",
        "medication": 4,
        "slot": "2026-11-23T07:00:00Z",
    }
    message = {"id": "abc", "time": 1795417800, "event": "message", "message": body}
    assert parse_reply(message) == Reply(
        "abc", datetime.fromisoformat("2026-11-23T07:10:00+00:00"), TAKEN, 4, slot
    )
    assert parse_reply({"id": "k", "time": 1, "event": "keepalive"}) is None
    for text in ("take sertraline", '{"action": "taken"}', "[1]", '{"format": "x"}'):
        got = parse_reply({"id": "m", "time": 1, "event": "message", "message": text})
        assert isinstance(got, NotAReply)
    wrong = json.dumps({"format": FORMAT, "action": "delete-everything", "medication": 1})
    assert isinstance(
        parse_reply({"id": "m", "time": 1, "event": "message", "message": wrong}), NotAReply
    )


def test_buttons_are_ntfy_http_actions():
    slot = datetime.fromisoformat("2026-11-23T07:00:00+00:00")
    actions = dose_actions("https://ntfy.example/r", 4, slot, {"Authorization": "Bearer tk_x"})
    assert [a["label"] for a in actions] == ["Taken", "Skipped", "Snooze 30 min"]
    assert {a["action"] for a in actions} == {"http"} and {a["method"] for a in actions} == {"POST"}
    assert [json.loads(a["body"])["action"] for a in actions] == ["taken", "skipped", "snooze"]
    assert all(a["headers"] == {"Authorization": "Bearer tk_x"} for a in actions)


@pytest.mark.parametrize(
    "url",
    ["ftp://h/t", "https://h/", "https://h/a b", "https://h/t?x=1", "https://u:p@h/t", "https://h"],
)
def test_bad_ntfy_urls_are_refused(url):
    with pytest.raises(ValueError):
        parse_url(url)
    result = run("config", "set", "notify", f"ntfy:{url}", now=at("07:00"), ok=False)
    assert result.exit_code != 0 and "ntfy" in result.stderr


def test_ntfy_url_keeps_a_path_prefix():
    topic = parse_url("https://example.org/ntfy/meds")
    assert topic.server == "https://example.org/ntfy" and topic.topic == "meds"
    assert parse_target("ntfy:https://example.org/ntfy/meds").label == (
        "ntfy server https://example.org/ntfy"
    )


# --- publishing -------------------------------------------------------------------------


def test_reminder_is_published_with_buttons_and_no_name(configured):
    fake = configured
    result = remind(fake, "08:00")
    assert result.stdout == "" and result.stderr == ""
    [message] = fake.on("meds")
    assert message["message"] == "Dose due (08:00)" and message["title"] == "medtrack"
    # Nothing on the server names the medication, its dose or the command.
    assert "sertraline" not in json.dumps(message) and "50" not in message["message"]
    reply_topic = setting("ntfy_reply_topic")
    assert reply_topic and len(reply_topic) >= 40
    assert [a["url"] for a in message["actions"]] == [f"{fake.base}/{reply_topic}"] * 3
    # The reply topic is made once and kept.
    remind(fake, "08:31")
    assert setting("ntfy_reply_topic") == reply_topic
    second = fake.on("meds")[1]["message"]
    assert second == "Dose overdue (08:00) [reminder 2 of 3]"


def test_notify_names_puts_the_name_in(configured):
    fake = configured
    remind(fake, "08:05", "--notify-names")
    [message] = fake.on("meds")
    assert message["message"].startswith("sertraline 50 mg overdue since 08:00 (5 min ago)")


# --- replies ------------------------------------------------------------------------------


def test_tap_on_taken_is_recorded_at_the_taps_time_once(configured):
    fake = configured
    remind(fake, "08:00")
    [message] = fake.on("meds")
    tap(fake, message, "Taken", "08:10")
    result = remind(fake, "08:20")
    assert result.stdout.splitlines() == [
        "From ntfy (tapped at 08:10): sertraline 50 mg, 08:00 dose, taken 08:10, on time"
    ]
    assert doses() == [("2026-11-23T07:10:00Z", "taken", None, "ntfy")]
    today = json.loads(run("today", "--json", now=at("08:21")).stdout)
    assert [(s["status"], s["taken_at"]) for s in today["slots"]] == [
        ("taken", "2026-11-23T08:10:00+01:00")
    ]
    [kept] = replies_in_history()
    assert kept["source"] == "ntfy" and kept["outcome"] == "recorded"
    assert kept["action"] == "taken" and kept["tapped_at"] == "2026-11-23T07:10:00Z"
    # A second poll records nothing more, and the answered slot is not reminded.
    again = remind(fake, "08:45")
    assert again.stdout == "" and len(doses()) == 1 and len(fake.on("meds")) == 1
    assert len(replies_in_history()) == 1


def test_duplicate_taps_and_replies_for_an_answered_slot_change_nothing(configured):
    fake = configured
    remind(fake, "08:00")
    [message] = fake.on("meds")
    tap(fake, message, "Taken", "08:10")
    tap(fake, message, "Taken", "08:11")  # tapped twice
    tap(fake, message, "Skipped", "08:12")  # then changed their mind
    result = remind(fake, "08:20")
    assert len(result.stdout.splitlines()) == 1
    assert doses() == [("2026-11-23T07:10:00Z", "taken", None, "ntfy")]
    outcomes = [r["outcome"] for r in replies_in_history()]
    assert outcomes == ["recorded", *["ignored: dose already answered"] * 2]


def test_reply_after_take_at_the_computer_changes_nothing(configured):
    fake = configured
    remind(fake, "08:00")
    run("take", "sertraline", now=at("08:03"))
    tap(fake, fake.on("meds")[0], "Taken", "08:10")
    assert remind(fake, "08:20").stdout == ""
    assert doses() == [("2026-11-23T07:03:00Z", "taken", None, "cli")]


def test_replies_read_again_are_never_recorded_twice(configured):
    """The cursor lost (or an id the cache no longer holds: ntfy then answers every cached
    message), or the dose undone: a reply already kept in history is not applied again."""
    fake = configured
    remind(fake, "08:00")
    tap(fake, fake.on("meds")[0], "Taken", "08:10")
    remind(fake, "08:20")
    run("undo", "--yes", now=at("08:25"))
    assert doses() == []
    conn = db()
    with conn:
        conn.execute("UPDATE settings SET value = 'gone' WHERE key = 'ntfy_since'")
    conn.close()
    result = remind(fake, "08:40")
    assert "From ntfy" not in result.stdout and doses() == []
    assert len(replies_in_history()) == 1


def test_skipped_is_recorded_as_other(configured):
    fake = configured
    remind(fake, "08:00")
    tap(fake, fake.on("meds")[0], "Skipped", "08:30")
    result = remind(fake, "08:40")
    assert result.stdout.startswith("From ntfy (tapped at 08:30): ")
    assert doses() == [("2026-11-23T07:30:00Z", "skipped", "other", "ntfy")]


def test_snooze_button_holds_reminders_back_30_minutes(configured):
    fake = configured
    remind(fake, "08:00")
    tap(fake, fake.on("meds")[0], "Snooze 30 min", "08:05")
    result = remind(fake, "08:06")
    assert result.stdout == "From ntfy: sertraline 08:00 snoozed until 08:35 (tapped at 08:05).\n"
    remind(fake, "08:31")  # the interval has passed, the snooze has not
    assert len(fake.on("meds")) == 1
    remind(fake, "08:35")
    # Reminded again as new: the reminder before the snooze does not count.
    assert [m["message"] for m in fake.on("meds")] == ["Dose due (08:00)", "Dose overdue (08:00)"]
    assert doses() == []
    assert replies_in_history()[0]["action"] == SNOOZE


def test_taken_outside_the_doses_window_is_an_extra_dose_and_not_recorded(fake):
    run(
        "med",
        "add",
        "quetiapine",
        "--dose",
        "25mg",
        "--schedule",
        "daily 08:00,20:00",
        now=at("07:00"),
    )
    run("config", "set", "notify", f"ntfy:{fake.base}/meds", now=at("07:00"))
    remind(fake, "08:00")
    morning = fake.on("meds")[0]
    remind(fake, "20:00")
    tap(fake, morning, "Taken", "20:05")  # the morning's button, in the evening
    result = remind(fake, "20:06")
    assert "NOT recorded" in result.stdout and "extra dose" in result.stdout
    assert doses() == []
    # The phone is told: the next message says so, without the name.
    notice = fake.on("meds")[-1]["message"]
    assert "was not recorded" in notice and "quetiapine" not in notice
    assert replies_in_history()[0]["outcome"].startswith("not recorded:")


def test_replies_from_strangers_are_kept_and_obeyed_never(configured):
    fake = configured
    remind(fake, "08:00")
    topic = setting("ntfy_reply_topic")
    before = doses()
    fake.store(topic, "medtrack take sertraline --yes")
    fake.store(topic, reply_body(TAKEN, 999, datetime.fromisoformat("2026-11-23T07:00:00+00:00")))
    fake.store(topic, reply_body(TAKEN, 1, datetime.fromisoformat("2026-11-23T07:13:00+00:00")))
    assert remind(fake, "08:20").stdout == ""
    assert doses() == before
    assert [r["outcome"] for r in replies_in_history()] == [
        "ignored: not a medtrack reply",
        "ignored: no such dose",
        "ignored: no such dose",
    ]


# --- the server: down, late, cache ------------------------------------------------------


def test_server_down_prints_the_reminder_and_loses_no_reply(configured):
    fake = configured
    remind(fake, "08:00")
    tap(fake, fake.on("meds")[0], "Taken", "08:10")
    fake.stop()
    result = remind(fake, "08:31")
    # The second reminder is printed instead, and stderr says why, twice in one line each.
    assert result.stdout.startswith("Dose overdue (08:00) [reminder 2 of 3]")
    assert "can't read replies" in result.stderr and "printing reminders instead" in result.stderr
    assert doses() == []
    fake.restart()
    late = remind(fake, "09:15")
    assert late.stdout.startswith("From ntfy (tapped at 08:10): sertraline 50 mg, 08:00 dose")
    assert doses() == [("2026-11-23T07:10:00Z", "taken", None, "ntfy")]


def test_a_reply_read_hours_later_keeps_the_taps_time(configured):
    fake = configured
    remind(fake, "08:00")
    tap(fake, fake.on("meds")[0], "Taken", "08:10")
    remind(fake, "19:55")  # within the 12-hour cache
    assert doses() == [("2026-11-23T07:10:00Z", "taken", None, "ntfy")]


def test_the_servers_cache_forgets_after_12_hours(configured):
    """The documented limit: a reply no `remind` read within the server's cache time is
    gone from the server (README says so)."""
    fake = configured
    remind(fake, "08:00")
    tap(fake, fake.on("meds")[0], "Taken", "08:10")
    fake.clock = unix("08:10") + CACHE_SECONDS
    remind(fake, "20:11")
    assert doses() == []


# --- token, test, snooze command --------------------------------------------------------


def test_access_token_is_kept_0600_outside_the_database_and_sent(tmp_path):
    with FakeNtfy(clock=unix("07:00"), token="tk_secret42") as fake:
        run(
            "med",
            "add",
            "sertraline",
            "--dose",
            "50mg",
            "--schedule",
            "daily 08:00",
            now=at("07:00"),
        )
        run("config", "set", "notify", f"ntfy:{fake.base}/meds", now=at("07:00"))
        refused = remind(fake, "08:00")
        assert "token missing or refused" in refused.stderr
        assert refused.stdout.startswith("Dose due (08:00)")  # printed, not lost
        shown = run("config", "set", "ntfy_token", "tk_secret42", now=at("08:01"))
        path = Path(os.environ["MEDTRACK_DB"]).with_name("medtrack.ntfy-token")
        assert str(path) in shown.stdout
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert "tk_secret42" not in dump()
        assert "tk_secret42" not in run("config", "get", now=at("08:01")).stdout
        remind(fake, "08:31")
        [message] = fake.on("meds")
        assert message["actions"][0]["headers"] == {"Authorization": "Bearer tk_secret42"}
        tap(fake, message, "Taken", "08:40")
        assert remind(fake, "08:45").stdout.startswith("From ntfy (tapped at 08:40)")


def test_remind_test_shows_its_reply_arriving(configured):
    fake = configured
    result = remind(fake, "07:30", "--test")
    assert f"delivered through ntfy server {fake.base}" in result.stdout
    assert "A test reply came back from the reply topic" in result.stdout
    [message] = fake.on("meds")
    assert [a["label"] for a in message["actions"]] == ["Reply"]
    tap(fake, message, "Reply", "07:31")
    assert remind(fake, "07:32").stdout == ""
    assert doses() == []
    assert [r["outcome"] for r in replies_in_history()] == ["test reply received"] * 2


def test_snooze_command_and_an_old_slot_reminded_after_its_snooze(fake):
    run("med", "add", "sertraline", "--dose", "50mg", "--schedule", "daily 08:00", now=at("07:00"))
    first = run("remind", now=at("08:05"))
    assert first.stdout.startswith("sertraline 50 mg overdue since 08:00")
    result = run("snooze", "sertraline", "1h", now=at("09:50"))
    assert result.stdout == "sertraline 08:00: reminders held back until 10:50.\n"
    assert run("remind", now=at("10:30")).stdout == ""
    # 2 h 51 min after the slot, past the look-back: still reminded, the snooze is over.
    late = run("remind", now=at("10:51")).stdout
    assert late.startswith("sertraline 50 mg overdue since 08:00 (2 h 51 min ago)")
    assert "[reminder" not in late
    conn = db()
    (kept,) = conn.execute("SELECT after FROM history WHERE action = 'snooze'").fetchone()
    conn.close()
    assert json.loads(kept)["until"] == "2026-11-23T09:50:00Z"


def test_snooze_refuses_what_it_cannot_hold_back(fake):
    run("med", "add", "sertraline", "--dose", "50mg", "--schedule", "daily 08:00", now=at("07:00"))
    run("med", "add", "lorazepam", "--dose", "1mg", "--schedule", "as needed", now=at("07:00"))
    run("take", "sertraline", now=at("08:01"))
    before = dump()
    for args in (["sertraline"], ["lorazepam"], ["sertraline", "13h"], ["sertraline", "soon"]):
        result = run("snooze", *args, now=at("08:10"), ok=False)
        assert result.exit_code != 0 and result.stderr.count("\n") == 1, result.stderr
    assert dump() == before


# --- end to end, with the installed medtrack ----------------------------------------------


@pytest.mark.slow
def test_end_to_end_with_the_installed_command(tmp_path, fake):
    medtrack = Path(sys.executable).with_name("medtrack")

    def cli(*args: str, clock: str) -> subprocess.CompletedProcess:
        fake.clock = unix(clock)
        env = dict(os.environ, MEDTRACK_NOW=at(clock))
        result = subprocess.run(
            [str(medtrack), *args], capture_output=True, text=True, env=env, timeout=60
        )
        assert result.returncode == 0, result.stderr
        return result

    cli("med", "add", "sertraline", "--dose", "50mg", "--schedule", "daily 08:00", clock="07:00")
    target = f"ntfy:{fake.base}/meds"
    assert cli("remind", "--notify", target, clock="08:00").stdout == ""
    [message] = fake.on("meds")
    tap(fake, message, "Taken", "08:07")
    recorded = cli("remind", "--notify", target, clock="08:15").stdout
    assert recorded.startswith(
        "From ntfy (tapped at 08:07): sertraline 50 mg, 08:00 dose, taken 08:07"
    )
    today = json.loads(cli("today", "--json", clock="08:16").stdout)
    assert today["slots"][0]["status"] == "taken"
    assert today["slots"][0]["taken_at"] == "2026-11-23T08:07:00+01:00"
    assert cli("remind", "--notify", target, clock="08:45").stdout == ""
    assert doses() == [("2026-11-23T07:07:00Z", "taken", None, "ntfy")]
    assert len(fake.on("meds")) == 1


# --- cron install ---------------------------------------------------------------------------


@pytest.fixture
def fake_crontab(tmp_path, monkeypatch) -> Path:
    from test_crontab import FAKE_CRONTAB

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    program = bin_dir / "crontab"
    program.write_text(FAKE_CRONTAB)
    program.chmod(program.stat().st_mode | stat.S_IXUSR)
    table = tmp_path / "crontab.txt"
    monkeypatch.setenv("FAKE_CRONTAB_FILE", str(table))
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return table


def test_cron_install_with_ntfy(fake_crontab):
    result = runner.invoke(
        app, ["cron", "install", "--notify", "ntfy:https://ntfy.example/meds", "--notify-names"]
    )
    assert result.exit_code == 0, result.output
    line = fake_crontab.read_text()
    assert (
        " remind --notify ntfy:https://ntfy.example/meds --notify-names # medtrack-remind [db="
        in line
    )
    bad = runner.invoke(app, ["cron", "install", "--notify", "ntfy:https://ntfy.example/"])
    assert bad.exit_code == 2 and "topic" in bad.stderr
    assert fake_crontab.read_text() == line


def test_cron_install_without_notify_uses_the_setting(fake_crontab, configured):
    result = runner.invoke(app, ["cron", "install"])
    assert result.exit_code == 0, result.output
    assert f"notify setting says: ntfy:{configured.base}/meds" in result.stdout
    assert "cron mails you" not in result.stderr
    assert "--notify" not in fake_crontab.read_text()


# --- a week of answering on the phone --------------------------------------------------------


def test_a_week_of_taps_is_recorded_exactly_once_with_the_right_figures(fake):
    run("med", "add", "sertraline", "--dose", "50mg", "--schedule", "daily 08:00", now=at("07:00"))
    run("config", "set", "notify", f"ntfy:{fake.base}/meds", now=at("07:00"))

    def morning(day: str) -> dict:
        remind(fake, "08:00", day=day)
        return fake.on("meds")[-1]

    def evening(day: str) -> None:
        remind(fake, "20:00", day=day)  # reads what the day left

    days = [f"2026-11-{d}" for d in range(23, 30)]
    tap(fake, morning(days[0]), "Taken", "08:10", days[0])
    evening(days[0])
    message = morning(days[1])
    tap(fake, message, "Taken", "08:40", days[1])
    tap(fake, message, "Taken", "08:41", days[1])  # twice
    evening(days[1])
    tap(fake, morning(days[2]), "Snooze 30 min", "08:05", days[2])
    remind(fake, "08:20", day=days[2])  # reads the snooze: nothing sent
    remind(fake, "08:36", day=days[2])  # the snooze is over: reminded again
    tap(fake, fake.on("meds")[-1], "Taken", "08:50", days[2])
    evening(days[2])
    tap(fake, morning(days[3]), "Skipped", "09:00", days[3])
    evening(days[3])
    tap(fake, morning(days[4]), "Taken", "13:00", days[4])  # late, still that dose
    evening(days[4])
    morning(days[5])  # not answered
    evening(days[5])
    tap(fake, morning(days[6]), "Taken", "08:15", days[6])
    evening(days[6])
    remind(fake, "08:00", day="2026-11-30")

    assert doses() == [
        ("2026-11-23T07:10:00Z", "taken", None, "ntfy"),
        ("2026-11-24T07:40:00Z", "taken", None, "ntfy"),
        ("2026-11-25T07:50:00Z", "taken", None, "ntfy"),
        ("2026-11-26T08:00:00Z", "skipped", "other", "ntfy"),
        ("2026-11-27T12:00:00Z", "taken", None, "ntfy"),
        ("2026-11-29T07:15:00Z", "taken", None, "ntfy"),
    ]
    summary = run(
        "summary",
        "--since",
        "2026-11-23",
        "--until",
        "2026-11-29",
        "--json",
        now="2026-11-30T08:30:00+01:00",
    )
    [figures] = json.loads(summary.stdout)["medications"]
    assert (figures["due"], figures["taken"], figures["skipped"], figures["missed"]) == (7, 5, 1, 1)
    # One reminder a morning, one more on day 3 after its snooze, and 30 Nov's.
    assert len(fake.on("meds")) == 9
    assert len(replies_in_history()) == 8
