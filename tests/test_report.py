"""The visit report: its figures (computed by hand below), the four formats agreeing on
them, the safety flags at the top, the HTML self-contained, and the `report` command.

The hand-made patient, in Berlin (UTC+1 all of November 2026), period Nov 1-10:
- sertraline 50 mg daily 08:00: Nov 1-7 taken on time, Nov 8 taken 3 h late, Nov 9
  skipped (forgot), Nov 10 nothing recorded -> 8 of 10 taken = 80%, on time 7 = 70%.
- lamotrigine daily 20:00, 25 mg then 50 mg from Nov 5 ("titration step 2"): all 10
  taken on time -> 100%.
- quetiapine 25 mg daily 21:00, stopped Nov 6 12:00 ("too groggy"): Nov 1-3 taken on
  time, Nov 4-5 skipped (side-effects) -> 3 of 5 = 60%.
- overall: 21 of 25 = 84%, on time 20 of 25 = 80%.
- lorazepam as needed, at most 2 a day: 3 on Nov 3 (one day over), 1 on Nov 7.
- mood 3, 5, 7 -> average 5, range 3-7, up. PHQ-9 16 then 11 (item 9 answered 1 on
  Nov 2); GAD-7 12. Severe nausea with sertraline since Nov 4.
"""

from __future__ import annotations

import os
import re
import stat
from datetime import UTC, date, datetime, time, timedelta
from html.parser import HTMLParser
from io import BytesIO
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from helpers import dump
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from medtrack.cli import app
from medtrack.core.adherence import summarize
from medtrack.core.health import (
    CheckinEntry,
    Measurement,
    MeasurementEntry,
    NoteEntry,
    SideEffect,
    SymptomEntry,
    Visit,
)
from medtrack.core.models import Dose, Medication, Regimen, Schedule
from medtrack.core.report import VisitReport, _direction, build_report
from medtrack.core.schedule import ZoneTimeline
from medtrack.core.slots import DoseRecord
from medtrack.render.report_html import render_html
from medtrack.render.report_md import render_markdown, render_text
from medtrack.render.report_pdf import render_pdf

BERLIN = ZoneInfo("Europe/Berlin")
ZONES = ZoneTimeline("Europe/Berlin")
NOW = datetime(2026, 11, 23, 14, 30, tzinfo=BERLIN).astimezone(UTC)
START = datetime(2026, 11, 1, tzinfo=BERLIN).astimezone(UTC)
END = datetime(2026, 11, 11, tzinfo=BERLIN).astimezone(UTC)
runner = CliRunner()


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=BERLIN).astimezone(UTC)


def daily(hour: int) -> Schedule:
    return Schedule(rrule="FREQ=DAILY", times=(time(hour),))


def regimen(name: str, mg: float, hour: int, starts: datetime, **kw) -> Regimen:
    return Regimen(
        medication=name, dose=Dose(mg, "mg"), schedule=daily(hour), starts_at=starts, **kw
    )


SERTRALINE = Medication(
    name="sertraline",
    purpose="depression",
    prescriber="Dr Okafor",
    regimens=(regimen("sertraline", 50, 8, datetime(2026, 10, 1, tzinfo=BERLIN)),),
)
LAMOTRIGINE = Medication(
    name="lamotrigine",
    purpose="mood",
    regimens=(
        regimen("lamotrigine", 25, 20, datetime(2026, 10, 20, tzinfo=BERLIN), ends_at=at(5, 0)),
        regimen("lamotrigine", 50, 20, at(5, 0), reason="titration step 2"),
    ),
)
QUETIAPINE = Medication(
    name="quetiapine",
    stopped_at=at(6, 12),
    stop_reason="too groggy",
    regimens=(
        regimen("quetiapine", 25, 21, datetime(2026, 10, 15, tzinfo=BERLIN), ends_at=at(6, 12)),
    ),
)
LORAZEPAM = Medication(
    name="lorazepam",
    controlled=True,
    regimens=(
        Regimen(
            medication="lorazepam",
            dose=Dose(0.5, "mg"),
            schedule=Schedule(rrule=None, as_needed=True),
            starts_at=datetime(2026, 10, 1, tzinfo=BERLIN),
            max_per_day=2,
        ),
    ),
)
VITAMIN_D = Medication(
    name="vitamin D",
    kind="supplement",
    regimens=(
        Regimen(
            medication="vitamin D",
            dose=Dose(1000, "IU"),
            schedule=Schedule(rrule="FREQ=WEEKLY;BYDAY=SU", times=(time(9),)),
            starts_at=datetime(2026, 11, 20, tzinfo=BERLIN),
        ),
    ),
)
MEDS = (SERTRALINE, LAMOTRIGINE, QUETIAPINE, LORAZEPAM, VITAMIN_D)


