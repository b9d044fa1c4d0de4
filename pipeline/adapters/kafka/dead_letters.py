"""Dead letters: the original record, untouched, with the reason in its headers.

Each carries a deterministic id (header ``driftline.id``): the source topic, partition and
offset of the record and the reason, the same when a replay after a crash makes it again;
the worker then leaves out those already published (:mod:`driftline.consumers.replayed`).

>>> from driftline.core.events.records import DeadLetter
>>> letter = DeadLetter("undecodable", "bad bytes", 3, 41, b"k", b"\x07", 0)
>>> dead_letter_id(letter, "ns.events")
'ns.events:3:41:undecodable'
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from driftline.adapters.kafka.acks import send_acknowledged
from driftline.adapters.kafka.published import OutputPositions
from driftline.core.events.codec import KIND_HEADER
from driftline.core.events.records import DeadLetter

__all__ = ["DeadLetterPublisher", "dead_letter_id"]


def dead_letter_id(letter: DeadLetter, source_topic: str) -> str:
    """The id of a dead letter: where its record was read, and why it is one."""
    return f"{letter.topic or source_topic}:{letter.partition}:{letter.offset}:{letter.reason}"


class DeadLetterPublisher:
    """Publish dead letters to the namespace's dead-letter topic and wait for the acks;
    ``positions`` learns where they landed."""

    def __init__(
        self,
        producer: Any,
        topic: str,
        source_topic: str,
        positions: OutputPositions | None = None,
    ) -> None:
        self._producer = producer
        self.topic = topic
        self.source_topic = source_topic
        self.positions = positions

    def publish(self, letters: Sequence[DeadLetter]) -> None:
        """Send and flush; raises :class:`PublishError` if any was not acknowledged."""
        if letters:
            acked = send_acknowledged(
                self._producer,
                (
                    {
                        "topic": self.topic,
                        "key": letter.key,
                        "value": letter.value,
                        "headers": self._headers(letter),
                    }
                    for letter in letters
                ),
                "dead letter(s)",
            )
            if self.positions is not None:
                self.positions.acked(acked)

    def _headers(self, letter: DeadLetter) -> list[tuple[str, bytes]]:
        headers = [
            ("driftline.id", dead_letter_id(letter, self.source_topic).encode()),
            ("driftline.reason", letter.reason.encode()),
            ("driftline.detail", letter.detail[:1000].encode(errors="replace")),
            ("driftline.source.topic", (letter.topic or self.source_topic).encode()),
            ("driftline.source.partition", str(letter.partition).encode()),
            ("driftline.source.offset", str(letter.offset).encode()),
            ("driftline.source.timestamp_ms", str(letter.timestamp_ms).encode()),
        ]
        if letter.kind:
            headers.append((KIND_HEADER, letter.kind.encode()))
        return headers
