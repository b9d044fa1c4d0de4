"""Nothing hangs silently (issue 19, defect 5): a broker call that does not return is
reported from beside the loop; a worker the group never assigns anything says so, rejoins,
and a bounded run fails instead of polling for ever; a client that fails to start leaves
no thread behind."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from prometheus_client import generate_latest

from driftline.adapters.kafka_clients import make_admin, make_consumer, make_producer
from driftline.adapters.settings import KafkaSettings
from driftline.consumers.exposition import worker_registry
from driftline.consumers.worker import WorkerConfig
from driftline.core.errors import ServiceUnavailable
from driftline.core.events.records import InputRecord
from tests.unit.consumers.worker_fakes import MemoryCheckpoints, MemoryTopic
from tests.unit.consumers.worker_rig import Rig, publish_flights, task_config


def test_a_poll_that_hangs_is_reported_with_what_the_worker_waits_for() -> None:
    topic = MemoryTopic(1)
    publish_flights(topic, 5)
    stalls: list[tuple[str, float]] = []
    rig = Rig(topic, MemoryCheckpoints(), WorkerConfig(stall_s=0.2), task_config())
    rig.worker.watch.on_stall = lambda call, waited: stalls.append((call, waited))
    release, seen = threading.Event(), threading.Event()
    poll = rig.source.poll

    def hanging(timeout_ms: int, max_records: int) -> Mapping[int, Sequence[InputRecord]]:
        if not rig.source.polls and not release.is_set():  # the first poll hangs
            assert rig.worker.watch.stalled.wait(timeout=30)  # the watchdog saw it
            waiting = rig.worker.waiting()
            assert waiting is not None and waiting[0] == "the Kafka consumer (poll)"
            exposed = generate_latest(worker_registry(rig.worker)).decode()
            assert 'driftline_worker_waiting_seconds{waiting_for="the Kafka consumer (poll)"}' in (
                exposed
            )
            seen.set()
            release.set()
        return poll(timeout_ms, max_records)

    rig.source.poll = hanging  # type: ignore[method-assign]
    worker = rig.run(finished=lambda: True)
    assert seen.is_set() and [call for call, _ in stalls] == ["poll"]
    assert stalls[0][1] >= 0.2
    assert worker.waiting() is None  # answered: nothing is awaited any more
    assert worker.stats.records == topic.end(0)


class NeverAssigned:
    """Wraps a source whose group never assigns it anything until it rejoins (or never)."""

    def __init__(self, rig: Rig, assign_on_rejoin: bool) -> None:
        self.rig, self.assign_on_rejoin = rig, assign_on_rejoin
        self.rejoins = 0
        rig.source.initial = set()

    def rejoin(self, listener: Any) -> None:
        self.rejoins += 1
        if self.assign_on_rejoin:
            self.rig.source.assign({0})


def unassigned_rig(assign_on_rejoin: bool) -> tuple[MemoryTopic, Rig, NeverAssigned]:
    """A worker on five flights whose group assigns it nothing until it rejoins (or never)."""
    topic = MemoryTopic(1)
    publish_flights(topic, 5)
    config = WorkerConfig(assignment_stall_s=5.0, poll_timeout_ms=500)
    rig = Rig(topic, MemoryCheckpoints(), config, task_config())
    group = NeverAssigned(rig, assign_on_rejoin=assign_on_rejoin)
    rig.source.rejoin = group.rejoin  # type: ignore[attr-defined]
    return topic, rig, group


def test_a_bounded_run_that_is_never_assigned_fails_instead_of_polling_for_ever(
    caplog: pytest.LogCaptureFixture,
) -> None:
    topic, rig, group = unassigned_rig(assign_on_rejoin=False)
    with pytest.raises(ServiceUnavailable, match="no partition of the topic was assigned"):
        rig.run(finished=lambda: True)
    assert group.rejoins == 1
    assert "no partition assigned for" in caplog.text
    assert len(rig.source.polls) < 40  # 10 s of the loop's clock, not for ever
    assert rig.source.closed


def test_a_worker_that_rejoins_gets_its_partitions_and_goes_on() -> None:
    topic, rig, group = unassigned_rig(assign_on_rejoin=True)
    worker = rig.run(finished=lambda: True)
    assert group.rejoins == 1
    assert worker.stats.records == topic.end(0)
    assert worker.stats.waiting_for is None


@pytest.mark.parametrize("make", [make_admin, make_consumer, make_producer])
def test_a_client_that_cannot_bootstrap_leaves_no_thread(make: Any) -> None:
    config = KafkaSettings(bootstrap="127.0.0.1:1", client_id="leak", request_timeout_ms=1000)
    before = {t.ident for t in threading.enumerate()}
    with pytest.raises(ServiceUnavailable):
        make(config)
    left = [t.name for t in threading.enumerate() if t.ident not in before and t.is_alive()]
    assert left == []
