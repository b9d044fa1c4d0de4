"""driftline.consumers.stopping: a run ends when idle long enough or its input is complete,
and only once its partitions are held and read to their ends."""

from __future__ import annotations

from driftline.consumers.stopping import IdleStop
from tests.unit.consumers.worker_fakes import Clock


def test_idle_counts_only_while_partitions_are_held_and_no_batch_comes() -> None:
    clock = Clock(0.0)
    stop = IdleStop(until_idle_s=3.0, monotonic=clock)
    turns = [(0.0, 0, False), (2.0, 0, False), (4.0, 0, True), (5.0, 7, True), (6.0, 0, True)]
    answers = []
    for clock.now, events, assigned in turns:
        answers.append(stop.due(events, assigned, finished=None, lag=lambda: 0))
    assert answers == [False, False, False, False, False]
    clock.now = 9.0  # idle since 6
    assert stop.due(0, True, finished=None, lag=lambda: 0)


def test_a_lag_starts_the_idle_time_again() -> None:
    clock = Clock(0.0)
    stop = IdleStop(until_idle_s=1.0, monotonic=clock)
    lags = iter([5, 0])
    assert not stop.due(0, True, None, lambda: 0)  # idle from 0
    clock.now = 1.0
    assert not stop.due(0, True, None, lambda: next(lags))  # 5 left: idle again from 1
    clock.now = 1.5
    assert not stop.due(0, True, None, lambda: 0)
    clock.now = 2.0
    assert stop.due(0, True, None, lambda: next(lags))


def test_a_finished_input_ends_the_run_once_read_to_its_end() -> None:
    stop = IdleStop(until_idle_s=None, monotonic=Clock(0.0))
    asked: list[str] = []

    def lag() -> int:
        asked.append("lag")
        return 0

    assert not stop.due(0, True, finished=lambda: False, lag=lag)
    assert asked == []  # the lag is asked last, only when the run would end
    assert not stop.due(4, True, finished=lambda: True, lag=lag)  # a batch came
    assert not stop.due(0, False, finished=lambda: True, lag=lag)  # nothing held
    assert stop.due(0, True, finished=lambda: True, lag=lag) and asked == ["lag"]


def test_without_a_bound_a_run_never_ends_by_itself() -> None:
    clock = Clock(0.0)
    stop = IdleStop(until_idle_s=None, monotonic=clock)
    for clock.now in range(0, 10_000, 100):
        assert not stop.due(0, True, finished=None, lag=lambda: 0)
