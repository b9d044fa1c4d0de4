"""Redis Cluster: the local stack runs one, and everything that reads Redis works on it.

A three-master cluster (``cluster_fixtures.redis_cluster``, the stack's own code in a
temporary folder) serves the client, reader, checkpoint and reset tests; the stack test
starts a whole stack with ``up(redis_cluster=True)`` and kills a node.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
from redis.cluster import RedisCluster

from driftline.adapters.checkpoints.stores import RedisCheckpointStore
from driftline.adapters.endpoints import Endpoints
from driftline.adapters.prediction_record import encode_hash, encode_stream
from driftline.adapters.redis_clients import is_cluster, make_redis, nodes_of, slot_of
from driftline.adapters.redis_keys import RedisKeys
from driftline.adapters.redis_memory import MemoryPolicy, memory_policy
from driftline.adapters.settings import StackSettings
from driftline.consumers.reset import forget_state
from driftline.core.errors import ConfigError, ServiceUnavailable
from driftline.core.events.records import Prediction
from driftline.core.learning.metrics import TaskMetrics
from driftline.read.reader import PredictionsClient
from driftline.stack import LocalStack
from driftline.stack.processes import free_port
from driftline.stack.redis_cluster import CLUSTER_SLOTS, cluster_state
from tests.integration.cluster_fixtures import RunningCluster, redis_cluster  # noqa: F401
from tests.integration.stack.test_stack_repair import kill, stack_command, status_json

pytestmark = pytest.mark.integration

T0 = datetime(2024, 6, 1, 8, 0, tzinfo=UTC)
ENTITIES = [f"entity-{i}" for i in range(200)]


@pytest.fixture
def cluster_client(redis_cluster: RunningCluster) -> Iterator[Any]:  # noqa: F811
    client = make_redis(redis_cluster.url)
    yield client
    client.close()


def _prediction(key: str, minute: int = 0, partition: int = 0) -> Prediction:
    at = T0 + timedelta(minutes=minute)
    return Prediction(
        key=key,
        event_id=f"{key}-{minute}",
        partition=partition,
        offset=minute,
        event_time=at,
        ingest_time=at + timedelta(seconds=1),
        predicted_time=at + timedelta(seconds=2),
        prediction=True,
        probabilities={True: 0.75, False: 0.25},
        model_version=3,
    )


def _store(client: Any, namespace: str, predictions: list[Prediction]) -> None:
    """Write hashes and stream entries the way the sink's codec lays them out."""
    keys = RedisKeys(namespace)
    for prediction in predictions:
        client.hset(keys.prediction(prediction.key), mapping=encode_hash(prediction))
        client.xadd(keys.predictions_stream, encode_stream(prediction))


def _snapshot(partition: int) -> str:
    metrics = TaskMetrics("classification")
    metrics.score(True, True, {True: 0.75, False: 0.25})
    metrics.score(False, True, {True: 0.6, False: 0.4})
    return json.dumps(metrics.snapshot() | {"partition": partition})


def _namespace_keys(client: Any, namespace: str) -> list[bytes]:
    return list(client.scan_iter(match=f"{namespace}:*", count=1000))


# -- make_redis --------------------------------------------------------------------------
def test_make_redis_tells_a_cluster_from_one_server(
    redis_cluster: RunningCluster,  # noqa: F811
    services: Endpoints,
) -> None:
    for index in (1, 2, 3):  # any node's URL reaches the whole cluster
        client = make_redis(redis_cluster.node_url(index), timeout_s=7)
        try:
            assert isinstance(client, RedisCluster) and is_cluster(client)
            assert len(client.get_primaries()) == 3
            connection = client.get_default_node().redis_connection.connection_pool
            assert connection.connection_kwargs["socket_timeout"] == 7
            client.set(f"reach-{index}", b"x")  # a key of any slot, wherever it lives
            assert client.get(f"reach-{index}") == b"x"
        finally:
            client.close()
    single = make_redis(services.redis_url)
    try:
        assert isinstance(single, redis.Redis) and not is_cluster(single)
    finally:
        single.close()


def test_make_redis_errors_on_a_cluster(redis_cluster: RunningCluster) -> None:  # noqa: F811
    with pytest.raises(ConfigError, match="only database 0"):
        make_redis(redis_cluster.url.replace("/0", "/2"))
    with pytest.raises(ServiceUnavailable) as refused:
        make_redis(redis_cluster.url.replace(redis_cluster.password, "wrong"))
    assert redis_cluster.password not in str(refused.value)
    with pytest.raises(ServiceUnavailable):
        make_redis(f"redis://127.0.0.1:{free_port()}/0", timeout_s=1)
    with pytest.raises(ConfigError):
        make_redis("http://127.0.0.1:1/0")


