from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from medtrack.core.questionnaires import (
    CRISIS_LINES,
    GAD7,
    PHQ9,
    QUESTIONNAIRES,
    Questionnaire,
    band_for,
    get_questionnaire,
    parse_answers,
    safety_message,
    score,
)
from medtrack.errors import BadValue


def answers_totalling(q: Questionnaire, total: int) -> tuple[int, ...]:
    """Answers that sum to `total`, filled from the first item so item 9 stays 0 when it can."""
    answers = []
    left = total
    for _ in q.items:
        answers.append(min(left, q.max_answer))
        left -= answers[-1]
    assert left == 0
    return tuple(answers)


# --- the instruments as published ------------------------------------------------------------


def test_shapes_and_codes() -> None:
    assert len(PHQ9.items) == 9
    assert len(GAD7.items) == 7
    assert PHQ9.max_total == 27
    assert GAD7.max_total == 21
    assert (PHQ9.loinc_total, PHQ9.loinc_panel) == ("44261-6", "44249-1")
    assert (GAD7.loinc_total, GAD7.loinc_panel) == ("70274-6", "69737-5")
    assert PHQ9.items[8].loinc == "44260-8"
    assert PHQ9.safety_item == 9
    assert GAD7.safety_item is None
    assert GAD7.difficulty is None
    assert QUESTIONNAIRES == {"phq9": PHQ9, "gad7": GAD7}


def test_published_wording() -> None:
    stem = (
        "Over the last 2 weeks, how often have you been bothered by any of the following problems?"
    )
    assert PHQ9.stem == GAD7.stem == stem
    assert PHQ9.options == (
        "Not at all",
        "Several days",
        "More than half the days",
        "Nearly every day",
    )
    assert GAD7.options == PHQ9.options
    assert PHQ9.items[0].text == "Little interest or pleasure in doing things"
    assert PHQ9.items[8].text == (
        "Thoughts that you would be better off dead or of hurting yourself in some way"
    )
    assert GAD7.items[0].text == "Feeling nervous, anxious or on edge"
    assert GAD7.items[6].text == "Feeling afraid as if something awful might happen"
    assert PHQ9.difficulty is not None
    assert PHQ9.difficulty.options == (
        "Not difficult at all",
        "Somewhat difficult",
        "Very difficult",
        "Extremely difficult",
    )
    assert PHQ9.difficulty.text.startswith("If you checked off any problems, how difficult")


def test_bands_cover_every_total_exactly_once() -> None:
    for q in (PHQ9, GAD7):
        covered = [t for band in q.bands for t in range(band.low, band.high + 1)]
        assert covered == list(range(q.max_total + 1))


@pytest.mark.parametrize("key", ["phq9", "PHQ-9", "phq-9", " PHQ9 ", "Phq 9"])
def test_get_questionnaire_phq9(key: str) -> None:
    assert get_questionnaire(key) is PHQ9


@pytest.mark.parametrize("key", ["gad7", "GAD-7", "Gad7"])
def test_get_questionnaire_gad7(key: str) -> None:
    assert get_questionnaire(key) is GAD7


@pytest.mark.parametrize("key", ["phq2", "", "beck", "gad-2"])
def test_get_questionnaire_unknown_lists_valid(key: str) -> None:
    with pytest.raises(BadValue, match=r"PHQ-9, GAD-7"):
        get_questionnaire(key)


# --- bands at every boundary ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("total", "band"),
    [
        (0, "minimal"),
        (4, "minimal"),
        (5, "mild"),
        (9, "mild"),
        (10, "moderate"),
        (14, "moderate"),
        (15, "moderately severe"),
        (19, "moderately severe"),
        (20, "severe"),
        (27, "severe"),
    ],
)
def test_phq9_bands(total: int, band: str) -> None:
    assert band_for(PHQ9, total) == band
    assert score(PHQ9, answers_totalling(PHQ9, total)).band == band


@pytest.mark.parametrize(
    ("total", "band"),
    [
        (0, "minimal"),
        (4, "minimal"),
        (5, "mild"),
        (9, "mild"),
        (10, "moderate"),
        (14, "moderate"),
        (15, "severe"),
        (21, "severe"),
    ],
)
def test_gad7_bands(total: int, band: str) -> None:
    assert band_for(GAD7, total) == band
    assert score(GAD7, answers_totalling(GAD7, total)).band == band


