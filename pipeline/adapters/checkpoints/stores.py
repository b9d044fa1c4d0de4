"""Checkpoint stores: where sealed checkpoint blobs live, the latest and a bounded history
of each partition.

Both implement :class:`~driftline.core.task.seal.CheckpointStore`; the blobs' format and
seal are the core's (:mod:`driftline.core.task.seal`). The directory store lives in
:mod:`driftline.adapters.checkpoints.files`.
"""

from __future__ import annotations

import logging
from typing import Any

from driftline.adapters.checkpoints.files import DirectoryCheckpointStore
from driftline.adapters.redis_clients import REDIS_ERRORS, is_cluster, redis_failure
from driftline.adapters.redis_keys import RedisKeys, unlink_all
from driftline.core.errors import ServiceUnavailable

__all__ = ["DirectoryCheckpointStore", "RedisCheckpointStore"]

log = logging.getLogger(__name__)

#: Replace the latest checkpoint and keep the blob in the partition's history, in one
#: step: both keys share a cluster slot, and the blob crosses the network once.
#: KEYS[1] the latest checkpoint, KEYS[2] the history hash (field: next offset, decimal);
#: ARGV[1] the blob, ARGV[2] its next offset, ARGV[3] how many entries to keep.
#: Returns the entries kept, or -1 when the history key holds another type: the latest
#: is still replaced, and the history left alone (it never gets better by retrying).
_SAVE = """
local kind = redis.call('TYPE', KEYS[2]).ok
local kept = -1
if kind == 'hash' or kind == 'none' then
  redis.call('HSET', KEYS[2], ARGV[2], ARGV[1])
  local offsets = redis.call('HKEYS', KEYS[2])
  local keep = tonumber(ARGV[3])
  kept = #offsets
  if kept > keep then
    table.sort(offsets, function(a, b)
      if #a ~= #b then return #a < #b end
      return a < b
    end)
    redis.call('HDEL', KEYS[2], unpack(offsets, 1, kept - keep))
    kept = keep
  end
end
redis.call('SET', KEYS[1], ARGV[1])
return kept
"""


class RedisCheckpointStore:
    """``<ns>:checkpoint:<partition>`` strings, and ``<ns>:checkpoint-history:{<latest key>}``
    hashes of the last ``history`` checkpoints by next offset.

    A save is one SET when no history is kept (``history`` 0 or 1, or no offset), else one
    script that writes both keys atomically (they share a cluster slot: the history key's
    hash tag is the latest key). Durable across a Redis restart only with persistence on
    (``appendonly yes``, as the local stack and the compose file run it). On a Redis
    Cluster the partitions' keys spread over the slots: :meth:`all` and :meth:`clear` scan
    every master and read or delete slot by slot, one round trip per node.
    """

    def __init__(self, client: Any, namespace: str, history: int = 10) -> None:
        self._redis = client
        self._keys = RedisKeys(namespace)
        self.keep = max(history, 1)
        self._script: Any = None  # registered at the first save that keeps history
        #: Saves whose history Redis refused (its key holds another type).
        self.history_refused = 0

    def load(self, partition: int) -> bytes | None:
        try:
            blob = self._redis.get(self._keys.checkpoint(partition))
        except REDIS_ERRORS as exc:
            raise ServiceUnavailable(f"checkpoint {partition} not read: {exc!r}") from exc
        return bytes(blob) if blob is not None else None

    def save(self, partition: int, blob: bytes, offset: int | None = None) -> None:
        latest = self._keys.checkpoint(partition)
        try:
            if self.keep == 1 or offset is None:
                self._redis.set(latest, blob)
                return
            if offset < 0:
                raise ValueError(f"a checkpoint's offset is never negative: {offset}")
            if self._script is None:
                self._script = self._redis.register_script(_SAVE)
            history = self._keys.checkpoint_history(partition)
            kept = self._script(keys=[latest, history], args=[blob, offset, self.keep])
        except REDIS_ERRORS as exc:
            raise redis_failure(exc, f"checkpoint {partition} not saved") from exc
        if int(kept) < 0:
            self.history_refused += 1
            log.error(
                "%s holds another type than a hash: checkpoint %d@%d saved, not kept in "
                "the history (WRONGTYPE)",
                history,
                partition,
                offset,
            )

    def all(self) -> dict[int, bytes]:
        keys = sorted(self._scan(self._keys.checkpoint_pattern))
        try:
            if not keys:
                blobs = []
            elif is_cluster(self._redis):  # one MGET per slot, sent to each node together
                blobs = self._redis.mget_nonatomic(keys)
            else:
                blobs = self._redis.mget(keys)
        except REDIS_ERRORS as exc:
            raise ServiceUnavailable(f"checkpoints not read: {exc!r}") from exc
        found = {}
        for key, blob in zip(keys, blobs, strict=True):
            if blob is not None:
                found[RedisKeys.partition_of(key)] = bytes(blob)
        return found

    def history(self, partition: int) -> list[tuple[int, bytes]]:
        try:
            entries = self._redis.hgetall(self._keys.checkpoint_history(partition))
        except REDIS_ERRORS as exc:
            raise ServiceUnavailable(f"checkpoint history {partition} not read: {exc!r}") from exc
        return sorted(((int(k), bytes(v)) for k, v in entries.items()), reverse=True)

    def load_at(self, partition: int, offset: int) -> bytes | None:
        try:
            blob = self._redis.hget(self._keys.checkpoint_history(partition), str(offset))
        except REDIS_ERRORS as exc:
            raise ServiceUnavailable(f"checkpoint {partition}@{offset} not read: {exc!r}") from exc
        return bytes(blob) if blob is not None else None

    def partitions(self) -> list[int]:
        keys = self._scan(self._keys.checkpoint_pattern)
        keys += self._scan(self._keys.checkpoint_history_pattern)
        return sorted({RedisKeys.partition_of(key) for key in keys})

    def clear(self) -> int:
        latest = self._scan(self._keys.checkpoint_pattern)
        history = self._scan(self._keys.checkpoint_history_pattern)
        try:
            unlink_all(self._redis, latest + history)
        except REDIS_ERRORS as exc:
            raise ServiceUnavailable(f"checkpoints not deleted: {exc!r}") from exc
        return len(latest)

    def _scan(self, pattern: str) -> list[Any]:
        try:
            return list(self._redis.scan_iter(match=pattern, count=1000))
        except REDIS_ERRORS as exc:
            raise ServiceUnavailable(f"checkpoints not listed: {exc!r}") from exc
