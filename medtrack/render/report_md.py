"""The visit report as Markdown (to paste into a patient-portal message) and as plain text
for the terminal, plus the section tables every format shares.

`section_table` turns one section of a `VisitReport` into a title, column names and rows
of text; the Markdown, terminal, HTML and PDF renderers all print those same cells and
differ only in how they draw them and the charts beside them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from medtrack.core.report import (
    CONVENTIONAL_THRESHOLD,
    SECTION_TITLES,
    AdherenceRow,
    MedicationRow,
    SymptomTrend,
    VisitReport,
    compare_days,
    num_text,
    pct_text,
    reasons_text,
    score_change_text,
    symptom_label,
)
from medtrack.render.charts import STRIP_CHARS, sparkline, strip_text
from medtrack.render.escaping import markdown_text, terminal_cell
from medtrack.render.symbols import DAY_LEGEND as STRIP_LEGEND
from medtrack.render.width import display_width, pad

SCORES_LISTED = 8

KIND_NOTE = {"otc": "over the counter", "supplement": "supplement"}

EMPTY = {
    "safety": "None in this period.",
    "timeline": "Nothing to show on a timeline in this period.",
    "medications": "No current medications recorded.",
    "changes": "No changes in this period.",
    "adherence": "No scheduled doses in this period.",
    "side_effects": "No side effects recorded in this period.",
    "symptoms": "No symptoms recorded in this period.",
    "scores": "No PHQ-9 or GAD-7 check-ins in this period.",
    "measurements": "No measurements in this period.",
    "questions": "No open questions.",
}


@dataclass(frozen=True)
class SectionTable:
    key: str
    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    empty: str
    # Relative column widths for the PDF (empty: the renderer's own or equal shares).
    widths: tuple[float, ...] = ()
    numeric: tuple[int, ...] = ()


def shown_as(table: SectionTable, cell: Callable[[str], str]) -> SectionTable:
    """`table` with every row cell (stored text: names, notes, reasons) passed through a
    format's escaping, where the renderer first meets it."""
    return replace(table, rows=tuple(tuple(map(cell, row)) for row in table.rows))


def header_lines(report: VisitReport) -> list[tuple[str, str]]:
    """The header as (label, value) pairs, in print order."""
    h = report.header
    lines = []
    if h.name:
        lines.append(("Patient", h.name))
    lines.append(("Period", h.period_text))
    lines.append(("Generated", h.generated_text))
    lines.append(("Next visit", h.next_visit or "none recorded"))
    return lines


def report_title(report: VisitReport) -> str:
    return f"Visit report for the {report.header.audience}"


def taken_cell(row: AdherenceRow) -> str:
    if row.due == 0:
        return "-"
    return f"{pct_text(row.taken_pct)} ({row.taken}/{row.due})"


