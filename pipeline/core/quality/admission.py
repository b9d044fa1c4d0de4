"""Admission: whether a task may use an event, and what of it.

Before a task predicts an observation or learns an outcome it asks its
:class:`Admission`: the record's key must be the event's, its times and values within the
rules (:class:`~driftline.core.quality.rules.QualityRules`), its id new (the dedupe
windows), and, with a data contract, its features clean (the contract's canonical
features, the late policy, near duplicates). An observation gets back its cleaned
features (:class:`Admitted`) or a :class:`Refusal` (the reason and detail of its dead
letter, with the quality findings), and either carries the late share's alarm when the
observation completed one (:class:`LateAlarm`); an outcome gets ``None`` or a refusal.
A ``duplicate`` refusal is dropped, not dead-lettered.

The windows that remember what was seen are its state (:class:`AdmissionState`, a part
of the task's). An event refused is not recorded as seen: a corrected copy with the same
id is still used.

>>> from datetime import UTC, datetime
>>> from driftline.core.events.model import Observation, Outcome
>>> from driftline.core.learning.metrics import TaskMetrics
>>> from driftline.core.quality.figures import QualityMetrics
>>> from driftline.core.task.config import TaskConfig
>>> config, metrics = TaskConfig(), TaskMetrics("classification")
>>> admission = Admission(config, "classification", True, AdmissionState.fresh(config),
...                       metrics, QualityMetrics())
>>> at = datetime(2024, 1, 1, tzinfo=UTC)
>>> obs = Observation(event_id="a", key="k", event_time=at, features={"x": 1.0})
>>> admission.observation(obs, b"k", at)
Admitted(features={'x': 1.0}, lateness_s=0.0, learn=True, findings=[], late=None)
>>> admission.observation(obs, b"k", at).reason
<Rule.DUPLICATE: 'duplicate'>
>>> admission.observation(obs.model_copy(update={"event_id": "b"}), b"j", at).reason
<Rule.KEY_MISMATCH: 'key-mismatch'>
>>> outcome = Outcome(event_id="b", key="k", event_time=at, label=True)
>>> refusal = admission.outcome(outcome, b"k", at, held=False)  # its observation was refused
>>> refusal.reason, refusal.valid
(<Rule.UNKNOWN_OBSERVATION: 'unknown-observation'>, True)
>>> dict(metrics.counts)
{'observations': 2, 'duplicates': 1, 'outcomes': 1}
"""

from __future__ import annotations

import hashlib
import io
import pickle
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from driftline.core.contract.check import ContractCheck, ContractState
from driftline.core.events.model import Observation, Outcome
from driftline.core.learning.metrics import TaskMetrics
from driftline.core.learning.models import ModelKind
from driftline.core.quality.dedupe import DedupeWindow, LabelMemory
from driftline.core.quality.figures import QualityMetrics
from driftline.core.quality.late_watch import LateSignal, LateWatch
from driftline.core.quality.reasons import Dimension, Rule
from driftline.core.task.config import TaskConfig

__all__ = [
    "Admission",
    "AdmissionState",
    "Admitted",
    "ContentDigest",
    "Finding",
    "LateAlarm",
    "Refusal",
    "allowed_lateness",
]

#: One quality finding about a record: (dimension, rule, feature or ``None``).
Finding = tuple[str, str, str | None]


