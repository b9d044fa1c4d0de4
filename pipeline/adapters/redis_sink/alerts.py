"""Alerts into the Redis alerts stream, each id once: a replay after a crash repeats its
alerts, and the stream keeps the first (see :mod:`driftline.adapters.redis_sink`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from driftline.adapters.alert_record import alert_json
from driftline.adapters.redis_keys import RedisKeys
from driftline.core.events.records import Alert

__all__ = ["ALERTS_BODY", "AlertsScript"]

#: KEYS: the alerts stream, its ids (a sorted set of one slot with it: see
#: RedisKeys.alert_ids). ARGV: the stream's MAXLEN, then (alert id, alert JSON, kind)
#: triples. An alert whose id is known is not added again (a replay after a crash repeats
#: its alerts). Each id is scored by the milliseconds of its stream entry's id, and the ids
#: older than the stream's oldest kept entry are trimmed with it: the ids stay as many as
#: the stream's entries, plus those written in the millisecond of its oldest. An ids hash
#: of an older driftline (never trimmed) becomes the sorted set of the ids still in the
#: stream. Returns how many alerts were added.
ALERTS_BODY = """
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


class AlertsScript:
    """Adds alerts to ``<ns>:alerts`` once per id, trimmed to ``maxlen`` entries."""

    def __init__(self, client: Any, keys: RedisKeys, maxlen: int) -> None:
        self._script = client.register_script(ALERTS_BODY)  # two keys, one slot
        self._keys = [keys.alerts, keys.alert_ids]
        self._maxlen = maxlen

    def add(self, alerts: Sequence[Alert]) -> int:
        """How many of ``alerts`` were new (a Redis error is raised as it is)."""
        args: list[Any] = [self._maxlen]
        for alert in alerts:
            args += [alert.alert_id, alert_json(alert), alert.kind]
        return int(self._script(keys=self._keys, args=args))
