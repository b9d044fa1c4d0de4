"""Redis full on a secured stack (``stack up --secure``, with
``DRIFTLINE_STACK_REDIS_MAXMEMORY``): its ACL user may not run CONFIG, so the limit is the
stack's own; over TLS, a write beyond it is a :class:`StoreFull` (waited out), and the
same write goes through once memory is freed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from driftline.adapters.checkpoints.stores import RedisCheckpointStore
from driftline.adapters.endpoints import Endpoints
from driftline.adapters.redis_clients import make_redis
from driftline.adapters.redis_sink import RedisSink
from driftline.adapters.settings import StackSettings
from driftline.core.errors import StoreFull
from driftline.stack import LocalStack
from tests.integration.adapters.test_redis_full import _prediction

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def secured_redis(
    tmp_path_factory: pytest.TempPathFactory, services: Endpoints
) -> Iterator[redis.Redis]:
    if services.source != "local-stack":
        pytest.skip("the local stack is not what this run uses (existing cluster or Docker)")
    home = tmp_path_factory.mktemp("secured-full") / "stack"
    stack = LocalStack(
        StackSettings(home=home, secure=True, kafka_heap="384m", redis_maxmemory="3mb")
    )
    try:
        stack.up()
        found = stack.endpoints()
        assert found is not None and found.redis_url.startswith("rediss://")
        client = make_redis(found.redis_url)
        yield client
        client.close()
    finally:
        stack.down(purge=True)


def test_a_full_secured_redis_refuses_as_store_full_and_takes_the_write_once_freed(
    secured_redis: redis.Redis,
) -> None:
    client = secured_redis
    with pytest.raises(redis.ResponseError):
        client.config_get("maxmemory")  # the ACL user is no administrator
    sink = RedisSink(client, "sec-full")
    store = RedisCheckpointStore(client, "sec-full", history=3)
    filler = 0
    with pytest.raises(StoreFull, match="Redis is full"):  # noqa: PT012 - filled in steps
        while filler < 10_000:  # about 3 MB of stream entries; bounded all the same
            sink.write([_prediction(n) for n in range(filler, filler + 200)], [])
            filler += 200
    assert filler > 0, "the first write was refused: the limit is below Redis's own needs"
    with pytest.raises(StoreFull):
        store.save(0, b"x" * 100_000, 10)
    client.delete("sec-full:predictions", *[f"sec-full:prediction:k{n}" for n in range(filler)])
    batch = [_prediction(n) for n in range(50)]
    assert sink.write(batch, [{"partition": 0, "scored": 1}]) == 50
    store.save(0, b"x" * 100_000, 10)
    assert store.load(0) == b"x" * 100_000
