"""The visit report as one self-contained HTML file: no external assets or scripts, inline
SVG charts, and a print stylesheet that keeps a typical month on one page."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from functools import lru_cache
from html import escape

from medtrack.core.report import (
    STRIP_LEGEND,
    AdherenceRow,
    MeasurementSeries,
    ScoreSeries,
    SymptomTrend,
    VisitReport,
)
from medtrack.render.charts import (
    BAND_COLORS,
    LINE_COLOR,
    STRIP_COLORS,
    band_rects,
    hex_color,
    line_points,
    score_y,
    strip_marks,
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

STYLE = """
:root { color-scheme: light; }
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
ul { margin: 2px 0; padding-left: 16px; }
footer { margin-top: 8px; font-size: 7.5pt; color: #444; border-top: 1px solid #999;
  padding-top: 2px; }
@page { margin: 10mm 12mm; }
@media print {
  body { margin: 0; max-width: none; font-size: 8pt; }
  h2 { break-after: avoid; }
  tr, .safety, svg { break-inside: avoid; }
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


def symptom_svg(trend: SymptomTrend, first: date, last: date) -> str:
    values = [v for _, v in trend.points]
    low, high = value_range(values, trend.scale_max)
    box = (2.0, 2.0, SPARK_W - 4, SPARK_H - 4)
    pts = line_points(trend.points, first, last, box, low, high)
    frame = f'<rect x="0" y="0" width="{SPARK_W:g}" height="{SPARK_H:g}" fill="#f6f6f6"/>'
    return _svg(SPARK_W, SPARK_H, frame + _polyline(pts, hex_color(LINE_COLOR)), trend.name)


def measurement_svg(series: MeasurementSeries, first: date, last: date) -> str:
    values = [v for _, v in series.points]
    low, high = value_range(values, None)
    box = (2.0, 2.0, SPARK_W - 4, SPARK_H - 4)
    pts = line_points(series.points, first, last, box, low, high)
    frame = f'<rect x="0" y="0" width="{SPARK_W:g}" height="{SPARK_H:g}" fill="#f6f6f6"/>'
    return _svg(SPARK_W, SPARK_H, frame + _polyline(pts, hex_color(LINE_COLOR)), series.label)


def score_svg(series: ScoreSeries, first: date, last: date) -> str:
    box = (0.0, 0.0, SCORE_W, SCORE_H)
    bands = "".join(
        f'<rect x="{x:g}" y="{y:g}" width="{w:g}" height="{h:g}" '
        f'fill="{hex_color(BAND_COLORS[label])}"><title>{escape(label)}</title></rect>'
        for x, y, w, h, label in band_rects(series.bands, series.max_total, box)
    )
    span = max((last - first).days, 1)
    pts = []
    for p in series.points:
        x = round(3 + (SCORE_W - 6) * (p.on - first).days / span, 2)
        pts.append((x, score_y(p.total, series.max_total, box)))
    return _svg(SCORE_W, SCORE_H, bands + _polyline(pts, hex_color(LINE_COLOR)), series.name)


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
    elif key == "adherence":
        out.append(_adherence(report, table))
    elif key == "symptoms":
        charts = [symptom_svg(t, first, last) for t in report.symptoms]
        out.append(_table(table, "Chart", charts, numeric=(1, 2, 3)))
    elif key == "scores":
        charts = [score_svg(s, first, last) for s in report.scores]
        out.append(_table(table, "Chart (bands shaded)", charts, numeric=(1,)))
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
