"""A window's figures need only the regimens in force from NEIGHBOUR_REACH before it on.

`summary` loads just those (a decade of dose changes must not weigh on a month); these
tests check that the figures are the same as with the whole plan history, and that the
reach is not larger than it needs to be for nothing: a shorter one changes figures.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from medtrack.core.adherence import summarize
from medtrack.core.models import Dose, Medication, Regimen
from medtrack.core.schedule import ZoneTimeline, parse_schedule
from medtrack.core.slots import NEIGHBOUR_REACH, DoseRecord, slot_for

ZONES = ZoneTimeline("Europe/Berlin")
ORIGIN = datetime(2023, 1, 2, 8, 0, tzinfo=ZoneInfo("Europe/Berlin")).astimezone(UTC)
SCHEDULES = (
    "daily 08:00",
    "daily 08:00,20:00",
    "every 2 days 09:00",
    "weekly sun 10:00",
    "every 4 weeks mon 10:00",
    "monthly 1 09:00",
    "every 8h from 06:00",
    "as needed",
)


def regimen(schedule: str, starts: datetime, ends: datetime | None, mg: float) -> Regimen:
    return Regimen("x", Dose(mg, "mg"), parse_schedule(schedule), starts, ends_at=ends)


def in_force_from(med: Medication, since: datetime) -> Medication:
    """What `load_medications(regimens_since=since)` keeps: regimens not ended by then."""
    kept = tuple(r for r in med.regimens if r.ends_at is None or r.ends_at > since)
    return med._replace(regimens=kept)


def records_for(med: Medication, instants: list[datetime]) -> list[DoseRecord]:
    """Doses attached as `take` attaches them: to the open slot holding them, else extra."""
    records: list[DoseRecord] = []
    answered: set[datetime] = set()
    for index, at in enumerate(sorted(instants)):
        slot = slot_for(med, at, ZONES)
        scheduled = slot.at if slot is not None and slot.at not in answered else None
        if scheduled is not None:
            answered.add(scheduled)
        records.append(DoseRecord("x", at, "taken", scheduled_for=scheduled, id=index))
    return records


@st.composite
def histories(draw: st.DrawFn) -> tuple[Medication, datetime, datetime, datetime, list]:
    """Plan changes over three years, a window late in it, doses around the window.

    Drawn to reach the cases where a dropped plan would matter: the window often opens
    soon after the last change (the slot before its first one is under an ended plan) and
    the medication often stops soon after (that first slot is also the last, and stays
    open as long as the gap from the slot before it)."""
    changes = sorted(set(draw(st.lists(st.integers(1, 3 * 365), min_size=1, max_size=6))))
    hours = [draw(st.integers(0, 23)) for _ in changes]
    bounds = [
        ORIGIN,
        *(ORIGIN + timedelta(days=d, hours=h) for d, h in zip(changes, hours, strict=True)),
    ]
    regimens = []
    for index, starts in enumerate(bounds):
        ends = bounds[index + 1] if index + 1 < len(bounds) else None
        schedule = draw(st.sampled_from(SCHEDULES))
        regimens.append(regimen(schedule, starts, ends, 10.0 * (index + 1)))
    after = bounds[-1] if draw(st.booleans()) else draw(st.sampled_from(bounds))
    start = after + timedelta(hours=draw(st.integers(1, 35 * 24)))
    stopped = None
    if draw(st.booleans()):
        stopped = max(start, bounds[-1]) + timedelta(hours=draw(st.integers(1, 35 * 24)))
    med = Medication(name="x", regimens=tuple(regimens), stopped_at=stopped)
    end = start + timedelta(days=draw(st.integers(1, 120)))
    now = start + timedelta(hours=draw(st.integers(0, 60 * 24)))
    offsets = draw(st.lists(st.integers(-3 * 24 * 60, 125 * 24 * 60), max_size=25))
    doses = [start + timedelta(minutes=m) for m in offsets]
    return med, start, end, now, doses


@settings(deadline=None)
@given(histories())
def test_a_window_judged_from_the_recent_plans_equals_the_whole_history(history):
    med, start, end, now, doses = history
    records = records_for(med, doses)
    whole = summarize([med], records, start=start, end=end, now=now, zones=ZONES)
    recent = in_force_from(med, start - NEIGHBOUR_REACH)
    judged = summarize([recent], records, start=start, end=end, now=now, zones=ZONES)
    assert judged == whole


def test_a_shorter_reach_would_change_a_figure():
    """A four-weekly injection whose plan changed 20 days before the window: the window's
    one slot is the last before the stop, so it stays open as long as the gap from the
    slot before it (28 days), which only the earlier plan has. Dropped, the slot would
    close after a day and count as missed."""
    change = datetime(2026, 3, 10, 9, tzinfo=UTC)
    first = regimen("every 4 weeks mon 10:00", ORIGIN, change, 156.0)
    second = regimen("every 4 weeks mon 10:00", change, None, 234.0)
    start = change + timedelta(days=20)
    med = Medication(name="x", regimens=(first, second), stopped_at=start + timedelta(days=10))
    end, now = start + timedelta(days=10), start + timedelta(days=12)

    def figures(m: Medication) -> tuple[int, int]:
        (item,) = summarize([m], [], start=start, end=end, now=now, zones=ZONES).medications
        return item.missed, item.pending

    assert figures(med) == (0, 1)
    assert figures(in_force_from(med, start - NEIGHBOUR_REACH)) == (0, 1)
    assert figures(in_force_from(med, start - timedelta(days=1))) == (1, 0)
