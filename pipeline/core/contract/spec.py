"""A data contract as declared: the stream's policies, each feature's type, unit, range,
categories and missing-value policy, and rules on combinations of values
(``docs/contracts.md``). :class:`~driftline.core.contract.check.ContractCheck` compiles it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from driftline.core.contract.expressions import parse_comparison
from driftline.core.contract.units import canonical_unit, unit_kind
from driftline.core.contract.values import alias_key, normal_text, show, typed_fill
from driftline.core.errors import ConfigError

__all__ = ["Contract", "FeatureSpec", "FeatureType", "RuleSpec", "StreamSpec"]

FeatureType = Literal["number", "integer", "boolean", "category", "time"]
_NUMERIC: tuple[FeatureType, ...] = ("number", "integer")
#: Types whose values are numbers once cleaned (a time is epoch seconds): what rules
#: compute with.
_COMPUTABLE: tuple[FeatureType, ...] = ("number", "integer", "boolean", "time")


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


def _unit(name: str) -> str:
    try:
        return canonical_unit(name)
    except ConfigError as exc:
        raise ValueError(str(exc)) from exc


def _a(kind: str) -> str:
    return f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"
