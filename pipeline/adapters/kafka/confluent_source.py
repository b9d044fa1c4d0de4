"""The worker's record source on a confluent-kafka consumer (``driftline[fast]``).

Same semantics as :class:`~driftline.adapters.kafka.source.KafkaRecordSource`: one topic in a
consumer group, no auto-commit (offsets are committed only after checkpoints, as the
worker decides), rebalances told to the worker. confluent-kafka runs the rebalance
callbacks inside ``consume``/``poll``, on the calling thread. A seek may come right after
an assignment, before the partition has delivered a record: librdkafka applies it in
order after the assignment's own start, and the worker checks each batch's first offset
against its task anyway.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from confluent_kafka import OFFSET_INVALID, KafkaError, KafkaException, TopicPartition

from driftline.adapters.kafka.rebalance import RebalanceListener
from driftline.core.errors import ServiceUnavailable
from driftline.core.events.records import InputRecord

__all__ = ["ConfluentRecordSource"]

log = logging.getLogger(__name__)

#: Consumer errors that end the worker: they will not go away by waiting.
_REFUSED = {
    "TOPIC_AUTHORIZATION_FAILED",
    "GROUP_AUTHORIZATION_FAILED",
    "CLUSTER_AUTHORIZATION_FAILED",
    "_AUTHENTICATION",
}


class ConfluentRecordSource:
    """One topic through a ``confluent_kafka.Consumer`` in a consumer group.

    ``timeout_s`` bounds each metadata request (watermarks, commits).
    """

    def __init__(self, consumer: Any, topic: str, timeout_s: float = 30.0) -> None:
        self.consumer = consumer
        self.topic = topic
        self.timeout_s = timeout_s
        #: Next offset to read per assigned partition, as far as this source knows (records
        #: handed out, seeks): librdkafka's position is unknown right after a seek.
        self._next: dict[int, int] = {}
        self._warned: set[str] = set()

    def _tp(self, partition: int, offset: int | None = None) -> TopicPartition:
        if offset is None:
            return TopicPartition(self.topic, partition)
        return TopicPartition(self.topic, partition, offset)

    # -- the group ---------------------------------------------------------------------------
    def subscribe(self, listener: RebalanceListener) -> None:
        def on_assign(consumer: Any, partitions: list[TopicPartition]) -> None:
            listener.on_assigned({tp.partition for tp in partitions})

        def on_revoke(consumer: Any, partitions: list[TopicPartition]) -> None:
            revoked = {tp.partition for tp in partitions}
            for partition in revoked:
                self._next.pop(partition, None)
            listener.on_revoked(revoked)

        self.consumer.subscribe(
            [self.topic], on_assign=on_assign, on_revoke=on_revoke, on_lost=on_revoke
        )

    def rejoin(self, listener: RebalanceListener) -> None:
        """Leave the subscription and take it again (the worker's cure for an assignment
        that never comes)."""
        self.consumer.unsubscribe()
        self._next.clear()
        self.subscribe(listener)

    def assignment(self) -> set[int]:
        return {tp.partition for tp in self.consumer.assignment()}

    # -- reading -----------------------------------------------------------------------------
    def poll(self, timeout_ms: int, max_records: int) -> Mapping[int, Sequence[InputRecord]]:
        """What has arrived, at once; else wait up to ``timeout_ms`` for the first record."""
        messages = self.consumer.consume(max_records, 0)
        if not messages and timeout_ms > 0:
            first = self.consumer.poll(timeout_ms / 1000)
            if first is not None:
                rest = self.consumer.consume(max_records - 1, 0) if max_records > 1 else []
                messages = [first, *rest]
        batch: dict[int, list[InputRecord]] = {}
        for message in messages:
            error = message.error()
            if error is not None:
                self._error(error)
                continue
            partition = message.partition()
            batch.setdefault(partition, []).append(
                InputRecord(
                    partition,
                    message.offset(),
                    message.key(),
                    message.value(),
                    message.timestamp()[1],
                )
            )
        for partition, records in batch.items():
            self._next[partition] = records[-1].offset + 1
        if batch:
            self._warned.clear()
        return batch

    def _error(self, error: KafkaError) -> None:
        """A consumer error: partition ends are ignored, what waiting cannot mend ends the
        worker (one line), the rest librdkafka retries itself (said once until records flow)."""
        name = error.name()
        if error.code() == KafkaError._PARTITION_EOF:
            return
        if error.fatal() or name in _REFUSED:
            raise ServiceUnavailable(f"Kafka consumer of {self.topic}: {error.str()}")
        if name not in self._warned:
            self._warned.add(name)
            log.warning("Kafka consumer of %s: %s (retrying)", self.topic, error.str())

    # -- offsets -----------------------------------------------------------------------------
    def _watermarks(self, partition: int) -> tuple[int, int]:
        try:
            marks = self.consumer.get_watermark_offsets(
                self._tp(partition), timeout=self.timeout_s, cached=False
            )
        except KafkaException as exc:
            raise ServiceUnavailable(
                f"Kafka did not tell the offsets of {self.topic} partition {partition}: "
                f"{exc.args[0].str()}"
            ) from exc
        if marks is None:
            raise ServiceUnavailable(
                f"Kafka did not tell the offsets of {self.topic} partition {partition} "
                f"within {self.timeout_s:g} s"
            )
        return int(marks[0]), int(marks[1])

    def beginning_offset(self, partition: int) -> int:
        return self._watermarks(partition)[0]

    def lag(self) -> int:
        """The records left to read, from the broker's watermarks now (a bounded run stops
        on it, so it is never read from a fetch's older figures)."""
        return sum(self._lags(cached=False).values())

    def lags(self, fresh: bool = False) -> dict[int, int]:
        """The lag per partition for the gauges: a partition read from counts from the
        high watermark librdkafka keeps from its fetches (no round trip); the others, or
        all with ``fresh``, ask the broker."""
        return self._lags(cached=not fresh)

    def _cached_high(self, partition: int) -> int | None:
        marks = self.consumer.get_watermark_offsets(self._tp(partition), cached=True)
        if marks is None or int(marks[1]) < 0:  # not fetched yet
            return None
        return int(marks[1])

    def _lags(self, *, cached: bool) -> dict[int, int]:
        assigned = sorted(self.assignment())
        if not assigned:
            return {}
        known = self.consumer.position([self._tp(p) for p in assigned])
        positions = {tp.partition: tp.offset for tp in known}
        missing = [self._tp(p) for p in assigned if p not in self._next and positions[p] < 0]
        committed: dict[int, int] = {}
        if missing:
            try:
                answered = self.consumer.committed(missing, timeout=self.timeout_s)
            except KafkaException as exc:
                raise ServiceUnavailable(
                    f"Kafka did not tell the committed offsets of {self.topic}: {exc.args[0].str()}"
                ) from exc
            committed = {tp.partition: tp.offset for tp in answered}
        lags = {}
        for partition in assigned:
            position = self._next.get(partition, positions[partition])
            high = self._cached_high(partition) if cached and position >= 0 else None
            if high is not None:
                lags[partition] = max(0, high - position)
                continue
            low, high = self._watermarks(partition)
            if position < 0:  # nothing read, no seek: where the group's offset says
                position = committed.get(partition, OFFSET_INVALID)
            if position < 0:  # no committed offset either: auto.offset.reset=earliest
                position = low
            lags[partition] = max(0, high - position)
        return lags

    def seek(self, partition: int, offset: int) -> None:
        self.consumer.seek(self._tp(partition, offset))
        self._next[partition] = offset

    def commit(self, offsets: Mapping[int, int]) -> bool:
        try:
            answered = self.consumer.commit(
                offsets=[self._tp(p, o) for p, o in offsets.items()], asynchronous=False
            )
        except KafkaException as exc:  # the group moved on: the checkpoint still holds it
            log.warning(
                "offset commit failed (%s); checkpoints keep the offsets", exc.args[0].str()
            )
            return False
        failed = [tp for tp in answered or [] if tp.error is not None]
        if failed:
            log.warning(
                "offset commit failed (%s); checkpoints keep the offsets", failed[0].error.str()
            )
            return False
        return True

    def keepalive(self) -> None:
        """Serve the group (rebalances, the poll interval) without taking a record."""
        assigned = self.consumer.assignment()
        if assigned:
            self.consumer.pause(assigned)
        try:
            message = self.consumer.poll(0)  # paused: no record, but rebalances are served
            if message is not None and message.error() is None:  # never drop a record
                self.seek(message.partition(), message.offset())
        finally:
            held = self.assignment()
            resumed = [tp for tp in assigned if tp.partition in held]
            if resumed:
                self.consumer.resume(resumed)

    def close(self) -> None:
        self.consumer.close()
