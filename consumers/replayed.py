"""Outputs a replay must not publish again: dead letters and alerts already on Kafka.

A crash between a batch's publication and its checkpoint replays the batch from the last
checkpoint, and the replay makes the same dead letters and alerts under the same ids.
When a task is restored from a checkpoint, the worker reads back what was published on
the output topics since the checkpoint's recorded positions
(:mod:`driftline.adapters.kafka.published`) and holds the ids caused by that partition
here; the publishers then leave them out. A partition's ids are dropped once its replay
has passed the highest offset they cover, so the set is bounded by one crash's replay,
and costs nothing per record: each batch's outputs are filtered only while a partition
has ids held.

>>> from driftline.adapters.kafka.published import Published
>>> from driftline.core.events.records import DeadLetter
>>> replayed = ReplayedOutputs("ns.events")
>>> replayed.hold(0, Published(frozenset({"ns.events:0:7:empty-value"}), 7))
>>> letters = [DeadLetter("empty-value", "", 0, 7, b"k", b"", 0),
...            DeadLetter("empty-value", "", 0, 9, b"k", b"", 0)]
>>> [letter.offset for letter in replayed.unpublished_letters(letters)]
[9]
>>> replayed.passed({0: 8})  # the replay is past offset 7: nothing more to leave out
>>> replayed.held(), replayed.skipped
({}, 1)
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from typing import TypeVar

from driftline.adapters.kafka.dead_letters import dead_letter_id
from driftline.adapters.kafka.published import Published
from driftline.core.events.records import Alert, DeadLetter

__all__ = ["ReplayedOutputs"]

#: A dead letter or an alert: each names the source partition of its cause.
_Output = TypeVar("_Output", DeadLetter, Alert)


class ReplayedOutputs:
    """The ids of outputs already published, by source partition, each with the highest
    source offset they cover (thread-safe: the write may run in a thread of its own).

    ``source_topic`` is the topic the worker reads (dead letters' ids name it).
    """

    def __init__(self, source_topic: str) -> None:
        self.source_topic = source_topic
        self._held: dict[int, Published] = {}
        self._lock = threading.Lock()
        #: Outputs left out because they were already published.
        self.skipped = 0

    def hold(self, partition: int, published: Published) -> None:
        """What was published of ``partition``'s replay (none: forget the partition)."""
        with self._lock:
            if published.ids:
                self._held[partition] = published
            else:
                self._held.pop(partition, None)

    def forget(self, partition: int) -> None:
        """``partition`` starts afresh (a task with no checkpoint): nothing to leave out."""
        with self._lock:
            self._held.pop(partition, None)

    def held(self) -> dict[int, int]:
        """How many ids are held, by partition."""
        with self._lock:
            return {p: len(published.ids) for p, published in self._held.items()}

    def unpublished_letters(self, letters: Sequence[DeadLetter]) -> Sequence[DeadLetter]:
        """``letters`` without those already on the dead-letter topic."""
        return self._unpublished(letters, lambda letter: dead_letter_id(letter, self.source_topic))

    def unpublished_alerts(self, alerts: Sequence[Alert]) -> Sequence[Alert]:
        """``alerts`` without those already on the alerts topic."""
        return self._unpublished(alerts, lambda alert: alert.alert_id)

    def _unpublished(
        self, outputs: Sequence[_Output], id_of: Callable[[_Output], str]
    ) -> Sequence[_Output]:
        """``outputs`` without those whose id (``id_of``) their partition's set holds."""
        if not self._held or not outputs:
            return outputs
        with self._lock:
            kept = [
                out
                for out in outputs
                if out.partition not in self._held
                or id_of(out) not in self._held[out.partition].ids
            ]
            self.skipped += len(outputs) - len(kept)
        return kept

    def passed(self, offsets: Mapping[int, int]) -> None:
        """Each partition's batch was published up to its offset in ``offsets``: drop the
        ids of a partition whose replay is past the highest one they cover."""
        if not self._held:
            return
        with self._lock:
            for partition, offset in offsets.items():
                published = self._held.get(partition)
                if published is not None and offset >= published.through:
                    del self._held[partition]
