"""`medtrack remind` (run from cron) and `medtrack cron install|show|remove`.

`remind` is on the start-up budget: typer and the standard library at import time,
sqlite3 and dateutil when it runs, never rich, sqlite_utils (except to create a new
file) or apprise (except for an `apprise:` target).
"""

from __future__ import annotations

import os
import sys
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, NamedTuple

import typer

from medtrack.cli import common
from medtrack.errors import BadValue, MedtrackError

remind_app = typer.Typer(help="Remind of doses due and not recorded.", add_completion=False)
cron_app = typer.Typer(
    help="Run 'medtrack remind' on a timer: crontab line (or systemd user timer).",
    no_args_is_help=True,
)

NotifyOption = Annotated[
    str,
    typer.Option(
        "--notify",
        help='Where reminders go: stdout, desktop, "apprise:URL" or "exec:/path/to/program".',
    ),
]


def global_options(*, absolute: bool = False) -> list[str]:
    """The `--profile`/`--db` words that name the database in use, none for the default.

    Reminders quote them in the command to type; cron lines need them because cron's
    environment has no MEDTRACK_DB or MEDTRACK_PROFILE.
    """
    from medtrack.store.db import data_dir

    path = common.db_path()
    profile = common.OPTIONS.profile or os.environ.get("MEDTRACK_PROFILE") or "default"
    if path == data_dir() / "default.db" and profile == "default":
        return []
    if path == data_dir() / f"{profile}.db":
        return ["--profile", profile]
    return ["--db", str(path.expanduser().absolute()) if absolute else str(path)]


def _duration(text: str, option: str, *, zero_ok: bool = False) -> timedelta:
    from medtrack.core.timeparse import parse_duration

    if zero_ok and text.strip() in ("0", "0m", "0h", "0s"):
        return timedelta(0)
    try:
        return parse_duration(text)
    except MedtrackError as exc:
        raise BadValue(f"{option}: {exc.message}") from None


@remind_app.command("remind")
def remind(
    notify: NotifyOption = "stdout",
    lookback: Annotated[
        str, typer.Option("--lookback", help="How far back an unrecorded slot is reminded.")
    ] = "2h",
    lead: Annotated[
        str, typer.Option("--lead", help="How far ahead of a slot to remind (0: when due).")
    ] = "0",
    interval: Annotated[
        str, typer.Option("--interval", help="Remind an unrecorded slot again after this.")
    ] = "30m",
    limit: Annotated[
        int, typer.Option("--limit", help="Reminders per slot at most.", min=1, max=100)
    ] = 3,
    test: Annotated[
        bool,
        typer.Option(
            "--test", help="Send one test notification through --notify; say if it arrived."
        ),
    ] = False,
) -> None:
    """Remind of doses due or overdue and not recorded; prints nothing when there are none.

    Also warns, once a day, of supply running out within refill_warning_days, and notes a
    visit on the day before. Meant for cron: exit 0 whenever it ran. It never creates a
    database: a missing one is an error (cron mails it).

    Example: medtrack remind --notify desktop
    """
    from medtrack.core.reminders import ReminderPolicy
    from medtrack.errors import UsageError
    from medtrack.notify import parse_target
    from medtrack.store import reminders as store

    policy = ReminderPolicy(
        lookback=_duration(lookback, "--lookback"),
        lead=_duration(lead, "--lead", zero_ok=True),
        interval=_duration(interval, "--interval"),
        limit=limit,
    )
    store.require_database(common.db_path())
    try:
        target = parse_target(notify)
    except UsageError as exc:
        # A bad target must not lose what is due (issue 17): print it, say why, record
        # nothing (it was not delivered), and exit as the usage error it is.
        target, bad_target = None, exc
    if test:
        if target is None:
            raise bad_target
        _send_test(target)
        return
    with common.unit_of_work() as conn:
        now = common.now()
        due = _reminders_due(conn, now, policy, global_options())
    if target is None:
        for reminder in due.reminders:
            common.say(reminder.text)
        if due.reminders:
            raise UsageError(f"{bad_target.message}; the reminders above were printed instead")
        raise bad_target
    if due.reminders or due.check_supply:
        _claim_send_settle(target, due, now)