def section_table(report: VisitReport, key: str) -> SectionTable:
    title = SECTION_TITLES[key]
    columns: tuple[str, ...] = ()
    rows: list[tuple[str, ...]] = []
    if key == "safety":
        columns = ("Flag",)
        rows = [(flag.text,) for flag in report.safety]
    elif key == "medications":
        columns = ("Medication", "Dose", "Amount", "Schedule", "Form", "On dose since", "For")
        for med in report.medications:
            if med.kind in KIND_NOTE:
                continue  # over the counter and supplements: a table of their own
            rows.append(_medication_cells(med))
    elif key == "changes":
        columns = ("Date", "Medication", "Change", "Reason")
        for change in report.changes:
            what = change.what + (f": {change.detail}" if change.detail else "")
            rows.append((change.on.isoformat(), change.medication, what, change.reason or "-"))
    elif key == "adherence":
        columns = ("Medication", "Taken", "On time", "Missed", "Skipped", "Top reasons")
        adherence = report.adherence
        all_rows = list(adherence.rows) + ([adherence.overall] if adherence.overall else [])
        for row in all_rows:
            rows.append(
                (
                    row.medication,
                    taken_cell(row),
                    pct_text(row.on_time_pct),
                    str(row.missed) + (f" +{row.overdue}!" if row.overdue else ""),
                    str(row.skipped),
                    reasons_text(row.reasons),
                )
            )
    elif key == "side_effects":
        columns = ("Side effect", "Severity", "Medication", "Since", "Status", "Action, note")
        for effect in report.side_effects:
            severity = effect.severity
            if effect.peak and effect.peak != effect.severity:
                severity += f" (peak {effect.peak})"
            action = "; ".join(x for x in (effect.action, effect.note) if x) or "-"
            rows.append(
                (
                    effect.name,
                    severity,
                    effect.medication or "-",
                    effect.since.isoformat(),
                    effect.status,
                    action,
                )
            )
    elif key == "symptoms":
        span = compare_days(report.header.days)
        columns = (
            "Symptom",
            "Days with data",
            f"First {span} days",
            f"Last {span} days",
            "Change",
            "Better if",
            "Range",
        )
        for trend in report.symptoms:
            rows.append(
                (
                    symptom_label(trend),
                    f"{trend.days_with_data} of {report.header.days}",
                    _mean_text(trend.first_mean),
                    _mean_text(trend.last_mean),
                    change_text(trend),
                    trend.better or "-",
                    f"{num_text(trend.low)}-{num_text(trend.high)}",
                )
            )
    elif key == "scores":
        columns = ("Questionnaire", "Check-ins", "Change", "Scores")
        h = report.header
        day_format = "%m-%d" if h.period_start.year == h.period_end.year else "%Y-%m-%d"
        for series in report.scores:
            # A long period lists its latest scores; the chart and the change show the rest.
            shown = series.points[-SCORES_LISTED:]
            scores = ", ".join(
                f"{p.on.strftime(day_format)}: {p.total}" + (" (q9 flagged)" if p.flagged else "")
                for p in shown
            )
            if len(shown) < len(series.points):
                scores = f"last {len(shown)}: {scores}"
            rows.append((series.name, str(len(series.points)), score_change_text(series), scores))
    elif key == "measurements":
        columns = ("Measurement", "Entries", "Latest", "Change", "Lowest", "Highest")
        for m in report.measurements:
            rows.append(
                (
                    m.label,
                    str(m.count),
                    f"{m.latest} ({m.latest_on.isoformat()})" + (f", {m.bmi}" if m.bmi else ""),
                    m.change,
                    m.low,
                    m.high,
                )
            )
    elif key == "timeline" and report.timeline is not None:
        tl = report.timeline
        columns = ("Days", *tl.symptoms, "PHQ-9, GAD-7", "Missed, skipped", "Changes")
        for row in tl.rows:
            span = row.first.strftime("%m-%d") + (
                f" to {row.last.strftime('%m-%d')}" if row.last != row.first else ""
            )
            if tl.first.year != tl.last.year:
                span = f"{row.first.isoformat()} to {row.last.isoformat()}"
            rows.append((span, *row.symptoms, row.scores, row.missed, row.events))
    elif key == "questions":
        columns = ("Question", "Asked")
        rows = [(q.text, q.asked.isoformat()) for q in report.questions]
    empty = EMPTY[key]
    if key == "safety" and report.header.safety_since is not None:
        empty = (
            "No PHQ-9 item 9 above 0, no side effect that reached severe and no day above "
            f"an as-needed maximum since {report.header.safety_since.isoformat()}."
        )
    if key == "medications" and not rows and any(m.kind in KIND_NOTE for m in report.medications):
        empty = "No prescribed medications recorded."
    return SectionTable(key, title, columns, tuple(rows), empty)


def _mean_text(value: float | None) -> str:
    return "-" if value is None else num_text(value)


def change_text(trend: SymptomTrend) -> str:
    """ "+4.7, better": the last two weeks' mean against the first's, judged by the
    symptom's better direction ("changed" where none is known)."""
    if trend.first_mean is None or trend.last_mean is None:
        return "-"
    delta = num_text(trend.last_mean - trend.first_mean)
    if delta in ("0", "-0"):
        return f"0, {trend.verdict}"
    return f"{'' if delta.startswith('-') else '+'}{delta}, {trend.verdict}"


def _medication_cells(med: MedicationRow) -> tuple[str, ...]:
    name = med.name + (" (controlled)" if med.controlled else "")
    purpose = med.purpose or "-"
    if med.prescriber:
        purpose += f" ({med.prescriber})"
    return (
        name,
        med.dose,
        med.per_day,
        med.schedule,
        med.form_route,
        med.dose_since.isoformat() if med.dose_since else "-",
        purpose,
    )


