"""Broker failures on three nodes: nothing acknowledged is lost or doubled, and losing the
controller quorum makes ``produce`` fail fast with the counts, not hang.

The module runs its own ``stack up --brokers 3`` (replication factor 3, min ISR 2) in a
temporary home. Brokers are killed with SIGKILL and brought back by ``LocalStack.up()``
on their own ports, while a publisher and a ``driftline consume`` worker keep running.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from driftline.adapters.endpoints import Endpoints
from driftline.adapters.kafka_clients import admin_client
from driftline.adapters.settings import KafkaSettings, Settings, StackSettings
from driftline.adapters.topics import prepare_topics
from driftline.producers.flights import flight_events
from driftline.producers.replay import ArrivalDelay, ReplayPlan
from driftline.stack import LocalStack
from tests.integration.three_brokers import (
    Publishing,
    broker_pids,
    coordinator_of,
    driftline,
    end_offsets,
    endpoints,
    fully_in_sync,
    log,
    metric_totals,
    predicted_count,
    predicted_ids,
    read_topic,
    restart,
    sigkill,
    wait_for,
)

pytestmark = pytest.mark.integration

CHECKPOINT_KEY = "driftline-broker-failures-test-k"  # 32 characters
PARTITIONS = 6
#: The request timeout ``produce`` runs with when the quorum is lost: it must give up
#: within about three of them after its last send (plus its start-up).
QUORUM_REQUEST_TIMEOUT_MS = 5_000
QUORUM_EXIT_BOUND_S = 60.0


# -- the cluster ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def cluster(services: Endpoints, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """Three brokers and Redis of their own, for this module."""
    if services.source != "local-stack":
        pytest.skip("the local stack is not what this run uses (existing cluster or Docker)")
    home = tmp_path_factory.mktemp("three-brokers")
    stack = LocalStack(StackSettings(home=home, brokers=3, kafka_heap="384m"))
    try:
        stack.up(brokers=3)
        yield stack
    finally:
        stack.down(purge=True)


@contextlib.contextmanager
def quorum_lost(stack: LocalStack, kafka: KafkaSettings, topics: list[str]) -> Iterator[None]:
    """Two of the three brokers (and so two of the three controllers) SIGKILLed; both are
    back, and in every ISR of ``topics``, afterwards."""
    pids = broker_pids(stack)
    for node_id in (2, 3):
        sigkill(pids[node_id])
    log("brokers 2 and 3 killed: the controller quorum is lost")
    try:
        yield
    finally:
        stack.up(brokers=3)
        wait_for(lambda: fully_in_sync(kafka, topics), 180, "every ISR after the quorum is back")
        log("quorum back, all replicas in sync")


def namespace_settings(stack: LocalStack, namespace: str, **overrides: Any) -> Settings:
    found = endpoints(stack)
    return Settings(
        _env_file=None,
        namespace=namespace,
        kafka_bootstrap=found.bootstrap,
        redis_url=found.redis_url,
        checkpoint_key=CHECKPOINT_KEY,
        partitions=PARTITIONS,
        **overrides,
    )


def command_env(stack: LocalStack, settings: Settings, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRIFTLINE_")}
    return env | {
        "DRIFTLINE_STACK_HOME": str(stack.home),
        "DRIFTLINE_KAFKA_BOOTSTRAP": settings.kafka.bootstrap or "",
        "DRIFTLINE_REDIS_URL": endpoints(stack).redis_url,
        "DRIFTLINE_NAMESPACE": settings.namespace,
        "DRIFTLINE_CHECKPOINT_KEY": CHECKPOINT_KEY,
        "DRIFTLINE_PARTITIONS": str(PARTITIONS),
        **extra,
    }


def error_line(stderr: str) -> str:
    """The one line ``main()`` printed for the error: the last line of standard error."""
    lines = stderr.strip().splitlines()
    assert [line for line in lines if "error:" in line] == lines[-1:], stderr
    return lines[-1]


# -- (a) every broker killed in turn while events flow --------------------------------------------
@pytest.fixture
def reaped() -> Iterator[list[subprocess.Popen[str]]]:
    """Processes a test started, killed at teardown if still running: a failed test must
    not leave its worker spinning on the machine (one did, at 90% of a core)."""
    processes: list[subprocess.Popen[str]] = []
    yield processes
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)


def test_each_broker_killed_in_turn_loses_and_doubles_nothing(
    cluster: LocalStack, tmp_path: Path, reaped: list[subprocess.Popen[str]]
) -> None:
    settings = namespace_settings(cluster, "kills")
    kafka = settings.kafka
    topic = settings.topics.events
    prepare_topics(kafka, settings.namespace)
    # A new topic's partitions reach every broker's metadata a moment after it is created.
    wait_for(lambda: fully_in_sync(kafka, [topic]), 60, f"{topic} on all three brokers")
    with admin_client(kafka) as admin:
        [described] = admin.describe_topics([topic])
    assert {len(p["replica_nodes"]) for p in described["partitions"]} == {3}
    redis_url = endpoints(cluster).redis_url

    plan = ReplayPlan(delay=ArrivalDelay(mean_s=120, max_s=900), seed=5)
    events = [t.event for t in plan.schedule(flight_events(limit=30_000, key_by="route"))]
    publishing = Publishing(settings, events)
    log_path = tmp_path / "worker.log"
    worker_env = command_env(
        cluster,
        settings,
        DRIFTLINE_CHECKPOINT_EVERY="500",
        DRIFTLINE_CHECKPOINT_INTERVAL_S="2",
        DRIFTLINE_SESSION_TIMEOUT_MS="6000",
        DRIFTLINE_MAX_POLL_RECORDS="500",
        COLUMNS="1000",  # log lines unwrapped, so tracebacks can be read back
    )
    with log_path.open("ab") as log_file:
        worker = subprocess.Popen(
            driftline("consume", "--json"),
            env=worker_env,
            stdout=subprocess.PIPE,
            stderr=log_file,
            text=True,
        )
    reaped.append(worker)
    feeder = threading.Thread(target=publishing.run, name="publisher")
    feeder.start()

    def worker_log() -> str:
        return log_path.read_text(errors="replace")[-4000:]

    def progress(what: str, acked: int, predicted: int, timeout_s: float = 180) -> float:
        def moved() -> bool:
            assert worker.poll() is None, f"the worker exited:\n{worker_log()}"
            assert feeder.is_alive() or publishing.finish.is_set(), "the publisher stopped"
            return (
                len(publishing.acknowledged) >= acked
                and predicted_count(redis_url, settings.namespace) >= predicted
            )

        took = wait_for(moved, timeout_s, f"{what} (worker log:\n{worker_log()})")
        return took

    coordinators_killed = 0
    try:
        progress("the first events", acked=500, predicted=200)
        for node_id in (1, 2, 3):
            pid = broker_pids(cluster)[node_id]
            acked = len(publishing.acknowledged)
            predicted = predicted_count(redis_url, settings.namespace)
            coordinator = coordinator_of(kafka, settings.topics.consumer_group)
            coordinators_killed += coordinator == node_id
            sigkill(pid)
            took = progress(
                f"events while broker {node_id} is down",
                acked=acked + 500,
                predicted=predicted + 300,
            )
            log(
                f"broker {node_id} killed (group coordinator: {coordinator}): 500 more "
                f"acknowledged and 300 more predicted in {took:.1f} s"
            )
            back = restart(cluster, kafka, [topic], node_id)
            log(f"broker {node_id} restarted and in every ISR after {back:.1f} s")
        acked = len(publishing.acknowledged)
        progress("events after the last restart", acked=acked + 500, predicted=0)
    finally:
        publishing.finish.set()
        feeder.join(timeout=300)
    assert not feeder.is_alive(), "the publisher did not finish"
    log(
        f"published: {publishing.sent} sent, {len(publishing.acknowledged)} acknowledged, "
        f"{len(publishing.failed)} failed"
    )

    # Every acknowledged event is in the topic, exactly once.
    in_topic = read_topic(kafka, topic)
    copies = Counter((e.kind, e.event_id) for e in in_topic)
    doubled = {k: n for k, n in copies.items() if n > 1}
    assert not doubled, f"{len(doubled)} event(s) in the topic more than once: {list(doubled)[:5]}"
    acknowledged = {(d.kind, d.event_id) for d in publishing.acknowledged}
    assert len(acknowledged) == len(publishing.acknowledged)
    missing = acknowledged - copies.keys()
    assert not missing, f"{len(missing)} acknowledged event(s) are not in the topic"
    sent = {(e.kind, e.event_id) for e in events[: publishing.sent]}
    assert copies.keys() <= sent

    # Every observation in the topic is predicted exactly once.
    observations = {event_id for kind, event_id in copies if kind == "observation"}

    def all_processed() -> bool:
        assert worker.poll() is None, f"the worker exited:\n{worker_log()}"
        totals = metric_totals(redis_url, settings.namespace)
        return totals["observations"] + totals["outcomes"] >= len(in_topic) and predicted_count(
            redis_url, settings.namespace
        ) >= len(observations)

    wait_for(all_processed, 300, "every event to be processed")
    worker.send_signal(signal.SIGTERM)
    out, _ = worker.communicate(timeout=120)
    assert worker.returncode == 0, worker_log()
    summary = json.loads(out.strip().splitlines()[-1])
    log(f"worker: {summary}")
    predictions = Counter(predicted_ids(redis_url, settings.namespace))
    twice = {event_id: n for event_id, n in predictions.items() if n > 1}
    assert not twice, f"{len(twice)} observation(s) predicted more than once: {list(twice)[:5]}"
    assert predictions.keys() == observations
    totals = metric_totals(redis_url, settings.namespace)
    assert totals["observations"] == totals["predictions"] == len(observations)
    assert totals["outcomes"] == len(copies) - len(observations)
    assert totals["duplicates"] == 0
    assert totals["dead_letters"] == 0
    # The worker rode it out: no crash, no traceback of its own (kafka-python logs the
    # connections it lost, with their tracebacks, at ERROR: those are counted, not failed).
    frames = re.findall(r'File "([^"]+)"', log_path.read_text(errors="replace"))
    ours = [f for f in frames if "site-packages/kafka/" not in f]
    assert not ours, worker_log()
    log(f"worker log: {len(frames)} traceback frame(s), all in kafka-python")
    assert coordinators_killed >= 1, "no kill took the group coordinator down"

    # With one broker down at a time (RF 3, min ISR 2) nothing should fail at all.
    assert not publishing.failed, publishing.errors[:3]


# -- (b) the quorum lost: produce fails fast, with the counts -------------------------------------
def test_produce_without_a_quorum_exits_2_quickly_with_the_counts(cluster: LocalStack) -> None:
    """``produce`` with two brokers of three down: one line, exit 2, within the bound.

    It stops in one of two places. Preparing the topics asks a random broker of the
    stale broker list (kafka-python's least-loaded node; with no quorum, nothing fences
    the dead ones), so it may fail there, before anything is sent; otherwise every record
    stays unanswered until the flush timeout. Either way the line gives the counts.
    (:func:`test_quorum_lost_during_a_replay_reports_acknowledged_and_failed` goes
    through the publisher every time.)
    """
    settings = namespace_settings(cluster, "quorum")
    kafka = settings.kafka.model_copy(update={"request_timeout_ms": 5_000})
    env = command_env(
        cluster,
        settings,
        DRIFTLINE_KAFKA_REQUEST_TIMEOUT_MS=str(QUORUM_REQUEST_TIMEOUT_MS),
    )
    healthy = subprocess.run(
        driftline("produce", "flights", "--limit", "50", "--json"),
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert healthy.returncode == 0, healthy.stderr
    assert json.loads(healthy.stdout.strip().splitlines()[-1])["observations"] == 50

    with quorum_lost(cluster, kafka, [settings.topics.events]):
        started = time.monotonic()
        done = subprocess.run(
            driftline("produce", "flights", "--limit", "200"),
            env=env,
            capture_output=True,
            text=True,
            timeout=330,
            check=False,
        )
        took = time.monotonic() - started
        log(f"produce without a quorum: exit {done.returncode} after {took:.1f} s")
        log(f"stderr: {done.stderr.strip()[-600:]}")
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 4, done.stderr  # Kafka unavailable: a later run may succeed
    assert took < QUORUM_EXIT_BOUND_S, f"produce took {took:.0f} s to give up"
    line = error_line(done.stderr)
    before = "nothing was published: 0 record(s) acknowledged, 0 failed"
    during = re.compile(
        r"publishing to quorum\.events failed: (no record acknowledged|\d+ record\(s\) "
        r"acknowledged \(partition \d+: \d+(, partition \d+: \d+)*\)), \d+ failed \(.+\)$"
    )
    assert line.endswith(before) or during.search(line), line


# -- (c) the quorum lost while a replay runs: what was acknowledged before is reported ----------
def test_quorum_lost_during_a_replay_reports_acknowledged_and_failed(cluster: LocalStack) -> None:
    settings = namespace_settings(cluster, "midway")
    kafka = settings.kafka
    topic = settings.topics.events
    prepare_topics(kafka, settings.namespace)
    env = command_env(
        cluster,
        settings,
        DRIFTLINE_KAFKA_REQUEST_TIMEOUT_MS=str(QUORUM_REQUEST_TIMEOUT_MS),
    )
    # 2000 flights span 2.4 days of event time: at 8000x, about 26 s of replay.
    replay = ["--limit", "2000", "--key-by", "route", "--speed", "8000", "--json"]
    producer = subprocess.Popen(
        driftline("produce", "flights", *replay),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )

    try:
        wait_for(
            lambda: producer.poll() is None and sum(end_offsets(kafka, topic).values()) >= 300,
            120,
            "records flowing",
        )
        with quorum_lost(cluster, kafka.model_copy(update={"request_timeout_ms": 5_000}), [topic]):
            started = time.monotonic()
            out, err = producer.communicate(timeout=330)
            took = time.monotonic() - started
            log(f"produce after losing the quorum: exit {producer.returncode} after {took:.1f} s")
            log(f"stderr: {err.strip()[-600:]}")
    finally:
        if producer.poll() is None:
            producer.kill()
            producer.communicate()
    assert "Traceback" not in err, err
    assert producer.returncode == 4, err
    assert took < QUORUM_EXIT_BOUND_S, f"produce took {took:.0f} s to give up"
    summary = json.loads(out.strip().splitlines()[-1])
    line = error_line(err)
    assert summary["error"] in line
    acked, failed = summary["acknowledged"], summary["failed"]
    assert acked >= 300 and failed >= 1, summary
    where = ", ".join(f"partition {p}: {n}" for p, n in summary["partitions"].items())
    assert f"{acked} record(s) acknowledged ({where}), {failed} failed (" in line

    # What was acknowledged is there, once (unacknowledged records may be there too).
    events = read_topic(kafka, topic)
    copies = Counter((e.kind, e.event_id) for e in events)
    assert max(copies.values()) == 1
    ends = end_offsets(kafka, topic)
    for partition, count in summary["partitions"].items():
        assert ends[int(partition)] >= count
