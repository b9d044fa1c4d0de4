"""Drift detection: pure, seeded and picklable monitors that turn streams into alarms.

- :class:`ErrorMonitor`: concept drift, on one model's error stream (0/1 errors of a
  classifier, absolute errors of a regressor), with a warning before the drift.
- :class:`FeatureMonitor`: feature drift: a detector per numeric feature, category shares
  compared by PSI (:mod:`driftline.core.drift.psi`) for string features
  (:mod:`driftline.core.drift.data`).
- :class:`LabelMonitor`: drift of the labels' distribution (same module).

The detectors and their parameters are in :mod:`driftline.core.drift.detectors`; this module
gathers the public surface.

Each returns :class:`Alarm` values, JSON-ready by :meth:`Alarm.to_dict`; what to do about
one (:data:`DriftAction`) is the task's business (:class:`driftline.core.drift.response.
DriftResponse` applies it to a model). Nothing here does I/O; everything is seeded, so a
replay of the same stream ends in the same state, and pickles (a task checkpoint).
:func:`detection_report` scores detections against known drift points.

>>> import random
>>> rng = random.Random(1)
>>> errors = [int(rng.random() < (0.1 if i < 1000 else 0.4)) for i in range(2000)]
>>> monitor = ErrorMonitor("ADWIN")
>>> alarms = [(i, a) for i, e in enumerate(errors) if (a := monitor.update(e))]
>>> [(i, a.signal) for i, a in alarms]  # the warning: ADWIN's more sensitive twin
[(1035, 'warning'), (1055, 'drift')]
>>> {k: round(v, 3) for k, v in alarms[1][1].statistic.items()}  # the drift's evidence
{'estimation': 0.2, 'variance': 0.16, 'width': 160.0}
>>> monitor = ErrorMonitor("DDM")  # a warning of its own, an early one here
>>> [(i, a.signal) for i, e in enumerate(errors) if (a := monitor.update(e))]
[(739, 'warning'), (1058, 'drift'), (1329, 'warning')]
"""

from __future__ import annotations

from typing import Any

from driftline.core.drift.alarms import Alarm, AlarmKind, DriftAction, Signal, detector_alarm
from driftline.core.drift.data import FeatureMonitor, LabelMonitor
from driftline.core.drift.detectors import (
    DETECTORS,
    OWN_WARNING,
    DetectorName,
    kswin_warning,
    level,
    make_detector,
    rising,
)
from driftline.core.drift.report import detection_report
from driftline.core.errors import ConfigError
from driftline.core.learning.models import ModelKind

__all__ = [
    "DETECTORS",
    "WARNING_SPAN",
    "Alarm",
    "AlarmKind",
    "DetectorName",
    "DriftAction",
    "ErrorMonitor",
    "FeatureMonitor",
    "LabelMonitor",
    "Signal",
    "detection_report",
    "make_detector",
]


#: Labels a warning lasts when no drift confirms it: then it ends, a later rise can warn
#: again, and the background model that learned since it is dropped. About twice the
#: slowest confirmation of a warning on the SEA streams of ``benchmarks/drift.py``; a
#: warning older than that came after the drift before it, not ahead of the next one
#: (``docs/decisions.md``, "A warning ends when no drift confirms it").
WARNING_SPAN = 1000


