"""The predictions feed of ``driftline serve``'s event streams (``await``-ed ``XREAD``) on
the real Redis and on a Redis Cluster: the start fixed at the call, nothing lost between
two reads, resumption after an id, and a Redis that does not answer."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from driftline.adapters.endpoints import Endpoints
from driftline.adapters.prediction_record import StreamEntry
from driftline.adapters.redis_clients import is_cluster, make_async_redis, make_redis
from driftline.adapters.redis_sink import RedisSink
from driftline.core.errors import ServiceUnavailable
from driftline.core.events.records import Prediction
from driftline.read.feed import PredictionsFeed
from tests.integration.cluster_fixtures import RunningCluster, redis_cluster  # noqa: F401
from tests.integration.helpers import stop_after

pytestmark = pytest.mark.integration

T0 = datetime(2024, 6, 1, 8, 0, tzinfo=UTC)


def _prediction(event_id: str, minute: int = 0) -> Prediction:
    at = T0 + timedelta(minutes=minute)
    return Prediction("EWR", event_id, 0, minute, at, at, at, True, {True: 0.7, False: 0.3}, 2)


async def _collect(url: str, namespace: str, start: Callable[[PredictionsFeed], Any]) -> list[str]:
    """The event ids ``start(feed)`` yields, on a feed made and closed in this event loop."""
    blocking = make_redis(url)
    feed = PredictionsFeed(make_async_redis(url, cluster=is_cluster(blocking)), namespace)
    blocking.close()
    try:
        entries = await start(feed)
        return [entry.event_id async for entry in entries]
    finally:
        await feed.aclose()


@pytest.fixture(params=["redis", "cluster"])
def redis_url(request: pytest.FixtureRequest, services: Endpoints) -> Iterator[str]:
    if request.param == "redis":
        yield services.redis_url
    else:
        cluster: RunningCluster = request.getfixturevalue("redis_cluster")
        yield cluster.url


def test_the_feed_starts_at_the_call_and_loses_nothing_between_reads(
    redis_url: str, namespace: str
) -> None:
    client = make_redis(redis_url)
    sink = RedisSink(client, namespace)
    sink.write([_prediction("before")], [])
    writes = {n: (lambda n=n: sink.write([_prediction(f"new{n}", n)], [])) for n in (2, 4, 5)}
    stop = stop_after(7, writes)
    got = asyncio.run(
        _collect(redis_url, namespace, lambda feed: feed.follow(block_ms=50, stop=stop))
    )
    assert got == ["new2", "new4", "new5"]
    first = client.xrange(f"{namespace}:predictions", "-", "+")[1][0].decode()  # new2's id
    resumed = asyncio.run(
        _collect(
            redis_url,
            namespace,
            lambda feed: feed.follow_after(first, block_ms=50, stop=stop_after(2, {})),
        )
    )
    assert resumed == ["new4", "new5"]
    client.close()


def test_a_redis_that_does_not_answer_is_unavailable_at_the_call(namespace: str) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]

    async def follow() -> Any:
        feed = PredictionsFeed(make_async_redis(f"redis://127.0.0.1:{closed}/0"), namespace)
        try:
            return await feed.follow(block_ms=50)
        finally:
            await feed.aclose()

    with pytest.raises(ServiceUnavailable, match="Redis did not answer"):
        asyncio.run(follow())


def test_entries_decode_as_the_blocking_reader_decodes_them(
    services: Endpoints, namespace: str
) -> None:
    from driftline.read.reader import PredictionsClient

    client = make_redis(services.redis_url)
    sink = RedisSink(client, namespace)
    stop = stop_after(3, {1: lambda: sink.write([_prediction("one", 1)], [])})

    async def read() -> list[StreamEntry]:
        feed = PredictionsFeed(make_async_redis(services.redis_url), namespace)
        try:
            return [e async for e in await feed.follow(block_ms=50, stop=stop)]
        finally:
            await feed.aclose()

    [entry] = asyncio.run(read())
    blocking = list(
        PredictionsClient(client, namespace).follow(
            from_start=True, block_ms=50, stop=stop_after(1, {})
        )
    )
    assert entry == blocking[0]
    client.close()
