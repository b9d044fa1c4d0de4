"""The worker on a Redis Cluster: crashes and a lost master end where one pass ends.

The scenarios of ``test_recovery.py`` (its helpers, its events, its uninterrupted
reference run), with Redis a three-master cluster: workers SIGKILLed at random points,
and a master SIGKILLed mid-stream and restarted on its port by the stack's code. First,
the sink's batch on a cluster whatever the namespace: its stream and metrics hash may
live on one node or on two (a random test namespace picks either).
"""

from __future__ import annotations

import random
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from driftline.adapters.redis_clients import make_redis
from driftline.adapters.redis_keys import RedisKeys
from driftline.adapters.redis_sink import RedisSink
from driftline.adapters.settings import Settings
from driftline.core.errors import WriteRefused
from driftline.core.events.records import Prediction
from driftline.read.reader import PredictionsClient
from tests.integration.cluster_fixtures import RunningCluster, redis_cluster  # noqa: F401
from tests.integration.consumers.final_state import records_done, wait_for
from tests.integration.consumers.test_recovery import (
    EVENTS,
    PARTITIONS,
    _assert_exact,
    _env,
    _settings,
    _worker,
    reference,  # noqa: F401
)
from tests.integration.helpers import create_topics, publish
from tests.integration.stack.test_stack_repair import kill

pytestmark = pytest.mark.integration


def _on_cluster(settings: Settings, cluster: RunningCluster, suffix: str) -> Settings:
    return _settings(settings.with_overrides(redis_url=cluster.url), suffix)


def _prediction(key: str, n: int) -> Prediction:
    at = datetime(2024, 6, 1, 8, 0, tzinfo=UTC) + timedelta(minutes=n)
    return Prediction(key, f"e{n}", 0, n, at, at, at, True, {True: 0.75, False: 0.25}, 1)


def _namespace(client: Any, base: str, *, apart: bool) -> str:
    """``base`` with the first suffix whose stream and metrics hash are on two nodes
    (``apart``) or on one."""
    for n in range(1000):
        keys = RedisKeys(f"{base}-{n}")
        stream = client.get_node_from_key(keys.predictions_stream)
        metrics = client.get_node_from_key(keys.metrics)
        if (stream.name != metrics.name) == apart:
            return f"{base}-{n}"
    raise AssertionError("no such namespace")  # pragma: no cover - 1000 tries


@pytest.mark.parametrize("apart", [False, True], ids=["one-node", "two-nodes"])
def test_the_sink_writes_a_batch_wherever_its_stream_and_metrics_live(
    redis_cluster: RunningCluster,  # noqa: F811
    namespace: str,
    apart: bool,
) -> None:
    client = make_redis(redis_cluster.url)
    try:
        ns = _namespace(client, namespace, apart=apart)
        keys = [f"entity-{i}" for i in range(60)]
        batch = [_prediction(key, n) for n, key in enumerate(keys)]
        sink = RedisSink(client, ns)
        assert sink.write(batch, [{"partition": 0, "scored": 1}, {"partition": 2}]) == len(keys)
        reader = PredictionsClient(client, ns)
        assert {k: p.event_id for k, p in reader.get_many(keys).items()} == {
            p.key: p.event_id for p in batch
        }
        assert client.xlen(RedisKeys(ns).predictions_stream) == len(batch)
        assert sorted(reader.task_metrics()) == [0, 2]
    finally:
        client.close()


def test_keys_of_another_type_on_two_nodes_refuse_only_their_own_writes(
    redis_cluster: RunningCluster,  # noqa: F811
    namespace: str,
) -> None:
    """Each node's call reports its own refusals; the sink names them all, by key."""
    client = make_redis(redis_cluster.url)
    try:
        keys = [f"entity-{i}" for i in range(60)]
        sink = RedisSink(client, namespace)
        nodes = {}
        for key in keys:  # one key of another type on each of two nodes
            nodes.setdefault(client.get_node_from_key(sink.keys.prediction(key)).name, key)
        bad = sorted(nodes.values())[:2]
        for key in bad:
            client.set(sink.keys.prediction(key), "not a hash")
        batch = [_prediction(key, n) for n, key in enumerate(keys)]
        with pytest.raises(WriteRefused) as refused:
            sink.write(batch, [{"partition": 0, "scored": 1}])
        assert sorted(p.key for p, _ in refused.value.refused) == bad
        assert refused.value.stored == len(keys) - 2
        good = [k for k in keys if k not in bad]
        assert sorted(PredictionsClient(client, namespace).get_many(good)) == sorted(good)
        assert client.xlen(RedisKeys(namespace).predictions_stream) == len(batch)
    finally:
        client.close()


def test_a_batch_larger_than_luas_stack_is_one_call_per_node(
    redis_cluster: RunningCluster,  # noqa: F811
    namespace: str,
) -> None:
    """On a node the keys travel as arguments: never unpacked, however many (Lua's unpack()
    stops at about 8,000 values)."""
    client = make_redis(redis_cluster.url)
    try:
        batch = [_prediction(f"entity-{n}", n) for n in range(30_000)]
        sink = RedisSink(client, namespace)
        assert sink.write(batch, [{"partition": 0, "scored": 1}]) == len(batch)
        assert client.xlen(RedisKeys(namespace).predictions_stream) == len(batch)
    finally:
        client.close()


def test_sigkilled_workers_on_a_cluster_end_where_one_pass_ends(
    settings: Settings,
    redis_cluster: RunningCluster,  # noqa: F811
    reference: dict[str, Any],  # noqa: F811
    tmp_path: Path,
) -> None:
    settings = _on_cluster(settings, redis_cluster, "cluster-crash")
    create_topics(settings, partitions=PARTITIONS)
    publish(settings, EVENTS)
    total = reference["published"]
    log = tmp_path / "workers.log"
    for point in sorted(random.Random(9).sample(range(total // 8, total * 7 // 8), 2)):
        worker = _worker(settings, log)
        wait_for(lambda p=point: records_done(settings) >= p, 180, f"{point} records")
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
    last = _worker(settings, log, "--until-idle", "8")
    assert last.wait(timeout=300) == 0, log.read_text()[-3000:]
    assert "restored at offset" in log.read_text()
    _assert_exact(settings, reference)


def test_a_master_killed_mid_stream_is_waited_out_and_ends_equal(
    settings: Settings,
    redis_cluster: RunningCluster,  # noqa: F811
    reference: dict[str, Any],  # noqa: F811
    tmp_path: Path,
) -> None:
    import subprocess
    import sys

    settings = _on_cluster(settings, redis_cluster, "cluster-master")
    create_topics(settings, partitions=PARTITIONS)
    publish(settings, EVENTS)
    log = tmp_path / "worker.log"
    worker = subprocess.Popen(
        [sys.executable, "-m", "driftline", "consume", "--until-idle", "6"],
        env=_env(settings) | {"DRIFTLINE_REDIS_TIMEOUT_S": "1"},
        stdout=subprocess.DEVNULL,
        stderr=log.open("ab"),
    )
    wait_for(lambda: records_done(settings) >= reference["published"] // 3, 180, "a third")
    victim = next(n for n in redis_cluster.nodes if n["index"] == 2)
    kill(int(victim["pid"]))
    try:
        wait_for(lambda: "unavailable" in log.read_text(), 60, "the worker to notice")
        assert worker.poll() is None, log.read_text()[-3000:]
    finally:
        redis_cluster.repair()  # the master back on its port, from its folder
    assert worker.wait(timeout=300) == 0, log.read_text()[-3000:]
    text = log.read_text()
    assert "is back after" in text and "Traceback" not in text
    _assert_exact(settings, reference)
