"""Bounded state: every structure of a task whose size comes from the data (a key, a
name, an id) stays within its bound, in memory and in the checkpoint, however many
distinct keys or names arrive. docs/state-bounds.md lists them with their tests.

Each pure structure is fed a million distinct keys or names, as a task would feed it, and
measured twice: once just past its bound (:func:`footprint`: the objects it holds, and its
pickled size, which is what a checkpoint adds) and after the million. Memory must not grow
past the first measure (a quarter of slack for the structures that keep an order queue or
a heap beside their map). Whole tasks are slower (about 0.2 ms a record), so a task run
of a few thousand keys shows the checkpoint levels off at the bound."""

from __future__ import annotations

import json
import pickle
import sys
import types
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from driftline.core.contract.check import MAX_COUNTED_VALUES, Contract, ContractState
from driftline.core.drift.data import FeatureMonitor, LabelMonitor
from driftline.core.events.codec import EventCodec
from driftline.core.events.model import Observation, Outcome
from driftline.core.events.records import InputRecord
from driftline.core.learning.features import FeatureConfig
from driftline.core.learning.history import DEFAULT_MAX_SLOTS, LabelHistory
from driftline.core.learning.pending import EarlyOutcomes, PendingEntry, PendingStore
from driftline.core.quality.dedupe import DedupeWindow, LabelMemory
from driftline.core.quality.figures import (
    MAX_FEATURE_NAMES,
    MAX_SOURCES,
    OTHER_FEATURE,
    QualityMetrics,
)
from driftline.core.task.checkpoint import restore_task, seal_task
from driftline.core.task.digest import state_digest
from driftline.core.task.partition import PartitionTask, TaskConfig
from driftline.core.task.seal import CheckpointCodec
from driftline.core.times import to_millis

MILLION = 1_000_000
T0 = datetime(2024, 1, 1, tzinfo=UTC)
SEALER = CheckpointCodec(b"b" * 32)
EVENTS = EventCodec()


# -- measuring ---------------------------------------------------------------------------------
#: Shared by every instance: not part of one structure's state.
_NOT_STATE = (
    type,
    types.FunctionType,
    types.BuiltinFunctionType,
    types.MethodType,
    types.ModuleType,
)


def deep_size(root: Any) -> int:
    """Bytes of every object reachable from ``root`` (each counted once): containers, the
    attributes of objects, and what they hold; classes and functions are not followed."""
    seen: set[int] = set()
    total = 0
    stack = [root]
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, _NOT_STATE):
            continue
        seen.add(id(obj))
        total += sys.getsizeof(obj)
        if isinstance(obj, dict):
            stack.extend(obj.keys())
            stack.extend(obj.values())
        elif isinstance(obj, list | tuple | set | frozenset | deque):
            stack.extend(obj)
        if hasattr(obj, "__dict__"):
            stack.append(vars(obj))
        slots = getattr(type(obj), "__slots__", ())
        for name in (slots,) if isinstance(slots, str) else slots:
            if hasattr(obj, name):
                stack.append(getattr(obj, name))
    return total


@dataclass(frozen=True)
class Footprint:
    memory: int  # bytes of the objects held
    pickled: int  # bytes it adds to a checkpoint

    def at_most(self, other: Footprint, slack: float) -> bool:
        return self.memory <= other.memory * slack and self.pickled <= other.pickled * slack


def footprint(obj: Any) -> Footprint:
    return Footprint(deep_size(obj), len(pickle.dumps(obj, protocol=5)))


# -- a million distinct keys or names through each pure structure ------------------------------
def entry(event_id: str) -> PendingEntry:
    return PendingEntry(event_id, "k", T0, {"x": 1.0}, True, None, 0)


def _history_feed(history: LabelHistory, i: int) -> None:
    groups = {"key": f"N{i:07d}"}
    when = T0 + timedelta(seconds=i)
    history.features(groups, as_of=when)  # predicted, then learned
    history.update(groups, i % 3 == 0, event_time=when)


def _pending_feed(store: PendingStore, i: int) -> None:
    store.add(entry(f"e{i}"))
    store.expire(T0 - timedelta(days=1))  # a stalled watermark: only the size bound acts


def _early_feed(early: EarlyOutcomes, i: int) -> None:
    early.hold(f"e{i}", T0, i)
    early.expire(T0 - timedelta(days=1))


