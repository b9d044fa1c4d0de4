"""The checkpoint history: the last K checkpoints of each partition, in both stores.

Each test runs on the real Redis (its own namespace) and on a directory in ``tmp_path``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from driftline.adapters.checkpoints.stores import DirectoryCheckpointStore, RedisCheckpointStore
from driftline.adapters.endpoints import Endpoints
from driftline.adapters.redis_clients import make_redis, slot_of
from driftline.adapters.redis_keys import RedisKeys
from driftline.consumers.tasks import TaskStore
from driftline.core.errors import ServiceUnavailable
from driftline.core.task.checkpoint import describe, restore_task
from driftline.core.task.partition import TaskConfig
from driftline.core.task.seal import CheckpointCodec, CheckpointStore
from driftline.stack.processes import free_port
from tests.conftest import TEST_CHECKPOINT_KEY

pytestmark = pytest.mark.integration

MakeStore = Callable[[int], CheckpointStore]


@pytest.fixture
def client(services: Endpoints) -> Iterator[Any]:
    made = make_redis(services.redis_url)
    yield made
    made.close()


@pytest.fixture(params=["redis", "directory"])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> MakeStore:
    """A store of either kind, keeping ``history`` checkpoints per partition."""
    if request.param == "directory":
        return lambda history: DirectoryCheckpointStore(tmp_path / "checkpoints", history)
    client = request.getfixturevalue("client")
    namespace = request.getfixturevalue("namespace")
    return lambda history: RedisCheckpointStore(client, namespace, history)


def _blob(partition: int, offset: int) -> bytes:
    return f"partition {partition} at {offset} ".encode() * 50


def _leftovers(store: CheckpointStore, client: Any, namespace: str) -> list[Any]:
    """Everything the store has on disk or in Redis."""
    if isinstance(store, DirectoryCheckpointStore):
        return sorted(p.relative_to(store.directory) for p in store.directory.rglob("*"))
    return sorted(client.scan_iter(match=f"{namespace}:*", count=1000))


def test_the_history_keeps_the_k_newest_newest_first(make_store: MakeStore) -> None:
    store = make_store(3)
    for offset in (10, 25, 40, 55, 70):
        store.save(0, _blob(0, offset), offset)
    store.save(1, _blob(1, 5), 5)
    assert store.history(0) == [(o, _blob(0, o)) for o in (70, 55, 40)]
    assert store.history(1) == [(5, _blob(1, 5))]
    assert store.history(2) == []
    assert store.load(0) == _blob(0, 70)
    assert store.load_at(0, 40) == _blob(0, 40)  # the exact blob
    assert store.load_at(0, 25) is None and store.load_at(0, 41) is None
    assert store.load_at(7, 10) is None
    assert store.all() == {0: _blob(0, 70), 1: _blob(1, 5)}  # the latest only
    assert store.partitions() == [0, 1]
    again = make_store(3)  # another process reading the same store
    assert again.history(0) == store.history(0)


def test_two_writers_of_one_partition_keep_it_bounded_and_never_lose_the_newest(
    make_store: MakeStore,
) -> None:
    """A partition handed back and forth between two workers: each trims by the offsets
    its last save saw, so the history may hold one more for a save, never loses one of
    the newest, and settles at its bound."""
    first, second = make_store(3), make_store(3)
    saved: list[int] = []
    for n, store in enumerate([first, first, second, first, second, second, first, first]):
        offset = 10 * (n + 1)
        store.save(0, _blob(0, offset), offset)
        saved.append(offset)
        kept = [o for o, _ in first.history(0)]
        assert kept[:3] == saved[::-1][:3] and len(kept) <= 4, (saved, kept)
    assert [o for o, _ in first.history(0)] == saved[::-1][:3]


def test_offsets_order_the_history_not_their_digits(make_store: MakeStore) -> None:
    store = make_store(2)
    for offset in (9, 99, 100, 1000):
        store.save(4, _blob(4, offset), offset)
    assert [o for o, _ in store.history(4)] == [1000, 100]


def test_the_same_offset_saved_again_is_replaced(make_store: MakeStore) -> None:
    store = make_store(5)
    store.save(0, b"first", 10)
    store.save(0, b"again", 10)
    assert store.history(0) == [(10, b"again")]
    assert store.load(0) == b"again"


def test_a_save_without_an_offset_replaces_only_the_latest(make_store: MakeStore) -> None:
    store = make_store(5)
    store.save(0, b"at 10", 10)
    store.save(0, b"fresh task")
    assert store.load(0) == b"fresh task"
    assert store.history(0) == [(10, b"at 10")]
    with pytest.raises(ValueError, match="negative"):
        store.save(0, b"x", -1)


def test_clear_forgets_the_history_too(make_store: MakeStore, client: Any, namespace: str) -> None:
    store = make_store(4)
    for partition in (0, 1, 2):
        for offset in (1, 2, 3):
            store.save(partition, _blob(partition, offset), offset)
    assert _leftovers(store, client, namespace)
    assert store.clear() == 3
    assert store.history(1) == [] and store.all() == {} and store.partitions() == []
    assert _leftovers(store, client, namespace) == []
    store.save(1, b"after", 9)  # a cleared store works as new
    assert store.history(1) == [(9, b"after")]


@pytest.mark.parametrize("history", [0, 1])
def test_history_of_one_keeps_only_the_latest_as_before(
    make_store: MakeStore, client: Any, namespace: str, history: int
) -> None:
    store = make_store(history)
    for offset in (10, 20):
        store.save(3, _blob(3, offset), offset)
    assert store.load(3) == _blob(3, 20)
    assert store.history(3) == [] and store.load_at(3, 20) is None
    assert store.all() == {3: _blob(3, 20)}
    if isinstance(store, DirectoryCheckpointStore):
        assert _leftovers(store, client, namespace) == [Path("partition-3.ckpt")]
    else:
        assert _leftovers(store, client, namespace) == [RedisKeys(namespace).checkpoint(3).encode()]


def test_the_task_store_keeps_each_checkpoint_by_its_next_offset(make_store: MakeStore) -> None:
    store = make_store(10)
    codec = CheckpointCodec(TEST_CHECKPOINT_KEY.encode())
    tasks = TaskStore(store, codec, TaskConfig(), "history")
    task = tasks.fresh(2)
    for offset in (100, 200):
        task.next_offset = offset
        tasks.save(task)
    assert [o for o, _ in store.history(2)] == [200, 100]
    old = store.load_at(2, 100)
    assert old is not None and describe(old, codec)["next_offset"] == 100
    assert restore_task(old, codec, TaskConfig(), 2).next_offset == 100


# -- Redis: the keys and a save that fails -------------------------------------------------
def test_redis_history_shares_the_latest_keys_slot(client: Any, namespace: str) -> None:
    keys = RedisKeys(namespace)
    store = RedisCheckpointStore(client, namespace)
    store.save(6, b"blob", 60)
    assert sorted(client.scan_iter(match=f"{namespace}:*")) == sorted(
        [keys.checkpoint(6).encode(), keys.checkpoint_history(6).encode()]
    )
    assert slot_of(keys.checkpoint_history(6)) == slot_of(keys.checkpoint(6))
    assert list(client.scan_iter(match=keys.checkpoint_pattern)) == [keys.checkpoint(6).encode()]


def test_redis_a_history_key_of_another_type_keeps_the_latest_whole(
    client: Any, namespace: str, caplog: pytest.LogCaptureFixture
) -> None:
    keys = RedisKeys(namespace)
    store = RedisCheckpointStore(client, namespace, history=3)
    store.save(0, b"old", 1)
    client.delete(keys.checkpoint_history(0))
    client.set(keys.checkpoint_history(0), b"not a hash")
    store.save(0, b"new", 2)
    assert store.load(0) == b"new"  # the latest is replaced whole
    assert client.get(keys.checkpoint_history(0)) == b"not a hash"  # left alone
    assert store.history_refused == 1 and "WRONGTYPE" in caplog.text
    with pytest.raises(ServiceUnavailable, match="history 0 not read"):
        store.history(0)
    assert store.clear() == 1 and _leftovers(store, client, namespace) == []


def test_redis_a_save_that_does_not_reach_redis_leaves_the_old_checkpoint(
    client: Any, namespace: str
) -> None:
    store = RedisCheckpointStore(client, namespace)
    store.save(0, b"old", 1)
    url = f"redis://127.0.0.1:{free_port()}/0"
    down = RedisCheckpointStore(make_redis(url, check=False, timeout_s=1), namespace)
    with pytest.raises(ServiceUnavailable, match="checkpoint 0 not saved"):
        down.save(0, b"new", 2)
    assert store.load(0) == b"old" and store.history(0) == [(1, b"old")]


# -- the directory: a save that fails ------------------------------------------------------
@pytest.mark.parametrize("failing", ["latest", "history"])
def test_directory_a_failed_save_leaves_the_latest_old_or_new(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    store = DirectoryCheckpointStore(tmp_path, history=3)
    store.save(0, b"old", 1)
    real_replace = os.replace

    def replace(src: Any, dst: Any) -> None:
        if (Path(dst).parent == tmp_path) == (failing == "latest"):
            raise OSError(28, "No space left on device")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(OSError, match="No space left"):
        store.save(0, b"new", 2)
    monkeypatch.undo()
    assert store.load(0) == (b"old" if failing == "latest" else b"new")
    assert store.history(0) == [(1, b"old")]
    assert [p.name for p in tmp_path.rglob(".*")] == []  # no temporary file left


def test_directory_history_entries_are_links_to_the_latest(tmp_path: Path) -> None:
    store = DirectoryCheckpointStore(tmp_path, history=2)
    store.save(0, b"one", 1)
    entry = tmp_path / "history" / "partition-0" / f"{1:020d}.ckpt"
    assert os.path.samefile(entry, tmp_path / "partition-0.ckpt")
    store.save(0, b"two", 2)  # the latest is replaced by a rename: the entry keeps its bytes
    assert entry.read_bytes() == b"one" and entry.stat().st_nlink == 1


def test_directory_without_hard_links_copies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_links(*args: Any) -> None:
        raise OSError(1, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    store = DirectoryCheckpointStore(tmp_path, history=2)
    for offset in (1, 2, 3):
        store.save(0, _blob(0, offset), offset)
    assert store.history(0) == [(3, _blob(0, 3)), (2, _blob(0, 2))]
    assert [p.name for p in tmp_path.rglob(".*")] == []
