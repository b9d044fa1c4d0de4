"""A batch of predictions and metrics as one call of a Lua script: one per node on a Redis
Cluster (see :mod:`driftline.adapters.redis_sink`).

The script makes the stale-write check atomic: a prediction whose event time is older
than the stored one is dropped, so an out-of-order record never overwrites a fresher
prediction. Equal event times are ordered by event id (the greater or equal one is
written), so the latest prediction of a key does not depend on which partition wrote last
when one key's events are spread over partitions (``consume --source`` routing by event
id), and a deterministic replay rewrites the same values. A key that holds another type
refuses only its own write (WRONGTYPE), which the reply names.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from driftline.adapters.prediction_record import HASH_FIELDS, STREAM_FIELDS
from driftline.adapters.redis_clients import REDIS_ERRORS, is_cluster, redis_failure
from driftline.adapters.redis_keys import RedisKeys

__all__ = ["BATCH_BODY", "BatchReply", "BatchScript", "Row"]

#: KEYS: the hashes written (rows of ``batch.r`` with a hash index), then the stream (if
#: ``batch.s``), then the metrics hash (if ``batch.m``). ARGV: TTL in ms, the stream's
#: MAXLEN, the batch as JSON: ``r`` = [[hash, key, value, ...], ...], one row per prediction
#: with its hash's values in :data:`HASH_FIELDS` order and ``hash`` its key's index in KEYS
#: (0: no hash for this row: a newer prediction of its key is in the batch, or its hash
#: lives on another cluster node); ``s`` = 1: every row is also a stream entry, made of the
#: same values (:data:`STREAM_FIELDS`); ``m`` = [field, value, ...]. Returns ``{stored,
#: refused, stream_ok, metrics_ok}``: how many hashes were written, the 0-based hash indices
#: whose key holds another type, and whether the stream and the metrics hash took their
#: writes (1) or held another type (0).
BATCH_BODY = """
local KEYS = KEYS
if #KEYS == 0 then  -- on a cluster node the keys come after the batch (see BatchScript._call)
  KEYS = {}
  for i = 4, #ARGV do  -- a loop, not unpack(): a batch may hold more keys than Lua's stack
    KEYS[i - 3] = ARGV[i]
  end
end
-- A key holding another type refuses its write (WRONGTYPE): noted, and the rest goes on.
-- Any other error ends the call as that error, its code kept (raised as the reply table):
-- an outage or OOM is retried whole; a Lua error of the script's own stops the worker.
local function wrote(reply)
  if type(reply) == 'table' and reply.err then
    if string.sub(reply.err, 1, 9) == 'WRONGTYPE' then
      return false
    end
    error(reply)
  end
  return true
