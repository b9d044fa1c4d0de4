"""ConfluentProducer: the kafka-python face of the producer over a fake librdkafka
producer (deliveries, refusals, timeouts, purges on close), and the publisher over it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from confluent_kafka import KafkaError, KafkaException
from kafka import errors as kafka_errors

from driftline.adapters.confluent_producer import ConfluentProducer, DeliveryFuture, kafka_error
from driftline.core.errors import PublishError
from driftline.core.events.model import Observation
from driftline.producers.publisher import EventPublisher

T0 = datetime(2024, 3, 10, 6, 0, tzinfo=UTC)


# -- the producer's kafka-python face ----------------------------------------------------------
class Message:
    """What a delivery report carries."""

    def __init__(self, topic: str, partition: int, offset: int) -> None:
        self._where = (topic, partition, offset)

    def topic(self) -> str:
        return self._where[0]

    def partition(self) -> int:
        return self._where[1]

    def offset(self) -> int:
        return self._where[2]

    def timestamp(self) -> tuple[int, int]:
        return (2, 1_700_000_000_000)


class FakeLibrdkafka:
    """confluent_kafka.Producer as the adapter uses it: a delivery report per record,
    served by poll/flush; ``verdict(record)`` says a partition or a KafkaError (``None``:
    no answer); ``full`` sends raise BufferError first."""

    def __init__(self, verdict: Callable[[dict[str, Any]], Any], full: int = 0) -> None:
        self.verdict = verdict
        self.full = full
        self.queue: list[dict[str, Any]] = []
        self.produced: list[dict[str, Any]] = []
        self.offsets: dict[int, int] = {}
        self.purged = self.closed = False
        self.refuse: KafkaError | None = None

    def produce(self, topic: str, **record: Any) -> None:
        if self.full:
            self.full -= 1
            raise BufferError("Local: Queue full")
        if self.refuse is not None:
            raise KafkaException(self.refuse)
        record["topic"] = topic
        self.produced.append(record)
        self.queue.append(record)

    def poll(self, timeout: float = 0) -> int:
        served, waiting = 0, []
        for record in self.queue:
            answer = self.verdict(record)
            if answer is None:
                waiting.append(record)
                continue
            if isinstance(answer, KafkaError):
                record["on_delivery"](answer, None)
            else:
                offset = self.offsets.get(answer, 0)
                self.offsets[answer] = offset + 1
                record["on_delivery"](None, Message(record["topic"], answer, offset))
            served += 1
        self.queue = waiting
        return served

    def flush(self, timeout: float = -1) -> int:
        self.poll()
        return len(self.queue)

    def purge(self, in_queue: bool = True, in_flight: bool = True) -> None:
        self.purged = True
        for record in self.queue:
            record["on_delivery"](KafkaError(KafkaError._PURGE_QUEUE), None)
        self.queue = []

    def close(self) -> None:
        self.closed = True

    def __len__(self) -> int:
        return len(self.queue)


def obs(i: int, key: str = "EWR") -> Observation:
    return Observation(event_id=f"e{i}", key=key, event_time=T0, features={"i": i})


def test_send_passes_the_record_and_settles_its_future() -> None:
    fake = FakeLibrdkafka(lambda record: 2)
    producer = ConfluentProducer(fake)
    heard: list[Any] = []
    future = producer.send("t", value=b"v", key=b"k", headers=[("h", b"1")], timestamp_ms=5)
    future.add_callback(heard.append)
    record = fake.produced[0]
    assert (record["value"], record["key"], record["headers"]) == (b"v", b"k", [("h", b"1")])
    assert (record["partition"], record["timestamp"]) == (-1, 5)
    assert future.succeeded() and heard == [future.value]
    assert (future.value.partition, future.value.offset) == (2, 0)
    tick = producer.send("t", value=b"tick", partition=1)
    assert fake.produced[1]["partition"] == 1 and tick.is_done


def test_a_failed_delivery_is_kafka_pythons_error() -> None:
    producer = ConfluentProducer(FakeLibrdkafka(lambda r: KafkaError(KafkaError._MSG_TIMED_OUT)))
    future = producer.send("t", value=b"v")
    errors: list[BaseException] = []
    future.add_errback(errors.append)
    assert future.failed() and not future.succeeded()
    assert isinstance(future.exception, kafka_errors.KafkaTimeoutError)
    assert errors == [future.exception]


def test_broker_errors_keep_their_kafka_code() -> None:
    error = kafka_error(KafkaError(KafkaError.NOT_ENOUGH_REPLICAS))
    assert isinstance(error, kafka_errors.NotEnoughReplicasError)


def test_a_full_queue_waits_then_times_out() -> None:
    fake = FakeLibrdkafka(lambda r: 0, full=2)
    assert ConfluentProducer(fake, max_block_ms=1_000).send("t", value=b"v").succeeded()
    fake.full = 10**9
    with pytest.raises(kafka_errors.KafkaTimeoutError, match="no room"):
        ConfluentProducer(fake, max_block_ms=100).send("t", value=b"v")


def test_a_refused_record_raises_kafka_pythons_error() -> None:
    fake = FakeLibrdkafka(lambda r: 0)
    fake.refuse = KafkaError(KafkaError.MSG_SIZE_TOO_LARGE)
    with pytest.raises(kafka_errors.MessageSizeTooLargeError):
        ConfluentProducer(fake).send("t", value=b"v")


def test_flush_and_close_time_out_on_unanswered_records_and_purge_them() -> None:
    fake = FakeLibrdkafka(lambda r: None)
    producer = ConfluentProducer(fake)
    future = producer.send("t", value=b"v")
    with pytest.raises(kafka_errors.KafkaTimeoutError, match="1 record"):
        producer.flush(timeout=0.1)
    assert not future.is_done and len(producer) == 1
    with pytest.raises(kafka_errors.KafkaTimeoutError):
        producer.close(timeout=0.1)
    assert fake.purged and fake.closed
    assert isinstance(future.exception, kafka_errors.KafkaTimeoutError)
    producer.close(timeout=0.1)  # once closed, closing again does nothing
    with pytest.raises(kafka_errors.IllegalStateError):
        producer.send("t", value=b"v")


def test_the_publisher_reports_acknowledged_and_failed_records_over_it() -> None:
    def verdict(record: dict[str, Any]) -> Any:
        if record["key"] == b"JFK":
            return KafkaError(KafkaError._MSG_TIMED_OUT, "Local: Message timed out")
        return sum(record["key"]) % 3

    fake = FakeLibrdkafka(verdict)
    publisher = EventPublisher(ConfluentProducer(fake), "demo.events")
    for i in range(4):
        publisher.publish(obs(i))
    with pytest.raises(PublishError) as caught:
        publisher.publish(obs(9, key="JFK"))
    partition = sum(b"EWR") % 3
    assert str(caught.value) == (
        f"publishing to demo.events failed: 4 record(s) acknowledged (partition {partition}: 4), "
        "1 failed (1 KafkaTimeoutError: Local: Message timed out)"
    )
    assert caught.value.failed == 1


def test_delivery_future_callbacks_added_late_run_at_once() -> None:
    future = DeliveryFuture()
    future(None, Message("t", 1, 7))
    seen: list[Any] = []
    future.add_callback(lambda tag, value: seen.append((tag, value.offset)), "late")
    future.add_errback(seen.append)
    assert seen == [("late", 7)]
