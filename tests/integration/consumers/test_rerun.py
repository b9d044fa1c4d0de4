"""``driftline replay`` on the real Kafka and Redis: an offset range through a fresh
worker in its own namespace; the same range, configuration and seed give the same digest
(in any batch size), every stored prediction carries the configuration's fingerprint."""

from __future__ import annotations

from typing import Any

import pytest

from driftline.adapters.redis_clients import make_redis
from driftline.adapters.settings import Settings
from driftline.app.namespace import prepare_namespace
from driftline.consumers.rerun import rerun
from driftline.core.errors import ConfigError
from driftline.producers.flights import flight_events
from driftline.producers.replay import ArrivalDelay, ReplayPlan
from driftline.read.reader import PredictionsClient
from tests.integration.helpers import create_topics, endpoints_of, publish

pytestmark = pytest.mark.integration

FLIGHTS = 400


def flights() -> list[Any]:
    plan = ReplayPlan(delay=ArrivalDelay(mean_s=60, max_s=600), seed=9)
    return [t.event for t in plan.schedule(flight_events(limit=FLIGHTS, key_by="tailnum"))]


def fresh(settings: Settings, **changes: Any) -> Settings:
    target = settings.with_overrides(namespace=f"{settings.namespace}-replay", **changes)
    prepare_namespace(target, endpoints_of(settings), fresh=True)
    return target


def test_a_replay_gives_the_same_digest_every_time(settings: Settings) -> None:
    create_topics(settings, partitions=2)
    events = flights()
    published = publish(settings, events)
    endpoints = endpoints_of(settings)

    first = rerun(settings, fresh(settings), endpoints)
    assert first.records == published and first.predictions == FLIGHTS
    assert first.dead_letters == 0 and len(first.digest) == 64
    again = rerun(settings, fresh(settings), endpoints)
    assert again.digest == first.digest and again.config == first.config
    # batches of 37 records instead of 2,000: the same state, the same predictions
    small = rerun(settings, fresh(settings, max_poll_records=37), endpoints)
    assert small.digest == first.digest

    # every stored prediction carries the configuration's fingerprint
    url = settings.redis.url.get_secret_value()  # type: ignore[union-attr]
    reader = PredictionsClient(make_redis(url), f"{settings.namespace}-replay")
    keys = {e.key for e in events if e.kind == "observation"}
    stored = reader.get_many(keys)
    assert stored and {p.config for p in stored.values()} == {first.config}
    entries = list(reader.follow(from_start=True, stop=_after(3)))
    assert entries and {e.config for e in entries} == {first.config}
    # the namespace it read holds no output of the replay
    assert not PredictionsClient(make_redis(url), settings.namespace).get_many(keys)

    # another model: another fingerprint, other predictions
    other = rerun(
        settings,
        fresh(settings, model="linear_model.LogisticRegression(optimizer=optim.SGD(0.2))"),
        endpoints,
    )
    assert other.config != first.config and other.digest != first.digest

    # an offset range: the first 100 records of each partition
    part = rerun(settings, fresh(settings), endpoints, start=0, end=100)
    assert part.ranges == {0: (0, 100), 1: (0, 100)} and part.records == 200
    only = rerun(settings, fresh(settings), endpoints, partitions=[1], start=50, end=120)
    assert only.ranges == {1: (50, 120)} and only.records == 70


def test_a_replay_refuses_its_own_namespace_and_empty_ranges(settings: Settings) -> None:
    create_topics(settings, partitions=1)
    publish(settings, flights()[:20])
    endpoints = endpoints_of(settings)
    with pytest.raises(ConfigError, match="own namespace"):
        rerun(settings, settings, endpoints)
    with pytest.raises(ConfigError, match="no record"):
        rerun(settings, fresh(settings), endpoints, start=10_000)
    with pytest.raises(ConfigError, match="no partition 5"):
        rerun(settings, fresh(settings), endpoints, partitions=[5])


def _after(polls: int) -> Any:
    """A ``stop`` for ``follow``: true after ``polls`` reads (the stream is complete)."""
    asked = {"n": 0}

    def stop() -> bool:
        asked["n"] += 1
        return asked["n"] > polls

    return stop