def _send_test(target: Any) -> None:
    """`remind --test`: one notification through the back end, and whether it arrived."""
    from medtrack.notify import NotifyFailed, send

    message = "medtrack test: if you read this, your reminders reach you."
    if target.kind == "stdout":
        common.say(message)
        common.warn(
            "medtrack: printed on stdout; under cron this reaches you only if cron mails "
            "you (MAILTO): consider --notify desktop, apprise:URL or exec:PROGRAM"
        )
        return
    try:
        send(target, message)
    except NotifyFailed as exc:
        raise MedtrackError(
            f"test notification NOT delivered through {target.label}: {exc}"
        ) from None
    common.say(f"Test notification delivered through {target.label} (database {common.db_path()}).")


class _Due(NamedTuple):
    reminders: list[Any]
    check_supply: bool
    sent: list[Any]
    local_day: int  # yyyymmdd, the day the once-a-day notes are claimed for


def _attempt(reminder: Any, due: _Due) -> int:
    """Which try of `reminder` this is, as `reminders_sent.attempt` (m005) claims it."""
    from medtrack.core.reminders import DOSE, REFILL

    if reminder.kind == DOSE:
        return 1 + sum(
            1
            for row in due.sent
            if row.kind == DOSE
            and row.medication_id == reminder.medication_id
            and row.scheduled_for == reminder.scheduled_for
        )
    return due.local_day if reminder.kind == REFILL else 1


def _claim_send_settle(target: Any, due: _Due, now: Any) -> None:
    """Claim each reminder (a run that started at the same time skips what it lost),
    send what was claimed with no transaction open, then record what was delivered."""
    from medtrack.core.reminders import REFILL, REFILL_CHECK
    from medtrack.notify import deliver
    from medtrack.store import reminders as store

    with common.unit_of_work(write=True) as conn:
        store.free_stale_claims(conn, now)
        claimed = []
        for reminder in due.reminders:
            row_id = store.claim(
                conn,
                kind=reminder.kind,
                medication_id=reminder.medication_id,
                scheduled_for=reminder.scheduled_for,
                attempt=_attempt(reminder, due),
                now=now,
            )
            if row_id is not None:
                claimed.append((reminder, row_id))
    # Sent outside any transaction: a slow back end must never hold the write lock a
    # `take` is waiting for.
    channels = deliver(target, [r.text for r, _ in claimed], out=common.say, err=common.warn)
    with common.unit_of_work(write=True) as conn:
        for (_reminder, row_id), channel in zip(claimed, channels, strict=True):
            store.settle(conn, row_id, channel, now)
        refill_failed = any(
            channel is None
            for (r, _), channel in zip(claimed, channels, strict=True)
            if r.kind == REFILL
        )
        if due.check_supply and not refill_failed:
            # Today's supply check is done once its warnings reached the person.
            store.claim(
                conn,
                kind=REFILL_CHECK,
                medication_id=None,
                scheduled_for=None,
                attempt=due.local_day,
                now=now,
                channel="none",
            )


def _reminders_due(conn: Any, now: Any, policy: Any, options: list[str]) -> _Due:
    """Read what the rules need (slots in the window only, answers, the sent log, supply
    once a day, visits in the next days) and let core decide what to send. Also says
    whether today's supply check ran."""
    from medtrack.core import reminders as core
    from medtrack.store import reminders as store
    from medtrack.store import repo

    zones = common.zones(conn)
    warning_days = repo.get_setting(conn, "refill_warning_days")
    if warning_days:
        policy = policy._replace(refill_warning_days=int(warning_days))
    start, end = core.window(now, policy)
    meds = repo.load_medications(conn, include_stopped=False)
    from medtrack.core.slots import ACCEPT_BEFORE
    from medtrack.store import doses

    ids = [m.id for m in meds if m.id is not None]
    records = doses.doses_between(conn, start - ACCEPT_BEFORE, now + timedelta(seconds=1), ids)
    slots = core.slots_between(meds, start, end, zones, records)
    sent = store.sent_since(conn, core.sent_log_since(now, policy))
    check_supply = core.refill_check_due(sent, now, zones)
    supplies = []
    if check_supply:
        # Supply is looked at once a local day: its modules stay off the other runs.
        from medtrack.cli.meds import supply_now
        from medtrack.store import supply as supply_store

        refills = supply_store.refills_by_medication(conn, [m.id for m in meds if m.id is not None])
        # Stock counts every past dose at its own regimen's size: the full history here.
        ids = [m.id for m in meds if m.id is not None and refills.get(m.id)]
        tracked = repo.load_medications(conn, ids=ids) if ids else []
        taken = supply_store.taken_by_medication(conn, ids, until=now) if ids else {}
        supplies = [
            (m.id, m.name, supply_now(conn, m, refills[m.id], taken[m.id], now, zones))
            for m in tracked
        ]
    visits = store.visits_between(conn, now, now + timedelta(days=3))
    reminders = [
        *core.dose_reminders(slots, sent, now, policy, zones, options),
        *core.refill_reminders(supplies, sent, now, policy, zones, options),
        *core.visit_reminders(visits, sent, now, zones),
    ]
    day = now.astimezone(zones.zone_at(now)).date()
    return _Due(reminders, check_supply, sent, day.year * 10000 + day.month * 100 + day.day)


