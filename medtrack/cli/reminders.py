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

snooze_app = typer.Typer(add_completion=False)

NotifyOption = Annotated[
    str | None,
    typer.Option(
        "--notify",
        help='Where reminders go: stdout, desktop, "ntfy:https://HOST/TOPIC", "apprise:URL" '
        'or "exec:/path/to/program" (default: the notify setting, else stdout).',
    ),
]
NamesOption = Annotated[
    bool,
    typer.Option(
        "--notify-names",
        help="Name the medication in ntfy messages (ntfy is not end-to-end encrypted).",
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
    notify: NotifyOption = None,
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
    notify_names: NamesOption = False,
) -> None:
    """Remind of doses due or overdue and not recorded; prints nothing when there are none.

    Also warns, once a day, of supply running out within refill_warning_days, and notes a
    visit on the day before. Meant for cron: exit 0 whenever it ran. It never creates a
    database: a missing one is an error (cron mails it).

    With an ntfy target it first reads the replies tapped on the phone (Taken, Skipped,
    Snooze) and records each, one line per reply recorded.

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
    if notify is None:
        notify = _notify_setting() or "stdout"
    try:
        target = parse_target(notify)
    except UsageError as exc:
        # A bad target must not lose what is due (issue 17): print it, say why, record
        # nothing (it was not delivered), and exit as the usage error it is.
        target, bad_target = None, exc
    if target is not None and target.kind == "ntfy":
        from medtrack import ntfy

        try:
            target = target._replace(token=ntfy.read_token(common.db_path()))
        except ntfy.NtfyFailed as exc:
            raise MedtrackError(str(exc)) from None
    if test:
        if target is None:
            raise bad_target
        _send_test(target)
        return
    names = notify_names or target is None or target.kind != "ntfy"
    notices = _read_replies(target, names) if target is not None and target.kind == "ntfy" else []
    with common.unit_of_work() as conn:
        now = common.now()
        due = _reminders_due(conn, now, policy, global_options(), names=names)
    if target is None:
        for reminder in due.reminders:
            common.say(reminder.text)
        if due.reminders:
            raise UsageError(f"{bad_target.message}; the reminders above were printed instead")
        raise bad_target
    if notices:
        from medtrack.notify import deliver

        # "The next reminder says so": a reply not recorded is told on the phone too.
        deliver(target, notices, out=common.say, err=common.warn)
    if due.reminders or due.check_supply:
        _claim_send_settle(target, due, now)


def _notify_setting() -> str | None:
    from medtrack.store import repo

    with common.unit_of_work() as conn:
        return repo.get_setting(conn, "notify")


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
    if target.kind == "ntfy":
        _send_ntfy_test(target, message)
        return
    try:
        send(target, message)
    except NotifyFailed as exc:
        raise MedtrackError(
            f"test notification NOT delivered through {target.label}: {exc}"
        ) from None
    common.say(f"Test notification delivered through {target.label} (database {common.db_path()}).")


def _send_ntfy_test(target: Any, message: str) -> None:
    """Publish the test message with a Reply button, then publish that button's own
    request to the reply topic and poll it back: the whole round trip a tap makes."""
    from medtrack import ntfy
    from medtrack.core.replies import TEST, parse_reply, probe_actions, reply_body

    topic = ntfy.parse_url(target.value)
    replies = topic.sibling(_reply_topic())
    actions = probe_actions(replies.url, ntfy.auth_headers(target.token))
    try:
        ntfy.publish(topic, message, actions=actions, token=target.token)
    except ntfy.NtfyFailed as exc:
        raise MedtrackError(
            f"test notification NOT delivered through {target.label}: {exc}"
        ) from None
    common.say(f"Test notification delivered through {target.label} (database {common.db_path()}).")
    try:
        before = ntfy.poll(replies, None, target.token)
        ntfy.post_body(replies, reply_body(TEST, None, None), target.token)
        after = ntfy.poll(replies, before[-1]["id"] if before else None, target.token)
    except (ntfy.NtfyFailed, KeyError, TypeError) as exc:
        raise MedtrackError(f"the reply topic could not be used: {exc}") from None
    arrived = [r for r in map(parse_reply, after) if r is not None and r.action == TEST]
    if not arrived:
        raise MedtrackError("a test reply was published but did not come back from the reply topic")
    common.say(
        f"A test reply came back from the reply topic (message {arrived[-1].message_id}): "
        "taps on Taken, Skipped and Snooze will reach medtrack. The test message's Reply "
        "button sends one more, which the next remind reads and keeps in history."
    )


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
    from medtrack.core.reminders import DOSE, REFILL, REFILL_CHECK
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
    actions = None
    if target.kind == "ntfy" and claimed:
        from medtrack import ntfy
        from medtrack.core.replies import dose_actions

        replies = ntfy.parse_url(target.value).sibling(_reply_topic())
        headers = ntfy.auth_headers(target.token)
        actions = [
            dose_actions(replies.url, r.medication_id, r.scheduled_for, headers)
            if r.kind == DOSE
            else None
            for r, _ in claimed
        ]
    channels = deliver(
        target, [r.text for r, _ in claimed], out=common.say, err=common.warn, actions=actions
    )
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


def _reminders_due(
    conn: Any, now: Any, policy: Any, options: list[str], *, names: bool = True
) -> _Due:
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
    # A snoozed slot may be older than the look-back: the window reaches back to it.
    earliest = store.earliest_snoozed_slot(conn, now - policy.lookback)
    if earliest is not None and earliest < start:
        start = earliest
    snoozes = store.snoozes_since(conn, start)
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
        *core.dose_reminders(
            slots, sent, now, policy, zones, options, snoozes=snoozes, names=names
        ),
        *core.refill_reminders(supplies, sent, now, policy, zones, options, names=names),
        *core.visit_reminders(visits, sent, now, zones, names=names),
    ]
    day = now.astimezone(zones.zone_at(now)).date()
    return _Due(reminders, check_supply, sent, day.year * 10000 + day.month * 100 + day.day)


# --- two-way reminders over ntfy, and snooze (issue 21) -----------------------------------


def _reply_topic() -> str:
    """The reply topic's name: a long random secret, made once and kept in settings (a
    topic is a password on ntfy: whoever knows it can publish to it)."""
    import secrets

    from medtrack.store import reminders as store
    from medtrack.store import repo

    with common.unit_of_work() as conn:
        topic = repo.get_setting(conn, store.REPLY_TOPIC)
    if topic:
        return topic
    with common.unit_of_work(write=True) as conn:
        # Read again inside the write lock: a concurrent run may have made it meanwhile.
        topic = repo.get_setting(conn, store.REPLY_TOPIC)
        if not topic:
            topic = "medtrack-" + secrets.token_urlsafe(33)  # 44 random characters, 264 bits
            repo.set_setting(conn, store.REPLY_TOPIC, topic, now=common.now())
    return topic


def _read_replies(target: Any, names: bool) -> list[str]:
    """Poll the reply topic since the last message read, record each new reply as `take`,
    `skip` or `snooze` would, keep each in history; print one line per reply recorded.
    Returns the notices to send (replies that could not be recorded).

    A server that can't be reached changes nothing: the replies stay in its cache (12 h
    by default) and the next run reads them; the reminders are still sent or printed.
    """
    from medtrack import ntfy
    from medtrack.core.replies import parse_reply
    from medtrack.store import reminders as store
    from medtrack.store import repo

    replies_topic = ntfy.parse_url(target.value).sibling(_reply_topic())
    with common.unit_of_work() as conn:
        since = repo.get_setting(conn, store.REPLY_CURSOR)
    try:
        messages = ntfy.poll(replies_topic, since, target.token)
    except ntfy.NtfyFailed as exc:
        common.warn(
            f"medtrack: can't read replies from {target.label} ({exc}); they are read at the "
            "next run (the server keeps them 12 h by default)"
        )
        return []
    parsed = [p for p in map(parse_reply, messages) if p is not None]
    if not parsed:
        return []
    lines: list[str] = []
    notices: list[str] = []
    with common.unit_of_work(write=True) as conn:
        now = common.now()
        # Inside the write lock: a run polling at the same moment records nothing twice.
        seen = store.replies_seen(conn, [p.message_id for p in parsed])
        for reply in parsed:
            if reply.message_id in seen:
                continue
            seen.add(reply.message_id)
            _apply_reply(conn, reply, now, lines, notices, names)
        store.set_internal(conn, store.REPLY_CURSOR, parsed[-1].message_id, now)
    for line in lines:
        common.say(line)
    return notices


def _apply_reply(
    conn: Any, reply: Any, now: Any, lines: list[str], notices: list[str], names: bool
) -> None:
    """Record one reply through the code of `take`, `skip` and `snooze`, and keep it in
    history with what it did. Stored text in it is never obeyed: only its ids are used."""
    from medtrack.cli import doses as dose_cli
    from medtrack.core.models import SKIP_REASONS
    from medtrack.core.replies import SKIPPED, SNOOZE, SNOOZE_LENGTH, TAKEN, NotAReply
    from medtrack.core.slots import slot_for
    from medtrack.core.timeparse import to_utc_text
    from medtrack.errors import MedtrackError
    from medtrack.store import doses as dose_store
    from medtrack.store import reminders as store
    from medtrack.store import repo

    if isinstance(reply, NotAReply):
        details = {"message_id": reply.message_id, "outcome": f"ignored: {reply.why}"}
        store.keep_reply(conn, details, None, now)
        return
    # The tap's moment is ntfy's time for the reply; never later than now.
    tapped = min(reply.tapped_at, now)
    details = {
        "message_id": reply.message_id,
        "action": reply.action,
        "medication_id": reply.medication_id,
        "slot": None if reply.slot is None else to_utc_text(reply.slot),
        "tapped_at": to_utc_text(tapped),
    }
    dose_id = None
    zones = common.zones(conn)
    meds = repo.load_medications(conn, ids=[reply.medication_id]) if reply.medication_id else []
    slot = slot_for(meds[0], reply.slot, zones) if meds and reply.slot else None
    clock = tapped.astimezone(zones.zone_at(tapped)).strftime("%H:%M")
    label = {TAKEN: "Taken", SKIPPED: "Skipped", SNOOZE: "Snooze"}.get(reply.action, "Reply")
    if reply.action not in (TAKEN, SKIPPED, SNOOZE):
        outcome = "test reply received"
    elif slot is None or slot.at != reply.slot:
        outcome = "ignored: no such dose"
    elif dose_store.doses_between(conn, slot.opens, slot.closes, [meds[0].id]):
        # Answered already (by a take, a skip, or this same tap read before): no change.
        outcome = "ignored: dose already answered"
    else:
        med = meds[0]
        slot_clock = slot.at.astimezone(zones.zone_at(slot.at)).strftime("%H:%M")
        try:
            if reply.action == SNOOZE:
                until = tapped + SNOOZE_LENGTH
                store.add_snooze(conn, med.id, slot.at, until, now)
                until_clock = until.astimezone(zones.zone_at(until)).strftime("%H:%M")
                outcome = f"snoozed until {to_utc_text(until)}"
                lines.append(
                    f"From ntfy: {med.name} {slot_clock} snoozed until {until_clock} "
                    f"(tapped at {clock})."
                )
            else:
                opened = dose_cli._open_slot(conn, med, tapped, zones)
                if opened is None or opened.at != slot.at:
                    raise MedtrackError(
                        f"at {clock} it would not answer the {slot_clock} dose: it would be "
                        "an extra dose"
                    )
                if reply.action == TAKEN:
                    said = dose_cli.record_take(conn, med, tapped, now=now, source="ntfy")
                else:
                    reason = reply.reason if reply.reason in SKIP_REASONS else "other"
                    said = [
                        dose_cli.record_skip(
                            conn, med, tapped, reason, None, now=now, source="ntfy"
                        )
                    ]
                dose_id = store.last_row_id(conn)
                outcome = "recorded"
                lines.extend(f"From ntfy (tapped at {clock}): {line}" for line in said)
        except MedtrackError as exc:
            outcome = f"not recorded: {exc.message}"
            lines.append(f"From ntfy: {label} tapped at {clock} NOT recorded: {exc.message}")
            what = f"{med.name} {slot_clock}" if names else f"the {slot_clock} dose"
            notices.append(
                f"Your {label} at {clock} for {what} was not recorded (it would be an extra "
                "dose, or the dose is no longer open). If you did take it: medtrack take "
                "--yes --at TIME at your computer."
            )
    details["outcome"] = outcome
    store.keep_reply(conn, details, dose_id, now)


@snooze_app.command("snooze")
def snooze(
    name: Annotated[str, typer.Argument(help="Medication name, any case.")],
    length: Annotated[
        str, typer.Argument(help="How long to hold its reminders back: 30m, 1h, ...")
    ] = "30m",
) -> None:
    """Hold back the reminders of a dose due now for a while (default 30 minutes).

    The dose stays open: `remind` reminds of it again when the snooze ends.

    Example: medtrack snooze sertraline 45m
    """
    from medtrack.cli.doses import _open_slot
    from medtrack.errors import Conflict
    from medtrack.store import reminders as store
    from medtrack.store import repo

    length_value = _duration(length, "LENGTH")
    if not timedelta(minutes=1) <= length_value <= timedelta(hours=12):
        raise BadValue("LENGTH: a snooze lasts from 1m to 12h")
    with common.unit_of_work(write=True) as conn:
        now = common.now()
        zones = common.zones(conn)
        med = repo.find_medication(conn, name)
        regimen = med.regimen_at(now)
        if regimen is None or regimen.schedule.as_needed or med.id is None:
            raise Conflict(f"{med.name} has no scheduled dose now: nothing to snooze")
        slot = _open_slot(conn, med, now, zones)
        if slot is None:
            raise Conflict(
                f"{med.name}: no open dose now to snooze (already answered, or none due)"
            )
        until = now + length_value
        store.add_snooze(conn, med.id, slot.at, until, now)
        store.keep_snooze(conn, med.id, slot.at, until, now)

    def local(at: Any) -> str:
        return at.astimezone(zones.zone_at(at)).strftime("%H:%M")

    common.say(f"{med.name} {local(slot.at)}: reminders held back until {local(until)}.")


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
    elif common.db_path().exists() and _notify_setting():
        # remind reads the notify setting itself at each run: the line needs no --notify.
        common.say(f"Reminders go where the notify setting says: {_notify_setting()}")
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
        typer.Option(
            "--notify",
            help='Passed to remind: desktop, "ntfy:https://HOST/TOPIC", "apprise:URL", '
            '"exec:PATH".',
        ),
    ] = None,
    notify_names: NamesOption = False,
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
    if notify_names:
        scheduled = scheduled._replace(argv=[*scheduled.argv, "--notify-names"])
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
