"""The HTTP API on an in-memory reader: routes, JSON errors with the right status, the
event stream's resumption, and a Redis outage (pure unit tests;
tests/integration/app/serving/test_serve.py runs the same API on the real Redis and Kafka)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from driftline.adapters.prediction_record import StoredPrediction, StreamEntry
from driftline.app.serving import create_app
from driftline.core.errors import ServiceUnavailable

WHEN = datetime(2030, 1, 1, tzinfo=UTC)


def stored(key: str) -> StoredPrediction:
    return StoredPrediction(
        key=key,
        prediction=True,
        probabilities={"false": 0.3, "true": 0.7},
        model_version=4,
        event_id=f"e-{key}",
        event_time=WHEN,
        ingest_time=WHEN,
        predicted_time=WHEN,
        partition=0,
        offset=7,
        model="main",
        decision=True,
        threshold=0.17,
    )


def entry(n: int) -> StreamEntry:
    return StreamEntry(
        id=f"{1000 + n}-0",
        key=f"k{n}",
        event_id=f"e{n}",
        prediction=False,
        probabilities={"false": 0.9, "true": 0.1},
        event_time=WHEN,
        model_version=1,
        model="main",
        decision=False,
    )


SNAPSHOT = {
    "partition": 0,
    "kind": "classification",
    "counts": {"records": 12, "predictions": 6, "pending": 2},
    "dead_letters": {"schema": 1},
    "scored": 4,
    "lateness_buckets": [1] * 40,
    "accuracy": 0.75,
    "models": {"main": {"champion": True, "threshold": 0.17}},
}


class MemoryReader:
    """The read client's surface, in memory; ``down`` makes every read an outage."""

    def __init__(self) -> None:
        self.predictions = {k: stored(k) for k in ("N1", "N2", "a b")}
        self.entries = [entry(n) for n in range(5)]
        self.down = False
        self.calls: list[str] = []
        #: What ``memory_warning`` says (a Redis that evicts predictions when full).
        self.eviction: str | None = None

    def _check(self, name: str) -> None:
        self.calls.append(name)
        if self.down:
            raise ServiceUnavailable("Redis did not answer: ConnectionError")

    def get(self, key: str) -> StoredPrediction | None:
        self._check("get")
        return self.predictions.get(key)

    def get_many(self, keys: Any) -> dict[str, StoredPrediction]:
        self._check("get_many")
        return {k: self.predictions[k] for k in keys if k in self.predictions}

    def task_metrics(self) -> dict[int, dict[str, Any]]:
        self._check("task_metrics")
        return {0: SNAPSHOT}

    def metrics(self) -> dict[str, Any]:
        self._check("metrics")
        return {"total": {"accuracy": 0.75, "roc_auc": float("nan")}, "models": {}, "tasks": {}}

    def series(self, window: float | None, model: str | None) -> dict[str, Any]:
        self._check("series")
        return {f"{window or 3600:g}:{model or 'main'}": [{"start_s": 0, "n": 3}]}

    def alerts(self, count: int, kind: str | None) -> list[dict[str, Any]]:
        self._check("alerts")
        return [{"id": "1-0", "kind": kind or "concept", "count": count}]

    def quality_log(self, count: int, after: str | None) -> list[dict[str, Any]]:
        self._check("quality_log")
        return [{"id": f"{n}-0", "rule": "spelling", "after": after} for n in range(count)]

    def freshness(self) -> dict[str, Any]:
        self._check("freshness")
        return {"ping_s": 0.001, "last_prediction_id": "1-0", "last_prediction_age_s": 1.5}

    def memory_warning(self) -> str | None:
        self._check("memory_warning")
        return self.eviction

    # the feed's surface (driftline.read.feed.PredictionsFeed): awaited, as the server does

    async def _after(
        self, last: str, stop: Callable[[], bool] | None
    ) -> AsyncIterator[StreamEntry]:
        ms = int(last.split("-")[0])
        for e in self.entries:
            if int(e.id.split("-")[0]) > ms:
                yield e

    async def follow(
        self, *, block_ms: int, stop: Callable[[], bool] | None
    ) -> AsyncIterator[StreamEntry]:
        self._check("follow")
        return self._after(self.entries[-3].id, stop)  # "newer than the call": the last two

    async def follow_after(
        self, last_id: str, *, block_ms: int, stop: Callable[[], bool] | None
    ) -> AsyncIterator[StreamEntry]:
        self._check("follow_after")
        return self._after(last_id, stop)

    async def aclose(self) -> None:
        self.calls.append("aclose")


