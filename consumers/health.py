"""A worker's health, as probes ask for it on its ``--metrics-port``: ``/livez`` and ``/readyz``.

- ``/livez``: the process answers and its loop turns: the loop's last turn (its heartbeat)
  within ``live_s``, or the worker waiting out an outage (its retries are the loop, alive).
  A 503 here means a loop stuck in one call: restarting the process is the cure (it
  restores its checkpoints and replays from their offsets).
- ``/readyz``: the worker is doing its work: alive, its loop has turned once (its tasks
  restored), and it waits for no service (an outage of Kafka or Redis being retried, or a
  Kafka call past ``DRIFTLINE_STALL_S``). An idle stream is ready (no batch is no
  failure); so is a spare worker the group gives no partition (more workers than
  partitions). Given ``max_batch_age_s``, a last batch older than that is not ready.

Each answers ``(status, body)``: 200 or 503, with a JSON body that says why.

>>> from driftline.consumers.stats import WorkerStats
>>> class Loop:
...     stats = WorkerStats(started=0.0)
...     clock = 0.0
...     def monotonic(self): return self.clock
...     def waiting(self): return None
>>> loop = Loop()
>>> health = WorkerHealth(loop, live_s=60.0)
>>> health.readyz()[0], health.readyz()[1]["reason"]
(503, 'starting: the loop has not turned yet')
>>> loop.stats.heartbeat_at, loop.clock = 5.0, 10.0
>>> health.livez()[0], health.readyz()[0]
(200, 200)
>>> loop.clock = 100.0
>>> health.livez()[1]["reason"]
'the loop has not turned for 95.0 s (limit 60 s)'
"""

from __future__ import annotations

from typing import Any, Protocol

from driftline.consumers.assignment import ASSIGNMENT
from driftline.consumers.stats import WorkerStats

__all__ = ["HealthAnswer", "LoopView", "WorkerHealth"]

#: A probe's answer: the HTTP status (200 or 503) and its JSON body.
HealthAnswer = tuple[int, dict[str, Any]]


class LoopView(Protocol):
    """What health reads of a worker (:class:`~driftline.consumers.worker.Worker`)."""

    stats: WorkerStats

    def monotonic(self) -> float: ...

    def waiting(self) -> tuple[str, float] | None: ...


def _age(now: float, since: float | None) -> float | None:
    return None if since is None else round(now - since, 3)


class WorkerHealth:
    """``/livez`` and ``/readyz`` of ``worker``: alive while its loop turned within
    ``live_s``; ready unless waiting for a service (or, given ``max_batch_age_s``, its
    last batch is older)."""

    def __init__(
        self, worker: LoopView, *, live_s: float, max_batch_age_s: float | None = None
    ) -> None:
        self.worker = worker
        self.live_s = live_s
        self.max_batch_age_s = max_batch_age_s

    def _facts(self) -> tuple[float, dict[str, Any]]:
        worker, stats = self.worker, self.worker.stats
        now = worker.monotonic()
        waiting = worker.waiting()
        return now, {
            "heartbeat_age_s": _age(now, stats.heartbeat_at),
            "last_batch_age_s": _age(now, stats.last_batch_at),
            "waiting_for": None if waiting is None else waiting[0],
            "waiting_s": None if waiting is None else round(waiting[1], 3),
            "batches": stats.batches,
            "records": stats.records,
        }

    def livez(self) -> HealthAnswer:
        """200 while the loop turns (or retries through an outage), else 503."""
        now, facts = self._facts()
        reason = self._dead(now, facts)
        if reason is not None:
            return 503, {"status": "dead", "reason": reason} | facts
        return 200, {"status": "alive"} | facts

    def _dead(self, now: float, facts: dict[str, Any]) -> str | None:
        stats = self.worker.stats
        last = stats.heartbeat_at if stats.heartbeat_at is not None else stats.started
        if now - last <= self.live_s:
            return None
        if stats.waiting_for is not None and stats.waiting_for != ASSIGNMENT:
            return None  # retrying a service: the loop is in its retries, alive
        return f"the loop has not turned for {now - last:.1f} s (limit {self.live_s:g} s)"

    def readyz(self) -> HealthAnswer:
        """200 while the worker works or idles ready, else 503 with the reason."""
        now, facts = self._facts()
        reason = self._dead(now, facts) or self._unready(facts)
        if reason is not None:
            return 503, {"status": "not ready", "reason": reason} | facts
        return 200, {"status": "ready"} | facts

    def _unready(self, facts: dict[str, Any]) -> str | None:
        if facts["heartbeat_age_s"] is None:
            return "starting: the loop has not turned yet"
        waiting_for = facts["waiting_for"]
        if waiting_for is not None and waiting_for != ASSIGNMENT:
            return f"waiting for {waiting_for} for {facts['waiting_s']:.1f} s"
        batch_age = facts["last_batch_age_s"]
        limit = self.max_batch_age_s
        if limit is not None and (batch_age is None or batch_age > limit):
            return f"no batch for more than {limit:g} s"
        return None
