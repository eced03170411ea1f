"""The words of `medtrack import FILE --from APP`: what would be (or was) added, per kind,
its first lines, and what is not imported and why. Lines are returned, the CLI prints
them (through common.say, which makes stored text visible, never obeyed)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from medtrack.core.importers import ImportPlan
from medtrack.core.schedule import ZoneTimeline
from medtrack.render.records import local_text

APP_NAMES = {"medtimer": "MedTimer", "daylio": "Daylio", "fhir": "FHIR"}
FIRST_LINES = 5
_SINGULAR = {
    "medications": "medication",
    "doses": "dose",
    "symptoms": "symptom",
    "measurements": "measurement",
    "checkins": "check-in",
    "side_effects": "side effect",
}


def _count(n: int, kind: str) -> str:
    plural = {"checkins": "check-ins", "side_effects": "side effects"}.get(kind, kind)
    return f"{n} {_SINGULAR[kind] if n == 1 else plural}"


def _line(kind: str, record: Any, zones: ZoneTimeline) -> str:
    if kind == "medications":
        return f"{record.name}: {record.plan_words}"
    when = local_text(record.at, zones)
    if kind == "doses":
        amount = f"  {record.amount}" if record.amount is not None else ""
        reason = f" ({record.reason})" if record.reason else ""
        text = f"{when}  {record.medication}  {record.status}{reason}{amount}"
    elif kind == "symptoms":
        unit = f" {record.unit}" if record.unit else "/10"
        text = f"{when}  {record.name} {record.value:g}{unit}"
    elif kind == "measurements":
        text = f"{when}  {record.measurement.kind} {record.measurement}"
    elif kind == "checkins":
        text = f"{when}  {record.questionnaire} total {record.total} ({record.band})"
    else:
        medication = f" ({record.medication})" if record.medication else ""
        resolved = (
            f", resolved {local_text(record.resolved_at, zones)}" if record.resolved_at else ""
        )
        text = f"{when}  {record.name}{medication} {record.severity}{resolved}"
    note = getattr(record, "note", None)
    return text + (f"  — {note}" if note else "")


def import_lines(
    plan: ImportPlan, result: Any, *, file: str, zones: ZoneTimeline, applied: bool
) -> list[str]:
    """The report of an import: a dry run ('would add') or what --apply added."""
    app = APP_NAMES[plan.source]
    lines = [
        f"Imported from {file} ({app}):"
        if applied
        else f"Dry run of {file} ({app}): nothing is written; add --apply to import."
    ]
    verb = "added" if applied else "to add"
    for kind, added in result.added.items():
        present = result.present[kind]
        if not added and not present:
            continue
        here = f", {present} already here" if present else ""
        lines.append(f"{_count(len(added), kind)} {verb}{here}")
        shown = added if kind == "medications" else added[:FIRST_LINES]
        lines.extend(f"  {_line(kind, record, zones)}" for record in shown)
        if len(added) > len(shown):
            lines.append(f"  … and {len(added) - len(shown)} more")
    skipped = [*plan.skipped, *result.skipped]
    if skipped:
        lines.append(f"{len(skipped)} not imported:")
        reasons = Counter((s.kind, s.why) for s in skipped)
        for (kind, why), n in reasons.items():
            examples = [s.where for s in skipped if (s.kind, s.why) == (kind, why)][:3]
            lines.append(f"  {n} × {kind}: {why} (e.g. {', '.join(examples)})")
    if len(lines) == 1:
        lines.append("The file holds nothing medtrack records.")
    return lines


def import_dict(
    plan: ImportPlan, result: Any, *, file: str, zones: ZoneTimeline, applied: bool
) -> dict[str, Any]:
    """`import --from ... --json`: the same report as `import_lines`, for scripts: counts
    per kind (added, or to add in a dry run, and already here), every line added, and
    what is not imported, by reason."""
    skipped = [*plan.skipped, *result.skipped]
    reasons = Counter((s.kind, s.why) for s in skipped)
    return {
        "file": file,
        "source": plan.source,
        "applied": applied,
        "kinds": {
            kind: {
                "added": len(added),
                "already_here": result.present[kind],
                "lines": [_line(kind, record, zones) for record in added],
            }
            for kind, added in result.added.items()
        },
        "not_imported": [
            {
                "kind": kind,
                "why": why,
                "count": n,
                "examples": [s.where for s in skipped if (s.kind, s.why) == (kind, why)][:3],
            }
            for (kind, why), n in reasons.items()
        ],
    }
