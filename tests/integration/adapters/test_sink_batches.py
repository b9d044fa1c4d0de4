"""The sink's one-call batches on the real Redis: many keys, any text, metrics, the guard."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import redis

from driftline.adapters.endpoints import Endpoints
from driftline.adapters.prediction_record import decode_stream_entry, encode_hash, encode_stream
from driftline.adapters.redis_clients import make_redis
from driftline.adapters.redis_sink import RedisSink
from driftline.core.errors import WriteRefused
from driftline.core.events.records import Prediction
from driftline.read.reader import PredictionsClient

pytestmark = pytest.mark.integration

T0 = datetime(2024, 6, 1, 8, 0, 0, 123_456, tzinfo=UTC)
KEYS = ["EWR", "Zürich", "東京", "emoji-😀", 'quote"and\\slash', "tab\tnew\nline", ""]


@pytest.fixture
def client(services: Endpoints) -> Iterator[redis.Redis]:
    made = make_redis(services.redis_url)
    yield made
    made.close()


def _prediction(key: str, n: int, minute: int) -> Prediction:
    at = T0 + timedelta(minutes=minute)
    p = (n % 997) / 997 + 1e-17 * n  # floats that need all their digits
    return Prediction(
        key, f"e{n}", 0, n, at, at, at + timedelta(seconds=1), p > 0.5, {True: p, False: 1 - p}, n
    )


def test_one_batch_of_many_keys_reads_back_exactly(client: redis.Redis, namespace: str):
    sink = RedisSink(client, namespace)
    keys = KEYS + [f"k{i}" for i in range(3000)]
    batch = [_prediction(key, n, minute=n % 50) for n, key in enumerate(keys)]
    batch += [_prediction("EWR", 10_000, minute=-5)]  # older than EWR's first: not stored
    snapshots = [{"partition": 0, "scored": 1}, {"partition": 3, "scored": 2}]
    assert sink.write(batch, snapshots) == len(keys)
    reader = PredictionsClient(client, namespace)
    stored = reader.get_many(keys)
    assert set(stored) == set(keys)
    for n, key in enumerate(keys):
        want = batch[n]
        got = stored[key]
        assert got.event_id == want.event_id and got.offset == want.offset
        assert got.probabilities == {json.dumps(k): v for k, v in want.probabilities.items()}  # type: ignore[union-attr]
        assert got.positive_probability == want.probabilities[True]  # type: ignore[index]
        assert got.event_time == want.event_time and got.model_version == want.model_version
    entries = [decode_stream_entry(i, f) for i, f in client.xrange(f"{namespace}:predictions")]
    assert [e.event_id for e in entries] == [p.event_id for p in batch]
    assert [e.key for e in entries] == [p.key for p in batch]
    assert sorted(reader.task_metrics()) == [0, 3]
    assert sink.stale_skipped == 1


def test_hashes_and_stream_entries_hold_exactly_the_codecs_fields_in_order(
    client: redis.Redis, namespace: str
):
    """The script makes each stream entry from the hash's values (they travel once): the
    entry's fields, their order and their text are still the codec's, as are the hash's."""
    sink = RedisSink(client, namespace)
    batch = [_prediction(key, n, minute=n) for n, key in enumerate(KEYS)]
    batch.append(_prediction(KEYS[0], 99, minute=99))  # the newest of its key: its hash
    assert sink.write(batch, []) == len(KEYS)
    entries = [fields for _, fields in client.xrange(f"{namespace}:predictions")]
    assert [
        [(name.decode(), value.decode()) for name, value in fields.items()] for fields in entries
    ] == [list(encode_stream(p).items()) for p in batch]
    newest = {p.key: p for p in batch}
    for key, p in newest.items():
        stored = client.hgetall(f"{namespace}:prediction:{key}")
        assert {n.decode(): v.decode() for n, v in stored.items()} == encode_hash(p)
        assert client.pttl(f"{namespace}:prediction:{key}") > 0


