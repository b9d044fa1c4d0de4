"""Redis clients without a server: slots, grouping by node, what a bad URL gets."""

from __future__ import annotations

import pytest
import redis
from hypothesis import given
from hypothesis import strategies as st
from redis.exceptions import RedisClusterException

from driftline.adapters.checkpoints.stores import RedisCheckpointStore
from driftline.adapters.redis_clients import (
    REDIS_ERRORS,
    is_cluster,
    make_redis,
    nodes_of,
    slot_of,
)
from driftline.adapters.redis_keys import RedisKeys
from driftline.core.errors import ConfigError, ServiceUnavailable


@given(st.text(min_size=1, max_size=40))
def test_a_slot_is_in_range_and_the_same_for_text_and_bytes(key: str) -> None:
    slot = slot_of(key)
    assert 0 <= slot < 16384
    assert slot_of(key.encode()) == slot


def test_the_schemas_keys_spread_over_slots_unless_tagged() -> None:
    keys = RedisKeys("demo")
    names = [keys.prediction(f"k{i}") for i in range(50)] + [keys.metrics, keys.checkpoint(0)]
    assert len({slot_of(name) for name in names}) > 40  # no hash tag: spread
    assert slot_of("{demo}:metrics") == slot_of("{demo}:prediction:EWR")


def test_a_single_redis_is_one_group() -> None:
    client = redis.Redis()  # no connection is made
    assert not is_cluster(client)
    assert nodes_of(client, iter(["b", "a", "b"])) == {None: ["b", "a", "b"]}


def test_a_bad_url_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="not valid"):
        make_redis("http://127.0.0.1:6379/0")


def test_a_redis_that_does_not_answer_is_unavailable_unless_unchecked() -> None:
    url = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    with pytest.raises(ServiceUnavailable, match="did not answer"):
        make_redis(url, timeout_s=1)
    client = make_redis(url, check=False, timeout_s=1)
    assert isinstance(client, redis.Redis)
    client.close()


def test_cluster_client_failures_are_redis_errors_to_the_store() -> None:
    """redis-py's cluster client raises RedisClusterException (not a RedisError) when no
    node answers: the checkpoint store reports it as an outage like any other."""
    assert RedisClusterException in REDIS_ERRORS

    class Unreachable:
        def get(self, key: str) -> bytes:
            raise RedisClusterException("Redis Cluster cannot be connected")

        def set(self, key: str, value: bytes) -> None:
            raise RedisClusterException("Redis Cluster cannot be connected")

    store = RedisCheckpointStore(Unreachable(), "demo")
    with pytest.raises(ServiceUnavailable):
        store.load(0)
    with pytest.raises(ServiceUnavailable):
        store.save(0, b"blob")
