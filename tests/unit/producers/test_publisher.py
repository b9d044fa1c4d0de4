"""EventPublisher over a fake producer: keys, values, headers, and no delivery left unchecked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from kafka.errors import KafkaTimeoutError, NotLeaderForPartitionError

from driftline.core.errors import PublishError
from driftline.core.events.codec import EventCodec
from driftline.core.events.model import Event, Observation, Outcome
from driftline.producers.publisher import KIND_HEADER, Delivery, EventPublisher
from tests.unit.producers.fake_producer import TOPIC, FakeProducer

T0 = datetime(2013, 1, 1, 10, 15, tzinfo=UTC)
CODEC = EventCodec()


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


def test_a_replay_stamps_each_record_with_its_scheduled_arrival() -> None:
    """A topic of the replay's clock keeps this stamp (issue 19, defect 1): lateness is
    then the replayed stream's, the same on a busy machine as on a quiet one."""
    producer = FakeProducer()
    publisher = EventPublisher(producer, TOPIC)  # type: ignore[arg-type]
    at = datetime(2030, 1, 1, tzinfo=UTC)
    event = Observation(event_id="a", key="k", event_time=at, features={})
    publisher.publish(event, arrival=at + timedelta(milliseconds=1500))
    assert producer.sent[0].timestamp_ms == (at - EPOCH) // timedelta(milliseconds=1) + 1500


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
        "acknowledged": 5,
        "observations": 4,
        "outcomes": 1,
        "partitions": {"0": 4, "2": 1},
        "last_offsets": {"0": 3, "2": 0},
        "failed": 0,
        "failed_by_reason": {},
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
    assert str(caught.value) == (
        "publishing to demo.events failed: 2 record(s) acknowledged (partition 0: 2), "
        "2 failed (2 [Error 6] NotLeaderForPartitionError: leader moved)"
    )
    # only the acknowledged records are counted as such
    assert publisher.report.total == 2
    assert publisher.report.by_kind == {"observation": 1, "outcome": 1}
    assert publisher.report.failed_by_reason == {"NotLeaderForPartitionError": 2}


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
    assert publisher.report.to_dict()["failed_by_reason"] == {"no answer": 1}
    assert "1 failed (1 not acknowledged within 150 s)" in str(caught.value)


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
    assert publisher.report.failed_by_reason == {"KafkaTimeoutError": 1}


def test_a_refused_send_first_counts_the_records_in_flight() -> None:
    producer = FakeProducer(verdict=lambda r: 1)
    publisher = EventPublisher(producer, TOPIC)  # type: ignore[arg-type]
    publisher.publish(obs(1))
    publisher.publish(obs(2))
    producer.refuse = KafkaTimeoutError("Failed to update metadata after 5.0 secs.")
    with pytest.raises(PublishError) as caught:
        publisher.publish(obs(3))
    assert publisher.report.total == 2  # the two in flight were waited for and counted
    assert str(caught.value) == (
        "Kafka refused observation f3; publishing to demo.events failed: 2 record(s) "
        "acknowledged (partition 1: 2), 1 failed (1 KafkaTimeoutError: Failed to update "
        "metadata after 5.0 secs.)"
    )


def test_flush_that_fails_becomes_publish_error() -> None:
    producer = FakeProducer()
    publisher = EventPublisher(producer, TOPIC)  # type: ignore[arg-type]
    publisher.publish(obs(1))
    publisher.publish(obs(2))
    producer.flush_error = KafkaTimeoutError("flush timed out")
    with pytest.raises(PublishError) as caught:
        publisher.flush(timeout_s=12)
    assert caught.value.failed == 2
    assert isinstance(caught.value.first_error, TimeoutError)
    assert producer.flush_timeouts == [12]
    assert "2 failed (2 not acknowledged within 12 s)" in str(caught.value)


