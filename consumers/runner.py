"""Wire a worker to real Kafka and Redis clients from settings, run it, close everything."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable

from consumers.dead_letters import DeadLetterPublisher
from consumers.redis_sink import RedisSink
from consumers.worker import Worker, WorkerConfig
from pipeline.endpoints import Endpoints
from pipeline.kafka_clients import make_consumer, make_producer
from pipeline.records import Prediction
from pipeline.redis_clients import make_redis
from pipeline.serialization import EventCodec
from pipeline.settings import Settings
from pipeline.task import PartitionTask, task_config_from

__all__ = ["run_worker"]

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
    task_config = task_config_from(settings)
    codec = EventCodec()
    kafka = settings.kafka(endpoints.bootstrap)
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
    )
    worker = Worker(
        consumer=consumer,
        topic=settings.topics.events,
        task_factory=lambda partition: PartitionTask(partition, task_config, codec),
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
