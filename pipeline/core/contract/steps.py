"""The compiled steps of a data contract: one :class:`FeatureStep` per declared feature.

:class:`~driftline.core.contract.check.ContractCheck` runs a step only when a value fails its
feature's fast test (a clean value costs a type test and a comparison, or a set
membership, and no call). :meth:`FeatureStep.run` then does, in order: read the unit
field, handle a missing value, convert the type (a number sent as text, a time into epoch
seconds), convert a tagged unit or normalise a category's text, detect an untagged unit,
and apply the range. It appends a :class:`Finding` for every correction and raises
:class:`Refusal` to refuse the event.

>>> from driftline.core.contract.spec import FeatureSpec
>>> from driftline.core.contract.state import ContractState
>>> step = FeatureStep("temp", FeatureSpec(unit="F", unit_field="temp_unit", range=(-60, 130)))
>>> cleaned, findings = {}, []
>>> step.run(" 20 ", {"temp_unit": "celsius"}, cleaned, findings, [], ContractState())
>>> cleaned, [f.rule.value for f in findings]
({'temp': 68.0}, ['number-text', 'unit-converted'])
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NamedTuple
from zoneinfo import ZoneInfo

from driftline.core.contract.units import canonical_unit, convert, unit_kind, units_of
from driftline.core.contract.values import EPOCH, alias_key, normal_text, show, typed_fill
from driftline.core.errors import ConfigError
from driftline.core.quality.reasons import Dimension, Rule

if TYPE_CHECKING:
    from driftline.core.contract.spec import FeatureSpec
    from driftline.core.contract.state import ContractState

__all__ = [
    "REFUSALS",
    "REFUSAL_DIMENSIONS",
    "FeatureStep",
    "Finding",
    "Refusal",
    "alias_key",
    "normal_text",
    "show",
    "typed_fill",
]

_NUMBER_TEXT = re.compile(r"\s*[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?\s*")
_TRUE, _FALSE = frozenset({"true", "1"}), frozenset({"false", "0"})
#: Spellings remembered per feature (a pure cache: it never changes an answer).
_MEMO_SIZE = 4096


class Finding(NamedTuple):
    """One correction or flag: its dimension, rule, feature (``None``: the event) and why.
    :meth:`of` makes one from a :class:`~driftline.core.quality.reasons.Rule`, which gives
    the dimension."""

    dimension: str
    rule: str
    feature: str | None
    detail: str

    @classmethod
    def of(cls, rule: Rule, feature: str | None, detail: str) -> Finding:
        """A finding of ``rule``, in the rule's dimension.

        >>> Finding.of(Rule.SPELLING, "carrier", "'ua' read as 'UA'").dimension
        <Dimension.CONSISTENCY: 'consistency'>
        """
        return cls(rule.dimension, rule, feature, detail)


#: The rules a contract refuses an event for (its dead-letter reasons).
REFUSALS: tuple[Rule, ...] = (
    Rule.OUT_OF_RANGE,
    Rule.IMPOSSIBLE_COMBINATION,
    Rule.WRONG_TYPE,
    Rule.MISSING_VALUE,
    Rule.UNSEEN_CATEGORY,
    Rule.UNKNOWN_UNIT,
    Rule.UNKNOWN_FEATURE,
)
#: The dimension of each reason a contract refuses an event for.
REFUSAL_DIMENSIONS: Mapping[Rule, Dimension] = {rule: rule.dimension for rule in REFUSALS}


class Refusal(Exception):
    """Raised inside a check to refuse the event: a dead-letter reason (one of
    :data:`REFUSALS`), its detail, and the feature at fault if there is one."""

    def __init__(self, reason: Rule, detail: str, feature: str | None = None) -> None:
        super().__init__(reason, detail)
        self.reason = reason
        self.detail = detail
        self.feature = feature

    @property
    def finding(self) -> Finding:
        return Finding(REFUSAL_DIMENSIONS[self.reason], self.reason, self.feature, self.detail)


class FeatureStep:
    """A declared feature, compiled."""

    def __init__(self, name: str, spec: FeatureSpec) -> None:
        self.name = name
        self.spec = spec
        self.unit_field = spec.unit_field
        self.unit = spec.unit
        self.low, self.high = spec.range or (-math.inf, math.inf)
        self.integer = spec.type == "integer"
        self.categories = None if spec.categories is None else frozenset(spec.categories)
        self.aliases = {alias_key(k, spec.case): v for k, v in spec.aliases.items()}
        self.zone = ZoneInfo(spec.timezone) if spec.timezone else None
        self.fill = typed_fill(spec.type, spec.fill, spec.timezone)
        self.memo: dict[str, str] = {}
        self.clean = {
            "number": self._number,
            "integer": self._number,
            "boolean": self._boolean,
            "category": self._category,
            "time": self._time,
        }[spec.type]
        #: What :meth:`ContractCheck.learn` counts: "mean", the types whose values are
        #: counted for the most frequent, or ``None`` (nothing to learn).
        self.learn_kind: str | tuple[type, ...] | None = None
        if spec.missing == "impute" and spec.imputation != "constant":
            self.learn_kind = "mean" if spec.imputation == "mean" else _COUNTED[spec.type]
        #: Open categories: values already canonical, learned as they pass (a cache).
        self.members: set[str] | None = None
        if spec.type == "category":
            self.members = set()
            for category in spec.categories or ():
                if self.aliases.get(alias_key(category, spec.case), category) == category:
                    self.members.add(category)

    def run(
        self,
        value: Any,
        features: Mapping[str, Any],
        cleaned: dict[str, Any],
        findings: list[Finding],
        missing: list[str],
        state: ContractState,
    ) -> None:
        """Check ``value`` (``features[name]``), writing the clean one into ``cleaned``."""
        try:
            unit = None
            if self.unit_field is not None:
                tag = features.get(self.unit_field)
                if tag is not None:
                    unit = self._tagged_unit(tag)
            if value is None:
                missing.append(self.name)
                self._missing(cleaned, findings, state)
                return
            cleaned[self.name] = self.clean(value, unit, findings)
        except Refusal as refusal:
            refusal.feature = self.name
            raise

    def _tagged_unit(self, tag: Any) -> str:
        field, unit = self.unit_field, self.unit
        assert unit is not None  # a unit field needs a unit (FeatureSpec)
        kind = unit_kind(unit)
        try:
            tagged = canonical_unit(tag) if isinstance(tag, str) else None
        except ConfigError:
            tagged = None
        if tagged is None:
            known = ", ".join(units_of(kind))
            raise Refusal(
                Rule.UNKNOWN_UNIT,
                f"{field}={show(tag)} is not a unit of {self.name} ({kind}: {known})",
            )
        if unit_kind(tagged) != kind:
            raise Refusal(
                Rule.UNKNOWN_UNIT,
                f"{field}={show(tag)} is a {unit_kind(tagged)} unit; {self.name} is a {kind} "
                f"in {unit}",
            )
        return tagged

    def _missing(
        self, cleaned: dict[str, Any], findings: list[Finding], state: ContractState
    ) -> None:
        spec, name = self.spec, self.name
        if spec.missing == "allow":
            return
        if spec.missing == "dead-letter":
            raise Refusal(Rule.MISSING_VALUE, f"{name} is missing")
        how = spec.imputation
        filled: Any = None
        if how == "constant":
            filled, source = self.fill, "the contract's fill"
        elif how == "mean":
            got = state.mean(name)
            if got is not None:
                filled = round(got[1]) if self.integer else got[1]
                source = f"the mean of {got[0]:,} values"
        else:
            counted = state.mode(name)
            if counted is not None:
                filled, source = counted[1], f"the most frequent of {counted[0]:,} values"
        if filled is None:
            detail = f"{name} is missing; nothing learned yet to fill it with"
        else:
            cleaned[name] = filled
            detail = f"{name} is missing; filled with {show(filled)} ({source})"
        findings.append(Finding.of(Rule.MISSING_IMPUTED, name, detail))

    def _number(self, value: Any, unit: str | None, findings: list[Finding]) -> Any:
        name, low, high = self.name, self.low, self.high
        kind = type(value)
        if kind is str:
            number = self._read_number(value)
            detail = f"{name}={value!r} read as {show(number)}"
            findings.append(Finding.of(Rule.NUMBER_TEXT, name, detail))
            value = number
        elif kind is not int and kind is not float:
            raise Refusal(Rule.WRONG_TYPE, f"{name}={show(value)} is not a number")
        if self.integer and type(value) is float:
            if not value.is_integer():
                raise Refusal(Rule.WRONG_TYPE, f"{name}={show(value)} is not an integer")
            value = int(value)
        try:
            if unit is not None and unit != self.unit:
                converted = convert(value, unit, self.unit)  # type: ignore[arg-type]
                findings.append(
                    Finding.of(
                        Rule.UNIT_CONVERTED,
                        name,
                        f"{name}={show(value)} {unit} converted to {show(converted)} {self.unit}",
                    )
                )
                value = converted
            elif unit is None and self.spec.detect_units and not low <= value <= high:
                value = self._detect(value, findings)
        except OverflowError:
            raise Refusal(Rule.OUT_OF_RANGE, f"feature {name}={show(value)} is too large") from None
        if not low <= value <= high:
            bounds = f"[{show(low)}, {show(high)}]"
            if self.spec.out_of_range == "dead-letter" or value != value:
                raise Refusal(
                    Rule.OUT_OF_RANGE, f"feature {name}={show(value)} is outside {bounds}"
                )
            clipped = min(max(value, low), high)
            findings.append(
                Finding.of(
                    Rule.OUT_OF_RANGE,
                    name,
                    f"feature {name}={show(value)} is outside {bounds}: clipped to {show(clipped)}",
                )
            )
            value = clipped
        if self.integer and type(value) is float:
            if not math.isfinite(value):
                raise Refusal(Rule.OUT_OF_RANGE, f"feature {name}={show(value)} is not finite")
            value = round(value)
        return value

    def _read_number(self, text: str) -> float | int:
        name = self.name
        number = float(text) if _NUMBER_TEXT.fullmatch(text) else math.nan
        if not math.isfinite(number):
            raise Refusal(Rule.WRONG_TYPE, f"{name}={text!r} is not a number")
        if self.integer:
            if not number.is_integer():
                raise Refusal(Rule.WRONG_TYPE, f"{name}={text!r} is not an integer")
            stripped = text.strip()
            return int(stripped) if stripped.lstrip("+-").isdigit() else int(number)
        return number

    def _detect(self, value: float, findings: list[Finding]) -> float:
        unit, low, high = self.unit, self.low, self.high
        assert unit is not None
        fits = []
        for other in self.spec.detect_units:
            converted = convert(value, other, unit)
            if low <= converted <= high:
                fits.append((other, converted))
        if len(fits) != 1:
            return value
        other, converted = fits[0]
        findings.append(
            Finding.of(
                Rule.UNIT_DETECTED,
                self.name,
                f"{self.name}={show(value)} is outside [{show(low)}, {show(high)}] {unit}; "
                f"read as {other}: {show(converted)} {unit}",
            )
        )
        return converted

    def _boolean(self, value: Any, unit: str | None, findings: list[Finding]) -> bool:
        kind = type(value)
        if kind is bool:
            return value  # type: ignore[no-any-return]
        if (kind is int or kind is float) and value in (0, 1):
            return bool(value)
        if kind is str:
            text = value.strip().lower()
            if text in _TRUE or text in _FALSE:
                read = text in _TRUE
                detail = f"{self.name}={value!r} read as {read}"
                findings.append(Finding.of(Rule.NUMBER_TEXT, self.name, detail))
                return read
        raise Refusal(
            Rule.WRONG_TYPE, f"{self.name}={show(value)} is not a boolean (true/false, 1/0)"
        )

    def _category(self, value: Any, unit: str | None, findings: list[Finding]) -> str:
        name, kind = self.name, type(value)
        if kind is str:
            raw = value
        elif kind is int or kind is float or kind is bool:
            try:
                raw = str(value)
            except ValueError:  # an integer with more digits than str() writes
                detail = f"{name} is an integer too long for a category"
                raise Refusal(Rule.WRONG_TYPE, detail) from None
            if kind is not int:
                detail = f"{name}={value!r} read as the text {raw!r}"
                findings.append(Finding.of(Rule.NUMBER_TEXT, name, detail))
        else:
            raise Refusal(Rule.WRONG_TYPE, f"{name}={show(value)} is not a category")
        result = self.memo.get(raw)
        if result is None:
            spec = self.spec
            written = normal_text(raw, spec.case)
            result = self.aliases.get(alias_key(raw, spec.case), written)
            if len(self.memo) < _MEMO_SIZE:
                self.memo[raw] = result
        if result != raw:
            detail = f"{name} {raw!r} read as {result!r}"
            findings.append(Finding.of(Rule.SPELLING, name, detail))
        known = self.categories
        if known is None:
            members = self.members
            if result == raw and kind is str and members is not None and len(members) < _MEMO_SIZE:
                members.add(raw)
        elif result not in known:
            detail = f"{name}={result!r} is not one of the {len(known)} declared categories"
            if self.spec.unseen == "dead-letter":
                raise Refusal(Rule.UNSEEN_CATEGORY, detail)
            findings.append(Finding.of(Rule.UNSEEN_CATEGORY, name, detail))
        return result

    def _time(self, value: Any, unit: str | None, findings: list[Finding]) -> float:
        name = self.name
        if type(value) is not str:
            raise Refusal(
                Rule.WRONG_TYPE,
                f"{name}={show(value)} is not a time: send ISO 8601 text (an epoch number "
                "is ambiguous: seconds? milliseconds?)",
            )
        try:
            when = datetime.fromisoformat(value.strip())
        except ValueError:
            raise Refusal(Rule.WRONG_TYPE, f"{name}={value!r} is not an ISO 8601 time") from None
        if when.tzinfo is None:
            if self.zone is None:
                raise Refusal(
                    Rule.WRONG_TYPE,
                    f"{name}={value!r} has no time zone, and the contract gives none (timezone)",
                )
            when = when.replace(tzinfo=self.zone)
        try:
            seconds = (when - EPOCH).total_seconds()
            if when.utcoffset():
                utc = when.astimezone(UTC).isoformat()
                findings.append(Finding.of(Rule.TIMEZONE, name, f"{name}={value!r} read as {utc}"))
        except OverflowError:
            detail = f"{name}={value!r} is outside the times UTC can hold"
            raise Refusal(Rule.WRONG_TYPE, detail) from None
        return seconds


_COUNTED: Mapping[str, tuple[type, ...]] = {
    "number": (int, float),
    "integer": (int,),
    "boolean": (bool,),
    "category": (str,),
    "time": (float,),
}
