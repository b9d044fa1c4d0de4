"""driftline.consumers.assignment: a worker with no partition says so, rejoins once per
period, and a bounded run fails instead of polling for ever."""

from __future__ import annotations

import pytest

from driftline.consumers.assignment import ASSIGNMENT, AssignmentWatch
from driftline.consumers.stats import WorkerStats
from driftline.core.errors import ServiceUnavailable
from tests.unit.consumers.worker_fakes import Clock


def watch() -> tuple[AssignmentWatch, Clock, list[float]]:
    clock, rejoins = Clock(0.0), []
    made = AssignmentWatch(30.0, WorkerStats(), lambda: rejoins.append(clock.now), clock)
    return made, clock, rejoins


def test_an_unassigned_worker_rejoins_once_per_period_and_shows_what_it_waits_for(
    caplog: pytest.LogCaptureFixture,
) -> None:
    made, clock, rejoins = watch()
    for clock.now in range(0, 91, 5):
        made.check(assigned=False, bounded=False)
    assert rejoins == [30.0, 60.0, 90.0]
    assert made.stats.waiting_for == ASSIGNMENT and made.stats.waiting_since == 0.0
    assert "no partition assigned for 30 s" in caplog.text
    clock.now = 95.0
    made.check(assigned=True, bounded=False)
    assert made.stats.waiting_for is None and made.stats.waiting_since is None
    assert "partitions assigned after 95 s" in caplog.text


def test_a_bounded_run_fails_a_period_after_its_rejoin() -> None:
    made, clock, rejoins = watch()
    for clock.now in (0.0, 30.0, 59.0):
        made.check(assigned=False, bounded=True)
    assert rejoins == [30.0]
    clock.now = 60.0
    with pytest.raises(ServiceUnavailable, match="no partition of the topic was assigned"):
        made.check(assigned=False, bounded=True)


def test_a_worker_that_holds_partitions_is_left_alone() -> None:
    made, clock, rejoins = watch()
    for clock.now in range(0, 300, 10):
        made.check(assigned=True, bounded=True)
    assert rejoins == [] and made.stats.waiting_for is None


def test_another_wait_shown_is_not_cleared_by_an_assignment() -> None:
    made, clock, _ = watch()
    made.stats.waiting_for = "Redis (predictions)"
    for clock.now in (0.0, 30.0):
        made.check(assigned=False, bounded=False)
    made.stats.waiting_for = "Redis (predictions)"  # an outage began meanwhile
    made.check(assigned=True, bounded=False)
    assert made.stats.waiting_for == "Redis (predictions)"
