"""Request-time prediction: the champion of a key's partition, from its newest verified
checkpoint, kept loaded and reloaded when a newer checkpoint lands.

A key's partition is the one the producers' partitioner gives it (murmur2 of the key's
UTF-8 bytes, as Kafka's default partitioner:
:func:`~driftline.adapters.kafka.user_topics.partition_of`), so the answer comes from
the task that learns that key's outcomes. Each partition's task is
restored once from its checkpoint (HMAC verified before anything is unpickled, the
configuration fingerprint checked: :func:`~driftline.core.task.checkpoint.restore_task`)
and kept; at most every ``refresh_s`` seconds a request reads the latest checkpoint again
and restores it only when it differs from the one loaded. A latest checkpoint that is
refused (tampered, another key or configuration) is skipped for the newest kept one that
verifies; the one loaded stays while none does.

Nothing here learns or stores (:mod:`driftline.read.served_model`).

>>> from driftline.adapters.checkpoints.files import DirectoryCheckpointStore
>>> from driftline.core.task.checkpoint import seal_task
>>> from driftline.core.task.partition import FeatureConfig, PartitionTask, TaskConfig
>>> from driftline.core.task.seal import CheckpointCodec
>>> import tempfile, pathlib
>>> config, codec = TaskConfig(features=FeatureConfig(raw_only=True)), CheckpointCodec(b"k" * 32)
>>> store = DirectoryCheckpointStore(pathlib.Path(tempfile.mkdtemp()))
>>> predictor = CheckpointPredictor(store, codec, config, lambda: 1)
>>> try:
...     predictor.predict("k", {"x": 1.0})
... except NoModel as exc:
...     print(exc)
partition 0 has no checkpoint yet (no worker has checkpointed it): retry later
>>> task = PartitionTask(0, config)
>>> task.next_offset = 5
>>> store.save(0, seal_task(task, codec, "demo"), 5)
>>> predictor.predict("k", {"x": 1.0}).checkpoint.id
'0@5'
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from driftline.adapters.kafka.user_topics import partition_of
from driftline.core.errors import DriftlineError, TransientError
from driftline.core.events.model import FeatureValue
from driftline.core.task.checkpoint import restore_task
from driftline.core.task.partition import TaskConfig
from driftline.core.task.seal import CheckpointCodec, CheckpointError, CheckpointStore
from driftline.read.served_model import Answer, PredictionRefused, ServedModel

__all__ = ["Answer", "CheckpointPredictor", "NoModel", "PredictionRefused"]

log = logging.getLogger(__name__)


def _digest(blob: bytes) -> bytes:
    """What names a blob here: a digest of all of it (its HMAC alone would not do: a
    forged blob may end with a genuine one's)."""
    return hashlib.sha256(blob).digest()


class NoModel(DriftlineError):
    """No verified checkpoint answers this partition yet (or the events topic is not
    there): a retry may succeed later."""


class _Slot:
    """One partition's loaded model, the digest of its blob, and when it was checked."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.served: ServedModel | None = None
        self.loaded: bytes | None = None  # the digest of the blob loaded
        self.checked_at = -float("inf")
        self.refused: set[bytes] = set()  # digests of blobs refused: not opened again
        self.refusal: str | None = None  # why the last one refused was (for the 503)


class CheckpointPredictor:
    """Answers features for a key from its partition's checkpointed champion.

    ``partitions`` gives the events topic's partition count (read again at most every
    ``refresh_s`` seconds; 0: no topic); ``config`` must be the workers' task configuration
    (a checkpoint made with another is refused, as a worker refuses it).
    """

    def __init__(
        self,
        store: CheckpointStore,
        codec: CheckpointCodec,
        config: TaskConfig,
        partitions: Callable[[], int],
        *,
        refresh_s: float = 2.0,
        monotonic: Callable[[], float] = time.monotonic,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = store
        self.codec = codec
        self.config = config
        self._partitions = partitions
        self.refresh_s = refresh_s
        self.monotonic = monotonic
        self.clock = clock
        self._lock = threading.Lock()
        self._slots: dict[int, _Slot] = {}
        self._count: tuple[float, int] | None = None

    def partition_count(self) -> int:
        """The events topic's partitions (cached ``refresh_s``; while Kafka does not
        answer, the last count known: the checkpoints are in the store, not in Kafka)."""
        now = self.monotonic()
        with self._lock:
            if self._count is None or now - self._count[0] >= self.refresh_s:
                try:
                    self._count = (now, self._partitions())
                except TransientError:
                    if self._count is None:
                        raise
                    log.debug("partition count not read: the last one known is used")
            return self._count[1]

    def partition_of(self, key: str) -> int:
        """The partition the producers send ``key``'s events to."""
        count = self.partition_count()
        if count <= 0:
            raise NoModel("the events topic does not exist yet: nothing has been learned")
        return partition_of(key, count)

    def predict(
        self,
        key: str,
        features: dict[str, FeatureValue],
        event_time: datetime | None = None,
    ) -> Answer:
        """The champion's answer for ``key``'s ``features`` (at ``event_time``, default
        now). Raises :class:`NoModel` (no verified checkpoint) or
        :class:`~driftline.read.served_model.PredictionRefused` (the features fail the
        rules, the contract, the feature function or the model)."""
        partition = self.partition_of(key)
        slot = self._slot(partition)
        with slot.lock:  # one request at a time per model: predicting reads its state
            self._refresh(partition, slot)
            if slot.served is None and slot.refusal is not None:
                raise NoModel(
                    f"partition {partition} has no checkpoint this server can verify: "
                    f"{slot.refusal} (serve with the workers' settings, e.g. the same --config)"
                )
            if slot.served is None:
                raise NoModel(
                    f"partition {partition} has no checkpoint yet (no worker has "
                    "checkpointed it): retry later"
                )
            now = self.clock()
            return slot.served.answer(key, features, event_time or now, now)

    def _slot(self, partition: int) -> _Slot:
        with self._lock:
            return self._slots.setdefault(partition, _Slot())

    def _refresh(self, partition: int, slot: _Slot) -> None:
        """Load a newer checkpoint of ``partition`` if one landed (``slot.lock`` held)."""
        now = self.monotonic()
        if slot.served is not None and now - slot.checked_at < self.refresh_s:
            return
        slot.checked_at = now
        latest = self.store.load(partition)
        if latest is None or _digest(latest) == slot.loaded:
            return
        candidates = [latest] + [blob for _, blob in self.store.history(partition)]
        for blob in candidates:
            digest = _digest(blob)
            if digest == slot.loaded:
                return  # the newest that verifies is the one loaded
            if digest in slot.refused:
                continue
            try:
                task = restore_task(blob, self.codec, self.config, partition)
            except CheckpointError as exc:
                if len(slot.refused) > 100:
                    slot.refused.clear()
                slot.refused.add(digest)
                slot.refusal = str(exc)
                log.warning("partition %s: a checkpoint was not loaded (%s)", partition, exc)
                continue
            header = task.restored_from or {}
            slot.served, slot.loaded = ServedModel(task, header), digest
            log.info(
                "partition %s: serving model version %s from checkpoint %s@%s",
                partition,
                task.model_version,
                partition,
                header.get("next_offset"),
            )
            return
