"""One validation of record values, for every way in: the CLI, `import`, `restore` and
`check` (DESIGN.md, "Input, output and hostile text").

Two layers, both pure (no I/O, no clock: `now` comes in):

- plain-value validators (`finite_number`, `whole_number`, `instant_in_span`,
  `zone_name`, `text`, ...) that the CLI calls where a value enters and that the row
  checks below reuse, so a value is refused with the same words whichever way it came;
- `RecordCheck`: the rules for a stored row of each table, fed one row at a time (an
  import streams a decade of doses) plus the few rules that span rows (regimens of one
  medication never overlap; a dose's regimen is its own medication's).

Every refusal is a `BadValue` (or the CLI parser's own error) whose message shows the
offending value through `shown`, escaped: no control character or newline reaches the
terminal from a message.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

from medtrack.core.models import KINDS, SKIP_REASONS
from medtrack.core.timeparse import EARLIEST_DAY, LATEST_DAY
from medtrack.errors import BadValue

# SQLite stores integers as signed 64-bit values; Python's are unbounded.
SQLITE_INT_MIN = -(2**63)
SQLITE_INT_MAX = 2**63 - 1

# The span of dates medtrack accepts: wide enough for any birth date or plan, narrow
# enough that every window, calendar and report around a date stays computable
# (datetime ends at year 9999; a window of days after 9999-12-31 overflows).
# The CLI reads these as local dates; a stored instant is UTC, so its span has a day of
# margin either side (no zone is more than 14 hours from UTC), and an end bound typed as
# 2199-12-31 (midnight after it) still fits.
# EARLIEST_DAY and LATEST_DAY themselves live in core.timeparse, which reads typed dates.
_EARLIEST = datetime(1899, 12, 31, tzinfo=UTC)
_LATEST = datetime(2200, 1, 3, tzinfo=UTC)
_EARLIEST_TEXT = "1899-12-31T00:00:00Z"
_LATEST_TEXT = "2200-01-03T00:00:00Z"

# An amount of medication (a dose, a refill, a stock): above this it is a typing slip,
# and figures derived from it (days of supply, mg a day) stay finite.
MAX_AMOUNT = 1_000_000.0
# The longest IANA zone name is 32 characters (America/Argentina/ComodRivadavia).
_ZONE_NAME_MAX = 64
# A dose, symptom or measurement being logged has already happened; a clock a minute
# ahead is tolerated, as `take --at` tolerates it.
FUTURE_TOLERANCE = timedelta(minutes=1)

_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")  # C0 and C1 controls but tab
_CONTROL_BUT_TAB_NEWLINE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
# What `text` refuses, in one search (the message is built only on a hit).
_UNSAFE_SINGLE_LINE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\ud800-\udfff]")
_UNSAFE_MULTILINE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
_ASCII_WHOLE = re.compile(r"[+-]?[0-9]+")

# --- showing a value in a message ------------------------------------------------------


def shown(value: Any, limit: int = 60) -> str:
    """`value` as a message quotes it: repr-like, so control characters, newlines and
    undecodable bytes are escapes, never raw; long text is cut, huge integers are named
    by their size (repr of a 5000-digit int raises on Python 3.11+)."""
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, int):
        if abs(value) >= 10**30:
            digits = int(value.bit_length() * math.log10(2)) + 1
            return f"a {digits}-digit number"
        return repr(value)
    if isinstance(value, str):
        if len(value) > limit:
            return repr(value[:limit])[:-1] + f"…{repr(value)[-1]} ({len(value)} characters)"
        return repr(value)
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "…"


# --- plain values ----------------------------------------------------------------------


def finite_number(
    value: Any, what: str, *, low: float | None = None, high: float | None = None
) -> float:
    """A real number (not bool, not nan or infinity) within [low, high]."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadValue(f"{what} must be a number; got {shown(value)}")
    if isinstance(value, int) and not SQLITE_INT_MIN <= value <= SQLITE_INT_MAX:
        raise BadValue(f"{what} is out of range; got {shown(value)}")
    number = float(value)
    if not math.isfinite(number):
        raise BadValue(f"{what} must be a finite number; got {shown(value)}")
    if (low is not None and number < low) or (high is not None and number > high):
        raise BadValue(f"{what} must be {_range_text(low, high)}; got {shown(value)}")
    return number


