"""Write a batch's predictions and metrics to Redis: pipelined, never per event.

The latest prediction per entity lives in a hash. A Lua script makes the stale-write
check atomic: a prediction whose event time is older than the stored one is dropped,
so an out-of-order record never overwrites a fresher prediction. Equal event times
overwrite, so a deterministic replay rewrites the same values.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

import redis

from pipeline.core.records import Prediction
from pipeline.adapters.redis_keys import RedisKeys

__all__ = ["RedisSink"]

_GUARDED_HSET = """
local stored = redis.call('HGET', KEYS[1], 'event_time_us')
if stored and tonumber(stored) > tonumber(ARGV[1]) then
  return 0
end
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
if tonumber(ARGV[2]) > 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 1
"""


def _json_label(value: Any) -> Any:
    return value if isinstance(value, bool | int | float | str) or value is None else str(value)


def _probabilities(prediction: Prediction) -> dict[str, float] | None:
    if prediction.probabilities is None:
        return None
    return {str(k): round(float(v), 6) for k, v in prediction.probabilities.items()}


class RedisSink:
    """Writes predictions (hash per key + capped stream) and task metrics."""

    def __init__(
        self,
        client: redis.Redis,
        namespace: str,
        *,
        prediction_ttl_s: float = 7 * 24 * 3600,
        stream_maxlen: int = 100_000,
        chunk: int = 500,
    ) -> None:
        self._redis: Any = client  # typed loosely: redis-py's stubs reject plain dicts
        self.keys = RedisKeys(namespace)
        self._script = client.register_script(_GUARDED_HSET)
        self._ttl_ms = int(prediction_ttl_s * 1000)
        self._maxlen = stream_maxlen
        self._chunk = chunk
        self.stale_skipped = 0

    def write(self, predictions: Sequence[Prediction], snapshots: Iterable[dict[str, Any]]) -> int:
        """Write a batch in pipelines of ``chunk`` commands; return the hashes updated.

        Every prediction goes to the stream; for the hashes only the newest prediction of
        each key in the batch is sent (the rest would be overwritten in the same breath),
        and Redis still refuses it if it is older than what is stored.
        """
        newest: dict[str, Prediction] = {}
        for prediction in predictions:
            held = newest.get(prediction.key)
            if held is None or prediction.event_time >= held.event_time:
                newest[prediction.key] = prediction
        self.stale_skipped += len(predictions) - len(newest)
        latest = list(newest.values())
        stored = 0
        for start in range(0, max(len(predictions), len(latest)), self._chunk):
            pipe = self._redis.pipeline(transaction=False)
            for prediction in predictions[start : start + self._chunk]:
                pipe.xadd(
                    self.keys.predictions_stream,
                    self._stream_fields(prediction),
                    maxlen=self._maxlen,
                    approximate=True,
                )
            guarded = latest[start : start + self._chunk]
            for prediction in guarded:
                fields = self._fields(prediction)
                args: list[Any] = [fields["event_time_us"], self._ttl_ms]
                for name, value in fields.items():
                    args += [name, value]
                self._script(keys=[self.keys.prediction(prediction.key)], args=args, client=pipe)
            results = pipe.execute()
            applied = results[len(results) - len(guarded) :] if guarded else []
            stored += sum(int(r) for r in applied)
            self.stale_skipped += sum(1 for r in applied if int(r) == 0)
        metrics = {f"p{snap['partition']}": json.dumps(snap) for snap in snapshots}
        if metrics:
            self._redis.hset(self.keys.metrics, mapping=metrics)
        return stored

    @staticmethod
    def _stream_fields(prediction: Prediction) -> dict[str, Any]:
        return {
            "key": prediction.key,
            "event_id": prediction.event_id,
            "prediction": json.dumps(_json_label(prediction.prediction)),
            "probabilities": json.dumps(_probabilities(prediction)),
            "event_time": prediction.event_time.isoformat(),
            "model_version": prediction.model_version,
        }

    @staticmethod
    def _fields(prediction: Prediction) -> dict[str, Any]:
        probabilities = _probabilities(prediction)
        event_time_us = (
            int(prediction.event_time.timestamp()) * 1_000_000 + prediction.event_time.microsecond
        )
        return {
            "prediction": json.dumps(_json_label(prediction.prediction)),
            "probabilities": json.dumps(probabilities),
            "model_version": prediction.model_version,
            "event_id": prediction.event_id,
            "event_time": prediction.event_time.isoformat(),
            "event_time_us": event_time_us,
            "ingest_time": prediction.ingest_time.isoformat(),
            "predicted_time": prediction.predicted_time.isoformat(),
            "partition": prediction.partition,
            "offset": prediction.offset,
        }