def test_nodes_of_groups_keys_by_the_node_of_their_slot(cluster_client: Any) -> None:
    groups = nodes_of(cluster_client, ENTITIES)
    assert len(groups) == 3  # 200 keys reach every master
    assert sorted(k for keys in groups.values() for k in keys) == sorted(ENTITIES)
    for node, keys in groups.items():
        assert node is not None
        for key in keys:
            assert cluster_client.get_node_from_key(key) == node
            assert cluster_client.keyslot(key) == slot_of(key)


def test_a_cross_slot_script_runs_once_per_node(cluster_client: Any, namespace: str) -> None:
    """What a batching writer does on a cluster: one script call per node, over the keys of
    many slots of that node, all calls in one pipeline. Redis checks that the keys a call
    declares share one slot, so the script (flagged ``allow-cross-slot-keys``) declares
    none and takes the node's keys as arguments; the call is sent to the node by name."""
    script = "#!lua flags=allow-cross-slot-keys\n" + (
        "for i = 2, #ARGV do redis.call('SET', ARGV[i], ARGV[1]) end return #ARGV - 1"
    )
    keys = [f"{namespace}:x:{entity}" for entity in ENTITIES]
    sha = cluster_client.script_load(script)  # loaded on every master
    groups = nodes_of(cluster_client, keys)
    pipe = cluster_client.pipeline(transaction=False)
    for node, group in groups.items():
        pipe.execute_command("EVALSHA", sha, 0, "v", *group, target_nodes=node)
    written = pipe.execute()
    assert sorted(written) == sorted(len(g) for g in groups.values())
    assert sum(written) == len(keys)
    assert len({slot_of(k) for k in keys}) > len(groups)  # many slots per call
    assert cluster_client.mget_nonatomic(keys) == [b"v"] * len(keys)
    with pytest.raises(redis.ResponseError, match="same slot"):  # declared keys: one slot
        node, group = next(iter(groups.items()))
        apart = [group[0], next(k for k in group if slot_of(k) != slot_of(group[0]))]
        cluster_client.execute_command("EVALSHA", sha, 2, *apart, "v", target_nodes=node)


