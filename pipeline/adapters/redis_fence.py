"""Fencing a worker that lost its partition without knowing it: the dead letters and
alerts of a partition are published only by its latest claimant.

A worker paused past its session timeout (a long GC, SIGSTOP, a VM migration) still holds
its batch when it wakes, and its writer publishes that batch's dead letters and alerts
while the partition's new owner, which read the topics back when it restored the task
(:mod:`~driftline.consumers.replayed`), publishes the same ids again. So every restore
*claims* its partition first, ``INCR <ns>:epoch:<partition>``, before it reads back; a
batch's dead letters and alerts go to Kafka only while the epoch its worker claimed is
still the latest (:meth:`RedisFence.taken`, one round trip, and only for a batch that has
some). The check and the publish are two steps: a worker paused between them can still
publish once more, a window of one publish instead of a whole pause; Kafka transactions
would close it (docs/decisions.md).

>>> from driftline.adapters.redis_keys import RedisKeys
>>> RedisKeys("demo").epoch(3)
'demo:epoch:3'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from driftline.adapters.redis_clients import REDIS_ERRORS, redis_failure
from driftline.adapters.redis_keys import RedisKeys

__all__ = ["RedisFence"]


class RedisFence:
    """Claims of partitions, one counter each in Redis (any Redis the worker writes to:
    a cluster too, one key per call or a pipeline)."""

    def __init__(self, client: Any, namespace: str) -> None:
        self._redis = client
        self.keys = RedisKeys(namespace)

    def claim(self, partition: int) -> int:
        """Claim ``partition`` for this worker: its new epoch (raises a TransientError
        when Redis does not answer)."""
        try:
            return int(self._redis.incr(self.keys.epoch(partition)))
        except REDIS_ERRORS as exc:
            raise redis_failure(exc, "Redis did not take the claim") from exc

    def taken(self, epochs: Mapping[int, int]) -> set[int]:
        """The partitions of ``epochs`` (partition: the epoch this worker claimed) that
        another worker has claimed since."""
        partitions = sorted(epochs)
        try:
            pipe = self._redis.pipeline(transaction=False)  # keys of several cluster slots
            for partition in partitions:
                pipe.get(self.keys.epoch(partition))
            found = pipe.execute()
        except REDIS_ERRORS as exc:
            raise redis_failure(exc, "Redis did not answer the claims") from exc
        return {
            partition
            for partition, value in zip(partitions, found, strict=True)
            if value is not None and int(value) != epochs[partition]
        }