@pytest.mark.parametrize(("q", "total"), [(PHQ9, -1), (PHQ9, 28), (GAD7, 22)])
def test_band_for_refuses_impossible_totals(q: Questionnaire, total: int) -> None:
    with pytest.raises(BadValue, match=rf"{q.name} totals are 0-{q.max_total}"):
        band_for(q, total)


# --- scoring --------------------------------------------------------------------------------


@pytest.mark.parametrize("q", [PHQ9, GAD7], ids=["phq9", "gad7"])
def test_each_item_is_scored(q: Questionnaire) -> None:
    for position in range(len(q.items)):
        for value in range(1, 4):
            answers = tuple(value if i == position else 0 for i in range(len(q.items)))
            result = score(q, answers)
            assert result.total == value
            assert result.answers == answers


def test_item9_flag_only_for_item9() -> None:
    for position in range(8):
        answers = tuple(3 if i == position else 0 for i in range(9))
        result = score(PHQ9, answers)
        assert result.safety_flag is False
        assert result.item9 == 0
    for value in (1, 2, 3):
        result = score(PHQ9, (0,) * 8 + (value,))
        assert result.safety_flag is True
        assert result.item9 == value
    assert score(PHQ9, (3,) * 8 + (0,)).safety_flag is False


def test_gad7_never_flags() -> None:
    result = score(GAD7, (3,) * 7)
    assert result.safety_flag is False
    assert result.item9 is None


def test_difficulty_is_recorded_not_scored() -> None:
    answers = (1, 1, 2, 0, 1, 0, 1, 0, 0)
    without = score(PHQ9, answers)
    for difficulty in range(4):
        with_it = score(PHQ9, answers, difficulty=difficulty)
        assert with_it.total == without.total == 6
        assert with_it.band == without.band
        assert with_it.difficulty == difficulty
    assert without.difficulty is None


def test_score_refuses_bad_input() -> None:
    with pytest.raises(BadValue, match="takes 9 answers"):
        score(PHQ9, (1,) * 7)
    with pytest.raises(BadValue, match="takes 7 answers"):
        score(GAD7, (0,) * 6 + (4,))
    with pytest.raises(BadValue, match="takes 7 answers"):
        score(GAD7, (0,) * 6 + (True,))
    with pytest.raises(BadValue, match="difficulty is 0-3"):
        score(PHQ9, (0,) * 9, difficulty=4)
    with pytest.raises(BadValue, match="GAD-7 has no difficulty question"):
        score(GAD7, (0,) * 7, difficulty=1)


# --- parsing --------------------------------------------------------------------------------


def test_parse_gad7() -> None:
    assert parse_answers(GAD7, "1,1,2,0,1,0,1") == ((1, 1, 2, 0, 1, 0, 1), None)
    assert parse_answers(GAD7, " 1, 1 ,2,  0,1,0 , 1 ") == ((1, 1, 2, 0, 1, 0, 1), None)


def test_parse_phq9_with_and_without_difficulty() -> None:
    assert parse_answers(PHQ9, "0,1,2,3,0,1,2,3,0") == ((0, 1, 2, 3, 0, 1, 2, 3, 0), None)
    assert parse_answers(PHQ9, "0,1,2,3,0,1,2,3,1, 2") == ((0, 1, 2, 3, 0, 1, 2, 3, 1), 2)


def test_parse_then_score() -> None:
    answers, difficulty = parse_answers(PHQ9, "3,3,3,3,3,3,3,3,3,3")
    result = score(PHQ9, answers, difficulty)
    assert (result.total, result.band, result.safety_flag, result.difficulty) == (
        27,
        "severe",
        True,
        3,
    )


