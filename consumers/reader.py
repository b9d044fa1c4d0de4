"""Read predictions and metrics from Redis: what applications and dashboards use.

Usage::

    client = PredictionsClient(redis.Redis.from_url("redis://127.0.0.1:6379/0"), "driftline")
    latest = client.get("EWR")       # StoredPrediction | None
    totals = client.metrics()["total"]
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import redis

from pipeline.core.metrics import merge_snapshots
from pipeline.adapters.redis_keys import RedisKeys

__all__ = ["PredictionsClient", "StoredPrediction"]


@dataclass(frozen=True)
class StoredPrediction:
    """The latest prediction for one entity, as the worker stored it."""

    key: str
    prediction: Any
    probabilities: dict[str, float] | None
    model_version: int
    event_id: str
    event_time: datetime
    ingest_time: datetime
    predicted_time: datetime
    partition: int
    offset: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "prediction": self.prediction,
            "probabilities": self.probabilities,
            "model_version": self.model_version,
            "event_id": self.event_id,
            "event_time": self.event_time.isoformat(),
            "ingest_time": self.ingest_time.isoformat(),
            "predicted_time": self.predicted_time.isoformat(),
            "partition": self.partition,
            "offset": self.offset,
        }


class PredictionsClient:
    """Read side of the Redis key schema for one namespace."""

    def __init__(self, client: redis.Redis, namespace: str) -> None:
        self._redis: Any = client  # bytes responses (decode_responses off)
        self.keys = RedisKeys(namespace)

    def get(self, key: str) -> StoredPrediction | None:
        """The latest prediction for entity ``key``, or ``None``."""
        raw = self._redis.hgetall(self.keys.prediction(key))
        if not raw:
            return None
        fields = {k.decode(): v.decode() for k, v in raw.items()}
        return StoredPrediction(
            key=key,
            prediction=json.loads(fields["prediction"]),
            probabilities=json.loads(fields["probabilities"]),
            model_version=int(fields["model_version"]),
            event_id=fields["event_id"],
            event_time=datetime.fromisoformat(fields["event_time"]),
            ingest_time=datetime.fromisoformat(fields["ingest_time"]),
            predicted_time=datetime.fromisoformat(fields["predicted_time"]),
            partition=int(fields["partition"]),
            offset=int(fields["offset"]),
        )

    def task_metrics(self) -> dict[int, dict[str, Any]]:
        """Each task's metrics snapshot, by partition."""
        raw = self._redis.hgetall(self.keys.metrics)
        return {
            int(field.decode().removeprefix("p")): json.loads(value)
            for field, value in raw.items()
            if field.decode().startswith("p")
        }

    def metrics(self) -> dict[str, Any]:
        """Totals over every task, and the tasks themselves."""
        tasks = self.task_metrics()
        total = merge_snapshots([tasks[p] for p in sorted(tasks)])
        return {"total": total, "tasks": {str(p): tasks[p] for p in sorted(tasks)}}

    def follow(
        self, *, from_start: bool = False, block_ms: int = 1000, stop: Any = None
    ) -> Iterator[dict[str, Any]]:
        """Yield stream entries as they arrive (``XREAD BLOCK``), oldest first.

        Starts after the newest entry, or at the oldest kept one with ``from_start``;
        ``stop`` is an optional callable that ends the loop when it returns true.
        """
        last = "0-0" if from_start else "$"
        while stop is None or not stop():
            answer = self._redis.xread(
                {self.keys.predictions_stream: last}, block=block_ms, count=500
            )
            for _stream, entries in answer or []:
                for entry_id, fields in entries:
                    last = entry_id
                    yield {"id": entry_id.decode()} | {
                        k.decode(): v.decode() for k, v in fields.items()
                    }
