"""What flows into and out of a task: records as read, predictions, dead letters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = ["Alert", "DeadLetter", "InputRecord", "Prediction", "SourceRecord"]


@dataclass(frozen=True, slots=True)
class InputRecord:
    """A Kafka record as the worker read it; ``timestamp_ms`` is the broker's ingest time."""

    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp_ms: int


@dataclass(frozen=True, slots=True)
class SourceRecord:
    """A record of a user's topic as the ingest stage of ``consume --source`` read it."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp_ms: int
    headers: tuple[tuple[str, bytes], ...] = ()


@dataclass(slots=True)
class Prediction:
    """One prediction, as written to Redis and the predictions stream.

    One per observation: not frozen, as a frozen dataclass sets each of its fourteen
    fields through ``object.__setattr__`` (five times the time to build one, 3% of a
    task's time). Nothing changes one once made (``dataclasses.replace`` for a copy).
    """

    key: str
    event_id: str
    partition: int
    offset: int
    event_time: datetime
    ingest_time: datetime
    predicted_time: datetime
    prediction: Any
    probabilities: dict[Any, float] | None
    model_version: int
    #: The model that made it (the champion's name when it was made).
    model: str = ""
    #: What to do: the cost-aware decision (the prediction itself without a cost matrix).
    decision: Any = None
    #: The decision threshold on the positive probability (``None``: no cost matrix).
    threshold: float | None = None
    #: The fingerprint of the task's configuration (:mod:`driftline.core.task.fingerprint`).
    config: str = ""


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A record the task could not use, with the reason (a stable kebab-case code)."""

    reason: str
    detail: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp_ms: int
    kind: str | None = None  # "observation", "outcome", or None when undecodable
    #: The topic the record came from: a user's topic (``consume --source``); ``None``
    #: for the namespace's events topic.
    topic: str | None = None


@dataclass(frozen=True, slots=True)
class Alert:
    """Something a task noticed about its model or its data: a drift alarm, a promotion,
    a rollback, with its evidence. ``alert_id`` is deterministic (partition, offset, what):
    a replay repeats an alert under the same id, and readers keep the first."""

    alert_id: str
    partition: int
    offset: int
    kind: str  # concept | feature | category | label | promotion | rollback
    subject: str  # the model, the feature or "label"
    signal: str  # warning | drift | promoted | rolled-back | refused
    detector: str
    statistic: dict[str, Any]
    window: int
    event_time: datetime | None
    model: str
    model_version: int
    action: str  # none | reset | swap | promote | rollback

    def to_dict(self) -> dict[str, Any]:
        return {
            "alert_id": self.alert_id,
            "partition": self.partition,
            "offset": self.offset,
            "kind": self.kind,
            "subject": self.subject,
            "signal": self.signal,
            "detector": self.detector,
            "statistic": self.statistic,
            "window": self.window,
            "event_time": self.event_time.isoformat() if self.event_time else None,
            "model": self.model,
            "model_version": self.model_version,
            "action": self.action,
        }
