"""Write a batch's predictions and metrics to Redis: one transaction, never per event.

The latest prediction per entity lives in a hash. A Lua script makes the stale-write
check atomic: a prediction whose event time is older than the stored one is dropped,
so an out-of-order record never overwrites a fresher prediction. Equal event times
overwrite, so a deterministic replay rewrites the same values. The fields of both are
defined by :mod:`pipeline.adapters.prediction_record`, the codec the readers use too.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import redis

from pipeline.adapters.prediction_record import encode_hash, encode_stream
from pipeline.adapters.redis_keys import RedisKeys
from pipeline.core import jsonsafe
from pipeline.core.errors import ServiceUnavailable
from pipeline.core.records import Prediction

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


class RedisSink:
    """Writes predictions (hash per key + capped stream) and task metrics."""

    def __init__(
        self,
        client: redis.Redis,
        namespace: str,
        *,
        prediction_ttl_s: float = 7 * 24 * 3600,
        stream_maxlen: int = 100_000,
    ) -> None:
        self._redis: Any = client  # typed loosely: redis-py's stubs reject plain dicts
        self.keys = RedisKeys(namespace)
        self._script = client.register_script(_GUARDED_HSET)
        self._ttl_ms = int(prediction_ttl_s * 1000)
        self._maxlen = stream_maxlen
        self.stale_skipped = 0

    def write(self, predictions: Sequence[Prediction], snapshots: Iterable[dict[str, Any]]) -> int:
        """Write a batch in one MULTI/EXEC; return the hashes updated.

        Every prediction goes to the stream; for the hashes only the newest prediction of
        each key in the batch is sent (the rest would be overwritten in the same breath),
        and Redis still refuses it if it is older than what is stored. The batch is one
        transaction, so a failed write applied nothing and the same call can be retried
        without writing anything twice; a Redis error is a :class:`ServiceUnavailable`.

        Raises :class:`ValueError` (from the codec, before anything is sent) if a
        prediction carries a NaN or infinite probability or label.
        """
        newest: dict[str, Prediction] = {}
        for prediction in predictions:
            held = newest.get(prediction.key)
            if held is None or prediction.event_time >= held.event_time:
                newest[prediction.key] = prediction
        latest = list(newest.values())
        metrics = {f"p{snap['partition']}": jsonsafe.dumps(snap) for snap in snapshots}
        stream = [encode_stream(prediction) for prediction in predictions]
        hashes = [(p.key, encode_hash(p)) for p in latest]
        try:
            pipe = self._redis.pipeline(transaction=True)
            for fields in stream:
                pipe.xadd(
                    self.keys.predictions_stream, fields, maxlen=self._maxlen, approximate=True
                )
            for key, fields in hashes:
                args: list[Any] = [fields["event_time_us"], self._ttl_ms]
                for name, value in fields.items():
                    args += [name, value]
                self._script(keys=[self.keys.prediction(key)], args=args, client=pipe)
            if metrics:
                pipe.hset(self.keys.metrics, mapping=metrics)
            results = pipe.execute() if (stream or hashes or metrics) else []
        except redis.RedisError as exc:
            raise ServiceUnavailable(f"Redis did not take the batch: {exc!r}") from exc
        applied = results[len(stream) : len(stream) + len(hashes)]
        stored = sum(int(r) for r in applied)
        self.stale_skipped += len(predictions) - stored
        return stored