@dataclass
class AdmissionState:
    """What admission remembers: the ids and contents seen, and the contract's figures."""

    #: Ids of events that passed validation: a second copy is a duplicate.
    seen_observations: DedupeWindow
    seen_outcomes: DedupeWindow
    #: Ids of observations dead-lettered (and not since accepted): their outcomes are
    #: dead letters at once, yet a corrected copy with the same id is still predicted.
    rejected_observations: DedupeWindow
    #: The labels of the last outcomes recorded as seen: another label for one of
    #: them is a conflicting outcome, the same one a duplicate.
    outcome_labels: LabelMemory
    #: Digests of (key, event time, features) of accepted observations (with a
    #: contract): the same content under another id is a near duplicate.
    seen_contents: DedupeWindow
    #: Whether lateness keeps this task from learning (an alert when it does).
    late_watch: LateWatch = field(default_factory=LateWatch)
    #: The contract's running statistics (what a missing value is filled with).
    contract_state: ContractState | None = None

    @classmethod
    def fresh(cls, config: TaskConfig) -> AdmissionState:
        """Nothing seen yet, with the windows ``config`` sizes."""
        size = config.dedupe_size
        return cls(
            seen_observations=DedupeWindow(size),
            seen_outcomes=DedupeWindow(size),
            rejected_observations=DedupeWindow(size),
            outcome_labels=LabelMemory(config.conflict_window),
            seen_contents=DedupeWindow(size),
            contract_state=ContractState() if config.contract is not None else None,
        )


class LateAlarm(NamedTuple):
    """The late share crossed a bound (``starved``: learning stopped; ``recovered``), with
    the evidence: the share, the bounds, and how many observations the share is of."""

    signal: LateSignal
    statistic: dict[str, Any]
    window: int


@dataclass(slots=True)
class Admitted:
    """An observation to predict: its features (with a contract, its canonical ones), how
    late it came, whether it may be learned, what the contract found, and the late
    share's alarm it completed (an alert), if any."""

    features: dict[str, Any]
    lateness_s: float
    learn: bool = True
    findings: list[Finding] = field(default_factory=list)
    late: LateAlarm | None = None


@dataclass(slots=True)
class Refusal:
    """An event not to use: its dead letter's ``reason`` and ``detail``, the findings to
    log with it, and the late share's alarm it completed, if any. ``valid``: the event
    itself passed every rule (an outcome of a refused observation), so its time counts."""

    reason: str
    detail: str
    findings: list[Finding] | None = None
    late: LateAlarm | None = None
    valid: bool = False

    @property
    def dropped(self) -> bool:
        """A duplicate: dropped (counted and logged), not dead-lettered."""
        return self.reason == Rule.DUPLICATE


_DUPLICATE: Finding = (Dimension.ACCURACY, Rule.DUPLICATE, None)


def allowed_lateness(config: TaskConfig) -> float:
    """The stream's allowed lateness in seconds: the contract's, else the task's."""
    stream = config.contract.stream if config.contract is not None else None
    if stream is not None and stream.allowed_lateness_s is not None:
        return stream.allowed_lateness_s
    return config.allowed_lateness_s


