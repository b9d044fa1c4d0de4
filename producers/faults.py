"""Proof by fault injection: known faults put into a replayed stream, and the score of what
the worker found against them.

A :class:`FaultPlan` says how often each fault of :data:`FAULTS` happens (seeded), and where
it can go: the :class:`FaultTargets` of a source (its unit mixes, spellings, ranges,
required features, allowed lateness; :func:`flights_targets` for the flights). A
:class:`FaultInjector` wraps the replay's arrival-ordered stream
(:meth:`ReplayPlan.schedule <driftline.producers.replay.ReplayPlan.schedule>`), changes or
adds events as drawn, keeps arrival order, and records each fault it put in as an
:class:`InjectedFault`: the ground truth.

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
>>> injector.truth[0]
InjectedFault(event_id='f4', kind='observation', fault='misspelling', dimension='consistency', \
feature='carrier', detail="'UA' -> 'ua'")

:mod:`driftline.producers.fault_score` scores a worker's findings against
:attr:`FaultInjector.truth`.
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import json
import math
import random
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal, get_args

from driftline.core.contract.check import Contract
from driftline.core.contract.units import canonical_unit, convert, unit_kind, units_of
from driftline.core.errors import ConfigError
from driftline.core.events.model import FeatureValue, Label, Outcome
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

Fault = Literal[
    "duplicate",
    "near-duplicate",
    "unit-mix",
    "misspelling",
    "missing",
    "conflicting-label",
    "out-of-range",
    "late",
]
FAULTS: tuple[Fault, ...] = get_args(Fault)
DIMENSION_OF: Mapping[str, str] = {
    "duplicate": "accuracy",
    "near-duplicate": "accuracy",
    "unit-mix": "consistency",
    "misspelling": "consistency",
    "missing": "completeness",
    "conflicting-label": "accuracy",
    "out-of-range": "accuracy",
    "late": "timeliness",
}
#: The worker's rules (finding names) that count as catching each fault.
EXPECTED_RULES: Mapping[str, tuple[str, ...]] = {
    "duplicate": ("duplicate",),
    "near-duplicate": ("near-duplicate",),
    "unit-mix": ("unit-converted", "unit-detected"),
    "misspelling": ("spelling",),
    "missing": ("missing-imputed", "missing-value"),
    "conflicting-label": ("conflicting-outcome",),
    "out-of-range": ("out-of-range",),
    "late": ("late",),
}

#: A repeated event (duplicate, near duplicate, conflicting outcome) arrives within this
#: many seconds (source clock) after the original: "shortly after", never late itself.
REPEAT_DELAY_S = 60.0
#: Faults drawn as conflicting-label wait for their outcome; at most this many at a time.
MAX_WAITING_OUTCOMES = 100_000
#: Labels remembered to draw "another label" from (classes beyond bool).
MAX_LABELS = 256
_NEAR = "~near"
_MAX_ID = 256  # an event id's longest length (driftline.core.events.model)


# -- where faults can go -------------------------------------------------------------------------
@dataclass(frozen=True)
class UnitMix:
    """``feature`` sent in another ``unit``: ``value * factor + offset``.

    With ``unit_field`` the event says so (``unit_field=unit``); without, the worker must
    detect it by range, so it is only injected where the converted value is out of range.

    >>> UnitMix("temp", "C", 5 / 9, offset=-160 / 9, unit_field="temp_unit").convert(212.0)
    100.0
    """

    feature: str
    unit: str
    factor: float
    offset: float = 0.0
    unit_field: str | None = None

    def __post_init__(self) -> None:
        if not (math.isfinite(self.factor) and self.factor != 0 and math.isfinite(self.offset)):
            raise ConfigError(
                f"unit mix of {self.feature!r}: factor and offset must be finite, "
                f"factor not 0 (got {self.factor}, {self.offset})"
            )

    def convert(self, value: float) -> float:
        return value * self.factor + self.offset

    def revert(self, value: float) -> float:
        return (value - self.offset) / self.factor


@dataclass(frozen=True)
class FaultTargets:
    """Where a source's faults can go (contract-agnostic).

    ``spellings``: feature -> {canonical value: its variants}; ``ranges``: feature -> (low,
    high); ``required``: features whose absence the worker catches; ``allowed_lateness_s``:
    the stream's allowed lateness on the source's clock (``None``: no late fault).
    """

    unit_mixes: tuple[UnitMix, ...] = ()
    spellings: Mapping[str, Mapping[str, tuple[str, ...]]] = field(default_factory=dict)
    ranges: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    required: tuple[str, ...] = ()
    allowed_lateness_s: float | None = None

    def __post_init__(self) -> None:
        for name, (low, high) in self.ranges.items():
            if not (math.isfinite(low) and math.isfinite(high) and low < high):
                raise ConfigError(f"range of {name!r} must be finite with low < high")
        for mix in self.unit_mixes:
            if mix.unit_field is None and mix.feature not in self.ranges:
                raise ConfigError(f"untagged unit mix of {mix.feature!r} needs its range")
        for name, table in self.spellings.items():
            for canonical, variants in table.items():
                if canonical in variants:
                    raise ConfigError(f"spelling of {name!r}: {canonical!r} is its own variant")
        lateness = self.allowed_lateness_s
        if lateness is not None and not 0 < lateness < math.inf:
            raise ConfigError(f"allowed lateness must be positive and finite, got {lateness}")

    def lacks(self, fault: str) -> str | None:
        """Why ``fault`` cannot go into this source (``None``: it can)."""
        needs = {
            "unit-mix": ("unit mixes", bool(self.unit_mixes)),
            "misspelling": ("spellings", any(self.spellings.values())),
            "missing": ("required features", bool(self.required)),
            "out-of-range": ("ranges", bool(self.ranges)),
            "late": ("allowed lateness", self.allowed_lateness_s is not None),
        }
        what, present = needs.get(fault, ("", True))
        return None if present else f"no {what} declared"


#: The unit a value is mixed into, given the declared one (else the kind's first other).
_OTHER_UNIT = {"mi": "km", "km": "mi", "F": "C", "C": "F", "mph": "km/h", "km/h": "mph"}


def targets_from_contract(contract: Contract) -> FaultTargets:
    """Where faults go in a stream with this contract, so that each is one it catches:
    a tagged unit mix for each feature with a unit field (into another unit of its
    kind) and an untagged one for each unit it detects; the canonical categories' other
    spellings (the other case, padded, and the aliases); the ranges; the features it
    imputes or refuses when missing; its allowed lateness.

    >>> from driftline.adapters.contract_files import builtin_contract
    >>> targets = targets_from_contract(builtin_contract("flights"))
    >>> targets.spellings["origin"]["EWR"]
    ('ewr', ' EWR ', 'Newark', 'Newark Liberty', 'Newark Liberty Intl')
    >>> targets.spellings["dest"]["IAH"][:2]
    ('iah', ' IAH ')
    >>> for mix in targets.unit_mixes:
    ...     print(mix.feature, mix.unit, mix.unit_field)
    distance km distance_unit
    temp C temp_unit
    dewp C dewp_unit
    pressure inHg None
    """
    mixes: list[UnitMix] = []
    spellings: dict[str, dict[str, tuple[str, ...]]] = {}
    ranges: dict[str, tuple[float, float]] = {}
    required: list[str] = []
    for name, spec in contract.features.items():
        if spec.missing != "allow":
            required.append(name)
        if spec.range is not None:
            ranges[name] = (float(spec.range[0]), float(spec.range[1]))
        if spec.unit is not None:
            unit = canonical_unit(spec.unit)
            if spec.unit_field is not None:
                others = [u for u in units_of(unit_kind(unit)) if u != unit]
                mixes.append(_mix(name, unit, _OTHER_UNIT.get(unit, others[0]), spec.unit_field))
            for detected in spec.detect_units:
                mixes.append(_mix(name, unit, canonical_unit(detected), None))
        if spec.categories:
            aliases: dict[str, list[str]] = {}
            for spelling, canonical in spec.aliases.items():
                aliases.setdefault(canonical, []).append(spelling)
            table = {}
            for code in spec.categories:
                other = {"upper": code.lower(), "lower": code.upper()}.get(spec.case)
                found = [v for v in (other, f" {code} ", *aliases.get(code, ())) if v]
                table[code] = tuple(dict.fromkeys(v for v in found if v != code))
            spellings[name] = table
    return FaultTargets(
        unit_mixes=tuple(mixes),
        spellings=spellings,
        ranges=ranges,
        required=tuple(required),
        allowed_lateness_s=contract.stream.allowed_lateness_s,
    )


def _mix(feature: str, unit: str, other: str, unit_field: str | None) -> UnitMix:
    offset = convert(0.0, unit, other)
    return UnitMix(feature, other, convert(1.0, unit, other) - offset, offset, unit_field)


# -- how often -----------------------------------------------------------------------------------
def _check_rates(rates: Mapping[str, float]) -> None:
    unknown = sorted(set(rates) - set(FAULTS))
    if unknown:
        raise ConfigError(
            f"unknown fault(s) {', '.join(unknown)}; choose from {', '.join(FAULTS)} or all"
        )
    for name, rate in rates.items():
        if not 0 <= rate <= 1:  # NaN fails too
            raise ConfigError(f"the rate of {name} must be in [0, 1], got {rate}")
    if sum(rates.values()) > 1 + 1e-9:
        raise ConfigError(
            f"fault rates add up to {sum(rates.values()):g}, over 1: each event "
            "gets at most one fault"
        )


@dataclass(frozen=True)
class FaultPlan:
    """How often each fault happens (a share of the observations), seeded, and where.

    >>> FaultPlan.parse_rates("duplicate=0.01, late=0.005")
    {'duplicate': 0.01, 'late': 0.005}
    >>> FaultPlan.parse_rates("all=0.01,late=0")["late"], len(FaultPlan.parse_rates("all=0.01"))
    (0.0, 8)
    >>> FaultPlan.parse_rates("dupe=0.1")
    Traceback (most recent call last):
    ...
    driftline.core.errors.ConfigError: unknown fault(s) dupe; choose from duplicate, \
