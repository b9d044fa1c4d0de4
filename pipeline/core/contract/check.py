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
>>> [(f.rule.value, f.feature) for f in checked.findings]
[('number-text', 'distance'), ('unit-converted', 'distance'), ('spelling', 'carrier')]
>>> check.learn(checked.features, state)
>>> check.check({"carrier": "DL"}, state).features["distance"]  # the mean learned
1399.949...
>>> check.check({"distance": 9000, "carrier": "UA"}, state).refused
(<Rule.OUT_OF_RANGE: 'out-of-range'>, 'feature distance=9000 is outside [10, 6000]')
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from driftline.core.contract.expressions import compile_comparison, parse_comparison
from driftline.core.contract.spec import (
    Contract,
    FeatureSpec,
    FeatureType,
    RuleSpec,
    StreamSpec,
)
from driftline.core.contract.state import MAX_COUNTED_VALUES, ContractState
from driftline.core.contract.steps import (
    FeatureStep,
    Finding,
    Refusal,
    show,
)
from driftline.core.events.model import FeatureValue
from driftline.core.quality.reasons import Rule

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


#: A feature's full step (:meth:`~driftline.core.contract.steps.FeatureStep.run`).
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


class ContractCheck:
    """A contract compiled for the hot path: :meth:`check` each observation's features,
    :meth:`learn` from the accepted ones (the statistics missing values are filled from).

    Each feature compiles to a fast test that a clean value passes without a call (a type
    and a range, or membership of the declared categories) and a step that does the rest
    (:class:`~driftline.core.contract.steps.FeatureStep`). The features are checked by
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

    def _check_features(
        self,
        features: Mapping[str, FeatureValue],
        cleaned: dict[str, Any],
        findings: list[Finding],
        missing: list[str],
        state: ContractState,
    ) -> None:
        """Each declared feature, kind by kind: a clean value passes its fast test, the
        rest runs its step (which cleans ``cleaned``, or raises :class:`Refusal`)."""
        get = features.get
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

    def check(self, features: Mapping[str, FeatureValue], state: ContractState) -> Checked:
        """Check and clean ``features``; ``state`` is read, never changed."""
        # the indicators say "present" until a value is missing (one allocation, not two)
        cleaned: dict[str, Any] = {**features, **self._present}
        findings: list[Finding] = []
        missing: list[str] = []
        try:
            self._check_features(features, cleaned, findings, missing, state)
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
                        Rule.IMPOSSIBLE_COMBINATION,
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
                Rule.UNKNOWN_FEATURE,
                f"not in the contract: {', '.join(unknown)}",
                unknown[0] if len(unknown) == 1 else None,
            )
        for name in unknown:
            del cleaned[name]
            detail = f"{name} is not in the contract: dropped"
            findings.append(Finding.of(Rule.UNKNOWN_FEATURE, name, detail))

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
