"""Write a batch's predictions and metrics to Redis: one script call, never per event.

The latest prediction per entity lives in a hash; every prediction is appended to a
capped stream; each task's metrics snapshot is a field of the metrics hash. The whole
batch goes to Redis as *one* call of a Lua script carrying one JSON document (the
profile of issue 9 found redis-py packing a guarded call per key to be the worker's
largest cost). The script makes the stale-write check atomic: a prediction whose event
time is older than the stored one is dropped, so an out-of-order record never overwrites a
fresher prediction. Equal event times overwrite, so a deterministic replay rewrites the
same values. The fields are defined by :mod:`driftline.adapters.prediction_record`, the
codec the readers use too.

On a single Redis the call is atomic: a failed write applied nothing and can be retried
as it stands. On a Redis Cluster a script may only touch keys of one node, so the batch is
split by node: one call per node (``allow-cross-slot-keys``), the stream and the metrics
with the hashes of their node. A retry after a partial failure rewrites the hashes
(idempotent) and may append the stream entries of the node that had succeeded again: the
stream is at-least-once, as it already is across a replay.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import redis

from driftline.adapters.alert_record import alert_json
from driftline.adapters.prediction_record import (
    HASH_FIELDS,
    encoded_values,
    hash_items,
    stream_items,
)
from driftline.adapters.quality_log import quality_entry
from driftline.adapters.redis_clients import REDIS_ERRORS, is_cluster
from driftline.adapters.redis_keys import RedisKeys
from driftline.core import jsonsafe
from driftline.core.errors import ServiceUnavailable, WriteRefused
from driftline.core.events.records import Alert, Prediction
from driftline.core.quality.figures import QualityFinding

__all__ = ["RedisSink"]

log = logging.getLogger(__name__)

#: KEYS: the hashes of ``batch.h`` in order, then the stream (if ``batch.s``), then the
#: metrics hash (if ``batch.m``). ARGV: TTL in ms, the stream's MAXLEN, the batch as JSON:
#: ``h`` = [[event_time_us, field, value, ...], ...], ``s`` = [[field, value, ...], ...],
#: ``m`` = [field, value, ...]. Returns ``{stored, refused, stream_ok, metrics_ok}``: how
#: many hashes were written, the 0-based rows of ``h`` whose key holds another type, and
#: whether the stream and the metrics hash took their writes (1) or held another type (0).
_BATCH_BODY = """
local KEYS = KEYS
if #KEYS == 0 then  -- on a cluster node the keys come after the batch (see _call)
  KEYS = {}
  for i = 4, #ARGV do  -- a loop, not unpack(): a batch may hold more keys than Lua's stack
    KEYS[i - 3] = ARGV[i]
  end
end
-- A key holding another type refuses its write (WRONGTYPE): noted, and the rest goes on.
-- Any other error ends the call as an error (an outage, out of memory: retried whole).
local function wrote(reply)
  if type(reply) == 'table' and reply.err then
    if string.sub(reply.err, 1, 9) == 'WRONGTYPE' then
      return false
    end
    error(reply.err)
  end
  return true
