"""What `medtrack remind` sends, decided from plain values: the slots in the window, the
slots already answered by a dose or skip, what was sent before, and now.

Rules (DESIGN.md, issue 7):
- a dose slot from `lookback` ago to `lead` ahead with no dose or skip recorded is
  reminded once, then again every `interval`, at most `limit` times in all;
- as-needed medications have no slots and are never reminded;
- a refill warning at most once per local day for a medication whose supply runs out
  within the warning threshold;
- a note once, on the day before a visit;
- a snoozed slot (`medtrack snooze`, or the Snooze button of an ntfy reminder) is not
  reminded until its snooze ends, then again as if new: reminders sent before the snooze
  do not count towards `limit`, and it stays in the window for `lookback` after the
  snooze ends however old the slot is;
- without `names` (ntfy, which has no end-to-end encryption) a message says "Dose due
  (08:00)" and never names a medication, a dose or a person.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, NamedTuple

from medtrack.core.schedule import ZoneTimeline
from medtrack.core.slots import local_day

if TYPE_CHECKING:  # kept off the start-up path of `remind`
    from medtrack.core.models import Medication
    from medtrack.core.slots import DoseRecord
    from medtrack.core.supply import SupplyStatus

DOSE, REFILL, VISIT = "dose", "refill", "visit"
# A postponed slot: kept in `reminders_sent` like the reminders it holds back.
SNOOZE = "snooze"
# Logged once a local day when `remind` has looked at supplies, warning or not: stock is
# counted over the whole history, too costly for every five-minute cron run.
REFILL_CHECK = "refill-check"


class ReminderPolicy(NamedTuple):
    lookback: timedelta = timedelta(hours=2)
    lead: timedelta = timedelta(0)
    interval: timedelta = timedelta(minutes=30)
    limit: int = 3
    refill_warning_days: int = 7


class DueSlot(NamedTuple):
    """One expected dose of one medication."""

    medication_id: int
    medication: str
    dose_text: str
    slot: datetime


class SentReminder(NamedTuple):
    """A row of `reminders_sent`."""

    kind: str
    medication_id: int | None
    scheduled_for: datetime | None
    sent_at: datetime


class Snooze(NamedTuple):
    """The reminders of one slot held back from `created` until `until`."""

    medication_id: int
    slot: datetime
    created: datetime
    until: datetime


class Visit(NamedTuple):
    at: datetime
    with_whom: str | None
    kind: str


class Reminder(NamedTuple):
    """One thing to tell the person now; (kind, medication_id, scheduled_for) is what
    `reminders_sent` remembers it by."""

    kind: str
    medication_id: int | None
    scheduled_for: datetime | None
    text: str


def window(now: datetime, policy: ReminderPolicy) -> tuple[datetime, datetime]:
    """The slots `remind` looks at: [now - lookback, now + lead], as [start, end)."""
    return now - policy.lookback, now + policy.lead + timedelta(seconds=1)


def slots_between(
    medications: Iterable[Medication],
    start: datetime,
    end: datetime,
    zones: ZoneTimeline,
    records: Sequence[DoseRecord] = (),
) -> list[DueSlot]:
    """Every scheduled slot in [start, end) that none of `records` answers (attachment as
    everywhere: `core.slots.judge`). A slot from `start` on opens at most ACCEPT_BEFORE
    before it, so `records` need only reach back that far from `start`."""
    from medtrack.core.slots import judge, slots_touching

    slots: list[DueSlot] = []
    for med in medications:
        if med.id is None:
            continue
        mine = [r for r in records if r.medication == med.name]
        for item in judge(med, slots_touching(med, start, end, zones), mine, end).slots:
            if start <= item.slot.at < end and item.record is None:
                slots.append(DueSlot(med.id, med.name, str(item.slot.regimen.dose), item.slot.at))
    slots.sort(key=lambda s: (s.slot, s.medication.lower()))
    return slots


def record_command(medication: str, global_options: Sequence[str] = ()) -> str:
    """The exact command that records the dose, e.g. ``medtrack --profile mum take sertraline``."""
    words = ["medtrack", *global_options, "take", medication]
    return " ".join(shlex.quote(word) for word in words)


def _clock(instant: datetime, zones: ZoneTimeline) -> str:
    return instant.astimezone(zones.zone_at(instant)).strftime("%H:%M")


def _ago(length: timedelta) -> str:
    minutes = int(length.total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    if hours and minutes:
        return f"{hours} h {minutes} min"
    return f"{hours} h" if hours else f"{minutes} min"


def dose_reminders(
    slots: Sequence[DueSlot],
    sent: Sequence[SentReminder],
    now: datetime,
    policy: ReminderPolicy,
    zones: ZoneTimeline,
    global_options: Sequence[str] = (),
    *,
    snoozes: Sequence[Snooze] = (),
    names: bool = True,
) -> list[Reminder]:
    """Dose reminders to send now: `slots` (those no dose or skip answers), each reminded
    fewer than `limit` times and not within `interval` of the last reminder, and not
    snoozed (see the module's rules)."""
    previous: dict[tuple[int | None, datetime | None], list[datetime]] = {}
    for row in sent:
        if row.kind == DOSE:
            previous.setdefault((row.medication_id, row.scheduled_for), []).append(row.sent_at)
    latest: dict[tuple[int, datetime], Snooze] = {}
    for snooze in snoozes:
        key = (snooze.medication_id, snooze.slot)
        if key not in latest or snooze.created >= latest[key].created:
            latest[key] = snooze
    reminders = []
    for due in slots:
        times = previous.get((due.medication_id, due.slot), [])
        snooze = latest.get((due.medication_id, due.slot))
        if snooze is not None:
            if now < snooze.until:
                continue
            if now - snooze.until > policy.lookback:
                continue
            times = [t for t in times if t >= snooze.created]
        elif due.slot < now - policy.lookback:
            continue  # read only because another slot's snooze widened the window
        if len(times) >= policy.limit:
            continue
        if times and now - max(times) < policy.interval:
            continue
        when = _clock(due.slot, zones)
        if due.slot > now:
            status = f"due at {when}"
        elif now - due.slot < timedelta(minutes=1):
            status = f"due now ({when})"
        else:
            status = f"overdue since {when} ({_ago(now - due.slot)} ago)"
        count = f" [reminder {len(times) + 1} of {policy.limit}]" if times else ""
        if not names:
            # No name, dose or command: ntfy carries it unencrypted (issue 21).
            word = "Dose due" if due.slot >= now - timedelta(minutes=1) else "Dose overdue"
            text = f"{word} ({when}){count}"
            reminders.append(Reminder(DOSE, due.medication_id, due.slot, text))
            continue
        text = (
            f"{due.medication} {due.dose_text} {status}{count}; when taken: "
            f"{record_command(due.medication, global_options)}"
        )
        reminders.append(Reminder(DOSE, due.medication_id, due.slot, text))
    return reminders


def refill_check_due(sent: Sequence[SentReminder], now: datetime, zones: ZoneTimeline) -> bool:
    """Whether today's supply check has yet to run (once a local day)."""
    today = local_day(now, zones)
    return not any(
        row.kind in (REFILL, REFILL_CHECK) and local_day(row.sent_at, zones) == today
        for row in sent
    )


def refill_reminders(
    supplies: Sequence[tuple[int, str, SupplyStatus | None]],
    sent: Sequence[SentReminder],
    now: datetime,
    policy: ReminderPolicy,
    zones: ZoneTimeline,
    global_options: Sequence[str] = (),
    *,
    names: bool = True,
) -> list[Reminder]:
    """A refill warning per medication whose supply runs out within the threshold, at
    most once per local day. `supplies` is (medication_id, name, status)."""
    if not supplies:
        return []
    from medtrack.core.supply import needs_refill_warning

    today = local_day(now, zones)
    warned_today = {
        row.medication_id
        for row in sent
        if row.kind == REFILL and local_day(row.sent_at, zones) == today
    }
    reminders = []
    for med_id, name, status in supplies:
        if med_id in warned_today or not needs_refill_warning(status, policy.refill_warning_days):
            continue
        assert status is not None and status.days_left is not None
        command = " ".join(
            shlex.quote(w) for w in ["medtrack", *global_options, "med", "refill", name]
        )
        left = f"{status.stock:g} left"
        if not names:
            text = (
                f"A medication's supply runs out on {status.runs_out}; see: medtrack med list"
                if status.days_left > 0
                else "A medication's supply has run out; see: medtrack med list"
            )
        elif status.days_left <= 0:
            text = f"{name}: supply has run out ({left}); after a refill: {command} --qty N"
        else:
            text = (
                f"{name}: supply runs out on {status.runs_out} ({left}, about "
                f"{status.days_left:.0f} days); after a refill: {command} --qty N"
            )
        reminders.append(Reminder(REFILL, med_id, None, text))
    return reminders


def visit_reminders(
    visits: Sequence[Visit],
    sent: Sequence[SentReminder],
    now: datetime,
    zones: ZoneTimeline,
    *,
    names: bool = True,
) -> list[Reminder]:
    """A note, once, on the local day before each visit."""
    tomorrow = local_day(now, zones) + timedelta(days=1)
    noted = {row.scheduled_for for row in sent if row.kind == VISIT}
    reminders = []
    for visit in visits:
        if visit.at in noted or local_day(visit.at, zones) != tomorrow:
            continue
        who = f" with {visit.with_whom}" if visit.with_whom and names else ""
        kind = f"{visit.kind} visit" if names else "a visit"
        text = f"Tomorrow at {_clock(visit.at, zones)}: {kind}{who}."
        reminders.append(Reminder(VISIT, None, visit.at.astimezone(UTC), text))
    return reminders


def sent_log_since(now: datetime, policy: ReminderPolicy) -> datetime:
    """How far back `remind` must read `reminders_sent`: every reminder of a slot still in
    the window, and today's refill and visit notes."""
    return now - max(policy.lookback + policy.lead, timedelta(days=2))
