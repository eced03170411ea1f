"""`medtrack visit add|list|next`: appointments with the prescriber, therapist or others."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from medtrack.cli import common

if TYPE_CHECKING:
    from medtrack.core.health import Visit
    from medtrack.core.schedule import ZoneTimeline

app = typer.Typer(
    help="Visits: past and upcoming appointments.", no_args_is_help=True, add_completion=False
)

AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def visit_dict(visit: Visit, zones: ZoneTimeline) -> dict[str, Any]:
    from medtrack.render.records import iso_local

    return {
        "id": visit.id,
        "at": iso_local(visit.at, zones),
        "with": visit.with_whom,
        "kind": visit.kind,
        "note": visit.note,
    }


def _days_words(days: int) -> str:
    if days == 0:
        return "today"
    if days == 1:
        return "tomorrow, 1 day away"
    return f"in {days} days"


@app.command("add")
def visit_add(
    when: Annotated[
        str, typer.Argument(metavar="WHEN", help="Date and time, e.g. 2026-12-03T10:30.")
    ],
    with_whom: Annotated[str | None, typer.Option("--with", help="Who, e.g. 'Dr Okafor'.")] = None,
    kind: Annotated[
        str,
        typer.Option(
            "--kind",
            help="prescriber, therapist or other.",
            autocompletion=common.complete_visit_kind,
        ),
    ] = "other",
    note: Annotated[str | None, typer.Option("--note", help="Anything worth keeping.")] = None,
) -> None:
    """Record a visit, past or planned.

    Example: medtrack visit add 2026-12-03T10:30 --with "Dr Okafor" --kind prescriber
    """
    from medtrack.core.health import Visit, clean_text, parse_visit_kind
    from medtrack.render.records import local_text
    from medtrack.store import health

    visit_kind = parse_visit_kind(kind)
    who = clean_text(with_whom, "--with name")
    text = clean_text(note, "note")
    with common.unit_of_work(write=True) as conn:
        zones = common.zones(conn)
        now = common.now()
        at = common.read_time(when, zones, now, allow_future=True)
        visit = Visit(at, who, visit_kind, text)
        visit_id = health.add_visit(conn, visit, zone=zones.zone_at(at).key, now=now)
    who_text = f" with {who}" if who else ""
    common.say(f"Recorded {visit_kind} visit #{visit_id}{who_text} on {local_text(at, zones)}.")


@app.command("list")
def visit_list(as_json: AsJson = False) -> None:
    """List every visit, past and planned, in time order.

    Example: medtrack visit list --json
    """
    from medtrack.render.records import local_text
    from medtrack.store import health

    with common.unit_of_work() as conn:
        zones = common.zones(conn)
        now = common.now()
        visits = health.visits(conn)
    records = [visit_dict(v, zones) for v in visits]
    if as_json:
        common.emit_json(records)
        return
    if not records:
        common.say(
            "No visits recorded. Add one with: medtrack visit add 2026-12-03T10:30 --with NAME"
        )
        return
    rows = [
        [
            v.id,
            local_text(v.at, zones),
            v.kind,
            v.with_whom,
            "upcoming" if v.at > now else "past",
            v.note,
        ]
        for v in visits
    ]
    common.print_table("Visits", ["#", "When", "Kind", "With", "Status", "Note"], rows)


@app.command("next")
def visit_next(as_json: AsJson = False) -> None:
    """Show the next upcoming visit and how many calendar days away it is.

    Example: medtrack visit next
    """
    from medtrack.core.health import days_until
    from medtrack.render.records import local_text
    from medtrack.store import health

    with common.unit_of_work() as conn:
        zones = common.zones(conn)
        now = common.now()
        visit = health.next_visit(conn, now)
    if visit is None:
        if as_json:
            common.emit_json(None)
        else:
            common.say("No upcoming visit recorded.")
        return
    days = days_until(visit.at, now, zones)
    if as_json:
        common.emit_json({**visit_dict(visit, zones), "days_away": days})
        return
    who = f" with {visit.with_whom}" if visit.with_whom else ""
    common.say(
        f"Next visit: {visit.kind}{who} on {local_text(visit.at, zones)} ({_days_words(days)})."
    )
