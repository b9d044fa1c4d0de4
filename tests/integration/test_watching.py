"""Champion, challengers, costs, windows, alerts and rollback on the real Kafka and Redis,
driven by the commands a user types (``driftline model promote/rollback``, ``driftline
metrics --history``, ``driftline alerts``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

from driftline.adapters.kafka_clients import make_consumer
from driftline.adapters.redis_clients import make_redis
from driftline.adapters.settings import Settings
from driftline.consumers.runner import checkpoint_codec, checkpoint_store
from driftline.core.task.checkpoint import describe
from driftline.producers.flights import flight_events
from driftline.producers.replay import ArrivalDelay, ReplayPlan
from driftline.read.reader import PredictionsClient
from tests.conftest import TEST_CHECKPOINT_KEY
from tests.integration.helpers import create_topics, drain, publish

pytestmark = pytest.mark.integration

FLIGHTS = 900
#: The default model, and a challenger that always says the prior.
CHALLENGERS = {"prior": "dummy.PriorClassifier()"}


def _events(flights: int) -> list[Any]:
    plan = ReplayPlan(delay=ArrivalDelay(mean_s=60, max_s=600), seed=3)
    return [t.event for t in plan.schedule(flight_events(limit=flights, key_by="tailnum"))]


@pytest.fixture
def watched(settings: Settings) -> Settings:
    return settings.with_overrides(
        challengers=CHALLENGERS,
        promote_auto=False,
        cost_false_negative=5.0,
        threshold_min_labels=100,
        metric_windows_s=(3600,),
        checkpoint_every=100,
        lateness_feature=False,
    )


def _cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRIFTLINE_")}
    env |= {
        "DRIFTLINE_KAFKA_BOOTSTRAP": settings.kafka.bootstrap or "",
        "DRIFTLINE_REDIS_URL": settings.redis.url.get_secret_value(),  # type: ignore[union-attr]
        "DRIFTLINE_NAMESPACE": settings.namespace,
        "DRIFTLINE_CHECKPOINT_KEY": TEST_CHECKPOINT_KEY,
        "DRIFTLINE_CHALLENGERS": json.dumps(CHALLENGERS),
        "COLUMNS": "200",
    }
    return subprocess.run(
        [sys.executable, "-m", "driftline", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _alerts_on_kafka(settings: Settings) -> list[dict[str, Any]]:
    consumer = make_consumer(settings.kafka, auto_offset_reset="earliest", enable_auto_commit=False)
    try:
        from kafka import TopicPartition

        tp = TopicPartition(settings.topics.alerts, 0)
        consumer.assign([tp])
        end = consumer.end_offsets([tp])[tp]
        found: list[dict[str, Any]] = []
        while consumer.position(tp) < end:
            for records in consumer.poll(timeout_ms=1000).values():
                found += [json.loads(r.value) for r in records]
        return found
    finally:
        consumer.close()


def test_promote_rollback_and_the_watch_surfaces(watched: Settings) -> None:
    create_topics(watched, partitions=2)
    first = _events(FLIGHTS)
    drain(watched, publish(watched, first))
    client = make_redis(watched.redis.url.get_secret_value())  # type: ignore[union-attr]
    reader = PredictionsClient(client, watched.namespace)

    # every prediction says which model made it, what was decided and at what threshold
    stored = reader.get(next(e.key for e in first if e.kind == "observation"))
    assert stored is not None and stored.model == "main" and stored.threshold is not None
    assert stored.positive_probability is not None
    assert stored.decision == (stored.positive_probability >= stored.threshold)
    metrics = reader.metrics()
    assert set(metrics["models"]) == {"main", "prior"}
    assert metrics["models"]["main"]["champion_in"] == [0, 1]
    cost = metrics["total"]["cost_per_1000"]
    assert set(cost) == {"decision", "argmax", "majority"}
    history = json.loads(_cli(watched, "metrics", "--history", "--json").stdout)
    hourly = history["series"]["3600:main"]
    assert hourly and all(p["n"] > 0 for p in hourly)
    assert sum(p["n"] for p in hourly) < metrics["models"]["main"]["scores"]["scored"]

    # promote by command: obeyed by the tasks when they read it, on every partition
    done = _cli(watched, "model", "promote", "prior")
    assert done.returncode == 0, done.stderr
    assert set(json.loads(done.stdout.strip().splitlines()[-1])["offsets"]) == {"0", "1"}
    assert _cli(watched, "model", "promote", "nope").returncode != 0  # not a model of ours
    drain(watched, 0)
    promoted = [a for a in reader.alerts(kind="promotion")]
    assert sorted(a["partition"] for a in promoted) == [0, 1]
    assert all(a["detector"] == "command" and a["subject"] == "prior" for a in promoted)
    assert reader.metrics()["models"]["prior"]["champion_in"] == [0, 1]
    on_kafka = {a["alert_id"] for a in _alerts_on_kafka(watched)}
    assert {a["alert_id"] for a in promoted} <= on_kafka

    # roll partition 0 back to its oldest kept checkpoint: its models come back
    listed = json.loads(_cli(watched, "model", "history", "--partition", "0", "--json").stdout)
    oldest = listed["checkpoints"][-1]
    store = checkpoint_store(watched.checkpoints, watched.namespace, client)
    codec = checkpoint_codec(watched.checkpoints)
    before = describe(store.load(0), codec)  # type: ignore[arg-type]
    done = _cli(watched, "model", "rollback", "--to", oldest["id"])
    assert done.returncode == 0, done.stderr
    assert _cli(watched, "model", "rollback", "--to", "0@999999").returncode != 0
    drain(watched, 0)
    after = describe(store.load(0), codec)  # type: ignore[arg-type]
    kept = oldest["models"]
    assert after["models"]["main"]["digest"] == kept["main"]["digest"]
    assert after["models"]["main"]["digest"] != before["models"]["main"]["digest"]
    assert after["champion"] == oldest["champion"] == "main"
    assert after["next_offset"] > before["next_offset"]  # the command's own offset
    [rolled] = reader.alerts(kind="rollback")
    assert rolled["partition"] == 0
    assert rolled["statistic"]["checkpoint_offset"] == oldest["next_offset"]
    shown = _cli(watched, "alerts")
    assert shown.returncode == 0 and "rollback" in shown.stdout  # the answer: standard output
    client.close()


def test_alerts_and_points_are_written_once_whatever_the_replays(settings: Settings) -> None:
    """The sink's record() is idempotent: the same points and alerts twice change nothing."""
    from datetime import UTC, datetime

    from driftline.adapters.redis_sink import RedisSink
    from driftline.core.events.records import Alert

    client = make_redis(settings.redis.url.get_secret_value())  # type: ignore[union-attr]
    sink = RedisSink(client, settings.namespace, series_windows_kept=2)
    at = datetime(2024, 1, 1, tzinfo=UTC)
    alert = Alert("0-7-concept-main-drift", 0, 7, "concept", "main", "drift", "ADWIN",
                  {"estimation": 0.4}, 120, at, "main", 3, "none")  # fmt: skip
    points = [
        {"window_s": 60, "start_s": start, "model": "main", "partition": 0, "n": 1}
        for start in (0, 60, 120, 180)
    ]
    for _ in range(2):
        sink.record(points, [alert])
    key = f"{settings.namespace}:series:60:main"
    kept = [json.loads(m)["start_s"] for m in client.zrange(key, 0, -1)]
    assert kept == [120, 180]  # the two newest windows are kept
    assert client.xlen(f"{settings.namespace}:alerts") == 1 and sink.alerts_added == 1
    client.close()


def test_a_namespace_made_before_alerts_gets_its_alerts_topic(settings: Settings) -> None:
    """Topics an older driftline made have no ``<ns>.alerts``: the worker makes it."""
    from driftline.adapters.kafka_clients import admin_client
    from driftline.adapters.topics import delete_topics, partition_counts

    create_topics(settings, partitions=1)
    with admin_client(settings.kafka) as admin:
        delete_topics(admin, [settings.topics.alerts])
        assert settings.topics.alerts not in partition_counts(admin, [settings.topics.alerts])
    drain(settings, publish(settings, _events(30)))
    with admin_client(settings.kafka) as admin:
        assert partition_counts(admin, [settings.topics.alerts]) == {settings.topics.alerts: 1}
