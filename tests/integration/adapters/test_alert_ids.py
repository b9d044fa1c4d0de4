"""The alert ids kept for dedupe are trimmed with the capped alerts stream (issue 19,
defect 17): many more alerts than the cap keep the ids bounded, alerts still in the stream
are never added twice, and an ids hash of an older driftline is taken over."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import redis

from driftline.adapters.alert_record import alert_json
from driftline.adapters.endpoints import Endpoints
from driftline.adapters.redis_clients import make_redis
from driftline.adapters.redis_keys import RedisKeys
from driftline.adapters.redis_sink import RedisSink
from driftline.core.events.records import Alert
from tests.integration.cluster_fixtures import RunningCluster, redis_cluster  # noqa: F401

pytestmark = pytest.mark.integration

AT = datetime(2024, 6, 1, tzinfo=UTC)
#: Alerts written in the bound test: 100 times the cap, about 15 s on a loaded machine (a
#: million, DRIFTLINE_TEST_ALERTS=1000000, took 201 s there and kept 1,153 ids).
MANY = int(os.environ.get("DRIFTLINE_TEST_ALERTS", "100000"))


@pytest.fixture
def client(services: Endpoints) -> Iterator[redis.Redis]:
    made = make_redis(services.redis_url)
    yield made
    made.close()


@pytest.fixture(params=["redis", "cluster"])
def either(request: pytest.FixtureRequest, services: Endpoints) -> Iterator[Any]:
    """One Redis, or a Redis Cluster (the stream and its ids share a slot)."""
    if request.param == "redis":
        made = make_redis(services.redis_url)
    else:
        cluster: RunningCluster = request.getfixturevalue("redis_cluster")
        made = make_redis(cluster.url)
    yield made
    made.close()


def _alert(offset: int, kind: str = "concept") -> Alert:
    return Alert(f"0-{offset}-{kind}", 0, offset, kind, "main", "drift", "ADWIN",
                 {"estimation": 0.4}, 120, AT, "main", 3, "none")  # fmt: skip


def _ids(client: redis.Redis, keys: RedisKeys) -> list[str]:
    """The alert ids kept for dedupe, whatever structure holds them."""
    if client.type(keys.alert_ids) == b"hash":  # as driftline kept them before issue 19
        return [m.decode() for m in client.hkeys(keys.alert_ids)]
    return [m.decode() for m in client.zrange(keys.alert_ids, 0, -1)]


def _bound(client: redis.Redis, keys: RedisKeys) -> tuple[int, int]:
    """(ids kept, stream entries)."""
    return len(_ids(client, keys)), client.xlen(keys.alerts)


def test_many_more_alerts_than_the_cap_keep_the_ids_bounded(
    client: redis.Redis, namespace: str
) -> None:
    sink = RedisSink(client, namespace, alerts_maxlen=1000)
    keys = RedisKeys(namespace)
    batch = 500
    began = time.monotonic()
    tenth = None
    for start in range(0, MANY, batch):
        sink.record([], [_alert(n) for n in range(start, min(MANY, start + batch))])
        if tenth is None and start + batch >= MANY // 10:
            tenth = len(_ids(client, keys))
    took = time.monotonic() - began
    assert sink.alerts_added == MANY
    ids, entries = _bound(client, keys)
    assert tenth is not None and ids <= 1000 + 200 + batch and tenth <= 1000 + 200 + batch
    assert entries < 1000 + 200  # the stream's own cap (approximate: whole nodes)
    # the ids of entries trimmed away are forgotten, but for those of the millisecond of the
    # oldest kept entry: at most the rest of one call's batch (a script's clock stands still)
    assert ids <= entries + batch
    kept = {json.loads(f[b"alert"])["alert_id"] for _, f in client.xrange(keys.alerts)}
    assert kept <= set(_ids(client, keys))  # every alert in the stream is still known
    assert client.memory_usage(keys.alert_ids) < 1_000_000  # bytes, for any number written
    print(f"{MANY} alerts in {took:.1f} s: {ids} ids kept for {entries} entries")


def test_alerts_still_in_the_stream_are_never_added_twice(either: Any, namespace: str) -> None:
    client = either
    sink = RedisSink(client, namespace, alerts_maxlen=100)
    keys = RedisKeys(namespace)
    for start in range(0, 1000, 50):  # twenty calls: the stream is trimmed many times
        sink.record([], [_alert(n) for n in range(start, start + 50)])
    kept = [json.loads(f[b"alert"])["alert_id"] for _, f in client.xrange(keys.alerts)]
    entries = len(kept)
    assert 100 <= entries < 1000
    replay = [_alert(n) for n in range(1000) if f"0-{n}-concept" in kept]
    replay += [_alert(n) for n in range(1000) if f"0-{n}-concept" in kept]  # twice in a call
    added = sink.alerts_added
    sink.record([], replay)
    assert sink.alerts_added == added  # nothing in the stream is added again
    assert client.xlen(keys.alerts) == entries
    sink.record([], [_alert(5000, "promotion"), _alert(5000, "promotion")])
    assert sink.alerts_added == added + 1


def test_an_ids_hash_of_an_older_driftline_is_taken_over(either: Any, namespace: str) -> None:
    """A namespace written before the ids were trimmed holds them in a hash, with ids of
    alerts long trimmed from the stream: it becomes the sorted set of the stream's ids."""
    client = either
    keys = RedisKeys(namespace)
    in_stream = [_alert(n) for n in range(10)]
    for alert in in_stream:
        client.xadd(keys.alerts, {"alert": alert_json(alert), "kind": alert.kind})
    client.hset(keys.alert_ids, mapping={f"0-{n}-concept": 1 for n in range(-500, 10)})
    sink = RedisSink(client, namespace)
    sink.record([], [*in_stream, _alert(10)])  # a replay of the kept ones, and a new one
    assert sink.alerts_added == 1
    assert client.type(keys.alert_ids) == b"zset"
    assert set(_ids(client, keys)) == {f"0-{n}-concept" for n in range(11)}
    assert client.xlen(keys.alerts) == 11