def taken(name: str, slot: datetime, late: timedelta = timedelta(minutes=5)) -> DoseRecord:
    return DoseRecord(
        medication=name,
        taken_at=slot + late,
        status="taken",
        recorded_at=slot + late,
    )


def skipped(name: str, slot: datetime, reason: str) -> DoseRecord:
    return DoseRecord(
        medication=name,
        taken_at=slot + timedelta(hours=1),
        status="skipped",
        skip_reason=reason,
        recorded_at=slot + timedelta(hours=1),
    )


def records() -> list[DoseRecord]:
    out = [taken("sertraline", at(d, 8)) for d in range(1, 8)]
    out.append(taken("sertraline", at(8, 8), late=timedelta(hours=3)))
    out.append(skipped("sertraline", at(9, 8), "forgot"))
    out += [taken("lamotrigine", at(d, 20)) for d in range(1, 11)]
    out += [taken("quetiapine", at(d, 21)) for d in range(1, 4)]
    out += [skipped("quetiapine", at(d, 21), "side-effects") for d in (4, 5)]
    for instant in (at(3, 9), at(3, 15), at(3, 22), at(7, 10)):
        out.append(DoseRecord(medication="lorazepam", taken_at=instant, status="taken"))
    return out


def checkin(key: str, total: int, band: str, when: datetime, flagged: bool = False):
    return CheckinEntry(key, (0,) * 9, None, total, band, flagged, when)


def make_report(
    *,
    meds=MEDS,
    doses=None,
    checkins=None,
    side_effects=None,
    start=START,
    end=END,
    audience="prescriber",
) -> VisitReport:
    doses = records() if doses is None else doses
    summary = summarize(meds, doses, start=start, end=end, now=NOW, zones=ZONES)
    return build_report(
        medications=meds,
        summary=summary,
        symptoms=[
            SymptomEntry("mood", 3.0, None, at(2, 21)),
            SymptomEntry("mood", 5.0, None, at(5, 21)),
            SymptomEntry("mood", 7.0, None, at(8, 21)),
            SymptomEntry("mood", 1.0, None, at(20, 21)),  # after the period: left out
        ],
        side_effects=[SideEffect("nausea", "sertraline", "severe", at(4, 10))]
        if side_effects is None
        else side_effects,
        measurements=[
            MeasurementEntry(Measurement("weight", 72.5, None, "kg"), at(3, 7)),
            MeasurementEntry(Measurement("weight", 72.1, None, "kg"), at(9, 7)),
        ],
        checkins=[
            checkin("phq9", 16, "moderately severe", at(2, 19), flagged=True),
            checkin("phq9", 11, "moderate", at(9, 19)),
            checkin("gad7", 12, "moderate", at(2, 19)),
        ]
        if checkins is None
        else checkins,
        notes=[
            NoteEntry("Can I split the sertraline dose?", True, at(6, 18)),
            NoteEntry("Answered already", True, at(4, 18), done_at=at(5, 9)),
            NoteEntry("Felt better today", False, at(7, 18)),
        ],
        next_visit=Visit(at(30, 10), "Dr Okafor", "prescriber"),
        start=start,
        end=end,
        now=NOW,
        zones=ZONES,
        name="Alex Example",
        audience=audience,
        version="9.9.9",
    )


# --- the figures -------------------------------------------------------------------------


def test_adherence_figures_match_the_hand_count():
    report = make_report()
    rows = {r.medication: r for r in report.adherence.rows}
    s = rows["sertraline"]
    assert (s.due, s.taken, s.on_time, s.skipped, s.missed) == (10, 8, 7, 1, 1)
    assert (s.taken_pct, s.on_time_pct) == (80.0, 70.0)
    assert s.reasons == (("forgot", 1),)
    assert rows["lamotrigine"].taken_pct == 100.0
    q = rows["quetiapine"]
    assert (q.due, q.taken, q.skipped, q.taken_pct) == (5, 3, 2, 60.0)
    assert q.reasons == (("side-effects", 2),)
    overall = report.adherence.overall
    assert overall is not None
    assert (overall.due, overall.taken, overall.on_time) == (25, 21, 20)
    assert (overall.taken_pct, overall.on_time_pct) == (84.0, 80.0)
    # One cell per day, Nov 1-10; sertraline: 8 all, then skipped, then missed.
    assert report.adherence.cell_days == 1
    assert s.strip == ("all",) * 8 + ("skipped", "missed")
    assert q.strip == ("all",) * 3 + ("skipped",) * 2 + ("not-due",) * 5
    (prn,) = report.adherence.as_needed
    assert (prn.uses, prn.days_used, prn.max_per_day, prn.days_over_max) == (4, 2, 2, 1)


