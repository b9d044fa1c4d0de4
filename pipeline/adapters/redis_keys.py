"""The Redis key schema, in one place. Every key starts with ``<namespace>:``.

>>> keys = RedisKeys("demo")
>>> keys.prediction("EWR"), keys.predictions_stream, keys.metrics
('demo:prediction:EWR', 'demo:predictions', 'demo:metrics')
>>> keys.checkpoint(3), keys.checkpoint_pattern
('demo:checkpoint:3', 'demo:checkpoint:*')
>>> keys.series(3600, "main"), keys.alerts, keys.alert_ids
('demo:series:3600:main', 'demo:alerts', 'demo:alert-ids:{demo:alerts}')
>>> keys.checkpoint_history(3), keys.checkpoint_history_pattern
('demo:checkpoint-history:{demo:checkpoint:3}', 'demo:checkpoint-history:*')

A partition's history shares its latest checkpoint's cluster slot (the braces are a hash
tag), so one script writes both; and the latest checkpoints' pattern does not match it:

>>> from fnmatch import fnmatchcase
>>> from redis.crc import key_slot
>>> key_slot(keys.checkpoint_history(3).encode()) == key_slot(keys.checkpoint(3).encode())
True
>>> fnmatchcase(keys.checkpoint_history(3), keys.checkpoint_pattern)
False
>>> RedisKeys.partition_of(keys.checkpoint_history(12)), RedisKeys.partition_of(b"x:checkpoint:7")
(12, 7)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["RedisKeys", "unlink_all"]


@dataclass(frozen=True)
class RedisKeys:
    namespace: str

    def prediction(self, key: str) -> str:
        """Hash: the latest prediction for entity ``key``."""
        return f"{self.namespace}:prediction:{key}"

    @property
    def prediction_pattern(self) -> str:
        return f"{self.namespace}:prediction:*"

    @property
    def predictions_stream(self) -> str:
        """Stream: every prediction, capped, for subscribers."""
        return f"{self.namespace}:predictions"

    @property
    def metrics(self) -> str:
        """Hash: one field per task (``p<partition>``), a JSON metrics snapshot each."""
        return f"{self.namespace}:metrics"

    def series(self, window_s: float, model: str) -> str:
        """Sorted set: one JSON point per closed event-time window of ``window_s`` seconds
        and partition, scored by the window's start (epoch seconds)."""
        return f"{self.namespace}:series:{window_s:g}:{model}"

    @property
    def series_pattern(self) -> str:
        return f"{self.namespace}:series:*"

    @property
    def alerts(self) -> str:
        """Stream: drift alarms, promotions and rollbacks, one JSON ``alert`` field each."""
        return f"{self.namespace}:alerts"

    @property
    def alert_ids(self) -> str:
        """Sorted set: the ids of the alerts in the stream, scored by their entries'
        milliseconds and trimmed with the stream, so a replay adds none twice (it shares
        the stream's cluster slot through the hash tag)."""
        return f"{self.namespace}:alert-ids:{{{self.alerts}}}"

    @property
    def quality_log(self) -> str:
        """Stream: data-quality findings, one entry per finding (capped)."""
        return f"{self.namespace}:quality"

    def checkpoint(self, partition: int) -> str:
        """String: the sealed checkpoint of the task of ``partition``."""
        return f"{self.namespace}:checkpoint:{partition}"

    def epoch(self, partition: int) -> str:
        """String (a counter): how many times a worker has claimed ``partition``; only the
        latest claimant publishes its dead letters and alerts
        (:class:`~driftline.adapters.redis_fence.RedisFence`)."""
        return f"{self.namespace}:epoch:{partition}"

    @property
    def checkpoint_pattern(self) -> str:
        return f"{self.namespace}:checkpoint:*"

    def checkpoint_history(self, partition: int) -> str:
        """Hash: the kept checkpoints of ``partition``, one field per next offset (decimal).

        Tagged with the latest checkpoint's key, so both live in one cluster slot.
        """
        return f"{self.namespace}:checkpoint-history:{{{self.checkpoint(partition)}}}"

    @property
    def checkpoint_history_pattern(self) -> str:
        return f"{self.namespace}:checkpoint-history:*"

    @staticmethod
    def partition_of(key: str | bytes) -> int:
        """The partition a checkpoint key (latest or history) names."""
        name = key.decode() if isinstance(key, bytes) else key
        return int(name.rstrip("}").rsplit(":", 1)[1])


def unlink_all(client: Any, keys: Sequence[Any], chunk: int = 500) -> None:
    """Delete ``keys`` (UNLINK: freed in the background), up to ``chunk`` per call.

    On a Redis Cluster one command may only name keys of one slot: redis-py's cluster
    client splits each call into one UNLINK per slot and sends them in one pipeline, one
    round trip per node (``RedisCluster.unlink``); a single Redis takes each chunk whole.
    """
    for start in range(0, len(keys), chunk):
        client.unlink(*keys[start : start + chunk])
