"""Entries of a local stack's recorded state (brokers, Redis nodes), alive or dead."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from driftline.stack import processes


def entry(node_id: int, port: int, *, alive: bool, home: Path) -> dict:
    """A recorded process: this test's own process when alive, a recycled pid when not."""
    started = processes.start_ticks(os.getpid())
    assert started is not None
    return {
        "node_id": node_id,
        "pid": os.getpid(),
        "started": started if alive else started + 1,
        "port": port,
        "controller_port": port + 1,
        "home": str(home / f"kafka-{node_id}"),
        "log": str(home / f"kafka-{node_id}" / "kafka.log"),
    }


def dead_entry(name: str, index: int, port: int, home: Path) -> dict[str, Any]:
    """A process entry whose pid is ours but whose start time is not: recorded, not alive."""
    return {
        "name": name,
        "index": index,
        "pid": os.getpid(),
        "started": -1,
        "port": port,
        "bus_port": port + 1,
        "home": str(home / name),
        "log": str(home / name / "redis.log"),
    }
