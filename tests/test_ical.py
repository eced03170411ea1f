"""iCalendar export: parsed back with icalendar and expanded with dateutil, the events give
the same slots as core.schedule.expand (across DST), with alarms; file 0600."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pytest
from dateutil.rrule import rrulestr
from dateutil.tz import resolve_imaginary
from typer.testing import CliRunner

from medtrack.cli import app
from medtrack.core.models import Dose, Medication, Regimen
from medtrack.core.schedule import ZoneTimeline, expand, parse_schedule
from medtrack.render.ical import calendar_ics

runner = CliRunner()
BERLIN = ZoneTimeline("Europe/Berlin")
NOW = datetime(2026, 11, 23, 13, 30, tzinfo=UTC)


def parse(data: bytes):
    from icalendar import Calendar

    return Calendar.from_ical(data)


def event_slots(event, start: datetime, end: datetime) -> list[datetime]:
    """Instants of one parsed VEVENT in [start, end), as a calendar program reads them:
    wall-clock recurrence in DTSTART's zone, nonexistent times moved forward."""
    dtstart = event.decoded("dtstart")
    rule = rrulestr(event["rrule"].to_ical().decode(), dtstart=dtstart, cache=False)
    result = []
    for wall in rule.between(start - timedelta(days=2), end + timedelta(days=2), inc=True):
        instant = resolve_imaginary(wall.replace(fold=0)).astimezone(UTC)
        if start <= instant < end:
            result.append(instant)
    return result


def calendar_slots(data: bytes, summary: str, start: datetime, end: datetime) -> list[datetime]:
    events = [e for e in parse(data).walk("VEVENT") if str(e["summary"]) == summary]
    return sorted(s for e in events for s in event_slots(e, start, end))


def expected_slots(med: Medication, start: datetime, end: datetime) -> list[datetime]:
    slots = []
    for regimen in med.regimens:
        lo, hi = max(start, regimen.starts_at), min(end, regimen.ends_at or end)
        anchor = regimen.starts_at.astimezone(BERLIN.zone_at(regimen.starts_at)).date()
        slots += expand(regimen.schedule, anchor=anchor, start=lo, end=hi, zones=BERLIN)
    return sorted(slots)


def med(name: str, schedule: str, start: datetime, end: datetime | None = None) -> Medication:
    regimen = Regimen(name, Dose(50, "mg"), parse_schedule(schedule), start, end)
    return Medication(name, regimens=(regimen,), id=1)


def berlin(*args: int) -> datetime:
    from zoneinfo import ZoneInfo

    return datetime(*args, tzinfo=ZoneInfo("Europe/Berlin"))


@pytest.mark.parametrize(
    "schedule",
    [
        "daily 08:00",
        "daily 08:00,20:30",  # two times: no 08:30 or 20:00 from a BYHOUR x BYMINUTE product
        "daily 02:30",  # through both DST nights
        "every 2 days 09:00",
        "mon,wed,fri 21:00",
        "every 4 weeks mon 10:00",
        "monthly 31 09:00",
        "every 8h from 06:00",
        "RRULE:FREQ=WEEKLY;BYDAY=TU,SA;BYHOUR=7,19;BYMINUTE=15",
    ],
)
def test_parsed_file_gives_the_same_slots_as_expand(schedule):
    # Starts mid-afternoon on a Wednesday: slots earlier that day are not part of it.
    medication = med("m", schedule, berlin(2026, 1, 14, 15, 0))
    data = calendar_ics([medication], BERLIN, NOW)
    start, end = berlin(2026, 1, 1), berlin(2027, 1, 1)
    expected = expected_slots(medication, start, end)
    assert expected  # the comparison is about something
    assert calendar_slots(data, "m 50 mg", start, end) == expected


def test_dst_slots_are_exact():
    data = calendar_ics([med("m", "daily 02:30", berlin(2026, 3, 1))], BERLIN, NOW)
    slots = calendar_slots(data, "m 50 mg", berlin(2026, 3, 28), berlin(2026, 3, 31))
    # 28 Mar 02:30 CET, 29 Mar 03:30 CEST (02:30 does not exist), 30 Mar 02:30 CEST.
    assert slots == [
        datetime(2026, 3, 28, 1, 30, tzinfo=UTC),
        datetime(2026, 3, 29, 1, 30, tzinfo=UTC),
        datetime(2026, 3, 30, 0, 30, tzinfo=UTC),
    ]


