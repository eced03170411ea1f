"""The export document and the dose CSV: what a valid file looks like, checked before a
single row is written. Pure: the table layout and `now` come in as parameters.

An export document is one JSON object:

    {"format": "medtrack-export", "format_version": 1, "medtrack_version": "0.1.0",
     "schema_version": 1, "exported_at": "2026-11-22T08:05:00Z",
     "tables": {"medications": [{"id": 1, "name": "sertraline", ...}], ...}}

Rows carry their column values exactly as stored (UTC instants as ``...Z`` text), so an
export imported into an empty profile and exported again gives the same document.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from medtrack.core.models import KINDS, SKIP_REASONS
from medtrack.errors import BadValue

FORMAT_NAME = "medtrack-export"
FORMAT_VERSION = 1

DOSE_CSV_COLUMNS = ("medication", "taken_at", "status", "reason", "note")
_DOSE_CSV_REQUIRED = ("medication", "taken_at", "status")
DOSE_STATUSES = ("taken", "skipped")

_UTC_TEXT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")
_RRULE_FREQS = ("HOURLY", "DAILY", "WEEKLY", "MONTHLY", "YEARLY")
_TIMES_TEXT = re.compile(r"[0-9]{2}:[0-9]{2}(,[0-9]{2}:[0-9]{2})*")
# Columns whose value is a stored instant; every other *_at column is one too.
_INSTANT_COLUMNS = ("at", "scheduled_for")


@dataclass(frozen=True)
class Column:
    """One column of a table as the store declares it."""

    name: str
    type: str  # INTEGER, REAL, TEXT (SQLite declared type, upper case)
    notnull: bool = False
    has_default: bool = False
    pk: bool = False


Layout = Mapping[str, Sequence[Column]]
References = Mapping[str, Mapping[str, str]]


@dataclass(frozen=True)
class DoseLine:
    """One row of a dose CSV, read but not yet matched to a medication."""

    line: int
    medication: str
    taken_at: datetime
    status: str
    reason: str | None
    note: str | None


# --- the export document -----------------------------------------------------------------


def document(
    tables: Mapping[str, list[dict[str, Any]]],
    *,
    medtrack_version: str,
    schema_version: int,
    exported_at: str,
) -> dict[str, Any]:
    """The versioned export document around the tables' rows."""
    return {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "medtrack_version": medtrack_version,
        "schema_version": schema_version,
        "exported_at": exported_at,
        "tables": {name: list(rows) for name, rows in tables.items()},
    }


def _fail(where: str, why: str) -> BadValue:
    return BadValue(f"not a valid medtrack export: {where}: {why}")


def validate_document(
    doc: Any, layout: Layout, references: References, *, schema_version: int
) -> dict[str, list[dict[str, Any]]]:
    """The document's tables, after checking every row against the store's layout.

    Refuses (BadValue) anything this medtrack cannot import faithfully: another format,
    a newer format or schema, unknown tables or columns, wrong types, missing required
    values, malformed instants or zones, duplicate ids and references to missing rows.
    """
    if not isinstance(doc, dict):
        raise _fail("document", "expected a JSON object")
    if doc.get("format") != FORMAT_NAME:
        raise _fail("format", f"expected '{FORMAT_NAME}', got {doc.get('format')!r}")
    version = doc.get("format_version")
    if not _is_int(version) or version < 1:
        raise _fail("format_version", f"expected a whole number, got {version!r}")
    if version > FORMAT_VERSION:
        raise BadValue(
            f"this export has format version {version}; this medtrack reads up to "
            f"{FORMAT_VERSION}. Upgrade medtrack to import it"
        )
    doc_schema = doc.get("schema_version")
    if not _is_int(doc_schema) or doc_schema < 1:
        raise _fail("schema_version", f"expected a whole number, got {doc_schema!r}")
    if doc_schema > schema_version:
        raise BadValue(
            f"this export was written by a newer medtrack (schema {doc_schema}, this one "
            f"knows {schema_version}); upgrade medtrack to import it"
        )
    tables = doc.get("tables")
    if not isinstance(tables, dict):
        raise _fail("tables", "expected an object of table name -> list of rows")
    clean: dict[str, list[dict[str, Any]]] = {}
    ids: dict[str, set[Any]] = {}
    for name, rows in tables.items():
        if name not in layout:
            raise _fail(f"table '{name}'", "not a medtrack table")
        if not isinstance(rows, list):
            raise _fail(f"table '{name}'", "expected a list of rows")
        columns = {c.name: c for c in layout[name]}
        key = next((c.name for c in layout[name] if c.pk), None)
        seen: set[Any] = set()
        checked = []
        for index, row in enumerate(rows, start=1):
            where = f"{name} row {index}"
            checked.append(_check_row(name, row, columns, where))
            if key is not None:
                value = row.get(key)
                if value is None:
                    raise _fail(where, f"'{key}' is missing")
                if value in seen:
                    raise _fail(where, f"{key} {value!r} appears twice")
                seen.add(value)
        clean[name] = checked
        ids[name] = seen
    for name, rows in clean.items():
        for column, target in references.get(name, {}).items():
            for index, row in enumerate(rows, start=1):
                value = row.get(column)
                if value is not None and value not in ids.get(target, set()):
                    raise _fail(
                        f"{name} row {index}", f"{column} {value} is not an id in '{target}'"
                    )
    return clean


