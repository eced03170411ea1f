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


def _check_key(key: str) -> str:
    key = key.replace("-", "_")
    if key not in SETTINGS:
        raise BadValue(f"unknown setting '{key}'; known: {', '.join(SETTINGS)}")
    return key


def _check_value(key: str, value: str) -> str:
    if key == "timezone":
        return common.check_zone(value)
    if key == "height":
        try:
            number = float(value)
        except ValueError:
            number = 0
        if not 50 <= number <= 250:
            raise BadValue("height takes a number of centimetres from 50 to 250, e.g. 172")
    if key == "symptom_better":
        from medtrack.core.report import parse_better

        try:
            parse_better(value)
        except ValueError as error:
            raise BadValue(f"symptom_better: {error}") from None
    numeric = key in ("on_time_window", "drug_holiday_days", "refill_warning_days")
    if numeric and (not value.isdigit() or not 1 <= int(value) <= 1440):
        raise BadValue(f"{key} takes a whole number from 1 to 1440")
    return value


@app.command("get")
def config_get(
    key: Annotated[str | None, typer.Argument(help="Setting name; all when left out.")] = None,
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


@app.command("set")
def config_set(
    key: Annotated[str, typer.Argument(help="Setting name.")],
    value: Annotated[str, typer.Argument(help="New value.")],
) -> None:
    """Change a setting; a new time zone applies from now on and leaves the past as it was.

    Example: medtrack config set timezone America/New_York
    """
    from medtrack.store import repo

    key = _check_key(key)
    value = _check_value(key, value)
    with common.unit_of_work(write=True) as conn:
        now = common.now()
        repo.set_setting(conn, key, value, now=now)
        if key == "timezone":
            repo.add_zone_change(conn, value, effective_at=now, now=now)
    common.say(f"{key} = {value}" + (" (from now on)" if key == "timezone" else ""))
