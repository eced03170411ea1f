"""Text and JSON-ready views of doses, today's slots and adherence summaries.

Returns strings, rows and dicts; the CLI prints them. Nothing here imports rich, so the
fast commands (take, skip, today) stay fast; tables become rich only in
`common.print_table`, on a terminal.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from medtrack.core.models import Dose
from medtrack.core.schedule import ZoneTimeline, format_interval
from medtrack.core.slots import DoseRecord, JudgedSlot, Slot
from medtrack.core.timeparse import from_utc_text
from medtrack.render.escaping import terminal_cell
from medtrack.render.symbols import CELL_STATE, DAY_SYMBOLS, legend_text, plural, slot_text
from medtrack.render.width import display_width, pad

if TYPE_CHECKING:
    # Only the summary commands build these; `today` must not load their module.
    from medtrack.core.adherence import (
        AsNeededSummary,
        DayStat,
        MedicationSummary,
        Overall,
        Summary,
    )

# The calendar strip draws each DayStat.cell with the one vocabulary (render/symbols.py).
STRIP_CELLS = {cell: DAY_SYMBOLS[state] for cell, state in CELL_STATE.items()}
STRIP_LEGEND = legend_text()
SPARK = "▁▂▃▄▅▆▇█"
STRIP_DAYS = 30
SPARK_WIDTH = 60


# --- times --------------------------------------------------------------------------------


def local(instant: datetime, zones: ZoneTimeline) -> datetime:
    """The instant as the wall time of the zone in force then (a trip keeps its zones)."""
    return instant.astimezone(zones.zone_at(instant))


def iso(instant: datetime | None, zones: ZoneTimeline) -> str | None:
    return None if instant is None else local(instant, zones).isoformat()


def clock(instant: datetime, zones: ZoneTimeline) -> str:
    """`08:00`, or `08:00 Berlin` when that moment was lived in another zone than now's,
    so that no line reads as a time of the zone one is in now."""
    return local(instant, zones).strftime("%H:%M") + zones.label(instant)


def place(instant: datetime | None, zones: ZoneTimeline) -> str | None:
    """For JSON: the place of the instant's zone when it is not the zone in force now."""
    return None if instant is None else (zones.label(instant).strip() or None)


def _with_place(text: str, where: str | None) -> str:
    return f"{text} {where}" if where else text


def when_text(instant: datetime, zones: ZoneTimeline, now: datetime) -> str:
    """`08:04` today, `yesterday 21:00`, or `2026-11-20 21:00` (each with the place of
    its zone when that differs from now's: `yesterday 08:00 Berlin`). Today and
    yesterday are local days: the instant's date in its zone against now's in now's."""
    day = local(instant, zones).date()
    today = local(now, zones).date()
    if day == today:
        return clock(instant, zones)
    if day == today - timedelta(days=1):
        return f"yesterday {clock(instant, zones)}"
    return local(instant, zones).strftime("%Y-%m-%d %H:%M") + zones.label(instant)


def ago(instant: datetime, now: datetime) -> str:
    delta = now - instant
    if delta < timedelta(minutes=1):
        return "just now"
    if delta < timedelta(days=2):
        return f"{format_interval(delta)} ago"
    return f"{delta.days} days ago"


def _offset(delta: timedelta) -> str:
    return format_interval(abs(delta))


# --- take and skip ------------------------------------------------------------------------


def taken_line(
    medication: str,
    dose: Dose,
    taken_at: datetime,
    slot: Slot | None,
    timing: str | None,
    zones: ZoneTimeline,
    now: datetime,
    *,
    as_needed: bool = False,
) -> str:
    """`sertraline 50 mg, 08:00 dose, taken 08:04, on time`."""
    taken = f"taken {when_text(taken_at, zones, now)}"
    if as_needed:
        return f"{medication} {dose}, as needed, {taken}"
    if slot is None:
        return f"{medication} {dose}, extra dose (no open slot), {taken}"
    label = _slot_label(slot, taken_at, zones, now)
    words = {"on-time": "on time", None: ""}.get(timing)
    if words is None:
        words = f"{timing} by {_offset(taken_at - slot.at)}"
    return f"{medication} {dose}, {label} dose, {taken}, {words}"


