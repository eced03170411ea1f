"""The report's fast paths against the per-row code they replace.

Symptoms reach the report as columns read by SQLite (`store.health.symptom_series`), their
local days come from one offset per UTC day (`core.report.LocalDays`); each must give
exactly what the per-entry code gave; check-in scores are the check-ins without answers.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medtrack.core.health import CheckinEntry, CheckinScore, SymptomEntry, symptom_series
from medtrack.core.models import ZoneChange
from medtrack.core.report import CHART_POINTS, LocalDays, SymptomTrend, _direction, _symptoms
from medtrack.core.schedule import ZoneTimeline
from medtrack.store import db, health

T0 = datetime(2024, 1, 1, tzinfo=UTC)
# Berlin and New York change on different days; Kathmandu's :45 and Chatham's :45 with
# DST; Lord Howe's half-hour DST; Apia skipped a whole day (2011-12-30).
ZONE_NAMES = (
    "Europe/Berlin",
    "America/New_York",
    "Asia/Kathmandu",
    "Pacific/Chatham",
    "Australia/Lord_Howe",
    "Pacific/Apia",
    "UTC",
)

instants = st.integers(0, 3 * 365 * 86400).map(lambda s: T0 + timedelta(seconds=s))


@st.composite
def timelines(draw) -> ZoneTimeline:
    default = draw(st.sampled_from(ZONE_NAMES))
    changes = draw(st.lists(st.tuples(instants, st.sampled_from(ZONE_NAMES)), max_size=3))
    return ZoneTimeline(default, [ZoneChange(at, zone) for at, zone in changes])


def _local_day(zones: ZoneTimeline, instant: datetime) -> date:
    return instant.astimezone(zones.zone_at(instant)).date()


@given(zones=timelines(), moments=st.lists(instants, max_size=60))
def test_local_days_are_the_per_instant_local_days(zones, moments):
    moments.sort()
    # Around DST changes too: each moment's neighbours an hour and a day away.
    moments = sorted({m + timedelta(hours=h) for m in moments for h in (-24, -1, 0, 1, 24)})
    epochs = [int(m.timestamp()) for m in moments]
    expected = [_local_day(zones, m).toordinal() for m in moments]
    assert LocalDays(zones).ordinals(epochs) == expected


def test_local_days_across_apia_skipping_a_day():
    zones = ZoneTimeline("Pacific/Apia")
    start = datetime(2011, 12, 28, tzinfo=UTC)
    moments = [start + timedelta(minutes=37 * k) for k in range(300)]
    epochs = [int(m.timestamp()) for m in moments]
    assert LocalDays(zones).ordinals(epochs) == [_local_day(zones, m).toordinal() for m in moments]


# --- the symptom trends, against the per-entry code of before ---------------------------


def _reference_trends(entries, zones, first_day, days) -> tuple[SymptomTrend, ...]:
    """core.report._symptoms as it was: per entry, with a local day per entry."""

    def local_day(instant):
        return instant.astimezone(zones.zone_at(instant)).date()

    def chart_points(points):
        size = max(1, -(-days // CHART_POINTS))
        buckets = defaultdict(list)
        for day, value in points:
            buckets[(day - first_day).days // size].append(value)
        return tuple(
            (first_day + timedelta(days=index * size), sum(values) / len(values))
            for index, values in sorted(buckets.items())
        )

    by_name = defaultdict(list)
    for entry in entries:
        by_name[(entry.name, entry.unit or None)].append(entry)
    trends = []
    for (name, unit), items in sorted(by_name.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")):
        items.sort(key=lambda e: e.at)
        values = [e.value for e in items]
        average = sum(values) / len(values)
        origin = items[0].at
        xy = [((e.at - origin).total_seconds() / 86400, e.value) for e in items]
        threshold = 1.0 if unit is None else max(abs(average) * 0.05, 1e-9)
        trends.append(
            SymptomTrend(
                name=name,
                unit=unit,
                count=len(items),
                average=average,
                low=min(values),
                high=max(values),
                direction=_direction(xy, threshold),
                points=chart_points((local_day(e.at), e.value) for e in items),
                scale_max=10.0 if unit is None else None,
            )
        )
    return tuple(trends)


entries_strategy = st.lists(
    st.builds(
        SymptomEntry,
        name=st.sampled_from(["mood", "anxiety", "sleep"]),
        # Values with decimals that binary floats can't hold: sums must add in one order.
        value=st.decimals(0, 12, places=1).map(float),
        unit=st.sampled_from([None, "", "h"]),
        at=instants,
    ),
    max_size=80,
)


@given(entries=entries_strategy, zones=timelines(), days=st.sampled_from([1, 30, 90, 400, 1100]))
def test_symptom_trends_are_the_per_entry_trends(entries, zones, days):
    first_day = date(2024, 1, 1)
    local = LocalDays(zones)
    fast = _symptoms(symptom_series(entries), local, first_day, days)
    assert fast == _reference_trends(entries, zones, first_day, days)


# --- the store's columns, against the entries they stand for ----------------------------


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=40)
@given(
    entries=entries_strategy,
    start=instants,
    length=st.integers(0, 800 * 86400),
    micros=st.integers(0, 999_999),
)
def test_store_symptom_series_are_the_window_entries_as_series(
    tmp_path, entries, start, length, micros
):
    path = tmp_path / "series.db"
    path.unlink(missing_ok=True)
    start = start + timedelta(microseconds=micros)
    end = start + timedelta(seconds=length, microseconds=micros // 2)
    with db.unit_of_work(path, write=True) as conn:
        for entry in entries:
            health.add_symptom(conn, entry, zone="UTC", now=T0)
    with db.unit_of_work(path) as conn:
        read = health.symptom_series(conn, start=start, end=end)
        stored = health.symptoms(conn)
    expected = symptom_series(e for e in stored if start <= e.at < end)
    assert [(s.name, s.unit, list(s.epochs), list(s.values)) for s in read] == [
        (s.name, s.unit, list(s.epochs), list(s.values)) for s in expected
    ]


def test_store_symptom_series_refuses_an_odd_instant_as_symptoms_does(tmp_path):
    """A row in another shape than to_utc_text's is a bug, not input: the window is read
    through `symptoms`, which raises on it as it always has."""
    path = tmp_path / "odd.db"
    with db.unit_of_work(path, write=True) as conn:
        health.add_symptom(conn, SymptomEntry("mood", 4.0, None, T0), zone="UTC", now=T0)
        conn.execute("UPDATE symptoms SET at = ?", ("2024-01-01T05:00:00+00:00",))
    with db.unit_of_work(path) as conn, pytest.raises(ValueError, match="stored UTC time"):
        health.symptom_series(conn, start=T0, end=T0 + timedelta(days=1))


# --- check-in scores, against the full check-ins ----------------------------------------

checkin_entries = st.lists(
    st.builds(
        CheckinEntry,
        questionnaire=st.sampled_from(["phq9", "gad7"]),
        answers=st.lists(st.integers(0, 3), min_size=7, max_size=9).map(tuple),
        difficulty=st.none() | st.integers(0, 3),
        total=st.integers(0, 27),
        band=st.sampled_from(["minimal", "mild", "moderate", "severe"]),
        flagged=st.booleans(),
        at=instants,
    ),
    max_size=20,
)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=30)
@given(entries=checkin_entries, since=instants)
def test_checkin_scores_are_the_checkins_without_answers(tmp_path, entries, since):
    path = tmp_path / "checkins.db"
    path.unlink(missing_ok=True)
    with db.unit_of_work(path, write=True) as conn:
        for entry in entries:
            health.add_checkin(conn, entry, zone="UTC", now=T0)
    with db.unit_of_work(path) as conn:
        scores = health.checkin_scores(conn, since=since)
        full = health.checkins(conn, since=since)
    assert scores == [CheckinScore(c.questionnaire, c.total, c.band, c.flagged, c.at) for c in full]