class ErrorMonitor:
    """Concept drift on one model's error stream.

    :meth:`update` returns a ``"warning"`` alarm the first time the warning fires in an
    episode and a ``"drift"`` alarm at the drift, which starts a new episode. Between the
    two, ``in_warning`` is true: the time to train a background model, swapped in at the
    drift. A warning that no drift confirms within ``warning_span`` labels ends there
    (``in_warning`` turns false, and a warning twin starts afresh), so a later rise
    raises a warning of its own, as River's adaptive random forest starts a new background
    learner at each warning. DDM and EDDM have a warning of their own, KSWIN's is its
    p-value under the twin's alpha (:func:`~driftline.core.drift.detectors.kswin_warning`), ADWIN
    and PageHinkley get a more sensitive twin (:func:`make_detector` with
    ``warning=True``). Only a rise of the error counts: a detector seeing the error fall
    (a model recovering) is not an alarm. DDM and EDDM take 0/1 errors only, so they refuse
    a regressor.

    KSWIN runs a KS test per error, hundreds of times the others' cost
    (``docs/performance.md``, "What the drift detectors cost").

    A bump of the error rate that passes raises a warning that ends; the drift later
    raises one of its own (it would have been suppressed, had the first one lasted):

    >>> import random
    >>> rng = random.Random(0)
    >>> rates = [0.1] * 3000 + [0.2] * 300 + [0.1] * 3000 + [0.4] * 300
    >>> monitor, seen = ErrorMonitor("ADWIN"), []
    >>> for i, rate in enumerate(rates):
    ...     if alarm := monitor.update(int(rng.random() < rate)):
    ...         seen.append((i, alarm.signal))
    ...     if i == 3300 + WARNING_SPAN:
    ...         seen.append((i, monitor.in_warning))
    >>> seen
    [(3191, 'warning'), (4300, False), (6339, 'warning'), (6367, 'drift')]
    """

    def __init__(
        self,
        detector: DetectorName = "ADWIN",
        *,
        kind: ModelKind = "classification",
        subject: str = "model",
        seed: int = 42,
        warning_span: int = WARNING_SPAN,
    ) -> None:
        if kind == "regression" and detector in OWN_WARNING:
            raise ConfigError(
                f"{detector} watches 0/1 errors only; a regressor's absolute error needs "
                "ADWIN, PageHinkley or KSWIN"
            )
        self.name = detector
        self.kind: ModelKind = kind
        self.subject = subject
        self.seed = seed
        self.warning_span = warning_span
        #: Errors seen, drifts and warnings raised.
        self.seen = 0
        self.drifts = 0
        self.warnings = 0
        self.detector = make_detector(detector, seed=seed)
        own_warning = detector in OWN_WARNING or detector == "KSWIN"
        self.warner = None if own_warning else self._warner()
        self.in_warning = False
        #: ``seen`` at the warning in force (``None``: none).
        self.warned_at: int | None = None

    def __setstate__(self, state: dict[str, Any]) -> None:
        if "warned_at" not in state:  # a checkpoint made before warnings ended
            # a warning in force then lasts a whole span from the restore
            warned_at = state["seen"] if state.get("in_warning") else None
            state = state | {"warning_span": WARNING_SPAN, "warned_at": warned_at}
        self.__dict__.update(state)

    def _warner(self) -> Any:
        return make_detector(self.name, seed=self.seed + 1 + self.drifts, warning=True)

    def update(self, error: float) -> Alarm | None:
        """Feed one error (0 or 1 for a classifier, ``abs(y - y_pred)`` for a regressor)."""
        if self.kind == "classification" and error != 0 and error != 1:
            raise ValueError(f"a classifier's error is 0 or 1, not {error!r}")
        self.seen += 1
        detector, warner = self.detector, self.warner
        before = level(detector)
        detector.update(error)
        if warner is not None:
            warner_before = level(warner)
            warner.update(error)
        if detector.drift_detected and rising(detector, before):
            alarm = detector_alarm("concept", self.subject, self.name, "drift", detector)
            self.drifts += 1
            self.in_warning, self.warned_at = False, None
            if warner is not None:
                self.warner = self._warner()
            return alarm
        if self.in_warning:
            assert self.warned_at is not None
            if self.seen - self.warned_at < self.warning_span:
                return None
            # no drift came: the warning ends, and a twin judges afresh from here
            self.in_warning, self.warned_at = False, None
            if warner is not None:
                self.warner = self._warner()
            return None
        if warner is None:
            warned = kswin_warning(detector) if self.name == "KSWIN" else detector.warning_detected
        else:
            warned = warner.drift_detected and rising(warner, warner_before)
        if not warned:
            return None
        self.in_warning, self.warned_at = True, self.seen
        self.warnings += 1
        return detector_alarm("concept", self.subject, self.name, "warning", warner or detector)
