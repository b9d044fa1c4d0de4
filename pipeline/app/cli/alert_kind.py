"""The kinds of alert ``driftline alerts --kind`` filters on: the drift alarms' kinds
(:data:`driftline.core.drift.alarms.AlarmKind`) and the models' changes.

>>> [kind.value for kind in AlertKind]
['concept', 'feature', 'category', 'label', 'promotion', 'rollback']
>>> AlertKind("nonsense")
Traceback (most recent call last):
...
ValueError: 'nonsense' is not a valid AlertKind
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["AlertKind"]


class AlertKind(StrEnum):
    """What an alert is about (its ``kind`` field in Redis); the first four are the drift
    alarms' kinds, kept equal to ``AlarmKind`` by ``tests/unit/app/cli/test_choices.py``
    (this module imports nothing of the core: River is not loaded by ``--help``)."""

    CONCEPT = "concept"
    FEATURE = "feature"
    CATEGORY = "category"
    LABEL = "label"
    PROMOTION = "promotion"
    ROLLBACK = "rollback"
