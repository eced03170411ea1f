"""Daylio's CSV export: one row per mood entry.

The header names the columns: ``full_date,date,weekday,time,mood,activities,note_title,
note``, or the older seven-column form without ``note_title``. ``full_date`` is
YYYY-MM-DD, ``time`` a wall time (``21:30`` or ``9:30 PM``) in the zone the person was in,
``activities`` zero or more labels separated by ``|``.

Each entry becomes the symptom ``mood`` on medtrack's 0-10 rating scale. Daylio's five
default moods are five evenly spaced steps, mapped linearly onto 0-10:

    rad 10, good 7.5, meh 5, bad 2.5, awful 0

An entry with a mood of another name (Daylio lets people rename and add moods) is not
imported and is reported with its name. Activities, the note title and the note are kept
together as the symptom's note.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime, time
from types import MappingProxyType

from medtrack.core.health import check_symptom_value
from medtrack.core.importers import ImportedSymptom, ImportPlan, Localize, clean_note
from medtrack.errors import BadValue

MOOD_SCALE = MappingProxyType({"rad": 10.0, "good": 7.5, "meh": 5.0, "bad": 2.5, "awful": 0.0})
COLUMNS = ("full_date", "date", "weekday", "time", "mood", "activities", "note_title", "note")
OLD_COLUMNS = ("full_date", "date", "weekday", "time", "mood", "activities", "note")
_REQUIRED = ("full_date", "time", "mood")
_CLOCK = re.compile(r"(\d{1,2}):(\d{2})(?::\d{2})?\s*([ap]\.?m\.?)?", re.IGNORECASE)


def parse_csv(text: str, *, localize: Localize) -> ImportPlan:
    """The plan of a Daylio CSV export (the file's text)."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    try:
        header = next(reader)
    except StopIteration:
        raise BadValue(
            "the Daylio CSV is empty; expected the header " + ",".join(COLUMNS)
        ) from None
    except csv.Error as exc:
        raise BadValue(f"line 1: unreadable CSV ({exc})") from None
    names = [h.strip().lstrip("\ufeff").lower() for h in header]
    missing = [n for n in _REQUIRED if n not in names]
    if missing:
        raise BadValue(
            "not a Daylio export: the first line must name the columns "
            f"{','.join(COLUMNS)} (or the older seven without note_title); "
            f"got '{','.join(header)[:120]}'"
        )
    plan = ImportPlan(source="daylio")
    try:
        for cells in reader:
            number = reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) != len(names):
                raise BadValue(f"line {number}: {len(cells)} values for {len(names)} columns")
            row = dict(zip(names, cells, strict=True))
            _entry(plan, f"line {number}", row, localize)
    except csv.Error as exc:
        raise BadValue(f"line {reader.line_num}: unreadable CSV ({exc})") from None
    return plan


def _entry(plan: ImportPlan, where: str, row: dict[str, str], localize: Localize) -> None:
    if "\x00" in "".join(row.values()):
        raise BadValue(f"{where}: contains a NUL character")
    day = _day(row["full_date"].strip(), where)
    clock = _clock(row["time"].strip(), where)
    mood = " ".join(row["mood"].split())
    value = MOOD_SCALE.get(mood.casefold())
    if value is None:
        plan.skip(where, "entry", f"mood '{mood}' is not one of Daylio's five default moods")
        return
    activities = [a.strip() for a in row.get("activities", "").split("|") if a.strip()]
    note = clean_note(
        f"Daylio mood: {mood}",
        f"activities: {', '.join(activities)}" if activities else None,
        row.get("note_title"),
        row.get("note"),
    )
    plan.symptoms.append(
        ImportedSymptom(
            where=where,
            name="mood",
            value=check_symptom_value(value, None),
            unit=None,
            at=localize(datetime.combine(day, clock)),
            note=note,
        )
    )


def _day(text: str, where: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise BadValue(f"{where}: full_date must be a date like 2026-11-22, got '{text}'") from None


def _clock(text: str, where: str) -> time:
    match = _CLOCK.fullmatch(text)
    form = f"{where}: time must be a clock time like 21:30 or 9:30 PM, got '{text}'"
    if match is None:
        raise BadValue(form)
    hour, minute, meridiem = int(match[1]), int(match[2]), match[3]
    if meridiem:
        if not 1 <= hour <= 12:
            raise BadValue(form)
        hour = hour % 12 + (12 if meridiem.lower().startswith("p") else 0)
    if hour > 23 or minute > 59:
        raise BadValue(form)
    return time(hour, minute)
