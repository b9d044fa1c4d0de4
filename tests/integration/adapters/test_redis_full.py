"""Redis full, a broken script and eviction policies, on the real Redis: ``maxmemory``
under ``noeviction`` makes every write of the sink and the checkpoint store a
:class:`StoreFull` (waited out, nothing written), and memory freed lets the same call
through; a Lua error of the batch script itself is a :class:`RedisScriptError` (a bug: not
retried); a policy that evicts is said by ``stack status`` and the readiness's reader, and
a worker keeping checkpoints in a Redis that evicts any key is refused."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis

from driftline.adapters.checkpoints.stores import RedisCheckpointStore
from driftline.adapters.endpoints import Endpoints
from driftline.adapters.redis_clients import make_redis
from driftline.adapters.redis_sink import RedisSink
from driftline.adapters.redis_sink import batch as batch_script
from driftline.adapters.settings import Settings
from driftline.core.errors import RedisScriptError, StoreFull
from driftline.core.events.records import Prediction
from driftline.read.reader import PredictionsClient
from tests.integration.consumers.final_state import consume_env
from tests.integration.stack.test_stack_repair import stack_command, status_json

pytestmark = pytest.mark.integration

T0 = datetime(2024, 6, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def client(services: Endpoints) -> Iterator[redis.Redis]:
    made = make_redis(services.redis_url)
    yield made
    made.close()


@pytest.fixture
def full(client: redis.Redis) -> Iterator[redis.Redis]:
    """The test's Redis made full: ``maxmemory`` just under what it uses, ``noeviction``;
    put back as it was after the test (the session's other tests share it)."""
    try:
        before = client.config_get("maxmemory*")
    except redis.ResponseError as exc:  # CONFIG refused (a managed Redis): cannot fill it
        pytest.skip(f"CONFIG is refused here: {exc}")
    used = int(client.info("memory")["used_memory"])
    client.config_set("maxmemory-policy", "noeviction")
    client.config_set("maxmemory", max(used - 1024 * 1024, 1024 * 1024))
    try:
        yield client
    finally:
        client.config_set("maxmemory", before["maxmemory"])
        client.config_set("maxmemory-policy", before["maxmemory-policy"])


def _prediction(n: int) -> Prediction:
    return Prediction(f"k{n}", f"e{n}", 0, n, T0, T0, T0, True, {True: 0.7, False: 0.3}, 1)


def test_a_full_redis_refuses_as_store_full_and_takes_the_same_write_once_freed(
    client: redis.Redis, full: redis.Redis, namespace: str
):
    sink = RedisSink(client, namespace)
    store = RedisCheckpointStore(client, namespace, history=3)
    batch = [_prediction(n) for n in range(50)]
    with pytest.raises(StoreFull, match="Redis is full"):
        sink.write(batch, [{"partition": 0, "scored": 1}])
    with pytest.raises(StoreFull):
        store.save(0, b"x" * 1000, 10)
    assert client.exists(f"{namespace}:predictions") == 0  # nothing half-written
    full.config_set("maxmemory", 0)  # memory freed
    assert sink.write(batch, [{"partition": 0, "scored": 1}]) == 50
    store.save(0, b"x" * 1000, 10)
    assert client.xlen(f"{namespace}:predictions") == 50 and store.load(0) == b"x" * 1000


def test_a_lua_error_of_the_batch_script_is_a_script_error_not_an_outage(
    client: redis.Redis, namespace: str, monkeypatch: pytest.MonkeyPatch
):
    broken = batch_script.BATCH_BODY.replace(
        "local batch = cjson.decode(ARGV[3])", "local batch = cjson.decode(ARGV[3]) .. nil"
    )
    assert broken != batch_script.BATCH_BODY
    monkeypatch.setattr(batch_script, "BATCH_BODY", broken)
    sink = RedisSink(client, namespace)
    with pytest.raises(RedisScriptError, match="user_script"):
        sink.write([_prediction(1)], [])


@pytest.fixture
def policy(client: redis.Redis) -> Iterator[Callable[[str], None]]:
    """Sets the test's Redis's ``maxmemory-policy``; put back after the test."""
    try:
        before = client.config_get("maxmemory-policy")["maxmemory-policy"]
    except redis.ResponseError as exc:
        pytest.skip(f"CONFIG is refused here: {exc}")
    yield lambda name: client.config_set("maxmemory-policy", name)
    client.config_set("maxmemory-policy", before)


def test_an_evicting_redis_is_said_by_stack_status_and_readiness_and_refused_checkpoints(
    client: redis.Redis,
    policy: Callable[[str], None],
    local_stack_home: Path,
    settings: Settings,
    namespace: str,
):
    reader = PredictionsClient(client, namespace)
    assert reader.memory_warning() is None and status_json(local_stack_home)[1]["warnings"] == []
    policy("volatile-lru")
    assert "latest predictions may vanish" in (reader.memory_warning() or "")
    code, status = status_json(local_stack_home)
    assert code == 0 and "volatile-lru" in status["warnings"][0]
    text = stack_command(local_stack_home, "status").stdout
    assert "warning:" in text and "volatile-lru" in text
    policy("allkeys-lru")  # a worker keeping its checkpoints there is refused at start
    done = subprocess.run(
        [sys.executable, "-m", "driftline", "consume", "--until-idle", "1"],
        env=consume_env(settings, {}),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 2, done.stderr[-2000:]
    assert "DRIFTLINE_CHECKPOINT_STORE=directory" in done.stderr
    assert "Traceback" not in done.stderr
