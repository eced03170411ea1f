"""`medtrack symptom|side-effect|measure|checkin|note ...`: the health record.

Each noun is a group whose bare form records (`medtrack symptom mood 4`) and which has a
few named subcommands (`list`, `resolve`, `done`). The group routes any first word that is
not one of its subcommands to its recording command, so a symptom literally called "list"
needs the explicit form: `medtrack symptom record list 4`.
"""

from __future__ import annotations

import sys
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

from medtrack.cli import common
from medtrack.errors import BadValue, Conflict, MedtrackError, UsageError

if TYPE_CHECKING:
    import sqlite3

    from medtrack.core.health import (
        CheckinEntry,
        MeasurementEntry,
        NoteEntry,
        SideEffect,
        SymptomEntry,
    )
    from medtrack.core.schedule import ZoneTimeline


class DefaultCommandGroup(TyperGroup):
    """A group that runs `default_command` when the first word names none of its commands."""

    default_command = "record"

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        help_names = set(ctx.help_option_names)
        if args and args[0] not in self.commands and args[0] not in help_names:
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)

    def shell_complete(self, ctx: Any, incomplete: str) -> list[Any]:
        """The group's commands, and what the default command's first argument completes
        to (`symptom mo` -> mood: the first word of `symptom mood 6` is a symptom name)."""
        found = super().shell_complete(ctx, incomplete)
        default = self.commands.get(self.default_command)
        first = next((p for p in default.params if p.param_type_name == "argument"), None)
        if first is not None:
            known = {item.value for item in found}
            found += [i for i in first.shell_complete(ctx, incomplete) if i.value not in known]
        return found


def _group(default: str, help_text: str) -> typer.Typer:
    cls = type(f"DefaultGroup_{default}", (DefaultCommandGroup,), {"default_command": default})
    # add_completion=False: the group is built on its own (lazily) and must not grow the
    # root's --install-completion options.
    return typer.Typer(cls=cls, help=help_text, no_args_is_help=True, add_completion=False)


symptom_app = _group(
    "record",
    "Symptoms: 'symptom NAME VALUE' records a 0-10 rating (or a value with --unit); "
    "'symptom list' lists.",
)
side_effect_app = _group(
    "add",
    "Side effects: 'side-effect NAME --severity mild' reports or updates one; resolve, list.",
)
measure_app = _group(
    "record",
    "Measurements: 'measure KIND VALUE [UNIT]' records weight, bp, heart rate or a lab "
    "value; 'measure list' lists.",
)
checkin_app = _group(
    "take",
    "Questionnaire check-ins: 'checkin phq9' (depression) or 'checkin gad7' (anxiety); "
    "'checkin list'.",
)
note_app = _group(
    "add",
    "Notes: 'note TEXT [--ask]' saves a note or a question for your prescriber; list, done.",
)

AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
At = Annotated[
    str | None, typer.Option("--at", help="When it happened (default now), e.g. 'yesterday 21:00'.")
]
Note = Annotated[str | None, typer.Option("--note", help="Anything worth keeping with it.")]
Days = Annotated[
    int | None, typer.Option("--days", help="Only the last N calendar days (today included).")
]
# Lets a negative number ("-3kg", "-1") reach the value parser, which refuses it with a clear
# message, instead of Click reading it as an unknown option.
VALUE_SETTINGS = {"ignore_unknown_options": True}


# --- shared helpers ----------------------------------------------------------------------


def _clock(conn: sqlite3.Connection) -> tuple[datetime, ZoneTimeline, datetime]:
    """(now, the zone timeline, now in the zone in force now)."""
    zones = common.zones(conn)
    now = common.now()
    return now, zones, now.astimezone(zones.zone_at(now))


def _when(text: str | None, now: datetime, zones: ZoneTimeline) -> datetime:
    return now if text is None else common.read_time(text, zones, now)


def _zone_name(zones: ZoneTimeline, at: datetime) -> str:
    return zones.zone_at(at).key


def _since(days: int | None, now: datetime, zones: ZoneTimeline) -> datetime | None:
    from medtrack.core.health import window_start

    return None if days is None else window_start(days, now, zones)


def _short(zones: ZoneTimeline, at: datetime | None) -> str:
    from medtrack.render.records import local_text

    return local_text(at, zones)


def _iso(zones: ZoneTimeline, at: datetime | None) -> str | None:
    from medtrack.render.records import iso_local

    return iso_local(at, zones)


def _number(value: float) -> str:
    return f"{value:g}"


