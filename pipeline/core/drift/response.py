"""What a task does about a concept drift (:data:`~driftline.core.drift.monitors.DriftAction`).

- ``"none"``: nothing; the model keeps learning as before.
- ``"reset"``: at a drift, a fresh model (same parameters, nothing learned) replaces it.
- ``"swap"``: at the warning a fresh background model starts learning alongside; at the
  drift it replaces the model (a fresh one when no warning came first), as River's
  adaptive random forest does with its background trees. A warning that ends with no
  drift (:class:`~driftline.core.drift.monitors.ErrorMonitor` ends it after ``warning_span``
  labels) drops its background model: it learned the old concept since.

A :class:`DriftResponse` wraps a model as River's ``drift.DriftRetrainingClassifier``
does: each model of a task is one (its
:class:`~driftline.core.learning.contenders.ModelSlot`, where the drift watch
(:mod:`driftline.core.drift.watch`) hands it its error monitor's alarms). Only concept
alarms count in :meth:`~DriftResponse.respond`; a feature or label drift's action applies
through :meth:`~DriftResponse.replace`. A fresh model is River's ``clone()`` unless
``fresh`` makes one (a task builds its models from their spec and seed): deterministic
either way, so a replay swaps the same models at the same points.

>>> from river import dummy
>>> from driftline.core.drift.monitors import Alarm
>>> warning = Alarm("concept", "model", "ADWIN", "warning")
>>> drift = Alarm("concept", "model", "ADWIN", "drift")
>>> r = DriftResponse(dummy.NoChangeClassifier(), "swap")
>>> r.learn_one({}, "old")
>>> r.respond(warning), r.background is not None
(False, True)
>>> r.learn_one({}, "new")
>>> r.respond(drift), r.model.predict_one({}), r.background, r.replaced
(True, 'new', None, 1)
>>> r.respond(warning), r.respond(None, in_warning=False), r.background  # it ended
(False, False, None)
>>> r = DriftResponse(dummy.NoChangeClassifier(), "reset")
>>> r.learn_one({}, "old")
>>> r.respond(drift), r.model.predict_one({})
(True, None)
>>> r.replace("none"), r.replaced  # a feature or label drift's action: here, none
(None, 1)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from driftline.core.drift.monitors import Alarm, DriftAction

__all__ = ["DriftResponse"]


class DriftResponse:
    """A model, and during a warning its background model, following ``action``;
    ``fresh`` makes a model afresh (``None``: the model's ``clone()``)."""

    def __init__(
        self, model: Any, action: DriftAction, fresh: Callable[[], Any] | None = None
    ) -> None:
        if action not in ("none", "reset", "swap"):
            raise ValueError(f"unknown drift action {action!r}: none, reset or swap")
        self.model = model
        self.action: DriftAction = action
        self.fresh = fresh
        self.background: Any = None
        #: How many times the model was replaced.
        self.replaced = 0

    def fresh_model(self) -> Any:
        """A model with nothing learned, to start afresh."""
        return self.fresh() if self.fresh is not None else self.model.clone()

    def respond(self, alarm: Alarm | None, in_warning: bool | None = None) -> bool:
        """Apply the action to ``alarm``; whether the model was replaced. ``in_warning``
        is the monitor's after the same error (``ErrorMonitor.in_warning``; ``None``: not
        known): false with no drift, the warning is over and its background model goes."""
        if alarm is None or alarm.kind != "concept" or self.action == "none":
            if in_warning is False:
                self.background = None
            return False
        if alarm.signal == "warning":
            if self.action == "swap":
                self.background = self.fresh_model()
            return False
        self.replace(self.action)
        return True

    def replace(self, action: DriftAction) -> None:
        """Replace the model now as ``action`` says: a fresh one (``reset``), or the
        background model that learned since the warning (``swap``; a fresh one if none)."""
        if action == "none":
            return
        background = self.background if action == "swap" else None
        self.model = background if background is not None else self.fresh_model()
        self.background = None
        self.replaced += 1

    def learn_one(self, x: dict[str, Any], y: Any) -> None:
        """Learn ``(x, y)``, in the background model too while there is one."""
        self.model.learn_one(x, y)
        if self.background is not None:
            self.background.learn_one(x, y)
