"""MedTimer (Futsch1/medTimer, Android): its JSON backup and its CSV event export.

The JSON backup is either the combined file (``{"medicines": {...}, "events": {"version":
N, "list": [...]}, "settings": {...}}``) or the older file of events alone (``{"version":
N, "list": [...]}``). Each event (ReminderEventBackup) has medicineName, amount (free text
such as "1" or "50 mg"), status (RAISED, TAKEN, SKIPPED, DELETED, ACKNOWLEDGED),
remindedTimestamp and processedTimestamp (seconds since the epoch, UTC), notes and
reminderType.

The CSV event export is semicolon-separated, one header line in the phone's language and
nine columns in a fixed order: reminded (local text), name, dosage, taken (local text,
empty unless taken), tags, interval, notes, reminded (ISO 8601), taken (ISO 8601). The
columns are read by position and the times from the two ISO 8601 columns (UTC instants),
never from the localized ones. The export does not say whether an event without a taken
time was skipped or never answered, so those are reported, not recorded.

Mapping: TAKEN is a dose taken at the time it was marked taken; SKIPPED is a skipped dose
at the time of the reminder; RAISED (never answered), DELETED and ACKNOWLEDGED are not
imported. A medication the profile lacks is created with a plan inferred from the local
times of its reminders (a daily plan when the same clock times recur on most days), or as
needed when no regular times can be told; the dry run says which.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from medtrack.core.importers import (
    ImportedDose,
    ImportedMedication,
    ImportPlan,
    PlanStep,
    clean_note,
)
from medtrack.core.meds import parse_dose
from medtrack.core.models import Dose, Schedule
from medtrack.errors import BadDose, BadValue

STATUSES = ("RAISED", "TAKEN", "SKIPPED", "DELETED", "ACKNOWLEDGED")
_NOT_IMPORTED = {
    "RAISED": "reminder never answered",
    "DELETED": "deleted in MedTimer",
    "ACKNOWLEDGED": "acknowledged, neither taken nor skipped",
}
# Reminders about stock, expiry and refills are not doses.
_DOSE_REMINDER_TYPES = ("TIME_BASED", "LINKED", "CONTINUOUS_INTERVAL", "WINDOWED_INTERVAL")
# A clock time is part of the inferred plan when its reminders came on at least this share
# of the days with any reminder of that medicine, over at least _MIN_DAYS days.
_REGULAR_SHARE = 0.6
_MIN_DAYS = 3
_DEFAULT_DOSE = Dose(1.0, "dose")
CSV_COLUMNS = 9


@dataclass(frozen=True)
class MedTimerEvent:
    """One reminder event, read but not yet mapped."""

    where: str
    medicine: str
    amount: str
    status: str
    reminded: datetime
    processed: datetime | None
    notes: str
    reminder_type: str = "TIME_BASED"


def parse_backup(doc: Any, *, local: Callable[[datetime], datetime]) -> ImportPlan:
    """The plan of a MedTimer JSON backup (parsed JSON). `local` gives an instant's wall
    time in the person's zone of that moment (to infer plans from reminder times)."""
    if not isinstance(doc, dict):
        raise BadValue("not a MedTimer backup: expected a JSON object")
    events_part = doc.get("events", doc if "list" in doc else None)
    if not isinstance(events_part, dict) or not isinstance(events_part.get("list"), list):
        raise BadValue(
            'not a MedTimer backup: expected "events": {"version": N, "list": [...]} '
            '(or {"version": N, "list": [...]} of events)'
        )
    events = [_event(n, item) for n, item in enumerate(events_part["list"], start=1)]
    return plan_from_events(events, local=local)


