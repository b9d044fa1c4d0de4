"""Checkpoint stores: where sealed checkpoint blobs live, one per partition.

Both implement :class:`~pipeline.core.checkpoint.CheckpointStore`; the blobs' format and
seal are the core's (:mod:`pipeline.core.checkpoint`).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from pipeline.adapters.redis_clients import REDIS_ERRORS, is_cluster
from pipeline.adapters.redis_keys import RedisKeys, unlink_all
from pipeline.core.errors import ServiceUnavailable

__all__ = ["DirectoryCheckpointStore", "RedisCheckpointStore"]


class RedisCheckpointStore:
    """``<ns>:checkpoint:<partition>`` strings: one SET is atomic.

    Durable across a Redis restart only with persistence on (``appendonly yes``, as the
    local stack and the compose file run it). On a Redis Cluster the partitions' keys
    spread over the slots: :meth:`all` and :meth:`clear` scan every master and read or
    delete slot by slot, one round trip per node.
    """

    def __init__(self, client: Any, namespace: str) -> None:
        self._redis = client
        self._keys = RedisKeys(namespace)

    def load(self, partition: int) -> bytes | None:
        try:
            blob = self._redis.get(self._keys.checkpoint(partition))
        except REDIS_ERRORS as exc:
            raise ServiceUnavailable(f"checkpoint {partition} not read: {exc!r}") from exc
        return bytes(blob) if blob is not None else None

    def save(self, partition: int, blob: bytes) -> None:
        try:
            self._redis.set(self._keys.checkpoint(partition), blob)
        except REDIS_ERRORS as exc:
            raise ServiceUnavailable(f"checkpoint {partition} not saved: {exc!r}") from exc

    def all(self) -> dict[int, bytes]:
        keys = sorted(self._redis.scan_iter(match=self._keys.checkpoint_pattern, count=1000))
        if not keys:
            blobs = []
        elif is_cluster(self._redis):  # one MGET per slot, sent to each node together
            blobs = self._redis.mget_nonatomic(keys)
        else:
            blobs = self._redis.mget(keys)
        found = {}
        for key, blob in zip(keys, blobs, strict=True):
            name = key.decode() if isinstance(key, bytes) else key
            if blob is not None:
                found[int(name.rsplit(":", 1)[1])] = bytes(blob)
        return found

    def clear(self) -> int:
        keys = list(self._redis.scan_iter(match=self._keys.checkpoint_pattern, count=1000))
        unlink_all(self._redis, keys)
        return len(keys)


class DirectoryCheckpointStore:
    """``<dir>/partition-<p>.ckpt`` files, written to a temporary file, synced, renamed."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    def _path(self, partition: int) -> Path:
        return self.directory / f"partition-{partition}.ckpt"

    def load(self, partition: int) -> bytes | None:
        try:
            return self._path(partition).read_bytes()
        except FileNotFoundError:
            return None

    def save(self, partition: int, blob: bytes) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".partition-", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(blob)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self._path(partition))
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        dir_fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    def all(self) -> dict[int, bytes]:
        found = {}
        for path in sorted(self.directory.glob("partition-*.ckpt")):
            found[int(path.stem.split("-", 1)[1])] = path.read_bytes()
        return found

    def clear(self) -> int:
        paths = list(self.directory.glob("partition-*.ckpt"))
        for path in paths:
            path.unlink(missing_ok=True)
        return len(paths)
