"""A realistic, fictional patient for `medtrack demo`, generated from a seed and `now`.

Pure: everything is placed relative to `now` in the given zone and drawn from
`random.Random(seed)`, so the same seed, `now` and zone give the same patient.

The story: an SSRI (sertraline) once daily, raised once; lamotrigine titrated up to a
twice-daily dose; lorazepam as needed; a vitamin D supplement. About 85% of doses taken,
with the barriers people report (forgetting, being away, asleep, side effects); a
headache after a titration step that resolves; PHQ-9 and GAD-7 falling over time; one
past visit and one planned.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, time, timedelta

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
from medtrack.core.questionnaires import GAD7, PHQ9, Questionnaire, score
from medtrack.core.schedule import ZoneTimeline
from medtrack.core.slots import DoseRecord, medication_slots

MIN_DAYS = 14
MAX_DAYS = 3650
PRESCRIBER = "Dr Amara Okafor"
PATIENT_NAME = "Sam Rivera (demo)"


@dataclass(frozen=True)
class DemoPatient:
    name: str
    medications: tuple[Medication, ...]
    doses: tuple[DoseRecord, ...]
    symptoms: tuple[SymptomEntry, ...]
    side_effects: tuple[SideEffect, ...]
    measurements: tuple[MeasurementEntry, ...]
    checkins: tuple[CheckinEntry, ...]
    notes: tuple[NoteEntry, ...]
    visits: tuple[Visit, ...]


def _daily(*clock: time) -> Schedule:
    return Schedule(rrule="FREQ=DAILY", times=tuple(clock))


def _steps(
    name: str, steps: list[tuple[int, Dose, Schedule, str | None]], at_day
) -> tuple[Regimen, ...]:
    """Regimens from (day offset, dose, schedule, reason) steps; a step before day 0 is
    dropped except the last one, which then starts on day 0 (the record's first day)."""
    started = [s for s in steps if s[0] <= 0]
    kept = ([(0, *started[-1][1:3], None)] if started else []) + [s for s in steps if s[0] > 0]
    regimens = []
    for index, (day, dose, schedule, reason) in enumerate(kept):
        ends = at_day(kept[index + 1][0], time()) if index + 1 < len(kept) else None
        regimens.append(
            Regimen(
                medication=name,
                dose=dose,
                schedule=schedule,
                starts_at=at_day(day, time()),
                ends_at=ends,
                reason=reason,
            )
        )
    return tuple(regimens)


def _answers(q: Questionnaire, total: int, rng: random.Random) -> tuple[int, ...]:
    """Item answers adding up to `total`; never a positive PHQ-9 item 9 (the demo patient
    has no thoughts of self-harm, and the demo should not raise that flag)."""
    items = len(q.items) - (1 if q.safety_item else 0)
    total = max(0, min(total, items * q.max_answer))
    answers = [0] * items
    for _ in range(total):
        choices = [i for i, a in enumerate(answers) if a < q.max_answer]
        answers[rng.choice(choices)] += 1
    if q.safety_item:
        answers.insert(q.safety_item - 1, 0)
    return tuple(answers)


def generate(*, seed: int, now: datetime, zone: str, days: int = 90) -> DemoPatient:
    """The demo patient's records over the `days` days up to `now`."""
    rng = random.Random(seed)
    zones = ZoneTimeline(zone)
    local_now = now.astimezone(zones.zone_at(now))
    first_day = local_now.date() - timedelta(days=days)

    def at_day(offset: int, clock: time) -> datetime:
        return zones.localize(datetime.combine(first_day + timedelta(days=offset), clock))

    def day_of(instant: datetime) -> int:
        return (instant.astimezone(zones.zone_at(instant)).date() - first_day).days

    def before_now(instant: datetime) -> datetime:
        return min(instant, now - timedelta(minutes=1))

    mg = "mg"
    sertraline = Medication(
        name="sertraline",
        kind="rx",
        form="tablet",
        purpose="depression",
        prescriber=PRESCRIBER,
        created_at=at_day(0, time(9)),
        regimens=_steps(
            "sertraline",
            [
                (0, Dose(50, mg), _daily(time(8)), None),
                (days - 45, Dose(100, mg), _daily(time(8)), "partial response at 50 mg"),
            ],
            at_day,
        ),
    )
    lamotrigine = Medication(
        name="lamotrigine",
        kind="rx",
        form="tablet",
        purpose="mood stabiliser",
        prescriber=PRESCRIBER,
        created_at=at_day(0, time(9)),
        regimens=_steps(
            "lamotrigine",
            [
                (days - 62, Dose(25, mg), _daily(time(8)), None),
                (days - 48, Dose(25, mg), _daily(time(8), time(20)), "titration step 2"),
                (days - 34, Dose(50, mg), _daily(time(8), time(20)), "titration step 3"),
                (days - 20, Dose(100, mg), _daily(time(8), time(20)), "target dose reached"),
            ],
            at_day,
        ),
    )
    lorazepam = Medication(
        name="lorazepam",
        kind="rx",
        form="tablet",
        purpose="anxiety",
        prescriber=PRESCRIBER,
        controlled=True,
        created_at=at_day(0, time(9)),
        regimens=(
            Regimen(
                medication="lorazepam",
                dose=Dose(0.5, mg),
                schedule=Schedule(rrule=None, as_needed=True),
                starts_at=at_day(0, time()),
                max_per_day=2,
                min_interval=timedelta(hours=6),
            ),
        ),
    )
    vitamin_d = Medication(
        name="vitamin D",
        kind="supplement",
        form="capsule",
        purpose="low vitamin D",
        prescriber="GP",
        created_at=at_day(0, time(9)),
        regimens=(
            Regimen(
                medication="vitamin D",
                dose=Dose(1000, "IU"),
                schedule=_daily(time(9)),
                starts_at=at_day(0, time()),
            ),
        ),
    )
    medications = (sertraline, lamotrigine, lorazepam, vitamin_d)

    # A weekend away without the pill box, and a headache after a titration step.
    away = set(range(max(days - 41, 1), max(days - 41, 1) + 3))
    headache_start = max(days - 32, 2)
    headache_end = headache_start + 13

    doses: list[DoseRecord] = []
    start = at_day(0, time())
    for med in (sertraline, lamotrigine, vitamin_d):
        for slot in medication_slots(med, start, now, zones):
            if now - slot.at < timedelta(hours=1):
                continue  # still due now: the person has not got to it yet
            day = day_of(slot.at)
            evening = slot.at.astimezone(zones.zone_at(slot.at)).hour >= 18
            weekend = (first_day + timedelta(days=day)).weekday() >= 5
            p = 0.80 if evening else (0.85 if med is vitamin_d else 0.93)
            p -= 0.06 if weekend else 0.0
            if med is lamotrigine and headache_start <= day < headache_end:
                p -= 0.12
            reason = None
            if day in away and rng.random() < 0.8:
                reason = "away"
            elif rng.random() >= p:
                if rng.random() < 0.45:
                    continue  # nothing recorded: the slot is simply missed
                if med is lamotrigine and headache_start <= day < headache_end:
                    reason = rng.choice(["side-effects", "side-effects", "forgot"])
                elif evening:
                    reason = rng.choice(["forgot", "forgot", "asleep", "asleep", "felt-better"])
                else:
                    reason = rng.choice(["forgot", "forgot", "forgot", "felt-better", "other"])
            regimen = slot.regimen
            if reason is not None:
                when = before_now(slot.at + timedelta(minutes=rng.randint(20, 240)))
                doses.append(
                    DoseRecord(
                        medication=med.name,
                        taken_at=when,
                        status="skipped",
                        skip_reason=reason,
                        zone=zone,
                        recorded_at=when,
                    )
                )
                continue
            # Mostly within minutes of the slot; now and then hours late.
            late = rng.random() < 0.08
            offset = rng.randint(75, 180) if late else int(rng.gauss(8, 18))
            taken = before_now(slot.at + timedelta(minutes=offset))
            doses.append(
                DoseRecord(
                    medication=med.name,
                    taken_at=taken,
                    status="taken",
                    amount=regimen.dose.amount,
                    unit=regimen.dose.unit,
                    zone=zone,
                    recorded_at=taken + timedelta(minutes=rng.randint(0, 3)),
                )
            )

    # Lorazepam as needed, less often as anxiety eases; one bad day above the maximum.
    over_day = max(days // 5, 1)
    for day in range(days + 1):
        progress = day / days
        times: list[time] = []
        if day == over_day:
            times = [time(9, 30), time(15, 45), time(22, 10)]
        elif rng.random() < 0.30 - 0.2 * progress:
            times = [time(rng.randint(13, 21), rng.choice([0, 15, 30, 45]))]
            if rng.random() < 0.15:
                times = [time(10, 20), time(rng.randint(17, 21), 40)]
        for clock in times:
            instant = at_day(day, clock)
            if instant < now:
                doses.append(
                    DoseRecord(
                        medication="lorazepam",
                        taken_at=instant,
                        status="taken",
                        amount=0.5,
                        unit=mg,
                        zone=zone,
                        recorded_at=instant + timedelta(minutes=2),
                    )
                )

    symptoms: list[SymptomEntry] = []
    for day in range(days + 1):
        progress = day / days
        at = at_day(day, time(21, rng.randint(0, 50)))
        if at >= now or rng.random() > 0.75:
            continue
        sleep_dip = 1.5 if headache_start <= day < headache_end else 0.0
        for name, value in (
            ("mood", 3.5 + 3.5 * progress),
            ("anxiety", 7.0 - 3.5 * progress),
            ("sleep quality", 4.5 + 2.5 * progress - sleep_dip),
        ):
            rating = max(0, min(10, round(value + rng.gauss(0, 0.9))))
            symptoms.append(SymptomEntry(name=name, value=float(rating), unit=None, at=at))

    side_effects = (
        SideEffect(
            name="dry mouth",
            medication="sertraline",
            severity="mild",
            started_at=at_day(3, time(12)),
            action="sugar-free gum, more water",
        ),
        SideEffect(
            name="headache",
            medication="lamotrigine",
            severity="moderate",
            started_at=at_day(headache_start, time(14)),
            resolved_at=at_day(headache_end, time(10)),
            action="paracetamol when needed; eased by itself",
        ),
    )

    checkins: list[CheckinEntry] = []
    for day in range(0, days + 1, 14):
        progress = day / days
        at = at_day(day, time(19, 30))
        if at >= now:
            continue
        for q, first, drop in ((PHQ9, 17, 10), (GAD7, 14, 8)):
            total = round(first - drop * progress + rng.gauss(0, 1))
            result = score(q, _answers(q, total, rng))
            checkins.append(
                CheckinEntry(
                    questionnaire=q.key,
                    answers=result.answers,
                    difficulty=None,
                    total=result.total,
                    band=result.band,
                    flagged=result.safety_flag,
                    at=at,
                )
            )

    measurements: list[MeasurementEntry] = []
    for day in range(1, days + 1, 7):
        at = at_day(day, time(7, 30))
        if at >= now:
            continue
        # A little weight gain over the months, as is common on these medications.
        kg = round(71.8 + 1.4 * day / days + rng.gauss(0, 0.3), 1)
        measurements.append(MeasurementEntry(Measurement("weight", kg, None, "kg"), at))
        if day % 14 == 1:
            systolic = round(118 + rng.gauss(0, 4))
            diastolic = round(76 + rng.gauss(0, 3))
            measurements.append(
                MeasurementEntry(
                    Measurement("bp", float(systolic), float(diastolic), "mmHg"),
                    at + timedelta(minutes=5),
                )
            )

    past_visit = at_day(max(days - 28, 1), time(10, 30))
    next_visit = zones.localize(
        datetime.combine(local_now.date() + timedelta(days=6), time(10, 30))
    )
    visits = (
        Visit(at=past_visit, with_whom=PRESCRIBER, kind="prescriber"),
        Visit(at=next_visit, with_whom=PRESCRIBER, kind="prescriber"),
    )
    notes = tuple(
        n
        for n in (
            NoteEntry(
                text="Should sertraline be taken with food?",
                ask=True,
                at=at_day(2, time(18)),
                done_at=past_visit,
            ),
            NoteEntry(
                text="Away at my sister's for three days; left the pill box at home.",
                ask=False,
                at=at_day(min(away), time(20)),
            ),
            NoteEntry(
                text="Could the evening lamotrigine move to 19:00? I often forget it after dinner.",
                ask=True,
                at=at_day(days - 10, time(21)),
            ),
            NoteEntry(
                text="Is an occasional glass of wine OK with lamotrigine and lorazepam?",
                ask=True,
                at=at_day(days - 3, time(20)),
            ),
        )
        if n.at < now
    )
    return DemoPatient(
        name=PATIENT_NAME,
        medications=medications,
        doses=tuple(sorted(doses, key=lambda d: (d.taken_at, d.medication))),
        symptoms=tuple(symptoms),
        side_effects=side_effects,
        measurements=tuple(measurements),
        checkins=tuple(checkins),
        notes=notes,
        visits=visits,
    )
