"""driftline.adapters.redis_fence on a real Redis: each claim of a partition is a new
epoch, and a worker learns which of its claims another worker has overtaken."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from driftline.adapters.endpoints import Endpoints
from driftline.adapters.redis_clients import make_redis
from driftline.adapters.redis_fence import RedisFence
from driftline.core.errors import ServiceUnavailable

pytestmark = pytest.mark.integration


@pytest.fixture
def client(services: Endpoints) -> Iterator[redis.Redis]:
    found = make_redis(services.redis_url)
    yield found
    found.close()


def test_the_latest_claim_of_a_partition_fences_the_earlier_ones(
    client: redis.Redis, namespace: str
) -> None:
    paused, woken = RedisFence(client, namespace), RedisFence(client, namespace)
    mine = {0: paused.claim(0), 1: paused.claim(1)}
    assert mine == {0: 1, 1: 1} and paused.taken(mine) == set()
    assert woken.claim(1) == 2  # the partition's new owner, at its restore
    assert paused.taken(mine) == {1}
    assert woken.taken({1: 2}) == set()
    assert paused.taken({2: 1}) == set()  # never claimed: nobody to give way to


def test_redis_not_answering_is_an_outage_to_wait_out(namespace: str) -> None:
    gone = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5)
    with pytest.raises(ServiceUnavailable):
        RedisFence(gone, namespace).claim(0)
    with pytest.raises(ServiceUnavailable):
        RedisFence(gone, namespace).taken({0: 1})
