"""Plain, JSON-ready views of records, shared by tables, --json and reports."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from medtrack.core.models import Medication, Regimen
from medtrack.core.schedule import ZoneTimeline, describe, times_text


def local_text(instant: datetime | None, zones: ZoneTimeline, *, date_only: bool = False) -> str:
    """An instant as the person reads it: local wall time in the zone in force then, with
    that zone's place when it is not the zone in force now (`2026-06-09 08:00 Berlin`)."""
    if instant is None:
        return ""
    local = instant.astimezone(zones.zone_at(instant))
    if date_only:
        return local.strftime("%Y-%m-%d")
    return local.strftime("%Y-%m-%d %H:%M") + zones.label(instant)


def iso_local(instant: datetime | None, zones: ZoneTimeline) -> str | None:
    if instant is None:
        return None
    return instant.astimezone(zones.zone_at(instant)).isoformat()


def schedule_words(regimen: Regimen) -> str:
    return describe(
        regimen.schedule, max_per_day=regimen.max_per_day, min_interval=regimen.min_interval
    )


def regimen_dict(regimen: Regimen, zones: ZoneTimeline) -> dict[str, Any]:
    return {
        "starts_at": iso_local(regimen.starts_at, zones),
        "ends_at": iso_local(regimen.ends_at, zones),
        "dose": {"amount": regimen.dose.amount, "unit": regimen.dose.unit},
        "dose_text": str(regimen.dose),
        "schedule": schedule_words(regimen),
        "rrule": regimen.schedule.rrule,
        "times": times_text(regimen.schedule.times).split(",") if regimen.schedule.times else [],
        "as_needed": regimen.schedule.as_needed,
        "max_per_day": regimen.max_per_day,
        "min_interval_minutes": None
        if regimen.min_interval is None
        else int(regimen.min_interval.total_seconds() // 60),
        "on_time_window_minutes": None
        if regimen.on_time_window is None
        else int(regimen.on_time_window.total_seconds() // 60),
        "units_per_dose": regimen.units_per_dose,
        "reason": regimen.reason,
    }


def medication_dict(
    med: Medication, zones: ZoneTimeline, now: datetime, *, history: bool = False
) -> dict[str, Any]:
    """What `med list --json` and `med show --json` print for one medication: `current`
    is the regimen in force now, else (before the start) the first planned one, else (a
    stopped medication) the last; `planned` the steps that start after `current`."""
    upcoming = [r for r in med.regimens if r.starts_at > now] if med.stopped_at is None else []
    current = med.regimen_at(now) or (upcoming[0] if upcoming else med.current_regimen)
    since = med.regimens[0].starts_at if med.regimens else med.created_at
    value: dict[str, Any] = {
        "name": med.name,
        "kind": med.kind,
        "form": med.form,
        "purpose": med.purpose,
        "prescriber": med.prescriber,
        "controlled": med.controlled,
        "notes": med.notes,
        "since": iso_local(since, zones),
        "stopped_at": iso_local(med.stopped_at, zones),
        "stop_reason": med.stop_reason,
        "active": med.stopped_at is None,
        "current": regimen_dict(current, zones) if current else None,
        # Steps that start later than now (a titration, or the start itself), in order.
        "planned": [regimen_dict(r, zones) for r in upcoming if r is not current],
    }
    if history:
        value["regimens"] = [regimen_dict(r, zones) for r in med.regimens]
    return value