def _slot_label(slot: Slot, other: datetime, zones: ZoneTimeline, now: datetime) -> str:
    if local(slot.at, zones).date() == local(other, zones).date():
        return clock(slot.at, zones)
    return when_text(slot.at, zones, now)


def skipped_line(
    medication: str, slot: Slot, reason: str, at: datetime, zones: ZoneTimeline, now: datetime
) -> str:
    return f"{medication}: {_slot_label(slot, at, zones, now)} dose skipped ({reason})"


# --- today --------------------------------------------------------------------------------


def today_status(item: JudgedSlot, zones: ZoneTimeline) -> str:
    if item.status == "taken":
        assert item.record is not None
        return slot_text("taken", clock(item.record.taken_at, zones))
    if item.status == "skipped":
        assert item.record is not None
        return slot_text("skipped", f"({item.record.skip_reason or 'other'})")
    return slot_text(item.status)


def today_slot_dict(item: JudgedSlot, zones: ZoneTimeline) -> dict[str, Any]:
    record = item.record
    return {
        "medication": item.slot.medication,
        "dose": str(item.slot.regimen.dose),
        "scheduled_for": iso(item.slot.at, zones),
        "date": item.slot.day.isoformat(),
        "time": local(item.slot.at, zones).strftime("%H:%M"),
        "zone": zones.zone_at(item.slot.at).key,
        "place": place(item.slot.at, zones),
        "status": "due" if item.status == "pending" else item.status,
        "taken_at": iso(record.taken_at, zones) if record and item.status == "taken" else None,
        "taken_place": place(record.taken_at, zones) if record and item.status == "taken" else None,
        "timing": item.timing,
        "skip_reason": record.skip_reason if record and item.status == "skipped" else None,
        "dose_id": record.id if record else None,
    }


def as_needed_today_dict(
    medication: str,
    dose: Dose,
    uses: int,
    max_per_day: int | None,
    last_taken: datetime | None,
    next_allowed: datetime | None,
    zones: ZoneTimeline,
) -> dict[str, Any]:
    return {
        "medication": medication,
        "dose": str(dose),
        "uses_today": uses,
        "max_per_day": max_per_day,
        "last_taken_at": iso(last_taken, zones),
        "last_taken_place": place(last_taken, zones),
        "next_allowed_at": iso(next_allowed, zones),
        "next_allowed_place": place(next_allowed, zones),
    }


def today_rows(slots: Sequence[dict[str, Any]], today: date) -> list[list[str]]:
    """`today`'s table; a slot of another day still open now says which day it is."""
    rows = []
    for item in slots:
        when = item["time"]
        if item["date"] == (today - timedelta(days=1)).isoformat():
            when = f"yesterday {when}"
        elif item["date"] != today.isoformat():
            when = f"{item['date']} {when}"
        # The JSON says "due" for a pending slot; the table words come from the vocabulary.
        status = slot_text("pending" if item["status"] == "due" else item["status"])
        if item["status"] == "taken":
            status = slot_text(
                "taken", _with_place(item["taken_at"][11:16], item.get("taken_place"))
            )
        elif item["status"] == "skipped":
            status = slot_text("skipped", f"({item['skip_reason'] or 'other'})")
        rows.append(
            [_with_place(when, item.get("place")), item["medication"], item["dose"], status]
        )
    return rows


def as_needed_rows(items: Sequence[dict[str, Any]]) -> list[list[str]]:
    rows = []
    for item in items:
        limit = f" of {item['max_per_day']}" if item["max_per_day"] else ""
        nxt = item["next_allowed_at"]
        rows.append(
            [
                item["medication"],
                item["dose"],
                f"{item['uses_today']}{limit}",
                _with_place(item["last_taken_at"][11:16], item.get("last_taken_place"))
                if item["last_taken_at"]
                else "-",
                _with_place(nxt[11:16], item.get("next_allowed_place")) if nxt else "now",
            ]
        )
    return rows


# --- log ----------------------------------------------------------------------------------


