"""Redis full and a broken script, on the real Redis: ``maxmemory`` under ``noeviction``
makes every write of the sink and the checkpoint store a :class:`StoreFull` (waited out,
nothing written), and memory freed lets the same call through; a Lua error of the batch
script itself is a :class:`RedisScriptError` (a bug: not retried)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import redis

from driftline.adapters.checkpoints.stores import RedisCheckpointStore
from driftline.adapters.endpoints import Endpoints
from driftline.adapters.redis_clients import make_redis
from driftline.adapters.redis_sink import RedisSink
from driftline.adapters.redis_sink import batch as batch_script
from driftline.core.errors import RedisScriptError, StoreFull
from driftline.core.events.records import Prediction

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
