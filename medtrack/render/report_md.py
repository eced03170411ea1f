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
    VisitReport,
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
        columns = ("Medication", "Dose", "Schedule", "For", "Prescriber", "Since")
        for med in report.medications:
            notes = [KIND_NOTE[med.kind]] if med.kind in KIND_NOTE else []
            if med.controlled:
                notes.append("controlled")
            name = med.name + (f" ({', '.join(notes)})" if notes else "")
            rows.append(
                (
                    name,
                    med.dose,
                    med.schedule,
                    med.purpose or "-",
                    med.prescriber or "-",
                    med.since.isoformat() if med.since else "-",
                )
            )
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
                    str(row.missed),
                    str(row.skipped),
                    reasons_text(row.reasons),
                )
            )
    elif key == "side_effects":
        columns = ("Side effect", "Severity", "Medication", "Since", "Status", "Action")
        for effect in report.side_effects:
            rows.append(
                (
                    effect.name,
                    effect.severity,
                    effect.medication or "-",
                    effect.since.isoformat(),
                    effect.status,
                    effect.action or "-",
                )
            )
    elif key == "symptoms":
        columns = ("Symptom", "Entries", "Average", "Range", "Direction")
        for trend in report.symptoms:
            rows.append(
                (
                    symptom_label(trend),
                    str(trend.count),
                    num_text(trend.average),
                    f"{num_text(trend.low)}-{num_text(trend.high)}",
                    trend.direction,
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
        columns = ("Measurement", "Entries", "Latest", "Lowest", "Highest")
        for m in report.measurements:
            rows.append(
                (
                    m.label,
                    str(m.count),
                    f"{m.latest} ({m.latest_on.isoformat()})",
                    m.low,
                    m.high,
                )
            )
    elif key == "questions":
        columns = ("Question", "Asked")
        rows = [(q.text, q.asked.isoformat()) for q in report.questions]
    return SectionTable(key, title, columns, tuple(rows), EMPTY[key])


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
    )


def adherence_note(report: VisitReport) -> str:
    cell = "day" if report.adherence.cell_days == 1 else "week"
    return (
        f"Taken = doses recorded as taken / doses due; on time = within the on-time window. "
        f"{CONVENTIONAL_THRESHOLD}% is the conventional threshold used in studies. "
        f"Calendar: one mark per {cell}."
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
        if key == "adherence":
            prn = shown_as(as_needed_table(report), markdown_text)
            if prn.rows:
                out.append("")
                out.append(f"**{prn.title}**")
                out.append("")
                out.extend(_md_table(prn))
            if report.adherence.rows:
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
        if not table.rows:
            out.append(f"  {table.empty}")
            continue
        if key == "questions":
            out.extend(f"  - {row[0]} (asked {row[1]})" for row in table.rows)
            continue
        out.extend(_text_table(table))
        if key == "adherence":
            prn = shown_as(as_needed_table(report), terminal_cell)
            if prn.rows:
                out.append("")
                out.append(f"  {prn.title}")
                out.extend(_text_table(prn, indent="    "))
            if report.adherence.rows:
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
