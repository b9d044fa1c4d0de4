"""The benchmark's workloads: the same events for every pipeline, built once, seeded.

(a) ``flights``: the demo's flights replayed with seeded arrival delays, the default model
    and the default features (calendar, lateness, the entity's label history).
(b) ``synthetic``: River's Agrawal stream (nine numeric features, seeded), one entity per
    sample drawn from ``keys`` distinct keys, the label arriving 1-5 s of event time after
    its observation, ``StandardScaler | LogisticRegression`` on the raw features.

Every pipeline reads the same encoded records from the same topic. A :class:`Featurizer`
is the worker's feature step (builder plus label history) for the baselines, so every
pipeline feeds the model the same vectors.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from river.datasets import synth

from driftline.adapters.settings import Settings
from driftline.core.events.codec import EventCodec
from driftline.core.events.model import Event, Observation, Outcome
from driftline.core.learning.features import FeatureBuilder
from driftline.core.learning.history import LabelHistory
from driftline.core.task.partition import TaskConfig
from driftline.producers.replay import ReplayPlan

__all__ = ["SYNTHETIC_MODEL", "Featurizer", "Workload", "flights", "synthetic"]

SYNTHETIC_MODEL = "preprocessing.StandardScaler() | linear_model.LogisticRegression()"


@dataclass
class Workload:
    """Events in arrival order, their wire bytes, and the settings every pipeline uses."""

    name: str
    description: str
    events: list[Event]
    #: Settings overrides (flat names) that make the worker compute what the baselines do.
    overrides: dict[str, Any] = field(default_factory=dict)
    _wire: list[tuple[bytes, bytes]] | None = None

    @property
    def samples(self) -> int:
        return sum(isinstance(e, Observation) for e in self.events)

    @property
    def keys(self) -> int:
        return len({e.key for e in self.events})

    def wire(self) -> list[tuple[bytes, bytes]]:
        """``(key, value)`` of each record, encoded once with the worker's codec."""
        if self._wire is None:
            codec = EventCodec()
            self._wire = [(e.key.encode(), codec.encode(e)) for e in self.events]
        return self._wire

    def settings(self, base: Settings) -> Settings:
        return base.with_overrides(**self.overrides)


def flights(limit: int, seed: int = 42) -> Workload:
    # the flights need the [demo] extra (pandas); the synthetic workload does not
    from driftline.producers.flights.events import flight_events

    plan = ReplayPlan(seed=seed)
    events = [t.event for t in plan.schedule(flight_events(limit=limit))]
    return Workload(
        "flights",
        f"flights, default model and features, {limit:,} events",
        events,
        {"seed": seed},
    )


def synthetic(samples: int, keys: int, seed: int = 42) -> Workload:
    """``samples`` observations and their outcomes, ``keys`` distinct entities."""
    return Workload(
        "synthetic",
        f"Agrawal, StandardScaler | LogisticRegression, {samples:,} samples, "
        f"{keys:,} keys, labels 1-5 s later",
        list(_synthetic_events(samples, keys, seed)),
        {"seed": seed, "model": SYNTHETIC_MODEL, "raw_features": True},
    )


def _synthetic_events(samples: int, keys: int, seed: int) -> Iterator[Event]:
    rng = random.Random(seed)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    step = timedelta(milliseconds=10)
    outcomes: list[tuple[datetime, int, Outcome]] = []
    stream = synth.Agrawal(classification_function=2, seed=seed)
    for i, (x, y) in enumerate(stream.take(samples)):
        at = start + i * step
        while outcomes and outcomes[0][0] <= at:
            yield heapq.heappop(outcomes)[2]
        event_id = f"s{i}"
        key = f"e{(i * 7919) % keys}"  # every key in turn, not in sequence
        features: dict[str, Any] = {str(name): float(value) for name, value in x.items()}
        yield Observation.model_construct(
            event_id=event_id, key=key, event_time=at, features=features
        )
        due = at + timedelta(seconds=rng.uniform(1.0, 5.0))
        label = Outcome.model_construct(event_id=event_id, key=key, event_time=due, label=bool(y))
        heapq.heappush(outcomes, (due, i, label))
    while outcomes:
        yield heapq.heappop(outcomes)[2]


class Featurizer:
    """The worker's feature step for the baselines: builder plus label history."""

    def __init__(self, config: TaskConfig) -> None:
        features = config.features
        self.builder = FeatureBuilder(features)
        self.history = (
            LabelHistory(features.history_alpha, features.history_groups)
            if features.history_groups and not features.raw_only
            else None
        )

    def build(self, obs: Observation, ingest: datetime) -> tuple[dict[str, Any], Any]:
        x = self.builder.build(obs, ingest)
        if self.history is None:
            return x, None
        groups = self.history.groups_of(obs.key, obs.features)
        x.update(self.history.features(groups))
        return x, groups

    def learned(self, groups: Any, label: Any) -> None:
        if self.history is not None and groups:
            self.history.update(groups, label)
