"""``driftline serve`` on the real Kafka and Redis: predictions, metrics, health with the
group's lag, the probes, the event stream resumed after an id, Prometheus, and a Redis
that is gone."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import pytest
from prometheus_client.parser import text_string_to_metric_families

from driftline.adapters.redis_clients import make_async_redis, make_redis
from driftline.adapters.redis_sink import RedisSink
from driftline.adapters.settings import Settings
from driftline.app.serving import ApiServer, create_app, serving_app
from driftline.core.events.records import Prediction
from driftline.producers.flights import flight_events
from driftline.producers.replay import ArrivalDelay, ReplayPlan
from driftline.read.feed import PredictionsFeed
from driftline.read.reader import PredictionsClient
from tests.integration.helpers import create_topics, drain, publish

pytestmark = pytest.mark.integration

FLIGHTS = 400


def flights(limit: int = FLIGHTS) -> list[Any]:
    plan = ReplayPlan(delay=ArrivalDelay(mean_s=60, max_s=600), seed=5)
    return [t.event for t in plan.schedule(flight_events(limit=limit, key_by="tailnum"))]


def get(url: str, timeout_s: float = 30) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as answer:
            body = answer.read().decode()
            kind = answer.headers["Content-Type"]
            return answer.status, json.loads(body) if "json" in kind else body
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read().decode())


@pytest.fixture
def served(settings: Settings) -> Iterator[tuple[str, PredictionsClient, list[Any]]]:
    create_topics(settings, partitions=2)
    events = flights()
    drain(settings, publish(settings, events))
    redis_url = settings.redis.url.get_secret_value()  # type: ignore[union-attr]
    app, lag = serving_app(settings, redis_url, settings.kafka.bootstrap or "")
    reader = PredictionsClient(make_redis(redis_url), settings.namespace)
    with ApiServer(app, port=0) as server:
        yield server.url, reader, events
    lag.close()


def test_predictions_metrics_and_health(served: tuple[str, PredictionsClient, list[Any]]) -> None:
    url, reader, events = served
    keys = sorted({e.key for e in events if e.kind == "observation"})
    status, one = get(f"{url}v1/predictions/{keys[0]}")
    assert status == 200
    assert one == reader.get(keys[0]).to_dict()  # type: ignore[union-attr]
    status, many = get(f"{url}v1/predictions?keys={','.join(keys[:50])},nobody")
    assert status == 200
    assert many["missing"] == ["nobody"]
    assert many["predictions"] == {k: v.to_dict() for k, v in reader.get_many(keys[:50]).items()}
    status, missing = get(f"{url}v1/predictions/nobody")
    assert (status, missing["code"]) == (404, "not_found")
    status, too_many = get(f"{url}v1/predictions?keys={','.join(['k'] * 1001)}")
    assert (status, too_many["code"]) == (413, "too_many_keys")

    status, metrics = get(f"{url}v1/metrics/model?history=true")
    assert status == 200
    assert metrics["total"] == reader.metrics()["total"]
    assert metrics["total"]["counts"]["predictions"] == FLIGHTS
    assert set(metrics["tasks"]) == {"0", "1"}

    assert get(f"{url}readyz")[0] == 200
    status, health = get(f"{url}health")
    assert status == 200, health
    assert health["status"] == "ok"
    assert health["kafka"]["reachable"] is True
    assert health["kafka"]["total_lag"] == 0  # drained, checkpointed, committed
    assert set(health["kafka"]["lag"]) == {"0", "1"}
    assert 0 <= health["redis"]["last_prediction_age_s"] < 600

    status, text = get(f"{url}metrics")
    assert status == 200
    found = {f.name: f for f in text_string_to_metric_families(text)}
    predicted = sum(s.value for s in found["driftline_predictions"].samples)
    assert predicted == FLIGHTS
    scored = {s.labels["partition"] for s in found["driftline_model_accuracy_ratio"].samples}
    assert scored == {"0", "1"}


def read_events(url: str, path: str, count: int, headers: dict[str, str]) -> list[dict[str, str]]:
    """The first ``count`` events of a server-sent event stream."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    connection.request("GET", path, headers=headers)
    answer = connection.getresponse()
    assert answer.status == 200 and answer.getheader("Content-Type").startswith("text/event-stream")
    events: list[dict[str, str]] = []
    fields: dict[str, str] = {}
    try:
        while len(events) < count:
            line = answer.readline().decode().rstrip("\n")
            if not line:
                if fields:
                    events.append(fields)
                fields = {}
            elif not line.startswith(":"):
                name, _, value = line.partition(": ")
                fields[name] = value
    finally:
        connection.close()
    return events


