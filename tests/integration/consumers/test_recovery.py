"""Exactly-once learning, proven: crashes, restarts and handovers end where an
uninterrupted run ends (invariant 2), and every observation is accounted for."""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import redis

from driftline.adapters.redis_clients import make_redis
from driftline.adapters.settings import Settings
from driftline.producers.flights import flight_events
from driftline.producers.replay import ArrivalDelay, ReplayPlan
from tests.conftest import TEST_CHECKPOINT_KEY
from tests.integration.consumers.final_state import (
    consume_env,
    final_state,
    records_done,
    replayed,
    wait_for,
)
from tests.integration.helpers import create_topics, drain, publish

pytestmark = pytest.mark.integration

FLIGHTS = 1500
PARTITIONS = 4
#: Deterministic across namespaces: no ingest-time feature (each namespace is published at
#: another wall-clock time), frequent checkpoints, and the idle watermark ON with a short
#: idle time: its ticks are in the log, so each crashed run is also compared with one
#: uninterrupted pass over its own final log (`final_state.replayed`).
IDLE_S = 2.0
#: A challenger: the default model with a ten times larger learning rate.
FAST_MODEL = (
    "(compose.SelectType(float, int) | preprocessing.StandardScaler())"
    " + (compose.SelectType(str) | preprocessing.OneHotEncoder())"
    " | linear_model.LogisticRegression(optimizer=optim.SGD(0.05))"
)
WORKER_ENV = {
    "DRIFTLINE_LATENESS_FEATURE": "false",
    "DRIFTLINE_IDLE_WATERMARK_S": str(IDLE_S),
    "DRIFTLINE_CHECKPOINT_EVERY": "200",
    "DRIFTLINE_CHECKPOINT_INTERVAL_S": "1",
    "DRIFTLINE_SESSION_TIMEOUT_MS": "6000",
    "DRIFTLINE_MAX_POLL_RECORDS": "150",
    "DRIFTLINE_PENDING_TTL_S": "21600",
    "DRIFTLINE_HISTORY_GROUPS": '["key", "carrier"]',
    # several models, cost-aware decisions, promotions and drift swaps: all in the state
    "DRIFTLINE_CHALLENGERS": json.dumps({"fast": FAST_MODEL}),
    "DRIFTLINE_COST_FALSE_NEGATIVE": "5",
    "DRIFTLINE_THRESHOLD_MIN_LABELS": "50",
    "DRIFTLINE_PROMOTE_WINDOW": "100",
    "DRIFTLINE_PROMOTE_MARGIN": "0",
    "DRIFTLINE_DRIFT_CONCEPT_ACTION": "swap",
    "DRIFTLINE_METRIC_WINDOWS_S": "[3600]",
}


@pytest.fixture(params=["kafka-python", "confluent"])
def settings(settings: Settings, request: pytest.FixtureRequest) -> Settings:
    """Each test runs on both Kafka client libraries (DRIFTLINE_KAFKA_CLIENT)."""
    return settings.with_overrides(kafka_client=request.param)


def _events() -> list:
    plan = ReplayPlan(delay=ArrivalDelay(mean_s=120, max_s=900), seed=11)
    return [t.event for t in plan.schedule(flight_events(limit=FLIGHTS, key_by="route"))]


EVENTS = _events()


def _settings(base: Settings, suffix: str) -> Settings:
    overrides: dict[str, Any] = {
        "namespace": f"{base.namespace}-{suffix}",
        "lateness_feature": False,
        "idle_watermark_s": IDLE_S,
        "checkpoint_every": 200,
        "checkpoint_interval_s": 1.0,
        "session_timeout_ms": 6000,
        "max_poll_records": 150,
        "pending_ttl_s": 21600.0,
        "history_groups": ("key", "carrier"),
        "challengers": {"fast": FAST_MODEL},
        "cost_false_negative": 5.0,
        "threshold_min_labels": 50,
        "promote_window": 100,
        "promote_margin": 0.0,
        "drift_concept_action": "swap",
        "metric_windows_s": (3600,),
    }
    return base.with_overrides(**overrides)


def _env(settings: Settings) -> dict[str, str]:
    return consume_env(settings, WORKER_ENV)


def _worker(settings: Settings, log: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "driftline", "consume", *args],
        env=_env(settings),
        stdout=subprocess.DEVNULL,
        stderr=log.open("ab"),
    )


@pytest.fixture(scope="module")
def reference(services, tmp_path_factory) -> dict[str, Any]:
    """The uninterrupted run, once for each module that uses it, in a namespace of its
    own (a namespace made of the process id was shared by two modules in one run: the
    second module's run read the first one's records too)."""
    base = Settings(
        _env_file=None,
        namespace=f"ref{uuid.uuid4().hex[:12]}",
        kafka_bootstrap=services.bootstrap,
        redis_url=services.redis_url,
        checkpoint_key=TEST_CHECKPOINT_KEY,
    )
    settings = _settings(base, "ref")
    create_topics(settings, partitions=PARTITIONS)
    published = publish(settings, EVENTS)
    drain(settings, published)
    return final_state(settings) | {"published": published}