def test_header_sections_and_health_figures():
    report = make_report()
    h = report.header
    assert (h.period_start, h.period_end, h.days) == (date(2026, 11, 1), date(2026, 11, 10), 10)
    assert h.next_visit == "2026-11-30 10:00 with Dr Okafor"
    assert h.generated_text == "2026-11-23 14:30"
    assert report.sections[:2] == ("safety", "medications")
    (mood,) = report.symptoms
    assert (mood.count, mood.average, mood.low, mood.high, mood.direction) == (3, 5, 3, 7, "up")
    phq, gad = report.scores
    assert [p.total for p in phq.points] == [16, 11] and phq.points[0].flagged
    assert [p.total for p in gad.points] == [12]
    (weight,) = report.measurements
    assert (weight.latest, weight.low, weight.high) == ("72.1 kg", "72.1 kg", "72.5 kg")
    assert [q.text for q in report.questions] == ["Can I split the sertraline dose?"]
    assert "9.9.9" in report.footer and "atient-reported" in report.footer


def test_stopped_medication_is_a_change_not_a_current_medication():
    report = make_report()
    names = [m.name for m in report.medications]
    # Quetiapine was stopped in the period; vitamin D only starts after it.
    assert names == ["lamotrigine", "lorazepam", "sertraline"]
    changes = [(c.on, c.medication, c.what, c.detail, c.reason) for c in report.changes]
    assert changes == [
        (date(2026, 11, 5), "lamotrigine", "dose changed", "25 mg → 50 mg", "titration step 2"),
        (date(2026, 11, 6), "quetiapine", "stopped", "", "too groggy"),
    ]
    text = render_markdown(report)
    assert "| 2026-11-06 | quetiapine | stopped | too groggy |" in text
    assert "| quetiapine | 60% (3/5) | 60% | 0 | 2 | side-effects (2) |" in text


def test_item9_flag_comes_first_worded_for_the_clinician():
    report = make_report()
    item9 = [f for f in report.safety if f.kind == "item9"]
    assert len(item9) == 1
    text = item9[0].text
    assert item9[0].on == date(2026, 11, 2)
    # Scores alone (no answers given): the flag says above 0, and the next PHQ-9's 0.
    assert text == (
        "PHQ-9 item 9 (thoughts of being better off dead or of self-harm) scored above 0 "
        "on 2026-11-02 (PHQ-9 total 16, moderately severe); no earlier PHQ-9 on record; "
        "next PHQ-9 (2026-11-09) item 9: 0."
    )
    # The report speaks to the clinician: no "talk to your prescriber", no US-only line.
    assert "talk about this" not in text and "988" not in text
    kinds = [f.kind for f in report.safety]
    assert kinds == ["item9", "severe_side_effect", "as_needed_over_max"]
    for rendered in (render_markdown(report), render_text(report), html_text(report)):
        flat = " ".join(rendered.split())
        flag_at = flat.index("PHQ-9 item 9")
        assert flag_at < flat.index("Current medications")
        assert flat.index("Safety flags") < flag_at
    flat = pdf_text(report)
    assert flat.index("PHQ-9 item 9") < flat.index("Current medications")


def test_no_item9_flag_without_a_flagged_phq9():
    report = make_report(checkins=[checkin("phq9", 4, "minimal", at(2, 19))], side_effects=[])
    assert [f.kind for f in report.safety] == ["as_needed_over_max"]


def test_empty_period_renders_in_every_format():
    start = datetime(2026, 6, 1, tzinfo=BERLIN).astimezone(UTC)
    end = datetime(2026, 6, 8, tzinfo=BERLIN).astimezone(UTC)
    report = make_report(meds=(), doses=[], checkins=[], side_effects=[], start=start, end=end)
    assert report.safety == () and report.adherence.rows == () and report.medications == ()
    assert report.header.days == 7
    for rendered in (render_markdown(report), render_text(report), html_text(report)):
        assert "No scheduled doses in this period." in rendered
        assert "2026-06-01 to 2026-06-07 (7 days)" in " ".join(rendered.split())
    flat = pdf_text(report)
    assert "No current medications recorded." in flat
    assert "2026-06-01 to 2026-06-07 (7 days)" in flat


