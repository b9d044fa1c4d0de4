"""Data contracts: what a stream's features must look like, and the check that holds them.

A :class:`Contract` declares each feature (its type, unit, range, categories and what to
do when it is missing), the stream's policies (lateness, unknown features) and rules on
combinations of values. A :class:`ContractCheck` compiles it once, then checks each
observation's features: it returns them cleaned (units converted, spellings made
canonical, missing values imputed), with a :class:`Finding` for every correction, or
refuses the event with a dead-letter reason. ``docs/contracts.md`` describes the format.

>>> contract = Contract.model_validate({
...     "features": {
...         "distance": {"unit": "mi", "unit_field": "distance_unit", "range": [10, 6000],
...                      "missing": "impute"},
...         "carrier": {"type": "category", "categories": ["UA", "DL"], "case": "upper",
...                     "aliases": {"United": "UA"}},
...     },
...     "rules": [{"name": "short", "check": "distance < 5000"}],
... })
>>> check = ContractCheck(contract)
>>> state = check.new_state()
>>> checked = check.check({"distance": "2253", "distance_unit": "km", "carrier": "united"},
...                       state)
>>> checked.features  # doctest: +ELLIPSIS
{'distance': 1399.949..., 'carrier': 'UA', 'distance_missing': 0.0}
>>> [(f.rule, f.feature) for f in checked.findings]
[('number-text', 'distance'), ('unit-converted', 'distance'), ('spelling', 'carrier')]
>>> check.learn(checked.features, state)
>>> check.check({"carrier": "DL"}, state).features["distance"]  # the mean learned
1399.949...
>>> check.check({"distance": 9000, "carrier": "UA"}, state).refused
('out-of-range', 'feature distance=9000 is outside [10, 6000]')
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any, Literal, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from driftline.core.contract_steps import (
    FeatureStep,
    Finding,
    Refusal,
    alias_key,
    normal_text,
    show,
    typed_fill,
)
from driftline.core.errors import ConfigError
from driftline.core.events import FeatureValue
from driftline.core.expressions import compile_comparison, parse_comparison
from driftline.core.units import canonical_unit, unit_kind

__all__ = [
    "MAX_COUNTED_VALUES",
    "Checked",
    "Contract",
    "ContractCheck",
    "ContractState",
    "FeatureSpec",
    "FeatureType",
    "Finding",
    "RuleSpec",
    "StreamSpec",
]

FeatureType = Literal["number", "integer", "boolean", "category", "time"]
_NUMERIC: tuple[FeatureType, ...] = ("number", "integer")
#: Types whose values are numbers once cleaned (a time is epoch seconds): what rules
#: compute with.
_COMPUTABLE: tuple[FeatureType, ...] = ("number", "integer", "boolean", "time")
#: Distinct values counted per feature for the most frequent one; later ones are not.
MAX_COUNTED_VALUES = 1000


#: A feature's full step (:meth:`~driftline.core.contract_steps.FeatureStep.run`).
_Run = Callable[
    [Any, Mapping[str, Any], dict[str, Any], list[Finding], list[str], "ContractState"], None
]


class Checked(NamedTuple):
    """What a check returns. ``features`` is a new dict (the input is never mutated);
    ``refused`` is ``(dead-letter reason, detail)`` or ``None``. ``findings`` are what the
    check corrected or flagged, in order; a refusal is the last of them, with the feature
    at fault (a caller that also counts the dead letter's reason counts it once)."""

    features: dict[str, FeatureValue]
    findings: list[Finding]
    missing: tuple[str, ...]
    refused: tuple[str, str] | None


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class StreamSpec(_Spec):
    """The stream's policies: lateness, its source feature, duplicates, unknown features."""

    name: str = "events"
    allowed_lateness_s: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    late_policy: Literal["learn", "predict-only", "dead-letter"] = "learn"
    source: str | None = None
    near_duplicates: bool = True
    unknown_features: Literal["allow", "drop", "dead-letter"] = "allow"


#: The keys that apply to some types only, and those types.
_APPLIES: Mapping[str, tuple[FeatureType, ...]] = {
    "unit": _NUMERIC,
    "unit_field": _NUMERIC,
    "detect_units": _NUMERIC,
    "range": _NUMERIC,
    "out_of_range": _NUMERIC,
    "categories": ("category",),
    "case": ("category",),
    "aliases": ("category",),
    "unseen": ("category",),
    "timezone": ("time",),
}


class FeatureSpec(_Spec):
    """One declared feature. ``docs/contracts.md`` explains each key."""

    type: FeatureType = "number"
    unit: str | None = None
    unit_field: str | None = None
    detect_units: list[str] = []
    range: tuple[float, float] | None = None
    out_of_range: Literal["dead-letter", "clip"] = "dead-letter"
    categories: list[str] | None = None
    case: Literal["keep", "upper", "lower"] = "keep"
    aliases: dict[str, str] = {}
    unseen: Literal["allow", "dead-letter"] = "allow"
    missing: Literal["allow", "impute", "dead-letter"] = "allow"
    impute: Literal["mean", "mode", "constant"] | None = None
    fill: bool | int | float | str | None = None
    indicator: bool = True
    timezone: str | None = None

    @field_validator("fill", mode="before")
    @classmethod
    def _fill_is_a_value(cls, fill: Any) -> Any:
        if fill is not None and not isinstance(fill, bool | int | float | str):
            raise ValueError(f"fill is a boolean, a number or text, not {fill!r}")
        return fill

    @field_validator("unit")
    @classmethod
    def _known_unit(cls, unit: str | None) -> str | None:
        return None if unit is None else _unit(unit)

    @field_validator("detect_units")
    @classmethod
    def _known_units(cls, units: list[str]) -> list[str]:
        return [_unit(unit) for unit in units]

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, zone: str | None) -> str | None:
        if zone is not None:
            try:
                ZoneInfo(zone)
            except (ZoneInfoNotFoundError, ValueError) as exc:
                raise ValueError(f"unknown time zone {zone!r} (give an IANA name)") from exc
        return zone

    @model_validator(mode="after")
    def _consistent(self) -> FeatureSpec:
        for key in sorted(self.model_fields_set & _APPLIES.keys()):
            if self.type not in _APPLIES[key]:
                kinds = " and ".join(_APPLIES[key])
                raise ValueError(f"{key} applies to {kinds} features, not to {_a(self.type)}")
        self._check_units()
        if self.range is not None:
            low, high = self.range
            if math.isnan(low) or math.isnan(high):
                raise ValueError("range bounds must be numbers, not nan")
            if low > high:
                raise ValueError(f"range [{show(low)}, {show(high)}]: low is above high")
        self._check_categories()
        self._check_imputation()
        return self

    def _check_units(self) -> None:
        if self.unit is None:
            if self.unit_field is not None or self.detect_units:
                raise ValueError("unit_field and detect_units need unit: the unit values end in")
            return
        kind = unit_kind(self.unit)
        for other in self.detect_units:
            if unit_kind(other) != kind:
                raise ValueError(
                    f"detect_units: {other} is a {unit_kind(other)} unit, "
                    f"but unit {self.unit} is a {kind} unit"
                )
        if self.detect_units and self.range is None:
            raise ValueError(
                "detect_units needs range: a unit is detected when it brings a value "
                "outside the range into it"
            )

    def _check_categories(self) -> None:
        known = self.categories
        if known is not None:
            twice = sorted({c for c in known if known.count(c) > 1})
            if twice:
                raise ValueError(f"categories lists {', '.join(map(repr, twice))} twice")
            for category in known:
                if normal_text(category, self.case) != category:
                    raise ValueError(
                        f"category {category!r} is not as the check writes it "
                        f"({normal_text(category, self.case)!r} with case = {self.case!r})"
                    )
        targets: dict[str, str] = {}
        for spelling, target in self.aliases.items():
            key = alias_key(spelling, self.case)
            if not key:
                raise ValueError(f"alias {spelling!r} is blank")
            if known is not None and target not in known:
                raise ValueError(
                    f"alias {spelling!r} -> {target!r}: {target!r} is not one of the "
                    "declared categories"
                )
            if normal_text(target, self.case) != target:
                raise ValueError(
                    f"alias {spelling!r} -> {target!r}: the target is not as the check "
                    f"writes it ({normal_text(target, self.case)!r} with case = {self.case!r})"
                )
            if targets.setdefault(key, target) != target:
                raise ValueError(
                    f"aliases {spelling!r} -> {target!r} and another spelling of it -> "
                    f"{targets[key]!r} disagree"
                )

    def _check_imputation(self) -> None:
        if self.missing != "impute":
            if "impute" in self.model_fields_set or "fill" in self.model_fields_set:
                raise ValueError('impute and fill apply with missing = "impute"')
            return
        if self.impute == "mean" and self.type not in ("number", "integer", "time"):
            raise ValueError(
                f'impute = "mean" does not fit {_a(self.type)} feature: use "mode" or "constant"'
            )
        if self.impute != "constant":
            if self.fill is not None:
                raise ValueError('fill is the value of impute = "constant"')
            return
        if self.fill is None:
            raise ValueError('impute = "constant" needs fill: the value to put in')
        if typed_fill(self.type, self.fill, self.timezone) is None:
            raise ValueError(f"fill {self.fill!r} is not {_a(self.type)}")
        low, high = self.range or (-math.inf, math.inf)
        if self.type in _NUMERIC and not low <= self.fill <= high:  # type: ignore[operator]
            raise ValueError(f"fill {self.fill!r} is outside range [{show(low)}, {show(high)}]")
        if self.categories is not None and self.fill not in self.categories:
            raise ValueError(f"fill {self.fill!r} is not one of the declared categories")

    @property
    def imputation(self) -> Literal["mean", "mode", "constant"]:
        """How a missing value is filled (``impute``, or its default for the type)."""
        if self.impute is not None:
            return self.impute
        return "mean" if self.type in ("number", "integer", "time") else "mode"


