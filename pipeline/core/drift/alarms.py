"""What a drift monitor reports: an :class:`Alarm`, with the evidence of its detector.

An alarm is JSON-ready (:meth:`Alarm.to_dict`); what to do about a concept drift is a
:data:`DriftAction`, applied by the task (:mod:`driftline.core.drift.response`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from driftline.core.drift.detectors import evidence
from driftline.core.drift.psi import ShareWindows

__all__ = ["Alarm", "AlarmKind", "DriftAction", "Signal", "detector_alarm", "psi_alarm"]

#: What the task does at a concept drift: nothing, a fresh model, or the background model
#: started at the warning (a fresh one if there was none).
DriftAction = Literal["none", "reset", "swap"]
AlarmKind = Literal["concept", "feature", "category", "label"]
Signal = Literal["warning", "drift"]


@dataclass(frozen=True)
class Alarm:
    """One warning or drift: what drifted, which detector saw it, and its evidence.

    >>> Alarm("feature", "price", "ADWIN", "drift", {"estimation": 3.5}, 120).to_dict()
    {'kind': 'feature', 'subject': 'price', 'detector': 'ADWIN', 'signal': 'drift', \
'statistic': {'estimation': 3.5}, 'window': 120}
    """

    kind: AlarmKind
    #: The model's name, the feature's name, or ``"label"``.
    subject: str
    #: A :data:`DetectorName`, or ``"PSI"``.
    detector: str
    signal: Signal
    #: The evidence, as the detector exposes it (finite floats).
    statistic: dict[str, float] = field(default_factory=dict)
    #: How many values the evidence covers.
    window: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def detector_alarm(
    kind: AlarmKind, subject: str, name: str, signal: Signal, detector: Any
) -> Alarm:
    """An alarm with ``detector``'s evidence (read right after the update that raised it)."""
    statistic, window = evidence(detector)
    return Alarm(kind, subject, name, signal, statistic, window)


def psi_alarm(kind: AlarmKind, subject: str, windows: ShareWindows, psi: float) -> Alarm:
    """A drift alarm of the PSI of the window ``windows`` just closed."""
    n_current, n_reference = windows.last_window
    statistic = {"psi": psi, "current": float(n_current), "reference": float(n_reference)}
    return Alarm(kind, subject, "PSI", "drift", statistic, n_current + n_reference)
