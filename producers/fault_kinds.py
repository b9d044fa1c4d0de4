"""The faults an injection can put into a stream, and the worker's rules that catch each.

A :class:`Fault` names the rules whose findings count as catching it
(:attr:`Fault.rules`); its dimension of quality is theirs. The maps
:data:`DIMENSION_OF` and :data:`EXPECTED_RULES` are derived from the members.

>>> Fault.UNIT_MIX.rules
(<Rule.UNIT_CONVERTED: 'unit-converted'>, <Rule.UNIT_DETECTED: 'unit-detected'>)
>>> Fault.UNIT_MIX.dimension
<Dimension.CONSISTENCY: 'consistency'>
>>> ", ".join(FAULTS)
'duplicate, near-duplicate, unit-mix, misspelling, missing, conflicting-label, out-of-range, late'
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from driftline.core.quality.reasons import Dimension, Rule

__all__ = ["DIMENSION_OF", "EXPECTED_RULES", "FAULTS", "Fault"]


class Fault(StrEnum):
    """A kind of fault, with the rules that catch it (all of one dimension)."""

    _value_: str
    #: The worker's rules (finding names) that count as catching the fault.
    rules: tuple[Rule, ...]
    #: The dimension of quality of those rules.
    dimension: Dimension

    def __new__(cls, value: str, *rules: Rule) -> Fault:
        dimensions = {rule.dimension for rule in rules}
        if len(dimensions) != 1:
            raise ValueError(f"fault {value}: its rules must share one dimension, not {dimensions}")
        member = str.__new__(cls, value)
        member._value_ = value
        member.rules = rules
        member.dimension = rules[0].dimension
        return member

    DUPLICATE = "duplicate", Rule.DUPLICATE
    NEAR_DUPLICATE = "near-duplicate", Rule.NEAR_DUPLICATE
    UNIT_MIX = "unit-mix", Rule.UNIT_CONVERTED, Rule.UNIT_DETECTED
    MISSPELLING = "misspelling", Rule.SPELLING
    MISSING = "missing", Rule.MISSING_IMPUTED, Rule.MISSING_VALUE
    CONFLICTING_LABEL = "conflicting-label", Rule.CONFLICTING_OUTCOME
    OUT_OF_RANGE = "out-of-range", Rule.OUT_OF_RANGE
    LATE = "late", Rule.LATE


#: Every fault, in the order rates are drawn in.
FAULTS: tuple[Fault, ...] = tuple(Fault)
#: The dimension of each fault.
DIMENSION_OF: Mapping[str, Dimension] = {fault: fault.dimension for fault in Fault}
#: The worker's rules (finding names) that count as catching each fault.
EXPECTED_RULES: Mapping[str, tuple[Rule, ...]] = {fault: fault.rules for fault in Fault}