def amount(value: Any, what: str) -> float:
    """A positive amount of medication (dose, refill, stock): above zero, at most
    MAX_AMOUNT. The same words for `--supply`, `--qty` and an imported row."""
    number = finite_number(value, what)
    if number <= 0:
        raise BadValue(f"{what} must be more than zero; got {shown(value)}")
    if number > MAX_AMOUNT:
        raise BadValue(f"{what} must be at most {MAX_AMOUNT:,.0f}; got {shown(value)}")
    return number


def whole_number(value: Any, what: str, *, low: int | None = None, high: int | None = None) -> int:
    """An integer (not bool) within [low, high] and within SQLite's 64-bit range."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadValue(f"{what} must be a whole number; got {shown(value)}")
    low = SQLITE_INT_MIN if low is None else low
    high = SQLITE_INT_MAX if high is None else high
    if not low <= value <= high:
        raise BadValue(f"{what} must be {_range_text(low, high)}; got {shown(value)}")
    return value


# A window of days back (`--days`): a hundred years is every record anyone keeps.
MAX_WINDOW_DAYS = 36600


def window_days(days: int) -> int:
    """`--days N` of a listing or summary: 1 to MAX_WINDOW_DAYS."""
    return whole_number(days, "--days", low=1, high=MAX_WINDOW_DAYS)


def number_problem(typed: Any, value: Any) -> str | None:
    """Why a number read from the command line cannot be kept, or None: `typed` is the
    text as given, `value` what the parser made of it."""
    if isinstance(typed, str) and not typed.isascii():
        return f"{shown(typed)} is not a number written in ASCII digits"
    if isinstance(value, int) and not SQLITE_INT_MIN <= value <= SQLITE_INT_MAX:
        return f"{shown(value)} is out of range"
    if isinstance(value, float) and not math.isfinite(value):
        return f"{shown(typed)} is not a finite number"
    return None


def whole_number_text(text: str, what: str, *, low: int, high: int) -> int:
    """A whole number typed as ASCII digits (int() would read '٣' and choke on '²')."""
    cleaned = text.strip()
    if not _ASCII_WHOLE.fullmatch(cleaned) or len(cleaned) > 20:
        raise BadValue(f"{what} takes a whole number from {low} to {high}; got {shown(text)}")
    return whole_number(int(cleaned), what, low=low, high=high)


def _range_text(low: float | None, high: float | None) -> str:
    if low is not None and high is not None:
        if low in (SQLITE_INT_MIN,) and high in (SQLITE_INT_MAX,):
            return "within a 64-bit integer"
        return f"from {low:g} to {high:g}"
    if low is not None:
        return f"at least {low:g}"
    return f"at most {high:g}"


def instant_in_span(at: datetime, what: str) -> datetime:
    """An aware instant between EARLIEST_DAY and LATEST_DAY (UTC)."""
    if not _EARLIEST <= at < _LATEST:
        raise BadValue(
            f"{what} {at.date().isoformat()} is outside the dates medtrack keeps "
            f"({EARLIEST_DAY.year}-{LATEST_DAY.year})"
        )
    return at


def not_in_future(at: datetime, now: datetime, what: str) -> datetime:
    """A past instant (a minute of clock difference tolerated)."""
    if at > now + FUTURE_TOLERANCE:
        raise BadValue(f"{what} {at.isoformat().replace('+00:00', 'Z')} is in the future")
    return at


def zone_name(name: Any) -> str:
    """An IANA zone that exists here (ZoneInfo would raise OSError on a 300-character
    name and reads any file under the zone folder it is pointed at)."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    form = f"{shown(name)} is not an IANA time zone (e.g. Europe/Berlin, America/New_York)"
    if not isinstance(name, str) or not name or len(name) > _ZONE_NAME_MAX:
        raise BadValue(form)
    if _UNSAFE.search(name) or name.startswith("/") or ".." in name.split("/"):
        raise BadValue(form)
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise BadValue(form) from None
    return name


