"""How often each fault happens, seeded, and where it can go: a :class:`FaultPlan`."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from driftline.core.errors import ConfigError
from driftline.producers.fault_kinds import FAULTS
from driftline.producers.fault_targets import FaultTargets

__all__ = ["FaultPlan"]


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