def _check_row(table: str, row: Any, columns: Mapping[str, Column], where: str) -> dict[str, Any]:
    if not isinstance(row, dict):
        raise _fail(where, "expected an object of column -> value")
    for column in row:
        if column not in columns:
            raise _fail(where, f"unknown column '{column}'")
    for column in columns.values():
        value = row.get(column.name)
        if value is None:
            if column.notnull and not column.has_default:
                raise _fail(where, f"'{column.name}' is required")
            if column.notnull and column.name in row:
                raise _fail(where, f"'{column.name}' cannot be null")
            continue
        _check_value(value, column, where)
    _check_domain(table, row, where)
    return dict(row)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_value(value: Any, column: Column, where: str) -> None:
    name = column.name
    if column.type == "INTEGER":
        if not _is_int(value) or not -(2**63) <= value < 2**63:
            raise _fail(where, f"'{name}' must be a whole number, got {value!r}")
    elif column.type in ("REAL", "FLOAT", "NUMERIC"):
        if not (_is_int(value) or isinstance(value, float)) or not math.isfinite(value):
            raise _fail(where, f"'{name}' must be a finite number, got {value!r}")
    elif not isinstance(value, str):
        raise _fail(where, f"'{name}' must be text, got {value!r}")
    if isinstance(value, str):
        if "\x00" in value:
            raise _fail(where, f"'{name}' contains a NUL character")
        if name in _INSTANT_COLUMNS or name.endswith("_at"):
            if not is_utc_text(value):
                raise _fail(where, f"'{name}' must be a UTC time like 2026-11-22T08:05:00Z")
        elif name == "zone" and not _is_zone(value):
            raise _fail(where, f"'{value}' is not an IANA time zone")


def is_utc_text(value: str) -> bool:
    """True for a stored instant: ``YYYY-MM-DDTHH:MM:SSZ`` naming a real moment."""
    if not _UTC_TEXT.fullmatch(value):
        return False
    try:
        datetime.fromisoformat(value[:-1])
    except ValueError:
        return False
    return True


def _is_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _check_domain(table: str, row: Mapping[str, Any], where: str) -> None:
    """The few values other commands read back strictly: a wrong one would break them."""
    if table == "doses" and row.get("status") not in DOSE_STATUSES:
        raise _fail(where, f"status must be taken or skipped, got {row.get('status')!r}")
    if table == "medications" and row.get("kind", "rx") not in KINDS:
        raise _fail(where, f"kind must be one of {', '.join(KINDS)}, got {row['kind']!r}")
    if table != "regimens":
        return
    times = row.get("schedule_times")
    if times is not None and not _valid_times(times):
        raise _fail(where, f"schedule_times must be like 08:00,20:00, got {times!r}")
    rule = row.get("schedule_rrule")
    if rule is not None and not _valid_rrule(rule):
        raise _fail(where, f"schedule_rrule {rule!r} is not a day-level RRULE")
    if "schedule_rrule" in row and not row.get("as_needed") and (rule is None or not times):
        raise _fail(where, "a scheduled regimen needs schedule_rrule and schedule_times")


def _valid_times(text: Any) -> bool:
    if not isinstance(text, str) or not _TIMES_TEXT.fullmatch(text):
        return False
    return all(int(t[:2]) < 24 and int(t[3:]) < 60 for t in text.split(","))


def _valid_rrule(rule: str) -> bool:
    from dateutil.rrule import rrulestr

    parts = [p.partition("=") for p in rule.split(";")]
    if not parts or any(not sep or not key for key, sep, _ in parts):
        return False
    keys = {key for key, _, _ in parts}
    if {"DTSTART", "UNTIL", "COUNT"} & keys or dict((k, v) for k, _, v in parts).get(
        "FREQ"
    ) not in _RRULE_FREQS:
        return False
    try:
        rrulestr(rule, dtstart=datetime(2000, 1, 1))
    except (ValueError, TypeError, KeyError, IndexError, OverflowError):
        return False
    return True


# --- the dose CSV --------------------------------------------------------------------------