def measurement_units(conn: sqlite3.Connection) -> dict[str, str]:
    """The units the person chose to see measurements in (the weight_unit setting)."""
    from medtrack.store import repo

    unit = repo.get_setting(conn, "weight_unit")
    return {"weight": unit} if unit else {}


# --- JSON shapes (documented in README; pinned by tests) --------------------------------


def symptom_dict(entry: SymptomEntry, zones: ZoneTimeline) -> dict[str, Any]:
    return {
        "id": entry.id,
        "name": entry.name,
        "value": entry.value,
        "unit": entry.unit,
        "at": _iso(zones, entry.at),
        "note": entry.note,
    }


def side_effect_dict(effect: SideEffect, zones: ZoneTimeline) -> dict[str, Any]:
    return {
        "id": effect.id,
        "name": effect.name,
        "medication": effect.medication,
        "severity": effect.severity,
        "started_at": _iso(zones, effect.started_at),
        "resolved_at": _iso(zones, effect.resolved_at),
        "action": effect.action,
        "note": effect.note,
        "open": effect.open,
    }


def measurement_dict(entry: MeasurementEntry, zones: ZoneTimeline) -> dict[str, Any]:
    from medtrack.core.health import loinc_for

    m = entry.measurement
    return {
        "id": entry.id,
        "kind": m.kind,
        "value": m.value,
        "value2": m.value2,
        "unit": m.unit,
        "text": str(m),
        "loinc": loinc_for(m),
        "at": _iso(zones, entry.at),
        "note": entry.note,
    }


def checkin_dict(entry: CheckinEntry, zones: ZoneTimeline) -> dict[str, Any]:
    from medtrack.core.questionnaires import get_questionnaire

    q = get_questionnaire(entry.questionnaire)
    return {
        "id": entry.id,
        "questionnaire": q.key,
        "name": q.name,
        "at": _iso(zones, entry.at),
        "answers": list(entry.answers),
        "difficulty": entry.difficulty,
        "total": entry.total,
        "max_total": q.max_total,
        "band": entry.band,
        "flagged": entry.flagged,
        "note": entry.note,
    }


def note_dict(entry: NoteEntry, zones: ZoneTimeline) -> dict[str, Any]:
    return {
        "id": entry.id,
        "text": entry.text,
        "ask": entry.ask,
        "at": _iso(zones, entry.at),
        "done_at": _iso(zones, entry.done_at),
    }


# --- symptom -----------------------------------------------------------------------------


@symptom_app.command("record", context_settings=VALUE_SETTINGS)
def symptom_record(
    words: Annotated[
        list[str],
        typer.Argument(
            metavar="NAME VALUE [NAME VALUE]...",
            help="A symptom and its 0-10 rating (or a value with its unit, e.g. 7.5h); "
            "several pairs record several entries at once.",
            autocompletion=common.complete_symptom_name,
        ),
    ],
    unit: Annotated[
        str | None,
        typer.Option("--unit", help="Unit of a single non-rating value, e.g. h for hours."),
    ] = None,
    at: At = None,
    note: Note = None,
) -> None:
    """Record symptoms: a 0-10 rating by default, or a value with its unit; several at once.

    Example: medtrack symptom mood 4 --note "flat all day"
    Example: medtrack symptom mood 6 anxiety 3 sleep 7.5h
    """
    from medtrack.core.health import SymptomEntry, clean_text, parse_symptom_entries
    from medtrack.store import health

    values = parse_symptom_entries(words, unit)
    text = clean_text(note, "note")
    recorded = []
    # One transaction: all the entries of the command, or none.
    with common.unit_of_work(write=True) as conn:
        now, zones, _ = _clock(conn)
        when = _when(at, now, zones)
        for name, number, value_unit in values:
            entry = SymptomEntry(name, number, value_unit, when, text)
            entry_id = health.add_symptom(conn, entry, zone=_zone_name(zones, when), now=now)
            recorded.append((entry, entry_id))
    for entry, entry_id in recorded:
        shown = (
            f"{_number(entry.value)} {entry.unit}" if entry.unit else f"{_number(entry.value)}/10"
        )
        common.say(f"Recorded {entry.name} {shown} at {_short(zones, when)} (#{entry_id}).")