def test_structure_zone_until_alarm_and_as_needed_left_out():
    changed_at = berlin(2026, 11, 15, 0, 0)
    first = Regimen(
        "lamotrigine",
        Dose(25, "mg"),
        parse_schedule("daily 08:00,20:00"),
        berlin(2026, 11, 1),
        changed_at,
        id=1,
    )
    second = Regimen(
        "lamotrigine", Dose(50, "mg"), parse_schedule("daily 08:00,20:00"), changed_at, id=2
    )
    lamotrigine = Medication("lamotrigine", regimens=(first, second), id=1)
    lorazepam = med("lorazepam", "as needed", berlin(2026, 11, 1))
    cal = parse(calendar_ics([lamotrigine, lorazepam], BERLIN, NOW))
    events = list(cal.walk("VEVENT"))
    assert (
        sorted(str(e["summary"]) for e in events)
        == ["lamotrigine 25 mg"] * 2 + ["lamotrigine 50 mg"] * 2
    )
    assert [tz["tzid"] for tz in cal.walk("VTIMEZONE")] == ["Europe/Berlin"]
    for event in events:
        assert event["dtstart"].params["TZID"] == "Europe/Berlin"
        (alarm,) = event.walk("VALARM")
        assert alarm["action"] == "DISPLAY" and alarm.decoded("trigger") == timedelta(0)
        assert "medtrack take lamotrigine" in str(event["description"])
    old = [e for e in events if str(e["summary"]) == "lamotrigine 25 mg"]
    # UNTIL is in UTC: the last second before the change (14 Nov 23:00Z is midnight Berlin).
    assert {e["rrule"]["UNTIL"][0] for e in old} == {datetime(2026, 11, 14, 22, 59, 59, tzinfo=UTC)}
    assert len({e["uid"] for e in events}) == 4
    # The 25 mg regimen ends before 15 Nov: no 25 mg slot on 15 Nov, two 50 mg slots.
    day = (berlin(2026, 11, 15), berlin(2026, 11, 16))
    raw = calendar_ics([lamotrigine], BERLIN, NOW)
    assert calendar_slots(raw, "lamotrigine 25 mg", *day) == []
    assert len(calendar_slots(raw, "lamotrigine 50 mg", *day)) == 2


def test_uids_are_stable_across_exports():
    medication = med("m", "daily 08:00", berlin(2026, 1, 14))
    first = [e["uid"] for e in parse(calendar_ics([medication], BERLIN, NOW)).walk("VEVENT")]
    later = NOW + timedelta(days=3)
    again = [e["uid"] for e in parse(calendar_ics([medication], BERLIN, later)).walk("VEVENT")]
    assert first == again


def test_export_command_writes_0600(tmp_path, monkeypatch):
    monkeypatch.setenv("MEDTRACK_NOW", "2026-11-23T14:30:00+01:00")
    for args in (
        ["sertraline", "--dose", "50mg", "--schedule", "daily 08:00"],
        ["lorazepam", "--dose", "0.5mg", "--schedule", "as needed"],
    ):
        assert runner.invoke(app, ["med", "add", *args]).exit_code == 0
    target = tmp_path / "meds.ics"
    result = runner.invoke(app, ["export", "--format", "ics", "-o", str(target)])
    assert result.exit_code == 0, result.output
    assert oct(target.stat().st_mode & 0o777) == "0o600"
    events = list(parse(target.read_bytes()).walk("VEVENT"))
    assert [str(e["summary"]) for e in events] == ["sertraline 50 mg"]
    assert event_slots(events[0], berlin(2026, 11, 23), berlin(2026, 11, 25)) == [
        datetime(2026, 11, 23, 7, tzinfo=UTC),
        datetime(2026, 11, 24, 7, tzinfo=UTC),
    ]
    # An existing file is replaced whole and keeps its permissions: they are the
    # person's, not medtrack's (issue 17); only a file medtrack creates is made 0600.
    target.chmod(0o644)
    assert runner.invoke(app, ["export", "--format", "ics", "-o", str(target)]).exit_code == 0
    assert oct(target.stat().st_mode & 0o777) == "0o644"
    assert not [name for name in os.listdir(tmp_path) if name.startswith(".meds")]
    # Without -o it goes to stdout; an unknown format is a usage error.
    assert runner.invoke(app, ["export", "--format", "ics"]).stdout.startswith("BEGIN:VCALENDAR")
    bad = runner.invoke(app, ["export", "--format", "docx", "-o", str(tmp_path / "x")])
    assert bad.exit_code == 2 and not (tmp_path / "x").exists()
