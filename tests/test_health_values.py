from __future__ import annotations

import math
from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from medtrack.core.health import (
    LOINC,
    LOINC_BP_COMPONENTS,
    SEVERITIES,
    VISIT_KINDS,
    Measurement,
    SideEffect,
    check_symptom_value,
    clean_text,
    clean_unit,
    days_until,
    loinc_for,
    match_open_side_effect,
    normalize_kind,
    normalize_symptom_name,
    parse_measurement,
    parse_severity,
    parse_symptom_value,
    parse_visit_kind,
    window_start,
)
from medtrack.core.models import ZoneChange
from medtrack.core.schedule import ZoneTimeline
from medtrack.errors import BadValue, Conflict

# --- symptoms -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("  Sleep   Quality ", "sleep quality"),
        ("mood", "mood"),
        ("MOOD", "mood"),
        ("Sleep\tQuality\n", "sleep quality"),
        ("Straße", "strasse"),  # case-folded, not just lower-cased
    ],
)
def test_normalize_symptom_name(text: str, name: str) -> None:
    assert normalize_symptom_name(text) == name


@pytest.mark.parametrize("text", ["", "   ", "\t\n"])
def test_normalize_symptom_name_refuses_empty(text: str) -> None:
    with pytest.raises(BadValue, match="needs a name"):
        normalize_symptom_name(text)


@pytest.mark.parametrize("value", [0, 0.0, 6, 7.5, 10])
def test_rating_without_unit(value: float) -> None:
    assert check_symptom_value(value, None) == float(value)


@pytest.mark.parametrize("value", [-0.5, 10.5, 11, 100])
def test_rating_outside_0_10_refused(value: float) -> None:
    with pytest.raises(BadValue, match=r"ratings are 0-10; give --unit for other values"):
        check_symptom_value(value, None)


def test_blank_unit_is_no_unit() -> None:
    with pytest.raises(BadValue, match="ratings are 0-10"):
        check_symptom_value(42, "  ")


@pytest.mark.parametrize(("value", "unit"), [(0, "h"), (7.5, "h"), (42, "min"), (12000, "steps")])
def test_value_with_unit(value: float, unit: str) -> None:
    assert check_symptom_value(value, unit) == float(value)


def test_negative_value_with_unit_refused() -> None:
    with pytest.raises(BadValue, match="cannot be negative"):
        check_symptom_value(-1, "h")


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize("unit", [None, "h"])
def test_non_finite_symptom_values_refused(value: float, unit: str | None) -> None:
    with pytest.raises(BadValue, match="finite number"):
        check_symptom_value(value, unit)


@pytest.mark.parametrize(
    ("text", "severity"), [("mild", "mild"), (" Moderate ", "moderate"), ("SEVERE", "severe")]
)
def test_parse_severity(text: str, severity: str) -> None:
    assert parse_severity(text) == severity
    assert severity in SEVERITIES


@pytest.mark.parametrize("text", ["", "bad", "2", "very severe"])
def test_parse_severity_refused(text: str) -> None:
    with pytest.raises(BadValue, match="mild, moderate, severe"):
        parse_severity(text)


# --- kinds ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("weight", "weight"),
        ("Weight", "weight"),
        ("body weight", "weight"),
        ("bp", "bp"),
        ("BP", "bp"),
        ("blood pressure", "bp"),
        ("Blood-Pressure", "bp"),
        ("hr", "heart_rate"),
        ("heart-rate", "heart_rate"),
        ("heart rate", "heart_rate"),
        ("Heart Rate", "heart_rate"),
        ("heart_rate", "heart_rate"),
        ("pulse", "heart_rate"),
        ("Lithium", "lithium"),
        ("  Vitamin   D ", "vitamin d"),
        ("25-OH vitamin D", "25-oh vitamin d"),
    ],
)
def test_normalize_kind(text: str, kind: str) -> None:
    assert normalize_kind(text) == kind


def test_empty_kind_refused() -> None:
    with pytest.raises(BadValue, match="needs a kind"):
        normalize_kind("  ")


