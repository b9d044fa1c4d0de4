"""Wire a worker to real Kafka and Redis clients, run it, close everything.

:class:`WorkerBuilder` is the one wiring of a worker, for ``driftline consume``
(:func:`run_worker`: a member of the namespace's consumer group) and ``driftline replay``
(:mod:`driftline.consumers.rerun`: an offset range, into a namespace of its own).
Composition only: each piece it builds is tested on its own.
"""

from __future__ import annotations

import logging
import os
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from driftline.adapters.checkpoints.keys import checkpoint_key
from driftline.adapters.checkpoints.stores import DirectoryCheckpointStore, RedisCheckpointStore
from driftline.adapters.endpoints import Endpoints
from driftline.adapters.kafka.alerts import AlertPublisher
from driftline.adapters.kafka.dead_letters import DeadLetterPublisher
from driftline.adapters.kafka.published import OutputPositions, PublishedReader
from driftline.adapters.kafka.ticks import TickPublisher
from driftline.adapters.redis_clients import make_redis
from driftline.adapters.redis_fence import RedisFence
from driftline.adapters.redis_memory import check_for_worker
from driftline.adapters.redis_sink import RedisSink
from driftline.adapters.registry import event_codec
from driftline.adapters.settings import CheckpointSettings, Settings
from driftline.adapters.topics import ensure_alerts_topic
from driftline.consumers.clients import make_record_source, make_worker_producer
from driftline.consumers.config import WorkerConfig
from driftline.consumers.exposition import serve_worker_metrics
from driftline.consumers.ports import RecordSource
from driftline.consumers.process_tuning import steady_collector
from driftline.consumers.tasks import TaskStore
from driftline.consumers.worker import Worker
from driftline.core.events.records import Prediction
from driftline.core.learning.models import build_model
from driftline.core.task.config import TaskConfig
from driftline.core.task.seal import CheckpointCodec, CheckpointStore

__all__ = [
    "EXIT_STALLED",
    "WorkerBuilder",
    "checkpoint_codec",
    "checkpoint_store",
    "checked_task_config",
    "exit_stalled",
    "redis_sink",
    "run_worker",
    "worker_config",
]

log = logging.getLogger(__name__)


def worker_config(settings: Settings, **bounds: Any) -> WorkerConfig:
    """The loop's configuration from settings, plus run bounds (max_events, until_idle_s)."""
    # No watermark ticks on a topic of the replay's clock (DRIFTLINE_KAFKA_TIMESTAMPS=replay,
    # the demo's): a tick is stamped with the wall clock, the events with their schedule,
    # so a tick would move a partition's event time by how far the producer had fallen
    # behind, expiring predictions before their labels (docs/decisions.md, "A replay's clock").
    ticks = settings.model.idle_watermark_s if settings.kafka.timestamps == "broker" else None
    values: dict[str, Any] = {
        "max_poll_records": settings.worker.max_poll_records,
        "idle_watermark_s": ticks,
        "checkpoint_every": settings.checkpoints.every,
        "checkpoint_interval_s": settings.checkpoints.interval_s,
        "stall_s": settings.worker.stall_s,
        "assignment_stall_s": settings.worker.stall_s,
        # Write-behind pays where the client parses records outside the GIL (librdkafka).
        # kafka-python parses them in Python, in the poll (3.0.12: in this thread), so a
        # writer thread competes with the loop for the GIL: A/B pairs gained on one
        # workload and lost on another (docs/performance.md, "Issue 23", "A fifth run").
        "write_behind": settings.kafka.client == "confluent",
    }
    return WorkerConfig(**(values | bounds))


def checked_task_config(settings: Settings, given: TaskConfig | None = None) -> TaskConfig:
    """What each task computes (``given``, else the settings'), its model built once: a
    model, feature function or data contract that cannot be made is refused here, before
    anything connects (the tasks build their models when partitions are assigned)."""
    config = settings.task_config() if given is None else given
    build_model(config.model, config.seed)
    return config


#: The exit status of a worker whose Kafka client stopped answering (EX_TEMPFAIL).
EXIT_STALLED = 75


def exit_stalled(call: str, waited_s: float) -> None:
    """End the process: the call cannot be interrupted, and nothing unsaved is lost (the
    next run restores the checkpoints and replays from their offsets)."""
    log.critical(
        "the Kafka client has not answered %s for %.0f s: exiting with status %s so the "
        "worker restarts from its checkpoints",
        call,
        waited_s,
        EXIT_STALLED,
    )
    logging.shutdown()
    os._exit(EXIT_STALLED)


def checkpoint_codec(
    checkpoints: CheckpointSettings, local_key: Callable[[], bytes | None] | None = None
) -> CheckpointCodec:
    """The HMAC sealer of checkpoints, with the key :func:`checkpoint_key` finds."""
    return CheckpointCodec(checkpoint_key(checkpoints, local_key))


def checkpoint_store(
    checkpoints: CheckpointSettings, namespace: str, redis_client: Any
) -> CheckpointStore:
    """Where checkpoints live: Redis (default) or a directory."""
    if checkpoints.store == "directory":
        return DirectoryCheckpointStore(checkpoints.dir / namespace, history=checkpoints.history)
    return RedisCheckpointStore(redis_client, namespace, history=checkpoints.history)


def redis_sink(settings: Settings, redis_client: Any) -> RedisSink:
    """The namespace's prediction sink, with the retention the settings give."""
    return RedisSink(
        redis_client,
        settings.namespace,
        prediction_ttl_s=settings.redis.prediction_ttl_s,
        stream_maxlen=settings.redis.stream_maxlen,
        series_windows_kept=settings.redis.series_windows_kept,
        alerts_maxlen=settings.redis.alerts_maxlen,
        quality_log_maxlen=settings.redis.quality_log_maxlen,
    )


