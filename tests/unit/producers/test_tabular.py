"""CSV and JSON-lines replay: typing, times, outcomes and clear errors for broken rows."""

from __future__ import annotations

import csv
import json
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from driftline.core.errors import ConfigError, EventValidationError
from driftline.core.events.model import FeatureValue
from driftline.producers.sources import LabelledEvent
from driftline.producers.tabular import table_events
from tests.unit.producers.table_cells import (
    FEATURES,
    MAX_S,
    MIN_S,
    T_S,
    TEXT_CHARS,
    at_s,
    cell_of,
    utc,
)


def write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_jsonl(path: Path, records: Sequence[Any]) -> Path:
    path.write_text("".join(json.dumps(record) + "\n" for record in records), encoding="utf-8")
    return path


@pytest.fixture
def loans(tmp_path: Path) -> Path:
    return write_csv(
        tmp_path / "loans.csv",
        ["id", "customer", "applied", "amount", "term", "student", "region", "default", "closed"],
        [
            [
                "a1",
                "007",
                "2024-01-01T09:00:00Z",
                "1200.50",
                "12",
                "true",
                "north",
                "false",
                "2024-06-01T00:00:00Z",
            ],
            [
                "a2",
                "c2",
                "2024-01-02T10:30:00+01:00",
                "300",
                "NA",
                "FALSE",
                "",
                "true",
                "2024-03-01T00:00:00Z",
            ],
            ["a3", "c3", "2024-01-03T00:00:00Z", "1e3", "24", "", "south", "", ""],
        ],
    )


def test_csv_round_trip_with_outcome_column(loans: Path) -> None:
    events = list(
        table_events(
            loans,
            key="customer",
            event_time="applied",
            label="default",
            event_id="id",
            outcome_time="closed",
        )
    )
    assert [e.observation.event_id for e in events] == ["a1", "a2", "a3"]
    assert [e.observation.key for e in events] == ["007", "c2", "c3"]  # keys stay text
    assert [e.observation.event_time for e in events] == [
        utc(2024, 1, 1, 9),
        utc(2024, 1, 2, 9, 30),  # an aware time keeps its offset
        utc(2024, 1, 3),
    ]
    assert events[0].observation.features == {
        "amount": 1200.5,
        "term": 12,
        "student": True,
        "region": "north",
    }
    assert events[1].observation.features == {
        "amount": 300,
        "term": None,
        "student": False,
        "region": None,
    }
    assert events[2].observation.features["amount"] == 1000.0
    first, second = events[0].outcome, events[1].outcome
    assert first is not None and second is not None
    assert (first.event_id, first.key, first.event_time, first.label) == (
        "a1",
        "007",
        utc(2024, 6, 1),
        False,
    )
    assert second.label is True and second.event_time == utc(2024, 3, 1)
    assert events[2].outcome is None  # empty label: unlabelled


def test_csv_fixed_delay_default_ids_and_chosen_features(loans: Path) -> None:
    events = list(
        table_events(
            loans,
            key="customer",
            event_time="applied",
            label="default",
            outcome_delay=timedelta(days=90),
            features=["amount", "region"],
        )
    )
    assert [e.observation.event_id for e in events] == ["loans-1", "loans-2", "loans-3"]
    assert events[0].observation.features == {"amount": 1200.5, "region": "north"}
    outcome = events[0].outcome
    assert outcome is not None and outcome.event_time == utc(2024, 3, 31, 9)


def test_unlabelled_table(loans: Path) -> None:
    events = list(table_events(loans, key="customer", event_time="applied", label=None))
    assert all(e.outcome is None for e in events)
    # With no label, every other column but the key and time is a feature.
    assert set(events[0].observation.features) == {
        "id",
        "amount",
        "term",
        "student",
        "region",
        "default",
        "closed",
    }