# --- accepted measurements ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "text", "unit", "expected"),
    [
        ("weight", "72.4kg", None, Measurement("weight", 72.4, None, "kg")),
        ("weight", "72.4 kg", None, Measurement("weight", 72.4, None, "kg")),
        ("weight", "72.4KG", None, Measurement("weight", 72.4, None, "kg")),
        ("weight", "160lb", None, Measurement("weight", 160.0, None, "lb")),
        ("weight", "160 lbs", None, Measurement("weight", 160.0, None, "lb")),
        ("weight", "160 pounds", None, Measurement("weight", 160.0, None, "lb")),
        ("weight", "72.4", "kg", Measurement("weight", 72.4, None, "kg")),
        ("weight", "160", "lbs", Measurement("weight", 160.0, None, "lb")),
        ("weight", "72.4kg", "kg", Measurement("weight", 72.4, None, "kg")),
        ("weight", "2kg", None, Measurement("weight", 2.0, None, "kg")),
        ("weight", "400kg", None, Measurement("weight", 400.0, None, "kg")),
        ("weight", "4lb", None, Measurement("weight", 4.0, None, "lb")),
        ("weight", "900lb", None, Measurement("weight", 900.0, None, "lb")),
        ("bp", "128/82", None, Measurement("bp", 128.0, 82.0, "mmHg")),
        ("BP", " 128 / 82 ", None, Measurement("bp", 128.0, 82.0, "mmHg")),
        ("blood pressure", "128/82 mmHg", None, Measurement("bp", 128.0, 82.0, "mmHg")),
        ("bp", "128/82", "mmHg", Measurement("bp", 128.0, 82.0, "mmHg")),
        ("bp", "50/20", None, Measurement("bp", 50.0, 20.0, "mmHg")),
        ("bp", "260/160", None, Measurement("bp", 260.0, 160.0, "mmHg")),
        ("hr", "64", None, Measurement("heart_rate", 64.0, None, "bpm")),
        ("heart-rate", "64bpm", None, Measurement("heart_rate", 64.0, None, "bpm")),
        ("pulse", "64 bpm", None, Measurement("heart_rate", 64.0, None, "bpm")),
        ("heart rate", "64", "bpm", Measurement("heart_rate", 64.0, None, "bpm")),
        ("hr", "20", None, Measurement("heart_rate", 20.0, None, "bpm")),
        ("hr", "250", None, Measurement("heart_rate", 250.0, None, "bpm")),
        ("lithium", "0.8", "mmol/L", Measurement("lithium", 0.8, None, "mmol/L")),
        ("Lithium", "0.8mmol/L", None, Measurement("lithium", 0.8, None, "mmol/L")),
        ("lithium", "0.8 mmol/L", None, Measurement("lithium", 0.8, None, "mmol/L")),
        ("lithium", ".8", "mEq/L", Measurement("lithium", 0.8, None, "mEq/L")),
        ("lithium", "0", "mmol/L", Measurement("lithium", 0.0, None, "mmol/L")),
        ("TSH", "1e-5 mIU/L", None, Measurement("tsh", 1e-5, None, "mIU/L")),
        ("HbA1c", "6.1%", None, Measurement("hba1c", 6.1, None, "%")),
        ("valproate", "75", "mg/L", Measurement("valproate", 75.0, None, "mg/L")),
    ],
)
def test_accepted_measurements(
    kind: str, text: str, unit: str | None, expected: Measurement
) -> None:
    assert parse_measurement(kind, text, unit) == expected


