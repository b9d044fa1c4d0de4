"""The local stack repairs itself: a dead process comes back alone, where it was.

Each test starts its own stack (real Kafka and Redis processes) in a temporary home,
kills a process with SIGKILL, and checks what ``stack status`` and ``stack up`` do.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import redis
from kafka import TopicPartition

from driftline.adapters.endpoints import Endpoints
from driftline.adapters.kafka_clients import admin_client, make_consumer, make_producer
from driftline.adapters.settings import KafkaSettings, StackSettings
from driftline.stack import LocalStack
from driftline.stack.processes import start_ticks

pytestmark = pytest.mark.integration


def make_stack(home: Path, brokers: int) -> LocalStack:
    return LocalStack(StackSettings(home=home, brokers=brokers, kafka_heap="384m"))


@pytest.fixture
def stack_home(tmp_path: Path, services: Endpoints) -> Path:
    if services.source != "local-stack":
        pytest.skip("the local stack is not what this run uses (existing cluster or Docker)")
    return tmp_path / "stack"


@pytest.fixture
def three_brokers(stack_home: Path) -> Iterator[LocalStack]:
    stack = make_stack(stack_home, 3)
    try:
        stack.up()
        yield stack
    finally:
        stack.down(purge=True)


@pytest.fixture
def one_broker(stack_home: Path) -> Iterator[LocalStack]:
    stack = make_stack(stack_home, 1)
    try:
        stack.up()
        yield stack
    finally:
        stack.down(purge=True)


def kill(pid: int, timeout_s: float = 30) -> None:
    """SIGKILL ``pid`` and wait until it is gone (reaped if it is our child)."""
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + timeout_s
    while start_ticks(pid) is not None:
        assert time.monotonic() < deadline, f"process {pid} outlived SIGKILL"
        time.sleep(0.05)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


def stack_command(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRIFTLINE_")}
    env |= {"DRIFTLINE_STACK_HOME": str(home), "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "driftline", "stack", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def status_json(home: Path) -> tuple[int, dict[str, Any]]:
    done = stack_command(home, "status", "--json")
    return done.returncode, json.loads(done.stdout.strip().splitlines()[-1])


def by_node(status: dict[str, Any]) -> dict[int, dict[str, Any]]:
    return {broker["node_id"]: broker for broker in status["brokers"]}


def read_all(kafka: KafkaSettings, topic: str, expected: int, timeout_s: float = 60) -> list[bytes]:
    consumer = make_consumer(kafka, enable_auto_commit=False)
    try:
        partition = TopicPartition(topic, 0)
        consumer.assign([partition])
        consumer.seek_to_beginning(partition)
        values: list[bytes] = []
        deadline = time.monotonic() + timeout_s
        while len(values) < expected and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=500).values():
                values += [record.value for record in records]
        return values
    finally:
        consumer.close()


def write(kafka: KafkaSettings, topic: str, values: list[bytes]) -> None:
    producer = make_producer(kafka)  # acks="all"
    try:
        for value in values:
            producer.send(topic, value)
        producer.flush(timeout=60)
    finally:
        producer.close()


def in_sync(kafka: KafkaSettings, topic: str) -> list[int]:
    with admin_client(kafka) as admin:
        [described] = admin.describe_topics([topic])
    [partition] = described["partitions"]
    assert sorted(partition["replica_nodes"]) == [1, 2, 3]
    return sorted(partition["isr_nodes"])


def wait_for(condition: Callable[[], bool], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def test_a_killed_broker_leaves_the_stack_usable_and_up_restarts_only_it(
    three_brokers: LocalStack,
) -> None:
    stack = three_brokers
    before = stack.status().to_dict()
    endpoints = stack.endpoints()
    assert endpoints is not None
    kafka = KafkaSettings(bootstrap=endpoints.bootstrap, request_timeout_ms=10_000)
    topic = "replicated"
    with admin_client(kafka) as admin:
        admin.create_topics(
            {
                topic: {
                    "num_partitions": 1,
                    "replication_factor": 3,
                    "configs": {"min.insync.replicas": "2"},
                }
            }
        )
    first = [f"before-{i}".encode() for i in range(10)]
    write(kafka, topic, first)
    cluster_id = json.loads(stack.state_path.read_text())["cluster_id"]
    victim = by_node(before)[2]
    meta = Path(victim["home"], "data", "meta.properties").read_text()

    kill(victim["pid"])

    # status: one broker down, the stack still usable (exit 0), each process shown
    code, shown = status_json(stack.home)
    assert code == 0, shown
    assert shown["running"] is True
    assert shown["degraded"] is True
    assert shown["down"] == ["kafka-2"]
    assert {n: b["alive"] for n, b in by_node(shown).items()} == {1: True, 2: False, 3: True}
    assert shown["redis"]["alive"] is True
    assert shown["bootstrap_servers"] == before["bootstrap_servers"]  # the full list
    table = stack_command(stack.home, "status")
    assert table.returncode == 0
    assert "degraded" in table.stdout
    # the clients keep their full bootstrap list while it is degraded
    degraded = stack.endpoints()
    assert degraded is not None and degraded.bootstrap == endpoints.bootstrap

    repaired = stack.up().to_dict()

    assert repaired["running"] is True and repaired["degraded"] is False
    assert repaired["down"] == []
    old, new = by_node(before), by_node(repaired)
    assert new[2]["pid"] != old[2]["pid"]
    for node in (1, 3):  # the live brokers were left alone
        assert (new[node]["pid"], new[node]["started"]) == (old[node]["pid"], old[node]["started"])
    for node in (1, 2, 3):  # same ports and folders: the quorum and clients still agree
        for key in ("port", "controller_port", "home"):
            assert new[node][key] == old[node][key], (node, key)
    assert repaired["redis"]["pid"] == before["redis"]["pid"]
    assert repaired["bootstrap_servers"] == before["bootstrap_servers"]
    # the same storage, not reformatted, in the same cluster
    assert json.loads(stack.state_path.read_text())["cluster_id"] == cluster_id
    assert Path(victim["home"], "data", "meta.properties").read_text() == meta

    # the replicated topic takes writes (acks=all) and gives back everything
    second = [f"after-{i}".encode() for i in range(10)]
    write(kafka, topic, second)
    assert read_all(kafka, topic, 20) == first + second
    # and the restarted broker catches up: back in the in-sync replicas of the partition
    assert wait_for(lambda: in_sync(kafka, topic) == [1, 2, 3], 60), in_sync(kafka, topic)


def assert_refuses_anonymous(port: int) -> None:
    anonymous = redis.Redis(host="127.0.0.1", port=port)
    try:
        with pytest.raises(redis.AuthenticationError):
            anonymous.ping()
    finally:
        anonymous.close()


def test_a_killed_redis_comes_back_on_its_port_with_its_data(one_broker: LocalStack) -> None:
    stack = one_broker
    before = stack.status().to_dict()
    endpoints = stack.endpoints()
    assert endpoints is not None
    assert_refuses_anonymous(before["redis"]["port"])
    client = redis.Redis.from_url(endpoints.redis_url)
    try:
        client.set("written-before", "still here")
    finally:
        client.close()

    kill(before["redis"]["pid"])
    code, shown = status_json(stack.home)
    assert code == 1, shown  # Redis is down: nothing to work with
    assert shown["running"] is False
    assert shown["redis"]["alive"] is False
    assert by_node(shown)[1]["alive"] is True

    repaired = stack.up().to_dict()

    assert repaired["running"] is True and repaired["degraded"] is False
    assert repaired["redis"]["port"] == before["redis"]["port"]
    assert_refuses_anonymous(before["redis"]["port"])  # the password came back with it
    assert repaired["redis"]["pid"] != before["redis"]["pid"]
    assert by_node(repaired)[1]["pid"] == by_node(before)[1]["pid"]
    again = stack.endpoints()
    assert again is not None and again.redis_url == endpoints.redis_url
    client = redis.Redis.from_url(again.redis_url)
    try:
        assert client.get("written-before") == b"still here"
    finally:
        client.close()


def test_the_stack_keeps_its_secrets_to_itself(one_broker: LocalStack) -> None:
    stack = one_broker
    password = (stack.secrets_dir / "redis.password").read_text()
    key = stack.checkpoint_key()
    assert key is not None and len(key) == 64
    endpoints = stack.endpoints()
    assert endpoints is not None and f":{password}@" in endpoints.redis_url
    assert password not in stack.state_path.read_text()
    assert password not in json.dumps(stack.status().to_dict())
    for args in (["status", "--json"], ["status"], ["up", "--json"]):
        done = stack_command(stack.home, *args)
        assert done.returncode == 0, done.stderr
        assert password not in done.stdout + done.stderr, args
        assert key.decode() not in done.stdout + done.stderr, args
    # an 'up' of the running stack, and a restart of Redis, keep the same secrets
    kill(stack.status().to_dict()["redis"]["pid"])
    stack.up()
    assert (stack.secrets_dir / "redis.password").read_text() == password
    assert stack.checkpoint_key() == key
    again = stack.endpoints()
    assert again is not None and again.redis_url == endpoints.redis_url


def test_local_redis_refuses_a_client_without_the_password(services: Endpoints) -> None:
    if services.source != "local-stack":
        pytest.skip("the local stack is not what this run uses (existing cluster or Docker)")
    url = urlsplit(services.redis_url)
    assert url.password, "the local stack's Redis URL carries its password"
    anonymous = redis.Redis(host=url.hostname or "127.0.0.1", port=url.port or 6379)
    try:
        with pytest.raises(redis.AuthenticationError):
            anonymous.ping()
    finally:
        anonymous.close()
    authenticated = redis.Redis.from_url(services.redis_url)
    try:
        assert authenticated.ping()
    finally:
        authenticated.close()