class Admission:
    """The checks a task runs on each event before it uses it, over ``state``.

    ``metrics`` counts the observations, outcomes and duplicates; ``quality`` the
    values a contract declared and found missing, and the lateness per source.
    """

    def __init__(
        self,
        config: TaskConfig,
        kind: ModelKind,
        multiclass: bool,
        state: AdmissionState,
        metrics: TaskMetrics,
        quality: QualityMetrics,
    ) -> None:
        self.rules = config.quality
        self.kind: ModelKind = kind
        self.multiclass = multiclass
        self.state = state
        self.metrics = metrics
        self.quality = quality
        contract = config.contract
        stream = contract.stream if contract is not None else None
        #: The stream's allowed lateness: with a contract, an observation later than
        #: this is handled by its late policy.
        self.allowed_lateness_s = allowed_lateness(config)
        self.contract = ContractCheck(contract) if contract is not None else None
        self._declared = len(contract.features) if contract is not None else 0
        self.late_policy = stream.late_policy if stream is not None else None
        self._near_duplicates = stream is not None and stream.near_duplicates
        self._source = stream.source if stream is not None else None
        self._digest = ContentDigest()

    def observation(
        self, obs: Observation, key: bytes | None, ingest_time: datetime
    ) -> Admitted | Refusal:
        """Whether ``obs`` (read under the record key ``key``) may be predicted; if so it
        is recorded as seen."""
        state, counts = self.state, self.metrics.counts
        if state.seen_observations.contains(obs.event_id):
            counts["duplicates"] += 1
            return Refusal(Rule.DUPLICATE, f"{obs.event_id}: seen before", [_DUPLICATE])
        counts["observations"] += 1
        verdict = _key_mismatch(obs.key, key) or self.rules.check_observation(obs, ingest_time)
        if verdict is not None:
            return self._refused(obs.event_id, Refusal(*verdict))
        lateness_s = (ingest_time - obs.event_time).total_seconds()
        if self.contract is None:
            admitted = Admitted(obs.features, lateness_s)
            content = None
        else:
            checked = self._check_contract(obs, lateness_s)
            if isinstance(checked, Refusal):
                return self._refused(obs.event_id, checked)
            admitted, content = checked
        state.seen_observations.add(obs.event_id)
        state.rejected_observations.discard(obs.event_id)
        if content is not None:
            state.seen_contents.add(content)
        return admitted

    def _refused(self, event_id: str, refusal: Refusal) -> Refusal:
        # Not recorded as seen: a corrected copy with the same id is still predicted.
        self.state.rejected_observations.add(event_id)
        return refusal

    def _check_contract(
        self, obs: Observation, lateness_s: float
    ) -> tuple[Admitted, str | None] | Refusal:
        """The contract's verdict on an observation: its canonical features, whether it
        may be learned, and its content digest; or the refusal."""
        contract, state = self.contract, self.state.contract_state
        assert contract is not None and state is not None
        checked = contract.check(obs.features, state)
        quality = self.quality
        quality.checked(self._declared, checked.missing)
        findings = [(f.dimension, f.rule, f.feature) for f in checked.findings]
        refused = checked.refused
        late = lateness_s > self.allowed_lateness_s
        signal = None
        if self.late_policy in ("predict-only", "dead-letter"):  # late is not learned
            signal = self._late(self.state.late_watch.observe(late))
        if late:
            findings.append((Dimension.TIMELINESS, Rule.LATE, None))
            if refused is None and self.late_policy == "dead-letter":
                refused = (
                    Rule.LATE_OBSERVATION,
                    f"{obs.event_id}: {lateness_s:.3f} s late, more than the "
                    f"{self.allowed_lateness_s:g} s the contract allows",
                )
        content = None
        if refused is None and self._near_duplicates:
            content = self._digest(obs.key, obs.event_time, checked.features)
            if self.state.seen_contents.contains(content):
                findings.append((Dimension.ACCURACY, Rule.NEAR_DUPLICATE, None))
                refused = (
                    Rule.NEAR_DUPLICATE,
                    f"{obs.event_id}: the same key, event time and features as an "
                    "observation already accepted under another id",
                )
        if refused is not None:
            return Refusal(*refused, findings=findings, late=signal)
        if self._source is not None:
            source = checked.features.get(self._source)
            if isinstance(source, str):
                quality.source_histogram(source).add(lateness_s)
        learn = not (late and self.late_policy == "predict-only")
        contract.learn(checked.features, state)
        return Admitted(checked.features, lateness_s, learn, findings, signal), content

    def _late(self, signal: LateSignal | None) -> LateAlarm | None:
        """The late share's ``signal`` with its evidence: the share and the bounds."""
        if signal is None:
            return None
        watch = self.state.late_watch
        statistic = {
            "late_share": round(watch.share, 4),
            "alarm_share": watch.alarm_share,
            "allowed_lateness_s": self.allowed_lateness_s,
            "late_policy": self.late_policy,
        }
        return LateAlarm(signal, statistic, watch.window)

    def admitted(self, event_id: str) -> bool:
        """Whether an observation with this id was admitted (within the window)."""
        return self.state.seen_observations.contains(event_id)

    def retract(self, event_id: str) -> None:
        """An admitted observation the model could not predict: as if refused."""
        self.state.seen_observations.discard(event_id)
        self.state.rejected_observations.add(event_id)

    def outcome(
        self, outcome: Outcome, key: bytes | None, ingest_time: datetime, held: bool
    ) -> Refusal | None:
        """Whether ``outcome`` (``held``: one with its id waits for its observation) may
        resolve its observation; if so it is recorded as seen, with its label."""
        state, counts, event_id = self.state, self.metrics.counts, outcome.event_id
        if state.seen_outcomes.contains(event_id) or held:
            if state.outcome_labels.same(event_id, outcome.label) is not False:
                # the same label, or one too old to know: a duplicate
                counts["duplicates"] += 1
                return Refusal(Rule.DUPLICATE, f"{event_id}: seen before", [_DUPLICATE])
            # Another label for an observation already resolved: the first one stands.
            counts["outcomes"] += 1
            detail = (
                f"{event_id}: label {outcome.label!r} conflicts with the outcome "
                "already received for it (the first is the one learned)"
            )
            return Refusal(Rule.CONFLICTING_OUTCOME, detail)
        counts["outcomes"] += 1
        rules = self.rules
        verdict = _key_mismatch(outcome.key, key)
        verdict = verdict or rules.check_time(outcome.event_time, ingest_time)
        verdict = verdict or rules.check_label(outcome.label, self.kind, self.multiclass)
        if verdict is not None:
            # Not recorded as seen: a corrected copy with the same id is still learned.
            return Refusal(*verdict)
        if state.rejected_observations.contains(event_id):
            # Not recorded either: it may come again after a corrected observation.
            detail = f"{event_id}: its observation was not predicted (dead letter)"
            return Refusal(Rule.UNKNOWN_OBSERVATION, detail, valid=True)
        state.seen_outcomes.add(event_id)
        state.outcome_labels.put(event_id, outcome.label)
        return None

    def reopen(self, event_id: str) -> None:
        """Forget an outcome seen (its observation was refused after it came): it may be
        sent again with the corrected observation."""
        self.state.seen_outcomes.discard(event_id)


