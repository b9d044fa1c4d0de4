"""EventPublisher over a fake producer: keys, values, headers, and no delivery left unchecked."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

import pytest
from hypothesis import given
from hypothesis import strategies as st
from kafka.errors import KafkaTimeoutError, NotLeaderForPartitionError
from kafka.future import Future

from pipeline.core.codec import EventCodec
from pipeline.core.errors import PublishError
from pipeline.core.events import Event, Observation, Outcome
from producers.publisher import KIND_HEADER, EventPublisher

TOPIC = "demo.events"
T0 = datetime(2013, 1, 1, 10, 15, tzinfo=UTC)
CODEC = EventCodec()


class Metadata(NamedTuple):
    """The fields of kafka-python's RecordMetadata that the publisher reads."""

    topic: str
    partition: int
    offset: int


class Sent(NamedTuple):
    topic: str
    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]]
    timestamp_ms: int | None
    future: Future


#: What the fake broker does with a record: a partition to ack it in, an exception, or None
#: (no answer at all).
Verdict = Callable[[Sent], int | BaseException | None]


def ack_by_key(record: Sent) -> int:
    return sum(record.key) % 3


class FakeProducer:
    """kafka-python's KafkaProducer as the publisher uses it; futures settle at flush()."""

    def __init__(self, verdict: Verdict = ack_by_key, refuse: BaseException | None = None):
        self.verdict = verdict
        self.refuse = refuse
        self.sent: list[Sent] = []
        self.offsets: dict[int, int] = {}
        self.flushes = 0
        self.closed = 0
        self.flush_error: BaseException | None = None

    def send(
        self,
        topic: str,
        *,
        key: bytes,
        value: bytes,
        headers: list[tuple[str, bytes]],
        timestamp_ms: int | None = None,
    ) -> Future:
        if self.refuse is not None:
            raise self.refuse
        record = Sent(topic, key, value, headers, timestamp_ms, Future())
        self.sent.append(record)
        return record.future

    def flush(self, timeout: float | None = None) -> None:
        self.flushes += 1
        if self.flush_error is not None:
            raise self.flush_error
        for record in self.sent:
            if record.future.is_done:
                continue
            verdict = self.verdict(record)
            if isinstance(verdict, BaseException):
                record.future.failure(verdict)
            elif verdict is not None:
                offset = self.offsets.get(verdict, -1) + 1
                self.offsets[verdict] = offset
                record.future.success(Metadata(record.topic, verdict, offset))

    def close(self, timeout: float | None = None) -> None:
        self.closed += 1


def obs(i: int, key: str = "EWR", **features: Any) -> Observation:
    return Observation(
        event_id=f"f{i}",
        key=key,
        event_time=T0 + timedelta(minutes=i),
        features=features or {"i": i},
    )


def out(i: int, key: str = "EWR") -> Outcome:
    return Outcome(
        event_id=f"f{i}", key=key, event_time=T0 + timedelta(hours=1, minutes=i), label=i % 2 == 0
    )


# -- what goes on the wire ----------------------------------------------------------------------
@pytest.mark.parametrize("event", [obs(1, key="JFK"), out(2, key="Zürich-ÄÖ")], ids=["obs", "out"])
def test_record_key_value_and_headers(event: Event) -> None:
    producer = FakeProducer()
    publisher = EventPublisher(producer, TOPIC)  # type: ignore[arg-type]
    publisher.publish(event)
    [record] = producer.sent
    assert record.topic == TOPIC
    assert record.key == event.key.encode("utf-8")
    assert CODEC.decode(record.value) == event
    assert (KIND_HEADER, event.kind.encode()) in record.headers
    assert KIND_HEADER == "driftline.kind"


def test_observation_and_outcome_of_one_entity_share_the_key() -> None:
    producer = FakeProducer()
    publisher = EventPublisher(producer, TOPIC)  # type: ignore[arg-type]
    publisher.publish(obs(1, key="LGA"))
    publisher.publish(out(1, key="LGA"))
    assert producer.sent[0].key == producer.sent[1].key == b"LGA"


