"""``driftline serve`` on the real Kafka and Redis: predictions, metrics, health with the
group's lag, the event stream resumed after an id, Prometheus, and a Redis that is gone."""

from __future__ import annotations

import http.client
import json
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from prometheus_client.parser import text_string_to_metric_families

from consumers.reader import PredictionsClient
from pipeline.adapters.redis_clients import make_redis
from pipeline.adapters.settings import Settings
from pipeline.app.serving import ApiServer, serving_app
from producers.flights import flight_events
from producers.replay import ArrivalDelay, ReplayPlan
from tests.integration.helpers import create_topics, drain, publish

pytestmark = pytest.mark.integration

FLIGHTS = 400


def flights(limit: int = FLIGHTS) -> list[Any]:
    plan = ReplayPlan(delay=ArrivalDelay(mean_s=60, max_s=600), seed=5)
    return [t.event for t in plan.schedule(flight_events(limit=limit, key_by="tailnum"))]


def get(url: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=30) as answer:
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
    status, one = get(f"{url}predictions/{keys[0]}")
    assert status == 200
    assert one == reader.get(keys[0]).to_dict()  # type: ignore[union-attr]
    status, many = get(f"{url}predictions?keys={','.join(keys[:50])},nobody")
    assert status == 200
    assert many["missing"] == ["nobody"]
    assert many["predictions"] == {k: v.to_dict() for k, v in reader.get_many(keys[:50]).items()}
    status, missing = get(f"{url}predictions/nobody")
    assert (status, missing["error"]) == (404, "not_found")
    status, too_many = get(f"{url}predictions?keys={','.join(['k'] * 1001)}")
    assert (status, too_many["error"]) == (413, "too_many_keys")

    status, metrics = get(f"{url}metrics/model?history=true")
    assert status == 200
    assert metrics["total"] == reader.metrics()["total"]
    assert metrics["total"]["counts"]["predictions"] == FLIGHTS
    assert set(metrics["tasks"]) == {"0", "1"}

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
    resumed = read_events(url, "/stream/predictions", 20, {"Last-Event-ID": ids[9]})
    assert [e["id"] for e in resumed] == ids[10:30]
    assert all(e["event"] == "prediction" for e in resumed)
    first = json.loads(resumed[0]["data"])
    assert first["id"] == ids[10] and first["key"]
    by_query = read_events(url, f"/stream/predictions?after={ids[27]}", 2, {})
    assert [e["id"] for e in by_query] == ids[28:30]


def test_redis_gone_is_503_and_the_server_keeps_serving(settings: Settings) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    app, lag = serving_app(
        settings, f"redis://127.0.0.1:{closed}/0", settings.kafka.bootstrap or ""
    )
    with ApiServer(app, port=0) as server:
        for path in ("predictions/N1", "predictions?keys=a,b", "metrics/model", "metrics"):
            status, body = get(server.url + path)
            assert status == 503, path
            assert body["error"] == "unavailable" and "Redis" in body["detail"]
            assert "Traceback" not in json.dumps(body)
        status, health = get(server.url + "health")
        assert status == 503 and health["redis"]["reachable"] is False
        assert health["kafka"]["reachable"] is True  # Kafka is up: only Redis is reported down
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
    connection.request("GET", "/stream/predictions")
    answer = connection.getresponse()
    assert answer.status == 200
    assert answer.readline().startswith(b":")  # the opening comment: the stream is open
    server.stop()
    assert answer.read() == b"\n"  # the rest of the comment's event, then a clean end
    assert not server._thread.is_alive()  # type: ignore[union-attr]
    connection.close()
    lag.close()
