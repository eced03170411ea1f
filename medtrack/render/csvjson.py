"""The export document as JSON text, and tables as CSV text (one file per table).

A whole decade of doses does not fit comfortably in memory as one document, so the
export is also produced as a stream of text pieces, table by table and batch by batch,
byte for byte the same as `json_text` of the whole document.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from medtrack.render.escaping import csv_cell


def json_text(document: Mapping[str, Any]) -> str:
    """Stable, readable JSON: keys in their given order, UTF-8 kept as written."""
    return json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


# Rows are flat objects of scalars, three levels deep in the document (document ->
# "tables" -> table -> row). The C encoder is used only without `indent`, and is several
# times faster than the pure-Python one; its item separator carries the newline and the
# row-level indentation instead. JSON strings never hold a raw newline, so the only
# "},<newline>" sequences in its output are the boundaries between rows.
_ROW_ITEM_SEPARATOR = ",\n        "
_ROWS_ENCODER = json.JSONEncoder(
    ensure_ascii=False, allow_nan=False, separators=(_ROW_ITEM_SEPARATOR, ": ")
)
_ROW_BOUNDARY = "}" + _ROW_ITEM_SEPARATOR + "{"


def _rows_json(rows: Sequence[Mapping[str, Any]]) -> str:
    """A batch of rows as they appear inside a table's list in `json_text`'s output."""
    compact = _ROWS_ENCODER.encode(rows)  # '[{"id": 1,\n        "name": ...},\n        {...}]'
    body = compact[2:-2].replace(_ROW_BOUNDARY, "\n      },\n      {\n        ")
    return "      {\n        " + body + "\n      }"


class _NotPlain(Exception):
    """A value `indented_json` leaves to the json module (odd types, NaN, non-text keys)."""


def indented_json(value: Any, level: int = 0) -> str:
    """`json.dumps(value, indent=2, ensure_ascii=False, allow_nan=False)` with every line
    after the first indented by `level` more steps of two spaces.

    The json module uses its slow pure-Python encoder whenever `indent` is given; this
    walks plain dicts, lists, text, numbers and null directly, about three times faster,
    and hands anything else to json.dumps so results and errors stay json's own.
    """
    parts: list[str] = []
    try:
        _indented(value, "\n" + "  " * level, parts)
    except (_NotPlain, RecursionError):
        text = json.dumps(value, indent=2, ensure_ascii=False, allow_nan=False)
        return text.replace("\n", "\n" + "  " * level)
    return "".join(parts)


_encode_text = json.encoder.encode_basestring  # the C version where available


def _indented(value: Any, newline: str, parts: list[str]) -> None:
    kind = type(value)
    if kind is str:
        parts.append(_encode_text(value))
    elif kind is dict:
        if not value:
            parts.append("{}")
            return
        inner = newline + "  "
        separator = "{" + inner
        for key, item in value.items():
            if type(key) is not str:
                raise _NotPlain
            parts.append(separator)
            parts.append(_encode_text(key))
            parts.append(": ")
            _indented(item, inner, parts)
            separator = "," + inner
        parts.append(newline + "}")
    elif kind is list:
        if not value:
            parts.append("[]")
            return
        inner = newline + "  "
        separator = "[" + inner
        for item in value:
            parts.append(separator)
            _indented(item, inner, parts)
            separator = "," + inner
        parts.append(newline + "]")
    elif value is None:
        parts.append("null")
    elif value is True:
        parts.append("true")
    elif value is False:
        parts.append("false")
    elif kind is int:
        parts.append(int.__repr__(value))
    elif kind is float and value == value and value not in (float("inf"), float("-inf")):
        parts.append(float.__repr__(value))
    else:
        raise _NotPlain


def json_document_chunks(
    header: Mapping[str, Any],
    tables: Iterable[tuple[str, Iterable[Sequence[Mapping[str, Any]]]]],
) -> Iterator[str]:
    """`json_text({**header, "tables": {name: rows, ...}})` in pieces, one batch at a time.

    `tables` gives each table's name with its rows in batches (lists of flat dicts of
    JSON scalars, never empty); only one batch is held at a time.
    """
    head = json.dumps(header, indent=2, ensure_ascii=False, allow_nan=False)
    opened = head[:-2] + ',\n  "tables": {' if header else '{\n  "tables": {'
    yield opened
    any_table = False
    for number, (name, batches) in enumerate(tables):
        any_table = True
        key = json.dumps(name, ensure_ascii=False)
        yield ("\n" if number == 0 else ",\n") + f"    {key}: ["
        any_row = False
        for batch in batches:
            if not batch:
                continue
            yield (",\n" if any_row else "\n") + _rows_json(batch)
            any_row = True
        yield "\n    ]" if any_row else "]"
    yield "\n  }\n}\n" if any_table else "}\n}\n"


# RFC 4180's line end. With it the csv module quotes a cell holding a carriage return as
# well as one holding a newline (it quotes only the characters of its line end), so a
# note with either stays one cell.
LINE_END = "\r\n"


def _csv_row(columns: Sequence[str], row: Mapping[str, Any]) -> list[Any]:
    """A row's cells: empty for NULL; text a spreadsheet would run as a formula is
    prefixed with an apostrophe (OWASP's advice against CSV injection)."""
    return ["" if row.get(c) is None else csv_cell(row.get(c)) for c in columns]


def csv_text(columns: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> str:
    """One table as CSV with a header row; empty cells are NULL."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=LINE_END)
    writer.writerow(columns)
    for row in rows:
        writer.writerow(_csv_row(columns, row))
    return buffer.getvalue()


def csv_chunks(
    columns: Sequence[str], batches: Iterable[Sequence[Mapping[str, Any]]]
) -> Iterator[str]:
    """`csv_text(columns, rows)` in pieces: the header, then one batch of rows at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=LINE_END)
    writer.writerow(columns)
    for batch in batches:
        for row in batch:
            writer.writerow(_csv_row(columns, row))
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


def csv_files(
    tables: Mapping[str, Sequence[Mapping[str, Any]]], columns: Mapping[str, Sequence[str]]
) -> dict[str, str]:
    """File name -> CSV text, one per table (every table, even an empty one)."""
    return {f"{name}.csv": csv_text(columns[name], rows) for name, rows in tables.items()}
