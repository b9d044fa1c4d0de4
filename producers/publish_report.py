"""The account of a publisher's records: what was acknowledged (by kind, by partition, last
offsets) and what failed (by reason, with one example message each)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

__all__ = ["NO_ANSWER", "PublishReport"]

#: Reason of a record that had no answer when the flush stopped waiting.
NO_ANSWER = "no answer"
#: Longest example error message kept per failure reason.
_EXAMPLE_CHARS = 200


@dataclass
class PublishReport:
    """What was acknowledged (by kind, by partition, last offsets) and what failed (by reason).

    >>> report = PublishReport("demo.events")
    >>> report.describe()
    'no record acknowledged, none failed'
    >>> report.acknowledge("observation", partition=0, offset=41)
    >>> report.acknowledge("outcome", partition=2, offset=7)
    >>> report.fail("KafkaTimeoutError", TimeoutError("KafkaTimeoutError: batch expired"))
    >>> acked, failed = report.describe().split("), ")
    >>> acked
    '2 record(s) acknowledged (partition 0: 1, partition 2: 1'
    >>> failed
    '1 failed (1 KafkaTimeoutError: batch expired)'
    """

    topic: str
    by_kind: Counter[str] = field(default_factory=Counter)
    by_partition: Counter[int] = field(default_factory=Counter)
    last_offsets: dict[int, int] = field(default_factory=dict)
    failed_by_reason: Counter[str] = field(default_factory=Counter)
    failure_examples: dict[str, str] = field(default_factory=dict)

    @property
    def total(self) -> int:
        """Records acknowledged."""
        return sum(self.by_kind.values())

    @property
    def acknowledged(self) -> int:
        return self.total

    @property
    def failed(self) -> int:
        return sum(self.failed_by_reason.values())

    def acknowledge(self, kind: str, partition: int, offset: int) -> None:
        self.by_kind[kind] += 1
        self.by_partition[partition] += 1
        self.last_offsets[partition] = max(self.last_offsets.get(partition, -1), offset)

    def fail(self, reason: str, error: BaseException) -> None:
        self.failed_by_reason[reason] += 1
        if reason not in self.failure_examples:
            text = " ".join(str(error).split()) or reason
            if len(text) > _EXAMPLE_CHARS:
                text = text[: _EXAMPLE_CHARS - 3] + "..."
            self.failure_examples[reason] = text

    def describe(self) -> str:
        """One line: how many were acknowledged (by partition) and how many failed, and why."""
        if self.by_partition:
            where = ", ".join(f"partition {p}: {n}" for p, n in sorted(self.by_partition.items()))
            acked = f"{self.total} record(s) acknowledged ({where})"
        else:
            acked = "no record acknowledged"
        if not self.failed:
            return f"{acked}, none failed"
        why = "; ".join(
            f"{n} {self._explained(reason)}" for reason, n in self.failed_by_reason.most_common()
        )
        return f"{acked}, {self.failed} failed ({why})"

    def _explained(self, reason: str) -> str:
        example = self.failure_examples.get(reason, reason)
        if reason == NO_ANSWER or reason in example:
            return example
        return f"{reason}: {example}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "topic": self.topic,
            "published": self.total,
            "acknowledged": self.total,
            "observations": self.by_kind["observation"],
            "outcomes": self.by_kind["outcome"],
            "partitions": {str(p): n for p, n in sorted(self.by_partition.items())},
            "last_offsets": {str(p): o for p, o in sorted(self.last_offsets.items())},
            "failed": self.failed,
            "failed_by_reason": dict(self.failed_by_reason.most_common()),
        }
