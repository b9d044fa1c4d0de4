"""The ingest stage of ``driftline consume --source``: a user's topics into driftline's own.

A user's stream lives in topics driftline does not own, in the user's format (JSON, or Avro
through a schema registry) and keyed the user's way. The ingest stage reads them in a
consumer group of its own, decodes each record, maps it by the source file's field paths
to an :class:`~driftline.core.events.model.Observation` or
:class:`~driftline.core.events.model.Outcome`, and publishes it into the namespace's events
topic, routed by the entity key (or by the event id, when outcomes name their observation
only by it). The worker then reads the events topic as it always does.

Why a topic of driftline's own rather than reading the user's topics in the worker
(``docs/decisions.md``, "Issue 21: sources"): the order in which records of two topics
interleave is set by fetch timing, not by any log, so a worker reading two topics could not
replay its input exactly; the events topic writes that order down. Each record is sent
with the user's record timestamp, which the events topic keeps when it is made with
``DRIFTLINE_KAFKA_TIMESTAMPS=replay`` (by default the broker stamps the republication).

Delivery: a batch is published and acknowledged before the offsets of its records are
committed to the ingest group. Records are released in timestamp order across the
partitions read (:mod:`~driftline.consumers.ingest_merge`), so a backlog of observations
and outcomes is republished interleaved as it happened, not one topic first. A crash in
between publishes the batch again; the worker's dedupe window drops the second copy by
event id (at-least-once here, exactly-once learning there, as in Kafka Streams'
repartition topics). A record that cannot be decoded or mapped
becomes a dead letter with its reason, its topic, partition and offset: nothing is lost.

The loop depends on Protocols only: it runs in a unit test.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from driftline.consumers.ingest_merge import TimeMerge
from driftline.consumers.ports import DeadLetterSink
from driftline.core.errors import DecodeError, TransientError
from driftline.core.events.model import Event
from driftline.core.events.records import DeadLetter, SourceRecord
from driftline.core.quality.reasons import Rule
from driftline.core.sources.mapping import MappingRefused

__all__ = ["EventWriter", "Ingest", "IngestStats", "RecordMapping", "SourceReader"]

log = logging.getLogger(__name__)

#: A topic partition of a user's topic.
TopicPartition = tuple[str, int]


class SourceReader(Protocol):
    """The user's topics, read by one member of the ingest group."""

    def subscribe(self, on_revoked: Callable[[set[TopicPartition]], None]) -> None:
        """Join the ingest group; ``on_revoked`` is told of partitions taken away."""
        ...

    def poll(self, timeout_ms: int, max_records: int) -> Sequence[SourceRecord]:
        """Records in offset order within each partition (empty when none came)."""
        ...

    def commit(self, offsets: Mapping[TopicPartition, int]) -> bool:
        """Commit next offsets; ``False`` when the group moved on (the records come again)."""
        ...

    def rewind(self, offsets: Mapping[TopicPartition, int]) -> None:
        """Read these partitions again from these offsets (a batch that was not published)."""
        ...

    def lag(self) -> int:
        """Records between this member's positions and the ends of its partitions."""
        ...

    def lagging(self) -> set[TopicPartition]:
        """Partitions held with records not yet read, as far as the last fetches tell
        (no broker round trip: this is asked after every poll)."""
        ...

    def assigned(self) -> bool:
        """Whether the group gave this member any partition."""
        ...

    def rejoin(self) -> None:
        """Leave the subscription and take it again (an assignment that never came)."""
        ...

    def close(self) -> None: ...


class EventWriter(Protocol):
    """Where mapped events go: the namespace's events topic."""

    def send(self, event: Event, *, timestamp_ms: int, route: str) -> None:
        """Queue ``event`` for the partition of ``route``, stamped ``timestamp_ms``."""
        ...

    def flush(self) -> int:
        """Send what is queued and wait for every ack; raises a TransientError if any was
        not acknowledged (the whole batch is then sent again)."""
        ...

    def discard(self) -> None:
        """Forget what is queued (its batch will be read and sent again)."""
        ...


class RecordMapping(Protocol):
    """A decoded record of a user's topic to driftline's event
    (:class:`~driftline.core.sources.mapping.RecordMapper`)."""

    route_by_event_id: bool

    def map(self, topic: str, value: Any, headers: Mapping[str, bytes] | None = None) -> Event: ...


#: A record's topic and value bytes to the decoded record (a dict for JSON objects and
#: Avro records: each topic may have its reader schema); raises
#: :class:`~driftline.core.errors.DecodeError` or ``MappingRefused``.
Decoder = Callable[[str, bytes | None], Any]


@dataclass
class IngestStats:
    """What the ingest stage did, for the summary and the views."""

    read: int = 0
    published: int = 0
    dead_lettered: int = 0
    retries: int = 0
    #: Records left in the user's topics when last asked (after an empty poll).
    lag: int = 0

    def to_dict(self) -> dict[str, int]:
        return {
            "read": self.read,
            "published": self.published,
            "dead_lettered": self.dead_lettered,
            "retries": self.retries,
        }


