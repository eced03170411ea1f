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
import json
import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from medtrack.core import validate
from medtrack.core.models import SKIP_REASONS
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
        **document_header(
            medtrack_version=medtrack_version,
            schema_version=schema_version,
            exported_at=exported_at,
        ),
        "tables": {name: list(rows) for name, rows in tables.items()},
    }


def document_header(*, medtrack_version: str, schema_version: int, exported_at: str) -> dict:
    """The export document's keys before "tables", in their order."""
    return {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "medtrack_version": medtrack_version,
        "schema_version": schema_version,
        "exported_at": exported_at,
    }


def _fail(where: str, why: str) -> BadValue:
    return BadValue(f"not a valid medtrack export: {where}: {why}")


def validate_document(
    doc: Any,
    layout: Layout,
    references: References,
    *,
    schema_version: int,
    now: datetime | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """The document's tables, after checking every row against the store's layout and
    every value by core.validate (what the CLI would refuse, the row named).

    Refuses (BadValue) anything this medtrack cannot import faithfully: another format,
    a newer format or schema, unknown or missing tables, unknown columns, wrong types,
    missing required values, values the CLI refuses, malformed instants or zones,
    duplicate ids, references to missing rows, overlapping regimens and doses pointing at
    another medication's regimen. `now` (default: no dose counts as in the future) is
    the instant after which a dose, symptom or measurement cannot have been recorded.
    """
    tables = _check_header(doc, schema_version)
    check = _RowCheck(layout, references, now)
    clean: dict[str, list[dict[str, Any]]] = {}
    for name, rows in tables.items():
        check.table(name, rows)
        clean[name] = [check.row(name, row) for row in rows]
    check.finish()
    return clean


def missing_tables(present: Iterable[str], layout: Iterable[str]) -> list[str]:
    """Tables this medtrack writes into every export that a document lacks: an export
    without its `doses` would import as a record with every dose dropped."""
    seen = set(present)
    return [name for name in layout if name not in seen]


def no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """json's object_pairs_hook: an object naming a key twice is refused, never read as
    its last value (a second, empty `doses` would otherwise drop every dose)."""
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _fail(f"key {validate.shown(key)}", "appears twice in one object")
            seen.add(key)
    return result


# A whole number in a document longer than this is no id, count or flag (and int() of
# more than 4300 digits raises ValueError, not a JSON error).
_MAX_INT_DIGITS = 20


def json_int(text: str) -> int:
    """json's parse_int: integers of at most 20 digits (SQLite's range is 19)."""
    if len(text.lstrip("-")) > _MAX_INT_DIGITS:
        raise _fail("number", f"a whole number of {len(text.lstrip('-'))} digits is out of range")
    return int(text)


def _check_header(doc: Any, schema_version: int) -> dict[str, Any]:
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
    return tables


def _check_tables_complete(present: Iterable[str], layout: Layout) -> None:
    missing = missing_tables(present, layout)
    if missing:
        raise _fail(
            "tables",
            f"{', '.join(repr(n) for n in missing)} missing; an export holds every table "
            "(nothing imported)",
        )


class _RowCheck:
    """The per-table and per-row checks, fed one row at a time, so a document read as a
    stream is checked exactly as a whole one. Keeps ids and references, never rows."""

    def __init__(self, layout: Layout, references: References, now: datetime | None) -> None:
        self.layout = layout
        self.references = references
        # With no `now` (a document checked on its own) nothing counts as in the future.
        self.records = validate.RecordCheck(now or datetime.max.replace(tzinfo=UTC))
        self.ids: dict[str, set[Any]] = {}
        # table -> column -> [(row number, value)] for the reference check at the end.
        self.pointers: dict[str, dict[str, list[tuple[int, Any]]]] = {}
        self.order: list[str] = []
        self._zones: set[str] = set()

    def table(self, name: str, rows: Any) -> None:
        if name not in self.layout:
            raise _fail(f"table '{name}'", "not a medtrack table")
        if not isinstance(rows, list):
            raise _fail(f"table '{name}'", "expected a list of rows")
        self.order.append(name)
        self.ids[name] = set()
        self.pointers[name] = {column: [] for column in self.references.get(name, {})}
        self._columns = {c.name: c for c in self.layout[name]}
        self._key = next((c.name for c in self.layout[name] if c.pk), None)
        self._index = 0
        self._plan = [
            (c.name, c, _value_kind(c), c.notnull and not c.has_default) for c in self.layout[name]
        ]

    def _plainly_valid(self, row: Any) -> bool:
        """A quick pass over the common case (issue 9: a decade is 1.5 million values):
        True only when _check_row would accept the row, apart from its domain checks."""
        if type(row) is not dict or not row.keys() <= self._columns.keys():
            return False
        for name, column, kind, required in self._plan:
            value = row.get(name)
            if value is None:
                if column.notnull and (required or name in row):
                    return False
                continue
            kind_of = type(value)
            if kind == "int":
                if kind_of is not int or not -(2**63) <= value < 2**63:
                    return False
            elif kind == "real":
                if not (kind_of is float or kind_of is int) or not math.isfinite(value):
                    return False
            elif kind_of is not str or "\x00" in value:
                return False
            elif kind == "instant":
                if not is_utc_text(value):
                    return False
            elif kind == "zone" and value not in self._zones:
                if not _is_zone(value):
                    return False
                self._zones.add(value)
        return True

    def row(self, name: str, row: Any) -> dict[str, Any]:
        self._index += 1
        where = f"{name} row {self._index}"
        if not self._plainly_valid(row):
            _check_row(name, row, self._columns, where)  # says exactly what is wrong
        try:
            self.records.row(name, row, where)
        except BadValue as exc:
            raise _fail(where, exc.message) from None
        _check_schedule(name, row, where)
        checked = row
        if self._key is not None:
            value = row.get(self._key)
            seen = self.ids[name]
            if value is None:
                raise _fail(where, f"'{self._key}' is missing")
            if value in seen:
                raise _fail(where, f"{self._key} {value!r} appears twice")
            seen.add(value)
        for column, found in self.pointers[name].items():
            value = row.get(column)
            if value is not None:
                found.append((self._index, value))
        return checked

    def finish(self) -> None:
        _check_tables_complete(self.order, self.layout)
        for name in self.order:
            for column, target in self.references.get(name, {}).items():
                for index, value in self.pointers[name][column]:
                    if value not in self.ids.get(target, set()):
                        raise _fail(
                            f"{name} row {index}", f"{column} {value} is not an id in '{target}'"
                        )
        for where, message in self.records.finish():
            raise _fail(where, message)


class Unstreamable(Exception):
    """The document is not laid out as medtrack writes it (or not valid): read it whole,
    which gives json's and validate_document's own error messages."""


def checked_rows(
    events: Iterable[tuple[Any, ...]],
    layout: Layout,
    references: References,
    *,
    schema_version: int,
    table_order: Sequence[str],
    now: datetime | None = None,
) -> Iterator[tuple[str, dict[str, Any]]]:
    """(table, row) for each row of a document read by `document_events`, each checked as
    validate_document checks it, without holding the rows; the references are checked
    once the last row has gone by. Raises Unstreamable on any problem and whenever the
    document is not laid out as medtrack writes it (header first, tables in
    `table_order`): the caller then undoes what it did and reads the document whole,
    which gives the exact message."""
    header: dict[str, Any] = {}
    check = _RowCheck(layout, references, now)
    rank = -1
    try:
        for event in events:
            if event[0] == "key":
                if check.order or event[1] in header:
                    raise Unstreamable  # a header entry after the tables, or twice
                header[event[1]] = event[2]
            elif event[0] == "table":
                if not check.order:
                    _check_header({**header, "tables": {}}, schema_version)
                if event[1] not in table_order or table_order.index(event[1]) <= rank:
                    raise Unstreamable  # unknown, repeated, or a child before its parent
                rank = table_order.index(event[1])
                check.table(event[1], [])
            else:
                yield event[1], check.row(event[1], event[2])
        if not check.order or missing_tables(check.order, table_order):
            raise Unstreamable
        check.finish()
    except BadValue:
        raise Unstreamable from None


_JSON_SPACE = re.compile(r"[ \t\n\r]*")


class _Reader:
    """JSON values one at a time from pieces of text (json.JSONDecoder.raw_decode on a
    buffer refilled as needed), so only the value being read is held."""

    def __init__(self, chunks: Iterable[str], decoder: json.JSONDecoder) -> None:
        self.chunks = iter(chunks)
        self.decoder = decoder
        self.buffer = ""
        self.pos = 0
        self.done = False

    def _fill(self) -> bool:
        chunk = next(self.chunks, None)
        if chunk is None:
            self.done = True
            return False
        self.buffer = self.buffer[self.pos :] + chunk
        self.pos = 0
        return True

    def peek(self) -> str:
        while True:
            self.pos = _JSON_SPACE.match(self.buffer, self.pos).end()  # type: ignore[union-attr]
            if self.pos < len(self.buffer):
                return self.buffer[self.pos]
            if not self._fill():
                return ""

    def expect(self, char: str) -> None:
        if self.peek() != char:
            raise Unstreamable
        self.pos += 1

    def value(self) -> Any:
        self.peek()
        while True:
            try:
                value, end = self.decoder.raw_decode(self.buffer, self.pos)
            except json.JSONDecodeError:
                if self._fill():
                    continue
                raise Unstreamable from None
            # A number, true or null ending the buffer may go on in the next piece.
            if end == len(self.buffer) and not self.done and self._fill():
                continue
            self.pos = end
            return value


def document_events(chunks: Iterable[str], decoder: json.JSONDecoder) -> Iterator[tuple[Any, ...]]:
    """An export document read from pieces of text as events: ("key", name, value) for
    each top-level entry but "tables", ("table", name) as a table's list opens and
    ("row", table, row) for each of its rows. Raises Unstreamable for anything not laid
    out as an object of lists in an object (json's own errors come from reading it whole).
    """
    reader = _Reader(chunks, decoder)
    reader.expect("{")
    if reader.peek() == "}":
        reader.pos += 1
    else:
        while True:
            key = reader.value()
            if not isinstance(key, str):
                raise Unstreamable
            reader.expect(":")
            if key == "tables":
                yield from _table_events(reader)
            else:
                yield ("key", key, reader.value())
            if reader.peek() == ",":
                reader.pos += 1
                continue
            reader.expect("}")
            break
    if reader.peek() != "":
        raise Unstreamable


def _table_events(reader: _Reader) -> Iterator[tuple[Any, ...]]:
    reader.expect("{")
    if reader.peek() == "}":
        reader.pos += 1
        return
    while True:
        name = reader.value()
        if not isinstance(name, str):
            raise Unstreamable
        reader.expect(":")
        reader.expect("[")
        yield ("table", name)
        if reader.peek() == "]":
            reader.pos += 1
        else:
            while True:
                yield ("row", name, reader.value())
                if reader.peek() == ",":
                    reader.pos += 1
                    continue
                reader.expect("]")
                break
        if reader.peek() == ",":
            reader.pos += 1
            continue
        reader.expect("}")
        return


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
    # The row itself, not a copy: a decade of doses is held once (issue 9).
    return row


def _value_kind(column: Column) -> str:
    """How _check_value treats a column: int, real, instant, zone or text."""
    if column.type == "INTEGER":
        return "int"
    if column.type in ("REAL", "FLOAT", "NUMERIC"):
        return "real"
    if column.name in _INSTANT_COLUMNS or column.name.endswith("_at"):
        return "instant"
    return "zone" if column.name == "zone" else "text"


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
            raise _fail(where, f"{validate.shown(value)} is not an IANA time zone")


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
        validate.zone_name(name)
    except BadValue:
        return False
    return True


def _check_schedule(table: str, row: Mapping[str, Any], where: str) -> None:
    """A regimen's stored schedule, which every reader expands: times and a day-level
    RRULE (core.validate checks every other value of the row)."""
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
    try:
        # The one validation of record values, as for `take --note` and a JSON import.
        validate.text(medication, "medication name", max_length=100)
        for column in ("status", "reason"):
            validate.text(values.get(column), column)
        validate.text(values.get("note"), "note", multiline=True, max_length=2000)
    except BadValue as exc:
        raise BadValue(f"{where}: {exc.message}") from None
    taken_at = _read_instant(values["taken_at"], localize, where)
    if taken_at > now:
        raise BadValue(f"{where}: taken_at {values['taken_at']} is in the future")
    status = values["status"].lower()
    if status not in DOSE_STATUSES:
        raise BadValue(
            f"{where}: status must be taken or skipped, got {validate.shown(values['status'])}"
        )
    reason = values.get("reason") or None
    if reason is not None:
        reason = reason.lower()
        if status == "taken":
            raise BadValue(f"{where}: a reason belongs to a skipped dose")
        if reason not in SKIP_REASONS:
            raise BadValue(
                f"{where}: reason {validate.shown(values['reason'])} is not one of "
                f"{', '.join(SKIP_REASONS)}"
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
        raise BadValue(f"{where}: {form}; got {validate.shown(text)}")
    try:
        value = datetime.fromisoformat(cleaned.replace("z", "Z").replace("Z", "+00:00"))
        if value.tzinfo is None:
            value = localize(value.replace(second=value.second, microsecond=0))
        instant = value.astimezone(UTC).replace(microsecond=0)
        validate.instant_in_span(instant, "taken_at")
    except (ValueError, OverflowError):
        raise BadValue(f"{where}: {form}; got {validate.shown(text)}") from None
    except BadValue as exc:
        raise BadValue(f"{where}: {exc.message}") from None
    return instant


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