@symptom_app.command("list")
def symptom_list(
    days: Days = None,
    name: Annotated[
        str | None,
        typer.Option(
            "--name", help="Only this symptom.", autocompletion=common.complete_symptom_name
        ),
    ] = None,
    as_json: AsJson = False,
) -> None:
    """List recorded symptoms in time order.

    Example: medtrack symptom list --days 14 --json
    """
    from medtrack.core.health import normalize_symptom_name
    from medtrack.store import health

    wanted = normalize_symptom_name(name) if name is not None else None
    with common.unit_of_work() as conn:
        now, zones, _ = _clock(conn)
        entries = health.symptoms(conn, since=_since(days, now, zones), name=wanted)
    records = [symptom_dict(e, zones) for e in entries]
    if as_json:
        common.emit_json(records)
        return
    if not records:
        common.say("No symptoms recorded. Record one with: medtrack symptom mood 6")
        return
    rows = [
        [
            e.id,
            _short(zones, e.at),
            e.name,
            f"{_number(e.value)} {e.unit}" if e.unit else f"{_number(e.value)}/10",
            e.note,
        ]
        for e in entries
    ]
    common.print_table("Symptoms", ["#", "When", "Symptom", "Value", "Note"], rows)


# --- side-effect -------------------------------------------------------------------------


@side_effect_app.command("add")
def side_effect_add(
    name: Annotated[str, typer.Argument(help="What you noticed, e.g. nausea, 'weight gain'.")],
    med: Annotated[
        str | None,
        typer.Option(
            "--med",
            help="The medication you think causes it.",
            autocompletion=common.complete_medication,
        ),
    ] = None,
    severity: Annotated[
        str | None,
        typer.Option(
            "--severity",
            help="mild, moderate or severe (needed for a new one).",
            autocompletion=common.complete_severity,
        ),
    ] = None,
    at: Annotated[str | None, typer.Option("--at", help="When it started (default now).")] = None,
    note: Note = None,
) -> None:
    """Report a side effect; reporting one that is still open updates it.

    Example: medtrack side-effect nausea --med sertraline --severity mild
    Example: medtrack side-effect "weight gain" --med quetiapine --severity moderate --at 2026-11-02
    """
    from medtrack.core.health import (
        SideEffect,
        clean_text,
        match_open_side_effect,
        normalize_symptom_name,
        parse_severity,
    )
    from medtrack.store import health, repo

    clean_name = normalize_symptom_name(name)
    level = parse_severity(severity) if severity is not None else None
    text = clean_text(note, "note")
    with common.unit_of_work(write=True) as conn:
        now, zones, _ = _clock(conn)
        when = _when(at, now, zones)
        medication = repo.find_medication(conn, med) if med is not None else None
        med_name = medication.name if medication else None
        current = match_open_side_effect(
            health.side_effects(conn, open_only=True), clean_name, med_name
        )
        if current is not None:
            assert current.id is not None
            changes: dict[str, Any] = {}
            if level is not None:
                changes["severity"] = level
            if text is not None:
                changes["note"] = text
            # A report of an earlier start moves the start back; a later one is the same effect.
            if at is not None and when < current.started_at:
                changes["started_at"] = when
            updated = health.update_side_effect(conn, current.id, changes, now=now)
        else:
            if level is None:
                raise BadValue("a new side effect needs --severity mild, moderate or severe")
            effect = SideEffect(clean_name, med_name, level, when, note=text)
            effect_id = health.add_side_effect(
                conn,
                effect,
                medication_id=medication.id if medication else None,
                zone=_zone_name(zones, when),
                now=now,
            )
    if current is not None:
        label = clean_name + (f" ({current.medication})" if current.medication else "")
        change = (
            f"severity {current.severity} -> {updated.severity}"
            if updated.severity != current.severity
            else f"still {updated.severity}"
        )
        common.say(f"Updated open side effect #{current.id} {label}: {change}.")
        return
    label = clean_name + (f" ({med_name})" if med_name else "")
    common.say(f"Recorded side effect #{effect_id}: {label}, {level}, from {_short(zones, when)}.")


