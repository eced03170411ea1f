"""store.doses.dose_rows: the summary's compact read equals DoseRecords read the plain way."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from medtrack.core.adherence import DoseRows
from medtrack.store import db, doses

T0 = datetime(2026, 11, 1, tzinfo=UTC)
START, END = T0 + timedelta(days=2), T0 + timedelta(days=6)


def _conn(tmp_path):
    conn = db.connect(tmp_path / "rows.db")
    for name in ("sertraline", "lorazepam"):
        conn.execute(
            "INSERT INTO medications (name, created_at) VALUES (?, ?)",
            (name, "2026-01-01T00:00:00Z"),
        )
    return conn


def _add(conn, med_id, taken, sched, status="taken", reason=None):
    doses.add_dose(
        conn,
        medication_id=med_id,
        regimen_id=None,
        scheduled_for=sched,
        taken_at=taken,
        status=status,
        amount=None,
        unit=None,
        skip_reason=reason,
        zone="Europe/Berlin",
        now=taken,
    )


def _both(conn, on_time_window=timedelta(minutes=60)):
    """The compact read and DoseRows from the plain read, both classified at the window."""
    meds = [(1, "sertraline"), (2, "lorazepam")]
    fast = doses.dose_rows(conn, START, END, meds, on_time_window=on_time_window)
    records = doses.doses_between(conn, START, END, [1, 2])
    return fast, DoseRows.from_records(records, on_time_window)


def test_rows_by_hand(tmp_path):
    conn = _conn(tmp_path)
    slot = START + timedelta(hours=8)
    _add(conn, 1, START - timedelta(hours=1), START + timedelta(hours=1))  # early, slot inside
    _add(conn, 1, slot, slot, "skipped", "forgot")
    _add(conn, 1, slot, slot)  # same instant, later id: the skip stays first
    _add(conn, 1, slot + timedelta(hours=3), None)  # an extra dose
    _add(conn, 1, END + timedelta(hours=1), END - timedelta(hours=1))  # late, slot inside
    _add(conn, 1, END + timedelta(days=1), END + timedelta(days=1))  # outside: left out
    _add(conn, 2, slot, None)  # as needed
    fast, plain = _both(conn)
    assert fast == plain
    columns = fast.by_medication["sertraline"]
    # 2 not taken; taken: 4 two hours early, 1 on time (and with no slot), 3 two hours late.
    assert columns.kind == bytes([4, 2, 1, 1, 3])
    assert fast.on_time_window == 3600
    assert columns.scheduled[3] is None and columns.reason[1] == "forgot"
    assert columns.taken[0] == (START - timedelta(hours=1)).timestamp()
    assert fast.by_medication["lorazepam"].scheduled == [None]
    # The default window is the summary's default; at three hours both tails are on time.
    assert doses.dose_rows(conn, START, END, [(1, "sertraline"), (2, "lorazepam")]) == fast
    wide, plain = _both(conn, timedelta(hours=3))
    assert wide == plain and wide.by_medication["sertraline"].kind == bytes([1, 2, 1, 1, 1])


instants = st.integers(0, 8 * 24 * 4).map(lambda q: T0 + timedelta(minutes=15 * q))


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from([1, 2]),
            instants,
            st.one_of(st.none(), instants),
            st.sampled_from(["taken", "skipped"]),
            st.sampled_from([None, "forgot", "side-effects"]),
        ),
        max_size=25,
    ),
    st.sampled_from([0, 15, 60, 90.5]),
)
def test_rows_equal_the_plain_read(tmp_path_factory, records, window_minutes):
    conn = _conn(tmp_path_factory.mktemp("rows"))
    for med_id, taken, sched, status, reason in records:
        _add(conn, med_id, taken, sched, status, reason if status == "skipped" else None)
    fast, plain = _both(conn, timedelta(minutes=window_minutes))
    assert fast.on_time_window == plain.on_time_window == window_minutes * 60
    # The plain read leaves a medication with no record out; the compact one keeps it empty.
    assert {k: v for k, v in fast.by_medication.items() if v.kind} == plain.by_medication


@given(st.lists(st.integers(-(2**40), 2**40), min_size=1, max_size=50), st.booleans())
def test_integer_columns_parse_either_way(values, long):
    """A column of integers reads the same by split and int() or, when long, by json."""
    if long:
        values = values * (doses._JSON_FROM // len(",".join(map(str, values))) + 1)
    text = ",".join(map(str, values))
    assert (len(text) >= doses._JSON_FROM) == long
    assert doses._integers(text) == values


@given(st.lists(st.lists(st.integers(0, 2**34), min_size=1, max_size=20), max_size=4))
def test_taken_column_parsed_when_read_is_the_list_of_its_parts(parts):
    """The taken times come as the parts' texts and are parsed on first read: the same
    integers, in order, as a list, however read (equality either way, index, length)."""
    values = [v for part in parts for v in part]
    column = doses._LazyIntegers([",".join(map(str, part)) for part in parts])
    assert column == values and values == column
    assert len(column) == len(values) and list(column) == values
    if values:
        assert column[0] == values[0] and column[-1] == values[-1]
    assert column != [*values, 1]
