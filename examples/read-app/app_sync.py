"""Your application reads the latest predictions of some keys, blocking.

    python app_sync.py C042 C007       # one JSON line a key (null: no prediction yet)

Redis is ``DRIFTLINE_REDIS_URL`` when set (``PredictionsClient.from_url``), else the running
local stack's, whose password :func:`driftline.predictions_from_stack` reads for you; the
namespace is ``DRIFTLINE_NAMESPACE`` (default ``driftline``). ``Settings()`` reads both,
and ``.env``, as the ``driftline`` command does.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from driftline import PredictionsClient, Settings, StoredPrediction, predictions_from_stack

__all__ = ["open_client", "summary"]


def open_client(settings: Settings) -> PredictionsClient:
    """A client of the settings' Redis, else of the local stack's."""
    if settings.redis.url is None:
        return predictions_from_stack(namespace=settings.namespace)
    return PredictionsClient.from_url(settings.redis.url.get_secret_value(), settings.namespace)


def summary(found: StoredPrediction | None) -> dict[str, Any] | None:
    """What the app uses of a prediction: the label, the probability the model gave it,
    the positive class's, how many labels the model had learned, and when."""
    if found is None:
        return None
    return {
        "key": found.key,
        "prediction": found.prediction,
        "probability": found.probability_of(found.prediction),
        "positive_probability": found.positive_probability,
        "model_version": found.model_version,
        "event_time": found.event_time.isoformat(),
    }


def main(keys: list[str]) -> None:
    with open_client(Settings()) as client:
        for key in keys:
            print(json.dumps(summary(client.get(key))))


if __name__ == "__main__":
    main(sys.argv[1:] or ["C042"])