# -- the reader ----------------------------------------------------------------------------
def test_reader_gets_one_and_many_on_a_cluster(
    cluster_client: Any, namespace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _store(cluster_client, namespace, [_prediction(key) for key in ENTITIES])
    reader = PredictionsClient(cluster_client, namespace)
    one = reader.get("entity-7")
    assert one is not None and (one.event_id, one.prediction) == ("entity-7-0", True)
    assert reader.get("nobody") is None

    sent: Counter[int] = Counter()
    original = redis.connection.Connection.send_packed_command

    def counting(self: Any, command: Any, check_health: bool = True) -> None:
        sent[self.port] += 1
        return original(self, command, check_health)

    monkeypatch.setattr(redis.connection.Connection, "send_packed_command", counting)
    many = reader.get_many([*ENTITIES, "nobody", "entity-7"])
    monkeypatch.undo()

    assert sorted(many) == sorted(ENTITIES)  # keys without a prediction are left out
    assert all(many[key].key == key and many[key].model_version == 3 for key in ENTITIES)
    ports = {node.port for node in cluster_client.get_primaries()}
    assert set(sent) == ports and all(n == 1 for n in sent.values()), sent  # 1 per node
    assert reader.get_many([]) == {}


def test_reader_follows_the_stream_and_sums_metrics_on_a_cluster(
    cluster_client: Any, namespace: str
) -> None:
    reader = PredictionsClient(cluster_client, namespace)
    _store(cluster_client, namespace, [_prediction("before")])
    calls = 0

    def stop() -> bool:
        nonlocal calls
        calls += 1
        if calls == 2:
            _store(cluster_client, namespace, [_prediction("during", 1)])
        return calls > 3

    entries = list(reader.follow(block_ms=50, stop=stop))
    assert [e.key for e in entries] == ["during"]
    cluster_client.hset(RedisKeys(namespace).metrics, mapping={"p0": _snapshot(0)})
    cluster_client.hset(RedisKeys(namespace).metrics, mapping={"p1": _snapshot(1)})
    metrics = reader.metrics()
    assert sorted(metrics["tasks"]) == ["0", "1"]
    assert metrics["total"]["scored"] == 4


# -- checkpoints and reset -----------------------------------------------------------------
def test_checkpoints_store_load_and_clear_on_a_cluster(cluster_client: Any, namespace: str) -> None:
    store = RedisCheckpointStore(cluster_client, namespace)
    partitions = range(12)
    keys = [RedisKeys(namespace).checkpoint(p) for p in partitions]
    assert len(nodes_of(cluster_client, keys)) > 1  # the checkpoints live on several nodes
    for partition in partitions:
        store.save(partition, f"blob-{partition}".encode())
    assert store.load(5) == b"blob-5" and store.load(99) is None
    assert store.all() == {p: f"blob-{p}".encode() for p in partitions}
    other = RedisCheckpointStore(cluster_client, f"{namespace}x")
    other.save(1, b"another namespace")
    assert store.clear() == 12
    assert store.all() == {}
    assert other.all() == {1: b"another namespace"}


def test_the_eviction_policy_of_a_cluster_is_its_riskiest_node(
    cluster_client: Any, namespace: str
) -> None:
    """Every master asked (INFO memory is per node): one evicting master is enough for the
    readiness's warning; put back after."""
    assert memory_policy(cluster_client) == MemoryPolicy("noeviction", 0)
    reader = PredictionsClient(cluster_client, namespace)
    assert reader.memory_warning() is None
    node = cluster_client.get_primaries()[-1]
    cluster_client.config_set("maxmemory-policy", "volatile-lru", target_nodes=node)
    try:
        assert memory_policy(cluster_client).policy == "volatile-lru"  # type: ignore[union-attr]
        assert "volatile-lru" in (reader.memory_warning() or "")
    finally:
        cluster_client.config_set("maxmemory-policy", "noeviction", target_nodes=node)


def test_checkpoint_history_on_a_cluster(cluster_client: Any, namespace: str) -> None:
    store = RedisCheckpointStore(cluster_client, namespace, history=2)
    keys = RedisKeys(namespace)
    partitions = range(12)
    for partition in partitions:
        for offset in (10, 20, 30):
            store.save(partition, f"{partition}@{offset}".encode(), offset)
        latest = cluster_client.get_node_from_key(keys.checkpoint(partition))
        assert cluster_client.get_node_from_key(keys.checkpoint_history(partition)) == latest
    assert store.history(7) == [(30, b"7@30"), (20, b"7@20")]
    assert store.load_at(7, 20) == b"7@20" and store.load_at(7, 10) is None
    assert store.all() == {p: f"{p}@30".encode() for p in partitions}
    assert store.partitions() == list(partitions)
    assert forget_state(cluster_client, namespace, store).checkpoints == 12
    assert _namespace_keys(cluster_client, namespace) == []


def test_forget_state_deletes_a_namespace_on_every_master(
    cluster_client: Any, namespace: str
) -> None:
    _store(cluster_client, namespace, [_prediction(key) for key in ENTITIES])
    cluster_client.hset(RedisKeys(namespace).metrics, mapping={"p0": _snapshot(0)})
    cluster_client.xadd(RedisKeys(namespace).quality_log, {"rule": "spelling"})
    store = RedisCheckpointStore(cluster_client, namespace)
    for partition in range(6):
        store.save(partition, b"blob")
    keep = f"{namespace}keep"
    _store(cluster_client, keep, [_prediction("EWR")])
    masters = {n.name for n in cluster_client.get_primaries()}
    written = _namespace_keys(cluster_client, namespace)
    placed = {cluster_client.get_node_from_key(key).name for key in written}
    assert placed == masters  # the namespace spans the cluster

    forgotten = forget_state(cluster_client, namespace, store)

    assert (forgotten.checkpoints, forgotten.predictions) == (6, len(ENTITIES))
    assert _namespace_keys(cluster_client, namespace) == []
    assert PredictionsClient(cluster_client, keep).get("EWR") is not None


# -- the stack -----------------------------------------------------------------------------
@pytest.fixture
def cluster_stack(tmp_path: Path, services: Endpoints) -> Iterator[LocalStack]:
    if services.source != "local-stack":
        pytest.skip("the local stack is not what this run uses (existing cluster or Docker)")
    stack = LocalStack(StackSettings(home=tmp_path / "stack", brokers=1, kafka_heap="384m"))
    try:
        yield stack
    finally:
        stack.down(purge=True)


def _nodes(status: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {node["name"]: node for node in status["redis_nodes"]}


def _node_url(password: str, node: dict[str, Any]) -> str:
    return f"redis://:{password}@127.0.0.1:{node['port']}/0"


def _cluster_ok(status: dict[str, Any], password: str) -> bool:
    return all(
        cluster_state(_node_url(password, n))["cluster_state"] == "ok"
        for n in status["redis_nodes"]
    )


def test_stack_up_redis_cluster_status_repair_and_down(cluster_stack: LocalStack) -> None:
    stack = cluster_stack
    before = stack.up(redis_cluster=True).to_dict()
    password = (stack.secrets_dir / "redis.password").read_text()

    assert before["running"] and before["redis_cluster"] and before["redis"] is None
    assert sorted(_nodes(before)) == ["redis-1", "redis-2", "redis-3"]
    assert all(n["alive"] for n in before["redis_nodes"])
    ports = {p for n in before["redis_nodes"] for p in (n["port"], n["bus_port"])}
    assert len(ports) == 6  # a client port and a bus port each
    assert before["redis_url"] == f"redis://127.0.0.1:{_nodes(before)['redis-1']['port']}/0"
    assert password not in stack.state_path.read_text()
    for node in before["redis_nodes"]:  # the password is required on every node
        anonymous = redis.Redis(host="127.0.0.1", port=node["port"])
        with pytest.raises(redis.AuthenticationError):
            anonymous.ping()
        anonymous.close()
    assert _cluster_ok(before, password)
    slots = [cluster_state(_node_url(password, n)) for n in before["redis_nodes"]]
    assert {s["cluster_slots_assigned"] for s in slots} == {str(CLUSTER_SLOTS)}
    endpoints = stack.endpoints()
    assert endpoints is not None
    client = make_redis(endpoints.redis_url)
    assert is_cluster(client)
    written = {f"before-{i}": str(i).encode() for i in range(60)}
    client.mset_nonatomic(written)
    client.close()
    table = stack_command(stack.home, "status")
    assert table.returncode == 0 and "redis cluster" in table.stdout
    assert all(f"redis-{i}" in table.stdout for i in (1, 2, 3))
    assert password not in table.stdout + table.stderr

    victim = _nodes(before)["redis-2"]
    kill(victim["pid"])
    code, shown = status_json(stack.home)
    assert code == 1, shown  # a master down: a third of the keys unreachable
    assert shown["running"] is False and shown["down"] == ["redis-2"]
    assert {n: v["alive"] for n, v in _nodes(shown).items()} == {
        "redis-1": True,
        "redis-2": False,
        "redis-3": True,
    }
    assert stack.endpoints() is None

    repaired = stack.up().to_dict()  # no flag: the home keeps its cluster

    assert repaired["running"] and not repaired["degraded"] and repaired["redis_cluster"]
    old, new = _nodes(before), _nodes(repaired)
    assert new["redis-2"]["pid"] != old["redis-2"]["pid"]
    for name in ("redis-1", "redis-3"):  # the live nodes were left alone
        assert (new[name]["pid"], new[name]["started"]) == (old[name]["pid"], old[name]["started"])
    for name in old:  # same ports and folders: the same cluster
        for key in ("port", "bus_port", "home"):
            assert new[name][key] == old[name][key], (name, key)
    assert repaired["brokers"][0]["pid"] == before["brokers"][0]["pid"]
    assert _cluster_ok(repaired, password)
    again = stack.endpoints()
    assert again is not None and again.redis_url == endpoints.redis_url
    client = make_redis(again.redis_url)
    assert client.mget_nonatomic(list(written)) == list(written.values())  # nothing lost
    client.close()

    stopped = stack.down()
    assert len(stopped) == 4  # three Redis nodes and the broker
    code, shown = status_json(stack.home)
    assert code == 1 and not any(n["alive"] for n in shown["redis_nodes"])

    restarted = stack.up().to_dict()  # all of it again, from its folders
    assert restarted["redis_cluster"] and _cluster_ok(restarted, password)
    assert {n: v["port"] for n, v in _nodes(restarted).items()} == {
        n: v["port"] for n, v in old.items()
    }
    client = make_redis(again.redis_url)
    assert client.mget_nonatomic(list(written)) == list(written.values())
    client.close()
