"""The adherence figures computed from slots (`core.slots`) and the records answering them.

Pure: no database, no clock (``now`` is a parameter), no I/O. Definitions (DESIGN.md
"Dose slots and adherence"; slots, their windows and attachment are in `core.slots`):

- **Due** = the slots in the window at or before now, plus any later slot already
  answered (a dose taken early counts where it was recorded). So
  ``taken + skipped + missed + pending = due``.
- **Taking adherence** = taken / (due - pending): a slot still open is not judged
  yet. **Timing adherence** = taken on time / (due - pending), where on time is
  ``|taken_at - slot| <= on_time_window`` (setting, default 60 min); a taken dose
  outside that is late (after) or early (before).
- **Correct-dosing days**: of the local days with due slots and none pending, the
  share on which every slot was taken and no extra dose was taken.
- **Drug holiday**: a run of at least ``holiday_days`` (setting, default 3)
  consecutive scheduled days (days with due slots, none pending) on which no dose
  at all was taken (skips count as no dose).
- **Streaks** count consecutive such days on which every slot was taken; the
  current streak is the run that ends on the latest judged day.
- **As-needed** doses (taken under an as-needed regimen) are counted apart (total,
  per week, days above the regimen's max per local day) and never enter a
  percentage. The overall line adds the scheduled medications' counts, which
  weights each medication by its doses due.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from functools import partial
from itertools import compress, groupby, pairwise, repeat
from operator import add, and_, eq, floordiv, gt, is_, lt, mul, not_, or_, sub, truth
from typing import NamedTuple

from medtrack.core.models import Medication, Regimen
from medtrack.core.schedule import ZoneTimeline, _fill_offsets, day_offset
from medtrack.core.slots import (
    _LAST_SLOT_FALLBACK,
    ACCEPT_BEFORE,
    DEFAULT_ON_TIME_WINDOW,
    DoseRecord,
    _continues,
    _local_day,
    _slot_after,
    _slot_before,
    _slot_columns,
    has_schedule_in,
)

DEFAULT_HOLIDAY_DAYS = 3
# The conventional threshold (most adherence studies call >= 80% "adherent"); shown, not judged.
CONVENTIONAL_THRESHOLD = 80.0


class DoseColumns(NamedTuple):
    """One medication's records in (taken_at, id) order, column by column: the slot each
    answers and when it was taken as POSIX seconds (`scheduled` None for an as-needed or
    extra dose), its kind as one byte (2 not taken, which the figures count as a skip;
    a taken one 1, or, where `DoseRows.on_time_window` is set, 3 late or 4 early against
    its `scheduled` and 1 within it), and the skip reason of each record not taken (None
    when there is none, and for every taken one)."""

    scheduled: list[float | None]
    # A list, or a sequence the store parses only when it is read (see store.doses).
    taken: Sequence[float]
    kind: bytes
    reason: list[str | None]


class DoseRows(NamedTuple):
    """A window's dose records in the compact form `summarize` reads, per medication name.

    `store.doses.dose_rows` builds it in SQL without a DoseRecord (or a tuple) per record;
    `from_records` builds the same from DoseRecords.
    """

    by_medication: dict[str, DoseColumns]
    # The on-time window (seconds) the taken records' kinds were classified at (1 on time,
    # 3 late, 4 early), or None when every taken record is 1. `summarize` counts late and
    # early from the kinds when this is its own window, else from the delays.
    on_time_window: float | None = None

    @classmethod
    def from_records(
        cls, records: Iterable[DoseRecord], on_time_window: timedelta | None = None
    ) -> DoseRows:
        window = None if on_time_window is None else on_time_window.total_seconds()
        grouped: dict[str, tuple[list, list, bytearray, list]] = {}
        for r in records:
            scheduled, taken, kind, reason = grouped.setdefault(
                r.medication, ([], [], bytearray(), [])
            )
            slot = None if r.scheduled_for is None else r.scheduled_for.timestamp()
            scheduled.append(slot)
            taken.append(r.taken_at.timestamp())
            if r.status != "taken":
                kind.append(2)
            elif window is None or slot is None:
                kind.append(1)
            else:
                delay = taken[-1] - slot
                kind.append(3 if delay > window else 4 if delay < -window else 1)
            reason.append(None if r.status == "taken" else r.skip_reason or None)
        return cls(
            {name: DoseColumns(s, t, bytes(k), why) for name, (s, t, k, why) in grouped.items()},
            window,
        )


_NO_DOSES = DoseColumns([], [], b"", [])


class DayStat(NamedTuple):
    """One medication on one local day, counting due slots only."""

    day: date
    due: int = 0
    taken: int = 0
    skipped: int = 0
    missed: int = 0
    pending: int = 0
    extra: int = 0

    @property
    def judged(self) -> bool:
        """A scheduled day whose every due slot is settled (none still open)."""
        return self.due > 0 and self.pending == 0

    @property
    def cell(self) -> str:
        """For the calendar strip: all, partly, none, skipped, pending or unscheduled."""
        return day_cell(self.due, self.taken, self.skipped, self.missed, self.pending)

    @property
    def adherence(self) -> float | None:
        settled = self.due - self.pending
        return None if settled <= 0 else 100.0 * self.taken / settled


class DayStats(Sequence[DayStat]):
    """One DayStat per local day from `first` on, kept as columns of counts.

    A decade is 40k days per summary: the figures, the sparkline and the report's strip
    read the columns, and a DayStat is made only for a day that is looked at. Equal to
    any sequence of the same DayStats (a tuple of them, as the reference builds).
    """

    __slots__ = ("due", "extra", "first", "missed", "pending", "skipped", "taken")

    def __init__(
        self,
        first: date,
        due: list[int],
        taken: list[int],
        skipped: list[int],
        missed: list[int],
        pending: list[int],
        extra: list[int],
    ) -> None:
        self.first = first
        self.due, self.taken, self.skipped = due, taken, skipped
        self.missed, self.pending, self.extra = missed, pending, extra

    def _columns(self) -> tuple[list[int], ...]:
        return (self.due, self.taken, self.skipped, self.missed, self.pending, self.extra)

    def __len__(self) -> int:
        return len(self.due)

    def __getitem__(self, index):  # type: ignore[override]
        if isinstance(index, slice):
            lo, hi, step = index.indices(len(self.due))
            if step != 1:
                return tuple(self[i] for i in range(lo, hi, step))
            hi = max(lo, hi)
            return DayStats(
                self.first + timedelta(days=lo), *(column[lo:hi] for column in self._columns())
            )
        if index < 0:
            index += len(self.due)
        if not 0 <= index < len(self.due):
            raise IndexError("day index out of range")
        return DayStat(self.first + timedelta(days=index), *(c[index] for c in self._columns()))

    def __iter__(self) -> Iterator[DayStat]:
        ordinal = self.first.toordinal()
        days = map(date.fromordinal, range(ordinal, ordinal + len(self.due)))
        return map(DayStat, days, *self._columns())

    def dates(self) -> Iterator[date]:
        ordinal = self.first.toordinal()
        return map(date.fromordinal, range(ordinal, ordinal + len(self.due)))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, DayStats):
            return (not self.due or self.first == other.first) and (
                self._columns() == other._columns()
            )
        if isinstance(other, Sequence):
            return len(other) == len(self) and all(map(eq, self, other))
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return f"DayStats(first={self.first!r}, days={len(self)})"


def day_cell(due: int, taken: int, skipped: int, missed: int, pending: int) -> str:
    """`DayStat.cell` from the counts alone (a week of the report's strip is judged so)."""
    if due == 0:
        return "unscheduled"
    if taken == due:
        return "all"
    if taken > 0:
        return "partly"
    if pending == due:
        return "pending"
    if skipped > 0 and missed == 0:
        return "skipped"
    return "none"


class Holiday(NamedTuple):
    first: date
    last: date
    days: int


class MedicationSummary(NamedTuple):
    """Scheduled doses of one medication over a window."""

    medication: str
    due: int
    taken: int
    on_time: int
    late: int
    early: int
    skipped: int
    skipped_by_reason: dict[str, int]
    missed: int
    pending: int
    extra: int
    taking_adherence: float | None
    timing_adherence: float | None
    correct_days: int
    judged_days: int
    correct_dosing: float | None
    holidays: tuple[Holiday, ...]
    current_streak: int
    longest_streak: int
    days: DayStats


class AsNeededSummary(NamedTuple):
    """As-needed use of one medication over a window (never in a percentage)."""

    medication: str
    uses: int
    per_week: float
    days_above_max: int
    max_per_day: int | None
    per_day: tuple[tuple[date, int], ...]


class Overall(NamedTuple):
    due: int
    taken: int
    on_time: int
    late: int
    skipped: int
    missed: int
    pending: int
    taking_adherence: float | None
    timing_adherence: float | None
    correct_days: int
    judged_days: int
    correct_dosing: float | None


class Summary(NamedTuple):
    start: datetime
    end: datetime
    now: datetime
    on_time_window: timedelta
    holiday_days: int
    threshold: float
    medications: tuple[MedicationSummary, ...]
    as_needed: tuple[AsNeededSummary, ...]
    overall: Overall


def _percent(part: int, whole: int) -> float | None:
    return None if whole <= 0 else round(100.0 * part / whole, 1)


def _daterange(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _runs(days: Sequence[DayStat], good: str) -> list[list[DayStat]]:
    """Runs of consecutive judged days satisfying `good` ("all" taken or "no" dose)."""
    runs: list[list[DayStat]] = []
    current: list[DayStat] = []
    for stat in days:
        if not stat.judged:
            continue
        ok = stat.taken == stat.due if good == "all" else stat.taken == 0 and stat.extra == 0
        if ok:
            current.append(stat)
        elif current:
            runs.append(current)
            current = []
    if current:
        runs.append(current)
    return runs


def _local_day_of(epoch: float, zones: ZoneTimeline) -> date:
    return _local_day(datetime.fromtimestamp(epoch, UTC), zones)


class _Clock:
    """The regimen in force and the local day of many instants in time order, each found
    from the last one's where it still holds (a decade of as-needed doses is thousands of
    look-ups); anything unusual (overlapping regimens, a day near a DST change or a trip)
    goes the plain way, so the answers are exactly `regimen_at` and `_local_day`."""

    def __init__(self, med: Medication, zones: ZoneTimeline) -> None:
        self.med = med
        self.zones = zones
        spans = sorted(
            (
                (
                    r.starts_at.timestamp(),
                    math.inf if r.ends_at is None else r.ends_at.timestamp(),
                    r,
                )
                for r in med.regimens
            ),
            key=lambda span: span[:2],
        )
        disjoint = all(a[1] <= b[0] for a, b in pairwise(spans))
        self.spans = spans if disjoint else None
        self.last: tuple[float, float, Regimen] | None = None
        self.offsets: dict[int, int | None] = {}

    def regimen(self, epoch: float) -> Regimen | None:
        last = self.last
        if last is not None and last[0] <= epoch < last[1]:
            return last[2]
        if self.spans is None:
            return self.med.regimen_at(datetime.fromtimestamp(epoch, UTC))
        index = bisect_right(self.spans, epoch, key=lambda span: span[0]) - 1
        if index >= 0 and epoch < self.spans[index][1]:
            self.last = self.spans[index]
            return self.last[2]
        return None

    def day(self, epoch: float) -> date:
        utc_day = int(epoch // 86400) + _EPOCH_ORDINAL
        for ordinal in (utc_day, utc_day + 1, utc_day - 1):
            offset = self.offsets.get(ordinal, _UNSET)
            if offset is _UNSET:
                offset = self.offsets[ordinal] = day_offset(self.zones, date.fromordinal(ordinal))
            # A regular day (one offset throughout, no zone change near it) that holds the
            # instant's wall time is its local day.
            if offset is not None and int((epoch + offset) // 86400) + _EPOCH_ORDINAL == ordinal:
                return date.fromordinal(ordinal)
        return _local_day(datetime.fromtimestamp(epoch, UTC), self.zones)


_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_UNSET = object()
# A slot's kind as a byte (0 open, else its record's: 2 skipped, 1, 3 or 4 taken), and
# masks picking one kind.
_TAKEN_MASK = bytes.maketrans(b"\x00\x01\x02\x03\x04", b"\x00\x01\x00\x01\x01")
_SKIPPED_MASK = bytes.maketrans(b"\x00\x01\x02\x03\x04", b"\x00\x00\x01\x00\x00")
_OPEN_MASK = bytes.maketrans(b"\x00\x01\x02\x03\x04", b"\x01\x00\x00\x00\x00")
_NOT_SKIPPED_MASK = bytes.maketrans(b"\x00\x01\x02\x03\x04", b"\x01\x01\x00\x01\x01")


def _local_ordinals(epochs: list[float], zones: ZoneTimeline) -> list[int]:
    """The local day ordinal of each instant of `epochs` (in time order), as `_local_day`
    gives it. Over a stretch of regular days sharing one UTC offset (`day_offset`: no DST
    change or trip near them, a few dozen stretches in a decade) the instants whose wall
    time under that offset falls in the stretch are found by bisection and converted in
    C; the rest (days near a change) go one by one the plain way."""
    if not epochs:
        return []
    lo = int(epochs[0] // 86400) + _EPOCH_ORDINAL - 1
    hi = int(epochs[-1] // 86400) + _EPOCH_ORDINAL + 1
    offsets = _fill_offsets(zones, lo, hi)
    ordinals: list[int | None] = [None] * len(epochs)
    first = lo
    for offset, run in groupby(map(offsets.__getitem__, range(lo, hi + 1))):
        stop = first + len(list(run))
        if offset is not None:
            i = bisect_right(epochs, (first - _EPOCH_ORDINAL) * 86400 - offset - 1)
            j = bisect_right(epochs, (stop - _EPOCH_ORDINAL) * 86400 - offset)
            found = list(
                map(
                    int,
                    map(floordiv, map(add, epochs[i:j], repeat(offset)), repeat(86400)),
                )
            )
            found = list(map(add, found, repeat(_EPOCH_ORDINAL, len(found))))
            # Only instants the stretch's offset puts on its own days are its (the bounds
            # are a float comparison away from that): any other goes the plain way.
            while found and found[0] < first:
                found.pop(0)
                i += 1
            while found and found[-1] >= stop:
                found.pop()
                j -= 1
            ordinals[i : i + len(found)] = found
        first = stop
    for index in _indexes_of_none(ordinals):
        ordinals[index] = _local_day_of(epochs[index], zones).toordinal()
    return ordinals  # type: ignore[return-value]


def _indexes_of_none(values: list[float | None]) -> Iterator[int]:
    """Where None is in `values`, found by list.index (a scan in C between finds)."""
    index = -1
    while True:
        try:
            index = values.index(None, index + 1)
        except ValueError:
            return
        yield index


def _scheduled_summary(
    med: Medication,
    doses: DoseColumns,
    *,
    start: datetime,
    end: datetime,
    now: datetime,
    zones: ZoneTimeline,
    on_time_window: timedelta,
    holiday_days: int,
    classified: bool = False,
) -> MedicationSummary:
    """One medication's figures over the window, computed on epoch seconds: no Slot or
    JudgedSlot per expected dose, windows worked out only for unanswered ones. The tests
    hold a Slot-by-Slot reference of the same definitions (tests/adherence_reference.py).

    `classified`: the taken records' kinds say on time, late or early at `on_time_window`
    (see DoseRows.on_time_window)."""
    t_start, t_end, t_now = start.timestamp(), end.timestamp(), now.timestamp()
    window = on_time_window.total_seconds()
    ats, slot_days, spans = _slot_columns(med, start, end, zones)
    stops = [stop for stop, _regimen in spans]
    before = after = None
    if ats:
        first_at = datetime.fromtimestamp(ats[0], UTC)
        last_at = datetime.fromtimestamp(ats[-1], UTC)
        before = _slot_before(med, first_at, zones)
        after = _slot_after(med, last_at + timedelta(seconds=1), zones)

    # The first record given for a slot answers it (records are in (taken_at, id) order,
    # and of equal keys dict() keeps the last, so feed them backwards): each slot's kind
    # straight from the records' kinds, one look-up per slot.
    scheduled, taken_ats, record_kinds = doses.scheduled, doses.taken, doses.kind
    answers = dict(zip(reversed(scheduled), reversed(record_kinds), strict=True))
    unscheduled = answers.pop(None, None) is not None
    first_day = _local_day(start, zones)
    last_day = max(_local_day(min(end, now) - timedelta(microseconds=1), zones), first_day)
    # Per-day counts in lists indexed from the earliest day any slot or the window has
    # (a slot answered early may fall after the last day shown): no bounds test per slot.
    first_ordinal = first_day.toordinal()
    n_days = (last_day - first_day).days + 1
    base = min(first_ordinal, min(slot_days, default=first_ordinal))
    skew = first_ordinal - base
    size = max(skew + n_days, max(slot_days, default=base) - base + 1)
    d_taken = [0] * size
    d_skipped = [0] * size
    d_missed = [0] * size
    d_pending = [0] * size
    # Each slot's kind as one byte: 0 open, else its answering record's (2 skipped, 1, 3
    # or 4 taken). Built with map/bytes/Counter, so a decade of slots costs no Python
    # statement per slot.
    count = len(ats)
    unanswered = len(scheduled)
    kinds = bytes(map(answers.get, ats, repeat(0, count)))
    skipped = kinds.count(2)
    taken = count - kinds.count(0) - skipped
    is_taken = kinds.translate(_TAKEN_MASK)
    for day, number in Counter(compress(slot_days, is_taken)).items():
        d_taken[day - base] += number
    reasons: dict[str, int] = {}
    missed = pending = 0
    if skipped:
        is_skipped = kinds.translate(_SKIPPED_MASK)
        for day, number in Counter(compress(slot_days, is_skipped)).items():
            d_skipped[day - base] += number
        # The reason of each slot's first record not taken, from those records alone (a
        # tenth of them): a skipped slot's first record is one of them, and the first.
        # (The skip records' columns picked in C, fed backwards so the first of each wins.)
        picked = record_kinds.translate(_SKIPPED_MASK)
        skip_slots, skip_reasons = (
            list(compress(scheduled, picked)),
            list(compress(doses.reason, picked)),
        )
        skip_slots.reverse()
        skip_reasons.reverse()
        reason_of = dict(zip(skip_slots, skip_reasons, strict=True))
        given = Counter(map(reason_of.__getitem__, compress(ats, is_skipped)))
        for reason, number in given.items():
            key = reason or "other"  # no reason given (None or "") is "other"
            reasons[key] = reasons.get(key, 0) + number
    if classified:
        # A slot's answering record names that slot (it is its key in `answers`), so the
        # record's class against its own scheduled_for is the slot's.
        late, early = kinds.count(3), kinds.count(4)
    else:
        # Each taken slot's delay against its answering record (the first naming it);
        # late and early are the two tails (no sort needed).
        first_record = dict(zip(reversed(scheduled), range(unanswered - 1, -1, -1), strict=True))
        taken_slots = list(compress(ats, is_taken))
        taken_list = taken_ats if isinstance(taken_ats, list) else list(taken_ats)
        delays = list(
            map(
                sub,
                map(taken_list.__getitem__, map(first_record.__getitem__, taken_slots)),
                taken_slots,
            )
        )
        late = sum(map(gt, delays, repeat(window, taken)))
        early = sum(map(lt, delays, repeat(-window, taken)))

    lead = ACCEPT_BEFORE.total_seconds()
    fallback = _LAST_SLOT_FALLBACK.total_seconds()
    is_open = kinds.translate(_OPEN_MASK)
    # An open slot followed, under the same regimen (in its span), by a slot at or before
    # now has closed: it closes before the next slot opens, so it is missed, counted in C.
    # Only the last slot of each span and the last slot at or before now are judged one
    # by one; the slots after now are not due.
    due_now = bisect_right(ats, t_now)
    surely = bytearray(is_open[: max(due_now - 1, 0)])
    ends = {stop - 1 for stop in stops if 0 < stop <= len(surely)}
    for index in ends:
        surely[index] = 0
    sure = surely.count(1)
    if sure:
        missed += sure
        for day, number in Counter(compress(slot_days, surely)).items():
            d_missed[day - base] += number
    if due_now:
        ends.add(due_now - 1)
    for index in sorted(ends):
        if not is_open[index]:
            continue
        at = ats[index]
        # Closes where the next slot opens if the plan carries on, else after its own gap.
        span = bisect_right(stops, index)
        regimen = spans[span][1]
        if index + 1 < count:
            # The next slot's regimen: this one's, unless this slot ends its span.
            if index + 1 == stops[span]:
                span = bisect_right(stops, index + 1)
            following: tuple[float, Regimen] | None = (ats[index + 1], spans[span][1])
        else:
            following = None if after is None else (after[0].timestamp(), after[1])
        if following is not None and _continues(regimen, following[1]):
            closes = following[0] - min(lead, (following[0] - at) / 2)
        else:
            if index > 0:
                gap = at - ats[index - 1]
            elif before is not None:
                gap = at - before[0].timestamp()
            else:
                gap = fallback
            closes = at + gap
        if t_now >= closes:
            missed += 1
            d_missed[slot_days[index] - base] += 1
        else:
            pending += 1
            d_pending[slot_days[index] - base] += 1
    on_time = taken - late - early

    # Extra doses: taken in the window, answering no slot of it, not under an as-needed plan.
    d_extra = [0] * size
    extra_total = 0
    # Slots are distinct, so each answered one is one key of `answers`: only when there
    # are more keys than answered slots does some record name an instant no slot has.
    # Those are mostly records at the window's edges (a slot just before it, taken in
    # it): when the keys outside the slots' range are as many, they are all there are,
    # and no set of a decade of slots is needed.
    strays = len(answers) - taken - skipped
    stray: set[float] = set()
    if strays and ats:
        stray.update(filter(partial(gt, ats[0]), answers))
        stray.update(filter(partial(lt, ats[-1]), answers))
        if len(stray) != strays:
            stray = answers.keys() - set(ats)
    elif strays:
        stray = set(answers)
    clock = _Clock(med, zones)
    candidates: Iterable[int] = ()
    if stray:
        if unscheduled:
            stray.add(None)
        candidates = compress(range(unanswered), map(stray.__contains__, scheduled))
    elif unscheduled:
        candidates = _indexes_of_none(scheduled)
    for i in candidates:
        taken_at = taken_ats[i]
        if record_kinds[i] == 2 or not t_start <= taken_at < t_end:
            continue
        regimen = clock.regimen(taken_at)
        if regimen is not None and regimen.schedule.as_needed:
            continue
        extra_total += 1
        extra_day = clock.day(taken_at).toordinal() - first_ordinal
        if 0 <= extra_day < n_days:
            d_extra[skew + extra_day] += 1

    # The window's days as columns; each figure over days is a pass in C over them.
    window_days = slice(skew, skew + n_days)
    t_col, sk_col, mi_col = d_taken[window_days], d_skipped[window_days], d_missed[window_days]
    pe_col, ex_col = d_pending[window_days], d_extra[window_days]
    due_col = list(map(add, map(add, t_col, sk_col), map(add, mi_col, pe_col)))
    days = DayStats(first_day, due_col, t_col, sk_col, mi_col, pe_col, ex_col)
    # Judged days (due slots, none pending); other days neither break nor extend runs, so
    # runs are found in the judged days alone: one mark each, 1 for every slot taken (a
    # streak day), 2 for no dose at all (a holiday day), 0 otherwise.
    # (Only a day near now can have a slot pending: with none, the due counts select.)
    judged = list(map(and_, map(truth, due_col), map(not_, pe_col))) if any(pe_col) else due_col
    judged_at = list(compress(range(n_days), judged))
    j_taken, j_extra = list(compress(t_col, judged)), list(compress(ex_col, judged))
    full = list(map(eq, j_taken, compress(due_col, judged)))
    if any(j_extra):
        dry = map(not_, map(or_, j_taken, j_extra))
        correct = sum(map(and_, full, map(not_, j_extra)))
    else:
        # No extra dose on a judged day: two passes fewer over the days.
        dry = map(not_, j_taken)
        correct = sum(full)
    marks = bytes(map(add, full, map(mul, dry, repeat(2))))
    judged_days = len(marks)
    longest = max(map(len, marks.replace(b"\x02", b"\x00").split(b"\x00")))
    streak = judged_days - len(marks.rstrip(b"\x01"))
    holidays = [
        Holiday(
            first_day + timedelta(days=judged_at[run.start()]),
            first_day + timedelta(days=judged_at[run.end() - 1]),
            run.end() - run.start(),
        )
        for run in re.finditer(b"\x02{%d,}" % max(holiday_days, 1), marks)
    ]

    due_total = taken + skipped + missed + pending
    settled = due_total - pending
    return MedicationSummary(
        medication=med.name,
        due=due_total,
        taken=taken,
        on_time=on_time,
        late=late,
        early=early,
        skipped=skipped,
        skipped_by_reason=dict(sorted(reasons.items())),
        missed=missed,
        pending=pending,
        extra=extra_total,
        taking_adherence=_percent(taken, settled),
        timing_adherence=_percent(on_time, settled),
        correct_days=correct,
        judged_days=judged_days,
        correct_dosing=_percent(correct, judged_days),
        holidays=tuple(holidays),
        current_streak=streak,
        longest_streak=longest,
        days=days,
    )


def _as_needed_summary(
    med: Medication,
    doses: DoseColumns,
    *,
    start: datetime,
    end: datetime,
    now: datetime,
    zones: ZoneTimeline,
) -> AsNeededSummary | None:
    """As-needed use over compact rows (reference: tests/adherence_reference.py)."""
    regimens = [
        r
        for r in med.regimens
        if r.schedule.as_needed and r.starts_at < end and (r.ends_at is None or r.ends_at > start)
    ]
    if not regimens:
        return None
    t_start, t_end = start.timestamp(), end.timestamp()
    clock = _Clock(med, zones)
    taken, kind = list(doses.taken), doses.kind
    chosen: list[float] = []
    limits: list[int | None] = []
    if clock.spans is not None:
        # Regimens one after another: each as-needed one's doses are a slice of the
        # records (in time order), picked in C: no slot named, not a skip.
        scheduled = doses.scheduled
        for lo, hi, regimen in clock.spans:
            if not regimen.schedule.as_needed:
                continue
            i = bisect_left(taken, max(lo, t_start))
            j = bisect_left(taken, min(hi, t_end))
            if i >= j:
                continue
            picked = list(
                compress(
                    taken[i:j],
                    map(
                        and_,
                        map(is_, scheduled[i:j], repeat(None)),
                        kind[i:j].translate(_NOT_SKIPPED_MASK),
                    ),
                )
            )
            chosen += picked
            limits += repeat(regimen.max_per_day, len(picked))
        indexes: Iterable[int] = ()
    else:
        indexes = _indexes_of_none(doses.scheduled)
    for i in indexes:  # as-needed doses answer no slot
        taken_at = taken[i]
        if kind[i] == 2 or not t_start <= taken_at < t_end:
            continue
        regimen = clock.regimen(taken_at)
        if regimen is None or not regimen.schedule.as_needed:
            continue
        chosen.append(taken_at)
        limits.append(regimen.max_per_day)
    # Local days in bulk (a decade is thousands of doses).
    days = _local_ordinals(chosen, zones)
    counts = Counter(days)
    if len(set(limits)) <= 1:
        # One maximum throughout: a day is above it when its count is.
        limit = limits[0] if limits else None
        above = set() if limit is None else {d for d, n in counts.items() if n > limit}
    else:
        # Each dose against the maximum of the regimen it was taken under.
        above = set()
        so_far: dict[int, int] = {}
        for day, limit in zip(days, limits, strict=True):
            so_far[day] = so_far.get(day, 0) + 1
            if limit is not None and so_far[day] > limit:
                above.add(day)
    per_day = {date.fromordinal(day): number for day, number in counts.items()}
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


def summarize(
    meds: Sequence[Medication],
    records: Sequence[DoseRecord] | DoseRows,
    *,
    start: datetime,
    end: datetime,
    now: datetime,
    zones: ZoneTimeline,
    on_time_window: timedelta = DEFAULT_ON_TIME_WINDOW,
    holiday_days: int = DEFAULT_HOLIDAY_DAYS,
) -> Summary:
    """Per medication and overall figures over [start, end), as seen at `now`.

    `records` are the window's DoseRecords, or the same as `DoseRows` (what the store
    reads for a long window, without an object per record).
    """
    start, end, now = start.astimezone(UTC), end.astimezone(UTC), now.astimezone(UTC)
    if isinstance(records, DoseRows):
        rows = records
    else:
        rows = DoseRows.from_records(records, on_time_window)
    classified = rows.on_time_window == on_time_window.total_seconds()
    scheduled = []
    as_needed = []
    for med in meds:
        mine = rows.by_medication.get(med.name, _NO_DOSES)
        if has_schedule_in(med, start, end):
            scheduled.append(
                _scheduled_summary(
                    med,
                    mine,
                    start=start,
                    end=end,
                    now=now,
                    zones=zones,
                    on_time_window=on_time_window,
                    holiday_days=holiday_days,
                    classified=classified,
                )
            )
        prn = _as_needed_summary(med, mine, start=start, end=end, now=now, zones=zones)
        if prn is not None:
            as_needed.append(prn)
    return Summary(
        start=start,
        end=end,
        now=now,
        on_time_window=on_time_window,
        holiday_days=holiday_days,
        threshold=CONVENTIONAL_THRESHOLD,
        medications=tuple(scheduled),
        as_needed=tuple(as_needed),
        overall=overall(scheduled),
    )


def overall(meds: Sequence[MedicationSummary]) -> Overall:
    """Counts added across medications: each weighs as much as its doses due."""
    due = sum(m.due for m in meds)
    taken = sum(m.taken for m in meds)
    on_time = sum(m.on_time for m in meds)
    pending = sum(m.pending for m in meds)
    correct = sum(m.correct_days for m in meds)
    judged_days = sum(m.judged_days for m in meds)
    return Overall(
        due=due,
        taken=taken,
        on_time=on_time,
        late=sum(m.late for m in meds),
        skipped=sum(m.skipped for m in meds),
        missed=sum(m.missed for m in meds),
        pending=pending,
        taking_adherence=_percent(taken, due - pending),
        timing_adherence=_percent(on_time, due - pending),
        correct_days=correct,
        judged_days=judged_days,
        correct_dosing=_percent(correct, judged_days),
    )
