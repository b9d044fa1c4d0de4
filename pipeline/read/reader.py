"""Read predictions and metrics from Redis: what applications and dashboards use.

Usage::

    with PredictionsClient.from_url("redis://:PASSWORD@127.0.0.1:6379/0") as client:
        latest = client.get("EWR")                 # StoredPrediction | None
        if latest is not None:
            print(latest.prediction, latest.probability_of(latest.prediction))
        several = client.get_many(["EWR", "JFK"])  # {key: StoredPrediction}, keys with one
        totals = client.metrics()["total"]
        for entry in client.follow():              # StreamEntry, as the worker writes them
            print(entry.key, entry.prediction, entry.positive_probability)

The local stack's Redis (its URL and password) is reached with
:func:`driftline.app.connect.predictions_from_stack`. The asyncio client with the same
methods is :class:`~driftline.read.async_reader.AsyncPredictionsClient`.

Records are decoded by :mod:`driftline.adapters.prediction_record`, the codec the sink
writes with; each read is one of :mod:`driftline.read.queries`, which the asyncio client
runs too. The client may be one Redis or a Redis Cluster (what
:func:`driftline.adapters.redis_clients.make_redis` returns): each read touches one key,
except :meth:`PredictionsClient.get_many`, which sends each node its keys in one round trip.
A Redis that does not answer (refused, timed out) or refuses the password is a
:class:`~driftline.core.errors.ServiceUnavailable` that says which, naming the Redis,
never its password.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from types import TracebackType
from typing import Any, TypeVar

from driftline.adapters.prediction_record import StoredPrediction, StreamEntry
from driftline.adapters.redis_clients import RedisClient, make_redis
from driftline.adapters.redis_keys import RedisKeys
from driftline.adapters.redis_memory import memory_policy
from driftline.read import queries
from driftline.read.queries import Batch, Call, Query, Step
from driftline.read.redis_errors import UNREACHABLE, unavailable

__all__ = ["UNREACHABLE", "PredictionsClient", "StoredPrediction", "StreamEntry", "run_query"]

_R = TypeVar("_R")


def run_query(client: RedisClient, query: Query[_R]) -> _R:
    """Run ``query`` (one of :mod:`driftline.read.queries`) on the blocking ``client``."""
    try:
        step = next(query)
        while True:
            step = query.send(_answer(client, step))
    except StopIteration as done:
        result: _R = done.value
        return result
    except UNREACHABLE as exc:
        raise unavailable(exc) from exc


def _answer(client: Any, step: Step) -> Any:
    if isinstance(step, Call):
        return getattr(client, step.name)(*step.args, **step.kwargs)
    if isinstance(step, Batch):
        # a Redis Cluster's pipeline sends each node the commands of its slots together
        pipe = client.pipeline(transaction=False)
        for call in step.calls:
            getattr(pipe, call.name)(*call.args, **call.kwargs)
        return pipe.execute()
    return list(client.scan_iter(match=step.match, count=step.count))


class PredictionsClient:
    """Read side of the Redis key schema for one namespace, on a blocking Redis client.

    ``client`` is the caller's (this class never closes it); :meth:`from_url` makes one
    that :meth:`close` (or the ``with`` block) closes.
    """

    def __init__(self, client: RedisClient, namespace: str = "driftline") -> None:
        self._redis: Any = client  # bytes responses (decode_responses off)
        self.keys = RedisKeys(namespace)
        self._owned = False

    @classmethod
    def from_url(
        cls, url: str, namespace: str = "driftline", *, timeout_s: float = 30.0
    ) -> PredictionsClient:
        """A client of the Redis (or Redis Cluster) at ``url``: ``redis://`` or ``rediss://``
        (TLS), with the password in it (``redis://:PASSWORD@HOST:PORT/0``, or
        ``redis://USER:PASSWORD@...`` for an ACL user). Redis is asked once here: a URL
        that is not a Redis URL is a :class:`~driftline.core.errors.ConfigError`, a Redis
        that does not answer or refuses the password a
        :class:`~driftline.core.errors.ServiceUnavailable` saying which (neither names
        the password). A command without an answer for ``timeout_s`` fails.
        """
        made = cls(make_redis(url, timeout_s=timeout_s), namespace)
        made._owned = True
        return made

    def close(self) -> None:
        """Close the Redis client if this one made it (:meth:`from_url`)."""
        if self._owned:
            self._redis.close()

    def __enter__(self) -> PredictionsClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def get(self, key: str) -> StoredPrediction | None:
        """The latest prediction for entity ``key``, or ``None``."""
        return run_query(self._redis, queries.latest(self.keys, key))

    def get_many(self, keys: Iterable[str]) -> dict[str, StoredPrediction]:
        """The latest prediction of each of ``keys`` that has one, in one round trip per node.

        One pipeline of HGETALL: a single Redis answers it in one round trip; on a Redis
        Cluster the client sends each node the commands of its slots together and reads
        the answers after (keys of many slots, one round trip per node).
        """
        return run_query(self._redis, queries.latest_many(self.keys, keys))

    def task_metrics(self) -> dict[int, dict[str, Any]]:
        """Each task's metrics snapshot, by partition."""
        return run_query(self._redis, queries.task_metrics(self.keys))

    def metrics(self) -> dict[str, Any]:
        """Totals over every task, per model over every task, and the tasks themselves."""
        return run_query(self._redis, queries.metrics(self.keys))

    def series(
        self, window_s: float | None = None, model: str | None = None
    ) -> dict[str, list[dict[str, Any]]]:
        """The metrics time series: per ``"<window_s>:<model>"``, one point per closed
        event-time window, the partitions' points of a window added up, oldest first.
        ``window_s`` picks the windows within 1% of that length (the demo's are fractions)."""
        return run_query(self._redis, queries.series(self.keys, window_s, model))

    def alerts(self, count: int = 100, kind: str | None = None) -> list[dict[str, Any]]:
        """The newest ``count`` alerts (of ``kind``, if given), newest first.

        With ``kind``, the stream is read back a page at a time (``XREVRANGE`` from just
        before the last entry read) until ``count`` alerts of that kind are found or the
        oldest kept entry is passed: newer alerts of other kinds do not hide older ones.
        """
        return run_query(self._redis, queries.alerts(self.keys, count, kind))

    def quality_log(self, count: int = 100, after: str | None = None) -> list[dict[str, Any]]:
        """Data-quality findings: the newest ``count`` (newest first), or, with ``after``
        (a stream id, ``"0"`` for the oldest kept), up to ``count`` after it, oldest first."""
        return run_query(self._redis, queries.quality_log(self.keys, count, after))

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
        start = "0-0" if from_start else run_query(self._redis, queries.newest_id(self.keys))
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

    def memory_warning(self) -> str | None:
        """What may be evicted from this Redis when it is full (its ``maxmemory-policy``:
        see :mod:`driftline.adapters.redis_memory`); ``None``: nothing, or not known."""
        policy = memory_policy(self._redis)
        return None if policy is None else policy.warning()

    def freshness(self) -> dict[str, Any]:
        """Whether Redis answers and how fast, and the newest prediction's age in seconds
        of Redis's own clock (``None`` when there is none): what a health check reports."""
        return run_query(self._redis, queries.freshness(self.keys))

    def _read_after(
        self, last: str, *, block_ms: int, count: int, stop: Callable[[], bool] | None
    ) -> Iterator[StreamEntry]:
        while stop is None or not stop():
            read = queries.read_after(self.keys, last, block_ms=block_ms, count=count)
            for entry in run_query(self._redis, read):
                last = entry.id
                yield entry
