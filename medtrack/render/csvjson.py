"""The export document as JSON text, and tables as CSV text (one file per table)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from typing import Any


def json_text(document: Mapping[str, Any]) -> str:
    """Stable, readable JSON: keys in their given order, UTF-8 kept as written."""
    return json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def csv_text(columns: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> str:
    """One table as CSV with a header row; empty cells are NULL."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if row.get(c) is None else row.get(c) for c in columns])
    return buffer.getvalue()


def csv_files(
    tables: Mapping[str, Sequence[Mapping[str, Any]]], columns: Mapping[str, Sequence[str]]
) -> dict[str, str]:
    """File name -> CSV text, one per table (every table, even an empty one)."""
    return {f"{name}.csv": csv_text(columns[name], rows) for name, rows in tables.items()}
