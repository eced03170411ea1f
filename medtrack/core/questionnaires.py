"""PHQ-9 and GAD-7: their items, answer options, scoring, severity bands and safety flag.

Both instruments were developed by Drs Robert L. Spitzer, Janet B. W. Williams, Kurt
Kroenke and colleagues with an educational grant from Pfizer Inc., and may be reproduced
without permission. Item texts follow the published English (US) forms; scoring and bands
follow Kroenke, Spitzer & Williams, J Gen Intern Med 2001;16:606-613 (PHQ-9) and
Spitzer, Kroenke, Williams & Löwe, Arch Intern Med 2006;166:1092-1097 (GAD-7).

Pure: no I/O, no clock. medtrack records and scores answers; it does not diagnose.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NamedTuple, TypeGuard

from medtrack.errors import BadValue

# The recall stem shared by both published forms.
TWO_WEEK_STEM = (
    "Over the last 2 weeks, how often have you been bothered by any of the following problems?"
)

# Index is the score of the option (0-3), as printed on both forms.
FREQUENCY_OPTIONS: tuple[str, ...] = (
    "Not at all",
    "Several days",
    "More than half the days",
    "Nearly every day",
)


@dataclass(frozen=True)
class Item:
    """One scored question; `loinc` is set where medtrack exports the item on its own."""

    text: str
    loinc: str | None = None


@dataclass(frozen=True)
class Band:
    """A severity band: totals from `low` to `high` inclusive are called `label`."""

    low: int
    high: int
    label: str


@dataclass(frozen=True)
class DifficultyQuestion:
    """The functional-impairment question printed after the items: recorded, never scored
    (Kroenke 2001 uses it only to describe impairment, not in the total)."""

    text: str
    options: tuple[str, ...]


@dataclass(frozen=True)
class Questionnaire:
    """A published questionnaire: what to ask, how to score it and how to code it."""

    key: str
    name: str
    title: str
    stem: str
    items: tuple[Item, ...]
    options: tuple[str, ...]
    bands: tuple[Band, ...]
    loinc_total: str
    loinc_panel: str
    difficulty: DifficultyQuestion | None = None
    # 1-based number of the item whose any non-zero answer flags the check-in for safety.
    safety_item: int | None = None

    @property
    def max_answer(self) -> int:
        return len(self.options) - 1

    @property
    def max_total(self) -> int:
        return self.max_answer * len(self.items)


@dataclass(frozen=True)
class CheckinResult:
    """A scored check-in. `item9` is the answer to PHQ-9 item 9 (None for GAD-7)."""

    key: str
    answers: tuple[int, ...]
    total: int
    band: str
    safety_flag: bool
    item9: int | None
    difficulty: int | None = None


PHQ9 = Questionnaire(
    key="phq9",
    name="PHQ-9",
    title="Patient Health Questionnaire (PHQ-9)",
    stem=TWO_WEEK_STEM,
    items=(
        Item("Little interest or pleasure in doing things"),
        Item("Feeling down, depressed, or hopeless"),
        Item("Trouble falling or staying asleep, or sleeping too much"),
        Item("Feeling tired or having little energy"),
        Item("Poor appetite or overeating"),
        Item(
            "Feeling bad about yourself — or that you are a failure or have let yourself "
            "or your family down"
        ),
        Item(
            "Trouble concentrating on things, such as reading the newspaper or watching television"
        ),
        Item(
            "Moving or speaking so slowly that other people could have noticed? Or the "
            "opposite — being so fidgety or restless that you have been moving around a lot "
            "more than usual"
        ),
        Item(
            "Thoughts that you would be better off dead or of hurting yourself in some way",
            loinc="44260-8",
        ),
    ),
    options=FREQUENCY_OPTIONS,
    # Kroenke 2001: cut points 5, 10, 15, 20.
    bands=(
        Band(0, 4, "minimal"),
        Band(5, 9, "mild"),
        Band(10, 14, "moderate"),
        Band(15, 19, "moderately severe"),
        Band(20, 27, "severe"),
    ),
    loinc_total="44261-6",
    loinc_panel="44249-1",
    difficulty=DifficultyQuestion(
        text=(
            "If you checked off any problems, how difficult have these problems made it for "
            "you to do your work, take care of things at home, or get along with other people?"
        ),
        options=(
            "Not difficult at all",
            "Somewhat difficult",
            "Very difficult",
            "Extremely difficult",
        ),
    ),
    safety_item=9,
)

GAD7 = Questionnaire(
    key="gad7",
    name="GAD-7",
    title="Generalized Anxiety Disorder 7-item scale (GAD-7)",
    stem=TWO_WEEK_STEM,
    items=(
        Item("Feeling nervous, anxious or on edge"),
        Item("Not being able to stop or control worrying"),
        Item("Worrying too much about different things"),
        Item("Trouble relaxing"),
        Item("Being so restless that it is hard to sit still"),
        Item("Becoming easily annoyed or irritable"),
        Item("Feeling afraid as if something awful might happen"),
    ),
    options=FREQUENCY_OPTIONS,
    # Spitzer 2006: cut points 5, 10, 15.
    bands=(
        Band(0, 4, "minimal"),
        Band(5, 9, "mild"),
        Band(10, 14, "moderate"),
        Band(15, 21, "severe"),
    ),
    loinc_total="70274-6",
    loinc_panel="69737-5",
)

QUESTIONNAIRES: dict[str, Questionnaire] = {q.key: q for q in (PHQ9, GAD7)}

# Shown right after a check-in whose PHQ-9 item 9 is above 0. It acknowledges, points to
# people who can help, and says what medtrack did; it gives no advice on treatment. It
# speaks to the person; the visit report words the same flag for the clinician.
SAFETY_MESSAGE = (
    "You said you have had thoughts that you would be better off dead\n"
    "or of hurting yourself. Thank you for answering honestly.\n"
    "Please contact your prescriber or care team soon to tell them.\n"
    "If this is an emergency, or you think you might act on these thoughts,\n"
    "call {emergency} now.\n"
    "{crisis}"
    "medtrack does not give medical advice. It has flagged this check-in\n"
    "so your reports show it at the top."
)


class CrisisLine(NamedTuple):
    country: str
    emergency: str  # the emergency number
    line: str  # a free crisis line, as its service names it
    source: str  # where the number was checked


# A small table, each entry with the page it was checked against (2026). A person whose
# country is not here, or who prefers another line, sets `config set crisis_line ...`.
CRISIS_LINES: dict[str, CrisisLine] = {
    "US": CrisisLine(
        "US", "911", "call or text 988 (988 Suicide & Crisis Lifeline)", "https://988lifeline.org"
    ),
    "CA": CrisisLine(
        "CA", "911", "call or text 988 (9-8-8 Suicide Crisis Helpline)", "https://988.ca"
    ),
    "GB": CrisisLine(
        "GB", "999", "call 116 123 (Samaritans, free, any time)", "https://www.samaritans.org"
    ),
    "IE": CrisisLine(
        "IE",
        "112 or 999",
        "call 116 123 (Samaritans, free, any time)",
        "https://www.samaritans.org/ireland/",
    ),
    "DE": CrisisLine(
        "DE",
        "112",
        "call 0800 111 0 111 or 0800 111 0 222 (TelefonSeelsorge, free, any time)",
        "https://www.telefonseelsorge.de",
    ),
    "AT": CrisisLine(
        "AT",
        "112 or 144",
        "call 142 (TelefonSeelsorge, free, any time)",
        "https://www.telefonseelsorge.at",
    ),
    "CH": CrisisLine(
        "CH",
        "112 or 144",
        "call 143 (Die Dargebotene Hand / La Main Tendue)",
        "https://www.143.ch",
    ),
    "FR": CrisisLine(
        "FR",
        "112 or 15",
        "call 3114 (numéro national de prévention du suicide)",
        "https://3114.fr",
    ),
    "NL": CrisisLine(
        "NL", "112", "call 113 or 0800-0113 (113 Zelfmoordpreventie)", "https://www.113.nl"
    ),
    "ES": CrisisLine(
        "ES",
        "112",
        "call 024 (Línea de atención a la conducta suicida)",
        "https://www.sanidad.gob.es/linea024/",
    ),
    "AU": CrisisLine("AU", "000", "call 13 11 14 (Lifeline)", "https://www.lifeline.org.au"),
    "NZ": CrisisLine("NZ", "111", "call or text 1737 (Need to talk?)", "https://1737.org.nz"),
}

# IANA zones of the countries above (the common ones; zone.tab lists them all). A zone
# not here falls back to "your local emergency number".
_ZONE_COUNTRY: dict[str, str] = {
    **dict.fromkeys(
        (
            "America/New_York",
            "America/Chicago",
            "America/Denver",
            "America/Phoenix",
            "America/Los_Angeles",
            "America/Anchorage",
            "America/Adak",
            "Pacific/Honolulu",
            "America/Detroit",
            "America/Boise",
            "America/Indiana/Indianapolis",
            "America/Kentucky/Louisville",
            "America/Puerto_Rico",
            "US/Eastern",
            "US/Central",
            "US/Mountain",
            "US/Pacific",
            "US/Alaska",
            "US/Hawaii",
            "US/Arizona",
        ),
        "US",
    ),
    **dict.fromkeys(
        (
            "America/Toronto",
            "America/Vancouver",
            "America/Edmonton",
            "America/Winnipeg",
            "America/Halifax",
            "America/St_Johns",
            "America/Regina",
            "America/Montreal",
            "America/Moncton",
            "America/Whitehorse",
            "Canada/Eastern",
            "Canada/Pacific",
        ),
        "CA",
    ),
    "Europe/London": "GB",
    "GB": "GB",
    "Europe/Belfast": "GB",
    "Europe/Dublin": "IE",
    "Eire": "IE",
    "Europe/Berlin": "DE",
    "Europe/Busingen": "DE",
    "Europe/Vienna": "AT",
    "Europe/Zurich": "CH",
    "Europe/Paris": "FR",
    "Europe/Amsterdam": "NL",
    "Europe/Madrid": "ES",
    "Atlantic/Canary": "ES",
    "Africa/Ceuta": "ES",
    **dict.fromkeys(
        (
            "Australia/Sydney",
            "Australia/Melbourne",
            "Australia/Brisbane",
            "Australia/Perth",
            "Australia/Adelaide",
            "Australia/Hobart",
            "Australia/Darwin",
            "Australia/Canberra",
            "Australia/ACT",
            "Australia/NSW",
            "Australia/Victoria",
        ),
        "AU",
    ),
    "Pacific/Auckland": "NZ",
    "NZ": "NZ",
    "Pacific/Chatham": "NZ",
}

LOCAL_EMERGENCY = "your local emergency number"


def crisis_line_for(zone: str | None) -> CrisisLine | None:
    """The table's entry for the country of an IANA zone, if it has one."""
    country = _ZONE_COUNTRY.get(zone or "")
    return None if country is None else CRISIS_LINES[country]


