"""The reads of the predictions clients, apart from I/O: each yields the Redis commands it
needs, gets their answers back, and returns what it read.

The blocking :class:`~driftline.read.reader.PredictionsClient` and the asyncio
:class:`~driftline.read.async_reader.AsyncPredictionsClient` run these same generators
(the sans-I/O style of h11 and hyper-h2): the key schema, the decoding of records, the
paging of the alerts and the merging of metrics are written once, and only the driver
differs (``client.hgetall(...)`` or ``await client.hgetall(...)``). A step is one command
(:class:`Call`), a batch of commands sent together (:class:`Batch`: a pipeline, one round
trip per node) or every key matching a pattern (:class:`ScanKeys`). :func:`answered`
runs a read on answers given in advance: what tests and this example use.

>>> keys = RedisKeys("demo")
>>> read = latest(keys, "EWR")
>>> next(read)
Call(name='hgetall', args=('demo:prediction:EWR',), kwargs={})
>>> answered(latest(keys, "EWR"), [{}]) is None  # no hash: no prediction
True
>>> answered(task_metrics(keys), [{b"p0": b'{"n": 3}', b"other": b"{}"}])
{0: {'n': 3}}
"""

from __future__ import annotations

import json
import time
from collections.abc import Generator, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeAlias, TypeVar

from driftline.adapters.prediction_record import (
    StoredPrediction,
    StreamEntry,
    decode_hash,
    decode_stream_entry,
)
from driftline.adapters.quality_log import read_quality_entry
from driftline.adapters.redis_keys import RedisKeys
from driftline.core.learning.metrics import merge_models, merge_snapshots
from driftline.core.learning.windows import merge_points

__all__ = [
    "Batch",
    "Call",
    "Query",
    "ScanKeys",
    "Step",
    "alerts",
    "answered",
    "freshness",
    "latest",
    "latest_many",
    "metrics",
    "newest_id",
    "quality_log",
    "read_after",
    "series",
    "task_metrics",
]

_R = TypeVar("_R")
#: Alerts read per ``XREVRANGE`` when looking for one kind among the others.
_ALERTS_PAGE = 500


@dataclass(frozen=True)
class Call:
    """One Redis command: the client's method ``name`` with these arguments."""

    name: str
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Batch:
    """Commands sent together (a pipeline without a transaction); answered as a list."""

    calls: tuple[Call, ...]


@dataclass(frozen=True)
class ScanKeys:
    """Every key matching ``match`` (``SCAN``, on each node of a cluster); answered as a list."""

    match: str
    count: int = 1000


Step: TypeAlias = Call | Batch | ScanKeys
#: A read: yields steps, is sent each step's answer, returns its result.
Query: TypeAlias = Generator[Step, Any, _R]


def answered(query: Query[_R], answers: Iterable[Any]) -> _R:
    """Run ``query`` on ``answers`` given in advance, one per step, in order."""
    given = iter(answers)
    try:
        next(query)
        while True:
            query.send(next(given))
    except StopIteration as done:
        result: _R = done.value
        return result


def latest(keys: RedisKeys, key: str) -> Query[StoredPrediction | None]:
    """The latest prediction for entity ``key``, or ``None``."""
    raw = yield Call("hgetall", (keys.prediction(key),))
    return decode_hash(key, raw) if raw else None


def latest_many(keys: RedisKeys, wanted: Iterable[str]) -> Query[dict[str, StoredPrediction]]:
    """The latest prediction of each of ``wanted`` that has one, in one batch."""
    unique = list(dict.fromkeys(wanted))
    if not unique:
        return {}
    answers = yield Batch(tuple(Call("hgetall", (keys.prediction(key),)) for key in unique))
    return {key: decode_hash(key, raw) for key, raw in zip(unique, answers, strict=True) if raw}


def task_metrics(keys: RedisKeys) -> Query[dict[int, dict[str, Any]]]:
    """Each task's metrics snapshot, by partition."""
    raw = yield Call("hgetall", (keys.metrics,))
    return {
        int(_text(name).removeprefix("p")): json.loads(value)
        for name, value in raw.items()
        if _text(name).startswith("p")
    }


def metrics(keys: RedisKeys) -> Query[dict[str, Any]]:
    """Totals over every task, per model over every task, and the tasks themselves."""
    tasks = yield from task_metrics(keys)
    snapshots = [tasks[p] for p in sorted(tasks)]
    return {
        "total": merge_snapshots(snapshots),
        "models": merge_models(snapshots),
        "tasks": {str(p): tasks[p] for p in sorted(tasks)},
    }


