"""A consumer that stops handing out one partition's records, on the real Kafka and Redis,
with both clients: the worker notices within its stall limit, checkpoints and lets go of its
partitions, replaces the consumer, and the new one reads on from the checkpoints: every
record is processed once (:mod:`driftline.consumers.fetching`)."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from driftline.adapters.redis_clients import make_redis
from driftline.adapters.settings import Settings
from driftline.consumers.runner import run_worker, worker_config
from driftline.core.events.model import Observation, Outcome
from driftline.core.events.records import InputRecord
from driftline.read.reader import PredictionsClient
from tests.integration.consumers.test_worker import _stream
from tests.integration.helpers import create_topics, endpoints_of, publish

pytestmark = pytest.mark.integration


@pytest.fixture(params=["kafka-python", "confluent"])
def settings(settings: Settings, request: pytest.FixtureRequest) -> Settings:
    return settings.with_overrides(kafka_client=request.param, pending_ttl_s=1800.0)


class DeafToOne:
    """The worker's source, whose first consumer never hands out partition 1's records
    (as the kafka-python consumer that never fetched a restarted broker's partition
    again): each time they come, it is sent back to the first of them."""

    def __init__(self, renewing: Any) -> None:
        self.renewing = renewing
        self.first = renewing.client
        self.held_back = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.renewing, name)

    def poll(self, timeout_ms: int, max_records: int) -> Mapping[int, Sequence[InputRecord]]:
        batch = dict(self.renewing.poll(timeout_ms, max_records))
        if self.renewing.client is self.first and 1 in batch:
            records = batch.pop(1)
            self.held_back += len(records)
            self.renewing.seek(1, records[0].offset)
        return batch


def test_a_partition_no_longer_fetched_is_mended_by_a_new_consumer(settings: Settings) -> None:
    create_topics(settings, partitions=2)
    events: list[Observation | Outcome] = _stream([f"key-{i}" for i in range(12)], 200)
    published = publish(settings, events)
    sources: list[DeafToOne] = []

    def deaf(source: Any) -> Any:
        sources.append(DeafToOne(source))
        return sources[-1]

    stop = threading.Event()
    deadline = threading.Timer(120, stop.set)
    deadline.start()
    config = worker_config(settings, poll_timeout_ms=200, idle_watermark_s=None, stall_s=5.0)
    try:
        worker = run_worker(
            settings, endpoints_of(settings), config, stop, finished=lambda: True, wrap_source=deaf
        )
    finally:
        deadline.cancel()
    assert not stop.is_set(), "the worker did not read both partitions in 120 s"
    (source,) = sources
    assert source.held_back > 0 and source.renewing.renewals == 1
    assert worker.stats.fetch_stalls == 1
    # every record processed once: none replayed after the renewal, none missed
    assert worker.stats.records == published
    redis_client = make_redis(settings.redis.url.get_secret_value())  # type: ignore[union-attr]
    try:
        counts = PredictionsClient(redis_client, settings.namespace).metrics()["total"]["counts"]
        assert counts["observations"] == 200 == counts["predictions"]
        assert counts["outcomes"] == 180 == counts["learned"]
        assert worker.partitions_seen == {0, 1}
    finally:
        redis_client.close()
