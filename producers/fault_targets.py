"""Where a source's faults can go: its unit mixes, spellings, ranges, required features and
allowed lateness (:class:`FaultTargets`), read from a data contract
(:func:`targets_from_contract`) so that each fault put in is one the contract catches.
:func:`driftline.producers.flights.flights_targets` gives the flights' own.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from driftline.core.contract.check import Contract
from driftline.core.contract.units import canonical_unit, convert, unit_kind, units_of
from driftline.core.errors import ConfigError
from driftline.producers.fault_kinds import Fault

__all__ = ["FaultTargets", "UnitMix", "targets_from_contract"]


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
        needs: dict[str, tuple[str, bool]] = {
            Fault.UNIT_MIX: ("unit mixes", bool(self.unit_mixes)),
            Fault.MISSPELLING: ("spellings", any(self.spellings.values())),
            Fault.MISSING: ("required features", bool(self.required)),
            Fault.OUT_OF_RANGE: ("ranges", bool(self.ranges)),
            Fault.LATE: ("allowed lateness", self.allowed_lateness_s is not None),
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
