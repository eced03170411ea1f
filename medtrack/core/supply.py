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

    Hourly rules are 24 / interval; day-level rules (daily, weekly, monthly, raw RRULEs)
    are counted over four years of 364 days, times the number of dose times a day.
    """
    from dateutil.rrule import rrulestr

    if schedule.as_needed or schedule.rrule is None or not schedule.times:
        return 0.0
    parts = dict(part.split("=", 1) for part in schedule.rrule.split(";"))
    if parts.get("FREQ") == "HOURLY":
        return 24.0 / int(parts.get("INTERVAL", "1"))
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
    stock = stock_on_hand(refills, taken, regimens, now)
    regimen = _regimen_at(regimens, now) or _next_regimen(regimens, now)
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


def _next_regimen(regimens: Sequence[Regimen], now: datetime) -> Regimen | None:
    later = [r for r in regimens if r.starts_at > now]
    return min(later, key=lambda r: r.starts_at) if later else None


def needs_refill_warning(status: SupplyStatus | None, warning_days: int) -> bool:
    """Whether the supply runs out within `warning_days` days (setting refill_warning_days)."""
    return status is not None and status.days_left is not None and status.days_left <= warning_days


def pdc(
    fills: Iterable[tuple[date, float]],
    doses_per_day: float,
    period_start: date,
    period_end: date,
    *,
    units_per_dose: float = 1.0,
) -> float | None:
    """Proportion of days covered, as the Pharmacy Quality Alliance defines it: days in the
    period covered by supply on hand / days in the period, capped at 1.0.

    `fills` are (local date of the refill, units). Each fill lasts quantity / (doses_per_day
    x units_per_dose) days. Overlapping supply is carried forward: a refill collected
    before the previous supply is used up starts when that supply ends, so an early
    refill never counts the same day twice. Fills before the period still cover the days
    of the period their supply reaches into. Both `period_start` and `period_end` are
    included (1 to 30 November is 30 days). Supply lasting part of a day covers that part.

    Returns None when PDC has no meaning: no scheduled daily use (as-needed) or an empty
    period. With no fills in reach of the period it is 0.0.
    """
    if doses_per_day <= 0 or units_per_dose <= 0 or period_end < period_start:
        return None
    use = doses_per_day * units_per_dose
    lo = period_start.toordinal()
    hi = period_end.toordinal() + 1  # exclusive end, in days
    covered = 0.0
    supply_end = -math.inf  # the day (ordinal, fractional) the supply on hand runs out
    for day, quantity in sorted(fills):
        if quantity <= 0:
            continue
        begins = max(float(day.toordinal()), supply_end)
        supply_end = begins + quantity / use
        covered += max(0.0, min(supply_end, hi) - max(begins, lo))
    return min(covered / (hi - lo), 1.0)


def medication_pdc(
    refills: Sequence[Refill],
    regimens: Sequence[Regimen],
    start: datetime,
    end: datetime,
    zones: ZoneTimeline,
) -> float | None:
    """PDC of one medication over [start, end) as local days, for `summary --json`.

    Daily use is that of the regimen in force at the end of the window (or the last one
    before it): PQA's PDC assumes one days-supply per fill. None where no refill is
    recorded (supply not tracked) or the plan has no daily use (as needed).
    """
    if not refills:
        return None
    last = end - timedelta(seconds=1)
    regimen = _regimen_at(regimens, last) or max(
        (r for r in regimens if r.starts_at <= last), key=lambda r: r.starts_at, default=None
    )
    if regimen is None:
        return None

    def local_day(instant: datetime) -> date:
        return instant.astimezone(zones.zone_at(instant)).date()

    fills = [(local_day(refill.at), refill.quantity) for refill in refills if refill.at < end]
    return pdc(
        fills,
        doses_per_day(regimen.schedule),
        local_day(start),
        local_day(last),
        units_per_dose=units_per_dose(regimen),
    )