def _event(number: int, item: Any) -> MedTimerEvent:
    where = f"event {number}"
    if not isinstance(item, dict):
        raise BadValue(f"{where}: expected an object")
    name = item.get("medicineName")
    if not isinstance(name, str) or not " ".join(name.split()):
        raise BadValue(f"{where}: medicineName is missing")
    status = item.get("status")
    if status not in STATUSES:
        raise BadValue(f"{where}: status must be one of {', '.join(STATUSES)}, got {status!r}")
    reminded = _epoch(item.get("remindedTimestamp"), where, "remindedTimestamp")
    processed_value = item.get("processedTimestamp", 0)
    processed = (
        None
        if processed_value in (0, None)
        else _epoch(processed_value, where, "processedTimestamp")
    )
    for key in ("amount", "notes"):
        if item.get(key) is not None and not isinstance(item.get(key), str):
            raise BadValue(f"{where}: {key} must be text, got {item.get(key)!r}")
    reminder_type = item.get("reminderType", "TIME_BASED")
    return MedTimerEvent(
        where=where,
        medicine=" ".join(name.split()),
        amount=item.get("amount") or "",
        status=status,
        reminded=reminded,
        processed=processed,
        notes=item.get("notes") or "",
        reminder_type=reminder_type if isinstance(reminder_type, str) else "TIME_BASED",
    )


