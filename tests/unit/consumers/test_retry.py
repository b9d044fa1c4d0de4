"""driftline.consumers.retry: an outage is waited out with capped, doubling, jittered
delays, the group kept alive, and what is awaited shown meanwhile."""

from __future__ import annotations

import pytest

from driftline.consumers.retry import Retry
from driftline.consumers.stats import WorkerStats
from driftline.core.errors import PublishError, RedisScriptError, ServiceUnavailable, StoreFull
from tests.unit.consumers.worker_fakes import Clock


class Outage:
    """Raises ``failures`` transient errors, then answers; notes what the worker shows."""

    def __init__(self, stats: WorkerStats, failures: int) -> None:
        self.stats = stats
        self.failures = failures
        self.seen: list[str | None] = []

    def __call__(self) -> str:
        self.seen.append(self.stats.waiting_for)
        if self.failures:
            self.failures -= 1
            raise ServiceUnavailable("Redis did not answer")
        return "done"


def test_delays_double_up_to_the_cap_with_jitter_and_the_group_is_kept_alive() -> None:
    stats, clock, slept, keepalives = WorkerStats(), Clock(0.0), [], []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.now += seconds

    retry = Retry(
        stats,
        first_s=0.1,
        max_s=1.0,
        keepalive=lambda: keepalives.append(clock.now),
        monotonic=clock,
        sleep=sleep,
    )
    outage = Outage(stats, failures=8)
    assert retry("Redis (predictions)", outage) == "done"
    caps = [min(1.0, 0.1 * 2**n) for n in range(8)]
    assert all(cap / 2 <= s <= cap for s, cap in zip(slept, caps, strict=True))
    assert len(keepalives) == 8  # one after each wait
    assert outage.seen == [None] + ["Redis (predictions)"] * 8  # shown while it lasts
    assert stats.waiting_for is None and stats.waiting_since is None
    assert (stats.outages, stats.retries) == (1, 8)


def test_each_outage_is_counted_once_and_a_call_that_answers_costs_nothing() -> None:
    stats, slept = WorkerStats(), []
    retry = Retry(stats, first_s=0.1, max_s=1.0, sleep=slept.append)
    assert retry("Kafka (dead letters)", Outage(stats, failures=0)) == "done"
    assert (stats.outages, stats.retries, slept) == (0, 0, [])
    retry("Kafka (dead letters)", Outage(stats, failures=2))
    retry("Kafka (dead letters)", Outage(stats, failures=1))
    assert (stats.outages, stats.retries) == (2, 3)


def test_a_publish_error_is_transient_and_any_other_error_is_raised_at_once() -> None:
    stats, slept = WorkerStats(), []
    retry = Retry(stats, first_s=0.1, max_s=1.0, sleep=slept.append)
    answers: list[Exception] = [PublishError("1 alert(s) not acknowledged", 1, None)]

    def publish() -> int:
        if answers:
            raise answers.pop()
        return 1

    assert retry("Kafka (alerts)", publish) == 1 and len(slept) == 1

    def broken() -> None:
        raise ValueError("a bug, not an outage")

    with pytest.raises(ValueError):
        retry("Redis (predictions)", broken)
    assert stats.outages == 1 and len(slept) == 1


def test_a_stop_during_the_wait_ends_the_wait() -> None:
    """The sleep is where a second signal lands: what it raises goes through."""
    stats = WorkerStats()

    def second_signal(_seconds: float) -> None:
        raise SystemExit(130)

    retry = Retry(stats, first_s=0.1, max_s=1.0, sleep=second_signal)
    with pytest.raises(SystemExit):
        retry("Redis (predictions)", Outage(stats, failures=5))
    assert stats.waiting_for == "Redis (predictions)"  # what it was waiting for


def test_redis_full_is_told_apart_from_an_outage_and_said_again_when_the_reason_changes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An outage, then Redis full, then the answer: what is awaited follows the reason,
    Redis full gets its own counter and an error line, and the wait is one outage."""
    stats, slept = WorkerStats(), []
    retry = Retry(stats, first_s=0.1, max_s=1.0, sleep=slept.append)
    answers: list[Exception] = [
        StoreFull("Redis is full"),
        StoreFull("Redis is full"),
        ServiceUnavailable("Redis did not answer"),
    ]
    seen: list[str | None] = []

    def write() -> str:
        seen.append(stats.waiting_for)
        if answers:
            raise answers.pop()
        return "written"

    with caplog.at_level("WARNING", logger="driftline.consumers.retry"):
        assert retry("Redis (predictions)", write) == "written"
    assert seen == [
        None,
        "Redis (predictions)",
        "Redis (predictions): Redis full",
        "Redis (predictions): Redis full",
    ]
    assert (stats.outages, stats.retries, stats.redis_full, stats.waiting_for) == (1, 3, 1, None)
    full = [r for r in caplog.records if "Redis is full" in r.getMessage()]
    assert len(full) == 1 and full[0].levelname == "ERROR"
    assert "holds its batch" in full[0].getMessage()


def test_a_failing_script_is_not_waited_for() -> None:
    stats, slept = WorkerStats(), []
    retry = Retry(stats, first_s=0.1, max_s=1.0, sleep=slept.append)

    def write() -> None:
        raise RedisScriptError("a driftline script failed in Redis: user_script:3: bug")

    with pytest.raises(RedisScriptError):
        retry("Redis (predictions)", write)
    assert (stats.outages, slept) == (0, [])
