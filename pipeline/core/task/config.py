"""What decides what a partition task computes: :class:`TaskConfig` and its drift part.

Two equal configs compute the same figures from the same records (a checkpoint carries
the config's fingerprint and is refused by a task of another config).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from driftline.core.contract.check import Contract
from driftline.core.drift.monitors import DriftAction
from driftline.core.learning.contenders import PromotionRule
from driftline.core.learning.costs import CostMatrix
from driftline.core.learning.features import FeatureConfig
from driftline.core.learning.models import DEFAULT_MODEL
from driftline.core.quality.figures import MAX_FEATURE_NAMES
from driftline.core.quality.rules import QualityRules

__all__ = ["DriftConfig", "TaskConfig"]


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
    """

    concept: str | None = "ADWIN"
    concept_action: DriftAction = "none"
    features: str | None = "PSI"
    features_action: DriftAction = "none"
    labels: str | None = "ADWIN"
    labels_action: DriftAction = "none"
    category_window: int = 1000
    psi_threshold: float = 0.25


@dataclass(frozen=True)
class TaskConfig:
    """Everything that decides what a task computes (so two equal configs agree)."""

    model: str = DEFAULT_MODEL
    seed: int = 42
    #: The first model's name; the challengers as (name, River expression) pairs.
    model_name: str = "main"
    challengers: tuple[tuple[str, str], ...] = ()
    promotion: PromotionRule = field(default_factory=PromotionRule)
    #: Binary classifiers: what wrong decisions cost (``None``: decide by the argmax).
    costs: CostMatrix | None = None
    #: Move the decision threshold to the cheapest on the recent scores (else: Bayes').
    tune_threshold: bool = True
    threshold_window: int = 5000
    threshold_min_labels: int = 500
    #: Event-time windows scored as points of a time series, in seconds.
    windows: tuple[float, ...] = (3600, 86400)
    drift: DriftConfig = field(default_factory=DriftConfig)
    features: FeatureConfig = field(default_factory=FeatureConfig)
    quality: QualityRules = field(default_factory=QualityRules)
    #: The stream's data contract (``None``: no contract, only the rules above).
    contract: Contract | None = None
    pending_ttl_s: float = 7 * 24 * 3600.0
    allowed_lateness_s: float = 0.0
    idle_watermark_s: float | None = 60.0
    #: Steps with a number beyond this are learned on a copy first (see ``_learn``).
    guard_above: float = 1e6
    dedupe_size: int = 200_000
    #: Outcomes whose label is remembered: another label for one of them is a conflict,
    #: for an older one a duplicate (a full-size window doubled the checkpoints of a
    #: partition with 100,000 keys and their checkpoint time: see docs/decisions.md).
    conflict_window: int = 20_000
    #: Feature names (besides the contract's) whose quality findings are counted apart.
    quality_max_feature_names: int = MAX_FEATURE_NAMES
    max_pending: int = 1_000_000
    rolling_window: int = 1000
