"""What Redis does when it is full, and what that means for driftline's keys.

Redis full with ``maxmemory-policy noeviction`` refuses writes (``OOM``), which the worker
waits out (:class:`~driftline.core.errors.StoreFull`): nothing is lost. With an eviction
policy it drops keys instead, silently:

- ``allkeys-*``: any key, a checkpoint included. A lost checkpoint would replay a partition
  from its start, or from an older checkpoint: the worker refuses to keep checkpoints in
  such a Redis (keep them on disk, ``DRIFTLINE_CHECKPOINT_STORE=directory``, or change the
  policy);
- ``volatile-*``: keys with a time to live only, which the latest-prediction hashes have
  (``DRIFTLINE_PREDICTION_TTL_S``) and checkpoints never do.

The worker (at start), ``serve``'s readiness and ``driftline stack status`` say so.

>>> MemoryPolicy("noeviction", 0).warning() is None
True
>>> MemoryPolicy("volatile-lru", 1 << 30).warning().split(": ")[1]
'latest predictions may vanish before their time; checkpoints never expire and stay'
>>> MemoryPolicy("allkeys-lru", 0).check_checkpoints("directory")  # on disk: fine
>>> try:
...     MemoryPolicy("allkeys-lru", 0).check_checkpoints("redis")
... except ConfigError as exc:
...     print(str(exc)[:68])
checkpoints cannot live in a Redis that evicts any key when full (ma
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from redis.cluster import RedisCluster

from driftline.adapters.redis_clients import REDIS_ERRORS, is_cluster
from driftline.core.errors import ConfigError

__all__ = ["MemoryPolicy", "check_for_worker", "memory_policy"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MemoryPolicy:
    """A Redis's ``maxmemory-policy`` and ``maxmemory`` (bytes; 0: no limit)."""

    policy: str
    maxmemory: int

    @property
    def evicts_any_key(self) -> bool:
        return self.policy.startswith("allkeys-")

    @property
    def evicts(self) -> bool:
        return self.evicts_any_key or self.policy.startswith("volatile-")

    def warning(self) -> str | None:
        """What may vanish from this Redis when it is full (``None``: nothing)."""
        if not self.evicts:
            return None
        how = f"maxmemory-policy {self.policy}, maxmemory {self.maxmemory}"
        if self.evicts_any_key:
            return (
                f"Redis evicts any key when full ({how}): predictions, metrics, series and "
                "alerts may vanish without a trace; noeviction makes driftline wait instead"
            )
        return (
            f"Redis evicts keys with a time to live when full ({how}): latest predictions "
            "may vanish before their time; checkpoints never expire and stay"
        )

    def check_checkpoints(self, store: str) -> None:
        """Refuse (:class:`ConfigError`) to keep checkpoints where they can be evicted."""
        if store == "redis" and self.evicts_any_key:
            raise ConfigError(
                "checkpoints cannot live in a Redis that evicts any key when full "
                f"(maxmemory-policy {self.policy}): set its policy to noeviction (or a "
                "volatile-* one), or keep checkpoints on disk with "
                "DRIFTLINE_CHECKPOINT_STORE=directory"
            )


#: Worst last: a cluster is as safe as its least safe node.
def _risk(policy: MemoryPolicy) -> int:
    return 2 if policy.evicts_any_key else 1 if policy.evicts else 0


def memory_policy(client: Any) -> MemoryPolicy | None:
    """The policy of the Redis behind ``client`` (of a Redis Cluster: its riskiest
    node's), from ``INFO memory``; ``None`` when Redis does not say (it refuses INFO or
    does not answer: then nothing is known, and nothing is refused on a guess)."""
    try:
        if is_cluster(client):  # INFO goes to one node unless told: ask every master
            info = client.info("memory", target_nodes=RedisCluster.PRIMARIES)
        else:
            info = client.info("memory")
    except REDIS_ERRORS:
        return None
    sections = [info] if "maxmemory_policy" in info else list(info.values())
    found = [
        MemoryPolicy(str(section["maxmemory_policy"]), int(section.get("maxmemory", 0)))
        for section in sections
        if isinstance(section, dict) and "maxmemory_policy" in section
    ]
    return max(found, key=_risk) if found else None


def check_for_worker(client: Any, checkpoint_store: str) -> MemoryPolicy | None:
    """At a worker's start: refuse checkpoints kept in a Redis that evicts any key
    (:class:`ConfigError`), and log a warning when predictions may be evicted."""
    policy = memory_policy(client)
    if policy is not None:
        policy.check_checkpoints(checkpoint_store)
        warning = policy.warning()
        if warning:
            log.warning("%s", warning)
    return policy
