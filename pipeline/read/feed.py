"""Follow the predictions stream without holding a thread: what ``driftline serve``'s event
streams read.

:meth:`PredictionsClient.follow <driftline.read.reader.PredictionsClient.follow>` blocks its
thread in ``XREAD BLOCK``; a server that gave each open event stream a thread would run out
of them with idle streams. :class:`PredictionsFeed` is the asyncio client
(:class:`~driftline.read.async_reader.AsyncPredictionsClient`) on a client of its own
(:func:`~driftline.adapters.redis_clients.make_async_redis`), so an open stream costs one
Redis connection and no thread, with the same guarantees: the starting point is fixed when
``follow`` is awaited, and each ``XREAD`` asks for what comes after the last entry seen, so
none is lost between two reads. A Redis that does not answer is a
:class:`~driftline.core.errors.ServiceUnavailable`.

Usage, in the event loop that owns the client::

    feed = PredictionsFeed(make_async_redis(url), "driftline")
    async for entry in await feed.follow():
        print(entry.key, entry.prediction)
    await feed.aclose()
"""

from __future__ import annotations

from driftline.adapters.redis_clients import AsyncRedisClient
from driftline.read.async_reader import AsyncPredictionsClient

__all__ = ["PredictionsFeed"]


class PredictionsFeed(AsyncPredictionsClient):
    """The predictions stream of one namespace, read with ``await``; :meth:`aclose` closes
    the client it was given (it is the feed's own)."""

    def __init__(self, client: AsyncRedisClient, namespace: str) -> None:
        super().__init__(client, namespace)
        self._owned = True
