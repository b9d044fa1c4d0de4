"""topic_specs: the topics' partitions, retention, replication and clocks, and clear errors."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from driftline.adapters.topics import topic_specs
from driftline.core.errors import ConfigError


def specs(**overrides: int) -> dict[str, dict]:
    args = {"partitions": 4, "replication_factor": -1, "brokers": 1, "retention_ms": 1_000}
    return topic_specs("demo", **(args | overrides))


def test_events_topic_uses_the_broker_clock() -> None:
    made = specs()
    assert made["demo.events"]["configs"]["message.timestamp.type"] == "LogAppendTime"
    # the dead-letter topic keeps the producer's time
    assert "message.timestamp.type" not in made["demo.dead-letter"]["configs"]


def test_partitions_and_retention() -> None:
    made = specs(partitions=12, retention_ms=3_600_000)
    assert made["demo.events"]["num_partitions"] == 12
    assert made["demo.dead-letter"]["num_partitions"] == 1
    for spec in made.values():
        assert spec["configs"]["retention.ms"] == "3600000"


@pytest.mark.parametrize(("brokers", "expected"), [(1, 1), (2, 2), (3, 3), (5, 3)])
def test_automatic_replication_is_min_of_three_and_brokers(brokers: int, expected: int) -> None:
    for spec in specs(brokers=brokers).values():
        assert spec["replication_factor"] == expected


@given(st.integers(1, 5), st.data())
def test_min_insync_replicas_never_exceeds_replication(brokers: int, data: st.DataObject) -> None:
    replication = data.draw(st.sampled_from([-1, *range(1, brokers + 1)]))
    for spec in specs(brokers=brokers, replication_factor=replication).values():
        min_isr = int(spec["configs"]["min.insync.replicas"])
        assert 1 <= min_isr <= spec["replication_factor"]
        if spec["replication_factor"] >= 3:
            assert min_isr >= 2  # one broker down still accepts acks=all writes


def test_explicit_replication_is_kept() -> None:
    for spec in specs(brokers=5, replication_factor=2).values():
        assert spec["replication_factor"] == 2


@pytest.mark.parametrize(("brokers", "replication"), [(1, 2), (3, 4)])
def test_replication_beyond_the_brokers_is_a_config_error(brokers: int, replication: int) -> None:
    with pytest.raises(ConfigError, match="replication"):
        specs(brokers=brokers, replication_factor=replication)


@pytest.mark.parametrize("replication", [0, -2, -3, -100])
def test_replication_of_zero_or_below_minus_one_is_a_config_error(replication: int) -> None:
    for brokers in (1, 3, 5):
        with pytest.raises(ConfigError, match="replication factor must be -1"):
            specs(brokers=brokers, replication_factor=replication)


@pytest.mark.parametrize("partitions", [0, -1])
def test_fewer_than_one_partition_is_a_config_error(partitions: int) -> None:
    with pytest.raises(ConfigError, match="partitions"):
        specs(partitions=partitions)
