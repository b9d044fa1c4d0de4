"""The names of data quality: its four dimensions, and each rule with the dimension it
belongs to.

A :class:`Rule` names a finding about a record (a unit converted, a value imputed) and,
when the rule refuses the record, its dead-letter reason. *Machine Learning Design
Patterns* (ch. 1) names the four :class:`Dimension` s; each rule carries its own, so
every map from a rule to its dimension is derived here and never written again.

Both are :class:`~enum.StrEnum` s: a member *is* its text, equal to it and hashed as it,
so the names on the wire, in Redis, in the quality log and in every JSON output are the
strings they always were, and a plain string read back finds its member's entries.

>>> Rule.UNIT_CONVERTED.dimension
<Dimension.CONSISTENCY: 'consistency'>
>>> Rule("late").dimension == "timeliness", Rule.DUPLICATE == "duplicate"
(True, True)
>>> import json
>>> json.dumps({Rule.OUT_OF_RANGE: Rule.OUT_OF_RANGE.dimension}), f"{Rule.SPELLING}"
('{"out-of-range": "accuracy"}', 'spelling')
>>> DIMENSION_OF["missing-value"]
<Dimension.COMPLETENESS: 'completeness'>
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

__all__ = ["DIMENSIONS", "DIMENSION_OF", "Dimension", "Failure", "Rule"]


class Dimension(StrEnum):
    """A dimension of data quality."""

    #: Is the value right?
    ACCURACY = "accuracy"
    #: Is it all there?
    COMPLETENESS = "completeness"
    #: One unit, one spelling, one format.
    CONSISTENCY = "consistency"
    #: Did it arrive in time?
    TIMELINESS = "timeliness"


class Rule(StrEnum):
    """A data-quality rule: a finding's name, and the dead-letter reason of a record it
    refuses. Dead-letter reasons about the system, not the data (a model that fails, a
    control command), are no rule."""

    _value_: str
    #: The dimension of quality the rule checks.
    dimension: Dimension

    def __new__(cls, value: str, dimension: Dimension) -> Rule:
        member = str.__new__(cls, value)
        member._value_ = value
        member.dimension = dimension
        return member

    # accuracy: is the value right?
    DUPLICATE = "duplicate", Dimension.ACCURACY
    NEAR_DUPLICATE = "near-duplicate", Dimension.ACCURACY
    OUT_OF_RANGE = "out-of-range", Dimension.ACCURACY
    VALUE_TOO_LARGE = "value-too-large", Dimension.ACCURACY
    IMPOSSIBLE_COMBINATION = "impossible-combination", Dimension.ACCURACY
    CONFLICTING_OUTCOME = "conflicting-outcome", Dimension.ACCURACY
    WRONG_TYPE = "wrong-type", Dimension.ACCURACY
    LABEL_TYPE = "label-type", Dimension.ACCURACY
    KEY_MISMATCH = "key-mismatch", Dimension.ACCURACY
    SOURCE_LABEL_UNMAPPED = "source-label-unmapped", Dimension.ACCURACY
    SOURCE_VALUE_INVALID = "source-value-invalid", Dimension.ACCURACY
    # completeness: is it all there?
    MISSING_IMPUTED = "missing-imputed", Dimension.COMPLETENESS
    MISSING_VALUE = "missing-value", Dimension.COMPLETENESS
    UNSEEN_CATEGORY = "unseen-category", Dimension.COMPLETENESS
    UNKNOWN_OBSERVATION = "unknown-observation", Dimension.COMPLETENESS
    EXPIRED_OBSERVATION = "expired-observation", Dimension.COMPLETENESS
    SOURCE_FIELD_MISSING = "source-field-missing", Dimension.COMPLETENESS
    # consistency: one unit, one spelling, one format
    UNIT_CONVERTED = "unit-converted", Dimension.CONSISTENCY
    UNIT_DETECTED = "unit-detected", Dimension.CONSISTENCY
    UNKNOWN_UNIT = "unknown-unit", Dimension.CONSISTENCY
    SPELLING = "spelling", Dimension.CONSISTENCY
    NUMBER_TEXT = "number-text", Dimension.CONSISTENCY
    TIMEZONE = "timezone", Dimension.CONSISTENCY
    UNKNOWN_FEATURE = "unknown-feature", Dimension.CONSISTENCY
    SCHEMA_VIOLATION = "schema-violation", Dimension.CONSISTENCY
    AVRO_DECODE = "avro-decode", Dimension.CONSISTENCY
    UNKNOWN_SCHEMA = "unknown-schema", Dimension.CONSISTENCY
    BAD_MAGIC_BYTE = "bad-magic-byte", Dimension.CONSISTENCY
    TRAILING_BYTES = "trailing-bytes", Dimension.CONSISTENCY
    EMPTY_VALUE = "empty-value", Dimension.CONSISTENCY
    RECORD_TOO_LARGE = "record-too-large", Dimension.CONSISTENCY
    TOO_MANY_FEATURES = "too-many-features", Dimension.CONSISTENCY
    STRING_TOO_LONG = "string-too-long", Dimension.CONSISTENCY
    # a user's own topic (``driftline consume --source``): a record that cannot be mapped
    SOURCE_UNDECODABLE = "source-undecodable", Dimension.CONSISTENCY
    SOURCE_NOT_A_RECORD = "source-not-a-record", Dimension.CONSISTENCY
    SOURCE_KIND_UNKNOWN = "source-kind-unknown", Dimension.CONSISTENCY
    SOURCE_TIME_INVALID = "source-time-invalid", Dimension.CONSISTENCY
    SOURCE_FEATURE_NESTED = "source-feature-nested", Dimension.CONSISTENCY
    # timeliness: did it arrive in time?
    LATE = "late", Dimension.TIMELINESS
    LATE_OBSERVATION = "late-observation", Dimension.TIMELINESS
    EVENT_TIME_IN_FUTURE = "event-time-in-future", Dimension.TIMELINESS
    EVENT_TIME_TOO_OLD = "event-time-too-old", Dimension.TIMELINESS
    INGEST_TIME_OUT_OF_RANGE = "ingest-time-out-of-range", Dimension.TIMELINESS


class Failure(StrEnum):
    """A dead-letter reason about the system, not the data: no rule, no dimension.

    >>> Failure.FEATURE_FUNCTION_FAILED == "feature-function-failed"
    True
    >>> "feature-function-failed" in DIMENSION_OF
    False
    """

    #: The user's feature function raised, or gave no dict of finite feature values.
    FEATURE_FUNCTION_FAILED = "feature-function-failed"


#: The four dimensions, in the order every report lists them.
DIMENSIONS: tuple[Dimension, ...] = tuple(Dimension)

#: The dimension of each rule (and dead-letter reason). A reason missing here is about the
#: system, not the data.
DIMENSION_OF: Mapping[str, Dimension] = {rule: rule.dimension for rule in Rule}