def test_record_timestamp_is_the_event_time() -> None:
    producer = FakeProducer()
    publisher = EventPublisher(producer, TOPIC)  # type: ignore[arg-type]
    publisher.publish(obs(0))
    assert producer.sent[0].timestamp_ms == int(T0.timestamp()) * 1000


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def published_timestamp_ms(at: datetime) -> int | None:
    producer = FakeProducer()
    publisher = EventPublisher(producer, TOPIC)  # type: ignore[arg-type]
    publisher.publish(Observation(event_id="ms", key="k", event_time=at, features={}))
    return producer.sent[0].timestamp_ms


def test_record_timestamp_keeps_milliseconds_exactly() -> None:
    # int(timestamp() * 1000) in floating point gives 1074148163306 here, a millisecond early
    at = datetime(2004, 1, 15, 6, 29, 23, 307_000, tzinfo=UTC)
    assert published_timestamp_ms(at) == (at - EPOCH) // timedelta(milliseconds=1)
    assert published_timestamp_ms(at) == 1_074_148_163_307


@given(
    st.datetimes(
        min_value=datetime(1990, 1, 1),
        max_value=datetime(2099, 12, 31, 23, 59, 59, 999_000),
        timezones=st.just(UTC),
    ).map(lambda at: at.replace(microsecond=at.microsecond // 1000 * 1000))
)
def test_every_whole_millisecond_time_is_kept_exactly(at: datetime) -> None:
    timestamp_ms = published_timestamp_ms(at)
    assert timestamp_ms is not None
    assert EPOCH + timedelta(milliseconds=timestamp_ms) == at


@pytest.mark.parametrize("micros", [1, 500, 999], ids=str)
def test_record_timestamp_drops_sub_milliseconds(micros: int) -> None:
    at = datetime(2004, 1, 15, 6, 29, 23, 307_000 + micros, tzinfo=UTC)
    assert published_timestamp_ms(at) == 1_074_148_163_307  # floored, never rounded up


def test_custom_codec_is_used() -> None:
    class Marked(EventCodec):
        def encode(self, event: Event) -> bytes:
            return b"marked:" + super().encode(event)

    producer = FakeProducer()
    EventPublisher(producer, TOPIC, codec=Marked()).publish(obs(1))  # type: ignore[arg-type]
    assert producer.sent[0].value.startswith(b"marked:")


# -- acknowledgements ------------------------------------------------------------------------------
def test_flush_reports_what_was_acknowledged() -> None:
    producer = FakeProducer(verdict=lambda r: {b"EWR": 0, b"JFK": 2}[r.key])
    publisher = EventPublisher(producer, TOPIC)  # type: ignore[arg-type]
    for i in range(3):
        publisher.publish(obs(i, key="EWR"))
    publisher.publish(out(0, key="EWR"))
    publisher.publish(obs(9, key="JFK"))
    report = publisher.flush()
    assert report is publisher.report
    assert report.total == 5
    assert report.by_kind == {"observation": 4, "outcome": 1}
    assert report.by_partition == {0: 4, 2: 1}
    assert report.last_offsets == {0: 3, 2: 0}
    assert report.to_dict() == {
        "topic": TOPIC,
        "published": 5,
        "observations": 4,
        "outcomes": 1,
        "partitions": {"0": 4, "2": 1},
        "last_offsets": {"0": 3, "2": 0},
    }


def test_reports_accumulate_over_flushes() -> None:
    producer = FakeProducer(verdict=lambda r: 1)
    publisher = EventPublisher(producer, TOPIC)  # type: ignore[arg-type]
    publisher.publish(obs(1))
    publisher.flush()
    publisher.publish(obs(2))
    publisher.publish(out(2))
    report = publisher.flush()
    assert report.total == 3
    assert report.last_offsets == {1: 2}
    assert publisher.flush().total == 3  # nothing new, nothing counted twice


def test_failed_delivery_raises_with_the_failed_count() -> None:
    boom = NotLeaderForPartitionError("leader moved")
    producer = FakeProducer(verdict=lambda r: boom if r.key == b"BAD" else 0)
    publisher = EventPublisher(producer, TOPIC)  # type: ignore[arg-type]
    publisher.publish(obs(1, key="OK"))
    publisher.publish(obs(2, key="BAD"))
    publisher.publish(out(2, key="BAD"))
    publisher.publish(out(1, key="OK"))
    with pytest.raises(PublishError) as caught:
        publisher.flush()
    assert caught.value.failed == 2
    assert caught.value.first_error is boom
    assert "2 record(s)" in str(caught.value)
    # only the acknowledged records are counted
    assert publisher.report.total == 2
    assert publisher.report.by_kind == {"observation": 1, "outcome": 1}


def test_unanswered_record_counts_as_failed() -> None:
    producer = FakeProducer(verdict=lambda r: None if r.key == b"LOST" else 0)
    publisher = EventPublisher(producer, TOPIC)  # type: ignore[arg-type]
    publisher.publish(obs(1, key="LOST"))
    publisher.publish(obs(2, key="FINE"))
    with pytest.raises(PublishError) as caught:
        publisher.flush()
    assert caught.value.failed == 1
    assert isinstance(caught.value.first_error, TimeoutError)
    assert publisher.report.total == 1


def test_failures_are_not_reported_twice() -> None:
    producer = FakeProducer(verdict=lambda r: RuntimeError("nope") if r.key == b"BAD" else 0)
    publisher = EventPublisher(producer, TOPIC)  # type: ignore[arg-type]
    publisher.publish(obs(1, key="BAD"))
    with pytest.raises(PublishError):
        publisher.flush()
    publisher.publish(obs(2, key="OK"))
    assert publisher.flush().total == 1


def test_send_refused_synchronously_becomes_publish_error() -> None:
    refusal = KafkaTimeoutError("metadata not available")
    producer = FakeProducer(refuse=refusal)
    publisher = EventPublisher(producer, TOPIC)  # type: ignore[arg-type]
    with pytest.raises(PublishError) as caught:
        publisher.publish(obs(7))
    assert caught.value.failed == 1
    assert caught.value.first_error is refusal
    assert caught.value.__cause__ is refusal
    assert "f7" in str(caught.value)


def test_flush_that_fails_becomes_publish_error() -> None:
    producer = FakeProducer()
    publisher = EventPublisher(producer, TOPIC)  # type: ignore[arg-type]
    publisher.publish(obs(1))
    publisher.publish(obs(2))
    producer.flush_error = KafkaTimeoutError("flush timed out")
    with pytest.raises(PublishError) as caught:
        publisher.flush()
    assert caught.value.failed == 2
    assert caught.value.first_error is producer.flush_error


def test_too_many_unsettled_records_flush_on_their_own() -> None:
    producer = FakeProducer()
    publisher = EventPublisher(producer, TOPIC, max_unsettled=3)  # type: ignore[arg-type]
    publisher.publish(obs(1))
    publisher.publish(obs(2))
    assert producer.flushes == 0
    publisher.publish(obs(3))
    assert producer.flushes == 1
    assert publisher.report.total == 3


# -- closing --------------------------------------------------------------------------------------
def test_context_manager_flushes_and_closes_on_success() -> None:
    producer = FakeProducer()
    with EventPublisher(producer, TOPIC) as publisher:  # type: ignore[arg-type]
        publisher.publish(obs(1))
        publisher.publish(out(1))
    assert producer.closed == 1
    assert producer.flushes >= 1
    assert publisher.report.total == 2


def test_context_manager_closes_on_error_and_keeps_the_error() -> None:
    producer = FakeProducer(verdict=lambda r: None)  # nothing is ever acknowledged
    with (
        pytest.raises(ZeroDivisionError),  # the caller's error, not a PublishError
        EventPublisher(producer, TOPIC) as publisher,  # type: ignore[arg-type]
    ):
        publisher.publish(obs(1))
        1 / 0  # noqa: B018
    assert producer.closed == 1


def test_context_manager_closes_when_the_final_flush_fails() -> None:
    producer = FakeProducer(verdict=lambda r: None)
    with (
        pytest.raises(PublishError),
        EventPublisher(producer, TOPIC) as publisher,  # type: ignore[arg-type]
    ):
        publisher.publish(obs(1))
    assert producer.closed == 1


def test_close_closes_even_when_flush_fails() -> None:
    producer = FakeProducer()
    publisher = EventPublisher(producer, TOPIC)  # type: ignore[arg-type]
    publisher.publish(obs(1))
    producer.flush_error = KafkaTimeoutError("down")
    with pytest.raises(PublishError):
        publisher.close()
    assert producer.closed == 1