class RuleSpec(_Spec):
    """An impossible combination, as a comparison that must hold (:mod:`.expressions`)."""

    name: str = Field(min_length=1)
    check: str
    description: str = ""

    @field_validator("check")
    @classmethod
    def _parses(cls, check: str) -> str:
        parse_comparison(check)  # its ValueError says where
        return check


class Contract(_Spec):
    """A stream's data contract (``pipeline/contracts/flights.toml`` is an example)."""

    version: int = 1
    stream: StreamSpec = StreamSpec()
    features: dict[str, FeatureSpec]
    rules: list[RuleSpec] = []

    @model_validator(mode="after")
    def _consistent(self) -> Contract:
        if self.version != 1:
            raise ValueError(f"contract version {self.version}: this driftline reads version 1")
        for name, spec in self.features.items():
            if not name:
                raise ValueError("a feature needs a name")
            if spec.unit_field is not None and spec.unit_field in self.features:
                raise ValueError(
                    f"feature {name}: unit_field {spec.unit_field!r} is a declared feature; "
                    "a unit field is metadata the check consumes, not a feature"
                )
            if spec.missing == "impute" and spec.indicator and f"{name}_missing" in self.features:
                raise ValueError(
                    f"feature {name}_missing is also the missing-value indicator of {name} "
                    "(set indicator = false or rename it)"
                )
        seen: set[str] = set()
        for rule in self.rules:
            if rule.name in seen:
                raise ValueError(f"two rules are named {rule.name!r}")
            seen.add(rule.name)
            for name in parse_comparison(rule.check).names:
                declared = self.features.get(name)
                if declared is None:
                    raise ValueError(
                        f"rule {rule.name}: {rule.check!r} names {name!r}, "
                        "which is not a declared feature"
                    )
                if declared.type not in _COMPUTABLE:
                    raise ValueError(
                        f"rule {rule.name}: {name} is {_a(declared.type)} feature; rules compute "
                        "with numbers (number, integer, boolean, time)"
                    )
        return self

    def scaled(self, time_scale: float) -> Contract:
        """The contract on a clock ``time_scale`` times faster: durations divided by it.

        >>> Contract(stream={"allowed_lateness_s": 7200}, features={}).scaled(60).stream
        StreamSpec(name='events', allowed_lateness_s=120.0, late_policy='learn', ...)
        """
        if not (math.isfinite(time_scale) and time_scale > 0):
            raise ConfigError(f"time scale {time_scale}: give a positive number")
        lateness = self.stream.allowed_lateness_s
        if lateness is None or time_scale == 1:
            return self
        stream = self.stream.model_copy(update={"allowed_lateness_s": lateness / time_scale})
        return self.model_copy(update={"stream": stream})


