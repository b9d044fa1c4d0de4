"""The consumer group's lag as ``/health`` reports it, on a fake Kafka consumer: counted
from the committed offset, or from the log start when the group never committed (the
integration tests count it on the real broker)."""

from __future__ import annotations

from typing import Any

import pytest
from kafka import TopicPartition
from kafka.errors import KafkaTimeoutError

from driftline.adapters import kafka_reads
from driftline.adapters.settings import Settings
from driftline.core.errors import ServiceUnavailable
from driftline.read.lag import GroupLag


class FakeConsumer:
    """What GroupLag asks of a consumer, from fixed offsets per partition."""

    def __init__(
        self, starts: dict[int, int], ends: dict[int, int], committed: dict[int, int]
    ) -> None:
        self.starts, self.ends, self.commits = starts, ends, committed
        self.fail = False
        self.closed = False

    def partitions_for_topic(self, topic: str) -> set[int]:
        if self.fail:
            raise KafkaTimeoutError("no answer")
        return set(self.ends)

    def end_offsets(self, tps: list[TopicPartition]) -> dict[TopicPartition, int]:
        return {tp: self.ends[tp.partition] for tp in tps}

    def beginning_offsets(self, tps: list[TopicPartition]) -> dict[TopicPartition, int]:
        return {tp: self.starts[tp.partition] for tp in tps}

    def committed(self, tp: TopicPartition) -> int | None:
        return self.commits.get(tp.partition)

    def close(self, autocommit: bool = True) -> None:
        self.closed = True


def lag_over(fake: FakeConsumer, monkeypatch: pytest.MonkeyPatch) -> GroupLag:
    def make_consumer(*args: Any, **options: Any) -> FakeConsumer:
        return fake

    monkeypatch.setattr(kafka_reads, "make_consumer", make_consumer)
    return GroupLag(Settings(_env_file=None).kafka, "t.events", "t-workers", cache_s=0)


def test_a_partition_never_committed_lags_from_its_log_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = FakeConsumer(
        starts={0: 700, 1: 0, 2: 50, 3: 100, 4: 0},
        ends={0: 1000, 1: 80, 2: 900, 3: 100, 4: 0},
        committed={1: 40, 2: 10},
    )
    lag = lag_over(fake, monkeypatch)
    assert lag.read() == {
        0: 300,  # never committed, 700 records deleted by retention: not lag
        1: 40,  # committed: from the commit
        2: 850,  # a commit older than the log start: the group resumes at the start
        3: 0,  # every record deleted, never committed
        4: 0,  # empty
    }
    fake.commits[0] = 990
    assert lag.read()[0] == 10


def test_kafka_without_an_answer_is_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeConsumer({0: 0}, {0: 5}, {})
    lag = lag_over(fake, monkeypatch)
    fake.fail = True
    with pytest.raises(ServiceUnavailable, match="Kafka did not answer"):
        lag.read()
    assert fake.closed