end
local HASH_FIELDS = {__HASH_FIELDS__}
local STREAM_FIELDS = {__STREAM_FIELDS__}  -- {name, index of its value in a row}
local TIME_US, EVENT_ID = __TIME_US__, __EVENT_ID__
local ttl = tonumber(ARGV[1])
local maxlen = ARGV[2]
local batch = cjson.decode(ARGV[3])
local stored = 0
local refused = {}
local stream_key = nil
if batch.s then
  stream_key = KEYS[#KEYS - (batch.m and 1 or 0)]
end
local stream_ok = 1
local hash_args = {}
local entry = {}
for _, row in ipairs(batch.r or {}) do
  local i = row[1]
  if i > 0 then
    local held = redis.pcall('HMGET', KEYS[i], 'event_time_us', 'event_id')
    if not wrote(held) then
      refused[#refused + 1] = i - 1
    else
      local at = tonumber(row[TIME_US])
      local known = tonumber(held[1])
      if not known or known < at or (known == at and (held[2] or '') <= row[EVENT_ID]) then
        for f, name in ipairs(HASH_FIELDS) do
          hash_args[2 * f - 1] = name
          hash_args[2 * f] = row[f + 2]
        end
        if wrote(redis.pcall('HSET', KEYS[i], unpack(hash_args))) then
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
  if stream_key and stream_ok == 1 then
    for f, field in ipairs(STREAM_FIELDS) do
      entry[2 * f - 1] = field[1]
      entry[2 * f] = row[field[2]]
    end
    if not wrote(redis.pcall('XADD', stream_key, 'MAXLEN', '~', maxlen, '*', unpack(entry))) then
      stream_ok = 0
    end
  end
end
local metrics_ok = 1
if batch.m and not wrote(redis.pcall('HSET', KEYS[#KEYS], unpack(batch.m))) then
  metrics_ok = 0
end
return {stored, refused, stream_ok, metrics_ok}
"""
#: Where ``event_time_us`` and ``event_id`` sit in a row (Lua's 1-based index: after the
#: row's hash index and key).
_TIME_US = HASH_FIELDS.index("event_time_us") + 3
_EVENT_ID = HASH_FIELDS.index("event_id") + 3
BATCH_BODY = (
    BATCH_BODY.replace("__HASH_FIELDS__", ", ".join(f"'{name}'" for name in HASH_FIELDS))
    .replace(
        "__STREAM_FIELDS__",
        ", ".join(
            f"{{'{name}', {2 if name == 'key' else HASH_FIELDS.index(name) + 3}}}"
            for name in STREAM_FIELDS
        ),
    )
    .replace("__TIME_US__", str(_TIME_US))
    .replace("__EVENT_ID__", str(_EVENT_ID))
)
#: Redis Cluster: a script touching keys of several slots (all on one node) says so.
_CLUSTER_FLAGS = "#!lua flags=allow-cross-slot-keys\n"

#: A prediction of the batch: its hash's key (``None``: its hash is not written: a newer
#: prediction of its key is in the batch) and its hash's values in :data:`HASH_FIELDS` order.
Row = tuple[str | None, str, list[str]]


@dataclass(frozen=True)
class BatchReply:
    """What the script answered: hashes written, the keys of those refused (WRONGTYPE),
    and whether the stream and the metrics hash took their writes."""

    stored: int
    refused: list[str]
    stream_ok: bool
    metrics_ok: bool

    @classmethod
    def of(cls, reply: Any, hash_keys: list[str]) -> BatchReply:
        if reply is None:  # nothing was sent
            return cls(0, [], True, True)
        stored, rows, stream_ok, metrics_ok = reply
        return cls(
            int(stored), [hash_keys[int(row)] for row in rows], stream_ok == 1, metrics_ok == 1
        )

    def plus(self, other: BatchReply) -> BatchReply:
        return BatchReply(
            self.stored + other.stored,
            self.refused + other.refused,
            self.stream_ok and other.stream_ok,
            self.metrics_ok and other.metrics_ok,
        )


class BatchScript:
    """The batch script of a Redis or a Redis Cluster: every prediction's values (a stream
    entry each, a hash for the newest of each key) and the metrics hash's fields, in one
    call per node."""

    def __init__(self, client: Any, keys: RedisKeys, *, ttl_ms: int, stream_maxlen: int) -> None:
        self._redis = client
        self.keys = keys
        self._cluster = is_cluster(client)
        self._body = (_CLUSTER_FLAGS if self._cluster else "") + BATCH_BODY
        self._script = client.register_script(self._body) if not self._cluster else None
        self._node_scripts: dict[str, Any] = {}
        self._ttl_ms = ttl_ms
        self._maxlen = stream_maxlen

    def send(self, rows: list[Row], metrics: list[str]) -> BatchReply:
        """Write them. A Redis error is a :class:`ServiceUnavailable` (a
        :class:`StoreFull` when Redis is full), after which the same call can be retried
        (see :mod:`driftline.adapters.redis_sink` for what it may repeat); a failure of
        the script itself (a bug) is a :class:`RedisScriptError`, not to be retried."""
        try:
            return self._send(rows, metrics)
        except REDIS_ERRORS as exc:
            if self._cluster:
                self._node_scripts.clear()  # a moved slot or a restarted node: ask afresh
            raise redis_failure(exc, "Redis did not take the batch") from exc

    def _send(self, rows: list[Row], metrics: list[str]) -> BatchReply:
        if not self._cluster:
            assert self._script is not None
            return self._call(self._script, rows, True, metrics)
        # One call per node: the stream and the metrics each ride with the hashes of their
        # own node (the two keys' slots may well be served by different nodes).
        client = self._redis
        stream_node = client.get_node_from_key(self.keys.predictions_stream)
        metrics_node = client.get_node_from_key(self.keys.metrics)
        nodes = {stream_node.name: stream_node, metrics_node.name: metrics_node}
        by_node: dict[str, list[Row]] = defaultdict(list)
        for row in rows:
            hash_key = row[0]
            if hash_key is None:
                continue
            node = client.get_node_from_key(hash_key)
            nodes[node.name] = node
            if node.name != stream_node.name:  # the stream's node takes every row
                by_node[node.name].append(row)
        total = BatchReply(0, [], True, True)
        for name, node in nodes.items():
            if name == stream_node.name:
                node_rows = [
                    row
                    if row[0] is None or client.get_node_from_key(row[0]).name == name
                    else (None, row[1], row[2])
                    for row in rows
                ]
            else:
                node_rows = by_node[name]
            node_metrics = metrics if name == metrics_node.name else []
            script = self._node_script(node)
            reply = self._call(script, node_rows, name == stream_node.name, node_metrics)
            total = total.plus(reply)
        return total

    def _node_script(self, node: Any) -> Any:
        """The batch script on one cluster node's own client (registered once per node)."""
        script = self._node_scripts.get(node.name)
        if script is None:
            script = self._node_scripts[node.name] = node.redis_connection.register_script(
                self._body
            )
        return script

    def _call(self, script: Any, rows: list[Row], stream: bool, metrics: list[str]) -> BatchReply:
        keys: list[str] = []
        sent = []
        for hash_key, key, values in rows:
            index = 0
            if hash_key is not None:
                keys.append(hash_key)
                index = len(keys)
            sent.append([index, key, *values])
        batch: dict[str, Any] = {}
        hash_keys = list(keys)
        if sent:
            batch["r"] = sent
        if stream and sent:
            batch["s"] = 1
            keys.append(self.keys.predictions_stream)
        if metrics:
            batch["m"] = metrics
            keys.append(self.keys.metrics)
        if not batch:
            return BatchReply.of(None, hash_keys)
        payload = json.dumps(batch, ensure_ascii=False, separators=(",", ":"))
        if self._cluster:
            # A cluster node insists that declared keys share a slot, even for a script
            # that may cross slots: the node's keys travel as arguments instead.
            reply = script(keys=[], args=[self._ttl_ms, self._maxlen, payload, *keys])
        else:
            reply = script(keys=keys, args=[self._ttl_ms, self._maxlen, payload])
        return BatchReply.of(reply, hash_keys)