class ContractState:
    """The running statistics a check imputes from: count and mean of each imputed
    number, counts of each imputed category or boolean (at most :data:`MAX_COUNTED_VALUES`
    distinct values per feature: later new values are not counted). Picklable, checkpointed
    with the task; the same values learned in the same order give the same state."""

    __slots__ = ("counts", "means")

    def __init__(self) -> None:
        #: feature -> [count, mean]
        self.means: dict[str, list[float]] = {}
        #: feature -> value -> count
        self.counts: dict[str, dict[Any, int]] = {}

    def __getstate__(self) -> dict[str, Any]:
        return {"means": self.means, "counts": self.counts}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.means, self.counts = state["means"], state["counts"]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ContractState):
            return NotImplemented
        return self.means == other.means and self.counts == other.counts

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"ContractState(means={self.means}, counts={self.counts})"

    def mean(self, feature: str) -> tuple[int, float] | None:
        """(count, mean) of ``feature``, or ``None`` before any value."""
        held = self.means.get(feature)
        return None if held is None else (int(held[0]), held[1])

    def mode(self, feature: str) -> tuple[int, Any] | None:
        """(count, most frequent value) of ``feature`` (ties: the smallest value)."""
        counts = self.counts.get(feature)
        if not counts:
            return None
        value, _ = min(counts.items(), key=lambda item: (-item[1], item[0]))
        return sum(counts.values()), value

    def add_number(self, feature: str, value: float) -> None:
        held = self.means.get(feature)
        if held is None:
            self.means[feature] = [1.0, float(value)]
        else:
            held[0] += 1
            held[1] += (value - held[1]) / held[0]

    def add_value(self, feature: str, value: Any) -> None:
        counts = self.counts.setdefault(feature, {})
        if value in counts:
            counts[value] += 1
        elif len(counts) < MAX_COUNTED_VALUES:
            counts[value] = 1