# --- cron ------------------------------------------------------------------------------


def _medtrack_command() -> list[str]:
    """The absolute path of the running `medtrack`, for a line cron runs with a bare PATH."""
    import shutil

    argv0 = sys.argv[0] if sys.argv else ""
    if Path(argv0).name == "medtrack" and Path(argv0).exists():
        return [str(Path(argv0).absolute())]
    found = shutil.which("medtrack")
    if found:
        return [str(Path(found).absolute())]
    return [sys.executable, "-m", "medtrack"]


def _every_minutes(text: str) -> int:
    length = _duration(text, "--every")
    seconds = int(length.total_seconds())
    if seconds % 60:
        raise BadValue("--every takes whole minutes, e.g. 5m")
    from medtrack.core.crontab import schedule_field

    schedule_field(seconds // 60)  # refuses what cron can't run evenly
    return seconds // 60


def _target_key() -> str:
    from medtrack.core.crontab import target_key

    options = global_options(absolute=True)
    if options and options[0] == "--db":
        return target_key(None, options[1])
    return target_key(options[1] if options else None, None)


class _Scheduled(NamedTuple):
    """What a crontab line or systemd unit runs: the words, and the environment the
    back end needs there."""

    argv: list[str]
    env: dict[str, str]


def _scheduled_remind(notify: str | None) -> _Scheduled:
    """`medtrack --db ABSOLUTE [--profile NAME] remind [--notify TARGET]`, checked for the
    scheduler's bare environment: cron passes no XDG_DATA_HOME, MEDTRACK_DB or
    MEDTRACK_PROFILE, so the database is named by its absolute path (issue 18); a
    target that could not deliver from there is refused before anything is written."""
    from medtrack.core import crontab
    from medtrack.notify import NotifyFailed, scheduler_setup

    path = common.db_path().expanduser().absolute()
    crontab.check_words([str(path)], "the database path")
    env: dict[str, str] = {}
    extra: list[str] = []
    if notify is not None:
        try:
            setup = scheduler_setup(notify, os.environ)
        except NotifyFailed as exc:
            raise BadValue(f"--notify {notify}: {exc}; nothing was installed") from None
        env = setup.env
        if setup.notify != "stdout":
            extra = ["--notify", setup.notify]
    else:
        common.warn(
            "medtrack: without --notify, reminders are printed, which reach you only if "
            "cron mails you; check with: medtrack remind --test"
        )
    if not path.exists():
        common.warn(f"medtrack: no database at {path} yet; remind fails until you add a medication")
    profile = common.OPTIONS.profile or os.environ.get("MEDTRACK_PROFILE")
    from_profile = not (common.OPTIONS.db or os.environ.get("MEDTRACK_DB"))
    named = ["--profile", profile] if from_profile and profile and profile != "default" else []
    argv = [*_medtrack_command(), "--db", str(path), *named, "remind", *extra]
    crontab.check_words(argv)
    return _Scheduled(argv, env)


def _crontab() -> str:
    import shutil

    program = shutil.which("crontab")
    if program is None:
        raise MedtrackError(
            "'crontab' was not found on PATH: install cron (e.g. the cron or cronie package), "
            "or use a systemd user timer: medtrack cron install --systemd"
        )
    return program


def _run_crontab(args: list[str], text: str | None = None) -> Any:
    import subprocess

    try:
        return subprocess.run(
            [_crontab(), *args], input=text, capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise MedtrackError(f"can't run crontab {' '.join(args)}: {exc}") from None


def _read_crontab() -> str:
    result = _run_crontab(["-l"])
    if result.returncode != 0:
        # "no crontab for <user>" is an empty crontab, not an error.
        if "no crontab" in result.stderr.lower():
            return ""
        raise MedtrackError(f"crontab -l failed: {result.stderr.strip() or result.returncode}")
    return result.stdout


def _write_crontab(text: str) -> None:
    result = _run_crontab(["-"], text)
    if result.returncode != 0:
        raise MedtrackError(
            f"crontab refused the new table ({result.stderr.strip() or result.returncode}); "
            "your crontab was left as it was"
        )


def _systemd_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "systemd" / "user"


def _unit_name() -> str:
    key = _target_key()
    if key == "default":
        return "medtrack-remind"
    return "medtrack-remind-" + key.split("=", 1)[1]


def _write_private(path: Path, text: str) -> None:
    from medtrack.files import write_private

    write_private(path, text)  # never through a link; a new file 0600 (issue 17)


@cron_app.command("install")
def cron_install(
    every: Annotated[str, typer.Option("--every", help="How often: 5m, 10m, 15m, 1h...")] = "5m",
    notify: Annotated[
        str | None,
        typer.Option("--notify", help='Passed to remind: desktop, "apprise:URL", "exec:PATH".'),
    ] = None,
    systemd: Annotated[
        bool, typer.Option("--systemd", help="Write a systemd user timer instead of crontab.")
    ] = False,
) -> None:
    """Run `medtrack remind` every few minutes: one marked crontab line, others kept.

    Installing again replaces our line (for this profile or --db) and nothing else.

    Example: medtrack cron install --every 5m --notify desktop
    """
    from medtrack.core import crontab

    minutes = _every_minutes(every)
    scheduled = _scheduled_remind(notify)
    if systemd:
        _install_systemd(minutes, scheduled)
        return
    key = _target_key()
    line = crontab.cron_line(minutes, scheduled.argv, key, scheduled.env)
    before = _read_crontab()
    after = crontab.install(before, line, key)
    if after == before:
        common.say(f"Already installed: {line}")
        return
    _write_crontab(after)
    common.say(f"Installed in your crontab: {line}")


def _install_systemd(minutes: int, scheduled: _Scheduled) -> None:
    from medtrack.core import crontab
    from medtrack.notify import runtime_bus_socket

    env, specifiers = scheduled.env, False
    if "DBUS_SESSION_BUS_ADDRESS" in env and runtime_bus_socket(os.environ) is not None:
        # %t is the user manager's runtime folder: the bus of whichever session is on.
        env, specifiers = {"DBUS_SESSION_BUS_ADDRESS": "unix:path=%t/bus"}, True
    service = crontab.systemd_service(scheduled.argv, env, specifiers=specifiers)
    timer = crontab.systemd_timer(minutes)
    folder = _systemd_dir()
    name = _unit_name()
    from medtrack.files import make_private_folders

    make_private_folders(folder)  # ~/.config/systemd/user and its parents 0700, any umask
    _write_private(folder / f"{name}.service", service)
    _write_private(folder / f"{name}.timer", timer)
    common.say(f"Wrote {folder / name}.service and .timer. Enable the timer with:")
    common.say(f"  systemctl --user daemon-reload && systemctl --user enable --now {name}.timer")


@cron_app.command("show")
def cron_show() -> None:
    """Show medtrack's lines in your crontab (and systemd user timers, if written).

    Example: medtrack cron show
    """
    import shutil

    from medtrack.core import crontab

    units = sorted(_systemd_dir().glob("medtrack-remind*.timer"))
    for unit in units:
        common.say(f"systemd user timer: {unit}")
    if shutil.which("crontab") is None and units:
        return
    lines = crontab.find(_read_crontab())
    for line in lines:
        common.say(line)
    if not lines and not units:
        common.say("No medtrack line in your crontab. Add one with: medtrack cron install")


@cron_app.command("remove")
def cron_remove(
    systemd: Annotated[
        bool, typer.Option("--systemd", help="Remove the systemd user timer instead.")
    ] = False,
) -> None:
    """Remove the medtrack line for this profile (or --db) from your crontab; others stay.

    Example: medtrack cron remove
    """
    from medtrack.core import crontab

    if systemd:
        name = _unit_name()
        removed = []
        for suffix in ("timer", "service"):
            path = _systemd_dir() / f"{name}.{suffix}"
            if path.exists():
                path.unlink()
                removed.append(str(path))
        if not removed:
            common.say(f"No {name} timer was written; nothing removed.")
            return
        common.say(f"Removed {', '.join(removed)}. Stop the timer with:")
        common.say(f"  systemctl --user disable --now {name}.timer; systemctl --user daemon-reload")
        return
    key = _target_key()
    before = _read_crontab()
    if not crontab.find(before, key):
        common.say("No medtrack line for this profile in your crontab; nothing removed.")
        return
    _write_crontab(crontab.remove(before, key))
    common.say("Removed the medtrack line from your crontab; every other line was kept.")