class WorkerBuilder:
    """Builds workers of ``settings``' namespace on the services at ``endpoints``.

    Made before any client: a checkpoint key that cannot be found (``local_key`` gives the
    local stack's when the settings name none), or a task configuration that cannot be
    made (a model or feature function that cannot be imported), is refused before
    anything connects. ``task_config`` replaces the settings' (a model or feature function
    given in Python: :func:`driftline.run_worker`).
    """

    def __init__(
        self,
        settings: Settings,
        endpoints: Endpoints,
        *,
        local_key: Callable[[], bytes | None] | None = None,
        task_config: TaskConfig | None = None,
    ) -> None:
        self.settings = settings
        self.endpoints = endpoints
        self.sealer = checkpoint_codec(settings.checkpoints, local_key)
        #: The events' codec: the schema registry's ids, registered once here, when one is
        #: configured (or the local stack runs one); else the local-only fixed ids.
        self.codec = event_codec(settings.schema_registry, endpoints.schema_registry_url)
        #: What each task computes.
        self.task_config = checked_task_config(settings, task_config)
        #: The Kafka settings pointed at the endpoints' brokers.
        self.kafka = settings.kafka.at(endpoints.bootstrap)

    @contextmanager
    def worker(
        self,
        source: Callable[[], RecordSource],
        config: WorkerConfig,
        *,
        source_topic: str | None = None,
        ticks_member: str | None = None,
        on_batch: Callable[[Worker, list[Prediction]], None] | None = None,
        on_stall: Callable[[str, float], None] | None = None,
    ) -> Iterator[Worker]:
        """A worker on its own Redis client and producer, both closed when the block ends
        (the source is closed by the worker's run).

        ``source()`` is called once Redis and the producer are made; ``source_topic`` is
        the topic it reads, named in dead letters (default: the namespace's events);
        ``ticks_member`` names the watermark ticks this worker writes into the events
        topic (``None``: it writes none).
        """
        settings, topics = self.settings, self.settings.topics
        redis_client = make_redis(self.endpoints.redis_url, timeout_s=settings.redis.timeout_s)
        try:
            check_for_worker(redis_client, settings.checkpoints.store)
            producer = make_worker_producer(self.kafka)
            positions = OutputPositions()
            published = PublishedReader(
                self.kafka,
                [topics.dead_letter, topics.alerts],
                source_topic or topics.events,
                positions,
            )
            try:
                yield Worker(
                    source=source(),
                    tasks=TaskStore(
                        checkpoint_store(settings.checkpoints, settings.namespace, redis_client),
                        self.sealer,
                        self.task_config,
                        settings.namespace,
                        self.codec,
                        positions.snapshot,
                    ),
                    sink=redis_sink(settings, redis_client),
                    dead_letters=DeadLetterPublisher(
                        producer, topics.dead_letter, source_topic or topics.events, positions
                    ),
                    ticks=None
                    if ticks_member is None
                    else TickPublisher(producer, topics.events, ticks_member, self.codec),
                    alerts=AlertPublisher(producer, topics.alerts, positions),
                    config=config,
                    on_batch=on_batch,
                    on_stall=on_stall,
                    published=published,
                    fence=RedisFence(redis_client, settings.namespace),
                )
            finally:
                published.close()
                producer.close(timeout=10)
        finally:
            redis_client.close()


def run_worker(
    settings: Settings,
    endpoints: Endpoints,
    config: WorkerConfig,
    stop: threading.Event,
    on_batch: Callable[[Worker, list[Prediction]], None] | None = None,
    finished: Callable[[], bool] | None = None,
    *,
    local_key: Callable[[], bytes | None] | None = None,
    metrics_port: int | None = None,
    metrics_host: str = "127.0.0.1",
    exit_on_stall: bool = False,
    task_config: TaskConfig | None = None,
    wrap_source: Callable[[RecordSource], RecordSource] | None = None,
) -> Worker:
    """Run one worker of the namespace's consumer group until it stops; return it.

    ``local_key`` gives the local stack's checkpoint key when the settings name none;
    ``metrics_port`` serves the worker's Prometheus exposition there while it runs;
    ``exit_on_stall`` ends the process (exit status 75) when a Kafka call has hung past
    ``DRIFTLINE_STALL_S``: a blocked thread cannot be taken back, and a supervisor's
    restart resumes from the checkpoints exactly (``driftline consume`` sets it);
    ``task_config`` replaces the settings' (a model or feature function given in Python);
    ``wrap_source`` wraps the worker's record source (``consume --source``: its lag counts
    the ingest stage's backlog).
    """
    builder = WorkerBuilder(settings, endpoints, local_key=local_key, task_config=task_config)
    kafka = builder.kafka
    ensure_alerts_topic(kafka, settings.namespace)
    member = f"{kafka.client_id}-worker-{uuid.uuid4().hex[:8]}"
    with builder.worker(
        lambda: (wrap_source or _same)(make_record_source(settings, member, kafka=kafka)),
        config,
        ticks_member=member,
        on_batch=on_batch,
        on_stall=exit_stalled if exit_on_stall else None,
    ) as worker:
        exposition = (
            None
            if metrics_port is None
            else serve_worker_metrics(worker, metrics_port, metrics_host)
        )
        try:
            with steady_collector():
                worker.run(stop, finished)
        finally:
            if exposition is not None:
                exposition.shutdown()
                exposition.server_close()
    return worker


def _same(source: RecordSource) -> RecordSource:
    return source