@pytest.mark.parametrize(
    ("q", "text", "message"),
    [
        (GAD7, "1,1,2,0,1,0", r"got 6 answers; GAD-7 takes 7 answers"),
        (GAD7, "1,1,2,0,1,0,1,0", r"got 8 answers; GAD-7 takes 7 answers"),
        (PHQ9, "1,1,2,0,1,0,1", r"got 7 answers; PHQ-9 takes 9 answers"),
        (PHQ9, "0,0,0,0,0,0,0,0,0,0,0", r"got 11 answers; PHQ-9 takes 9 answers"),
        (GAD7, "", r"got 0 answers; GAD-7 takes 7 answers"),
        (GAD7, "   ", r"got 0 answers; GAD-7 takes 7 answers"),
        (GAD7, "1,1,2,4,1,0,1", r"answer 4 is '4'; GAD-7 takes 7 answers"),
        (GAD7, "1,-1,2,0,1,0,1", r"answer 2 is '-1'; GAD-7 takes 7 answers"),
        (GAD7, "a,1,2,0,1,0,1", r"answer 1 is 'a'; GAD-7 takes 7 answers"),
        (GAD7, "1,1,2,0,1,0,1.0", r"answer 7 is '1.0'; GAD-7 takes 7 answers"),
        (GAD7, "1,1,,0,1,0,1", r"answer 3 is empty; GAD-7 takes 7 answers"),
        (PHQ9, "0,0,0,0,0,0,0,0,0,4", r"answer 10 is '4'; PHQ-9 takes 9 answers"),
        (GAD7, "1 1 2 0 1 0 1", r"got 1 answers; GAD-7 takes 7 answers"),
    ],
)
def test_parse_refusals(q: Questionnaire, text: str, message: str) -> None:
    with pytest.raises(BadValue, match=message):
        parse_answers(q, text)


def test_parse_refusal_mentions_optional_difficulty_for_phq9_only() -> None:
    with pytest.raises(BadValue, match="10th for difficulty"):
        parse_answers(PHQ9, "1")
    with pytest.raises(BadValue) as excinfo:
        parse_answers(GAD7, "1")
    assert "difficulty" not in str(excinfo.value)


# --- the safety message ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("setting", "zone", "emergency", "line"),
    [
        (None, "America/New_York", "(911)", "call or text 988 (988 Suicide & Crisis Lifeline)"),
        (None, "Europe/Berlin", "(112)", "0800 111 0 111 or 0800 111 0 222 (TelefonSeelsorge"),
        (None, "Europe/London", "(999)", "116 123 (Samaritans"),
        (None, "Asia/Kolkata", "your local emergency number now", None),
        ("Tele-Hilfe 555 0100", "Europe/Berlin", "(112)", "Tele-Hilfe 555 0100"),
        ("Tele-Hilfe 555 0100", "Asia/Kolkata", "local emergency number now", "Tele-Hilfe"),
    ],
)
def test_safety_message_says_what_it_must(setting, zone, emergency, line) -> None:
    text = safety_message(setting, zone)
    assert "prescriber or care team" in text
    assert emergency in text
    if line is None:
        assert "crisis line" not in text and "988" not in text
    else:
        assert line in text
    if zone != "America/New_York":
        assert "988" not in text  # the US line is not offered in Berlin or Delhi
    assert "does not give medical advice" in text
    assert "flagged this check-in" in text
    # A few short lines that fit an 80-column terminal.
    assert len(text.splitlines()) <= 10
    assert all(len(line) <= 80 for line in text.splitlines())
    assert "!" not in text


def test_every_crisis_line_names_its_source() -> None:
    for country, entry in CRISIS_LINES.items():
        assert entry.country == country and entry.source.startswith("https://")


# --- properties -----------------------------------------------------------------------------


@st.composite
def questionnaire_and_answers(draw: st.DrawFn) -> tuple[Questionnaire, tuple[int, ...]]:
    q = draw(st.sampled_from([PHQ9, GAD7]))
    answers = draw(st.tuples(*[st.integers(0, q.max_answer) for _ in q.items]))
    return q, answers


@given(questionnaire_and_answers())
def test_total_is_the_sum(case: tuple[Questionnaire, tuple[int, ...]]) -> None:
    q, answers = case
    result = score(q, answers)
    assert result.total == sum(answers)
    assert result.band == band_for(q, result.total)
    if q is PHQ9:
        assert result.safety_flag == (answers[8] > 0)
    text = ", ".join(str(a) for a in answers)
    assert parse_answers(q, text) == (answers, None)


@given(st.sampled_from([PHQ9, GAD7]), st.data())
def test_band_is_monotone_in_total(q: Questionnaire, data: st.DataObject) -> None:
    lower = data.draw(st.integers(0, q.max_total))
    higher = data.draw(st.integers(lower, q.max_total))
    labels = [band.label for band in q.bands]
    assert labels.index(band_for(q, lower)) <= labels.index(band_for(q, higher))
