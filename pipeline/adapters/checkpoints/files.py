"""The directory checkpoint store: one file per partition, and a bounded history of each.

::

    <dir>/partition-<p>.ckpt                        the latest checkpoint of partition p
    <dir>/history/partition-<p>/<offset:020d>.ckpt  the last few, by next offset

A checkpoint is written to a temporary file, synced and renamed over the latest; the
history entry is then a hard link to that file (no second copy of the bytes). Files are
never written in place, so a link keeps its checkpoint when the latest is replaced.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

__all__ = ["DirectoryCheckpointStore"]


class DirectoryCheckpointStore:
    """``<dir>/partition-<p>.ckpt`` files, written to a temporary file, synced, renamed;
    the last ``history`` of each partition kept under ``<dir>/history/``.

    >>> import tempfile
    >>> store = DirectoryCheckpointStore(Path(tempfile.mkdtemp()), history=2)
    >>> for offset in (10, 20, 30):
    ...     store.save(0, f"at {offset}".encode(), offset)
    >>> store.load(0), store.history(0)
    (b'at 30', [(30, b'at 30'), (20, b'at 20')])
    >>> store.load_at(0, 20), store.load_at(0, 10)
    (b'at 20', None)
    >>> store.clear(), store.partitions()
    (1, [])
    """

    def __init__(self, directory: Path, history: int = 10) -> None:
        self.directory = directory
        self.keep = max(history, 1)
        directory.mkdir(parents=True, exist_ok=True)

    def _path(self, partition: int) -> Path:
        return self.directory / f"partition-{partition}.ckpt"

    @property
    def _history_root(self) -> Path:
        return self.directory / "history"

    def _history_dir(self, partition: int) -> Path:
        return self._history_root / f"partition-{partition}"

    def load(self, partition: int) -> bytes | None:
        try:
            return self._path(partition).read_bytes()
        except FileNotFoundError:
            return None

    def save(self, partition: int, blob: bytes, offset: int | None = None) -> None:
        if offset is not None and offset < 0:
            raise ValueError(f"a checkpoint's offset is never negative: {offset}")
        latest = self._path(partition)
        _write_atomically(self.directory, latest, blob, prefix=".partition-")
        if self.keep == 1 or offset is None:
            return
        folder = self._history_dir(partition)
        if not folder.is_dir():
            folder.mkdir(parents=True, exist_ok=True)
            _sync_directory(self._history_root)
            _sync_directory(self.directory)
        entry = folder / f"{offset:020d}.ckpt"
        link = folder / f".{offset:020d}-{os.getpid()}.link"
        try:
            link.unlink(missing_ok=True)
            os.link(latest, link)
        except OSError:  # a file system without hard links: a copy then
            link.unlink(missing_ok=True)
            _write_atomically(folder, entry, blob, prefix=".entry-")
        else:
            try:
                os.replace(link, entry)  # an entry of the same offset is replaced whole
            except BaseException:
                link.unlink(missing_ok=True)
                raise
            _sync_directory(folder)
        for old in self._entries(partition)[self.keep :]:
            old.unlink(missing_ok=True)

    def _entries(self, partition: int) -> list[Path]:
        """The history files of ``partition``, newest first."""
        folder = self._history_dir(partition)
        if not folder.is_dir():
            return []
        named = (p for p in folder.glob("*.ckpt") if p.stem.isdigit() and len(p.stem) == 20)
        return sorted(named, reverse=True)

    def all(self) -> dict[int, bytes]:
        found = {}
        for path in sorted(self.directory.glob("partition-*.ckpt")):
            found[int(path.stem.split("-", 1)[1])] = path.read_bytes()
        return found

    def history(self, partition: int) -> list[tuple[int, bytes]]:
        found = []
        for path in self._entries(partition):
            try:
                found.append((int(path.stem), path.read_bytes()))
            except FileNotFoundError:  # trimmed by a save meanwhile
                continue
        return found

    def load_at(self, partition: int, offset: int) -> bytes | None:
        try:
            return (self._history_dir(partition) / f"{offset:020d}.ckpt").read_bytes()
        except (FileNotFoundError, ValueError):
            return None

    def partitions(self) -> list[int]:
        found = set(self.all())
        if self._history_root.is_dir():
            for folder in self._history_root.glob("partition-*"):
                number = folder.name.split("-", 1)[1]
                if number.isdigit() and self._entries(int(number)):
                    found.add(int(number))
        return sorted(found)

    def clear(self) -> int:
        paths = list(self.directory.glob("partition-*.ckpt"))
        for path in paths:
            path.unlink(missing_ok=True)
        if self._history_root.is_dir():
            shutil.rmtree(self._history_root)
        return len(paths)


def _write_atomically(directory: Path, target: Path, blob: bytes, prefix: str) -> None:
    """Write ``blob`` to a temporary file in ``directory``, sync it, rename it to ``target``
    and sync the directory: ``target`` is the old file or the new one, never a part."""
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=prefix, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(blob)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _sync_directory(directory)


def _sync_directory(directory: Path) -> None:
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
