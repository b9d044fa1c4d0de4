"""What the event stream's route depends on, checked before its response starts (a 422
or a 503 cannot follow a 200): where it resumes, and a free slot among the open streams.
"""

# No ``from __future__ import annotations``: FastAPI reads these functions' annotations
# to find their parameters (the resume point's query and header).
import re
from collections.abc import AsyncIterator, Callable
from typing import Annotated

from fastapi import Header, Query, Request

from driftline.app.serving.errors import ApiError, ErrorCode

__all__ = ["StreamSlot", "resume_point", "stream_slots"]

#: A stream entry id, ``<ms>-<seq>``.
ENTRY_ID = re.compile(r"\d{1,20}-\d{1,20}")

#: A dependency that holds one stream slot until the response ends.
StreamSlot = Callable[[Request], AsyncIterator[None]]


def resume_point(
    after: Annotated[
        str | None, Query(description="resume after this entry id (<ms>-<seq>)")
    ] = None,
    last_event_id: Annotated[str | None, Header()] = None,
) -> str | None:
    """Where a stream resumes: the ``Last-Event-ID`` a reconnecting client sends, else
    ``after``; checked before the stream starts (a 422 cannot follow a 200)."""
    resume = last_event_id or after
    if resume is not None and not ENTRY_ID.fullmatch(resume):
        where = "header.last-event-id" if last_event_id else "query.after"
        raise ApiError(
            422, ErrorCode.INVALID_REQUEST, f"not a stream entry id: {resume[:40]!r}", where
        )
    return resume


def stream_slots(max_streams: int) -> StreamSlot:
    """A dependency that holds one of ``max_streams`` open streams until the response
    ends, counted in ``app.state.open_streams`` (the event loop's one thread counts them:
    no lock); beyond them, 503 ``too_many_streams``."""

    async def stream_slot(request: Request) -> AsyncIterator[None]:
        state = request.app.state
        if state.open_streams >= max_streams:
            raise ApiError(
                503,
                ErrorCode.TOO_MANY_STREAMS,
                f"{max_streams} event streams are open; retry later",
            )
        state.open_streams += 1
        try:
            yield
        finally:
            state.open_streams -= 1

    return stream_slot
