"""`medtrack config ...`: settings such as the time zone and the on-time window."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from medtrack.cli import common
from medtrack.errors import BadValue

app = typer.Typer(
    help="Settings: time zone, on-time window, your name.",
    no_args_is_help=True,
    add_completion=False,
)

# key -> (default, help); the default of timezone is the machine's zone.
SETTINGS: dict[str, tuple[str | None, str]] = {
    "timezone": (None, "IANA zone schedules are read in; a change applies from now on"),
    "on_time_window": ("60", "minutes either side of a slot that count as on time"),
    "drug_holiday_days": ("3", "consecutive scheduled days with no dose that make a holiday"),
    "name": (None, "your name, printed on reports"),
    "refill_warning_days": ("7", "warn when supply runs out within this many days"),
    "notify": (None, 'where remind sends reminders when --notify is not given, e.g. "ntfy:URL"'),
    "ntfy_token": (None, "ntfy access token; kept in a file of its own, 0600, never shown"),
    "weight_unit": (None, "kg or lb: weights are shown (and charted) in it, converted"),
    "height": (None, "your height in cm, for BMI beside weight in the report"),
    "symptom_better": (
        None,
        "which way is better per symptom, e.g. 'sleep=higher,appetite=lower' "
        "(defaults: mood higher, anxiety lower...)",
    ),
    "crisis_line": (
        None,
        "crisis line shown after a PHQ-9 item 9 above 0 (default: by the zone's country)",
    ),
}
# Never stored in the database (so never in an export or a backup): see medtrack.ntfy.
SECRET_SETTINGS = ("ntfy_token",)


def _check_key(key: str) -> str:
    key = key.replace("-", "_")
    if key not in SETTINGS:
        raise BadValue(f"unknown setting '{key}'; known: {', '.join(SETTINGS)}")
    return key


def _check_value(key: str, value: str) -> str:
    if key == "notify":
        from medtrack.errors import UsageError
        from medtrack.notify import parse_target

        try:
            parse_target(value)
        except UsageError as exc:
            raise BadValue(exc.message.replace("--notify ", "notify ", 1)) from None
        return value.strip()
    if key == "ntfy_token":
        if value == "-":
            import sys

            value = sys.stdin.readline()
        value = value.strip()
        if not value or any(c.isspace() or not c.isprintable() for c in value):
            raise BadValue("ntfy_token takes one word, e.g. tk_... (or - to read it from stdin)")
        return value
    if key == "weight_unit":
        from medtrack.core.health import check_weight_unit

        return check_weight_unit(value)
    from medtrack.core import validate

    if key == "height":
        try:
            number = float(value)
        except ValueError:
            number = 0.0
        if not 50 <= number <= 250:
            raise BadValue("height takes a number of centimetres from 50 to 250, e.g. 172")
        return value.strip()
    if key == "symptom_better":
        from medtrack.core.report import parse_better

        try:
            parse_better(value)
        except ValueError as error:
            raise BadValue(f"symptom_better: {error}") from None
        return value
    if key == "crisis_line":
        return validate.text(value, "crisis line", required=True, max_length=200) or value
    return validate.setting(key, value)


@app.command("get")
def config_get(
    key: Annotated[
        str | None,
        typer.Argument(
            help="Setting name; all when left out.", autocompletion=common.complete_setting
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show one setting or all of them.

    Example: medtrack config get timezone
    """
    from medtrack.store import repo

    keys = [_check_key(key)] if key else list(SETTINGS)
    with common.unit_of_work() as conn:
        stored = repo.all_settings(conn)
        zone = common.zones(conn).zone_at(common.now()).key
    values = {}
    for k in keys:
        values[k] = zone if k == "timezone" else stored.get(k, SETTINGS[k][0])
        if k in SECRET_SETTINGS:
            values[k] = _secret_state()
    if as_json:
        common.emit_json(values)
    elif key:
        common.say("" if values[keys[0]] is None else str(values[keys[0]]))
    else:
        common.print_table(
            None,
            ["Setting", "Value", "Meaning"],
            [[k, values[k] or "", SETTINGS[k][1]] for k in keys],
        )


def _secret_state() -> str | None:
    from medtrack import ntfy

    path = ntfy.token_path(common.db_path())
    return f"(set, in {path})" if path.exists() else None


