"""Print and accessibility (issue 19, items 6 and 7): every strip state told apart by shape
as well as colour, colours at least 3:1 against white, a legend that prints, one dated
timeline, and a busy month with eight medications on one A4 page."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta

import pytest

from medtrack.core.adherence import summarize
from medtrack.core.health import CheckinEntry, NoteEntry, SideEffect, SymptomEntry
from medtrack.core.models import Dose, Medication, Regimen, Schedule
from medtrack.core.report import build_report
from medtrack.core.schedule import ZoneChange, ZoneTimeline
from medtrack.core.slots import DoseRecord
from medtrack.render.charts import STRIP_COLORS, STRIP_SHAPES, TIMELINE_LINES, contrast
from medtrack.render.report_html import render_html
from medtrack.render.report_md import render_markdown, render_text
from medtrack.render.report_pdf import render_pdf

START = datetime(2026, 10, 31, 23, tzinfo=UTC)  # Nov 1, Berlin
END = datetime(2026, 11, 30, 23, tzinfo=UTC)
NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)
NAMES = (
    "sertraline",
    "lamotrigine",
    "quetiapine",
    "lithium",
    "bupropion",
    "propranolol",
    "melatonin",
    "omega-3",
)


def busy_month(zones: ZoneTimeline | None = None):
    zones = zones or ZoneTimeline("Europe/Berlin")
    meds = []
    records = []
    for index, name in enumerate(NAMES):
        hour = 8 + index
        # Two of the eight change dose mid-month (a typical month: not every one).
        changed = datetime(2026, 11, 15, tzinfo=UTC) if index < 2 else None
        regimens = [
            Regimen(
                name,
                Dose(50, "mg"),
                Schedule("FREQ=DAILY", (time(hour),)),
                datetime(2026, 9, 1, tzinfo=UTC),
                ends_at=changed,
                id=index * 10 + 1,
            ),
        ]
        if changed:
            regimens.append(
                Regimen(
                    name,
                    Dose(100, "mg"),
                    Schedule("FREQ=DAILY", (time(hour),)),
                    changed,
                    reason="titration",
                    id=index * 10 + 2,
                )
            )
        meds.append(
            Medication(
                name,
                kind="supplement" if name == "omega-3" else "rx",
                form="tablet",
                purpose="purpose",
                regimens=tuple(regimens),
            )
        )
        for day in range(1, 31):
            slot = datetime(2026, 11, day, hour - 1, tzinfo=UTC)
            if (day + index) % 9 == 0:
                continue  # missed
            if (day + index) % 11 == 0:
                records.append(DoseRecord(name, slot, "skipped", skip_reason="forgot"))
                continue
            records.append(DoseRecord(name, slot + timedelta(minutes=10), "taken"))
    summary = summarize(meds, records, start=START, end=END, now=NOW, zones=zones)
    symptoms = [
        SymptomEntry(name, float((day * k) % 10), None, datetime(2026, 11, day, 20, tzinfo=UTC))
        for day in range(1, 31)
        for k, name in ((3, "mood"), (7, "anxiety"), (1, "sleep quality"))
    ]
    return build_report(
        medications=meds,
        summary=summary,
        symptoms=symptoms,
        side_effects=[
            SideEffect("nausea", "sertraline", "moderate", datetime(2026, 11, 3, tzinfo=UTC)),
            SideEffect("tremor", "lithium", "mild", datetime(2026, 11, 8, tzinfo=UTC)),
            SideEffect("dry mouth", None, "mild", datetime(2026, 11, 9, tzinfo=UTC)),
        ],
        checkins=[
            CheckinEntry(
                "phq9", (1,) * 9, None, 9, "mild", True, datetime(2026, 11, 4, 19, tzinfo=UTC)
            ),
            CheckinEntry(
                "phq9", (0,) * 9, None, 6, "mild", False, datetime(2026, 11, 25, 19, tzinfo=UTC)
            ),
            CheckinEntry(
                "gad7", (1,) * 7, None, 7, "mild", False, datetime(2026, 11, 4, 19, tzinfo=UTC)
            ),
        ],
        notes=[
            NoteEntry(
                f"Question {i}: could the dose be split?",
                True,
                datetime(2026, 11, 20 + i, tzinfo=UTC),
            )
            for i in range(3)
        ],
        records=records,
        start=START,
        end=END,
        now=NOW,
        zones=zones,
        name="Busy Month",
    )


def test_strip_states_differ_in_shape_and_contrast():
    states = [s for s in STRIP_COLORS if s != "pending"]
    shapes = [STRIP_SHAPES[s] for s in states]
    assert len(set(shapes)) == len(states)  # no two states share a shape
    for state in states:
        assert contrast(STRIP_COLORS[state]) >= 3.0, state
    for color, _, _ in TIMELINE_LINES:
        assert contrast(color) >= 3.0
    assert len({dash for _, dash, _ in TIMELINE_LINES}) == len(TIMELINE_LINES)
    assert round(contrast((0, 0, 0)), 1) == 21.0 and contrast((255, 255, 255)) == 1.0


def test_html_legend_prints_and_strips_use_shapes():
    html = render_html(busy_month())
    legend = html.split('class="note legend"')[2]  # the timeline's key comes first
    assert "<svg" in legend.split("</p>")[0] and "background" not in legend.split("</p>")[0]
    # An empty frame (missed) is drawn with a stroke, not a fill.
    assert 'fill="none" stroke="#d55e00"' in html


def test_one_timeline_on_one_axis():
    zones = ZoneTimeline(
        "Europe/Berlin", [ZoneChange(datetime(2026, 11, 20, 12, tzinfo=UTC), "Europe/Lisbon")]
    )
    report = busy_month(zones)
    tl = report.timeline
    assert tl is not None
    assert [t.isoformat() for t in tl.ticks] == [
        "2026-11-02",
        "2026-11-09",
        "2026-11-16",
        "2026-11-23",
        "2026-11-30",
    ]
    kinds = {e.kind for e in tl.events}
    assert {"change", "zone", "missed", "skipped"} <= kinds
    assert tl.symptoms == ("anxiety", "mood", "sleep quality")
    html = render_html(report)
    svg = html.split('class="timeline">')[1].split("</svg>")[0]
    assert svg.count("<polyline") == 3  # three symptom lines
    assert "11-16" in svg and "9!" in svg  # a tick, and the flagged PHQ-9 total
    assert "2026-11-20 zone Europe/Lisbon" in html
    md = render_markdown(report)
    assert (
        "| Days | anxiety | mood | sleep quality | PHQ-9, GAD-7 | Missed, skipped | Changes |" in md
    )
    assert "PHQ-9 9 (item 9); GAD-7 7" in md
    assert "Timeline" in render_text(report)


def test_a_busy_month_with_eight_medications_fits_one_a4_page():
    data = render_pdf(busy_month())
    assert len(re.findall(rb"/Type\s*/Page\b", data)) == 1


def _cjk_report():
    zones = ZoneTimeline("Europe/Berlin")
    med = Medication(
        "舍曲林",
        regimens=(
            Regimen("舍曲林", Dose(50, "mg"), Schedule("FREQ=DAILY", (time(8),)),
                    datetime(2026, 10, 1, tzinfo=UTC)),
        ),
    )  # fmt: skip
    records = [DoseRecord("舍曲林", datetime(2026, 11, 20, 7, 5, tzinfo=UTC), "taken")]
    summary = summarize([med], records, start=START, end=END, now=NOW, zones=zones)
    return build_report(
        medications=[med], summary=summary, start=START, end=END, now=NOW, zones=zones
    )


def _text_of(data: bytes) -> str:
    from io import BytesIO

    from pypdf import PdfReader

    return " ".join(page.extract_text() for page in PdfReader(BytesIO(data)).pages)


def test_a_name_no_font_has_is_marked_and_warned(monkeypatch):
    import medtrack.render.report_pdf as report_pdf

    monkeypatch.setattr(report_pdf, "fallback_font", lambda chars: None)
    warnings: list[str] = []
    text = _text_of(render_pdf(_cjk_report(), warn=warnings.append))
    # Never blank: the marker stands where the name's characters would be, and the rest
    # of its row is still drawn.
    assert "\ufffd\ufffd\ufffd" in text and "50 mg a day" in text
    assert len(warnings) == 1 and "舍" in warnings[0] and "\ufffd" in warnings[0]


def test_a_name_a_system_font_has_is_drawn_with_it():
    import medtrack.render.report_pdf as report_pdf

    found = report_pdf.fallback_font(set("舍曲林"))
    if found is None:
        # CI has no CJK font; the marker-and-warning path above runs everywhere.
        pytest.skip("no font with these characters on this machine (fontconfig)")
    warnings: list[str] = []
    data = render_pdf(_cjk_report(), warn=warnings.append)
    text = _text_of(data)
    assert "舍曲林" in text and "50 mg a day" in text and "\ufffd" not in text
    assert warnings == []


def test_a_table_that_fits_on_a_page_is_never_split():
    from io import BytesIO

    from pypdf import PdfReader

    from medtrack.core.health import Measurement, MeasurementEntry

    # Twelve lab values (one row each, with its chart) after a full page of the busy month:
    # their table would start at the foot of page one.
    labs = [
        MeasurementEntry(Measurement(f"lab{i:02d}", 1.0 + i, None, "mg/L"),
                         datetime(2026, 11, 10 + i, tzinfo=UTC))
        for i in range(12)
    ]  # fmt: skip
    summary = summarize([], [], start=START, end=END, now=NOW, zones=ZoneTimeline("UTC"))
    base = build_report(
        medications=[], summary=summary, measurements=labs, start=START, end=END, now=NOW,
        zones=ZoneTimeline("Europe/Berlin"),
    )  # fmt: skip
    report = busy_month()._replace(measurements=base.measurements)
    pages = [p.extract_text() for p in PdfReader(BytesIO(render_pdf(report))).pages]
    assert len(pages) == 2
    holding = [i for i, text in enumerate(pages) if "lab00" in text or "lab11" in text]
    # The whole table, first row to last, with its column names, is on the second page.
    assert holding == [1] and "Highest" in pages[1] and "Highest" not in pages[0]


def test_a_long_period_counts_rather_than_lists():
    from medtrack.core.adherence import AsNeededSummary
    from medtrack.core.report import _as_needed_row, _safety

    days = [(datetime(2026, 1, 1, tzinfo=UTC).date() + timedelta(days=3 * i), 3) for i in range(20)]
    days[4] = (days[4][0], 5)
    prn = AsNeededSummary("lorazepam", 60, 1.0, 20, 2, tuple(days), above_max=tuple(days))
    (flag,) = _safety((), START, (), (_as_needed_row(prn),), lambda at: at.date())
    assert flag.text == (
        "lorazepam: above the as-needed maximum of 2 a day on 20 days from 2026-01-01 to "
        "2026-02-27 (at most 5 doses in a day); the latest: 2026-02-15 (3), 2026-02-18 (3), "
        "2026-02-21 (3), 2026-02-24 (3), 2026-02-27 (3)."
    )
    # Weekly PHQ-9 over a year: the totals become a line on the timeline, not a smear of
    # overlapping numbers; item 9 above 0 stays marked.
    checkins = [
        CheckinEntry("phq9", (0,) * 9, None, 5 + i % 7, "mild", i == 30,
                     datetime(2025, 12, 1, tzinfo=UTC) + timedelta(days=7 * i))
        for i in range(52)
    ]  # fmt: skip
    start = datetime(2025, 12, 1, tzinfo=UTC)
    summary = summarize([], [], start=start, end=END, now=NOW, zones=ZoneTimeline("UTC"))
    report = build_report(
        medications=[], summary=summary, checkins=checkins, start=start, end=END, now=NOW,
        zones=ZoneTimeline("UTC"),
    )  # fmt: skip
    svg = render_html(report).split('class="timeline">')[1].split("</svg>")[0]
    assert svg.count("<polyline") == 1 and svg.count("<polygon") == 1
    assert ">5<" not in svg  # no total printed