def _epoch(value: Any, where: str, key: str) -> datetime:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise BadValue(f"{where}: {key} must be seconds since 1970, got {value!r}")
    if value > 10**11:  # milliseconds, as some versions and hand-made files have it
        value = value / 1000
    try:
        at = datetime.fromtimestamp(int(value), tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise BadValue(f"{where}: {key} {value!r} is not a time") from None
    if at.year < 2000:
        raise BadValue(f"{where}: {key} {value!r} is before 2000")
    return at


def parse_csv(text: str, *, local: Callable[[datetime], datetime]) -> ImportPlan:
    """The plan of a MedTimer CSV event export (the file's text)."""
    lines = text.lstrip("\ufeff").splitlines()
    if not lines or not lines[0].strip():
        raise BadValue("the MedTimer CSV is empty")
    header = lines[0].split(";")
    if len(header) < CSV_COLUMNS or "ISO 8601" not in header[-1] or "ISO 8601" not in header[-2]:
        raise BadValue(
            "not a MedTimer event export: expected nine ';'-separated columns ending in "
            f"two '(ISO 8601)' columns; got '{lines[0][:120]}'"
        )
    events: list[MedTimerEvent] = []
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        events.append(_csv_event(number, line))
    return plan_from_events(events, local=local)


def _csv_event(number: int, line: str) -> MedTimerEvent:
    where = f"line {number}"
    # MedTimer writes cells unquoted, so a note may itself hold ';': the first six and the
    # last two cells have fixed meanings and the note is whatever lies between.
    cells = line.split(";")
    if len(cells) < CSV_COLUMNS:
        raise BadValue(f"{where}: {len(cells)} values, expected {CSV_COLUMNS}")
    name, amount = " ".join(cells[1].split()), cells[2].strip()
    notes = ";".join(cells[6:-2])
    reminded_text, taken_text = cells[-2].strip(), cells[-1].strip()
    if not name:
        raise BadValue(f"{where}: the medicine name is empty")
    reminded = _iso(reminded_text, where, "reminded")
    taken = _iso(taken_text, where, "taken") if taken_text else None
    return MedTimerEvent(
        where=where,
        medicine=name,
        amount=amount,
        status="TAKEN" if taken else "NOT_TAKEN",
        reminded=reminded,
        processed=taken,
        notes=notes.strip(),
    )


def _iso(text: str, where: str, what: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise BadValue(
            f"{where}: {what} time '{text}' is not ISO 8601 (e.g. 2026-11-02T07:00:00Z)"
        ) from None
    if value.tzinfo is None:
        raise BadValue(f"{where}: {what} time '{text}' has no UTC offset")
    return value.astimezone(UTC).replace(microsecond=0)


def plan_from_events(
    events: Iterable[MedTimerEvent], *, local: Callable[[datetime], datetime]
) -> ImportPlan:
    """Doses for TAKEN and SKIPPED events, medications with inferred plans, and every other
    event counted as not imported with its reason."""
    plan = ImportPlan(source="medtimer")
    by_medicine: dict[str, list[MedTimerEvent]] = {}
    for event in events:
        if event.reminder_type not in _DOSE_REMINDER_TYPES:
            plan.skip(event.where, "event", f"{event.reminder_type.lower()} reminder, not a dose")
            continue
        by_medicine.setdefault(event.medicine.casefold(), []).append(event)
        if event.status == "TAKEN":
            at = event.processed or event.reminded
            status = "taken"
        elif event.status == "SKIPPED":
            at, status = event.reminded, "skipped"
        elif event.status == "NOT_TAKEN":
            plan.skip(
                event.where,
                "event",
                "no taken time: skipped or never answered, the CSV does not say which",
            )
            continue
        else:
            plan.skip(event.where, "event", _NOT_IMPORTED[event.status])
            continue
        amount = _amount(event.amount)
        note = clean_note(
            event.notes,
            None
            if amount is not None or not event.amount.strip()
            else f"amount in MedTimer: {event.amount.strip()}",
        )
        plan.doses.append(
            ImportedDose(
                where=event.where,
                medication=event.medicine,
                at=at,
                status=status,
                amount=amount if status == "taken" else None,
                note=note,
            )
        )
    for group in by_medicine.values():
        plan.medications.append(_medication(group, local))
    return plan


def _amount(text: str) -> Dose | None:
    """MedTimer's free amount text as a dose: '50 mg' as typed, a bare number as that many
    doses; None when it cannot be read ('half a pill')."""
    cleaned = text.strip()
    if not cleaned:
        return None
    try:
        return parse_dose(cleaned)
    except BadDose:
        pass
    try:
        number = float(cleaned.replace(",", "."))
    except ValueError:
        return None
    return Dose(number, "dose") if math.isfinite(number) and number > 0 else None


def _medication(
    events: list[MedTimerEvent], local: Callable[[datetime], datetime]
) -> ImportedMedication:
    name = events[0].medicine
    amounts = Counter(a for a in (_amount(e.amount) for e in events) if a is not None)
    dose = amounts.most_common(1)[0][0] if amounts else _DEFAULT_DOSE
    first = min(min(e.reminded, e.processed or e.reminded) for e in events)
    times, days = regular_times(local(e.reminded) for e in events)
    # The plan starts at the first event's local midnight, so every imported dose lies in it.
    start = _local_midnight(first, local)
    if times:
        schedule = Schedule(rrule="FREQ=DAILY", times=times)
        shown = ",".join(t.strftime("%H:%M") for t in times)
        words = (
            f"{dose}, daily {shown}, inferred from the reminder times "
            f"({len(events)} reminders on {days} days)"
        )
    else:
        schedule = Schedule(rrule=None, times=(), as_needed=True)
        why = (
            f"reminders on only {days} day{'s' if days != 1 else ''}"
            if days < _MIN_DAYS
            else "no clock time recurs on most days"
        )
        words = f"{dose}, as needed ({why}; change it with 'medtrack med change')"
    return ImportedMedication(
        name=name,
        steps=(PlanStep(dose=dose, schedule=schedule, starts_at=start),),
        plan_words=words,
    )


def _local_midnight(instant: datetime, local: Callable[[datetime], datetime]) -> datetime:
    # `local` gives an aware wall time in a ZoneInfo zone: replacing the clock keeps the
    # zone, whose offset at midnight is its own (a DST change that day is accounted for).
    return local(instant).replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)


def regular_times(walls: Iterable[datetime]) -> tuple[tuple[time, ...], int]:
    """The clock times (HH:MM) that recur on at least 60% of the days with reminders, over
    at least three days, and the number of those days."""
    days_by_time: dict[time, set[date]] = {}
    all_days: set[date] = set()
    for wall in walls:
        clock = time(wall.hour, wall.minute)
        days_by_time.setdefault(clock, set()).add(wall.date())
        all_days.add(wall.date())
    if len(all_days) < _MIN_DAYS:
        return (), len(all_days)
    regular = sorted(
        t for t, days in days_by_time.items() if len(days) >= _REGULAR_SHARE * len(all_days)
    )
    return tuple(regular), len(all_days)