def safety_message(crisis_line: str | None = None, zone: str | None = None) -> str:
    """The message for the person after a positive item 9: the crisis line they set
    (`config set crisis_line`), else the one of the country of the zone in force, else
    only their local emergency number."""
    found = crisis_line_for(zone)
    emergency = f"your local emergency number ({found.emergency})" if found else LOCAL_EMERGENCY
    if crisis_line and crisis_line.strip():
        crisis = f"A crisis line you can reach at any time:\n  {crisis_line.strip()}\n"
    elif found is not None:
        crisis = f"A crisis line you can reach at any time:\n  {found.line}\n"
    else:
        crisis = ""
    return SAFETY_MESSAGE.format(emergency=emergency, crisis=crisis)


def get_questionnaire(key: str) -> Questionnaire:
    """The questionnaire called `key`: 'phq9', 'PHQ-9', 'gad7', 'GAD-7' (any case)."""
    canonical = key.strip().casefold().replace("-", "").replace(" ", "")
    try:
        return QUESTIONNAIRES[canonical]
    except KeyError:
        valid = ", ".join(q.name for q in QUESTIONNAIRES.values())
        raise BadValue(f"no questionnaire called '{key}'; choose one of {valid}") from None


_WHOLE_NUMBER = re.compile(r"[0-9]+")