@pytest.fixture
def reader() -> MemoryReader:
    return MemoryReader()


def client_of(reader: MemoryReader, lag: Any = None, **options: Any) -> TestClient:
    app = create_app(reader, lag, feed=reader, namespace="test", **options)  # type: ignore[arg-type]
    return TestClient(app, raise_server_exceptions=False)


def test_one_prediction_and_a_clear_404(reader: MemoryReader) -> None:
    http = client_of(reader)
    found = http.get("/v1/predictions/N1")
    assert found.status_code == 200
    assert found.json() == stored("N1").to_dict()
    assert http.get("/v1/predictions/a%20b").json()["key"] == "a b"
    missing = http.get("/v1/predictions/nope")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert missing.json() == {
        "type": "urn:driftline:problem:not_found",
        "title": "Not Found",
        "status": 404,
        "detail": "no prediction for key 'nope'",
        "instance": "/v1/predictions/nope",
        "code": "not_found",
    }


def test_a_key_with_slashes_is_read_by_its_path(reader: MemoryReader) -> None:
    """``/`` in a key, sent as ``%2F`` (as the dashboard's encodeURIComponent does) or as
    it is, reaches the key (issue 19, defect 12); the routes beside it still answer."""
    for key in ("a/b", "LH/400/2024-06-01", "/lead", "trail/"):
        reader.predictions[key] = stored(key)
    http = client_of(reader)
    for path, key in [
        ("a%2Fb", "a/b"),
        ("a/b", "a/b"),
        ("LH%2F400%2F2024-06-01", "LH/400/2024-06-01"),
        ("%2Flead", "/lead"),
        ("trail%2F", "trail/"),
    ]:
        answer = http.get(f"/v1/predictions/{path}")
        assert answer.status_code == 200, (path, answer.text)
        assert answer.json() == stored(key).to_dict()
    missing = http.get("/v1/predictions/a%2Fnope")
    assert missing.status_code == 404
    assert missing.json()["detail"] == "no prediction for key 'a/nope'"
    many = http.get("/v1/predictions", params={"keys": "a/b,N1"}).json()
    assert list(many["predictions"]) == ["a/b", "N1"]
    assert http.get("/v1/predictions/N1").json()["key"] == "N1"
    assert http.get("/v1/predictions/" + "x" * 257).status_code == 422
    assert http.get("/v1/predictions/").status_code == 422  # an empty key, as ?keys= is
    assert http.post("/v1/predictions/a%2Fb").status_code == 405
    streamed = _events(http.get("/v1/stream/predictions").text)
    assert [e["id"] for e in streamed] == ["1003-0", "1004-0"]


def test_many_predictions_in_one_read(reader: MemoryReader) -> None:
    http = client_of(reader)
    answer = http.get("/v1/predictions", params={"keys": "N1,nope,N2,N1"})
    assert answer.status_code == 200
    body = answer.json()
    assert list(body["predictions"]) == ["N1", "N2"]
    assert body["missing"] == ["nope"]
    assert reader.calls == ["get_many"]  # one read for every key


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        ("", 422, "invalid_request"),  # no keys parameter at all
        ("keys=", 422, "invalid_request"),
        ("keys=a,,b", 422, "invalid_request"),
        ("keys=" + "x" * 300, 422, "invalid_request"),
        ("keys=a%00b", 422, "invalid_request"),
        ("keys=" + ",".join(f"k{i}" for i in range(11)), 413, "too_many_keys"),
    ],
)
def test_bad_key_lists(reader: MemoryReader, query: str, status: int, code: str) -> None:
    http = client_of(reader, max_keys=10)
    answer = http.get("/v1/predictions?" + query)
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert body["code"] == code and body["detail"]
    assert "Traceback" not in answer.text
    assert reader.calls == []  # refused before Redis is asked


