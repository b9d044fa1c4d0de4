"""The reads written once for both clients, run on answers given in advance: which commands
each sends, in which order, and what it makes of the answers."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from driftline.adapters.prediction_record import encode_hash, encode_stream
from driftline.adapters.redis_keys import RedisKeys
from driftline.core.events.records import Prediction
from driftline.core.learning.windows import _empty
from driftline.read import queries
from driftline.read.queries import Batch, Call, ScanKeys, answered

KEYS = RedisKeys("ns")
AT = datetime(2024, 6, 1, 8, tzinfo=UTC)


def _fields(key: str, encode: Any = encode_hash) -> dict[bytes, bytes]:
    prediction = Prediction(key, f"e-{key}", 0, 1, AT, AT, AT, True, {True: 0.9, False: 0.1}, 4)
    return {k.encode(): v.encode() for k, v in encode(prediction).items()}


def _steps(query: queries.Query[Any], answers: list[Any]) -> list[Any]:
    """The steps ``query`` takes when given ``answers`` in turn."""
    steps = [next(query)]
    try:
        for answer in answers:
            steps.append(query.send(answer))
    except StopIteration:
        pass
    return steps


def test_latest_reads_one_hash() -> None:
    assert next(queries.latest(KEYS, "EWR")) == Call("hgetall", ("ns:prediction:EWR",))
    found = answered(queries.latest(KEYS, "EWR"), [_fields("EWR")])
    assert found is not None and found.key == "EWR" and found.probability_of(True) == 0.9
    assert answered(queries.latest(KEYS, "EWR"), [{}]) is None


def test_latest_many_asks_each_key_once_in_one_batch() -> None:
    step = next(queries.latest_many(KEYS, ["A", "B", "A"]))
    assert step == Batch(
        (Call("hgetall", ("ns:prediction:A",)), Call("hgetall", ("ns:prediction:B",)))
    )
    found = answered(queries.latest_many(KEYS, ["A", "B", "A"]), [[_fields("A"), {}]])
    assert list(found) == ["A"]
    assert answered(queries.latest_many(KEYS, []), []) == {}  # nothing sent at all


def test_metrics_are_the_tasks_snapshots_by_partition() -> None:
    raw = {b"p1": b'{"n": 1}', b"p0": b'{"n": 0}', b"written_at": b"x"}
    assert answered(queries.task_metrics(KEYS), [raw]) == {1: {"n": 1}, 0: {"n": 0}}
    assert next(queries.metrics(KEYS)) == Call("hgetall", ("ns:metrics",))
    assert answered(queries.metrics(KEYS), [{}])["tasks"] == {}


def test_series_scans_then_reads_the_windows_it_keeps() -> None:
    point = _empty(60, 0) | {"model": "main", "n": 1}
    steps = _steps(
        queries.series(KEYS, window_s=60.0),
        [[b"ns:series:3600:main", b"ns:series:60:main"], [json.dumps(point).encode()]],
    )
    assert steps[0] == ScanKeys("ns:series:*")
    assert steps[1] == Call("zrange", (b"ns:series:60:main", 0, -1))  # 3600 s: left out
    assert len(steps) == 2
    found = answered(
        queries.series(KEYS, window_s=60.0),
        [[b"ns:series:3600:main", b"ns:series:60:main"], [json.dumps(point).encode()]],
    )
    assert list(found) == ["60:main"] and found["60:main"][0]["partitions"] == 1


def test_alerts_of_one_kind_are_read_page_by_page_until_found() -> None:
    def page(start: int, kinds: list[str]) -> list[tuple[bytes, dict[bytes, bytes]]]:
        return [
            (f"{start - i}-0".encode(), {b"alert": json.dumps({"kind": kind}).encode()})
            for i, kind in enumerate(kinds)
        ]

    first = page(1000, ["concept"] * 499 + ["promotion"])
    second = page(500, ["promotion"] * 3)  # short page: the oldest kept entry
    steps = _steps(queries.alerts(KEYS, 2, "promotion"), [first, second])
    assert steps[0] == Call("xrevrange", ("ns:alerts", "+", "-"), {"count": 500})
    assert steps[1] == Call("xrevrange", ("ns:alerts", "(501-0", "-"), {"count": 500})
    found = answered(queries.alerts(KEYS, 2, "promotion"), [first, second])
    assert [a["id"] for a in found] == ["501-0", "500-0"]


@pytest.mark.parametrize(
    ("after", "expected"),
    [
        (None, Call("xrevrange", ("ns:quality-log", "+", "-"), {"count": 5})),
        ("0", Call("xrange", ("ns:quality-log", "-", "+"), {"count": 5})),
        ("7-1", Call("xrange", ("ns:quality-log", "(7-1", "+"), {"count": 5})),
    ],
)
def test_quality_log_reads_newest_first_or_after_an_id(after: str | None, expected: Call) -> None:
    step = next(queries.quality_log(KEYS, 5, after))
    assert (step.name, step.args[1:], step.kwargs) == (
        expected.name,
        expected.args[1:],
        expected.kwargs,
    )


def test_freshness_asks_redis_its_own_clock_only_when_there_is_a_prediction() -> None:
    empty = answered(queries.freshness(KEYS), [True, []])
    assert empty["last_prediction_id"] is None and empty["last_prediction_age_s"] is None
    newest = [(b"1717228800000-0", {})]
    found = answered(queries.freshness(KEYS), [True, newest, [1717228802, 500_000]])
    assert found["last_prediction_id"] == "1717228800000-0"
    assert found["last_prediction_age_s"] == 2.5


def test_read_after_decodes_the_entries_and_an_empty_wait() -> None:
    step = next(queries.read_after(KEYS, "5-0", block_ms=10, count=3))
    assert step == Call("xread", ({"ns:predictions": "5-0"},), {"block": 10, "count": 3})
    answer = [[b"ns:predictions", [(b"6-0", _fields("EWR", encode_stream))]]]
    [entry] = answered(queries.read_after(KEYS, "5-0", block_ms=10, count=3), [answer])
    assert (entry.id, entry.key, entry.positive_probability) == ("6-0", "EWR", 0.9)
    assert answered(queries.read_after(KEYS, "5-0", block_ms=10, count=3), [None]) == []
    assert answered(queries.newest_id(KEYS), [[]]) == "0-0"