def test_jsonl_round_trip_keeps_json_types(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "clicks.jsonl",
        [
            {
                "user": 42,
                "ts": 1700000000,
                "page": "home",
                "dwell": 1.5,
                "new": True,
                "n": 3,
                "clicked": 1,
            },
            {
                "user": "u7",
                "ts": "2023-11-14T22:13:21Z",
                "page": None,
                "dwell": 2,
                "new": False,
                "clicked": 0,
            },
            {
                "user": "u8",
                "ts": 1700000002.5,
                "page": "cart",
                "dwell": 0.25,
                "new": False,
                "n": 0,
                "clicked": None,
            },
        ],
    )
    events = list(
        table_events(
            path, key="user", event_time="ts", label="clicked", outcome_delay=timedelta(seconds=30)
        )
    )
    first, second, third = events
    assert first.observation.key == "42"
    assert first.observation.event_time == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    assert first.observation.features == {
        "page": "home",
        "dwell": 1.5,
        "new": True,
        "n": 3,
    }
    assert second.observation.features == {"page": None, "dwell": 2, "new": False, "n": None}
    assert type(second.observation.features["dwell"]) is int
    assert third.observation.event_time == datetime(2023, 11, 14, 22, 13, 22, 500000, UTC)
    assert first.outcome is not None and first.outcome.label == 1
    assert first.outcome.event_time == first.observation.event_time + timedelta(seconds=30)
    assert third.outcome is None


def test_naive_times_use_the_time_zone(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "t.csv",
        ["k", "t"],
        [
            ["a", "2024-07-01 12:00"],  # EDT
            ["b", "2024-01-15T12:00:00"],  # EST
            ["c", "2024-03-10 02:30"],  # in the spring-forward gap: offset before it
            ["d", "2024-11-03 01:30"],  # twice: the first occurrence
            ["e", "2024-07-01T12:00:00+02:00"],  # aware: its own offset
            ["f", "2024-07-01"],  # a date: local midnight
            ["g", "1700000000"],  # epoch seconds: UTC
        ],
    )
    times = [
        e.observation.event_time
        for e in table_events(
            path, key="k", event_time="t", label=None, time_zone="America/New_York"
        )
    ]
    assert times == [
        utc(2024, 7, 1, 16),
        utc(2024, 1, 15, 17),
        utc(2024, 3, 10, 7, 30),
        utc(2024, 11, 3, 5, 30),
        utc(2024, 7, 1, 10),
        utc(2024, 7, 1, 4),
        datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC),
    ]


def test_epoch_milliseconds(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "ms.jsonl", [{"k": "a", "t": 1700000000123}])
    [event] = table_events(path, key="k", event_time="t", label=None, time_unit="ms")
    assert event.observation.event_time == datetime(2023, 11, 14, 22, 13, 20, 123000, UTC)


def test_limit_and_explicit_format(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "data.log", [{"k": str(i), "t": T_S + i} for i in range(10)])
    events = table_events(path, fmt="jsonl", key="k", event_time="t", label=None, limit=3)
    assert [e.observation.key for e in events] == ["0", "1", "2"]
    assert list(table_events(path, fmt="jsonl", key="k", event_time="t", label=None, limit=0)) == []


def test_blank_lines_and_quoted_newlines_keep_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "notes.csv"
    path.write_text(f'k,t,note\n\na,{T_S},"two\nlines"\nb,oops,x\n', encoding="utf-8")
    events = table_events(path, key="k", event_time="t", label=None)
    assert next(events).observation.features == {"note": "two\nlines"}
    with pytest.raises(EventValidationError, match=r"notes\.csv, line 5, column 't'"):
        next(events)


# -- broken rows ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("row", "column", "problem"),
    [
        (["", "2024-01-01", "1", "true"], "k", "empty"),
        (["a", "yesterday", "1", "true"], "t", "ISO 8601"),
        (["a", "", "1", "true"], "t", "empty time"),
        (["a", "2024-01-01", "inf", "true"], "x", "finite"),
        (["a", "2024-01-01", "1e999", "true"], "x", "too large"),
        (["a", "2024-01-01", "99999999999999999999", "true"], "x", "64-bit"),
        (["a", "2150-01-01", "1", "true"], "t", "outside"),
        (["a", "1989-12-31", "1", "true"], "t", "outside"),
        (["a", "0", "1", "true"], "t", "outside"),  # epoch 0 is no event time
    ],
)
def test_bad_csv_row_names_file_line_and_column(
    tmp_path: Path, row: list[str], column: str, problem: str
) -> None:
    path = write_csv(
        tmp_path / "bad.csv", ["k", "t", "x", "y"], [["ok", "2024-01-01", "1", ""], row]
    )
    events = table_events(path, key="k", event_time="t", label="y", outcome_delay=timedelta(1))
    assert next(events).observation.key == "ok"  # rows before the bad one are yielded
    with pytest.raises(EventValidationError) as caught:
        next(events)
    message = str(caught.value)
    assert f"{path}, line 3, column {column!r}" in message
    assert problem in message


