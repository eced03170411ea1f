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
from medtrack.core.models import Dose, Medication, Regimen, ZoneChange
from medtrack.core.schedule import ZoneTimeline, expand, parse_schedule
from medtrack.core.slots import medication_slots
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


# --- issue 18: three readers, a year, both DST changes, a move ---------------------------

BERLIN_THEN_NEW_YORK = ZoneTimeline(
    "Europe/Berlin", [ZoneChange(datetime(2026, 9, 1, 12, tzinfo=UTC), "America/New_York")]
)
NEW_YORK_THEN_BERLIN = ZoneTimeline(
    "America/New_York", [ZoneChange(datetime(2026, 6, 10, 3, tzinfo=UTC), "Europe/Berlin")]
)
YEAR = (datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))


def read_with_icalendar(data: bytes, start: datetime, end: datetime) -> list[datetime]:
    return sorted(s for e in parse(data).walk("VEVENT") for s in event_slots(e, start, end))


def read_with_recurring_ical_events(data: bytes, start: datetime, end: datetime) -> list[datetime]:
    import recurring_ical_events

    events = recurring_ical_events.of(parse(data)).between(start, end)
    return sorted(e.decoded("dtstart").astimezone(UTC) for e in events)


def read_with_vobject(data: bytes, start: datetime, end: datetime) -> list[datetime]:
    """vobject builds each zone from the file's own VTIMEZONE (dateutil's tzical), so
    this is the reader that checks the VTIMEZONE medtrack writes. vobject leaves a wall
    time inside a spring-forward gap as it is (its offset then is the summer one, an
    hour early); RFC 5545 3.3.5 moves it forward by the gap, as a calendar program does
    and as the icalendar reader above does: `resolve_imaginary`."""
    import vobject
    from dateutil.tz.tz import _tzicalvtz

    # vobject keeps the first zone it met under each TZID for the whole process (and
    # falls back to pytz): forget them, so this file's own VTIMEZONE is the one read.
    registry = vars(vobject.icalendar)["__tzidMap"]
    registry.clear()
    vobject.icalendar.registerTzid("UTC", vobject.icalendar.utc)
    calendar = vobject.readOne(data.decode())
    slots = []
    for event in calendar.vevent_list:
        first = event.dtstart.value
        assert isinstance(first.tzinfo, _tzicalvtz) or first.utcoffset() == timedelta(0)
        rules = event.getrruleset(addRDate=True)
        for wall in rules.between(start - timedelta(days=2), end + timedelta(days=2), inc=True):
            instant = resolve_imaginary(wall).astimezone(UTC)
            if start <= instant < end:
                slots.append(instant)
    return sorted(slots)


READERS = {
    "icalendar": read_with_icalendar,
    "recurring-ical-events": read_with_recurring_ical_events,
    "vobject": read_with_vobject,
}


def medtrack_slots(medication: Medication, zones: ZoneTimeline) -> list[datetime]:
    """medtrack's own slots, from the core function every command uses."""
    return [slot.at for slot in medication_slots(medication, *YEAR, zones)]


@pytest.mark.parametrize("reader", sorted(READERS))
@pytest.mark.parametrize(
    "zones", [BERLIN_THEN_NEW_YORK, NEW_YORK_THEN_BERLIN], ids=["west", "east"]
)
@pytest.mark.parametrize(
    "schedule",
    [
        "daily 08:00,21:00",
        "daily 02:30",  # the spring-forward gap in both zones
        "daily 01:30",  # the fall-back hour in both zones
        "every 2 days 09:00",
        "mon,wed,fri 23:30",
        "every 8h from 06:00",
    ],
)
def test_every_occurrence_of_a_year_matches_medtrack(reader, zones, schedule):
    regimen = Regimen(
        "m", Dose(50, "mg"), parse_schedule(schedule), datetime(2025, 12, 1, tzinfo=UTC)
    )
    medication = Medication("m", regimens=(regimen,), id=1)
    data = calendar_ics([medication], zones, NOW)
    expected = medtrack_slots(medication, zones)
    assert len(expected) > 150
    assert READERS[reader](data, *YEAR) == expected


def test_vtimezone_onsets_are_local_times_before_the_change_one_date_a_line():
    medication = med("m", "daily 08:00", berlin(2026, 1, 14))
    text = calendar_ics([medication], BERLIN_THEN_NEW_YORK, NOW).decode()
    assert "," not in "".join(x for x in text.splitlines() if x.startswith(("RDATE", " ")))
    zones = {tz["tzid"]: tz for tz in parse(text.encode()).walk("VTIMEZONE")}
    assert sorted(zones) == ["America/New_York", "Europe/Berlin"]
    rules = {
        (str(o["tzname"]), o.decoded("dtstart"), o["rrule"].to_ical().decode())
        for tz in zones.values()
        for o in tz.subcomponents
        if "rrule" in o
    }
    # Berlin: 02:00 CET becomes 03:00 CEST; 03:00 CEST becomes 02:00 CET (RFC 5545
    # 3.6.5: the onset is the local time before the change). New York: 02:00 both ways.
    assert rules >= {
        ("CEST", datetime(2026, 3, 29, 2, 0), "FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3"),
        ("CET", datetime(2026, 10, 25, 3, 0), "FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10"),
        ("EDT", datetime(2026, 3, 8, 2, 0), "FREQ=YEARLY;BYDAY=2SU;BYMONTH=3"),
        ("EST", datetime(2026, 11, 1, 2, 0), "FREQ=YEARLY;BYDAY=1SU;BYMONTH=11"),
    }


def test_a_move_splits_the_events_and_the_alarms_follow():
    medication = med("m", "daily 08:00", berlin(2026, 1, 14))
    cal = parse(calendar_ics([medication], BERLIN_THEN_NEW_YORK, NOW))
    events = sorted(cal.walk("VEVENT"), key=lambda e: e.decoded("dtstart").astimezone(UTC))
    assert [
        (e["dtstart"].params["TZID"], e.decoded("dtstart").replace(tzinfo=None)) for e in events
    ] == [
        ("Europe/Berlin", datetime(2026, 1, 14, 8, 0)),
        ("America/New_York", datetime(2026, 9, 2, 8, 0)),
    ]
    # The Berlin event ends before the move (1 Sep 12:00 UTC); its alarm with it.
    assert events[0]["rrule"]["UNTIL"] == [datetime(2026, 9, 1, 11, 59, 59, tzinfo=UTC)]
    assert "UNTIL" not in events[1]["rrule"]
    assert len({e["uid"] for e in events}) == 2
    assert all(len(list(e.walk("VALARM"))) == 1 for e in events)


@pytest.mark.parametrize(
    "zone", ["UTC", "Asia/Tokyo", "Australia/Sydney", "Africa/Casablanca", "America/Santiago"]
)
def test_zones_without_dst_or_with_irregular_rules_read_right_in_vobject(zone):
    # Sydney changes in the other half of the year; Casablanca's changes follow Ramadan
    # (no yearly rule: every change is listed); Santiago changes on Saturday nights.
    regimen = Regimen("m", Dose(1, "mg"), parse_schedule("daily 08:00,23:30"), YEAR[0])
    medication = Medication("m", regimens=(regimen,), id=1)
    zones = ZoneTimeline(zone)
    data = calendar_ics([medication], zones, NOW)
    assert read_with_vobject(data, *YEAR) == medtrack_slots(medication, zones)
