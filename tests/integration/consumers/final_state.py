"""What a worker run leaves behind, and one uninterrupted pass over its final log: the
two sides of every exactly-once recovery test (``test_recovery``, ``test_sources``)."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from typing import Any

from driftline.adapters.checkpoints.stores import RedisCheckpointStore
from driftline.adapters.redis_clients import make_redis
from driftline.adapters.redis_sink import RedisSink
from driftline.adapters.settings import Settings
from driftline.consumers.clients import make_record_source
from driftline.consumers.runner import checkpoint_codec, worker_config
from driftline.consumers.tasks import TaskStore
from driftline.consumers.worker import Worker
from driftline.core.task.checkpoint import describe
from driftline.read.reader import PredictionsClient
from tests.conftest import TEST_CHECKPOINT_KEY
from tests.unit.consumers.worker_fakes import MemoryDeadLetters

__all__ = ["consume_env", "final_state", "records_done", "replayed", "wait_for"]


def final_state(settings: Settings) -> dict[str, Any]:
    """Model digests, metrics and Redis predictions: what must match, and nothing else."""
    client = make_redis(settings.redis.url.get_secret_value())  # type: ignore[union-attr]
    try:
        codec = checkpoint_codec(settings.checkpoints)
        checkpoints = RedisCheckpointStore(client, settings.namespace).all()
        digests = {
            p: (describe(blob, codec)["model_digest"], describe(blob, codec)["models"])
            for p, blob in checkpoints.items()
        }
        offsets = {p: describe(blob, codec)["next_offset"] for p, blob in checkpoints.items()}
        metrics = {}
        for field, value in client.hgetall(f"{settings.namespace}:metrics").items():
            snap = json.loads(value)
            for volatile in (  # broker and wall clocks: not part of the replayed state
                "lateness_buckets",
                "lateness_sum_s",
                "lateness_seconds",
                "latency_buckets",
                "latency_sum_s",
                "latency_seconds",
                "watermark_lag_s",
            ):
                snap.pop(volatile)
            for volatile in ("per_minute", "sources"):  # the same clocks, per dimension
                snap["quality"].pop(volatile)
            metrics[field.decode()] = snap
        predictions = {}
        for key in client.scan_iter(match=f"{settings.namespace}:prediction:*", count=1000):
            fields = {k.decode(): v.decode() for k, v in client.hgetall(key).items()}
            for volatile in ("ingest_time", "predicted_time"):
                fields.pop(volatile)
            predictions[key.decode().split(":", 2)[2]] = fields
        predicted_ids = {
            f[b"event_id"].decode() for _, f in client.xrange(f"{settings.namespace}:predictions")
        }
        reader = PredictionsClient(client, settings.namespace)
        series = reader.series()
        alerts = sorted(a["alert_id"] for a in reader.alerts(count=100_000))
    finally:
        client.close()
    return {
        "digests": digests,
        "offsets": offsets,
        "metrics": metrics,
        "predictions": predictions,
        "predicted_ids": predicted_ids,
        "series": series,
        "alerts": alerts,
    }


def replayed(settings: Settings) -> dict[str, Any]:
    """One uninterrupted pass over ``settings``' final log (its events and the watermark
    ticks its workers wrote), by a worker of another group writing to another namespace,
    on the same Kafka client library."""
    copy = settings.with_overrides(namespace=f"{settings.namespace}-again")
    client = make_redis(settings.redis.url.get_secret_value())  # type: ignore[union-attr]
    source = make_record_source(copy, "replay", kafka=settings.kafka, topic=settings.topics.events)
    worker = Worker(
        source,
        TaskStore(
            RedisCheckpointStore(client, copy.namespace),
            checkpoint_codec(copy.checkpoints),
            copy.task_config(),
            copy.namespace,
        ),
        RedisSink(client, copy.namespace),
        MemoryDeadLetters(),
        ticks=None,
        config=worker_config(copy, poll_timeout_ms=200),
    )
    try:
        worker.run(threading.Event(), finished=lambda: True)
    finally:
        client.close()
    return final_state(copy)


def records_done(settings: Settings) -> int:
    """Records the namespace's workers have processed, as their metrics say."""
    client = make_redis(settings.redis.url.get_secret_value())  # type: ignore[union-attr]
    try:
        raw = client.hgetall(f"{settings.namespace}:metrics")
    finally:
        client.close()
    return sum(json.loads(v)["counts"]["records"] for v in raw.values())


def wait_for(condition: Callable[[], bool], deadline_s: float, what: str) -> None:
    """Poll ``condition`` until it holds; fail naming ``what`` after ``deadline_s``."""
    deadline = time.monotonic() + deadline_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def consume_env(settings: Settings, worker_env: dict[str, str]) -> dict[str, str]:
    """The environment of a ``driftline consume`` subprocess: this one's without its
    DRIFTLINE_* variables, ``worker_env``, and the services and namespace of ``settings``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRIFTLINE_")}
    return (
        env
        | worker_env
        | {
            "DRIFTLINE_KAFKA_BOOTSTRAP": settings.kafka.bootstrap or "",
            "DRIFTLINE_REDIS_URL": settings.redis.url.get_secret_value(),  # type: ignore[union-attr]
            "DRIFTLINE_NAMESPACE": settings.namespace,
            "DRIFTLINE_CHECKPOINT_KEY": TEST_CHECKPOINT_KEY,
            "DRIFTLINE_KAFKA_CLIENT": settings.kafka.client,
        }
    )
