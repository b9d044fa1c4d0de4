"""A real scrape of a worker's ``--metrics-port`` and of ``driftline serve``'s ``/metrics``,
over the real Kafka and Redis, linted by Prometheus's ``promtool check metrics``; the
last hour's accuracy PromQL (its counters summed) against the scrape."""

from __future__ import annotations

import socket
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
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

#: The last hour's accuracy over every partition (docs/reference/prometheus.md).
LAST_HOUR_ACCURACY = (
    "sum(rate(driftline_model_predictions_correct_total[1h]))"
    " / sum(rate(driftline_model_labels_scored_total[1h]))"
)


def flights(limit: int = FLIGHTS) -> list[Any]:
    """Flights and their arrival delays, as the replay schedules them."""
    plan = ReplayPlan(delay=ArrivalDelay(mean_s=60, max_s=600), seed=7)
    return [t.event for t in plan.schedule(flight_events(limit=limit, key_by="tailnum"))]


def published(settings: Settings) -> int:
    """Flights on two partitions; the records published."""
    create_topics(settings, partitions=2)
    return publish(settings, flights())


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


class MetricsWorker:
    """A worker with ``--metrics-port`` in a thread; :meth:`caught_up` waits until it has
    read a number of records (in several batches, the lag asked after each, so that its
    lag is known by the last)."""

    def __init__(self, settings: Settings) -> None:
        self.port = free_port()
        self.stop = threading.Event()
        self._seen = threading.Condition()
        self.worker: Worker | None = None
        config = worker_config(
            settings,
            poll_timeout_ms=200,
            idle_watermark_s=None,
            max_poll_records=100,
            lag_interval_s=0.0,
        )
        self.thread = threading.Thread(
            target=run_worker,
            args=(settings, endpoints_of(settings), config, self.stop, self._on_batch),
            kwargs={"metrics_port": self.port},
            name="metrics-worker",
            daemon=True,
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/metrics"

    def _on_batch(self, worker: Worker, _predictions: list[Any]) -> None:
        with self._seen:
            self.worker = worker
            self._seen.notify_all()

    def caught_up(self, records: int, timeout_s: float = 180) -> Worker:
        with self._seen:
            done = self._seen.wait_for(
                lambda: self.worker is not None and self.worker.stats.records >= records,
                timeout_s,
            )
        assert done and self.worker is not None, f"{records} records not read in {timeout_s} s"
        return self.worker


@pytest.fixture
def metrics_worker(settings: Settings) -> Iterator[MetricsWorker]:
    running = MetricsWorker(settings)
    running.thread.start()
    try:
        yield running
    finally:
        running.stop.set()
        running.thread.join(60)
    assert not running.thread.is_alive()


def series_of(text: str, name: str) -> dict[str, float]:
    """The samples named ``name`` of a scrape, by their labels in PromQL's notation."""
    return {
        "{" + ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items())) + "}": sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    }


def accuracy_test(before: str, after: str) -> tuple[dict[str, Any], float]:
    """A ``promtool test rules`` file: the model counters of two scrapes an hour apart (and
    half-way between), and the last hour's accuracy PromQL over them, expected to be the
    counters' increase in correct labels over their increase in scored labels."""
    series = []
    increase = {}
    for name in (
        "driftline_model_predictions_correct_total",
        "driftline_model_labels_scored_total",
    ):
        first, last = series_of(before, name), series_of(after, name)
        assert first.keys() == last.keys() and first
        increase[name] = sum(last.values()) - sum(first.values())
        series += [
            {
                "series": name + labels,
                "values": f"{first[labels]!r} {(first[labels] + last[labels]) / 2!r} "
                f"{last[labels]!r}",
            }
            for labels in first
        ]
    expected = (
        increase["driftline_model_predictions_correct_total"]
        / increase["driftline_model_labels_scored_total"]
    )
    test = {
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "30m",
                "input_series": series,
                "promql_expr_test": [
                    {
                        "expr": f"abs(({LAST_HOUR_ACCURACY}) - {expected!r}) < bool 1e-9",
                        "eval_time": "60m",
                        "exp_samples": [{"labels": "{}", "value": 1}],
                    }
                ],
            }
        ],
    }
    return test, expected


def test_promtool_finds_nothing_to_lint_in_a_workers_scrape(
    metrics_worker: MetricsWorker, settings: Settings, tmp_path: Path
) -> None:
    promtool()  # skips without Go before anything runs, fails without promtool
    create_topics(settings, partitions=2)
    events = flights(2 * FLIGHTS)
    first = publish(settings, events[: len(events) // 2])
    worker = metrics_worker.caught_up(first)
    before = scrape(metrics_worker.url)
    run_promtool("check", "metrics", stdin=before)
    assert summed(before, "driftline_records_total") == worker.stats.records
    assert f'namespace="{settings.namespace}"' in before
    assert "driftline_build_info{" in before, before
    assert "driftline_consumer_lag_records{" in before, before
    snapshots = worker.snapshots()
    scored = summed(before, "driftline_model_labels_scored_total")
    correct = summed(before, "driftline_model_predictions_correct_total")
    assert scored == sum(s["scored"] for s in snapshots) > 0
    assert correct == sum(n for s in snapshots for t, p, n in s["confusion"] if t == p)

    # the rest, then the last hour's accuracy PromQL evaluated by Prometheus's engine
    # (promtool) over the two scrapes, as if an hour apart
    worker = metrics_worker.caught_up(first + publish(settings, events[len(events) // 2 :]))
    after = scrape(metrics_worker.url)
    run_promtool("check", "metrics", stdin=after)
    test, accuracy = accuracy_test(before, after)
    assert 0 < accuracy < 1
    (tmp_path / "accuracy_test.yml").write_text(yaml.safe_dump(test))
    run_promtool("test", "rules", "accuracy_test.yml", cwd=tmp_path)


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
