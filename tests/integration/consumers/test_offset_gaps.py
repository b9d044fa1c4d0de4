"""A transactional writer in the events topic (issue 19, defect 2), on the real broker.

Its commit markers take offsets that no consumer ever receives, and its aborted records
are never read by the workers (``read_committed``). The worker and ``driftline replay``
skip those offsets and process every record around them; before, the worker sought back to
the missing offset and read the same batch for ever.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from driftline.adapters.kafka_clients import make_producer
from driftline.adapters.settings import Settings
from driftline.app.namespace import prepare_namespace
from driftline.consumers.rerun import rerun
from driftline.consumers.worker import Worker
from driftline.core.events.codec import EventCodec
from driftline.core.events.model import Observation
from driftline.core.events.records import Prediction
from tests.integration.helpers import create_topics, drain, endpoints_of, publish

pytestmark = pytest.mark.integration

T0 = datetime(2024, 3, 1, tzinfo=UTC)


def observations(prefix: str, n: int, start_s: int) -> list[Observation]:
    return [
        Observation(
            event_id=f"{prefix}{i}",
            key=f"k{i % 3}",
            event_time=T0 + timedelta(seconds=start_s + i),
            features={"x": float(i % 5)},
        )
        for i in range(n)
    ]


def write_transactions(settings: Settings) -> tuple[int, list[Observation]]:
    """A committed transaction of 3 observations and an aborted one of 2; returns the
    offset of the first commit marker and the observations committed."""
    codec = EventCodec()
    producer = make_producer(settings.kafka, transactional_id=f"{settings.namespace}-tx")
    try:
        producer.init_transactions()
        committed = observations("tx", 3, 100)
        producer.begin_transaction()
        sent = [
            producer.send(settings.topics.events, key=e.key.encode(), value=codec.encode(e))
            for e in committed
        ]
        producer.commit_transaction()
        marker = sent[-1].get(timeout=30).offset + 1
        producer.begin_transaction()
        for e in observations("aborted", 2, 200):
            producer.send(settings.topics.events, key=e.key.encode(), value=codec.encode(e))
        producer.flush()  # written to the log, then aborted
        producer.abort_transaction()
    finally:
        producer.close(timeout=10)
    return marker, committed


def test_the_worker_and_replay_process_every_record_around_transaction_markers(
    settings: Settings,
) -> None:
    create_topics(settings, partitions=1)
    before = observations("a", 20, 0)
    assert publish(settings, before) == 20
    marker, committed = write_transactions(settings)
    seen: set[str] = set()

    def note(_worker: Worker, predictions: list[Prediction]) -> None:
        seen.update(p.event_id for p in predictions)

    # its checkpoint holds the offset of the commit marker
    first = drain(settings, 23, on_batch=note, max_poll_records=7)
    assert seen == {e.event_id for e in before + committed}

    after = observations("b", 20, 300)
    assert publish(settings, after) == 20
    second = drain(settings, len(after), on_batch=note, max_poll_records=7)
    assert second.stats.restored >= 1  # from the first worker's checkpoint
    assert seen == {e.event_id for e in before + committed + after}
    # the commit marker, the two aborted records and the abort marker
    gaps = (first.stats.offset_gaps, second.stats.offset_gaps)
    assert sum(gaps) == 4, gaps

    # a replay that starts at the commit marker's offset
    target = settings.with_overrides(namespace=f"{settings.namespace}-replay")
    endpoints = endpoints_of(settings)
    prepare_namespace(target, endpoints, fresh=True)
    result = rerun(settings, target, endpoints, start=marker)
    assert result.records == len(after)
    assert result.predictions == len(after)
