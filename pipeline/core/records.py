"""What flows into and out of a task: records as read, predictions, dead letters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = ["DeadLetter", "InputRecord", "Prediction"]


@dataclass(frozen=True, slots=True)
class InputRecord:
    """A Kafka record as the worker read it; ``timestamp_ms`` is the broker's ingest time."""

    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp_ms: int


@dataclass(frozen=True, slots=True)
class Prediction:
    """One prediction, as written to Redis and the predictions stream."""

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
