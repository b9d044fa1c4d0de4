"""``python -m tests.soak.broker_restart_probe [--rounds 6] [--secure]``: does a
kafka-python consumer, made before a broker is restarted, fetch that broker's partitions
again?

One secured soak of seven found a worker that never fetched a partition again after its
leader broker was SIGKILLed and restarted (docs/faults.md). This probe isolates it from
driftline's worker: a three-broker stack of its own, a paced producer into six partitions,
and one plain ``KafkaConsumer`` in a group, made once. Each round SIGKILLs a broker,
restarts it and waits until it is in every ISR, then gives the consumer a limit to read
every partition to the end offsets of that moment; a partition that does not get there is
reported with its leader. Exit status 1 when one stalled.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from kafka import TopicPartition

from driftline.adapters.kafka_clients import make_consumer, make_producer
from driftline.adapters.settings import StackSettings
from driftline.adapters.topics import prepare_topics
from driftline.stack import LocalStack
from tests.integration.three_brokers import (
    broker_pids,
    end_offsets,
    fully_in_sync,
    log,
    own_settings,
    restart,
    sigkill,
    wait_for,
)

PARTITIONS = 6


class Reader:
    """One consumer in a group, made once, reading in a thread of its own: the next
    offset it reached per partition."""

    def __init__(self, kafka: Any, topic: str) -> None:
        self.consumer = make_consumer(
            kafka, group_id="probe", enable_auto_commit=False, auto_offset_reset="earliest"
        )
        self.consumer.subscribe([topic])
        self.reached: dict[int, int] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, name="reader")

    def run(self) -> None:
        while not self.stop.is_set():
            batch = self.consumer.poll(timeout_ms=500)
            for tp, records in batch.items():
                self.reached[tp.partition] = records[-1].offset + 1

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=60)
        self.consumer.close()


def produce(kafka: Any, topic: str, stop: threading.Event) -> None:
    producer = make_producer(kafka)
    n = 0
    while not stop.wait(0.05):
        for partition in range(PARTITIONS):
            producer.send(topic, key=b"k", value=b"%d" % n, partition=partition)
        n += 1
    producer.flush(timeout=30)
    producer.close(timeout=10)


def leaders(kafka: Any, topic: str) -> dict[int, int]:
    consumer = make_consumer(kafka, enable_auto_commit=False)
    try:
        consumer.partitions_for_topic(topic)
        cluster = consumer._client.cluster  # noqa: SLF001 - a probe: the leaders it knows
        return {
            p: cluster.leader_for_partition(TopicPartition(topic, p)) for p in range(PARTITIONS)
        }
    finally:
        consumer.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--secure", action="store_true")
    parser.add_argument("--limit", type=float, default=60.0, help="seconds to catch up")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as home:
        stack = LocalStack(
            StackSettings(
                home=Path(home) / "stack", brokers=3, kafka_heap="384m", secure=args.secure
            )
        )
        stalled: list[tuple[int, int, int]] = []
        try:
            stack.up(brokers=3)
            settings = own_settings(stack, "probe", partitions=PARTITIONS)
            topic = settings.topics.events
            prepare_topics(settings.kafka, settings.namespace)
            wait_for(lambda: fully_in_sync(settings.kafka, [topic]), 60, "the topic")
            stop = threading.Event()
            feeder = threading.Thread(target=produce, args=(settings.kafka, topic, stop))
            feeder.start()
            reader = Reader(settings.kafka, topic)
            reader.thread.start()
            try:
                for round_ in range(args.rounds):
                    node = 1 + round_ % 3
                    sigkill(broker_pids(stack)[node])
                    time.sleep(6)  # a broker down for a while, as the soak holds it
                    restart(stack, settings.kafka, [topic], node)
                    target = end_offsets(settings.kafka, topic)
                    began = time.monotonic()
                    behind: set[int] = set()
                    while time.monotonic() - began < args.limit:
                        behind = {p for p, end in target.items() if reader.reached.get(p, 0) < end}
                        if not behind:
                            break
                        time.sleep(0.5)
                    lead = leaders(settings.kafka, topic)
                    log(
                        f"round {round_}: broker {node} restarted; behind after "
                        f"{time.monotonic() - began:.1f} s: "
                        f"{ {p: (reader.reached.get(p, 0), target[p], lead[p]) for p in behind} }"
                    )
                    stalled += [(round_, p, lead[p]) for p in behind]
            finally:
                stop.set()
                feeder.join(timeout=60)
                reader.close()
        finally:
            stack.down(purge=True)
    log(f"stalled (round, partition, leader): {stalled or 'none'}")
    return 1 if stalled else 0


if __name__ == "__main__":
    sys.exit(main())