def test_wrong_number_of_fields(tmp_path: Path) -> None:
    path = tmp_path / "short.csv"
    path.write_text(f"k,t,x\na,{T_S},2\nb,{T_S + 1}\n", encoding="utf-8")
    with pytest.raises(EventValidationError, match=r"short\.csv, line 3: 2 fields.*header has 3"):
        list(table_events(path, key="k", event_time="t", label=None))


@pytest.mark.parametrize(
    ("line", "match"),
    [
        ('{"k": "a", "t": 1700000001, "x": [1, 2]}', r"line 2, column 'x': a list"),
        ('{"k": "a", "t": 1700000001, "x": NaN}', r"line 2, column 'x': nan is not a finite"),
        ('{"k": "a", "t": true, "x": 1}', r"line 2, column 't'"),
        ('{"t": 1700000001, "x": 1}', r"line 2, column 'k': missing"),
        (
            '{"k": 1.5, "t": 1700000001, "x": 1}',
            r"line 2, column 'k': must be a string or an integer",
        ),
        ('{"k": "a", "t": 1700000001, "x": 1', r"line 2: not valid JSON"),
        ('["a", 1700000001, 1]', r"line 2: a JSON-lines record must be an object"),
        ('{"k": "a", "t": 1, "x": 1}', r"line 2, column 't': event time 1970-01-01T00:00:01"),
    ],
)
def test_bad_jsonl_row(tmp_path: Path, line: str, match: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(f'{{"k": "a", "t": {T_S}, "x": 1}}\n' + line + "\n", encoding="utf-8")
    with pytest.raises(EventValidationError, match=match):
        list(table_events(path, key="k", event_time="t", label=None))


def test_repeated_event_id(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "ids.csv", ["id", "k", "t"], [["1", "a", f"{T_S}"], ["1", "b", f"{T_S + 1}"]]
    )
    with pytest.raises(EventValidationError, match=r"line 3, column 'id'.*repeats line 2"):
        list(table_events(path, key="k", event_time="t", label=None, event_id="id"))


def test_outcome_before_observation(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "o.csv", ["k", "t", "y", "done"], [["a", f"{T_S + 10}", "1", f"{T_S + 5}"]]
    )
    with pytest.raises(EventValidationError, match=r"column 'done': outcome time .* before"):
        list(table_events(path, key="k", event_time="t", label="y", outcome_time="done"))


def test_label_without_outcome_time(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "o.csv", ["k", "t", "y", "done"], [["a", f"{T_S + 10}", "1", ""]])
    with pytest.raises(EventValidationError, match=r"column 'done': empty time"):
        list(table_events(path, key="k", event_time="t", label="y", outcome_time="done"))


# -- option errors -------------------------------------------------------------------------


@pytest.fixture
def small(tmp_path: Path) -> Path:
    return write_csv(
        tmp_path / "small.csv", ["k", "t", "x", "y", "done"], [["a", f"{T_S + 1}", "2", "", ""]]
    )


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"key": "nope", "event_time": "t", "label": None}, r"'nope'.*columns are 'k', 't'"),
        ({"key": "k", "event_time": "t", "label": None, "features": ["x", "z"]}, r"'z'"),
        ({"key": "k", "event_time": "t", "label": "y"}, "exactly one of"),
        (
            {
                "key": "k",
                "event_time": "t",
                "label": "y",
                "outcome_time": "done",
                "outcome_delay": timedelta(1),
            },
            "exactly one of",
        ),
        ({"key": "k", "event_time": "t", "label": None, "outcome_delay": timedelta(1)}, "label"),
        (
            {"key": "k", "event_time": "t", "label": "y", "outcome_delay": timedelta(-1)},
            "negative",
        ),
        (
            {
                "key": "k",
                "event_time": "t",
                "label": "y",
                "outcome_time": "done",
                "features": ["x", "y"],
            },
            "leak",
        ),
        ({"key": "k", "event_time": "t", "label": None, "features": ["x", "x"]}, "repeat"),
        ({"key": "k", "event_time": "t", "label": None, "features": "x"}, "list of column"),
        ({"key": "k", "event_time": "t", "label": None, "time_zone": "Mars/Olympus"}, "Mars"),
        ({"key": "k", "event_time": "t", "label": None, "time_unit": "ns"}, "time_unit"),
        ({"key": "k", "event_time": "t", "label": None, "fmt": "parquet"}, "fmt"),
        ({"key": "k", "event_time": "t", "label": None, "limit": -1}, "limit"),
    ],
)
def test_option_errors_are_raised_at_call_time(
    small: Path, options: dict[str, Any], match: str
) -> None:
    with pytest.raises(ConfigError, match=match):
        table_events(small, **options)