def test_a_flush_that_times_out_still_counts_what_was_acknowledged() -> None:
    producer = FakeProducer(verdict=lambda r: None if r.key == b"SLOW" else 2)
    publisher = EventPublisher(producer, TOPIC, flush_timeout_s=7.5)  # type: ignore[arg-type]
    publisher.publish(obs(1, key="FAST"))
    publisher.publish(obs(2, key="SLOW"))
    publisher.publish(obs(3, key="FAST"))
    producer.flush()  # the broker answers for the FAST ones ...
    producer.flush_error = KafkaTimeoutError("Timeout waiting for future")  # ... not SLOW
    with pytest.raises(PublishError) as caught:
        publisher.flush()
    assert producer.flush_timeouts[-1] == 7.5
    assert caught.value.failed == 1
    assert publisher.report.by_partition == {2: 2}
    assert publisher.report.failed_by_reason == {"no answer": 1}


# -- stopping at the first failure ---------------------------------------------------------------
def test_the_first_failure_stops_publishing_with_acknowledged_and_failed_counts() -> None:
    expired = KafkaTimeoutError(
        "Expiring 1 record(s) for TopicPartition(topic='demo.events', partition=1): "
        "10012 ms has passed since batch creation"
    )
    producer = FakeProducer(verdict=lambda r: expired if r.key == b"JFK" else 0, eager=True)
    publisher = EventPublisher(producer, TOPIC)  # type: ignore[arg-type]
    publisher.publish(obs(1, key="EWR"))
    publisher.publish(out(1, key="EWR"))
    with pytest.raises(PublishError) as caught:
        publisher.publish(obs(2, key="JFK"))
    assert len(producer.sent) == 3  # nothing was sent after the failure was seen
    report = publisher.report
    assert (report.acknowledged, report.failed) == (2, 1)
    message = str(caught.value)
    assert "\n" not in message
    assert message == (
        "publishing to demo.events failed: 2 record(s) acknowledged (partition 0: 2), "
        "1 failed (1 KafkaTimeoutError: Expiring 1 record(s) for TopicPartition("
        "topic='demo.events', partition=1): 10012 ms has passed since batch creation)"
    )
    assert report.to_dict() | {"topic": None} == {
        "topic": None,
        "published": 2,
        "acknowledged": 2,
        "observations": 1,
        "outcomes": 1,
        "partitions": {"0": 2},
        "last_offsets": {"0": 1},
        "failed": 1,
        "failed_by_reason": {"KafkaTimeoutError": 1},
    }


def test_records_in_flight_at_a_failure_get_the_failure_wait() -> None:
    refused = NotLeaderForPartitionError("no leader")
    producer = FakeProducer(verdict=lambda r: refused if r.key == b"BAD" else 3, lagging=True)
    publisher = EventPublisher(producer, TOPIC, failure_wait_s=2.5)  # type: ignore[arg-type]
    publisher.publish(obs(1, key="OK"))
    publisher.publish(obs(2, key="BAD"))
    with pytest.raises(PublishError) as caught:
        publisher.publish(obs(3, key="OK"))  # the broker answers for BAD now
    assert producer.flush_timeouts == [2.5]
    assert caught.value.failed == 1
    assert publisher.report.by_partition == {3: 2}  # the one in flight was counted too


def test_failure_reasons_are_grouped_and_long_messages_shortened() -> None:
    boom = {b"A": NotLeaderForPartitionError("x" * 500), b"B": KafkaTimeoutError("expired")}
    producer = FakeProducer(verdict=lambda r: boom.get(r.key, 0))
    publisher = EventPublisher(producer, TOPIC)  # type: ignore[arg-type]
    for i, key in enumerate(["A", "B", "B", "C"]):
        publisher.publish(obs(i, key=key))
    with pytest.raises(PublishError) as caught:
        publisher.flush()
    assert caught.value.failed == 3
    assert publisher.report.failed_by_reason == {
        "KafkaTimeoutError": 2,
        "NotLeaderForPartitionError": 1,
    }
    message = str(caught.value)
    assert (
        "1 record(s) acknowledged (partition 0: 1), 3 failed (2 KafkaTimeoutError: expired; "
        in message
    )
    assert message.endswith("...)") and len(message) < 400


