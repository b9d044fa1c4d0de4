"""Read predictions and metrics from Redis: what applications and dashboards use.

Usage::

    client = PredictionsClient(make_redis("redis://127.0.0.1:6379/0"), "driftline")
    latest = client.get("EWR")       # StoredPrediction | None
    several = client.get_many(["EWR", "JFK"])  # {key: StoredPrediction}, keys with one
    totals = client.metrics()["total"]
    for entry in client.follow():    # StreamEntry, as the worker writes them
        print(entry.key, entry.prediction, entry.probabilities)

Records are decoded by :mod:`driftline.adapters.prediction_record`, the codec the sink
writes with. The client may be one Redis or a Redis Cluster (what
:func:`driftline.adapters.redis_clients.make_redis` returns): each read touches one key,
except :meth:`PredictionsClient.get_many`, which sends each node its keys in one round trip.
A Redis that does not answer (refused, timed out) is a
:class:`~driftline.core.errors.ServiceUnavailable` naming the Redis, never its password.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, ParamSpec, TypeVar

import redis

from driftline.adapters.prediction_record import (
    StoredPrediction,
    StreamEntry,
    decode_hash,
    decode_stream_entry,
)
from driftline.adapters.quality_log import read_quality_entry
from driftline.adapters.redis_clients import RedisClient
from driftline.adapters.redis_keys import RedisKeys
from driftline.core.errors import ServiceUnavailable
from driftline.core.learning.metrics import merge_models, merge_snapshots
from driftline.core.learning.windows import merge_points

__all__ = ["UNREACHABLE", "PredictionsClient", "StoredPrediction", "StreamEntry"]

_P = ParamSpec("_P")
_R = TypeVar("_R")

#: What a Redis that is down or unreachable raises (a cluster adds its own).
UNREACHABLE = (redis.ConnectionError, redis.TimeoutError, redis.exceptions.ClusterDownError)
#: Alerts read per ``XREVRANGE`` when looking for one kind among the others.
_ALERTS_PAGE = 500


def _answered(read: Callable[_P, _R]) -> Callable[_P, _R]:
    """``read``, with a Redis that does not answer as :class:`ServiceUnavailable`."""

    @functools.wraps(read)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return read(*args, **kwargs)
        except UNREACHABLE as exc:
            raise ServiceUnavailable(f"Redis did not answer: {type(exc).__name__}") from exc

    return wrapper


class PredictionsClient:
    """Read side of the Redis key schema for one namespace."""

    def __init__(self, client: RedisClient, namespace: str) -> None:
        self._redis: Any = client  # bytes responses (decode_responses off)
        self.keys = RedisKeys(namespace)

    @_answered
    def get(self, key: str) -> StoredPrediction | None:
        """The latest prediction for entity ``key``, or ``None``."""
        raw = self._redis.hgetall(self.keys.prediction(key))
        if not raw:
            return None
        return decode_hash(key, raw)

    @_answered
    def get_many(self, keys: Iterable[str]) -> dict[str, StoredPrediction]:
        """The latest prediction of each of ``keys`` that has one, in one round trip per node.

        One pipeline of HGETALL: a single Redis answers it in one round trip; on a Redis
        Cluster the client sends each node the commands of its slots together and reads
        the answers after (keys of many slots, one round trip per node).
        """
        wanted = list(dict.fromkeys(keys))
        if not wanted:
            return {}
        pipe = self._redis.pipeline(transaction=False)
        for key in wanted:
            pipe.hgetall(self.keys.prediction(key))
        answers = pipe.execute()
        return {key: decode_hash(key, raw) for key, raw in zip(wanted, answers, strict=True) if raw}

    @_answered
    def task_metrics(self) -> dict[int, dict[str, Any]]:
        """Each task's metrics snapshot, by partition."""
        raw = self._redis.hgetall(self.keys.metrics)
        return {
            int(field.decode().removeprefix("p")): json.loads(value)
            for field, value in raw.items()
            if field.decode().startswith("p")
        }

    def metrics(self) -> dict[str, Any]:
        """Totals over every task, per model over every task, and the tasks themselves."""
        tasks = self.task_metrics()
        snapshots = [tasks[p] for p in sorted(tasks)]
        return {
            "total": merge_snapshots(snapshots),
            "models": merge_models(snapshots),
            "tasks": {str(p): tasks[p] for p in sorted(tasks)},
        }

    @_answered
    def series(
        self, window_s: float | None = None, model: str | None = None
    ) -> dict[str, list[dict[str, Any]]]:
        """The metrics time series: per ``"<window_s>:<model>"``, one point per closed
        event-time window, the partitions' points of a window added up, oldest first.
        ``window_s`` picks the windows within 1% of that length (the demo's are fractions)."""
        keys = sorted(self._redis.scan_iter(match=self.keys.series_pattern, count=1000))
        prefix = self.keys.series_pattern[:-1]
        found: dict[str, list[dict[str, Any]]] = {}
        for key in keys:
            name = (key.decode() if isinstance(key, bytes) else key).removeprefix(prefix)
            length, _, model_name = name.partition(":")
            if (window_s is not None and abs(float(length) - window_s) > 0.01 * window_s) or (
                model is not None and model_name != model
            ):
                continue
            by_start: dict[int, list[dict[str, Any]]] = {}
            for member in self._redis.zrange(key, 0, -1):
                point = json.loads(member)
                by_start.setdefault(point["start_s"], []).append(point)
            found[name] = [
                merge_points(by_start[start]) | {"partitions": len(by_start[start])}
                for start in sorted(by_start)
            ]
        return found

    @_answered
    def alerts(self, count: int = 100, kind: str | None = None) -> list[dict[str, Any]]:
        """The newest ``count`` alerts (of ``kind``, if given), newest first.

        With ``kind``, the stream is read back a page at a time (``XREVRANGE`` from just
        before the last entry read) until ``count`` alerts of that kind are found or the
        oldest kept entry is passed: newer alerts of other kinds do not hide older ones.
        """
        alerts: list[dict[str, Any]] = []
        page = count if kind is None else max(count, _ALERTS_PAGE)
        end = "+"
        while len(alerts) < count:
            entries = self._redis.xrevrange(self.keys.alerts, end, "-", count=page)
            for entry_id, fields in entries:
                alert = json.loads(fields[b"alert"])
                if kind is None or alert["kind"] == kind:
                    alerts.append(alert | {"id": entry_id.decode()})
                    if len(alerts) == count:
                        break
            if len(entries) < page:
                break  # the oldest kept entry was read
            end = f"({entries[-1][0].decode()}"  # exclusive: before the oldest of this page
        return alerts

    @_answered
    def quality_log(self, count: int = 100, after: str | None = None) -> list[dict[str, Any]]:
        """Data-quality findings: the newest ``count`` (newest first), or, with ``after``
        (a stream id, ``"0"`` for the oldest kept), up to ``count`` after it, oldest first."""
        key = self.keys.quality_log
        if after is None:
            entries = self._redis.xrevrange(key, "+", "-", count=count)
        else:
            entries = self._redis.xrange(
                key, f"({after}" if after != "0" else "-", "+", count=count
            )
        return [
            read_quality_entry(fields) | {"id": entry_id.decode()} for entry_id, fields in entries
        ]

    def follow(
        self,
        *,
        from_start: bool = False,
        block_ms: int = 1000,
        count: int = 500,
        stop: Callable[[], bool] | None = None,
    ) -> Iterator[StreamEntry]:
        """Yield stream entries as they arrive (``XREAD BLOCK``), oldest first, none lost.

        The starting point is fixed when ``follow`` is called: after the newest entry then
        (so nothing written before the call is yielded), or before the oldest kept one with
        ``from_start``. Every later ``XREAD`` asks for what comes after the last entry seen,
        so an entry written while no ``XREAD`` is waiting is still yielded. ``stop`` is an
        optional callable, asked before each ``XREAD``, that ends the loop when it returns
        true; ``block_ms`` bounds each wait (keep it below the client's socket timeout).
        """
        start = "0-0" if from_start else self._newest_id()
        return self._read_after(start, block_ms=block_ms, count=count, stop=stop)

    def follow_after(
        self,
        last_id: str,
        *,
        block_ms: int = 1000,
        count: int = 500,
        stop: Callable[[], bool] | None = None,
    ) -> Iterator[StreamEntry]:
        """:meth:`follow` from after the entry ``last_id`` (``<ms>-<seq>``, as a client
        saw it last): resumes a stream without a gap, as long as the entries after it are
        still kept (the stream is capped at ``DRIFTLINE_STREAM_MAXLEN``)."""
        return self._read_after(last_id, block_ms=block_ms, count=count, stop=stop)

    @_answered
    def freshness(self) -> dict[str, Any]:
        """Whether Redis answers and how fast, and the newest prediction's age in seconds
        of Redis's own clock (``None`` when there is none): what a health check reports."""
        began = time.perf_counter()
        self._redis.ping()
        took = time.perf_counter() - began
        newest = self._redis.xrevrange(self.keys.predictions_stream, "+", "-", count=1)
        age = None
        if newest:
            seconds, micros = self._redis.time()
            written_ms = int(newest[0][0].decode().split("-")[0])
            age = max(0.0, seconds + micros / 1e6 - written_ms / 1000)
        return {
            "ping_s": round(took, 6),
            "last_prediction_id": newest[0][0].decode() if newest else None,
            "last_prediction_age_s": None if age is None else round(age, 3),
        }

    @_answered
    def _newest_id(self) -> str:
        """The id of the stream's newest entry; ``0-0`` when it is empty or missing."""
        newest = self._redis.xrevrange(self.keys.predictions_stream, "+", "-", count=1)
        return newest[0][0].decode() if newest else "0-0"

    def _read_after(
        self, last: str, *, block_ms: int, count: int, stop: Callable[[], bool] | None
    ) -> Iterator[StreamEntry]:
        stream = self.keys.predictions_stream
        xread = _answered(self._redis.xread)
        while stop is None or not stop():
            answer = xread({stream: last}, block=block_ms, count=count)
            for _stream, entries in answer or []:
                for entry_id, fields in entries:
                    entry = decode_stream_entry(entry_id, fields)
                    last = entry.id
                    yield entry
