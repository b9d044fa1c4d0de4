"""The checkpoint stores: a directory (atomic saves, temporary files ignored) and Redis
(keys by namespace and partition), each keeping a real checkpoint. The Redis store
runs against :class:`FakeRedis`, a dict standing in for a server (a fake, not a Redis)."""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from driftline.adapters.checkpoints.stores import DirectoryCheckpointStore, RedisCheckpointStore
from driftline.core.task.checkpoint import model_digest, restore_task, seal_task
from driftline.core.task.seal import CheckpointCodec
from tests.unit.core.task.checkpoint_stream import CONFIG, trained_task

KEY = b"k" * 32
CODEC = CheckpointCodec(KEY)
PARTITION = 3
NAMESPACE = "ckpt"


# -- DirectoryCheckpointStore ----------------------------------------------------------------------
def test_directory_store_save_load_all(tmp_path: Path) -> None:
    store = DirectoryCheckpointStore(tmp_path / "nested" / "dir")
    assert store.load(0) is None
    assert store.all() == {}
    store.save(2, b"two")
    store.save(10, b"ten")
    store.save(0, b"")
    assert store.load(2) == b"two" and store.load(10) == b"ten" and store.load(0) == b""
    assert store.all() == {0: b"", 2: b"two", 10: b"ten"}
    store.save(2, b"two again")
    assert store.load(2) == b"two again"
    assert sorted(p.name for p in store.directory.iterdir()) == [
        "partition-0.ckpt",
        "partition-10.ckpt",
        "partition-2.ckpt",
    ]


def test_directory_store_keeps_a_real_checkpoint(tmp_path: Path) -> None:
    task = trained_task()
    store = DirectoryCheckpointStore(tmp_path)
    store.save(PARTITION, seal_task(task, CODEC, NAMESPACE))
    again = restore_task(DirectoryCheckpointStore(tmp_path).load(PARTITION), CODEC, CONFIG, 3)
    assert model_digest(again) == model_digest(task)


def test_directory_store_never_shows_a_partial_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = DirectoryCheckpointStore(tmp_path)
    store.save(1, b"old blob")
    new = b"new blob " * 1000
    real_replace = os.replace
    seen: list[tuple[bytes, bytes]] = []

    def checking_replace(src: Any, dst: Any) -> None:
        seen.append((Path(dst).read_bytes(), Path(src).read_bytes()))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", checking_replace)
    store.save(1, new)
    assert seen == [(b"old blob", new)]  # the target is whole until the rename
    assert store.load(1) == new


@pytest.mark.parametrize("failing", ["replace", "fsync"])
def test_directory_store_failed_save_keeps_the_previous_blob(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    store = DirectoryCheckpointStore(tmp_path)
    store.save(1, b"previous")
    store.save(2, b"other")

    def boom(*args: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, failing, boom)
    with pytest.raises(OSError, match="No space left"):
        store.save(1, b"half-written replacement")
    monkeypatch.undo()
    assert store.load(1) == b"previous"
    assert store.all() == {1: b"previous", 2: b"other"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["partition-1.ckpt", "partition-2.ckpt"]
    assert list(tmp_path.glob("*.tmp")) == [] and list(tmp_path.glob(".*")) == []


def test_directory_store_all_ignores_temp_files(tmp_path: Path) -> None:
    store = DirectoryCheckpointStore(tmp_path)
    store.save(4, b"four")
    (tmp_path / ".partition-abc123.tmp").write_bytes(b"half")  # a crash mid-save leaves this
    (tmp_path / "partition-5.ckpt.tmp").write_bytes(b"half")
    (tmp_path / "notes.txt").write_bytes(b"x")
    assert store.all() == {4: b"four"}
    assert store.load(5) is None


# -- RedisCheckpointStore, against a fake ----------------------------------------------------------
class FakeRedis:
    """FAKE Redis client: a dict of bytes keys, with only what the store calls.

    Like redis-py without ``decode_responses``: keys come back as bytes, values as bytes,
    ``scan_iter`` filters with Redis's glob (``fnmatch`` is close enough for ``ns:x:*``).
    """

    def __init__(self) -> None:
        self.data: dict[bytes, bytes] = {}
        self.calls: list[str] = []

    @staticmethod
    def _bytes(value: str | bytes) -> bytes:
        return value.encode() if isinstance(value, str) else bytes(value)

    def get(self, key: str | bytes) -> bytes | None:
        self.calls.append("get")
        return self.data.get(self._bytes(key))

    def set(self, key: str | bytes, value: bytes) -> bool:
        self.calls.append("set")
        self.data[self._bytes(key)] = bytes(value)
        return True

    def scan_iter(self, match: str | None = None, count: int | None = None) -> Iterator[bytes]:
        self.calls.append("scan_iter")
        pattern = self._bytes(match) if match is not None else b"*"
        return iter([k for k in list(self.data) if fnmatch.fnmatchcase(k, pattern)])

    def mget(self, keys: Sequence[str | bytes]) -> list[bytes | None]:
        self.calls.append("mget")
        return [self.data.get(self._bytes(k)) for k in keys]


def test_redis_store_names_keys_by_namespace_and_partition() -> None:
    fake = FakeRedis()
    store = RedisCheckpointStore(fake, "demo")
    store.save(3, b"blob three")
    assert fake.data == {b"demo:checkpoint:3": b"blob three"}
    assert store.load(3) == b"blob three"
    assert store.load(4) is None
    store.save(3, b"replaced")
    assert fake.data == {b"demo:checkpoint:3": b"replaced"}
    assert fake.calls.count("set") == 2  # one SET per save: atomic


def test_redis_store_all_maps_partitions() -> None:
    fake = FakeRedis()
    store = RedisCheckpointStore(fake, "demo")
    assert store.all() == {}
    assert "mget" not in fake.calls  # no MGET with no keys
    for partition in (0, 2, 10, 11):
        store.save(partition, f"p{partition}".encode())
    fake.data[b"other:checkpoint:1"] = b"another namespace"
    fake.data[b"demo2:checkpoint:1"] = b"a namespace sharing the prefix"
    fake.data[b"demo:prediction:EWR"] = b"not a checkpoint"
    fake.data[b"demo:metrics"] = b"not a checkpoint"
    assert store.all() == {0: b"p0", 2: b"p2", 10: b"p10", 11: b"p11"}
    assert RedisCheckpointStore(fake, "other").all() == {1: b"another namespace"}


def test_redis_store_all_skips_a_key_deleted_between_scan_and_mget() -> None:
    class Vanishing(FakeRedis):
        """FAKE: partition 1 is deleted after SCAN saw it."""

        def mget(self, keys: Sequence[str | bytes]) -> list[bytes | None]:
            self.data.pop(b"demo:checkpoint:1", None)
            return super().mget(keys)

    fake = Vanishing()
    store = RedisCheckpointStore(fake, "demo")
    store.save(1, b"one")
    store.save(2, b"two")
    assert store.all() == {2: b"two"}


def test_redis_store_keeps_a_real_checkpoint() -> None:
    task = trained_task()
    store = RedisCheckpointStore(FakeRedis(), NAMESPACE)
    store.save(PARTITION, seal_task(task, CODEC, NAMESPACE))
    [(partition, blob)] = store.all().items()
    again = restore_task(blob, CODEC, CONFIG, partition)
    assert model_digest(again) == model_digest(task)