def test_every_delivery_is_heard_by_the_hook() -> None:
    heard: list[Delivery] = []
    refusal = RuntimeError("refused")
    producer = FakeProducer(verdict=lambda r: refusal if r.key == b"BAD" else 1)
    publisher = EventPublisher(producer, TOPIC, on_delivery=heard.append)  # type: ignore[arg-type]
    publisher.publish(obs(1, key="OK"))
    publisher.publish(out(1, key="OK"))
    publisher.publish(obs(2, key="BAD"))
    with pytest.raises(PublishError):
        publisher.flush()
    assert heard == [
        Delivery("f1", "observation", 1, 0),
        Delivery("f1", "outcome", 1, 1),
        Delivery("f2", "observation", error=refusal),
    ]
    assert [d.acknowledged for d in heard] == [True, True, False]


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


def test_a_timeout_in_close_never_masks_the_publish_error() -> None:
    # kafka-python's close() flushes again and raises KafkaTimeoutError while a record is
    # still in flight: that used to replace the PublishError (and its counts).
    producer = FakeProducer(verdict=lambda r: None)
    producer.close_error = KafkaTimeoutError("Timeout waiting for future")
    with (
        pytest.raises(PublishError) as caught,
        EventPublisher(producer, TOPIC, flush_timeout_s=3) as publisher,  # type: ignore[arg-type]
    ):
        publisher.publish(obs(1))
    assert "no record acknowledged, 1 failed (1 not acknowledged within 3 s)" in str(caught.value)
    assert producer.closed == 1
    assert producer.close_timeouts == [0.0]  # nothing is worth waiting for after a failure
    assert producer.flushes == 1  # the failed flush is not waited out a second time


def test_an_error_raised_in_the_block_is_not_waited_out_twice() -> None:
    producer = FakeProducer(verdict=lambda r: None)
    producer.close_error = KafkaTimeoutError("Timeout waiting for future")
    publisher = EventPublisher(producer, TOPIC, flush_timeout_s=3)  # type: ignore[arg-type]
    with pytest.raises(PublishError), publisher:
        publisher.publish(obs(1))
        publisher.flush()  # raises inside the block: __exit__ must not flush again
    assert producer.flushes == 1
    assert producer.closed == 1


def test_a_timeout_in_close_after_success_is_a_warning_not_an_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    producer = FakeProducer()
    producer.close_error = KafkaTimeoutError("Timeout waiting for future")
    publisher = EventPublisher(producer, TOPIC, close_timeout_s=4)  # type: ignore[arg-type]
    publisher.publish(obs(1))
    assert publisher.close().total == 1
    assert producer.close_timeouts == [4]
    assert "closed with records in flight" in caplog.text


def test_another_error_settles_what_was_sent_and_logs_no_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    producer = FakeProducer(verdict=lambda r: None)
    with (
        pytest.raises(KeyboardInterrupt),
        EventPublisher(producer, TOPIC, flush_timeout_s=2) as publisher,  # type: ignore[arg-type]
    ):
        publisher.publish(obs(1))
        raise KeyboardInterrupt
    assert publisher.report.failed == 1
    [record] = [r for r in caplog.records if r.name == "driftline.producers.publisher"]
    assert record.exc_info is None
    assert "while stopping on KeyboardInterrupt" in record.getMessage()


class FakeSender:
    """kafka-python's I/O thread as the publisher's last resort uses it."""

    def __init__(self, producer: FakeProducer) -> None:
        self.producer = producer
        self.forced = False

    def force_close(self) -> None:  # fails the pending batches: close() can then complete
        self.forced = True
        self.producer.close_error = None

    def join(self, timeout: float | None = None) -> None:
        pass


def test_a_producer_that_cannot_close_is_force_closed() -> None:
    # kafka-python leaves its sender running when close() times out, and its __del__
    # then prints a traceback at exit: the pending batches are aborted and close() retried.
    producer = FakeProducer(verdict=lambda r: None)
    producer.close_error = KafkaTimeoutError("Timeout waiting for future")
    sender = producer._sender = FakeSender(producer)  # type: ignore[attr-defined]
    with pytest.raises(PublishError), EventPublisher(producer, TOPIC) as publisher:  # type: ignore[arg-type]
        publisher.publish(obs(1))
    assert sender.forced
    assert producer.close_timeouts == [0.0, 0]
