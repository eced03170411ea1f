"""`medtrack summary` (and later `report`): how well the plan is being followed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any

import typer

from medtrack.cli import common
from medtrack.errors import BadTime, BadValue, UsageError

if TYPE_CHECKING:
    from medtrack.core.adherence import Summary

# Top-level verbs; cli/__init__.py builds them lazily from this app.
app = typer.Typer(help="Adherence summaries.", add_completion=False)

# "Up to now" includes a dose recorded this very second (windows are half-open).
_MOMENT = timedelta(seconds=1)


def window_bounds(
    since: str | None, until: str | None, now: Any, zones: Any, default_start: Any
) -> tuple[Any, Any]:
    """[start, end) in UTC for `--since`/`--until` (a day given to --until is included
    whole), or from `default_start` up to now; refuses an empty or future window."""

    if since:
        start = common.day_bound(since, zones, now, end=False)
        end = common.day_bound(until, zones, now, end=True) if until else now + _MOMENT
    else:
        start, end = default_start, now + _MOMENT
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    if start >= end:
        raise BadTime("the period is empty: --since must come before --until (and now)")
    if start > now:
        raise BadTime("the period starts in the future; nothing is due yet")
    return start, end


@app.command("summary")
def summary(
    days: Annotated[
        int | None,
        typer.Option("--days", help="The last N days, today included, up to now (default 30)."),
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="Window start: a day or a moment.")
    ] = None,
    until: Annotated[
        str | None,
        typer.Option("--until", help="Window end; a day given here is included whole."),
    ] = None,
    med: Annotated[
        str | None,
        typer.Option(
            "--med", help="Only this medication.", autocompletion=common.complete_medication
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Adherence per medication and overall: taken, on time, skipped, missed, overdue, PDC.

    Each figure as README "Figures" defines it (taking and timing adherence, correct-
    dosing days, drug holidays, streaks, refill-based PDC, initiation, persistence).
    As-needed use is shown apart and never counted in a percentage; 80% is shown as the
    conventional threshold.

    Example: medtrack summary --since 2026-10-01 --until 2026-10-31 --json
    """
    from medtrack.render import terminal
    from medtrack.store import repo

    if days is not None and (since or until):
        raise UsageError("use --days or --since/--until, not both")
    if until and not since:
        raise UsageError("--until needs --since")
    if days is not None and not 1 <= days <= 36600:
        raise BadValue("--days must be from 1 to 36600")
    with common.unit_of_work() as conn:
        zones = common.zones(conn)
        now = common.now()
        local_now = now.astimezone(zones.zone_at(now))
        first = local_now.date() - timedelta(days=(days or 30) - 1)
        start, end = window_bounds(
            since, until, now, zones, common.day_bound(first.isoformat(), zones, now, end=False)
        )
        meds = [repo.find_medication(conn, med)] if med else repo.load_medications(conn)
        result = load_summary(conn, meds, start, end, now, zones)
    if as_json:
        common.emit_json(terminal.summary_dict(result, zones))
        return
    if not result.medications and not result.as_needed:
        common.say("No medication was planned in this window.")
        return
    shown_end = terminal.local(min(end, now), zones).strftime("%Y-%m-%d %H:%M")
    window = f"{terminal.local(start, zones).strftime('%Y-%m-%d')} to {shown_end}"
    # As-needed use alone has no adherence to title.
    title = f"{'Adherence' if result.medications else 'As-needed use'} {window}"
    if result.medications:
        common.print_table(title, terminal.SUMMARY_COLUMNS, terminal.summary_rows(result))
    else:
        common.say(title)
    for line in terminal.summary_lines(result):
        common.say(line)


def load_summary(
    conn: Any, meds: list, start: datetime, end: datetime, now: datetime, zones: Any
) -> Summary:
    """The adherence summary of `meds` over [start, end): their slots from the plans, the
    records in those slots' windows from the store, judged and counted by core."""
    from medtrack.cli.doses import setting_number
    from medtrack.core.adherence import summarize, window_slots
    from medtrack.core.slots import record_span
    from medtrack.store import doses
    from medtrack.store import supply as supply_store

    slots = window_slots(meds, start, end, zones)
    lo, hi = record_span([s for each in slots.values() for s in each], start, end)
    ids = [m.id for m in meds if m.id is not None]
    records = doses.doses_between(conn, lo, hi, ids)
    refills = supply_store.refills_by_medication(conn, ids)
    first_taken = doses.first_taken(conn, ids)
    return summarize(
        meds,
        records,
        start=start,
        end=end,
        now=now,
        zones=zones,
        on_time_window=timedelta(minutes=setting_number(conn, "on_time_window")),
        holiday_days=setting_number(conn, "drug_holiday_days"),
        slots=slots,
        refills={m.name: refills.get(m.id, []) for m in meds},
        first_taken={m.name: first_taken.get(m.id) for m in meds},
    )
