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

from driftline.adapters.prediction_record import HASH_FIELDS
from driftline.adapters.redis_clients import REDIS_ERRORS, is_cluster
from driftline.adapters.redis_keys import RedisKeys
from driftline.core.errors import ServiceUnavailable

__all__ = ["BATCH_BODY", "BatchReply", "BatchScript"]

#: KEYS: the hashes of ``batch.h`` in order, then the stream (if ``batch.s``), then the
#: metrics hash (if ``batch.m``). ARGV: TTL in ms, the stream's MAXLEN, the batch as JSON:
#: ``h`` = [[event_time_us, event_id, field, value, ...], ...], ``s`` = [[field, value, ...], ...],
#: ``m`` = [field, value, ...]. Returns ``{stored, refused, stream_ok, metrics_ok}``: how
#: many hashes were written, the 0-based rows of ``h`` whose key holds another type, and
#: whether the stream and the metrics hash took their writes (1) or held another type (0).
BATCH_BODY = """
local KEYS = KEYS
if #KEYS == 0 then  -- on a cluster node the keys come after the batch (see BatchScript._call)
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
    local held = redis.pcall('HMGET', KEYS[i], 'event_time_us', 'event_id')
    if not wrote(held) then
      refused[#refused + 1] = i - 1
    elseif not held[1] or tonumber(held[1]) < tonumber(row[1])
        or (tonumber(held[1]) == tonumber(row[1]) and (held[2] or '') <= row[2]) then
      if wrote(redis.pcall('HSET', KEYS[i], unpack(row, 3))) then
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
#: Where ``event_time_us``'s value sits in :func:`hash_items`'s flat list.
_TIME_US = 2 * HASH_FIELDS.index("event_time_us") + 1
#: Where ``event_id``'s value sits in it (the tie-break of equal event times).
_EVENT_ID = 2 * HASH_FIELDS.index("event_id") + 1
#: Redis Cluster: a script touching keys of several slots (all on one node) says so.
_CLUSTER_FLAGS = "#!lua flags=allow-cross-slot-keys\n"


@dataclass(frozen=True)
class BatchReply:
    """What the script answered: hashes written, the keys of those refused (WRONGTYPE),
    and whether the stream and the metrics hash took their writes."""

    stored: int
    refused: list[str]
    stream_ok: bool
    metrics_ok: bool

    @classmethod
    def of(cls, reply: Any, hashes: list[tuple[str, list[str]]]) -> BatchReply:
        if reply is None:  # nothing was sent
            return cls(0, [], True, True)
        stored, rows, stream_ok, metrics_ok = reply
        return cls(
            int(stored), [hashes[int(row)][0] for row in rows], stream_ok == 1, metrics_ok == 1
        )

    def plus(self, other: BatchReply) -> BatchReply:
        return BatchReply(
            self.stored + other.stored,
            self.refused + other.refused,
            self.stream_ok and other.stream_ok,
            self.metrics_ok and other.metrics_ok,
        )


class BatchScript:
    """The batch script of a Redis or a Redis Cluster: a prediction's hash (``hashes``:
    its key and flat items), the stream's entries and the metrics hash's fields, in one
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

    def send(
        self, hashes: list[tuple[str, list[str]]], stream: list[list[str]], metrics: list[str]
    ) -> BatchReply:
        """Write them; a Redis error is a :class:`ServiceUnavailable` (the same call can
        then be retried: see :mod:`driftline.adapters.redis_sink` for what it may repeat)."""
        try:
            return self._send(hashes, stream, metrics)
        except REDIS_ERRORS as exc:
            if self._cluster:
                self._node_scripts.clear()  # a moved slot or a restarted node: ask afresh
            raise ServiceUnavailable(f"Redis did not take the batch: {exc!r}") from exc

    def _send(
        self, hashes: list[tuple[str, list[str]]], stream: list[list[str]], metrics: list[str]
    ) -> BatchReply:
        if not self._cluster:
            assert self._script is not None
            return BatchReply.of(self._call(self._script, hashes, stream, metrics), hashes)
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
        total = BatchReply(0, [], True, True)
        for name, node_hashes in by_node.items():
            node_stream = stream if name == stream_node.name else []
            node_metrics = metrics if name == metrics_node.name else []
            script = self._node_script(nodes[name])
            reply = self._call(script, node_hashes, node_stream, node_metrics)
            total = total.plus(BatchReply.of(reply, node_hashes))
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
            batch["h"] = [[items[_TIME_US], items[_EVENT_ID], *items] for _, items in hashes]
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
