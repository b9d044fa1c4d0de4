"""Helpers shared by the integration tests: topics, publishing, running a worker."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable

from driftline.adapters.endpoints import Endpoints
from driftline.adapters.kafka_clients import make_consumer, make_producer
from driftline.adapters.settings import Settings
from driftline.adapters.topics import prepare_topics
from driftline.consumers.runner import run_worker, worker_config
from driftline.consumers.worker import Worker
from driftline.core.events.model import Observation, Outcome
from driftline.producers.publisher import EventPublisher


def endpoints_of(settings: Settings) -> Endpoints:
    assert settings.kafka.bootstrap and settings.redis.url
    return Endpoints(settings.kafka.bootstrap, settings.redis.url.get_secret_value(), "settings")


def create_topics(settings: Settings, partitions: int = 1, fresh: bool = False) -> dict[str, str]:
    """The namespace's topics with ``partitions`` partitions; what happened to each."""
    return prepare_topics(
        settings.with_overrides(partitions=partitions).kafka, settings.namespace, fresh=fresh
    )


def dead_letter_headers(settings: Settings) -> list[dict[str, str]]:
    """The headers of every dead letter of the namespace (reason, source topic, partition,
    offset...), oldest first per partition."""
    consumer = make_consumer(settings.kafka, auto_offset_reset="earliest", consumer_timeout_ms=5000)
    consumer.subscribe([settings.topics.dead_letter])
    try:
        return [{name: value.decode() for name, value in record.headers} for record in consumer]
    finally:
        consumer.close()


def publish(settings: Settings, events: Iterable[Observation | Outcome]) -> int:
    with EventPublisher(make_producer(settings.kafka), settings.topics.events) as publisher:
        for event in events:
            publisher.publish(event)
        return publisher.flush().total


def drain(
    settings: Settings,
    expected_records: int,
    *,
    on_batch: Callable[[Worker, list], None] | None = None,
    max_poll_records: int = 500,
    deadline_s: float = 300.0,
) -> Worker:
    """Run a worker until it has read every partition to its end; check the count.

    A worker that has not read them in ``deadline_s`` is stopped and the test fails,
    saying so, instead of waiting for the suite's timeout.
    """
    stop = threading.Event()
    deadline = threading.Timer(deadline_s, stop.set)
    deadline.start()
    config = worker_config(
        settings, poll_timeout_ms=200, idle_watermark_s=None, max_poll_records=max_poll_records
    )
    try:
        worker = run_worker(
            settings,
            endpoints_of(settings),
            config,
            stop,
            on_batch,
            finished=lambda: True,  # published before: stop once every partition is read
        )
    finally:
        deadline.cancel()
    assert not stop.is_set(), f"the worker had not read every partition in {deadline_s:.0f} s"
    assert worker.stats.records == expected_records, (worker.stats.records, expected_records)
    return worker


def stop_after(calls: int, on_call: dict[int, Callable[[], object]]) -> Callable[[], bool]:
    """A ``stop`` for ``follow``: runs ``on_call[n]`` on its n-th call, stops after ``calls``."""
    made = 0

    def stop() -> bool:
        nonlocal made
        made += 1
        if made in on_call:
            on_call[made]()
        return made > calls

    return stop