def parse_dose_csv(
    text: str,
    *,
    localize: Callable[[datetime], datetime],
    now: datetime,
) -> list[DoseLine]:
    """Read a dose CSV with the header medication,taken_at,status[,reason][,note].

    `taken_at` is ISO 8601: with an offset (``2026-11-22T08:05:00+01:00``, ``...Z``) it is
    that instant; without one (``2026-11-22 08:05``) it is a wall time read by `localize`
    in the zone the person was in then. Future times, unknown statuses and reasons outside
    the skip vocabulary are refused with their line number.
    """
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    try:
        header = next(reader)
    except StopIteration:
        raise BadValue(
            "the CSV file is empty; expected the header " + ",".join(DOSE_CSV_COLUMNS)
        ) from None
    except csv.Error as exc:
        raise BadValue(f"line 1: unreadable CSV ({exc})") from None
    names = [h.strip().lower() for h in header]
    unknown = [n for n in names if n not in DOSE_CSV_COLUMNS]
    missing = [n for n in _DOSE_CSV_REQUIRED if n not in names]
    if unknown or missing or len(set(names)) != len(names):
        raise BadValue(
            "the first line must name the columns medication,taken_at,status and optionally "
            f"reason,note; got '{','.join(header)}'"
        )
    lines: list[DoseLine] = []
    try:
        for cells in reader:
            number = reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) > len(names):
                raise BadValue(f"line {number}: {len(cells)} values for {len(names)} columns")
            # Trailing optional cells (reason, note) may be left out altogether.
            cells = cells + [""] * (len(names) - len(cells))
            values = dict(zip(names, (cell.strip() for cell in cells), strict=True))
            lines.append(_dose_line(number, values, localize, now))
    except csv.Error as exc:
        raise BadValue(f"line {reader.line_num}: unreadable CSV ({exc})") from None
    return lines


def _dose_line(
    number: int,
    values: Mapping[str, str],
    localize: Callable[[datetime], datetime],
    now: datetime,
) -> DoseLine:
    where = f"line {number}"
    medication = " ".join(values["medication"].split())
    if not medication:
        raise BadValue(f"{where}: the medication is empty")
    if "\x00" in "".join(values.values()):
        raise BadValue(f"{where}: contains a NUL character")
    taken_at = _read_instant(values["taken_at"], localize, where)
    if taken_at > now:
        raise BadValue(f"{where}: taken_at {values['taken_at']} is in the future")
    status = values["status"].lower()
    if status not in DOSE_STATUSES:
        raise BadValue(f"{where}: status must be taken or skipped, got '{values['status']}'")
    reason = values.get("reason") or None
    if reason is not None:
        reason = reason.lower()
        if status == "taken":
            raise BadValue(f"{where}: a reason belongs to a skipped dose")
        if reason not in SKIP_REASONS:
            raise BadValue(
                f"{where}: reason '{values['reason']}' is not one of {', '.join(SKIP_REASONS)}"
            )
    return DoseLine(
        line=number,
        medication=medication,
        taken_at=taken_at,
        status=status,
        reason=reason,
        note=values.get("note") or None,
    )


def _read_instant(text: str, localize: Callable[[datetime], datetime], where: str) -> datetime:
    cleaned = text.strip()
    form = "taken_at must be an ISO date and time, e.g. 2026-11-22 08:05 or 2026-11-22T08:05Z"
    if len(cleaned) < 16 or cleaned[10] not in "T ":
        raise BadValue(f"{where}: {form}; got '{text}'")
    try:
        value = datetime.fromisoformat(cleaned.replace("z", "Z").replace("Z", "+00:00"))
    except ValueError:
        raise BadValue(f"{where}: {form}; got '{text}'") from None
    if value.tzinfo is None:
        return localize(value.replace(second=value.second, microsecond=0)).astimezone(UTC)
    return value.astimezone(UTC).replace(microsecond=0)


# --- the audit trail -------------------------------------------------------------------------


def row_changes(
    before: Mapping[str, Any] | None, after: Mapping[str, Any] | None
) -> dict[str, list[Any]]:
    """column -> [before, after] for every value an update, insert or delete changed."""
    before = before if isinstance(before, Mapping) else {}
    after = after if isinstance(after, Mapping) else {}
    changed = {}
    for column in [*before, *(c for c in after if c not in before)]:
        old, new = before.get(column), after.get(column)
        if old != new:
            changed[column] = [old, new]
    return changed


def change_text(action: str, changes: Mapping[str, Sequence[Any]], limit: int = 80) -> str:
    """A one-line summary of a change for the history table."""
    if action == "delete":
        shown = ", ".join(f"{c}={v[0]}" for c, v in changes.items() if v[0] is not None)
        text = f"removed ({shown})"
    else:
        text = "; ".join(f"{c}: {_short(v[0])} -> {_short(v[1])}" for c, v in changes.items())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _short(value: Any) -> str:
    return "-" if value is None else str(value)