class ContractCheck:
    """A contract compiled for the hot path: :meth:`check` each observation's features,
    :meth:`learn` from the accepted ones (the statistics missing values are filled from).

    Each feature compiles to a fast test that a clean value passes without a call (a type
    and a range, or membership of the declared categories) and a step that does the rest
    (:class:`~driftline.core.contract_steps.FeatureStep`). The features are checked by
    kind, one loop per kind, so the findings come in that order.
    """

    def __init__(self, contract: Contract) -> None:
        self.contract = contract
        self._numbers: list[tuple[str, float, float, bool, _Run]] = []
        self._integers: list[tuple[str, float, float, bool, _Run]] = []
        self._tagged: list[tuple[str, tuple[type, ...], float, float, str, _Run]] = []
        self._categories: list[tuple[str, set[str], bool, _Run]] = []
        self._others: list[tuple[str, tuple[type, ...], bool, _Run]] = []
        #: imputed by the mean: (name, indicator); by the most frequent: (name, types, indicator)
        self._averaged: list[tuple[str, str | None]] = []
        self._counted: list[tuple[str, tuple[type, ...], str | None]] = []
        for name, spec in contract.features.items():
            step = FeatureStep(name, spec)
            # a missing value that is only noted (no unit field to read first)
            lazy = spec.missing == "allow" and spec.unit_field is None
            types: tuple[type, ...]
            if spec.unit_field is not None:
                types = (float, int) if spec.type == "number" else (int,)
                self._tagged.append((name, types, step.low, step.high, spec.unit_field, step.run))
            elif spec.type == "number":
                self._numbers.append((name, step.low, step.high, lazy, step.run))
            elif spec.type == "integer":
                self._integers.append((name, step.low, step.high, lazy, step.run))
            elif step.members is not None:
                self._categories.append((name, step.members, lazy, step.run))
            else:
                types = (bool,) if spec.type == "boolean" else ()
                self._others.append((name, types, lazy, step.run))
            indicator = f"{name}_missing" if spec.indicator else None
            if step.learn_kind == "mean":
                self._averaged.append((name, indicator))
            elif isinstance(step.learn_kind, tuple):
                self._counted.append((name, step.learn_kind, indicator))
        self._unit_fields = tuple(
            dict.fromkeys(s.unit_field for s in contract.features.values() if s.unit_field)
        )
        self._indicators = tuple(
            (name, f"{name}_missing")
            for name, spec in contract.features.items()
            if spec.missing == "impute" and spec.indicator
        )
        self._present = {indicator: 0.0 for _, indicator in self._indicators}
        self._known = frozenset(
            (*contract.features, *self._unit_fields, *(i for _, i in self._indicators))
        )
        self._unknown = contract.stream.unknown_features
        self._rules = []
        for rule in contract.rules:
            comparison = parse_comparison(rule.check)
            self._rules.append((rule, compile_comparison(comparison), comparison.names))

    def new_state(self) -> ContractState:
        return ContractState()

    def check(self, features: Mapping[str, FeatureValue], state: ContractState) -> Checked:
        """Check and clean ``features``; ``state`` is read, never changed."""
        # the indicators say "present" until a value is missing (one allocation, not two)
        cleaned: dict[str, Any] = {**features, **self._present}
        findings: list[Finding] = []
        missing: list[str] = []
        get = features.get
        try:
            for name, low, high, lazy, run in self._numbers:
                value = get(name)
                kind = type(value)
                if (kind is float or kind is int) and low <= value <= high:  # type: ignore[operator]
                    continue
                if value is None and lazy:
                    missing.append(name)
                    continue
                run(value, features, cleaned, findings, missing, state)
            for name, low, high, lazy, run in self._integers:
                value = get(name)
                if type(value) is int and low <= value <= high:  # type: ignore[operator]
                    continue
                if value is None and lazy:
                    missing.append(name)
                    continue
                run(value, features, cleaned, findings, missing, state)
            for name, types, low, high, tag, run in self._tagged:
                value = get(name)
                if (
                    type(value) in types
                    and low <= value <= high  # type: ignore[operator]
                    and tag not in features
                ):
                    continue
                run(value, features, cleaned, findings, missing, state)
            for name, members, lazy, run in self._categories:
                value = get(name)
                if value in members:
                    continue
                if value is None and lazy:
                    missing.append(name)
                    continue
                run(value, features, cleaned, findings, missing, state)
            for name, types, lazy, run in self._others:
                value = get(name)
                if type(value) in types:
                    continue
                if value is None and lazy:
                    missing.append(name)
                    continue
                run(value, features, cleaned, findings, missing, state)
            for field in self._unit_fields:
                if field in cleaned:
                    del cleaned[field]
            if self._unknown != "allow":
                self._unknown_features(features, cleaned, findings)
            if missing:
                for name, indicator in self._indicators:
                    if name in missing:
                        cleaned[indicator] = 1.0
            for rule, holds, names in self._rules:
                if missing and any(name in missing for name in names):
                    continue  # a value filled in by imputation cannot prove anything impossible
                if holds(cleaned) is False:
                    values = ", ".join(f"{n}={show(cleaned[n])}" for n in names)
                    raise Refusal(
                        "impossible-combination",
                        f"rule {rule.name}: {rule.check} is false ({values})",
                    )
        except Refusal as refusal:
            findings.append(refusal.finding)
            return Checked(cleaned, findings, tuple(missing), (refusal.reason, refusal.detail))
        return Checked(cleaned, findings, tuple(missing), None)

    def _unknown_features(
        self, features: Mapping[str, Any], cleaned: dict[str, Any], findings: list[Finding]
    ) -> None:
        unknown = [name for name in features if name not in self._known]
        if not unknown:
            return
        if self._unknown == "dead-letter":
            raise Refusal(
                "unknown-feature",
                f"not in the contract: {', '.join(unknown)}",
                unknown[0] if len(unknown) == 1 else None,
            )
        for name in unknown:
            del cleaned[name]
            detail = f"{name} is not in the contract: dropped"
            findings.append(Finding("consistency", "unknown-feature", name, detail))

    def learn(self, features: Mapping[str, FeatureValue], state: ContractState) -> None:
        """Add accepted, cleaned ``features`` to the statistics of the imputed features
        (a value the check imputed, as its indicator says, is not learned again)."""
        get = features.get
        means = state.means
        for name, indicator in self._averaged:
            value = get(name)
            kind = type(value)
            if (kind is float or kind is int) and (indicator is None or get(indicator) != 1.0):
                if kind is float and not math.isfinite(value):  # type: ignore[arg-type]
                    continue
                held = means.get(name)
                if held is None:
                    means[name] = [1.0, float(value)]  # type: ignore[arg-type]
                else:
                    held[0] += 1.0
                    held[1] += (value - held[1]) / held[0]  # type: ignore[operator]
        for name, types, indicator in self._counted:
            value = get(name)
            if type(value) in types and (indicator is None or get(indicator) != 1.0):
                if type(value) is float and not math.isfinite(value):  # type: ignore[arg-type]
                    continue
                state.add_value(name, value)


def _unit(name: str) -> str:
    try:
        return canonical_unit(name)
    except ConfigError as exc:
        raise ValueError(str(exc)) from exc


def _a(kind: str) -> str:
    return f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"