def test_the_stream_resumes_after_the_last_id_seen(
    served: tuple[str, PredictionsClient, list[Any]],
) -> None:
    url, reader, _ = served
    kept = reader._redis.xrange(reader.keys.predictions_stream, "-", "+", count=30)
    ids = [entry_id.decode() for entry_id, _ in kept]
    resumed = read_events(url, "/v1/stream/predictions", 20, {"Last-Event-ID": ids[9]})
    assert [e["id"] for e in resumed] == ids[10:30]
    assert all(e["event"] == "prediction" for e in resumed)
    first = json.loads(resumed[0]["data"])
    assert first["id"] == ids[10] and first["key"]
    by_query = read_events(url, f"/v1/stream/predictions?after={ids[27]}", 2, {})
    assert [e["id"] for e in by_query] == ids[28:30]


def test_redis_gone_is_503_and_the_server_keeps_serving(settings: Settings) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    app, lag = serving_app(
        settings, f"redis://127.0.0.1:{closed}/0", settings.kafka.bootstrap or ""
    )
    with ApiServer(app, port=0) as server:
        for path in ("v1/predictions/N1", "v1/predictions?keys=a,b", "v1/metrics/model", "metrics"):
            status, body = get(server.url + path)
            assert status == 503, path
            assert body["code"] == "unavailable" and "Redis" in body["detail"]
            assert "Traceback" not in json.dumps(body)
        status, health = get(server.url + "health")
        assert status == 503 and health["redis"]["reachable"] is False
        assert health["kafka"]["reachable"] is True  # Kafka is up: only Redis is reported down
        assert get(server.url + "livez") == (200, {"status": "alive"})  # not to be restarted
        status, ready = get(server.url + "readyz")
        assert status == 503 and ready["ready"] is False
        assert (ready["redis"]["reachable"], ready["kafka"]["reachable"]) == (False, True)
        status, schema = get(server.url + "openapi.json")
        assert status == 200 and "/health" in schema["paths"]
    lag.close()


def test_stopping_the_server_ends_open_streams_cleanly(settings: Settings) -> None:
    """An open event stream ends by itself when the server stops (not cancelled mid-
    response after the graceful timeout)."""
    create_topics(settings, partitions=1)
    redis_url = settings.redis.url.get_secret_value()  # type: ignore[union-attr]
    app, lag = serving_app(settings, redis_url, settings.kafka.bootstrap or "")
    server = ApiServer(app, port=0)
    parts = urlsplit(server.start())
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    connection.request("GET", "/v1/stream/predictions")
    answer = connection.getresponse()
    assert answer.status == 200
    assert answer.readline().startswith(b":")  # the opening comment: the stream is open
    server.stop()
    assert answer.read() == b"\n"  # the rest of the comment's event, then a clean end
    assert not server._thread.is_alive()  # type: ignore[union-attr]
    connection.close()
    lag.close()


#: Idle event streams open at once: more than anyio's 40 worker threads (issue 19, defect 16).
STREAMS = 45


