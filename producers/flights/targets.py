"""Where faults injected into the flights can go: the targets the flights' data contract
(``pipeline/contracts/flights.toml``) gives :mod:`driftline.producers.faults`."""

from __future__ import annotations

from driftline.adapters.contract_files import builtin_contract
from driftline.producers.fault_targets import FaultTargets, targets_from_contract

__all__ = ["flights_targets"]


def flights_targets() -> FaultTargets:
    """The faults the flights contract (``pipeline/contracts/flights.toml``) catches.

    >>> targets = flights_targets()
    >>> "distance" in targets.required, targets.allowed_lateness_s > 0
    (True, True)
    """
    return targets_from_contract(builtin_contract("flights"))