def sub_tables(report: VisitReport, key: str) -> list[SectionTable]:
    """The smaller tables printed after a section's own, in every format; only those
    with rows."""
    tables: list[SectionTable] = []
    if key == "medications":
        otc = [m for m in report.medications if m.kind in KIND_NOTE]
        tables.append(
            SectionTable(
                "otc",
                "Over the counter and supplements",
                ("Name", "Kind", "Dose", "Amount", "Schedule", "For"),
                tuple(
                    (m.name, KIND_NOTE[m.kind], m.dose, m.per_day, m.schedule, m.purpose or "-")
                    for m in otc
                ),
                "",
                (30, 22, 16, 22, 50, 40),
            )
        )
        tables.append(
            SectionTable(
                "injections",
                "Injections",
                ("Medication", "Last given", "Next due", "On time"),
                tuple(
                    (
                        i.medication,
                        i.last_given.isoformat() if i.last_given else "none recorded",
                        i.next_due.isoformat() if i.next_due else "-",
                        i.window,
                    )
                    for i in report.injections
                ),
                "",
                (40, 30, 30, 30),
            )
        )
        tables.append(
            SectionTable(
                "controlled",
                "Controlled medications taken in the period",
                ("Medication", "Doses", "Total"),
                tuple((c.medication, str(c.doses), c.total) for c in report.controlled),
                "",
                (40, 20, 30),
                (1,),
            )
        )
    elif key == "adherence":
        tables.append(as_needed_table(report))
        tables.append(
            SectionTable(
                "interruptions",
                "Interruptions (days in a row with no dose)",
                ("Medication", "From", "To", "Days", "Skip reasons"),
                tuple(
                    (
                        i.medication,
                        i.first.isoformat(),
                        i.last.isoformat(),
                        str(i.days),
                        reasons_text(i.reasons),
                    )
                    for i in report.interruptions
                ),
                "",
                (30, 20, 20, 10, 60),
                (3,),
            )
        )
        tables.append(course_table(report))
        tables.append(
            SectionTable(
                "dose_events",
                "Extra doses and doses at another amount",
                ("Date", "Medication", "What"),
                tuple((e.on.isoformat(), e.medication, e.what) for e in report.dose_events),
                "",
                (20, 30, 90),
            )
        )
    return [t for t in tables if t.rows]


def course_table(report: VisitReport) -> SectionTable:
    """Overdue doses, dated late and missed doses of plans further apart than a day,
    refill-based PDC, initiation and persistence (ABC taxonomy), for the medications with
    one of them to tell (one page: a medication taken from its first day, ongoing, with
    nothing overdue or dated and no refill recorded has a row only in `summary --json`)."""
    rows = []
    for c in report.adherence.courses:
        # Overdue doses are in the table above (Missed); here only what else there is.
        plain = not c.late_or_missed and c.pdc == "-" and c.ongoing
        if plain and (c.initiation_days == 0 or not c.started_in_period):
            continue
        dated = ", ".join(f"{what} {day.isoformat()}" for day, what in c.late_or_missed[-4:])
        if len(c.late_or_missed) > 4:
            dated = f"{len(c.late_or_missed) - 4} more, then {dated}"
        started = "no dose yet" if c.initiation_days is None else f"{c.initiation_days} d"
        if not c.started_in_period:
            started = "-"  # begun before the period: not news for this visit
        on_it = f"{c.persistence_days} d" + (", ongoing" if c.ongoing else ", stopped")
        rows.append((c.medication, dated or "-", c.pdc, started, on_it))
    return SectionTable(
        "course",
        "Refills (PDC), late and missed injections, first dose and time on it",
        ("Medication", "Late or missed", "PDC", "First dose after", "On it"),
        tuple(rows),
        "",
        (26, 50, 28, 20, 24),
    )


def as_needed_table(report: VisitReport) -> SectionTable:
    rows = [
        (
            prn.medication,
            str(prn.uses),
            str(prn.days_used),
            "-" if prn.max_per_day is None else str(prn.max_per_day),
            str(prn.days_over_max),
        )
        for prn in report.adherence.as_needed
    ]
    return SectionTable(
        "as_needed",
        "As-needed use",
        ("Medication", "Doses", "Days used", "Max a day", "Days over max"),
        tuple(rows),
        "",
        (30, 15, 20, 20, 25),
        (1, 2, 3, 4),
    )


def adherence_note(report: VisitReport) -> str:
    cell = "day" if report.adherence.cell_days == 1 else "week"
    return (
        f"Taken = doses taken / doses due; on time = within the on-time window (fits the "
        f"schedule: 7 days for a four-weekly injection). +N! = overdue: past that window, "
        f"still open, counted as not taken. {CONVENTIONAL_THRESHOLD}% is the conventional "
        f"threshold in studies. Calendar: one mark per {cell}."
    )


def strip_legend_text() -> str:
    return "  ".join(f"{STRIP_CHARS[state]} {label}" for state, label in STRIP_LEGEND)


# --- Markdown ----------------------------------------------------------------------------


def _md_table(table: SectionTable) -> list[str]:
    """A pipe table of cells already escaped by `markdown_text` (a newline is a <br>, a
    pipe is \\|, so a cell never ends early or spills into new rows)."""
    lines = [
        "| " + " | ".join(table.columns) + " |",
        "|" + "|".join("---" for _ in table.columns) + "|",
    ]
    for row in table.rows:
        lines.append("| " + " | ".join(row) + " |")
    return lines


