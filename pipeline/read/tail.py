"""Read events back from the events topic, decoded, with both clocks side by side.

This is the data engineer's ``kafka-console-consumer``: no consumer group, nothing
committed, the last records of each partition (or from the beginning), optionally
following new ones. The consumer comes from
:func:`~driftline.adapters.kafka_reads.reading_consumer`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from driftline.adapters.kafka_reads import KafkaConsumer, StoredRecord, topic_records
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

    Without ``follow`` it stops once every partition has been read to its end. The
    reading is :func:`~driftline.adapters.kafka_reads.topic_records`'s; this decodes.
    """
    codec = codec or EventCodec()
    records = topic_records(
        consumer, topic, last=last, follow=follow, idle_timeout_s=idle_timeout_s, stop=stop
    )
    for record in records:
        yield _decode(codec, record)


def _decode(codec: EventCodec, record: StoredRecord) -> ReadRecord:
    key = record.key.decode(errors="replace") if record.key is not None else None
    try:
        event: Event | WatermarkTick | ControlCommand | None = codec.decode(record.value)
        error = None
    except DecodeError as exc:
        event, error = None, exc
    return ReadRecord(
        record.partition, record.offset, key, from_millis(record.timestamp), event, error
    )
