"""Wire a worker to real Kafka and Redis clients from settings, run it, close everything."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from typing import Any

from consumers.dead_letters import DeadLetterPublisher
from consumers.redis_sink import RedisSink
from consumers.worker import TaskStore, Worker, WorkerConfig
from pipeline.adapters.checkpoint_stores import DirectoryCheckpointStore, RedisCheckpointStore
from pipeline.core.checkpoint import (
    CheckpointCodec,
    CheckpointStore,
)
from pipeline.adapters.endpoints import Endpoints
from pipeline.adapters.kafka_clients import make_consumer, make_producer
from pipeline.core.records import Prediction
from pipeline.adapters.redis_clients import make_redis
from pipeline.core.codec import EventCodec
from pipeline.adapters.settings import Settings
from pipeline.core.task import PartitionTask
from pipeline.core.task_checkpoint import restore_task, seal_task

__all__ = ["checkpoint_codec", "checkpoint_store", "run_worker", "worker_config"]

#: Used when DRIFTLINE_CHECKPOINT_KEY is unset: fine on a laptop, never in production.
_DEVELOPMENT_KEY = b"driftline-development-checkpoint-key"


def worker_config(settings: Settings, **bounds: Any) -> WorkerConfig:
    """The loop's configuration from settings, plus run bounds (max_events, until_idle_s)."""
    values: dict[str, Any] = {
        "max_poll_records": settings.max_poll_records,
        "idle_watermark_s": settings.idle_watermark_s,
        "checkpoint_every": settings.checkpoint_every,
        "checkpoint_interval_s": settings.checkpoint_interval_s,
    }
    return WorkerConfig(**(values | bounds))


def checkpoint_codec(settings: Settings) -> CheckpointCodec:
    """The HMAC sealer of checkpoints, from ``DRIFTLINE_CHECKPOINT_KEY``."""
    if settings.checkpoint_key is None:
        log.warning(
            "DRIFTLINE_CHECKPOINT_KEY is unset: checkpoints are sealed with the "
            "development key; set a secret key in production"
        )
        return CheckpointCodec(_DEVELOPMENT_KEY)
    return CheckpointCodec(settings.checkpoint_key.get_secret_value().encode())


def checkpoint_store(settings: Settings, redis_client: Any) -> CheckpointStore:
    """Where checkpoints live: Redis (default) or a directory."""
    if settings.checkpoint_store == "directory":
        return DirectoryCheckpointStore(settings.checkpoint_dir / settings.namespace)
    return RedisCheckpointStore(redis_client, settings.namespace)


log = logging.getLogger(__name__)


def run_worker(
    settings: Settings,
    endpoints: Endpoints,
    config: WorkerConfig,
    stop: threading.Event,
    on_batch: Callable[[Worker, list[Prediction]], None] | None = None,
    drained: Callable[[Worker], bool] | None = None,
) -> Worker:
    """Run one worker of the namespace's consumer group until it stops; return it."""
    task_config = settings.task_config()
    codec = EventCodec()
    kafka = settings.kafka.at(endpoints.bootstrap)
    redis_client = make_redis(endpoints.redis_url)
    producer = make_producer(kafka)
    consumer = make_consumer(
        kafka,
        group_id=settings.topics.consumer_group,
        client_id=f"{settings.kafka_client_id}-worker-{uuid.uuid4().hex[:8]}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=settings.max_poll_records,
        fetch_max_bytes=32 * 1024 * 1024,
        max_partition_fetch_bytes=8 * 1024 * 1024,
        session_timeout_ms=settings.session_timeout_ms,
        heartbeat_interval_ms=max(1000, settings.session_timeout_ms // 5),
    )
    checkpoints = checkpoint_store(settings, redis_client)
    sealer = checkpoint_codec(settings)

    def restore(partition: int) -> PartitionTask | None:
        blob = checkpoints.load(partition)
        return None if blob is None else restore_task(blob, sealer, task_config, partition)

    def save(task: PartitionTask) -> None:
        checkpoints.save(task.partition, seal_task(task, sealer, settings.namespace))

    worker = Worker(
        consumer=consumer,
        topic=settings.topics.events,
        tasks=TaskStore(
            restore=restore,
            fresh=lambda partition: PartitionTask(partition, task_config, codec),
            save=save,
        ),
        sink=RedisSink(
            redis_client,
            settings.namespace,
            prediction_ttl_s=settings.prediction_ttl_s,
            stream_maxlen=settings.stream_maxlen,
        ),
        dead_letters=DeadLetterPublisher(
            producer, settings.topics.dead_letter, settings.topics.events
        ),
        config=config,
        on_batch=on_batch,
    )
    try:
        worker.run(stop, drained)
    finally:
        producer.close(timeout=10)
        redis_client.close()
    return worker