@side_effect_app.command("resolve")
def side_effect_resolve(
    effect_id: Annotated[int, typer.Argument(metavar="ID", help="Number from side-effect list.")],
    action: Annotated[
        str | None, typer.Option("--action", help="What was done, e.g. 'took it with food'.")
    ] = None,
    at: Annotated[str | None, typer.Option("--at", help="When it ended (default now).")] = None,
    note: Note = None,
) -> None:
    """Mark a side effect as resolved, with what was done.

    Example: medtrack side-effect resolve 3 --action "took it with food"
    """
    from medtrack.core.health import clean_text
    from medtrack.store import health

    what = clean_text(action, "action")
    text = clean_text(note, "note")
    with common.unit_of_work(write=True) as conn:
        now, zones, _ = _clock(conn)
        when = _when(at, now, zones)
        effect = health.get_side_effect(conn, effect_id)
        if not effect.open:
            raise Conflict(
                f"side effect #{effect_id} ({effect.name}) was already resolved on "
                f"{_short(zones, effect.resolved_at)}"
            )
        if when < effect.started_at:
            raise BadValue(
                f"side effect #{effect_id} started {_short(zones, effect.started_at)}; "
                "it can't have ended before that"
            )
        changes: dict[str, Any] = {"resolved_at": when, "action": what}
        if text is not None:
            changes["note"] = text
        health.update_side_effect(conn, effect_id, changes, now=now)
    done = f" ({what})" if what else ""
    common.say(f"Resolved side effect #{effect_id} {effect.name} at {_short(zones, when)}{done}.")


@side_effect_app.command("list")
def side_effect_list(
    open_only: Annotated[bool, typer.Option("--open", help="Only unresolved ones.")] = False,
    as_json: AsJson = False,
) -> None:
    """List side effects: open ones first, then resolved; latest first within each.

    Example: medtrack side-effect list --open
    """
    from medtrack.store import health

    with common.unit_of_work() as conn:
        _, zones, _ = _clock(conn)
        effects = health.side_effects(conn, open_only=open_only)
    records = [side_effect_dict(e, zones) for e in effects]
    if as_json:
        common.emit_json(records)
        return
    if not records:
        common.say("No side effects recorded." if not open_only else "No open side effects.")
        return
    rows = [
        [
            e.id,
            e.name,
            e.medication or "-",
            e.severity,
            _short(zones, e.started_at),
            "open" if e.open else f"resolved {_short(zones, e.resolved_at)}",
            e.action,
            e.note,
        ]
        for e in effects
    ]
    common.print_table(
        "Side effects",
        ["#", "Effect", "Medication", "Severity", "Since", "Status", "Action", "Note"],
        rows,
    )


# --- measure -----------------------------------------------------------------------------


@measure_app.command("record", context_settings=VALUE_SETTINGS)
def measure_record(
    kind: Annotated[
        str,
        typer.Argument(
            help="weight, bp, hr (heart rate), or a lab name.",
            autocompletion=common.complete_measure_kind,
        ),
    ],
    value: Annotated[str, typer.Argument(help="72.4kg, 128/82, 64, 0.8...")],
    unit: Annotated[
        str | None, typer.Argument(help="Unit when not written with the value: mmol/L, kg...")
    ] = None,
    at: At = None,
    note: Note = None,
) -> None:
    """Record a measurement: weight, blood pressure, heart rate or a lab value with its unit.

    Example: medtrack measure weight 72.4kg
    Example: medtrack measure bp 128/82
    Example: medtrack measure lithium 0.8 mmol/L
    """
    from medtrack.core.health import MeasurementEntry, clean_text, parse_measurement
    from medtrack.store import health

    measurement = parse_measurement(kind, value, unit)
    text = clean_text(note, "note")
    with common.unit_of_work(write=True) as conn:
        now, zones, _ = _clock(conn)
        when = _when(at, now, zones)
        entry = MeasurementEntry(measurement, when, text)
        entry_id = health.add_measurement(conn, entry, zone=_zone_name(zones, when), now=now)
    common.say(f"Recorded {measurement.kind} {measurement} at {_short(zones, when)} (#{entry_id}).")


@measure_app.command("list")
def measure_list(
    days: Days = None,
    kind: Annotated[
        str | None,
        typer.Option(
            "--kind", help="Only this kind, e.g. bp.", autocompletion=common.complete_measure_kind
        ),
    ] = None,
    as_json: AsJson = False,
) -> None:
    """List measurements in time order.

    Example: medtrack measure list --kind weight --json
    """
    from medtrack.core.health import normalize_kind, one_series_per_kind
    from medtrack.store import health

    wanted = normalize_kind(kind) if kind is not None else None
    with common.unit_of_work() as conn:
        now, zones, _ = _clock(conn)
        entries = health.measurements(conn, since=_since(days, now, zones), kind=wanted)
        preferred = measurement_units(conn)
    records = [measurement_dict(e, zones) for e in entries]
    if as_json:
        # Scripts get what was recorded, in the unit it was recorded in.
        common.emit_json(records)
        return
    entries = one_series_per_kind(entries, preferred)
    records = [measurement_dict(e, zones) for e in entries]
    if not records:
        common.say("No measurements recorded. Record one with: medtrack measure weight 72.4kg")
        return
    rows = [
        [r["id"], _short(zones, e.at), r["kind"], r["text"], r["note"]]
        for r, e in zip(records, entries, strict=True)
    ]
    common.print_table("Measurements", ["#", "When", "Kind", "Value", "Note"], rows)