# --- refused measurements -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "text", "unit", "message"),
    [
        ("weight", "-3kg", None, r"weight is a number with kg or lb.*got -3 kg"),
        ("weight", "0kg", None, r"2-400 kg.*got 0 kg"),
        ("weight", "1.9kg", None, r"got 1.9 kg"),
        ("weight", "401kg", None, r"got 401 kg"),
        ("weight", "901lb", None, r"got 901 lb"),
        ("weight", "3lb", None, r"got 3 lb"),
        ("weight", "7240kg", None, r"got 7240 kg"),
        ("weight", "72", None, r"without a unit"),
        ("weight", "72 st", None, r"got unit 'st'"),
        ("weight", "72.4", "mmol/L", r"got unit 'mmol/L'"),
        ("weight", "72kg", "lb", r"two units, 'kg' and 'lb'"),
        ("weight", "abc", None, r"weight is a number.*got 'abc'"),
        ("weight", "", None, r"weight is a number.*got ''"),
        ("weight", "nan kg", None, r"got 'nan kg'"),
        ("weight", "72,4kg", None, r"decimals with a point, not a comma: got '72,4kg'"),
        ("lithium", "0,8", "mmol/L", r"decimals with a point"),
        ("bp", "400/20", None, r"blood pressure is systolic/diastolic.*e\.g\. 128/82.*got 400/20"),
        ("bp", "80/120", None, r"systolic above diastolic.*got 80/120"),
        ("bp", "120/120", None, r"got 120/120"),
        ("bp", "49/30", None, r"got 49/30"),
        ("bp", "140/19", None, r"got 140/19"),
        ("bp", "261/100", None, r"got 261/100"),
        ("bp", "200/161", None, r"got 200/161"),
        ("bp", "abc", None, r"blood pressure is systolic/diastolic.*got 'abc'"),
        ("bp", "128", None, r"got '128'"),
        ("bp", "128/82/70", None, r"got '128/82/70'"),
        ("bp", "128.5/82", None, r"got '128.5/82'"),
        ("bp", "-128/82", None, r"got '-128/82'"),
        ("bp", "128/82", "kPa", r"got unit 'kPa'"),
        ("hr", "19", None, r"heart rate is beats per minute.*got 19"),
        ("hr", "251", None, r"got 251"),
        ("hr", "-60", None, r"got -60"),
        ("hr", "64", "Hz", r"got unit 'Hz'"),
        ("hr", "fast", None, r"got 'fast'"),
        ("lithium", "0.8", None, r"lithium is a lab value: a number and its unit.*without a unit"),
        ("lithium", "0.8", "  ", r"without a unit"),
        ("lithium", "-0.1", "mmol/L", r"not negative; got -0.1 mmol/L"),
        ("lithium", "nan", "mmol/L", r"got 'nan'"),
        ("lithium", "NaN mmol/L", None, r"got 'NaN mmol/L'"),
        ("lithium", "inf", "mmol/L", r"got 'inf'"),
        ("lithium", "1e400", "mmol/L", r"got '1e400'"),
        ("lithium", "abc", "mmol/L", r"got 'abc'"),
        ("lithium", "0.8 2", None, r"got unit '2'"),
        ("lithium", "0.8 mmol/L", "mg/L", r"two units"),
    ],
)
def test_refused_measurements(kind: str, text: str, unit: str | None, message: str) -> None:
    with pytest.raises(BadValue, match=message):
        parse_measurement(kind, text, unit)


def test_refusals_are_one_line() -> None:
    with pytest.raises(BadValue) as excinfo:
        parse_measurement("bp", "400/20")
    assert "\n" not in excinfo.value.message


# --- codes ----------------------------------------------------------------------------------


def test_loinc_codes() -> None:
    assert dict(LOINC) == {
        "weight": "29463-7",
        "bp": "85354-9",
        "heart_rate": "8867-4",
        "lithium": "14334-7",
    }
    assert dict(LOINC_BP_COMPONENTS) == {"systolic": "8480-6", "diastolic": "8462-4"}


@pytest.mark.parametrize(
    ("kind", "text", "code"),
    [
        ("weight", "72kg", "29463-7"),
        ("bp", "128/82", "85354-9"),
        ("pulse", "64", "8867-4"),
        ("lithium", "0.8 mmol/L", "14334-7"),
        ("lithium", "0.8 mEq/L", "14334-7"),
        ("lithium", "5.5 mg/L", None),  # 14334-7 is moles per volume, not mass
        ("tsh", "2 mIU/L", None),
    ],
)
def test_loinc_for(kind: str, text: str, code: str | None) -> None:
    assert loinc_for(parse_measurement(kind, text)) == code


# --- text round trips -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("measurement", "text"),
    [
        (Measurement("weight", 72.4, None, "kg"), "72.4 kg"),
        (Measurement("weight", 160.0, None, "lb"), "160 lb"),
        (Measurement("bp", 128.0, 82.0, "mmHg"), "128/82 mmHg"),
        (Measurement("heart_rate", 64.0, None, "bpm"), "64 bpm"),
        (Measurement("tsh", 1e-5, None, "mIU/L"), "0.00001 mIU/L"),
    ],
)
def test_str(measurement: Measurement, text: str) -> None:
    assert str(measurement) == text
    assert parse_measurement(measurement.kind, text) == measurement


@st.composite
def plausible_weights(draw: st.DrawFn) -> tuple[float, str]:
    unit = draw(st.sampled_from(["kg", "lb"]))
    low, high = (2.0, 400.0) if unit == "kg" else (4.0, 900.0)
    return draw(st.floats(low, high)), unit


