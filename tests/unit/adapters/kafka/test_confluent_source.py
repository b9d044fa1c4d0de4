"""ConfluentRecordSource over a fake confluent-kafka consumer: batches by partition in
offset order, rebalances told to the listener, errors, lag, seeks, commits, keepalive."""

from __future__ import annotations

import logging
from types import SimpleNamespace
from typing import Any

import pytest
from confluent_kafka import OFFSET_INVALID, KafkaError, KafkaException, TopicPartition

from driftline.adapters.kafka.confluent_source import ConfluentRecordSource
from driftline.core.errors import ServiceUnavailable
from driftline.core.events.records import InputRecord

TOPIC = "demo.events"


class Message:
    def __init__(
        self, partition: int = 0, offset: int = 0, error: KafkaError | None = None
    ) -> None:
        self._partition, self._offset, self._error = partition, offset, error

    def error(self) -> KafkaError | None:
        return self._error

    def partition(self) -> int:
        return self._partition

    def offset(self) -> int:
        return self._offset

    def key(self) -> bytes:
        return f"k{self._offset}".encode()

    def value(self) -> bytes:
        return f"v{self._offset}".encode()

    def timestamp(self) -> tuple[int, int]:
        return (2, 1_700_000_000_000 + self._offset)


class FakeConsumer:
    """The calls the source makes; ``ready`` are the messages fetched, in arrival order."""

    def __init__(self) -> None:
        self.ready: list[Message] = []
        self.waiting: list[Message] = []  # arrive during a blocking poll
        self.assigned: list[int] = []
        self.paused: list[int] = []
        self.positions: dict[int, int] = {}
        self.committed_offsets: dict[int, int] = {}
        self.watermarks: dict[int, tuple[int, int]] = {}
        #: The watermarks librdkafka keeps from its fetches, and the partitions whose
        #: watermarks were asked of the broker.
        self.fetched: dict[int, tuple[int, int]] = {}
        self.asked: list[int] = []
        self.seeks: list[tuple[int, int]] = []
        self.commits: list[list[tuple[int, int]]] = []
        self.commit_error: KafkaException | None = None
        self.commit_answer: list[Any] | None = None
        self.callbacks: dict[str, Any] = {}
        self.polls: list[float] = []

    def subscribe(self, topics: list[str], **callbacks: Any) -> None:
        assert topics == [TOPIC]
        self.callbacks = callbacks

    def consume(self, num_messages: int, timeout: float) -> list[Message]:
        assert timeout == 0 and num_messages >= 1
        taken, self.ready = self.ready[:num_messages], self.ready[num_messages:]
        return taken

    def poll(self, timeout: float) -> Message | None:
        self.polls.append(timeout)
        self.ready += self.waiting
        self.waiting = []
        ready = [m for m in self.ready if m.partition() not in self.paused]
        if not ready:
            return None
        self.ready.remove(ready[0])
        return ready[0]

    def assignment(self) -> list[TopicPartition]:
        return [TopicPartition(TOPIC, p) for p in self.assigned]

    def position(self, partitions: list[TopicPartition]) -> list[TopicPartition]:
        return [
            TopicPartition(TOPIC, tp.partition, self.positions.get(tp.partition, OFFSET_INVALID))
            for tp in partitions
        ]

    def committed(self, partitions: list[TopicPartition], timeout: float) -> list[TopicPartition]:
        return [
            TopicPartition(
                TOPIC, tp.partition, self.committed_offsets.get(tp.partition, OFFSET_INVALID)
            )
            for tp in partitions
        ]

    def get_watermark_offsets(
        self, tp: TopicPartition, timeout: float | None = None, cached: bool = False
    ) -> tuple[int, int]:
        if cached:  # what the last fetch of the partition said (-1001: none yet)
            return self.fetched.get(tp.partition, (-1001, -1001))
        self.asked.append(tp.partition)
        return self.watermarks[tp.partition]

    def seek(self, tp: TopicPartition) -> None:
        self.seeks.append((tp.partition, tp.offset))

    def commit(self, offsets: list[TopicPartition], asynchronous: bool) -> Any:
        assert asynchronous is False
        self.commits.append([(tp.partition, tp.offset) for tp in offsets])
        if self.commit_error is not None:
            raise self.commit_error
        return self.commit_answer if self.commit_answer is not None else offsets

    def pause(self, partitions: list[TopicPartition]) -> None:
        self.paused = [tp.partition for tp in partitions]

    def resume(self, partitions: list[TopicPartition]) -> None:
        self.paused = [p for p in self.paused if p not in {tp.partition for tp in partitions}]

    def close(self) -> None:
        self.assigned = []


