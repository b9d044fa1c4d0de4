"""The same reads with asyncio: an :class:`~driftline.AsyncPredictionsClient` (on
``redis.asyncio``), in an app whose event loop must not block.

    python app_async.py C042 C007      # one JSON line a key, as app_sync.py prints

Redis and the namespace as in app_sync.py: ``DRIFTLINE_REDIS_URL``
(``AsyncPredictionsClient.from_url``), else the local stack
(:func:`driftline.async_predictions_from_stack`).
"""

from __future__ import annotations

import asyncio
import json
import sys

from app_sync import summary

from driftline import AsyncPredictionsClient, Settings, async_predictions_from_stack

__all__ = ["open_async_client"]


def open_async_client(settings: Settings) -> AsyncPredictionsClient:
    """An asyncio client of the settings' Redis, else of the local stack's; nothing is
    sent before its first read."""
    if settings.redis.url is None:
        return async_predictions_from_stack(namespace=settings.namespace)
    url = settings.redis.url.get_secret_value()
    return AsyncPredictionsClient.from_url(url, settings.namespace)


async def main(keys: list[str]) -> None:
    async with open_async_client(Settings()) as client:
        found = await asyncio.gather(*(client.get(key) for key in keys))
    for prediction in found:
        print(json.dumps(summary(prediction)))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:] or ["C042"]))
