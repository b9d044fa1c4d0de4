"""A secured stack's Redis keeps, across a restart, what it took in transactions and
scripts: the checkpoint store saves with MULTI/EXEC and the sink writes with a Lua script,
whose effects the append-only file holds as MULTI/EXEC too.

With its ``default`` user switched off, Redis up to 7.2 drops every such block of the file
when it starts, silently (redis/redis#14541): the secured soak lost the prediction-stream
entries of the 20 s before a restart that way. The stack keeps ``default`` on with a
password nobody knows (:func:`~driftline.stack.redis_node.render_redis_conf`)."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator

import pytest

from driftline.adapters.checkpoints.stores import RedisCheckpointStore
from driftline.adapters.endpoints import Endpoints
from driftline.adapters.redis_clients import make_redis
from driftline.adapters.redis_sink import RedisSink
from driftline.adapters.settings import StackSettings
from driftline.stack import LocalStack
from driftline.stack.processes import start_ticks
from tests.integration.adapters.test_redis_full import _prediction
from tests.integration.three_brokers import wait_for

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def secured_stack(
    tmp_path_factory: pytest.TempPathFactory, services: Endpoints
) -> Iterator[LocalStack]:
    if services.source != "local-stack":
        pytest.skip("the local stack is not what this run uses (existing cluster or Docker)")
    stack = LocalStack(
        StackSettings(
            home=tmp_path_factory.mktemp("secured-restart") / "stack",
            secure=True,
            kafka_heap="384m",
        )
    )
    try:
        stack.up()
        yield stack
    finally:
        stack.down(purge=True)


def test_a_restarted_secured_redis_keeps_scripts_and_transactions(
    secured_stack: LocalStack,
) -> None:
    found = secured_stack.endpoints()
    assert found is not None and found.redis_url.startswith("rediss://")
    client = make_redis(found.redis_url)
    sink = RedisSink(client, "sec-restart")
    store = RedisCheckpointStore(client, "sec-restart", history=3)
    assert sink.write([_prediction(n) for n in range(40)], [{"partition": 0, "scored": 40}]) == 40
    store.save(0, b"state" * 1000, 40)  # MULTI/EXEC
    client.set("sec-restart:plain", "1")  # a plain command: kept even with the bug
    client.close()

    pid = int(secured_stack.status().redis["pid"])  # type: ignore[index]
    os.kill(pid, signal.SIGTERM)  # the user may not run SHUTDOWN: the same, asked of the process
    wait_for(lambda: start_ticks(pid) is None, 60, "Redis to shut down")
    secured_stack.up()

    client = make_redis(found.redis_url)
    try:
        assert client.get("sec-restart:plain") == b"1"
        assert client.xlen("sec-restart:predictions") == 40
        assert client.hget("sec-restart:prediction:k39", "event_id") == b"e39"
        assert RedisCheckpointStore(client, "sec-restart", history=3).load(0) == b"state" * 1000
    finally:
        client.close()
