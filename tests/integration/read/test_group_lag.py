"""The consumer group's lag on the real broker: records deleted from the log start
(``delete_records``, as retention does) are no lag (issue 19, defect 18)."""

from __future__ import annotations

import pytest
from kafka import TopicPartition
from kafka.structs import OffsetAndMetadata

from driftline.adapters.kafka_clients import admin_client, make_consumer, make_producer
from driftline.adapters.settings import Settings
from driftline.read.lag import GroupLag
from tests.integration.helpers import create_topics

pytestmark = pytest.mark.integration


def test_records_deleted_from_the_log_start_are_not_lag(settings: Settings) -> None:
    create_topics(settings, partitions=1)
    topic, group = settings.topics.events, settings.topics.consumer_group
    tp = TopicPartition(topic, 0)
    producer = make_producer(settings.kafka)
    try:
        for n in range(100):
            producer.send(topic, key=b"k", value=str(n).encode(), partition=0)
        producer.flush(timeout=30)
    finally:
        producer.close()
    lag = GroupLag(settings.kafka, topic, group, cache_s=0)
    try:
        assert lag.read() == {0: 100}
        with admin_client(settings.kafka) as admin:
            admin.delete_records({tp: 60})
        assert lag.read() == {0: 40}  # never committed: from the log start, not offset 0
        committer = make_consumer(settings.kafka, group_id=group, enable_auto_commit=False)
        try:
            committer.assign([tp])
            committer.commit({tp: OffsetAndMetadata(30, "", -1)})  # older than the start
            assert lag.read() == {0: 40}
            committer.commit({tp: OffsetAndMetadata(90, "", -1)})
            assert lag.read() == {0: 10}
        finally:
            committer.close(autocommit=False)
    finally:
        lag.close()