class Listener:
    def __init__(self) -> None:
        self.calls: list[tuple[str, set[int]]] = []

    def on_revoked(self, partitions: set[int]) -> None:
        self.calls.append(("revoked", partitions))

    def on_assigned(self, partitions: set[int]) -> None:
        self.calls.append(("assigned", partitions))


@pytest.fixture
def consumer() -> FakeConsumer:
    return FakeConsumer()


@pytest.fixture
def source(consumer: FakeConsumer) -> ConfluentRecordSource:
    return ConfluentRecordSource(consumer, TOPIC, timeout_s=1.0)


def test_a_batch_is_grouped_by_partition_in_offset_order(
    consumer: FakeConsumer, source: ConfluentRecordSource
) -> None:
    consumer.ready = [Message(1, 5), Message(0, 3), Message(1, 6), Message(0, 4)]
    batch = source.poll(500, 10)
    assert [r.offset for r in batch[0]] == [3, 4] and [r.offset for r in batch[1]] == [5, 6]
    assert batch[0][0] == InputRecord(0, 3, b"k3", b"v3", 1_700_000_000_003)
    assert consumer.polls == []  # records were there: no waiting


def test_poll_takes_at_most_max_records(consumer: FakeConsumer, source: ConfluentRecordSource):
    consumer.ready = [Message(0, i) for i in range(5)]
    assert [r.offset for r in source.poll(500, 3)[0]] == [0, 1, 2]
    assert [r.offset for r in source.poll(500, 3)[0]] == [3, 4]


def test_poll_waits_for_the_first_record_then_takes_the_rest(
    consumer: FakeConsumer, source: ConfluentRecordSource
) -> None:
    assert source.poll(200, 10) == {}
    assert consumer.polls == [0.2]
    consumer.waiting = [Message(2, 0), Message(2, 1)]
    assert [r.offset for r in source.poll(200, 10)[2]] == [0, 1]
    consumer.waiting = [Message(2, 2), Message(2, 3)]
    assert [r.offset for r in source.poll(200, 1)[2]] == [2]


def test_rebalances_reach_the_listener(consumer: FakeConsumer, source: ConfluentRecordSource):
    listener = Listener()
    source.subscribe(listener)
    partitions = [TopicPartition(TOPIC, 0), TopicPartition(TOPIC, 2)]
    consumer.callbacks["on_assign"](consumer, partitions)
    consumer.callbacks["on_revoke"](consumer, partitions[:1])
    consumer.callbacks["on_lost"](consumer, partitions[1:])
    assert listener.calls == [("assigned", {0, 2}), ("revoked", {0}), ("revoked", {2})]


