"""driftline.adapters.redis_memory: a Redis's eviction policy, of one server or the riskiest
node of a cluster, and nothing guessed when Redis does not say."""

from __future__ import annotations

from typing import Any

import pytest
import redis

from driftline.adapters.redis_memory import MemoryPolicy, memory_policy
from driftline.core.errors import ConfigError


class Info:
    def __init__(self, answer: Any) -> None:
        self.answer = answer

    def info(self, section: str) -> Any:
        assert section == "memory"
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def test_one_server() -> None:
    found = memory_policy(Info({"maxmemory_policy": "volatile-ttl", "maxmemory": 100}))
    assert found == MemoryPolicy("volatile-ttl", 100)
    assert found.evicts and not found.evicts_any_key


def test_a_cluster_is_as_safe_as_its_riskiest_node() -> None:
    nodes = {
        "127.0.0.1:7000": {"maxmemory_policy": "noeviction", "maxmemory": 0},
        "127.0.0.1:7001": {"maxmemory_policy": "allkeys-lfu", "maxmemory": 5},
        "127.0.0.1:7002": {"maxmemory_policy": "volatile-lru", "maxmemory": 5},
    }
    assert memory_policy(Info(nodes)) == MemoryPolicy("allkeys-lfu", 5)


def test_nothing_is_guessed_when_redis_does_not_say() -> None:
    assert memory_policy(Info(redis.ResponseError("NOPERM this user has no permissions"))) is None
    assert memory_policy(Info({"used_memory": 1})) is None


@pytest.mark.parametrize(
    ("policy", "refused", "warned"),
    [
        ("noeviction", False, False),
        ("volatile-lru", False, True),
        ("volatile-random", False, True),
        ("allkeys-lru", True, True),
        ("allkeys-random", True, True),
    ],
)
def test_what_each_policy_means(policy: str, refused: bool, warned: bool) -> None:
    found = MemoryPolicy(policy, 1 << 20)
    assert (found.warning() is not None) == warned
    found.check_checkpoints("directory")  # never refused on disk
    if refused:
        with pytest.raises(ConfigError, match=policy):
            found.check_checkpoints("redis")
    else:
        found.check_checkpoints("redis")
