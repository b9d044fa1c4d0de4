"""``/v1/stream/predictions``: new predictions as server-sent events, resumable.

Entries are read with ``await`` from
:class:`~driftline.read.feed.PredictionsFeed`, so an idle stream holds no worker thread;
at most ``max_streams`` are open at once (beyond: 503 ``too_many_streams``).
"""

# No ``from __future__ import annotations``: see driftline.app.serving.routes.
import logging
import threading
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.sse import EventSourceResponse, ServerSentEvent

from driftline.adapters.prediction_record import StreamEntry
from driftline.app.serving.dependencies import resume_point, stream_slots
from driftline.app.serving.openapi import problems
from driftline.core.errors import ServiceUnavailable
from driftline.read.feed import PredictionsFeed

__all__ = ["router"]

log = logging.getLogger(__name__)


def router(
    feed: PredictionsFeed, *, max_streams: int, block_ms: int, stop: threading.Event
) -> APIRouter:
    """The event stream route over ``feed``: each wait for new entries lasts at most
    ``block_ms``, and a stream ends once ``stop`` is set (the server stops)."""
    routes = APIRouter(tags=["predictions"])

    async def stream_start(
        resume: Annotated[str | None, Depends(resume_point)],
    ) -> AsyncIterator[StreamEntry]:
        """Where the stream starts, fixed before the response begins (a Redis that does
        not answer is a 503, not a stream that breaks off)."""
        if resume:
            return await feed.follow_after(resume, block_ms=block_ms, stop=stop.is_set)
        return await feed.follow(block_ms=block_ms, stop=stop.is_set)

    @routes.get(
        "/stream/predictions",
        response_class=EventSourceResponse,
        responses=problems(422, 503),
        # first: a slot is taken before Redis is asked
        dependencies=[Depends(stream_slots(max_streams), scope="request")],
    )
    async def stream(
        entries: Annotated[AsyncIterator[StreamEntry], Depends(stream_start)],
    ) -> AsyncIterator[ServerSentEvent]:
        """New predictions as server-sent events (``event: prediction``, ``id``: the
        stream entry id). A client that reconnects sends ``Last-Event-ID`` and gets every
        entry after it that Redis still keeps; without one, only newer predictions. An
        idle stream waits in the event loop, holding no thread; beyond ``max_streams``
        open ones the answer is 503 ``too_many_streams``."""
        yield ServerSentEvent(comment="driftline predictions")
        try:
            async for entry in entries:
                yield ServerSentEvent(data=entry.to_dict(), event="prediction", id=entry.id)
        except ServiceUnavailable as exc:  # Redis went away: end; the client resumes later
            log.warning("an event stream ended: %s", exc)

    return routes
