"""A real scrape of a worker's ``--metrics-port`` and of ``driftline serve``'s ``/metrics``,
over the real Kafka and Redis, linted by Prometheus's ``promtool check metrics``; the
last hour's accuracy PromQL (its counters summed) against the scrape."""

from __future__ import annotations

import socket
import threading
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from driftline.adapters.redis_clients import make_redis
from driftline.adapters.settings import Settings
from driftline.app.serving import ApiServer, serving_app
from driftline.consumers.runner import run_worker, worker_config
from driftline.consumers.worker import Worker
from driftline.producers.flights import flight_events
from driftline.producers.replay import ArrivalDelay, ReplayPlan
from driftline.read.reader import PredictionsClient
from tests.integration.helpers import create_topics, drain, endpoints_of, publish
from tests.integration.ops.promtool import promtool, run_promtool

pytestmark = pytest.mark.integration

FLIGHTS = 300


def published(settings: Settings) -> int:
    """Flights and their arrival delays on two partitions; the records published."""
    create_topics(settings, partitions=2)
    plan = ReplayPlan(delay=ArrivalDelay(mean_s=60, max_s=600), seed=7)
    events = [t.event for t in plan.schedule(flight_events(limit=FLIGHTS, key_by="tailnum"))]
    return publish(settings, events)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def scrape(url: str) -> str:
    with urllib.request.urlopen(url, timeout=30) as answer:
        assert answer.status == 200
        assert answer.headers["Content-Type"].startswith("text/plain")
        return str(answer.read().decode())


def summed(text: str, name: str) -> float:
    """``sum(name)`` over the scrape."""
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    )


@pytest.fixture
def running_worker(settings: Settings) -> Iterator[tuple[str, Worker]]:
    """A worker with ``--metrics-port``, once it has read every record published (in
    several batches, so that it has asked Kafka for its lag)."""
    records = published(settings)
    port = free_port()
    caught_up = threading.Event()
    stop = threading.Event()
    ran: dict[str, Any] = {}

    def on_batch(worker: Worker, _predictions: list[Any]) -> None:
        ran["worker"] = worker
        if worker.stats.records >= records:
            caught_up.set()

    def work() -> None:
        # small batches, the lag asked after each: by the last batch the lag is known
        config = worker_config(
            settings,
            poll_timeout_ms=200,
            idle_watermark_s=None,
            max_poll_records=100,
            lag_interval_s=0.0,
        )
        run_worker(settings, endpoints_of(settings), config, stop, on_batch, metrics_port=port)

    thread = threading.Thread(target=work, name="metrics-worker", daemon=True)
    thread.start()
    try:
        assert caught_up.wait(180), "the worker had not read every record in 180 s"
        yield f"http://127.0.0.1:{port}/metrics", ran["worker"]
    finally:
        stop.set()
        thread.join(60)
    assert not thread.is_alive()


def test_promtool_finds_nothing_to_lint_in_a_workers_scrape(
    running_worker: tuple[str, Worker], settings: Settings
) -> None:
    promtool()  # skips without Go before anything runs, fails without promtool
    url, worker = running_worker
    text = scrape(url)
    run_promtool("check", "metrics", stdin=text)
    assert summed(text, "driftline_records_total") == worker.stats.records
    assert f'namespace="{settings.namespace}"' in text
    assert "driftline_build_info{" in text, text
    assert "driftline_consumer_lag_records{" in text, text
    # the last hour's accuracy's PromQL, on counters: sum(correct) / sum(scored)
    snapshots = worker.snapshots()
    scored = summed(text, "driftline_model_labels_scored_total")
    correct = summed(text, "driftline_model_predictions_correct_total")
    assert scored == sum(s["scored"] for s in snapshots) > 0
    assert correct == sum(n for s in snapshots for t, p, n in s["confusion"] if t == p)


def test_promtool_finds_nothing_to_lint_in_serves_scrape(settings: Settings) -> None:
    promtool()
    drain(settings, published(settings))
    redis_url = settings.redis.url.get_secret_value()  # type: ignore[union-attr]
    app, lag = serving_app(settings, redis_url, settings.kafka.bootstrap or "")
    reader = PredictionsClient(make_redis(redis_url), settings.namespace)
    try:
        with ApiServer(app, port=0) as server:
            text = scrape(f"{server.url}metrics")
        run_promtool("check", "metrics", stdin=text)
        total = reader.metrics()["total"]
        assert summed(text, "driftline_predictions_total") == total["counts"]["predictions"] > 0
        scored = summed(text, "driftline_model_labels_scored_total")
        correct = summed(text, "driftline_model_predictions_correct_total")
        assert round(correct / scored, 4) == total["accuracy"]
        [info] = [
            sample
            for family in text_string_to_metric_families(text)
            for sample in family.samples
            if sample.name == "driftline_build_info"
        ]
        assert info.value == 1 and info.labels["namespace"] == settings.namespace
    finally:
        lag.close()
        reader.close()