# --- checkin -----------------------------------------------------------------------------


def _interactive() -> bool:
    """Whether a person can answer prompts (tests replace this to drive the prompts)."""
    return sys.stdin.isatty()


def _ask_answers(q: Any) -> tuple[tuple[int, ...], int | None]:
    """Ask each item with rich's IntPrompt (0-3), after the stem and the options.

    Nothing is written until every answer is in; end of input (Ctrl-D) cancels.
    """
    try:
        return _prompt_items(q)
    except EOFError:
        raise MedtrackError(f"{q.name} check-in cancelled; nothing was recorded") from None


def _prompt_items(q: Any) -> tuple[tuple[int, ...], int | None]:
    from rich.prompt import IntPrompt

    console = common.console()

    def show(text: str, style: str | None = None) -> None:
        console.print(text, markup=False, highlight=False, style=style)

    choices = [str(n) for n in range(q.max_answer + 1)]
    show(q.title, "bold")
    show(q.stem)
    for number, option in enumerate(q.options):
        show(f"  {number} = {option}")
    answers = []
    for position, item in enumerate(q.items, start=1):
        prompt = f"{position}/{len(q.items)}. {item.text}".replace("[", r"\[")
        answers.append(IntPrompt.ask(prompt, choices=choices, console=console))
    difficulty = None
    # The published form asks this only "if you checked off any problems".
    if q.difficulty is not None and any(answers):
        show(q.difficulty.text)
        for number, option in enumerate(q.difficulty.options):
            show(f"  {number} = {option}")
        difficulty_choices = [str(n) for n in range(len(q.difficulty.options))]
        difficulty = IntPrompt.ask("Difficulty", choices=difficulty_choices, console=console)
    return tuple(answers), difficulty


@checkin_app.command("take")
def checkin_take(
    questionnaire: Annotated[
        str,
        typer.Argument(
            help="phq9 (depression) or gad7 (anxiety).",
            autocompletion=common.complete_questionnaire,
        ),
    ],
    answers: Annotated[
        str | None,
        typer.Option(
            "--answers",
            help="All answers at once, comma separated, 0-3 each (PHQ-9: an optional 10th "
            "is the difficulty question).",
        ),
    ] = None,
    at: At = None,
    note: Note = None,
) -> None:
    """Answer a PHQ-9 or GAD-7 check-in (about the last 2 weeks) and see its score and band.

    Example: medtrack checkin phq9
    Example: medtrack checkin gad7 --answers 1,1,2,0,1,0,1
    """
    from medtrack.core.health import CheckinEntry, clean_text
    from medtrack.core.questionnaires import (
        get_questionnaire,
        parse_answers,
        safety_message,
        score,
    )
    from medtrack.store import health, repo

    q = get_questionnaire(questionnaire)
    text = clean_text(note, "note")
    if answers is not None:
        given, difficulty = parse_answers(q, answers)
    elif _interactive():
        given, difficulty = _ask_answers(q)
    else:
        raise UsageError(
            f"no terminal to ask the {q.name} questions on; pass the answers with "
            f"--answers ({len(q.items)} values 0-{q.max_answer}, comma separated)"
        )
    result = score(q, given, difficulty)
    with common.unit_of_work(write=True) as conn:
        now, zones, _ = _clock(conn)
        when = _when(at, now, zones)
        entry = CheckinEntry(
            questionnaire=q.key,
            answers=result.answers,
            difficulty=result.difficulty,
            total=result.total,
            band=result.band,
            flagged=result.safety_flag,
            at=when,
            note=text,
        )
        entry_id = health.add_checkin(conn, entry, zone=_zone_name(zones, when), now=now)
        crisis_line = repo.get_setting(conn, "crisis_line")
        zone_now = _zone_name(zones, now)
    common.say(
        f"{q.name} total {result.total} of {q.max_total}: {result.band} "
        f"(check-in #{entry_id}, {_short(zones, when)})."
    )
    if result.safety_flag:
        common.say("")
        common.say(safety_message(crisis_line, zone_now))


