"""Bad input never stops a worker: every kind is routed with its reason, and counted."""

from __future__ import annotations

import io
import json
import struct
import time
from datetime import UTC, datetime, timedelta

import fastavro
import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from driftline.adapters.redis_clients import make_redis
from driftline.adapters.settings import Settings
from driftline.core.events.codec import EventCodec
from driftline.core.events.model import Observation, Outcome, avro_schema
from driftline.read.reader import PredictionsClient
from tests.integration.helpers import create_topics, drain

pytestmark = pytest.mark.integration

T0 = datetime(2024, 6, 1, 8, 0, tzinfo=UTC)


def _raw_avro(kind: str, fields: dict, schema_id: int) -> bytes:
    body = io.BytesIO()
    body.write(struct.pack(">bI", 0, schema_id))
    fastavro.schemaless_writer(body, fastavro.parse_schema(avro_schema(kind)), fields)
    return body.getvalue()


def test_every_bad_record_kind_is_dead_lettered_and_the_worker_goes_on(settings: Settings):
    settings = settings.with_overrides(
        pending_ttl_s=600.0, max_future_s=3600.0, feature_bounds={"distance": (0.0, 6000.0)}
    )
    create_topics(settings, partitions=1)
    codec = EventCodec()

    def obs(event_id: str, at: datetime, **features) -> Observation:
        return Observation(
            event_id=event_id, key="k", event_time=at, features={"distance": 100.0} | features
        )

    def out(event_id: str, at: datetime, label=True) -> Outcome:
        return Outcome(event_id=event_id, key="k", event_time=at, label=label)

    good = obs("good-1", T0)
    far_future = datetime.now(UTC) + timedelta(days=30)
    nan_body = _raw_avro(
        "observation",
        {"event_id": "nan", "key": "k", "event_time": T0, "features": {"x": float("nan")}},
        1,
    )
    records: list[tuple[bytes | None, bytes | None, str | None]] = [
        (b"k", codec.encode(good), None),
        (b"k", b"\x07garbage-bytes", "bad-magic-byte"),
        (b"k", b"\x00\x00", "truncated"),
        (b"k", b"\x00\x00\x00\x00\x63rest", "unknown-schema"),
        (b"k", b"\x00\x00\x00\x00\x01\xff\xff\xff\xff\xff", "avro-decode"),
        (b"k", None, "empty-value"),
        (b"k", nan_body, "schema-violation"),
        (b"other", codec.encode(obs("mismatch", T0)), "key-mismatch"),
        (b"k", codec.encode(obs("future", far_future)), "event-time-in-future"),
        (b"k", codec.encode(obs("too-far", T0, distance=90000.0)), "out-of-range"),
        (b"k", codec.encode(out("good-1", T0 + timedelta(minutes=1), label=0.5)), "label-type"),
        (b"k", codec.encode(out("too-far", T0 + timedelta(minutes=1))), "unknown-observation"),
        (b"k", codec.encode(good), None),  # a duplicate: counted, skipped, not dead-lettered
        (b"k", codec.encode(obs("will-expire", T0 + timedelta(minutes=2))), None),
        (b"k", codec.encode(obs("orphan-wait", T0 + timedelta(minutes=3))), None),
        (b"k", codec.encode(out("never-observed", T0 + timedelta(minutes=3))), None),
        # An hour later: the watermark passes both TTLs.
        (b"k", codec.encode(obs("late-1", T0 + timedelta(hours=1))), None),
        (b"k", codec.encode(out("will-expire", T0 + timedelta(hours=1))), "expired-observation"),
        (b"k", codec.encode(good.model_copy(update={"event_id": "good-2"})), None),
    ]
    producer = KafkaProducer(bootstrap_servers=settings.kafka.bootstrap, acks="all")
    for key, value, _ in records:
        producer.send(settings.topics.events, key=key, value=value)
    producer.flush()
    producer.close()

    worker = drain(settings, len(records))
    assert worker.stats.records == len(records)

    # The dead-letter topic holds each bad record, untouched, with its reason and source.
    expected = [reason for _, _, reason in records if reason] + ["unknown-observation"]
    consumer = KafkaConsumer(
        bootstrap_servers=settings.kafka.bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    tp = TopicPartition(settings.topics.dead_letter, 0)
    consumer.assign([tp])
    consumer.seek_to_beginning(tp)
    letters = []
    deadline = time.monotonic() + 30
    while len(letters) < len(expected) and time.monotonic() < deadline:
        for batch in consumer.poll(timeout_ms=500).values():
            letters.extend(batch)
    consumer.close()
    reasons = [dict(r.headers)["driftline.reason"].decode() for r in letters]
    assert sorted(reasons) == sorted(expected)
    by_offset = {int(dict(r.headers)["driftline.source.offset"]): r for r in letters}
    for offset, (key, value, reason) in enumerate(records):
        if reason and reason != "unknown-observation":
            letter = by_offset[offset]
            assert letter.value == value and letter.key == key
            assert dict(letter.headers)["driftline.source.topic"] == settings.topics.events.encode()
    never = [r for r in letters if b"never-observed" in dict(r.headers)["driftline.detail"]]
    assert len(never) == 1  # held as an early outcome, dead-lettered once its TTL passed

    redis_client = make_redis(settings.redis.url.get_secret_value())  # type: ignore[union-attr]
    total = PredictionsClient(redis_client, settings.namespace).metrics()["total"]
    redis_client.close()
    assert total["dead_letters"] == {r: expected.count(r) for r in set(expected)}
    counts = total["counts"]
    assert counts["duplicates"] == 1
    assert counts["expired"] >= 1
    # Predictions were still made after all of that: the worker never stopped.
    assert counts["predictions"] == 5  # good-1, will-expire, orphan-wait, late-1, good-2
    assert json.loads(json.dumps(total))  # the snapshot stays JSON
