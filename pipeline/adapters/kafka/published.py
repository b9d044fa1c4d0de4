"""What the worker published on its output topics (dead letters, alerts), read back.

A replay after a crash makes again the dead letters and alerts of the records since the
last checkpoint, under the same ids (``driftline.id``). So that readers see each once,
the worker reads back what was published since that checkpoint and does not publish it
again (:mod:`driftline.consumers.replayed`). Two pieces here:

- :class:`OutputPositions`: for each output topic's partition, an offset below which
  nothing this worker publishes from now on can land: the end offsets asked once when the
  worker starts, raised by every acknowledgement. A checkpoint keeps a copy of them.
- :class:`PublishedReader`: the ids published from such positions to the current end,
  whose cause (source partition and offset) is at or past a task's next offset.

Reading needs no group and commits nothing; a Kafka that does not answer, or a topic the
checkpoint knew that is gone, is a :class:`~driftline.core.errors.ServiceUnavailable`,
which the worker waits out: it never publishes without knowing.

>>> positions = OutputPositions()
>>> positions.raise_to("ns.alerts", {0: 4})
>>> class Acked:  # a producer's future: its value is the record's metadata
...     def __init__(self, topic, partition, offset):
...         self.value = type("M", (), {"topic": topic, "partition": partition,
...                                     "offset": offset})()
>>> positions.acked([Acked("ns.alerts", 0, 9), Acked("ns.dead-letter", 1, 2)])
>>> positions.snapshot()
{'ns.alerts': {'0': 10}, 'ns.dead-letter': {'1': 3}}
>>> cause_of({"driftline.source.partition": b"3", "driftline.source.offset": b"41"}, "x")
(3, 41)
>>> cause_of({}, "3-41-concept-main-drift")  # an alert id without the headers
(3, 41)
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from kafka import TopicPartition
from kafka.errors import KafkaError

from driftline.adapters.kafka_clients import make_consumer
from driftline.adapters.settings import KafkaSettings
from driftline.core.errors import ServiceUnavailable

__all__ = ["OutputPositions", "Published", "PublishedReader", "cause_of"]

#: Headers naming where an output's cause was read (dead letters and alerts carry them).
SOURCE_TOPIC = "driftline.source.topic"
SOURCE_PARTITION = "driftline.source.partition"
SOURCE_OFFSET = "driftline.source.offset"
ID = "driftline.id"


class OutputPositions:
    """Offsets of the output topics' partitions below which nothing published from now
    on can land (thread-safe: the acknowledgements may come from the write's thread)."""

    def __init__(self) -> None:
        self._next: dict[str, dict[int, int]] = {}
        self._lock = threading.Lock()
        #: Whether the end offsets were asked (:meth:`raise_to` once per topic).
        self.known = False

    def raise_to(self, topic: str, ends: Mapping[int, int]) -> None:
        """Raise ``topic``'s positions to ``ends`` (partition to end offset)."""
        with self._lock:
            held = self._next.setdefault(topic, {})
            for partition, end in ends.items():
                if end > held.get(partition, -1):
                    held[partition] = end

    def acked(self, futures: Iterable[Any]) -> None:
        """Raise the positions past each acknowledged record (a producer's futures)."""
        with self._lock:
            for future in futures:
                meta = future.value
                held = self._next.setdefault(meta.topic, {})
                if meta.offset >= held.get(meta.partition, -1):
                    held[meta.partition] = meta.offset + 1

    def snapshot(self) -> dict[str, dict[str, int]]:
        """The positions now, as a checkpoint's header keeps them (JSON: string keys)."""
        with self._lock:
            return {
                topic: {str(p): offset for p, offset in sorted(held.items())}
                for topic, held in sorted(self._next.items())
            }


class Published(NamedTuple):
    """Ids found on the output topics whose cause is at or past a task's next offset,
    and the highest such cause offset (-1: none)."""

    ids: frozenset[str]
    through: int


def cause_of(headers: Mapping[str, bytes], output_id: str) -> tuple[int, int] | None:
    """The source partition and offset an output came from: its headers, or the first two
    fields of an alert id (``<partition>-<offset>-...``); ``None`` when neither says."""
    partition, offset = headers.get(SOURCE_PARTITION), headers.get(SOURCE_OFFSET)
    try:
        if partition is not None and offset is not None:
            return int(partition), int(offset)
        first, second, _ = output_id.split("-", 2)
        return int(first), int(second)
    except ValueError:
        return None


class PublishedReader:
    """Reads back the dead-letter and alerts topics (``topics``) of one worker reading
    ``source_topic``, with a consumer of its own (kafka-python, whichever client the worker
    uses: the reading is the same), made on first use.

    ``positions`` is raised to the end offsets read by :meth:`baseline` and :meth:`read`.
    Not thread-safe: the worker calls it from its loop only.
    """

    def __init__(
        self,
        kafka: KafkaSettings,
        topics: Sequence[str],
        source_topic: str,
        positions: OutputPositions,
        *,
        idle_s: float = 10.0,
    ) -> None:
        self.kafka = kafka
        self.topics = list(dict.fromkeys(topics))
        self.source_topic = source_topic
        self.positions = positions
        self.idle_s = idle_s
        self._consumer: Any = None

    def baseline(self) -> None:
        """Raise :attr:`positions` to the output topics' end offsets now (a topic that does
        not exist yet has none: what lands there later starts at its beginning)."""
        try:
            for topic in self.topics:
                ends = self._ends(topic)
                if ends is not None:
                    self.positions.raise_to(topic, ends)
        except KafkaError as exc:
            self.close()
            raise ServiceUnavailable(f"Kafka did not answer: {type(exc).__name__}") from exc
        self.positions.known = True

    def read(
        self, partition: int, since: Mapping[str, Mapping[str, int]], next_offset: int
    ) -> Published:
        """The ids published on the output topics from ``since`` (a checkpoint's
        positions; a partition it does not name: from its beginning) to their ends, of
        outputs of ``partition`` at or past ``next_offset``."""
        ids: set[str] = set()
        through = -1
        try:
            for topic in self.topics:
                for headers in self._records(topic, since.get(topic)):
                    output_id = headers.get(ID)
                    if output_id is None:
                        continue
                    found = output_id.decode()
                    source = headers.get(SOURCE_TOPIC)
                    if source is not None and source.decode() != self.source_topic:
                        continue
                    cause = cause_of(headers, found)
                    if cause is None or cause[0] != partition or cause[1] < next_offset:
                        continue
                    ids.add(found)
                    through = max(through, cause[1])
        except KafkaError as exc:
            self.close()
            raise ServiceUnavailable(f"Kafka did not answer: {type(exc).__name__}") from exc
        return Published(frozenset(ids), through)

    def close(self) -> None:
        """Close the consumer, if one was made (the next call makes another)."""
        if self._consumer is not None:
            # closing a client whose broker is gone: nothing to keep from it
            with contextlib.suppress(Exception):
                self._consumer.close(autocommit=False)
            self._consumer = None

    # -- reading --------------------------------------------------------------------------
    def _consumer_of(self) -> Any:
        if self._consumer is None:
            self._consumer = make_consumer(
                self.kafka, enable_auto_commit=False, isolation_level="read_committed"
            )
        return self._consumer

    def _ends(self, topic: str) -> dict[int, int] | None:
        consumer = self._consumer_of()
        partitions = consumer.partitions_for_topic(topic)
        if not partitions:
            return None
        ends = consumer.end_offsets([TopicPartition(topic, p) for p in sorted(partitions)])
        return {tp.partition: end for tp, end in ends.items()}

    def _records(self, topic: str, since: Mapping[str, int] | None) -> Iterable[dict[str, bytes]]:
        """The headers of ``topic``'s records from ``since`` to the ends it has now."""
        consumer = self._consumer_of()
        partitions = consumer.partitions_for_topic(topic)
        if not partitions:
            if since:  # the checkpoint saw it: deleted, or the metadata is not there yet
                raise ServiceUnavailable(
                    f"topic {topic} is missing: its outputs cannot be read back"
                )
            return
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        ends = consumer.end_offsets(tps)
        starts = consumer.beginning_offsets(tps)
        self.positions.raise_to(topic, {tp.partition: end for tp, end in ends.items()})
        begin = {
            tp: max(starts[tp], (since or {}).get(str(tp.partition), starts[tp])) for tp in tps
        }
        remaining = [tp for tp in tps if begin[tp] < ends[tp]]
        if not remaining:
            return
        consumer.assign(remaining)
        for tp in remaining:
            consumer.seek(tp, begin[tp])
        quiet_since = time.monotonic()
        while remaining:
            batch = consumer.poll(timeout_ms=500, max_records=1000)
            for records in batch.values():
                for record in records:
                    yield dict(record.headers or ())
            if batch:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since > self.idle_s:
                raise ServiceUnavailable(f"{topic} could not be read back to its end")
            remaining = [tp for tp in remaining if consumer.position(tp) < ends[tp]]
        consumer.assign([])