def series(
    keys: RedisKeys, window_s: float | None = None, model: str | None = None
) -> Query[dict[str, list[dict[str, Any]]]]:
    """The metrics time series by ``"<window_s>:<model>"`` (see
    :meth:`PredictionsClient.series <driftline.read.reader.PredictionsClient.series>`)."""
    found_keys = yield ScanKeys(keys.series_pattern)
    prefix = keys.series_pattern[:-1]
    found: dict[str, list[dict[str, Any]]] = {}
    for key in sorted(found_keys):
        name = _text(key).removeprefix(prefix)
        length, _, model_name = name.partition(":")
        if (window_s is not None and abs(float(length) - window_s) > 0.01 * window_s) or (
            model is not None and model_name != model
        ):
            continue
        by_start: dict[int, list[dict[str, Any]]] = {}
        for member in (yield Call("zrange", (key, 0, -1))):
            point = json.loads(member)
            by_start.setdefault(point["start_s"], []).append(point)
        found[name] = [
            merge_points(by_start[start]) | {"partitions": len(by_start[start])}
            for start in sorted(by_start)
        ]
    return found


def alerts(
    keys: RedisKeys, count: int = 100, kind: str | None = None
) -> Query[list[dict[str, Any]]]:
    """The newest ``count`` alerts (of ``kind``, if given), newest first, a page of
    ``XREVRANGE`` at a time until they are found or the oldest kept entry is passed."""
    found: list[dict[str, Any]] = []
    page = count if kind is None else max(count, _ALERTS_PAGE)
    end = "+"
    while len(found) < count:
        entries = yield Call("xrevrange", (keys.alerts, end, "-"), {"count": page})
        for entry_id, fields in entries:
            alert = json.loads(fields[b"alert"])
            if kind is None or alert["kind"] == kind:
                found.append(alert | {"id": _text(entry_id)})
                if len(found) == count:
                    break
        if len(entries) < page:
            break  # the oldest kept entry was read
        end = f"({_text(entries[-1][0])}"  # exclusive: before the oldest of this page
    return found


def quality_log(
    keys: RedisKeys, count: int = 100, after: str | None = None
) -> Query[list[dict[str, Any]]]:
    """Data-quality findings: the newest ``count`` (newest first), or, with ``after``
    (a stream id, ``"0"`` for the oldest kept), up to ``count`` after it, oldest first."""
    if after is None:
        step = Call("xrevrange", (keys.quality_log, "+", "-"), {"count": count})
    else:
        start = f"({after}" if after != "0" else "-"
        step = Call("xrange", (keys.quality_log, start, "+"), {"count": count})
    entries = yield step
    return [read_quality_entry(fields) | {"id": _text(entry_id)} for entry_id, fields in entries]


def newest_id(keys: RedisKeys) -> Query[str]:
    """The id of the predictions stream's newest entry; ``0-0`` when it is empty or missing."""
    newest = yield Call("xrevrange", (keys.predictions_stream, "+", "-"), {"count": 1})
    return _text(newest[0][0]) if newest else "0-0"


def freshness(keys: RedisKeys) -> Query[dict[str, Any]]:
    """Whether Redis answers and how fast, and the newest prediction's age in seconds of
    Redis's own clock (``None`` when there is none): what a health check reports."""
    began = time.perf_counter()
    yield Call("ping")
    took = time.perf_counter() - began
    newest = yield Call("xrevrange", (keys.predictions_stream, "+", "-"), {"count": 1})
    age = None
    if newest:
        seconds, micros = yield Call("time")
        written_ms = int(_text(newest[0][0]).split("-")[0])
        age = max(0.0, seconds + micros / 1e6 - written_ms / 1000)
    return {
        "ping_s": round(took, 6),
        "last_prediction_id": _text(newest[0][0]) if newest else None,
        "last_prediction_age_s": None if age is None else round(age, 3),
    }


def read_after(
    keys: RedisKeys, last: str, *, block_ms: int, count: int
) -> Query[list[StreamEntry]]:
    """The predictions stream's entries after ``last`` (up to ``count``), waiting up to
    ``block_ms`` for one (``XREAD BLOCK``); none when the wait ends empty."""
    answer = yield Call(
        "xread", ({keys.predictions_stream: last},), {"block": block_ms, "count": count}
    )
    return [
        decode_stream_entry(entry_id, fields)
        for _stream, entries in answer or []
        for entry_id, fields in entries
    ]


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
