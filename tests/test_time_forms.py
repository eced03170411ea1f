"""Issue 20 item 2: the precise forms people type for a time, in either order of day and
clock; an hour without am/pm asked about or refused with both readings; vague phrases
refused with the precise form to type."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from medtrack.cli import app, common
from medtrack.core.models import ZoneChange
from medtrack.core.schedule import ZoneTimeline
from medtrack.core.timeparse import AmbiguousTime, parse_when
from medtrack.errors import BadTime

BERLIN = ZoneInfo("Europe/Berlin")
# Sunday 6 December 2026, 10:00 in Berlin (UTC+1).
NOW = datetime(2026, 12, 6, 10, 0, tzinfo=BERLIN)
YESTERDAY = date(2026, 12, 5)
TODAY = date(2026, 12, 6)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=BERLIN)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("9pm yesterday", at(YESTERDAY, 21)),
        ("9 pm yesterday", at(YESTERDAY, 21)),
        ("8:00pm yesterday", at(YESTERDAY, 20)),
        ("yesterday at 21:00", at(YESTERDAY, 21)),
        ("yesterday 9pm", at(YESTERDAY, 21)),
        ("0930", at(TODAY, 9, 30)),
        ("0805", at(TODAY, 8, 5)),
        ("2030 yesterday", at(YESTERDAY, 20, 30)),
        ("noon yesterday", at(YESTERDAY, 12)),
        ("midnight", at(TODAY, 0)),
        ("yesterday at midnight", at(YESTERDAY, 0)),
        ("at 08:30", at(TODAY, 8, 30)),
        ("at 9am", at(TODAY, 9)),
        ("8:55pm 2026-12-03", at(date(2026, 12, 3), 20, 55)),
        ("2026-12-03 at 8:55pm", at(date(2026, 12, 3), 20, 55)),
        ("8:55pm on 2026-12-03", at(date(2026, 12, 3), 20, 55)),
        ("9pm fri", at(date(2026, 12, 4), 21)),
        # An hour without am/pm where only one reading is past: that one.
        ("at 9", at(TODAY, 9)),
        ("yesterday at 13", at(YESTERDAY, 13)),
        ("yesterday at 0", at(YESTERDAY, 0)),
    ],
)
def test_precise_forms(text: str, expected: datetime) -> None:
    assert parse_when(text, NOW) == expected


def test_noon_and_at_in_the_future_need_allow_future() -> None:
    with pytest.raises(BadTime, match="in the future"):
        parse_when("noon", NOW)
    assert parse_when("at 21:30", NOW, allow_future=True) == at(TODAY, 21, 30)


@pytest.mark.parametrize(
    ("text", "first", "second", "hint"),
    [
        ("yesterday at 9", "2026-12-05 09:00", "2026-12-05 21:00", "'yesterday 9am'"),
        ("yesterday 12", "2026-12-05 00:00", "2026-12-05 12:00", "'yesterday 12pm'"),
        ("fri at 7", "2026-12-04 07:00", "2026-12-04 19:00", "'fri 7am' or 'fri 7pm'"),
    ],
)
def test_an_ambiguous_hour_is_refused_with_both_readings(
    text: str, first: str, second: str, hint: str
) -> None:
    with pytest.raises(AmbiguousTime) as caught:
        parse_when(text, NOW)
    message = caught.value.message
    assert f"could be {first} or {second}" in message
    assert hint in message
    assert [w.strftime("%Y-%m-%d %H:%M") for w in caught.value.readings] == [first, second]


def test_bare_number_alone_is_still_refused() -> None:
    with pytest.raises(BadTime, match="can't read time '8'"):
        parse_when("8", NOW)


@pytest.mark.parametrize(
    ("text", "precise"),
    [
        ("last night", "yesterday 22:00"),
        ("this morning", "8am"),
        ("Last  Night", "yesterday 22:00"),
        ("tonight", "21:00"),
        ("yesterday evening", "yesterday 20:00"),
    ],
)
def test_vague_phrases_are_refused_with_the_precise_form(text: str, precise: str) -> None:
    with pytest.raises(BadTime) as caught:
        parse_when(text, NOW)
    assert caught.value.message.endswith(f"is not a time: type the time it was, e.g. '{precise}'")


# --- round trips ------------------------------------------------------------------------------

DAY_FORMS = {
    "yesterday": YESTERDAY,
    "today": TODAY,
    "2026-12-03": date(2026, 12, 3),
    "wed": date(2026, 12, 2),
}


def _twelve(clock: time) -> str:
    hour = clock.hour % 12 or 12
    return f"{hour}:{clock.minute:02d}{'am' if clock.hour < 12 else 'pm'}"


FORMS = {
    "clock day": lambda d, c: f"{_twelve(c)} {d}",
    "day at clock": lambda d, c: f"{d} at {c.strftime('%H:%M')}",
    "day 12h": lambda d, c: f"{d} {_twelve(c)}",
    "hhmm day": lambda d, c: f"{c.strftime('%H%M')} {d}",
    "at clock on day": lambda d, c: f"at {c.strftime('%H:%M')} on {d}",
    "day at hhmm": lambda d, c: f"{d} at {c.strftime('%H%M')}",
}


@pytest.mark.parametrize("form", sorted(FORMS))
@given(
    day=st.sampled_from(sorted(DAY_FORMS)),
    clock=st.times().map(lambda t: t.replace(second=0, microsecond=0)),
)
def test_every_form_reads_back_the_time_it_was_written_from(form: str, day: str, clock: time):
    wanted = datetime.combine(DAY_FORMS[day], clock, tzinfo=BERLIN)
    text = FORMS[form](day, clock)
    if wanted > NOW + timedelta(minutes=1):
        with pytest.raises(BadTime, match="in the future"):
            parse_when(text, NOW)
        assert parse_when(text, NOW, allow_future=True) == wanted
        return
    assert parse_when(text, NOW) == wanted


@given(clock=st.times().map(lambda t: t.replace(second=0, microsecond=0)))
def test_named_and_bare_clock_forms_read_back(clock: time) -> None:
    wanted = datetime.combine(TODAY, clock, tzinfo=BERLIN)
    for text in (clock.strftime("%H%M"), f"at {clock.strftime('%H:%M')}", _twelve(clock)):
        assert parse_when(text, NOW, allow_future=True) == wanted
    named = {time(12): "noon", time(0): "midnight"}
    if clock in named:
        assert parse_when(named[clock], NOW, allow_future=True) == wanted


@given(hour=st.integers(1, 12), back=st.integers(1, 6))
def test_an_hour_without_am_pm_is_either_one_reading_or_refused_with_both(hour: int, back: int):
    day = TODAY - timedelta(days=back)
    text = f"{day.isoformat()} at {hour}"
    with pytest.raises(AmbiguousTime) as caught:
        parse_when(text, NOW)
    am, pm = caught.value.readings
    assert (am.hour, pm.hour) == (hour % 12, hour % 12 + 12)
    assert am.date() == pm.date() == day


def test_the_forms_read_by_the_zone_history() -> None:
    """`9pm 2026-12-03` typed in Berlin for a day spent in New York is 21:00 there."""
    changes = [
        ZoneChange(datetime(1970, 1, 1, tzinfo=ZoneInfo("UTC")), "Europe/Berlin"),
        ZoneChange(datetime(2026, 12, 2, 12, tzinfo=ZoneInfo("UTC")), "America/New_York"),
        ZoneChange(datetime(2026, 12, 5, 8, tzinfo=ZoneInfo("UTC")), "Europe/Berlin"),
    ]
    zones = ZoneTimeline("Europe/Berlin", changes)
    read = parse_when("9pm 2026-12-03", NOW, zones=zones)
    assert read.isoformat() == "2026-12-03T21:00:00-05:00"
    assert parse_when("2026-12-03 at 9pm", NOW, zones=zones) == read


# --- the question on a terminal -----------------------------------------------------------------


@pytest.fixture
def med():
    runner = CliRunner()
    now = {"MEDTRACK_NOW": "2026-12-06T10:00:00+01:00"}
    args = ["med", "add", "sertraline", "--dose", "50mg", "--schedule", "daily 08:00,21:00"]
    result = runner.invoke(app, [*args, "--start", "2026-12-01"], env=now)
    assert result.exit_code == 0, result.output
    return runner, now


def test_ambiguous_hour_is_refused_without_a_terminal(med) -> None:
    runner, now = med
    result = runner.invoke(app, ["take", "sertraline", "--at", "yesterday at 9"], env=now)
    assert result.exit_code != 0
    assert (
        "'yesterday at 9' could be 2026-12-05 09:00 or 2026-12-05 21:00: "
        "type 'yesterday 9am' or 'yesterday 9pm'"
    ) in result.stderr


def test_ambiguous_hour_is_asked_on_a_terminal(med, monkeypatch) -> None:
    runner, now = med
    monkeypatch.setattr(common, "stdin_is_terminal", lambda: True)
    monkeypatch.setattr(common, "is_terminal", lambda: True)
    result = runner.invoke(
        app, ["take", "sertraline", "--at", "yesterday at 9"], env=now, input="2\n"
    )
    assert result.exit_code == 0, result.output
    assert "1) 2026-12-05 09:00 or 2) 2026-12-05 21:00?" in result.stderr
    assert "21:00 dose, taken yesterday 21:00, on time" in result.stdout
