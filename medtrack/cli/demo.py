"""`medtrack demo`: a realistic, fictional patient in its own profile, to try everything
without touching real data."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer

from medtrack.cli import common
from medtrack.errors import BadValue, Conflict, UsageError

app = typer.Typer(add_completion=False)

DEMO_PROFILE = "demo"
OUTPUT_FOLDER = "medtrack-demo"
_PROFILE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def demo_path() -> Path:
    """`--db` if given, else the profile's file (the `demo` profile unless --profile names
    another). MEDTRACK_DB and MEDTRACK_PROFILE are ignored on purpose: they usually point
    at the person's own records, and the default profile is refused outright."""
    from medtrack.store.db import data_dir

    if common.OPTIONS.db:
        return Path(common.OPTIONS.db).expanduser()
    profile = common.OPTIONS.profile or DEMO_PROFILE
    if profile == "default":
        raise UsageError("the demo never writes to the default profile; use --profile demo")
    if not _PROFILE_RE.match(profile):
        raise UsageError(f"profile name '{profile}' must be letters, digits, '.', '_' or '-'")
    return data_dir() / f"{profile}.db"


def _remove_database(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


@app.command("demo")
def demo(
    days: Annotated[int, typer.Option("--days", help="How many days of history (14-3650).")] = 90,
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same patient.")] = 1,
) -> None:
    """Build a fictional sample patient in the 'demo' profile and show today, summary and report.

    Also writes medtrack-demo/visit.md, .html and .pdf in the current folder. Your own
    profile is never touched; running it again replaces the previous demo.

    Example: medtrack demo --days 90 --seed 7
    """
    from medtrack.cli import report_cmd
    from medtrack.cli.doses import today
    from medtrack.cli.reports import summary
    from medtrack.core.demo import MAX_DAYS, MIN_DAYS, generate
    from medtrack.files import check_target, output_folder
    from medtrack.store import demo as demo_store

    if not MIN_DAYS <= days <= MAX_DAYS:
        raise BadValue(f"--days must be from {MIN_DAYS} to {MAX_DAYS}")
    path = demo_path()
    if path.exists() and not demo_store.is_replaceable(path):
        raise Conflict(
            f"{path} holds records that are not a medtrack demo; the demo leaves it alone. "
            "Use another --db or --profile"
        )
    # Checked (and made, 0700) before anything is written: a folder that is a link, not
    # yours, or open to others is refused, and the demo profile is left as it was.
    folder = output_folder(Path(OUTPUT_FOLDER))
    targets = {fmt: folder / f"visit.{fmt}" for fmt in ("md", "html", "pdf")}
    for target in targets.values():
        check_target(target)
    if path.exists():
        _remove_database(path)
    common.OPTIONS.db = str(path)
    with common.unit_of_work(write=True) as conn:
        now = common.now()
        zone = common.zones(conn).zone_at(now).key
        patient = generate(seed=seed, now=now, zone=zone, days=days)
        demo_store.write_patient(conn, patient, seed=seed, zone=zone, now=now)
    common.say(
        f"Demo patient '{patient.name}' written to {path} ({days} days, seed {seed}). "
        "Everything in it is fictional."
    )
    common.say(f"Try: medtrack --db {path} today")
    common.say("")
    today(as_json=False)
    common.say("")
    summary(days=None, since=None, until=None, med=None, as_json=False)
    common.say("")
    visit_report = report_cmd.load_report()
    common.say(str(report_cmd.render(visit_report, "terminal")).removesuffix("\n"))
    written = []
    for fmt, target in targets.items():
        report_cmd.write_private(target, report_cmd.render(visit_report, fmt))
        written.append(str(target))
    common.say("")
    common.say(f"Wrote {', '.join(written)}.")
