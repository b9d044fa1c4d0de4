"""What a replay is asked to do: the options every ``driftline produce`` command shares, and
the faults they ask to inject, checked before anything is published.

>>> options = ReplayOptions(speed=60.0, rebase=True)
>>> options.time_scale, ReplayOptions(speed=60.0).time_scale
(60.0, 1.0)
>>> ReplayOptions(rebase=True).check()
Traceback (most recent call last):
...
driftline.core.errors.ConfigError: --rebase needs --speed: a rebased replay runs on the wall clock
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from driftline.core.errors import ConfigError

if TYPE_CHECKING:  # types only: the command's start stays quick (``driftline --help``)
    from driftline.adapters.settings import Settings
    from driftline.producers.faults import FaultPlan, FaultTargets

__all__ = ["ReplayOptions", "fault_plan"]


@dataclass(frozen=True)
class ReplayOptions:
    """How every source is replayed; each field is a ``produce`` option."""

    namespace: str | None = None
    partitions: int | None = None
    speed: float | None = None
    delay_mean: float = 30.0
    delay_max: float = 600.0
    seed: int | None = None
    rebase: bool = False
    rebase_align: float | None = None
    fresh: bool = False
    as_json: bool = False
    inject: str | None = None
    inject_seed: int | None = None
    ground_truth: Path | None = None
    inject_late_after: float | None = None

    @property
    def time_scale(self) -> float:
        """How much faster than the source's clock a rebased replay's clock runs."""
        return self.speed if self.rebase and self.speed else 1.0

    def check(self) -> None:
        """Refuse options that do not go together (the faults: :func:`fault_plan`)."""
        if self.rebase and self.speed is None:
            raise ConfigError("--rebase needs --speed: a rebased replay runs on the wall clock")


def fault_plan(
    options: ReplayOptions, settings: Settings, targets: Callable[[], FaultTargets] | None
) -> FaultPlan | None:
    """The faults ``--inject`` asks for, checked before anything is published.

    ``targets`` says where the source's faults can go; without, only the faults that need
    no contract can, and late ones exceed the worker's own allowed lateness (on the
    source's clock). ``--inject-late-after`` overrides the allowed lateness either way.

    >>> from driftline.adapters.settings import Settings
    >>> from driftline.producers.faults import FaultTargets
    >>> settings = Settings(_env_file=None)
    >>> fault_plan(ReplayOptions(), settings, None) is None
    True
    >>> options = ReplayOptions(inject="late=0.1", ground_truth=Path("truth.jsonl"),
    ...                         inject_late_after=60.0)
    >>> plan = fault_plan(options, settings, lambda: FaultTargets(allowed_lateness_s=7200.0))
    >>> plan.rates["late"], plan.targets.allowed_lateness_s
    (0.1, 60.0)
    """
    from driftline.producers.faults import FaultPlan, FaultTargets

    if options.inject is None:
        if (options.ground_truth, options.inject_seed, options.inject_late_after) != (
            None,
            None,
            None,
        ):
            raise ConfigError(
                "--ground-truth, --inject-seed and --inject-late-after go with --inject"
            )
        return None
    path = options.ground_truth
    if path is None:
        raise ConfigError(
            "--inject needs --ground-truth PATH: what is injected where is written there, "
            "to score the worker's findings against"
        )
    if not path.parent.is_dir():
        raise ConfigError(f"--ground-truth {path}: the directory {path.parent} does not exist")
    if targets is not None:
        where = targets()
    else:  # no contract: the worker's own allowed lateness, on the source's clock
        allowed = settings.model.allowed_lateness_s * options.time_scale
        where = FaultTargets(allowed_lateness_s=allowed or None)
    if options.inject_late_after is not None:
        where = dataclasses.replace(where, allowed_lateness_s=options.inject_late_after)
    seed = settings.seed if options.inject_seed is None else options.inject_seed
    return FaultPlan(FaultPlan.parse_rates(options.inject), seed, where)