def test_therapist_order_puts_symptoms_and_barriers_first():
    report = make_report(audience="therapist")
    assert report.sections[:4] == ("safety", "timeline", "symptoms", "adherence")
    flat = " ".join(render_text(report).split())
    assert flat.index("Symptoms") < flat.index("Adherence") < flat.index("Current medications")
    assert "VISIT REPORT FOR THE THERAPIST" in flat


def test_long_period_strip_uses_weeks():
    start = datetime(2026, 8, 1, tzinfo=BERLIN).astimezone(UTC)
    report = make_report(start=start)
    assert report.header.days == 102
    assert report.adherence.cell_days == 7
    assert len(report.adherence.strip_days) == 15
    sertraline = next(r for r in report.adherence.rows if r.medication == "sertraline")
    # Sertraline starts Oct 1: August is not due, October has no record (missed weeks);
    # Oct 31-Nov 6 (missed, then taken) and Nov 7-10 (taken, skipped, missed) are partial.
    assert sertraline.strip[0] == "not-due"
    assert sertraline.strip[9] == "missed"
    assert sertraline.strip[13:] == ("some", "some")


@given(
    st.lists(st.floats(min_value=0, max_value=10), min_size=3, max_size=30),
    st.sampled_from([1.0, -1.0]),
)
def test_direction_follows_a_clear_trend(noise, sign):
    # A rise of 5 points over the days, with noise under a tenth of a point, is "up".
    points = [(float(i), 5 * sign * i / (len(noise) - 1) + n / 100) for i, n in enumerate(noise)]
    assert _direction(points, 1.0) == ("up" if sign > 0 else "down")
    flat = [(float(i), 4.0 + n / 100) for i, n in enumerate(noise)]
    assert _direction(flat, 1.0) == "steady"


# --- the four formats agree ------------------------------------------------------------


