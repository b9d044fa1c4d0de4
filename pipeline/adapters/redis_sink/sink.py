"""The worker's prediction sink on Redis: predictions, metrics, series, alerts and the
quality log (see :mod:`driftline.adapters.redis_sink` for the layout and the retries)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from typing import Any

import redis

from driftline.adapters.prediction_record import hash_items
from driftline.adapters.quality_log import quality_entry
from driftline.adapters.redis_clients import REDIS_ERRORS, redis_failure
from driftline.adapters.redis_keys import RedisKeys
from driftline.adapters.redis_sink.alerts import AlertsScript
from driftline.adapters.redis_sink.batch import BatchReply, BatchScript, Row
from driftline.core import jsonsafe
from driftline.core.errors import WriteRefused
from driftline.core.events.records import Alert, Prediction
from driftline.core.quality.figures import QualityFinding

__all__ = ["RedisSink"]

log = logging.getLogger(__name__)


class RedisSink:
    """Writes predictions (hash per key + capped stream) and task metrics."""

    def __init__(
        self,
        client: redis.Redis | Any,
        namespace: str,
        *,
        prediction_ttl_s: float = 7 * 24 * 3600,
        stream_maxlen: int = 100_000,
        series_windows_kept: int = 1000,
        alerts_maxlen: int = 10_000,
        quality_log_maxlen: int = 100_000,
    ) -> None:
        self._redis: Any = client  # typed loosely: a Redis or a RedisCluster
        self.keys = RedisKeys(namespace)
        self._batch = BatchScript(
            client, self.keys, ttl_ms=int(prediction_ttl_s * 1000), stream_maxlen=stream_maxlen
        )
        self._series_kept = series_windows_kept
        self._quality_maxlen = quality_log_maxlen
        self._alerts = AlertsScript(client, self.keys, alerts_maxlen)
        #: Alerts added to the stream (not counting repeats of a replay); batches of points
        #: or alerts refused because a key held another type.
        self.alerts_added = 0
        self.extras_refused = 0
        self.stale_skipped = 0
        #: Batches whose metrics Redis refused (the metrics key holds another type).
        self.metrics_refused = 0
        self._hash_prefix = self.keys.prediction("")

    def write(self, predictions: Sequence[Prediction], snapshots: Iterable[dict[str, Any]]) -> int:
        """Write a batch in one script call (one per node on a cluster); return the hashes
        updated.

        Every prediction goes to the stream; for the hashes only the newest prediction of
        each key in the batch is sent (the rest would be overwritten in the same breath),
        and Redis still refuses it if it is older than what is stored. A Redis error is a
        :class:`ServiceUnavailable` (:class:`StoreFull` when Redis is full; a
        :class:`RedisScriptError`, not retried, when the script itself fails); the same
        call can then be retried (see
        :mod:`driftline.adapters.redis_sink` for what a retry may repeat).

        A key that holds another type (a string where a prediction's hash belongs, say)
        refuses only its own write: the rest of the batch is written, then
        :class:`~driftline.core.errors.WriteRefused` names the predictions Redis could not
        hold (every one of the batch if the stream's key is the one), for the worker to
        dead-letter. Such a key never gets better by waiting, so it is not retried; a
        metrics hash that holds another type is logged and counted (``metrics_refused``).

        Raises :class:`ValueError` (from the codec, before anything is sent) if a
        prediction carries a NaN or infinite probability or label.
        """
        newest: dict[str, int] = {}
        for index, prediction in enumerate(predictions):
            held = newest.get(prediction.key)
            if held is None or (prediction.event_time, prediction.event_id) >= (
                predictions[held].event_time,
                predictions[held].event_id,
            ):
                newest[prediction.key] = index
        hashed = set(newest.values())
        prediction_key = self.keys.prediction
        # one row per prediction: its hash's values, which its stream entry is made of
        rows: list[Row] = [
            (
                prediction_key(p.key) if i in hashed else None,
                p.key,
                hash_items(p)[1::2],
            )
            for i, p in enumerate(predictions)
        ]
        metrics: list[str] = []
        for snap in snapshots:
            metrics += [f"p{snap['partition']}", jsonsafe.dumps(snap)]
        if not (rows or metrics):
            return 0
        reply = self._batch.send(rows, metrics)
        self.stale_skipped += len(predictions) - reply.stored
        if not reply.metrics_ok:
            self.metrics_refused += 1
            log.error(
                "%s holds another type than a hash: the metrics were not written (WRONGTYPE)",
                self.keys.metrics,
            )
        refused = self._refusals(predictions, newest, reply)
        if refused:
            raise WriteRefused(reply.stored, refused)
        return reply.stored

    def record(
        self,
        points: Sequence[dict[str, Any]],
        alerts: Sequence[Alert],
        findings: Sequence[QualityFinding] = (),
    ) -> None:
        """Add closed windows to their time series, alerts to the alerts stream and
        data-quality findings to the quality log.

        A point is a member of ``<ns>:series:<window_s>:<model>`` scored by its window's
        start; its JSON has sorted keys, so the point a replay makes again is the same
        member (ZADD is idempotent). Windows older than ``series_windows_kept`` lengths
        before the newest are trimmed. Alerts are added once per id (see :mod:`.alerts`).
        """
        if not (points or alerts or findings):
            return
        try:
            if findings:
                pipe = self._redis.pipeline(transaction=False)
                for finding in findings:
                    pipe.xadd(
                        self.keys.quality_log,
                        quality_entry(finding),
                        maxlen=self._quality_maxlen,
                        approximate=True,
                    )
                pipe.execute()
            if points:
                pipe = self._redis.pipeline(transaction=False)
                newest: dict[str, tuple[int, int]] = {}
                for point in points:
                    key = self.keys.series(point["window_s"], point["model"])
                    member = json.dumps(point, sort_keys=True, separators=(",", ":"))
                    pipe.zadd(key, {member: point["start_s"]})
                    held = newest.get(key)
                    if held is None or point["start_s"] > held[0]:
                        newest[key] = (point["start_s"], point["window_s"])
                for key, (start, length) in newest.items():
                    pipe.zremrangebyscore(key, "-inf", start - self._series_kept * length)
                pipe.execute()
            if alerts:
                self.alerts_added += self._alerts.add(alerts)
        except redis.ResponseError as exc:
            if not str(exc).startswith("WRONGTYPE"):
                raise redis_failure(exc, "Redis did not take the series or alerts") from exc
            # a key of another type where a series or the alerts belong: waiting will not
            # mend it, and predictions must not stall behind it
            self.extras_refused += 1
            log.error("a metrics series or alerts key holds another type: not written (%s)", exc)
        except REDIS_ERRORS as exc:
            raise redis_failure(exc, "Redis did not take the series or alerts") from exc

    def _refusals(
        self, predictions: Sequence[Prediction], newest: dict[str, int], reply: BatchReply
    ) -> list[tuple[Prediction, str]]:
        """The predictions Redis could not hold, each with why: its hash's key holds
        another type, or the stream's does (then every prediction of the batch)."""
        refused: dict[int, str] = {}
        for hash_key in reply.refused:
            index = newest[hash_key[len(self._hash_prefix) :]]
            refused[index] = f"{hash_key} holds another type than a hash (WRONGTYPE)"
        if not reply.stream_ok:
            stream_key = self.keys.predictions_stream
            for index in range(len(predictions)):
                refused.setdefault(index, f"{stream_key} holds another type than a stream")
        return [(predictions[i], why) for i, why in sorted(refused.items())]