@checkin_app.command("list")
def checkin_list(
    days: Days = None,
    questionnaire: Annotated[
        str | None,
        typer.Option(
            "--questionnaire",
            "-q",
            help="Only phq9 or gad7.",
            autocompletion=common.complete_questionnaire,
        ),
    ] = None,
    as_json: AsJson = False,
) -> None:
    """List check-ins with totals and bands; flagged ones are named first.

    Example: medtrack checkin list --json
    """
    from medtrack.core.questionnaires import get_questionnaire
    from medtrack.store import health

    key = get_questionnaire(questionnaire).key if questionnaire is not None else None
    with common.unit_of_work() as conn:
        now, zones, _ = _clock(conn)
        entries = health.checkins(conn, since=_since(days, now, zones), questionnaire=key)
    records = [checkin_dict(e, zones) for e in entries]
    if as_json:
        common.emit_json(records)
        return
    if not records:
        common.say("No check-ins recorded. Start one with: medtrack checkin phq9")
        return
    for r in records:
        if r["flagged"]:
            common.say(
                f"FLAGGED: {r['name']} #{r['id']} on {r['at'][:10]}: item 9 (thoughts of "
                "being better off dead or of self-harm) was answered above 0."
            )
    rows = [
        [
            r["id"],
            _short(zones, e.at),
            r["name"],
            f"{r['total']}/{r['max_total']}",
            r["band"],
            "item 9" if r["flagged"] else "",
            ",".join(str(a) for a in r["answers"]),
        ]
        for r, e in zip(records, entries, strict=True)
    ]
    common.print_table(
        "Check-ins", ["#", "When", "Questionnaire", "Total", "Band", "Flag", "Answers"], rows
    )


# --- note --------------------------------------------------------------------------------


@note_app.command("add")
def note_add(
    text: Annotated[str, typer.Argument(help="The note or question.")],
    ask: Annotated[
        bool, typer.Option("--ask", help="A question for my prescriber (open until done).")
    ] = False,
    at: At = None,
) -> None:
    """Write a note; with --ask it is a question for your prescriber.

    Example: medtrack note "Can I take the sertraline at night instead?" --ask
    """
    from medtrack.core.health import NoteEntry, clean_text
    from medtrack.store import health

    body = clean_text(text, "note", required=True)
    assert body is not None
    with common.unit_of_work(write=True) as conn:
        now, zones, _ = _clock(conn)
        when = _when(at, now, zones)
        entry_id = health.add_note(
            conn, NoteEntry(body, ask, when), zone=_zone_name(zones, when), now=now
        )
    kind = "question for your prescriber" if ask else "note"
    common.say(f"Saved {kind} #{entry_id}.")


@note_app.command("list")
def note_list(
    open_only: Annotated[
        bool, typer.Option("--open", help="Only questions not yet answered.")
    ] = False,
    as_json: AsJson = False,
) -> None:
    """List notes and questions in time order.

    Example: medtrack note list --open
    """
    from medtrack.store import health

    with common.unit_of_work() as conn:
        _, zones, _ = _clock(conn)
        entries = health.notes(conn, open_only=open_only)
    records = [note_dict(e, zones) for e in entries]
    if as_json:
        common.emit_json(records)
        return
    if not records:
        common.say("No open questions." if open_only else "No notes recorded.")
        return
    rows = [
        [
            e.id,
            _short(zones, e.at),
            ("question, answered " + _short(zones, e.done_at) if e.done_at else "question")
            if e.ask
            else ("note, done" if e.done_at else "note"),
            e.text,
        ]
        for e in entries
    ]
    common.print_table("Notes", ["#", "When", "Kind", "Text"], rows)


@note_app.command("done")
def note_done(
    note_id: Annotated[int, typer.Argument(metavar="ID", help="Number from note list.")],
    at: Annotated[str | None, typer.Option("--at", help="When it was answered.")] = None,
) -> None:
    """Mark a question (or note) as answered; it stays in the record.

    Example: medtrack note done 2
    """
    from medtrack.store import health

    with common.unit_of_work(write=True) as conn:
        now, zones, _ = _clock(conn)
        when = _when(at, now, zones)
        entry = health.get_note(conn, note_id)
        if entry.done_at is not None:
            raise Conflict(
                f"note #{note_id} was already marked done on {_short(zones, entry.done_at)}"
            )
        if when < entry.at:
            raise BadValue(
                f"note #{note_id} was written {_short(zones, entry.at)}; answer after that"
            )
        health.mark_note_done(conn, note_id, at=when, now=now)
    common.say(f"Marked note #{note_id} as answered.")
