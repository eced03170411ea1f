"""The dose engine as a person lives it: which slot a record answers is derived on every
read, so undo, early doses and plans changed in the past re-judge consistently.

Every figure below is worked out by hand in the comments (Europe/Berlin, CET = UTC+1).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from helpers import dump
from typer.testing import CliRunner

from medtrack.cli import app

runner = CliRunner()


def run(*args: str, now: str):
    return runner.invoke(app, list(args), env={"MEDTRACK_NOW": now})


def ok(*args: str, now: str):
    result = run(*args, now=now)
    assert result.exit_code == 0, (result.output, result.stderr)
    return result


def summary(now: str, *args: str) -> dict:
    data = json.loads(ok("summary", "--json", *args, now=now).stdout)
    return {m["medication"]: m for m in data["medications"]}


def figures(entry: dict, *keys: str) -> tuple:
    return tuple(entry[k] for k in keys)


SETUP = "2026-11-19T12:00:00Z"


def add(name: str, schedule: str, start: str = "2026-11-20", *extra: str) -> None:
    ok("config", "set", "timezone", "Europe/Berlin", now=SETUP)
    ok("med", "add", name, "--dose", "50mg", "--schedule", schedule, "--start", start, *extra,
       now=SETUP)  # fmt: skip


def test_undoing_the_answering_dose_lets_the_next_one_in_its_window_answer():
    add("sertraline", "daily 08:00")
    for day in (20, 21, 22):
        ok("take", "sertraline", now=f"2026-11-{day}T07:05:00Z")  # 08:05, on time
    ok("take", "sertraline", now="2026-11-23T07:04:00Z")  # id 4: answers the 23rd
    ok("take", "sertraline", "--yes", now="2026-11-23T07:30:00Z")  # id 5: an extra dose
    noon = "2026-11-23T11:00:00Z"
    s = summary(noon, "--days", "4")["sertraline"]
    # 20-23 Nov: 4 slots, all taken; the 23rd also had an extra dose, so 3 correct days.
    assert figures(s, "due", "taken", "extra", "missed") == (4, 4, 1, 0)
    assert s["correct_dosing_days"]["correct"] == 3
    assert (s["current_streak"], s["longest_streak"]) == (4, 4)

    result = ok("undo", "--id", "4", "--yes", now=noon)
    assert "dose 4" in result.stdout
    s = summary(noon, "--days", "4")["sertraline"]
    # The 08:30 dose (id 5) now answers the 23rd: still 4 of 4, no extra, 4 correct days.
    assert figures(s, "due", "taken", "extra", "missed") == (4, 4, 0, 0)
    assert s["correct_dosing_days"]["correct"] == 4
    assert (s["current_streak"], s["on_time"]) == (4, 4)  # 08:30 is within 60 min
    today = json.loads(ok("today", "--json", now=noon).stdout)
    (slot,) = today["slots"]
    assert (slot["status"], slot["taken_at"], slot["dose_id"]) == (
        "taken",
        "2026-11-23T08:30:00+01:00",
        5,
    )
    # remind never asks for a dose that was taken (the double-dose risk).
    assert ok("remind", now="2026-11-23T07:45:00Z").stdout == ""


def test_a_dose_taken_early_counts_for_its_slot_at_once():
    add("vitamin d", "daily 09:00", "2026-11-20", "--supply", "10")
    for day in (20, 21, 22):
        ok("take", "vitamin d", now=f"2026-11-{day}T08:00:00Z")  # 09:00 sharp
    result = ok("take", "vitamin d", now="2026-11-23T07:05:00Z")  # 08:05 for 09:00
    assert result.stdout.strip() == "vitamin d 50 mg, 09:00 dose, taken 08:05, on time"
    now = "2026-11-23T07:10:00Z"  # 08:10, before the slot's time
    s = summary(now, "--days", "4")["vitamin d"]
    # 20, 21, 22 and the 23rd's 09:00, answered early: 4 due, 4 taken, no extra dose.
    assert figures(s, "due", "taken", "extra", "pending") == (4, 4, 0, 0)
    assert s["daily"][-1]["cell"] == "all"
    today = json.loads(ok("today", "--json", now=now).stdout)
    assert [(x["time"], x["status"]) for x in today["slots"]] == [("09:00", "taken")]
    # Supply: 10 - 4 taken = 6 on hand; the 23rd needs none more, so 24-29 Nov are
    # covered and the 30th is the first day without (not the 29th).
    (med,) = json.loads(ok("med", "list", "--json", now=now).stdout)
    assert med["supply"]["stock"] == 6
    assert med["supply"]["runs_out"] == "2026-11-30"
    report = ok("report", "--format", "md", "--since", "2026-11-20", now=now).stdout
    assert "4/4" in report or "| 4 | 4 |" in report


def test_a_plan_changed_in_the_past_rejudges_the_records():
    add("quetiapine", "daily 08:00")
    for day in (20, 21, 22, 23):
        ok("take", "quetiapine", now=f"2026-11-{day}T07:05:00Z")  # 08:05 each day
    now = "2026-11-23T11:00:00Z"  # 12:00 on the 23rd
    s = summary(now, "--days", "4")["quetiapine"]
    assert figures(s, "due", "taken", "extra") == (4, 4, 0)
    # The prescriber had moved it to the evening from the 22nd.
    ok("med", "change", "quetiapine", "--schedule", "daily 20:00", "--from", "2026-11-22",
       now=now)  # fmt: skip
    # Slots: 20th 08:00, 21st 08:00, 22nd 20:00 (23rd 20:00 is later). The 21st's slot
    # now accepts until the 22nd 20:00 slot opens (17:00), so the 22nd's 08:05 dose is a
    # second dose in an answered window: extra. The 23rd's 08:05 lies in the window of
    # the 22nd's 20:00 slot [17:00 on the 22nd, 17:00 on the 23rd): it answers it, late.
    s = summary(now, "--days", "4")["quetiapine"]
    assert figures(s, "due", "taken", "on_time", "late", "extra") == (3, 3, 2, 1, 1)
    log = json.loads(ok("log", "--days", "4", "--json", now=now).stdout)
    assert [(x["taken_at"][8:16], x["kind"], x["scheduled_for"]) for x in log] == [
        ("20T08:05", "scheduled", "2026-11-20T08:00:00+01:00"),
        ("21T08:05", "scheduled", "2026-11-21T08:00:00+01:00"),
        ("22T08:05", "extra", None),
        ("23T08:05", "scheduled", "2026-11-22T20:00:00+01:00"),
    ]


def test_a_dose_change_keeps_the_days_of_every_n_days_and_every_n_weeks():
    # Every 4 weeks from Friday 30 Oct: 30 Oct, 27 Nov, 25 Dec. Every 2 days from
    # Saturday 31 Oct: ... 20 Nov, 22 Nov, 24 Nov.
    add("paliperidone", "every 4 weeks fri 10:00", "2026-10-30", "--form", "injection")
    add("lithium", "every 2 days 09:00", "2026-10-31")
    now = "2026-11-20T09:00:00Z"  # 10:00 on Friday the 20th
    result = ok("med", "change", "paliperidone", "--dose", "150mg", now=now)
    assert "Next doses: Fri 2026-11-27 10:00, Fri 2026-12-25 10:00" in result.stdout
    result = ok("med", "change", "lithium", "--dose", "400mg", now=now)
    assert "Next doses: Sun 2026-11-22 09:00, Tue 2026-11-24 09:00" in result.stdout
    # A new schedule sets a new rhythm, from its own first day.
    result = ok("med", "change", "lithium", "--schedule", "every 3 days 09:00", "--from",
                "2026-11-21", now=now)  # fmt: skip
    assert "Next doses: Sat 2026-11-21 09:00, Tue 2026-11-24 09:00" in result.stdout
    # The summary judges the injection of 27 Nov as due then, not on 4 Dec.
    s = summary("2026-11-27T12:00:00Z", "--since", "2026-11-27")["paliperidone"]
    assert figures(s, "due", "pending") == (1, 1)


def test_a_change_before_the_first_plan_is_refused_and_changes_nothing():
    add("lamotrigine", "daily 08:00,20:00", "2026-11-01")
    now = "2026-11-20T09:00:00Z"
    before = dump()
    result = run("med", "change", "lamotrigine", "--dose", "50mg", "--from", "2026-10-01", now=now)
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and "cannot take effect before" in result.stderr
    assert dump() == before


def test_plan_changes_are_in_history_and_undo_takes_back_the_latest_whole():
    add("lamotrigine", "daily 08:00,20:00", "2026-11-01")
    ok("take", "lamotrigine", now="2026-11-20T07:05:00Z")  # a dose before the change
    now = "2026-11-20T09:00:00Z"
    ok("med", "change", "lamotrigine", "--dose", "100mg", "--from", "2026-11-15", now=now)
    history = json.loads(ok("history", "--json", now=now).stdout)
    assert [h["action"] for h in history[-3:]] == ["update", "insert", "plan change"]
    result = ok("undo", "--yes", now=now)
    assert result.stdout.startswith("Undid plan change: lamotrigine 50 mg → 100 mg,")
    shown = json.loads(ok("med", "show", "lamotrigine", "--json", now=now).stdout)
    assert [(r["dose"]["amount"], r["ends_at"]) for r in shown["regimens"]] == [(50, None)]
    assert len(json.loads(ok("log", "--json", now=now).stdout)) == 1  # the dose stays
    # Stop, resume and refill are kept too; undo takes them back newest first.
    ok("med", "stop", "lamotrigine", now="2026-11-20T10:00:00Z")
    ok("med", "resume", "lamotrigine", now="2026-11-20T11:00:00Z")
    assert ok("undo", "--yes", now="2026-11-20T11:00:00Z").stdout.startswith(
        "Undid plan change: resume lamotrigine"
    )
    assert json.loads(ok("med", "show", "lamotrigine", "--json", now=now).stdout)["stopped_at"]
    assert ok("undo", "--yes", now="2026-11-20T11:00:00Z").stdout.startswith(
        "Undid plan change: stop lamotrigine"
    )
    shown = json.loads(ok("med", "show", "lamotrigine", "--json", now=now).stdout)
    assert shown["stopped_at"] is None and shown["regimens"][-1]["ends_at"] is None
    ok("med", "refill", "lamotrigine", "--qty", "30", now="2026-11-20T12:00:00Z")
    history = json.loads(ok("history", "--json", now="2026-11-20T12:00:00Z").stdout)
    assert (history[-1]["action"], history[-1]["table"]) == ("insert", "refills")
    assert "refill" in ok("undo", "--yes", now="2026-11-20T12:00:00Z").stdout


def test_installed_medtrack_judges_an_early_dose_the_same(tmp_path):
    """The installed command in a subprocess, clock pinned: an early dose is answered."""
    env = {**os.environ, "MEDTRACK_NOW": SETUP}
    exe = [str(Path(sys.executable).parent / "medtrack")]  # the installed entry point
    for args in (
        ["config", "set", "timezone", "Europe/Berlin"],
        ["med", "add", "quetiapine", "--dose", "25mg", "--schedule", "daily 22:00"],
    ):
        subprocess.run([*exe, *args], env=env, check=True, capture_output=True)
    env["MEDTRACK_NOW"] = "2026-11-19T20:35:00Z"  # 21:35 for the 22:00 slot
    taken = subprocess.run([*exe, "take", "quetiapine"], env=env, capture_output=True, text=True)
    assert taken.stdout.strip() == "quetiapine 25 mg, 22:00 dose, taken 21:35, on time"
    out = subprocess.run(
        [*exe, "summary", "--days", "1", "--json"], env=env, capture_output=True, text=True
    )
    (s,) = json.loads(out.stdout)["medications"]
    assert (s["due"], s["taken"], s["extra"]) == (1, 1, 0)


def test_due_now_is_what_take_accepts_last_nights_dose_and_an_early_one_included():
    add("quetiapine", "daily 22:00")
    add("vitamin d", "daily 09:00")
    add("sertraline", "daily 08:00")
    ok("take", "sertraline", now="2026-11-23T07:00:00Z")  # 08:00 today, taken
    breakfast = "2026-11-23T07:05:00Z"  # 08:05
    today = json.loads(ok("today", "--json", now=breakfast).stdout)
    rows = [(x["date"], x["time"], x["medication"], x["status"]) for x in today["slots"]]
    assert rows == [
        # Last night's 22:00 quetiapine: its window holds now (until 19:00), no record;
        # past its on-time window (60 min), so overdue.
        ("2026-11-22", "22:00", "quetiapine", "overdue"),
        ("2026-11-23", "08:00", "sertraline", "taken"),
        ("2026-11-23", "09:00", "vitamin d", "later"),
        ("2026-11-23", "22:00", "quetiapine", "later"),
    ]
    text = ok("today", now=breakfast).stdout
    assert "yesterday 22:00  quetiapine" in text
    # take --due takes exactly what take would accept now: last night's dose (named as
    # such) and the 09:00 vitamin, 55 minutes early and on time.
    lines = sorted(ok("take", "--due", now=breakfast).stdout.strip().splitlines())
    assert lines == [
        "quetiapine 50 mg, yesterday 22:00 dose, taken 08:05, late by 10 h 5 min",
        "vitamin d 50 mg, 09:00 dose, taken 08:05, on time",
    ]
    assert ok("take", "--due", now=breakfast).stdout.strip() == "Nothing is due now."
