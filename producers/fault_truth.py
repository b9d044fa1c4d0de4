"""The ground truth of a fault injection: one :class:`InjectedFault` per fault put in, kept
as JSON lines (:func:`write_truth`, :func:`read_truth`).

>>> import tempfile
>>> from pathlib import Path
>>> from driftline.producers.fault_kinds import Fault
>>> row = InjectedFault("f1", "observation", Fault.MISSPELLING, Fault.MISSPELLING.dimension,
...                     "carrier", "'UA' -> 'ua'")
>>> with tempfile.TemporaryDirectory() as folder:
...     write_truth([row], Path(folder) / "truth.jsonl")
...     print((Path(folder) / "truth.jsonl").read_text(), end="")
...     read_truth(Path(folder) / "truth.jsonl") == [row]
{"event_id": "f1", "kind": "observation", "fault": "misspelling", "dimension": "consistency", \
"feature": "carrier", "detail": "'UA' -> 'ua'"}
True
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

from driftline.core.errors import ConfigError
from driftline.producers.fault_kinds import FAULTS

__all__ = ["InjectedFault", "read_truth", "write_truth"]


@dataclass(frozen=True, slots=True)
class InjectedFault:
    """One row of the ground truth: ``fault`` put into event ``event_id`` (of ``kind``)."""

    event_id: str
    kind: Literal["observation", "outcome"]
    fault: str
    dimension: str
    feature: str | None = None
    detail: str = ""


def write_truth(truth: Iterable[InjectedFault], path: str | Path) -> None:
    """The ground truth as JSON lines, one :class:`InjectedFault` a line."""
    with Path(path).open("w", encoding="utf-8") as out:
        for row in truth:
            out.write(json.dumps(asdict(row)) + "\n")


def read_truth(path: str | Path) -> list[InjectedFault]:
    """The rows :func:`write_truth` wrote; a line that is not one is a :class:`ConfigError`."""
    rows = []
    with Path(path).open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                row = InjectedFault(**json.loads(line))
            except (ValueError, TypeError) as exc:
                raise ConfigError(f"{path}:{number}: not a ground-truth row ({exc})") from exc
            if row.fault not in FAULTS or row.kind not in ("observation", "outcome"):
                raise ConfigError(f"{path}:{number}: unknown fault or kind in {line.strip()}")
            rows.append(row)
    return rows