def test_partition_ends_are_ignored_and_transient_errors_said_once(
    consumer: FakeConsumer, source: ConfluentRecordSource, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    down = KafkaError(KafkaError._TRANSPORT, "broker down")
    consumer.ready = [Message(error=KafkaError(KafkaError._PARTITION_EOF)), Message(error=down)]
    assert source.poll(0, 10) == {}
    consumer.ready = [Message(error=down), Message(0, 1)]
    assert [r.offset for r in source.poll(0, 10)[0]] == [1]
    assert caplog.text.count("broker down") == 1


@pytest.mark.parametrize(
    "error",
    [
        KafkaError(KafkaError.TOPIC_AUTHORIZATION_FAILED, "not allowed"),
        KafkaError(KafkaError._FATAL, "fenced", fatal=True),
    ],
)
def test_errors_that_waiting_cannot_mend_end_the_worker_in_one_line(
    consumer: FakeConsumer, source: ConfluentRecordSource, error: KafkaError
) -> None:
    consumer.ready = [Message(error=error)]
    with pytest.raises(ServiceUnavailable, match=f"Kafka consumer of {TOPIC}: ") as caught:
        source.poll(0, 10)
    assert "\n" not in str(caught.value)


def test_lag_counts_from_what_is_known_of_each_position(
    consumer: FakeConsumer, source: ConfluentRecordSource
) -> None:
    assert source.lag() == 0  # nothing assigned
    consumer.assigned = [0, 1, 2, 3]
    consumer.watermarks = {0: (0, 100), 1: (10, 50), 2: (0, 30), 3: (5, 40)}
    consumer.ready = [Message(0, 89)]
    source.poll(0, 10)  # partition 0: read up to 89
    source.seek(1, 20)  # partition 1: sent to 20 (librdkafka's position is unknown then)
    consumer.committed_offsets = {2: 25}  # partition 2: untouched, the group's offset
    # partition 3: untouched, no committed offset: from the beginning (earliest)
    assert source.lag() == (100 - 90) + (50 - 20) + (30 - 25) + (40 - 5)
    consumer.positions = {3: 38}
    assert source.lag() == 10 + 30 + 5 + 2


def test_lag_gauges_read_the_fetched_high_watermark_and_the_stopping_lag_asks(
    consumer: FakeConsumer, source: ConfluentRecordSource
) -> None:
    consumer.assigned = [0, 1]
    consumer.watermarks = {0: (0, 100), 1: (0, 50)}
    consumer.ready = [Message(0, 89)]
    source.poll(0, 10)  # partition 0: read up to 89, its fetch said 95 then
    consumer.fetched = {0: (-1001, 95)}
    consumer.committed_offsets = {1: 20}  # partition 1: not read, nothing fetched
    assert source.lags() == {0: 95 - 90, 1: 50 - 20}
    assert consumer.asked == [1]  # no round trip for the partition read
    assert source.lag() == (100 - 90) + (50 - 20)  # a bounded run stops on the broker's
    assert consumer.asked == [1, 0, 1]


def test_a_revoked_partition_forgets_its_position(
    consumer: FakeConsumer, source: ConfluentRecordSource
) -> None:
    source.subscribe(Listener())
    source.seek(0, 70)
    consumer.callbacks["on_revoke"](consumer, [TopicPartition(TOPIC, 0)])
    consumer.assigned, consumer.watermarks = [0], {0: (0, 100)}
    consumer.committed_offsets = {0: 90}
    assert source.lag() == 10


def test_beginning_offset_and_unanswered_watermarks(
    consumer: FakeConsumer, source: ConfluentRecordSource
) -> None:
    consumer.watermarks = {0: (12, 40)}
    assert source.beginning_offset(0) == 12
    consumer.watermarks = {0: None}  # type: ignore[dict-item]
    with pytest.raises(ServiceUnavailable, match="partition 0 within 1 s"):
        source.beginning_offset(0)


def test_commits_are_synchronous_and_failures_return_false(
    consumer: FakeConsumer, source: ConfluentRecordSource, caplog: pytest.LogCaptureFixture
) -> None:
    assert source.commit({0: 10, 2: 7}) is True
    assert consumer.commits == [[(0, 10), (2, 7)]]
    consumer.commit_error = KafkaException(KafkaError(KafkaError.REBALANCE_IN_PROGRESS))
    assert source.commit({0: 11}) is False
    consumer.commit_error = None
    # a partition the broker refused (TopicPartition's error cannot be set from Python)
    consumer.commit_answer = [
        SimpleNamespace(partition=0, offset=12, error=KafkaError(KafkaError.ILLEGAL_GENERATION))
    ]
    assert source.commit({0: 12}) is False
    assert caplog.text.count("checkpoints keep the offsets") == 2


def test_keepalive_pauses_polls_and_resumes_without_losing_a_record(
    consumer: FakeConsumer, source: ConfluentRecordSource
) -> None:
    consumer.assigned = [0, 1]
    consumer.ready = [Message(0, 5)]
    source.keepalive()
    assert consumer.polls == [0] and consumer.paused == []
    assert consumer.ready == [consumer.ready[0]]  # paused: the record stayed

    class Leaky(FakeConsumer):  # a record that comes through anyway is sought back
        def poll(self, timeout: float) -> Message | None:
            return Message(1, 8)

    leaky = Leaky()
    leaky.assigned = [0, 1]
    ConfluentRecordSource(leaky, TOPIC).keepalive()
    assert leaky.seeks == [(1, 8)] and leaky.paused == []