def text(
    value: Any,
    what: str,
    *,
    multiline: bool = False,
    required: bool = False,
    max_length: int | None = None,
) -> str | None:
    """Text as stored: a str of valid Unicode (no lone surrogate, which is how Python
    carries bytes that were not UTF-8), no control characters (tab and, where
    `multiline`, newline allowed), at most `max_length` characters. Blank is None, or
    refused when `required`. Returned as given (trimming is the caller's choice)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise BadValue(f"the {what} is empty")
        return None if value is None else value
    if not isinstance(value, str):
        raise BadValue(f"the {what} must be text; got {shown(value)}")
    if _SURROGATE.search(value):
        raise BadValue(f"the {what} is not valid UTF-8 text: {shown(value)}")
    control = (_CONTROL_BUT_TAB_NEWLINE if multiline else _CONTROL).search(value)
    if control:
        raise BadValue(
            f"the {what} contains the control character {shown(control.group())}: {shown(value)}"
        )
    if max_length is not None and len(value) > max_length:
        raise BadValue(f"the {what} is longer than {max_length} characters")
    return value


def argument(value: str) -> str:
    """A command-line argument: any text a person can type, newlines and tabs included
    (notes), but no other control character and nothing that was not UTF-8."""
    if _SURROGATE.search(value):
        raise BadValue(f"the argument {shown(value)} is not valid UTF-8 text")
    control = _CONTROL_BUT_TAB_NEWLINE.search(value)
    if control:
        raise BadValue(
            f"the argument {shown(value)} contains the control character {shown(control.group())}"
        )
    return value


# --- settings ----------------------------------------------------------------------------

SETTING_KEYS = ("timezone", "on_time_window", "drug_holiday_days", "name", "refill_warning_days")
_NUMERIC_SETTINGS = ("on_time_window", "drug_holiday_days", "refill_warning_days")


def setting(key: str, value: str) -> str:
    """A setting's value as stored (`config set`, an import, check)."""
    if key not in SETTING_KEYS:
        raise BadValue(f"unknown setting {shown(key)}; known: {', '.join(SETTING_KEYS)}")
    if key == "timezone":
        return zone_name(value)
    if key in _NUMERIC_SETTINGS:
        if not isinstance(value, str) or not _ASCII_WHOLE.fullmatch(value.strip()):
            raise BadValue(f"{key} takes a whole number from 1 to 1440; got {shown(value)}")
        whole_number_text(value, key, low=1, high=1440)
        return value.strip()
    return text(value, key, max_length=200) or value


# --- stored rows -------------------------------------------------------------------------

# Text columns that name or classify a record: the CLI collapses their whitespace, so a
# newline or tab there never came from medtrack. Free text (notes, purpose, an action
# taken, history's JSON) may hold newlines and tabs.
_SINGLE_LINE = frozenset(
    {"name", "kind", "unit", "dose_unit", "zone", "status", "skip_reason", "severity"}
    | {"questionnaire", "band", "key", "table_name", "channel", "source"}
)
_INSTANT_SPAN_EXEMPT = frozenset({"effective_at"})  # the automatic 1970 zone start


def _is_instant_column(name: str) -> bool:
    return name in ("at", "scheduled_for") or name.endswith("_at")


