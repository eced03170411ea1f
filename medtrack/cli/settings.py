"""`medtrack config ...`: settings such as the time zone and the on-time window."""

from __future__ import annotations

from typing import Annotated

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
    from medtrack.core.validate import setting

    return setting(key, value)


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
) -> None:
    """Change a setting; a new time zone applies from now on and leaves the past as it was.

    Example: medtrack config set timezone America/New_York
    """
    from medtrack.store import repo

    key = _check_key(key)
    value = _check_value(key, value)
    if key in SECRET_SETTINGS:
        from medtrack import ntfy

        path = ntfy.write_token(common.db_path(), value)
        common.say(f"{key} stored in {path} (readable by you only)")
        return
    with common.unit_of_work(write=True) as conn:
        now = common.now()
        repo.set_setting(conn, key, value, now=now)
        if key == "timezone":
            repo.add_zone_change(conn, value, effective_at=now, now=now)
    common.say(f"{key} = {value}" + (" (from now on)" if key == "timezone" else ""))
