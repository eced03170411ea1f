"""Supply: stock on hand, days of supply, run-out date and refill-based PDC.

Stock is never stored as a running total (which drifts the first time a dose is undone
or edited): it is derived every time from what was recorded, refills in and doses
taken out, so correcting a dose corrects the stock.

Everything here is pure: refills, doses and regimens come in as values, `now` as an
argument.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import NamedTuple

from medtrack.core.models import Medication, Regimen, Schedule
from medtrack.core.schedule import ZoneTimeline
from medtrack.core.slots import (
    ACCEPT_BEFORE,
    DoseRecord,
    judge,
    local_day,
    raw_slots,
    slots_touching,
)

# A day-level rule is counted over this many days to learn its doses per day: 4 x 364 days
# is a whole number of weeks and spans leap and non-leap years, so weekly and monthly rules
# average out (monthly day 31 included).
_COUNT_DAYS = 4 * 364
_COUNT_FROM = date(2001, 1, 1)  # a Monday, so week-based rules start on a week boundary
_RUN_OUT_HORIZON = timedelta(days=2 * 366)
# A slot from now on opens at most ACCEPT_BEFORE before it: the records since then are all
# that can have answered one early.
RECENT = ACCEPT_BEFORE


@dataclass(frozen=True)
class Refill:
    """Units (tablets, capsules, ml) added to the stock at an instant."""

    at: datetime
    quantity: float


@dataclass(frozen=True)
class TakenDose:
    """A dose recorded as taken, with the regimen it belongs to when known."""

    taken_at: datetime
    regimen_id: int | None = None
    # The store hands over doses of one regimen as one value with a count, so a decade
    # of history is a few hundred values rather than a hundred thousand.
    count: int = 1


@dataclass(frozen=True)
class SupplyStatus:
    """What `med list` shows: units on hand, days they last at the current plan, the day
    they run out (local date), or None where the plan gives no daily use (as needed)."""

    stock: float
    days_left: float | None
    runs_out: date | None


def units_per_dose(regimen: Regimen | None) -> float:
    """Units one dose uses: the regimen's `units_per_dose`, 1 when not given."""
    if regimen is None or regimen.units_per_dose is None:
        return 1.0
    return float(regimen.units_per_dose)


@lru_cache(maxsize=256)
def doses_per_day(schedule: Schedule) -> float:
    """The average number of scheduled doses a day; 0 for an as-needed schedule.

    Every N hours is 24 / N; every N days, times / N; every N weeks on K weekdays,
    K x times / 7N. Other day-level rules (monthly, raw RRULEs) are counted over four
    years of 364 days, times the number of dose times a day.
    """
    from dateutil.rrule import rrulestr

    if schedule.as_needed or schedule.rrule is None or not schedule.times:
        return 0.0
    parts = dict(part.split("=", 1) for part in schedule.rrule.split(";"))
    freq, interval = parts.pop("FREQ", ""), int(parts.pop("INTERVAL", "1"))
    if freq == "HOURLY":
        return 24.0 / interval
    if freq == "DAILY" and not parts:
        return len(schedule.times) / interval
    if freq == "WEEKLY" and set(parts) <= {"BYDAY"}:
        weekdays = len(parts["BYDAY"].split(",")) if parts else 1
        return weekdays * len(schedule.times) / (7 * interval)
    start = datetime.combine(_COUNT_FROM, time())
    end = start + timedelta(days=_COUNT_DAYS)
    rule = rrulestr(schedule.rrule, dtstart=start, cache=False)
    # Day-level occurrences fall at midnight: [start, end) is every one of the days.
    days = len(rule.between(start, end - timedelta(seconds=1), inc=True))
    return days * len(schedule.times) / _COUNT_DAYS


def stock_on_hand(
    refills: Iterable[Refill],
    taken: Iterable[TakenDose],
    regimens: Sequence[Regimen],
    at: datetime,
) -> float:
    """Units on hand at `at`: every refill up to then minus every dose taken up to then.

    A taken dose uses the `units_per_dose` of its own regimen (or, when the dose names
    none, of the regimen in force when it was taken), so a dose change never rereads past
    doses at the new size. Skipped doses use nothing. The result can be negative: doses
    were recorded that no refill accounts for, which the person should see, not hide.
    """
    by_id = {r.id: r for r in regimens if r.id is not None}
    total = sum(refill.quantity for refill in refills if refill.at <= at)
    for dose in taken:
        if dose.taken_at > at:
            continue
        regimen = by_id.get(dose.regimen_id) if dose.regimen_id is not None else None
        if regimen is None:
            regimen = _regimen_at(regimens, dose.taken_at)
        total -= units_per_dose(regimen) * dose.count
    return total


def _regimen_at(regimens: Sequence[Regimen], instant: datetime) -> Regimen | None:
    for regimen in regimens:
        if regimen.starts_at <= instant and (regimen.ends_at is None or instant < regimen.ends_at):
            return regimen
    return None


def daily_use(regimen: Regimen | None) -> float:
    """Units used per day under `regimen`; 0 when it has no schedule (as needed, none)."""
    if regimen is None:
        return 0.0
    return doses_per_day(regimen.schedule) * units_per_dose(regimen)