def test_malformed_queries_elsewhere_are_422(reader: MemoryReader) -> None:
    http = client_of(reader)
    for path in ("/v1/alerts?count=0", "/v1/alerts?count=x", "/v1/metrics/model?window=-1"):
        answer = http.get(path)
        assert answer.status_code == 422, path
        assert answer.json()["code"] == "invalid_request"
        assert answer.json()["problems"]


def test_unknown_routes_and_methods_are_json(reader: MemoryReader) -> None:
    http = client_of(reader)
    assert http.get("/nowhere").json()["code"] == "not_found"
    answer = http.post("/v1/predictions/N1")
    assert answer.status_code == 405 and answer.json()["code"] == "method_not_allowed"


def test_metrics_with_and_without_history(reader: MemoryReader) -> None:
    http = client_of(reader)
    plain = http.get("/v1/metrics/model").json()
    assert plain["total"]["accuracy"] == 0.75
    assert plain["total"]["roc_auc"] is None  # NaN is not JSON: null
    assert "series" not in plain
    history = http.get("/v1/metrics/model?history=true&window=86400&model=fast").json()
    assert history["series"] == {"86400:fast": [{"start_s": 0, "n": 3}]}
    assert http.get("/v1/alerts?kind=label&count=3").json() == {
        "alerts": [{"id": "1-0", "kind": "label", "count": 3}]
    }


def test_quality_gives_the_totals_and_the_log(reader: MemoryReader) -> None:
    quality = {"dimensions": {"accuracy": {"score": 0.99}}}
    reader.metrics = lambda: {  # type: ignore[method-assign]
        "total": {"quality": quality, "watermark_lag_s": 2.5},
        "models": {},
        "tasks": {},
    }
    http = client_of(reader)
    body = http.get("/v1/quality?log=2&after=17-0").json()
    assert body["quality"] == quality and body["watermark_lag_s"] == 2.5
    assert body["log"] == [
        {"id": "0-0", "rule": "spelling", "after": "17-0"},
        {"id": "1-0", "rule": "spelling", "after": "17-0"},
    ]
    assert http.get("/v1/quality?log=0").json()["log"] == []
    assert http.get("/v1/quality?after=x").status_code == 422
    assert http.get("/v1/quality?log=-1").status_code == 422
    reader.down = True
    assert http.get("/v1/quality").status_code == 503


def test_prometheus_exposition_of_what_redis_holds(reader: MemoryReader) -> None:
    answer = client_of(reader).get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    families = {f.name: f for f in text_string_to_metric_families(answer.text)}
    [records] = families["driftline_records"].samples
    assert records.value == 12 and records.labels == {"namespace": "test", "partition": "0"}
    [info] = families["driftline_build_info"].samples
    assert info.value == 1 and info.labels["namespace"] == "test"
    assert families["driftline_lateness_seconds"].type == "histogram"


def test_health_reports_redis_kafka_lag_and_freshness(reader: MemoryReader) -> None:
    answer = client_of(reader, lambda: {0: 3, 1: 0}).get("/health")
    assert answer.status_code == 200
    body = answer.json()
    assert body["status"] == "ok"
    assert body["kafka"] == {"reachable": True, "lag": {"0": 3, "1": 0}, "total_lag": 3}
    assert body["redis"]["reachable"] is True
    assert body["redis"]["last_prediction_age_s"] == 1.5


def test_health_with_kafka_down_is_degraded_and_redis_down_is_503(reader: MemoryReader) -> None:
    def down() -> dict[int, int]:
        raise ServiceUnavailable("Kafka did not answer: KafkaTimeoutError")

    answer = client_of(reader, down).get("/health")
    assert answer.status_code == 200
    assert answer.json()["status"] == "degraded"
    assert answer.json()["kafka"]["reachable"] is False
    reader.down = True
    answer = client_of(reader, lambda: {}).get("/health")
    assert answer.status_code == 503
    assert answer.json()["status"] == "unavailable"


