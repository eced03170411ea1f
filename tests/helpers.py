"""Small helpers shared by the test modules."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path


def dump(path: Path | str | None = None) -> str:
    """The database as SQL text, to prove a failed command changed nothing.

    Without a path, the test's MEDTRACK_DB; a file that does not exist dumps as ""
    (and is not created).
    """
    target = Path(path if path is not None else os.environ["MEDTRACK_DB"])
    if not target.exists():
        return ""
    conn = sqlite3.connect(target)
    try:
        return "\n".join(conn.iterdump())
    finally:
        conn.close()
