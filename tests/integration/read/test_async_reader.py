"""The asyncio predictions client on the real Redis and on a Redis Cluster: every read
answers what the blocking client answers (the same reads, another driver), the stream is
followed with ``await``, and a refused password says so."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from driftline.adapters.endpoints import Endpoints
from driftline.adapters.redis_clients import is_cluster, make_redis
from driftline.adapters.redis_sink import RedisSink
from driftline.core.errors import ServiceUnavailable
from driftline.core.events.records import Alert, Prediction
from driftline.core.quality.figures import QualityFinding
from driftline.read.async_reader import AsyncPredictionsClient
from driftline.read.reader import PredictionsClient
from tests.integration.cluster_fixtures import RunningCluster, redis_cluster  # noqa: F401
from tests.integration.helpers import stop_after

pytestmark = pytest.mark.integration

T0 = datetime(2024, 6, 1, 8, tzinfo=UTC)


@pytest.fixture(params=["redis", "cluster"])
def redis_url(request: pytest.FixtureRequest, services: Endpoints) -> Iterator[str]:
    if request.param == "redis":
        yield services.redis_url
    else:
        cluster: RunningCluster = request.getfixturevalue("redis_cluster")
        yield cluster.url


def _prediction(key: str, minute: int, label: Any, probabilities: Any) -> Prediction:
    at = T0 + timedelta(minutes=minute)
    return Prediction(key, f"{key}-{minute}", 0, minute, at, at, at, label, probabilities, 1)


def _alert(offset: int, kind: str) -> Alert:
    return Alert(f"0-{offset}-{kind}", 0, offset, kind, "main", "drift", "ADWIN",
                 {"estimation": 0.4}, 120, T0, "main", 3, "none")  # fmt: skip


def _written(url: str, namespace: str) -> None:
    """Predictions of three kinds of model, alerts and quality findings, as a worker writes."""
    client = make_redis(url)
    sink = RedisSink(client, namespace)
    sink.write(
        [
            _prediction("binary", 0, False, {True: 0.125, False: 0.875}),
            _prediction("classes", 1, "JFK", {"EWR": 0.25, "JFK": 0.5, "LGA": 0.25}),
            _prediction("number", 2, 12.5, None),
        ],
        [],
    )
    sink.record(
        [],
        [_alert(n, "concept" if n % 3 else "promotion") for n in range(20)],
        [QualityFinding(0, n, f"e{n}", "observation", "validity", "range", "x", "accepted")
         for n in range(5)],
    )  # fmt: skip
    client.close()


async def _read_all(client: AsyncPredictionsClient) -> dict[str, Any]:
    async with client:
        entries = await client.follow(from_start=True, block_ms=20, stop=stop_after(2, {}))
        return {
            "get": await client.get("binary"),
            "missing": await client.get("nowhere"),
            "get_many": await client.get_many(["number", "binary", "nowhere", "classes"]),
            "metrics": await client.metrics(),
            "series": await client.series(),
            "alerts": await client.alerts(4, "promotion"),
            "quality_log": await client.quality_log(2, after="0"),
            "follow": [entry async for entry in entries],
            "freshness": set(await client.freshness()),
        }


def test_the_async_client_reads_what_the_blocking_one_reads(redis_url: str, namespace: str) -> None:
    _written(redis_url, namespace)
    blocking = PredictionsClient.from_url(redis_url, namespace)
    cluster = is_cluster(blocking._redis)
    with blocking:
        expected = {
            "get": blocking.get("binary"),
            "missing": blocking.get("nowhere"),
            "get_many": blocking.get_many(["number", "binary", "nowhere", "classes"]),
            "metrics": blocking.metrics(),
            "series": blocking.series(),
            "alerts": blocking.alerts(4, "promotion"),
            "quality_log": blocking.quality_log(2, after="0"),
            "follow": list(blocking.follow(from_start=True, block_ms=20, stop=stop_after(2, {}))),
            "freshness": set(blocking.freshness()),
        }
    awaited = asyncio.run(
        _read_all(AsyncPredictionsClient.from_url(redis_url, namespace, cluster=cluster))
    )
    assert awaited == expected
    binary, many = awaited["get"], awaited["get_many"]
    assert (
        binary.probability_of(binary.prediction) == 0.875 and binary.positive_probability == 0.125
    )
    assert list(many) == ["number", "binary", "classes"]
    assert (
        many["classes"].probability_of("JFK") == 0.5
        and many["classes"].positive_probability is None
    )
    assert many["number"].probabilities is None and many["number"].probability_of(12.5) is None
    assert [a["offset"] for a in awaited["alerts"]] == [18, 15, 12, 9]
    assert [f["offset"] for f in awaited["quality_log"]] == [0, 1]
    assert [e.key for e in awaited["follow"]] == ["binary", "classes", "number"]


def test_following_with_await_yields_what_is_written_after_the_start(
    services: Endpoints, namespace: str
) -> None:
    sink_client = make_redis(services.redis_url)
    sink = RedisSink(sink_client, namespace)
    sink.write([_prediction("before", 0, True, {True: 0.5, False: 0.5})], [])

    async def follow() -> list[str]:
        async with AsyncPredictionsClient.from_url(services.redis_url, namespace) as client:
            writes = {1: lambda: sink.write([_prediction("after", 1, True, {True: 1.0})], [])}
            entries = await client.follow(block_ms=50, stop=stop_after(4, writes))
            return [entry.event_id async for entry in entries]

    try:
        assert asyncio.run(follow()) == ["after-1"]
    finally:
        sink_client.close()


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def test_a_url_without_the_password_is_refused_as_such(services: Endpoints, namespace: str) -> None:
    """The stack's Redis requires a password: a URL without it is not "did not answer"."""
    if "@" not in services.redis_url:
        pytest.skip("this run's Redis asks for no password")
    url = _without_password(services.redis_url)

    async def read() -> None:
        async with AsyncPredictionsClient.from_url(url, namespace) as client:
            await client.get("EWR")

    with pytest.raises(ServiceUnavailable, match=r"authentication failed \(NOAUTH") as caught:
        asyncio.run(read())
    assert "did not answer" not in str(caught.value)
    with pytest.raises(ServiceUnavailable, match=r"refused the client: authentication failed"):
        PredictionsClient.from_url(url, namespace)
