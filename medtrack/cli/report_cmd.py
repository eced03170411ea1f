"""`medtrack report`: the visit report, on the terminal or as Markdown, HTML or PDF.

Only the window's records are read; fpdf is imported only for `--format pdf`, and no
format but the terminal one touches rich (and that one prints plain text).
"""

from __future__ import annotations

import gc
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from medtrack.cli import common
from medtrack.errors import BadValue, UsageError

if TYPE_CHECKING:
    from medtrack.core.report import VisitReport

app = typer.Typer(add_completion=False)

FORMATS = ("terminal", "md", "html", "pdf")
_FORMAT_ALIASES = {"text": "terminal", "markdown": "md", "htm": "html"}


def load_report(
    since: str | None = None, until: str | None = None, audience: str = "prescriber"
) -> VisitReport:
    """Read the window's records from the current database and build the report once."""
    from medtrack.core.report import AUDIENCES

    if audience not in AUDIENCES:
        raise BadValue(f"--for takes one of: {', '.join(AUDIENCES)}")
    if until and not since:
        raise UsageError("--until needs --since")
    # The reads and the report make long lists of tuples and values that form no cycles
    # and all live until the report is written; each young collection would traverse
    # the lists still growing and free nothing (a decade: ~70 collections, ~14 ms).
    # Reference counting still frees what it always freed.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _load_report(since, until, audience)
    finally:
        if collecting:
            gc.enable()


def _load_report(since: str | None, until: str | None, audience: str) -> VisitReport:
    from medtrack import __version__
    from medtrack.cli.health import measurement_units
    from medtrack.cli.reports import load_summary, window_bounds
    from medtrack.core.health import one_series_per_kind
    from medtrack.core.report import (
        AUDIENCE_VISIT_KIND,
        build_report,
        default_window,
        is_injection,
        parse_better,
        period_basis,
    )
    from medtrack.store import doses, health, repo

    with common.unit_of_work() as conn:
        zones = common.zones(conn)
        now = common.now()
        # The period starts at the last visit of the audience's own kind: a therapist
        # visit in between must not shorten the prescriber's report.
        last = health.last_past_visit(conn, now, kind=AUDIENCE_VISIT_KIND[audience])
        last_at = last.at if last else None
        default_start, _ = default_window(now=now, zones=zones, last_visit=last_at)
        start, end = window_bounds(since, until, now, zones, default_start)
        basis = (
            "as asked"
            if since
            else period_basis(audience=audience, last_visit=last_at, zones=zones)
        )
        # Safety looks back to the last prescriber visit whatever the period.
        prescriber = health.last_past_visit(conn, now, kind="prescriber")
        safety_since = min(start, prescriber.at) if prescriber else start
        meds = repo.load_medications(conn)
        summary = load_summary(conn, meds, start, end, now, zones)
        as_needed = [m for m in meds if any(r.schedule.as_needed for r in m.regimens)]
        safety_summary = (
            load_summary(conn, as_needed, safety_since, end, now, zones)
            if as_needed and safety_since < start
            else None
        )
        # The period's records: amounts (controlled totals, doses at another amount) and
        # skip reasons; and each injection's last dose, however long ago.
        records = health.report_dose_records(
            conn, start, end, [m.id for m in meds if m.controlled and m.id is not None]
        )
        last_given = {}
        for med in meds:
            if is_injection(med) and med.id is not None:
                last = doses.last_taken(conn, med.id, before=min(end, now))
                if last is not None:
                    last_given[med.name] = last.taken_at
        symptoms = health.symptom_series(conn, start=start, end=end)
        side_effects = health.side_effects(conn)
        peaks = health.side_effect_peaks(conn)
        measurements = one_series_per_kind(
            health.measurements(conn, since=start), measurement_units(conn)
        )
        checkins = health.checkin_scores(conn, since=start)
        # A year before the safety window: item 9's previous answer gives the trend.
        phq9 = health.checkins(conn, since=safety_since - timedelta(days=365), questionnaire="phq9")
        questions = health.notes(conn, open_only=True)
        next_visit = health.next_visit(conn, now)
        name = repo.get_setting(conn, "name")
        better = parse_better(repo.get_setting(conn, "symptom_better"))
        height = repo.get_setting(conn, "height")
    return build_report(
        medications=meds,
        summary=summary,
        symptom_columns=symptoms,
        symptom_better=better,
        side_effects=side_effects,
        measurements=measurements,
        checkins=checkins,
        notes=questions,
        next_visit=next_visit,
        start=start,
        end=end,
        now=now,
        zones=zones,
        name=name,
        audience=audience,
        version=__version__,
        basis=basis,
        safety_since=safety_since,
        phq9_answers=phq9,
        side_effect_peaks=peaks,
        safety_as_needed=None if safety_summary is None else safety_summary.as_needed,
        records=records,
        last_given=last_given,
        height_cm=float(height) if height else None,
    )


def render(report: VisitReport, fmt: str) -> str | bytes:
    if fmt == "pdf":
        from medtrack.render.report_pdf import render_pdf

        return render_pdf(report, warn=common.warn)
    if fmt == "html":
        from medtrack.render.report_html import render_html

        return render_html(report)
    from medtrack.render.report_md import render_markdown, render_text

    return render_markdown(report) if fmt == "md" else render_text(report)


def write_private(path: Path, data: str | bytes) -> None:
    """Write a report file (a new one 0600), whole, never through a link or over a
    device: see medtrack.files."""
    from medtrack.files import write_private as write_file

    write_file(path, data)


def _format(text: str) -> str:
    fmt = _FORMAT_ALIASES.get(text.strip().lower(), text.strip().lower())
    if fmt not in FORMATS:
        raise BadValue(f"--format takes one of: {', '.join(FORMATS)}")
    return fmt


@app.command("report")
def report(
    since: Annotated[
        str | None,
        typer.Option("--since", help="Start: a day or a moment (default: the last past visit)."),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option("--until", help="End; a day given here is included whole (default: now)."),
    ] = None,
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            "-f",
            help="terminal, md, html or pdf.",
            autocompletion=common.complete_report_format,
        ),
    ] = "terminal",
    output: Annotated[
        str | None,
        typer.Option("--output", "-o", help="File to write (pdf default: visit-report-DATE.pdf)."),
    ] = None,
    audience: Annotated[
        str,
        typer.Option(
            "--for",
            help="prescriber, or therapist (symptoms and barriers first).",
            autocompletion=common.complete_audience,
        ),
    ] = "prescriber",
) -> None:
    """Print or write the visit report: medications, changes, adherence, side effects, trends.

    The period runs from the last past visit (or the last 30 days) to now. Markdown and
    HTML go to standard output unless -o is given; files are written readable by you only.

    Example: medtrack report --since 2026-10-01 --until 2026-10-31 --format pdf -o visit.pdf
    """
    fmt = _format(fmt)
    visit_report = load_report(since, until, audience.strip().lower())
    if fmt == "pdf" and output is None:
        output = f"visit-report-{visit_report.header.period_end.isoformat()}.pdf"
    content = render(visit_report, fmt)
    if output is None or output == "-":
        if isinstance(content, bytes):
            raise UsageError("a PDF can't go to standard output; give -o FILE")
        from medtrack.render.escaping import terminal_text

        # Each format escaped its stored text; this keeps any control character that
        # slipped through from acting on the terminal.
        typer.echo(terminal_text(content), nl=False)
        return
    path = Path(output).expanduser()
    common.check_output_file(path)  # never the database itself, never a folder
    write_private(path, content)
    common.say(f"Wrote {path} ({fmt}, {visit_report.header.period_text}).")
