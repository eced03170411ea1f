"""`medtrack import FILE --from medtimer|daylio|fhir`: another app's history (issue 22).

Kept apart from cli/data.py (which only hands over): read the file, let the pure importer
in core.importers map it, and write the plan through store.importers in the command's one
transaction. A dry run does exactly the same work and then rolls the transaction back, so
what it reports is what --apply would add, to the record.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from medtrack.cli import common
from medtrack.errors import BadValue, UsageError

# Folder of resources (Apple Health keeps them in clinical-records/): at most this many
# files are read, so a wrong folder (a home folder) is refused, not walked.
_MAX_FOLDER_FILES = 20000


class _DryRun(Exception):
    """Raised inside the unit of work to roll back a dry run (no file is created either)."""

    def __init__(self, lines: Any) -> None:
        super().__init__("dry run")
        self.lines = lines


def import_from(file: Path, source: str, *, apply: bool, as_json: bool = False) -> None:
    """Import `file` exported by `source`; a dry run unless `apply`; `as_json` prints
    what `import_dict` gives instead of the lines."""
    from medtrack.core.importers import SOURCES

    source = source.lower()
    if source not in SOURCES:
        raise UsageError(f"--from takes one of {', '.join(SOURCES)}; got '{source}'")
    content = _read(file, source)
    try:
        with common.unit_of_work(write=True) as conn:
            zones = common.zones(conn)
            lines = _import(conn, content, source, file, zones, apply=apply, as_json=as_json)
            if not apply:
                raise _DryRun(lines)
    except _DryRun as dry:
        lines = dry.lines
    if as_json:
        common.emit_json(lines)
        return
    for line in lines:
        common.say(line)


def _import(
    conn: Any, content: Any, source: str, file: Path, zones: Any, *, apply: bool, as_json: bool
) -> Any:
    from medtrack.render.imports import import_dict, import_lines
    from medtrack.store.importers import apply_plan

    def local(instant: Any) -> Any:
        return instant.astimezone(zones.zone_at(instant))

    if source == "medtimer":
        from medtrack.core.importers import medtimer

        if isinstance(content, str):
            plan = medtimer.parse_csv(content, local=local)
        else:
            plan = medtimer.parse_backup(content, local=local)
    elif source == "daylio":
        from medtrack.core.importers import daylio

        plan = daylio.parse_csv(content, localize=zones.localize)
    else:
        from medtrack.core.importers import fhir

        plan = fhir.parse_resources(content, localize=zones.localize, local=local)
    from medtrack.core.importers import check_plan

    now = common.now()
    check_plan(plan, now)
    result = apply_plan(conn, plan, zone_of=lambda at: zones.zone_at(at).key, now=now)
    if as_json:
        return import_dict(plan, result, file=str(file), zones=zones, applied=apply)
    return import_lines(plan, result, file=str(file), zones=zones, applied=apply)


def _read(file: Path, source: str) -> Any:
    """The file's content: text for CSV, parsed JSON, or FHIR resources (a folder too)."""
    if source == "fhir":
        from medtrack.core.importers.fhir import read_folder_entries

        if file.is_dir():
            files = sorted(p for p in file.rglob("*.json") if p.is_file())
            if not files:
                raise BadValue(f"{file} holds no .json files")
            if len(files) > _MAX_FOLDER_FILES:
                raise BadValue(
                    f"{file} holds over {_MAX_FOLDER_FILES} .json files; "
                    "name the folder of the records"
                )
            return read_folder_entries((p.name, _read_json(p)) for p in files)
        return read_folder_entries([(file.name, _read_json(file))])
    if source == "daylio":
        return _read_text(file)
    text = _read_text(file)
    # MedTimer writes a JSON backup and a CSV export: the content says which.
    if text.lstrip("\ufeff \t\r\n").startswith(("{", "[")):
        return _read_json(file)
    return text


# Own readers (not cli/data.py's), so this command does not depend on that module's
# private helpers; the messages are the same.


def _read_text(file: Path) -> str:
    from medtrack.errors import NotFound

    if not file.exists():
        raise NotFound(f"no file at {file}")
    if file.is_dir():
        raise BadValue(f"{file} is a folder; name a file")
    try:
        return file.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise BadValue(f"{file} is not UTF-8 text") from None
    except OSError as exc:
        raise BadValue(f"can't read {file}: {exc.strerror}") from None


def _read_json(file: Path) -> Any:
    import json

    def _no_constants(name: str) -> Any:
        raise BadValue(f"{file}: {name} is not a number JSON allows")

    try:
        return json.JSONDecoder(parse_constant=_no_constants).decode(_read_text(file))
    except json.JSONDecodeError as exc:
        raise BadValue(f"{file} is not JSON ({exc.msg}, line {exc.lineno})") from None
    except RecursionError:
        raise BadValue(f"{file} is nested too deeply") from None
