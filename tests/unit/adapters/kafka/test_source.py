"""driftline.adapters.kafka.source: the lag gauges from the last fetch's high watermark
(no round trip), the stopping lag from the broker's end offsets."""

from __future__ import annotations

from collections.abc import Iterable

from kafka import TopicPartition

from driftline.adapters.kafka.source import KafkaRecordSource

TOPIC = "events"


class FakeConsumer:
    """Two partitions held: 0 fetched (its high watermark known), 1 not yet."""

    def __init__(self) -> None:
        self.highwaters: dict[TopicPartition, int | None] = {
            TopicPartition(TOPIC, 0): 10,
            TopicPartition(TOPIC, 1): None,
        }
        self.ends = {TopicPartition(TOPIC, 0): 12, TopicPartition(TOPIC, 1): 7}
        self.positions = {TopicPartition(TOPIC, 0): 4, TopicPartition(TOPIC, 1): 5}
        self.asked: list[list[TopicPartition]] = []

    def assignment(self) -> set[TopicPartition]:
        return set(self.highwaters)

    def highwater(self, tp: TopicPartition) -> int | None:
        return self.highwaters[tp]

    def end_offsets(self, tps: Iterable[TopicPartition]) -> dict[TopicPartition, int]:
        tps = sorted(tps)
        self.asked.append(tps)
        return {tp: self.ends[tp] for tp in tps}

    def position(self, tp: TopicPartition) -> int:
        return self.positions[tp]


def test_lags_read_the_high_watermark_and_ask_only_for_partitions_not_fetched() -> None:
    consumer = FakeConsumer()
    source = KafkaRecordSource(consumer, TOPIC)  # type: ignore[arg-type]

    assert source.lags() == {0: 6, 1: 2}
    assert consumer.asked == [[TopicPartition(TOPIC, 1)]]

    consumer.highwaters[TopicPartition(TOPIC, 1)] = 9
    assert source.lags() == {0: 6, 1: 4}
    assert len(consumer.asked) == 1  # every partition fetched: no round trip


def test_lag_asks_the_broker_for_its_end_offsets() -> None:
    consumer = FakeConsumer()
    source = KafkaRecordSource(consumer, TOPIC)  # type: ignore[arg-type]

    assert source.lag() == (12 - 4) + (7 - 5)
    assert consumer.asked == [[TopicPartition(TOPIC, 0), TopicPartition(TOPIC, 1)]]
