"""Checkpoint stores: where sealed checkpoint blobs live, the latest and a bounded history
of each partition.

Both implement :class:`~driftline.core.task.seal.CheckpointStore`; the blobs' format and
seal are the core's (:mod:`driftline.core.task.seal`). The directory store lives in
:mod:`driftline.adapters.checkpoints.files`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import redis

from driftline.adapters.checkpoints.files import DirectoryCheckpointStore
from driftline.adapters.redis_clients import REDIS_ERRORS, is_cluster, redis_failure
from driftline.adapters.redis_keys import RedisKeys, unlink_all
from driftline.core.errors import ServiceUnavailable

__all__ = ["DirectoryCheckpointStore", "RedisCheckpointStore"]

log = logging.getLogger(__name__)


def _offsets_of(fields: Iterable[Any]) -> list[int]:
    """The history's offsets from its field names (a field that is not one is left alone).

    >>> _offsets_of([b"100", b"9", "not-an-offset", b"20"])
    [9, 20, 100]
    """
    found = []
    for field in fields:
        text = field.decode("ascii", "replace") if isinstance(field, bytes) else str(field)
        if text.isdigit():
            found.append(int(text))
    return sorted(found)


class RedisCheckpointStore:
    """``<ns>:checkpoint:<partition>`` strings, and ``<ns>:checkpoint-history:{<latest key>}``
    hashes of the last ``history`` checkpoints by next offset.

    A save is one SET when no history is kept (``history`` 0 or 1, or no offset), else one
    MULTI/EXEC transaction that writes both keys, trims the history to its newest
    ``history`` offsets and reads the offsets left (what the next save trims): they share a
    cluster slot, the history key's hash tag being the latest key. (A Lua script did it
    before, at 5 ms more a save for 3.4 MB: Redis copies a script's arguments into Lua
    strings, docs/performance.md.) A history key of another type refuses only the history.
    Durable across a Redis restart only with persistence on (``appendonly yes``, as the
    local stack and the compose file run it). On a Redis Cluster the partitions' keys spread
    over the slots: :meth:`all` and :meth:`clear` scan
    every master and read or delete slot by slot, one round trip per node.
    """

    def __init__(self, client: Any, namespace: str, history: int = 10) -> None:
        self._redis = client
        self._keys = RedisKeys(namespace)
        self.keep = max(history, 1)
        #: The history's offsets of each partition as the last save found them (read once
        #: before the first save of a partition): what the next save trims.
        self._offsets: dict[int, list[int]] = {}
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
            history = self._keys.checkpoint_history(partition)
            known = self._offsets.get(partition)
            if known is None:
                known = self._history_offsets(history)
            offsets = sorted({*known, offset})
            pipe = self._redis.pipeline(transaction=True)
            pipe.set(latest, blob)
            pipe.hset(history, str(offset), blob)
            if len(offsets) > self.keep:
                pipe.hdel(history, *map(str, offsets[: -self.keep]))
            pipe.hkeys(history)
            replies = pipe.execute(raise_on_error=False)
        except REDIS_ERRORS as exc:
            self._offsets.pop(partition, None)
            raise redis_failure(exc, f"checkpoint {partition} not saved") from exc
        if isinstance(replies[0], Exception):  # the latest itself not written
            self._offsets.pop(partition, None)
            raise redis_failure(replies[0], f"checkpoint {partition} not saved") from replies[0]
        if isinstance(replies[-1], Exception):
            self._offsets.pop(partition, None)
            self.history_refused += 1
            log.error(
                "%s holds another type than a hash: checkpoint %d@%d saved, not kept in "
                "the history (WRONGTYPE)",
                history,
                partition,
                offset,
            )
        else:
            self._offsets[partition] = _offsets_of(replies[-1])

    def _history_offsets(self, history: str) -> list[int]:
        """The offsets a partition's history holds now (none when it is not a hash: the
        save then says so)."""
        try:
            return _offsets_of(self._redis.hkeys(history))
        except redis.ResponseError:  # WRONGTYPE: the save's own HSET reports it
            return []

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