def _key_mismatch(event_key: str, key: bytes | None) -> tuple[str, str] | None:
    if key is not None and key.decode(errors="replace") == event_key:
        return None
    return Rule.KEY_MISMATCH, f"record key {key!r} differs from the event's key {event_key!r}"


def content_digest(key: str, event_time: datetime, features: dict[str, Any]) -> str:
    """A digest of what an observation says, whatever its id: its key, event time and
    features (in name order).

    Pickled in fast mode, which keeps no memo: equal values give equal bytes whether or
    not they are the same objects (a memo writes a repeated object as a reference), and
    faster than hashing their ``repr`` (``docs/performance.md``). A task digests with a
    :class:`ContentDigest` of its own, which gives the same digests.

    >>> a, b = "UA", "".join(["U", "A"])
    >>> t = datetime(2024, 1, 1)
    >>> content_digest("k", t, {"x": a, "y": a}) == content_digest("k", t, {"y": b, "x": a})
    True
    """
    return ContentDigest()(key, event_time, features)


class ContentDigest:
    """:func:`content_digest` with one pickler kept for every call (making one is a third
    of a digest's time); a pickler in fast mode keeps nothing from one dump to the next.

    >>> t = datetime(2024, 1, 1)
    >>> digest = ContentDigest()
    >>> digest("k", t, {"x": 1.0}) == content_digest("k", t, {"x": 1.0}), len(digest("k", t, {}))
    (True, 24)
    """

    def __init__(self) -> None:
        self._buffer = io.BytesIO()
        self._pickler = pickle.Pickler(self._buffer, protocol=5)
        self._pickler.fast = True

    def __call__(self, key: str, event_time: datetime, features: dict[str, Any]) -> str:
        buffer = self._buffer
        buffer.seek(0)
        buffer.truncate()
        self._pickler.dump((key, event_time.timestamp(), sorted(features.items())))
        return hashlib.blake2b(buffer.getvalue(), digest_size=12).hexdigest()