def _expected(q: Questionnaire) -> str:
    """The accepted form of an answer list, for error messages."""
    example = ",".join(["0"] * len(q.items))
    text = (
        f"{q.name} takes {len(q.items)} answers from 0 to {q.max_answer} "
        f"separated by commas, e.g. {example}"
    )
    if q.difficulty is not None:
        highest = len(q.difficulty.options) - 1
        text += f", and optionally a {len(q.items) + 1}th for difficulty (0-{highest}, not scored)"
    return text


def parse_answers(q: Questionnaire, text: str) -> tuple[tuple[int, ...], int | None]:
    """Read "1,1,2,0,1,0,1" into `(answers, difficulty)`.

    Spaces around commas are allowed. Where the questionnaire has a difficulty question
    (PHQ-9), one extra value after the items is that answer; otherwise difficulty is None.
    """
    stripped = text.strip()
    tokens = [token.strip() for token in stripped.split(",")] if stripped else []
    allowed = {len(q.items)} | ({len(q.items) + 1} if q.difficulty is not None else set())
    if len(tokens) not in allowed:
        raise BadValue(f"got {len(tokens)} answers; {_expected(q)}")
    values: list[int] = []
    for position, token in enumerate(tokens, start=1):
        # Whole ASCII numbers only: '1.0', '+1', '-1' and blanks are mistakes to point out.
        value = int(token) if _WHOLE_NUMBER.fullmatch(token) else None
        if value is None or value > q.max_answer:
            shown = f"'{token}'" if token else "empty"
            raise BadValue(f"answer {position} is {shown}; {_expected(q)}")
        values.append(value)
    if len(values) > len(q.items):
        return tuple(values[:-1]), values[-1]
    return tuple(values), None