def test_file_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        table_events(tmp_path / "gone.csv", key="k", event_time="t", label=None)
    odd = tmp_path / "data.parquet"
    odd.write_text("k,t\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="fmt="):
        table_events(odd, key="k", event_time="t", label=None)
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="empty"):
        table_events(empty, key="k", event_time="t", label=None)
    twice = tmp_path / "twice.csv"
    twice.write_text("k,t,k\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="distinct"):
        table_events(twice, key="k", event_time="t", label=None)
    header_only = tmp_path / "header.csv"
    header_only.write_text("k,t\n", encoding="utf-8")
    assert list(table_events(header_only, key="k", event_time="t", label=None)) == []


def test_jsonl_first_record_is_the_header(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = write_jsonl(
        tmp_path / "sparse.jsonl",
        [
            {"k": "a", "t": T_S, "x": 1},
            {"k": "b", "t": T_S + 1},
            {"k": "c", "t": T_S + 2, "x": 3, "extra": 4},
        ],
    )
    events = list(table_events(path, key="k", event_time="t", label=None))
    assert [e.observation.features for e in events] == [{"x": 1}, {"x": None}, {"x": 3}]
    assert "extra" in caplog.text
    with pytest.raises(ConfigError, match="'extra'"):
        table_events(path, key="k", event_time="t", label=None, features=["extra"])


def test_table_in_milliseconds_read_as_seconds_names_the_cell(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "ms.csv", ["k", "t"], [["a", f"{T_S * 1000}"]])
    with pytest.raises(EventValidationError, match=r"ms\.csv, line 2, column 't'"):
        list(table_events(path, key="k", event_time="t", label=None))


def test_table_in_seconds_read_as_milliseconds_names_the_cell(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "s.jsonl", [{"k": "a", "t": T_S}])
    with pytest.raises(EventValidationError, match=r"s\.jsonl, line 1, column 't'.*outside"):
        list(table_events(path, key="k", event_time="t", label=None, time_unit="ms"))


def _replay(path: Path, **options: Any) -> list[LabelledEvent]:
    return list(
        table_events(
            path, key="k", event_time="t", label="y", outcome_delay=timedelta(hours=1), **options
        )
    )


ROWS = st.lists(
    st.tuples(
        st.text(TEXT_CHARS, min_size=1, max_size=40).filter(lambda text: text.strip() != ""),
        # epoch seconds within the event-time bounds, the outcome an hour later too
        st.integers(MIN_S, MAX_S - 3601),
        FEATURES,
        FEATURES,
        st.one_of(st.none(), st.booleans(), st.integers(-5, 5)),  # label
    ),
    min_size=1,  # an empty JSON-lines file has no header: a ConfigError
    max_size=20,
)


@settings(max_examples=60, deadline=None)
@given(ROWS)
@example([("first", MIN_S, 1, None, True), ("last", MAX_S - 3601, None, "x", 0)])
def test_random_tables_round_trip_through_csv_and_jsonl(
    rows: list[tuple[str, int, FeatureValue, FeatureValue, bool | int | None]],
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        header = ["k", "t", "a", "b", "y"]
        csv_path = write_csv(
            Path(tmp) / "rows.csv",
            header,
            [[k, t, cell_of(a), cell_of(b), cell_of(y)] for k, t, a, b, y in rows],
        )
        jsonl_path = write_jsonl(
            Path(tmp) / "rows.jsonl", [dict(zip(header, row, strict=True)) for row in rows]
        )
        for path in (csv_path, jsonl_path):
            events = _replay(path)
            assert len(events) == len(rows)
            for event, (k, t, a, b, y) in zip(events, rows, strict=True):
                obs = event.observation
                assert obs.key == k
                assert obs.event_time == at_s(t)
                assert obs.features == {"a": a, "b": b}
                assert [type(v) for v in obs.features.values()] == [type(a), type(b)]
                if y is None:
                    assert event.outcome is None
                else:
                    assert event.outcome is not None
                    assert event.outcome.label == y and type(event.outcome.label) is type(y)
                    assert event.outcome.event_time == obs.event_time + timedelta(hours=1)