def open_stream(url: str, headers: dict[str, str] | None = None) -> tuple[Any, Any]:
    """A connection asking for the event stream, and its answer (headers read)."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    connection.request("GET", "/v1/stream/predictions", headers=headers or {})
    return connection, connection.getresponse()


def next_event(answer: Any, max_lines: int = 50) -> dict[str, str]:
    """The next event of an open stream (comments skipped), within ``max_lines`` lines and
    the connection's timeout."""
    fields: dict[str, str] = {}
    for _ in range(max_lines):
        line = answer.readline().decode().rstrip("\n")
        if not line and fields:
            return fields
        if line and not line.startswith(":"):
            name, _, value = line.partition(": ")
            fields[name] = value
    raise AssertionError(f"no event within {max_lines} lines")


def test_idle_streams_hold_no_thread_and_health_still_answers(settings: Settings) -> None:
    """45 idle event streams, more than the server's worker threads: /health answers within
    2 s, and every stream still delivers what is written after."""
    create_topics(settings, partitions=1)
    redis_url = settings.redis.url.get_secret_value()  # type: ignore[union-attr]
    app, lag = serving_app(settings, redis_url, settings.kafka.bootstrap or "")
    streams: list[tuple[Any, Any]] = []
    with ApiServer(app, port=0) as server:
        try:
            assert get(server.url + "health")[0] == 200  # Kafka's client made before timing
            threads = threading.active_count()
            for n in range(STREAMS):
                try:
                    streams.append(open_stream(server.url))
                except OSError as exc:  # the connection's timeout
                    pytest.fail(f"stream {n + 1} of {STREAMS} got no answer within 10 s: {exc}")
                assert streams[-1][1].status == 200
            began = time.monotonic()
            try:
                status, health = get(server.url + "health", timeout_s=2)
            except OSError as exc:  # urllib's timeout
                pytest.fail(f"/health did not answer within 2 s with {STREAMS} streams open: {exc}")
            took = time.monotonic() - began
            assert status == 200 and health["status"] == "ok", health
            assert took < 2
            for _, answer in streams:
                assert answer.readline().startswith(b":")  # the opening comment: waiting
            assert threading.active_count() < threads + 10  # no thread per stream
            at = datetime(2024, 6, 1, tzinfo=UTC)
            written = Prediction("N1", "late-1", 0, 7, at, at, at, True, {True: 0.8, False: 0.2}, 3)
            client = make_redis(redis_url)
            RedisSink(client, settings.namespace).write([written], [])
            client.close()
            for _, answer in streams:
                event = next_event(answer)
                assert event["event"] == "prediction"
                assert json.loads(event["data"])["event_id"] == "late-1"
        finally:
            for connection, _ in streams:
                connection.close()
    lag.close()


def test_streams_beyond_the_bound_are_a_503_until_one_ends(settings: Settings) -> None:
    redis_url = settings.redis.url.get_secret_value()  # type: ignore[union-attr]
    reader = PredictionsClient(make_redis(redis_url), settings.namespace)
    feed = PredictionsFeed(make_async_redis(redis_url), settings.namespace)
    app = create_app(reader, None, feed=feed, namespace=settings.namespace, max_streams=3)
    streams: list[tuple[Any, Any]] = []
    with ApiServer(app, port=0) as server:
        try:
            for _ in range(3):
                streams.append(open_stream(server.url))
                assert streams[-1][1].status == 200
                assert streams[-1][1].readline().startswith(b":")
            connection, refused = open_stream(server.url)
            body = json.loads(refused.read())
            connection.close()
            assert refused.status == 503 and body["code"] == "too_many_streams", body
            streams.pop(0)[0].close()  # a client goes away: its slot is given back
            deadline = time.monotonic() + 10
            while True:
                streams.append(open_stream(server.url))
                if streams[-1][1].status == 200:
                    break
                streams.pop()[0].close()
                assert time.monotonic() < deadline, "a closed stream's slot was not given back"
                time.sleep(0.05)  # polling for the slot, bounded by the deadline
        finally:
            for connection, _ in streams:
                connection.close()
