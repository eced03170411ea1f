"""`medtrack take | skip | undo | today | log`: recording doses and looking at them.

These are the commands typed most, so they stay light: no rich (tables go through
`common.print_table`, which imports it only on a terminal), no sqlite_utils, and they
read only the slots and doses of the window they need.
"""

from __future__ import annotations

import sys
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any

import typer

from medtrack.cli import common
from medtrack.errors import BadValue, Conflict, MedtrackError, UsageError

# Top-level verbs, one Typer app each: cli/__init__.py builds only the command that runs
# (building all five click commands for every `take` would cost start-up time). The
# completion options belong to the root alone: on a verb they would show in its --help
# and cost building two more options on every run.
take_app, skip_app, undo_app, today_app, log_app = (
    typer.Typer(add_completion=False) for _ in range(5)
)

if TYPE_CHECKING:
    import sqlite3

    from medtrack.core.models import Medication
    from medtrack.core.schedule import ZoneTimeline
    from medtrack.core.slots import DoseRecord, Judgement, Slot

MedNames = Annotated[
    list[str] | None,
    typer.Argument(
        metavar="NAME...",
        help="Medication name(s), any case.",
        autocompletion=common.complete_medication,
    ),
]
MedName = Annotated[
    str,
    typer.Argument(help="Medication name, any case.", autocompletion=common.complete_medication),
]
At = Annotated[
    str | None,
    typer.Option("--at", help='When, if not now: "yesterday 21:00", "8am", "2h ago", ISO.'),
]
NoteOpt = Annotated[str | None, typer.Option("--note", help="A note kept with the record.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]

# As-needed limits look this far either side of a dose (a local day is at most 25 h).
_AS_NEEDED_LOOKAROUND = timedelta(days=2)


def _stdin_is_terminal() -> bool:
    return sys.stdin.isatty()


def setting_number(conn: sqlite3.Connection, key: str) -> int:
    from medtrack.cli.settings import SETTINGS
    from medtrack.store import repo

    value = repo.get_setting(conn, key) or SETTINGS[key][0]
    return int(value or 0)


def _when(at: str | None, conn: sqlite3.Connection, now: datetime) -> datetime:
    """`--at` as a UTC instant (future refused by parse_when), or now."""

    if at is None:
        return now
    return common.read_time(at, common.zones(conn), now)


def _check_active(med: Medication, when: datetime, zones: ZoneTimeline) -> None:
    """Refuse a record for a stopped medication, or before its first regimen."""
    from medtrack.render.records import local_text

    if med.stopped_at is not None and when >= med.stopped_at:
        raise Conflict(
            f"{med.name} was stopped on {local_text(med.stopped_at, zones)}; nothing recorded "
            f"(resume it first with 'medtrack med resume {med.name}')"
        )
    if med.regimen_at(when) is None:
        first = med.regimens[0].starts_at if med.regimens else None
        since = f"; it starts {local_text(first, zones)}" if first and first > when else ""
        raise Conflict(f"{med.name} has no dose plan at {local_text(when, zones)}{since}")


class _Outcome:
    """What `take` will print, and the questions it must ask before recording."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.questions: list[str] = []


def _take_one(
    conn: sqlite3.Connection,
    med: Medication,
    when: datetime,
    *,
    zones: ZoneTimeline,
    now: datetime,
    amount: Any,
    note: str | None,
    yes: bool,
    confirmed: bool,
    window: timedelta,
    outcome: _Outcome,
    source: str = "cli",
) -> None:
    """Record one dose of `med` at `when`, or add a question when it needs confirmation."""
    from medtrack.core.meds import dose_difference
    from medtrack.core.slots import check_as_needed, timing_of
    from medtrack.render import terminal
    from medtrack.store import doses

    _check_active(med, when, zones)
    regimen = med.regimen_at(when)
    assert regimen is not None and med.id is not None
    dose = amount or regimen.dose
    zone = zones.zone_at(when).key
    # A dose other than the plan's (0.5 mg planned, --dose 5mg typed) is asked about first,
    # like an extra dose (issue 19).
    other = amount and dose_difference(regimen.dose, amount.amount, amount.unit)
    if other and not (yes or confirmed):
        outcome.questions.append(f"{med.name}: {other}")
        return
    if regimen.schedule.as_needed:
        span = max(
            _AS_NEEDED_LOOKAROUND, (regimen.min_interval or timedelta(0)) + timedelta(days=1)
        )
        taken = [r.taken_at for r in _as_needed_doses(conn, med, when - span, when + span, now)]
        check = check_as_needed(regimen, taken, when, zones)
        if (check.too_many or check.too_soon) and not yes:
            why = []
            if check.too_many:
                why.append(f"{check.uses_that_day} of at most {check.max_per_day} taken that day")
            if check.too_soon and regimen.min_interval is not None and check.last_taken:
                why.append(
                    f"last dose {terminal.when_text(check.last_taken, zones, now)}, at least "
                    f"{terminal.format_interval(regimen.min_interval)} apart"
                )
            nxt = check.next_allowed
            allowed = (
                f"; next dose allowed from {terminal.when_text(nxt, zones, now)}" if nxt else ""
            )
            raise Conflict(
                f"{med.name}: {' and '.join(why)}{allowed}. Nothing recorded; add --yes to "
                "record it anyway"
            )
        doses.add_dose(
            conn,
            medication_id=med.id,
            regimen_id=regimen.id,
            taken_at=when,
            status="taken",
            amount=dose.amount,
            unit=dose.unit,
            note=note,
            zone=zone,
            now=now,
            source=source,
        )
        line = terminal.taken_line(med.name, dose, when, None, None, zones, now, as_needed=True)
        limit = f" of at most {check.max_per_day}" if check.max_per_day else ""
        outcome.lines.append(f"{line} ({check.uses_that_day + 1}{limit} that day)")
        return

    slot = _open_slot(conn, med, when, zones)
    if slot is None and not (yes or confirmed):
        last = doses.last_taken(conn, med.id, before=now)
        last_text = (
            f"last dose {terminal.when_text(last.taken_at, zones, now)} "
            f"({terminal.ago(last.taken_at, now)})"
            if last
            else "no dose recorded before"
        )
        outcome.questions.append(
            f"{med.name}: no open dose at {terminal.when_text(when, zones, now)}, {last_text}; "
            "this would be an extra dose"
        )
        return
    timing = None if slot is None else timing_of(when, slot.at, window)
    # A dose answering a slot is that slot's planned dose (its regimen may differ from the
    # one in force at `when` around a dose change), unless --dose says otherwise.
    dose = amount or (slot.regimen.dose if slot else regimen.dose)
    doses.add_dose(
        conn,
        medication_id=med.id,
        regimen_id=(slot.regimen if slot else regimen).id,
        taken_at=when,
        status="taken",
        amount=dose.amount,
        unit=dose.unit,
        note=note,
        zone=zone,
        now=now,
        source=source,
    )
    outcome.lines.append(terminal.taken_line(med.name, dose, when, slot, timing, zones, now))


def _open_slot(
    conn: sqlite3.Connection, med: Medication, when: datetime, zones: ZoneTimeline
) -> Slot | None:
    """The slot a record at `when` would answer: the slot whose window holds `when`, if no
    record lies in that window yet (the first record in a window answers its slot, so
    with one there already, this would be a second dose: an extra one)."""
    from medtrack.core.slots import slot_for
    from medtrack.store import doses

    slot = slot_for(med, when, zones)
    if slot is None or doses.doses_between(conn, slot.opens, slot.closes, [med.id]):
        return None
    return slot


def _judged(
    conn: sqlite3.Connection,
    meds: list[Medication],
    start: datetime,
    end: datetime,
    zones: ZoneTimeline,
    now: datetime,
    records_from: datetime | None = None,
) -> tuple[dict[str, Judgement], list[DoseRecord]]:
    """Each medication's slots touching [start, end) judged against its records, and the
    records read: every record in the slots' windows and in [start, end), or from
    `records_from` on (the as-needed limits look at the days before)."""
    from medtrack.core.slots import judge, record_span, slots_touching
    from medtrack.store import doses

    window = timedelta(minutes=setting_number(conn, "on_time_window"))
    slots = {med.name: slots_touching(med, start, end, zones) for med in meds}
    first = start if records_from is None else min(start, records_from)
    lo, hi = record_span([s for each in slots.values() for s in each], first, end)
    records = doses.doses_between(conn, lo, hi, [m.id for m in meds if m.id is not None])
    mine: dict[str, list[DoseRecord]] = {med.name: [] for med in meds}
    for record in records:
        mine[record.medication].append(record)
    judged = {med.name: judge(med, slots[med.name], mine[med.name], now, window) for med in meds}
    return judged, records


def _as_needed_doses(
    conn: sqlite3.Connection, med: Medication, start: datetime, end: datetime, now: datetime
) -> list[DoseRecord]:
    """`med`'s as-needed doses taken in [start, end)."""
    zones = common.zones(conn)
    judged, _records = _judged(conn, [med], start, end, zones, now)
    return [r for r in judged[med.name].as_needed if start <= r.taken_at < end]


def _due_medications(conn: sqlite3.Connection, when: datetime, zones: ZoneTimeline) -> list:
    """Active scheduled medications with a slot due at `when`: what `take` would accept
    then, a slot whose window holds `when` and that no record answers yet. That includes
    a dose a little early (the 09:00 vitamin at breakfast) and last night's dose still
    open in the morning; the line `take` prints names which day's slot each is."""
    from medtrack.store import repo

    due = []
    for med in repo.load_medications(conn, include_stopped=False):
        regimen = med.regimen_at(when)
        if regimen is None or regimen.schedule.as_needed:
            continue
        if _open_slot(conn, med, when, zones) is not None:
            due.append(med)
    return due


def _record_takes(
    names: list[str],
    due: bool,
    at: str | None,
    dose_text: str | None,
    note: str | None,
    yes: bool,
    confirmed: bool,
) -> _Outcome:
    """One write transaction; when a question is left, nothing in it is kept."""
    from medtrack.store import repo

    amount = None
    if dose_text:
        from medtrack.core.meds import parse_dose

        amount = parse_dose(dose_text)
    outcome = _Outcome()
    with common.unit_of_work(write=True) as conn:
        zones = common.zones(conn)
        now = common.now()
        when = _when(at, conn, now)
        window = timedelta(minutes=setting_number(conn, "on_time_window"))
        if due:
            meds = _due_medications(conn, when, zones)
            if not meds:
                outcome.lines.append("Nothing is due now.")
        else:
            meds = [repo.find_medication(conn, name) for name in names]
        seen = set()
        for med in meds:
            if med.id in seen:
                raise UsageError(f"{med.name} is named twice")
            seen.add(med.id)
            _take_one(
                conn,
                med,
                when,
                zones=zones,
                now=now,
                amount=amount,
                note=note,
                yes=yes,
                confirmed=confirmed,
                window=window,
                outcome=outcome,
            )
        if outcome.questions:
            # Roll back whatever this pass wrote: the person answers first, then all or nothing.
            from medtrack.store.db import discard_writes

            discard_writes(conn)
    return outcome


def record_take(
    conn: sqlite3.Connection, med: Medication, when: datetime, *, now: datetime, source: str
) -> list[str]:
    """Record one dose of `med` at `when` as `take` does, for a caller with no one to ask
    (an ntfy reply): what would need a question (an extra dose) or break a limit (as
    needed) raises Conflict and records nothing. Returns take's lines."""
    zones = common.zones(conn)
    outcome = _Outcome()
    window = timedelta(minutes=setting_number(conn, "on_time_window"))
    _take_one(
        conn,
        med,
        when,
        zones=zones,
        now=now,
        amount=None,
        note=None,
        yes=False,
        confirmed=False,
        window=window,
        outcome=outcome,
        source=source,
    )
    if outcome.questions:
        raise Conflict("; ".join(outcome.questions))
    return outcome.lines


def record_skip(
    conn: sqlite3.Connection,
    med: Medication,
    when: datetime,
    reason: str,
    note: str | None,
    *,
    now: datetime,
    source: str = "cli",
) -> str:
    """Record a skip of `med`'s open slot at `when` as `skip` does; Conflict when there
    is none. Returns skip's line."""
    from medtrack.render import terminal
    from medtrack.store import doses

    zones = common.zones(conn)
    _check_active(med, when, zones)
    regimen = med.regimen_at(when)
    assert regimen is not None and med.id is not None
    if regimen.schedule.as_needed:
        raise Conflict(f"{med.name} is taken as needed: there is no scheduled dose to skip")
    slot = _open_slot(conn, med, when, zones)
    if slot is None:
        raise Conflict(
            f"{med.name}: no open dose at {terminal.when_text(when, zones, now)} to skip "
            "(already answered, or none due around then)"
        )
    doses.add_dose(
        conn,
        medication_id=med.id,
        regimen_id=slot.regimen.id,
        taken_at=when,
        status="skipped",
        amount=None,
        unit=None,
        skip_reason=reason,
        note=note,
        zone=zones.zone_at(when).key,
        now=now,
        source=source,
    )
    return terminal.skipped_line(med.name, slot, reason, when, zones, now)


@take_app.command("take")
def take(
    names: MedNames = None,
    at: At = None,
    dose: Annotated[
        str | None, typer.Option("--dose", help="Amount taken, if not the planned dose.")
    ] = None,
    note: NoteOpt = None,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Record an extra or over-limit dose without asking.")
    ] = False,
    due: Annotated[bool, typer.Option("--due", help="Take every dose due now, in one go.")] = False,
) -> None:
    """Record a dose taken now (or --at), attached to the slot it answers.

    A dose with no open slot is an extra dose: take asks first, and without a terminal
    refuses unless --yes. As-needed doses are checked against the max per day and the
    minimum interval.

    Example: medtrack take sertraline    (or: medtrack take lamotrigine --at "yesterday 21:00")
    """
    names = names or []
    if due and names:
        raise UsageError("give medication names or --due, not both")
    if not due and not names:
        raise UsageError("name the medication(s) taken, or use --due")
    outcome = _record_takes(names, due, at, dose, note, yes, confirmed=False)
    if outcome.questions:
        if not _stdin_is_terminal():
            raise Conflict(
                "; ".join(outcome.questions) + ". Nothing recorded; add --yes to record it anyway"
            )
        for question in outcome.questions:
            if not typer.confirm(f"{question}. Record it anyway?", default=False):
                raise MedtrackError("nothing recorded")
        outcome = _record_takes(names, due, at, dose, note, yes, confirmed=True)
    for line in outcome.lines:
        common.say(line)


@skip_app.command("skip")
def skip(
    names: Annotated[
        list[str],
        typer.Argument(
            metavar="NAME...",
            help="Medication name(s), any case or the start of one.",
            autocompletion=common.complete_medication,
        ),
    ],
    reason: Annotated[
        str,
        typer.Option(
            "--reason",
            help="forgot, side-effects, ran-out, cost, felt-better, ...",
            autocompletion=common.complete_skip_reason,
        ),
    ],
    at: At = None,
    note: NoteOpt = None,
) -> None:
    """Record that a dose was not taken, and why; it answers the slot like a dose.

    Several names skip each one's open dose with the same reason, all or nothing.

    Example: medtrack skip quetiapine --reason side-effects --note "too groggy in the morning"
    Example: medtrack skip sertraline "vitamin D" --reason ran-out
    """
    from medtrack.core.models import SKIP_REASONS
    from medtrack.store import repo

    cleaned = reason.strip().lower().replace("_", "-").replace(" ", "-")
    if cleaned not in SKIP_REASONS:
        raise BadValue(f"unknown reason '{reason}'; use one of: {', '.join(SKIP_REASONS)}")
    lines = []
    with common.unit_of_work(write=True) as conn:
        now = common.now()
        when = _when(at, conn, now)
        meds = [repo.find_medication(conn, name) for name in names]
        seen: set[int | None] = set()
        lines = []
        for med in meds:
            if med.id in seen:
                raise UsageError(f"{med.name} is named twice")
            seen.add(med.id)
            # All or nothing: a refusal here rolls back the skips already written.
            lines.append(record_skip(conn, med, when, cleaned, note, now=now))
    for line in lines:
        common.say(line)


@undo_app.command("undo")
def undo(
    record_id: Annotated[
        int | None, typer.Option("--id", help="The record's id (a dose unless --kind).")
    ] = None,
    kind: Annotated[
        str | None,
        typer.Option(
            "--kind",
            help="dose, symptom, side-effect, measurement, checkin, note, visit or refill.",
            autocompletion=common.complete_record_kind,
        ),
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask on a terminal.")] = False,
) -> None:
    """Take back the last record or plan change (or a record by --id); kept in history.

    Plain `undo` takes back the most recent record of any kind, or plan change (med
    change, stop, resume), whole. On a terminal it shows what it takes back and asks;
    piped, it proceeds (everything it removes or rewrites is kept in history).

    Example: medtrack undo    (or: medtrack undo --kind symptom --id 4)
    """
    from medtrack.render.terminal import record_line
    from medtrack.store import undo as store_undo

    if kind is not None and record_id is None:
        raise UsageError("--kind needs --id; plain 'undo' takes back the latest record")
    if kind is not None:
        kind = store_undo.check_kind(kind)
    with common.unit_of_work() as conn:
        zones = common.zones(conn)
        if record_id is None:
            target = store_undo.latest(conn)
        else:
            target = store_undo.find(conn, kind or "dose", record_id)
        line = record_line(target.kind, target.row, target.medication, zones)
    if not yes and _stdin_is_terminal() and not typer.confirm(f"Undo {line}?", default=False):
        raise MedtrackError("nothing undone")
    with common.unit_of_work(write=True) as conn:
        # Found again inside the write lock: it may have gone since it was shown.
        current = store_undo.find(conn, target.kind, target.row["id"])
        store_undo.remove(conn, current, now=common.now())
    common.say(f"Undid {line}. It is kept in the history.")


@today_app.command("today")
def today(as_json: AsJson = False) -> None:
    """Show today's doses: taken, skipped, missed, overdue, due now or later; as-needed use.

    A dose of another day still open now (last night's, at breakfast) is listed too.

    Example: medtrack today --json
    """

    from medtrack.core.slots import check_as_needed
    from medtrack.render import terminal
    from medtrack.store import repo

    with common.unit_of_work() as conn:
        zones = common.zones(conn)
        now = common.now()
        local_now = now.astimezone(zones.zone_at(now))
        start = common.day_bound("today", zones, now, end=False)
        end = common.day_bound("today", zones, now, end=True)
        meds = repo.load_medications(conn, include_stopped=False)
        # Records from two days back: the as-needed limits look at the day before.
        since = start - _AS_NEEDED_LOOKAROUND
        judgements, _records = _judged(conn, meds, start, end, zones, now, records_from=since)
    # Today's slots, and any other slot whose window holds now with no record yet (last
    # night's dose at breakfast): due now is what `take` accepts now.
    judged = sorted(
        (
            item
            for judgement in judgements.values()
            for item in judgement.slots
            if start <= item.slot.at < end
            or (item.record is None and item.slot.opens <= now < item.slot.closes)
        ),
        key=lambda j: (j.slot.at, j.slot.medication),
    )
    slot_items = [terminal.today_slot_dict(j, zones) for j in judged]
    prn_items = []
    for med in meds:
        regimen = med.regimen_at(now)
        if regimen is None or not regimen.schedule.as_needed:
            continue
        taken = [r.taken_at for r in judgements[med.name].as_needed]
        check = check_as_needed(regimen, taken, now, zones)
        prn_items.append(
            terminal.as_needed_today_dict(
                med.name,
                regimen.dose,
                sum(1 for t in taken if start <= t < end),
                regimen.max_per_day,
                check.last_taken,
                check.next_allowed,
                zones,
            )
        )
    if as_json:
        common.emit_json(
            {
                "date": local_now.date().isoformat(),
                "now": local_now.isoformat(),
                "slots": slot_items,
                "as_needed": prn_items,
            }
        )
        return
    if not slot_items and not prn_items:
        common.say("Nothing scheduled today.")
        return
    title = local_now.strftime("Today, %a %d %b %Y")
    if slot_items:
        common.print_table(
            title,
            ["Time", "Medication", "Dose", "Status"],
            terminal.today_rows(slot_items, local_now.date()),
        )
    if prn_items:
        common.print_table(
            "As needed",
            ["Medication", "Dose", "Today", "Last", "Next allowed"],
            terminal.as_needed_rows(prn_items),
        )


@log_app.command("log")
def log(
    days: Annotated[int, typer.Option("--days", help="How many days back, today included.")] = 7,
    med: Annotated[
        str | None,
        typer.Option(
            "--med", help="Only this medication.", autocompletion=common.complete_medication
        ),
    ] = None,
    as_json: AsJson = False,
) -> None:
    """List recorded doses and skips of the last N days, oldest first.

    Example: medtrack log --days 7 --med sertraline --json
    """

    from medtrack.render import terminal
    from medtrack.render.symbols import plural
    from medtrack.store import repo

    if days < 1:
        raise BadValue("--days must be at least 1")
    with common.unit_of_work() as conn:
        zones = common.zones(conn)
        now = common.now()
        local_now = now.astimezone(zones.zone_at(now))
        first = (local_now.date() - timedelta(days=days - 1)).isoformat()
        start = common.day_bound(first, zones, now, end=False)
        meds = [repo.find_medication(conn, med)] if med else repo.load_medications(conn)
        judgements, records = _judged(conn, meds, start, now + timedelta(seconds=1), zones, now)
    items = []
    for record in records:
        if not start <= record.taken_at <= now:
            continue
        judgement = judgements[record.medication]
        slot_at = judgement.answer_of.get(record.id) if record.id is not None else None
        items.append(
            terminal.log_dict(record, _dose_kind(record, slot_at, judgement), slot_at, zones)
        )
    if as_json:
        common.emit_json(items)
        return
    if not items:
        common.say(f"No doses recorded in the last {plural(days, 'day')}.")
        return
    common.print_table(
        f"Doses, last {plural(days, 'day')}",
        ["Id", "When", "Medication", "Amount", "Status", "Slot", "Note"],
        terminal.log_rows(items),
    )


def _dose_kind(record: DoseRecord, slot_at: datetime | None, judgement: Judgement) -> str:
    """How `log` names a record: scheduled (it answers a slot), as-needed, extra, or, for a
    skip in a window already answered, unmatched."""
    if slot_at is not None:
        return "scheduled"
    if record in judgement.as_needed:
        return "as-needed"
    return "extra" if record.status == "taken" else "unmatched"