def test_an_empty_batch_sends_nothing_and_metrics_alone_are_written(
    client: redis.Redis, namespace: str
):
    sink = RedisSink(client, namespace)
    assert sink.write([], []) == 0
    assert client.exists(f"{namespace}:metrics", f"{namespace}:predictions") == 0
    assert sink.write([], [{"partition": 2, "scored": 0}]) == 0
    assert list(PredictionsClient(client, namespace).task_metrics()) == [2]


def test_a_batch_larger_than_luas_stack_is_one_call(client: redis.Redis, namespace: str):
    """Lua's unpack() stops at about 8,000 values; the batch's keys are never unpacked."""
    sink = RedisSink(client, namespace)
    batch = [_prediction(f"k{n}", n, minute=0) for n in range(10_000)]
    assert sink.write(batch, []) == 10_000
    assert client.xlen(f"{namespace}:predictions") == 10_000


def test_a_key_of_another_type_refuses_only_its_own_write(client: redis.Redis, namespace: str):
    """A string where a prediction's hash belongs: the rest of the batch is written (hashes,
    every stream entry, metrics) and the refusal names that prediction; it is not an
    outage, so nothing is retried."""
    sink = RedisSink(client, namespace)
    client.set(f"{namespace}:prediction:k3", "not a hash")
    batch = [_prediction(f"k{n}", n, minute=0) for n in range(6)]
    with pytest.raises(WriteRefused) as refused:
        sink.write(batch, [{"partition": 0, "scored": 1}])
    assert refused.value.stored == 5
    assert [(p.key, why) for p, why in refused.value.refused] == [
        ("k3", f"{namespace}:prediction:k3 holds another type than a hash (WRONGTYPE)")
    ]
    stored = PredictionsClient(client, namespace).get_many(["k0", "k1", "k2", "k4", "k5"])
    assert sorted(stored) == ["k0", "k1", "k2", "k4", "k5"]
    assert client.get(f"{namespace}:prediction:k3") == b"not a hash"
    assert client.xlen(f"{namespace}:predictions") == 6
    assert list(PredictionsClient(client, namespace).task_metrics()) == [0]


def test_a_stream_key_of_another_type_refuses_every_prediction_of_the_batch(
    client: redis.Redis, namespace: str
):
    sink = RedisSink(client, namespace)
    client.set(f"{namespace}:predictions", "not a stream")
    batch = [_prediction(f"k{n}", n, minute=0) for n in range(3)]
    with pytest.raises(WriteRefused) as refused:
        sink.write(batch, [])
    assert [p.event_id for p, _ in refused.value.refused] == ["e0", "e1", "e2"]
    assert {why for _, why in refused.value.refused} == {
        f"{namespace}:predictions holds another type than a stream"
    }
    assert len(PredictionsClient(client, namespace).get_many(["k0", "k1", "k2"])) == 3


def test_a_metrics_key_of_another_type_is_counted_and_the_predictions_written(
    client: redis.Redis, namespace: str
):
    sink = RedisSink(client, namespace)
    client.set(f"{namespace}:metrics", "not a hash")
    assert sink.write([_prediction("k", 1, minute=0)], [{"partition": 0, "scored": 1}]) == 1
    assert sink.metrics_refused == 1 and client.xlen(f"{namespace}:predictions") == 1


@pytest.mark.parametrize("order", ["smaller id first", "greater id first"])
def test_equal_event_times_keep_the_greater_event_id_whichever_partition_writes_last(
    client: redis.Redis, namespace: str, order: str
):
    """One key's events spread over partitions (``consume --source`` routing by event id)
    race to the key's hash: equal event times are ordered by event id, not by arrival."""
    sink = RedisSink(client, namespace)
    first, second = _prediction("JFK-LAX", 7, minute=3), _prediction("JFK-LAX", 8, minute=3)
    writes = [[first], [second]] if order == "smaller id first" else [[second], [first]]
    for batch in writes:  # two partitions' batches, one after the other
        sink.write(batch, [])
    sink.write([second, first], [])  # and within one batch
    stored = PredictionsClient(client, namespace).get("JFK-LAX")
    assert stored is not None and stored.event_id == "e8"
