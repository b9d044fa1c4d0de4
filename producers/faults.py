"""Proof by fault injection: known faults put into a replayed stream, and the score of what
the worker found against them.

A :class:`FaultPlan` (:mod:`~driftline.producers.fault_plan`) says how often each
:class:`Fault` of :data:`FAULTS` happens (seeded; :mod:`~driftline.producers.fault_kinds`
says which rules catch each), and where it can go: the :class:`FaultTargets` of a source
(its unit mixes, spellings, ranges, required features, allowed lateness;
:func:`~driftline.producers.flights.flights_targets` for the flights;
:mod:`~driftline.producers.fault_targets`). A
:class:`FaultInjector` wraps the replay's arrival-ordered stream
(:meth:`ReplayPlan.schedule <driftline.producers.replay.ReplayPlan.schedule>`), changes or
adds events as drawn, keeps arrival order, and records each fault it put in as an
:class:`InjectedFault`: the ground truth (:mod:`~driftline.producers.fault_truth`). This
module holds the injector and names all of them.

Each event id gets at most one fault; whether and which depends only on the seed and the
id (a hash), so the first flights of ``--limit 1000`` get the faults they get in the year.

>>> from datetime import UTC, datetime, timedelta
>>> from driftline.core.events.model import Observation, Outcome
>>> from driftline.producers.replay import ReplayPlan
>>> from driftline.producers.sources import LabelledEvent
>>> t0 = datetime(2013, 1, 1, tzinfo=UTC)
>>> def flight(i):
...     at = t0 + timedelta(minutes=i)
...     obs = Observation(event_id=f"f{i}", key="EWR", event_time=at,
...                       features={"carrier": "UA", "distance": 1400.0})
...     out = Outcome(event_id=f"f{i}", key="EWR", event_time=at + timedelta(hours=3),
...                   label=i % 3 == 0)
...     return LabelledEvent(obs, out)
>>> from driftline.producers.flights import flights_targets
>>> rates = FaultPlan.parse_rates("duplicate=0.1,misspelling=0.1,conflicting-label=0.1")
>>> plan = FaultPlan(rates, seed=7, targets=flights_targets())
>>> injector = FaultInjector(plan)
>>> timed = list(injector.inject(ReplayPlan(seed=7).schedule(flight(i) for i in range(500))))
>>> all(a.arrival <= b.arrival for a, b in zip(timed, timed[1:]))
True
>>> {fault: n for fault, n in injector.counts.items() if n}
{'duplicate': 51, 'misspelling': 41, 'conflicting-label': 45}
>>> len(timed) == 1000 + injector.counts["duplicate"] + injector.counts["conflicting-label"]
True
>>> injector.truth[0]  # doctest: +NORMALIZE_WHITESPACE
InjectedFault(event_id='f4', kind='observation', fault=<Fault.MISSPELLING: 'misspelling'>,
              dimension=<Dimension.CONSISTENCY: 'consistency'>, feature='carrier',
              detail="'UA' -> 'ua'")

:mod:`driftline.producers.fault_score` scores a worker's findings against
:attr:`FaultInjector.truth`.
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import math
import random
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from driftline.core.errors import ConfigError
from driftline.core.events.model import FeatureValue, Label, Outcome
from driftline.producers.fault_kinds import DIMENSION_OF, EXPECTED_RULES, FAULTS, Fault
from driftline.producers.fault_plan import FaultPlan
from driftline.producers.fault_targets import (
    FaultTargets,
    UnitMix,
    targets_from_contract,
)
from driftline.producers.fault_truth import InjectedFault, read_truth, write_truth
from driftline.producers.replay import TimedEvent

__all__ = [
    "DIMENSION_OF",
    "EXPECTED_RULES",
    "FAULTS",
    "Fault",
    "FaultInjector",
    "FaultPlan",
    "FaultTargets",
    "InjectedFault",
    "UnitMix",
    "targets_from_contract",
    "read_truth",
    "write_truth",
]

#: A repeated event (duplicate, near duplicate, conflicting outcome) arrives within this
#: many seconds (source clock) after the original: "shortly after", never late itself.
REPEAT_DELAY_S = 60.0
#: Faults drawn as conflicting-label wait for their outcome; at most this many at a time.
MAX_WAITING_OUTCOMES = 100_000
#: Labels remembered to draw "another label" from (classes beyond bool).
MAX_LABELS = 256
_NEAR = "~near"
_MAX_ID = 256  # an event id's longest length (driftline.core.events.model)


_Applied = tuple[TimedEvent | None, InjectedFault | None, list[tuple[TimedEvent, InjectedFault]]]


def _number(value: FeatureValue) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _inside(value: float, bounds: tuple[float, float]) -> bool:
    return bounds[0] <= value <= bounds[1]


class FaultInjector:
    """Puts the faults of ``plan`` into an arrival-ordered stream (one stream per injector).

    ``time_scale`` is the replay's (``--rebase``): lateness and repeat delays are divided
    by it, so a late event is late on the warped clock. :attr:`truth` lists the faults
    handed on, in the order they were; :attr:`counts` counts them by fault.
    """

    def __init__(self, plan: FaultPlan, time_scale: float = 1.0) -> None:
        if not 0 < time_scale < math.inf:
            raise ConfigError(f"time_scale must be positive and finite, got {time_scale}")
        self.plan = plan
        self.time_scale = time_scale
        self.truth: list[InjectedFault] = []
        #: Observations seen (before injection).
        self.observations = 0
        self._counts: dict[str, int] = dict.fromkeys(FAULTS, 0)
        self._faulted: set[str] = set()
        self._waiting: OrderedDict[str, None] = OrderedDict()  # conflicting-label, no outcome yet
        self._labels: dict[tuple[type, Label], None] = {}
        allowed = plan.targets.allowed_lateness_s
        self._repeat_s = min(REPEAT_DELAY_S, allowed / 10 if allowed else math.inf) / time_scale
        self._cumulative = list(
            zip(FAULTS, itertools.accumulate(plan.rates.get(f, 0.0) for f in FAULTS), strict=True)
        )

    @property
    def counts(self) -> dict[str, int]:
        """Faults handed on, by fault name (every fault named, zeros too)."""
        return {str(fault): n for fault, n in self._counts.items()}

    def write_truth(self, path: str | Path) -> None:
        write_truth(self.truth, path)

    def inject(self, timed: Iterable[TimedEvent]) -> Iterator[TimedEvent]:
        """``timed`` (arrival order) with the faults in, still in arrival order.

        Delayed and repeated events wait in a heap until the stream reaches their arrival;
        beyond it (and the ground truth) memory stays constant.
        """
        heap: list[tuple[datetime, int, TimedEvent, InjectedFault]] = []
        order = itertools.count()
        for item in timed:
            while heap and heap[0][0] <= item.arrival:
                yield self._handed(*heapq.heappop(heap)[2:])
            now, fault, later = self._apply(item)
            if now is not None:
                yield self._handed(now, fault)
            for event, row in later:
                heapq.heappush(heap, (event.arrival, next(order), event, row))
        while heap:
            yield self._handed(*heapq.heappop(heap)[2:])

    def _handed(self, timed: TimedEvent, fault: InjectedFault | None) -> TimedEvent:
        if fault is not None:
            self.truth.append(fault)
            self._counts[fault.fault] += 1
        return timed

    def _draw(self, event_id: str) -> tuple[Fault | None, random.Random]:
        digest = hashlib.blake2b(f"{self.plan.seed}\x00{event_id}".encode(), digest_size=16)
        number = int.from_bytes(digest.digest(), "big")
        u = (number >> 64) / 2**64
        fault = next((f for f, upto in self._cumulative if u < upto), None)
        return fault, random.Random(number)

    def _apply(self, item: TimedEvent) -> _Applied:
        event = item.event
        if isinstance(event, Outcome):
            return self._outcome(item, event)
        self.observations += 1
        fault, rng = self._draw(event.event_id)
        if fault is None or event.event_id in self._faulted:
            return item, None, []
        self._faulted.add(event.event_id)
        row = InjectedFault(event.event_id, "observation", fault, fault.dimension)
        repeat = timedelta(seconds=rng.uniform(0.1, 1.0) * self._repeat_s)
        if fault == Fault.CONFLICTING_LABEL:
            self._waiting[event.event_id] = None
            if len(self._waiting) > MAX_WAITING_OUTCOMES:
                self._waiting.popitem(last=False)
            return item, None, []
        if fault == Fault.DUPLICATE:
            again = TimedEvent(item.arrival + repeat, event)
            return (
                item,
                None,
                [(again, _with(row, detail=f"again {repeat.total_seconds():g} s later"))],
            )
        if fault == Fault.NEAR_DUPLICATE:
            near_id = event.event_id + _NEAR
            if len(near_id) > _MAX_ID:
                return item, None, []
            copy = event.model_copy(update={"event_id": near_id})
            row = _with(
                row, event_id=near_id, detail=f"a copy of {event.event_id} under another id"
            )
            return item, None, [(TimedEvent(item.arrival + repeat, copy), row)]
        if fault == Fault.LATE:
            allowed = (self.plan.targets.allowed_lateness_s or 0.0) / self.time_scale
            arrival = max(
                item.arrival, event.event_time + timedelta(seconds=allowed * rng.uniform(3, 10))
            )
            lateness = (arrival - event.event_time).total_seconds()
            detail = f"arrives {lateness:g} s after its event time (allowed {allowed:g} s)"
            return None, None, [(TimedEvent(arrival, event), _with(row, detail=detail))]
        changed = self._change(event.features, fault, rng)
        if changed is None:
            return item, None, []
        features, feature, detail = changed
        wrong = event.model_copy(update={"features": features})
        return TimedEvent(item.arrival, wrong), _with(row, feature=feature, detail=detail), []

    def _outcome(self, item: TimedEvent, outcome: Outcome) -> _Applied:
        label = outcome.label
        if len(self._labels) < MAX_LABELS:
            self._labels[(type(label), label)] = None
        if outcome.event_id not in self._waiting:
            return item, None, []
        del self._waiting[outcome.event_id]
        rng = self._draw(outcome.event_id)[1]
        other = self._other_label(label, rng)
        conflicting = outcome.model_copy(update={"label": other})
        delay = timedelta(seconds=rng.uniform(0.1, 1.0) * self._repeat_s)
        row = InjectedFault(
            outcome.event_id,
            "outcome",
            Fault.CONFLICTING_LABEL,
            Fault.CONFLICTING_LABEL.dimension,
            None,
            f"label {label!r} then {other!r}",
        )
        return item, None, [(TimedEvent(item.arrival + delay, conflicting), row)]

    def _other_label(self, label: Label, rng: random.Random) -> Label:
        if isinstance(label, bool):
            return not label
        others = [seen for kind, seen in self._labels if kind is type(label) and seen != label]
        if others:
            return rng.choice(others)
        if isinstance(label, str):
            return f"not {label}"
        return label + max(1, abs(label))

    def _change(
        self, features: Mapping[str, FeatureValue], fault: Fault, rng: random.Random
    ) -> tuple[dict[str, FeatureValue], str, str] | None:
        """The features with ``fault`` in, the feature changed and how; ``None``: nowhere."""
        targets = self.plan.targets
        out = dict(features)
        if fault == Fault.UNIT_MIX:
            mixes = [m for m in targets.unit_mixes if self._mixable(m, features.get(m.feature))]
            if not mixes:
                return None
            mix = rng.choice(mixes)
            value = features[mix.feature]
            assert isinstance(value, int | float)
            out[mix.feature] = mix.convert(value)
            tag = "untagged"
            if mix.unit_field is not None:
                out[mix.unit_field] = mix.unit
                tag = f"{mix.unit_field}={mix.unit}"
            return out, mix.feature, f"{value!r} -> {out[mix.feature]!r} {mix.unit} ({tag})"
        if fault == Fault.MISSPELLING:
            spelt = [
                (name, variants)
                for name, table in targets.spellings.items()
                if isinstance(value := features.get(name), str) and (variants := table.get(value))
            ]
            if not spelt:
                return None
            name, variants = rng.choice(spelt)
            out[name] = rng.choice(variants)
            return out, name, f"{features[name]!r} -> {out[name]!r}"
        if fault == Fault.MISSING:
            present = [name for name in targets.required if features.get(name) is not None]
            if not present:
                return None
            name = rng.choice(present)
            del out[name]
            return out, name, f"removed (was {features[name]!r})"
        ranged = [name for name in targets.ranges if _number(features.get(name))]
        if not ranged:
            return None
        name = rng.choice(ranged)
        value = features[name]
        assert isinstance(value, int | float)
        out[name] = self._outside(name, isinstance(value, int), rng)
        low, high = targets.ranges[name]
        return out, name, f"{value!r} -> {out[name]!r} (range [{low:g}, {high:g}])"

    def _mixable(self, mix: UnitMix, value: FeatureValue) -> bool:
        if not _number(value):
            return False
        assert isinstance(value, int | float)
        converted = mix.convert(value)
        if not math.isfinite(converted):
            return False
        return mix.unit_field is not None or not _inside(
            converted, self.plan.targets.ranges[mix.feature]
        )

    def _outside(self, name: str, integer: bool, rng: random.Random) -> float | int:
        """A value clearly outside ``name``'s range (by half to one and a half times its
        width, below or above), that no untagged unit of it would bring back in."""
        low, high = self.plan.targets.ranges[name]
        untagged = [
            m for m in self.plan.targets.unit_mixes if m.feature == name and m.unit_field is None
        ]
        value: float | int = high
        for _ in range(20):
            gap = (high - low) * rng.uniform(0.5, 1.5)
            below = rng.random() < 0.5
            value = low - gap if below else high + gap
            if integer:
                value = math.floor(value) if below else math.ceil(value)
            if not any(_inside(m.revert(value), (low, high)) for m in untagged):
                break
        return value


def _with(row: InjectedFault, **changes: Any) -> InjectedFault:
    return InjectedFault(**(asdict(row) | changes))
