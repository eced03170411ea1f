"""The visit report as one self-contained HTML file: no external assets or scripts, inline
SVG charts, and a print stylesheet that keeps a typical month on one page."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from functools import lru_cache
from html import escape

from medtrack.core.report import (
    AdherenceRow,
    MeasurementSeries,
    VisitReport,
)
from medtrack.render.charts import (
    CHANGE_MARKS_LISTED,
    LINE_COLOR,
    STRIP_COLORS,
    TEXT_GREY,
    TIMELINE_LINES,
    change_labels,
    day_x,
    hex_color,
    line_points,
    strip_marks,
    too_close,
    value_range,
)
from medtrack.render.escaping import html_attribute, html_text
from medtrack.render.report_md import (
    SectionTable,
    adherence_note,
    as_needed_table,
    header_lines,
    report_title,
    section_table,
    sub_tables,
)
from medtrack.render.symbols import DAY_LEGEND as STRIP_LEGEND

STYLE = """
html { background: #fff; color: #111; }  /* light whatever the viewer's theme */
* { box-sizing: border-box; }
body { font-family: "Helvetica Neue", Helvetica, Arial, "Liberation Sans", sans-serif;
  font-size: 9pt; line-height: 1.3; color: #111; margin: 16px auto; max-width: 190mm; }
h1 { font-size: 14pt; margin: 0 0 4px; }
h2 { font-size: 10pt; margin: 7px 0 2px; padding-bottom: 1px; border-bottom: 1px solid #999; }
h3 { font-size: 8.5pt; margin: 4px 0 1px; }
.meta { display: flex; flex-wrap: wrap; gap: 2px 18px; margin: 0 0 4px; }
.meta b { font-weight: 600; }
table { border-collapse: collapse; width: 100%; }
table.narrow { width: auto; }
table.narrow th, table.narrow td { padding-right: 14px; }
th, td { text-align: left; vertical-align: top; padding: 1px 6px 1px 0;
  border-bottom: 1px solid #e3e3e3; }
th { font-weight: 600; font-size: 8pt; color: #444; }
td.num { text-align: right; white-space: nowrap; }
.safety { border: 1.5px solid #b71c1c; background: #fff4f4; padding: 4px 8px; margin: 4px 0; }
.safety p { margin: 2px 0; font-weight: 600; }
.none { color: #555; margin: 2px 0; }
.note { color: #555; font-size: 7.5pt; margin: 2px 0; }
.legend span { display: inline-block; margin: 0 3px 0 8px; vertical-align: -1px; }
.legend svg { display: inline; }
svg { display: block; }
svg.timeline { max-width: 100%; height: auto; }
ol.changes { list-style: none; padding-left: 0; margin: 1px 0; }
ul { margin: 2px 0; padding-left: 16px; }
footer { margin-top: 8px; font-size: 7.5pt; color: #444; border-top: 1px solid #999;
  padding-top: 2px; }
@page { margin: 10mm 12mm; }
@media print {
  body { margin: 0; max-width: none; font-size: 7.5pt; line-height: 1.15; }
  h1 { font-size: 13pt; }
  h2 { font-size: 9.5pt; margin: 4px 0 1px; }
  h3 { margin: 3px 0 0; }
  th { font-size: 7pt; }
  th, td { padding: 0 6px 0 0; }
  .note { font-size: 7pt; margin: 1px 0; }
  footer { margin-top: 4px; }
  h2 { break-after: avoid; }
  tr, .safety, svg, table { break-inside: avoid; }
}
"""

STRIP_WIDTH = 150.0
STRIP_HEIGHT = 9.0
SPARK_W, SPARK_H = 110.0, 18.0
SCORE_W, SCORE_H = 150.0, 28.0


def _svg(width: float, height: float, body: str, label: str) -> str:
    return (
        f'<svg width="{width:g}" height="{height:g}" viewBox="0 0 {width:g} {height:g}" '
        f'role="img" aria-label="{html_attribute(label)}">{body}</svg>'
    )


def strip_svg(states: Sequence[str], label: str) -> str:
    if not states:
        return ""
    # Every strip of a report has as many cells, so each cell's marks are formatted once
    # per report and state, not once per medication (a decade: 11 strips of 522).
    cells = _strip_cells(len(states))
    return _svg(
        STRIP_WIDTH, STRIP_HEIGHT, "".join(cells[i][s] for i, s in enumerate(states)), label
    )


STRIP_STROKE = 1.0


def _marks_svg(state: str, x: float, y: float, w: float, h: float) -> str:
    color = hex_color(STRIP_COLORS[state])
    out = []
    for kind, mx, my, mw, mh in strip_marks(state, x, y, w, h, STRIP_STROKE):
        paint = (
            f'fill="{color}"'
            if kind == "fill"
            else f'fill="none" stroke="{color}" stroke-width="{STRIP_STROKE:g}"'
        )
        out.append(f'<rect x="{mx:.2f}" y="{my:.2f}" width="{mw:.2f}" height="{mh:.2f}" {paint}/>')
    return "".join(out)


@lru_cache(maxsize=8)
def _strip_cells(count: int) -> tuple[dict[str, str], ...]:
    """For each of `count` strip cells, its marks by state."""
    cell = STRIP_WIDTH / count
    width = max(cell - min(1.0, cell * 0.2), 0.4)
    return tuple(
        {state: _marks_svg(state, i * cell, 0, width, STRIP_HEIGHT) for state in STRIP_COLORS}
        for i in range(count)
    )


def legend_svg(state: str) -> str:
    """A legend key as a small SVG: it prints (a CSS background does not by default)."""
    return (
        f'<svg width="6" height="{STRIP_HEIGHT:g}" viewBox="0 0 6 {STRIP_HEIGHT:g}" '
        f'aria-hidden="true">{_marks_svg(state, 0, 0, 6, STRIP_HEIGHT)}</svg>'
    )


def _polyline(points: Sequence[tuple[float, float]], color: str) -> str:
    coords = " ".join(f"{x:g},{y:g}" for x, y in points)
    dots = "".join(f'<circle cx="{x:g}" cy="{y:g}" r="1.2" fill="{color}"/>' for x, y in points)
    line = (
        f'<polyline points="{coords}" fill="none" stroke="{color}" stroke-width="1"/>'
        if len(points) > 1
        else ""
    )
    return line + dots


def measurement_svg(series: MeasurementSeries, first: date, last: date) -> str:
    values = [v for _, v in series.points]
    low, high = value_range(values, None)
    box = (2.0, 2.0, SPARK_W - 4, SPARK_H - 4)
    pts = line_points(series.points, first, last, box, low, high)
    frame = f'<rect x="0" y="0" width="{SPARK_W:g}" height="{SPARK_H:g}" fill="#f6f6f6"/>'
    return _svg(SPARK_W, SPARK_H, frame + _polyline(pts, hex_color(LINE_COLOR)), series.label)


TL_W, TL_LABEL = 700.0, 80.0
TL_SYMPTOM_H, TL_LANE_H = 44.0, 13.0
_DASH = {(): "", (3.0, 1.5): ' stroke-dasharray="6 3"', (0.8, 1.2): ' stroke-dasharray="1.6 2.4"'}


def _marker_svg(shape: str, x: float, y: float, color: str) -> str:
    if shape == "square":
        return (
            f'<rect x="{x - 1.8:.1f}" y="{y - 1.8:.1f}" width="3.6" height="3.6" fill="{color}"/>'
        )
    if shape == "triangle":
        return (
            f'<polygon points="{x - 2:.1f},{y + 1.8:.1f} {x + 2:.1f},{y + 1.8:.1f} '
            f'{x:.1f},{y - 2.2:.1f}" fill="{color}"/>'
        )
    return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="1.8" fill="{color}"/>'


def timeline_svg(report: VisitReport) -> str:
    """The timeline as one SVG (the PDF draws the same lanes): symptom lines, PHQ-9/GAD-7
    totals, missed and skipped days and numbered changes on one date axis with ticks;
    then a key naming each line and each numbered change."""
    tl = report.timeline
    if tl is None:
        return ""
    width = TL_W - TL_LABEL
    lanes = len(report.scores) + 1
    height = TL_SYMPTOM_H + lanes * TL_LANE_H + 14
    cell = width / ((tl.last - tl.first).days + 1)

    def x_of(day: date) -> float:
        return day_x(day, tl.first, tl.last, TL_LABEL, width)

    grey = hex_color(TEXT_GREY)
    out = [
        f'<rect x="{TL_LABEL:g}" y="0" width="{width:g}" height="{TL_SYMPTOM_H:g}" '
        'fill="#f6f6f6"/>',
        f'<line x1="{TL_LABEL:g}" y1="{TL_SYMPTOM_H / 2:g}" x2="{TL_W:g}" '
        f'y2="{TL_SYMPTOM_H / 2:g}" stroke="#d2d2d2" stroke-width="0.5"/>',
        '<text x="0" y="9" class="tl">symptoms</text>',
        '<text x="0" y="19" class="tl">0-10 (10 top)</text>',
    ]
    by_name = {t.name: t for t in report.symptoms}
    for index, name in enumerate(tl.symptoms):
        trend = by_name[name]
        rgb, dash, shape = TIMELINE_LINES[index]
        color = hex_color(rgb)
        low, high = value_range([v for _, v in trend.points], trend.scale_max)
        span = (high - low) or 1
        pts = [
            (x_of(day), TL_SYMPTOM_H - 2 - (TL_SYMPTOM_H - 4) * (v - low) / span)
            for day, v in trend.points
        ]
        coords = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
        if len(pts) > 1:
            out.append(
                f'<polyline points="{coords}" fill="none" stroke="{color}" '
                f'stroke-width="1.3"{_DASH[dash]}/>'
            )
        out.extend(_marker_svg(shape, x, y, color) for x, y in pts)
    y = TL_SYMPTOM_H
    for series in report.scores:
        out.append(f'<text x="0" y="{y + 9:g}" class="tl">{escape(series.name)}</text>')
        xs = [x_of(point.on) for point in series.points]
        if too_close(xs, 18.0):
            # Too many to print each total: a line of them across the lane, item 9 above
            # 0 as a filled triangle (as the PDF draws it).
            pts = [
                (x, y + TL_LANE_H - 1.5 - (TL_LANE_H - 3) * p.total / series.max_total)
                for x, p in zip(xs, series.points, strict=True)
            ]
            coords = " ".join(f"{x:.1f},{py:.1f}" for x, py in pts)
            out.append(
                f'<polyline points="{coords}" fill="none" stroke="#111111" stroke-width="0.8"/>'
            )
            out.extend(
                _marker_svg("triangle", x, py, "#111111")
                for (x, py), p in zip(pts, series.points, strict=True)
                if p.flagged
            )
        else:
            for x, point in zip(xs, series.points, strict=True):
                weight = ' font-weight="700"' if point.flagged else ""
                out.append(
                    f'<text x="{x:.1f}" y="{y + 9.5:g}" text-anchor="middle" '
                    f'class="tlv"{weight}>{point.total}{"!" if point.flagged else ""}</text>'
                )
        y += TL_LANE_H
        out.append(
            f'<line x1="{TL_LABEL:g}" y1="{y:g}" x2="{TL_W:g}" y2="{y:g}" stroke="#e1e1e1" '
            'stroke-width="0.5"/>'
        )
    out.append(f'<text x="0" y="{y + 9:g}" class="tl">missed/skipped</text>')
    worst: dict[date, str] = {}
    for event in tl.events:
        if event.kind == "missed" or (event.kind == "skipped" and event.on not in worst):
            worst[event.on] = event.kind
    for day, state in worst.items():
        out.append(_marks_svg(state, x_of(day) - cell * 0.35, y + 2, cell * 0.7, STRIP_HEIGHT))
    y += TL_LANE_H
    marks = change_labels(tl.events)
    numbered = len(marks) <= CHANGE_MARKS_LISTED
    for number, on, _ in marks:
        x = x_of(on)
        # Hundreds of changes: a short tick on the top edge each, not a line through all.
        low = y if numbered else 5
        dash = ' stroke-dasharray="2 2"' if numbered else ""
        out.append(
            f'<line x1="{x:.1f}" y1="0" x2="{x:.1f}" y2="{low:g}" stroke="#3c3c3c" '
            f'stroke-width="0.7"{dash}/>'
        )
        if numbered:
            out.append(f'<text x="{x + 2:.1f}" y="9" class="tlv" font-weight="700">{number}</text>')
    out.append(
        f'<line x1="{TL_LABEL:g}" y1="{y:g}" x2="{TL_W:g}" y2="{y:g}" stroke="#787878" '
        'stroke-width="0.7"/>'
    )
    same_year = tl.first.year == tl.last.year
    for tick in tl.ticks:
        x = x_of(tick)
        label = tick.strftime("%m-%d") if same_year else tick.isoformat()
        out.append(
            f'<line x1="{x:.1f}" y1="{y:g}" x2="{x:.1f}" y2="{y + 3:g}" stroke="#787878" '
            f'stroke-width="0.7"/><text x="{x:.1f}" y="{y + 12:g}" text-anchor="middle" '
            f'class="tl">{label}</text>'
        )
    body = "".join(out).replace('class="tl"', f'font-size="8" fill="{grey}"')
    body = body.replace('class="tlv"', 'font-size="8.5" fill="#111111"')
    label = f"Timeline from {tl.first.isoformat()} to {tl.last.isoformat()}"
    chart = (
        f'<svg width="100%" viewBox="0 0 {TL_W:g} {height:g}" role="img" '
        f'aria-label="{html_attribute(label)}" class="timeline">{body}</svg>'
    )
    key = []
    for index, name in enumerate(tl.symptoms):
        rgb, dash, shape = TIMELINE_LINES[index]
        color = hex_color(rgb)
        key.append(
            f'<span><svg width="22" height="8" viewBox="0 0 22 8" aria-hidden="true">'
            f'<line x1="0" y1="4" x2="22" y2="4" stroke="{color}" stroke-width="1.3"'
            f"{_DASH[dash]}/>{_marker_svg(shape, 11, 4, color)}</svg> {html_text(name)}</span>"
        )
    if report.scores:
        key.append("<span>totals: ! = item 9 above 0</span>")
    changes = "".join(f"<li>{m.number}: {m.on.isoformat()} {html_text(m.text)}</li>" for m in marks)
    if not numbered:
        changes = (
            f"<li>Ticks on the top edge: {len(marks)} days with plan or zone changes, "
            "listed under Changes in this period.</li>"
        )
    listed = f'<ol class="note changes">{changes}</ol>' if changes else ""
    return f'{chart}<p class="note legend">{"".join(key)}</p>{listed}'


def _cells(row: Sequence[str], numeric: Sequence[int] = ()) -> str:
    """A row's cells: stored text, escaped here for every table of the report."""
    return "".join(
        f'<td class="num">{html_text(c)}</td>' if i in numeric else f"<td>{html_text(c)}</td>"
        for i, c in enumerate(row)
    )


def _table(
    table: SectionTable,
    extra: str = "",
    extras: Sequence[str] = (),
    numeric: Sequence[int] = (),
    css: str = "",
) -> str:
    head = "".join(f"<th>{escape(c)}</th>" for c in table.columns)
    if extra:
        head += f"<th>{escape(extra)}</th>"
    body = []
    for index, row in enumerate(table.rows):
        chart = f"<td>{extras[index]}</td>" if extra else ""
        body.append(f"<tr>{_cells(row, numeric)}{chart}</tr>")
    attr = f' class="{css}"' if css else ""
    return f"<table{attr}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _section(report: VisitReport, key: str) -> str:
    table = section_table(report, key)
    first, last = report.header.period_start, report.header.period_end
    out = [f'<section id="{key}"><h2>{escape(table.title)}</h2>']
    if key == "safety":
        if table.rows:
            flags = "".join(f"<p>{html_text(row[0])}</p>" for row in table.rows)
            out.append(f'<div class="safety" role="alert">{flags}</div>')
        else:
            out.append(f'<p class="none">{escape(table.empty)}</p>')
    elif not table.rows and key not in ("adherence", "medications"):
        out.append(f'<p class="none">{escape(table.empty)}</p>')
    elif key == "questions":
        items = "".join(
            f"<li>{html_text(text)} <span class='note'>(asked {html_text(asked)})</span></li>"
            for text, asked in table.rows
        )
        out.append(f"<ul>{items}</ul>")
    elif key == "timeline":
        out.append(timeline_svg(report))
    elif key == "adherence":
        out.append(_adherence(report, table))
    elif key == "symptoms":
        # Their lines are on the timeline, on one axis with everything else.
        out.append(_table(table, numeric=(1, 2, 3)))
    elif key == "scores":
        out.append(_table(table, numeric=(1,)))
    elif key == "measurements":
        charts = [measurement_svg(m, first, last) for m in report.measurements]
        out.append(_table(table, "Trend", charts, numeric=(1,)))
    elif table.rows:
        out.append(_table(table))
    else:
        out.append(f'<p class="none">{escape(table.empty)}</p>')
    for sub in sub_tables(report, key):
        if sub.key == "as_needed" and key == "adherence":
            continue  # drawn by _adherence, under the calendar
        out.append(f"<h3>{escape(sub.title)}</h3>")
        out.append(_table(sub, numeric=sub.numeric, css="narrow" if len(sub.columns) < 5 else ""))
    out.append("</section>")
    return "".join(out)


def _adherence(report: VisitReport, table: SectionTable) -> str:
    adherence = report.adherence
    out = []
    if table.rows:
        rows: list[AdherenceRow] = list(adherence.rows)
        if adherence.overall:
            rows.append(adherence.overall)
        strips = [strip_svg(r.strip, f"calendar for {r.medication}") for r in rows]
        label = f"Calendar from {report.header.period_start.isoformat()}"
        out.append(_table(table, label, strips, numeric=(1, 2, 3, 4)))
        legend = "".join(
            f"<span>{legend_svg(state)}</span>{escape(text)}" for state, text in STRIP_LEGEND
        )
        out.append(f'<p class="note legend">{legend}</p>')
        out.append(f'<p class="note">{escape(adherence_note(report))}</p>')
    else:
        out.append(f'<p class="none">{escape(table.empty)}</p>')
    prn = as_needed_table(report)
    if prn.rows:  # the first of the adherence sub-tables
        out.append(f"<h3>{escape(prn.title)}</h3>")
        out.append(_table(prn, numeric=(1, 2, 3, 4), css="narrow"))
    return "".join(out)


def render_html(report: VisitReport) -> str:
    """The whole report as one HTML document (UTF-8 text)."""
    title = report_title(report)
    meta = "".join(
        f"<span><b>{escape(label)}:</b> {html_text(value)}</span>"
        for label, value in header_lines(report)
    )
    sections = "".join(_section(report, key) for key in report.sections)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)} {html_attribute(report.header.period_text)}</title>"
        f"<style>{STYLE}</style></head><body>"
        f'<header><h1>{escape(title)}</h1><div class="meta">{meta}</div></header>'
        f"<main>{sections}</main>"
        f"<footer>{escape(report.footer)}</footer>"
        "</body></html>\n"
    )
