"""Follow the predictions stream without holding a thread: what ``driftline serve``'s event
streams read.

:meth:`PredictionsClient.follow <driftline.read.reader.PredictionsClient.follow>` blocks its
thread in ``XREAD BLOCK``; a server that gave each open event stream a thread would run out
of them with idle streams. :class:`PredictionsFeed` awaits the same ``XREAD`` on
an asyncio client (:func:`~driftline.adapters.redis_clients.make_async_redis`), so an open
stream costs one Redis connection and no thread. Entries are decoded by the codec the sink
writes with, as the blocking reader does, with the same guarantees: the starting point is
fixed when ``follow`` is awaited, and each ``XREAD`` asks for what comes after the last
entry seen, so none is lost between two reads. A Redis that does not answer is a
:class:`~driftline.core.errors.ServiceUnavailable`.

Usage, in the event loop that owns the client::

    feed = PredictionsFeed(make_async_redis(url), "driftline")
    async for entry in await feed.follow():
        print(entry.key, entry.prediction)
    await feed.aclose()
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

from driftline.adapters.prediction_record import StreamEntry, decode_stream_entry
from driftline.adapters.redis_clients import AsyncRedisClient
from driftline.adapters.redis_keys import RedisKeys
from driftline.core.errors import ServiceUnavailable
from driftline.read.reader import UNREACHABLE

__all__ = ["PredictionsFeed"]


class PredictionsFeed:
    """The predictions stream of one namespace, read with ``await``."""

    def __init__(self, client: AsyncRedisClient, namespace: str) -> None:
        self._redis: Any = client  # bytes responses (decode_responses off)
        self.keys = RedisKeys(namespace)

    async def follow(
        self, *, block_ms: int = 1000, count: int = 500, stop: Callable[[], bool] | None = None
    ) -> AsyncIterator[StreamEntry]:
        """The entries written after this call, as they arrive (``XREAD BLOCK``), oldest
        first. Redis is asked for the newest entry before this returns: a Redis that does
        not answer raises here, before anything is read. ``stop`` is asked before each
        ``XREAD`` and ends the entries when it returns true; ``block_ms`` bounds each wait
        (keep it below the client's socket timeout)."""
        try:
            newest = await self._redis.xrevrange(self.keys.predictions_stream, "+", "-", count=1)
        except UNREACHABLE as exc:
            raise ServiceUnavailable(f"Redis did not answer: {type(exc).__name__}") from exc
        start = newest[0][0].decode() if newest else "0-0"
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

    async def aclose(self) -> None:
        """Close the client's connections (in the event loop that used them)."""
        await self._redis.aclose()

    async def _read_after(
        self, last: str, *, block_ms: int, count: int, stop: Callable[[], bool] | None
    ) -> AsyncIterator[StreamEntry]:
        stream = self.keys.predictions_stream
        while stop is None or not stop():
            try:
                answer = await self._redis.xread({stream: last}, block=block_ms, count=count)
            except UNREACHABLE as exc:
                raise ServiceUnavailable(f"Redis did not answer: {type(exc).__name__}") from exc
            for _stream, entries in answer or []:
                for entry_id, fields in entries:
                    entry = decode_stream_entry(entry_id, fields)
                    last = entry.id
                    yield entry
