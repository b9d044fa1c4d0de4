"""What decides what a partition task computes: :class:`TaskConfig` and its drift part.

Two equal configs compute the same figures from the same records (a checkpoint carries
the config's fingerprint and is refused by a task of another config).

Each field a user may set declares here, once, its default and, in pydantic's words
(``Annotated[int, Field(ge=1, description=...)]``), its bounds and what it means: the
settings (:mod:`driftline.adapters.settings`) read them from here (:meth:`TaskConfig.field_info`)
instead of repeating them, and check the bounds on what users give; the dataclasses
themselves do not. A field of a part is named by its dotted path (``"features.raw_only"``).

>>> info = TaskConfig.field_info("promotion.window")
>>> info.default, info.metadata, info.description
(2000, [Ge(ge=1)], 'labels a promotion compares')
>>> config = TaskConfig.from_paths({"seed": 7, "features.raw_only": True})
>>> config.seed, config.features.raw_only, config.features.calendar
(7, True, True)
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, ClassVar

from pydantic import Field
from pydantic.fields import FieldInfo

from driftline.core.contract.check import Contract
from driftline.core.drift.monitors import DriftAction
from driftline.core.learning.contenders import PromotionRule
from driftline.core.learning.costs import CostMatrix
from driftline.core.learning.features import FeatureConfig
from driftline.core.learning.models import DEFAULT_MODEL
from driftline.core.learning.user_code import qualified_name
from driftline.core.learning.user_features import FeatureFunction
from driftline.core.quality.figures import MAX_FEATURE_NAMES
from driftline.core.quality.rules import QualityRules

__all__ = ["MODEL_NAME", "DriftConfig", "TaskConfig"]

#: A model's name: it appears in Redis records, metrics and commands.
MODEL_NAME = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"


@dataclass(frozen=True)
class DriftConfig:
    """Which detectors watch a task, and what each kind of alarm does.

    ``concept``: each model's error stream (``None``: off); ``features``: each numeric
    feature of the observations (PSI of its decile shares by default, or a detector on
    the raw values), plus the category shares of the text ones, over windows of
    ``category_window`` observations; ``labels``: the label shares. Actions: ``"none"``
    (an alert only), ``"reset"`` (a fresh model), ``"swap"`` (the background model that
    has learned since the warning, else a fresh one). Feature and label actions apply to
    every model of the task.

    Bounds and descriptions (``Field``) are what the settings accept
    (:meth:`TaskConfig.field_info`); they are not checked here.
    """

    concept: Annotated[str | None, Field(description="detector of each model's errors")] = "ADWIN"
    concept_action: Annotated[DriftAction, Field(description="on a concept drift")] = "none"
    features: Annotated[
        str | None,
        Field(description="drift of each numeric feature: PSI of its deciles, or a detector"),
    ] = "PSI"
    features_action: Annotated[DriftAction, Field(description="on a feature's drift")] = "none"
    labels: Annotated[
        str | None, Field(description="label-share drift: a detector, or PSI of shares per window")
    ] = "ADWIN"
    labels_action: Annotated[DriftAction, Field(description="on a label-share drift")] = "none"
    category_window: Annotated[
        int, Field(ge=10, description="observations per window of category and label shares (PSI)")
    ] = 1000
    psi_threshold: Annotated[float, Field(gt=0, description="PSI that is a drift")] = 0.25


@dataclass(frozen=True)
class TaskConfig:
    """Everything that decides what a task computes (so two equal configs agree).

    Bounds and descriptions (``Field``) are what the settings accept (:meth:`field_info`);
    they are not checked here.
    """

    #: The parts that are configurations of their own, by field name.
    parts: ClassVar[Mapping[str, type[Any]]] = {
        "promotion": PromotionRule,
        "costs": CostMatrix,
        "drift": DriftConfig,
        "features": FeatureConfig,
        "quality": QualityRules,
    }

    model: Annotated[
        str,
        Field(
            description="River expression (River's modules and seed in scope), or module:attr "
            "from the working directory: a River estimator (each partition and challenger "
            "learns a clone) or a factory returning one (given seed= if it takes it)"
        ),
    ] = DEFAULT_MODEL
    seed: int = 42
    #: The first model's name; the challengers as (name, River expression) pairs.
    model_name: Annotated[str, Field(pattern=MODEL_NAME, description="the first model's name")] = (
        "main"
    )
    challengers: tuple[tuple[str, str], ...] = ()
    promotion: PromotionRule = field(default_factory=PromotionRule)
    #: Binary classifiers: what wrong decisions cost (``None``: decide by the argmax).
    costs: CostMatrix | None = None
    #: Move the decision threshold to the cheapest on the recent scores (else: Bayes').
    tune_threshold: Annotated[
        bool, Field(description="tune the decision threshold on recent scores (else: Bayes')")
    ] = True
    threshold_window: Annotated[
        int, Field(ge=10, description="labels the threshold is tuned on")
    ] = 5000
    threshold_min_labels: Annotated[int, Field(ge=1, description="labels before tuning starts")] = (
        500
    )
    #: Event-time windows scored as points of a time series, in seconds.
    windows: Annotated[
        tuple[float, ...],
        Field(description="event-time windows of the metrics time series, seconds"),
    ] = (3600, 86400)
    drift: DriftConfig = field(default_factory=DriftConfig)
    features: FeatureConfig = field(default_factory=FeatureConfig)
    quality: QualityRules = field(default_factory=QualityRules)
    #: The stream's data contract (``None``: no contract, only the rules above).
    contract: Contract | None = None
    pending_ttl_s: Annotated[float, Field(gt=0, description="event-time TTL of pending")] = (
        7 * 24 * 3600.0
    )
    allowed_lateness_s: Annotated[float, Field(ge=0)] = 0.0
    idle_watermark_s: Annotated[
        float | None,
        Field(gt=0, description="idle seconds after which a partition's watermark moves on"),
    ] = 60.0
    #: Steps with a number beyond this are learned on a copy first (core.learning.guard).
    guard_above: float = 1e6
    dedupe_size: Annotated[int, Field(ge=1)] = 200_000
    #: Outcomes whose label is remembered: another label for one of them is a conflict,
    #: for an older one a duplicate (a full-size window doubled the checkpoints of a
    #: partition with 100,000 keys and their checkpoint time: see docs/decisions.md).
    conflict_window: Annotated[
        int,
        Field(ge=1, description="outcomes whose label is kept to tell a conflict from a duplicate"),
    ] = 20_000
    #: Feature names (besides the contract's) whose quality findings are counted apart.
    quality_max_feature_names: Annotated[
        int,
        Field(
            ge=0,
            description="feature names outside the contract with quality counters of their "
            "own; later ones count as '(other)'",
        ),
    ] = MAX_FEATURE_NAMES
    max_pending: int = 1_000_000
    rolling_window: Annotated[int, Field(ge=1)] = 1000
    #: The user's feature function: its output is the model's input (``None``: the
    #: feature steps of ``features``). Fingerprinted by its qualified name; unset, it is
    #: left out of the fingerprint (the fingerprints of earlier configs stay the same).
    feature_function: Annotated[
        FeatureFunction | None,
        Field(
            description="module:function from the working directory, f(observation) -> dict: "
            "its output is what is predicted on, kept pending and learned (unset: the "
            "built-in feature steps)"
        ),
    ] = field(default=None, metadata={"fingerprint": "when set"})

    def __post_init__(self) -> None:
        if self.feature_function is not None:  # a lambda has no name a checkpoint could hold
            qualified_name(self.feature_function, "--features")

    @classmethod
    def field_info(cls, path: str) -> FieldInfo:
        """What this module declares of the field at ``path`` (``"drift.concept"``): its
        default, bounds and description, as a pydantic ``FieldInfo``."""
        owner, name = _owner(path)
        spec = {f.name: f for f in dataclasses.fields(owner)}[name]
        default: Any = spec.default
        if spec.default_factory is not dataclasses.MISSING:
            default = Field(default_factory=spec.default_factory)
        return FieldInfo.from_annotated_attribute(_hints(owner)[name], default)

    @classmethod
    def paths(cls) -> list[str]:
        """Every field's path, the parts' fields in place of the parts.

        >>> [p for p in TaskConfig.paths() if p.startswith("promotion.")]
        ['promotion.auto', 'promotion.window', 'promotion.margin']
        """
        paths = []
        for spec in dataclasses.fields(cls):
            part = cls.parts.get(spec.name)
            if part is None:
                paths.append(spec.name)
            else:
                paths += [f"{spec.name}.{f.name}" for f in dataclasses.fields(part)]
        return paths

    @classmethod
    def from_paths(cls, values: Mapping[str, Any]) -> TaskConfig:
        """A config of the values by path; the fields not given keep their defaults, and a
        part given whole (``"costs": CostMatrix(...)``) is taken as it is."""
        top: dict[str, Any] = {}
        parts: dict[str, dict[str, Any]] = {}
        for path, value in values.items():
            part, _, name = path.rpartition(".")
            if part:
                parts.setdefault(part, {})[name] = value
            else:
                top[name] = value
        for part, given in parts.items():
            top[part] = cls.parts[part](**given)
        return cls(**top)


def _owner(path: str) -> tuple[type[Any], str]:
    """The configuration class that holds the field at ``path``, and the field's name."""
    part, _, name = path.rpartition(".")
    return (TaskConfig.parts[part] if part else TaskConfig), name


#: The evaluated annotations of each configuration class, read once.
_HINTS: dict[type[Any], dict[str, Any]] = {}


def _hints(owner: type[Any]) -> dict[str, Any]:
    hints = _HINTS.get(owner)
    if hints is None:
        hints = _HINTS[owner] = typing.get_type_hints(owner, include_extras=True)
    return hints