def test_a_redis_outage_is_503_and_the_server_goes_on(reader: MemoryReader) -> None:
    http = client_of(reader)
    reader.down = True
    for path in ("/v1/predictions/N1", "/v1/predictions?keys=N1", "/v1/metrics/model", "/metrics"):
        answer = http.get(path)
        assert answer.status_code == 503, path
        assert answer.headers["content-type"] == "application/problem+json"
        body = answer.json()
        assert (body["code"], body["status"]) == ("unavailable", 503)
        assert body["detail"] == "Redis did not answer: ConnectionError"
    reader.down = False
    assert http.get("/v1/predictions/N1").status_code == 200


def test_an_unexpected_failure_is_a_500_without_a_trace(reader: MemoryReader) -> None:
    def broken(key: str) -> None:
        raise RuntimeError("secret=hunter2 in a stack frame")

    reader.get = broken  # type: ignore[method-assign]
    answer = client_of(reader).get("/v1/predictions/N1")
    assert answer.status_code == 500
    assert answer.json()["code"] == "internal_error"
    assert "hunter2" not in answer.text and "Traceback" not in answer.text


def _events(text: str) -> list[dict[str, str]]:
    events = []
    for block in text.strip().split("\n\n"):
        fields = dict(
            line.split(": ", 1) for line in block.splitlines() if not line.startswith(":")
        )
        if fields:
            events.append(fields)
    return events


def test_the_stream_resumes_after_the_last_id_a_client_saw(reader: MemoryReader) -> None:
    http = client_of(reader)
    fresh = _events(http.get("/v1/stream/predictions").text)
    assert [e["id"] for e in fresh] == ["1003-0", "1004-0"]  # only what is new
    assert {e["event"] for e in fresh} == {"prediction"}
    resumed = http.get("/v1/stream/predictions", headers={"Last-Event-ID": "1001-0"})
    assert resumed.headers["content-type"].startswith("text/event-stream")
    assert [e["id"] for e in _events(resumed.text)] == ["1002-0", "1003-0", "1004-0"]
    by_query = _events(http.get("/v1/stream/predictions?after=1003-0").text)
    assert [e["id"] for e in by_query] == ["1004-0"]
    assert '"key":"k4"' in by_query[0]["data"].replace(" ", "")
    bad = http.get("/v1/stream/predictions", headers={"Last-Event-ID": "drop table"})
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_request"


def test_a_stream_with_redis_down_is_a_503_before_it_starts(reader: MemoryReader) -> None:
    reader.down = True
    for headers in ({}, {"Last-Event-ID": "1001-0"}):
        answer = client_of(reader).get("/v1/stream/predictions", headers=headers)
        assert answer.status_code == 503
        assert answer.json()["code"] == "unavailable"
        assert answer.json()["detail"] == "Redis did not answer: ConnectionError"


def test_a_stream_that_ends_gives_its_slot_back_and_shutdown_closes_the_feed(
    reader: MemoryReader,
) -> None:
    app = create_app(reader, None, feed=reader, max_streams=1)  # type: ignore[arg-type]
    with TestClient(app) as http:  # runs the app's lifespan
        for _ in range(3):  # one slot, three streams one after the other
            answer = http.get("/v1/stream/predictions")
            assert answer.status_code == 200
            assert [e["id"] for e in _events(answer.text)] == ["1003-0", "1004-0"]
        assert app.state.open_streams == 0
        assert "aclose" not in reader.calls
    assert reader.calls[-1] == "aclose"  # the feed's connections close in the app's loop


def test_the_dashboard_and_its_vendored_library_are_served(reader: MemoryReader) -> None:
    http = client_of(reader)
    page = http.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    for asset in ("static/uPlot.iife.min.js", "static/dashboard.js", "static/uPlot.min.css"):
        assert f'"{asset}"' in page.text
        assert http.get("/" + asset).status_code == 200
    assert "http" not in page.text.replace('href="docs"', "")  # nothing from elsewhere
    assert http.get("/openapi.json").json()["paths"]["/v1/predictions/{key}"]