def _early_taken_feed(early: EarlyOutcomes, i: int) -> None:
    early.hold(f"e{i}", T0, i)  # an outcome before its observation ...
    early.take(f"e{i}")  # ... which came next


@dataclass(frozen=True)
class Case:
    """A structure, how a task feeds it one distinct key or name, how many entries it
    holds, its bound, and after how many keys it has surely reached it."""

    name: str
    make: Callable[[], Any]
    feed: Callable[[Any, int], None]
    held: Callable[[Any], int]
    bound: int
    full_after: int


CASES = [
    Case(
        "label history: slots per (segment, value)",
        lambda: LabelHistory(0.2, ("key",)),  # the task's defaults
        _history_feed,
        len,
        DEFAULT_MAX_SLOTS,
        DEFAULT_MAX_SLOTS + 1000,
    ),
    Case(
        "quality counters: feature names",
        QualityMetrics,
        lambda q, i: q.note([("consistency", "unknown-feature", f"f{i}")]),
        lambda q: len(q.snapshot()["features"]),
        MAX_FEATURE_NAMES + 1,
        MAX_FEATURE_NAMES + 1000,
    ),
    Case(
        "quality lateness: sources",
        QualityMetrics,
        lambda q, i: q.source_histogram(f"s{i}").add(1.0),
        lambda q: len(q.sources),
        MAX_SOURCES + 1,
        MAX_SOURCES + 1000,
    ),
    Case(
        "dedupe window: event ids",
        DedupeWindow,
        lambda window, i: window.add(f"e{i}"),
        len,
        200_000,
        450_000,  # past a rebuild of its order queue (at twice the size)
    ),
    Case(
        "label memory: outcome ids",
        LabelMemory,
        lambda memory, i: memory.put(f"e{i // 2 if i % 3 else i}", i % 2 == 0),  # some again
        len,  # (its order queue and stale appearances are in the footprint)
        20_000,
        130_000,  # past a rebuild of its order queue
    ),
    Case(
        "pending store: observations and expired ids",
        lambda: PendingStore(timedelta(days=7), max_entries=10_000),
        _pending_feed,
        lambda store: len(store) + len(store._expired),
        10_000 + 100_000,
        200_000,
    ),
    Case(
        "early outcomes: held",
        lambda: EarlyOutcomes(timedelta(days=7)),
        _early_feed,
        lambda early: len(early) + len(early._deadlines),
        100_000 + 100_000,
        200_000,
    ),
    Case(
        "early outcomes: held, then taken",
        lambda: EarlyOutcomes(timedelta(days=7)),
        _early_taken_feed,
        lambda early: len(early._deadlines),
        1024 + 1,
        5_000,
    ),
    Case(
        "feature drift: feature names",
        FeatureMonitor,
        lambda monitor, i: monitor.update({f"x{i}": 1.0}),
        lambda monitor: len(monitor.numeric) + len(monitor.categorical),
        64,
        5_000,
    ),
    Case(
        "feature drift: categories",
        FeatureMonitor,
        lambda monitor, i: monitor.update({"tail": f"N{i}"}),
        lambda monitor: max(len(w.known) for w in monitor.categorical.values()),
        20,
        5_000,
    ),
    Case(
        "label drift: classes",
        lambda: LabelMonitor("classification"),
        lambda monitor, i: monitor.update(f"class-{i}"),
        lambda monitor: len(monitor.shares.known),
        20,
        5_000,
    ),
    Case(
        "contract state: values counted for imputation",
        ContractState,
        lambda state, i: state.add_value("carrier", f"c{i}"),
        lambda state: len(state.counts["carrier"]),
        MAX_COUNTED_VALUES,
        5_000,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_a_million_distinct_keys_keep_memory_and_checkpoint_within_the_bound(case: Case) -> None:
    structure = case.make()
    feed = case.feed
    for i in range(case.full_after):
        feed(structure, i)
    full = footprint(structure)
    for i in range(case.full_after, MILLION):
        feed(structure, i)
    after = footprint(structure)
    assert after.at_most(full, slack=1.25), (case.name, full, after)
    assert case.held(structure) <= case.bound
    again = pickle.loads(pickle.dumps(structure, protocol=5))  # what a restore holds
    assert case.held(again) == case.held(structure)


# -- whole tasks ---------------------------------------------------------------------------------
def _unknowns_contract() -> Contract:
    return Contract.model_validate(
        {
            "stream": {"allowed_lateness_s": 60.0, "unknown_features": "drop"},
            "features": {"x": {"type": "number", "missing": "impute"}},
        }
    )


def _records(events: list[Observation | Outcome], start: int) -> list[InputRecord]:
    return [
        InputRecord(
            0, start + i, event.key.encode(), EVENTS.encode(event), to_millis(event.event_time)
        )
        for i, event in enumerate(events)
    ]


def _keys_and_names(first: int, n: int, names_each: int = 1) -> list[Observation | Outcome]:
    """Per key: an observation carrying new feature names (and, every other one, no x),
    then its outcome: every key, name and id is new."""
    events: list[Observation | Outcome] = []
    for i in range(first, first + n):
        when = T0 + timedelta(seconds=i)
        features: dict[str, Any] = {f"u{i}-{j}": 1.0 for j in range(names_each)}
        if i % 2:
            features["x"] = float(i % 7)
        events.append(
            Observation(event_id=f"e{i}", key=f"N{i}", event_time=when, features=features)
        )
        events.append(Outcome(event_id=f"e{i}", key=f"N{i}", event_time=when, label=i % 3 == 0))
    return events


def test_thirty_thousand_unknown_feature_names_make_at_most_cap_plus_one_counters() -> None:
    task = PartitionTask(0, TaskConfig(contract=_unknowns_contract()))
    task.process(_records(_keys_and_names(0, 3000, names_each=10), 0), T0)
    features = task.snapshot()["quality"]["features"]
    # the contract's own feature keeps its counters, whatever came before
    assert features["x"] == {"missing": 1500, "missing-imputed": 1500}
    unknown = {name for name in features if name != "x"}
    assert len(unknown) == MAX_FEATURE_NAMES + 1 and OTHER_FEATURE in unknown
    assert sum(c["unknown-feature"] for n, c in features.items() if n != "x") == 30_000
    assert features[OTHER_FEATURE] == {"unknown-feature": 30_000 - MAX_FEATURE_NAMES}
    assert len(json.dumps(task.snapshot())) < 40_000  # written to Redis every batch


def test_a_task_s_checkpoint_levels_off_while_new_keys_and_names_keep_coming() -> None:
    config = TaskConfig(
        features=FeatureConfig(calendar=False, history_groups=("key",), history_max_slots=500),
        contract=_unknowns_contract(),
        dedupe_size=500,
        conflict_window=500,
        quality_max_feature_names=32,
    )
    task = PartitionTask(0, config)
    sizes = []
    offset = 0
    for start in (0, 2000, 4000):
        events = _keys_and_names(start, 2000)
        task.process(_records(events, offset), T0)
        offset += len(events)
        sizes.append(len(seal_task(task, SEALER, "bounds")))
    assert len(task.history) == 500 and task.history.evicted == 5500
    assert sizes[2] <= sizes[1] * 1.02, sizes  # 6,000 keys in: no bigger than at 4,000
    assert sizes[2] < 200_000


def test_a_task_evicting_history_restores_to_the_uninterrupted_state() -> None:
    config = TaskConfig(
        features=FeatureConfig(
            calendar=False, history_groups=("key", "carrier"), history_max_slots=40
        ),
    )

    def events(first: int, n: int) -> list[Observation | Outcome]:
        out: list[Observation | Outcome] = []
        for i in range(first, first + n):
            when = T0 + timedelta(seconds=i)
            key, carrier = f"N{(i * 7) % 90}", "ABC"[i % 3]
            out.append(
                Observation(
                    event_id=f"e{i}", key=key, event_time=when, features={"carrier": carrier}
                )
            )
            if i >= 3:
                out.append(
                    Outcome(
                        event_id=f"e{i - 3}",
                        key=f"N{((i - 3) * 7) % 90}",
                        event_time=when,
                        label=i % 4 == 0,
                    )
                )
        return out

    first, second = events(0, 400), events(400, 400)
    straight = PartitionTask(0, config)
    served = straight.process(_records(first + second, 0), T0).predictions
    half = PartitionTask(0, config)
    served_before = half.process(_records(first, 0), T0).predictions
    resumed = restore_task(seal_task(half, SEALER, "bounds"), SEALER, config, 0)
    served_after = resumed.process(_records(second, len(first)), T0).predictions
    assert straight.history is not None and resumed.history is not None
    assert straight.history.evicted > 100
    assert [p.probabilities for p in served_before + served_after] == [
        p.probabilities for p in served
    ]
    assert state_digest(resumed.history) == state_digest(straight.history)
