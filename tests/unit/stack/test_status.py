"""judge: a stack's health from its recorded processes (a Kafka quorum and Redis)."""

from __future__ import annotations

import pytest

from driftline.stack.status import Health, judge


# -- health: running, degraded, down ---------------------------------------------------------------
def brokers_alive(*alive: bool) -> list[dict]:
    return [{"node_id": i, "alive": up} for i, up in enumerate(alive, start=1)]


@pytest.mark.parametrize(
    ("alive", "redis_alive", "running", "degraded", "down"),
    [
        ((True,), True, True, False, []),
        ((False,), True, False, False, ["kafka-1"]),
        ((True,), False, False, False, ["redis"]),
        ((True, True, True), True, True, False, []),
        ((True, False, True), True, True, True, ["kafka-2"]),
        ((False, False, True), True, False, False, ["kafka-1", "kafka-2"]),
        ((True, False, True), False, False, False, ["kafka-2", "redis"]),
        ((True, False), True, False, False, ["kafka-2"]),  # two voters: no majority left
        ((True, True, False, False, True), True, True, True, ["kafka-3", "kafka-4"]),
    ],
)
def test_health_is_a_kafka_quorum_and_redis(
    alive: tuple[bool, ...], redis_alive: bool, running: bool, degraded: bool, down: list[str]
) -> None:
    health = judge(brokers_alive(*alive), {"alive": redis_alive})
    assert (health.running, health.degraded, health.down) == (running, degraded, down)


def test_no_process_recorded_is_not_running() -> None:
    assert judge([], None) == Health(running=False, degraded=False, down=[])
    assert not judge(brokers_alive(True), None).running


def test_a_cluster_with_a_master_down_is_not_running() -> None:
    brokers = [{"node_id": 1, "alive": True}]
    nodes = [{"name": f"redis-{i}", "alive": True} for i in (1, 2, 3)]
    assert judge(brokers, None, nodes).describe() == "running"
    nodes[2]["alive"] = False
    health = judge(brokers, None, nodes)
    assert (health.running, health.down) == (False, ["redis-3"])
    assert judge(brokers, None, []).running is False  # no Redis at all