def _assert_same(state: dict[str, Any], reference: dict[str, Any]) -> None:
    assert state["offsets"] == reference["offsets"]
    assert state["digests"] == reference["digests"]
    assert state["metrics"] == reference["metrics"]
    assert state["predictions"] == reference["predictions"]
    assert state["series"] == reference["series"]
    assert state["alerts"] == reference["alerts"]
    observation_ids = {e.event_id for e in EVENTS if e.kind == "observation"}
    assert state["predicted_ids"] == observation_ids == reference["predicted_ids"]


def _assert_exact(settings: Settings, reference: dict[str, Any]) -> None:
    """Equal to one uninterrupted pass over the same log (ticks included); every
    observation predicted, as in the tick-free reference run."""
    state = final_state(settings)
    ticks = sum(m["counts"].get("watermark_ticks", 0) for m in state["metrics"].values())
    assert ticks > 0, "no watermark tick was written: the idle advance went untested"
    _assert_same(state, replayed(settings))
    assert state["predicted_ids"] == reference["predicted_ids"]


def test_sigkill_at_random_points_ends_where_an_uninterrupted_run_ends(
    settings: Settings, reference: dict[str, Any], tmp_path: Path
):
    settings = _settings(settings, "crash")
    create_topics(settings, partitions=PARTITIONS)
    publish(settings, EVENTS)
    total = reference["published"]
    rng = random.Random(7)
    log = tmp_path / "workers.log"
    kills = sorted(rng.sample(range(total // 8, total * 7 // 8), 3))
    for point in kills:
        worker = _worker(settings, log)
        wait_for(lambda p=point: records_done(settings) >= p, 180, f"{point} records")
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
    last = _worker(settings, log, "--until-idle", "8")
    assert last.wait(timeout=300) == 0, log.read_text()[-3000:]
    assert "restored at offset" in log.read_text()
    _assert_exact(settings, reference)


def test_a_second_worker_takes_over_a_killed_ones_partitions(
    settings: Settings, reference: dict[str, Any], tmp_path: Path
):
    settings = _settings(settings, "takeover")
    create_topics(settings, partitions=PARTITIONS)
    log = tmp_path / "workers.log"
    first = _worker(settings, log)
    second = _worker(settings, log, "--until-idle", "15")
    publish(settings, EVENTS)
    wait_for(lambda: records_done(settings) >= reference["published"] // 2, 180, "half")
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=30)
    assert second.wait(timeout=300) == 0, log.read_text()[-3000:]
    _assert_exact(settings, reference)


def test_scale_out_and_back_while_events_keep_flowing(
    settings: Settings, reference: dict[str, Any], tmp_path: Path
):
    settings = _settings(settings, "scale")
    create_topics(settings, partitions=PARTITIONS)
    log = tmp_path / "workers.log"

    def feed() -> None:  # about 30 s of events: the handovers happen mid-stream
        for start in range(0, len(EVENTS), 100):
            publish(settings, EVENTS[start : start + 100])
            time.sleep(1.0)

    feeding = threading.Thread(target=feed)
    first = _worker(settings, log, "--until-idle", "20")
    feeding.start()
    wait_for(lambda: records_done(settings) >= 300, 120, "the first records")
    second = _worker(settings, log)
    wait_for(lambda: "released partitions" in log.read_text(), 120, "a handover")
    wait_for(lambda: log.read_text().count("restored at offset") >= 1, 120, "a restore")
    wait_for(lambda: records_done(settings) >= reference["published"] * 2 // 3, 180, "2/3")
    second.send_signal(signal.SIGTERM)  # graceful: checkpoints, then leaves the group
    assert second.wait(timeout=60) == 0, log.read_text()[-3000:]
    feeding.join(timeout=120)
    assert first.wait(timeout=300) == 0, log.read_text()[-3000:]
    text = log.read_text()
    assert text.count("restored at offset") >= 2  # tasks moved with their state, both ways
    _assert_exact(settings, reference)


def _redis_pid(settings: Settings) -> int:
    client = make_redis(settings.redis.url.get_secret_value())  # type: ignore[union-attr]
    try:
        return int(client.info("server")["process_id"])
    finally:
        client.close()


def test_a_long_redis_stall_is_waited_out_and_ends_equal(
    services, settings: Settings, reference: dict[str, Any], tmp_path: Path
):
    """Redis stops answering (SIGSTOP) for many times the client timeout mid-stream: the
    worker waits with its state and offsets held, goes on when Redis answers again, and
    ends as one pass over the same log; no prediction is lost."""
    if services.source != "local-stack":
        pytest.skip("needs the Redis process started by this test run")
    settings = _settings(settings, "stall")
    create_topics(settings, partitions=PARTITIONS)
    publish(settings, EVENTS)
    pid = _redis_pid(settings)
    log = tmp_path / "worker.log"
    env = _env(settings) | {"DRIFTLINE_REDIS_TIMEOUT_S": "1"}
    worker = subprocess.Popen(
        [sys.executable, "-m", "driftline", "consume", "--until-idle", "6"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("ab"),
    )
    wait_for(lambda: records_done(settings) >= reference["published"] // 3, 180, "a third")
    os.kill(pid, signal.SIGSTOP)
    try:
        wait_for(lambda: "unavailable" in log.read_text(), 60, "the worker to notice")
        stalled = time.monotonic()
        while time.monotonic() - stalled < 8:  # the stall itself: 8 s of client timeouts
            assert worker.poll() is None, log.read_text()[-3000:]
            time.sleep(0.5)
    finally:
        os.kill(pid, signal.SIGCONT)
    assert worker.wait(timeout=300) == 0, log.read_text()[-3000:]
    text = log.read_text()
    assert "is back after" in text and "Traceback" not in text
    _assert_exact(settings, reference)


def test_a_redis_restart_mid_stream_is_waited_out_and_ends_equal(
    settings: Settings, local_stack_home: Path, reference: dict[str, Any], tmp_path: Path
):
    """Redis shuts down (its append-only file kept) while the worker writes, and the stack
    brings it back on its port: the worker waits, goes on, and ends as one pass."""
    from driftline.adapters.settings import StackSettings
    from driftline.stack import LocalStack

    settings = _settings(settings, "restart")
    create_topics(settings, partitions=PARTITIONS)
    publish(settings, EVENTS)
    log = tmp_path / "worker.log"
    env = _env(settings) | {"DRIFTLINE_REDIS_TIMEOUT_S": "1"}
    worker = subprocess.Popen(
        [sys.executable, "-m", "driftline", "consume", "--until-idle", "6"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("ab"),
    )
    wait_for(lambda: records_done(settings) >= reference["published"] // 3, 180, "a third")
    client = make_redis(settings.redis.url.get_secret_value())  # type: ignore[union-attr]
    with contextlib.suppress(redis.ConnectionError):  # it goes away while answering
        client.shutdown(save=True)
    client.close()
    try:
        wait_for(lambda: "unavailable" in log.read_text(), 60, "the worker to notice")
        assert worker.poll() is None, log.read_text()[-3000:]
    finally:
        LocalStack(StackSettings(home=local_stack_home)).up()  # Redis back on its port
    assert worker.wait(timeout=300) == 0, log.read_text()[-3000:]
    text = log.read_text()
    assert "is back after" in text and "Traceback" not in text
    _assert_exact(settings, reference)


def test_a_full_redis_is_waited_for_with_the_batch_held_and_ends_equal(
    services, settings: Settings, reference: dict[str, Any], tmp_path: Path
):
    """Redis fills up mid-stream (``maxmemory`` under what it holds, ``noeviction``): the
    worker says Redis is full (its own log line, counter and ``waiting_for``), holds its
    batch, state and offsets, goes on once memory frees, and ends as one pass; nothing
    lost."""
    if services.source != "local-stack":
        pytest.skip("fills the Redis started by this test run")
    settings = _settings(settings, "full")
    create_topics(settings, partitions=PARTITIONS)
    publish(settings, EVENTS)
    client = make_redis(settings.redis.url.get_secret_value())  # type: ignore[union-attr]
    before = client.config_get("maxmemory*")
    log, out = tmp_path / "worker.log", tmp_path / "summary.json"
    worker = subprocess.Popen(
        [sys.executable, "-m", "driftline", "consume", "--until-idle", "6", "--json"],
        env=_env(settings),
        stdout=out.open("wb"),
        stderr=log.open("ab"),
    )
    try:
        wait_for(lambda: records_done(settings) >= reference["published"] // 3, 180, "a third")
        client.config_set("maxmemory-policy", "noeviction")
        client.config_set("maxmemory", int(client.info("memory")["used_memory"]) // 2)
        wait_for(lambda: "Redis is full" in log.read_text(), 60, "the worker to say so")
        held = records_done(settings)
        for _ in range(10):  # five seconds full: the worker lives on and writes nothing
            assert worker.poll() is None, log.read_text()[-3000:]
            assert records_done(settings) == held
            time.sleep(0.5)
    finally:
        client.config_set("maxmemory", before["maxmemory"])
        client.config_set("maxmemory-policy", before["maxmemory-policy"])
        client.close()
    assert worker.wait(timeout=300) == 0, log.read_text()[-3000:]
    text = log.read_text()
    assert "holds its batch" in text and "is back after" in text and "Traceback" not in text
    assert json.loads(out.read_text().splitlines()[-1])["redis_full"] >= 1
    _assert_exact(settings, reference)
