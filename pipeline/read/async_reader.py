"""Read predictions and metrics with ``await``: :class:`PredictionsClient
<driftline.read.reader.PredictionsClient>`'s methods on a ``redis.asyncio`` client.

Usage, in the event loop that will use the client (it connects on the first command)::

    async with AsyncPredictionsClient.from_url("redis://:PASSWORD@127.0.0.1:6379/0") as client:
        latest = await client.get("EWR")                 # StoredPrediction | None
        several = await client.get_many(["EWR", "JFK"])  # {key: StoredPrediction}
        async for entry in await client.follow():        # StreamEntry, as they arrive
            print(entry.key, entry.prediction, entry.positive_probability)

Each read is one of :mod:`driftline.read.queries`, the code the blocking client runs:
only the driver here differs (:func:`run_async_query`). A Redis that does not answer or
refuses the password is a :class:`~driftline.core.errors.ServiceUnavailable` saying which.
An idle :meth:`AsyncPredictionsClient.follow` waits in the event loop and holds no thread.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable
from types import TracebackType
from typing import Any, TypeVar

from driftline.adapters.prediction_record import StoredPrediction, StreamEntry
from driftline.adapters.redis_clients import AsyncRedisClient, make_async_redis
from driftline.adapters.redis_keys import RedisKeys
from driftline.read import queries
from driftline.read.queries import Batch, Call, Query, Step
from driftline.read.redis_errors import UNREACHABLE, unavailable

__all__ = ["AsyncPredictionsClient", "run_async_query"]

_R = TypeVar("_R")


async def run_async_query(client: AsyncRedisClient, query: Query[_R]) -> _R:
    """Run ``query`` (one of :mod:`driftline.read.queries`) on the asyncio ``client``."""
    try:
        step = next(query)
        while True:
            step = query.send(await _answer(client, step))
    except StopIteration as done:
        result: _R = done.value
        return result
    except UNREACHABLE as exc:
        raise unavailable(exc) from exc


async def _answer(client: Any, step: Step) -> Any:
    if isinstance(step, Call):
        return await getattr(client, step.name)(*step.args, **step.kwargs)
    if isinstance(step, Batch):
        pipe = client.pipeline(transaction=False)
        for call in step.calls:
            getattr(pipe, call.name)(*call.args, **call.kwargs)  # queued, not sent
        return await pipe.execute()
    return [key async for key in client.scan_iter(match=step.match, count=step.count)]


class AsyncPredictionsClient:
    """Read side of the Redis key schema for one namespace, on an asyncio Redis client.

    ``client`` is the caller's (this class never closes it); :meth:`from_url` makes one
    that :meth:`aclose` (or the ``async with`` block) closes.
    """

    def __init__(self, client: AsyncRedisClient, namespace: str = "driftline") -> None:
        self._redis: Any = client  # bytes responses (decode_responses off)
        self.keys = RedisKeys(namespace)
        self._owned = False

    @classmethod
    def from_url(
        cls,
        url: str,
        namespace: str = "driftline",
        *,
        timeout_s: float = 30.0,
        cluster: bool = False,
    ) -> AsyncPredictionsClient:
        """A client of the Redis at ``url`` (``redis://`` or ``rediss://``, the password in
        it, as :meth:`PredictionsClient.from_url
        <driftline.read.reader.PredictionsClient.from_url>`), a Redis Cluster's when
        ``cluster``. Nothing is sent before the first read, made in the event loop that
        will use the client: a URL that is not a Redis URL is a
        :class:`~driftline.core.errors.ConfigError` here, a Redis that does not answer or
        refuses the password a :class:`~driftline.core.errors.ServiceUnavailable` at the
        first read.
        """
        made = cls(make_async_redis(url, cluster=cluster, timeout_s=timeout_s), namespace)
        made._owned = True
        return made

    async def aclose(self) -> None:
        """Close the Redis client if this one made it, in the event loop that used it."""
        if self._owned:
            await self._redis.aclose()

    async def __aenter__(self) -> AsyncPredictionsClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def get(self, key: str) -> StoredPrediction | None:
        """The latest prediction for entity ``key``, or ``None``."""
        return await run_async_query(self._redis, queries.latest(self.keys, key))

    async def get_many(self, keys: Iterable[str]) -> dict[str, StoredPrediction]:
        """The latest prediction of each of ``keys`` that has one, in one round trip per node."""
        return await run_async_query(self._redis, queries.latest_many(self.keys, keys))

    async def task_metrics(self) -> dict[int, dict[str, Any]]:
        """Each task's metrics snapshot, by partition."""
        return await run_async_query(self._redis, queries.task_metrics(self.keys))

    async def metrics(self) -> dict[str, Any]:
        """Totals over every task, per model over every task, and the tasks themselves."""
        return await run_async_query(self._redis, queries.metrics(self.keys))

    async def series(
        self, window_s: float | None = None, model: str | None = None
    ) -> dict[str, list[dict[str, Any]]]:
        """The metrics time series, as :meth:`PredictionsClient.series
        <driftline.read.reader.PredictionsClient.series>`."""
        return await run_async_query(self._redis, queries.series(self.keys, window_s, model))

    async def alerts(self, count: int = 100, kind: str | None = None) -> list[dict[str, Any]]:
        """The newest ``count`` alerts (of ``kind``, if given), newest first."""
        return await run_async_query(self._redis, queries.alerts(self.keys, count, kind))

    async def quality_log(self, count: int = 100, after: str | None = None) -> list[dict[str, Any]]:
        """Data-quality findings: the newest ``count`` (newest first), or, with ``after``
        (a stream id, ``"0"`` for the oldest kept), up to ``count`` after it, oldest first."""
        return await run_async_query(self._redis, queries.quality_log(self.keys, count, after))

    async def freshness(self) -> dict[str, Any]:
        """Whether Redis answers and how fast, and the newest prediction's age."""
        return await run_async_query(self._redis, queries.freshness(self.keys))

    async def follow(
        self,
        *,
        from_start: bool = False,
        block_ms: int = 1000,
        count: int = 500,
        stop: Callable[[], bool] | None = None,
    ) -> AsyncIterator[StreamEntry]:
        """The stream's entries as they arrive (``XREAD BLOCK``), oldest first, none lost:
        ``async for entry in await client.follow()``. The starting point is fixed when this
        is awaited (after the newest entry then, or before the oldest kept one with
        ``from_start``), so a Redis that does not answer raises here, before anything is
        read. ``stop`` is asked before each ``XREAD`` and ends the entries when it returns
        true; ``block_ms`` bounds each wait (keep it below the client's socket timeout)."""
        start = "0-0"
        if not from_start:
            start = await run_async_query(self._redis, queries.newest_id(self.keys))
        return self._read_after(start, block_ms=block_ms, count=count, stop=stop)

    async def follow_after(
        self,
        last_id: str,
        *,
        block_ms: int = 1000,
        count: int = 500,
        stop: Callable[[], bool] | None = None,
    ) -> AsyncIterator[StreamEntry]:
        """:meth:`follow` from after the entry ``last_id`` (``<ms>-<seq>``, as a client saw
        it last): every entry after it that the capped stream still keeps."""
        return self._read_after(last_id, block_ms=block_ms, count=count, stop=stop)

    async def _read_after(
        self, last: str, *, block_ms: int, count: int, stop: Callable[[], bool] | None
    ) -> AsyncIterator[StreamEntry]:
        while stop is None or not stop():
            read = queries.read_after(self.keys, last, block_ms=block_ms, count=count)
            for entry in await run_async_query(self._redis, read):
                last = entry.id
                yield entry
