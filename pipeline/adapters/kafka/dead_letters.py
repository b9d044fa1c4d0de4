"""Dead letters: the original record, untouched, with the reason in its headers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from driftline.adapters.kafka.acks import send_acknowledged
from driftline.core.events.codec import KIND_HEADER
from driftline.core.events.records import DeadLetter

__all__ = ["DeadLetterPublisher"]


class DeadLetterPublisher:
    """Publish dead letters to the namespace's dead-letter topic and wait for the acks."""

    def __init__(self, producer: Any, topic: str, source_topic: str) -> None:
        self._producer = producer
        self.topic = topic
        self.source_topic = source_topic

    def publish(self, letters: Sequence[DeadLetter]) -> None:
        """Send and flush; raises :class:`PublishError` if any was not acknowledged."""
        if letters:
            send_acknowledged(
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

    def _headers(self, letter: DeadLetter) -> list[tuple[str, bytes]]:
        headers = [
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
