"""The worker's probes on its metrics port: ``/livez`` (the loop turns) and ``/readyz``
(working, or idle and ready; not while an outage is waited out)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest

from driftline.consumers.assignment import ASSIGNMENT
from driftline.consumers.exposition import serve_worker_metrics
from driftline.consumers.health import WorkerHealth
from driftline.consumers.stats import WorkerStats
from tests.unit.consumers.exposition_samples import run_worker


class Loop:
    """What health reads of a worker, with a clock the test moves."""

    def __init__(self) -> None:
        self.stats = WorkerStats(started=0.0)
        self.clock = 0.0
        self.stalled: tuple[str, float] | None = None

    def monotonic(self) -> float:
        return self.clock

    def waiting(self) -> tuple[str, float] | None:
        if self.stalled is not None:
            return self.stalled
        if self.stats.waiting_for is not None and self.stats.waiting_since is not None:
            return self.stats.waiting_for, self.clock - self.stats.waiting_since
        return None


@pytest.fixture
def loop() -> Loop:
    loop = Loop()
    loop.stats.heartbeat_at = loop.stats.last_batch_at = 1.0
    loop.clock = 2.0
    return loop


def test_a_turning_loop_is_alive_and_ready(loop: Loop):
    health = WorkerHealth(loop, live_s=30.0)
    assert health.livez() == (200, health.livez()[1])
    status, body = health.readyz()
    assert status == 200 and body["status"] == "ready"
    assert body["heartbeat_age_s"] == 1.0 and body["last_batch_age_s"] == 1.0


def test_a_stuck_loop_is_neither_alive_nor_ready(loop: Loop):
    health = WorkerHealth(loop, live_s=30.0)
    loop.clock = 40.0
    assert health.livez()[0] == 503 and health.readyz()[0] == 503
    assert "has not turned for 39.0 s" in health.livez()[1]["reason"]


def test_an_outage_waited_out_is_alive_not_ready(loop: Loop):
    health = WorkerHealth(loop, live_s=30.0)
    loop.stats.waiting_for, loop.stats.waiting_since = "Redis", 2.0
    loop.clock = 100.0  # retrying for 98 s: the loop is in its retries
    assert health.livez()[0] == 200
    status, body = health.readyz()
    assert status == 503 and body["reason"] == "waiting for Redis for 98.0 s"
    assert body["waiting_for"] == "Redis"


def test_a_stalled_kafka_call_is_not_ready(loop: Loop):
    loop.stalled = ("Kafka (poll)", 150.0)
    assert WorkerHealth(loop, live_s=30.0).readyz()[0] == 503


def test_a_spare_worker_without_partitions_is_ready(loop: Loop):
    loop.stats.waiting_for, loop.stats.waiting_since = ASSIGNMENT, 0.0
    assert WorkerHealth(loop, live_s=30.0).readyz()[0] == 200


def test_an_idle_stream_is_ready_unless_a_batch_age_is_asked(loop: Loop):
    loop.stats.heartbeat_at, loop.clock = 500.0, 501.0
    assert WorkerHealth(loop, live_s=30.0).readyz()[0] == 200
    strict = WorkerHealth(loop, live_s=30.0, max_batch_age_s=60.0).readyz()
    assert strict[0] == 503 and strict[1]["reason"] == "no batch for more than 60 s"


def test_before_the_first_turn_it_is_starting(loop: Loop):
    loop.stats.heartbeat_at = None
    health = WorkerHealth(loop, live_s=30.0)
    assert health.livez()[0] == 200 and health.readyz()[0] == 503
    loop.clock = 31.0
    assert health.livez()[0] == 503  # restoring for longer than the bound


def _get(url: str) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            assert answer.headers["Content-Type"] == "application/json"
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read())


def test_the_metrics_port_answers_the_probes():
    rig = run_worker()
    worker = rig.worker
    assert worker.stats.heartbeat_at is not None and worker.stats.last_batch_at is not None
    server = serve_worker_metrics(worker, 0, live_s=30.0)
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        assert _get(base + "/livez")[0] == 200
        status, body = _get(base + "/readyz")
        assert status == 200 and body["batches"] == worker.stats.batches > 0
        worker.stats.waiting_for = "Redis"
        worker.stats.waiting_since = worker.monotonic()
        status, body = _get(base + "/readyz")
        assert status == 503 and body["waiting_for"] == "Redis"
        worker.stats.waiting_for = worker.stats.waiting_since = None
        rig.source.clock.now += 31.0  # the loop has stopped turning
        assert _get(base + "/livez")[0] == 503
        with urllib.request.urlopen(base + "/metrics", timeout=10) as answer:
            assert b"driftline_worker_batches_total" in answer.read()
    finally:
        server.shutdown()
        server.server_close()