class _TextAndLinks(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.chunks: list[str] = []
        self.links: list[str] = []
        self.tags: set[str] = set()
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        if tag in ("style", "title"):
            self._skip += 1
        for name, value in attrs:
            if name in ("src", "href", "xlink:href", "action", "data") and value is not None:
                self.links.append(value)

    def handle_endtag(self, tag):
        if tag in ("style", "title"):
            self._skip -= 1
        if tag in ("td", "th", "p", "li", "h1", "h2", "h3", "span", "div", "tr"):
            self.chunks.append(" ")

    def handle_data(self, data):
        if not self._skip:
            self.chunks.append(data)


def parse_html(report: VisitReport) -> _TextAndLinks:
    parser = _TextAndLinks()
    parser.feed(render_html(report))
    return parser


def html_text(report: VisitReport) -> str:
    return " ".join("".join(parse_html(report).chunks).split())


def pdf_text(report: VisitReport) -> str:
    from pypdf import PdfReader

    reader = PdfReader(BytesIO(render_pdf(report)))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


FIGURES = (
    "Alex Example",
    "2026-11-01 to 2026-11-10 (10 days)",
    "2026-11-30 10:00 with Dr Okafor",
    "80% (8/10)",
    "70%",
    "100% (10/10)",
    "60% (3/5)",
    "84% (21/25)",
    "forgot (1)",
    "side-effects (2)",
    "titration step 2",
    "too groggy",
    "nausea",
    "severe",
    "mood (0-10)",
    "3-7",
    "16 (moderately severe) to 11 (moderate)",
    "12 (moderate)",
    "72.1 kg (2026-11-09)",
    "72.5 kg",
    "Can I split the sertraline dose?",
    "lorazepam: 3 doses on 2026-11-03, above the as-needed maximum of 2 a day.",
    "generated by medtrack 9.9.9",
)


def test_every_format_shows_the_same_figures():
    report = make_report()
    formats = {
        "md": " ".join(render_markdown(report).split()),
        "text": " ".join(render_text(report).split()),
        "html": html_text(report),
        "pdf": pdf_text(report),
    }
    for name, text in formats.items():
        missing = [figure for figure in FIGURES if figure not in text]
        assert not missing, (name, missing)
    # Nothing left out of the report sneaks into any format.
    for text in formats.values():
        assert "Answered already" not in text and "Felt better today" not in text


def test_html_is_self_contained():
    parsed = parse_html(make_report())
    assert not [link for link in parsed.links if re.match(r"(?i)\s*(https?:|//)", link)]
    assert "script" not in parsed.tags and "link" not in parsed.tags and "img" not in parsed.tags
    html = render_html(make_report())
    assert "<svg" in html and "@media print" in html
    assert not re.search(r"(?i)url\(", html)


def test_pdf_is_real_text_with_charts():
    from pypdf import PdfReader

    data = render_pdf(make_report())
    assert data.startswith(b"%PDF-")
    reader = PdfReader(BytesIO(data))
    assert len(reader.pages) == 1
    assert "Visit report for the prescriber" in reader.pages[0].extract_text()


# --- the command -------------------------------------------------------------------------


@pytest.fixture
def recorded(monkeypatch, tmp_path):
    """A small record through the CLI: sertraline since Nov 1, taken on Nov 20-22."""
    monkeypatch.setenv("MEDTRACK_NOW", "2026-11-23T14:30:00+01:00")
    monkeypatch.chdir(tmp_path)

    def ok(*args):
        result = runner.invoke(app, list(args))
        assert result.exit_code == 0, (args, result.output, result.stderr)
        return result

    ok(
        "med",
        "add",
        "sertraline",
        "--dose",
        "50mg",
        "--schedule",
        "daily 08:00",
        "--start",
        "2026-11-01",
    )
    for day in (20, 21, 22):
        ok("take", "sertraline", "--at", f"2026-11-{day}T08:10")
    ok("config", "set", "name", "Alex Example")
    return ok


def test_report_command_writes_private_files(recorded, tmp_path):
    result = recorded(
        "report",
        "--since",
        "2026-11-20",
        "--until",
        "2026-11-22",
        "--format",
        "pdf",
        "-o",
        "visit.pdf",
    )
    assert "visit.pdf" in result.stdout
    path = tmp_path / "visit.pdf"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_bytes().startswith(b"%PDF-")
    old = tmp_path / "visit.html"
    old.write_text("old")
    old.chmod(0o644)
    recorded(
        "report",
        "--since",
        "2026-11-20",
        "--until",
        "2026-11-22",
        "--format",
        "html",
        "-o",
        str(old),
    )
    # Issue 17: an existing file is replaced whole but keeps its permissions (they are
    # the person's choice, not medtrack's); only a file medtrack creates is made 0600.
    assert stat.S_IMODE(old.stat().st_mode) == 0o644
    assert "100% (3/3)" in old.read_text()


def test_report_command_prints_terminal_and_markdown(recorded):
    text = recorded("report", "--since", "2026-11-20", "--until", "2026-11-22").stdout
    assert "Alex Example" in text and "100% (3/3)" in text
    md = recorded(
        "report", "--since", "2026-11-20", "--until", "2026-11-22", "--format", "md"
    ).stdout
    assert md.startswith("# Visit report for the prescriber")
    assert "| sertraline | 100% (3/3) |" in md


def test_report_default_period_starts_at_the_last_visit(recorded):
    recorded("visit", "add", "2026-11-21T10:00", "--with", "Dr Okafor", "--kind", "prescriber")
    text = recorded("report", "--format", "md").stdout
    assert "2026-11-21 to 2026-11-23 (3 days)" in text
    # The Nov 21 slot (08:00) is before the visit; Nov 22 was taken; today's 08:00 dose is
    # still open (it accepts a dose until the next one) but past its on-time window:
    # overdue, counted as not taken until a dose answers it.
    assert "| sertraline | 50% (1/2) |" in text


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["--format", "docx"], 1),
        (["--for", "dentist"], 1),
        (["--until", "2026-11-10"], 2),
        (["--since", "2026-11-10", "--until", "2026-11-01"], 1),
        (["--format", "pdf", "-o", "-"], 2),
        (["--format", "md", "-o", "/no/such/folder/visit.md"], 1),
    ],
)
def test_report_refusals_change_nothing(recorded, args, code):
    before = dump()
    result = runner.invoke(app, ["report", *args])
    assert result.exit_code == code, result.output
    assert result.stderr.startswith("medtrack: ") and result.stderr.count("\n") == 1
    assert dump() == before


def test_stopped_medication_through_the_command(recorded):
    recorded("med", "stop", "sertraline", "--at", "2026-11-22T12:00", "--reason", "switching")
    md = recorded(
        "report", "--since", "2026-11-20", "--until", "2026-11-22", "--format", "md"
    ).stdout
    assert "| 2026-11-22 | sertraline | stopped | switching |" in md
    assert "No current medications recorded." in md


