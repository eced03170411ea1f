"""The Slot-by-Slot adherence summary, kept as the test oracle for `summarize`.

`medtrack.core.adherence.summarize` counts on epoch seconds for speed; these functions
judge one Slot at a time, the way the definitions read, and the property tests check
that both agree on any plan, change of plan, zone and record log.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

from medtrack.core.adherence import (
    DEFAULT_HOLIDAY_DAYS,
    AsNeededSummary,
    DayStat,
    Holiday,
    MedicationSummary,
    _daterange,
    _percent,
    _runs,
)
from medtrack.core.models import Medication
from medtrack.core.schedule import ZoneTimeline
from medtrack.core.slots import DEFAULT_ON_TIME_WINDOW, DoseRecord, Slot, _local_day, judge


def summarize_medication(
    med: Medication,
    slots: Sequence[Slot],
    records: Sequence[DoseRecord],
    *,
    start: datetime,
    end: datetime,
    now: datetime,
    zones: ZoneTimeline,
    on_time_window: timedelta = DEFAULT_ON_TIME_WINDOW,
    holiday_days: int = DEFAULT_HOLIDAY_DAYS,
    by_medication: bool = True,
) -> MedicationSummary:
    """Figures for the scheduled doses of `med` over [start, end) as seen at `now`.

    Judged Slot by Slot from `medication_slots`: the plain statement of the definitions,
    which `summarize` (on epoch seconds, for windows of years) is tested to agree with.

    `records` may hold other medications' records too (they are filtered out), unless
    `by_medication` is False, which promises they are this medication's only.
    """
    mine = [r for r in records if r.medication == med.name] if by_medication else records
    judged = [j for j in judge(slots, mine, now, on_time_window) if j.status != "later"]
    slot_days = {j.slot.at: j.slot.day for j in judged}
    extras: dict[date, int] = {}
    for record in mine:
        if record.status != "taken" or not start <= record.taken_at < end:
            continue
        if record.scheduled_for is not None and record.scheduled_for in slot_days:
            continue
        regimen = med.regimen_at(record.taken_at)
        if regimen is not None and regimen.schedule.as_needed:
            continue
        day = _local_day(record.taken_at, zones)
        extras[day] = extras.get(day, 0) + 1

    counts: dict[date, dict[str, int]] = {}
    reasons: dict[str, int] = {}
    on_time = late = early = 0
    for item in judged:
        day_counts = counts.setdefault(item.slot.day, {})
        day_counts[item.status] = day_counts.get(item.status, 0) + 1
        if item.status == "taken":
            on_time += item.timing == "on-time"
            late += item.timing == "late"
            early += item.timing == "early"
        elif item.status == "skipped":
            assert item.record is not None
            reason = item.record.skip_reason or "other"
            reasons[reason] = reasons.get(reason, 0) + 1

    last_instant = min(end, now) - timedelta(microseconds=1)
    first_day = _local_day(start, zones)
    last_day = max(_local_day(last_instant, zones), first_day)
    days = []
    for day in _daterange(first_day, last_day):
        c = counts.get(day, {})
        days.append(
            DayStat(
                day=day,
                due=sum(c.values()),
                taken=c.get("taken", 0),
                skipped=c.get("skipped", 0),
                missed=c.get("missed", 0),
                pending=c.get("pending", 0),
                extra=extras.get(day, 0),
            )
        )

    def total(status: str) -> int:
        return sum(1 for j in judged if j.status == status)

    taken, skipped, missed, pending = (
        total("taken"),
        total("skipped"),
        total("missed"),
        total("pending"),
    )
    due = len(judged)
    settled = due - pending
    judged_days = [d for d in days if d.judged]
    correct = sum(1 for d in judged_days if d.taken == d.due and d.extra == 0)
    holidays = tuple(
        Holiday(run[0].day, run[-1].day, len(run))
        for run in _runs(days, "none")
        if len(run) >= holiday_days
    )
    streaks = _runs(days, "all")
    last_judged = judged_days[-1].day if judged_days else None
    current = len(streaks[-1]) if streaks and streaks[-1][-1].day == last_judged else 0
    return MedicationSummary(
        medication=med.name,
        due=due,
        taken=taken,
        on_time=on_time,
        late=late,
        early=early,
        skipped=skipped,
        skipped_by_reason=dict(sorted(reasons.items())),
        missed=missed,
        pending=pending,
        extra=sum(extras.values()),
        taking_adherence=_percent(taken, settled),
        timing_adherence=_percent(on_time, settled),
        correct_days=correct,
        judged_days=len(judged_days),
        correct_dosing=_percent(correct, len(judged_days)),
        holidays=holidays,
        current_streak=current,
        longest_streak=max((len(run) for run in streaks), default=0),
        days=tuple(days),
    )


def summarize_as_needed(
    med: Medication,
    records: Sequence[DoseRecord],
    *,
    start: datetime,
    end: datetime,
    now: datetime,
    zones: ZoneTimeline,
) -> AsNeededSummary | None:
    """As-needed use over [start, end): None when no as-needed regimen touches the window.

    The plain form over DoseRecords; `summarize` computes the same from DoseRows.
    """
    regimens = [
        r
        for r in med.regimens
        if r.schedule.as_needed and r.starts_at < end and (r.ends_at is None or r.ends_at > start)
    ]
    if not regimens:
        return None
    per_day: dict[date, int] = {}
    above: set[date] = set()
    for record in sorted(records, key=lambda r: r.taken_at):
        if record.medication != med.name or record.status != "taken":
            continue
        if not start <= record.taken_at < end or record.scheduled_for is not None:
            continue
        regimen = med.regimen_at(record.taken_at)
        if regimen is None or not regimen.schedule.as_needed:
            continue
        day = _local_day(record.taken_at, zones)
        per_day[day] = per_day.get(day, 0) + 1
        if regimen.max_per_day is not None and per_day[day] > regimen.max_per_day:
            above.add(day)
    span = max(min(end, now) - start, timedelta(days=1))
    uses = sum(per_day.values())
    current = med.regimen_at(min(end, now) - timedelta(microseconds=1)) or regimens[-1]
    return AsNeededSummary(
        medication=med.name,
        uses=uses,
        per_week=round(uses / (span / timedelta(days=7)), 1),
        days_above_max=len(above),
        max_per_day=current.max_per_day if current.schedule.as_needed else regimens[-1].max_per_day,
        per_day=tuple(sorted(per_day.items())),
    )