def log_dict(
    record: DoseRecord, kind: str, slot_at: datetime | None, zones: ZoneTimeline
) -> dict[str, Any]:
    """One record for `log --json`; `slot_at` is the slot it answers (derived), if any."""
    return {
        "id": record.id,
        "medication": record.medication,
        "status": record.status,
        "kind": kind,
        "taken_at": iso(record.taken_at, zones),
        "place": place(record.taken_at, zones),
        "scheduled_for": iso(slot_at, zones),
        "slot_place": place(slot_at, zones),
        "amount": record.amount,
        "unit": record.unit,
        "skip_reason": record.skip_reason,
        "note": record.note,
        "zone": record.zone,
        "recorded_at": iso(record.recorded_at, zones),
    }


def log_rows(items: Sequence[dict[str, Any]]) -> list[list[str]]:
    rows = []
    for item in items:
        amount = "" if item["amount"] is None else f"{item['amount']:g} {item['unit'] or ''}"
        status = item["status"]
        if item["skip_reason"]:
            status += f" ({item['skip_reason']})"
        slot = (
            _with_place(item["scheduled_for"][11:16], item.get("slot_place"))
            if item["scheduled_for"]
            else item["kind"]
        )
        rows.append(
            [
                str(item["id"]),
                _with_place(item["taken_at"][:16].replace("T", " "), item.get("place")),
                item["medication"],
                amount.strip(),
                status,
                slot,
                item["note"] or "",
            ]
        )
    return rows


# --- undo ---------------------------------------------------------------------------------


def _stored_time(value: Any, zones: ZoneTimeline) -> str:
    try:
        instant = from_utc_text(value)
        return local(instant, zones).strftime("%Y-%m-%d %H:%M") + zones.label(instant)
    except (TypeError, ValueError):
        return str(value)


def record_line(kind: str, row: dict[str, Any], medication: str | None, zones: ZoneTimeline) -> str:
    """One line naming a record for undo: `dose 12: sertraline 50 mg taken 2026-11-23 08:04`."""
    g = row.get
    if kind == "plan":
        return f"plan change: {g('text')}"
    head = f"{kind} {g('id')}:"
    if kind == "dose":
        amount = "" if g("amount") is None else f" {g('amount'):g} {g('unit') or ''}".rstrip()
        what = f"{medication}{amount} {g('status')} {_stored_time(g('taken_at'), zones)}"
        if g("skip_reason"):
            what += f", reason {g('skip_reason')}"
        return f"{head} {what}"
    if kind == "symptom":
        unit = f" {g('unit')}" if g("unit") else ""
        return f"{head} {g('name')} {g('value'):g}{unit} at {_stored_time(g('at'), zones)}"
    if kind == "side-effect":
        med = f" with {medication}" if medication else ""
        return (
            f"{head} {g('name')} ({g('severity')}){med} from {_stored_time(g('started_at'), zones)}"
        )
    if kind == "measurement":
        value = f"{g('value'):g}" + (f"/{g('value2'):g}" if g("value2") is not None else "")
        return f"{head} {g('kind')} {value} {g('unit')} at {_stored_time(g('at'), zones)}"
    if kind == "checkin":
        return (
            f"{head} {g('questionnaire')} total {g('total')} ({g('band')}) at "
            f"{_stored_time(g('at'), zones)}"
        )
    if kind == "note":
        text = str(g("text"))
        text = text if len(text) <= 50 else text[:47] + "..."
        return f'{head} "{text}" at {_stored_time(g("at"), zones)}'
    if kind == "visit":
        who = f" with {g('with_whom')}" if g("with_whom") else ""
        return f"{head} {g('kind')}{who} at {_stored_time(g('at'), zones)}"
    if kind == "refill":
        return f"{head} {medication} +{g('quantity'):g} at {_stored_time(g('at'), zones)}"
    return f"{head} {row}"


# --- summary ------------------------------------------------------------------------------


def strip(days: Sequence[DayStat], width: int = STRIP_DAYS) -> str:
    """One cell a day for the last `width` days (DayStat.cell decides the symbol)."""
    return "".join(STRIP_CELLS[d.cell] for d in days[-width:])