@given(plausible_weights(), st.sampled_from(["", " "]), st.sampled_from(["", "s"]))
def test_plausible_weights_round_trip(case: tuple[float, str], space: str, plural: str) -> None:
    value, unit = case
    suffix = unit + (plural if unit == "lb" else "")
    for text in (f"{value!r}{space}{suffix}", f"{value:.1f}{space}{suffix}"):
        measurement = parse_measurement("weight", text)
        assert measurement.kind == "weight"
        assert measurement.unit == unit
        assert measurement.value2 is None
        assert measurement.value == float(text.removesuffix(suffix).strip())
        assert parse_measurement("weight", str(measurement)) == measurement
    assert parse_measurement("weight", repr(value), unit).value == value


@given(st.floats(min_value=0, max_value=1_000_000), st.sampled_from(["mmol/L", "%"]))
def test_lab_values_round_trip_through_str(value: float, unit: str) -> None:
    measurement = parse_measurement("lithium", f"{value!r}", unit)
    assert measurement.value == value
    assert parse_measurement("lithium", str(measurement)) == measurement


@given(st.floats(min_value=1_000_000, exclude_min=True, allow_infinity=False))
def test_lab_values_above_a_million_are_refused(value: float) -> None:
    # A lone 1e20 has no drawable range (1e20 - 1 == 1e20 + 1): the report's charts
    # would divide by zero; a million of any lab unit is a typing slip.
    with pytest.raises(BadValue, match="at most 1,000,000"):
        parse_measurement("lithium", f"{value!r}", "mmol/L")


# --- symptom values as typed --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "unit", "value"),
    [("4", None, 4.0), (" 6.5 ", "h", 6.5), ("0", None, 0.0), ("10", None, 10.0), ("-0", None, 0.0),
     (".5", None, 0.5), ("12", "h", 12.0), ("120", "min", 120.0)],
)  # fmt: skip
def test_parse_symptom_value(text: str, unit: str | None, value: float) -> None:
    assert parse_symptom_value(text, unit) == value
    assert not math.copysign(1, parse_symptom_value(text, unit)) < 0


@pytest.mark.parametrize(
    ("text", "unit", "message"),
    [("four", None, "rating from 0 to 10"), ("nan", None, "rating"), ("inf", "h", "--unit"),
     ("1e3", "h", "--unit"), ("", None, "rating"), ("10.5", None, "ratings are 0-10"),
     ("-1", None, "ratings are 0-10"), ("-2", "h", "cannot be negative"), ("4,5", None, "rating")],
)  # fmt: skip
def test_parse_symptom_value_refused(text: str, unit: str | None, message: str) -> None:
    with pytest.raises(BadValue, match=message):
        parse_symptom_value(text, unit)


def test_clean_unit_and_text() -> None:
    assert clean_unit(None) is None
    assert clean_unit("  ") is None
    assert clean_unit(" hours  of sleep ") == "hours of sleep"
    assert clean_text("  ", "note") is None
    assert clean_text(" x ", "note") == "x"
    with pytest.raises(BadValue, match="the note is empty"):
        clean_text(" ", "note", required=True)
    with pytest.raises(BadValue, match="longer than 2000"):
        clean_text("x" * 2001, "note")


def test_parse_visit_kind() -> None:
    assert VISIT_KINDS == ("prescriber", "therapist", "other")
    assert parse_visit_kind(" Therapist ") == "therapist"
    with pytest.raises(BadValue, match="prescriber, therapist, other"):
        parse_visit_kind("dentist")


# --- which open side effect a report continues ----------------------------------------------

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


def effect(name: str, med: str | None, *, resolved: bool = False, id: int = 1) -> SideEffect:
    return SideEffect(
        name, med, "mild", T0, resolved_at=T0 + timedelta(days=1) if resolved else None, id=id
    )


def test_match_with_medication_needs_same_name_and_medication() -> None:
    nausea_s = effect("nausea", "sertraline", id=1)
    nausea_q = effect("nausea", "quetiapine", id=2)
    assert match_open_side_effect([nausea_s, nausea_q], "nausea", "Quetiapine") is nausea_q
    assert match_open_side_effect([nausea_s], "nausea", "quetiapine") is None
    assert match_open_side_effect([nausea_s], "headache", "sertraline") is None


