"""`medtrack med ...`: the personal medication record and its regimen history."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any

import typer

from medtrack.cli import common
from medtrack.errors import BadValue, Conflict, UsageError

if TYPE_CHECKING:
    from medtrack.core.schedule import ZoneTimeline

app = typer.Typer(
    help="The personal medication record: add, change, stop and list medications.",
    no_args_is_help=True,
    add_completion=False,
)

MedName = Annotated[
    str,
    typer.Argument(help="Medication name (any case).", autocompletion=common.complete_medication),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
MaxPerDay = Annotated[
    int | None, typer.Option("--max-per-day", help="As needed: at most this many a day.")
]
MinInterval = Annotated[
    str | None, typer.Option("--min-interval", help="As needed: at least this apart, e.g. 6h.")
]
PerDose = Annotated[
    float | None, typer.Option("--per-dose", help="Units (tablets) taken per dose, for stock.")
]
OnTimeWindow = Annotated[
    str | None,
    typer.Option(
        "--on-time-window",
        help="How far either side of the slot a dose is on time, e.g. 7d for an injection "
        "(default: by the schedule).",
    ),
]


def _on_time_window(text: str | None) -> timedelta | None:
    """`--on-time-window`: a length from a minute to 14 days."""
    window = _interval(text)
    if window is not None and not timedelta(minutes=1) <= window <= timedelta(days=14):
        raise BadValue("--on-time-window takes a length from 1m to 14d (e.g. 90m, 7d)")
    return window


def _clean_name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not cleaned:
        raise BadValue("the medication name is empty")
    if len(cleaned) > 100:
        raise BadValue("the medication name is longer than 100 characters")
    return cleaned


def _interval(text: str | None) -> timedelta | None:
    if text is None:
        return None
    from medtrack.core.timeparse import parse_duration

    return parse_duration(text)


def _as_needed_limits(
    as_needed: bool, max_per_day: int | None, min_interval: timedelta | None
) -> None:
    if max_per_day is not None:
        from medtrack.core import validate

        validate.max_per_day(max_per_day)
    if not as_needed and (max_per_day is not None or min_interval is not None):
        raise UsageError("--max-per-day and --min-interval apply to an 'as needed' schedule")


def _start(
    text: str | None, zones: ZoneTimeline, now: datetime, *, default_midnight: bool
) -> datetime:
    """`--start`/`--from`: a date is its midnight in the zone in force on that date, a
    wall time is read in the zone one is in then (the zone history)."""
    if text is None:
        return common.day_bound("today", zones, now, end=False) if default_midnight else now
    return common.day_bound(text, zones, now, end=False)


@app.command("add")
def med_add(
    name: Annotated[str, typer.Argument(help="Medication name, e.g. sertraline.")],
    dose: Annotated[str, typer.Option("--dose", help="Amount and unit: 50mg, 2 puffs.")],
    schedule: Annotated[
        str,
        typer.Option(
            "--schedule",
            help='When: "daily 08:00", "daily 08:00,20:00", "mon,wed,fri 21:00", '
            '"every 4 weeks mon 10:00", "every 8h from 06:00", "as needed", RRULE:...',
        ),
    ],
    purpose: Annotated[str | None, typer.Option("--for", help="What it is for.")] = None,
    prescriber: Annotated[
        str | None, typer.Option("--prescriber", help="Who prescribed it.")
    ] = None,
    kind: Annotated[
        str,
        typer.Option(
            "--kind", help="rx, otc or supplement.", autocompletion=common.complete_med_kind
        ),
    ] = "rx",
    form: Annotated[
        str | None, typer.Option("--form", help="tablet, capsule, injection...")
    ] = None,
    controlled: Annotated[
        bool, typer.Option("--controlled", help="A controlled substance.")
    ] = False,
    start: Annotated[
        str | None,
        typer.Option("--start", help="First day (default today); future dates plan ahead."),
    ] = None,
    max_per_day: MaxPerDay = None,
    min_interval: MinInterval = None,
    per_dose: PerDose = None,
    on_time: OnTimeWindow = None,
    notes: Annotated[str | None, typer.Option("--notes", help="Anything worth keeping.")] = None,
    supply: Annotated[
        float | None,
        typer.Option("--supply", help="Units on hand at the start, to track stock and refills."),
    ] = None,
) -> None:
    """Add a medication with its dose and schedule.

    Example: medtrack med add sertraline --dose 50mg --schedule "daily 08:00" --for depression
    """
    from medtrack.core.meds import parse_dose, parse_kind
    from medtrack.core.models import Medication, Regimen
    from medtrack.core.schedule import parse_schedule
    from medtrack.render.records import local_text, schedule_words
    from medtrack.store import repo

    name = _clean_name(name)
    parsed_dose = parse_dose(dose)
    parsed_schedule = parse_schedule(schedule)
    interval = _interval(min_interval)
    window = _on_time_window(on_time)
    _as_needed_limits(parsed_schedule.as_needed, max_per_day, interval)
    from medtrack.core import validate

    if per_dose is not None:
        validate.amount(per_dose, "--per-dose")
    if supply is not None:
        validate.amount(supply, "--supply")
    medication = Medication(
        name=name,
        kind=parse_kind(kind),
        form=form,
        purpose=purpose,
        prescriber=prescriber,
        controlled=controlled,
        notes=notes,
    )
    with common.unit_of_work(write=True) as conn:
        zones = common.zones(conn)
        now = common.now()
        starts_at = _start(start, zones, now, default_midnight=True)
        regimen = Regimen(
            medication=name,
            dose=parsed_dose,
            schedule=parsed_schedule,
            starts_at=starts_at,
            max_per_day=max_per_day,
            min_interval=interval,
            units_per_dose=per_dose,
            on_time_window=window,
        )
        med_id = repo.add_medication(conn, medication, regimen, now=now)
        if supply is not None:
            from medtrack.store import supply as supply_store

            # The stock on hand at the start: an initial refill on the first day, so stock
            # is always derived and PDC counts from the start (core.supply).
            supply_store.add_refill(conn, med_id, supply, at=starts_at, note="initial", now=now)
    common.say(
        f"Added {name} {parsed_dose}, {schedule_words(regimen)}, "
        f"from {local_text(starts_at, zones)}."
    )


@app.command("list")
def med_list(
    all_: Annotated[bool, typer.Option("--all", help="Include stopped medications.")] = False,
    as_json: AsJson = False,
) -> None:
    """List current medications: dose, schedule in words, purpose, prescriber, since.

    Example: medtrack med list --all --json
    """
    from medtrack.render.records import medication_dict
    from medtrack.store import repo

    with common.unit_of_work() as conn:
        zones = common.zones(conn)
        now = common.now()
        meds = repo.load_medications(conn, include_stopped=all_)
        supplies = _supplies(conn, meds, zones, now)
    records = [medication_dict(m, zones, now) for m in meds]
    for record, med in zip(records, meds, strict=True):
        record["supply"] = supplies.get(med.id)
    if as_json:
        common.emit_json(records)
        return
    if not records:
        common.say(
            "No medications recorded. Add one with: medtrack med add NAME --dose ... --schedule ..."
        )
        return
    rows = []
    today = common.local_date(now, zones)
    for rec in records:
        cur = rec["current"] or {}
        status = "" if rec["active"] else f"stopped {rec['stopped_at'][:10]}"
        since = (rec["since"] or "")[:10]
        rows.append(
            [
                rec["name"] + (" (controlled)" if rec["controlled"] else ""),
                cur.get("dose_text", ""),
                cur.get("schedule", ""),
                rec["purpose"],
                rec["prescriber"],
                f"starts {since}" if since > today else since,
                rec["kind"] if not status else f"{rec['kind']}, {status}",
            ]
        )
    columns = ["Name", "Dose", "Schedule", "For", "Prescriber", "Since", "Kind"]
    if any(rec["planned"] for rec in records):
        columns.append("Planned")
        for row, rec in zip(rows, records, strict=True):
            row.append("; ".join(planned_step(r) for r in rec["planned"]))
    if any(rec["supply"] for rec in records):
        columns += ["Stock", "Days left", "Runs out"]
        for row, rec in zip(rows, records, strict=True):
            sup = rec["supply"] or {}
            days = sup.get("days_left")
            row += [
                "" if not sup else f"{sup['stock']:g}",
                "" if days is None else f"{days:.0f}",
                sup.get("runs_out") or "",
            ]
    common.print_table("Medications", columns, rows)


def planned_step(regimen: dict[str, Any]) -> str:
    """A planned step as a person reads it: '100 mg from 2026-12-10' (and its schedule
    when that changes too)."""
    return f"{regimen['dose_text']} from {(regimen['starts_at'] or '')[:10]}"


def supply_now(conn: Any, med: Any, refills: Any, taken: Any, now: datetime, zones: Any) -> Any:
    """`core.supply.supply_status` of `med` now, with the records it needs to see which
    coming slots a dose taken early has already answered."""
    from medtrack.core.supply import RECENT, supply_status
    from medtrack.store import doses

    recent = doses.doses_between(conn, now - RECENT, now + timedelta(seconds=1), [med.id])
    return supply_status(refills, taken, med, now, zones, recent)


def _supplies(
    conn: Any, meds: list[Any], zones: Any, now: datetime
) -> dict[int | None, dict[str, Any]]:
    """`supply` of `med list --json` per medication id: {stock, days_left, runs_out}, for
    medications with at least one refill recorded (stock is derived, never stored)."""
    from medtrack.store import supply as supply_store

    ids = [m.id for m in meds if m.id is not None]
    refills = supply_store.refills_by_medication(conn, ids)
    tracked = [i for i in ids if refills[i]]
    taken = supply_store.taken_by_medication(conn, tracked)
    result: dict[int | None, dict[str, Any]] = {}
    for med in meds:
        if med.id not in tracked:
            continue
        status = supply_now(conn, med, refills[med.id], taken[med.id], now, zones)
        assert status is not None
        result[med.id] = {
            "stock": status.stock,
            "days_left": None if status.days_left is None else round(status.days_left, 1),
            "runs_out": None if status.runs_out is None else status.runs_out.isoformat(),
        }
    return result


@app.command("refill")
def med_refill(
    name: MedName,
    qty: Annotated[float, typer.Option("--qty", help="Units collected (tablets, ml...).")],
    at: Annotated[str | None, typer.Option("--at", help="When (default now).")] = None,
    note: Annotated[str | None, typer.Option("--note", help="e.g. pharmacy, batch.")] = None,
) -> None:
    """Record a refill: units added to the stock on hand.

    Example: medtrack med refill sertraline --qty 30
    """
    from medtrack.render.records import local_text
    from medtrack.store import repo
    from medtrack.store import supply as supply_store

    if qty <= 0 or qty > 100_000:
        raise BadValue("--qty takes a number of units above zero (e.g. 30)")
    with common.unit_of_work(write=True) as conn:
        zones = common.zones(conn)
        now = common.now()
        med = repo.find_medication(conn, name)
        when = common.read_time(at, zones, now) if at else now
        assert med.id is not None
        supply_store.add_refill(conn, med.id, qty, at=when, note=note, now=now)
        refills = supply_store.refills_by_medication(conn, [med.id])[med.id]
        taken = supply_store.taken_by_medication(conn, [med.id])[med.id]
        status = supply_now(conn, med, refills, taken, now, zones)
    assert status is not None
    message = f"Refilled {med.name}: +{qty:g} on {local_text(when, zones)}"
    message += f"; {status.stock:g} on hand"
    if status.runs_out is not None:
        message += f", lasting until about {status.runs_out.isoformat()}"
    common.say(message + ".")


@app.command("show")
def med_show(name: MedName, as_json: AsJson = False) -> None:
    """Show one medication with its regimen history (every dose change, date and reason).

    Example: medtrack med show lamotrigine
    """
    from medtrack.render.records import local_text, medication_dict
    from medtrack.store import repo

    with common.unit_of_work() as conn:
        zones = common.zones(conn)
        med = repo.find_medication(conn, name)
        now = common.now()
        record = medication_dict(med, zones, now, history=True)
    planned = [r.starts_at > now for r in med.regimens]
    # Before its first day nothing is in force: what is shown is the plan, said so.
    starts_later = med.regimen_at(now) is None and med.stopped_at is None and any(planned)
    if as_json:
        common.emit_json(record)
        return
    cur = record["current"] or {}
    since = (record["since"] or "")[:10]
    lines = [
        f"{record['name']} ({record['kind']}{', ' + record['form'] if record['form'] else ''}"
        f"{', controlled' if record['controlled'] else ''})",
        f"  dose:       {cur.get('dose_text', '')}" + (" (planned)" if starts_later else ""),
        f"  schedule:   {cur.get('schedule', '')}",
        f"  for:        {record['purpose'] or '-'}",
        f"  prescriber: {record['prescriber'] or '-'}",
        f"  starts:     {since} (planned)" if starts_later else f"  since:      {since}",
    ]
    lines += [
        f"  planned:    {planned_step(r)}, {r['schedule']}"
        + (f" ({r['reason']})" if r["reason"] else "")
        for r in record["planned"]
    ]
    if not record["active"]:
        reason = f" ({record['stop_reason']})" if record["stop_reason"] else ""
        lines.append(f"  stopped:    {local_text(med.stopped_at, zones)}{reason}")
    if record["notes"]:
        lines.append(f"  notes:      {record['notes']}")
    for line in lines:
        common.say(line)
    # Each time in the zone of its moment, with its place where that is not here now.
    rows = [
        [
            local_text(regimen.starts_at, zones),
            local_text(regimen.ends_at, zones) or "-",
            r["dose_text"],
            r["schedule"],
            ", ".join(filter(None, [r["reason"], "planned" if later else ""])),
        ]
        for regimen, r, later in zip(med.regimens, record["regimens"], planned, strict=True)
    ]
    common.print_table("Regimen history", ["From", "Until", "Dose", "Schedule", "Reason"], rows)


@app.command("change")
def med_change(
    name: MedName,
    dose: Annotated[str | None, typer.Option("--dose", help="New amount and unit.")] = None,
    schedule: Annotated[str | None, typer.Option("--schedule", help="New schedule.")] = None,
    start: Annotated[
        str | None,
        typer.Option("--from", help="When the change takes effect (default now; future plans)."),
    ] = None,
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why, e.g. titration step 2.")
    ] = None,
    max_per_day: MaxPerDay = None,
    min_interval: MinInterval = None,
    per_dose: PerDose = None,
    on_time: OnTimeWindow = None,
) -> None:
    """Change dose or schedule from a moment on; the old regimen is kept in history.

    Example: medtrack med change lamotrigine --dose 50mg --from 2026-11-15 --reason "step 2"
    """
    from medtrack.core.meds import parse_dose
    from medtrack.core.schedule import parse_schedule
    from medtrack.render.records import local_text, schedule_words
    from medtrack.store import repo

    if all(v is None for v in (dose, schedule, max_per_day, min_interval, per_dose, on_time)):
        raise UsageError(
            "say what changes: --dose, --schedule, --max-per-day, --min-interval, --per-dose "
            "or --on-time-window"
        )
    window = _on_time_window(on_time)
    new_dose = parse_dose(dose) if dose is not None else None
    new_schedule = parse_schedule(schedule) if schedule is not None else None
    interval = _interval(min_interval)
    if per_dose is not None:
        from medtrack.core import validate

        validate.amount(per_dose, "--per-dose")
    with common.unit_of_work(write=True) as conn:
        zones = common.zones(conn)
        now = common.now()
        med = repo.find_medication(conn, name)
        if med.stopped_at is not None:
            raise Conflict(f"{med.name} is stopped; resume it first with 'medtrack med resume'")
        at = _start(start, zones, now, default_midnight=False)
        first = min((r.starts_at for r in med.regimens), default=None)
        if first is not None and at < first:
            raise Conflict(
                f"{med.name} starts {local_text(first, zones)}; a change cannot take effect "
                f"before that (--from {local_text(at, zones)})"
            )
        base = med.regimen_at(at) or med.current_regimen
        if base is None:
            raise Conflict(f"{med.name} has no regimen to change")
        sched = new_schedule or base.schedule
        new = base._replace(
            id=None,
            dose=new_dose or base.dose,
            schedule=sched,
            starts_at=at,
            ends_at=None,
            max_per_day=max_per_day if max_per_day is not None else base.max_per_day,
            min_interval=interval if interval is not None else base.min_interval,
            units_per_dose=per_dose if per_dose is not None else base.units_per_dose,
            on_time_window=window if window is not None else base.on_time_window,
            reason=reason,
        )
        if not sched.as_needed:
            new = new._replace(max_per_day=None, min_interval=None)
        _as_needed_limits(sched.as_needed, new.max_per_day, new.min_interval)
        entries = repo.change_regimen(conn, med, new, now=now)
        words = f"{med.name} {base.dose} → {new.dose}, {schedule_words(new)}"
        text = f"{words}, from {local_text(at, zones)}"
        repo.record_plan_change(conn, med.id, text, entries, now=now)
        changed = repo.find_medication(conn, med.name)
    common.say(
        f"{med.name}: {new.dose}, {schedule_words(new)}, from {local_text(at, zones)}"
        + (f" ({reason})" if reason else "")
        + ". The earlier regimen is kept in its history."
    )
    upcoming = _next_doses(changed, max(at, now), zones)
    if upcoming:
        common.say(f"Next doses: {upcoming}.")


def _next_doses(med: Any, after: datetime, zones: Any, count: int = 3) -> str:
    """The next `count` scheduled doses from `after`, in words (a schedule's rhythm shows
    here: a change of dose alone keeps the days an every-N-days schedule falls on)."""
    from medtrack.core.slots import medication_slots

    found = medication_slots(med, after, after + timedelta(days=400), zones)[:count]
    return ", ".join(
        slot.at.astimezone(zones.zone_at(slot.at)).strftime("%a %Y-%m-%d %H:%M")
        + zones.label(slot.at)
        for slot in found
    )


@app.command("stop")
def med_stop(
    name: MedName,
    reason: Annotated[str | None, typer.Option("--reason", help="Why it was stopped.")] = None,
    at: Annotated[str | None, typer.Option("--at", help="When (default now).")] = None,
) -> None:
    """Stop a medication; its record and history stay.

    Example: medtrack med stop lorazepam --reason "no longer needed"
    """
    from medtrack.render.records import local_text
    from medtrack.store import repo

    with common.unit_of_work(write=True) as conn:
        zones = common.zones(conn)
        now = common.now()
        med = repo.find_medication(conn, name)
        if med.stopped_at is not None:
            raise Conflict(f"{med.name} was already stopped on {local_text(med.stopped_at, zones)}")
        when = common.read_time(at, zones, now, allow_future=True) if at else now
        if med.regimens and when < med.regimens[0].starts_at:
            raise Conflict(f"{med.name} started after {local_text(when, zones)}")
        entries = repo.stop_medication(conn, med, at=when, reason=reason, now=now)
        text = f"stop {med.name} from {local_text(when, zones)}"
        repo.record_plan_change(conn, med.id, text, entries, now=now)
    common.say(f"Stopped {med.name} from {local_text(when, zones)}.")


@app.command("resume")
def med_resume(
    name: MedName,
    at: Annotated[str | None, typer.Option("--at", help="When (default now).")] = None,
    reason: Annotated[str | None, typer.Option("--reason")] = None,
) -> None:
    """Resume a stopped medication with its last dose and schedule.

    Example: medtrack med resume lorazepam
    """
    from medtrack.render.records import local_text, schedule_words
    from medtrack.store import repo

    with common.unit_of_work(write=True) as conn:
        zones = common.zones(conn)
        now = common.now()
        med = repo.find_medication(conn, name)
        if med.stopped_at is None or not med.regimens:
            raise Conflict(f"{med.name} is not stopped")
        when = common.read_time(at, zones, now, allow_future=True) if at else now
        if when < med.stopped_at:
            raise Conflict(
                f"{med.name} was stopped on {local_text(med.stopped_at, zones)}; resume after that"
            )
        last = med.regimens[-1]
        regimen = last._replace(id=None, starts_at=when, ends_at=None, reason=reason or "resumed")
        entries = repo.resume_medication(conn, med, regimen, now=now)
        text = f"resume {med.name} from {local_text(when, zones)}"
        repo.record_plan_change(conn, med.id, text, entries, now=now)
    common.say(f"Resumed {med.name}: {regimen.dose}, {schedule_words(regimen)}.")