end
local ttl = tonumber(ARGV[1])
local batch = cjson.decode(ARGV[3])
local stored = 0
local refused = {}
local n = 0
if batch.h then
  for i, row in ipairs(batch.h) do
    n = i
    local held = redis.pcall('HGET', KEYS[i], 'event_time_us')
    if not wrote(held) then
      refused[#refused + 1] = i - 1
    elseif not held or tonumber(held) <= tonumber(row[1]) then
      if wrote(redis.pcall('HSET', KEYS[i], unpack(row, 2))) then
        if ttl > 0 then
          redis.call('PEXPIRE', KEYS[i], ttl)
        end
        stored = stored + 1
      else
        refused[#refused + 1] = i - 1
      end
    end
  end
end
local next_key = n + 1
local stream_ok = 1
if batch.s then
  for _, row in ipairs(batch.s) do
    if not wrote(redis.pcall('XADD', KEYS[next_key], 'MAXLEN', '~', ARGV[2], '*', unpack(row))) then
      stream_ok = 0
      break
    end
  end
  next_key = next_key + 1
end
local metrics_ok = 1
if batch.m and not wrote(redis.pcall('HSET', KEYS[next_key], unpack(batch.m))) then
  metrics_ok = 0
end
return {stored, refused, stream_ok, metrics_ok}
"""
#: KEYS: the alerts stream, its ids (a sorted set of one slot with it: see
#: RedisKeys.alert_ids). ARGV: the stream's MAXLEN, then (alert id, alert JSON, kind)
#: triples. An alert whose id is known is not added again (a replay after a crash repeats
#: its alerts). Each id is scored by the milliseconds of its stream entry's id, and the ids
#: older than the stream's oldest kept entry are trimmed with it: the ids stay as many as
#: the stream's entries, plus those written in the millisecond of its oldest. An ids hash
#: of an older driftline (never trimmed) becomes the sorted set of the ids still in the
#: stream. Returns how many alerts were added.
_ALERTS_BODY = """
local stream, ids = KEYS[1], KEYS[2]
if redis.call('TYPE', ids).ok == 'hash' then
  redis.call('UNLINK', ids)
  for _, entry in ipairs(redis.call('XRANGE', stream, '-', '+')) do
    local fields = entry[2]
    for j = 1, #fields - 1, 2 do
      if fields[j] == 'alert' then
        local ms = tonumber(string.match(entry[1], '^%d+'))
        redis.call('ZADD', ids, ms, cjson.decode(fields[j + 1]).alert_id)
      end
    end
  end
end
local added = 0
for i = 2, #ARGV, 3 do
  if not redis.call('ZSCORE', ids, ARGV[i]) then
    local id = redis.call('XADD', stream, 'MAXLEN', '~', ARGV[1], '*', 'alert', ARGV[i + 1],
                          'kind', ARGV[i + 2])
    redis.call('ZADD', ids, tonumber(string.match(id, '^%d+')), ARGV[i])
    added = added + 1
  end
end
if added > 0 then
  local oldest = redis.call('XRANGE', stream, '-', '+', 'COUNT', 1)
  if #oldest > 0 then
    redis.call('ZREMRANGEBYSCORE', ids, '-inf', '(' .. string.match(oldest[1][1], '^%d+'))
  end
end
return added
"""

#: Where ``event_time_us``'s value sits in :func:`hash_items`'s flat list.
_TIME_US = 2 * HASH_FIELDS.index("event_time_us") + 1
#: Redis Cluster: a script touching keys of several slots (all on one node) says so.
_CLUSTER_FLAGS = "#!lua flags=allow-cross-slot-keys\n"


@dataclass(frozen=True)
class _Reply:
    """What the script answered: hashes written, the keys of those refused (WRONGTYPE),
    and whether the stream and the metrics hash took their writes."""

    stored: int
    refused: list[str]
    stream_ok: bool
    metrics_ok: bool

    @classmethod
    def of(cls, reply: Any, hashes: list[tuple[str, list[str]]]) -> _Reply:
        if reply is None:  # nothing was sent
            return cls(0, [], True, True)
        stored, rows, stream_ok, metrics_ok = reply
        return cls(
            int(stored), [hashes[int(row)][0] for row in rows], stream_ok == 1, metrics_ok == 1
        )

    def plus(self, other: _Reply) -> _Reply:
        return _Reply(
            self.stored + other.stored,
            self.refused + other.refused,
            self.stream_ok and other.stream_ok,
            self.metrics_ok and other.metrics_ok,
        )


class RedisSink:
    """Writes predictions (hash per key + capped stream) and task metrics."""

    def __init__(
        self,
        client: redis.Redis | Any,
        namespace: str,
        *,
        prediction_ttl_s: float = 7 * 24 * 3600,
        stream_maxlen: int = 100_000,
        series_windows_kept: int = 1000,
        alerts_maxlen: int = 10_000,
        quality_log_maxlen: int = 100_000,
    ) -> None:
        self._redis: Any = client  # typed loosely: a Redis or a RedisCluster
        self.keys = RedisKeys(namespace)
        self._cluster = is_cluster(client)
        body = (_CLUSTER_FLAGS if self._cluster else "") + _BATCH_BODY
        self._script = client.register_script(body) if not self._cluster else None
        self._body = body
        self._node_scripts: dict[str, Any] = {}
        self._ttl_ms = int(prediction_ttl_s * 1000)
        self._maxlen = stream_maxlen
        self._series_kept = series_windows_kept
        self._alerts_maxlen = alerts_maxlen
        self._quality_maxlen = quality_log_maxlen
        self._alerts_script = client.register_script(_ALERTS_BODY)  # two keys, one slot
        #: Alerts added to the stream (not counting repeats of a replay); batches of points
        #: or alerts refused because a key held another type.
        self.alerts_added = 0
        self.extras_refused = 0
        self.stale_skipped = 0
        #: Batches whose metrics Redis refused (the metrics key holds another type).
        self.metrics_refused = 0
        self._hash_prefix = self.keys.prediction("")

    def write(self, predictions: Sequence[Prediction], snapshots: Iterable[dict[str, Any]]) -> int:
        """Write a batch in one script call (one per node on a cluster); return the hashes
        updated.

        Every prediction goes to the stream; for the hashes only the newest prediction of
        each key in the batch is sent (the rest would be overwritten in the same breath),
        and Redis still refuses it if it is older than what is stored. A Redis error is a
        :class:`ServiceUnavailable`; the same call can then be retried (see the module
        docstring for what a retry may repeat).

        A key that holds another type (a string where a prediction's hash belongs, say)
        refuses only its own write: the rest of the batch is written, then
        :class:`~driftline.core.errors.WriteRefused` names the predictions Redis could not
        hold (every one of the batch if the stream's key is the one), for the worker to
        dead-letter. Such a key never gets better by waiting, so it is not retried; a
        metrics hash that holds another type is logged and counted (``metrics_refused``).

        Raises :class:`ValueError` (from the codec, before anything is sent) if a
        prediction carries a NaN or infinite probability or label.
        """
        newest: dict[str, int] = {}
        shared = []
        for index, prediction in enumerate(predictions):
            shared.append(encoded_values(prediction))
            held = newest.get(prediction.key)
            if held is None or prediction.event_time >= predictions[held].event_time:
                newest[prediction.key] = index
        stream = [stream_items(p, values) for p, values in zip(predictions, shared, strict=True)]
        hashes = [
            (self.keys.prediction(predictions[i].key), hash_items(predictions[i], shared[i]))
            for i in newest.values()
        ]
        metrics: list[str] = []
        for snap in snapshots:
            metrics += [f"p{snap['partition']}", jsonsafe.dumps(snap)]
        if not (stream or hashes or metrics):
            return 0
        try:
            reply = self._send(hashes, stream, metrics)
        except REDIS_ERRORS as exc:
            if self._cluster:
                self._node_scripts.clear()  # a moved slot or a restarted node: ask afresh
            raise ServiceUnavailable(f"Redis did not take the batch: {exc!r}") from exc
        self.stale_skipped += len(predictions) - reply.stored
        if not reply.metrics_ok:
            self.metrics_refused += 1
            log.error(
                "%s holds another type than a hash: the metrics were not written (WRONGTYPE)",
                self.keys.metrics,
            )
        refused = self._refusals(predictions, newest, reply)
        if refused:
            raise WriteRefused(reply.stored, refused)
        return reply.stored

    def record(
        self,
        points: Sequence[dict[str, Any]],
        alerts: Sequence[Alert],
        findings: Sequence[QualityFinding] = (),
    ) -> None:
        """Add closed windows to their time series, alerts to the alerts stream and
        data-quality findings to the quality log.

        A point is a member of ``<ns>:series:<window_s>:<model>`` scored by its window's
        start; its JSON has sorted keys, so the point a replay makes again is the same
        member (ZADD is idempotent). Windows older than ``series_windows_kept`` lengths
        before the newest are trimmed. Alerts are added once per id (see _ALERTS_BODY).
        """
        if not (points or alerts or findings):
            return
        try:
            if findings:
                pipe = self._redis.pipeline(transaction=False)
                for finding in findings:
                    pipe.xadd(
                        self.keys.quality_log,
                        quality_entry(finding),
                        maxlen=self._quality_maxlen,
                        approximate=True,
                    )
                pipe.execute()
            if points:
                pipe = self._redis.pipeline(transaction=False)
                newest: dict[str, tuple[int, int]] = {}
                for point in points:
                    key = self.keys.series(point["window_s"], point["model"])
                    member = json.dumps(point, sort_keys=True, separators=(",", ":"))
                    pipe.zadd(key, {member: point["start_s"]})
                    held = newest.get(key)
                    if held is None or point["start_s"] > held[0]:
                        newest[key] = (point["start_s"], point["window_s"])
                for key, (start, length) in newest.items():
                    pipe.zremrangebyscore(key, "-inf", start - self._series_kept * length)
                pipe.execute()
            if alerts:
                args: list[Any] = [self._alerts_maxlen]
                for alert in alerts:
                    args += [alert.alert_id, alert_json(alert), alert.kind]
                keys = [self.keys.alerts, self.keys.alert_ids]
                self.alerts_added += int(self._alerts_script(keys=keys, args=args))
        except redis.ResponseError as exc:
            if not str(exc).startswith("WRONGTYPE"):
                raise ServiceUnavailable(f"Redis did not take series or alerts: {exc!r}") from exc
            # a key of another type where a series or the alerts belong: waiting will not
            # mend it, and predictions must not stall behind it
            self.extras_refused += 1
            log.error("a metrics series or alerts key holds another type: not written (%s)", exc)
        except REDIS_ERRORS as exc:
            raise ServiceUnavailable(f"Redis did not take the series or alerts: {exc!r}") from exc

    def _refusals(
        self, predictions: Sequence[Prediction], newest: dict[str, int], reply: _Reply
    ) -> list[tuple[Prediction, str]]:
        """The predictions Redis could not hold, each with why: its hash's key holds
        another type, or the stream's does (then every prediction of the batch)."""
        refused: dict[int, str] = {}
        for hash_key in reply.refused:
            index = newest[hash_key[len(self._hash_prefix) :]]
            refused[index] = f"{hash_key} holds another type than a hash (WRONGTYPE)"
        if not reply.stream_ok:
            stream_key = self.keys.predictions_stream
            for index in range(len(predictions)):
                refused.setdefault(index, f"{stream_key} holds another type than a stream")
        return [(predictions[i], why) for i, why in sorted(refused.items())]

    def _send(
        self, hashes: list[tuple[str, list[str]]], stream: list[list[str]], metrics: list[str]
    ) -> _Reply:
        if not self._cluster:
            assert self._script is not None
            return _Reply.of(self._call(self._script, hashes, stream, metrics), hashes)
        # One call per node: the stream and the metrics each ride with the hashes of their
        # own node (the two keys' slots may well be served by different nodes).
        client = self._redis
        by_node: dict[str, list[tuple[str, list[str]]]] = defaultdict(list)
        nodes: dict[str, Any] = {}
        for key, items in hashes:
            node = client.get_node_from_key(key)
            by_node[node.name].append((key, items))
            nodes[node.name] = node
        stream_node = client.get_node_from_key(self.keys.predictions_stream)
        metrics_node = client.get_node_from_key(self.keys.metrics)
        for node in (stream_node, metrics_node):
            nodes[node.name] = node
            by_node.setdefault(node.name, [])
        total = _Reply(0, [], True, True)
        for name, node_hashes in by_node.items():
            node_stream = stream if name == stream_node.name else []
            node_metrics = metrics if name == metrics_node.name else []
            script = self._node_script(nodes[name])
            reply = self._call(script, node_hashes, node_stream, node_metrics)
            total = total.plus(_Reply.of(reply, node_hashes))
        return total

    def _node_script(self, node: Any) -> Any:
        """The batch script on one cluster node's own client (registered once per node)."""
        script = self._node_scripts.get(node.name)
        if script is None:
            script = self._node_scripts[node.name] = node.redis_connection.register_script(
                self._body
            )
        return script

    def _call(
        self,
        script: Any,
        hashes: list[tuple[str, list[str]]],
        stream: list[list[str]],
        metrics: list[str],
    ) -> Any:
        keys = [key for key, _ in hashes]
        batch: dict[str, Any] = {}
        if hashes:
            batch["h"] = [[items[_TIME_US], *items] for _, items in hashes]
        if stream:
            batch["s"] = stream
            keys.append(self.keys.predictions_stream)
        if metrics:
            batch["m"] = metrics
            keys.append(self.keys.metrics)
        if not batch:
            return None
        payload = json.dumps(batch, ensure_ascii=False, separators=(",", ":"))
        if self._cluster:
            # A cluster node insists that declared keys share a slot, even for a script
            # that may cross slots: the node's keys travel as arguments instead.
            return script(keys=[], args=[self._ttl_ms, self._maxlen, payload, *keys])
        return script(keys=keys, args=[self._ttl_ms, self._maxlen, payload])