@app.command("set")
def config_set(
    key: Annotated[
        str, typer.Argument(help="Setting name.", autocompletion=common.complete_setting)
    ],
    value: Annotated[str, typer.Argument(help="New value.")],
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            help="timezone only: when you arrived, in the new zone's local time "
            "(default now), e.g. --since 07:30",
        ),
    ] = None,
) -> None:
    """Change a setting; a new time zone applies from now on (or from --since) and leaves
    the past as it was.

    Example: medtrack config set timezone America/New_York --since 13:10
    """
    from medtrack.store import repo

    key = _check_key(key)
    value = _check_value(key, value)
    if since is not None and key != "timezone":
        raise BadValue("--since applies only to timezone")
    if key in SECRET_SETTINGS:
        from medtrack import ntfy

        path = ntfy.write_token(common.db_path(), value)
        common.say(f"{key} stored in {path} (readable by you only)")
        return
    with common.unit_of_work(write=True) as conn:
        now = common.now()
        repo.set_setting(conn, key, value, now=now)
        if key == "timezone":
            before_zone = common.zones(conn).zone_at(now).key
            effective = _arrival(conn, value, since, now)
            _change_zone(conn, value, effective, now)
    if key != "timezone":
        common.say(f"{key} = {value}")
    elif since is None:
        common.say(f"{key} = {value} (from now on)")
        skipped = _skipped_walls(before_zone, value, now)
        if skipped:
            common.say(
                f"Clocks here skipped {skipped}: a dose planned in those hours moves "
                f"later by as much. If you arrived earlier, say when: "
                f"medtrack config set timezone {value} --since HH:MM"
            )
    else:
        from zoneinfo import ZoneInfo

        shown = effective.astimezone(ZoneInfo(value)).strftime("%Y-%m-%d %H:%M")
        common.say(f"{key} = {value} (from {shown})")


def _skipped_walls(old: str, new: str, now: datetime) -> str:
    """`02:31 to 08:31` when moving east from `old` to `new` now skips wall times, else ``."""
    from zoneinfo import ZoneInfo

    before, after = now.astimezone(ZoneInfo(old)), now.astimezone(ZoneInfo(new))
    if after.replace(tzinfo=None) <= before.replace(tzinfo=None):
        return ""
    return f"{before.strftime('%H:%M')} to {after.strftime('%H:%M')}"


def _arrival(conn: Any, zone: str, since: str | None, now: datetime) -> datetime:
    """The instant the new zone applies from: now, or `--since` read as a local time of
    the new zone (where one arrived), after the last change and not in the future."""
    from zoneinfo import ZoneInfo

    from medtrack.core.schedule import reread
    from medtrack.core.timeparse import parse_when
    from medtrack.store import repo

    if since is None:
        return now
    at = parse_when(since, now.astimezone(ZoneInfo(zone))).astimezone(UTC)
    changes = repo.zone_changes(conn)
    if len(changes) > 1 and changes[-1].zone == zone and at < changes[-1].effective_at:
        # Set on arrival without --since, now given: the arrival moves back, and what
        # was planned after it is read again from the zone before.
        old = common.zones(conn)
        repo.drop_last_zone_change(conn)
        back = common.zones(conn)
        repo.reread_planned(conn, at, lambda instant: reread(instant, old, back))
        changes = changes[:-1]
    last = changes[-1].effective_at if changes else None
    if last is not None and at <= last:
        raise BadValue(
            f"--since {since} is before the last change of zone "
            f"({last.astimezone(ZoneInfo(changes[-1].zone)).strftime('%Y-%m-%d %H:%M')} "
            f"{changes[-1].zone}); give a later time"
        )
    return at


def _change_zone(conn: Any, zone: str, effective: datetime, now: datetime) -> None:
    """Record that `zone` is in force from `effective` on. Times planned for later (a
    dose step `--from` a date, a planned stop, a visit) were typed as wall times: they
    are reread in the zone then in force, so a step planned at home for a day abroad
    starts at midnight there, as if it had been typed there."""
    from medtrack.core.schedule import reread
    from medtrack.store import repo

    before = common.zones(conn)
    repo.add_zone_change(conn, zone, effective_at=effective, now=now)
    after = common.zones(conn)
    repo.reread_planned(conn, effective, lambda instant: reread(instant, before, after))
