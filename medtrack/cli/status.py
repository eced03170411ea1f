"""`medtrack status`: one short line for a status bar (tmux, waybar, polybar, starship).

Run every few seconds by a status bar, so it is as light as `take`: no rich, no summary
figures, one read of the slots and records around now. What is due is what
`core.slots.judge` says of each slot (pending or overdue): there is no second definition.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any

import typer

from medtrack.cli import common

if TYPE_CHECKING:
    from medtrack.core.models import Medication
    from medtrack.core.schedule import ZoneTimeline
    from medtrack.core.slots import JudgedSlot

status_app = typer.Typer(add_completion=False)

# How far ahead to look for the next dose: past the longest gap of the usual schedules
# (monthly, every 4 weeks), so a monthly injection still shows when it is next.
NEXT_HORIZON = timedelta(days=35)
NEAR = timedelta(days=2)
DUE = ("pending", "overdue")
EXIT_NOTHING_DUE = 0
EXIT_SOMETHING_DUE = 1


def judged_around(now: datetime) -> tuple[list[JudgedSlot], ZoneTimeline]:
    """Every active scheduled medication's slots from the one holding now up to the
    horizon, judged against their records, in time order."""
    from medtrack.cli.doses import setting_number
    from medtrack.core.slots import judge, record_span, slots_touching
    from medtrack.store import doses, repo

    with common.unit_of_work() as conn:
        zones = common.zones(conn)
        meds = [m for m in repo.load_medications(conn, include_stopped=False) if _scheduled(m, now)]
        end = now + NEXT_HORIZON
        slots = {}
        for med in meds:
            # Two days ahead hold the next dose of all but sparse schedules (weekly,
            # monthly), which look as far as the horizon.
            near = slots_touching(med, now, now + NEAR, zones)
            if not any(slot.at > now for slot in near):
                near = slots_touching(med, now, end, zones)
            slots[med.name] = near
        every = [s for each in slots.values() for s in each]
        if not every:
            return [], zones
        lo, hi = record_span(every, now, end)
        records = doses.doses_between(conn, lo, hi, [m.id for m in meds if m.id is not None])
        window = timedelta(minutes=setting_number(conn, "on_time_window"))
    judged = [
        item
        for med in meds
        for item in judge(med, slots[med.name], records, now, window).slots
        if item.slot.closes > now
    ]
    return sorted(judged, key=lambda j: (j.slot.at, j.slot.medication)), zones


def _scheduled(med: Medication, now: datetime) -> bool:
    """Not taken as needed now (a plan that starts later counts: its first dose is next)."""
    regimen = med.regimen_at(now)
    return regimen is None or not regimen.schedule.as_needed


def _when(at: datetime, now: datetime, zones: ZoneTimeline) -> str:
    """08:00 today, 'yesterday 21:00', 'tomorrow 08:00', or 'Mon 28 Dec 10:00'."""
    local = at.astimezone(zones.zone_at(at))
    today = now.astimezone(zones.zone_at(now)).date()
    clock = local.strftime("%H:%M")
    days = (local.date() - today).days
    if days == 0:
        return clock
    if days == -1:
        return f"yesterday {clock}"
    if days == 1:
        return f"tomorrow {clock}"
    return f"{local.strftime('%a %d %b')} {clock}"


def _in(delta: timedelta) -> str:
    """A rough time to go: 45m, 2h 15m, 3d."""
    minutes = max(0, int(delta.total_seconds() // 60))
    if minutes < 60:
        return f"{minutes}m"
    if minutes < 24 * 60:
        hours, rest = divmod(minutes, 60)
        return f"{hours}h {rest}m" if rest else f"{hours}h"
    return f"{minutes // (24 * 60)}d"


def status_report(judged: list[JudgedSlot], now: datetime, zones: ZoneTimeline) -> dict[str, Any]:
    """What the status line says, as plain values (the --json shape)."""
    from medtrack.render.records import iso_local

    def item(j: JudgedSlot) -> dict[str, Any]:
        return {
            "medication": j.slot.medication,
            "dose": str(j.slot.regimen.dose),
            "scheduled_for": iso_local(j.slot.at, zones),
            "status": j.status,
        }

    due = [j for j in judged if j.status in DUE]
    upcoming = next((j for j in judged if j.status == "later" and j.slot.at > now), None)
    if due:
        parts = [
            f"{j.slot.medication} {_when(j.slot.at, now, zones)}"
            + (" overdue" if j.status == "overdue" else "")
            for j in due
        ]
        line = "due: " + ", ".join(parts)
    elif upcoming is not None:
        line = (
            f"next: {upcoming.slot.medication} {_when(upcoming.slot.at, now, zones)}"
            f" (in {_in(upcoming.slot.at - now)})"
        )
    else:
        line = "no doses scheduled"
    return {
        "line": line,
        "due": [item(j) for j in due],
        "next": item(upcoming) if upcoming is not None else None,
    }


@status_app.command("status")
def status(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """One short line for a status bar: what is due now, or the next dose and when.

    Exit code 0 when nothing is due, 1 when a dose is due or overdue (so a bar can
    colour it).

    Example: medtrack status      (prints e.g. "next: seroquel 21:00 (in 2h 50m)")
    """
    now = common.now()
    judged, zones = judged_around(now)
    report = status_report(judged, now, zones)
    if as_json:
        common.emit_json(report)
    else:
        common.say(report["line"])
    raise typer.Exit(EXIT_SOMETHING_DUE if report["due"] else EXIT_NOTHING_DUE)
