"""A batch's outputs written while the worker processes the next batch: one write in flight
at most.

The worker's thread used to wait while Redis ran the batch's script; now a thread of its
own makes the batch's writes (:meth:`~driftline.consumers.outputs.BatchWrite.attempt`) while
the worker polls and processes the next batch, and the worker *collects* the write before
it sends the next one. What the worker promised before still holds:

- a batch's tasks stay *dirty* until every part of its outputs is written, and no
  checkpoint holds a batch that is not written (:mod:`~driftline.consumers.checkpointer`):
  a task due while its last batch's write is in flight is sealed then and stored only once
  that write is collected (never if it failed); the worker collects the write in flight
  when a poll comes back empty and at a stop, and a revocation
  :meth:`~WriteBehind.settle`\\ s it (waits for it, without its retries);
- an error of the write surfaces in the worker's thread when it collects: outages are
  waited out there (:class:`~driftline.consumers.retry.Retry`, which keeps the group
  membership alive: the Kafka consumer serves that thread only), a refused prediction is a
  dead letter, any other error is raised there;
- the batch's counts, its event-to-Redis latency (timed when the sink took it) and the
  worker's ``on_batch`` come once the write is collected.

With ``background=False`` a write is made and collected at once (the loop of old).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from driftline.consumers.outputs import BatchWrite, Outputs
from driftline.consumers.partitions import AssignedPartition, Partitions

__all__ = ["WriteBehind"]


@dataclass
class _InFlight:
    write: BatchWrite
    done: list[AssignedPartition]
    future: Future[None] | None
    #: Seconds the batch took to process (its time counts waiting for its write too).
    processing_s: float
    collected: Callable[[BatchWrite], None]


class WriteBehind:
    """The worker's writes: at most one in flight, made by one background thread."""

    def __init__(self, outputs: Outputs, partitions: Partitions, *, background: bool) -> None:
        self.outputs = outputs
        self.partitions = partitions
        self.background = background
        self._pool: ThreadPoolExecutor | None = None  # started with the first write
        self._in_flight: _InFlight | None = None
        #: Told once a write is written (before its ``collected``), or has failed.
        self.on_written: Callable[[], None] = lambda: None
        self.on_failed: Callable[[], None] = lambda: None
        #: Partitions processed in a batch whose write is not sent yet (dirty until it is
        #: written): settling an older write leaves them dirty.
        self._unsent: set[AssignedPartition] = set()

    @property
    def in_flight(self) -> bool:
        return self._in_flight is not None

    def holds(self, held: AssignedPartition) -> bool:
        """Whether ``held`` is dirty only by the write in flight (the lock held)."""
        flight = self._in_flight
        return flight is not None and held in flight.done and held not in self._unsent

    def processed(self, done: list[AssignedPartition]) -> None:
        """``done`` hold a new batch's state, not written yet (the partitions' lock held)."""
        for held in done:
            held.dirty = True
        self._unsent.update(done)

    def send(
        self,
        write: BatchWrite,
        done: list[AssignedPartition],
        processing_s: float,
        collected: Callable[[BatchWrite], None],
    ) -> None:
        """Start ``write``, the batch of ``done`` (processed in ``processing_s``), after
        collecting the one in flight; ``collected(write)`` runs in this thread once it is
        written."""
        self.collect()
        with self.partitions.lock:
            self._unsent.difference_update(done)
        if not self.background:
            self._in_flight = _InFlight(write, done, None, processing_s, collected)
            write.attempt()
            self.collect()
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="driftline-writer")
        future = self._pool.submit(write.attempt)
        self._in_flight = _InFlight(write, done, future, processing_s, collected)

    def collect(self) -> None:
        """Wait for the write in flight, write what it could not (waiting out outages),
        mark its partitions clean and tell ``collected``; raises what the write raised
        (then its partitions stay dirty)."""
        flight, self._in_flight = self._in_flight, None
        if flight is None:
            return
        began = time.perf_counter()
        try:
            if flight.future is not None:
                flight.future.result()  # attempt() keeps its errors: this only waits
            self.outputs.finish(flight.write)
        except BaseException:
            self.on_failed()
            raise
        self._clean(flight)
        self.on_written()
        took = flight.processing_s + time.perf_counter() - began  # the batch's whole time
        stats = self.outputs.stats
        stats.batch_seconds.add(took)
        stats.batch_s += took
        flight.collected(flight.write)

    def settle(self) -> None:
        """Wait for the write in flight (any thread, the partitions' lock held); if it is
        written whole, its partitions are clean: a revocation can checkpoint them. Its
        retries, counts and callbacks stay for :meth:`collect`."""
        flight = self._in_flight
        if flight is None:
            return
        if flight.future is not None:
            flight.future.result()
        if flight.write.written:
            self._clean(flight)

    def close(self) -> None:
        """Stop the writer's thread (after the write in flight, which is not collected);
        a later write starts another."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)

    def _clean(self, flight: _InFlight) -> None:
        fenced = flight.write.fenced  # claimed by another worker: never clean here again
        with self.partitions.lock:
            for held in flight.done:
                if held.partition in fenced:
                    held.fenced = True
                elif held not in self._unsent:
                    held.dirty = False