def sparkline(days: Sequence[DayStat], width: int = SPARK_WIDTH) -> str:
    """Daily taking adherence as block characters, days grouped to fit `width` cells.

    A cell is the share of settled doses taken in its days; blank when none were due.
    """
    if not days:
        return ""
    size = max(1, -(-len(days) // width))
    cells = []
    for index in range(0, len(days), size):
        group = days[index : index + size]
        settled = sum(d.due - d.pending for d in group)
        if settled <= 0:
            cells.append(" ")
            continue
        share = sum(d.taken for d in group) / settled
        cells.append(SPARK[min(len(SPARK) - 1, int(share * (len(SPARK) - 1) + 0.5))])
    return "".join(cells)


def _daily(days: Sequence[DayStat]) -> list[dict[str, Any]]:
    """`summary --json`'s "daily" list."""
    return [
        {
            "date": d.day.isoformat(),
            "due": d.due,
            "taken": d.taken,
            "skipped": d.skipped,
            "missed": d.missed,
            "pending": d.pending,
            "overdue": d.overdue,
            "extra": d.extra,
            "planned": d.planned,
            "cell": d.cell,
        }
        for d in days
    ]


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}%"


def medication_summary_dict(item: MedicationSummary) -> dict[str, Any]:
    return {
        "medication": item.medication,
        "due": item.due,
        "taken": item.taken,
        "on_time": item.on_time,
        "late": item.late,
        "early": item.early,
        "skipped": item.skipped,
        "skipped_by_reason": item.skipped_by_reason,
        "missed": item.missed,
        "overdue": item.overdue,
        "pending": item.pending,
        "extra": item.extra,
        "taking_adherence": item.taking_adherence,
        "timing_adherence": item.timing_adherence,
        "correct_dosing_days": {
            "correct": item.correct_days,
            "days": item.judged_days,
            "percent": item.correct_dosing,
        },
        "drug_holidays": [
            {"first": h.first.isoformat(), "last": h.last.isoformat(), "days": h.days}
            for h in item.holidays
        ],
        "late_or_missed": [
            {"date": d.isoformat(), "status": what} for d, what in item.late_or_missed
        ],
        "current_streak": item.current_streak,
        "longest_streak": item.longest_streak,
        "pdc": None
        if item.pdc is None
        else {
            "percent": item.pdc.percent,
            "covered_days": item.pdc.covered,
            "days": item.pdc.days,
            "since": item.pdc.since.isoformat(),
        },
        "initiation_days": item.initiation_days,
        "persistence": {"days": item.persistence_days, "ongoing": item.ongoing},
        "daily": _daily(item.days),
    }


def as_needed_summary_dict(item: AsNeededSummary) -> dict[str, Any]:
    return {
        "medication": item.medication,
        "uses": item.uses,
        "per_week": item.per_week,
        "days_above_max": item.days_above_max,
        "max_per_day": item.max_per_day,
        "per_day": [{"date": day.isoformat(), "uses": n} for day, n in item.per_day],
    }


def overall_dict(item: Overall) -> dict[str, Any]:
    return {
        "due": item.due,
        "taken": item.taken,
        "on_time": item.on_time,
        "late": item.late,
        "skipped": item.skipped,
        "missed": item.missed,
        "overdue": item.overdue,
        "pending": item.pending,
        "taking_adherence": item.taking_adherence,
        "timing_adherence": item.timing_adherence,
        "correct_dosing_days": {
            "correct": item.correct_days,
            "days": item.judged_days,
            "percent": item.correct_dosing,
        },
    }


def summary_dict(summary: Summary, zones: ZoneTimeline) -> dict[str, Any]:
    """What `summary --json` prints (keys documented in README)."""
    return {
        "window": {
            "start": iso(summary.start, zones),
            "end": iso(min(summary.end, summary.now), zones),
            "now": iso(summary.now, zones),
        },
        "on_time_window_minutes": int(summary.on_time_window.total_seconds() // 60),
        "drug_holiday_days": summary.holiday_days,
        "threshold": {"percent": summary.threshold, "label": "conventional threshold"},
        "medications": [medication_summary_dict(m) for m in summary.medications],
        "as_needed": [as_needed_summary_dict(a) for a in summary.as_needed],
        "overall": overall_dict(summary.overall),
    }


def summary_rows(summary: Summary) -> list[list[str]]:
    rows = []
    for m in summary.medications:
        reasons = ", ".join(f"{k} {v}" for k, v in m.skipped_by_reason.items())
        rows.append(
            [
                m.medication,
                str(m.due),
                str(m.taken),
                str(m.on_time),
                str(m.late),
                f"{m.skipped}" + (f" ({reasons})" if reasons else ""),
                str(m.missed) + (f" (+{m.overdue} overdue)" if m.overdue else ""),
                str(m.pending),
                _pct(m.taking_adherence) + _flag(m.taking_adherence, summary.threshold),
                _pct(m.timing_adherence),
                _pct(m.correct_dosing),
                f"{m.current_streak}/{m.longest_streak}",
            ]
        )
    o = summary.overall
    if summary.medications:
        rows.append(
            [
                "overall",
                str(o.due),
                str(o.taken),
                str(o.on_time),
                str(o.late),
                str(o.skipped),
                str(o.missed),
                str(o.pending),
                _pct(o.taking_adherence) + _flag(o.taking_adherence, summary.threshold),
                _pct(o.timing_adherence),
                _pct(o.correct_dosing),
                "",
            ]
        )
    return rows


SUMMARY_COLUMNS = [
    "Medication",
    "Due",
    "Taken",
    "On time",
    "Late",
    "Skipped",
    "Missed",
    "Pending",
    "Taking",
    "Timing",
    "Correct days",
    "Streak now/best",
]


def _flag(value: float | None, threshold: float) -> str:
    return " (below 80)" if value is not None and value < threshold else ""


def summary_lines(summary: Summary) -> list[str]:
    """The text after the table: threshold note, holidays, as-needed use, strips, sparklines."""
    lines = []
    if summary.medications:
        # As-needed use has no adherence: the threshold is said only beside percentages.
        lines.append(
            f"{summary.threshold:g}% is the conventional adherence threshold, shown for "
            "reference; taking = taken / (due - pending), an overdue dose counting as not "
            f"taken; timing = within ±{format_interval(summary.on_time_window)} of the slot "
            "for daily doses, longer for schedules further apart."
        )
    for m in summary.medications:
        for h in m.holidays:
            lines.append(
                f"{m.medication}: drug holiday {h.first.isoformat()} to {h.last.isoformat()} "
                f"({plural(h.days, 'day')} with no dose)"
            )
        if m.late_or_missed:
            dated = ", ".join(f"{what} {day.isoformat()}" for day, what in m.late_or_missed)
            lines.append(f"{m.medication}: {dated}")
        if m.pdc is not None and m.pdc.percent is not None:
            lines.append(
                f"{m.medication}: refill-based PDC {m.pdc.percent:.1f}% ({m.pdc.covered} of "
                f"{m.pdc.days} days covered since {m.pdc.since.isoformat()})"
            )
    for a in summary.as_needed:
        limit = (
            f", {plural(a.days_above_max, 'day')} above the max of {a.max_per_day}"
            if a.max_per_day
            else ""
        )
        lines.append(
            f"{a.medication} (as needed): {plural(a.uses, 'use')}, {a.per_week:g} a week"
            f"{limit}; not counted in any percentage"
        )
    if summary.medications:
        # Aligned as printed: a stored control character is shown as an escape (\x1b).
        names = [terminal_cell(m.medication) for m in summary.medications]
        width = max(map(display_width, names))
        shown = min(STRIP_DAYS, max(len(m.days) for m in summary.medications))
        lines.append("")
        lines.append(f"Last {plural(shown, 'day')} ({STRIP_LEGEND}):")
        for name, m in zip(names, summary.medications, strict=True):
            lines.append(f"  {pad(name, width)}  {strip(m.days)}")
        lines.append("Daily adherence:")
        for name, m in zip(names, summary.medications, strict=True):
            lines.append(f"  {pad(name, width)}  {sparkline(m.days)}")
    return lines