near-duplicate, unit-mix, misspelling, missing, conflicting-label, out-of-range, late or all
    """

    rates: Mapping[str, float]
    seed: int
    targets: FaultTargets = field(default_factory=FaultTargets)

    def __post_init__(self) -> None:
        _check_rates(self.rates)
        lacking = [
            f"{fault} ({why})"
            for fault, rate in self.rates.items()
            if rate > 0 and (why := self.targets.lacks(fault))
        ]
        if lacking:
            raise ConfigError(
                f"cannot inject {', '.join(lacking)} into this source: leave them out or "
                "set their rates to 0"
            )

    @staticmethod
    def parse_rates(spec: str) -> dict[str, float]:
        """``"fault=rate,..."``; ``all=rate`` sets every fault, later names override it."""
        rates: dict[str, float] = {}
        named: set[str] = set()
        for part in filter(None, (p.strip() for p in spec.split(","))):
            name, equals, text = (s.strip() for s in part.partition("="))
            try:
                rate = float(text)
            except ValueError:
                rate = math.nan
            if not equals or not name or not text or math.isnan(rate):
                raise ConfigError(f"fault rate {part!r}: write fault=rate, e.g. duplicate=0.01")
            if name in named:
                raise ConfigError(f"fault {name} is named twice in {spec!r}")
            named.add(name)
            rates.update(dict.fromkeys(FAULTS, rate) if name == "all" else {name: rate})
        if not rates:
            raise ConfigError(f"no fault rates in {spec!r}; e.g. duplicate=0.01,late=0.005")
        _check_rates(rates)
        return rates


# -- what was injected ---------------------------------------------------------------------------
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


# -- the injector --------------------------------------------------------------------------------
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
        """Faults handed on, by fault (every fault named, zeros too)."""
        return dict(self._counts)

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

    def _draw(self, event_id: str) -> tuple[str | None, random.Random]:
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
        row = InjectedFault(event.event_id, "observation", fault, DIMENSION_OF[fault])
        repeat = timedelta(seconds=rng.uniform(0.1, 1.0) * self._repeat_s)
        if fault == "conflicting-label":
            self._waiting[event.event_id] = None
            if len(self._waiting) > MAX_WAITING_OUTCOMES:
                self._waiting.popitem(last=False)
            return item, None, []
        if fault == "duplicate":
            again = TimedEvent(item.arrival + repeat, event)
            return (
                item,
                None,
                [(again, _with(row, detail=f"again {repeat.total_seconds():g} s later"))],
            )
        if fault == "near-duplicate":
            near_id = event.event_id + _NEAR
            if len(near_id) > _MAX_ID:
                return item, None, []
            copy = event.model_copy(update={"event_id": near_id})
            row = _with(
                row, event_id=near_id, detail=f"a copy of {event.event_id} under another id"
            )
            return item, None, [(TimedEvent(item.arrival + repeat, copy), row)]
        if fault == "late":
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
            "conflicting-label",
            DIMENSION_OF["conflicting-label"],
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
        self, features: Mapping[str, FeatureValue], fault: str, rng: random.Random
    ) -> tuple[dict[str, FeatureValue], str, str] | None:
        """The features with ``fault`` in, the feature changed and how; ``None``: nowhere."""
        targets = self.plan.targets
        out = dict(features)
        if fault == "unit-mix":
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
        if fault == "misspelling":
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
        if fault == "missing":
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