def test_match_without_medication() -> None:
    alone = effect("nausea", None, id=1)
    with_med = effect("nausea", "sertraline", id=2)
    other = effect("nausea", "quetiapine", id=3)
    assert match_open_side_effect([with_med], "nausea", None) is with_med
    assert match_open_side_effect([with_med, alone], "nausea", None) is alone
    with pytest.raises(Conflict, match="quetiapine, sertraline"):
        match_open_side_effect([with_med, other], "nausea", None)
    # With a medication, an unattributed report is not that medication's effect.
    assert match_open_side_effect([alone], "nausea", "sertraline") is None


def test_resolved_effects_never_match() -> None:
    done = effect("nausea", "sertraline", resolved=True)
    assert match_open_side_effect([done], "nausea", "sertraline") is None
    assert match_open_side_effect([done], "nausea", None) is None


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["nausea", "tremor"]),
            st.sampled_from([None, "sertraline", "quetiapine"]),
            st.booleans(),
        ),
        max_size=6,
    ),
    st.sampled_from(["nausea", "tremor"]),
    st.sampled_from([None, "sertraline", "quetiapine"]),
)
def test_match_is_open_same_name_and_never_the_wrong_medication(
    rows: list[tuple[str, str | None, bool]], name: str, med: str | None
) -> None:
    effects = [effect(n, m, resolved=r, id=i) for i, (n, m, r) in enumerate(rows)]
    try:
        found = match_open_side_effect(effects, name, med)
    except Conflict:
        # Only without --med, and only when several medications have it open.
        assert med is None
        candidates = [e for e in effects if e.open and e.name == name]
        assert len(candidates) > 1 and all(e.medication for e in candidates)
        return
    if found is None:
        assert not any(
            e.open and e.name == name and (med is None or e.medication == med) for e in effects
        )
    else:
        assert found.open and found.name == name
        if med is not None:
            assert found.medication == med


# --- windows and days away ------------------------------------------------------------------

BERLIN = ZoneTimeline("Europe/Berlin")


def test_window_start_is_local_midnight() -> None:
    now = datetime(2026, 11, 23, 13, 30, tzinfo=UTC)  # 14:30 in Berlin
    assert window_start(1, now, BERLIN) == datetime(2026, 11, 22, 23, 0, tzinfo=UTC)
    assert window_start(14, now, BERLIN) == datetime(2026, 11, 9, 23, 0, tzinfo=UTC)
    # Across the October change to winter time, the first day's midnight was at +02:00.
    assert window_start(30, now, BERLIN) == datetime(2026, 10, 24, 22, 0, tzinfo=UTC)
    with pytest.raises(BadValue, match="at least 1"):
        window_start(0, now, BERLIN)
    with pytest.raises(BadValue, match="too many"):
        window_start(10**7, now, BERLIN)


def test_days_until_counts_calendar_days() -> None:
    now = datetime(2026, 11, 23, 22, 30, tzinfo=UTC)  # 23:30 in Berlin
    assert days_until(datetime(2026, 11, 23, 22, 45, tzinfo=UTC), now, BERLIN) == 0
    # 00:15 in Berlin is tomorrow, 45 minutes away.
    assert days_until(datetime(2026, 11, 23, 23, 15, tzinfo=UTC), now, BERLIN) == 1
    assert days_until(datetime(2026, 12, 3, 9, 30, tzinfo=UTC), now, BERLIN) == 10


def test_days_until_reads_each_day_in_the_zone_in_force() -> None:
    # The person moves to New York on 1 Dec: a visit at 20:00 New York time on 2 Dec is
    # 02:00 on 3 Dec in Berlin, but it is on the 2nd where they will be.
    zones = ZoneTimeline(
        "Europe/Berlin",
        [ZoneChange(effective_at=datetime(2026, 12, 1, tzinfo=UTC), zone="America/New_York")],
    )
    now = datetime(2026, 11, 23, 13, 30, tzinfo=UTC)
    assert days_until(datetime(2026, 12, 3, 1, 0, tzinfo=UTC), now, zones) == 9


@given(
    st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31)),
    st.integers(min_value=0, max_value=400),
    st.times(),
    st.times(),
)
def test_days_until_matches_the_calendar(
    today: date, days: int, clock: time, now_clock: time
) -> None:
    from medtrack.core.schedule import localize

    zone = BERLIN.default
    now = localize(datetime.combine(today, now_clock), zone).astimezone(UTC)
    at = localize(datetime.combine(today + timedelta(days=days), clock), zone).astimezone(UTC)
    assert days_until(at, now, BERLIN) == days
