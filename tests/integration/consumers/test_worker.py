"""The online worker on the real Kafka and Redis: predictions, metrics, commits."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from kafka import KafkaConsumer, TopicPartition

from driftline.adapters.redis_clients import make_redis
from driftline.adapters.settings import Settings
from driftline.core.events.model import Observation, Outcome
from driftline.read.reader import PredictionsClient
from tests.integration.helpers import create_topics, drain, publish

pytestmark = pytest.mark.integration

T0 = datetime(2024, 6, 1, 8, 0, tzinfo=UTC)


def _stream(keys: list[str], n: int) -> list[Observation | Outcome]:
    events: list[Observation | Outcome] = []
    for i in range(n):
        key = keys[i % len(keys)]
        at = T0 + timedelta(minutes=i)
        x = float(i % 7)
        events.append(
            Observation(
                event_id=f"e{i}",
                key=key,
                event_time=at,
                features={"x": x, "segment": key, "maybe": None},
            )
        )
        if i % 10 != 9:  # every tenth observation never gets its label
            events.append(
                Outcome(
                    event_id=f"e{i}", key=key, event_time=at + timedelta(minutes=3), label=x > 3
                )
            )
    return events


def test_worker_writes_predictions_metrics_and_commits(settings: Settings):
    settings = settings.with_overrides(pending_ttl_s=1800.0)
    create_topics(settings, partitions=3)
    keys = ["alpha", "beta", "gamma", "delta", "epsilon"]
    events = _stream(keys, 300)
    published = publish(settings, events)
    worker = drain(settings, published)

    redis_client = make_redis(settings.redis.url.get_secret_value())  # type: ignore[union-attr]
    client = PredictionsClient(redis_client, settings.namespace)
    # The latest prediction of each key is that key's last observation.
    for key in keys:
        stored = client.get(key)
        assert stored is not None
        last = max(
            (e for e in events if isinstance(e, Observation) and e.key == key),
            key=lambda e: e.event_time,
        )
        assert stored.event_id == last.event_id
        assert stored.event_time == last.event_time
        assert stored.ingest_time >= stored.event_time
        assert set(stored.probabilities or {}) == {"true", "false"}
        assert stored.prediction in (True, False)
    assert client.get("nobody") is None

    metrics = client.metrics()
    total = metrics["total"]
    counts = total["counts"]
    assert counts["observations"] == 300 == counts["predictions"]
    assert counts["outcomes"] == 270 == counts["learned"]
    assert counts["pending"] + counts["expired"] == 30
    assert counts["expired"] > 0  # the watermark moved 30+ minutes past early unlabelled ones
    assert counts.get("dead_letters", 0) == 0
    assert total["scored"] == 270 and 0 <= total["accuracy"] <= 1
    assert set(metrics["tasks"]) == {str(p) for p in worker.partitions_seen}
    assert redis_client.xlen(f"{settings.namespace}:predictions") == 300

    # Offsets were committed only after the writes: the group's position is the end.
    consumer = KafkaConsumer(
        bootstrap_servers=settings.kafka.bootstrap,
        group_id=settings.topics.consumer_group,
        enable_auto_commit=False,
    )
    try:
        partitions = [TopicPartition(settings.topics.events, p) for p in range(3)]
        ends = consumer.end_offsets(partitions)
        for tp in partitions:
            assert (consumer.committed(tp) or 0) == ends[tp]  # an empty partition: nothing
    finally:
        consumer.close()
    redis_client.close()


def test_stale_prediction_never_overwrites_a_fresher_one(settings: Settings):
    from driftline.adapters.redis_sink import RedisSink
    from driftline.core.events.records import Prediction

    redis_client = make_redis(settings.redis.url.get_secret_value())  # type: ignore[union-attr]
    sink = RedisSink(redis_client, settings.namespace, prediction_ttl_s=60)

    def prediction(event_id: str, at: datetime, value: bool) -> Prediction:
        return Prediction("k", event_id, 0, 0, at, at, at, value, {True: 0.9, False: 0.1}, 1)

    fresh = prediction("new", T0 + timedelta(hours=1), True)
    stale = prediction("old", T0, False)
    assert sink.write([fresh], []) == 1
    assert sink.write([stale], []) == 0  # older event time: refused inside Redis
    client = PredictionsClient(redis_client, settings.namespace)
    stored = client.get("k")
    assert stored is not None and stored.event_id == "new" and stored.prediction is True
    same_time = prediction("replayed", T0 + timedelta(hours=1), False)
    assert sink.write([same_time], []) == 1  # equal event time: a replay rewrites it
    assert client.get("k").event_id == "replayed"  # type: ignore[union-attr]
    ttl = redis_client.pttl(f"{settings.namespace}:prediction:k")
    assert 0 < ttl <= 60_000
    # In one batch, out of order: the fresher survives whatever the order.
    batch = [
        prediction("b2", T0 + timedelta(hours=3), True),
        prediction("b1", T0 + timedelta(hours=2), False),
    ]
    assert sink.write(batch, []) == 1
    assert client.get("k").event_id == "b2"  # type: ignore[union-attr]
    assert sink.stale_skipped == 2
    entries = redis_client.xrange(f"{settings.namespace}:predictions")
    assert [json.loads(f[b"prediction"]) for _, f in entries] == [True, False, False, True, False]
    redis_client.close()
