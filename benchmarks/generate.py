"""Write a realistic synthetic decade of history into a medtrack database.

    python benchmarks/generate.py --db /tmp/decade.db [--years 10] [--seed 1]

Twelve medications come and go over the years (once, twice, three and four times daily,
every 2 days, weekly, every 4 weeks, as needed), doses change every few months,
about 85% of due doses are taken (with realistic skip reasons for some of the rest),
a symptom or two a day, weekly PHQ-9 and GAD-7, side effects, monthly visits and
refills. Deterministic for a seed. Slots come from medtrack's own schedule
expansion; rows go in through sqlite-utils' bulk inserts.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from medtrack.core.questionnaires import GAD7, PHQ9, band_for
from medtrack.core.schedule import ZoneTimeline, expand, parse_schedule, times_text
from medtrack.core.supply import doses_per_day
from medtrack.core.timeparse import to_utc_text
from medtrack.store.db import connect

ZONE = "Europe/Berlin"

# name, schedule, dose amount, unit, purpose, start offset (fraction of period), kind
MEDICATIONS = [
    ("sertraline", "daily 08:00", 50, "mg", "depression", 0.0, "rx"),
    ("lamotrigine", "daily 08:00,20:00", 25, "mg", "mood stabiliser", 0.0, "rx"),
    ("quetiapine", "daily 08:00,14:00,21:30", 25, "mg", "sleep, mood", 0.0, "rx"),
    ("lithium", "daily 08:00,12:00,16:00,20:00", 300, "mg", "bipolar disorder", 0.0, "rx"),
    ("levodopa", "every 2h from 07:00", 100, "mg", "parkinsonism", 0.0, "rx"),
    ("metformin", "daily 07:30,13:00,19:30", 500, "mg", "weight, glucose", 0.0, "rx"),
    (
        "pancrelipase",
        "daily 07:00,10:00,13:00,16:00,19:00,22:00",
        1,
        "capsule",
        "digestion",
        0.0,
        "rx",
    ),
    (
        "omega 3",
        "daily 07:00,09:30,12:30,15:00,18:00,21:00",
        1,
        "capsule",
        "supplement",
        0.0,
        "supplement",
    ),
    ("vitamin d", "every 2 days 09:00", 1000, "IU", "deficiency", 0.0, "supplement"),
    ("methotrexate", "weekly sun 10:00", 10, "mg", "psoriasis", 0.2, "rx"),
    ("paliperidone", "every 4 weeks mon 10:00", 156, "mg", "psychosis", 0.3, "rx"),
    ("lorazepam", "as needed", 0.5, "mg", "panic", 0.0, "rx"),
]
# Skip reasons with how often they come up, roughly as people report them.
SKIP_REASONS = {
    "forgot": 5,
    "side-effects": 3,
    "ran-out": 2,
    "away": 2,
    "asleep": 2,
    "felt-better": 1,
    "intentional": 1,
    "cost": 1,
    "other": 1,
}


def iso(value: datetime) -> str:
    return to_utc_text(value)


def generate(path: Path, years: int, seed: int, now: datetime) -> dict[str, int]:
    rng = random.Random(seed)
    zones = ZoneTimeline(ZONE)
    conn = connect(path)  # migrates through medtrack's own store
    import sqlite_utils

    db = sqlite_utils.Database(conn)
    start = now - timedelta(days=365 * years)
    recorded = iso(now)
    counts: dict[str, int] = {}

    db.execute("BEGIN IMMEDIATE")
    db["zone_changes"].insert(
        {"zone": ZONE, "effective_at": "1970-01-01T00:00:00Z", "recorded_at": recorded}
    )
    doses: list[dict] = []
    regimens: list[dict] = []
    refills: list[dict] = []
    reg_id = 0
    for med_id, (name, sched, amount, unit, purpose, offset, kind) in enumerate(
        MEDICATIONS, start=1
    ):
        med_start = start + timedelta(days=int(offset * 365 * years))
        # Some medications stop for good a year or two before the end.
        stopped = None
        if med_id == 10:
            stopped = now - timedelta(days=rng.randint(200, 700))
        db["medications"].insert(
            {
                "id": med_id,
                "name": name,
                "kind": kind,
                "purpose": purpose,
                "prescriber": rng.choice(["Dr Okafor", "Dr Lindqvist", None]),
                "controlled": int(name == "lorazepam"),
                "created_at": iso(med_start),
                "stopped_at": None if stopped is None else iso(stopped),
                "stop_reason": None if stopped is None else "no longer needed",
            }
        )
        schedule = parse_schedule(sched)
        # Regimens: a dose change every few months.
        cursor = med_start
        end_of_med = stopped or now
        dose_amount = amount
        while cursor < end_of_med:
            reg_id += 1
            next_change = cursor + timedelta(days=rng.randint(60, 150))
            reg_end = min(next_change, end_of_med)
            is_last = next_change >= end_of_med and stopped is None
            regimens.append(
                {
                    "id": reg_id,
                    "medication_id": med_id,
                    "starts_at": iso(cursor),
                    "ends_at": None if is_last else iso(reg_end),
                    "dose_amount": dose_amount,
                    "dose_unit": unit,
                    "schedule_rrule": schedule.rrule,
                    "schedule_times": times_text(schedule.times) or None,
                    "as_needed": int(schedule.as_needed),
                    "max_per_day": 2 if schedule.as_needed else None,
                    "min_interval_minutes": 360 if schedule.as_needed else None,
                    "units_per_dose": 1,
                    "reason": None if cursor == med_start else "dose adjusted",
                    "created_at": iso(cursor),
                }
            )
            if schedule.as_needed:
                day = cursor
                while day < reg_end:
                    for _ in range(rng.choice([0, 1, 1, 2, 2, 3])):
                        taken = day + timedelta(hours=rng.uniform(8, 22))
                        if taken < reg_end:
                            doses.append(_dose(med_id, reg_id, None, taken, dose_amount, unit))
                    day += timedelta(days=1)
            else:
                anchor = cursor.astimezone(zones.zone_at(cursor)).date()
                for slot in expand(schedule, anchor=anchor, start=cursor, end=reg_end, zones=zones):
                    if slot > now:
                        break
                    roll = rng.random()
                    if roll < 0.85:
                        taken = slot + timedelta(minutes=rng.gauss(10, 35))
                        taken = min(taken, now)
                        doses.append(_dose(med_id, reg_id, slot, taken, dose_amount, unit))
                    elif roll < 0.93:
                        reason = rng.choices(
                            list(SKIP_REASONS), weights=list(SKIP_REASONS.values())
                        )[0]
                        row = _dose(med_id, reg_id, slot, slot, dose_amount, unit)
                        row.update(status="skipped", skip_reason=reason)
                        doses.append(row)
            # Titrations go both ways but stay positive.
            dose_amount = amount * rng.choice([0.5, 1, 1, 1.5, 2])
            cursor = reg_end
        # Monthly refills.
        day = med_start
        while day < end_of_med:
            refills.append(
                {
                    "medication_id": med_id,
                    "quantity": round(30 * max(1.0, doses_per_day(schedule))),
                    "at": iso(day),
                    "recorded_at": iso(day),
                }
            )
            day += timedelta(days=rng.randint(26, 32))
    db["regimens"].insert_all(regimens, batch_size=1000)
    db["doses"].insert_all(doses, batch_size=5000)
    db["refills"].insert_all(refills, batch_size=1000)
    counts.update(regimens=len(regimens), doses=len(doses), refills=len(refills))

    symptoms, checkins, side_effects, visits, notes = [], [], [], [], []
    day = start
    week = 0
    while day < now:
        local_day = day.astimezone(zones.zone_at(day))
        for name in ("mood", "anxiety", "sleep")[: rng.choice([1, 2, 2, 3])]:
            at = day + timedelta(hours=rng.uniform(19, 22))
            if at >= now:
                continue
            if name == "sleep":
                value, unit = round(rng.gauss(7, 1.2), 1), "h"
            else:
                value, unit = float(max(0, min(10, round(rng.gauss(5, 2))))), None
            symptoms.append(
                {
                    "name": name,
                    "value": max(value, 0),
                    "unit": unit,
                    "at": iso(at),
                    "zone": ZONE,
                    "recorded_at": iso(at),
                }
            )
        if local_day.weekday() == 6:
            week += 1
            for questionnaire, size in ((PHQ9, 9), (GAD7, 7)):
                answers = [rng.choice([0, 0, 1, 1, 2, 3]) for _ in range(size)]
                if questionnaire is PHQ9:
                    answers[8] = 1 if rng.random() < 0.01 else 0
                total = sum(answers)
                checkins.append(
                    {
                        "questionnaire": questionnaire.key,
                        "answers": json.dumps(answers),
                        "total": total,
                        "band": band_for(questionnaire, total),
                        "flagged": int(questionnaire is PHQ9 and answers[8] > 0),
                        "at": iso(day + timedelta(hours=10)),
                        "zone": ZONE,
                        "recorded_at": iso(day + timedelta(hours=10)),
                    }
                )
        if local_day.day == 15:
            visits.append(
                {
                    "at": iso(day + timedelta(hours=10)),
                    "with_whom": "Dr Okafor",
                    "kind": "prescriber",
                    "zone": ZONE,
                    "recorded_at": iso(day),
                }
            )
        if rng.random() < 0.01:
            started = day + timedelta(hours=12)
            resolved = started + timedelta(days=rng.randint(3, 40))
            side_effects.append(
                {
                    "name": rng.choice(
                        ["nausea", "dizziness", "headache", "tremor", "weight gain"]
                    ),
                    "medication_id": rng.randint(1, len(MEDICATIONS)),
                    "severity": rng.choice(["mild", "mild", "moderate", "severe"]),
                    "started_at": iso(started),
                    "resolved_at": iso(resolved) if resolved < now else None,
                    "action": "waited it out" if resolved < now else None,
                    "zone": ZONE,
                    "recorded_at": iso(started),
                }
            )
        if rng.random() < 0.03:
            notes.append(
                {
                    "text": "Question about timing of doses",
                    "ask": 1,
                    "at": iso(day),
                    "zone": ZONE,
                    "recorded_at": iso(day),
                }
            )
        day += timedelta(days=1)
    for table, rows in (
        ("symptoms", symptoms),
        ("checkins", checkins),
        ("side_effects", side_effects),
        ("visits", visits),
        ("notes", notes),
    ):
        db[table].insert_all(rows, batch_size=2000)
        counts[table] = len(rows)
    db.execute("COMMIT")
    conn.execute("PRAGMA optimize")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return counts


def _dose(
    med_id: int, reg_id: int, slot: datetime | None, taken: datetime, amount: float, unit: str
) -> dict:
    return {
        "medication_id": med_id,
        "regimen_id": reg_id,
        "scheduled_for": None if slot is None else iso(slot),
        "taken_at": iso(taken),
        "status": "taken",
        "amount": amount,
        "unit": unit,
        "skip_reason": None,
        "note": None,
        "zone": ZONE,
        "recorded_at": iso(taken),
        "source": "generated",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, type=Path)
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--now", default=None, help="end of the history (ISO, default: now, whole minutes)"
    )
    args = parser.parse_args(argv)
    if args.db.exists():
        print(f"{args.db} exists; give a new path", file=sys.stderr)
        return 1
    now = (
        datetime.fromisoformat(args.now).astimezone(UTC)
        if args.now
        else datetime.now(UTC).replace(second=0, microsecond=0)
    )
    began = time.perf_counter()
    counts = generate(args.db, args.years, args.seed, now)
    elapsed = time.perf_counter() - began
    size = args.db.stat().st_size / 1e6
    summary = ", ".join(f"{k} {v:,}" for k, v in counts.items())
    print(f"wrote {args.db} ({size:.1f} MB) in {elapsed:.1f} s: {summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
