"""Read events back from the events topic, decoded, with both clocks side by side.

This is the data engineer's ``kafka-console-consumer``: no consumer group, nothing
committed, the last records of each partition (or from the beginning), optionally
following new ones.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kafka import KafkaConsumer, TopicPartition

from driftline.core.errors import DecodeError
from driftline.core.events.codec import EventCodec
from driftline.core.events.control import ControlCommand
from driftline.core.events.model import Event
from driftline.core.events.ticks import WatermarkTick
from driftline.core.times import from_millis

__all__ = ["ReadRecord", "read_events"]


@dataclass(frozen=True, slots=True)
class ReadRecord:
    """One record as read: where it sits, the broker's clock, and the event or the defect."""

    partition: int
    offset: int
    key: str | None
    ingest_time: datetime
    event: Event | WatermarkTick | ControlCommand | None
    error: DecodeError | None

    @property
    def lateness_s(self) -> float | None:
        if self.event is None or isinstance(self.event, WatermarkTick | ControlCommand):
            return None
        return (self.ingest_time - self.event.event_time).total_seconds()

    def to_dict(self) -> dict[str, Any]:
        row: dict[str, Any] = {
            "partition": self.partition,
            "offset": self.offset,
            "key": self.key,
            "ingest_time": self.ingest_time.isoformat(),
        }
        if isinstance(self.event, WatermarkTick):
            row |= {"kind": "tick", "source": self.event.source}
        elif isinstance(self.event, ControlCommand):
            row |= {"kind": "control"} | self.event.model_dump(mode="json")
        elif self.event is not None:
            row |= {"kind": self.event.kind, "lateness_s": self.lateness_s}
            row |= self.event.model_dump(mode="json")
        else:
            row["error"] = str(self.error)
        return row


def read_events(
    consumer: KafkaConsumer,
    topic: str,
    *,
    last: int | None = 10,
    follow: bool = False,
    idle_timeout_s: float = 2.0,
    stop: Callable[[], bool] = lambda: False,
    codec: EventCodec | None = None,
) -> Iterator[ReadRecord]:
    """Yield records of ``topic``: the ``last`` N of each partition (``None``: all).

    Without ``follow`` it stops once every partition has been read to its end.
    """
    codec = codec or EventCodec()
    partitions = [
        TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])
    ]
    if not partitions:
        return
    consumer.assign(partitions)
    ends = consumer.end_offsets(partitions)
    starts = consumer.beginning_offsets(partitions)
    for tp in partitions:
        begin = starts[tp] if last is None else max(starts[tp], ends[tp] - last)
        consumer.seek(tp, begin)
    remaining = {tp for tp in partitions if consumer.position(tp) < ends[tp]}
    quiet_since = time.monotonic()
    while (follow or remaining) and not stop():
        batch = consumer.poll(timeout_ms=int(idle_timeout_s * 1000), max_records=500)
        for records in batch.values():
            for record in records:
                yield _decode(codec, record)
        remaining = {tp for tp in remaining if consumer.position(tp) < ends[tp]}
        if batch:
            quiet_since = time.monotonic()
        elif not follow and time.monotonic() - quiet_since > 5 * idle_timeout_s:
            return  # records below the end offsets vanished (retention): nothing more to read


def _decode(codec: EventCodec, record: Any) -> ReadRecord:
    key = record.key.decode(errors="replace") if record.key is not None else None
    try:
        event: Event | WatermarkTick | ControlCommand | None = codec.decode(record.value)
        error = None
    except DecodeError as exc:
        event, error = None, exc
    return ReadRecord(
        record.partition, record.offset, key, from_millis(record.timestamp), event, error
    )