def render_markdown(report: VisitReport) -> str:
    """The report in Markdown: headings, pipe tables and text sparklines."""
    out = [f"# {report_title(report)}", ""]
    for label, value in header_lines(report):
        out.append(f"- **{label}:** {markdown_text(value)}")
    out.append("")
    for key in report.sections:
        raw = section_table(report, key)
        table = shown_as(raw, markdown_text)
        out.append(f"## {table.title}")
        out.append("")
        if key == "safety":
            if table.rows:
                out.extend(f"> **{row[0]}**" + "\n>" for row in table.rows)
                out[-1] = out[-1].removesuffix("\n>")
            else:
                out.append(table.empty)
            out.append("")
            continue
        if key == "questions":
            if table.rows:
                out.extend(
                    f"- {markdown_text(text, line_start=True)} _(asked {markdown_text(asked)})_"
                    for text, asked in raw.rows
                )
            else:
                out.append(table.empty)
            out.append("")
            continue
        if table.rows:
            out.extend(_md_table(table))
        else:
            out.append(table.empty)
        for sub in sub_tables(report, key):
            sub = shown_as(sub, markdown_text)
            out.append("")
            out.append(f"**{sub.title}**")
            out.append("")
            out.extend(_md_table(sub))
        if key == "adherence" and report.adherence.rows:
            out.append("")
            out.append(f"Calendar from {report.header.period_start.isoformat()}:")
            out.append("")
            for row in report.adherence.rows:
                out.append(f"- `{strip_text(row.strip)}` {markdown_text(row.medication)}")
            out.append("")
            out.append(f"Legend: `{strip_legend_text()}`. {adherence_note(report)}")
        if key == "symptoms" and report.symptoms:
            out.append("")
            for trend in report.symptoms:
                values = [v for _, v in trend.points]
                name = markdown_text(trend.name, line_start=True)
                out.append(f"- {name}: `{sparkline(values, trend.scale_max)}`")
        out.append("")
    out.append(f"_{report.footer}_")
    return "\n".join(out) + "\n"


# --- plain text for the terminal ---------------------------------------------------------


def _text_table(table: SectionTable, indent: str = "  ") -> list[str]:
    widths = [display_width(c) for c in table.columns]
    for row in table.rows:
        widths = [max(w, display_width(v)) for w, v in zip(widths, row, strict=True)]
    lines = []
    for line in [table.columns, *table.rows]:
        lines.append(indent + "  ".join(pad(v, w) for v, w in zip(line, widths, strict=True)))
    return [line.rstrip() for line in lines]


def render_text(report: VisitReport) -> str:
    """The report for a terminal: plain aligned text, no colour, one screen per section."""
    title = report_title(report).upper()
    out = [title, "=" * len(title)]
    label_width = max(len(label) for label, _ in header_lines(report))
    for label, value in header_lines(report):
        out.append(f"{label + ':':<{label_width + 1}} {terminal_cell(value)}")
    for key in report.sections:
        table = shown_as(section_table(report, key), terminal_cell)
        out.append("")
        out.append(table.title)
        out.append("-" * len(table.title))
        if key == "safety" and table.rows:
            out.extend(f"  ! {row[0]}" for row in table.rows)
            continue
        subs = [shown_as(sub, terminal_cell) for sub in sub_tables(report, key)]
        if not table.rows and not subs:
            out.append(f"  {table.empty}")
            continue
        if key == "questions":
            out.extend(f"  - {row[0]} (asked {row[1]})" for row in table.rows)
            continue
        out.extend(_text_table(table) if table.rows else [f"  {table.empty}"])
        for sub in subs:
            out.append("")
            out.append(f"  {sub.title}")
            out.extend(_text_table(sub, indent="    "))
        if key == "adherence" and report.adherence.rows:
            names = [terminal_cell(r.medication) for r in report.adherence.rows]
            width = max(map(display_width, names))
            out.append("")
            out.append(f"  Calendar from {report.header.period_start.isoformat()}:")
            for name, row in zip(names, report.adherence.rows, strict=True):
                out.append(f"    {pad(name, width)}  {strip_text(row.strip)}")
            out.append(f"    {strip_legend_text()}")
        if key == "symptoms":
            names = [terminal_cell(t.name) for t in report.symptoms]
            width = max(map(display_width, names))
            out.append("")
            for name, trend in zip(names, report.symptoms, strict=True):
                values = [v for _, v in trend.points]
                out.append(f"    {pad(name, width)}  {sparkline(values, trend.scale_max)}")
    out.append("")
    out.append(report.footer)
    return "\n".join(out) + "\n"