class Ingest:
    """Reads a user's topics, maps each record, republishes it; see the module's doc."""

    def __init__(
        self,
        reader: SourceReader,
        writer: EventWriter,
        dead_letters: DeadLetterSink,
        decode: Decoder,
        mapping: RecordMapping,
        *,
        max_records: int = 1000,
        poll_timeout_ms: int = 200,
        retry_first_s: float = 0.5,
        retry_max_s: float = 30.0,
        max_held: int = 100_000,
        rejoin_after_s: float = 120.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.dead_letters = dead_letters
        self.decode = decode
        self.mapping = mapping
        self.max_records = max_records
        self.poll_timeout_ms = poll_timeout_ms
        self.retry_first_s = retry_first_s
        self.retry_max_s = retry_max_s
        #: Records held back for the timestamp order, at most (then released anyway: a
        #: partition far behind the others must not make memory grow with the data; pausing
        #: the others' fetches made kafka-python 3.0.12 stop fetching the one behind).
        self.max_held = max_held
        #: Seconds without any partition after which the member rejoins its group: a
        #: leader that joined before it had the topics' metadata assigned nothing, and
        #: kafka-python 3.0.12 keeps that empty assignment (the worker does the same).
        self.rejoin_after_s = rejoin_after_s
        self.monotonic = monotonic
        self._unassigned_since: float | None = None
        self.stats = IngestStats()
        #: Records read and not yet released (:mod:`~driftline.consumers.ingest_merge`).
        self.merge = TimeMerge()
        #: Set once the last poll came back empty and nothing was left to read.
        self.caught_up = threading.Event()

    def run(self, stop: threading.Event) -> None:
        """Loop until ``stop`` is set; a batch that was not acknowledged is read again
        after a pause that doubles up to ``retry_max_s`` (an outage is waited out)."""
        self.reader.subscribe(self.merge.forget)
        delay = self.retry_first_s
        try:
            while not stop.is_set():
                try:
                    self.step()
                except TransientError as exc:
                    self.stats.retries += 1
                    log.warning("ingest: %s; reading the batch again in %.1f s", exc, delay)
                    stop.wait(delay)  # a pause between attempts, not a synchronisation
                    delay = min(delay * 2, self.retry_max_s)
                else:
                    delay = self.retry_first_s
                self._check_assignment()
        finally:
            self.reader.close()

    def _check_assignment(self) -> None:
        if self.reader.assigned():
            self._unassigned_since = None
            return
        now = self.monotonic()
        if self._unassigned_since is None:
            self._unassigned_since = now
        elif now - self._unassigned_since >= self.rejoin_after_s:
            log.warning(
                "ingest: no partition of the source's topics for %.0f s; rejoining the group",
                now - self._unassigned_since,
            )
            self.merge.clear()
            self.reader.rejoin()
            self._unassigned_since = now

    def backlog(self) -> int:
        """Records of the user's topics not yet republished, as far as known (asked from
        the worker's thread: reads what this thread wrote)."""
        return 0 if self.caught_up.is_set() else max(1, self.stats.lag)

    def step(self) -> int:
        """One batch: read, release in timestamp order, map, publish, acknowledge,
        commit; the records released."""
        polled = self.reader.poll(self.poll_timeout_ms, self.max_records)
        merge = self.merge
        merge.add(polled)
        held = merge.held()
        if sum(held.values()) > self.max_held:  # memory first: release without waiting
            log.warning(
                "ingest: %d records held for a partition to catch up; releasing them "
                "without waiting for it",
                sum(held.values()),
            )
            ready = merge.release(set())
        else:
            ready = merge.release(self.reader.lagging())
        held = merge.held()
        if not ready:
            if not polled and not held:
                self.stats.lag = self.reader.lag()
                if self.stats.lag == 0:
                    self.caught_up.set()
            return 0
        self.caught_up.clear()
        after: dict[TopicPartition, int] = {}
        letters: list[DeadLetter] = []
        try:
            for record in ready:
                after[(record.topic, record.partition)] = record.offset + 1
                letter = self._publish(record)  # a registry that is down: TransientError
                if letter is not None:
                    letters.append(letter)
            published = self.writer.flush()
            self.dead_letters.publish(letters)
        except TransientError:  # the whole batch is read again (first offsets: ``ready``'s)
            self.writer.discard()
            self.reader.rewind(merge.first_offsets() | _firsts(ready))
            merge.clear()
            raise
        self.stats.read += len(ready)
        self.stats.published += published
        self.stats.dead_lettered += len(letters)
        self.reader.commit(after)
        return len(ready)

    def _publish(self, record: SourceRecord) -> DeadLetter | None:
        """Queue the event of ``record``, or say why it has none."""
        try:
            headers = dict(record.headers) if record.headers else None
            event = self.mapping.map(record.topic, self.decode(record.topic, record.value), headers)
        except MappingRefused as exc:
            return _letter(record, exc.reason, exc.detail)
        except DecodeError as exc:
            return _letter(record, Rule.SOURCE_UNDECODABLE, str(exc))
        route = event.event_id if self.mapping.route_by_event_id else event.key
        self.writer.send(event, timestamp_ms=record.timestamp_ms, route=route)
        return None


def _firsts(records: Sequence[SourceRecord]) -> dict[TopicPartition, int]:
    """The first offset of each partition among ``records`` (each in offset order)."""
    firsts: dict[TopicPartition, int] = {}
    for record in records:
        firsts.setdefault((record.topic, record.partition), record.offset)
    return firsts


def _letter(record: SourceRecord, reason: str, detail: str) -> DeadLetter:
    return DeadLetter(
        reason=str(reason),
        detail=f"{record.topic}[{record.partition}]@{record.offset}: {detail}",
        partition=record.partition,
        offset=record.offset,
        key=record.key,
        value=record.value,
        timestamp_ms=record.timestamp_ms,
        topic=record.topic,
    )