def band_for(q: Questionnaire, total: int) -> str:
    """The severity band of a total score, e.g. band_for(PHQ9, 12) == 'moderate'."""
    for band in q.bands:
        if band.low <= total <= band.high:
            return band.label
    raise BadValue(f"{q.name} totals are 0-{q.max_total}; got {total}")


def score(
    q: Questionnaire, answers: tuple[int, ...], difficulty: int | None = None
) -> CheckinResult:
    """Sum the item answers, band the total and raise the safety flag where it applies.

    The difficulty answer is kept on the result but never added to the total.
    """
    answers = tuple(answers)
    if len(answers) != len(q.items) or not all(_is_answer(q, a) for a in answers):
        raise BadValue(f"got answers {answers}; {_expected(q)}")
    if difficulty is not None:
        if q.difficulty is None:
            raise BadValue(f"{q.name} has no difficulty question")
        highest = len(q.difficulty.options) - 1
        if not _is_whole(difficulty) or not 0 <= difficulty <= highest:
            raise BadValue(f"difficulty is 0-{highest}; got {difficulty}")
    total = sum(answers)
    safety_value = answers[q.safety_item - 1] if q.safety_item is not None else None
    return CheckinResult(
        key=q.key,
        answers=answers,
        total=total,
        band=band_for(q, total),
        safety_flag=bool(safety_value),
        item9=safety_value,
        difficulty=difficulty,
    )


def _is_answer(q: Questionnaire, value: object) -> bool:
    return _is_whole(value) and 0 <= value <= q.max_answer


def _is_whole(value: object) -> TypeGuard[int]:
    # bool is an int subclass, but True is not an answer anyone gave.
    return isinstance(value, int) and not isinstance(value, bool)
