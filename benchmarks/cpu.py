"""How many cores the whole machine kept busy over a span of a run: the bench's CPU meter.

A background thread samples ``/proc/stat`` (every core's busy and total time, Linux) every
``interval_s``; :meth:`CpuMeter.busy_cores` then says how many cores were busy on average
between two wall-clock instants of the run (the first and last prediction of a worker run,
say). Everything on the machine counts: the workers, the broker, Redis, the bench.

>>> meter = CpuMeter(interval_s=0.01)
>>> with meter:
...     _ = sum(i * i for i in range(200_000))
>>> 0.0 <= meter.busy_cores(meter.samples[0][0], meter.samples[-1][0]) <= (os.cpu_count() or 1)
True
"""

from __future__ import annotations

import os
import threading
import time
from types import TracebackType

__all__ = ["CpuMeter", "cpu_times"]


def cpu_times() -> tuple[int, int]:
    """(busy, total) clock ticks of every core since boot (``/proc/stat``'s first line)."""
    with open("/proc/stat", encoding="ascii") as stat:
        fields = [int(v) for v in stat.readline().split()[1:9]]
    idle = fields[3] + fields[4]  # idle and iowait
    total = sum(fields)
    return total - idle, total


class CpuMeter:
    """Samples the machine's CPU times while its ``with`` block runs."""

    def __init__(self, interval_s: float = 0.1) -> None:
        self.interval_s = interval_s
        #: (wall-clock seconds, busy ticks, total ticks), in time order.
        self.samples: list[tuple[float, int, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="cpu-meter", daemon=True)

    def __enter__(self) -> CpuMeter:
        self._record()
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()
        self._record()

    def _record(self) -> None:
        busy, total = cpu_times()
        self.samples.append((time.time(), busy, total))

    def _sample(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._record()

    def busy_cores(self, start: float, end: float) -> float | None:
        """Cores busy on average from ``start`` to ``end`` (wall-clock seconds), from the
        samples closest inside that span; ``None`` with fewer than two there."""
        inside = [s for s in self.samples if start <= s[0] <= end]
        if len(inside) < 2:
            return None
        (_, busy0, total0), (_, busy1, total1) = inside[0], inside[-1]
        if total1 <= total0:
            return None
        return round((os.cpu_count() or 1) * (busy1 - busy0) / (total1 - total0), 3)
