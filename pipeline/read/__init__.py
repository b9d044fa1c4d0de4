"""The read side: what applications, ``driftline serve`` and the commands read back.

- :mod:`~driftline.read.reader`: :class:`PredictionsClient`, the predictions, metrics,
  alerts and quality log the workers wrote to Redis (``PredictionsClient.from_url(url)``);
- :mod:`~driftline.read.async_reader`: :class:`AsyncPredictionsClient`, the same reads
  with ``await`` on ``redis.asyncio``; both run the reads of :mod:`~driftline.read.queries`;
- :class:`StoredPrediction` and :class:`StreamEntry`: what they read back
  (:mod:`driftline.adapters.stored_prediction`);
- :mod:`~driftline.read.feed`: :class:`PredictionsFeed`, the predictions stream awaited
  (an idle event stream of ``driftline serve`` holds no thread);
- :mod:`~driftline.read.lag`: :class:`GroupLag`, the consumer group's lag, from outside it;
- :mod:`~driftline.read.tail`: :func:`read_events`, the events topic read back, decoded;
- :mod:`~driftline.read.profiles`: :func:`window_profiles`, event-time windows profiled.

Kafka is reached through :mod:`driftline.adapters.kafka_reads`, Redis through a client
from :mod:`driftline.adapters.redis_clients`. The names load on first use: reading
predictions does not import the Kafka client. The local stack's Redis, with its password,
is reached through :mod:`driftline.app.connect` (``predictions_from_stack()``): this layer
does not know the stack.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from driftline.adapters.stored_prediction import StoredPrediction, StreamEntry
    from driftline.read.async_reader import AsyncPredictionsClient
    from driftline.read.feed import PredictionsFeed
    from driftline.read.lag import GroupLag
    from driftline.read.profiles import window_profiles
    from driftline.read.reader import PredictionsClient
    from driftline.read.tail import ReadRecord, read_events

__all__ = [
    "AsyncPredictionsClient",
    "GroupLag",
    "PredictionsClient",
    "PredictionsFeed",
    "ReadRecord",
    "StoredPrediction",
    "StreamEntry",
    "read_events",
    "window_profiles",
]

_EXPORTS = {
    "AsyncPredictionsClient": "driftline.read.async_reader",
    "StoredPrediction": "driftline.adapters.stored_prediction",
    "StreamEntry": "driftline.adapters.stored_prediction",
    "GroupLag": "driftline.read.lag",
    "PredictionsClient": "driftline.read.reader",
    "PredictionsFeed": "driftline.read.feed",
    "ReadRecord": "driftline.read.tail",
    "read_events": "driftline.read.tail",
    "window_profiles": "driftline.read.profiles",
}


def __getattr__(name: str) -> Any:
    """``from driftline.read import PredictionsClient`` loads that module alone."""
    if name not in _EXPORTS:
        raise AttributeError(f"module 'driftline.read' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_EXPORTS[name]), name)
