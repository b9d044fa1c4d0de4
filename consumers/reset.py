"""Forget what a namespace's workers wrote: a fresh start after its topics are recreated.

A checkpoint names an offset in the topic it was made from. Recreate the topic and that
offset points into a different log: a worker would restore the old state and skip the
new records below it. So recreating a namespace's topics (``--fresh``) also forgets its
checkpoints, and with them the predictions and metrics they produced.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from driftline.adapters.redis_keys import RedisKeys, unlink_all
from driftline.core.task.seal import CheckpointStore

__all__ = ["Forgotten", "forget_state"]


@dataclass(frozen=True)
class Forgotten:
    """What :func:`forget_state` deleted."""

    checkpoints: int
    predictions: int


def forget_state(redis_client: Any, namespace: str, checkpoints: CheckpointStore) -> Forgotten:
    """Delete the namespace's checkpoints, prediction hashes, stream, metrics, metrics time
    series, alerts and quality log.

    On a Redis Cluster the scan covers every master and the keys, of many slots, are
    deleted slot by slot (:func:`~driftline.adapters.redis_keys.unlink_all`).
    """
    keys = RedisKeys(namespace)
    hashes = list(redis_client.scan_iter(match=keys.prediction_pattern, count=1000))
    series = list(redis_client.scan_iter(match=keys.series_pattern, count=1000))
    extra = [keys.alerts, keys.alert_ids, keys.quality_log, *series]
    unlink_all(redis_client, [keys.metrics, keys.predictions_stream, *hashes, *extra])
    return Forgotten(checkpoints=checkpoints.clear(), predictions=len(hashes))