def supply_status(
    refills: Sequence[Refill],
    taken: Sequence[TakenDose],
    med: Medication,
    now: datetime,
    zones: ZoneTimeline,
    recent: Sequence[DoseRecord] = (),
) -> SupplyStatus | None:
    """Stock, days of supply and run-out date now; None where supply is not tracked
    (no refill ever recorded).

    Days of supply: stock divided by the units used a day under the regimen in force now
    (or the next planned one). The run-out date is the local day of the first slot from
    now on that the stock cannot cover, walking the plan itself (planned dose changes
    included): 9 tablets left after this morning's daily dose run out on the 10th day
    from today, 10 left before it on the 10th day too. A slot from now on already
    answered by a dose taken early (`recent`: the records since `RECENT` before now) has
    had its units counted out of the stock, so it needs none.
    """
    if not refills:
        return None
    regimens = med.regimens
    # Before the first plan starts, the stock is what will be on hand at its start (the
    # initial supply of `med add --supply` is a fill on that day): no run-out before it.
    first = min((r.starts_at for r in regimens), default=now)
    stock = stock_on_hand(refills, taken, regimens, max(now, first))
    plans = sorted(regimens, key=lambda r: r.starts_at)
    regimen = _plan_from(plans, [r.starts_at for r in plans], now)
    use = daily_use(regimen)
    if use <= 0:
        return SupplyStatus(stock=stock, days_left=None, runs_out=None)
    days_left = max(stock, 0.0) / use
    # No plan from now on uses more a day than the largest of them: a stock lasting past
    # the horizon at that rate has no run-out date worth walking the plan for.
    most = max(daily_use(r) for r in regimens if r.ends_at is None or r.ends_at > now)
    if stock / most >= _RUN_OUT_HORIZON.days:
        return SupplyStatus(stock=stock, days_left=days_left, runs_out=None)
    ahead = slots_touching(med, now, now + RECENT, zones)
    answered = {j.slot.at for j in judge(med, ahead, recent, now).slots if j.record is not None}
    return SupplyStatus(
        stock=stock, days_left=days_left, runs_out=_run_out_day(stock, med, now, zones, answered)
    )


def _run_out_day(
    stock: float, med: Medication, now: datetime, zones: ZoneTimeline, answered: set[datetime]
) -> date | None:
    """The local day of the first slot from `now` that `stock` does not cover."""
    left = stock
    start = now
    # A month at a time, so a month's stock expands about a month of slots; a stock that
    # outlasts the horizon has no run-out date worth showing.
    while start < now + _RUN_OUT_HORIZON:
        end = start + timedelta(days=31)
        for at, regimen in raw_slots(med, start, end, zones):
            if at in answered:
                continue
            units = units_per_dose(regimen)
            if left < units - 1e-9:
                return local_day(at, zones)
            left -= units
        start = end
    return None


def _plan_from(
    plans: Sequence[Regimen], starts: Sequence[datetime], at: datetime
) -> Regimen | None:
    """The plan in force at `at`, else the one starting next (`plans` in order of start,
    `starts` their starts): a fill's days are counted at the daily use from it on."""
    from bisect import bisect_right

    index = bisect_right(starts, at) - 1
    if index >= 0 and (plans[index].ends_at is None or at < plans[index].ends_at):
        return plans[index]
    return plans[index + 1] if index + 1 < len(plans) else None


def needs_refill_warning(status: SupplyStatus | None, warning_days: int) -> bool:
    """Whether the supply runs out within `warning_days` days (setting refill_warning_days)."""
    return status is not None and status.days_left is not None and status.days_left <= warning_days


class Pdc(NamedTuple):
    """Proportion of days covered over a period: `covered` of `days` days, from `since`."""

    covered: int
    days: int
    percent: float | None
    since: date


def proportion_of_days_covered(
    refills: Sequence[Refill],
    regimens: Sequence[Regimen],
    start: datetime,
    end: datetime,
    zones: ZoneTimeline,
) -> Pdc | None:
    """PDC as the Pharmacy Quality Alliance defines it, over the local days of [start, end).

    - The period runs from the later of the window's first day and the first fill's day
      (a supply given with `med add --supply` is a fill on the medication's first day) to
      the window's last day, both included.
    - Each fill covers whole days: its quantity over the daily use (doses a day x units a
      dose) of the plan in force from that fill on (the one starting next, before the
      first); a fill under an as-needed plan covers nothing.
    - Supply on hand is carried forward: a fill collected before the last one runs out
      starts the day after it does, so an early refill never covers a day twice.
    - PDC = days covered in the period / days in the period, capped at 100%.

    None where no fill is recorded before the window's end (supply not tracked).
    """
    from medtrack.core.percent import percent
    from medtrack.core.slots import local_day

    fills = sorted((refill.at, refill.quantity) for refill in refills if refill.at < end)
    if not fills:
        return None
    plans = sorted(regimens, key=lambda r: r.starts_at)
    starts = [r.starts_at for r in plans]
    since = max(local_day(start, zones), local_day(fills[0][0], zones))
    last = local_day(end - timedelta(microseconds=1), zones)
    if last < since:
        return None
    lo, hi = since.toordinal(), last.toordinal() + 1  # [lo, hi) in day ordinals
    covered = 0
    supply_ends = 0  # the first day (ordinal) the supply on hand no longer covers
    for at, quantity in fills:
        use = daily_use(_plan_from(plans, starts, at))
        if use <= 0 or quantity <= 0:
            continue
        begins = max(local_day(at, zones).toordinal(), supply_ends)
        supply_ends = begins + math.floor(quantity / use + 1e-9)
        covered += max(0, min(supply_ends, hi) - max(begins, lo))
    days = hi - lo
    covered = min(covered, days)
    return Pdc(covered, days, percent(covered, days), since)
