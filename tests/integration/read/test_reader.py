"""The Python reader on the real Redis: what the sink writes, read back; following the stream."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import redis

from driftline.adapters.endpoints import Endpoints
from driftline.adapters.prediction_record import epoch_micros
from driftline.adapters.redis_clients import make_redis
from driftline.adapters.redis_sink import RedisSink
from driftline.core.events.records import Alert, Prediction
from driftline.core.quality.figures import QualityFinding
from driftline.read.reader import PredictionsClient
from tests.integration.helpers import stop_after

pytestmark = pytest.mark.integration

T0 = datetime(2024, 6, 1, 8, 0, 0, 123_456, tzinfo=UTC)
EXACT = 0.1234567891234


@pytest.fixture
def client(services: Endpoints) -> Iterator[redis.Redis]:
    made = make_redis(services.redis_url)
    yield made
    made.close()


def _prediction(event_id: str, minute: int = 0, key: str = "EWR") -> Prediction:
    at = T0 + timedelta(minutes=minute)
    return Prediction(
        key=key,
        event_id=event_id,
        partition=1,
        offset=100 + minute,
        event_time=at,
        ingest_time=at + timedelta(seconds=2),
        predicted_time=at + timedelta(seconds=3),
        prediction=False,
        probabilities={True: EXACT, False: 1 - EXACT},
        model_version=5,
    )


def test_sink_write_then_get_is_exact(client: redis.Redis, namespace: str) -> None:
    prediction = _prediction("e1", key="São Paulo ✈")
    assert RedisSink(client, namespace).write([prediction], []) == 1
    stored = PredictionsClient(client, namespace).get("São Paulo ✈")
    assert stored is not None
    assert stored.probabilities is not None
    assert stored.probabilities["true"].hex() == EXACT.hex()  # bit for bit, not rounded
    assert stored.probabilities["false"].hex() == (1 - EXACT).hex()
    assert (stored.prediction, stored.event_id, stored.model_version) == (False, "e1", 5)
    assert stored.event_time == prediction.event_time
    assert stored.ingest_time == prediction.ingest_time
    assert stored.predicted_time == prediction.predicted_time
    assert (stored.partition, stored.offset) == (1, 100)
    raw = client.hget(f"{namespace}:prediction:São Paulo ✈", "event_time_us")
    assert raw == str(epoch_micros(prediction.event_time)).encode() == b"1717228800123456"


def test_follow_yields_an_entry_written_between_two_reads(
    client: redis.Redis, namespace: str
) -> None:
    """An entry added while no XREAD waits (between an empty wait and the next) is kept."""
    sink = RedisSink(client, namespace)
    # Call 1 reads an empty stream for 50 ms; call 2 writes before the next XREAD.
    stop = stop_after(4, {2: lambda: sink.write([_prediction("between")], [])})
    entries = list(PredictionsClient(client, namespace).follow(block_ms=50, stop=stop))
    assert [e.event_id for e in entries] == ["between"]
    assert entries[0].probabilities == {"true": EXACT, "false": 1 - EXACT}
    assert entries[0].event_time == T0 and entries[0].model_version == 5
    assert entries[0].id == client.xrange(f"{namespace}:predictions")[0][0].decode()


def test_follow_keeps_its_place_across_empty_waits(client: redis.Redis, namespace: str) -> None:
    sink = RedisSink(client, namespace)
    sink.write([_prediction("old")], [])  # the stream exists and is not empty at the start
    writes = {n: (lambda n=n: sink.write([_prediction(f"new{n}", n)], [])) for n in (2, 4, 5)}
    stop = stop_after(7, writes)
    entries = list(PredictionsClient(client, namespace).follow(block_ms=50, stop=stop))
    assert [e.event_id for e in entries] == ["new2", "new4", "new5"]


def test_follow_skips_what_existed_before_it_started(client: redis.Redis, namespace: str) -> None:
    sink = RedisSink(client, namespace)
    sink.write([_prediction("before1", 0), _prediction("before2", 1)], [])
    reader = PredictionsClient(client, namespace)
    following = reader.follow(block_ms=50, stop=stop_after(3, {}))
    sink.write([_prediction("after-call", 2)], [])  # the start was fixed by the call
    assert [e.event_id for e in following] == ["after-call"]


def test_follow_from_start_yields_every_kept_entry(client: redis.Redis, namespace: str) -> None:
    sink = RedisSink(client, namespace)
    sink.write([_prediction("before1", 0), _prediction("before2", 1)], [])
    stop = stop_after(3, {1: lambda: sink.write([_prediction("during", 2)], [])})
    reader = PredictionsClient(client, namespace)
    entries = list(reader.follow(from_start=True, block_ms=50, stop=stop))
    assert [e.event_id for e in entries] == ["before1", "before2", "during"]
    ids = [tuple(int(part) for part in e.id.split("-")) for e in entries]
    assert ids == sorted(ids)
    expected = {"true": EXACT, "false": 1 - EXACT}
    assert all(e.to_dict()["probabilities"] == expected for e in entries)


def test_the_quality_log_keeps_each_finding_and_pages_oldest_first(
    client: redis.Redis, namespace: str
) -> None:
    sink = RedisSink(client, namespace, quality_log_maxlen=50)
    findings = [
        QualityFinding(
            n % 3, n, f"e{n}", "observation", "consistency", "spelling", "carrier", "accepted"
        )
        for n in range(30)
    ] + [QualityFinding(0, 99, None, None, "consistency", "avro-decode", None, "dead-letter")]
    sink.record([], [], findings)
    reader = PredictionsClient(client, namespace)
    newest = reader.quality_log(2)
    assert [f["offset"] for f in newest] == [99, 29]
    assert newest[0]["event_id"] is None and newest[0]["feature"] is None
    assert newest[1] == {
        "partition": 2,
        "offset": 29,
        "event_id": "e29",
        "kind": "observation",
        "dimension": "consistency",
        "rule": "spelling",
        "feature": "carrier",
        "action": "accepted",
        "id": newest[1]["id"],
    }
    pages, after = [], "0"
    while page := reader.quality_log(7, after):
        pages += page
        after = page[-1]["id"]
    assert [f["offset"] for f in pages] == [*range(30), 99]
    sink.record([], [], findings * 4)  # capped at about 50 entries
    assert 50 <= client.xlen(f"{namespace}:quality") < 31 * 5


def _alert(offset: int, kind: str) -> Alert:
    return Alert(f"0-{offset}-{kind}", 0, offset, kind, "main", "drift", "ADWIN",
                 {"estimation": 0.4}, 120, T0, "main", 3, "none")  # fmt: skip


def test_alerts_of_one_kind_are_found_behind_newer_alerts_of_other_kinds(
    client: redis.Redis, namespace: str
) -> None:
    """The kind is filtered before the count, not after (issue 19, defect 11)."""
    sink = RedisSink(client, namespace)
    sink.record([], [_alert(n, "promotion") for n in range(50)])
    sink.record([], [_alert(100 + n, "concept") for n in range(60)])
    reader = PredictionsClient(client, namespace)
    promotions = reader.alerts(50, "promotion")
    assert [a["offset"] for a in promotions] == list(range(49, -1, -1))  # newest first
    assert all(a["kind"] == "promotion" for a in promotions)
    newest = reader.alerts(50)
    assert [a["offset"] for a in newest] == list(range(159, 109, -1))  # no kind: as before
    # more than a page of other kinds in between, and a kind with fewer entries than asked
    sink.record([], [_alert(1000 + n, "concept") for n in range(1200)])
    assert [a["offset"] for a in reader.alerts(3, "promotion")] == [49, 48, 47]
    assert len(reader.alerts(10_000, "promotion")) == 50  # the oldest kept entry ends it
    assert len(reader.alerts(10_000, "concept")) == 1260
    assert reader.alerts(5, "rollback") == []
    ids = [a["id"] for a in reader.alerts(10_000, "concept")]
    assert len(set(ids)) == len(ids)  # no entry read twice across pages
