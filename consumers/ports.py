"""The small Protocols the worker loop depends on.

The application wires the real ones (from :mod:`driftline.adapters.kafka`: a record source,
the dead-letter, alert and tick publishers; :mod:`driftline.adapters.redis_sink`; a
checkpoint store from :mod:`driftline.adapters.checkpoints.stores`); the unit tests wire
in-memory ones. Partitions are plain ints: the worker reads one topic.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from driftline.adapters.kafka.published import Published
from driftline.adapters.kafka.rebalance import RebalanceListener
from driftline.core.events.records import Alert, DeadLetter, InputRecord, Prediction
from driftline.core.quality.figures import QualityFinding
from driftline.core.task.seal import CheckpointStore

__all__ = [
    "CheckpointStore",
    "DeadLetterSink",
    "OutputFence",
    "AlertSink",
    "PredictionSink",
    "PublishedOutputs",
    "RebalanceListener",
    "RecordSource",
    "TickSink",
]


class RecordSource(Protocol):
    """The records of one topic, read by one member of a consumer group."""

    def subscribe(self, listener: RebalanceListener) -> None: ...

    def poll(self, timeout_ms: int, max_records: int) -> Mapping[int, Sequence[InputRecord]]:
        """Records by partition, each list in offset order (empty when none came)."""
        ...

    def assignment(self) -> set[int]: ...

    def beginning_offset(self, partition: int) -> int:
        """The oldest offset still in the partition (retention may have moved it)."""
        ...

    def lag(self) -> int:
        """Records between this member's positions and the ends of its partitions."""
        ...

    def lags(self, fresh: bool = False) -> dict[int, int]:
        """:meth:`lag` per partition held (the consumer lag a dashboard shows): from what
        the last fetches said, or with ``fresh`` from the broker now."""
        ...

    def seek(self, partition: int, offset: int) -> None: ...

    def commit(self, offsets: Mapping[int, int]) -> bool:
        """Commit next offsets; ``False`` when the group moved on (harmless: see worker)."""
        ...

    def keepalive(self) -> None:
        """Keep the group membership alive without reading records (during an outage)."""
        ...

    def close(self) -> None: ...


class PredictionSink(Protocol):
    """Where predictions and task metrics go (Redis). A failed write applies nothing and
    raises :class:`~driftline.core.errors.TransientError`: the same call may be retried.
    Predictions the sink can never hold are named by
    :class:`~driftline.core.errors.WriteRefused`, raised once the rest is written."""

    def write(
        self, predictions: Sequence[Prediction], snapshots: Iterable[dict[str, Any]]
    ) -> int: ...

    def record(
        self,
        points: Sequence[dict[str, Any]],
        alerts: Sequence[Alert],
        findings: Sequence[QualityFinding] = (),
    ) -> None:
        """Add closed metric windows to the time series and alerts to the alerts stream,
        idempotently (a replay rewrites the same points and adds no alert twice), and
        data-quality findings to the quality log (at least once: a log, not state)."""
        ...


class AlertSink(Protocol):
    """Where alerts go besides Redis (the ``<ns>.alerts`` topic), keyed by the alert's id.
    Raises a TransientError when they were not acknowledged."""

    def publish(self, alerts: Sequence[Alert]) -> None: ...


class DeadLetterSink(Protocol):
    """Where dead letters go; raises a TransientError when they were not acknowledged
    (a retry of the same batch may publish some twice)."""

    def publish(self, letters: Sequence[DeadLetter]) -> None: ...


class PublishedOutputs(Protocol):
    """The output topics (dead letters, alerts) read back
    (:class:`~driftline.adapters.kafka.published.PublishedReader`); raises a
    TransientError when Kafka does not answer."""

    #: The topic the worker reads (dead letters' ids name it).
    source_topic: str

    def baseline(self) -> None:
        """Learn where the output topics end now, before this worker publishes anything."""
        ...

    def read(
        self, partition: int, since: Mapping[str, Mapping[str, int]], next_offset: int
    ) -> Published:
        """The ids published since a checkpoint's positions, caused by ``partition`` at
        or past ``next_offset``."""
        ...

    def close(self) -> None: ...


class OutputFence(Protocol):
    """Claims of partitions, so that only a partition's latest owner publishes its dead
    letters and alerts (:class:`~driftline.adapters.redis_fence.RedisFence`); raises a
    TransientError when its store does not answer."""

    def claim(self, partition: int) -> int:
        """Claim ``partition`` (at each restore of its task): the new epoch."""
        ...

    def taken(self, epochs: Mapping[int, int]) -> set[int]:
        """Which of ``epochs``' partitions another worker has claimed since."""
        ...


class TickSink(Protocol):
    """Appends a watermark tick to each idle partition (:mod:`driftline.core.events.ticks`)."""

    def tick(self, partitions: Iterable[int]) -> int:
        """Ticks written (best effort: a lost tick only delays expiry)."""
        ...
