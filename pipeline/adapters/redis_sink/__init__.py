"""The worker's prediction sink on Redis: a batch's predictions and metrics in one script
call, never per event; closed metric windows, alerts and the quality log beside them.

The latest prediction per entity lives in a hash; every prediction is appended to a
capped stream; each task's metrics snapshot is a field of the metrics hash. The whole
batch goes to Redis as *one* call of a Lua script carrying one JSON document (redis-py
packing a guarded call per key was the worker's largest cost). The script makes the
stale-write check atomic: a prediction whose event time is older than the stored one is
dropped, so an out-of-order record never overwrites a fresher prediction. Equal event
times overwrite, so a deterministic replay rewrites the same values. The fields are
defined by :mod:`driftline.adapters.prediction_record`, the codec the readers use too.
Each prediction's values travel once: the script makes its stream entry from its hash's
values (the stream's fields are a subset of the hash's).

On a single Redis the call is atomic: a failed write applied nothing and can be retried
as it stands. On a Redis Cluster a script may only touch keys of one node, so the batch is
split by node: one call per node (``allow-cross-slot-keys``), the stream and the metrics
with the hashes of their node. A retry after a partial failure rewrites the hashes
(idempotent) and may append the stream entries of the node that had succeeded again: the
stream is at-least-once, as it already is across a replay.

- :mod:`~driftline.adapters.redis_sink.sink`: :class:`RedisSink`, what the worker calls;
- :mod:`~driftline.adapters.redis_sink.batch`: the batch script and its per-node calls;
- :mod:`~driftline.adapters.redis_sink.alerts`: the alerts script (each alert id once).
"""

from driftline.adapters.redis_sink.sink import RedisSink

__all__ = ["RedisSink"]