def _utc_text(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _stored_instant(value: str) -> datetime:
    # Shape already checked by the caller (core.transfer.is_utc_text, or the store).
    return datetime.fromisoformat(value[:-1]).replace(tzinfo=UTC)


def _flag(row: Mapping[str, Any], column: str) -> None:
    value = row.get(column)
    if value is not None and value not in (0, 1):
        raise BadValue(f"{column} must be 0 or 1; got {shown(value)}")


def _normalized(value: Any, normalize: Any) -> None:
    """A name as the CLI stores it: normalize() gives it back unchanged (the CLI's words
    when it refuses it)."""
    if not isinstance(value, str):
        raise BadValue(f"the name must be text; got {shown(value)}")
    if normalize(value) != value:
        raise BadValue(f"the name {shown(value)} is not written as stored")


def _after_start(row: Mapping[str, Any], start: str, end: str) -> None:
    if row.get(end) is not None and row.get(start) is not None and row[end] < row[start]:
        raise BadValue(f"{end} {row[end]} is before {start} {row[start]}")


class RecordCheck:
    """The rules for stored rows, one row at a time (`row`), then the rules across rows
    (`finish`). Each refusal is a BadValue in the CLI's words for that value; the caller
    names the row (an import's row number, a database's row id)."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        # Stored instants are fixed-width UTC text (YYYY-MM-DDTHH:MM:SSZ): they compare as
        # text, so a decade's 1.5 million values are checked without parsing one.
        self._future_text = _utc_text(now + FUTURE_TOLERANCE)
        self._zones: set[str] = set()
        self._instant_columns: dict[str, bool] = {}
        # medication id -> [(starts_at, ends_at, label)]
        self._plans: dict[Any, list[tuple[str, str | None, str]]] = {}
        self._regimen_medication: dict[Any, Any] = {}
        # doses that name a regimen: (regimen id, medication id, label)
        self._pending: list[tuple[Any, Any, str]] = []

    # One method per table; a table without one has only the generic column checks.
    def row(self, table: str, row: Mapping[str, Any], label: str) -> None:
        """Check one row (values already of their column's SQLite type)."""
        instant_columns = self._instant_columns
        for column, value in row.items():
            kind = type(value)
            if kind is str:
                # One search for what `text` refuses; its message only on a hit.
                single = column in _SINGLE_LINE
                if (_UNSAFE_SINGLE_LINE if single else _UNSAFE_MULTILINE).search(value):
                    text(value, column, multiline=not single)
                instant = instant_columns.get(column)
                if instant is None:
                    instant = _is_instant_column(column) and column not in _INSTANT_SPAN_EXEMPT
                    instant_columns[column] = instant
                if instant:
                    if not _EARLIEST_TEXT <= value < _LATEST_TEXT:
                        self._instant_in_span(column, value)
                elif column == "zone" and value not in self._zones:
                    self._zones.add(zone_name(value))
            elif kind is float:
                if not math.isfinite(value):
                    raise BadValue(f"{column} must be a finite number; got {shown(value)}")
            elif kind is int and not SQLITE_INT_MIN <= value <= SQLITE_INT_MAX:
                whole_number(value, column)  # raises, in its words
        check = getattr(self, f"_{table}", None)
        if check is not None:
            check(row, label)

    @staticmethod
    def _instant_in_span(column: str, value: str) -> None:
        try:
            at = _stored_instant(value)
        except ValueError:
            return  # the shape is the caller's check, with its own message
        instant_in_span(at, column)

    def _past(self, row: Mapping[str, Any], column: str) -> None:
        value = row.get(column)
        if isinstance(value, str) and value > self._future_text:
            try:
                at = _stored_instant(value)
            except ValueError:
                return
            not_in_future(at, self.now, column)

    def _settings(self, row: Mapping[str, Any], label: str) -> None:
        # Keys medtrack keeps for itself (the demo's marker) are not settings a person sets.
        if row.get("value") is not None and row.get("key") in SETTING_KEYS:
            setting(row["key"], row["value"])

    def _zone_changes(self, row: Mapping[str, Any], label: str) -> None:
        zone_name(row.get("zone"))

    def _medications(self, row: Mapping[str, Any], label: str) -> None:
        name = text(row.get("name"), "medication name", required=True, max_length=100)
        if name is not None and " ".join(name.split()) != name:
            raise BadValue(f"the medication name {shown(name)} has extra spaces")
        kind = row.get("kind", "rx")
        if kind not in KINDS:
            raise BadValue(f"kind {shown(kind)} is not one of: {', '.join(KINDS)}")
        _flag(row, "controlled")

    def _regimens(self, row: Mapping[str, Any], label: str) -> None:
        unit = text(row.get("dose_unit"), "dose unit", required=True, max_length=50)
        if row.get("dose_amount") is not None:
            dose_amount(row["dose_amount"], unit or "")
        _flag(row, "as_needed")
        if row.get("max_per_day") is not None:
            max_per_day(row["max_per_day"])
        if row.get("min_interval_minutes") is not None:
            whole_number(row["min_interval_minutes"], "min_interval_minutes", low=0)
        if row.get("units_per_dose") is not None:
            amount(row["units_per_dose"], "--per-dose")
        if not row.get("as_needed") and (
            row.get("max_per_day") is not None or row.get("min_interval_minutes") is not None
        ):
            raise BadValue("--max-per-day and --min-interval apply to an 'as needed' schedule")
        # A regimen changed on its first day is kept, empty (ends_at == starts_at).
        _after_start(row, "starts_at", "ends_at")
        starts, ends = row.get("starts_at"), row.get("ends_at")
        medication = row.get("medication_id")
        if "id" in row:
            self._regimen_medication[row["id"]] = medication
        self._plans.setdefault(medication, []).append((starts, ends, label))

    def _doses(self, row: Mapping[str, Any], label: str) -> None:
        status = row.get("status")
        if status not in ("taken", "skipped"):
            raise BadValue(f"status must be taken or skipped, got {shown(status)}")
        reason = row.get("skip_reason")
        if reason is not None:
            if status == "taken":
                raise BadValue("a reason belongs to a skipped dose")
            if reason not in SKIP_REASONS:
                raise BadValue(f"reason {shown(reason)} is not one of {', '.join(SKIP_REASONS)}")
        if row.get("amount") is not None:
            dose_amount(row["amount"], row.get("unit") or "")
        self._past(row, "taken_at")
        regimen = row.get("regimen_id")
        if regimen is not None:
            # Judged in finish(), after the references are known to exist.
            self._pending.append((regimen, row.get("medication_id"), label))

    def _same_medication(self, regimen: Any, medication: Any, label: str) -> None:
        if self._regimen_medication[regimen] != medication:
            raise BadValue(f"regimen_id {regimen} is a regimen of another medication")

    def _symptoms(self, row: Mapping[str, Any], label: str) -> None:
        from medtrack.core.health import check_symptom_value, normalize_symptom_name

        _normalized(row.get("name"), normalize_symptom_name)
        unit = row.get("unit")
        if row.get("value") is not None:
            check_symptom_value(finite_number(row["value"], "value"), unit)
        self._past(row, "at")

    def _side_effects(self, row: Mapping[str, Any], label: str) -> None:
        from medtrack.core.health import SEVERITIES, normalize_symptom_name, parse_severity

        _normalized(row.get("name"), normalize_symptom_name)

        severity = row.get("severity")
        if severity not in SEVERITIES:
            parse_severity(str(severity))  # the CLI's words for a severity it refuses
            raise BadValue(f"severity {shown(severity)} is not written as stored")
        _after_start(row, "started_at", "resolved_at")
        self._past(row, "started_at")

    def _measurements(self, row: Mapping[str, Any], label: str) -> None:
        from medtrack.core.health import normalize_kind, parse_measurement

        kind, value, value2, unit = (row.get(c) for c in ("kind", "value", "value2", "unit"))
        if kind is None or value is None or unit is None:
            return  # required columns: the caller's check names them
        stored_kind = normalize_kind(kind)
        if kind != stored_kind:
            raise BadValue(f"measurement kind {shown(kind)} is not written as stored")
        number = finite_number(value, "value")
        if kind == "bp":
            if value2 is None:
                raise BadValue("a blood pressure needs value2 (the diastolic)")
            second = finite_number(value2, "value2")
            if number != int(number) or second != int(second):
                raise BadValue(f"blood pressure is whole mmHg; got {number:g}/{second:g}")
            parse_measurement(kind, f"{int(number)}/{int(second)}", unit)
        else:
            if value2 is not None:
                raise BadValue(f"value2 belongs to a blood pressure; got {shown(value2)}")
            parse_measurement(kind, repr(number), unit)
        self._past(row, "at")

    def _checkins(self, row: Mapping[str, Any], label: str) -> None:
        import json

        from medtrack.core.questionnaires import get_questionnaire, score

        key = row.get("questionnaire")
        if not isinstance(key, str):
            return
        questionnaire = get_questionnaire(key)
        form = f"answers must be a JSON list; got {shown(row.get('answers'))}"
        try:
            answers = json.loads(row.get("answers") or "")
        except ValueError:
            raise BadValue(form) from None
        if not isinstance(answers, list):
            raise BadValue(form)
        result = score(questionnaire, tuple(answers), row.get("difficulty"))
        for column, expected in (
            ("total", result.total),
            ("band", result.band),
            ("flagged", int(result.safety_flag)),
        ):
            if column in row and row[column] != expected:
                raise BadValue(
                    f"{column} {shown(row[column])} does not match the answers ({expected})"
                )
        self._past(row, "at")

    def _notes(self, row: Mapping[str, Any], label: str) -> None:
        text(row.get("text"), "note", multiline=True, required=True)
        _flag(row, "ask")

    def _visits(self, row: Mapping[str, Any], label: str) -> None:
        from medtrack.core.health import VISIT_KINDS, parse_visit_kind

        kind = row.get("kind")
        if kind not in VISIT_KINDS:
            parse_visit_kind(str(kind))
            raise BadValue(f"visit kind {shown(kind)} is not written as stored")

    def _refills(self, row: Mapping[str, Any], label: str) -> None:
        if row.get("quantity") is not None:
            amount(row["quantity"], "--qty")

    def finish(self) -> list[tuple[str, str]]:
        """(label, message) for each rule across rows that a row breaks."""
        found: list[tuple[str, str]] = []
        for regimen, medication, label in self._pending:
            if regimen in self._regimen_medication:
                try:
                    self._same_medication(regimen, medication, label)
                except BadValue as exc:
                    found.append((label, exc.message))
        for plans in self._plans.values():
            # An empty regimen (ends where it starts) comes before the one replacing it.
            ordered = sorted(plans, key=lambda p: (p[0] or "", p[1] is None, p[1] or ""))
            for (_, ends, _), (starts, _, label) in pairwise(ordered):
                if ends is None or ends > starts:
                    found.append(
                        (label, f"this regimen overlaps the one before it (from {starts})")
                    )
        return found


def dose_amount(value: Any, unit: str) -> float:
    """A dose's amount: more than zero, at most MAX_AMOUNT (`med add --dose`, import)."""
    if type(value) is float and 0 < value <= MAX_AMOUNT:
        return value  # the common case, without building a message
    number = finite_number(value, "dose")
    shown_dose = f"{number:g} {unit}".strip()
    if number <= 0:
        raise BadValue(f"dose '{shown_dose}' must be more than zero")
    if number > MAX_AMOUNT:
        raise BadValue(f"dose '{shown_dose}' is more than {MAX_AMOUNT:,.0f}")
    return number


def max_per_day(value: Any) -> int:
    """An as-needed maximum a day: a whole number from 1 to 100."""
    if isinstance(value, int) and not isinstance(value, bool) and value < 1:
        raise BadValue("--max-per-day must be at least 1")
    return whole_number(value, "--max-per-day", low=1, high=100)


def rows_problems(
    tables: Iterable[tuple[str, Iterable[Mapping[str, Any]]]], now: datetime
) -> list[str]:
    """Every value problem in stored tables, one line each naming table and row id
    (`check`, and `restore` of a candidate)."""
    check = RecordCheck(now)
    found: list[str] = []
    for table, rows in tables:
        for index, row in enumerate(rows, start=1):
            label = f"{table} row {row.get('id', row.get('key', index))}"
            try:
                check.row(table, row, label)
            except BadValue as exc:
                found.append(f"{label}: {exc.message}")
    found.extend(f"{label}: {message}" for label, message in check.finish())
    return found