def test_report_values_are_immutable():
    report = make_report()
    with pytest.raises(AttributeError):
        report.header.days = 3  # type: ignore[misc]
    assert report.header._replace(days=3).days == 3


PROBE = """
import sys
sys.argv = ["medtrack", "report", "--format", {fmt!r}, "-o", {out!r}]
from medtrack.cli import main
try:
    main()
except SystemExit as exc:
    assert not exc.code, exc.code
heavy = {{"rich", "fpdf", "sqlite_utils", "icalendar", "apprise", "fhir"}}
print("LOADED:" + ",".join(sorted({{m.split(".")[0] for m in sys.modules}} & heavy)))
"""


@pytest.mark.parametrize(("fmt", "loaded"), [("html", ""), ("md", ""), ("pdf", "fpdf")])
def test_report_loads_fpdf_only_for_pdf_and_never_rich(recorded, tmp_path, fmt, loaded):
    import subprocess
    import sys

    code = PROBE.format(fmt=fmt, out=str(tmp_path / f"visit.{fmt}"))
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=os.environ
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == f"LOADED:{loaded}"


def make_test_font(path) -> None:
    """A tiny TrueType font (every glyph a box) made with fontTools, which fpdf2 itself
    depends on: the PDF's font embedding is tested without any system font."""
    from fontTools.fontBuilder import FontBuilder
    from fontTools.pens.ttGlyphPen import TTGlyphPen

    chars = [chr(c) for c in range(32, 127)] + list("→–•…’“”·")
    names = [".notdef"] + [f"uni{ord(c):04X}" for c in chars]
    builder = FontBuilder(1000, isTTF=True)
    builder.setupGlyphOrder(names)
    builder.setupCharacterMap({ord(c): f"uni{ord(c):04X}" for c in chars})
    pen = TTGlyphPen(None)
    pen.moveTo((50, 0))
    pen.lineTo((50, 500))
    pen.lineTo((450, 500))
    pen.lineTo((450, 0))
    pen.closePath()
    box = pen.glyph()
    builder.setupGlyf(dict.fromkeys(names, box))
    builder.setupHorizontalMetrics(dict.fromkeys(names, (500, 50)))
    builder.setupHorizontalHeader(ascent=800, descent=-200)
    builder.setupNameTable({"familyName": "BoxSans", "styleName": "Regular"})
    builder.setupOS2(sTypoAscender=800, usWinAscent=800, usWinDescent=200)
    builder.setupPost()
    builder.save(str(path))


def test_pdf_embeds_the_font_it_finds(monkeypatch, tmp_path):
    import medtrack.render.report_pdf as report_pdf

    regular, bold = tmp_path / "regular.ttf", tmp_path / "bold.ttf"
    make_test_font(regular)
    make_test_font(bold)
    monkeypatch.setattr(
        report_pdf, "FONT_CANDIDATES", ((tmp_path / "none.ttf", bold), (regular, bold))
    )
    data = report_pdf.render_pdf(make_report())
    assert b"/FontFile2" in data and b"BoxSans" in data
    assert b"/Helvetica" not in data
    text = pdf_text(make_report())
    assert "25 mg → 50 mg" in text and "80% (8/10)" in text


def test_pdf_without_a_font_uses_helvetica_and_latin1(monkeypatch):
    import medtrack.render.report_pdf as report_pdf

    monkeypatch.setattr(report_pdf, "FONT_CANDIDATES", ())
    data = report_pdf.render_pdf(make_report())
    assert b"/FontFile2" not in data and b"/Helvetica" in data
    text = pdf_text(make_report())
    assert "25 mg -> 50 mg" in text
    assert all(figure in text for figure in FIGURES)


def test_shipped_font_is_found_and_embedded_in_pdf():
    """The package ships DejaVu Sans, so a PDF embeds it on a machine with no fonts."""
    from medtrack.render import report_pdf

    font = report_pdf.find_font()
    assert font is not None
    regular, bold = font
    assert regular.name == "DejaVuSans.ttf" and bold.name == "DejaVuSans-Bold.ttf"
    assert regular.parent == Path(report_pdf.__file__).parent / "fonts"


# --- issue 9: the PDF's fonts and line breaking are tested in test_report_pdf.py ----------


def pdf_text_of(data: bytes) -> str:
    from pypdf import PdfReader

    reader = PdfReader(BytesIO(data))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())
